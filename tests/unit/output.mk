# tests/unit/output.mk -- where fetched data lands: the CSV and JSON Lines
# writers, durable output files, manifests and the cursor state store.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_format tests/unit/test_outfile \
	tests/unit/test_manifest tests/unit/test_state
TESTS += tests/unit/test_format tests/unit/test_outfile \
	tests/unit/test_manifest tests/unit/test_state

tests_unit_test_format_SOURCES = tests/unit/test_format.c
tests_unit_test_format_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_format_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS)

tests_unit_test_outfile_SOURCES = tests/unit/test_outfile.c
tests_unit_test_outfile_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_outfile_LDADD = $(UNIT_LIBS) $(CRYPTO_LIBS)

tests_unit_test_manifest_SOURCES = tests/unit/test_manifest.c
tests_unit_test_manifest_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_manifest_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS)

tests_unit_test_state_SOURCES = tests/unit/test_state.c
tests_unit_test_state_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_state_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS)
endif
