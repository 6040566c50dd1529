/* SPDX-License-Identifier: Apache-2.0 */
/*
 * az_list.c -- item paths and listings of the azure_blob connector (see
 * az.h): splitting an item path into container and blob, List Containers
 * and List Blobs page by page (NextMarker) through an expat parser, the
 * entries to an item sink or, for an incremental fetch, the blobs after a
 * cursor collected for az_fetch.c.
 */
#include "az.h"

#define AZ_TEXT_MAX 65536

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

/* Append the item path of blob (or directory) `name` of `container` to
 * `b`: "container/name", or "name" with a fixed container (the container
 * alone for an empty name); the name's '%' escaped, its '/' kept. */
void az_item_path(dsrc_buf *b, const dsrc_conn *c, const char *container,
                  const char *name)
{
    dsrc_buf_add(b, "");
    if (!c->container) {
        dsrc_path_add(b, container);
        if (*name)
            dsrc_buf_add(b, "/");
    }
    dsrc_path_add_tail(b, name);
}

/* Split an item path into container and the rest (both malloc'd, decoded:
 * see dsrc_path_split()).  With a fixed container the whole path is the
 * rest.  Leading '/' are ignored.  DSRC_OK, or INVALID_ARGUMENT for a
 * malformed escape, or INTERNAL. */
dsrc_status az_split(const dsrc_conn *c, const char *path, char **container, char **rest,
                     dsrc_error *err)
{
    dsrc_path sp;
    dsrc_status st;
    *container = *rest = NULL;
    if (!path)
        path = "";
    while (*path == '/')
        path++;
    st = dsrc_path_split(path, c->container ? 1 : 2, &sp, err);
    if (st != DSRC_OK)
        return st;
    if (c->container) {
        *container = dsrc_strdup(c->container);
        *rest = dsrc_strdup(sp.n ? sp.part[0] : "");
    } else {
        *container = dsrc_strdup(sp.n ? sp.part[0] : "");
        *rest = dsrc_strdup(sp.n == 2 ? sp.part[1] : "");
    }
    dsrc_path_free(&sp);
    if (!*container || !*rest) {
        free(*container);
        free(*rest);
        *container = *rest = NULL;
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    return DSRC_OK;
}

/* "/container" or "/container/blob", percent-encoded. */
char *az_res_path(const char *container, const char *blob)
{
    char *ec = az_url_encode(container, 0), *eb = blob ? az_url_encode(blob, 1) : NULL;
    size_t n;
    char *out = NULL;
    if (ec && (!blob || eb)) {
        n = strlen(ec) + (eb ? strlen(eb) : 0) + 3;
        out = malloc(n);
        if (out)
            snprintf(out, n, "/%s%s%s", ec, eb ? "/" : "", eb ? eb : "");
    }
    free(ec);
    free(eb);
    return out;
}

/* ------------------------------------------------------------------------ */
/* Listing                                                                   */

typedef struct az_lst {
    dsrc_conn *c;
    az_incr *inc;            /* incremental: collect blobs, do not emit     */
    const dsrc_item_sink *sink;
    const char *container;   /* the container listed (NULL: containers)     */
    int depth;
    int in_item;             /* inside <Blob> or <Container>                */
    int in_prefix;           /* inside <BlobPrefix>                         */
    dsrc_buf text;
    int text_over;
    char *name;
    char *content_type;
    char *etag;
    char *content_md5;
    int64_t size;
    int64_t mtime;
    char *next_marker;
    uint64_t count;
    int stop;
    int failed;
    XML_Parser xp;           /* the parser of the page being read           */
} az_lst;

static void az_list_reset_item(az_lst *l)
{
    free(l->name);
    free(l->content_type);
    free(l->etag);
    free(l->content_md5);
    l->name = l->content_type = l->etag = l->content_md5 = NULL;
    l->size = -1;
    l->mtime = -1;
}

static void XMLCALL az_list_start(void *u, const XML_Char *name, const XML_Char **atts)
{
    az_lst *l = u;
    (void)atts;
    l->depth++;
    dsrc_buf_reset(&l->text);
    l->text_over = 0;
    if (l->depth == 3 && (strcmp(name, "Blob") == 0 || strcmp(name, "Container") == 0)) {
        l->in_item = 1;
        az_list_reset_item(l);
    } else if (l->depth == 3 && strcmp(name, "BlobPrefix") == 0) {
        l->in_prefix = 1;
        az_list_reset_item(l);
    }
}

static void XMLCALL az_list_text(void *u, const XML_Char *s, int len)
{
    az_lst *l = u;
    if (l->text.len + (size_t)len > AZ_TEXT_MAX) {
        l->text_over = 1;
        return;
    }
    dsrc_buf_addn(&l->text, s, (size_t)len);
}

static void az_list_emit(az_lst *l, XML_Parser p)
{
    dsrc_item it;
    dsrc_buf path = {0}, comment = {0};
    char *name = l->name, *last;
    size_t n;

    if (!name || !*name)
        return;
    if (l->inc) {
        az_incr *in = l->inc;
        int after;
        if (l->in_prefix)
            return;
        after = in->after_mtime < 0 || l->mtime > in->after_mtime ||
                (l->mtime == in->after_mtime && strcmp(name, in->after_name) > 0);
        if (!after)
            return;
        if (in->n == in->cap) {
            size_t cap = in->cap ? in->cap * 2 : 64;
            az_iblob *v = realloc(in->v, cap * sizeof *v);
            if (!v) {
                l->failed = 1;
                XML_StopParser(p, 0);
                return;
            }
            in->v = v;
            in->cap = cap;
        }
        in->v[in->n].mtime = l->mtime;
        in->v[in->n].size = l->size;
        in->v[in->n].name = l->name;
        in->v[in->n].etag = l->etag;
        in->v[in->n].md5 = l->content_md5 && *l->content_md5 ? l->content_md5 : NULL;
        if (!in->v[in->n].md5)
            free(l->content_md5);
        l->name = l->etag = l->content_md5 = NULL;
        in->n++;
        return;
    }
    n = strlen(name);
    if (l->in_prefix && n > 0 && name[n - 1] == '/')
        name[--n] = '\0';
    last = strrchr(name, '/');
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    if (!l->container) {
        dsrc_path_add(&path, name);
        it.kind = DSRC_ITEM_CONTAINER;
        it.container = 1;
    } else {
        az_item_path(&path, l->c, l->container, name);
        it.kind = l->in_prefix ? DSRC_ITEM_DIRECTORY : DSRC_ITEM_BLOB;
        it.container = l->in_prefix;
    }
    if (l->content_type && *l->content_type)
        dsrc_buf_add(&comment, l->content_type);
    if (l->etag && *l->etag) {
        dsrc_buf_add(&comment, comment.len ? "; etag " : "etag ");
        dsrc_buf_add(&comment, l->etag);
    }
    if (path.failed || comment.failed) {
        l->failed = 1;
        XML_StopParser(p, 0);
    } else {
        it.path = path.s;
        it.name = last ? last + 1 : name;
        it.rows = -1;
        it.size_bytes = l->in_prefix ? -1 : l->size;
        it.mtime = l->mtime;
        it.comment = comment.s;
        if (l->sink->item(l->sink->user, &it) != 0) {
            l->stop = 1;
            XML_StopParser(p, 0);
        }
        l->count++;
    }
    free(path.s);
    free(comment.s);
}

static void XMLCALL az_list_end(void *u, const XML_Char *name)
{
    az_lst *l = u;
    const char *t = l->text.s ? l->text.s : "";

    if (l->in_item || l->in_prefix) {
        if (l->depth == 3) {
            az_list_emit(l, l->xp);
            l->in_item = l->in_prefix = 0;
            az_list_reset_item(l);
        } else if (strcmp(name, "Name") == 0 && l->depth == 4 && !l->text_over) {
            free(l->name);
            l->name = dsrc_strdup(t);
        } else if (strcmp(name, "Last-Modified") == 0) {
            l->mtime = az_http_time(t);
        } else if (strcmp(name, "Etag") == 0) {
            free(l->etag);
            l->etag = dsrc_strdup(t);
        } else if (strcmp(name, "Content-Length") == 0) {
            l->size = *t ? strtoll(t, NULL, 10) : -1;
        } else if (strcmp(name, "Content-MD5") == 0) {
            free(l->content_md5);
            l->content_md5 = dsrc_strdup(t);
        } else if (strcmp(name, "Content-Type") == 0) {
            free(l->content_type);
            l->content_type = dsrc_strdup(t);
        }
    } else if (l->depth == 2 && strcmp(name, "NextMarker") == 0) {
        free(l->next_marker);
        l->next_marker = *t ? dsrc_strdup(t) : NULL;
    }
    dsrc_buf_reset(&l->text);
    l->depth--;
}

dsrc_status az_list_run(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                        const dsrc_item_sink *sink, az_incr *inc, dsrc_error *err)
{
    char *container = NULL, *prefix = NULL, *res = NULL, *marker = NULL, *what = NULL;
    char page[32];
    az_lst l;
    az_resp r;
    dsrc_status st = DSRC_OK;
    XML_Parser xp = NULL;

    memset(&l, 0, sizeof l);
    memset(&r, 0, sizeof r);
    if (!inc && (!sink || !sink->item))
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "list: no item sink");
    st = az_split(c, path, &container, &prefix, err);
    if (st != DSRC_OK)
        return st;
    if (*prefix && prefix[strlen(prefix) - 1] != '/') {
        size_t n = strlen(prefix);
        char *p = realloc(prefix, n + 2);
        if (!p) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        prefix = p;
        prefix[n] = '/';
        prefix[n + 1] = '\0';
    }
    if (*container) {
        res = az_res_path(container, NULL);
        if (asprintf(&what, "list '%s/%s'", container, prefix) < 0)
            what = NULL;
    } else {
        res = dsrc_strdup("/");
        what = dsrc_strdup("list containers");
    }
    if (!res || !what) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    snprintf(page, sizeof page, "%ld", c->page_size);
    l.c = c;
    l.sink = sink;
    l.inc = inc;
    l.container = *container ? container : NULL;
    l.size = l.mtime = -1;
    do {
        az_pair q[6];
        size_t nq = 0;
        if (az_cancelled(ctx, c)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
            break;
        }
        if (*container) {
            q[nq].name = "restype";
            q[nq++].value = "container";
        }
        q[nq].name = "comp";
        q[nq++].value = "list";
        if (*container) {
            if (!inc) {
                q[nq].name = "delimiter";
                q[nq++].value = "/";
            }
            if (*prefix) {
                q[nq].name = "prefix";
                q[nq++].value = prefix;
            }
        }
        q[nq].name = "maxresults";
        q[nq++].value = page;
        if (marker) {
            q[nq].name = "marker";
            q[nq++].value = marker;
        }
        xp = XML_ParserCreate("UTF-8");
        if (!xp) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
        l.xp = xp;
        XML_SetUserData(xp, &l);
        XML_SetElementHandler(xp, az_list_start, az_list_end);
        XML_SetCharacterDataHandler(xp, az_list_text);
        l.depth = 0;
        free(l.next_marker);
        l.next_marker = NULL;
        r.body = AZ_BODY_XML;
        r.xp = xp;
        r.fetch = NULL;
        st = az_request(ctx, c, "GET", res, q, nq, NULL, NULL, &r, what, err);
        if (l.stop) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver",
                                what);
        } else if (l.failed) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
        }
        XML_ParserFree(xp);
        xp = NULL;
        if (st == DSRC_OK && inc && inc->until < 0 && (inc->until = az_http_time(r.date)) < 0)
            st = dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                                "%s: the service sent no valid Date header, so the listing's "
                                "time (which bounds an incremental fetch) is unknown", what);
        az_resp_free(&r);
        if (st != DSRC_OK)
            break;
        free(marker);
        marker = l.next_marker;
        l.next_marker = NULL;
    } while (marker);
out:
    az_list_reset_item(&l);
    free(l.next_marker);
    free(l.text.s);
    free(marker);
    free(container);
    free(prefix);
    free(res);
    free(what);
    return st;
}

/* The driver's list. */
dsrc_status az_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err)
{
    atomic_store(&c->cancel, 0);
    return az_list_run(ctx, c, path, sink, NULL, err);
}
