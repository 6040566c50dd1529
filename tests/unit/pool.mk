# SPDX-License-Identifier: Apache-2.0
# tests/unit/pool.mk -- connection pool, circuit breaker, endpoint routing
# and source health, driven by the fault-injecting test plugin.
if HAVE_CHECK
# fault.so: exports its control table (fault_control) besides the two ABI
# symbols, so it is linked without PLUGIN_LDFLAGS' export list.
check_LTLIBRARIES += tests/fixtures/plugins/fault.la
tests_fixtures_plugins_fault_la_SOURCES = tests/fixtures/plugins/fault/fault.c \
	tests/fixtures/plugins/fault/fault.h
tests_fixtures_plugins_fault_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-rpath /nowhere
tests_fixtures_plugins_fault_la_LIBADD = -lpthread

POOL_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/fixtures/plugins/fault \
	-DPOOL_TEST_BUILDDIR='"$(abs_top_builddir)"'
POOL_TEST_LIBS = $(UNIT_LIBS) $(JANSSON_LIBS) -lpthread -ldl

check_PROGRAMS += tests/unit/test_pool tests/unit/test_breaker tests/unit/test_health
TESTS += tests/unit/test_pool tests/unit/test_breaker tests/unit/test_health

tests_unit_test_pool_SOURCES = tests/unit/test_pool.c tests/unit/pool_env.h
tests_unit_test_pool_CPPFLAGS = $(POOL_TEST_CPPFLAGS)
tests_unit_test_pool_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pool_LDADD = $(POOL_TEST_LIBS)

tests_unit_test_breaker_SOURCES = tests/unit/test_breaker.c tests/unit/pool_env.h
tests_unit_test_breaker_CPPFLAGS = $(POOL_TEST_CPPFLAGS)
tests_unit_test_breaker_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_breaker_LDADD = $(POOL_TEST_LIBS)

tests_unit_test_health_SOURCES = tests/unit/test_health.c tests/unit/pool_env.h
tests_unit_test_health_CPPFLAGS = $(POOL_TEST_CPPFLAGS)
tests_unit_test_health_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_health_LDADD = $(POOL_TEST_LIBS)

check_PROGRAMS += tests/unit/test_tlswatch
TESTS += tests/unit/test_tlswatch
tests_unit_test_tlswatch_SOURCES = tests/unit/test_tlswatch.c tests/unit/unit_tmp.h
tests_unit_test_tlswatch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tlswatch_LDADD = $(UNIT_LIBS) -lm

endif
