# SPDX-License-Identifier: Apache-2.0
# http.so: JSON REST APIs over libcurl, JSON parsed by jansson.  hp.h
# lists the files.
if ENABLE_HTTP
plugin_LTLIBRARIES += plugins/http/http.la
plugins_http_http_la_SOURCES = \
	plugins/http/http.c \
	plugins/http/hp.h \
	plugins/http/hp_conn.c \
	plugins/http/hp_error.c \
	plugins/http/hp_fetch.c \
	plugins/http/hp_page.c \
	plugins/http/hp_rows.c
plugins_http_http_la_CPPFLAGS = -I$(top_srcdir)/sdk -D_GNU_SOURCE
plugins_http_http_la_CFLAGS = $(AM_CFLAGS) $(HTTP_CFLAGS) $(JANSSON_CFLAGS)
plugins_http_http_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_http_http_la_LIBADD = $(HTTP_LIBS) $(JANSSON_LIBS) -lm
endif
EXTRA_DIST += plugins/http/README.md
# Its tests: plugins/http/tests/.
include $(srcdir)/plugins/http/tests/local.mk
