/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mysql.c -- mysql.so against real MariaDB servers: the shared
 * conformance suite, plus TLS verification (right and wrong CA, host name
 * checks, client certificates, cloud sources never in plain text), the
 * replica endpoint and its role, authentication / permission / not-found /
 * timeout / unreachable errors with their MySQL codes, hostile identifiers,
 * typed cells, cancellation with KILL QUERY, one million rows fetched as
 * CSV by the dsrc binary compared with `mariadb --batch --raw` (with the
 * dsrc process's memory staying flat), and incremental fetches.
 *
 * plugins/mysql/tests/fixture/mariadb-fixture starts a primary and a replica in
 * a temporary directory (and stops them afterwards); the data is created
 * here as root through the primary's socket and replicated, except the big
 * table, which only the primary holds.  The plugin is loaded from
 * $top_builddir/plugins/mysql/.libs.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "conformance.h"
#include "plugin/source.h"

extern char **environ;

#define TABLE "a`b; drop table x"
#define DB "dsrc_test"
#define WEIRD_DB "we`ird db;x"
#define WEIRD_TABLE "t`1 \"q\""
#define WEIRD_COL "c`o l"
#define PASSWORD "pw 'with\" quotes\\and;# \xc3\xa9"
#define WRONG_PASSWORD "wrong-\"pw' secret-xyz"
#define BIG_ROWS 1000000

/* What the fixture script reported. */
/* (The fixture keeps its directory short: sockets need short paths.) */
static struct {
    char dir[256];
    char primary_port[16], replica_port[16];
    char primary_socket[320], replica_socket[320];
    char ca[320], wrong_ca[320], client_cert[320], client_key[320];
    char root_password[128];
    char primary_cnf[320];
} my_env;
static char my_script[PATH_MAX];
static char my_top_builddir[2048];
static int my_closed_port;

/* ------------------------------------------------------------------------ */
/* Root connections and SQL                                                  */

/* Root on the primary (replica = 0) or the replica, through the socket. */
static MYSQL *my_root(int replica)
{
    MYSQL *m = mysql_init(NULL);
    if (!m)
        return NULL;
    if (!mysql_real_connect(m, "localhost", "root", my_env.root_password, NULL, 0,
                            replica ? my_env.replica_socket : my_env.primary_socket, 0)) {
        fprintf(stderr, "test_mysql: root connection: %s\n", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* Run statements one by one; -1 (with the failing one printed) on error. */
static int my_exec(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0) {
        fprintf(stderr, "test_mysql: %s\n  -> %s\n", sql, mysql_error(m));
        return -1;
    }
    while (1) {
        MYSQL_RES *r = mysql_store_result(m);
        if (r)
            mysql_free_result(r);
        if (mysql_next_result(m) != 0)
            break;
    }
    return 0;
}

static int my_execf(MYSQL *m, const char *fmt, ...) DSRC_PRINTF(2, 3);
static int my_execf(MYSQL *m, const char *fmt, ...)
{
    va_list ap;
    char *sql = NULL;
    int rc;
    va_start(ap, fmt);
    rc = vasprintf(&sql, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -1;
    rc = my_exec(m, sql);
    free(sql);
    return rc;
}

/* Column `col` of the first row of `sql` as a number (-1 on error). */
static long long my_number(MYSQL *m, const char *sql, unsigned col)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    long long v = -1;

    if (mysql_query(m, sql) != 0 || !(r = mysql_store_result(m)))
        return -1;
    row = mysql_fetch_row(r);
    if (row && col < mysql_num_fields(r) && row[col])
        v = strtoll(row[col], NULL, 10);
    mysql_free_result(r);
    return v;
}

/* The first column of the first row of `sql` as a number (-1 on error). */
static long long my_scalar(MYSQL *m, const char *sql)
{
    return my_number(m, sql, 0);
}

/* my_scalar once it equals want, or after ten seconds its last value.
 * The server sends a statement's answer a moment before it clears the
 * statement from its process list; a statement left running stays. */
static long long my_scalar_settled(MYSQL *m, const char *sql, long long want)
{
    long long v = my_scalar(m, sql);
    int i;
    for (i = 0; i < 500 && v != want; i++) {
        usleep(20 * 1000);
        v = my_scalar(m, sql);
    }
    return v;
}

/* SQL string literal of s (escaped, quoted), malloc'd. */
static char *my_lit(MYSQL *m, const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(2 * n + 3);
    unsigned long k;
    if (!out)
        return NULL;
    out[0] = '\'';
    k = mysql_real_escape_string(m, out + 1, s, (unsigned long)n);
    out[k + 1] = '\'';
    out[k + 2] = '\0';
    return out;
}

/* Wait until the replica has applied what the primary wrote. */
static int my_sync(void)
{
    MYSQL *p = my_root(0), *r = my_root(1);
    MYSQL_RES *res;
    MYSQL_ROW row;
    char pos[256] = "";
    int rc = -1;

    if (p && mysql_query(p, "SELECT @@gtid_binlog_pos") == 0 && (res = mysql_store_result(p))) {
        row = mysql_fetch_row(res);
        if (row && row[0])
            snprintf(pos, sizeof pos, "%s", row[0]);
        mysql_free_result(res);
    }
    if (r && *pos) {
        char q[400];
        snprintf(q, sizeof q, "SELECT MASTER_GTID_WAIT('%s', 60)", pos);
        rc = my_scalar(r, q) == 0 ? 0 : -1;
    }
    if (rc != 0)
        fprintf(stderr, "test_mysql: the replica did not catch up\n");
    if (p)
        mysql_close(p);
    if (r)
        mysql_close(r);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Writing sources                                                           */

/* s as a libconfig string literal into out. */
static void my_cfg_str(char *out, size_t n, const char *s)
{
    size_t j = 0;
    if (n < 3)
        return;
    out[j++] = '"';
    for (; *s && j + 3 < n; s++) {
        if (*s == '"' || *s == '\\')
            out[j++] = '\\';
        out[j++] = *s;
    }
    out[j++] = '"';
    out[j] = '\0';
}

/* A connection body for 127.0.0.1:port. */
static void my_conn(char *out, size_t n, const char *port, const char *user, const char *pw,
                    const char *db, const char *extra)
{
    char qu[256], qp[256], qd[256];
    my_cfg_str(qu, sizeof qu, user);
    my_cfg_str(qp, sizeof qp, pw);
    my_cfg_str(qd, sizeof qd, db ? db : "");
    snprintf(out, n, "host = \"127.0.0.1\"; port = %s; user = %s; password = %s; %s%s%s %s",
             port, qu, qp, db ? "database = " : "", db ? qd : "", db ? ";" : "",
             extra ? extra : "");
}

/* Write sources.d/<name>.conf: location (NULL: on_prem), connection body,
 * and more groups verbatim (tls, replicas). */
static int my_source(const char *name, const char *location, const char *connection,
                     const char *groups)
{
    return conf_write_source_text(name, "%s%s%sconnection = {\n  %s\n};\n%s",
                                  location ? "location = \"" : "", location ? location : "",
                                  location ? "\";\n" : "", connection, groups ? groups : "");
}

/* A source on the primary's TCP port (on_prem) as `user` with `pw`, the
 * default database `db` (NULL: none), more connection settings `extra` and
 * more groups `groups` (NULL: none). */
static int my_primary_source(const char *name, const char *user, const char *pw,
                             const char *db, const char *extra, const char *groups)
{
    char conn[4096];
    my_conn(conn, sizeof conn, my_env.primary_port, user, pw, db, extra);
    return my_source(name, NULL, conn, groups);
}

static int my_tls_source(const char *name, const char *mode, const char *ca, const char *more)
{
    char groups[2048];
    snprintf(groups, sizeof groups, "tls = { mode = \"%s\";%s%s%s %s };", mode,
             ca ? " ca = \"" : "", ca ? ca : "", ca ? "\";" : "", more ? more : "");
    return my_primary_source(name, "dsrc", PASSWORD, DB, NULL, groups);
}

/* ------------------------------------------------------------------------ */
/* Setup: servers, users, data                                               */

static int my_read_env(void)
{
    char path[PATH_MAX + 32], line[PATH_MAX + 64];
    FILE *fp;

    snprintf(path, sizeof path, "%s/fixture.env", my_env.dir);
    fp = fopen(path, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp)) {
        char *eq = strchr(line, '='), *v;
        size_t n;
        if (!eq)
            continue;
        *eq = '\0';
        v = eq + 1;
        n = strlen(v);
        while (n && (v[n - 1] == '\n' || v[n - 1] == '\r'))
            v[--n] = '\0';
#define MY_KEY(k, f)                                                                          \
    if (strcmp(line, k) == 0)                                                                 \
        snprintf(my_env.f, sizeof my_env.f, "%s", v);
        MY_KEY("MARIADB_PRIMARY_PORT", primary_port)
        MY_KEY("MARIADB_REPLICA_PORT", replica_port)
        MY_KEY("MARIADB_PRIMARY_SOCKET", primary_socket)
        MY_KEY("MARIADB_REPLICA_SOCKET", replica_socket)
        MY_KEY("MARIADB_CA", ca)
        MY_KEY("MARIADB_WRONG_CA", wrong_ca)
        MY_KEY("MARIADB_CLIENT_CERT", client_cert)
        MY_KEY("MARIADB_CLIENT_KEY", client_key)
        MY_KEY("MARIADB_ROOT_PASSWORD", root_password)
        MY_KEY("MARIADB_PRIMARY_CNF", primary_cnf)
#undef MY_KEY
    }
    fclose(fp);
    return my_env.primary_port[0] && my_env.replica_port[0] && my_env.root_password[0] ? 0 : -1;
}

/* A TCP port nobody listens on (bound and released). */
static int my_free_port(void)
{
    int port = -1, fd = conf_loopback_socket(0, &port);

    if (fd < 0)
        return -1;
    close(fd);
    return port;
}

static const char *const my_schema_sql[] = {
    "CREATE DATABASE " DB " CHARACTER SET utf8mb4",
    "CREATE TABLE " DB ".`a``b; drop table x` ("
    "  id INT PRIMARY KEY, `col with spaces` VARCHAR(40), amount DOUBLE,"
    "  data VARBINARY(16), note TEXT, updated_at DATETIME, price DECIMAL(12,2),"
    "  doc JSON, flags BIT(4))",
    "INSERT INTO " DB ".`a``b; drop table x` VALUES"
    " (1, 'plain', 1.5, x'00ff10', 'say \"hi\"', '2024-01-01 10:00:00', 12.50, '{\"a\": 1}',"
    "  b'1010'),"
    " (2, NULL, 2.25, NULL, 'line1\\nline2', '2024-01-02 10:00:00', -0.01, NULL, b'0'),"
    " (3, 'it''s', NULL, '', '', NULL, NULL, '[]', NULL),"
    " (4, 'four', -4, x'41', NULL, '2024-01-04 10:00:00', 1234567890.12, '\"s\"', b'1111'),"
    " (5, 'five', 5e10, NULL, CONCAT('a,b;c', CHAR(13, 10, 9), '\\\\ \xc3\xa9 \xf0\x9f\x98\x80'),"
    "  '2024-01-05 10:00:00', 0, 'null', b'1')",
    "CREATE TABLE " DB ".x (id INT)",
    "CREATE TABLE " DB ".ties (id INT PRIMARY KEY, ts INT)",
    "INSERT INTO " DB ".ties VALUES (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4),"
    " (8, 4), (9, 5), (10, 5), (11, NULL), (12, NULL)",
    "INSERT INTO " DB ".x VALUES (1)",
    "CREATE TABLE " DB ".customers ("
    "  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'the key',"
    "  region CHAR(2) NOT NULL DEFAULT 'eu',"
    "  name VARCHAR(80) NOT NULL,"
    "  created TIMESTAMP(3) NULL DEFAULT NULL,"
    "  born DATE, wake TIME, yr YEAR, score FLOAT, ratio DOUBLE,"
    "  balance DECIMAL(20,2), big BIGINT UNSIGNED, small TINYINT(1),"
    "  info JSON, tier ENUM('gold','silver'), tags SET('a','b','c'),"
    "  mask BIT(64), shape GEOMETRY, photo BLOB, code BINARY(4), note VARCHAR(20),"
    "  PRIMARY KEY (region, id), KEY by_name (name), UNIQUE KEY id_only (id))"
    "  COMMENT 'people who buy'",
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = ''",
    "INSERT INTO " DB ".customers VALUES"
    " (1, 'eu', 'Ann', '2024-03-01 12:34:56.789', '1990-05-17', '-838:59:59', 2024, 1.5,"
    "  0.1, 12345678901234567.89, 18446744073709551615, 1, '{\"tier\": 1}', 'gold', 'a,c',"
    "  b'1111111111111111111111111111111111111111111111111111111111111111',"
    "  ST_GeomFromText('POINT(1 2)'), x'000102ff', x'00410042', ''),"
    " (2, 'us', 'B\xc3\xb6" "b \xf0\x9f\x98\x80', NULL, '0000-00-00', NULL, NULL, NULL, NULL,"
    "  -0.01, 9223372036854775807, 0, NULL, 'silver', '', b'101', NULL, NULL, NULL, NULL)",
    "CREATE TABLE " DB ".events (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "  at DATETIME(6) NOT NULL, what VARCHAR(40))",
    "INSERT INTO " DB ".events (at, what) VALUES"
    " ('2024-01-01 00:00:00.000001', 'one'), ('2024-01-01 00:00:01', 'two'),"
    " ('2024-01-01 00:00:02', 'three'), ('2024-01-01 00:00:03', 'four')",
    "CREATE TABLE " DB ".tags (name VARCHAR(40) PRIMARY KEY)",
    "INSERT INTO " DB ".tags VALUES ('a'), ('it''s'), ('back\\\\slash'), ('quo''te\\\\'''),"
    " ('z'), ('\xc3\xa9t\xc3\xa9')",
    "CREATE TABLE " DB ".`with/slash` (v VARCHAR(10))",
    "INSERT INTO " DB ".`with/slash` VALUES ('s')",
    "CREATE TABLE " DB ".secret (v INT)",
    "INSERT INTO " DB ".secret VALUES (42)",
    "CREATE VIEW " DB ".big_spenders AS SELECT id, name FROM " DB ".customers"
    " WHERE balance > 100",
    "CREATE VIEW " DB ".slow_view AS SELECT SLEEP(20) AS s",
    "CREATE DATABASE `we``ird db;x`",
    "CREATE TABLE `we``ird db;x`.`t``1 \"q\"` (`c``o l` VARCHAR(10) PRIMARY KEY, n INT)",
    "INSERT INTO `we``ird db;x`.`t``1 \"q\"` VALUES ('a', 1), ('b''`', 2), ('c', 3)",
    "CREATE DATABASE dsrc_many",
    "CREATE DATABASE `peer/slash`",
    "CREATE TABLE `peer/slash`.`t%1 \"q\"` (v INT)",
    "INSERT INTO `peer/slash`.`t%1 \"q\"` VALUES (1)",
};

/* The big table: only on the primary (not written to the binary log). */
static const char *const my_big_sql[] = {
    "SET SESSION sql_log_bin = 0",
    "CREATE TABLE " DB ".big (id INT NOT NULL PRIMARY KEY, n BIGINT NULL,"
    "  d DECIMAL(12,2) NOT NULL, f DOUBLE NULL, s VARCHAR(60) NULL, dt DATETIME NOT NULL)",
    "INSERT INTO " DB ".big SELECT seq,"
    "  IF(seq % 7 = 0, NULL, CAST(seq AS SIGNED) * 1000003 - 500000000000),"
    "  (seq * 37 % 100000000) / 100,"
    "  IF(seq % 11 = 0, NULL, seq / 7e0),"
    "  CASE seq % 5 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN CONCAT('name, \"quoted\" ', seq)"
    "    ELSE CONCAT('plain-', seq, '-\xc3\xa9') END,"
    "  '2020-01-01 00:00:00' + INTERVAL seq SECOND"
    "  FROM " DB ".seq_1_to_1000000",
    "SET SESSION sql_log_bin = 1",
};

static int my_create_data(void)
{
    MYSQL *m = my_root(0), *r;
    char *pw = NULL, **golden = NULL;
    size_t i;
    int rc = -1;

    if (!m)
        return -1;
    for (i = 0; i < sizeof my_schema_sql / sizeof my_schema_sql[0]; i++)
        if (my_exec(m, my_schema_sql[i]) != 0)
            goto out;
    my_exec(m, "SET SESSION sql_mode = DEFAULT");
    /* The conformance suite's golden table. */
    golden = conf_golden_sql(CONF_GOLDEN_MYSQL, DB);
    if (!golden)
        goto out;
    for (i = 0; golden[i]; i++)
        if (my_exec(m, golden[i]) != 0)
            goto out;
    for (i = 0; i < 60; i++)
        if (my_execf(m, "CREATE TABLE dsrc_many.t_%02zu (id INT PRIMARY KEY, a VARCHAR(10),"
                        " b DATETIME, c JSON)", i) != 0)
            goto out;
    pw = my_lit(m, PASSWORD);
    if (!pw || my_execf(m, "CREATE USER dsrc@'%%' IDENTIFIED BY %s", pw) != 0 ||
        my_exec(m, "GRANT SELECT, SHOW VIEW ON " DB ".* TO dsrc@'%'") != 0 ||
        my_exec(m, "GRANT SELECT ON `we``ird db;x`.* TO dsrc@'%'") != 0 ||
        my_exec(m, "GRANT SELECT ON dsrc_many.* TO dsrc@'%'") != 0 ||
        my_exec(m, "GRANT SELECT ON `peer/slash`.* TO dsrc@'%'") != 0 ||
        my_exec(m, "GRANT SLAVE MONITOR ON *.* TO dsrc@'%'") != 0 ||
        my_execf(m, "CREATE USER limited@'%%' IDENTIFIED BY %s", pw) != 0 ||
        my_exec(m, "GRANT SELECT ON " DB ".x TO limited@'%'") != 0 ||
        my_execf(m, "CREATE USER certuser@'%%' IDENTIFIED BY %s REQUIRE X509", pw) != 0 ||
        my_exec(m, "GRANT SELECT ON " DB ".* TO certuser@'%'") != 0 ||
        my_execf(m, "CREATE USER single@'%%' IDENTIFIED BY %s WITH MAX_USER_CONNECTIONS 1",
                 pw) != 0 ||
        my_exec(m, "GRANT SELECT, SHOW VIEW ON " DB ".* TO single@'%'") != 0 ||
        my_exec(m, "GRANT SELECT ON dsrc_many.* TO single@'%'") != 0 ||
        my_execf(m, "CREATE USER reader@'%%' IDENTIFIED BY %s", pw) != 0 ||
        my_exec(m, "GRANT SELECT ON *.* TO reader@'%'") != 0 ||
        /* queries: an account that may write, so that the read-only
         * transaction, not a missing grant, is what refuses a write */
        my_execf(m, "CREATE USER writer@'%%' IDENTIFIED BY %s", pw) != 0 ||
        my_exec(m, "GRANT ALL PRIVILEGES ON " DB ".* TO writer@'%'") != 0 ||
        my_exec(m, "CREATE TABLE " DB ".qt (id INT PRIMARY KEY, name VARCHAR(40))") != 0 ||
        my_exec(m, "INSERT INTO " DB ".qt VALUES (1, 'one'), (2, 'two'), (3, NULL)") != 0 ||
        my_exec(m, "CREATE FUNCTION " DB ".writes() RETURNS INT DETERMINISTIC MODIFIES SQL"
                   " DATA BEGIN INSERT INTO " DB ".qt VALUES (99, 'from f'); RETURN 1; END") != 0 ||
        my_exec(m, "CREATE PROCEDURE " DB ".commit_write() MODIFIES SQL DATA BEGIN COMMIT;"
                   " INSERT INTO " DB ".qt VALUES (98, 'from p'); END") != 0)
        goto out;
    for (i = 0; i < sizeof my_big_sql / sizeof my_big_sql[0]; i++)
        if (my_exec(m, my_big_sql[i]) != 0)
            goto out;
    my_exec(m, "ANALYZE TABLE " DB ".`a``b; drop table x`, " DB ".customers");
    if (my_sync() != 0)
        goto out;
    /* The replica's new sessions escape without backslashes: literals must
     * still come out right. */
    r = my_root(1);
    if (!r || my_exec(r, "SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode,"
                         " ',NO_BACKSLASH_ESCAPES')") != 0) {
        if (r)
            mysql_close(r);
        goto out;
    }
    mysql_close(r);
    rc = 0;
out:
    free(pw);
    conf_golden_free(golden);
    mysql_close(m);
    return rc;
}

static void my_teardown(conf_fixture *fx);

static int my_setup_servers(conf_fixture *fx)
{
    const char *top_src = getenv("top_srcdir");
    char cmd[PATH_MAX * 2], line[PATH_MAX], conn[4096], groups[4096], extra[2048];
    FILE *pp;
    int st;

    snprintf(my_script, sizeof my_script, "%s/plugins/mysql/tests/fixture/mariadb-fixture",
             top_src && *top_src ? top_src : ".");
    snprintf(cmd, sizeof cmd, "bash '%s' start --owner %ld", my_script, (long)getpid());
    pp = popen(cmd, "r");
    if (!pp)
        return -1;
    line[0] = '\0';
    while (fgets(line, sizeof line, pp)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n'))
            line[--n] = '\0';
        if (n && n < sizeof my_env.dir)
            memcpy(my_env.dir, line, n + 1);
    }
    st = pclose(pp);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        fprintf(stderr, "test_mysql: MariaDB is not installed here; skipping\n");
        return 77;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !my_env.dir[0]) {
        fprintf(stderr, "test_mysql: the MariaDB fixture did not start\n");
        my_env.dir[0] = '\0';
        return -1;
    }
    if (my_read_env() != 0) {
        fprintf(stderr, "test_mysql: cannot read %s/fixture.env\n", my_env.dir);
        return -1;
    }
    if (my_create_data() != 0)
        return -1;
    my_closed_port = my_free_port();

    /* The conformance source: plain TCP, the default database. */
    my_conn(fx->connection, sizeof fx->connection, my_env.primary_port, "dsrc", PASSWORD, DB,
            NULL);
    snprintf(line, sizeof line, "%d", my_closed_port);
    my_conn(fx->bad_connection, sizeof fx->bad_connection, line, "dsrc", PASSWORD, DB,
            "connect_timeout = \"3s\";");
    fx->bad_status = DSRC_E_UNREACHABLE;

    /* TLS */
    if (my_tls_source("tls_full", "verify-full", my_env.ca, NULL) ||
        my_tls_source("tls_ca", "verify-ca", my_env.ca, NULL) ||
        my_tls_source("tls_require", "require", NULL, NULL) ||
        my_tls_source("tls_wrong_full", "verify-full", my_env.wrong_ca, NULL) ||
        my_tls_source("tls_wrong_ca", "verify-ca", my_env.wrong_ca, NULL) ||
        my_tls_source("tls_system", "verify-ca", NULL, NULL))
        return -1;
    snprintf(extra, sizeof extra, "cert = \"%s\"; key = \"%s\";", my_env.client_cert,
             my_env.client_key);
    snprintf(groups, sizeof groups, "tls = { mode = \"verify-full\"; ca = \"%s\"; %s };",
             my_env.ca, extra);
    if (my_primary_source("tls_cert", "certuser", PASSWORD, DB, NULL, groups))
        return -1;
    snprintf(groups, sizeof groups, "tls = { mode = \"verify-full\"; ca = \"%s\"; };", my_env.ca);
    if (my_primary_source("tls_nocert", "certuser", PASSWORD, DB, NULL, groups))
        return -1;

    /* Cloud and hybrid sources */
    my_conn(conn, sizeof conn, my_env.primary_port, "dsrc", PASSWORD, DB, NULL);
    if (my_source("cloud_default", "cloud", conn, NULL) ||
        my_source("cloud_plain", "cloud", conn, "tls = { mode = \"disable\"; };") ||
        my_source("hybrid_plain", "hybrid", conn, "tls = { mode = \"disable\"; };") ||
        my_source("cloud_prefer", "cloud", conn, "tls = { mode = \"prefer\"; };") ||
        my_tls_source("tls_prefer", "prefer", NULL, NULL))
        return -1;
    snprintf(groups, sizeof groups, "tls = { ca = \"%s\"; };", my_env.ca);
    if (my_source("cloud_ca", "cloud", conn, groups))
        return -1;

    /* Replicas */
    /* The replica's certificate does not name 127.0.0.1: verify-ca. */
    snprintf(groups, sizeof groups,
             "tls = { mode = \"verify-ca\"; ca = \"%s\"; };\n"
             "replicas = { hosts = [ \"127.0.0.1:%s\" ]; read_policy = \"replica\"; };",
             my_env.ca, my_env.replica_port);
    if (my_primary_source("replicated", "dsrc", PASSWORD, DB, NULL, groups))
        return -1;
    snprintf(groups, sizeof groups,
             "tls = { mode = \"verify-full\"; ca = \"%s\"; };\n"
             "replicas = { hosts = [ \"127.0.0.1:%s\" ]; };",
             my_env.ca, my_env.replica_port);
    if (my_primary_source("replicated_full", "dsrc", PASSWORD, DB, NULL, groups))
        return -1;
    snprintf(groups, sizeof groups, "replicas = { hosts = [ \"127.0.0.1:%s\" ]; };",
             my_env.replica_port);
    if (my_primary_source("limited", "limited", PASSWORD, DB, NULL, groups))
        return -1;

    /* Errors and options */
    snprintf(extra, sizeof extra, "unix_socket = \"%s\";", my_env.primary_socket);
    if (my_primary_source("wrongpw", "dsrc", WRONG_PASSWORD, DB, NULL, NULL) ||
        my_primary_source("nodb", "reader", PASSWORD, "no_such_db", NULL, NULL) ||
        my_primary_source("nodb_denied", "dsrc", PASSWORD, "no_such_db", NULL, NULL) ||
        my_primary_source("single", "single", PASSWORD, DB, NULL, NULL) ||
        my_primary_source("writer", "writer", PASSWORD, DB, NULL, NULL) ||
        my_primary_source("slow", "dsrc", PASSWORD, DB, "read_timeout = \"1s\";", NULL) ||
        my_primary_source("nodefault", "dsrc", PASSWORD, NULL, NULL, NULL) ||
        my_primary_source("socket", "dsrc", PASSWORD, DB, extra, NULL) ||
        my_primary_source("badcharset", "dsrc", PASSWORD, DB, "charset = \"bad charset!\";",
                          NULL))
        return -1;
    return 0;
}

/* Start the servers and write the sources; whatever was started is
 * stopped again when something fails. */
static int my_setup(conf_fixture *fx, const char *tmp)
{
    int rc;
    (void)tmp;
    rc = my_setup_servers(fx);
    if (rc != 0)
        my_teardown(fx);
    return rc;
}

static void my_teardown(conf_fixture *fx)
{
    char cmd[PATH_MAX * 2 + 32];
    (void)fx;
    if (!my_env.dir[0])
        return;
    snprintf(cmd, sizeof cmd, "bash '%s' stop '%s'", my_script, my_env.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_mysql: stopping the fixture failed\n");
}

/* ------------------------------------------------------------------------ */
/* Helpers for the cases                                                     */

/* The value of the SSL cipher the server sees for this connection ("" when
 * the connection is plain). */
static char *my_session_cipher(source_conn *c)
{
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    const char *cols[] = {"VARIABLE_NAME", "VARIABLE_VALUE"};
    char *out = NULL;
    size_t i;

    conf_req(&req, "information_schema/SESSION_STATUS");
    req.columns = cols;
    req.n_columns = 2;
    ck_assert_msg(conf_fetch_all(c, &req, &r, NULL, &e) == DSRC_OK, "session status: %s",
                  e.msg ? e.msg : "");
    for (i = 0; i < r.n_rows; i++)
        if (r.text[i * 2] && strcasecmp(r.text[i * 2], "Ssl_cipher") == 0)
            out = strdup(r.text[i * 2 + 1] ? r.text[i * 2 + 1] : "");
    conf_rows_free(&r);
    derr_clear(&e);
    ck_assert_ptr_nonnull(out);
    return out;
}

/* Ping `c`, which must answer as `role` from `endpoint` (NULL: any); the
 * answer in `info`. */
static void my_ping(source_conn *c, dsrc_role role, const char *endpoint, dsrc_ping_info *info)
{
    derr e = {0};

    ck_assert_msg(source_ping(c, info, NULL, &e) == DSRC_OK, "ping: %s", e.msg ? e.msg : "");
    ck_assert_int_eq(info->role, role);
    if (endpoint)
        ck_assert_str_eq(info->endpoint, endpoint);
    derr_clear(&e);
}

/* Open endpoint `endpoint` of source `name` and ping it as my_ping() does;
 * returns the connection. */
static source_conn *my_open_ping(conf_env *env, const char *name, int endpoint, dsrc_role role,
                              const char *where)
{
    source_conn *c;
    dsrc_ping_info info;
    derr e = {0};

    ck_assert_msg(conf_env_open_at(env, name, endpoint, &c, &e) == DSRC_OK,
                  "%s (endpoint %d): %s", name, endpoint, e.msg ? e.msg : "");
    derr_clear(&e);
    my_ping(c, role, where, &info);
    return c;
}

/* Open endpoint `endpoint` of `name`, which must fail with `want`, a
 * message naming the source and (unless `code` is NULL) a MySQL code
 * starting with `code`.  The error stays in `e` for more checks (the
 * caller clears it). */
static void my_open_fails(conf_env *env, const char *name, int endpoint, dsrc_status want,
                          const char *code, derr *e)
{
    source_conn *c;
    dsrc_status st = conf_env_open_at(env, name, endpoint, &c, e);

    ck_assert_msg(st == want, "%s: expected %s, got %s (%s)", name, error_status_name(want),
                  error_status_name(st), e->msg ? e->msg : "");
    ck_assert_ptr_null(c);
    ck_assert_msg(e->msg && strstr(e->msg, name), "%s: message: %s", name,
                  e->msg ? e->msg : "");
    if (code)
        ck_assert_msg(strncmp(e->code, code, strlen(code)) == 0, "%s: code '%s', expected %s...",
                      name, e->code, code);
}

/* Fetch all of `item` on `c`, which must fail with `want` and (unless
 * `code` is NULL) a MySQL code starting with `code`.  The error stays in
 * `e` for more checks (the caller clears it). */
static void my_fetch_fails(source_conn *c, const char *item, dsrc_status want, const char *code,
                           derr *e)
{
    dsrc_fetch_req req;
    conf_rows r;
    dsrc_status st;

    conf_req(&req, item);
    st = conf_fetch_all(c, &req, &r, NULL, e);
    conf_rows_free(&r);
    ck_assert_msg(st == want, "%s: expected %s, got %s (%s)", item, error_status_name(want),
                  error_status_name(st), e->msg ? e->msg : "");
    if (code)
        ck_assert_msg(strncmp(e->code, code, strlen(code)) == 0, "%s: code '%s', expected %s...",
                      item, e->code, code);
}

/* ------------------------------------------------------------------------ */
/* Cases: connection, roles, TLS                                             */

START_TEST(t_ping_primary)
{
    dsrc_ping_info info;
    char want[64];

    snprintf(want, sizeof want, "127.0.0.1:%s", my_env.primary_port);
    my_ping(conf_conn(), DSRC_ROLE_PRIMARY, want, &info);
    ck_assert_msg(strncmp(info.server_version, "MariaDB 1", 9) == 0, "version: %s",
                  info.server_version);
}
END_TEST

START_TEST(t_replica_endpoint)
{
    conf_env *env = conf_env_new();
    source_conn *p, *r;
    dsrc_fetch_req req;
    conf_rows a, b;
    derr e = {0};
    char want[64];
    size_t i;

    snprintf(want, sizeof want, "127.0.0.1:%s", my_env.replica_port);
    r = my_open_ping(env, "replicated", 1, DSRC_ROLE_REPLICA, want);
    p = my_open_ping(env, "replicated", 0, DSRC_ROLE_PRIMARY, NULL);
    my_open_fails(env, "replicated", 2, DSRC_E_INVALID_ARGUMENT, NULL, &e);
    derr_clear(&e);

    /* The replica serves the same rows. */
    conf_req(&req, DB "/" TABLE);
    ck_assert_int_eq(conf_fetch_all(p, &req, &a, NULL, &e), DSRC_OK);
    ck_assert_int_eq(conf_fetch_all(r, &req, &b, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(a.n_rows, 5);
    ck_assert_uint_eq(b.n_rows, a.n_rows);
    for (i = 0; i < a.n_rows * a.n_columns; i++) {
        if (!a.text[i])
            ck_assert_ptr_null(b.text[i]);
        else
            ck_assert_str_eq(a.text[i], b.text[i]);
    }
    conf_rows_free(&a);
    conf_rows_free(&b);
    /* The replica holds what the primary logged, not the unlogged table. */
    conf_req(&req, DB "/big");
    req.limit = 1;
    ck_assert_int_eq(conf_fetch_all(r, &req, &a, NULL, &e), DSRC_E_NOT_FOUND);
    conf_rows_free(&a);
    derr_clear(&e);
    source_close(p);
    source_close(r);
    conf_env_free(env);
}
END_TEST

START_TEST(t_replica_role_without_privilege)
{
    conf_env *env = conf_env_new();

    /* "limited" may not read the replication status: read_only decides. */
    source_close(my_open_ping(env, "limited", 1, DSRC_ROLE_REPLICA, NULL));
    source_close(my_open_ping(env, "limited", 0, DSRC_ROLE_PRIMARY, NULL));
    conf_env_free(env);
}
END_TEST

/* Open endpoint `endpoint` of `name`, expecting `want`: on success the
 * session's cipher must be non-empty (encrypted) or empty as `encrypted`
 * says; a failure must be as my_open_fails() checks with `code`. */
static void my_expect_open(conf_env *env, const char *name, int endpoint, dsrc_status want,
                           int encrypted, const char *code)
{
    source_conn *c;
    derr e = {0};
    char *cipher;

    if (want != DSRC_OK) {
        my_open_fails(env, name, endpoint, want, code, &e);
        derr_clear(&e);
        return;
    }
    ck_assert_msg(conf_env_open_at(env, name, endpoint, &c, &e) == DSRC_OK, "%s: %s", name,
                  e.msg ? e.msg : "");
    cipher = my_session_cipher(c);
    if (encrypted)
        ck_assert_msg(*cipher, "%s: the connection is not encrypted", name);
    else
        ck_assert_msg(!*cipher, "%s: the connection is encrypted (%s)", name, cipher);
    free(cipher);
    source_close(c);
    derr_clear(&e);
}

START_TEST(t_tls)
{
    conf_env *env = conf_env_new();

    /* On premises without a tls group: prefer, TLS since the server has it. */
    my_expect_open(env, "conf", 0, DSRC_OK, 1, NULL);
    my_expect_open(env, "tls_prefer", 0, DSRC_OK, 1, NULL);
    my_expect_open(env, "tls_full", 0, DSRC_OK, 1, NULL);
    my_expect_open(env, "tls_ca", 0, DSRC_OK, 1, NULL);
    my_expect_open(env, "tls_require", 0, DSRC_OK, 1, NULL);
    /* A CA that did not sign the server's certificate. */
    my_expect_open(env, "tls_wrong_full", 0, DSRC_E_UNREACHABLE, 0, "2026/");
    my_expect_open(env, "tls_wrong_ca", 0, DSRC_E_UNREACHABLE, 0, "2026/");
    /* verify-ca without a CA checks against the system's CAs, which do
     * not know the throwaway one. */
    my_expect_open(env, "tls_system", 0, DSRC_E_UNREACHABLE, 0, "2026/");
    /* A client certificate for an account that requires one. */
    my_expect_open(env, "tls_cert", 0, DSRC_OK, 1, NULL);
    my_expect_open(env, "tls_nocert", 0, DSRC_E_AUTH, 0, "1045/");
    conf_env_free(env);
}
END_TEST

/* verify-full checks the host name, verify-ca only the chain: the
 * replica's certificate names replica.invalid, not 127.0.0.1. */
START_TEST(t_tls_host_name)
{
    conf_env *env = conf_env_new();

    my_expect_open(env, "replicated", 1, DSRC_OK, 1, NULL);
    my_expect_open(env, "replicated_full", 1, DSRC_E_UNREACHABLE, 0, "2026/");
    /* The primary's certificate names 127.0.0.1. */
    my_expect_open(env, "replicated_full", 0, DSRC_OK, 1, NULL);
    conf_env_free(env);
}
END_TEST

START_TEST(t_tls_failure_not_retryable)
{
    conf_env *env = conf_env_new();
    derr e = {0};

    my_open_fails(env, "tls_wrong_full", 0, DSRC_E_UNREACHABLE, NULL, &e);
    ck_assert_int_eq(e.retryable, 0);
    ck_assert_msg(strstr(e.msg, "certificate") || strstr(e.msg, "TLS"), "message: %s", e.msg);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_cloud_never_plain)
{
    conf_env *env = conf_env_new();
    derr e = {0};

    /* Without a tls group a cloud source is verify-full: the system's CAs
     * do not know the fixture's; with its CA it connects. */
    my_expect_open(env, "cloud_default", 0, DSRC_E_UNREACHABLE, 0, "2026/");
    my_expect_open(env, "cloud_ca", 0, DSRC_OK, 1, NULL);
    my_open_fails(env, "cloud_plain", 0, DSRC_E_INVALID_CONFIG, NULL, &e);
    ck_assert_msg(strstr(e.msg, "plain text"), "message: %s", e.msg);
    derr_clear(&e);
    my_open_fails(env, "cloud_prefer", 0, DSRC_E_INVALID_CONFIG, NULL, &e);
    ck_assert_msg(strstr(e.msg, "'prefer'") && strstr(e.msg, "plain text"), "message: %s",
                  e.msg);
    derr_clear(&e);
    my_open_fails(env, "hybrid_plain", 0, DSRC_E_INVALID_CONFIG, NULL, &e);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_socket)
{
    conf_env *env = conf_env_new();

    source_close(my_open_ping(env, "socket", 0, DSRC_ROLE_PRIMARY, my_env.primary_socket));
    conf_env_free(env);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Cases: errors                                                             */

START_TEST(t_wrong_password)
{
    conf_env *env = conf_env_new();
    derr e = {0};

    my_open_fails(env, "wrongpw", 0, DSRC_E_AUTH, "1045/28000", &e);
    ck_assert_int_eq(e.retryable, 0);
    ck_assert_msg(!strstr(e.msg, "secret-xyz") && !strstr(e.msg, "wrong-"),
                  "the password shows: %s", e.msg);
    ck_assert_msg(strstr(e.msg, "dsrc"), "the user is not named: %s", e.msg);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

/* The plugin's own message, before the host redacts anything. */
START_TEST(t_no_password_in_plugin_message)
{
    const dsrc_driver *drv = conf_conn()->drv;
    dsrc_open_params p;
    dsrc_kv kv[6];
    dsrc_conn *conn = NULL;
    dsrc_error err;
    dsrc_status st;

    kv[0].key = "host", kv[0].value = "127.0.0.1";
    kv[1].key = "port", kv[1].value = my_env.primary_port;
    kv[2].key = "user", kv[2].value = "dsrc";
    kv[3].key = "password", kv[3].value = WRONG_PASSWORD;
    kv[4].key = "database", kv[4].value = DB;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.source = "direct";
    p.options = kv;
    p.n_options = 5;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    st = drv->open(NULL, &p, &conn, &err);
    ck_assert_int_eq(st, DSRC_E_AUTH);
    ck_assert_ptr_null(conn);
    ck_assert_ptr_nonnull(err.message);
    ck_assert_msg(!strstr(err.message, "secret-xyz"), "password in: %s", err.message);
    ck_assert_msg(strncmp(err.backend_code, "1045/", 5) == 0, "code %s", err.backend_code);
    if (err.release)
        err.release(&err);
}
END_TEST

START_TEST(t_unreachable)
{
    conf_env *env = conf_env_new();
    derr e = {0};

    my_open_fails(env, "conf_bad", 0, DSRC_E_UNREACHABLE, NULL, &e);
    ck_assert_int_eq(e.retryable, 1);
    ck_assert_msg(strncmp(e.code, "2002/", 5) == 0 || strncmp(e.code, "2003/", 5) == 0,
                  "code %s", e.code);
    derr_clear(&e);
    /* An unknown database: "unknown" to whoever may see every database,
     * "access denied" to the others (the server does not tell them). */
    my_open_fails(env, "nodb", 0, DSRC_E_NOT_FOUND, "1049/", &e);
    derr_clear(&e);
    my_open_fails(env, "nodb_denied", 0, DSRC_E_PERMISSION, "1044/", &e);
    derr_clear(&e);
    my_open_fails(env, "badcharset", 0, DSRC_E_INVALID_CONFIG, NULL, &e);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_permission)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    derr e = {0};

    ck_assert_msg(conf_env_open(env, "limited", &c, &e) == DSRC_OK, "%s", e.msg);
    my_fetch_fails(c, DB "/secret", DSRC_E_PERMISSION, "1142/", &e);
    derr_clear(&e);
    /* What it may read, it reads. */
    conf_expect_rows(c, DB "/x", 1);
    source_close(c);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_not_found_codes)
{
    source_conn *c = conf_conn();
    dsrc_fetch_req req;
    conf_rows r;
    conf_md m;
    derr e = {0};

    my_fetch_fails(c, DB "/nope", DSRC_E_NOT_FOUND, "1146/42S02", &e);
    derr_clear(&e);
    /* A database this user has no grant on: the server says "denied". */
    my_fetch_fails(c, "no_such_db/t", DSRC_E_PERMISSION, "1142/", &e);
    derr_clear(&e);
    conf_md_init(&m, NULL);
    ck_assert_int_eq(conf_describe(c, "no_such_db/t", &m, &e), DSRC_E_NOT_FOUND);
    ck_assert_msg(strstr(e.msg, "no_such_db"), "message: %s", e.msg);
    derr_clear(&e);
    /* A bad cursor value for an integer column is the request's fault. */
    conf_req(&req, DB "/x");
    req.cursor_field = "id";
    req.cursor_value = "1 OR 1=1";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_INVALID_ARGUMENT);
    conf_rows_free(&r);
    derr_clear(&e);
    /* The connection is fine afterwards. */
    conf_expect_rows(c, DB "/x", 1);
}
END_TEST

START_TEST(t_read_timeout)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    derr e = {0};

    ck_assert_msg(conf_env_open(env, "slow", &c, &e) == DSRC_OK, "%s", e.msg);
    /* 2013 (lost connection) in plain text; over TLS (the on_prem default,
     * "prefer") Connector/C says 2026 with ETIMEDOUT: a timeout either way. */
    my_fetch_fails(c, DB "/slow_view", DSRC_E_TIMEOUT, NULL, &e);
    ck_assert_msg(strncmp(e.code, "2013/", 5) == 0 || strncmp(e.code, "2026/", 5) == 0,
                  "code '%s', expected 2013 or 2026", e.code);
    ck_assert_int_eq(e.retryable, 1);
    ck_assert_int_eq(e.connection_broken, 1);
    source_close(c);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Cases: catalog                                                            */

START_TEST(t_list)
{
    source_conn *c = conf_conn();
    conf_items l;
    derr e = {0};
    ssize_t i;

    ck_assert_int_eq(conf_list(c, "", &l, &e), DSRC_OK);
    i = conf_items_find(&l, DB);
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(l.kind[i], DSRC_ITEM_DATABASE);
    ck_assert_int_eq(l.container[i], 1);
    ck_assert_int_ge(conf_items_find(&l, WEIRD_DB), 0);
    ck_assert_int_ge(conf_items_find(&l, "information_schema"), 0);

    ck_assert_int_eq(conf_list(c, DB "/", &l, &e), DSRC_OK);
    i = conf_items_find(&l, DB "/customers");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(l.kind[i], DSRC_ITEM_TABLE);
    ck_assert_int_eq(l.container[i], 0);
    ck_assert_int_ge(l.rows[i], 0);
    ck_assert_int_gt(l.size[i], 0);
    i = conf_items_find(&l, DB "/big_spenders");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(l.kind[i], DSRC_ITEM_VIEW);
    ck_assert_int_eq(l.rows[i], -1);
    ck_assert_int_ge(conf_items_find(&l, DB "/with%2Fslash"), 0); /* printed escaped */
    ck_assert_int_ge(conf_items_find(&l, DB "/" TABLE), 0);
    i = conf_items_find(&l, DB "/big");
    ck_assert_int_ge(i, 0);
    ck_assert_msg(l.rows[i] > BIG_ROWS / 2 && l.rows[i] < BIG_ROWS * 2, "big: ~%" PRId64,
                  l.rows[i]);

    ck_assert_int_eq(conf_list(c, WEIRD_DB, &l, &e), DSRC_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.path[0], WEIRD_DB "/" WEIRD_TABLE);

    ck_assert_int_eq(conf_list(c, DB "/x", &l, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(conf_list(c, "no_such_db", &l, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_int_eq(conf_list(c, "dsrc_many", &l, &e), DSRC_OK);
    ck_assert_uint_eq(l.n, 60);
    derr_clear(&e);
}
END_TEST

START_TEST(t_describe_details)
{
    source_conn *c = conf_conn();
    conf_md m;
    derr e = {0};
    size_t k;
    const char *idx;

    conf_md_init(&m, DB "/customers");
    ck_assert_msg(conf_describe(c, "customers", &m, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_int_eq(m.found, 1);
    ck_assert_int_eq(m.kind[0], DSRC_ITEM_TABLE);
    ck_assert_int_eq(m.want_rows_estimated, 1);
    ck_assert_uint_eq(m.n_cols, 20);
    /* A composite primary key: (region, id). */
    k = conf_md_col(&m, "region");
    ck_assert_int_eq(m.col_pk[k], 1);
    ck_assert_str_eq(m.col[k][1], "char(2)");
    ck_assert_str_eq(m.col[k][2], "'eu'");
    ck_assert_int_eq(m.col_null[k], 0);
    k = conf_md_col(&m, "id");
    ck_assert_int_eq(m.col_pk[k], 2);
    ck_assert_str_eq(m.col[k][1], "bigint(20) unsigned");
    /* As the fetch declares it: values above INT64_MAX are exact text. */
    ck_assert_int_eq(m.col_type[k], DSRC_T_TEXT);
    ck_assert_str_eq(m.col[k][3], "the key");
    ck_assert_str_eq(m.col[k][2], "(null)");
    k = conf_md_col(&m, "name");
    ck_assert_int_eq(m.col_pk[k], 0);
    ck_assert_int_eq(m.col_type[k], DSRC_T_TEXT);
    k = conf_md_col(&m, "created");
    ck_assert_int_eq(m.col_type[k], DSRC_T_TIMESTAMP);
    ck_assert_int_eq(m.col_null[k], 1);
    ck_assert_str_eq(m.col[k][2], "(null)");
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "born")], DSRC_T_TIMESTAMP);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "wake")], DSRC_T_TEXT);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "yr")], DSRC_T_INT64);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "score")], DSRC_T_DOUBLE);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "balance")], DSRC_T_TEXT);
    ck_assert_str_eq(m.col[conf_md_col(&m, "balance")][1], "decimal(20,2)");
    k = conf_md_col(&m, "info");
    ck_assert_int_eq(m.col_type[k], DSRC_T_JSON);
    ck_assert_str_eq(m.col[k][1], "json");
    /* BIT(64), like BIGINT UNSIGNED, may exceed INT64_MAX. */
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "mask")], DSRC_T_TEXT);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "shape")], DSRC_T_BYTES);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "photo")], DSRC_T_BYTES);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "code")], DSRC_T_BYTES);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "tier")], DSRC_T_TEXT);
    ck_assert_str_eq(conf_md_prop(&m, "engine"), "InnoDB");
    ck_assert_str_eq(conf_md_prop(&m, "type"), "BASE TABLE");
    ck_assert_str_eq(conf_md_prop(&m, "column.id.extra"), "auto_increment");
    ck_assert_str_eq(conf_md_prop(&m, "column.region.key"), "PRI");
    ck_assert_str_eq(conf_md_prop(&m, "column.name.key"), "MUL");
    idx = conf_md_prop(&m, "indexes");
    ck_assert_ptr_nonnull(idx);
    ck_assert_msg(strstr(idx, "PRIMARY") && strstr(idx, "by_name") && strstr(idx, "id_only"),
                  "indexes: %s", idx);

    /* A view. */
    conf_md_init(&m, DB "/big_spenders");
    ck_assert_int_eq(conf_describe(c, DB "/big_spenders", &m, &e), DSRC_OK);
    ck_assert_int_eq(m.kind[0], DSRC_ITEM_VIEW);
    ck_assert_int_eq(m.want_rows, -1);
    ck_assert_uint_eq(m.n_cols, 2);
    /* Paths that name no table. */
    ck_assert_int_eq(conf_describe(c, DB "/", &m, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(conf_describe(c, "", &m, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
}
END_TEST

/* Statements the server counted of one kind (all sessions). */
static long long my_status(MYSQL *m, const char *var)
{
    char q[128];

    snprintf(q, sizeof q, "SHOW GLOBAL STATUS LIKE '%s'", var);
    return my_number(m, q, 1);
}

START_TEST(t_discover_catalog)
{
    source_conn *c = conf_conn();
    conf_md m;
    derr e = {0};
    ssize_t i;
    size_t k;
    MYSQL *root;
    long long before, after;

    conf_md_init(&m, DB "/customers");
    ck_assert_msg(conf_discover(c, NULL, 0, &m, &e) == DSRC_OK, "%s", e.msg);
    for (k = 0; k < m.n; k++) {
        ck_assert_msg(strncmp(m.path[k], "mysql/", 6) != 0 &&
                          strncmp(m.path[k], "information_schema/", 19) != 0 &&
                          strncmp(m.path[k], "performance_schema/", 19) != 0 &&
                          strncmp(m.path[k], "sys/", 4) != 0,
                      "system item: %s", m.path[k]);
        ck_assert_msg(conf_md_find(&m, m.path[k]) == (ssize_t)k, "%s twice", m.path[k]);
    }
    ck_assert_int_eq(m.found, 1);
    ck_assert_uint_eq(m.n_cols, 20);
    ck_assert_int_eq(m.col_pk[conf_md_col(&m, "region")], 1);
    ck_assert_int_eq(m.col_pk[conf_md_col(&m, "id")], 2);
    ck_assert_int_eq(m.col_type[conf_md_col(&m, "info")], DSRC_T_JSON);
    ck_assert_str_eq(conf_md_prop(&m, "column.id.extra"), "auto_increment");
    i = conf_md_find(&m, DB "/" TABLE);
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(m.n_columns[i], 9);
    i = conf_md_find(&m, WEIRD_DB "/" WEIRD_TABLE);
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(m.n_columns[i], 2);
    i = conf_md_find(&m, DB "/big_spenders");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(m.kind[i], DSRC_ITEM_VIEW);
    ck_assert_int_ge(conf_md_find(&m, "dsrc_many/t_59"), 0);

    /* System databases on request; one database by path. */
    conf_md_init(&m, NULL);
    ck_assert_int_eq(conf_discover(c, NULL, 1, &m, &e), DSRC_OK);
    ck_assert_int_ge(conf_md_find(&m, "information_schema/TABLES"), 0);

    /* A fixed number of statements, however many tables: 60 tables here. */
    root = my_root(0);
    ck_assert_ptr_nonnull(root);
    conf_md_init(&m, "dsrc_many/t_07");
    before = my_status(root, "Com_select");
    ck_assert_int_eq(conf_discover(c, "dsrc_many", 0, &m, &e), DSRC_OK);
    after = my_status(root, "Com_select");
    ck_assert_uint_eq(m.n, 60);
    ck_assert_int_eq(m.found, 1);
    ck_assert_uint_eq(m.n_cols, 4);
    ck_assert_int_eq(m.col_type[3], DSRC_T_JSON);
    ck_assert_int_eq(m.col_pk[0], 1);
    ck_assert_msg(after - before <= 6, "discover of 60 tables ran %lld SELECTs",
                  after - before);
    mysql_close(root);

    ck_assert_int_eq(conf_discover(c, "nosuch", 0, &m, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
}
END_TEST

/* The foreign keys of one item, as text ("name:cols->ref(refcols) upd del;"
 * per key), from a discover. */
typedef struct my_fks {
    const char *want;
    char text[1024];
    int found;
} my_fks;

static int my_fks_md(void *user, const dsrc_metadata *md)
{
    my_fks *f = user;
    size_t i, j, n;

    if (!md->item || strcmp(md->item->path, f->want) != 0)
        return 0;
    f->found++;
    f->text[0] = '\0';
    for (i = 0; i < md->n_foreign_keys; i++) {
        const dsrc_foreign_key *k = &md->foreign_keys[i];
        n = strlen(f->text);
        snprintf(f->text + n, sizeof f->text - n, "%s:", k->name ? k->name : "-");
        for (j = 0; j < k->n_columns; j++) {
            n = strlen(f->text);
            snprintf(f->text + n, sizeof f->text - n, "%s=%s,", k->columns[j],
                     k->ref_columns[j]);
        }
        n = strlen(f->text);
        snprintf(f->text + n, sizeof f->text - n, "->%s %s %s;", k->ref_item,
                 k->on_update ? k->on_update : "-", k->on_delete ? k->on_delete : "-");
    }
    return 0;
}

static void my_fks_of(source_conn *c, const char *path, const char *item, my_fks *f)
{
    dsrc_meta_sink sink = {sizeof sink, f, my_fks_md};
    dsrc_discover_req dr;
    derr e = {0};

    memset(f, 0, sizeof *f);
    f->want = item;
    memset(&dr, 0, sizeof dr);
    dr.struct_size = sizeof dr;
    dr.path = path;
    ck_assert_msg(source_discover(c, &dr, &sink, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_int_eq(f->found, 1);
}

/* The records of `all` under database path `db`: `one` holds them, in the
 * same order, with the same kinds and column counts. */
static void my_same_records(const conf_md *all, const conf_md *one, const char *db)
{
    size_t i, k = 0, len = strlen(db);

    for (i = 0; i < all->n; i++) {
        if (strncmp(all->path[i], db, len) != 0 || all->path[i][len] != '/')
            continue;
        ck_assert_msg(k < one->n, "%s: %s missing from the filtered discover", db,
                      all->path[i]);
        ck_assert_str_eq(one->path[k], all->path[i]);
        ck_assert_int_eq(one->kind[k], all->kind[i]);
        ck_assert_uint_eq(one->n_columns[k], all->n_columns[i]);
        k++;
    }
    ck_assert_msg(k > 0, "%s: nothing discovered", db);
    ck_assert_uint_eq(one->n, k);
}

/* The statements on information_schema logged since the general log was
 * emptied: none makes the server read every database (EXPLAIN's "Scanned
 * all databases"); returns how many were checked. */
static int my_no_full_scans(MYSQL *root)
{
    MYSQL_RES *res, *ex;
    MYSQL_ROW row, xr;
    int checked = 0;

    ck_assert_int_eq(my_exec(root, "SET GLOBAL general_log = 0"), 0);
    ck_assert_int_eq(mysql_query(root, "SELECT argument FROM mysql.general_log WHERE"
                                       " command_type = 'Query' AND argument LIKE"
                                       " 'SELECT%information\\_schema%'"), 0);
    res = mysql_store_result(root);
    ck_assert_ptr_nonnull(res);
    while ((row = mysql_fetch_row(res)) != NULL) {
        char *sql = NULL;
        unsigned nf, j;
        ck_assert_int_ge(asprintf(&sql, "EXPLAIN %s", row[0]), 0);
        ck_assert_msg(mysql_query(root, sql) == 0, "%s: %s", sql, mysql_error(root));
        ex = mysql_store_result(root);
        ck_assert_ptr_nonnull(ex);
        nf = mysql_num_fields(ex);
        while ((xr = mysql_fetch_row(ex)) != NULL)
            for (j = 0; j < nf; j++)
                ck_assert_msg(!xr[j] || !strstr(xr[j], "Scanned all databases"),
                              "reads every database: %s", row[0]);
        mysql_free_result(ex);
        free(sql);
        checked++;
    }
    mysql_free_result(res);
    return checked;
}

/* A discover of one database (or one table) reads that database (table)
 * only, as EXPLAIN shows for every statement it sent, and gives exactly
 * the records a discover of everything gives for it, foreign keys
 * included; names needing quoting; databases that do not exist. */
START_TEST(t_discover_filtered)
{
    static const char *const dbs[] = {DB, "dsrc_many", "we`ird db;x", "peer%2Fslash"};
    static const char *const wants[] = {DB "/customers", "dsrc_many/t_07",
                                        WEIRD_DB "/" WEIRD_TABLE, "peer%2Fslash/t%251 \"q\""};
    static conf_md all, one;
    source_conn *c = conf_conn();
    my_fks fa, fb, fc;
    MYSQL *root = my_root(0);
    derr e = {0};
    size_t i, j;

    ck_assert_ptr_nonnull(root);
    conf_md_init(&all, NULL);
    ck_assert_msg(conf_discover(c, NULL, 0, &all, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_int_eq(my_exec(root, "SET GLOBAL log_output = 'TABLE'"), 0);
    ck_assert_int_eq(my_exec(root, "TRUNCATE TABLE mysql.general_log"), 0);
    ck_assert_int_eq(my_exec(root, "SET GLOBAL general_log = 1"), 0);
    for (i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        static conf_md wa, wb;
        conf_md_init(&one, NULL);
        ck_assert_msg(conf_discover(c, dbs[i], 0, &one, &e) == DSRC_OK, "%s: %s", dbs[i],
                      e.msg);
        my_same_records(&all, &one, dbs[i]);
        /* the details of one item, from both */
        conf_md_init(&wa, wants[i]);
        conf_md_init(&wb, wants[i]);
        ck_assert_int_eq(my_exec(root, "SET GLOBAL general_log = 0"), 0);
        ck_assert_msg(conf_discover(c, NULL, 0, &wa, &e) == DSRC_OK, "%s", e.msg);
        ck_assert_int_eq(my_exec(root, "SET GLOBAL general_log = 1"), 0);
        ck_assert_msg(conf_discover(c, dbs[i], 0, &wb, &e) == DSRC_OK, "%s", e.msg);
        ck_assert_int_eq(wa.found, 1);
        ck_assert_int_eq(wb.found, 1);
        ck_assert_str_eq(wa.want_comment, wb.want_comment);
        ck_assert_uint_eq(wa.n_cols, wb.n_cols);
        for (j = 0; j < wa.n_cols; j++) {
            ck_assert_str_eq(wa.col[j][0], wb.col[j][0]);
            ck_assert_str_eq(wa.col[j][1], wb.col[j][1]);
            ck_assert_str_eq(wa.col[j][2], wb.col[j][2]);
            ck_assert_str_eq(wa.col[j][3], wb.col[j][3]);
            ck_assert_int_eq(wa.col_type[j], wb.col_type[j]);
            ck_assert_int_eq(wa.col_pk[j], wb.col_pk[j]);
            ck_assert_int_eq(wa.col_null[j], wb.col_null[j]);
        }
    }
    /* the foreign keys of a table: everything, its database, the table */
    ck_assert_int_eq(my_exec(root, "SET GLOBAL general_log = 0"), 0);
    my_fks_of(c, NULL, DB "/" CONF_FK_CHILD, &fa);
    ck_assert_int_eq(my_exec(root, "SET GLOBAL general_log = 1"), 0);
    my_fks_of(c, DB, DB "/" CONF_FK_CHILD, &fb);
    my_fks_of(c, DB "/" CONF_FK_CHILD, DB "/" CONF_FK_CHILD, &fc);
    ck_assert_msg(strstr(fa.text, "fk_child_parent:") && strstr(fa.text, "fk_child_pair:"),
                  "foreign keys: %s", fa.text);
    ck_assert_str_eq(fb.text, fa.text);
    ck_assert_str_eq(fc.text, fa.text);
    ck_assert_int_gt(my_no_full_scans(root), 8);

    ck_assert_int_eq(conf_discover(c, "nosuch", 0, &one, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_int_eq(conf_discover(c, "DSRC_MANY", 0, &one, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_int_eq(conf_discover(c, "we`ird db;", 0, &one, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_int_eq(my_exec(root, "TRUNCATE TABLE mysql.general_log"), 0);
    ck_assert_int_eq(my_exec(root, "SET GLOBAL log_output = 'FILE'"), 0);
    mysql_close(root);
}
END_TEST

/* Discover DB with mode `mode`: the connections the server accepted
 * meanwhile (its Connections status), the items into *m, the queries
 * reported into *queries. */
static long long my_discover_mode(MYSQL *root, source_conn *c, dsrc_discover_mode mode,
                                  conf_md *m, int64_t *queries)
{
    derr e = {0};
    long long before;

    conf_md_init(m, DB "/customers");
    before = my_status(root, "Connections");
    ck_assert_msg(conf_discover_mode(c, DB, 0, mode, m, queries, &e) == DSRC_OK, "%s", e.msg);
    return my_status(root, "Connections") - before;
}

/* The mode hint: a conservative discover works through its one
 * connection, an aggressive one always adds its second, a balanced one
 * adds it when the first was quick to open; the same catalog each way. */
START_TEST(t_discover_modes)
{
    source_conn *c = conf_conn();
    conf_md *cons = calloc(1, sizeof *cons), *bal = calloc(1, sizeof *bal),
            *aggr = calloc(1, sizeof *aggr);
    MYSQL *root = my_root(0);
    int64_t q_cons, q_bal, q_aggr;
    long long n;
    size_t k;

    ck_assert_ptr_nonnull(cons);
    ck_assert_ptr_nonnull(bal);
    ck_assert_ptr_nonnull(aggr);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(my_discover_mode(root, c, DSRC_DISCOVER_CONSERVATIVE, cons, &q_cons), 0);
    ck_assert_int_eq(my_discover_mode(root, c, DSRC_DISCOVER_AGGRESSIVE, aggr, &q_aggr), 1);
    n = my_discover_mode(root, c, DSRC_DISCOVER_BALANCED, bal, &q_bal);
    ck_assert_msg(n == 0 || n == 1, "balanced discover opened %lld connections", n);
    ck_assert_int_gt(q_cons, 0);
    ck_assert_int_eq(q_cons, q_bal);
    ck_assert_int_eq(q_cons, q_aggr);
    ck_assert_uint_gt(cons->n, 0);
    ck_assert_uint_eq(cons->n, bal->n);
    ck_assert_uint_eq(cons->n, aggr->n);
    for (k = 0; k < cons->n; k++) {
        ssize_t j = conf_md_find(aggr, cons->path[k]);
        ck_assert_msg(j >= 0, "%s missing from the aggressive discover", cons->path[k]);
        ck_assert_uint_eq(aggr->n_columns[j], cons->n_columns[k]);
    }
    ck_assert_int_eq(cons->found, 1);
    ck_assert_uint_eq(cons->n_cols, aggr->n_cols);
    mysql_close(root);
    free(cons);
    free(bal);
    free(aggr);
}
END_TEST

/* Connections user `user` has open on the primary, once the count has
 * settled at `at_most` or below (15 s at most: a closed connection leaves
 * the process list a moment later). */
static long long my_user_connections(MYSQL *root, const char *user, long long at_most)
{
    char q[160];
    long long n = -1;
    int i;

    snprintf(q, sizeof q, "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                          " WHERE USER = '%s'", user);
    for (i = 0; i < 300; i++) {
        n = my_scalar(root, q);
        if (n >= 0 && n <= at_most)
            break;
        usleep(50 * 1000);
    }
    return n;
}

/* discover reads the tables on a second connection beside its own: none is
 * left open afterwards, and a user allowed one connection gets the same
 * catalog through one, with as few statements. */
START_TEST(t_discover_second_connection)
{
    conf_env *env = conf_env_new();
    source_conn *c = conf_conn(), *one;
    conf_md *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    derr e = {0};
    MYSQL *root = my_root(0);
    long long before, after, open_before, aborted;
    double t0, open_secs;
    size_t k, i;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(root);
    conf_md_init(a, DB "/customers");
    conf_md_init(b, DB "/customers");

    /* The usual way: no connection left behind. */
    ck_assert_msg(source_ping(c, NULL, NULL, &e) == DSRC_OK, "%s", e.msg);
    /* (a connection closed before may still be leaving the process list:
     * what is checked below is that discover leaves none of its own) */
    open_before = my_user_connections(root, "dsrc", LLONG_MAX);
    ck_assert_int_ge(open_before, 1);
    ck_assert_msg(conf_discover(c, DB, 0, a, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_int_le(my_user_connections(root, "dsrc", open_before), open_before);
    ck_assert_int_eq(a->found, 1);

    /* One connection allowed: the second is refused, discover goes on.
     * (discover tries a second connection when the first took under 5 ms
     * to open: certainly so when opening took less than that here.) */
    t0 = conf_now();
    ck_assert_msg(conf_env_open(env, "single", &one, &e) == DSRC_OK, "%s", e.msg);
    open_secs = conf_now() - t0;
    aborted = my_status(root, "Aborted_connects");
    before = my_status(root, "Com_select");
    ck_assert_msg(conf_discover(one, DB, 0, b, &e) == DSRC_OK, "%s", e.msg);
    after = my_status(root, "Com_select");
    if (open_secs < 0.005)
        ck_assert_int_eq(my_status(root, "Aborted_connects") - aborted, 1);
    ck_assert_msg(after - before <= 6, "discover through one connection ran %lld SELECTs",
                  after - before);
    ck_assert_uint_eq(b->n, a->n);
    for (k = 0; k < a->n; k++) {
        ssize_t j = conf_md_find(b, a->path[k]);
        ck_assert_msg(j >= 0, "%s missing through one connection", a->path[k]);
        ck_assert_uint_eq(b->n_columns[j], a->n_columns[k]);
        ck_assert_int_eq(b->kind[j], a->kind[k]);
    }
    ck_assert_int_eq(b->found, 1);
    ck_assert_uint_eq(b->n_cols, a->n_cols);
    for (i = 0; i < a->n_cols; i++) {
        ck_assert_str_eq(b->col[i][0], a->col[i][0]);
        ck_assert_str_eq(b->col[i][1], a->col[i][1]);
        ck_assert_int_eq(b->col_type[i], a->col_type[i]);
        ck_assert_int_eq(b->col_pk[i], a->col_pk[i]);
    }
    ck_assert_int_eq(b->col_type[conf_md_col(b, "info")], DSRC_T_JSON);
    ck_assert_int_eq(b->col_pk[conf_md_col(b, "id")], 2);
    ck_assert_uint_eq(b->n_props, a->n_props);
    ck_assert_str_eq(conf_md_prop(b, "engine"), "InnoDB");
    /* The refused connection did not spoil this one. */
    ck_assert_int_eq(source_ping(one, NULL, NULL, &e), DSRC_OK);
    ck_assert_int_eq(my_user_connections(root, "single", 1), 1);

    /* A receiver that stops early: the connection serves again. */
    conf_md_init(a, NULL);
    a->stop_after = 5;
    ck_assert_int_eq(conf_discover(c, "dsrc_many", 0, a, &e), DSRC_E_CANCELLED);
    derr_clear(&e);
    ck_assert_uint_eq(a->calls, 5);
    ck_assert_int_le(my_user_connections(root, "dsrc", open_before), open_before);
    conf_md_init(a, NULL);
    ck_assert_msg(conf_discover(c, "dsrc_many", 0, a, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_uint_eq(a->n, 60);

    /* A database that does not exist, through either way. */
    ck_assert_int_eq(conf_discover(one, "nosuch", 0, b, &e), DSRC_E_NOT_FOUND);
    ck_assert_msg(strncmp(e.code, "1049/", 5) == 0, "code %s", e.code);
    derr_clear(&e);
    ck_assert_int_eq(conf_discover(c, DB "/nosuch", 0, a, &e), DSRC_E_NOT_FOUND);
    ck_assert_msg(strncmp(e.code, "1146/", 5) == 0, "code %s", e.code);
    derr_clear(&e);

    source_close(one);
    mysql_close(root);
    free(a);
    free(b);
    conf_env_free(env);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Cases: fetch                                                              */

/* A cell type a case leaves unchecked. */
#define MY_ANY (-1)

START_TEST(t_cell_types)
{
    source_conn *c = conf_conn();
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    /* Column `col` of row `row`: its type (MY_ANY: unchecked) and its text
     * (NULL: unchecked). */
    static const struct {
        size_t row;
        const char *col;
        int type;
        const char *text;
    } want[] = {
        /* Ann: every type with a value. */
        {0, "id", DSRC_T_INT64, "1"},
        {0, "created", DSRC_T_TIMESTAMP, "2024-03-01T12:34:56.789Z"},
        {0, "born", DSRC_T_TIMESTAMP, "1990-05-17"},
        {0, "wake", DSRC_T_TEXT, "-838:59:59"},
        {0, "yr", DSRC_T_INT64, "2024"},
        {0, "score", DSRC_T_DOUBLE, "1.5"},
        {0, "ratio", MY_ANY, "0.1"},
        {0, "balance", DSRC_T_TEXT, "12345678901234567.89"},
        {0, "big", DSRC_T_TEXT, "18446744073709551615"},
        {0, "small", DSRC_T_INT64, NULL},
        {0, "info", DSRC_T_JSON, "{\"tier\": 1}"},
        {0, "tier", MY_ANY, "gold"},
        {0, "tags", MY_ANY, "a,c"},
        {0, "mask", DSRC_T_TEXT, "18446744073709551615"},
        {0, "shape", DSRC_T_BYTES, NULL},
        {0, "photo", DSRC_T_BYTES, "000102ff"},
        {0, "code", DSRC_T_BYTES, "00410042"},
        {0, "note", DSRC_T_TEXT, ""},
        /* Bob: NULLs, a zero date, 4-byte UTF-8, INT64_MAX, BIT as integer. */
        {1, "name", MY_ANY, "B\xc3\xb6" "b \xf0\x9f\x98\x80"},
        {1, "created", DSRC_T_NULL, NULL},
        {1, "born", DSRC_T_TIMESTAMP, "0000-00-00"},
        {1, "big", DSRC_T_INT64, "9223372036854775807"},
        {1, "mask", DSRC_T_INT64, "5"},
        {1, "info", DSRC_T_NULL, NULL},
        {1, "photo", DSRC_T_NULL, NULL},
        {1, "note", DSRC_T_NULL, NULL},
        {1, "tags", MY_ANY, ""},
        {1, "balance", MY_ANY, "-0.01"},
    };
    size_t i;

    conf_req(&req, DB "/customers");
    ck_assert_msg(conf_fetch_all(c, &req, &r, NULL, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_uint_eq(r.n_rows, 2);
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        dsrc_type t = conf_rows_type(&r, want[i].row, want[i].col);
        const char *v = conf_rows_cell(&r, want[i].row, want[i].col);
        if (want[i].type != MY_ANY)
            ck_assert_msg((int)t == want[i].type, "row %zu, %s: type %d, expected %d", want[i].row,
                          want[i].col, (int)t, want[i].type);
        if (want[i].text)
            ck_assert_msg(v && strcmp(v, want[i].text) == 0, "row %zu, %s: '%s', expected '%s'",
                          want[i].row, want[i].col, v ? v : "(null)", want[i].text);
    }
    /* The schema carries the column types. */
    ck_assert_int_eq(r.col_types[conf_rows_col(&r, "info")], DSRC_T_JSON);
    ck_assert_int_eq(r.col_types[conf_rows_col(&r, "created")], DSRC_T_TIMESTAMP);
    ck_assert_int_eq(r.col_types[conf_rows_col(&r, "photo")], DSRC_T_BYTES);
    conf_rows_free(&r);
    derr_clear(&e);
}
END_TEST

/* Integers at the edges of the parse: 18 digits and fewer go without an
 * overflow check, 19 and more with one; a BIGINT UNSIGNED above INT64_MAX
 * stays exact text. */
START_TEST(t_int_edges)
{
    source_conn *c = conf_conn();
    MYSQL *root = my_root(0);
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    static const struct {
        size_t row;
        const char *col;
        int type;
        const char *text;
    } want[] = {
        {0, "s", DSRC_T_INT64, "-9223372036854775808"},
        {0, "u", DSRC_T_TEXT, "9223372036854775808"},
        {1, "s", DSRC_T_INT64, "9223372036854775807"},
        {1, "u", DSRC_T_TEXT, "18446744073709551615"},
        {2, "s", DSRC_T_INT64, "-999999999999999999"},
        {2, "u", DSRC_T_INT64, "999999999999999999"},
        {3, "s", DSRC_T_INT64, "-1000000000000000000"},
        {3, "u", DSRC_T_TEXT, "10000000000000000000"},
        {4, "s", DSRC_T_INT64, "0"},
        {4, "u", DSRC_T_INT64, "7"},
        {5, "z", DSRC_T_INT64, "42"},
    };
    size_t i;

    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(my_exec(root, "CREATE TABLE " DB ".int_edges (id INT PRIMARY KEY,"
                                   " s BIGINT, u BIGINT UNSIGNED, z BIGINT(20) ZEROFILL)"), 0);
    ck_assert_int_eq(my_exec(root, "INSERT INTO " DB ".int_edges VALUES"
                                   " (1, -9223372036854775808, 9223372036854775808, 1),"
                                   " (2, 9223372036854775807, 18446744073709551615, 2),"
                                   " (3, -999999999999999999, 999999999999999999, 3),"
                                   " (4, -1000000000000000000, 10000000000000000000, 4),"
                                   " (5, 0, 7, 5), (6, 1, 1, 42)"), 0);
    conf_req(&req, DB "/int_edges");
    ck_assert_msg(conf_fetch_all(c, &req, &r, NULL, &e) == DSRC_OK, "%s", e.msg);
    my_exec(root, "DROP TABLE " DB ".int_edges");
    mysql_close(root);
    ck_assert_uint_eq(r.n_rows, 6);
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        dsrc_type t = conf_rows_type(&r, want[i].row, want[i].col);
        const char *v = conf_rows_cell(&r, want[i].row, want[i].col);
        ck_assert_msg((int)t == want[i].type, "row %zu, %s: type %d, expected %d", want[i].row,
                      want[i].col, (int)t, want[i].type);
        ck_assert_msg(v && strcmp(v, want[i].text) == 0, "row %zu, %s: '%s', expected '%s'",
                      want[i].row, want[i].col, v ? v : "(null)", want[i].text);
    }
    conf_rows_free(&r);
    derr_clear(&e);
}
END_TEST

/* TIMESTAMP comes in UTC with "Z" whatever the server's own time zone: the
 * session is set to UTC, so a new connection to a server whose default is
 * +05:30 still sends the stored instant. */
START_TEST(t_timestamp_utc)
{
    MYSQL *root = my_root(0);
    conf_env *env;
    source_conn *c = NULL;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};

    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(my_exec(root, "SET GLOBAL time_zone = '+05:30'"), 0);
    env = conf_env_new();
    ck_assert_msg(conf_env_open(env, "conf", &c, &e) == DSRC_OK, "%s", e.msg);
    conf_req(&req, DB "/customers");
    req.limit = 1;
    ck_assert_msg(conf_fetch_all(c, &req, &r, NULL, &e) == DSRC_OK, "%s", e.msg);
    my_exec(root, "SET GLOBAL time_zone = 'SYSTEM'");
    mysql_close(root);
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_str_eq(conf_rows_cell(&r, 0, "created"), "2024-03-01T12:34:56.789Z");
    conf_rows_free(&r);
    source_close(c);
    conf_env_free(env);
    derr_clear(&e);
}
END_TEST

START_TEST(t_hostile_identifiers)
{
    source_conn *c = conf_conn();
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    conf_md m;
    derr e = {0};
    const char *cols[] = {WEIRD_COL};
    MYSQL *root;

    conf_md_init(&m, DB "/" TABLE);
    ck_assert_msg(conf_describe(c, DB "/" TABLE, &m, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_int_eq(m.found, 1);
    ck_assert_str_eq(m.col[1][0], "col with spaces");

    /* A database, table and column with backticks, quotes, spaces. */
    conf_req(&req, WEIRD_DB "/" WEIRD_TABLE);
    req.columns = cols;
    req.n_columns = 1;
    req.cursor_field = WEIRD_COL;
    req.cursor_value = "a";
    memset(&res, 0, sizeof res);
    ck_assert_msg(conf_fetch_all(c, &req, &r, &res, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_uint_eq(r.n_rows, 2);
    ck_assert_str_eq(r.names[0], WEIRD_COL);
    ck_assert_str_eq(r.text[0], "b'`");
    ck_assert_str_eq(res.cursor_max, "c");
    conf_rows_free(&r);
    req.cursor_value = "b'`";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 1);
    conf_rows_free(&r);

    /* A cursor value trying to break out of its literal. */
    conf_req(&req, DB "/tags");
    req.cursor_field = "name";
    req.cursor_value = "' OR '1'='1";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    root = my_root(0);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq((long long)r.n_rows,
                     my_scalar(root, "SELECT COUNT(*) FROM " DB ".tags WHERE name > "
                                     "'\\' OR \\'1\\'=\\'1'"));
    conf_rows_free(&r);
    mysql_close(root);

    /* Table x is still there. */
    conf_expect_rows(c, DB "/x", 1);
    derr_clear(&e);
}
END_TEST

/* String cursors with quotes and backslashes, on the primary (backslash
 * escapes) and on the replica (NO_BACKSLASH_ESCAPES): the same rows as a
 * bound parameter selects. */
START_TEST(t_string_cursor_escaping)
{
    conf_env *env = conf_env_new();
    static const char *const after[] = {"a", "it's", "back\\slash", "quo'te\\'", "\\", "'",
                                        "\xc3\xa9t\xc3\xa9", "z"};
    source_conn *c[2];
    MYSQL *root = my_root(0);
    derr e = {0};
    size_t i;
    int k;

    ck_assert_ptr_nonnull(root);
    ck_assert_msg(conf_env_open(env, "replicated", &c[0], &e) == DSRC_OK, "%s", e.msg);
    ck_assert_msg(conf_env_open_at(env, "replicated", 1, &c[1], &e) == DSRC_OK, "%s", e.msg);
    for (i = 0; i < sizeof after / sizeof after[0]; i++) {
        MYSQL_STMT *st = mysql_stmt_init(root);
        MYSQL_BIND pb, rb;
        long long want = -1;
        unsigned long len = (unsigned long)strlen(after[i]);
        static const char q[] = "SELECT COUNT(*) FROM " DB ".tags WHERE name > ?";

        ck_assert_int_eq(mysql_stmt_prepare(st, q, sizeof q - 1), 0);
        memset(&pb, 0, sizeof pb);
        pb.buffer_type = MYSQL_TYPE_STRING;
        pb.buffer = (void *)after[i];
        pb.buffer_length = len;
        pb.length = &len;
        ck_assert_int_eq(mysql_stmt_bind_param(st, &pb), 0);
        ck_assert_int_eq(mysql_stmt_execute(st), 0);
        memset(&rb, 0, sizeof rb);
        rb.buffer_type = MYSQL_TYPE_LONGLONG;
        rb.buffer = &want;
        ck_assert_int_eq(mysql_stmt_bind_result(st, &rb), 0);
        ck_assert_int_eq(mysql_stmt_fetch(st), 0);
        mysql_stmt_close(st);
        for (k = 0; k < 2; k++) {
            dsrc_fetch_req req;
            conf_rows r;
            conf_req(&req, DB "/tags");
            req.cursor_field = "name";
            req.cursor_value = after[i];
            ck_assert_msg(conf_fetch_all(c[k], &req, &r, NULL, &e) == DSRC_OK, "%s: %s",
                          after[i], e.msg);
            ck_assert_msg((long long)r.n_rows == want, "%s after '%s': %zu rows, expected %lld",
                          k ? "replica" : "primary", after[i], r.n_rows, want);
            conf_rows_free(&r);
        }
    }
    source_close(c[0]);
    source_close(c[1]);
    mysql_close(root);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_paths)
{
    conf_env *env = conf_env_new();
    source_conn *c = conf_conn(), *nd;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};

    conf_expect_rows(c, "x", 1);
    conf_req(&req, DB "/with/slash");
    ck_assert_msg(conf_fetch_all(c, &req, &r, NULL, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_str_eq(r.text[0], "s");
    conf_rows_free(&r);
    /* A database named with '/', a table with '%': escaped in the path. */
    conf_req(&req, "peer%2Fslash/t%251 \"q\"");
    ck_assert_msg(conf_fetch_all(c, &req, &r, NULL, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_uint_eq(r.n_rows, 1);
    conf_rows_free(&r);
    my_fetch_fails(c, "peer%2Fslash/t%1", DSRC_E_INVALID_ARGUMENT, NULL, &e);
    ck_assert_msg(strstr(e.msg, "'%1' is not an escape"), "message: %s", e.msg);
    derr_clear(&e);
    /* Without a default database a bare name is ambiguous. */
    ck_assert_msg(conf_env_open(env, "nodefault", &nd, &e) == DSRC_OK, "%s", e.msg);
    my_fetch_fails(nd, "x", DSRC_E_INVALID_ARGUMENT, NULL, &e);
    ck_assert_msg(strstr(e.msg, "database/x"), "message: %s", e.msg);
    derr_clear(&e);
    conf_req(&req, DB "/x");
    ck_assert_int_eq(conf_fetch_all(nd, &req, &r, NULL, &e), DSRC_OK);
    conf_rows_free(&r);
    /* Raw bytes are not something a table has; CSV comes as rows. */
    req.mode = DSRC_FETCH_RAW;
    ck_assert_int_eq(conf_fetch_all(nd, &req, &r, NULL, &e), DSRC_E_UNSUPPORTED);
    conf_rows_free(&r);
    derr_clear(&e);
    req.mode = DSRC_FETCH_CSV;
    ck_assert_int_eq(conf_fetch_all(nd, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 1);
    conf_rows_free(&r);
    source_close(nd);
    conf_env_free(env);
}
END_TEST

START_TEST(t_temporal_cursor)
{
    source_conn *c = conf_conn();
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    derr e = {0};
    char after[DSRC_CURSOR_MAX];

    /* What fetch reports as cursor_max feeds the next fetch. */
    conf_req(&req, DB "/events");
    req.cursor_field = "at";
    req.limit = 2;
    memset(&res, 0, sizeof res);
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 2);
    ck_assert_int_eq(res.has_cursor, 1);
    ck_assert_str_eq(res.cursor_max, "2024-01-01T00:00:01.000000");
    conf_rows_free(&r);
    req.limit = -1;
    snprintf(after, sizeof after, "%s", res.cursor_max);
    req.cursor_value = after;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 2);
    ck_assert_str_eq(conf_rows_cell(&r, 0, "what"), "three");
    conf_rows_free(&r);
    req.cursor_value = "2024-01-01 00:00:00";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 4);
    conf_rows_free(&r);
    derr_clear(&e);
}
END_TEST

/* Cancel from another thread once the statement runs on the server. */
typedef struct my_canceller {
    source_conn *c;
    int seen;                /* the statement was seen running */
} my_canceller;

static void *my_cancel_thread(void *arg)
{
    my_canceller *k = arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    MYSQL *root = my_root(0);
    int i;

    for (i = 0; root && i < 400 && !k->seen; i++) {
        nanosleep(&ts, NULL);
        k->seen = my_scalar(root, "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                                  " WHERE USER = 'dsrc' AND INFO LIKE 'SELECT %slow\\_view%'") > 0;
    }
    if (root)
        mysql_close(root);
    source_cancel(k->c);
    return NULL;
}

START_TEST(t_cancel_kill_query)
{
    source_conn *c = conf_conn();
    my_canceller k = {c, 0};
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    double secs;

    conf_req(&req, DB "/slow_view");
    ck_assert_int_eq(conf_fetch_beside(c, &req, NULL, &r, my_cancel_thread, &k, &secs, &e),
                     DSRC_E_CANCELLED);
    ck_assert_msg(k.seen, "the statement was never seen running");
    ck_assert_msg(secs < 15, "the cancel took %.1f s", secs);
    /* The text protocol's statement ends with the server's error 1317;
     * a prepared statement's SLEEP() returns early without one, and the
     * fetch sees the cancellation before its row. */
    ck_assert_msg(strncmp(e.code, "1317/", 5) == 0 ||
                      (e.msg && strstr(e.msg, "fetch cancelled after 0 rows")),
                  "code %s: %s", e.code, e.msg);
    ck_assert_uint_eq(r.n_rows, 0);
    conf_rows_free(&r);
    derr_clear(&e);
    /* The same connection serves again. */
    atomic_store(&c->cancel, 0);
    conf_expect_rows(c, DB "/x", 1);
}
END_TEST

/* A row sink that raises the host's cancel flag, or stops, after 5000 rows
 * of the big table. */
static void my_stop_big(int use_flag)
{
    source_conn *c = conf_conn();
    conf_counter k;
    dsrc_row_sink sink = conf_counter_sink(&k, c, 5000, use_flag);
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    derr e = {0};
    long rows;

    conf_req(&req, DB "/big");
    ck_assert_int_eq(source_fetch(c, &req, &sink, NULL, &res, &e), DSRC_E_CANCELLED);
    rows = atomic_load(&k.rows);
    ck_assert_msg(rows >= 5000 && rows < 5000 + 2 * 1024, "%ld rows arrived", rows);
    derr_clear(&e);
    atomic_store(&c->cancel, 0);
    /* The connection is usable: the rest of the big result is gone. */
    conf_expect_rows(c, DB "/x", 1);
    ck_assert_int_eq(source_ping(c, NULL, NULL, &e), DSRC_OK);
}

START_TEST(t_cancel_flag_while_streaming)
{
    my_stop_big(1);
}
END_TEST

START_TEST(t_sink_stops_big_result)
{
    my_stop_big(0);
}
END_TEST


/* ------------------------------------------------------------------------ */
/* Cases: query                                                              */

/* Rows of a query collected as conf_fetch_all() collects a fetch's. */
typedef struct my_qrows {
    conf_rows r;
    size_t cap;
} my_qrows;

static int my_q_schema(void *user, const dsrc_column *cols, size_t n)
{
    my_qrows *q = user;
    size_t i;

    q->r.schema_calls++;
    if (q->r.schema_calls > 1)
        return 0;
    q->r.n_columns = n;
    q->r.names = calloc(n + 1, sizeof *q->r.names);
    q->r.col_types = calloc(n + 1, sizeof *q->r.col_types);
    ck_assert_ptr_nonnull(q->r.names);
    ck_assert_ptr_nonnull(q->r.col_types);
    for (i = 0; i < n; i++) {
        q->r.names[i] = strdup(cols[i].name);
        q->r.col_types[i] = cols[i].type;
    }
    return 0;
}

static int my_q_row(void *user, const dsrc_cell *cells, size_t n)
{
    my_qrows *q = user;
    size_t i, w = n ? n : 1;

    ck_assert_uint_eq(n, q->r.n_columns);
    if (q->r.n_rows == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->r.text = realloc(q->r.text, q->cap * w * sizeof *q->r.text);
        q->r.types = realloc(q->r.types, q->cap * w * sizeof *q->r.types);
        ck_assert_ptr_nonnull(q->r.text);
        ck_assert_ptr_nonnull(q->r.types);
    }
    for (i = 0; i < n; i++) {
        q->r.text[q->r.n_rows * n + i] = conf_render(&cells[i]);
        q->r.types[q->r.n_rows * n + i] = cells[i].type;
    }
    q->r.n_rows++;
    return 0;
}

/* Run `sql` with `n` parameters (NULL entries: SQL NULL) on `c` into `out`
 * (free with conf_rows_free); the status, the error in `e`. */
static dsrc_status my_query_lim(source_conn *c, const char *sql, const char *const *params,
                                size_t n, int64_t limit, int64_t timeout_ms, conf_rows *out,
                                derr *e)
{
    my_qrows q;
    dsrc_row_sink sink;
    dsrc_query_req req;
    dsrc_fetch_result res;
    dsrc_status st;

    memset(&q, 0, sizeof q);
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &q;
    sink.schema = my_q_schema;
    sink.row = my_q_row;
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.text = sql;
    req.params = params;
    req.n_params = n;
    req.limit = limit;
    req.timeout_ms = timeout_ms;
    st = source_query(c, &req, &sink, &res, e);
    if (st == DSRC_OK) {
        ck_assert_int_eq(q.r.schema_calls, 1);
        ck_assert_uint_eq(res.rows, q.r.n_rows);
    }
    *out = q.r;
    return st;
}

static dsrc_status my_query(source_conn *c, const char *sql, const char *const *params,
                            size_t n, conf_rows *out, derr *e)
{
    return my_query_lim(c, sql, params, n, -1, 0, out, e);
}

/* The one value `sql` answers on `c` (it must succeed with one row of one
 * column), malloc'd; NULL for NULL. */
static char *my_query_value(source_conn *c, const char *sql)
{
    conf_rows r;
    derr e = {0};
    char *v;

    ck_assert_msg(my_query(c, sql, NULL, 0, &r, &e) == DSRC_OK, "%s: %s", sql,
                  e.msg ? e.msg : "");
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_uint_eq(r.n_columns, 1);
    v = r.text[0] ? strdup(r.text[0]) : NULL;
    conf_rows_free(&r);
    return v;
}

/* `sql` on `c` fails with `want` and a MySQL code starting with `code`
 * (NULL: unchecked); the error stays in `e`. */
static void my_query_fails(source_conn *c, const char *sql, const char *const *params, size_t n,
                           dsrc_status want, const char *code, derr *e)
{
    conf_rows r;
    dsrc_status st = my_query(c, sql, params, n, &r, e);

    conf_rows_free(&r);
    ck_assert_msg(st == want, "%s: expected %s, got %s (%s)", sql, error_status_name(want),
                  error_status_name(st), e->msg ? e->msg : "");
    if (code)
        ck_assert_msg(strncmp(e->code, code, strlen(code)) == 0, "%s: code '%s', expected %s...",
                      sql, e->code, code);
}

/* A session variable's value as a fetch of SESSION_VARIABLES sees it. */
static char *my_session_var(source_conn *c, const char *name)
{
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    const char *cols[] = {"VARIABLE_NAME", "VARIABLE_VALUE"};
    char *out = NULL;
    size_t i;

    conf_req(&req, "information_schema/SESSION_VARIABLES");
    req.columns = cols;
    req.n_columns = 2;
    ck_assert_msg(conf_fetch_all(c, &req, &r, NULL, &e) == DSRC_OK, "session variables: %s",
                  e.msg ? e.msg : "");
    for (i = 0; i < r.n_rows; i++)
        if (r.text[i * 2] && strcasecmp(r.text[i * 2], name) == 0)
            out = strdup(r.text[i * 2 + 1] ? r.text[i * 2 + 1] : "");
    conf_rows_free(&r);
    derr_clear(&e);
    ck_assert_msg(out != NULL, "no session variable %s", name);
    return out;
}

/* Parameters are values: whatever their text, never SQL. */
START_TEST(t_query_injection)
{
    source_conn *c = conf_conn();
    MYSQL *root = my_root(0);
    static const char *const hostile[] = {
        "' OR 1=1 --", "' OR '1'='1", "1; DROP TABLE qt", "x' UNION SELECT id, name FROM qt #",
        "\\' OR 1=1 -- ", "one' -- ", "%", "\xbf' OR 1=1 /*",
    };
    const char *p[2];
    conf_rows r;
    derr e = {0};
    size_t i;

    ck_assert_ptr_nonnull(root);
    for (i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        p[0] = hostile[i];
        ck_assert_msg(my_query(c, "SELECT id, name FROM qt WHERE name = ?", p, 1, &r, &e) ==
                          DSRC_OK, "%s: %s", hostile[i], e.msg ? e.msg : "");
        ck_assert_msg(r.n_rows == 0, "'%s' matched %zu rows", hostile[i], r.n_rows);
        conf_rows_free(&r);
        /* the value comes back as it was sent */
        ck_assert_msg(my_query(c, "SELECT ? AS v", p, 1, &r, &e) == DSRC_OK, "%s",
                      e.msg ? e.msg : "");
        ck_assert_uint_eq(r.n_rows, 1);
        ck_assert_str_eq(r.text[0], hostile[i]);
        conf_rows_free(&r);
    }
    /* A real match, two parameters, a number given as text. */
    p[0] = "two";
    p[1] = "2";
    ck_assert_msg(my_query(c, "SELECT id, name FROM qt WHERE name = ? AND id = ?", p, 2, &r, &e)
                      == DSRC_OK, "%s", e.msg ? e.msg : "");
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_str_eq(conf_rows_cell(&r, 0, "id"), "2");
    ck_assert_int_eq(conf_rows_type(&r, 0, "id"), DSRC_T_INT64);
    conf_rows_free(&r);
    /* NULL parameters are SQL NULL. */
    p[0] = NULL;
    ck_assert_msg(my_query(c, "SELECT ? IS NULL AS n, id FROM qt WHERE name <=> ?",
                           (const char *const[]){NULL, NULL}, 2, &r, &e) == DSRC_OK, "%s",
                  e.msg ? e.msg : "");
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_str_eq(conf_rows_cell(&r, 0, "n"), "1");
    ck_assert_str_eq(conf_rows_cell(&r, 0, "id"), "3");
    conf_rows_free(&r);
    /* A count that does not match the placeholders, several statements. */
    my_query_fails(c, "SELECT id FROM qt WHERE id = ?", NULL, 0, DSRC_E_INVALID_ARGUMENT, NULL,
                   &e);
    ck_assert_msg(strstr(e.msg, "placeholders"), "%s", e.msg);
    derr_clear(&e);
    p[0] = "1";
    p[1] = "2";
    my_query_fails(c, "SELECT id FROM qt WHERE id = ?", p, 2, DSRC_E_INVALID_ARGUMENT, NULL, &e);
    derr_clear(&e);
    my_query_fails(c, "SELECT 1; DELETE FROM qt", NULL, 0, DSRC_E_INVALID_ARGUMENT, "1064/", &e);
    derr_clear(&e);
    my_query_fails(c, "SELEC 1", NULL, 0, DSRC_E_INVALID_ARGUMENT, "1064/", &e);
    derr_clear(&e);
    my_query_fails(c, "SELECT * FROM no_such_table", NULL, 0, DSRC_E_INVALID_ARGUMENT, "1146/",
                   &e);
    derr_clear(&e);
    my_query_fails(c, "", NULL, 0, DSRC_E_INVALID_ARGUMENT, NULL, &e);
    derr_clear(&e);
    /* The table is intact. */
    ck_assert_int_eq(my_scalar(root, "SELECT COUNT(*) FROM " DB ".qt"), 3);
    mysql_close(root);
}
END_TEST

/* Every way of writing is refused by the server inside the READ ONLY
 * transaction, for an account that may write; nothing changes. */
START_TEST(t_query_writes_refused)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    MYSQL *root = my_root(0);
    derr e = {0};
    static const char *const dml[] = {
        "INSERT INTO qt VALUES (10, 'ten')",
        "UPDATE qt SET name = 'x'",
        "DELETE FROM qt",
        "REPLACE INTO qt VALUES (1, 'one')",
        "SELECT writes()",
        "SELECT id FROM qt WHERE id = writes()",
        "INSERT INTO qt SELECT id + 100, name FROM qt",
        /* ends the READ ONLY transaction, then writes: the session's
         * read-only setting refuses it */
        "CALL commit_write()",
    };
    static const char *const ddl[] = {
        "CREATE TABLE made_here (i INT)",
        "DROP TABLE qt",
        "TRUNCATE TABLE qt",
        "ALTER TABLE qt ADD COLUMN z INT",
        "RENAME TABLE qt TO qt2",
        "CREATE INDEX qi ON qt (name)",
    };
    size_t i;

    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(conf_env_open(env, "writer", &c, &e), DSRC_OK);
    for (i = 0; i < sizeof dml / sizeof dml[0]; i++) {
        my_query_fails(c, dml[i], NULL, 0, DSRC_E_PERMISSION, "1792/", &e);
        ck_assert_msg(strstr(e.msg, "READ ONLY"), "%s: %s", dml[i], e.msg);
        derr_clear(&e);
    }
    for (i = 0; i < sizeof ddl / sizeof ddl[0]; i++) {
        my_query_fails(c, ddl[i], NULL, 0, DSRC_E_PERMISSION, "1792/", &e);
        derr_clear(&e);
    }
    /* A locking read is refused too. */
    my_query_fails(c, "SELECT id FROM qt WHERE id = 1 FOR UPDATE", NULL, 0, DSRC_E_PERMISSION,
                   "1792/", &e);
    derr_clear(&e);
    /* A session made writable by one query does not make the next one
     * writable. */
    {
        conf_rows r;
        ck_assert_msg(my_query(c, "SET SESSION TRANSACTION READ WRITE", NULL, 0, &r, &e) ==
                          DSRC_OK, "%s", e.msg ? e.msg : "");
        conf_rows_free(&r);
        ck_assert_uint_eq(r.n_columns, 0);
    }
    my_query_fails(c, dml[0], NULL, 0, DSRC_E_PERMISSION, "1792/", &e);
    derr_clear(&e);
    ck_assert_int_eq(my_scalar(root, "SELECT COUNT(*) FROM " DB ".qt"), 3);
    ck_assert_int_eq(my_scalar(root, "SELECT COUNT(*) FROM " DB ".qt WHERE name = 'x'"), 0);
    ck_assert_int_eq(my_scalar(root, "SELECT COUNT(*) FROM information_schema.TABLES WHERE"
                                     " TABLE_SCHEMA = '" DB "' AND TABLE_NAME IN ('made_here',"
                                     " 'qt2')"),
                     0);
    ck_assert_int_eq(my_scalar(root, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE"
                                     " TABLE_SCHEMA = '" DB "' AND TABLE_NAME = 'qt'"),
                     2);
    /* The same source still reads. */
    {
        char *v = my_query_value(c, "SELECT COUNT(*) FROM qt");
        ck_assert_str_eq(v, "3");
        free(v);
    }
    source_close(c);
    conf_env_free(env);
    mysql_close(root);
}
END_TEST

/* A locking read and session state: the server allows them in a READ
 * ONLY transaction; none of it outlives the query. */
START_TEST(t_query_leaves_nothing)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    MYSQL *root = my_root(0);
    conf_rows r;
    derr e = {0};
    char *v;

    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(conf_env_open(env, "writer", &c, &e), DSRC_OK);
    /* A shared-lock read: no lock outlives the query. */
    ck_assert_msg(my_query(c, "SELECT id FROM qt WHERE id = 1 LOCK IN SHARE MODE", NULL, 0, &r,
                           &e) == DSRC_OK || e.code[0], "%s", e.msg ? e.msg : "");
    conf_rows_free(&r);
    derr_clear(&e);
    ck_assert_int_eq(my_exec(root, "SET SESSION innodb_lock_wait_timeout = 2"), 0);
    ck_assert_int_eq(my_exec(root, "UPDATE " DB ".qt SET name = 'one' WHERE id = 1"), 0);
    ck_assert_int_eq(my_scalar(root, "SELECT COUNT(*) FROM information_schema.INNODB_TRX"), 0);
    /* A temporary table, a user variable, a session setting, a named
     * lock: all gone after the query. */
    my_query(c, "CREATE TEMPORARY TABLE tmp_q (i INT)", NULL, 0, &r, &e);
    conf_rows_free(&r);
    derr_clear(&e);
    my_query_fails(c, "SELECT * FROM tmp_q", NULL, 0, DSRC_E_INVALID_ARGUMENT, "1146/", &e);
    derr_clear(&e);
    free(my_query_value(c, "SELECT @q := 5"));
    ck_assert_ptr_null(my_query_value(c, "SELECT @q"));
    ck_assert_msg(my_query(c, "SET SESSION time_zone = '+05:00'", NULL, 0, &r, &e) == DSRC_OK,
                  "%s", e.msg ? e.msg : "");
    conf_rows_free(&r);
    v = my_query_value(c, "SELECT @@SESSION.time_zone");
    ck_assert_str_eq(v, "+00:00");
    free(v);
    free(my_query_value(c, "SELECT GET_LOCK('dsrc_q', 0)"));
    ck_assert_int_eq(my_scalar(root, "SELECT IS_FREE_LOCK('dsrc_q')"), 1);
    /* Read-only and the time limit hold during the query only. */
    v = my_query_value(c, "SELECT @@SESSION.tx_read_only");
    ck_assert_str_eq(v, "1");
    free(v);
    ck_assert_int_eq(my_query_lim(c, "SELECT 1", NULL, 0, -1, 1500, &r, &e), DSRC_OK);
    conf_rows_free(&r);
    v = my_session_var(c, "TX_READ_ONLY");
    ck_assert_str_eq(v, "OFF");
    free(v);
    v = my_session_var(c, "MAX_STATEMENT_TIME");
    ck_assert_str_eq(v, "0.000000");
    free(v);
    /* Nothing still runs on this connection. */
    {
        char *id = my_query_value(c, "SELECT CONNECTION_ID()");
        char sql[256];
        ck_assert_ptr_nonnull(id);
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                                  " WHERE ID = %s AND INFO IS NOT NULL", id);
        ck_assert_int_eq(my_scalar_settled(root, sql, 0), 0);
        free(id);
    }
    v = my_query_value(c, "SELECT @@SESSION.character_set_client");
    ck_assert_str_eq(v, "utf8mb4");
    free(v);
    /* A fetch after the queries: the session as it was opened. */
    conf_expect_rows(c, DB "/qt", 3);
    source_close(c);
    conf_env_free(env);
    mysql_close(root);
}
END_TEST

/* A query's cells have the types a fetch of the same table gives. */
START_TEST(t_query_types_as_fetch)
{
    source_conn *c = conf_conn();
    dsrc_fetch_req req;
    conf_rows f, q;
    derr e = {0};
    size_t i, j;

    conf_req(&req, DB "/customers");
    ck_assert_msg(conf_fetch_all(c, &req, &f, NULL, &e) == DSRC_OK, "%s", e.msg);
    ck_assert_msg(my_query(c, "SELECT * FROM customers", NULL, 0, &q, &e) == DSRC_OK, "%s",
                  e.msg ? e.msg : "");
    ck_assert_uint_eq(q.n_rows, f.n_rows);
    ck_assert_uint_eq(q.n_columns, f.n_columns);
    for (j = 0; j < f.n_columns; j++) {
        ck_assert_str_eq(q.names[j], f.names[j]);
        /* MariaDB marks JSON with a check constraint the catalog shows:
         * a query's result carries no such mark (text). */
        if (strcmp(f.names[j], "info") == 0)
            continue;
        ck_assert_msg(q.col_types[j] == f.col_types[j], "%s: type %d, fetch %d", f.names[j],
                      (int)q.col_types[j], (int)f.col_types[j]);
        for (i = 0; i < f.n_rows; i++) {
            const char *a = f.text[i * f.n_columns + j], *b = q.text[i * q.n_columns + j];
            ck_assert_msg(q.types[i * q.n_columns + j] == f.types[i * f.n_columns + j],
                          "row %zu, %s: type %d, fetch %d", i, f.names[j],
                          (int)q.types[i * q.n_columns + j], (int)f.types[i * f.n_columns + j]);
            ck_assert_msg((!a && !b) || (a && b && strcmp(a, b) == 0),
                          "row %zu, %s: '%s', fetch '%s'", i, f.names[j], b ? b : "(null)",
                          a ? a : "(null)");
        }
    }
    conf_rows_free(&f);
    conf_rows_free(&q);
    /* An empty result still has its schema. */
    ck_assert_msg(my_query(c, "SELECT id, name FROM qt WHERE 1 = 0", NULL, 0, &q, &e) ==
                      DSRC_OK, "%s", e.msg ? e.msg : "");
    ck_assert_uint_eq(q.n_rows, 0);
    ck_assert_uint_eq(q.n_columns, 2);
    ck_assert_int_eq(q.col_types[0], DSRC_T_INT64);
    conf_rows_free(&q);
}
END_TEST

/* A limit stops the statement on the server, not after its last row. */
START_TEST(t_query_limit)
{
    source_conn *c = conf_conn();
    MYSQL *root = my_root(0);
    conf_rows r;
    derr e = {0};
    double t0;

    ck_assert_ptr_nonnull(root);
    t0 = conf_now();
    ck_assert_msg(my_query_lim(c, "SELECT a.id, b.id FROM big a, big b", NULL, 0, 10, 0, &r,
                               &e) == DSRC_OK, "%s", e.msg ? e.msg : "");
    ck_assert_uint_eq(r.n_rows, 10);
    conf_rows_free(&r);
    ck_assert_msg(conf_now() - t0 < 30, "a limit of 10 took %.1f s", conf_now() - t0);
    ck_assert_int_eq(my_scalar_settled(root, "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                                             " WHERE USER = 'dsrc' AND INFO LIKE 'SELECT a.id%'",
                                       0),
                     0);
    ck_assert_msg(my_query_lim(c, "SELECT id FROM qt", NULL, 0, 0, 0, &r, &e) == DSRC_OK, "%s",
                  e.msg ? e.msg : "");
    ck_assert_uint_eq(r.n_rows, 0);
    ck_assert_uint_eq(r.n_columns, 1);
    conf_rows_free(&r);
    conf_expect_rows(c, DB "/qt", 3);
    mysql_close(root);
}
END_TEST

/* The server's statement timeout: DSRC_E_TIMEOUT, and the connection
 * serves again without the limit. */
START_TEST(t_query_timeout)
{
    source_conn *c = conf_conn();
    conf_rows r;
    derr e = {0};
    double t0 = conf_now();
    char *v;

    ck_assert_int_eq(my_query_lim(c, "SELECT COUNT(*) FROM big a, big b WHERE a.s < b.s", NULL,
                                  0, -1, 200, &r, &e),
                     DSRC_E_TIMEOUT);
    conf_rows_free(&r);
    ck_assert_msg(conf_now() - t0 < 60, "the timeout took %.1f s", conf_now() - t0);
    ck_assert_msg(strncmp(e.code, "1969/", 5) == 0 || strncmp(e.code, "3024/", 5) == 0,
                  "code %s: %s", e.code, e.msg);
    derr_clear(&e);
    v = my_query_value(c, "SELECT @@SESSION.max_statement_time = @@GLOBAL.max_statement_time");
    ck_assert_str_eq(v, "1");
    free(v);
    conf_expect_rows(c, DB "/qt", 3);
}
END_TEST

static void *my_query_cancel_thread(void *arg)
{
    my_canceller *k = arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    MYSQL *root = my_root(0);
    int i;

    for (i = 0; root && i < 400 && !k->seen; i++) {
        nanosleep(&ts, NULL);
        k->seen = my_scalar(root, "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                                  " WHERE USER = 'dsrc' AND INFO LIKE 'SELECT COUNT(*) FROM big%'")
                  > 0;
    }
    if (root)
        mysql_close(root);
    source_cancel(k->c);
    return NULL;
}

typedef struct my_qthread {
    source_conn *c;
    dsrc_status st;
    derr e;
} my_qthread;

static void *my_query_thread(void *arg)
{
    my_qthread *t = arg;
    conf_rows r;

    t->st = my_query(t->c, "SELECT COUNT(*) FROM big a, big b WHERE a.s < b.s", NULL, 0, &r,
                     &t->e);
    conf_rows_free(&r);
    return NULL;
}

/* Cancel from another thread: KILL QUERY, DSRC_E_CANCELLED, the
 * connection serves again. */
START_TEST(t_query_cancel)
{
    source_conn *c = conf_conn();
    my_canceller k = {c, 0};
    my_qthread t;
    pthread_t th, q;
    double t0 = conf_now();

    memset(&t, 0, sizeof t);
    t.c = c;
    ck_assert_int_eq(pthread_create(&q, NULL, my_query_thread, &t), 0);
    ck_assert_int_eq(pthread_create(&th, NULL, my_query_cancel_thread, &k), 0);
    pthread_join(th, NULL);
    pthread_join(q, NULL);
    ck_assert_msg(k.seen, "the statement was never seen running");
    ck_assert_msg(t.st == DSRC_E_CANCELLED, "%s: %s", error_status_name(t.st),
                  t.e.msg ? t.e.msg : "");
    ck_assert_msg(conf_now() - t0 < 30, "the cancel took %.1f s", conf_now() - t0);
    derr_clear(&t.e);
    atomic_store(&c->cancel, 0);
    conf_expect_rows(c, DB "/qt", 3);
}
END_TEST

/* A million rows stream through with the process's memory flat. */
START_TEST(t_query_million_rows_flat)
{
    source_conn *c = conf_conn();
    conf_counter k;
    dsrc_row_sink sink = conf_counter_sink(&k, c, 0, 0);
    dsrc_query_req req;
    dsrc_fetch_result res;
    struct rusage before, after;
    derr e = {0};

    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.text = "SELECT id, n, d, f, s, dt FROM big WHERE id > ?";
    req.params = (const char *const[]){"0"};
    req.n_params = 1;
    req.limit = -1;
    getrusage(RUSAGE_SELF, &before);
    ck_assert_msg(source_query(c, &req, &sink, &res, &e) == DSRC_OK, "%s", e.msg ? e.msg : "");
    getrusage(RUSAGE_SELF, &after);
    ck_assert_int_eq(atomic_load(&k.rows), BIG_ROWS);
    ck_assert_uint_eq(res.rows, BIG_ROWS);
    /* the peak grew by less than 32 MiB for some 80 MB of rows */
    ck_assert_msg(after.ru_maxrss - before.ru_maxrss < 32 * 1024, "peak RSS grew by %ld KiB",
                  after.ru_maxrss - before.ru_maxrss);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Cases: the dsrc binary                                                    */

/* Run argv with stdout to `out` (NULL: /dev/null) and stderr to `err_path`;
 * returns the exit status and the process's peak RSS in KiB. */
static int my_run(char *const argv[], const char *out, const char *err_path, long *maxrss_kb)
{
    posix_spawn_file_actions_t fa;
    struct rusage ru;
    pid_t pid;
    int status = -1;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    memset(&ru, 0, sizeof ru);
    ck_assert_int_eq(wait4(pid, &status, 0, &ru), pid);
    if (maxrss_kb)
        *maxrss_kb = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *my_slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf;
    long n;
    if (!fp)
        return strdup("");
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n)
        buf[0] = '\0';
    fclose(fp);
    return buf;
}

/* The comparison loops below run over millions of values: they test with
 * plain conditions and call ck_abort_msg() only on a difference (every
 * ck_assert records its position, which costs a write each time). */

/* One CSV record (RFC 4180) from fp into fields; returns the field count,
 * 0 at the end.  quoted[i] tells a quoted field ("" = empty string) from
 * an unquoted empty one (NULL). */
typedef struct my_rec {
    char *buf;
    size_t cap;
    size_t off[16], len[16];
    int quoted[16];
} my_rec;

static void my_rec_put(my_rec *rec, size_t *n, int c)
{
    if (*n + 1 >= rec->cap) {
        rec->cap = rec->cap ? rec->cap * 2 : 256;
        rec->buf = realloc(rec->buf, rec->cap);
        if (!rec->buf)
            ck_abort_msg("out of memory");
    }
    rec->buf[(*n)++] = (char)c;
}

static int my_csv_next(FILE *fp, my_rec *rec)
{
    size_t n = 0;
    int nf = 0, ch, inq = 0, was_q = 0;

    ch = getc_unlocked(fp);
    if (ch == EOF)
        return 0;
    rec->off[0] = 0;
    for (;; ch = getc_unlocked(fp)) {
        if (inq) {
            if (ch == EOF)
                ck_abort_msg("CSV ends inside quotes");
            if (ch == '"') {
                int nx = getc_unlocked(fp);
                if (nx == '"') {
                    my_rec_put(rec, &n, '"');
                    continue;
                }
                inq = 0;
                ch = nx;
            } else {
                my_rec_put(rec, &n, ch);
                continue;
            }
        }
        if (ch == '"' && n == rec->off[nf]) {
            inq = 1;
            was_q = 1;
            continue;
        }
        if (ch == ',' || ch == '\r' || ch == '\n' || ch == EOF) {
            if (nf >= 16)
                ck_abort_msg("CSV record with more than 16 fields");
            rec->len[nf] = n - rec->off[nf];
            rec->quoted[nf] = was_q;
            my_rec_put(rec, &n, '\0');
            nf++;
            was_q = 0;
            if (ch == ',') {
                rec->off[nf] = n;
                continue;
            }
            if (ch == '\r')
                ch = getc_unlocked(fp);
            if (ch != '\n' && ch != EOF)
                ck_abort_msg("CSV record not ended by CRLF");
            return nf;
        }
        my_rec_put(rec, &n, ch);
    }
}

/* One TSV line of `mariadb --batch --raw` into fields (NUL-terminated in
 * place); returns the field count, 0 at the end. */
static int my_tsv_next(FILE *fp, char **line, size_t *cap, char *fields[16])
{
    ssize_t n = getline(line, cap, fp);
    int nf = 0;
    char *p;

    if (n <= 0)
        return 0;
    if ((*line)[n - 1] == '\n')
        (*line)[--n] = '\0';
    p = *line;
    fields[nf++] = p;
    while ((p = strchr(p, '\t')) != NULL) {
        *p++ = '\0';
        if (nf >= 16)
            ck_abort_msg("TSV line with more than 16 fields");
        fields[nf++] = p;
    }
    return nf;
}

/* Compare dsrc's CSV of big (id, n, d, f, s, dt) with mariadb's TSV of the
 * same SELECT, after normalising both: NULL is an unquoted empty CSV field
 * and "NULL" in the TSV; DATETIME has 'T' in the CSV and ' ' in the TSV;
 * DOUBLE compares as the value both texts read back as. */
static uint64_t my_compare_big(const char *csv_path, const char *tsv_path)
{
    FILE *a = fopen(csv_path, "r"), *b = fopen(tsv_path, "r");
    my_rec rec;
    char *line = NULL, *tf[16];
    size_t cap = 0;
    uint64_t rows = 0;
    int na, nb, i;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    memset(&rec, 0, sizeof rec);
    na = my_csv_next(a, &rec); /* the header */
    ck_assert_int_eq(na, 6);
    ck_assert_str_eq(rec.buf + rec.off[0], "id");
    ck_assert_str_eq(rec.buf + rec.off[5], "dt");
    for (;;) {
        na = my_csv_next(a, &rec);
        nb = my_tsv_next(b, &line, &cap, tf);
        if (!na || !nb) {
            if (na != nb)
                ck_abort_msg("row %" PRIu64 ": one output ends first", rows + 1);
            break;
        }
        rows++;
        if (na != 6 || nb != 6)
            ck_abort_msg("row %" PRIu64 ": %d CSV fields, %d TSV fields", rows, na, nb);
        for (i = 0; i < 6; i++) {
            const char *x = rec.buf + rec.off[i], *y = tf[i];
            int csv_null = rec.len[i] == 0 && !rec.quoted[i];
            int tsv_null = strcmp(y, "NULL") == 0;
            if (csv_null || tsv_null) {
                if (!csv_null || !tsv_null)
                    ck_abort_msg("row %" PRIu64 " col %d: '%s' vs '%s' (NULL differs)", rows,
                                 i, x, y);
                continue;
            }
            if (i == 3) {
                if (strtod(x, NULL) != strtod(y, NULL))
                    ck_abort_msg("row %" PRIu64 " f: %s vs %s", rows, x, y);
            } else if (i == 5) {
                char t[64];
                snprintf(t, sizeof t, "%s", x);
                if (strlen(t) > 10 && t[10] == 'T')
                    t[10] = ' ';
                if (strcmp(t, y) != 0)
                    ck_abort_msg("row %" PRIu64 " dt: %s vs %s", rows, x, y);
            } else if (strcmp(x, y) != 0) {
                ck_abort_msg("row %" PRIu64 " col %d: '%s' vs '%s'", rows, i, x, y);
            }
        }
    }
    free(rec.buf);
    free(line);
    fclose(a);
    fclose(b);
    return rows;
}

START_TEST(t_big_csv_matches_mariadb)
{
    char dsrc[PATH_MAX + 16], conf[PATH_MAX + 32], csv[PATH_MAX + 32], small[PATH_MAX + 32];
    char tsv[PATH_MAX + 32], err[PATH_MAX + 32], defaults[PATH_MAX + 32];
    char stdout_csv[PATH_MAX + 32];
    long rss_small = 0, rss_big = 0, rss_cli = 0;
    int rc;
    char *errtext;
    uint64_t rows;
    struct stat sb;

    snprintf(dsrc, sizeof dsrc, "%s/dsrc", my_top_builddir);
    snprintf(conf, sizeof conf, "%s/dsrcd.conf", conf_tmpdir());
    snprintf(csv, sizeof csv, "%s/big.csv", conf_tmpdir());
    snprintf(small, sizeof small, "%s/small.csv", conf_tmpdir());
    snprintf(tsv, sizeof tsv, "%s/big.tsv", conf_tmpdir());
    snprintf(stdout_csv, sizeof stdout_csv, "%s/stdout.csv", conf_tmpdir());
    snprintf(err, sizeof err, "%s/big.err", conf_tmpdir());
    snprintf(defaults, sizeof defaults, "--defaults-file=%s", my_env.primary_cnf);

    {
        char *const argv[] = {dsrc, "-c", conf, "fetch", "conf", DB "/big", "--limit", "1000",
                              "-o", small, "-q", NULL};
        rc = my_run(argv, NULL, err, &rss_small);
        errtext = my_slurp(err);
        ck_assert_msg(rc == 0, "dsrc fetch --limit 1000 exited %d: %s", rc, errtext);
        free(errtext);
    }
    {
        char *const argv[] = {dsrc, "-c", conf, "fetch", "conf", DB "/big", "-o", csv, "-q",
                              NULL};
        rc = my_run(argv, NULL, err, &rss_big);
        errtext = my_slurp(err);
        ck_assert_msg(rc == 0, "dsrc fetch exited %d: %s", rc, errtext);
        ck_assert_msg(!strstr(errtext, "pw 'with") && !strstr(errtext, "quotes\\and"),
                      "stderr shows the password: %s", errtext);
        free(errtext);
    }
    {
        char *const argv[] = {"/usr/bin/mariadb", defaults, "--batch", "--raw",
                              "--skip-column-names", "-e",
                              "SELECT id, n, d, f, s, dt FROM " DB ".big", NULL};
        rc = my_run(argv, tsv, err, &rss_cli);
        errtext = my_slurp(err);
        ck_assert_msg(rc == 0, "mariadb exited %d: %s", rc, errtext);
        free(errtext);
    }
    {
        /* standard output redirected to a file: staged, hashed and written
         * by the writer thread; the same bytes */
        char *const argv[] = {dsrc, "-c", conf, "fetch", "conf", DB "/big", "-o", "-", "-q",
                              NULL};
        char *a, *b;
        rc = my_run(argv, stdout_csv, err, NULL);
        errtext = my_slurp(err);
        ck_assert_msg(rc == 0, "dsrc fetch -o - exited %d: %s", rc, errtext);
        free(errtext);
        a = my_slurp(csv);
        b = my_slurp(stdout_csv);
        ck_assert_msg(a && b && a[0] && strcmp(a, b) == 0, "-o - > FILE differs from -o FILE");
        free(a);
        free(b);
        unlink(stdout_csv);
    }
    rows = my_compare_big(csv, tsv);
    ck_assert_uint_eq(rows, BIG_ROWS);
    ck_assert_int_eq(stat(csv, &sb), 0);
    /* Memory stays flat: a million rows (tens of MB of CSV) cost the dsrc
     * process no more than a few MB over a thousand. */
    fprintf(stderr, "test_mysql: 1M rows: %lld bytes of CSV; dsrc peak RSS %ld KiB (1000 rows:"
            " %ld KiB)\n", (long long)sb.st_size, rss_big, rss_small);
    ck_assert_msg(rss_big - rss_small < 16 * 1024 && rss_big - rss_small < sb.st_size / 1024 / 4,
                  "peak RSS grew from %ld KiB (1000 rows) to %ld KiB (1M rows)", rss_small,
                  rss_big);
}
END_TEST

/* Data rows of a CSV file with its first column's values. */
static size_t my_csv_ids(const char *path, char ids[][32], size_t max)
{
    FILE *fp = fopen(path, "r");
    my_rec rec;
    size_t n = 0;

    ck_assert_ptr_nonnull(fp);
    memset(&rec, 0, sizeof rec);
    if (my_csv_next(fp, &rec) > 0) {
        while (my_csv_next(fp, &rec) > 0) {
            if (n < max)
                snprintf(ids[n], 32, "%s", rec.buf + rec.off[0]);
            n++;
        }
    }
    free(rec.buf);
    fclose(fp);
    return n;
}

START_TEST(t_incremental_cli)
{
    char dsrc[PATH_MAX + 16], conf[PATH_MAX + 32], out[PATH_MAX + 32], err[PATH_MAX + 32];
    char ids[16][32];
    char *errtext;
    MYSQL *root;
    int rc, i;
    size_t n;
    char *const argv[] = {dsrc, "-c", conf, "fetch", "conf", DB "/events", "--cursor-field",
                          "id", "--incremental", "-o", out, "-q", NULL};

    snprintf(dsrc, sizeof dsrc, "%s/dsrc", my_top_builddir);
    snprintf(conf, sizeof conf, "%s/dsrcd.conf", conf_tmpdir());
    snprintf(err, sizeof err, "%s/inc.err", conf_tmpdir());
    for (i = 0; i < 3; i++) {
        snprintf(out, sizeof out, "%s/inc%d.csv", conf_tmpdir(), i);
        if (i == 1) {
            root = my_root(0);
            ck_assert_ptr_nonnull(root);
            ck_assert_int_eq(my_exec(root, "INSERT INTO " DB ".events (at, what) VALUES"
                                           " (NOW(6), 'five'), (NOW(6), 'six'),"
                                           " (NOW(6), 'seven')"), 0);
            mysql_close(root);
        }
        rc = my_run(argv, NULL, err, NULL);
        errtext = my_slurp(err);
        ck_assert_msg(rc == 0, "incremental fetch %d exited %d: %s", i, rc, errtext);
        free(errtext);
        n = my_csv_ids(out, ids, 16);
        if (i == 0) {
            ck_assert_uint_eq(n, 4);
            ck_assert_str_eq(ids[0], "1");
            ck_assert_str_eq(ids[3], "4");
        } else if (i == 1) {
            /* Exactly the new rows. */
            ck_assert_uint_eq(n, 3);
            ck_assert_str_eq(ids[0], "5");
            ck_assert_str_eq(ids[1], "6");
            ck_assert_str_eq(ids[2], "7");
        } else {
            ck_assert_uint_eq(n, 0);
        }
    }
}
END_TEST

/* ------------------------------------------------------------------------ */

static const char *const my_columns[] = {"id", "col with spaces", "amount", "data", "note",
                                         "updated_at", "price", "doc", "flags"};
static const dsrc_type my_types[] = {DSRC_T_INT64, DSRC_T_TEXT, DSRC_T_DOUBLE,
                                     DSRC_T_BYTES, DSRC_T_TEXT, DSRC_T_TIMESTAMP,
                                     DSRC_T_TEXT, DSRC_T_JSON, DSRC_T_INT64};
static const conf_value my_values[] = {
    {"1", "col with spaces", DSRC_T_TEXT, "plain"},
    {"1", "amount", DSRC_T_DOUBLE, "1.5"},
    {"1", "data", DSRC_T_BYTES, "00ff10"},
    {"1", "note", DSRC_T_TEXT, "say \"hi\""},
    {"1", "updated_at", DSRC_T_TIMESTAMP, "2024-01-01T10:00:00"},
    {"1", "price", DSRC_T_TEXT, "12.50"},
    {"1", "doc", DSRC_T_JSON, "{\"a\": 1}"},
    {"1", "flags", DSRC_T_INT64, "10"},
    {"2", "col with spaces", DSRC_T_NULL, NULL},
    {"2", "note", DSRC_T_TEXT, "line1\nline2"},
    {"2", "data", DSRC_T_NULL, NULL},
    {"2", "price", DSRC_T_TEXT, "-0.01"},
    {"2", "doc", DSRC_T_NULL, NULL},
    {"2", "flags", DSRC_T_INT64, "0"},
    {"3", "col with spaces", DSRC_T_TEXT, "it's"},
    {"3", "amount", DSRC_T_NULL, NULL},
    {"3", "data", DSRC_T_BYTES, ""},
    {"3", "note", DSRC_T_TEXT, ""},
    {"3", "updated_at", DSRC_T_NULL, NULL},
    {"3", "doc", DSRC_T_JSON, "[]"},
    {"3", "flags", DSRC_T_NULL, NULL},
    {"4", "amount", DSRC_T_DOUBLE, "-4"},
    {"4", "note", DSRC_T_NULL, NULL},
    {"4", "price", DSRC_T_TEXT, "1234567890.12"},
    {"5", "amount", DSRC_T_DOUBLE, "50000000000"},
    {"5", "note", DSRC_T_TEXT, "a,b;c\r\n\t\\ \xc3\xa9 \xf0\x9f\x98\x80"},
    {"5", "flags", DSRC_T_INT64, "1"},
};

/* Names with '/', '%', quotes and backquotes, as list and discover print
 * them. */
static const char *const my_odd_items[] = {"peer%2Fslash", "peer%2Fslash/t%251 \"q\"",
                                           DB "/with%2Fslash", DB "/" TABLE,
                                           WEIRD_DB "/t`1 \"q\"", NULL};
/* A view that sleeps. */
static const char *const my_skip_items[] = {DB "/slow_view", NULL};

int main(void)
{
    static conf_fixture fx;
    const char *top = getenv("top_builddir");
    TCase *tc;
    int rc;

    snprintf(my_top_builddir, sizeof my_top_builddir, "%s", top && *top ? top : ".");
    if (mysql_library_init(0, NULL, NULL) != 0) {
        fprintf(stderr, "test_mysql: cannot initialise libmariadb\n");
        return 1;
    }
    memset(&fx, 0, sizeof fx);
    fx.plugin = "mysql";
    snprintf(fx.plugin_dir, sizeof fx.plugin_dir, "%s/plugins/mysql/.libs", my_top_builddir);
    fx.setup = my_setup;
    fx.teardown = my_teardown;
    fx.table = DB "/" TABLE;
    fx.table_name = TABLE;
    fx.table_parent = DB;
    fx.table_kind = DSRC_ITEM_TABLE;
    fx.columns = my_columns;
    fx.column_types = my_types;
    fx.n_columns = sizeof my_columns / sizeof my_columns[0];
    fx.pk_column = "id";
    fx.rows = 5;
    fx.values = my_values;
    fx.n_values = sizeof my_values / sizeof my_values[0];
    fx.cursor_field = "id";
    fx.cursor_value = "2";
    fx.cursor_rows = 3;
    fx.cursor_max = "5";
    fx.ties_item = DB "/ties";
    fx.ties_key = "id";
    fx.ties_cursor = "ts";
    fx.missing_item = DB "/no_such_table";
    /* InnoDB's row counts are estimates. */
    fx.quirks = CONF_QUIRK_ROWS_ESTIMATED;
    fx.odd_items = my_odd_items;
    fx.skip_items = my_skip_items;
    fx.golden = CONF_GOLDEN_MYSQL;
    fx.golden_item = DB "/" CONF_GOLDEN_TABLE;
    fx.fk_parent_item = DB "/" CONF_FK_PARENT;
    fx.fk_child_item = DB "/" CONF_FK_CHILD;

    tc = tcase_create("mysql");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_ping_primary);
    tcase_add_test(tc, t_replica_endpoint);
    tcase_add_test(tc, t_replica_role_without_privilege);
    tcase_add_test(tc, t_tls);
    tcase_add_test(tc, t_tls_failure_not_retryable);
    tcase_add_test(tc, t_tls_host_name);
    tcase_add_test(tc, t_cloud_never_plain);
    tcase_add_test(tc, t_socket);
    tcase_add_test(tc, t_wrong_password);
    tcase_add_test(tc, t_no_password_in_plugin_message);
    tcase_add_test(tc, t_unreachable);
    tcase_add_test(tc, t_permission);
    tcase_add_test(tc, t_not_found_codes);
    tcase_add_test(tc, t_read_timeout);
    tcase_add_test(tc, t_list);
    tcase_add_test(tc, t_describe_details);
    tcase_add_test(tc, t_discover_catalog);
    tcase_add_test(tc, t_discover_filtered);
    tcase_add_test(tc, t_discover_second_connection);
    tcase_add_test(tc, t_discover_modes);
    tcase_add_test(tc, t_cell_types);
    tcase_add_test(tc, t_int_edges);
    tcase_add_test(tc, t_timestamp_utc);
    tcase_add_test(tc, t_hostile_identifiers);
    tcase_add_test(tc, t_string_cursor_escaping);
    tcase_add_test(tc, t_paths);
    tcase_add_test(tc, t_temporal_cursor);
    tcase_add_test(tc, t_cancel_kill_query);
    tcase_add_test(tc, t_cancel_flag_while_streaming);
    tcase_add_test(tc, t_sink_stops_big_result);
    tcase_add_test(tc, t_big_csv_matches_mariadb);
    tcase_add_test(tc, t_incremental_cli);
    tcase_add_test(tc, t_query_injection);
    tcase_add_test(tc, t_query_writes_refused);
    tcase_add_test(tc, t_query_leaves_nothing);
    tcase_add_test(tc, t_query_types_as_fetch);
    tcase_add_test(tc, t_query_limit);
    tcase_add_test(tc, t_query_timeout);
    tcase_add_test(tc, t_query_cancel);
    tcase_add_test(tc, t_query_million_rows_flat);

    rc = conf_main(&fx, tc);
    mysql_library_end();
    return rc;
}
