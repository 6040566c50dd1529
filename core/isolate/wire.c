/* SPDX-License-Identifier: Apache-2.0 */
/* wire.c -- see wire.h */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "isolate/wire.h"

static void wire_reserve(wire_buf *b, size_t n)
{
    size_t cap;
    unsigned char *p;

    if (b->failed || b->len + n <= b->cap)
        return;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    if (!(p = realloc(b->p, cap))) {
        b->failed = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void wire_put(wire_buf *b, const void *v, size_t n)
{
    wire_reserve(b, n);
    if (b->failed)
        return;
    if (n)
        memcpy(b->p + b->len, v, n);
    b->len += n;
}

size_t wire_open(wire_buf *b, uint8_t type)
{
    size_t at = b->len;

    wire_u32(b, 0); /* the length, set by wire_close() */
    wire_u8(b, type);
    return at;
}

void wire_close(wire_buf *b, size_t at)
{
    size_t body;

    if (b->failed || b->len < at + 5)
        return;
    body = b->len - at - 4;
    if (body > WIRE_MAX_FRAME) {
        b->failed = 1;
        return;
    }
    b->p[at] = (unsigned char)body;
    b->p[at + 1] = (unsigned char)(body >> 8);
    b->p[at + 2] = (unsigned char)(body >> 16);
    b->p[at + 3] = (unsigned char)(body >> 24);
}

void wire_put_raw(wire_buf *b, const void *p, size_t n) { wire_put(b, p, n); }

void wire_begin(wire_buf *b, uint8_t type)
{
    b->len = 0;
    b->failed = 0;
    wire_open(b, type);
}

void wire_u8(wire_buf *b, uint8_t v) { wire_put(b, &v, 1); }

void wire_u32(wire_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    wire_put(b, x, 4);
}

void wire_i64(wire_buf *b, int64_t v)
{
    uint64_t u = (uint64_t)v;
    wire_u32(b, (uint32_t)u);
    wire_u32(b, (uint32_t)(u >> 32));
}

void wire_f64(wire_buf *b, double v)
{
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    wire_i64(b, bits);
}

void wire_strn(wire_buf *b, const char *s, size_t n)
{
    if (!s) {
        wire_u32(b, WIRE_NULL);
        return;
    }
    if (n >= WIRE_MAX_FRAME) {
        b->failed = 1;
        return;
    }
    wire_u32(b, (uint32_t)n);
    wire_put(b, s, n);
    wire_u8(b, 0);
}

void wire_str(wire_buf *b, const char *s) { wire_strn(b, s, s ? strlen(s) : 0); }

static int wire_write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int wire_send(int fd, wire_buf *b)
{
    if (b->failed || b->len < 5) {
        errno = ENOMEM;
        return -1;
    }
    if (b->len - 4 > WIRE_MAX_FRAME) {
        errno = EMSGSIZE;
        return -1;
    }
    wire_close(b, 0);
    return wire_write_all(fd, b->p, b->len);
}

int wire_flush(int fd, wire_buf *b)
{
    int rc;

    if (b->failed) {
        errno = ENOMEM;
        return -1;
    }
    rc = b->len ? wire_write_all(fd, b->p, b->len) : 0;
    b->len = 0;
    return rc;
}

void wire_wipe(wire_buf *b)
{
    if (b->p)
        explicit_bzero(b->p, b->cap);
    b->len = 0;
}

void wire_free(wire_buf *b)
{
    wire_wipe(b);
    free(b->p);
    memset(b, 0, sizeof *b);
}

static uint32_t wire_le32(const unsigned char *x)
{
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

long wire_parse(const unsigned char *p, size_t len, wire_rd *rd)
{
    uint32_t body;

    if (len < 4)
        return 0;
    body = wire_le32(p);
    if (body == 0 || body > WIRE_MAX_FRAME)
        return -1;
    if (len - 4 < body)
        return 0;
    rd->type = p[4];
    rd->p = p + 5;
    rd->len = body - 1;
    rd->off = 0;
    rd->bad = 0;
    return (long)body + 4;
}

/* Read exactly n bytes: 1, 0 at end of file before any, -1 otherwise. */
static int wire_read_all(int fd, unsigned char *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            if (got == 0)
                return 0;
            errno = EPROTO; /* truncated */
            return -1;
        }
        got += (size_t)r;
    }
    return 1;
}

int wire_recv(int fd, wire_buf *store, wire_rd *rd)
{
    unsigned char hdr[4];
    uint32_t body;
    int rc;

    if ((rc = wire_read_all(fd, hdr, 4)) <= 0)
        return rc;
    body = wire_le32(hdr);
    if (body == 0 || body > WIRE_MAX_FRAME) {
        errno = EPROTO;
        return -1;
    }
    store->len = 0;
    store->failed = 0;
    wire_reserve(store, body);
    if (store->failed) {
        errno = ENOMEM;
        return -1;
    }
    if ((rc = wire_read_all(fd, store->p, body)) <= 0) {
        if (rc == 0)
            errno = EPROTO;
        return -1;
    }
    store->len = body;
    rd->type = store->p[0];
    rd->p = store->p + 1;
    rd->len = body - 1;
    rd->off = 0;
    rd->bad = 0;
    return 1;
}

static const unsigned char *wire_take(wire_rd *r, size_t n)
{
    const unsigned char *p;

    if (r->bad || r->len - r->off < n) {
        r->bad = 1;
        return NULL;
    }
    p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t wire_get_u8(wire_rd *r)
{
    const unsigned char *p = wire_take(r, 1);
    return p ? p[0] : 0;
}

uint32_t wire_get_u32(wire_rd *r)
{
    const unsigned char *p = wire_take(r, 4);
    return p ? wire_le32(p) : 0;
}

int64_t wire_get_i64(wire_rd *r)
{
    uint64_t lo = wire_get_u32(r), hi = wire_get_u32(r);
    return (int64_t)(lo | hi << 32);
}

double wire_get_f64(wire_rd *r)
{
    int64_t bits = wire_get_i64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

const char *wire_get_str(wire_rd *r, size_t *n)
{
    uint32_t len = wire_get_u32(r);
    const unsigned char *p;

    if (n)
        *n = 0;
    if (r->bad || len == WIRE_NULL)
        return NULL;
    if (len >= r->len || !(p = wire_take(r, (size_t)len + 1)))
        return (void)(r->bad = 1), NULL;
    if (p[len] != 0) {
        r->bad = 1;
        return NULL;
    }
    if (n)
        *n = len;
    return (const char *)p;
}

void *wire_arena_alloc(wire_arena *a, size_t n, size_t size)
{
    void *p;

    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        void **b = realloc(a->blocks, cap * sizeof *b);
        if (!b)
            return NULL;
        a->blocks = b;
        a->cap = cap;
    }
    if (!(p = calloc(n ? n : 1, size)))
        return NULL;
    a->blocks[a->n++] = p;
    return p;
}

void wire_arena_free(wire_arena *a)
{
    size_t i;

    for (i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

/* A count of records of at least `min` bytes each that the rest of the
 * frame can hold: anything larger is garbage. */
static size_t wire_get_count(wire_rd *r, size_t min)
{
    uint32_t n = wire_get_u32(r);
    if (!r->bad && (size_t)n > (r->len - r->off) / min)
        r->bad = 1;
    return r->bad ? 0 : n;
}

static void wire_put_kvs(wire_buf *b, const dsrc_kv *kv, size_t n)
{
    size_t i;

    wire_u32(b, kv ? (uint32_t)n : 0);
    for (i = 0; kv && i < n; i++) {
        wire_str(b, kv[i].key);
        wire_str(b, kv[i].value);
    }
}

static const dsrc_kv *wire_get_kvs(wire_rd *r, wire_arena *a, size_t *n)
{
    size_t i, k = wire_get_count(r, 8);
    dsrc_kv *kv;

    *n = 0;
    if (r->bad || !k)
        return NULL;
    if (!(kv = wire_arena_alloc(a, k, sizeof *kv)))
        return (void)(r->bad = 1), NULL;
    for (i = 0; i < k; i++) {
        kv[i].key = wire_get_str(r, NULL);
        kv[i].value = wire_get_str(r, NULL);
    }
    *n = k;
    return kv;
}

void wire_put_strs(wire_buf *b, const char *const *s, size_t n)
{
    size_t i;

    wire_u32(b, s ? (uint32_t)n : 0);
    for (i = 0; s && i < n; i++)
        wire_str(b, s[i]);
}

const char *const *wire_get_strs(wire_rd *r, wire_arena *a, size_t *n)
{
    size_t i, k = wire_get_count(r, 4);
    const char **s;

    *n = 0;
    if (r->bad || !k)
        return NULL;
    if (!(s = wire_arena_alloc(a, k, sizeof *s)))
        return (void)(r->bad = 1), NULL;
    for (i = 0; i < k; i++)
        s[i] = wire_get_str(r, NULL);
    *n = k;
    return s;
}

void wire_put_params(wire_buf *b, const dsrc_open_params *p)
{
    int replicas = DSRC_HAS_MEMBER(p, dsrc_open_params, n_replica_hosts);

    wire_str(b, p->source);
    wire_put_kvs(b, p->options, p->n_options);
    wire_u32(b, (uint32_t)p->location);
    wire_u32(b, (uint32_t)p->endpoint);
    wire_str(b, p->tls_mode);
    wire_str(b, p->tls_ca);
    wire_str(b, p->tls_cert);
    wire_str(b, p->tls_key);
    wire_put_kvs(b, p->cloud, p->n_cloud);
    wire_str(b, p->replica_set);
    wire_str(b, p->read_policy);
    wire_str(b, p->tls_key_passphrase);
    wire_put_strs(b, replicas ? p->replica_hosts : NULL, replicas ? p->n_replica_hosts : 0);
}

int wire_get_params(wire_rd *r, wire_arena *a, dsrc_open_params *p)
{
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->source = wire_get_str(r, NULL);
    p->options = wire_get_kvs(r, a, &p->n_options);
    p->location = (dsrc_location)wire_get_u32(r);
    p->endpoint = (int)wire_get_u32(r);
    p->tls_mode = wire_get_str(r, NULL);
    p->tls_ca = wire_get_str(r, NULL);
    p->tls_cert = wire_get_str(r, NULL);
    p->tls_key = wire_get_str(r, NULL);
    p->cloud = wire_get_kvs(r, a, &p->n_cloud);
    p->replica_set = wire_get_str(r, NULL);
    p->read_policy = wire_get_str(r, NULL);
    p->tls_key_passphrase = wire_get_str(r, NULL);
    p->replica_hosts = wire_get_strs(r, a, &p->n_replica_hosts);
    return r->bad ? -1 : 0;
}

void wire_put_error(wire_buf *b, dsrc_status st, const dsrc_error *e)
{
    wire_u32(b, (uint32_t)st);
    wire_u32(b, (uint32_t)e->status);
    wire_u8(b, e->retryable ? 1 : 0);
    wire_u8(b, e->connection_broken ? 1 : 0);
    wire_strn(b, e->backend_code, strnlen(e->backend_code, DSRC_BACKEND_CODE_MAX - 1));
    wire_str(b, e->message);
}

dsrc_status wire_get_error(wire_rd *r, dsrc_error *e)
{
    dsrc_status st = (dsrc_status)wire_get_u32(r);
    const char *code, *msg;

    e->status = (dsrc_status)wire_get_u32(r);
    e->retryable = wire_get_u8(r);
    e->connection_broken = wire_get_u8(r);
    code = wire_get_str(r, NULL);
    msg = wire_get_str(r, NULL);
    if (code)
        snprintf(e->backend_code, sizeof e->backend_code, "%s", code);
    if (msg && (e->message = strdup(msg)))
        e->release = dsrc_error_release_default_;
    return st;
}

void wire_put_item(wire_buf *b, const dsrc_item *it)
{
    wire_str(b, it->path);
    wire_str(b, it->name);
    wire_u32(b, (uint32_t)it->kind);
    wire_u8(b, it->container ? 1 : 0);
    wire_i64(b, it->rows);
    wire_u8(b, it->rows_estimated ? 1 : 0);
    wire_i64(b, it->size_bytes);
    wire_i64(b, it->mtime);
    wire_str(b, it->comment);
}

int wire_get_item(wire_rd *r, dsrc_item *it)
{
    memset(it, 0, sizeof *it);
    it->struct_size = sizeof *it;
    it->path = wire_get_str(r, NULL);
    it->name = wire_get_str(r, NULL);
    it->kind = (dsrc_item_kind)wire_get_u32(r);
    it->container = wire_get_u8(r);
    it->rows = wire_get_i64(r);
    it->rows_estimated = wire_get_u8(r);
    it->size_bytes = wire_get_i64(r);
    it->mtime = wire_get_i64(r);
    it->comment = wire_get_str(r, NULL);
    return r->bad ? -1 : 0;
}

void wire_put_columns(wire_buf *b, const dsrc_column *c, size_t n)
{
    size_t i;

    wire_u32(b, c ? (uint32_t)n : 0);
    for (i = 0; c && i < n; i++) {
        wire_str(b, c[i].name);
        wire_u32(b, (uint32_t)c[i].type);
        wire_str(b, c[i].native_type);
        wire_u32(b, (uint32_t)c[i].nullable);
        wire_u32(b, (uint32_t)c[i].primary_key);
        wire_str(b, c[i].default_value);
        wire_str(b, c[i].comment);
    }
}

int wire_get_columns(wire_rd *r, wire_arena *a, const dsrc_column **out, size_t *n)
{
    size_t i, k = wire_get_count(r, 20);
    dsrc_column *c = NULL;

    *out = NULL;
    *n = 0;
    if (!r->bad && k && !(c = wire_arena_alloc(a, k, sizeof *c)))
        r->bad = 1;
    for (i = 0; c && i < k && !r->bad; i++) {
        c[i].name = wire_get_str(r, NULL);
        c[i].type = (dsrc_type)wire_get_u32(r);
        c[i].native_type = wire_get_str(r, NULL);
        c[i].nullable = (int)wire_get_u32(r);
        c[i].primary_key = (int)wire_get_u32(r);
        c[i].default_value = wire_get_str(r, NULL);
        c[i].comment = wire_get_str(r, NULL);
    }
    if (r->bad)
        return -1;
    *out = c;
    *n = k;
    return 0;
}

void wire_put_meta(wire_buf *b, const dsrc_metadata *md)
{
    int fks = DSRC_HAS_MEMBER(md, dsrc_metadata, n_foreign_keys) && md->foreign_keys;
    size_t i, n = fks ? md->n_foreign_keys : 0;

    wire_u8(b, md->item ? 1 : 0);
    if (md->item)
        wire_put_item(b, md->item);
    wire_put_columns(b, md->columns, md->n_columns);
    wire_put_kvs(b, md->properties, md->n_properties);
    wire_u32(b, (uint32_t)n);
    for (i = 0; i < n; i++) {
        const dsrc_foreign_key *k = &md->foreign_keys[i];
        wire_str(b, k->name);
        wire_put_strs(b, k->columns, k->n_columns);
        wire_str(b, k->ref_item);
        wire_put_strs(b, k->ref_columns, k->n_columns);
        wire_str(b, k->on_update);
        wire_str(b, k->on_delete);
    }
}

int wire_get_meta(wire_rd *r, wire_arena *a, dsrc_metadata *md, dsrc_item *it)
{
    size_t i, k, nc, nr;
    dsrc_foreign_key *fk = NULL;

    memset(md, 0, sizeof *md);
    md->struct_size = sizeof *md;
    if (wire_get_u8(r)) {
        wire_get_item(r, it);
        md->item = it;
    }
    wire_get_columns(r, a, &md->columns, &md->n_columns);
    md->properties = wire_get_kvs(r, a, &md->n_properties);
    k = wire_get_count(r, 24);
    if (!r->bad && k && !(fk = wire_arena_alloc(a, k, sizeof *fk)))
        r->bad = 1;
    for (i = 0; fk && i < k && !r->bad; i++) {
        fk[i].name = wire_get_str(r, NULL);
        fk[i].columns = wire_get_strs(r, a, &nc);
        fk[i].ref_item = wire_get_str(r, NULL);
        fk[i].ref_columns = wire_get_strs(r, a, &nr);
        fk[i].n_columns = nc < nr ? nc : nr;
        fk[i].on_update = wire_get_str(r, NULL);
        fk[i].on_delete = wire_get_str(r, NULL);
    }
    if (r->bad)
        return -1;
    md->foreign_keys = fk;
    md->n_foreign_keys = fk ? k : 0;
    return 0;
}

void wire_put_row(wire_buf *b, const dsrc_cell *cells, size_t n)
{
    size_t i;

    wire_u32(b, (uint32_t)n);
    for (i = 0; i < n; i++) {
        const dsrc_cell *c = &cells[i];
        wire_u8(b, (uint8_t)c->type);
        switch (c->type) {
        case DSRC_T_NULL:
            break;
        case DSRC_T_BOOL:
            wire_u8(b, c->v.b ? 1 : 0);
            break;
        case DSRC_T_INT64:
            wire_i64(b, c->v.i);
            break;
        case DSRC_T_DOUBLE:
            wire_f64(b, c->v.d);
            break;
        default: /* TEXT, BYTES, TIMESTAMP, JSON, and unknown types as text */
            wire_strn(b, c->v.s.ptr ? c->v.s.ptr : "", c->v.s.ptr ? c->v.s.len : 0);
            break;
        }
    }
}

long wire_get_row(wire_rd *r, dsrc_cell **cells, size_t *cap)
{
    size_t i, n = wire_get_count(r, 1);

    if (r->bad)
        return -1;
    if (n > *cap) {
        dsrc_cell *c = realloc(*cells, n * sizeof *c);
        if (!c)
            return (void)(r->bad = 1), -1;
        *cells = c;
        *cap = n;
    }
    for (i = 0; i < n && !r->bad; i++) {
        dsrc_cell *c = &(*cells)[i];
        memset(c, 0, sizeof *c);
        c->type = (dsrc_type)wire_get_u8(r);
        switch (c->type) {
        case DSRC_T_NULL:
            break;
        case DSRC_T_BOOL:
            c->v.b = wire_get_u8(r);
            break;
        case DSRC_T_INT64:
            c->v.i = wire_get_i64(r);
            break;
        case DSRC_T_DOUBLE:
            c->v.d = wire_get_f64(r);
            break;
        default:
            c->v.s.ptr = wire_get_str(r, &c->v.s.len);
            if (!c->v.s.ptr)
                r->bad = 1;
            break;
        }
    }
    return r->bad ? -1 : (long)n;
}

void wire_put_aws_request(wire_buf *b, const dsrc_aws_request *q)
{
    wire_str(b, q->service);
    wire_str(b, q->region);
    wire_str(b, q->method);
    wire_str(b, q->host);
    wire_str(b, q->path);
    wire_str(b, q->query);
    wire_put_kvs(b, q->headers, q->n_headers);
    wire_str(b, q->payload_hash);
}

int wire_get_aws_request(wire_rd *r, wire_arena *a, dsrc_aws_request *q)
{
    memset(q, 0, sizeof *q);
    q->struct_size = sizeof *q;
    q->service = wire_get_str(r, NULL);
    q->region = wire_get_str(r, NULL);
    q->method = wire_get_str(r, NULL);
    q->host = wire_get_str(r, NULL);
    q->path = wire_get_str(r, NULL);
    q->query = wire_get_str(r, NULL);
    q->headers = wire_get_kvs(r, a, &q->n_headers);
    q->payload_hash = wire_get_str(r, NULL);
    return r->bad ? -1 : 0;
}
