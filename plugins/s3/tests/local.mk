# SPDX-License-Identifier: Apache-2.0
# s3.so against a real s3rver emulator started by the fixture
# (plugins/s3/tests/fixture/s3rver.sh; skipped when s3rver is not on PATH):
# listings, paging over 2 500 keys, describe, fetch and errors (s3.sh), the
# conformance suite (s3_conformance.sh), a fetch resumed after cut
# connections (s3_resume.sh, azure_blob's cut proxy), a 200 MiB object with
# flat memory (s3_big.sh), the incremental listing (s3_incremental.sh) and
# temporary credentials from IMDSv2 and STS AssumeRole (s3_identity.sh).
# The host's signing is checked against AWS's test vectors in test_sigv4;
# cancellation in tests/integration/cancel_plugins.sh.
if ENABLE_S3
if HAVE_CHECK
# How S3's answers map to dsrc statuses (s3_error.c on its own).
check_PROGRAMS += plugins/s3/tests/test_s3_error
TESTS += plugins/s3/tests/test_s3_error
plugins_s3_tests_test_s3_error_SOURCES = plugins/s3/tests/test_s3_error.c plugins/s3/s3_error.c \
	plugins/common/dsrc_curl.c plugins/common/dsrc_curl.h \
	plugins/s3/s3.h
plugins_s3_tests_test_s3_error_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sdk -D_GNU_SOURCE
plugins_s3_tests_test_s3_error_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(S3_CFLAGS)
plugins_s3_tests_test_s3_error_LDADD = $(CHECK_LIBS) $(S3_LIBS)
endif
TESTS += plugins/s3/tests/s3.sh plugins/s3/tests/s3_conformance.sh \
	plugins/s3/tests/s3_resume.sh plugins/s3/tests/s3_big.sh \
	plugins/s3/tests/s3_incremental.sh plugins/s3/tests/s3_identity.sh
endif
EXTRA_DIST += plugins/s3/tests/s3.sh plugins/s3/tests/deps.npm plugins/s3/tests/deps.apt \
	plugins/s3/tests/fixture/s3rver.sh plugins/s3/tests/fixture/s3.py plugins/s3/tests/fixture/sigv4_proxy.py \
	plugins/s3/tests/s3_conformance.sh plugins/s3/tests/s3_resume.sh \
	plugins/s3/tests/s3_big.sh plugins/s3/tests/s3_incremental.sh plugins/s3/tests/s3_identity.sh
