# SPDX-License-Identifier: Apache-2.0
# plugins/mysql/tests/local.mk: mysql.so through the shared conformance suite
# and its own cases, against MariaDB servers that
# plugins/mysql/tests/fixture/mariadb-fixture starts (and stops) for the run.
if HAVE_CHECK
if ENABLE_MYSQL
check_PROGRAMS += plugins/mysql/tests/test_mysql
TESTS += plugins/mysql/tests/test_mysql
plugins_mysql_tests_test_mysql_SOURCES = plugins/mysql/tests/test_mysql.c $(CONFORMANCE_SOURCES)
plugins_mysql_tests_test_mysql_CPPFLAGS = $(CONFORMANCE_CPPFLAGS)
plugins_mysql_tests_test_mysql_CFLAGS = $(UNIT_CFLAGS) $(MYSQL_CFLAGS)
plugins_mysql_tests_test_mysql_LDADD = $(UNIT_LIBS) $(MYSQL_LIBS) -lpthread
# read_policy routing between the primary and the replica, through dsrc.
TESTS += plugins/mysql/tests/mysql_replica.sh
# The catalog: no false drift on 2 000 tables, one event per DDL change.
TESTS += plugins/mysql/tests/mysql_catalog.sh
# dsrc conformance against a real server.
TESTS += plugins/mysql/tests/mysql_conformance.sh
# AWS RDS IAM tokens made by the host as the password, over TLS only; the
# mysql_clear_password client plugin only for them.
TESTS += plugins/mysql/tests/mysql_iam.sh
# Microsoft Entra ID tokens made by the host as the password.
TESTS += plugins/mysql/tests/mysql_azure.sh
# GCP Cloud SQL IAM login made by the host: the stand-in's token as password.
TESTS += plugins/mysql/tests/mysql_gcp.sh
# The binary protocol's fetch writes the text protocol's bytes.
TESTS += plugins/mysql/tests/mysql_binary.sh
# Column masking: every mode in CSV and JSON Lines, in and out of process.
TESTS += plugins/mysql/tests/mysql_mask.sh
endif
endif
EXTRA_DIST += plugins/mysql/tests/fixture/mariadb-fixture plugins/mysql/tests/deps.apt \
	plugins/mysql/tests/mysql_replica.sh plugins/mysql/tests/mysql_catalog.sh \
	plugins/mysql/tests/mysql_conformance.sh plugins/mysql/tests/mysql_iam.sh \
	plugins/mysql/tests/mysql_azure.sh plugins/mysql/tests/mysql_gcp.sh \
	plugins/mysql/tests/mysql_binary.sh \
	plugins/mysql/tests/mysql_mask.sh \
	bench/mysql/run bench/mysql/README.md

# The MariaDB tests each start their own servers: one after the other.
plugins/mysql/tests/mysql_replica.log: plugins/mysql/tests/test_mysql.log
plugins/mysql/tests/mysql_catalog.log: plugins/mysql/tests/mysql_replica.log
plugins/mysql/tests/mysql_conformance.log: plugins/mysql/tests/mysql_catalog.log
plugins/mysql/tests/mysql_binary.log: plugins/mysql/tests/mysql_conformance.log
plugins/mysql/tests/mysql_mask.log: plugins/mysql/tests/mysql_binary.log
