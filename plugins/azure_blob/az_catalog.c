/* SPDX-License-Identifier: Apache-2.0 */
/*
 * az_catalog.c -- describe for the azure_blob connector (see az.h): Get
 * Blob Properties (or Get Container Properties) by HEAD, its headers and
 * x-ms-meta-* as the item's properties.  az_head() serves fetch too.
 */
#include "az.h"

#include <inttypes.h>

/* ------------------------------------------------------------------------ */
/* Describe                                                                  */

typedef struct az_props {
    dsrc_kv kv[32];
    size_t n;
    char iso_mtime[32], iso_ctime[32], size[32];
} az_props;

static void az_prop(az_props *p, const char *k, const char *v)
{
    if (v && *v && p->n < sizeof p->kv / sizeof p->kv[0]) {
        p->kv[p->n].key = k;
        p->kv[p->n].value = v;
        p->n++;
    }
}

/* HEAD the blob (or the container when blob is ""): fills r. */
dsrc_status az_head(const dsrc_ctx *ctx, dsrc_conn *c, const char *container,
                    const char *blob, az_resp *r, const char *what, dsrc_error *err)
{
    char *res;
    dsrc_status st;
    az_pair q[1] = {{"restype", "container"}};

    if (!*container)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "%s: give a container or container/blob", what);
    res = az_res_path(container, *blob ? blob : NULL);
    if (!res)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    r->body = AZ_BODY_NONE;
    st = az_request(ctx, c, "HEAD", res, q, *blob ? 0 : 1, NULL, NULL, r, what, err);
    free(res);
    return st;
}

dsrc_status az_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    char *container = NULL, *blob = NULL, *what = NULL, *path = NULL;
    char md5hex[33] = "";
    az_props *pr = NULL;
    dsrc_buf *metakeys = NULL;
    az_resp r;
    dsrc_item it;
    dsrc_metadata md;
    dsrc_status st;
    size_t i;
    int64_t t;

    memset(&r, 0, sizeof r);
    atomic_store(&c->cancel, 0);
    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "describe: no sink");
    st = az_split(c, item, &container, &blob, err);
    if (st != DSRC_OK)
        return st;
    if (asprintf(&what, "describe '%s'", item ? item : "") < 0)
        what = NULL;
    pr = calloc(1, sizeof *pr);
    if (!what || !pr) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    {
        size_t n = strlen(blob);
        while (n > 0 && blob[n - 1] == '/')
            blob[--n] = '\0';
    }
    st = az_head(ctx, c, container, blob, &r, what, err);
    if (st != DSRC_OK)
        goto out;
    {
        dsrc_buf pb = {0};
        az_item_path(&pb, c, container, blob);
        if (pb.failed)
            dsrc_buf_free(&pb);
        path = pb.s;
    }
    if (!path) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    it.path = path;
    it.name = *blob ? (strrchr(blob, '/') ? strrchr(blob, '/') + 1 : blob) : container;
    it.kind = *blob ? DSRC_ITEM_BLOB : DSRC_ITEM_CONTAINER;
    it.container = !*blob;
    it.rows = -1;
    it.size_bytes = *blob ? r.content_length : -1;
    it.mtime = az_http_time(r.last_modified);
    if (*blob) {
        snprintf(pr->size, sizeof pr->size, "%" PRId64, r.content_length);
        az_prop(pr, "size", pr->size);
        az_prop(pr, "content_type", r.content_type);
        az_prop(pr, "content_md5", r.content_md5);
        if (r.content_md5[0]) {
            unsigned char d[16];
            if (az_unb64(r.content_md5, d, sizeof d) == 16) {
                for (i = 0; i < 16; i++)
                    snprintf(md5hex + 2 * i, 3, "%02x", d[i]);
                az_prop(pr, "md5", md5hex);
            }
        }
        az_prop(pr, "content_encoding", r.content_encoding);
        az_prop(pr, "blob_type", r.blob_type);
        az_prop(pr, "access_tier", r.access_tier);
    }
    az_prop(pr, "etag", r.etag);
    az_iso(it.mtime, pr->iso_mtime, sizeof pr->iso_mtime);
    az_prop(pr, "last_modified", pr->iso_mtime);
    t = az_http_time(r.creation_time);
    az_iso(t, pr->iso_ctime, sizeof pr->iso_ctime);
    az_prop(pr, "creation_time", pr->iso_ctime);
    az_prop(pr, "lease_state", r.lease_state);
    metakeys = calloc(r.n_meta ? r.n_meta : 1, sizeof *metakeys);
    if (!metakeys || r.meta_failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < r.n_meta; i++) {
        dsrc_buf_add(&metakeys[i], "meta.");
        dsrc_buf_add(&metakeys[i], r.meta[i].key);
        if (metakeys[i].failed) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        az_prop(pr, metakeys[i].s, r.meta[i].value);
    }
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.properties = pr->kv;
    md.n_properties = pr->n;
    if (sink->metadata(sink->user, &md) != 0)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver", what);
out:
    if (metakeys) {
        for (i = 0; i < r.n_meta; i++)
            free(metakeys[i].s);
        free(metakeys);
    }
    az_resp_free(&r);
    free(pr);
    free(path);
    free(what);
    free(container);
    free(blob);
    return st;
}
