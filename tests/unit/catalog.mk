# SPDX-License-Identifier: Apache-2.0
# tests/unit/catalog.mk -- the catalog (core/catalog/): the normal form and
# schema hash, each change kind and its class, snapshots, drift events,
# pauses and retention in a real state store.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_catalog
TESTS += tests/unit/test_catalog
tests_unit_test_catalog_SOURCES = tests/unit/test_catalog.c tests/unit/store_env.h
tests_unit_test_catalog_CFLAGS = $(UNIT_CFLAGS) $(STORE_SQLITE_CFLAGS)
tests_unit_test_catalog_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(STORE_SQLITE_LIBS)
endif
# catalog.sh: snapshots, drift and pauses end to end on SQLite, with dsrcd.
TESTS += tests/integration/catalog.sh
EXTRA_DIST += tests/integration/catalog.sh tests/integration/catalog_lib.sh
# discovery.sh: discover modes and the record of each discover, with dsrcd.
TESTS += tests/integration/discovery.sh
EXTRA_DIST += tests/integration/discovery.sh
