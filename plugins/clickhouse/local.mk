# SPDX-License-Identifier: Apache-2.0
# clickhouse.so: ClickHouse servers over their HTTP interface (libcurl).
# ch.h lists the files.
if ENABLE_CLICKHOUSE
plugin_LTLIBRARIES += plugins/clickhouse/clickhouse.la
plugins_clickhouse_clickhouse_la_SOURCES = \
	plugins/clickhouse/clickhouse.c \
	plugins/clickhouse/ch.h \
	plugins/clickhouse/ch_conn.c \
	plugins/clickhouse/ch_error.c \
	plugins/clickhouse/ch_types.c \
	plugins/clickhouse/ch_catalog.c \
	plugins/clickhouse/ch_fetch.c \
	plugins/clickhouse/ch_query.c \
	plugins/common/dsrc_curl.c \
	plugins/common/dsrc_curl.h
plugins_clickhouse_clickhouse_la_CPPFLAGS = -I$(top_srcdir)/sdk
plugins_clickhouse_clickhouse_la_CFLAGS = $(AM_CFLAGS) $(CLICKHOUSE_CFLAGS)
plugins_clickhouse_clickhouse_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_clickhouse_clickhouse_la_LIBADD = $(CLICKHOUSE_LIBS) -lm
endif
EXTRA_DIST += plugins/clickhouse/README.md
# Its tests: plugins/clickhouse/tests/.
include $(srcdir)/plugins/clickhouse/tests/local.mk
