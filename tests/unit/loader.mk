# SPDX-License-Identifier: Apache-2.0
# tests/unit/loader.mk -- the plugin loader and ABI tests, and the test
# plugins they load.
if HAVE_CHECK

# Test plugins: libtool modules built only for `make check`.  -rpath makes
# libtool build a shared object (tests/fixtures/plugins/.libs/NAME.so)
# instead of a convenience archive; they are never installed.
LOADER_FIXTURE_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
LOADER_FIXTURE_SRC = tests/fixtures/plugins/fixture.h

check_LTLIBRARIES += \
	tests/fixtures/plugins/good.la \
	tests/fixtures/plugins/full.la \
	tests/fixtures/plugins/noabi.la \
	tests/fixtures/plugins/noentry.la \
	tests/fixtures/plugins/wrongname.la \
	tests/fixtures/plugins/nofetch.la \
	tests/fixtures/plugins/initfail.la \
	tests/fixtures/plugins/unresolved.la \
	tests/fixtures/plugins/abi2.la \
	tests/fixtures/plugins/badmagic.la \
	tests/fixtures/plugins/shortabi.la \
	tests/fixtures/plugins/nullabi.la \
	tests/fixtures/plugins/smalldriver.la \
	tests/fixtures/plugins/cellsize.la \
	tests/fixtures/plugins/dupoption.la \
	tests/fixtures/plugins/nochoices.la \
	tests/fixtures/plugins/badoptionname.la \
	tests/fixtures/plugins/endless.la \
	tests/fixtures/plugins/noabiversion.la \
	tests/fixtures/plugins/capsonly.la \
	tests/fixtures/plugins/limitname.la \
	tests/fixtures/plugins/limitminmax.la \
	tests/fixtures/plugins/limitregex.la \
	tests/fixtures/plugins/limittype.la \
	tests/fixtures/plugins/v10.la \
	tests/fixtures/plugins/fk11.la \
	tests/fixtures/plugins/lies10.la \
	tests/fixtures/plugins/need11.la \
	tests/fixtures/plugins/badlimits.la

tests_fixtures_plugins_good_la_SOURCES = tests/fixtures/plugins/good.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_good_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_full_la_SOURCES = tests/fixtures/plugins/full.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_full_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_noabi_la_SOURCES = tests/fixtures/plugins/noabi.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_noabi_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_noentry_la_SOURCES = tests/fixtures/plugins/noentry.c
tests_fixtures_plugins_noentry_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_wrongname_la_SOURCES = tests/fixtures/plugins/wrongname.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_wrongname_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_nofetch_la_SOURCES = tests/fixtures/plugins/nofetch.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_nofetch_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_initfail_la_SOURCES = tests/fixtures/plugins/initfail.c
tests_fixtures_plugins_initfail_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
# Deliberately links with a symbol no library defines.
tests_fixtures_plugins_unresolved_la_SOURCES = tests/fixtures/plugins/unresolved.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_unresolved_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS)

# ABI minors (test_abi): v10 is built against the frozen 1.0 header alone
# (<dsrc/abi/v1_0.h>), fk11 against the live one.
tests_fixtures_plugins_v10_la_SOURCES = tests/fixtures/plugins/v10.c
tests_fixtures_plugins_v10_la_CPPFLAGS = -I$(top_srcdir)/sdk
tests_fixtures_plugins_v10_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_fk11_la_SOURCES = tests/fixtures/plugins/fk11.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_fk11_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
# needs a 1.1 host (DSRC_PLUGIN_MIN_ABI): refused by a simulated 1.0 host.
tests_fixtures_plugins_need11_la_SOURCES = tests/fixtures/plugins/need11.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_need11_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined

# Loaded by a 1.1 host, faulted by dsrc abi-check (abi_check.sh).
LOADER_ABIBAD_SRC = tests/fixtures/plugins/abibad.c $(LOADER_FIXTURE_SRC)
tests_fixtures_plugins_lies10_la_SOURCES = $(LOADER_ABIBAD_SRC)
tests_fixtures_plugins_lies10_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=lies10 -DABIBAD_LIES10
tests_fixtures_plugins_lies10_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_badlimits_la_SOURCES = $(LOADER_ABIBAD_SRC)
tests_fixtures_plugins_badlimits_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=badlimits -DABIBAD_LIMITS
tests_fixtures_plugins_badlimits_la_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined

# One source, one wrong magic block per module.
LOADER_BADABI_SRC = tests/fixtures/plugins/badabi.c $(LOADER_FIXTURE_SRC)
LOADER_BADABI_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_abi2_la_SOURCES = $(LOADER_BADABI_SRC)
tests_fixtures_plugins_abi2_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=abi2 -DBAD_ABI_MAJOR
tests_fixtures_plugins_abi2_la_LDFLAGS = $(LOADER_BADABI_LDFLAGS)
tests_fixtures_plugins_badmagic_la_SOURCES = $(LOADER_BADABI_SRC)
tests_fixtures_plugins_badmagic_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=badmagic -DBAD_ABI_MAGIC
tests_fixtures_plugins_badmagic_la_LDFLAGS = $(LOADER_BADABI_LDFLAGS)
tests_fixtures_plugins_shortabi_la_SOURCES = $(LOADER_BADABI_SRC)
tests_fixtures_plugins_shortabi_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=shortabi -DBAD_ABI_STRUCT_SIZE
tests_fixtures_plugins_shortabi_la_LDFLAGS = $(LOADER_BADABI_LDFLAGS)
tests_fixtures_plugins_nullabi_la_SOURCES = $(LOADER_BADABI_SRC)
tests_fixtures_plugins_nullabi_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=nullabi -DBAD_ABI_NULL
tests_fixtures_plugins_nullabi_la_LDFLAGS = $(LOADER_BADABI_LDFLAGS)
tests_fixtures_plugins_smalldriver_la_SOURCES = $(LOADER_BADABI_SRC)
tests_fixtures_plugins_smalldriver_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=smalldriver -DBAD_ABI_DRIVER_SIZE
tests_fixtures_plugins_smalldriver_la_LDFLAGS = $(LOADER_BADABI_LDFLAGS)
tests_fixtures_plugins_cellsize_la_SOURCES = $(LOADER_BADABI_SRC)
tests_fixtures_plugins_cellsize_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=cellsize -DBAD_ABI_CELL_SIZE
tests_fixtures_plugins_cellsize_la_LDFLAGS = $(LOADER_BADABI_LDFLAGS)

# One source, one wrong driver per module.
LOADER_BADDRV_SRC = tests/fixtures/plugins/baddriver.c $(LOADER_FIXTURE_SRC)
LOADER_BADDRV_LDFLAGS = $(LOADER_FIXTURE_LDFLAGS) -no-undefined
tests_fixtures_plugins_dupoption_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_dupoption_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=dupoption -DBAD_DRV_DUP_OPTION
tests_fixtures_plugins_dupoption_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_nochoices_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_nochoices_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=nochoices -DBAD_DRV_NO_CHOICES
tests_fixtures_plugins_nochoices_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_badoptionname_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_badoptionname_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=badoptionname -DBAD_DRV_OPTION_NAME
tests_fixtures_plugins_badoptionname_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_endless_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_endless_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=endless -DBAD_DRV_ENDLESS_OPTIONS
tests_fixtures_plugins_endless_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_noabiversion_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_noabiversion_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=noabiversion -DBAD_DRV_NO_ABI_VERSION
tests_fixtures_plugins_noabiversion_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_capsonly_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_capsonly_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=capsonly -DBAD_DRV_CAPS_WITHOUT_MEMBERS
tests_fixtures_plugins_capsonly_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_limitname_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_limitname_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=limitname -DBAD_DRV_LIMIT_NAME
tests_fixtures_plugins_limitname_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_limitminmax_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_limitminmax_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=limitminmax -DBAD_DRV_LIMIT_MINMAX
tests_fixtures_plugins_limitminmax_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_limitregex_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_limitregex_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=limitregex -DBAD_DRV_LIMIT_REGEX
tests_fixtures_plugins_limitregex_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)
tests_fixtures_plugins_limittype_la_SOURCES = $(LOADER_BADDRV_SRC)
tests_fixtures_plugins_limittype_la_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURE_NAME=limittype -DBAD_DRV_LIMIT_TYPE
tests_fixtures_plugins_limittype_la_LDFLAGS = $(LOADER_BADDRV_LDFLAGS)

check_PROGRAMS += tests/unit/test_loader tests/unit/test_abi
TESTS += tests/unit/test_loader tests/unit/test_abi

tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CPPFLAGS = $(AM_CPPFLAGS) \
	-DLOADER_TEST_BUILDDIR='"$(abs_top_builddir)"'
tests_unit_test_loader_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_loader_LDADD = $(UNIT_LIBS)

tests_unit_test_abi_SOURCES = tests/unit/test_abi.c
tests_unit_test_abi_CPPFLAGS = $(AM_CPPFLAGS) \
	-DLOADER_TEST_BUILDDIR='"$(abs_top_builddir)"'
tests_unit_test_abi_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_abi_LDADD = $(UNIT_LIBS)

# The SDK's header-only helpers (item path escaping).
check_PROGRAMS += tests/unit/test_plugin_util
TESTS += tests/unit/test_plugin_util
tests_unit_test_plugin_util_SOURCES = tests/unit/test_plugin_util.c
tests_unit_test_plugin_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_plugin_util_LDADD = $(CHECK_LIBS)

endif
