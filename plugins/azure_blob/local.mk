# SPDX-License-Identifier: Apache-2.0
# azure_blob.so: Azure Blob Storage over its REST API (libcurl, expat,
# OpenSSL; Entra ID tokens come from the host).  az.h lists the files;
# az_sign.c holds the pure parts (Shared Key signing, encoding,
# connection strings) that the unit test links directly.
if ENABLE_AZURE_BLOB
plugin_LTLIBRARIES += plugins/azure_blob/azure_blob.la
plugins_azure_blob_azure_blob_la_SOURCES = \
	plugins/azure_blob/azure_blob.c \
	plugins/azure_blob/az.h \
	plugins/azure_blob/az_catalog.c \
	plugins/azure_blob/az_fetch.c \
	plugins/azure_blob/az_http.c \
	plugins/azure_blob/az_list.c \
	plugins/azure_blob/az_sign.c \
	plugins/azure_blob/az_sign.h \
	plugins/common/dsrc_curl.c \
	plugins/common/dsrc_curl.h
plugins_azure_blob_azure_blob_la_CPPFLAGS = -I$(top_srcdir)/sdk -D_GNU_SOURCE
plugins_azure_blob_azure_blob_la_CFLAGS = $(AM_CFLAGS) $(AZURE_BLOB_CFLAGS)
plugins_azure_blob_azure_blob_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_azure_blob_azure_blob_la_LIBADD = $(AZURE_BLOB_LIBS) -lpthread
endif
EXTRA_DIST += plugins/azure_blob/README.md
# Its tests: plugins/azure_blob/tests/.
include $(srcdir)/plugins/azure_blob/tests/local.mk
