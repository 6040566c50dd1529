# SPDX-License-Identifier: Apache-2.0
# plugins/sqlite/tests/local.mk -- sqlite.so through the shared conformance
# suite, on SQLite files the program creates.
if HAVE_CHECK
if ENABLE_SQLITE
check_PROGRAMS += plugins/sqlite/tests/test_sqlite
TESTS += plugins/sqlite/tests/test_sqlite
plugins_sqlite_tests_test_sqlite_SOURCES = plugins/sqlite/tests/test_sqlite.c $(CONFORMANCE_SOURCES)
plugins_sqlite_tests_test_sqlite_CPPFLAGS = $(CONFORMANCE_CPPFLAGS)
plugins_sqlite_tests_test_sqlite_CFLAGS = $(UNIT_CFLAGS) $(SQLITE_CFLAGS)
plugins_sqlite_tests_test_sqlite_LDADD = $(UNIT_LIBS) $(SQLITE_LIBS) -lpthread
endif
endif
if ENABLE_SQLITE
# dsrc conformance against a SQLite file.
TESTS += plugins/sqlite/tests/sqlite_conformance.sh
endif
EXTRA_DIST += plugins/sqlite/tests/sqlite_conformance.sh
