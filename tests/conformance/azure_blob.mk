# azure_blob.so: the signer's unit test (Check, against an independent
# Python signer) and the end-to-end test against a real Azurite emulator
# (tests/integration/azure_blob.sh; skipped when azurite-blob is not on PATH),
# Entra ID tokens against a local token server (azure_entra.sh), incremental
# container listings (azure_incremental.sh) and a fetch that resumes after a
# dropped connection (azure_resume.sh) or after Azurite was killed and
# restarted in the middle of a download (azure_restart.sh).
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
TESTS += tests/integration/azure_blob.sh tests/integration/azure_entra.sh \
	tests/integration/azure_incremental.sh tests/integration/azure_resume.sh
TESTS += tests/integration/azure_big.sh tests/integration/azure_restart.sh
endif
EXTRA_DIST += tests/integration/azure_blob.sh tests/fixtures/azurite/azure.py \
	tests/fixtures/azurite/azurite.sh tests/deps/azure_blob.npm \
	tests/integration/azure_entra.sh tests/integration/azure_incremental.sh \
	tests/integration/azure_resume.sh tests/fixtures/azurite/token_server.py \
	tests/fixtures/azurite/cut_proxy.py
EXTRA_DIST += tests/integration/azure_big.sh tests/deps/azure_blob.apt bench/azure_blob/run \
	tests/integration/azure_restart.sh tests/fixtures/azurite/pause_reader.py
