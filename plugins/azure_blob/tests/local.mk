# SPDX-License-Identifier: Apache-2.0
# azure_blob.so: the signer's unit test (Check, against an independent
# Python signer) and the end-to-end test against a real Azurite emulator
# (plugins/azure_blob/tests/azure_blob.sh; skipped when azurite-blob is not on PATH),
# Entra ID tokens against a local token server (azure_entra.sh), incremental
# container listings (azure_incremental.sh) and a fetch that resumes after a
# dropped connection (azure_resume.sh) or after Azurite was killed and
# restarted in the middle of a download (azure_restart.sh).
if ENABLE_AZURE_BLOB
if HAVE_CHECK
check_PROGRAMS += plugins/azure_blob/tests/test_azure_sign
TESTS += plugins/azure_blob/tests/test_azure_sign
plugins_azure_blob_tests_test_azure_sign_SOURCES = plugins/azure_blob/tests/test_azure_sign.c \
	plugins/azure_blob/az_sign.c plugins/azure_blob/az_sign.h
plugins_azure_blob_tests_test_azure_sign_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
plugins_azure_blob_tests_test_azure_sign_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(AZURE_BLOB_CFLAGS)
plugins_azure_blob_tests_test_azure_sign_LDADD = $(CHECK_LIBS) $(AZURE_BLOB_LIBS)
endif
TESTS += plugins/azure_blob/tests/azure_blob.sh plugins/azure_blob/tests/azure_entra.sh \
	plugins/azure_blob/tests/azure_incremental.sh plugins/azure_blob/tests/azure_resume.sh
TESTS += plugins/azure_blob/tests/azure_big.sh plugins/azure_blob/tests/azure_restart.sh
# dsrc conformance against Azurite.
TESTS += plugins/azure_blob/tests/azure_conformance.sh
# https with the TLS mode the host resolves (cloud: verify-full, on_prem: prefer).
TESTS += plugins/azure_blob/tests/azure_tls.sh
endif
# The cloud group's Azure client secret never reaches a plugin.
TESTS += tests/integration/azure_withheld.sh
EXTRA_DIST += tests/integration/azure_withheld.sh
EXTRA_DIST += plugins/azure_blob/tests/azure_blob.sh plugins/azure_blob/tests/fixture/azure.py \
	plugins/azure_blob/tests/fixture/azurite.sh plugins/azure_blob/tests/deps.npm \
	plugins/azure_blob/tests/azure_entra.sh plugins/azure_blob/tests/azure_incremental.sh \
	plugins/azure_blob/tests/azure_resume.sh plugins/azure_blob/tests/fixture/token_server.py \
	plugins/azure_blob/tests/fixture/cut_proxy.py plugins/azure_blob/tests/azure_tls.sh
EXTRA_DIST += plugins/azure_blob/tests/azure_big.sh plugins/azure_blob/tests/deps.apt bench/azure_blob/run \
	plugins/azure_blob/tests/azure_restart.sh plugins/azure_blob/tests/fixture/pause_reader.py \
	plugins/azure_blob/tests/azure_conformance.sh
