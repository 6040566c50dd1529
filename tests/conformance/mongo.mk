# tests/conformance/mongo.mk -- mongo.so: the shared conformance suite and
# protocol cases against a scripted wire-protocol peer, and the URI /
# option mapping checked through the driver's own URI parser; and the
# shared suite against a real mongod when DSRC_TEST_MONGO_URI is set
# (test_mongo_real, SKIP without it).
if HAVE_CHECK
if ENABLE_MONGO
check_PROGRAMS += tests/conformance/test_mongo tests/conformance/test_mongo_uri \
	tests/conformance/test_mongo_real
TESTS += tests/conformance/test_mongo tests/conformance/test_mongo_uri \
	tests/conformance/test_mongo_real
EXTRA_DIST += tests/fixtures/mongo/mongo-peer
tests_conformance_test_mongo_SOURCES = tests/conformance/test_mongo.c \
	tests/conformance/mongo_orders.h $(CONFORMANCE_SOURCES)
tests_conformance_test_mongo_CFLAGS = $(UNIT_CFLAGS) $(MONGO_CFLAGS)
tests_conformance_test_mongo_LDADD = $(UNIT_LIBS) $(MONGO_LIBS)

tests_conformance_test_mongo_real_SOURCES = tests/conformance/test_mongo_real.c \
	tests/conformance/mongo_orders.h \
	$(CONFORMANCE_SOURCES)
tests_conformance_test_mongo_real_CFLAGS = $(UNIT_CFLAGS) $(MONGO_CFLAGS)
tests_conformance_test_mongo_real_LDADD = $(UNIT_LIBS) $(MONGO_LIBS)

tests_conformance_test_mongo_uri_SOURCES = tests/conformance/test_mongo_uri.c \
	plugins/mongo/mg_uri.c plugins/mongo/mg.h
tests_conformance_test_mongo_uri_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sdk \
	-I$(top_srcdir)/plugins/mongo
tests_conformance_test_mongo_uri_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(MONGO_CFLAGS)
tests_conformance_test_mongo_uri_LDADD = $(CHECK_LIBS) $(MONGO_LIBS)
endif
endif
