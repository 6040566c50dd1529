# SPDX-License-Identifier: Apache-2.0
# tests/conformance: the shared plugin conformance suite (conformance.c),
# run for every plugin with its own fixture and declared quirks.
if HAVE_CHECK
# Each plugin's conformance program (plugins/NAME/tests/local.mk) links
# CONFORMANCE_SOURCES and finds conformance.h through CONFORMANCE_CPPFLAGS.
CONFORMANCE_SOURCES = tests/conformance/conformance.c tests/conformance/conformance.h \
	tests/conformance/golden.c
CONFORMANCE_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/conformance

# The SDK example plugin, built from sdk/example/csvdir.c as a module the
# suite loads from the build tree (never installed): the same source a
# third party copies, compiled against the SDK header only.
check_LTLIBRARIES += tests/conformance/csvdir.la
tests_conformance_csvdir_la_SOURCES = sdk/example/csvdir.c
tests_conformance_csvdir_la_CPPFLAGS = -I$(top_srcdir)/sdk
tests_conformance_csvdir_la_CFLAGS = $(AM_CFLAGS)
tests_conformance_csvdir_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere

check_PROGRAMS += tests/conformance/test_example
TESTS += tests/conformance/test_example
tests_conformance_test_example_SOURCES = tests/conformance/test_example.c $(CONFORMANCE_SOURCES)
tests_conformance_test_example_CPPFLAGS = $(CONFORMANCE_CPPFLAGS)
tests_conformance_test_example_CFLAGS = $(UNIT_CFLAGS)
tests_conformance_test_example_LDADD = $(UNIT_LIBS)

# dsrc conformance (cli/cli_conformance.c) against the example plugin and
# two fixture plugins built from one source: quirky.so, correct with one
# declared quirk, and broken.so, with the faults the program must name.
check_LTLIBRARIES += tests/fixtures/plugins/quirky.la tests/fixtures/plugins/broken.la
tests_fixtures_plugins_quirky_la_SOURCES = tests/fixtures/plugins/conform/memtable.c
tests_fixtures_plugins_quirky_la_CPPFLAGS = -I$(top_srcdir)/sdk -DMT_QUIRKY
tests_fixtures_plugins_quirky_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
tests_fixtures_plugins_broken_la_SOURCES = tests/fixtures/plugins/conform/memtable.c
tests_fixtures_plugins_broken_la_CPPFLAGS = -I$(top_srcdir)/sdk -DMT_BROKEN
tests_fixtures_plugins_broken_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
TESTS += tests/integration/conformance.sh
EXTRA_DIST += tests/integration/conformance.sh
endif
