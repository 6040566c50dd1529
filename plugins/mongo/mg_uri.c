/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg_uri.c -- the option table of mongo.so and the connection settings it
 * becomes: a mongoc_uri_t built with the driver's URI API, TLS from the
 * source's tls group, the replica set and the read preferences.
 *
 * Credentials are only ever handed to mongoc_uri_set_username() and
 * mongoc_uri_set_password(): they are never pasted into a URI string, so
 * '@', ':', '/' and '%' in them need no escaping.  The one string that is
 * parsed is a host list (host, then `seeds` or else the source's
 * replicas.hosts), made only of host names checked here to hold no URI
 * delimiter.
 */
#include "mg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <strings.h>

const dsrc_option mg_options[] = {
    {"uri", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "a full mongodb:// or mongodb+srv:// URI (instead of host/port/user/password)",
     {NULL, NULL}},
    {"host", DSRC_OPT_STRING, 0, NULL, NULL, "server host name or address", {NULL, NULL}},
    {"port", DSRC_OPT_INT, 0, "27017", NULL, "server port", {NULL, NULL}},
    {"seeds", DSRC_OPT_STRING, 0, NULL, NULL,
     "more members of the replica set, \"host:port,host:port\"", {NULL, NULL}},
    {"database", DSRC_OPT_STRING, 0, NULL, NULL,
     "the one database this source exposes (default: every database)", {NULL, NULL}},
    {"user", DSRC_OPT_STRING, 0, NULL, NULL, "user name", {NULL, NULL}},
    {"password", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL, "password", {NULL, NULL}},
    {"auth_source", DSRC_OPT_STRING, 0, NULL, NULL,
     "database holding the user (default: database, else admin)", {NULL, NULL}},
    {"auth_mechanism", DSRC_OPT_ENUM, 0, NULL,
     "SCRAM-SHA-1|SCRAM-SHA-256|MONGODB-X509|PLAIN|GSSAPI|MONGODB-AWS",
     "authentication mechanism (default: negotiated)", {NULL, NULL}},
    {"app_name", DSRC_OPT_STRING, 0, "dsrc", NULL, "application name shown in server logs",
     {NULL, NULL}},
    {"server_selection_timeout", DSRC_OPT_DURATION, 0, "10s", NULL,
     "how long to look for a suitable server", {NULL, NULL}},
    {"connect_timeout", DSRC_OPT_DURATION, 0, "10s", NULL, "TCP/TLS connect time limit",
     {NULL, NULL}},
    {"socket_timeout", DSRC_OPT_DURATION, 0, "5m", NULL,
     "how long to wait for a server reply before giving up", {NULL, NULL}},
    {"direct_connection", DSRC_OPT_BOOL, 0, "false", NULL,
     "talk to the given host only, without replica set discovery", {NULL, NULL}},
    {"output", DSRC_OPT_ENUM, 0, "columns", "columns|document",
     "fetch rows as top-level fields (columns) or one JSON document per row", {NULL, NULL}},
    {"json", DSRC_OPT_ENUM, 0, "relaxed", "relaxed|canonical",
     "Extended JSON flavour of document and nested values", {NULL, NULL}},
    {"sample_size", DSRC_OPT_INT, 0, "1000", NULL,
     "documents sampled per collection to infer its schema", {NULL, NULL}},
    {"batch_size", DSRC_OPT_INT, 0, "1000", NULL, "documents per fetch batch", {NULL, NULL}},
    DSRC_OPTION_END};

/* A non-negative integer option; `dflt` when absent.  -1 when malformed. */
static int64_t opt_int(const dsrc_open_params *p, const char *key, int64_t dflt)
{
    int64_t n;
    return dsrc_opt_int(p, key, dflt, 0, INT64_MAX, &n) == 0 ? n : -1;
}

/* A host name or address as it may appear in a host list: letters, digits,
 * '.', '-', '_', or an IPv6 address in brackets.  No URI delimiter. */
static int host_ok(const char *h, size_t n)
{
    size_t i;
    if (n == 0 || n > 255)
        return 0;
    if (h[0] == '[') {
        if (h[n - 1] != ']')
            return 0;
        for (i = 1; i + 1 < n; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return 0;
        return n > 2;
    }
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_')
            return 0;
    return 1;
}

/* Append "host:port" to `b` (capacity cap) after checking both.  Returns 0
 * or -1. */
static int seed_append(char *b, size_t cap, const char *host, size_t hn, const char *port,
                       size_t pn)
{
    size_t len = strlen(b), i;
    long v = 0;
    if (!host_ok(host, hn) || pn == 0 || pn > 5)
        return -1;
    for (i = 0; i < pn; i++) {
        if (!isdigit((unsigned char)port[i]))
            return -1;
        v = v * 10 + (port[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    if (len + hn + pn + 3 > cap)
        return -1;
    if (len)
        b[len++] = ',';
    memcpy(b + len, host, hn);
    len += hn;
    b[len++] = ':';
    memcpy(b + len, port, pn);
    len += pn;
    b[len] = '\0';
    return 0;
}

/* Parse one "host[:port]" seed into the list; the default port 27017. */
static int seed_add(char *b, size_t cap, const char *s, size_t n)
{
    const char *colon = NULL;
    size_t i;
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return -1;
        if ((size_t)(close - s) + 1 < n) {
            if (close[1] != ':')
                return -1;
            colon = close + 1;
        }
    } else {
        for (i = 0; i < n; i++)
            if (s[i] == ':')
                colon = s + i;
    }
    if (!colon)
        return seed_append(b, cap, s, n, "27017", 5);
    return seed_append(b, cap, s, (size_t)(colon - s), colon + 1, n - (size_t)(colon - s) - 1);
}

/* The replicas.hosts entries the seed list is made of: only when `seeds`
 * is not set, the host hands them over and direct_connection is off (a
 * direct connection talks to its own endpoint's host alone).  Returns
 * their number, 0 when they are not used. */
static size_t replica_seeds(const dsrc_open_params *p, const char *const **hosts)
{
    const char *dc = dsrc_opt(p, "direct_connection");
    *hosts = NULL;
    if (dsrc_opt(p, "seeds") || (dc && strcmp(dc, "true") == 0))
        return 0;
    if (!DSRC_HAS_MEMBER(p, dsrc_open_params, n_replica_hosts) || p->n_replica_hosts == 0 ||
        !p->replica_hosts)
        return 0;
    *hosts = p->replica_hosts;
    return p->n_replica_hosts;
}

/* The URI from host/port (+ seeds, or else the source's replicas.hosts):
 * one host through mongoc_uri_new_for_host_port(), several through a
 * checked host list. */
static mongoc_uri_t *uri_from_hosts(const dsrc_open_params *p, dsrc_error *err)
{
    const char *host = dsrc_opt(p, "host"), *seeds = dsrc_opt(p, "seeds"),
               *port_s = dsrc_opt(p, "port");
    int64_t port = opt_int(p, "port", 27017);
    char list[4096] = "", *text;
    mongoc_uri_t *uri;
    bson_error_t be;
    const char *s;
    const char *const *rhosts;
    size_t n_rhosts = replica_seeds(p, &rhosts), i;

    if (!host) {
        dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                       "set either 'uri' or 'host' in the connection group");
        return NULL;
    }
    if (port < 1 || port > 65535) {
        dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "port %s is not a TCP port",
                       port_s ? port_s : "");
        return NULL;
    }
    if (!seeds && n_rhosts == 0) {
        uri = mongoc_uri_new_for_host_port(host, (uint16_t)port);
        if (!uri)
            dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                           "host '%s' port %d is not a valid MongoDB address", host, (int)port);
        return uri;
    }
    {
        char pbuf[8];
        snprintf(pbuf, sizeof pbuf, "%d", (int)port);
        if (seed_append(list, sizeof list, host, strlen(host), pbuf, strlen(pbuf)) != 0) {
            dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                           "host '%s' is not a valid host name or address", host);
            return NULL;
        }
    }
    for (i = 0; i < n_rhosts; i++) {
        const char *r = rhosts[i] ? rhosts[i] : "";
        size_t n = strlen(r);
        if (seed_add(list, sizeof list, r, n) != 0) {
            dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                           "replicas.hosts: '%.*s' is not host[:port]", (int)(n > 200 ? 200 : n),
                           r);
            return NULL;
        }
    }
    for (s = seeds ? seeds : ""; *s;) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (seed_add(list, sizeof list, s, n) != 0) {
            dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                           "seeds: '%.*s' is not host[:port]", (int)(n > 200 ? 200 : n), s);
            return NULL;
        }
        s = e ? e + 1 : s + n;
    }
    text = bson_strdup_printf("mongodb://%s/", list);
    uri = mongoc_uri_new_with_error(text, &be);
    bson_free(text);
    if (!uri)
        dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "%s: %s",
                       seeds ? "seeds" : "replicas.hosts", be.message);
    return uri;
}

static dsrc_status read_mode(const char *policy, mongoc_read_mode_t *mode, dsrc_error *err)
{
    static const struct {
        const char *name;
        mongoc_read_mode_t mode;
    } map[] = {
        {"primary", MONGOC_READ_PRIMARY},
        {"primary_preferred", MONGOC_READ_PRIMARY_PREFERRED},
        {"replica", MONGOC_READ_SECONDARY},
        {"replica_preferred", MONGOC_READ_SECONDARY_PREFERRED},
        {"nearest", MONGOC_READ_NEAREST},
    };
    size_t i;
    if (!policy) {
        *mode = MONGOC_READ_PRIMARY;
        return DSRC_OK;
    }
    for (i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(policy, map[i].name) == 0) {
            *mode = map[i].mode;
            return DSRC_OK;
        }
    }
    return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                          "replicas.read_policy '%s' is not one of primary, primary_preferred,"
                          " replica, replica_preferred, nearest", policy);
}

/* TLS in the mode the host resolved (a 1.0 host sends none: the host's
 * rule, prefer on premises, verify-full in the cloud).  prefer leaves the
 * `uri`'s own tls setting (the driver has no "TLS when offered"); cloud and
 * hybrid sources always use TLS. */
static dsrc_status apply_tls(const dsrc_open_params *p, mongoc_uri_t *uri, dsrc_error *err)
{
    const char *mode = p->tls_mode;
    int must = p->location == DSRC_LOC_CLOUD || p->location == DSRC_LOC_HYBRID;
    const char *certkey = NULL;

    if (!mode)
        mode = must ? "verify-full" : "prefer";
    if (strcmp(mode, "disable") == 0 || strcmp(mode, "prefer") == 0) {
        if (must)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "a %s source never connects without TLS (tls.mode '%s'):"
                                  " set tls.mode to require, verify-ca or verify-full",
                                  p->location == DSRC_LOC_CLOUD ? "cloud" : "hybrid", mode);
        if (mode[0] == 'd')
            mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, false);
        return DSRC_OK;
    }
    if (strcmp(mode, "require") != 0 && strcmp(mode, "verify-ca") != 0 &&
        strcmp(mode, "verify-full") != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "unknown tls.mode '%s'", mode);
    mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, true);
    if (p->tls_ca)
        mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, p->tls_ca);
    if (p->tls_cert && p->tls_key && strcmp(p->tls_cert, p->tls_key) != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "MongoDB reads the client certificate and its key from one PEM"
                              " file: set tls.cert and tls.key to the same file");
    certkey = p->tls_cert ? p->tls_cert : p->tls_key;
    if (certkey)
        mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCERTIFICATEKEYFILE, certkey);
    if (certkey && DSRC_HAS_MEMBER(p, dsrc_open_params, tls_key_passphrase) &&
        p->tls_key_passphrase)
        mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCERTIFICATEKEYFILEPASSWORD,
                                      p->tls_key_passphrase);
    if (strcmp(mode, "require") == 0) {
        /* Encrypted, neither the certificate nor the name checked. */
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, true);
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, true);
    } else if (strcmp(mode, "verify-ca") == 0) {
        /* The chain is checked, the host name is not. */
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, true);
    }
    return DSRC_OK;
}

static dsrc_status set_ms(mongoc_uri_t *uri, const dsrc_open_params *p, const char *key,
                          const char *uri_opt, int64_t dflt, dsrc_error *err)
{
    int64_t ms = opt_int(p, key, dflt);
    if (ms < 0 || ms > INT32_MAX)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "%s is out of range", key);
    if (!mongoc_uri_set_option_as_int32(uri, uri_opt, (int32_t)ms))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "%s is not accepted", key);
    return DSRC_OK;
}

dsrc_status mg_settings_build(const dsrc_open_params *p, mg_settings *out, dsrc_error *err)
{
    const char *v;
    mongoc_uri_t *uri = NULL;
    mongoc_read_mode_t fetch_mode = MONGOC_READ_PRIMARY;
    dsrc_status st;
    bson_error_t be;

    memset(out, 0, sizeof *out);
    if (!p || !p->options)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "no connection options");

    if ((v = dsrc_opt(p, "uri"))) {
        static const char *const exclusive[] = {"host", "seeds", "user", "password", NULL};
        size_t i;
        for (i = 0; exclusive[i]; i++)
            if (dsrc_opt(p, exclusive[i]))
                return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                      "set either 'uri' or '%s', not both", exclusive[i]);
        uri = mongoc_uri_new_with_error(v, &be);
        if (!uri)
            /* The driver's message may quote the URI: not repeated. */
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'uri' is not a valid MongoDB URI");
    } else {
        uri = uri_from_hosts(p, err);
        if (!uri)
            return err ? err->status : DSRC_E_INVALID_CONFIG;
    }

    st = DSRC_E_INVALID_CONFIG;
    if ((v = dsrc_opt(p, "user")) && !mongoc_uri_set_username(uri, v)) {
        dsrc_error_set(err, st, 0, NULL, "user is not valid UTF-8");
        goto fail;
    }
    if ((v = dsrc_opt(p, "password"))) {
        if (!dsrc_opt(p, "user") && !mongoc_uri_get_username(uri)) {
            dsrc_error_set(err, st, 0, NULL, "password is set but user is not");
            goto fail;
        }
        if (!mongoc_uri_set_password(uri, v)) {
            dsrc_error_set(err, st, 0, NULL, "password is not valid UTF-8");
            goto fail;
        }
    }
    if ((v = dsrc_opt(p, "database")) && !mongoc_uri_set_database(uri, v)) {
        dsrc_error_set(err, st, 0, NULL, "database '%s' is not a valid name", v);
        goto fail;
    }
    if ((v = dsrc_opt(p, "auth_source")) && !mongoc_uri_set_auth_source(uri, v)) {
        dsrc_error_set(err, st, 0, NULL, "auth_source '%s' is not valid", v);
        goto fail;
    }
    if ((v = dsrc_opt(p, "auth_mechanism")) && !mongoc_uri_set_auth_mechanism(uri, v)) {
        dsrc_error_set(err, st, 0, NULL, "auth_mechanism '%s' is not valid", v);
        goto fail;
    }
    v = dsrc_opt(p, "app_name");
    if (!mongoc_uri_set_appname(uri, v ? v : "dsrc")) {
        dsrc_error_set(err, st, 0, NULL, "app_name is longer than the driver accepts");
        goto fail;
    }
    if (set_ms(uri, p, "server_selection_timeout", MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 10000,
               err) != DSRC_OK ||
        set_ms(uri, p, "connect_timeout", MONGOC_URI_CONNECTTIMEOUTMS, 10000, err) != DSRC_OK ||
        set_ms(uri, p, "socket_timeout", MONGOC_URI_SOCKETTIMEOUTMS, 300000, err) != DSRC_OK)
        goto fail;
    if ((v = dsrc_opt(p, "direct_connection")) && strcmp(v, "true") == 0) {
        if (p->replica_set || dsrc_opt(p, "seeds")) {
            dsrc_error_set(err, st, 0, NULL,
                           "direct_connection cannot be used with a replica set or seeds");
            goto fail;
        }
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_DIRECTCONNECTION, true);
    }
    if (p->replica_set && *p->replica_set &&
        !mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_REPLICASET, p->replica_set)) {
        dsrc_error_set(err, st, 0, NULL, "replica_set '%s' is not accepted", p->replica_set);
        goto fail;
    }
    if (apply_tls(p, uri, err) != DSRC_OK)
        goto fail;
    if (read_mode(p->read_policy, &fetch_mode, err) != DSRC_OK)
        goto fail;

    out->uri = uri;
    out->discovery_prefs = mongoc_read_prefs_new(MONGOC_READ_PRIMARY_PREFERRED);
    out->fetch_prefs = mongoc_read_prefs_new(fetch_mode);
    v = dsrc_opt(p, "database");
    if (!v)
        v = mongoc_uri_get_database(uri);
    out->database = v && *v ? bson_strdup(v) : NULL;
    v = dsrc_opt(p, "output");
    out->output_document = v && strcmp(v, "document") == 0;
    v = dsrc_opt(p, "json");
    out->canonical = v && strcmp(v, "canonical") == 0;
    out->sample_size = opt_int(p, "sample_size", 1000);
    out->batch_size = opt_int(p, "batch_size", 1000);
    if (out->sample_size < 1 || out->batch_size < 1 || out->batch_size > INT32_MAX) {
        dsrc_error_set(err, st, 0, NULL, "sample_size and batch_size must be positive");
        out->uri = NULL;
        mg_settings_free(out);
        goto fail;
    }
    return DSRC_OK;
fail:
    mongoc_uri_destroy(uri);
    return err ? err->status : st;
}

void mg_settings_free(mg_settings *s)
{
    if (!s)
        return;
    if (s->uri)
        mongoc_uri_destroy(s->uri);
    if (s->discovery_prefs)
        mongoc_read_prefs_destroy(s->discovery_prefs);
    if (s->fetch_prefs)
        mongoc_read_prefs_destroy(s->fetch_prefs);
    bson_free(s->database);
    memset(s, 0, sizeof *s);
}

char *mg_uri_hosts(const mongoc_uri_t *uri)
{
    const mongoc_host_list_t *h;
    char *s = NULL, *t;
    if (!uri)
        return NULL;
    for (h = mongoc_uri_get_hosts(uri); h; h = h->next) {
        t = s ? bson_strdup_printf("%s,%s", s, h->host_and_port) : bson_strdup(h->host_and_port);
        bson_free(s);
        s = t;
    }
    return s ? s : bson_strdup("");
}
