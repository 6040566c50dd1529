# SPDX-License-Identifier: Apache-2.0
# tests/unit/metrics.mk -- the Prometheus text writer (test_prom).
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_prom
TESTS += tests/unit/test_prom
tests_unit_test_prom_SOURCES = tests/unit/test_prom.c
tests_unit_test_prom_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_prom_LDADD = $(UNIT_LIBS) -lm
endif
