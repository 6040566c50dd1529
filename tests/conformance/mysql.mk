# tests/conformance/mysql.mk: mysql.so through the shared conformance suite
# and its own cases, against MariaDB servers that
# tests/fixtures/mariadb/mariadb-fixture starts (and stops) for the run.
if HAVE_CHECK
if ENABLE_MYSQL
check_PROGRAMS += tests/conformance/test_mysql
TESTS += tests/conformance/test_mysql
tests_conformance_test_mysql_SOURCES = tests/conformance/test_mysql.c $(CONFORMANCE_SOURCES)
tests_conformance_test_mysql_CFLAGS = $(UNIT_CFLAGS) $(MYSQL_CFLAGS)
tests_conformance_test_mysql_LDADD = $(UNIT_LIBS) $(MYSQL_LIBS) -lpthread
# read_policy routing between the primary and the replica, through dsrc.
TESTS += tests/integration/mysql_replica.sh
endif
endif
EXTRA_DIST += tests/fixtures/mariadb/mariadb-fixture tests/deps/mysql.apt \
	tests/integration/mysql_replica.sh \
	bench/mysql/run bench/mysql/README.md

# The MariaDB tests each start their own servers: one after the other.
tests/integration/mysql_replica.log: tests/conformance/test_mysql.log
