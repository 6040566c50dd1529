# SPDX-License-Identifier: Apache-2.0
# tests/unit/config.mk -- configuration (dsrcd.conf, sources.d), schedule
# expressions and the registry of sources.


# A complete, valid configuration using every setting (test_config).
EXTRA_DIST += \
	tests/fixtures/config/full/dsrcd.conf \
	tests/fixtures/config/full/keys/dsrc.key \
	tests/fixtures/config/full/sources.d/10-orders.conf \
	tests/fixtures/config/full/sources.d/20-blobs.conf \
	tests/fixtures/config/full/sources.d/30-warehouse.conf \
	tests/fixtures/config/full/sources.d/.hidden.conf \
	tests/fixtures/config/full/sources.d/README \
	tests/fixtures/config/full/sources.d/old.conf.disabled

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_config tests/unit/test_registry tests/unit/test_srcdoc
TESTS += tests/unit/test_config tests/unit/test_registry tests/unit/test_srcdoc

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LIBS)

tests_unit_test_registry_SOURCES = tests/unit/test_registry.c
tests_unit_test_registry_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_registry_LDADD = $(UNIT_LIBS)
tests_unit_test_srcdoc_SOURCES = tests/unit/test_srcdoc.c tests/unit/unit_tmp.h
tests_unit_test_srcdoc_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_srcdoc_LDADD = $(UNIT_LIBS)

# opts.so: a plugin with an option of every type, for test_registry.  It
# lands in tests/fixtures/plugins/.libs, where the test looks for it.
check_LTLIBRARIES += tests/fixtures/plugins/opts.la
tests_fixtures_plugins_opts_la_SOURCES = tests/fixtures/plugins/opts/opts.c
tests_fixtures_plugins_opts_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
endif

# limits.so: a plugin with option limits and validate() (ABI 1.1), for
# tests/integration/check_config.sh.
check_LTLIBRARIES += tests/fixtures/plugins/limits.la
tests_fixtures_plugins_limits_la_SOURCES = tests/fixtures/plugins/limits/limits.c
tests_fixtures_plugins_limits_la_CPPFLAGS = -I$(top_srcdir)/sdk
tests_fixtures_plugins_limits_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
