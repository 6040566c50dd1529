/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hp_page.c -- the pages of one item.
 *
 * The first URL is base_url + path + '?' + the item's query, the paging
 * parameters and, for an incremental fetch, since_param=<cursor value>.
 * Then, by paging style:
 *   none    one request;
 *   page    page_param = 1, 2, ... with limit_param = page_size, until a
 *           page holds fewer than page_size records;
 *   offset  offset_param = 0, n, 2n, ... with limit_param = page_size,
 *           the same way;
 *   cursor  the token at the JSON pointer `next` of each body is sent back
 *           as cursor_param, until it is absent, null or "";
 *   link    the first request as `page`, then the Link header's
 *           rel="next" URL until there is none; a next URL outside
 *           base_url's origin is refused (it would receive the
 *           credentials).
 * Each body is parsed, handed over and freed before the next request: one
 * page in memory at a time.
 */
#include "hp.h"

json_t *hp_pointer(json_t *doc, const char *ptr)
{
    char tok[512];

    while (doc && *ptr == '/') {
        size_t n = 0;
        const char *p = ptr + 1;

        for (; *p && *p != '/' && n + 1 < sizeof tok; p++) {
            if (*p == '~' && (p[1] == '0' || p[1] == '1')) {
                tok[n++] = p[1] == '0' ? '~' : '/';
                p++;
            } else {
                tok[n++] = *p;
            }
        }
        tok[n] = '\0';
        ptr = p;
        if (json_is_object(doc)) {
            doc = json_object_get(doc, tok);
        } else if (json_is_array(doc)) {
            char *end;
            unsigned long i = strtoul(tok, &end, 10);
            doc = n && !*end ? json_array_get(doc, i) : NULL;
        } else {
            doc = NULL;
        }
    }
    return *ptr ? NULL : doc;
}

/* Append "name=value" (value escaped) to a URL being built. */
static void hp_param(dsrc_buf *u, int *first, const char *name, const char *value)
{
    dsrc_buf_add(u, *first ? "?" : "&");
    *first = 0;
    hp_add_escaped(u, name);
    dsrc_buf_add(u, "=");
    hp_add_escaped(u, value);
}

/* The URL of the page: `pageno` (from 1), `offset`, `token` as the style
 * wants. */
static void hp_url(dsrc_buf *u, const dsrc_conn *c, const hp_item *it, const char *since,
                   long pageno, long long offset, const char *token)
{
    char num[32];
    int first = 1;

    dsrc_buf_reset(u);
    dsrc_buf_add(u, c->base);
    dsrc_buf_add(u, it->path);
    if (it->query && *it->query) {
        dsrc_buf_add(u, "?");
        dsrc_buf_add(u, it->query);
        first = 0;
    }
    if (since)
        hp_param(u, &first, it->since_param, since);
    switch (it->paging) {
    case HP_PAGE_NUMBER:
    case HP_PAGE_LINK:
        snprintf(num, sizeof num, "%ld", pageno);
        hp_param(u, &first, it->page_param, num);
        break;
    case HP_PAGE_OFFSET:
        snprintf(num, sizeof num, "%lld", offset);
        hp_param(u, &first, it->offset_param, num);
        break;
    case HP_PAGE_CURSOR:
        if (token)
            hp_param(u, &first, it->cursor_param, token);
        break;
    case HP_PAGE_NONE:
        return;
    }
    snprintf(num, sizeof num, "%ld", it->page_size);
    hp_param(u, &first, it->limit_param, num);
}

/* The next page's cursor token at `next` in doc into *tok (malloc'd), NULL
 * when the walk is over.  -1 when out of memory. */
static int hp_token_of(json_t *doc, const char *next, char **tok)
{
    json_t *v = hp_pointer(doc, next);
    char num[32];

    *tok = NULL;
    if (json_is_string(v) && json_string_length(v))
        *tok = dsrc_strdup(json_string_value(v));
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)),
            *tok = dsrc_strdup(num);
    else
        return 0;
    return *tok ? 0 : -1;
}

dsrc_status hp_pages(const dsrc_ctx *ctx, dsrc_conn *c, const hp_item *it, const char *since,
                     long max_pages, hp_page_fn fn, void *user, dsrc_error *err)
{
    dsrc_buf url = {0};
    hp_resp r;
    char *token = NULL, what[400];
    long pageno = 1;
    long long offset = 0;
    dsrc_status st = DSRC_OK;

    memset(&r, 0, sizeof r);
    hp_url(&url, c, it, since, 1, 0, NULL);
    for (;; pageno++) {
        json_t *doc = NULL, *recs;
        size_t n;
        int more, rc;

        if (url.failed) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
        if (hp_cancelled(ctx, c)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "item '%s': cancelled",
                                it->name);
            break;
        }
        snprintf(what, sizeof what, "item '%s' page %ld", it->name, pageno);
        if ((st = hp_get(ctx, c, url.s, it->rate_limit, &r, what, err)) != DSRC_OK ||
            (st = hp_parse(&r, &doc, what, err)) != DSRC_OK)
            break;
        dsrc_buf_free(&r.body);
        recs = hp_pointer(doc, it->records);
        if (!json_is_array(recs)) {
            st = dsrc_error_set(err, DSRC_E_BACKEND, 0, "json",
                                "%s: no array of records at the JSON pointer '%s' (check "
                                "the item's records=)",
                                what, it->records);
            json_decref(doc);
            break;
        }
        n = json_array_size(recs);
        rc = fn(user, recs, err);
        if (rc != DSRC_OK) {
            json_decref(doc);
            if (rc != HP_STOP)
                st = (dsrc_status)rc;
            break;
        }
        switch (it->paging) {
        case HP_PAGE_NUMBER:
        case HP_PAGE_OFFSET:
            more = n > 0 && (long)n >= it->page_size;
            offset += (long long)n;
            hp_url(&url, c, it, since, pageno + 1, offset, NULL);
            break;
        case HP_PAGE_CURSOR:
            free(token);
            if (hp_token_of(doc, it->next, &token) < 0)
                url.failed = 1;
            more = token != NULL && n > 0;
            hp_url(&url, c, it, since, 0, 0, token);
            break;
        case HP_PAGE_LINK:
            more = r.next[0] != '\0' && n > 0;
            if (more && strncmp(r.next, c->origin, strlen(c->origin)) != 0 &&
                r.next[0] != '/') {
                json_decref(doc);
                st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                                    "%s: the Link header's next page is outside %s; not "
                                    "followed (it would receive the credentials)",
                                    what, c->origin);
                goto out;
            }
            dsrc_buf_reset(&url);
            if (r.next[0] == '/')
                dsrc_buf_add(&url, c->origin);
            dsrc_buf_add(&url, r.next);
            break;
        default:
            more = 0;
            break;
        }
        json_decref(doc);
        if (!more || (max_pages > 0 && pageno >= max_pages))
            break;
    }
out:
    free(token);
    hp_resp_free(&r);
    dsrc_buf_free(&url);
    return st;
}
