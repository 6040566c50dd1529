# SPDX-License-Identifier: Apache-2.0
# tests/integration/local.mk

# The SDK example built out of tree against a DESTDIR install, then loaded
# by dsrc.
TESTS += tests/integration/example_out_of_tree.sh
EXTRA_DIST += tests/integration/example_out_of_tree.sh

# Run as root, dsrc gives what it makes in a workspace or state_dir owned
# by another user (the daemon's) to that user.
TESTS += tests/integration/workspace_owner.sh
EXTRA_DIST += tests/integration/workspace_owner.sh

# dsrcd's jobs and runs: schedules, catch-up, stall, cancel, reload and
# concurrency limits, with sqlite sources and the fault test plugin.
TESTS += tests/integration/jobs.sh
EXTRA_DIST += tests/integration/jobs.sh

# The control API over HTTP: the socket (peer credentials) and TLS TCP,
# routing, limits, problem+json errors, concurrency.
TESTS += tests/integration/api.sh
EXTRA_DIST += tests/integration/api.sh

# The role matrix: every route of the table (printed by api_routes) for
# every kind of caller, on TLS TCP and on the socket; denials audited.
check_PROGRAMS += tests/integration/api_routes
tests_integration_api_routes_SOURCES = tests/integration/api_routes.c
tests_integration_api_routes_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_integration_api_routes_LDADD = core/libdsrccore.la $(JANSSON_LIBS)
TESTS += tests/integration/api_roles.sh
EXTRA_DIST += tests/integration/api_roles.sh

# Malformed and hostile clients: bad JSON, big headers and bodies, a
# slowloris, a thousand connections, clients that vanish; a clean exit.
TESTS += tests/integration/api_abuse.sh
EXTRA_DIST += tests/integration/api_abuse.sh

# Its item routes on SQLite: list, describe, data streamed as dsrc fetch.
TESTS += tests/integration/api_data.sh
EXTRA_DIST += tests/integration/api_data.sh

# The control API's source routes: test, catalog, stats; dsrc runs through
# dsrcd.
TESTS += tests/integration/api_sources.sh
EXTRA_DIST += tests/integration/api_sources.sh
