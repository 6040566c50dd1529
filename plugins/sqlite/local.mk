# SPDX-License-Identifier: Apache-2.0
# sqlite.so: the embedded default connector.
if ENABLE_SQLITE
plugin_LTLIBRARIES += plugins/sqlite/sqlite.la
plugins_sqlite_sqlite_la_SOURCES = \
	plugins/sqlite/sqlite.c \
	plugins/sqlite/sq.h \
	plugins/sqlite/sq_catalog.c \
	plugins/sqlite/sq_error.c \
	plugins/sqlite/sq_fetch.c \
	plugins/sqlite/sq_query.c \
	plugins/sqlite/sq_types.c
plugins_sqlite_sqlite_la_CPPFLAGS = -I$(top_srcdir)/sdk
plugins_sqlite_sqlite_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
plugins_sqlite_sqlite_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_sqlite_sqlite_la_LIBADD = $(SQLITE_LIBS)
endif
# Its tests: plugins/sqlite/tests/.
include $(srcdir)/plugins/sqlite/tests/local.mk
