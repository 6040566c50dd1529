/* SPDX-License-Identifier: Apache-2.0 */
/* registry.c -- the validated set of sources; see registry.h. */
#include <config.h>

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "base/ctx.h"
#include "base/redact.h"
#include "base/diag.h"
#include "base/error.h"
#include "plugin/loader.h"
#include "base/redact.h"
#include "plugin/registry.h"
#include "secret/identity.h"
#include "secret/secret.h"

static const char *registry_vtype_name(cfg_vtype t)
{
    switch (t) {
    case CFG_V_STRING: return "a string";
    case CFG_V_INT: return "an integer";
    case CFG_V_FLOAT: return "a floating-point number";
    case CFG_V_BOOL: return "a boolean";
    case CFG_V_OTHER: break;
    }
    return "a group or a list";
}

/* "a, b, c" from an enum's "a|b|c" (malloc'd). */
static char *registry_choices_list(const char *choices)
{
    size_t i, n = 0, len = strlen(choices);
    char *s = malloc(len * 2 + 1);

    if (!s)
        return NULL;
    for (i = 0; i < len; i++) {
        if (choices[i] == '|') {
            s[n++] = ',';
            s[n++] = ' ';
        } else {
            s[n++] = choices[i];
        }
    }
    s[n] = '\0';
    return s;
}

static int registry_choice_ok(const char *choices, const char *v)
{
    size_t vlen = strlen(v);
    const char *p = choices;

    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncmp(p, v, n) == 0)
            return 1;
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

/* Set *msg (when msg is not NULL) to a malloc'd printf result. */
static void registry_msg(char **msg, const char *fmt, ...) DSRC_PRINTF(2, 3);
static void registry_msg(char **msg, const char *fmt, ...)
{
    va_list ap;

    if (!msg)
        return;
    va_start(ap, fmt);
    if (vasprintf(msg, fmt, ap) < 0)
        *msg = NULL;
    va_end(ap);
}

/* The work of registry_normalise(); also builds a detailed message (malloc'd,
 * never containing a secret) in *msg when msg is not NULL. */
static char *registry_norm(const dsrc_option *def, const cfg_value *v, const char **why,
                      char **msg)
{
    int secret = (def->flags & DSRC_OPT_SECRET) != 0;
    const char *got = registry_vtype_name(v->type);
    const char *text = v->text ? v->text : "";
    char buf[32], *r;
    int64_t ms;

    switch (def->type) {
    case DSRC_OPT_INT:
        if (v->type != CFG_V_INT) {
            *why = "must be an integer";
            registry_msg(msg, "must be an integer, got %s", got);
            return NULL;
        }
        errno = 0;
        {
            char *end;
            long long n = strtoll(text, &end, 10);
            if (errno || end == text || *end) {
                *why = "must be an integer";
                registry_msg(msg, "must be an integer");
                return NULL;
            }
            snprintf(buf, sizeof buf, "%lld", n);
        }
        break;
    case DSRC_OPT_BOOL:
        if (v->type != CFG_V_BOOL) {
            *why = "must be a boolean (true or false)";
            registry_msg(msg, "must be a boolean (true or false, without quotes), got %s", got);
            return NULL;
        }
        snprintf(buf, sizeof buf, "%s", strcmp(text, "true") == 0 ? "true" : "false");
        break;
    case DSRC_OPT_DURATION:
        if (v->type == CFG_V_STRING) {
            if (cfg_parse_duration(text, &ms) < 0) {
                *why = "is not a valid duration (use e.g. 250ms, 30s, 5m, 1h)";
                if (secret)
                    registry_msg(msg, "is not a valid duration (use e.g. 250ms, 30s, 5m, 1h)");
                else
                    registry_msg(msg, "is not a valid duration: '%s' (use e.g. 250ms, 30s, 5m, 1h)",
                            text);
                return NULL;
            }
        } else if (v->type == CFG_V_INT) {
            char *end;
            long long n;
            errno = 0;
            n = strtoll(text, &end, 10);
            if (errno || *end || n < 0 || n > INT64_MAX / 1000) {
                *why = "is not a valid duration (a number of seconds must be 0 or more)";
                registry_msg(msg, "is not a valid duration (a number of seconds must be 0 or more)");
                return NULL;
            }
            ms = (int64_t)n * 1000;
        } else {
            *why = "must be a duration such as \"30s\" or an integer number of seconds";
            registry_msg(msg, "must be a duration such as \"30s\" or an integer number of seconds, got %s",
                    got);
            return NULL;
        }
        snprintf(buf, sizeof buf, "%lld", (long long)ms);
        break;
    case DSRC_OPT_DOUBLE:
        if (v->type != CFG_V_FLOAT && v->type != CFG_V_INT) {
            *why = "must be a number";
            registry_msg(msg, "must be a number, got %s", got);
            return NULL;
        }
        r = strdup(text);
        if (!r)
            *why = "out of memory";
        return r;
    case DSRC_OPT_STRING:
    case DSRC_OPT_PATH:
    case DSRC_OPT_ENUM:
    default:
        if (v->type != CFG_V_STRING) {
            *why = "must be a string";
            registry_msg(msg, "must be a string, got %s", got);
            return NULL;
        }
        if (def->type == DSRC_OPT_PATH && !*text) {
            *why = "must not be empty";
            registry_msg(msg, "must not be empty");
            return NULL;
        }
        if (def->type == DSRC_OPT_ENUM && def->choices && !registry_choice_ok(def->choices, text)) {
            char *list = registry_choices_list(def->choices);
            *why = "is not one of the allowed values";
            if (secret)
                registry_msg(msg, "must be one of %s", list ? list : def->choices);
            else
                registry_msg(msg, "must be one of %s (got '%s')", list ? list : def->choices, text);
            free(list);
            return NULL;
        }
        r = strdup(text);
        if (!r)
            *why = "out of memory";
        return r;
    }
    r = strdup(buf);
    if (!r)
        *why = "out of memory";
    return r;
}

char *registry_normalise(const dsrc_option *def, const cfg_value *v, const char **why)
{
    const char *dummy;
    return registry_norm(def, v, why ? why : &dummy, NULL);
}

/* The plugin's default, as written in a config, normalised like a value. */
static char *registry_default(const dsrc_option *def, const char **why)
{
    cfg_value v;
    char *end;

    memset(&v, 0, sizeof v);
    v.key = (char *)def->name;
    v.text = (char *)def->default_value;
    switch (def->type) {
    case DSRC_OPT_INT:
        strtoll(def->default_value, &end, 10);
        v.type = *def->default_value && !*end ? CFG_V_INT : CFG_V_STRING;
        break;
    case DSRC_OPT_BOOL:
        v.type = strcmp(def->default_value, "true") == 0 ||
                 strcmp(def->default_value, "false") == 0 ? CFG_V_BOOL : CFG_V_STRING;
        break;
    case DSRC_OPT_DOUBLE:
        strtod(def->default_value, &end);
        v.type = *def->default_value && !*end ? CFG_V_FLOAT : CFG_V_STRING;
        break;
    default:
        v.type = CFG_V_STRING;
        break;
    }
    return registry_norm(def, &v, why, NULL);
}

static char *registry_options_list(const dsrc_option *opts)
{
    size_t i, len = 1;
    char *s;

    for (i = 0; opts && opts[i].name; i++)
        len += strlen(opts[i].name) + 2;
    s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (i = 0; opts && opts[i].name; i++) {
        if (i)
            strcat(s, ", ");
        strcat(s, opts[i].name);
    }
    if (!s[0]) {
        free(s);
        s = strdup("none");
    }
    return s;
}

static const dsrc_option *registry_find_def(const dsrc_option *opts, const char *name)
{
    size_t i;
    for (i = 0; opts && opts[i].name; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

static const cfg_value *registry_find_value(const cfg_source *s, const char *key)
{
    size_t i;
    for (i = 0; i < s->n_connection; i++)
        if (s->connection[i].key && strcmp(s->connection[i].key, key) == 0)
            return &s->connection[i];
    return NULL;
}

/* A relative path made absolute against the directory of the source's
 * file; takes ownership of p. */
static char *registry_resolve_path(const cfg_source *s, char *p)
{
    const char *slash;
    char *r;

    if (!p || p[0] == '/' || !s->file || !(slash = strrchr(s->file, '/')))
        return p;
    if (asprintf(&r, "%.*s/%s", (int)(slash - s->file), s->file, p) < 0)
        return p;
    free(p);
    return r;
}

static void registry_source_free(registry_source *rs)
{
    size_t i;
    for (i = 0; i < rs->n_options; i++)
        free(rs->options[i].value);
    free(rs->options);
    rs->options = NULL;
    rs->n_options = 0;
}

static int registry_push(registry_source *rs, const dsrc_option *def, char *value, int from_default,
                    int line)
{
    registry_option *v = realloc(rs->options, (rs->n_options + 1) * sizeof *v);
    if (!v) {
        free(value);
        return -1;
    }
    rs->options = v;
    v[rs->n_options].def = def;
    v[rs->n_options].value = value;
    v[rs->n_options].from_default = from_default;
    v[rs->n_options].line = line;
    rs->n_options++;
    return 0;
}

/* Validate a source's connection group against the plugin's table.
 * Returns the number of errors reported. */
/* A secret reference that cannot work wherever it is resolved (file: not
 * absolute or missing, env: not a variable name) is an error at check
 * time.  Returns 1 when reported. */
static int registry_check_ref(const cfg_source *s, const char *what, const char *value, int line,
                         diag_list *diags)
{
    derr e;

    memset(&e, 0, sizeof e);
    if (secret_check_reference(value, &e) == DSRC_OK)
        return 0;
    diag_error(diags, s->file, line, "source '%s': %s: %s", s->name, what,
               e.msg ? e.msg : "invalid secret reference");
    derr_clear(&e);
    return 1;
}

/* "1500 ms" / "2 s" for a limit on a duration, else the number. */
static void registry_limit_text(const dsrc_option *def, int64_t n, char *buf, size_t len)
{
    if (def->type == DSRC_OPT_DURATION && n % 1000 == 0 && n != 0)
        snprintf(buf, len, "%llds", (long long)(n / 1000));
    else if (def->type == DSRC_OPT_DURATION)
        snprintf(buf, len, "%lldms", (long long)n);
    else
        snprintf(buf, len, "%lld", (long long)n);
}

/* The plugin's limit on option `def` (since 1.1) applied to its
 * normalised value `val` (written as `text` in the config, at `line`).
 * Secret options are not checked: their value is a reference.  Returns 1
 * when reported. */
static int registry_check_limit(const registry_source *rs, const dsrc_option *def,
                                const char *val, const char *text, int line, diag_list *diags)
{
    const cfg_source *s = rs->cfg;
    const dsrc_option_limit *l = loader_option_limit(rs->plugin, def->name);
    char lim[32];
    int below = 0, above = 0;

    if (!l || (def->flags & DSRC_OPT_SECRET))
        return 0;
    if (def->type == DSRC_OPT_DOUBLE) {
        double d = strtod(val, NULL);
        below = (l->flags & DSRC_LIMIT_MIN) && d < (double)l->min;
        above = (l->flags & DSRC_LIMIT_MAX) && d > (double)l->max;
    } else if (def->type == DSRC_OPT_INT || def->type == DSRC_OPT_DURATION) {
        long long n = strtoll(val, NULL, 10);
        below = (l->flags & DSRC_LIMIT_MIN) && n < l->min;
        above = (l->flags & DSRC_LIMIT_MAX) && n > l->max;
    } else if (l->pattern) {
        regex_t re;
        int match;
        if (loader_regcomp(&re, l->pattern) != 0)
            return 0; /* the loader refused such a plugin */
        match = regexec(&re, val, 0, NULL, 0) == 0;
        regfree(&re);
        if (!match) {
            if (l->pattern_doc)
                diag_error(diags, s->file, line,
                           "option '%s' of source '%s': '%s' is not %s", def->name, s->name,
                           text, l->pattern_doc);
            else
                diag_error(diags, s->file, line,
                           "option '%s' of source '%s': '%s' does not match the pattern '%s'",
                           def->name, s->name, text, l->pattern);
            return 1;
        }
        return 0;
    }
    if (!below && !above)
        return 0;
    registry_limit_text(def, below ? l->min : l->max, lim, sizeof lim);
    diag_error(diags, s->file, line, "option '%s' of source '%s': %s is %s the %s %s", def->name,
               s->name, text, below ? "below" : "above", below ? "minimum" : "maximum", lim);
    return 1;
}

static size_t registry_validate(registry_source *rs, diag_list *diags)
{
    const cfg_source *s = rs->cfg;
    const dsrc_option *opts = loader_driver(rs->plugin)->options;
    const char *pname = loader_name(rs->plugin);
    size_t i, errors = 0;

    /* Register secrets first, so no later message can show one. */
    for (i = 0; i < s->n_connection; i++) {
        const cfg_value *v = &s->connection[i];
        const dsrc_option *def = v->key ? registry_find_def(opts, v->key) : NULL;
        if (def && (def->flags & DSRC_OPT_SECRET) && v->text && *v->text)
            redact_add(v->text);
    }

    for (i = 0; i < s->n_connection; i++) {
        const cfg_value *v = &s->connection[i];
        if (v->key && !registry_find_def(opts, v->key)) {
            char *list = registry_options_list(opts);
            diag_error(diags, s->file, v->line,
                       "source '%s': unknown connection option '%s' for plugin '%s' (valid: %s)",
                       s->name, v->key, pname, list ? list : "?");
            free(list);
            errors++;
        }
    }

    for (i = 0; opts && opts[i].name; i++) {
        const dsrc_option *def = &opts[i];
        const cfg_value *v = registry_find_value(s, def->name);
        const char *why = NULL;
        char *val, *msg = NULL;

        if (v) {
            if (v->type == CFG_V_OTHER) {
                errors++;       /* reported by the config reader */
                continue;
            }
            val = registry_norm(def, v, &why, &msg);
            if (!val) {
                diag_error(diags, s->file, v->line, "source '%s': connection option '%s' %s",
                           s->name, def->name, msg ? msg : why);
                free(msg);
                errors++;
                continue;
            }
            if (def->flags & DSRC_OPT_SECRET) {
                char what[128];
                snprintf(what, sizeof what, "connection option '%s'", def->name);
                if (registry_check_ref(s, what, val, v->line, diags)) {
                    free(val);
                    errors++;
                    continue;
                }
                if (*val && secret_kind_of(val) == SECRET_PLAIN)
                    diag_warn(diags, s->file, v->line,
                              "source '%s': connection option '%s' holds a plain-text secret; "
                              "encrypt it with 'dsrc secret encrypt' and write the "
                              "fernet:TOKEN it prints (or use env:NAME or file:PATH)",
                              s->name, def->name);
            } else if (secret_is_reference(val)) {
                diag_error(diags, s->file, v->line,
                           "source '%s': connection option '%s' is not a secret option: a "
                           "secret reference (fernet:, env:, file:) is not allowed here",
                           s->name, def->name);
                free(val);
                errors++;
                continue;
            }
            if (registry_check_limit(rs, def, val, v->text ? v->text : val, v->line, diags)) {
                free(val);
                errors++;
                continue;
            }
            if (def->type == DSRC_OPT_PATH)
                val = registry_resolve_path(s, val);
            if (registry_push(rs, def, val, 0, v->line) < 0) {
                diag_error(diags, s->file, v->line, "source '%s': out of memory", s->name);
                errors++;
            }
        } else if (def->default_value) {
            val = registry_default(def, &why);
            if (!val) {
                diag_error(diags, s->file, s->type_line,
                           "source '%s': plugin '%s' declares an invalid default for option "
                           "'%s' (%s); this is a bug in the plugin", s->name, pname, def->name,
                           why ? why : "?");
                errors++;
                continue;
            }
            if ((def->flags & DSRC_OPT_SECRET) && *val)
                redact_add(val);
            if (registry_push(rs, def, val, 1, 0) < 0) {
                diag_error(diags, s->file, s->type_line, "source '%s': out of memory", s->name);
                errors++;
            }
        } else if (def->flags & DSRC_OPT_REQUIRED) {
            diag_error(diags, s->file, s->connection_line ? s->connection_line : s->line,
                       "source '%s': missing required connection option '%s'%s%s%s",
                       s->name, def->name, def->doc ? " (" : "", def->doc ? def->doc : "",
                       def->doc ? ")" : "");
            errors++;
        }
    }
    return errors;
}

void registry_open_params(const cfg_source *cs, const loader_plugin *plugin,
                          dsrc_open_params *p)
{
    const dsrc_abi_info *abi = plugin ? loader_abi(plugin) : NULL;

    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->source = cs->name;
    p->location = cs->location;
    p->tls_mode = cs->tls_mode ? cs->tls_mode : cfg_tls_default_mode(cs->location);
    /* 1.0 had no "prefer": a 1.0 plugin gets what 1.0 said for a source
       that asks nothing of TLS, NULL (the plugin's own default). */
    if (abi && abi->abi_major == 1 && abi->abi_minor == 0 && strcmp(p->tls_mode, "prefer") == 0)
        p->tls_mode = NULL;
    p->tls_ca = cs->tls_ca;
    p->tls_cert = cs->tls_cert;
    p->tls_key = cs->tls_key;
    p->n_cloud = cs->n_cloud;
    p->replica_set = cs->replica_set;
    p->read_policy = cs->read_policy;
    p->replica_hosts = (const char *const *)cs->replica_hosts;
    p->n_replica_hosts = cs->replica_hosts ? cs->n_replica_hosts : 0;
}

/* What validate() gets for a secret that is set: never the secret. */
#define REGISTRY_SECRET_PLACEHOLDER "(secret)"

/* The line of the option a validate() message starts with ("option
 * 'NAME'..."), else the connection group's. */
static int registry_validate_line(const registry_source *rs, const char *msg)
{
    const cfg_source *s = rs->cfg;
    size_t i, n;

    if (msg && strncmp(msg, "option '", 8) == 0 && (n = strcspn(msg + 8, "'")) > 0 &&
        msg[8 + n] == '\'')
        for (i = 0; i < rs->n_options; i++)
            if (rs->options[i].line > 0 && strlen(rs->options[i].def->name) == n &&
                strncmp(rs->options[i].def->name, msg + 8, n) == 0)
                return rs->options[i].line;
    return s->connection_line ? s->connection_line : s->line;
}

/* The plugin's validate() (since 1.1, optional) on the source's options
 * as open() would get them, secrets replaced by a placeholder.  Returns 1
 * when it refused them (reported). */
static int registry_plugin_validate(const registry_source *rs, diag_list *diags)
{
    const cfg_source *s = rs->cfg;
    const dsrc_driver *drv = loader_driver(rs->plugin);
    const char *pname = loader_name(rs->plugin);
    dsrc_open_params p;
    dsrc_kv *opts, *cloud;
    struct dsrc_ctx ctx;
    dsrc_error perr;
    derr e = {0};
    size_t i, n = 0;
    dsrc_status st;
    int refused;

    if (!DSRC_HAS_MEMBER(drv, dsrc_driver, validate) || !drv->validate)
        return 0;
    opts = calloc(rs->n_options + 1, sizeof *opts);
    cloud = calloc(s->n_cloud + 1, sizeof *cloud);
    if (!opts || !cloud) {
        free(opts);
        free(cloud);
        diag_error(diags, s->file, s->line, "source '%s': out of memory", s->name);
        return 1;
    }
    for (i = 0; i < rs->n_options; i++) {
        const registry_option *o = &rs->options[i];
        if (!o->value)
            continue;
        opts[n].key = o->def->name;
        opts[n++].value = (o->def->flags & DSRC_OPT_SECRET) && *o->value
                              ? REGISTRY_SECRET_PLACEHOLDER : o->value;
    }
    for (i = 0; i < s->n_cloud; i++) {
        cloud[i].key = s->cloud[i].key;
        cloud[i].value = cfg_cloud_key_is_secret(s->cloud[i].key) && s->cloud[i].text
                             ? REGISTRY_SECRET_PLACEHOLDER : s->cloud[i].text;
    }
    registry_open_params(s, rs->plugin, &p);
    p.options = opts;
    p.n_options = n;
    p.cloud = cloud;
    p.tls_key_passphrase = s->tls_key_passphrase ? REGISTRY_SECRET_PLACEHOLDER : NULL;
    ctx_init(&ctx, s->name, pname, NULL);
    error_init(&perr);
    st = drv->validate(&ctx, &p, &perr);
    refused = st != DSRC_OK || perr.status != DSRC_OK;
    if (!refused) {
        derr_plugin_ok(&perr, s->name, pname, "validate");
    } else {
        if (perr.status == DSRC_OK)
            perr.status = st;
        derr_from_plugin(&e, &perr, pname, "validate", NULL);
        diag_error(diags, s->file, registry_validate_line(rs, e.msg), "source '%s': %s",
                   s->name, e.msg ? e.msg : "refused by the plugin");
        derr_clear(&e);
    }
    free(opts);
    free(cloud);
    return refused;
}

/* The cloud group's identity as the host will use it (identity.h).
 * Returns 1 when it is refused (reported). */
static int registry_identity_check(const cfg_source *s, diag_list *diags)
{
    derr e = {0};
    int line = s->line;
    size_t i;

    if (identity_check(s, &e) == DSRC_OK)
        return 0;
    for (i = 0; i < s->n_cloud; i++)
        if (strcmp(s->cloud[i].key, "provider") == 0)
            line = s->cloud[i].line;
    diag_error(diags, s->file, line, "source '%s': %s", s->name, e.msg ? e.msg : "cloud");
    derr_clear(&e);
    return 1;
}

/* The host's own secret fields (cloud credentials, TLS key passphrase):
 * a plain value works but is warned about once. */
static void registry_host_secrets(const cfg_source *s, diag_list *diags)
{
    size_t i;

    for (i = 0; i < s->n_cloud; i++) {
        char what[128];
        if (!cfg_cloud_key_is_secret(s->cloud[i].key) || !s->cloud[i].text)
            continue;
        snprintf(what, sizeof what, "cloud.%s", s->cloud[i].key);
        registry_check_ref(s, what, s->cloud[i].text, s->cloud[i].line, diags);
    }
    if (s->tls_key_passphrase)
        registry_check_ref(s, "tls.key_passphrase", s->tls_key_passphrase, s->tls_line, diags);
    for (i = 0; i < s->n_cloud; i++)
        if (cfg_cloud_key_is_secret(s->cloud[i].key) && s->cloud[i].text &&
            *s->cloud[i].text && secret_kind_of(s->cloud[i].text) == SECRET_PLAIN)
            diag_warn(diags, s->file, s->cloud[i].line,
                      "source '%s': cloud.%s holds a plain-text secret; encrypt it with "
                      "'dsrc secret encrypt' (or use env:NAME or file:PATH)",
                      s->name, s->cloud[i].key);
    if (s->tls_key_passphrase && *s->tls_key_passphrase &&
        secret_kind_of(s->tls_key_passphrase) == SECRET_PLAIN)
        diag_warn(diags, s->file, s->tls_line,
                  "source '%s': tls.key_passphrase holds a plain-text secret; encrypt it "
                  "with 'dsrc secret encrypt' (or use env:NAME or file:PATH)", s->name);
}

/* A cloud identity's token is a credential: never sent in plain text.  1
 * (an error reported) when s asks for one with a TLS mode that allows
 * plain text, else 0. */
static int registry_identity_tls(const cfg_source *s, diag_list *diags)
{
    if (!identity_wanted(s) || !s->tls_mode ||
        (strcmp(s->tls_mode, "disable") != 0 && strcmp(s->tls_mode, "prefer") != 0))
        return 0;
    diag_error(diags, s->file, s->tls_line ? s->tls_line : s->n_cloud ? s->cloud[0].line : s->line,
               "source '%s': its cloud identity (%s) is a credential and is never sent in "
               "plain text, but tls.mode is '%s'%s; set location = \"cloud\" or tls.mode = "
               "\"verify-full\" (or require)", s->name, s->cloud_provider, s->tls_mode,
               s->tls_line ? "" : " (the on_prem default)");
    return 1;
}

int registry_shipped(const char *plugin)
{
    static const char *const shipped[] = {"postgres", "mysql", "mongo", "azure_blob",
                                          "sqlite", "clickhouse", "http", "s3"};
    size_t i;

    for (i = 0; i < sizeof shipped / sizeof *shipped; i++)
        if (strcmp(plugin, shipped[i]) == 0)
            return 1;
    return 0;
}

/* The source's setting, else the daemon's, else $DSRC_ISOLATION, else
 * "none" for a plugin shipped with dsrc and "process" for any other. */
static int registry_isolated(const cfg_config *cfg, const cfg_source *s)
{
    const char *env = getenv("DSRC_ISOLATION");

    if (s->isolation != CFG_ISOLATION_UNSET)
        return s->isolation == CFG_ISOLATION_PROCESS;
    if (cfg->isolation != CFG_ISOLATION_UNSET)
        return cfg->isolation == CFG_ISOLATION_PROCESS;
    if (env && (strcmp(env, "process") == 0 || strcmp(env, "none") == 0))
        return strcmp(env, "process") == 0;
    return !registry_shipped(s->type);
}

registry *registry_build(const cfg_config *cfg, loader_set *plugins, diag_list *diags)
{
    registry *reg = calloc(1, sizeof *reg);
    size_t i;

    if (!reg)
        return NULL;
    reg->cfg = cfg;
    reg->plugins = plugins;
    for (i = 0; cfg && i < cfg->n_sources; i++) {
        const cfg_source *s = &cfg->sources[i];
        registry_source rs;
        derr e;

        if (!s->enabled || !s->name || !s->type)
            continue;
        memset(&e, 0, sizeof e);
        memset(&rs, 0, sizeof rs);
        rs.cfg = s;
        rs.key_file = cfg->key_file;
        registry_host_secrets(s, diags);
        if (registry_identity_tls(s, diags))
            continue;
        if (loader_get(plugins, s->type, &rs.plugin, &e) != DSRC_OK) {
            diag_error(diags, s->file, s->type_line, "source '%s': %s", s->name,
                       e.msg ? e.msg : "the plugin cannot be loaded");
            derr_clear(&e);
            continue;
        }
        rs.isolated = registry_isolated(cfg, s);
        if (registry_validate(&rs, diags) > 0 || registry_identity_check(s, diags) ||
            registry_plugin_validate(&rs, diags)) {
            registry_source_free(&rs);
            continue;
        }
        {
            registry_source *v = realloc(reg->sources, (reg->n_sources + 1) * sizeof *v);
            if (!v) {
                registry_source_free(&rs);
                diag_error(diags, s->file, s->line, "source '%s': out of memory", s->name);
                continue;
            }
            reg->sources = v;
            reg->sources[reg->n_sources++] = rs;
        }
    }
    return reg;
}

void registry_free(registry *reg)
{
    size_t i;

    if (!reg)
        return;
    for (i = 0; i < reg->n_sources; i++)
        registry_source_free(&reg->sources[i]);
    free(reg->sources);
    free(reg);
}

const registry_source *registry_find(const registry *reg, const char *name)
{
    size_t i;

    if (!reg || !name)
        return NULL;
    for (i = 0; i < reg->n_sources; i++)
        if (strcmp(reg->sources[i].cfg->name, name) == 0)
            return &reg->sources[i];
    return NULL;
}

/* A JSON string with every registered secret replaced by ***; null for
 * NULL. */
static json_t *reg_jstr(const char *s)
{
    char *r;
    json_t *j;

    if (!s)
        return json_null();
    r = redact_dup(s);
    j = json_string(r ? r : "");
    free(r);
    return j ? j : json_string("");
}

/* An option's value as JSON, typed by the plugin's option table: an int
 * or a duration (milliseconds) as a number, a bool as true or false, a
 * double as a number; a value that does not parse stays a string. */
static json_t *reg_option_json(const dsrc_option *def, const char *v)
{
    char *end;

    if (!v)
        return json_null();
    if (*v && (def->type == DSRC_OPT_INT || def->type == DSRC_OPT_DURATION)) {
        long long n;
        errno = 0;
        n = strtoll(v, &end, 10);
        if (!errno && !*end)
            return json_integer((json_int_t)n);
    } else if (*v && def->type == DSRC_OPT_DOUBLE) {
        double d;
        errno = 0;
        d = strtod(v, &end);
        if (!errno && !*end)
            return json_real(d);
    } else if (def->type == DSRC_OPT_BOOL) {
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            return json_boolean(strcmp(v, "true") == 0);
    }
    return reg_jstr(v);
}

json_t *registry_source_json(const cfg_source *cs, const registry_source *s)
{
    json_t *o = json_object(), *conn = json_object(), *labels = json_object();
    size_t i;

    json_object_set_new(o, "name", reg_jstr(cs->name));
    json_object_set_new(o, "type", reg_jstr(cs->type ? cs->type : ""));
    json_object_set_new(o, "location", reg_jstr(cfg_location_name(cs->location)));
    json_object_set_new(o, "enabled", json_boolean(cs->enabled));
    json_object_set_new(o, "valid", json_boolean(s != NULL));
    json_object_set_new(o, "file", reg_jstr(cs->file));
    for (i = 0; i < cs->n_labels; i++)
        json_object_set_new(labels, cs->labels[i].key, reg_jstr(cs->labels[i].text));
    json_object_set_new(o, "labels", labels);
    if (s) {
        for (i = 0; i < s->n_options; i++)
            json_object_set_new(conn, s->options[i].def->name,
                                (s->options[i].def->flags & DSRC_OPT_SECRET)
                                    ? reg_jstr(REDACTED)
                                    : reg_option_json(s->options[i].def,
                                                      s->options[i].value));
    } else {
        /* Unvalidated: show keys only, every value redacted. */
        for (i = 0; i < cs->n_connection; i++)
            json_object_set_new(conn, cs->connection[i].key, reg_jstr(REDACTED));
    }
    json_object_set_new(o, "connection", conn);
    if (cs->cloud_provider) {
        json_t *cl = json_object();
        for (i = 0; i < cs->n_cloud; i++)
            json_object_set_new(cl, cs->cloud[i].key,
                                cfg_cloud_key_is_secret(cs->cloud[i].key)
                                    ? reg_jstr(REDACTED)
                                    : reg_jstr(cs->cloud[i].text));
        json_object_set_new(o, "cloud", cl);
    }
    if (cs->tls_mode || cs->tls_ca || cs->tls_cert || cs->tls_key) {
        json_t *t = json_object();
        json_object_set_new(t, "mode", reg_jstr(cs->tls_mode));
        json_object_set_new(t, "ca", reg_jstr(cs->tls_ca));
        json_object_set_new(t, "cert", reg_jstr(cs->tls_cert));
        json_object_set_new(t, "key", reg_jstr(cs->tls_key));
        json_object_set_new(o, "tls", t);
    }
    if (cs->n_replica_hosts || cs->replica_set) {
        json_t *r = json_object(), *h = json_array();
        for (i = 0; i < cs->n_replica_hosts; i++)
            json_array_append_new(h, reg_jstr(cs->replica_hosts[i]));
        json_object_set_new(r, "hosts", h);
        json_object_set_new(r, "replica_set", reg_jstr(cs->replica_set));
        json_object_set_new(r, "read_policy", reg_jstr(cs->read_policy));
        json_object_set_new(o, "replicas", r);
    }
    json_t *pj = json_object();
    json_object_set_new(pj, "max_size", json_integer(cs->pool.max_size));
    json_object_set_new(pj, "min_idle", json_integer(cs->pool.min_idle));
    json_object_set_new(pj, "acquire_timeout_ms", json_integer(cs->pool.acquire_timeout_ms));
    json_object_set_new(pj, "idle_timeout_ms", json_integer(cs->pool.idle_timeout_ms));
    json_object_set_new(pj, "max_lifetime_ms", json_integer(cs->pool.max_lifetime_ms));
    json_object_set_new(pj, "keepalive_ms", json_integer(cs->pool.keepalive_ms));
    json_object_set_new(o, "pool", pj);
    if (cs->schedule_discover || cs->schedule_health) {
        json_t *sc = json_object();
        json_object_set_new(sc, "discover", reg_jstr(cs->schedule_discover));
        json_object_set_new(sc, "health", reg_jstr(cs->schedule_health));
        json_object_set_new(o, "schedule", sc);
    }
    if (cs->n_fetch) {
        json_t *fa = json_array();
        for (i = 0; i < cs->n_fetch; i++) {
            json_t *f = json_object();
            json_object_set_new(f, "item", reg_jstr(cs->fetch[i].item));
            json_object_set_new(f, "format", reg_jstr(cs->fetch[i].format));
            json_object_set_new(f, "cursor_field", reg_jstr(cs->fetch[i].cursor_field));
            json_object_set_new(f, "schedule", reg_jstr(cs->fetch[i].schedule));
            json_array_append_new(fa, f);
        }
        json_object_set_new(o, "fetch", fa);
    }
    return o;
}
