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
endif
