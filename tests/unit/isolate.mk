# SPDX-License-Identifier: Apache-2.0
# tests/unit/isolate.mk -- plugins run in supervised worker processes.
# crashy.so: segfaults, aborts, exits, leaks or hangs in a chosen call
# (isolation.sh).
check_LTLIBRARIES += tests/fixtures/plugins/crashy.la
tests_fixtures_plugins_crashy_la_SOURCES = tests/fixtures/plugins/crashy/crashy.c
tests_fixtures_plugins_crashy_la_CPPFLAGS = -I$(top_srcdir)/sdk
tests_fixtures_plugins_crashy_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere

# isolation.sh: every failure mode in every call, through dsrc and dsrcd.
TESTS += tests/integration/isolation.sh
EXTRA_DIST += tests/integration/isolation.sh

# test_isolate: the framed encoding (round trips, truncated and garbage
# frames) and the proxy driver with crashy.so in worker processes.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_isolate
TESTS += tests/unit/test_isolate
tests_unit_test_isolate_SOURCES = tests/unit/test_isolate.c
tests_unit_test_isolate_CPPFLAGS = $(AM_CPPFLAGS) -DISO_TEST_BUILDDIR='"$(abs_top_builddir)"'
tests_unit_test_isolate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_isolate_LDADD = $(UNIT_LIBS) -lpthread
endif
