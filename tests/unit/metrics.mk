# SPDX-License-Identifier: Apache-2.0
# tests/unit/metrics.mk -- the Prometheus text writer (test_prom), and
# dsrcd's metrics (test_metrics): the daemon's units, health probes and
# scheduler on two sqlite sources, the exposition checked by promtool.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_prom
TESTS += tests/unit/test_prom
tests_unit_test_prom_SOURCES = tests/unit/test_prom.c
tests_unit_test_prom_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_prom_LDADD = $(UNIT_LIBS) -lm

if ENABLE_SQLITE
check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
# The daemon's parts the metrics read, without its main, signals and
# control socket.
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c tests/unit/unit_tmp.h \
	daemon/metrics.c daemon/metrics.h \
	daemon/generation.c daemon/generation.h \
	daemon/probes.c daemon/probes.h \
	daemon/scheduler.c daemon/scheduler.h \
	daemon/units.c daemon/units.h
tests_unit_test_metrics_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_metrics_CFLAGS = $(UNIT_CFLAGS) $(STORE_SQLITE_CFLAGS)
tests_unit_test_metrics_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(STORE_SQLITE_LIBS) -lpthread
endif
endif
