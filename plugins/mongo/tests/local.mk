# SPDX-License-Identifier: Apache-2.0
# plugins/mongo/tests/local.mk -- mongo.so: the shared conformance suite and
# protocol cases against a scripted wire-protocol peer, and the URI /
# option mapping checked through the driver's own URI parser; and the
# shared suite against a real mongod when DSRC_TEST_MONGO_URI is set
# (test_mongo_real, SKIP without it).
if HAVE_CHECK
if ENABLE_MONGO
check_PROGRAMS += plugins/mongo/tests/test_mongo plugins/mongo/tests/test_mongo_uri \
	plugins/mongo/tests/test_mongo_real plugins/mongo/tests/test_mongo_query
TESTS += plugins/mongo/tests/test_mongo plugins/mongo/tests/test_mongo_uri \
	plugins/mongo/tests/test_mongo_real plugins/mongo/tests/test_mongo_query
plugins_mongo_tests_test_mongo_SOURCES = plugins/mongo/tests/test_mongo.c \
	plugins/mongo/tests/mongo_orders.h $(CONFORMANCE_SOURCES)
plugins_mongo_tests_test_mongo_CPPFLAGS = $(CONFORMANCE_CPPFLAGS)
plugins_mongo_tests_test_mongo_CFLAGS = $(UNIT_CFLAGS) $(MONGO_CFLAGS)
plugins_mongo_tests_test_mongo_LDADD = $(UNIT_LIBS) $(MONGO_LIBS)

plugins_mongo_tests_test_mongo_real_SOURCES = plugins/mongo/tests/test_mongo_real.c \
	plugins/mongo/tests/mongo_orders.h \
	$(CONFORMANCE_SOURCES)
plugins_mongo_tests_test_mongo_real_CPPFLAGS = $(CONFORMANCE_CPPFLAGS)
plugins_mongo_tests_test_mongo_real_CFLAGS = $(UNIT_CFLAGS) $(MONGO_CFLAGS)
plugins_mongo_tests_test_mongo_real_LDADD = $(UNIT_LIBS) $(MONGO_LIBS)

plugins_mongo_tests_test_mongo_uri_SOURCES = plugins/mongo/tests/test_mongo_uri.c \
	plugins/mongo/mg_uri.c plugins/mongo/mg.h
plugins_mongo_tests_test_mongo_uri_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sdk \
	-I$(top_srcdir)/plugins/mongo
plugins_mongo_tests_test_mongo_uri_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(MONGO_CFLAGS)
plugins_mongo_tests_test_mongo_uri_LDADD = $(CHECK_LIBS) $(MONGO_LIBS)

# A query's request (placeholders, writing stages refused), without a server.
plugins_mongo_tests_test_mongo_query_SOURCES = plugins/mongo/tests/test_mongo_query.c \
	plugins/mongo/mg_qparse.c plugins/mongo/mg.h
plugins_mongo_tests_test_mongo_query_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sdk \
	-I$(top_srcdir)/plugins/mongo
plugins_mongo_tests_test_mongo_query_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(MONGO_CFLAGS)
plugins_mongo_tests_test_mongo_query_LDADD = $(CHECK_LIBS) $(MONGO_LIBS)
endif
endif
if ENABLE_MONGO
# dsrc conformance against a real mongod (DSRC_TEST_MONGO_URI; SKIP without it).
TESTS += plugins/mongo/tests/mongo_conformance.sh
endif
EXTRA_DIST += plugins/mongo/tests/fixture/mongo-peer plugins/mongo/tests/deps.apt \
	plugins/mongo/tests/mongo_conformance.sh
