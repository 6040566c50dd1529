# SPDX-License-Identifier: Apache-2.0
# tests/unit/isolate.mk -- plugins run in supervised worker processes.
# crashy.so: segfaults, aborts, exits, leaks or hangs in a chosen call
# (isolation.sh).
check_LTLIBRARIES += tests/fixtures/plugins/crashy.la
tests_fixtures_plugins_crashy_la_SOURCES = tests/fixtures/plugins/crashy/crashy.c
tests_fixtures_plugins_crashy_la_CPPFLAGS = -I$(top_srcdir)/sdk
tests_fixtures_plugins_crashy_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere

# isolation.sh: every failure mode in every call, through dsrc and dsrcd.
#TESTS += tests/integration/isolation.sh
EXTRA_DIST += tests/integration/isolation.sh
