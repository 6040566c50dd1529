# tests/conformance/postgres.mk: postgres.so against real PostgreSQL servers
# started by tests/fixtures/pg/pg-fixture (skipped when none is installed).
if ENABLE_POSTGRES
if HAVE_CHECK
check_PROGRAMS += tests/conformance/test_postgres
TESTS += tests/conformance/test_postgres
tests_conformance_test_postgres_SOURCES = tests/conformance/test_postgres.c $(CONFORMANCE_SOURCES)
tests_conformance_test_postgres_CFLAGS = $(UNIT_CFLAGS)
tests_conformance_test_postgres_LDADD = $(UNIT_LIBS) -lpthread
endif

# The 1 000 000-row CSV fetch through the dsrc binary against psql's \copy,
# and incremental fetches through the CLI.
TESTS += tests/integration/postgres_cli.sh
# Health and the breaker while the server is killed and restarted.
TESTS += tests/integration/pg_health.sh
# read_policy routing between the primary and the streaming replica.
TESTS += tests/integration/pg_replica.sh
endif
EXTRA_DIST += tests/fixtures/pg/pg-fixture tests/integration/postgres_cli.sh \
	tests/integration/pg_health.sh tests/integration/pg_replica.sh \
	tests/fixtures/replica.sh \
	tests/deps/postgres.apt bench/postgres/run bench/postgres/sqla_inspect.py

# The PostgreSQL tests each start their own servers; run them one after
# another (not side by side under make -j) so that they never compete for
# the machine's ports and memory at the same time.
tests/integration/postgres_cli.log: tests/conformance/test_postgres.log
tests/integration/pg_health.log: tests/integration/postgres_cli.log
tests/integration/pg_replica.log: tests/integration/pg_health.log
