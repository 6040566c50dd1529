# SPDX-License-Identifier: Apache-2.0
# s3.so: Amazon S3 and S3-compatible stores over the S3 REST API (libcurl,
# expat, OpenSSL for MD5 and checksums).  Requests are signed by the host
# (dsrc_host.aws_sign, ABI 1.2).  s3.h lists the files.
if ENABLE_S3
plugin_LTLIBRARIES += plugins/s3/s3.la
plugins_s3_s3_la_SOURCES = \
	plugins/s3/s3.c \
	plugins/s3/s3.h \
	plugins/s3/s3_catalog.c \
	plugins/s3/s3_conn.c \
	plugins/s3/s3_error.c \
	plugins/s3/s3_fetch.c \
	plugins/common/dsrc_curl.c \
	plugins/common/dsrc_curl.h
plugins_s3_s3_la_CPPFLAGS = -I$(top_srcdir)/sdk -D_GNU_SOURCE
plugins_s3_s3_la_CFLAGS = $(AM_CFLAGS) $(S3_CFLAGS)
plugins_s3_s3_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_s3_s3_la_LIBADD = $(S3_LIBS)
endif
EXTRA_DIST += plugins/s3/README.md
# Its tests: plugins/s3/tests/.
include $(srcdir)/plugins/s3/tests/local.mk
