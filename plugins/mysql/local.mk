# SPDX-License-Identifier: Apache-2.0
# mysql.so: MySQL and MariaDB servers through MariaDB Connector/C.
if ENABLE_MYSQL
plugin_LTLIBRARIES += plugins/mysql/mysql.la
plugins_mysql_mysql_la_SOURCES = \
	plugins/mysql/mysql.c \
	plugins/mysql/mys.h \
	plugins/mysql/mys_conn.c \
	plugins/mysql/mys_error.c \
	plugins/mysql/mys_buf.c \
	plugins/mysql/mys_types.c \
	plugins/mysql/mys_catalog.c \
	plugins/mysql/mys_discover.c \
	plugins/mysql/mys_fetch.c \
	plugins/mysql/mys_query.c
plugins_mysql_mysql_la_CPPFLAGS = -I$(top_srcdir)/sdk
plugins_mysql_mysql_la_CFLAGS = $(AM_CFLAGS) $(MYSQL_CFLAGS)
plugins_mysql_mysql_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_mysql_mysql_la_LIBADD = $(MYSQL_LIBS)
endif
EXTRA_DIST += plugins/mysql/README.md
# Its tests: plugins/mysql/tests/.
include $(srcdir)/plugins/mysql/tests/local.mk
