# SPDX-License-Identifier: Apache-2.0
# postgres.so: PostgreSQL through libpq.
if ENABLE_POSTGRES
plugin_LTLIBRARIES += plugins/postgres/postgres.la
plugins_postgres_postgres_la_SOURCES = \
	plugins/postgres/postgres.c \
	plugins/postgres/pgc.h \
	plugins/postgres/pgc_catalog.c \
	plugins/postgres/pgc_error.c \
	plugins/postgres/pgc_fetch.c \
	plugins/postgres/pgc_query.c \
	plugins/postgres/pgc_statement.c \
	plugins/postgres/pgc_types.c
plugins_postgres_postgres_la_CPPFLAGS = -I$(top_srcdir)/sdk
plugins_postgres_postgres_la_CFLAGS = $(AM_CFLAGS) $(POSTGRES_CFLAGS)
plugins_postgres_postgres_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_postgres_postgres_la_LIBADD = $(POSTGRES_LIBS)
endif
EXTRA_DIST += plugins/postgres/README.md
# Its tests: plugins/postgres/tests/.
include $(srcdir)/plugins/postgres/tests/local.mk
