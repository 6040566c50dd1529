# SPDX-License-Identifier: Apache-2.0
# tests/integration/local.mk

# The SDK example built out of tree against a DESTDIR install, then loaded
# by dsrc.
TESTS += tests/integration/example_out_of_tree.sh
EXTRA_DIST += tests/integration/example_out_of_tree.sh

# dsrcd's jobs and runs: schedules, catch-up, stall, cancel, reload and
# concurrency limits, with sqlite sources and the fault test plugin.
TESTS += tests/integration/jobs.sh
EXTRA_DIST += tests/integration/jobs.sh

# The control API over HTTP: the socket (peer credentials) and TLS TCP,
# routing, limits, problem+json errors, concurrency.
TESTS += tests/integration/api.sh
EXTRA_DIST += tests/integration/api.sh

# The control API's source routes: test, catalog, stats; dsrc runs through
# dsrcd.
TESTS += tests/integration/api_routes.sh
EXTRA_DIST += tests/integration/api_routes.sh
