/* SPDX-License-Identifier: Apache-2.0 */
/* mask.c -- see mask.h */
#include <config.h>

#include <endian.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The HMAC is built on the low-level SHA-256 context (RFC 2104): a plain
 * struct, so the keyed inner and outer states are restored per value by a
 * copy, where EVP_MD_CTX_copy_ex() and EVP_MAC_init() allocate and wipe a
 * context each time in OpenSSL 3.0 (twice per value: more than the two
 * SHA-256 blocks themselves).  tests/unit/test_mask.c checks the result
 * against RFC 4231 and libcrypto's HMAC(). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "output/format.h"
#include "output/mask.h"

#define MASK_SCRATCH 72 /* a hash's 64 hex digits, a cut timestamp       */

static const char *const mask_units[] = {NULL, "year", "month", "day", "hour", "minute"};

int mask_parse_mode(const char *text, mask_mode *mode, mask_unit *unit, const char **why)
{
    int i;

    *unit = MASK_UNIT_NONE;
    if (!text || !*text) {
        *why = "an empty mode (use hash, redact, truncate:UNIT or last4)";
        return -1;
    }
    if (strcmp(text, "hash") == 0) {
        *mode = MASK_HASH;
        return 0;
    }
    if (strcmp(text, "redact") == 0) {
        *mode = MASK_REDACT;
        return 0;
    }
    if (strcmp(text, "last4") == 0) {
        *mode = MASK_LAST4;
        return 0;
    }
    if (strncmp(text, "truncate:", 9) == 0) {
        for (i = MASK_YEAR; i <= MASK_MINUTE; i++)
            if (strcmp(text + 9, mask_units[i]) == 0) {
                *mode = MASK_TRUNCATE;
                *unit = (mask_unit)i;
                return 0;
            }
        *why = "an unknown truncate unit (use year, month, day, hour or minute)";
        return -1;
    }
    if (strcmp(text, "truncate") == 0) {
        *why = "a truncate without its unit (use truncate:year, month, day, hour or minute)";
        return -1;
    }
    *why = "an unknown mode (use hash, redact, truncate:UNIT or last4)";
    return -1;
}

const char *mask_mode_name(mask_mode mode, mask_unit unit)
{
    static const char *const cut[] = {"truncate", "truncate:year", "truncate:month",
                                      "truncate:day", "truncate:hour", "truncate:minute"};
    switch (mode) {
    case MASK_HASH: return "hash";
    case MASK_REDACT: return "redact";
    case MASK_LAST4: return "last4";
    case MASK_TRUNCATE: return unit <= MASK_MINUTE ? cut[unit] : "truncate";
    }
    return "?";
}

int mask_rules_add(mask_rule **v, size_t *n, const char *column, const char *mode, char **why)
{
    mask_mode md;
    mask_unit u;
    const char *reason;
    mask_rule *nv;
    size_t i;

    *why = NULL;
    if (!column || !*column) {
        *why = strdup("a mask needs a column name");
        return -1;
    }
    if (mask_parse_mode(mode, &md, &u, &reason) != 0) {
        if (asprintf(why, "column '%s': '%s' is %s", column, mode ? mode : "", reason) < 0)
            *why = NULL;
        return -1;
    }
    for (i = 0; i < *n; i++)
        if (strcmp((*v)[i].column, column) == 0) {
            (*v)[i].mode = md;
            (*v)[i].unit = u;
            return 0;
        }
    if (!(nv = realloc(*v, (*n + 1) * sizeof *nv)))
        return -1;
    *v = nv;
    if (!(nv[*n].column = strdup(column)))
        return -1;
    nv[*n].mode = md;
    nv[*n].unit = u;
    (*n)++;
    return 0;
}

int mask_parse_option(const char *arg, mask_rule **v, size_t *n, char **why)
{
    char *buf = strdup(arg ? arg : ""), *tok, *save = NULL, *eq;
    int rc = 0, any = 0;

    *why = NULL;
    if (!buf)
        return -1;
    for (tok = strtok_r(buf, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        if (!*tok)
            continue;
        any = 1;
        if (!(eq = strchr(tok, '=')) || eq == tok) {
            if (asprintf(why, "'%s' is not COLUMN=MODE (modes: hash, redact, truncate:UNIT, "
                              "last4)", tok) < 0)
                *why = NULL;
            rc = -1;
            break;
        }
        *eq = '\0';
        rc = mask_rules_add(v, n, tok, eq + 1, why);
    }
    if (rc == 0 && !any) {
        *why = strdup("a mask needs at least one COLUMN=MODE");
        rc = -1;
    }
    free(buf);
    return rc;
}

void mask_rules_free(mask_rule *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        free(v[i].column);
    free(v);
}

/* ------------------------------------------------------------------------ */
/* Masking                                                                   */

typedef struct mask_col {
    size_t index;                /* in the schema                           */
    mask_mode mode;
    mask_unit unit;
    char buf[MASK_SCRATCH];
} mask_col;

struct mask_applier {
    mask_rule *rules;
    size_t n_rules;
    SHA256_CTX inner, outer;     /* after the key's ipad and opad blocks    */
    char key_id[17];
    dsrc_column *cols;           /* the masked schema (names borrowed)      */
    size_t n_cols;
    mask_col *masked;            /* one per rule, in schema order           */
    size_t n_masked;
    dsrc_cell *out;
};

/* "00" to "ff", two characters a byte. */
static const char hexpair[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static void mask_hex(const unsigned char *d, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        memcpy(out + 2 * i, hexpair + 2 * d[i], 2);
}

/* The key's inner and outer states (RFC 2104, B = 64). */
static int mask_hmac_key(mask_applier *m, const unsigned char *key, size_t len)
{
    unsigned char k[SHA256_CBLOCK], pad[SHA256_CBLOCK];
    size_t i;
    int ok;

    memset(k, 0, sizeof k);
    if (len > sizeof k)
        SHA256(key, len, k);
    else
        memcpy(k, key, len);
    for (i = 0; i < sizeof pad; i++)
        pad[i] = k[i] ^ 0x36;
    ok = SHA256_Init(&m->inner) && SHA256_Update(&m->inner, pad, sizeof pad);
    for (i = 0; i < sizeof pad; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && SHA256_Init(&m->outer) && SHA256_Update(&m->outer, pad, sizeof pad);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    return ok ? 0 : -1;
}

/* The digest in a SHA-256 state, big-endian. */
static void mask_state_out(const SHA256_CTX *c, unsigned char out[32])
{
    int i;

    for (i = 0; i < 8; i++) {
        uint32_t w = htobe32((uint32_t)c->h[i]);
        memcpy(out + 4 * i, &w, 4);
    }
}

/* One last block: the n bytes of data (n <= 55), the padding and the
 * length of the whole message, the key block's 64 bytes included
 * (FIPS 180-4, 5.1.1), compressed into c. */
static void mask_last_block(SHA256_CTX *c, const void *data, size_t n)
{
    unsigned char b[SHA256_CBLOCK];
    uint64_t bits = htobe64((uint64_t)(SHA256_CBLOCK + n) * 8);

    memcpy(b, data, n);
    b[n] = 0x80;
    memset(b + n + 1, 0, SHA256_CBLOCK - 8 - n - 1);
    memcpy(b + SHA256_CBLOCK - 8, &bits, 8);
    SHA256_Transform(c, b);
}

/* HMAC-SHA-256 of data under the applier's key, left in *c's state: two
 * SHA-256 blocks for a value of up to 55 bytes, each padded here and
 * compressed straight into a copy of the keyed state; a longer value
 * goes through SHA256_Update(). No allocation. */
static int mask_hmac_state(mask_applier *m, const void *data, size_t len, SHA256_CTX *c)
{
    unsigned char inner[32];

    *c = m->inner;
    if (len <= SHA256_CBLOCK - 9) {
        mask_last_block(c, data, len);
        mask_state_out(c, inner);
    } else if (!SHA256_Update(c, data, len) || !SHA256_Final(inner, c)) {
        return -1;
    }
    *c = m->outer;
    mask_last_block(c, inner, 32);
    return 0;
}

static int mask_hmac(mask_applier *m, const void *data, size_t len, unsigned char out[32])
{
    SHA256_CTX c;

    if (mask_hmac_state(m, data, len, &c) != 0)
        return -1;
    mask_state_out(&c, out);
    return 0;
}

/* The HMAC of data as 64 lowercase hex digits. */
static int mask_hmac_hex(mask_applier *m, const void *data, size_t len, char out[64])
{
    unsigned char d[32];

    if (mask_hmac(m, data, len, d) != 0)
        return -1;
    mask_hex(d, sizeof d, out);
    return 0;
}

mask_applier *mask_new(const mask_rule *v, size_t n, const void *key, size_t len, derr *e)
{
    mask_applier *m;
    unsigned char id[32];
    size_t i;

    if (!key || len < MASK_KEY_MIN) {
        derr_set(e, DSRC_E_INVALID_CONFIG,
                 "the mask key is %zu bytes long; it needs at least %d (make one with "
                 "'dsrc secret genkey' and encrypt it with 'dsrc secret encrypt')",
                 key ? len : 0, MASK_KEY_MIN);
        return NULL;
    }
    if (!(m = calloc(1, sizeof *m)) || (n && !(m->rules = calloc(n, sizeof *m->rules))))
        goto oom;
    for (i = 0; i < n; i++) {
        if (!(m->rules[i].column = strdup(v[i].column)))
            goto oom;
        m->rules[i].mode = v[i].mode;
        m->rules[i].unit = v[i].unit;
        m->n_rules++;
    }
    if (mask_hmac_key(m, key, len) != 0) {
        derr_set(e, DSRC_E_INTERNAL, "cannot set up HMAC-SHA-256 for masking");
        mask_free(m);
        return NULL;
    }
    if (mask_hmac(m, (const unsigned char *)MASK_KEY_ID_LABEL, strlen(MASK_KEY_ID_LABEL), id) != 0) {
        derr_set(e, DSRC_E_INTERNAL, "cannot compute the mask key's id");
        mask_free(m);
        return NULL;
    }
    mask_hex(id, 8, m->key_id);
    m->key_id[16] = '\0';
    OPENSSL_cleanse(id, sizeof id);
    return m;
oom:
    derr_set(e, DSRC_E_INTERNAL, "out of memory");
    mask_free(m);
    return NULL;
}

void mask_free(mask_applier *m)
{
    if (!m)
        return;
    mask_rules_free(m->rules, m->n_rules);
    OPENSSL_cleanse(&m->inner, sizeof m->inner);
    OPENSSL_cleanse(&m->outer, sizeof m->outer);
    free(m->cols);
    if (m->masked)
        OPENSSL_cleanse(m->masked, m->n_masked * sizeof *m->masked);
    free(m->masked);
    free(m->out);
    free(m);
}

const char *mask_key_id(const mask_applier *m)
{
    return m->key_id;
}

/* The schema's column named `name`: exactly, else the one whose name
 * differs only in ASCII case; n when none. */
static size_t mask_find(const dsrc_column *cols, size_t n, const char *name)
{
    size_t i, found = n;

    for (i = 0; i < n; i++)
        if (cols[i].name && strcmp(cols[i].name, name) == 0)
            return i;
    for (i = 0; i < n; i++)
        if (cols[i].name && strcasecmp(cols[i].name, name) == 0) {
            if (found != n)
                return n; /* two candidates: none */
            found = i;
        }
    return found;
}

static int mask_col_cmp(const void *a, const void *b)
{
    const mask_col *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

static const char *mask_type_word(dsrc_type t)
{
    switch (t) {
    case DSRC_T_BOOL: return "bool";
    case DSRC_T_INT64: return "an integer";
    case DSRC_T_DOUBLE: return "a double";
    case DSRC_T_TEXT: return "text";
    case DSRC_T_BYTES: return "bytes";
    case DSRC_T_TIMESTAMP: return "a date/timestamp";
    case DSRC_T_JSON: return "json";
    default: return "untyped";
    }
}

dsrc_status mask_bind(mask_applier *m, const char *item, const dsrc_column *cols, size_t n,
                      derr *e)
{
    size_t i, k;

    free(m->cols);
    free(m->masked);
    free(m->out);
    m->cols = NULL;
    m->masked = NULL;
    m->out = NULL;
    m->n_cols = m->n_masked = 0;
    if (!(m->cols = calloc(n ? n : 1, sizeof *m->cols)) ||
        !(m->out = calloc(n ? n : 1, sizeof *m->out)) ||
        !(m->masked = calloc(m->n_rules ? m->n_rules : 1, sizeof *m->masked)))
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    if (n)
        memcpy(m->cols, cols, n * sizeof *cols);
    m->n_cols = n;
    for (k = 0; k < m->n_rules; k++) {
        const mask_rule *r = &m->rules[k];
        const dsrc_column *c;
        i = mask_find(cols, n, r->column);
        if (i == n)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "mask: column '%s' is not among the columns of '%s' (a column "
                            "that is masked must be fetched)", r->column, item ? item : "?");
        c = &cols[i];
        if (r->mode == MASK_TRUNCATE && c->type != DSRC_T_TIMESTAMP)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "mask: column '%s' of '%s' is %s (%s): %s applies to date and "
                            "timestamp columns only", c->name, item ? item : "?",
                            mask_type_word(c->type), c->native_type ? c->native_type : "?",
                            mask_mode_name(r->mode, r->unit));
        if (r->mode == MASK_LAST4 && c->type != DSRC_T_TEXT && c->type != DSRC_T_INT64)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                            "mask: column '%s' of '%s' is %s (%s): last4 applies to text and "
                            "integer columns only", c->name, item ? item : "?",
                            mask_type_word(c->type), c->native_type ? c->native_type : "?");
        for (size_t j = 0; j < m->n_masked; j++)
            if (m->masked[j].index == i)
                return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                                "mask: column '%s' of '%s' is masked twice ('%s' and '%s')",
                                c->name, item ? item : "?", m->rules[j].column, r->column);
        m->masked[m->n_masked].index = i;
        m->masked[m->n_masked].mode = r->mode;
        m->masked[m->n_masked].unit = r->unit;
        m->n_masked++;
        if (r->mode == MASK_HASH || r->mode == MASK_LAST4)
            m->cols[i].type = DSRC_T_TEXT;
    }
    qsort(m->masked, m->n_masked, sizeof *m->masked, mask_col_cmp);
    return DSRC_OK;
}

const dsrc_column *mask_columns(const mask_applier *m, size_t *n)
{
    *n = m->n_cols;
    return m->cols;
}

/* The text of a value (see mask.h's hash): *p and *len, in tmp when it
 * has to be written. */
static void mask_text(const dsrc_cell *c, char tmp[32], const char **p, size_t *len)
{
    switch (c->type) {
    case DSRC_T_BOOL:
        *p = c->v.b ? "true" : "false";
        *len = c->v.b ? 4 : 5;
        return;
    case DSRC_T_INT64: {
        uint64_t u = c->v.i < 0 ? (uint64_t)0 - (uint64_t)c->v.i : (uint64_t)c->v.i;
        char *q = tmp + 31;
        *q = '\0';
        do {
            *--q = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (c->v.i < 0)
            *--q = '-';
        *p = q;
        *len = (size_t)(tmp + 31 - q);
        return;
    }
    case DSRC_T_DOUBLE:
        if (!isfinite(c->v.d)) {
            *p = format_non_finite(c->v.d);
            *len = strlen(*p);
            return;
        }
        *len = (size_t)format_double_text(c->v.d, tmp);
        *p = tmp;
        return;
    default:
        *p = c->v.s.ptr ? c->v.s.ptr : "";
        *len = c->v.s.ptr ? c->v.s.len : 0;
        return;
    }
}

static int mask_is_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int mask_truncate_text(const char *s, size_t len, mask_unit unit, char *out)
{
    size_t i = 0, y, d, t, rest;
    int n;

    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    for (y = i; y < len && s[y] >= '0' && s[y] <= '9'; y++)
        ;
    /* y: the '-' after the year; then MM-DD */
    if (y - i < 4 || y + 6 > len || s[y] != '-' || s[y + 3] != '-' ||
        !mask_is_digits(s + y + 1, 2) || !mask_is_digits(s + y + 4, 2))
        return -1;
    d = y + 6;
    memcpy(out, s, y + 1);
    n = (int)(y + 1);
    if (unit <= MASK_YEAR)
        memcpy(out + n, "01-01", 5);
    else if (unit == MASK_MONTH) {
        memcpy(out + n, s + y + 1, 3);
        memcpy(out + n + 3, "01", 2);
    } else
        memcpy(out + n, s + y + 1, 5);
    n += 5;
    if (d == len)
        return n;
    if (s[d] != 'T' && s[d] != ' ')
        return -1;
    /* HH:MM[:SS[.frac]] */
    t = d + 1;
    if (t + 5 > len || !mask_is_digits(s + t, 2) || s[t + 2] != ':' ||
        !mask_is_digits(s + t + 3, 2))
        return -1;
    out[n++] = s[d];
    if (unit <= MASK_DAY)
        memcpy(out + n, "00:00", 5);
    else if (unit == MASK_HOUR) {
        memcpy(out + n, s + t, 3);
        memcpy(out + n + 3, "00", 2);
    } else
        memcpy(out + n, s + t, 5);
    n += 5;
    rest = t + 5;
    if (rest < len && s[rest] == ':') {
        if (rest + 3 > len || !mask_is_digits(s + rest + 1, 2))
            return -1;
        memcpy(out + n, ":00", 3);
        n += 3;
        rest += 3;
        if (rest < len && (s[rest] == '.' || s[rest] == ',')) {
            rest++;
            while (rest < len && s[rest] >= '0' && s[rest] <= '9')
                rest++;
        }
    }
    /* the zone: Z, or +HH[:MM[:SS]] / -HHMM */
    for (i = rest; i < len; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || ch == ':' ||
              ((ch == 'Z' || ch == '+' || ch == '-') && i == rest)))
            return -1;
    }
    memcpy(out + n, s + rest, len - rest);
    return n + (int)(len - rest);
}

size_t mask_last4_offset(const char *s, size_t len)
{
    size_t p = len;
    int count = 0;

    while (p > 0 && count < 4) {
        p--;
        if (((unsigned char)s[p] & 0xC0) != 0x80)
            count++;
    }
    if (count < 4 || p == 0)
        return len;
    return p;
}

static int mask_one(mask_applier *m, mask_col *mc, const dsrc_cell *in, dsrc_cell *out)
{
    char tmp[32];
    const char *p;
    size_t len, off;
    int r;

    if (in->type == DSRC_T_NULL) {
        out->type = DSRC_T_NULL;
        return 0;
    }
    switch (mc->mode) {
    case MASK_REDACT:
        memset(out, 0, sizeof *out);
        out->type = DSRC_T_NULL;
        return 0;
    case MASK_HASH:
        mask_text(in, tmp, &p, &len);
        if (mask_hmac_hex(m, p, len, mc->buf) != 0)
            return -1;
        out->type = DSRC_T_TEXT;
        out->v.s.ptr = mc->buf;
        out->v.s.len = 64;
        return 0;
    case MASK_LAST4:
        mask_text(in, tmp, &p, &len);
        off = mask_last4_offset(p, len);
        if (len - off > sizeof mc->buf)
            off = len; /* not characters: nothing */
        memcpy(mc->buf, p + off, len - off);
        out->type = DSRC_T_TEXT;
        out->v.s.ptr = mc->buf;
        out->v.s.len = len - off;
        return 0;
    case MASK_TRUNCATE:
        if (in->type != DSRC_T_TIMESTAMP && in->type != DSRC_T_TEXT) {
            memset(out, 0, sizeof *out);
            out->type = DSRC_T_NULL;
            return 0;
        }
        p = in->v.s.ptr ? in->v.s.ptr : "";
        len = in->v.s.ptr ? in->v.s.len : 0;
        if ((len == 8 && memcmp(p, "infinity", 8) == 0) ||
            (len == 9 && memcmp(p, "-infinity", 9) == 0)) {
            *out = *in;
            return 0;
        }
        r = len <= sizeof mc->buf ? mask_truncate_text(p, len, mc->unit, mc->buf) : -1;
        if (r < 0) {
            memset(out, 0, sizeof *out);
            out->type = DSRC_T_NULL;
            return 0;
        }
        out->type = in->type;
        out->v.s.ptr = mc->buf;
        out->v.s.len = (size_t)r;
        return 0;
    }
    return -1;
}

int mask_cell(mask_applier *m, size_t col, const dsrc_cell *in, dsrc_cell *out)
{
    size_t k;

    for (k = 0; k < m->n_masked; k++)
        if (m->masked[k].index == col)
            return mask_one(m, &m->masked[k], in, out);
    *out = *in;
    return 0;
}

const dsrc_cell *mask_row(mask_applier *m, const dsrc_cell *cells, size_t n)
{
    size_t k;

    if (n != m->n_cols)
        return NULL;
    memcpy(m->out, cells, n * sizeof *cells);
    for (k = 0; k < m->n_masked; k++) {
        mask_col *mc = &m->masked[k];
        if (mask_one(m, mc, &cells[mc->index], &m->out[mc->index]) != 0)
            return NULL;
    }
    return m->out;
}
