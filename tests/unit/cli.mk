# The command line and the daemon, end to end (shell scripts).
# daemon_probes.sh: health probes and pool maintenance off the main loop.
# stuck_plugin.sh: plugin calls that ignore cancellation (fault.so).
TESTS += tests/integration/cli.sh tests/integration/daemon.sh \
	tests/integration/daemon_probes.sh tests/integration/stuck_plugin.sh
EXTRA_DIST += tests/integration/cli.sh tests/integration/daemon.sh \
	tests/integration/daemon_probes.sh tests/integration/stuck_plugin.sh
