/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_catalog.c -- item paths, listings and describe of the s3 connector
 * (see s3.h): ListBuckets, ListObjectsV2 page by page (continuation token)
 * through an expat parser, the entries to an item sink or, for an
 * incremental fetch, the objects after a cursor collected for s3_fetch.c;
 * describe by HEAD (size, ETag, last modified, storage class, content
 * type, x-amz-meta-*, checksum).
 */
#include "s3.h"

#include <inttypes.h>

#define S3_TEXT_MAX 65536

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

void s3_item_path(dsrc_buf *b, const dsrc_conn *c, const char *bucket, const char *key)
{
    dsrc_buf_add(b, "");
    if (!c->bucket) {
        dsrc_path_add(b, bucket);
        if (*key)
            dsrc_buf_add(b, "/");
    }
    dsrc_path_add_tail(b, key);
}

dsrc_status s3_split(const dsrc_conn *c, const char *path, char **bucket, char **key,
                     dsrc_error *err)
{
    dsrc_path sp;
    dsrc_status st;

    *bucket = *key = NULL;
    if (!path)
        path = "";
    while (*path == '/')
        path++;
    if ((st = dsrc_path_split(path, c->bucket ? 1 : 2, &sp, err)) != DSRC_OK)
        return st;
    if (c->bucket) {
        *bucket = dsrc_strdup(c->bucket);
        *key = dsrc_strdup(sp.n ? sp.part[0] : "");
    } else {
        *bucket = dsrc_strdup(sp.n ? sp.part[0] : "");
        *key = dsrc_strdup(sp.n == 2 ? sp.part[1] : "");
    }
    dsrc_path_free(&sp);
    if (!*bucket || !*key) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Listing                                                                   */

typedef struct s3_lst {
    dsrc_conn *c;
    s3_incr *inc;            /* incremental: collect objects, do not emit   */
    const dsrc_item_sink *sink;
    const char *bucket;      /* the bucket listed (NULL: the buckets)       */
    int depth;
    int in_item;             /* inside <Contents> or <Bucket>               */
    int in_prefix;           /* inside <CommonPrefixes>                     */
    dsrc_buf text;
    int text_over;
    char *name, *etag, *storage_class;
    int64_t size, mtime;
    char *token;             /* NextContinuationToken                       */
    int stop, failed;
    XML_Parser xp;
} s3_lst;

static void s3_list_reset_item(s3_lst *l)
{
    free(l->name);
    free(l->etag);
    free(l->storage_class);
    l->name = l->etag = l->storage_class = NULL;
    l->size = l->mtime = -1;
}

static void XMLCALL s3_list_start(void *u, const XML_Char *name, const XML_Char **atts)
{
    s3_lst *l = u;
    (void)atts;
    l->depth++;
    dsrc_buf_reset(&l->text);
    l->text_over = 0;
    if ((l->depth == 2 && strcmp(name, "Contents") == 0) ||
        (l->depth == 3 && strcmp(name, "Bucket") == 0)) {
        l->in_item = 1;
        s3_list_reset_item(l);
    } else if (l->depth == 2 && strcmp(name, "CommonPrefixes") == 0) {
        l->in_prefix = 1;
        s3_list_reset_item(l);
    }
}

static void XMLCALL s3_list_text(void *u, const XML_Char *s, int len)
{
    s3_lst *l = u;
    if (l->text.len + (size_t)len > S3_TEXT_MAX) {
        l->text_over = 1;
        return;
    }
    dsrc_buf_addn(&l->text, s, (size_t)len);
}

/* Keep the current object for an incremental fetch when it is after the
 * cursor. */
static void s3_list_collect(s3_lst *l)
{
    s3_incr *in = l->inc;

    if (l->in_prefix)
        return;
    if (in->after_mtime >= 0 &&
        (l->mtime < in->after_mtime ||
         (l->mtime == in->after_mtime && strcmp(l->name, in->after_key) <= 0)))
        return;
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        s3_iobj *v = realloc(in->v, cap * sizeof *v);
        if (!v) {
            l->failed = 1;
            XML_StopParser(l->xp, 0);
            return;
        }
        in->v = v;
        in->cap = cap;
    }
    in->v[in->n].mtime = l->mtime;
    in->v[in->n].size = l->size;
    in->v[in->n].key = l->name;
    in->v[in->n].etag = l->etag;
    l->name = l->etag = NULL;
    in->n++;
}

static void s3_list_emit(s3_lst *l)
{
    dsrc_item it;
    dsrc_buf path = {0}, comment = {0};
    char *name = l->name, *last;
    size_t n;

    if (!name || !*name)
        return;
    if (l->inc) {
        s3_list_collect(l);
        return;
    }
    n = strlen(name);
    if (l->in_prefix && n > 0 && name[n - 1] == '/')
        name[--n] = '\0';
    last = strrchr(name, '/');
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    if (!l->bucket) {
        dsrc_path_add(&path, name);
        it.kind = DSRC_ITEM_CONTAINER;
        it.container = 1;
    } else {
        s3_item_path(&path, l->c, l->bucket, name);
        it.kind = l->in_prefix ? DSRC_ITEM_DIRECTORY : DSRC_ITEM_BLOB;
        it.container = l->in_prefix;
    }
    if (l->storage_class && *l->storage_class)
        dsrc_buf_add(&comment, l->storage_class);
    if (l->etag && *l->etag) {
        dsrc_buf_add(&comment, comment.len ? "; etag " : "etag ");
        dsrc_buf_add(&comment, l->etag);
    }
    if (path.failed || comment.failed) {
        l->failed = 1;
        XML_StopParser(l->xp, 0);
    } else {
        it.path = path.s;
        it.name = last ? last + 1 : name;
        it.rows = -1;
        it.size_bytes = l->in_prefix || !l->bucket ? -1 : l->size;
        it.mtime = l->mtime;
        it.comment = comment.s;
        if (l->sink->item(l->sink->user, &it) != 0) {
            l->stop = 1;
            XML_StopParser(l->xp, 0);
        }
    }
    dsrc_buf_free(&path);
    dsrc_buf_free(&comment);
}

static void s3_keep(char **dst, const char *t)
{
    free(*dst);
    *dst = dsrc_strdup(t);
}

static void XMLCALL s3_list_end(void *u, const XML_Char *name)
{
    s3_lst *l = u;
    const char *t = l->text.s ? l->text.s : "";
    int top = l->bucket ? 2 : 3; /* the depth of <Contents> or <Bucket> */

    if ((l->in_item || l->in_prefix) && l->depth == top) {
        s3_list_emit(l);
        l->in_item = l->in_prefix = 0;
        s3_list_reset_item(l);
    } else if (l->in_item || l->in_prefix) {
        if ((strcmp(name, "Key") == 0 || strcmp(name, "Name") == 0 ||
             strcmp(name, "Prefix") == 0) && !l->text_over)
            s3_keep(&l->name, t);
        else if (strcmp(name, "LastModified") == 0 || strcmp(name, "CreationDate") == 0)
            l->mtime = s3_time(t);
        else if (strcmp(name, "ETag") == 0)
            s3_keep(&l->etag, t);
        else if (strcmp(name, "StorageClass") == 0)
            s3_keep(&l->storage_class, t);
        else if (strcmp(name, "Size") == 0)
            l->size = *t ? strtoll(t, NULL, 10) : -1;
    } else if (l->depth == 2 && strcmp(name, "NextContinuationToken") == 0) {
        free(l->token);
        l->token = *t ? dsrc_strdup(t) : NULL;
    }
    dsrc_buf_reset(&l->text);
    l->depth--;
}

/* One page: the parser set up, the request sent, the page's outcome. */
static dsrc_status s3_list_page(const dsrc_ctx *ctx, s3_lst *l, const char *bucket,
                                const s3_pair *q, size_t nq, const char *what,
                                dsrc_error *err)
{
    s3_resp r;
    dsrc_status st;

    memset(&r, 0, sizeof r);
    if (!(l->xp = XML_ParserCreate("UTF-8")))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    XML_SetUserData(l->xp, l);
    XML_SetElementHandler(l->xp, s3_list_start, s3_list_end);
    XML_SetCharacterDataHandler(l->xp, s3_list_text);
    l->depth = 0;
    free(l->token);
    l->token = NULL;
    r.body = S3_BODY_XML;
    r.xp = l->xp;
    st = s3_request(ctx, l->c, "GET", bucket, NULL, q, nq, NULL, NULL, 0, &r, what, err);
    if (l->stop)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver", what);
    else if (l->failed)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
    XML_ParserFree(l->xp);
    l->xp = NULL;
    if (st == DSRC_OK && l->inc && l->inc->until < 0 && (l->inc->until = s3_time(r.date)) < 0)
        st = dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                            "%s: the service sent no valid Date header, so the listing's "
                            "time (which bounds an incremental fetch) is unknown", what);
    s3_resp_free(&r);
    return st;
}

dsrc_status s3_list_run(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                        const dsrc_item_sink *sink, s3_incr *inc, dsrc_error *err)
{
    char *bucket = NULL, *prefix = NULL, *token = NULL;
    char page[32];
    dsrc_buf what = {0};
    s3_lst l;
    dsrc_status st;

    memset(&l, 0, sizeof l);
    if (!inc && (!sink || !sink->item))
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "list: no item sink");
    if ((st = s3_split(c, path, &bucket, &prefix, err)) != DSRC_OK)
        return st;
    if (*prefix && prefix[strlen(prefix) - 1] != '/') {
        char *p = NULL;
        if (asprintf(&p, "%s/", prefix) < 0)
            p = NULL;
        free(prefix);
        prefix = p;
    }
    if (*bucket)
        dsrc_buf_printf(&what, "list '%s/%s'", bucket, prefix ? prefix : "");
    else
        dsrc_buf_add(&what, "list buckets");
    if (!prefix || what.failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    snprintf(page, sizeof page, "%ld", c->page_size);
    l.c = c;
    l.sink = sink;
    l.inc = inc;
    l.bucket = *bucket ? bucket : NULL;
    l.size = l.mtime = -1;
    do {
        s3_pair q[5]; /* sorted by name, as SigV4 signs them */
        size_t nq = 0;
        if (s3_cancelled(ctx, c)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what.s);
            break;
        }
        if (*bucket) {
            if (token) {
                q[nq].name = "continuation-token";
                q[nq++].value = token;
            }
            if (!inc) {
                q[nq].name = "delimiter";
                q[nq++].value = "/";
            }
            q[nq].name = "list-type";
            q[nq++].value = "2";
            q[nq].name = "max-keys";
            q[nq++].value = page;
            if (*prefix) {
                q[nq].name = "prefix";
                q[nq++].value = prefix;
            }
        }
        st = s3_list_page(ctx, &l, bucket, q, nq, what.s, err);
        free(token);
        token = l.token;
        l.token = NULL;
    } while (st == DSRC_OK && token && *bucket);
out:
    s3_list_reset_item(&l);
    dsrc_buf_free(&l.text);
    free(l.token);
    free(token);
    free(bucket);
    free(prefix);
    dsrc_buf_free(&what);
    return st;
}

dsrc_status s3_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err)
{
    atomic_store(&c->cancel, 0);
    return s3_list_run(ctx, c, path, sink, NULL, err);
}

/* ------------------------------------------------------------------------ */
/* Describe                                                                  */

dsrc_status s3_head(const dsrc_ctx *ctx, dsrc_conn *c, const char *bucket, const char *key,
                    s3_resp *r, const char *what, dsrc_error *err)
{
    if (!*bucket)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "%s: give a bucket or bucket/key", what);
    r->body = S3_BODY_NONE;
    return s3_request(ctx, c, "HEAD", bucket, *key ? key : NULL, NULL, 0, NULL, NULL, *key != 0,
                      r, what, err);
}

typedef struct s3_props {
    dsrc_kv kv[48];
    size_t n;
    char iso_mtime[32], size[32], sumkey[32];
    dsrc_buf metakeys[32];
} s3_props;

static void s3_prop(s3_props *p, const char *k, const char *v)
{
    if (k && v && *v && p->n < sizeof p->kv / sizeof p->kv[0]) {
        p->kv[p->n].key = k;
        p->kv[p->n].value = v;
        p->n++;
    }
}

/* The properties of a HEAD answer (size, etag, ..., meta.NAME). */
static void s3_props_fill(s3_props *pr, const s3_resp *r, int object, int64_t mtime)
{
    size_t i;

    if (object) {
        snprintf(pr->size, sizeof pr->size, "%" PRId64, r->content_length);
        s3_prop(pr, "size", pr->size);
        s3_prop(pr, "content_type", r->content_type);
        s3_prop(pr, "content_encoding", r->content_encoding);
        s3_prop(pr, "storage_class", r->storage_class[0] ? r->storage_class : "STANDARD");
        s3_prop(pr, "etag", r->etag);
        if (r->checksum_name[0]) {
            snprintf(pr->sumkey, sizeof pr->sumkey, "checksum_%s", r->checksum_name);
            s3_prop(pr, pr->sumkey, r->checksum);
        }
    }
    s3_iso(mtime, pr->iso_mtime, sizeof pr->iso_mtime);
    s3_prop(pr, "last_modified", pr->iso_mtime);
    s3_prop(pr, "region", r->region);
    for (i = 0; i < r->n_meta && i < sizeof pr->metakeys / sizeof pr->metakeys[0]; i++) {
        dsrc_buf_printf(&pr->metakeys[i], "meta.%s", r->meta[i].key);
        s3_prop(pr, pr->metakeys[i].failed ? NULL : pr->metakeys[i].s, r->meta[i].value);
    }
}

dsrc_status s3_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    char *bucket = NULL, *key = NULL;
    dsrc_buf what = {0}, path = {0};
    s3_props *pr = NULL;
    s3_resp r;
    dsrc_item it;
    dsrc_metadata md;
    dsrc_status st;
    size_t i, n;

    memset(&r, 0, sizeof r);
    atomic_store(&c->cancel, 0);
    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "describe: no sink");
    if ((st = s3_split(c, item, &bucket, &key, err)) != DSRC_OK)
        return st;
    for (n = strlen(key); n > 0 && key[n - 1] == '/';)
        key[--n] = '\0';
    dsrc_buf_printf(&what, "describe '%s'", item ? item : "");
    s3_item_path(&path, c, bucket, key);
    pr = calloc(1, sizeof *pr);
    if (what.failed || path.failed || !pr) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    if ((st = s3_head(ctx, c, bucket, key, &r, what.s, err)) != DSRC_OK)
        goto out;
    if (r.meta_failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    it.path = path.s;
    it.name = *key ? (strrchr(key, '/') ? strrchr(key, '/') + 1 : key) : bucket;
    it.kind = *key ? DSRC_ITEM_BLOB : DSRC_ITEM_CONTAINER;
    it.container = !*key;
    it.rows = -1;
    it.size_bytes = *key ? r.content_length : -1;
    it.mtime = s3_time(r.last_modified);
    s3_props_fill(pr, &r, *key != 0, it.mtime);
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.properties = pr->kv;
    md.n_properties = pr->n;
    if (sink->metadata(sink->user, &md) != 0)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver",
                            what.s);
out:
    if (pr)
        for (i = 0; i < sizeof pr->metakeys / sizeof pr->metakeys[0]; i++)
            dsrc_buf_free(&pr->metakeys[i]);
    free(pr);
    s3_resp_free(&r);
    dsrc_buf_free(&what);
    dsrc_buf_free(&path);
    free(bucket);
    free(key);
    return st;
}
