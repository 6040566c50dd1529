# SPDX-License-Identifier: Apache-2.0
# tests/unit/output.mk -- where fetched data lands: the CSV and JSON Lines
# writers, durable output files, manifests, column masking and the cursor
# state store.
# unit_tmp.h: a test's temporary directory, removed (also test_store).
EXTRA_DIST += tests/unit/unit_tmp.h
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_format tests/unit/test_outfile \
	tests/unit/test_manifest tests/unit/test_state tests/unit/test_mask
TESTS += tests/unit/test_format tests/unit/test_outfile \
	tests/unit/test_manifest tests/unit/test_state tests/unit/test_mask

tests_unit_test_format_SOURCES = tests/unit/test_format.c
tests_unit_test_format_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_format_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS)

tests_unit_test_outfile_SOURCES = tests/unit/test_outfile.c
tests_unit_test_outfile_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_outfile_LDADD = $(UNIT_LIBS) $(CRYPTO_LIBS)

tests_unit_test_manifest_SOURCES = tests/unit/test_manifest.c
tests_unit_test_manifest_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_manifest_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS)

tests_unit_test_mask_SOURCES = tests/unit/test_mask.c
tests_unit_test_mask_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mask_LDADD = $(UNIT_LIBS) $(CRYPTO_LIBS)

tests_unit_test_state_SOURCES = tests/unit/test_state.c
tests_unit_test_state_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_state_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS)
endif

# sinks.so: a plugin that drives the fetch sinks in every allowed and
# forbidden order, for tests/integration/fetch_sinks.sh.
check_LTLIBRARIES += tests/fixtures/plugins/sinks.la
tests_fixtures_plugins_sinks_la_SOURCES = tests/fixtures/plugins/sinks/sinks.c
tests_fixtures_plugins_sinks_la_CPPFLAGS = -I$(top_srcdir)/sdk
tests_fixtures_plugins_sinks_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
TESTS += tests/integration/fetch_sinks.sh tests/integration/plugin_contracts.sh
EXTRA_DIST += tests/integration/fetch_sinks.sh tests/integration/plugin_contracts.sh
