# SPDX-License-Identifier: Apache-2.0
# tests/unit/store.mk -- the state store: schema, cursors, runs, claims and
# the recovery of runs whose process died.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_store
TESTS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/store_env.h
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS) $(STORE_SQLITE_CFLAGS)
tests_unit_test_store_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(STORE_SQLITE_LIBS)
endif

# Several nodes sharing one store: one run per job slot, claims, the node
# on runs, heartbeats and leases, who resolves a dead node's runs.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_cluster
TESTS += tests/unit/test_cluster
tests_unit_test_cluster_SOURCES = tests/unit/test_cluster.c tests/unit/store_env.h
tests_unit_test_cluster_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cluster_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS)
endif

# The audit trail (hash chain, tampering, appends from several processes)
# and the API tokens (hashed, checked, expired, revoked).
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_audit
TESTS += tests/unit/test_audit
tests_unit_test_audit_SOURCES = tests/unit/test_audit.c tests/unit/store_env.h
tests_unit_test_audit_CFLAGS = $(UNIT_CFLAGS) $(STORE_SQLITE_CFLAGS)
tests_unit_test_audit_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(STORE_SQLITE_LIBS)
endif
# The history of read-only queries: the parameters' hash, records listed,
# never a value nor a secret, the audit record beside each, pruning.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_queries
TESTS += tests/unit/test_queries
tests_unit_test_queries_SOURCES = tests/unit/test_queries.c tests/unit/store_env.h
tests_unit_test_queries_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_queries_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS)
endif
# audit.sh: the records of dsrc fetch, secret and token, never a secret;
# tampering named by dsrc audit --verify.
TESTS += tests/integration/audit.sh
EXTRA_DIST += tests/integration/audit.sh
