# SPDX-License-Identifier: Apache-2.0
# mongo.so: MongoDB through mongo-c-driver (libmongoc / libbson).
if ENABLE_MONGO
plugin_LTLIBRARIES += plugins/mongo/mongo.la
plugins_mongo_mongo_la_SOURCES = plugins/mongo/mongo.c plugins/mongo/mg_uri.c \
	plugins/mongo/mg_error.c plugins/mongo/mg_catalog.c plugins/mongo/mg_fetch.c \
	plugins/mongo/mg_value.c plugins/mongo/mg_schema.c plugins/mongo/mg.h \
	plugins/mongo/mg_qparse.c plugins/mongo/mg_query.c
plugins_mongo_mongo_la_CPPFLAGS = -I$(top_srcdir)/sdk
plugins_mongo_mongo_la_CFLAGS = $(AM_CFLAGS) $(MONGO_CFLAGS)
plugins_mongo_mongo_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_mongo_mongo_la_LIBADD = $(MONGO_LIBS)
endif
# Its tests: plugins/mongo/tests/.
include $(srcdir)/plugins/mongo/tests/local.mk
