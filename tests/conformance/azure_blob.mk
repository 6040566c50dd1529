# azure_blob.so: the signer's unit test (Check, against an independent
# Python signer) and the end-to-end test against a real Azurite emulator
# (tests/integration/azure_blob.sh; skipped when azurite-blob is not on PATH).
if ENABLE_AZURE_BLOB
if HAVE_CHECK
check_PROGRAMS += tests/conformance/test_azure_sign
TESTS += tests/conformance/test_azure_sign
tests_conformance_test_azure_sign_SOURCES = tests/conformance/test_azure_sign.c \
	plugins/azure_blob/az_sign.c plugins/azure_blob/az_sign.h
tests_conformance_test_azure_sign_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_conformance_test_azure_sign_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(AZURE_BLOB_CFLAGS)
tests_conformance_test_azure_sign_LDADD = $(CHECK_LIBS) $(AZURE_BLOB_LIBS)
endif
TESTS += tests/integration/azure_blob.sh
endif
EXTRA_DIST += tests/integration/azure_blob.sh tests/fixtures/azurite/azure.py \
	tests/fixtures/azurite/azurite.sh tests/deps/azure_blob.npm
