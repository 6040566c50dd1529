# SPDX-License-Identifier: Apache-2.0
# tests/unit/lazylib.mk -- the libraries dsrc loads on first use
# (core/base/lazylib.h): test_lazylib loads each and names a missing one;
# cli_link.sh checks what dsrc links and loads at run time.
TESTS += tests/integration/cli_link.sh
EXTRA_DIST += tests/integration/cli_link.sh
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_lazylib
TESTS += tests/unit/test_lazylib
tests_unit_test_lazylib_SOURCES = tests/unit/test_lazylib.c
tests_unit_test_lazylib_CFLAGS = $(UNIT_CFLAGS) $(CURL_CFLAGS) $(EXPAT_CFLAGS) $(SECCOMP_CFLAGS)
tests_unit_test_lazylib_LDADD = $(UNIT_LIBS)
endif
