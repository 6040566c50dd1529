# SPDX-License-Identifier: Apache-2.0
# mysql.so: MySQL and MariaDB servers through MariaDB Connector/C.
if ENABLE_MYSQL
plugin_LTLIBRARIES += plugins/mysql/mysql.la
plugins_mysql_mysql_la_SOURCES = \
	plugins/mysql/my.h \
	plugins/mysql/my_plugin.c \
	plugins/mysql/my_conn.c \
	plugins/mysql/my_buf.c \
	plugins/mysql/my_catalog.c \
	plugins/mysql/my_fetch.c
plugins_mysql_mysql_la_CPPFLAGS = -I$(top_srcdir)/sdk
plugins_mysql_mysql_la_CFLAGS = $(AM_CFLAGS) $(MYSQL_CFLAGS)
plugins_mysql_mysql_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_mysql_mysql_la_LIBADD = $(MYSQL_LIBS)
endif
EXTRA_DIST += plugins/mysql/README.md
# Its tests: plugins/mysql/tests/.
include $(srcdir)/plugins/mysql/tests/local.mk
