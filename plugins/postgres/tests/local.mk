# SPDX-License-Identifier: Apache-2.0
# plugins/postgres/tests/local.mk: postgres.so against real PostgreSQL servers
# started by plugins/postgres/tests/fixture/pg-fixture (skipped when none is installed).
if ENABLE_POSTGRES
if HAVE_CHECK
check_PROGRAMS += plugins/postgres/tests/test_postgres
TESTS += plugins/postgres/tests/test_postgres
# pgc_types.c turns the text of a SELECT into the cells typed rows must
# equal.
plugins_postgres_tests_test_postgres_SOURCES = plugins/postgres/tests/test_postgres.c \
	plugins/postgres/pgc_types.c plugins/postgres/pgc.h $(CONFORMANCE_SOURCES)
plugins_postgres_tests_test_postgres_CPPFLAGS = $(CONFORMANCE_CPPFLAGS)
plugins_postgres_tests_test_postgres_CFLAGS = $(UNIT_CFLAGS) $(POSTGRES_CFLAGS)
plugins_postgres_tests_test_postgres_LDADD = $(UNIT_LIBS) $(POSTGRES_LIBS) -lpthread
# How a failed connection is worded, from libpq's message text.
check_PROGRAMS += plugins/postgres/tests/test_pgc_error
TESTS += plugins/postgres/tests/test_pgc_error
plugins_postgres_tests_test_pgc_error_SOURCES = plugins/postgres/tests/test_pgc_error.c \
	plugins/postgres/pgc_error.c plugins/postgres/pgc.h
plugins_postgres_tests_test_pgc_error_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sdk
plugins_postgres_tests_test_pgc_error_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(POSTGRES_CFLAGS)
plugins_postgres_tests_test_pgc_error_LDADD = $(CHECK_LIBS) $(POSTGRES_LIBS)
endif

# The 1 000 000-row CSV fetch through the dsrc binary against psql's \copy,
# and incremental fetches through the CLI.
TESTS += plugins/postgres/tests/postgres_cli.sh
# Health and the breaker while the server is killed and restarted.
TESTS += plugins/postgres/tests/pg_health.sh
# read_policy routing between the primary and the streaming replica.
TESTS += plugins/postgres/tests/pg_replica.sh
# dsrcd killed (SIGKILL) 20 times while it fetches a growing table
# incrementally: every row delivered exactly once.
TESTS += plugins/postgres/tests/pg_jobs_kill.sh
# The state store on PostgreSQL: the store's unit suites, dsrc on it (a
# fernet: password, TLS verified), bad settings, the server restarted.
TESTS += plugins/postgres/tests/pg_store.sh
# Three dsrcd sharing one PostgreSQL state store and workspace, 50 growing
# tables, 10 SIGKILLs and a server restart: every row in exactly one
# committed file, each job slot run once, by one node, on all three nodes.
TESTS += plugins/postgres/tests/pg_cluster.sh
# dsrcd's retries: a server stopped (backoff, then success), a wrong
# password (one failed run, held, no retry storm).
TESTS += plugins/postgres/tests/pg_jobs_retry.sh
# Default pools keep no idle connections; a wrong password costs at most
# one login per health interval.
TESTS += plugins/postgres/tests/pg_defaults.sh
# TLS files rotated in place under dsrcd while a fetch runs every second:
# pools recycled, broken files refused, certificates close to expiry.
TESTS += plugins/postgres/tests/pg_tls_rotate.sh
# The fixture moves to another port when 127.0.0.1 is taken on its own
# (a server of a test running beside it).
TESTS += plugins/postgres/tests/pg_fixture.sh
# The catalog: no false drift on 2 000 tables, one event per DDL change.
TESTS += plugins/postgres/tests/pg_catalog.sh
# Column masking: every mode in CSV and JSON Lines, in and out of
# process, never through the server's own CSV.
TESTS += plugins/postgres/tests/pg_mask.sh
# A large table's CSV over two connections in one snapshot: byte-identical
# to \copy, concurrent inserts unseen, a killed backend, a cancel, memory.
TESTS += plugins/postgres/tests/pg_parallel.sh
# Doubles: 100 000 float8 values as JSON Lines, byte-identical to row_to_json.
TESTS += plugins/postgres/tests/pg_float_corpus.sh
# dsrcd's data route: 1 000 000 rows streamed as dsrc fetch writes them,
# memory flat, a client going away cancels the query.
TESTS += plugins/postgres/tests/pg_api_data.sh
# A source added through the API: its password stored encrypted, served at
# once, the other pools untouched; a wrong password refused.
TESTS += plugins/postgres/tests/pg_source_api.sh
# The alert events (source up and down, breaker open, run failed, drift)
# in a real journald, with their MESSAGE_IDs.
TESTS += plugins/postgres/tests/pg_journal.sh
# dsrc conformance against a real server.
TESTS += plugins/postgres/tests/pg_conformance.sh
# Through a real PgBouncer in session and transaction pooling mode: the same
# output as a direct connection, and dsrc conformance.
TESTS += plugins/postgres/tests/pg_pgbouncer.sh
# AWS RDS IAM tokens made by the host: a role whose password is botocore's
# token at a fixed clock.
TESTS += plugins/postgres/tests/pg_iam.sh
# The same with temporary credentials from IMDSv2 and STS AssumeRole
# (loopback stand-ins, the signature checked with botocore).
TESTS += plugins/postgres/tests/pg_iam_temp.sh
# Microsoft Entra ID tokens (client credentials, managed identity) made by
# the host as the password of Azure Database for PostgreSQL.
TESTS += plugins/postgres/tests/pg_azure.sh
# GCP Cloud SQL IAM login made by the host: a service-account JWT verified
# by a token endpoint stand-in, workload identity, 3 s tokens under a pool.
TESTS += plugins/postgres/tests/pg_gcp.sh
endif
EXTRA_DIST += plugins/postgres/tests/pg_iam.sh plugins/postgres/tests/pg_iam_temp.sh \
	plugins/postgres/tests/pg_azure.sh plugins/postgres/tests/pg_gcp.sh \
	tests/fixtures/gcp_standin.py
EXTRA_DIST += plugins/postgres/tests/fixture/pg-fixture plugins/postgres/tests/postgres_cli.sh \
	plugins/postgres/tests/pg_health.sh plugins/postgres/tests/pg_replica.sh \
	plugins/postgres/tests/pg_jobs_kill.sh plugins/postgres/tests/pg_jobs_retry.sh \
	plugins/postgres/tests/pg_catalog.sh plugins/postgres/tests/pg_lib.sh \
	plugins/postgres/tests/pg_api_data.sh plugins/postgres/tests/pg_source_api.sh \
	plugins/postgres/tests/pg_defaults.sh plugins/postgres/tests/pg_fixture.sh \
	plugins/postgres/tests/pg_journal.sh plugins/postgres/tests/pg_float_corpus.sh \
	plugins/postgres/tests/pg_conformance.sh plugins/postgres/tests/pg_parallel.sh \
	plugins/postgres/tests/pg_mask.sh \
	plugins/postgres/tests/pg_store.sh plugins/postgres/tests/pg_cluster.sh \
	plugins/postgres/tests/pg_tls_rotate.sh \
	plugins/postgres/tests/pg_pgbouncer.sh \
	plugins/postgres/tests/deps.apt bench/postgres/run bench/postgres/sqla_inspect.py \
	bench/pgbouncer/run

# The PostgreSQL tests each start their own servers; most run in three
# chains, one test after another within a chain, so that under make -j few
# of them compete for the machine's ports and memory at the same time, and
# no single long chain is left running alone at the end of make check.
plugins/postgres/tests/postgres_cli.log: plugins/postgres/tests/test_postgres.log
plugins/postgres/tests/pg_health.log: plugins/postgres/tests/postgres_cli.log
plugins/postgres/tests/pg_replica.log: plugins/postgres/tests/pg_health.log
plugins/postgres/tests/pg_jobs_kill.log: plugins/postgres/tests/pg_replica.log
plugins/postgres/tests/pg_jobs_retry.log: plugins/postgres/tests/pg_jobs_kill.log
plugins/postgres/tests/pg_defaults.log: plugins/postgres/tests/pg_jobs_retry.log
plugins/postgres/tests/pg_fixture.log: plugins/postgres/tests/pg_defaults.log
plugins/postgres/tests/pg_api_data.log: plugins/postgres/tests/pg_catalog.log
plugins/postgres/tests/pg_source_api.log: plugins/postgres/tests/pg_api_data.log
plugins/postgres/tests/pg_journal.log: plugins/postgres/tests/pg_source_api.log
plugins/postgres/tests/pg_conformance.log: plugins/postgres/tests/pg_journal.log
plugins/postgres/tests/pg_mask.log: plugins/postgres/tests/pg_conformance.log
plugins/postgres/tests/pg_cluster.log: plugins/postgres/tests/pg_store.log
plugins/postgres/tests/pg_tls_rotate.log: plugins/postgres/tests/pg_mask.log
plugins/postgres/tests/pg_pgbouncer.log: plugins/postgres/tests/pg_cluster.log
