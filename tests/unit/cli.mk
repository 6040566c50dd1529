# The command line and the daemon, end to end (shell scripts).
TESTS += tests/integration/cli.sh tests/integration/daemon.sh
EXTRA_DIST += tests/integration/cli.sh tests/integration/daemon.sh
