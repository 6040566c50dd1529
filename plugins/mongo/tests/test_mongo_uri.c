/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mongo_uri.c -- the options of mongo.so as the driver sees them:
 * mg_settings_build() (plugins/mongo/mg_uri.c, compiled in) turns open
 * params into a mongoc_uri_t, and every value is read back through the
 * driver's own getters.  Hostile user names and passwords must arrive
 * byte for byte; a `uri` option goes through the driver's parser.
 */
#include <config.h>

#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mg.h"

static dsrc_open_params mt_params(const dsrc_kv *kv, size_t n)
{
    dsrc_open_params p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.source = "t";
    p.options = kv;
    p.n_options = n;
    return p;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void mt_build_ok(const dsrc_open_params *p, mg_settings *s)
{
    dsrc_error err;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    ck_assert_msg(mg_settings_build(p, s, &err) == DSRC_OK, "build: %s",
                  err.message ? err.message : "");
    if (err.release)
        err.release(&err);
}

static dsrc_status mt_build_fail(const dsrc_open_params *p, char *msg, size_t msgsz)
{
    dsrc_error err;
    mg_settings s;
    dsrc_status st;
    memset(&err, 0, sizeof err);
    err.struct_size = sizeof err;
    st = mg_settings_build(p, &s, &err);
    ck_assert_int_ne(st, DSRC_OK);
    snprintf(msg, msgsz, "%s", err.message ? err.message : "");
    if (err.release)
        err.release(&err);
    return st;
}

START_TEST(t_every_option)
{
    static const dsrc_kv kv[] = {
        {"host", "db1.example.net"}, {"port", "27018"}, {"database", "shop"},
        {"user", "ann"}, {"password", "pw"}, {"auth_source", "admin"},
        {"auth_mechanism", "SCRAM-SHA-256"}, {"app_name", "nightly"},
        {"server_selection_timeout", "2500"}, {"connect_timeout", "1500"},
        {"socket_timeout", "60000"}, {"output", "document"}, {"json", "canonical"},
        {"sample_size", "50"}, {"batch_size", "10"},
    };
    dsrc_open_params p = mt_params(kv, N(kv));
    mg_settings s;
    const mongoc_host_list_t *h;

    mt_build_ok(&p, &s);
    h = mongoc_uri_get_hosts(s.uri);
    ck_assert_str_eq(h->host, "db1.example.net");
    ck_assert_int_eq(h->port, 27018);
    ck_assert_ptr_null(h->next);
    ck_assert_str_eq(mongoc_uri_get_database(s.uri), "shop");
    ck_assert_str_eq(mongoc_uri_get_username(s.uri), "ann");
    ck_assert_str_eq(mongoc_uri_get_password(s.uri), "pw");
    ck_assert_str_eq(mongoc_uri_get_auth_source(s.uri), "admin");
    ck_assert_str_eq(mongoc_uri_get_auth_mechanism(s.uri), "SCRAM-SHA-256");
    ck_assert_str_eq(mongoc_uri_get_appname(s.uri), "nightly");
    ck_assert_int_eq(mongoc_uri_get_option_as_int32(s.uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0),
                     2500);
    ck_assert_int_eq(mongoc_uri_get_option_as_int32(s.uri, MONGOC_URI_CONNECTTIMEOUTMS, 0), 1500);
    ck_assert_int_eq(mongoc_uri_get_option_as_int32(s.uri, MONGOC_URI_SOCKETTIMEOUTMS, 0), 60000);
    ck_assert(!mongoc_uri_get_tls(s.uri));
    ck_assert_str_eq(s.database, "shop");
    ck_assert_int_eq(s.output_document, 1);
    ck_assert_int_eq(s.canonical, 1);
    ck_assert_int_eq(s.sample_size, 50);
    ck_assert_int_eq(s.batch_size, 10);
    ck_assert_int_eq(mongoc_read_prefs_get_mode(s.discovery_prefs), MONGOC_READ_PRIMARY_PREFERRED);
    ck_assert_int_eq(mongoc_read_prefs_get_mode(s.fetch_prefs), MONGOC_READ_PRIMARY);
    mg_settings_free(&s);
}
END_TEST

START_TEST(t_defaults)
{
    static const dsrc_kv kv[] = {{"host", "localhost"}};
    dsrc_open_params p = mt_params(kv, N(kv));
    mg_settings s;

    mt_build_ok(&p, &s);
    ck_assert_int_eq(mongoc_uri_get_hosts(s.uri)->port, 27017);
    ck_assert_str_eq(mongoc_uri_get_appname(s.uri), "dsrc");
    ck_assert_ptr_null(mongoc_uri_get_username(s.uri));
    ck_assert_ptr_null(s.database);
    ck_assert_int_eq(s.output_document, 0);
    ck_assert_int_eq(s.canonical, 0);
    mg_settings_free(&s);
}
END_TEST

/* Names and passwords full of URI delimiters arrive unchanged: they are
 * set on the URI, never pasted into its text. */
START_TEST(t_hostile_credentials)
{
    static const char *const hostile[] = {
        "a@b", "x:y", "p/q", "100%", "%40%3A", "@:/%?#[]", "user@evil.com:27017/admin",
        "ümlaut ☃", "sp ace", "a,b=c",
    };
    size_t i;
    for (i = 0; i < N(hostile); i++) {
        dsrc_kv kv[] = {{"host", "h"}, {"user", hostile[i]}, {"password", hostile[N(hostile) - 1 - i]}};
        dsrc_open_params p = mt_params(kv, N(kv));
        mg_settings s;
        const mongoc_host_list_t *h;
        mt_build_ok(&p, &s);
        ck_assert_str_eq(mongoc_uri_get_username(s.uri), hostile[i]);
        ck_assert_str_eq(mongoc_uri_get_password(s.uri), hostile[N(hostile) - 1 - i]);
        h = mongoc_uri_get_hosts(s.uri);
        ck_assert_str_eq(h->host, "h");
        ck_assert_ptr_null(h->next);
        mg_settings_free(&s);
    }
}
END_TEST

/* A `uri` option is the driver's to parse: percent-encoded credentials
 * come out decoded; options set here still apply on top. */
START_TEST(t_uri_option)
{
    static const dsrc_kv kv[] = {
        {"uri", "mongodb://a%40b%3Ac:p%2F%25w%3A@m1:1,m2:2/shop?replicaSet=rs9&authSource=x"},
        {"app_name", "over"}, {"server_selection_timeout", "100"},
    };
    dsrc_open_params p = mt_params(kv, N(kv));
    mg_settings s;
    const mongoc_host_list_t *h;
    char *hosts;

    mt_build_ok(&p, &s);
    ck_assert_str_eq(mongoc_uri_get_username(s.uri), "a@b:c");
    ck_assert_str_eq(mongoc_uri_get_password(s.uri), "p/%w:");
    ck_assert_str_eq(mongoc_uri_get_auth_source(s.uri), "x");
    ck_assert_str_eq(mongoc_uri_get_replica_set(s.uri), "rs9");
    ck_assert_str_eq(mongoc_uri_get_appname(s.uri), "over");
    ck_assert_int_eq(mongoc_uri_get_option_as_int32(s.uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0),
                     100);
    h = mongoc_uri_get_hosts(s.uri);
    ck_assert_str_eq(h->host_and_port, "m1:1");
    ck_assert_str_eq(h->next->host_and_port, "m2:2");
    ck_assert_str_eq(s.database, "shop");
    hosts = mg_uri_hosts(s.uri);
    ck_assert_str_eq(hosts, "m1:1,m2:2");
    bson_free(hosts);
    mg_settings_free(&s);
}
END_TEST

START_TEST(t_uri_errors)
{
    char msg[512];
    static const dsrc_kv bad[] = {{"uri", "mongodb://u:s3cret@"}};
    static const dsrc_kv both[] = {{"uri", "mongodb://h/"}, {"host", "h"}};
    static const dsrc_kv none[] = {{"port", "1"}};
    static const dsrc_kv nouser[] = {{"host", "h"}, {"password", "s3cret"}};
    static const dsrc_kv badport[] = {{"host", "h"}, {"port", "70000"}};
    static const dsrc_kv badseed[] = {{"host", "h"}, {"seeds", "a@b:1"}};
    static const dsrc_kv badseed2[] = {{"host", "h"}, {"seeds", "a/b"}};
    static const dsrc_kv badhost[] = {{"host", "h@x"}, {"seeds", "a:1"}};
    dsrc_open_params p;

    p = mt_params(bad, N(bad));
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(strstr(msg, "s3cret") == NULL, "leaked: %s", msg);
    p = mt_params(both, N(both));
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(strstr(msg, "'host'") != NULL, "%s", msg);
    p = mt_params(none, N(none));
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    p = mt_params(nouser, N(nouser));
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(strstr(msg, "s3cret") == NULL, "leaked: %s", msg);
    p = mt_params(badport, N(badport));
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    p = mt_params(badseed, N(badseed));
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    p = mt_params(badseed2, N(badseed2));
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    p = mt_params(badhost, N(badhost));
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
}
END_TEST

START_TEST(t_replicas)
{
    static const dsrc_kv kv[] = {{"host", "m1"}, {"port", "27017"},
                                 {"seeds", "m2:27018, [::1]:27019,m3"}};
    static const struct {
        const char *policy;
        mongoc_read_mode_t mode;
    } map[] = {
        {"primary", MONGOC_READ_PRIMARY},
        {"primary_preferred", MONGOC_READ_PRIMARY_PREFERRED},
        {"replica", MONGOC_READ_SECONDARY},
        {"replica_preferred", MONGOC_READ_SECONDARY_PREFERRED},
        {"nearest", MONGOC_READ_NEAREST},
    };
    size_t i;
    char msg[256];
    for (i = 0; i < N(map); i++) {
        dsrc_open_params p = mt_params(kv, N(kv));
        mg_settings s;
        char *hosts;
        p.replica_set = "rs0";
        p.read_policy = map[i].policy;
        mt_build_ok(&p, &s);
        ck_assert_str_eq(mongoc_uri_get_replica_set(s.uri), "rs0");
        hosts = mg_uri_hosts(s.uri);
        ck_assert_str_eq(hosts, "m1:27017,m2:27018,[::1]:27019,m3:27017");
        bson_free(hosts);
        ck_assert_int_eq(mongoc_read_prefs_get_mode(s.fetch_prefs), map[i].mode);
        ck_assert_int_eq(mongoc_read_prefs_get_mode(s.discovery_prefs),
                         MONGOC_READ_PRIMARY_PREFERRED);
        mg_settings_free(&s);
    }
    {
        dsrc_open_params p = mt_params(kv, N(kv));
        p.read_policy = "fastest";
        ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    }
}
END_TEST

/* Count `uri`'s hosts and check that "host:port" is one of them. */
static int mt_has_host(const mongoc_uri_t *uri, const char *host_and_port, size_t *n)
{
    const mongoc_host_list_t *h;
    int found = 0;
    *n = 0;
    for (h = mongoc_uri_get_hosts(uri); h; h = h->next) {
        (*n)++;
        if (strcmp(h->host_and_port, host_and_port) == 0)
            found = 1;
    }
    return found;
}

/* replicas = { hosts = ["m2:27018", "[::1]:27019", "m3"]; replica_set =
 * "rs0"; } with no `seeds`: every member is in the one URI, with
 * replicaSet, whichever endpoint is opened. */
START_TEST(t_replica_hosts)
{
    static const dsrc_kv primary[] = {{"host", "m1"}, {"port", "27017"}};
    static const dsrc_kv replica1[] = {{"host", "m2"}, {"port", "27018"}};
    static const char *const members[] = {"m2:27018", "[::1]:27019", "m3"};
    static const char *const want[] = {"m1:27017", "m2:27018", "[::1]:27019", "m3:27017"};
    dsrc_open_params p = mt_params(primary, N(primary));
    mg_settings s;
    const mongoc_host_list_t *h;
    size_t i, n;
    char *hosts, msg[256];

    p.replica_hosts = members;
    p.n_replica_hosts = N(members);
    p.replica_set = "rs0";
    p.read_policy = "replica";
    mt_build_ok(&p, &s);
    ck_assert_str_eq(mongoc_uri_get_replica_set(s.uri), "rs0");
    for (i = 0, h = mongoc_uri_get_hosts(s.uri); h; h = h->next, i++) {
        ck_assert_uint_lt(i, N(want));
        ck_assert_str_eq(h->host_and_port, want[i]);
    }
    ck_assert_uint_eq(i, N(want));
    hosts = mg_uri_hosts(s.uri);
    ck_assert_str_eq(hosts, "m1:27017,m2:27018,[::1]:27019,m3:27017");
    bson_free(hosts);
    ck_assert_int_eq(mongoc_read_prefs_get_mode(s.fetch_prefs), MONGOC_READ_SECONDARY);
    mg_settings_free(&s);

    /* Endpoint 1: the host has put the replica's host and port in place of
     * the primary's; the driver still gets the whole set. */
    p = mt_params(replica1, N(replica1));
    p.endpoint = 1;
    p.replica_hosts = members;
    p.n_replica_hosts = N(members);
    p.replica_set = "rs0";
    mt_build_ok(&p, &s);
    ck_assert_str_eq(mongoc_uri_get_replica_set(s.uri), "rs0");
    for (i = 1; i < N(want); i++)
        ck_assert_msg(mt_has_host(s.uri, want[i], &n), "%s missing", want[i]);
    ck_assert_str_eq(mongoc_uri_get_hosts(s.uri)->host_and_port, "m2:27018");
    ck_assert_uint_eq(n, N(want) - 1);
    mg_settings_free(&s);

    /* `seeds` wins over replicas.hosts. */
    {
        static const dsrc_kv seeded[] = {{"host", "m1"}, {"seeds", "s9:1"}};
        p = mt_params(seeded, N(seeded));
        p.replica_hosts = members;
        p.n_replica_hosts = N(members);
        mt_build_ok(&p, &s);
        hosts = mg_uri_hosts(s.uri);
        ck_assert_str_eq(hosts, "m1:27017,s9:1");
        bson_free(hosts);
        mg_settings_free(&s);
    }

    /* A direct connection talks to its own host only. */
    {
        static const dsrc_kv direct[] = {{"host", "m1"}, {"direct_connection", "true"}};
        p = mt_params(direct, N(direct));
        p.replica_hosts = members;
        p.n_replica_hosts = N(members);
        mt_build_ok(&p, &s);
        hosts = mg_uri_hosts(s.uri);
        ck_assert_str_eq(hosts, "m1:27017");
        bson_free(hosts);
        mg_settings_free(&s);
    }

    /* A params struct from before the members were appended: not read. */
    p = mt_params(primary, N(primary));
    p.replica_hosts = members;
    p.n_replica_hosts = N(members);
    p.struct_size = (uint32_t)offsetof(dsrc_open_params, replica_hosts);
    mt_build_ok(&p, &s);
    hosts = mg_uri_hosts(s.uri);
    ck_assert_str_eq(hosts, "m1:27017");
    bson_free(hosts);
    mg_settings_free(&s);

    /* Entries are checked like seeds. */
    {
        static const char *const bad[] = {"m2:27018", "evil@host:1/admin?x=y"};
        static const char *const badport[] = {"m2:99999"};
        p = mt_params(primary, N(primary));
        p.replica_hosts = bad;
        p.n_replica_hosts = N(bad);
        ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
        ck_assert_msg(strstr(msg, "replicas.hosts") != NULL, "%s", msg);
        p.replica_hosts = badport;
        p.n_replica_hosts = N(badport);
        ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
        ck_assert_msg(strstr(msg, "m2:99999") != NULL, "%s", msg);
    }
}
END_TEST

START_TEST(t_tls)
{
    static const dsrc_kv kv[] = {{"host", "h"}};
    dsrc_open_params p = mt_params(kv, N(kv));
    mg_settings s;
    char msg[256];

    /* verify-full: TLS with the CA, names checked. */
    p.tls_mode = "verify-full";
    p.tls_ca = "/etc/ssl/ca.pem";
    p.tls_cert = p.tls_key = "/etc/ssl/client.pem";
    p.tls_key_passphrase = "kp";
    mt_build_ok(&p, &s);
    ck_assert(mongoc_uri_get_tls(s.uri));
    ck_assert_str_eq(mongoc_uri_get_option_as_utf8(s.uri, MONGOC_URI_TLSCAFILE, ""),
                     "/etc/ssl/ca.pem");
    ck_assert_str_eq(mongoc_uri_get_option_as_utf8(s.uri, MONGOC_URI_TLSCERTIFICATEKEYFILE, ""),
                     "/etc/ssl/client.pem");
    ck_assert_str_eq(
        mongoc_uri_get_option_as_utf8(s.uri, MONGOC_URI_TLSCERTIFICATEKEYFILEPASSWORD, ""), "kp");
    ck_assert(!mongoc_uri_get_option_as_bool(s.uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, false));
    ck_assert(!mongoc_uri_get_option_as_bool(s.uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, false));
    mg_settings_free(&s);

    /* verify-ca: the chain, not the name. */
    p.tls_mode = "verify-ca";
    mt_build_ok(&p, &s);
    ck_assert(mongoc_uri_get_option_as_bool(s.uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, false));
    ck_assert(!mongoc_uri_get_option_as_bool(s.uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, false));
    mg_settings_free(&s);

    /* require: encrypted only. */
    p.tls_mode = "require";
    mt_build_ok(&p, &s);
    ck_assert(mongoc_uri_get_tls(s.uri));
    ck_assert(mongoc_uri_get_option_as_bool(s.uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, false));
    mg_settings_free(&s);

    /* Separate cert and key files cannot be given to the driver. */
    p.tls_mode = "verify-full";
    p.tls_key = "/etc/ssl/other.key";
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);

    /* Cloud and hybrid: TLS even without a tls group, never disabled. */
    p = mt_params(kv, N(kv));
    p.location = DSRC_LOC_CLOUD;
    mt_build_ok(&p, &s);
    ck_assert(mongoc_uri_get_tls(s.uri));
    ck_assert(!mongoc_uri_get_option_as_bool(s.uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, false));
    mg_settings_free(&s);
    p.location = DSRC_LOC_HYBRID;
    p.tls_mode = "disable";
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(strstr(msg, "hybrid") != NULL, "%s", msg);
    p.location = DSRC_LOC_ON_PREM;
    mt_build_ok(&p, &s);
    ck_assert(!mongoc_uri_get_tls(s.uri));
    mg_settings_free(&s);
}
END_TEST

/* prefer (an on-premises source without a tls group) leaves the uri's own
 * tls setting; a cloud source refuses it; an unknown mode is named. */
START_TEST(t_tls_prefer)
{
    static const dsrc_kv with_tls[] = {{"uri", "mongodb://h:27017/?tls=true"}};
    static const dsrc_kv plain[] = {{"uri", "mongodb://h:27017/"}};
    dsrc_open_params p = mt_params(with_tls, N(with_tls));
    mg_settings s;
    char msg[256];

    p.tls_mode = "prefer";
    mt_build_ok(&p, &s);
    ck_assert(mongoc_uri_get_tls(s.uri));
    ck_assert(!mongoc_uri_get_option_as_bool(s.uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, false));
    mg_settings_free(&s);
    p = mt_params(plain, N(plain));
    p.tls_mode = "prefer";
    mt_build_ok(&p, &s);
    ck_assert(!mongoc_uri_get_tls(s.uri));
    mg_settings_free(&s);
    p.tls_mode = "disable"; /* disable overrides the uri */
    p.options = with_tls;
    mt_build_ok(&p, &s);
    ck_assert(!mongoc_uri_get_tls(s.uri));
    mg_settings_free(&s);

    p.location = DSRC_LOC_CLOUD;
    p.tls_mode = "prefer";
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(strstr(msg, "cloud") && strstr(msg, "'prefer'"), "%s", msg);
    p.tls_mode = "verify-full"; /* what the host sends a cloud source */
    mt_build_ok(&p, &s);
    ck_assert(mongoc_uri_get_tls(s.uri));
    ck_assert(!mongoc_uri_get_option_as_bool(s.uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, false));
    mg_settings_free(&s);

    p.location = DSRC_LOC_ON_PREM;
    p.tls_mode = "strict";
    ck_assert_int_eq(mt_build_fail(&p, msg, sizeof msg), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(strstr(msg, "'strict'"), "%s", msg);
}
END_TEST

START_TEST(t_option_table)
{
    const dsrc_option *o;
    int secret_uri = 0, secret_pw = 0;
    for (o = mg_options; o->name; o++) {
        if (strcmp(o->name, "uri") == 0)
            secret_uri = (o->flags & DSRC_OPT_SECRET) != 0;
        if (strcmp(o->name, "password") == 0)
            secret_pw = (o->flags & DSRC_OPT_SECRET) != 0;
        if (strcmp(o->name, "app_name") == 0)
            ck_assert_str_eq(o->default_value, "dsrc");
        ck_assert_ptr_nonnull(o->doc);
    }
    ck_assert(secret_uri && secret_pw);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mongo-uri");
    TCase *tc = tcase_create("uri");
    SRunner *sr;
    int failed;

    mongoc_init();
    tcase_add_test(tc, t_every_option);
    tcase_add_test(tc, t_defaults);
    tcase_add_test(tc, t_hostile_credentials);
    tcase_add_test(tc, t_uri_option);
    tcase_add_test(tc, t_uri_errors);
    tcase_add_test(tc, t_replicas);
    tcase_add_test(tc, t_replica_hosts);
    tcase_add_test(tc, t_tls);
    tcase_add_test(tc, t_tls_prefer);
    tcase_add_test(tc, t_option_table);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    mongoc_cleanup();
    return failed ? 1 : 0;
}
