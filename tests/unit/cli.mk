# SPDX-License-Identifier: Apache-2.0
# The command line and the daemon, end to end (shell scripts).
# daemon_probes.sh: health probes and pool maintenance off the main loop.
# stuck_plugin.sh: plugin calls that ignore cancellation (fault.so).
# fd_limit.sh: out of file descriptors (EMFILE), said as such; recovery.
TESTS += tests/integration/cli.sh tests/integration/daemon.sh \
	tests/integration/daemon_probes.sh tests/integration/stuck_plugin.sh \
	tests/integration/fd_limit.sh
EXTRA_DIST += tests/integration/cli.sh tests/integration/daemon.sh \
	tests/integration/daemon_probes.sh tests/integration/stuck_plugin.sh \
	tests/integration/fd_limit.sh
# check_config.sh: files that are not regular, paths checked at load, JSON.
# daemon_single.sh: one daemon per state_dir and socket; not dumpable.
TESTS += tests/integration/check_config.sh tests/integration/daemon_single.sh
EXTRA_DIST += tests/integration/check_config.sh tests/integration/daemon_single.sh \
	tests/lib.sh
