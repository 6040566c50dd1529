# SPDX-License-Identifier: Apache-2.0
# tests/integration/local.mk

# The SDK example built out of tree against a DESTDIR install, then loaded
# by dsrc.
TESTS += tests/integration/example_out_of_tree.sh
EXTRA_DIST += tests/integration/example_out_of_tree.sh

# dsrc abi-check on the test plugins, clean and faulty.
TESTS += tests/integration/abi_check.sh
EXTRA_DIST += tests/integration/abi_check.sh

# Run as root, dsrc gives what it makes in a workspace or state_dir owned
# by another user (the daemon's) to that user.
TESTS += tests/integration/workspace_owner.sh tests/integration/group_share.sh
EXTRA_DIST += tests/integration/workspace_owner.sh tests/integration/group_share.sh

# Column masking: every mode through dsrc fetch (in and out of process)
# and a dsrcd run, keys, manifests, nothing in clear, errors.
TESTS += tests/integration/mask.sh
EXTRA_DIST += tests/integration/mask.sh tests/mask_lib.sh

# dsrc query on sqlite sources, in and out of process: the same bytes as
# fetch, parameters, limit, time limit, manifest, masking, writes refused,
# the audit trail; and 1 M rows in flat memory.
TESTS += tests/integration/query_cli.sh tests/integration/query_memory.sh
EXTRA_DIST += tests/integration/query_cli.sh tests/integration/query_memory.sh

# dsrcd's jobs and runs: schedules, catch-up, stall, cancel, reload and
# concurrency limits, with sqlite sources and the fault test plugin.
TESTS += tests/integration/jobs.sh
EXTRA_DIST += tests/integration/jobs.sh

# Two dsrcd sharing one state store and workspace as two nodes: each slot
# run once, by one node, through SIGKILL and restarts.
TESTS += tests/integration/cluster.sh
EXTRA_DIST += tests/integration/cluster.sh

# The control API over HTTP: the socket (peer credentials) and TLS TCP,
# routing, limits, problem+json errors, concurrency.
TESTS += tests/integration/api.sh
EXTRA_DIST += tests/integration/api.sh

# The role matrix: every route of the table (printed by api_routes) for
# every kind of caller, on TLS TCP and on the socket; denials audited.
check_PROGRAMS += tests/integration/api_routes
tests_integration_api_routes_SOURCES = tests/integration/api_routes.c
tests_integration_api_routes_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_integration_api_routes_LDADD = core/libdsrccore.la $(JANSSON_LIBS) $(DCONV_LIBS)
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
# Sources added, changed and removed at run time (API and dsrc source).
TESTS += tests/integration/source_api.sh
EXTRA_DIST += tests/integration/source_api.sh

# The manual pages: mandoc -Tlint clean, no words run together by .BR.
TESTS += tests/integration/man_lint.sh
EXTRA_DIST += tests/integration/man_lint.sh

# The command line's contract for scripts, every command: one JSON document
# with --json, the shared error object, the exit-status table, each error
# once, "did you mean".
TESTS += tests/integration/cli_contract.sh
EXTRA_DIST += tests/integration/cli_contract.sh

# dsrcd's log lines: ISO 8601 times on stderr but not on the journal's
# stream; the journal as target with no journald falls back to stderr.
TESTS += tests/integration/daemon_log.sh
EXTRA_DIST += tests/integration/daemon_log.sh

# Every command's --help against dsrc(1); the bash completion.
TESTS += tests/integration/cli_help.sh tests/integration/completion.sh
EXTRA_DIST += tests/integration/cli_help.sh tests/integration/completion.sh

# Ctrl-C in every command that calls a plugin, for every shipped plugin
# blocked on a server that accepts and never answers (blackhole) or on a
# locked SQLite database: exit 130 within 1 s; a second Ctrl-C at once.
check_PROGRAMS += tests/fixtures/blackhole
tests_fixtures_blackhole_SOURCES = tests/fixtures/blackhole.c
TESTS += tests/integration/cancel_plugins.sh
EXTRA_DIST += tests/integration/cancel_plugins.sh

# dsrc test opens in its own thread: acquire_timeout still ends an open
# that hangs, heeding the cancellation or not.
TESTS += tests/integration/test_open_timeout.sh
EXTRA_DIST += tests/integration/test_open_timeout.sh

# bench/lib.sh, what every benchmark reports through: medians, ratios and
# verdicts on figures given, the interleaved order, errors and skips.
TESTS += tests/integration/bench_lib.sh
EXTRA_DIST += tests/integration/bench_lib.sh
