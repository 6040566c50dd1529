/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pgc_catalog.c -- item paths, list, describe and discover from the
 * system catalogs.
 *
 * Items: ""            the schemas (system schemas left out)
 *        "public"      its tables, views, materialized views, foreign and
 *                      partitioned tables, with estimated rows (reltuples)
 *                      and size (relpages of the table, its TOAST table and
 *                      indexes): read from pg_class without touching the
 *                      relations, so no lock is taken however many there are
 *        "public/t"    a relation.  A bare "t" means the relation t of the
 *                      current schema (the first of search_path), and
 *                      "public.t" is accepted when no relation has that
 *                      literal name.
 * Names holding '/' or '%' are written %2F and %25 in every path printed
 * and decoded in every path read (<dsrc/plugin_util.h>): the table t of
 * the schema we"ird/schema is "we\"ird%2Fschema/t".
 *
 * describe reads one relation with its exact total size
 * (pg_total_relation_size), owner, indexes and view definition.  discover
 * reads the whole catalog (or one schema) in one query, sorted by schema,
 * relation and column number, and streams one metadata record per
 * relation as its last column arrives.  Both take a relation's foreign
 * keys from the same query: one text array per relation (PGC_FK_ARRAY).
 * A discover of a schema small beside its database, a batch and a single
 * relation go through the catalogs' indexes from the relations they keep
 * (PGC_COL_JOINS_NARROW): their cost follows what is asked, not the size
 * of the database.
 * A conservative discover (the request's mode hint) reads the same catalog
 * PGC_DISC_BATCH relations at a time, in (schema, relation) order, one
 * query per batch, with a pause of PGC_DISC_PAUSE_MS between batches; a
 * balanced or aggressive one reads it in its one query.
 */
#include "pgc.h"

#include <inttypes.h>

/* Relations that are items. */
#define PGC_RELKINDS "c.relkind IN ('r', 'v', 'm', 'f', 'p')"

/* Schemas shown unless system items are asked for. */
#define PGC_USER_SCHEMA(n)                                                    \
    n ".nspname NOT IN ('pg_catalog', 'information_schema') AND " n          \
    ".nspname !~ '^pg_(toast|temp_)'"

/* Estimated rows: reltuples (-1 before the first VACUUM or ANALYZE); for a
 * partitioned table the sum over its partitions. */
#define PGC_EST_ROWS                                                          \
    "(CASE WHEN c.relkind = 'p' THEN coalesce((SELECT CASE WHEN"             \
    " bool_or(ch.reltuples < 0) THEN -1 ELSE sum(ch.reltuples) END FROM"     \
    " pg_catalog.pg_inherits i JOIN pg_catalog.pg_class ch ON ch.oid ="      \
    " i.inhrelid WHERE i.inhparent = c.oid), -1) WHEN c.relkind IN ('r', 'm')" \
    " AND c.reltuples >= 0 THEN c.reltuples ELSE -1 END)::bigint"

/* Estimated size: pages of the table, its TOAST table and its indexes. */
#define PGC_EST_SIZE                                                          \
    "(CASE WHEN c.relkind IN ('r', 'm') AND c.reltuples >= 0 THEN"           \
    " (c.relpages::bigint + coalesce((SELECT t.relpages FROM"                \
    " pg_catalog.pg_class t WHERE t.oid = c.reltoastrelid), 0) +"            \
    " coalesce((SELECT sum(ic.relpages) FROM pg_catalog.pg_index x JOIN"     \
    " pg_catalog.pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid ="    \
    " c.oid), 0)) * current_setting('block_size')::bigint ELSE -1 END)"

/* The relation part of every listing: columns 0..6.  PGC_REL_SELECT joins
 * the comments as a whole (one pass over pg_description, right for the
 * whole catalog); PGC_REL_SELECT_NARROW looks each relation's comment up
 * by the index of pg_description (right for one schema or relation, in a
 * database however large). */
#define PGC_REL_SELECT_HEAD                                                   \
    "SELECT c.oid, n.nspname, c.relname, c.relkind::text AS kind, "          \
    PGC_EST_ROWS " AS est_rows, " PGC_EST_SIZE " AS est_size,"               \
    " td.description AS comment FROM pg_catalog.pg_class c JOIN"             \
    " pg_catalog.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN "
#define PGC_REL_SELECT                                                        \
    PGC_REL_SELECT_HEAD "pg_catalog.pg_description td ON td.objoid = c.oid"  \
    " AND td.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND"      \
    " td.objsubid = 0 WHERE " PGC_RELKINDS
#define PGC_REL_SELECT_NARROW                                                 \
    PGC_REL_SELECT_HEAD "LATERAL (SELECT td0.description FROM"               \
    " pg_catalog.pg_description td0 WHERE td0.objoid = c.oid AND"            \
    " td0.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND"         \
    " td0.objsubid = 0 OFFSET 0) td ON true WHERE " PGC_RELKINDS

/* The relations of the schema named by parameter $N, found through the
 * index of pg_namespace on nspname: the text is cast to a name for the
 * index, and compared as text too, since a cast to name cuts it at
 * NAMEDATALEN - 1 bytes. */
#define PGC_SCHEMA_IS(n)                                                      \
    "n.nspname = $" #n "::text::pg_catalog.name AND n.nspname::text = $" #n "::text"

/* Column part, appended to the relation part as r: columns 7..14. */
#define PGC_COL_SELECT_HEAD                                                   \
    "SELECT r.oid, r.nspname, r.relname, r.kind, r.est_rows, r.est_size,"    \
    " r.comment, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)," \
    " pg_catalog.format_type(a.atttypid, NULL), CASE WHEN ty.typtype = 'd'"  \
    " THEN ty.typbasetype ELSE a.atttypid END, a.attnotnull, "
/* A column's default.  A default never refers to a column, so it is
 * printed without its relation (relid 0): given the relation, pg_get_expr
 * opens it, building its cache entry and locking it until the end of the
 * transaction, for every relation with a default.  Only a generated
 * column's expression, which names columns, is printed with it. */
#define PGC_DEFAULT_12                                                        \
    "CASE WHEN a.attidentity = 'a' THEN 'GENERATED ALWAYS AS IDENTITY' WHEN" \
    " a.attidentity = 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' WHEN"      \
    " a.attgenerated = 's' THEN 'GENERATED ALWAYS AS (' ||"                  \
    " pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) || ') STORED' ELSE"       \
    " pg_catalog.pg_get_expr(ad.adbin, 0) END"
#define PGC_DEFAULT_10                                                        \
    "CASE WHEN a.attidentity = 'a' THEN 'GENERATED ALWAYS AS IDENTITY' WHEN" \
    " a.attidentity = 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' ELSE"      \
    " pg_catalog.pg_get_expr(ad.adbin, 0) END"
/* A relation's foreign keys, flattened into one text array, PGC_FK_FIELDS
 * elements per (key, column) in the order of key name and column
 * position: key name, referenced schema, referenced relation, on update
 * and on delete codes (a r c n d), the column, the referenced column.
 * NULL when the relation has none.  Evaluated once per relation (inside
 * the fenced subquery r). */
#define PGC_FK_FIELDS 7
#define PGC_FK_ARRAY                                                          \
    "(SELECT pg_catalog.array_agg(v.x ORDER BY k.conname, u.i, v.j) FROM"    \
    " pg_catalog.pg_constraint k JOIN pg_catalog.pg_class fc ON fc.oid ="    \
    " k.confrelid JOIN pg_catalog.pg_namespace fn ON fn.oid ="               \
    " fc.relnamespace, LATERAL ROWS FROM (pg_catalog.unnest(k.conkey),"      \
    " pg_catalog.unnest(k.confkey)) WITH ORDINALITY AS u(a, b, i), LATERAL"  \
    " (VALUES (1, k.conname::text), (2,"                                      \
    " fn.nspname::text), (3, fc.relname::text), (4, k.confupdtype::text),"   \
    " (5, k.confdeltype::text), (6, (SELECT ca.attname::text FROM"           \
    " pg_catalog.pg_attribute ca WHERE ca.attrelid = k.conrelid AND"         \
    " ca.attnum = u.a)), (7, (SELECT fa.attname::text FROM"                  \
    " pg_catalog.pg_attribute fa WHERE fa.attrelid = k.confrelid AND"        \
    " fa.attnum = u.b))) AS v(j, x) WHERE k.conrelid = r0.oid AND"           \
    " k.contype = 'f')"
#define PGC_COL_SELECT_TAIL                                                   \
    ", coalesce(pg_catalog.array_position(pk.conkey, a.attnum), 0),"         \
    " cd.description, r.fks FROM (SELECT r0.*, " PGC_FK_ARRAY " AS fks FROM ("
#define PGC_COL_JOINS                                                         \
    " OFFSET 0) r0 OFFSET 0) r LEFT JOIN pg_catalog.pg_attribute a ON"       \
    " a.attrelid = r.oid" \
    " AND a.attnum > 0 AND NOT a.attisdropped LEFT JOIN pg_catalog.pg_type"  \
    " ty ON ty.oid = a.atttypid LEFT JOIN pg_catalog.pg_attrdef ad ON"       \
    " ad.adrelid = a.attrelid AND ad.adnum = a.attnum LEFT JOIN"             \
    " pg_catalog.pg_constraint pk ON pk.conrelid = r.oid AND pk.contype ="   \
    " 'p' LEFT JOIN pg_catalog.pg_description cd ON cd.objoid = r.oid AND"   \
    " cd.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND"          \
    " cd.objsubid = a.attnum ORDER BY r.nspname, r.relname, a.attnum"
/* The same joins, for a few relations: each relation's columns, and each
 * column's type, default, key and comment, are looked up through the
 * catalogs' indexes (pg_attribute by attrelid, pg_type by oid, pg_attrdef
 * by adrelid, pg_constraint by conrelid, pg_description by objoid), never
 * by a pass over a whole catalog: the fenced (OFFSET 0) LATERAL subqueries
 * keep the planner from turning them into hash joins over every column of
 * the database.  Same rows, same order. */
#define PGC_COL_JOINS_NARROW                                                  \
    " OFFSET 0) r0 OFFSET 0) r LEFT JOIN LATERAL (SELECT a0.attname,"        \
    " a0.attnum, a0.attrelid, a0.atttypid, a0.atttypmod, a0.attnotnull,"     \
    " a0.attidentity, a0.attgenerated FROM pg_catalog.pg_attribute a0 WHERE" \
    " a0.attrelid = r.oid AND a0.attnum > 0 AND NOT a0.attisdropped OFFSET"  \
    " 0) a ON true LEFT JOIN LATERAL (SELECT ty0.typtype, ty0.typbasetype"   \
    " FROM pg_catalog.pg_type ty0 WHERE ty0.oid = a.atttypid OFFSET 0) ty ON" \
    " true LEFT JOIN LATERAL (SELECT ad0.adbin, ad0.adrelid FROM"            \
    " pg_catalog.pg_attrdef ad0 WHERE ad0.adrelid = a.attrelid AND"          \
    " ad0.adnum = a.attnum OFFSET 0) ad ON true LEFT JOIN LATERAL (SELECT"   \
    " pk0.conkey FROM pg_catalog.pg_constraint pk0 WHERE pk0.conrelid ="     \
    " r.oid AND pk0.contype = 'p' OFFSET 0) pk ON true LEFT JOIN LATERAL"    \
    " (SELECT cd0.description FROM pg_catalog.pg_description cd0 WHERE"      \
    " cd0.objoid = r.oid AND cd0.classoid ="                                  \
    " 'pg_catalog.pg_class'::pg_catalog.regclass AND cd0.objsubid ="         \
    " a.attnum OFFSET 0) cd ON true ORDER BY r.nspname, r.relname, a.attnum"

enum {
    COL_OID, COL_SCHEMA, COL_NAME, COL_KIND, COL_ROWS, COL_SIZE, COL_COMMENT,
    COL_ATTNAME, COL_NATIVE, COL_CAST, COL_BASE, COL_NOTNULL, COL_DEFAULT, COL_PK,
    COL_ATTCOMMENT, COL_FKS
};

/* The column query for relations matching `where` (a condition on c and n,
 * after the relation kinds).  narrow: `where` keeps a few relations (one
 * schema, one relation, a batch): the query then goes through the
 * catalogs' indexes from those relations, at a cost in proportion to them
 * rather than to the database; else it reads each catalog in one pass. */
static void pgc_cols_sql(dsrc_buf *b, PGconn *pg, const char *where, int narrow)
{
    dsrc_buf_add(b, PGC_COL_SELECT_HEAD);
    dsrc_buf_add(b, PQserverVersion(pg) >= 120000 ? PGC_DEFAULT_12 : PGC_DEFAULT_10);
    dsrc_buf_add(b, PGC_COL_SELECT_TAIL);
    dsrc_buf_add(b, narrow ? PGC_REL_SELECT_NARROW " AND " : PGC_REL_SELECT " AND ");
    dsrc_buf_add(b, where);
    dsrc_buf_add(b, narrow ? PGC_COL_JOINS_NARROW : PGC_COL_JOINS);
}

/* ------------------------------------------------------------------------ */
/* Relations                                                                 */

void pgc_rel_free(pgc_rel *r)
{
    size_t i;
    for (i = 0; i < r->n_cols; i++) {
        free(r->cols[i].name);
        free(r->cols[i].native);
        free(r->cols[i].cast);
        free(r->cols[i].dflt);
        free(r->cols[i].comment);
    }
    free(r->cols);
    free(r->schema);
    free(r->name);
    free(r->comment);
    dsrc_fk_free(&r->fks);
    memset(r, 0, sizeof *r);
}

/* The elements of a one-dimensional text array as PostgreSQL prints it
 * ("{a,\"b c\",NULL}") into `out` (PGC_FK_FIELDS at a time, see
 * PGC_FK_ARRAY): each group of fields begins a key when its name differs
 * from the previous group's, and adds its column pair.  0, or -1 when
 * out of memory or the text is not such an array. */
static int pgc_fk_parse(const char *s, dsrc_fk_list *out)
{
    char *f[PGC_FK_FIELDS], *buf, *d, *prev = NULL;
    size_t nf = 0;
    int rc = 0;

    if (!s || *s++ != '{' || !(buf = malloc(strlen(s) + 1)))
        return -1;
    d = buf;
    while (rc == 0 && *s && *s != '}') {
        int quoted = *s == '"';
        char *start = d;
        if (quoted)
            s++;
        while (*s && (quoted ? *s != '"' : (*s != ',' && *s != '}'))) {
            if (quoted && *s == '\\' && s[1])
                s++;
            *d++ = *s++;
        }
        if (quoted && *s == '"')
            s++;
        *d++ = '\0';
        f[nf++] = !quoted && strcmp(start, "NULL") == 0 ? NULL : start;
        if (*s == ',')
            s++;
        if (nf < PGC_FK_FIELDS)
            continue;
        nf = 0;
        if (!f[0] || !prev || strcmp(prev, f[0]) != 0)
            rc = dsrc_fk_begin(out, NULL, f[0], (const char *const *)&f[1], 2, f[3], f[4]);
        prev = f[0];
        if (rc == 0)
            rc = dsrc_fk_column(out, f[5], f[6]);
    }
    if (nf != 0 || *s != '}')
        rc = -1;
    free(buf);
    return rc;
}

static const char *pgc_val(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int64_t pgc_int(const PGresult *res, int row, int col, int64_t dflt)
{
    const char *v = pgc_val(res, row, col);
    char *end;
    long long x;
    if (!v)
        return dflt;
    x = strtoll(v, &end, 10);
    return *end ? dflt : (int64_t)x;
}

/* Take the relation part of a row into `r` (empty). */
static int pgc_rel_take(pgc_rel *r, const PGresult *res, int row)
{
    const char *kind = pgc_val(res, row, COL_KIND);
    r->oid = (unsigned)strtoul(PQgetvalue(res, row, COL_OID), NULL, 10);
    r->schema = dsrc_strdup(PQgetvalue(res, row, COL_SCHEMA));
    r->name = dsrc_strdup(PQgetvalue(res, row, COL_NAME));
    r->kind = kind && *kind ? kind[0] : 'r';
    r->rows = pgc_int(res, row, COL_ROWS, -1);
    r->size = pgc_int(res, row, COL_SIZE, -1);
    if (pgc_val(res, row, COL_COMMENT))
        r->comment = dsrc_strdup(PQgetvalue(res, row, COL_COMMENT));
    if (!r->schema || !r->name || (pgc_val(res, row, COL_COMMENT) && !r->comment))
        return -1;
    if (pgc_val(res, row, COL_FKS) && pgc_fk_parse(PQgetvalue(res, row, COL_FKS), &r->fks) != 0)
        return -1;
    return 0;
}

/* Append the column part of a row (nothing when the relation has no
 * column: the LEFT JOIN gave NULLs). */
static int pgc_col_take(pgc_rel *r, const PGresult *res, int row)
{
    pgc_col *col;
    if (PQgetisnull(res, row, COL_ATTNAME))
        return 0;
    if (r->n_cols == r->cap_cols) {
        size_t cap = r->cap_cols ? r->cap_cols * 2 : 16;
        pgc_col *v = realloc(r->cols, cap * sizeof *v);
        if (!v)
            return -1;
        r->cols = v;
        r->cap_cols = cap;
    }
    col = &r->cols[r->n_cols];
    memset(col, 0, sizeof *col);
    col->name = dsrc_strdup(PQgetvalue(res, row, COL_ATTNAME));
    col->native = dsrc_strdup(PQgetvalue(res, row, COL_NATIVE));
    col->cast = dsrc_strdup(PQgetvalue(res, row, COL_CAST));
    if (pgc_val(res, row, COL_DEFAULT))
        col->dflt = dsrc_strdup(PQgetvalue(res, row, COL_DEFAULT));
    if (pgc_val(res, row, COL_ATTCOMMENT))
        col->comment = dsrc_strdup(PQgetvalue(res, row, COL_ATTCOMMENT));
    col->base_oid = (unsigned)strtoul(PQgetvalue(res, row, COL_BASE), NULL, 10);
    col->cls = pgc_class_of(col->base_oid);
    col->notnull = PQgetvalue(res, row, COL_NOTNULL)[0] == 't';
    col->pk = (int)pgc_int(res, row, COL_PK, 0);
    r->n_cols++;
    if (!col->name || !col->native || !col->cast ||
        (pgc_val(res, row, COL_DEFAULT) && !col->dflt) ||
        (pgc_val(res, row, COL_ATTCOMMENT) && !col->comment))
        return -1;
    return 0;
}

static dsrc_item_kind pgc_kind(char relkind)
{
    switch (relkind) {
    case 'r': return DSRC_ITEM_TABLE;
    case 'v': return DSRC_ITEM_VIEW;
    case 'm': return DSRC_ITEM_MATERIALIZED_VIEW;
    case 'f': return DSRC_ITEM_FOREIGN_TABLE;
    case 'p': return DSRC_ITEM_PARTITIONED_TABLE;
    default: return DSRC_ITEM_OTHER;
    }
}

static const char *pgc_kind_name(char relkind)
{
    switch (relkind) {
    case 'r': return "table";
    case 'v': return "view";
    case 'm': return "materialized view";
    case 'f': return "foreign table";
    case 'p': return "partitioned table";
    default: return "relation";
    }
}

static void pgc_item_init(dsrc_item *it)
{
    memset(it, 0, sizeof *it);
    it->struct_size = sizeof *it;
    it->rows = -1;
    it->size_bytes = -1;
    it->mtime = -1;
}

/* ------------------------------------------------------------------------ */
/* Resolving paths                                                           */

/* Extra facts describe() reports. */
typedef struct pgc_extra {
    char *owner, *indexes, *definition;
    int64_t size;
} pgc_extra;

static void pgc_extra_free(pgc_extra *x)
{
    free(x->owner);
    free(x->indexes);
    free(x->definition);
    memset(x, 0, sizeof *x);
}

#define PGC_RESOLVE_HEAD                                                      \
    "SELECT c.oid, c.relkind::text"
#define PGC_RESOLVE_EXTRA                                                     \
    ", pg_catalog.pg_get_userbyid(c.relowner), CASE WHEN c.relkind IN ('r',"  \
    " 'm') THEN pg_catalog.pg_total_relation_size(c.oid) WHEN c.relkind = 'p'" \
    " THEN (SELECT sum(pg_catalog.pg_total_relation_size(i.inhrelid)) FROM"  \
    " pg_catalog.pg_inherits i WHERE i.inhparent = c.oid) END, (SELECT"      \
    " string_agg(ic.relname, ',' ORDER BY ic.relname) FROM"                  \
    " pg_catalog.pg_index x JOIN pg_catalog.pg_class ic ON ic.oid ="         \
    " x.indexrelid WHERE x.indrelid = c.oid), CASE WHEN c.relkind IN ('v',"  \
    " 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END"
#define PGC_RESOLVE_TAIL                                                      \
    " FROM (VALUES (1, $1::text, $2::text), (2, $3::text, $4::text), (3,"    \
    " $5::text, $6::text)) AS k(ord, s, t) JOIN pg_catalog.pg_namespace n ON" \
    " n.nspname = coalesce(k.s, pg_catalog.current_schema())::name AND"      \
    " n.nspname::text = coalesce(k.s, pg_catalog.current_schema()) JOIN"     \
    " pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname ="       \
    " k.t::name AND c.relname::text = k.t WHERE " PGC_RELKINDS               \
    " ORDER BY k.ord LIMIT 1"

/* Find the relation `path` names: its oid, or 0 (err set).  The path is
 * read with dsrc_path_split(): "schema/name" with both parts decoded (an
 * unescaped '/' after the first one belongs to the name), else the whole
 * decoded path as a name of the current schema, and a bare "schema.name". */
static dsrc_status pgc_find(dsrc_conn *c, const dsrc_ctx *ctx, const char *path,
                            pgc_extra *extra, unsigned *oid, dsrc_error *err)
{
    const char *p[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    char *b = NULL;
    const char *dot;
    dsrc_path sp, whole;
    PGresult *res = NULL;
    dsrc_status s;

    *oid = 0;
    if (!path || !*path)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "no item given: name a table or view, e.g. \"public/orders\"");
    s = dsrc_path_split(path, 2, &sp, err);
    if (s != DSRC_OK)
        return s;
    s = dsrc_path_split(path, 1, &whole, err);
    if (s != DSRC_OK) {
        dsrc_path_free(&sp);
        return s;
    }
    if (sp.n == 2 && sp.part[1][0] == '\0') {
        dsrc_path_free(&sp);
        dsrc_path_free(&whole);
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "'%s' names a schema, not a table or view", path);
    }
    if (sp.n == 2 && sp.part[0][0]) {
        p[0] = sp.part[0];
        p[1] = sp.part[1];
    }
    p[3] = whole.part[0]; /* p[2] NULL: the current schema */
    dot = sp.n == 1 ? strchr(whole.part[0], '.') : NULL;
    if (dot && dot != whole.part[0]) {
        b = strndup(whole.part[0], (size_t)(dot - whole.part[0]));
        p[4] = b;
        p[5] = dot + 1;
        if (!b) {
            dsrc_path_free(&sp);
            dsrc_path_free(&whole);
            return pgc_oom(err);
        }
    }
    {
        dsrc_buf q = {0};
        dsrc_buf_add(&q, PGC_RESOLVE_HEAD);
        if (extra)
            dsrc_buf_add(&q, PGC_RESOLVE_EXTRA);
        dsrc_buf_add(&q, PGC_RESOLVE_TAIL);
        if (q.failed)
            s = pgc_oom(err);
        else
            s = pgc_exec(c, ctx, q.s, 6, p, &res, "looking up the item", err);
        dsrc_buf_free(&q);
    }
    dsrc_path_free(&sp);
    dsrc_path_free(&whole);
    free(b);
    if (s != DSRC_OK)
        return s;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                              "no table or view '%s' (write \"schema/name\"; names are "
                              "case-sensitive)", path);
    }
    *oid = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    if (extra) {
        extra->owner = dsrc_strdup(pgc_val(res, 0, 2));
        extra->size = pgc_int(res, 0, 3, -1);
        extra->indexes = dsrc_strdup(pgc_val(res, 0, 4));
        extra->definition = dsrc_strdup(pgc_val(res, 0, 5));
        if ((pgc_val(res, 0, 2) && !extra->owner) || (pgc_val(res, 0, 4) && !extra->indexes) ||
            (pgc_val(res, 0, 5) && !extra->definition)) {
            PQclear(res);
            pgc_extra_free(extra);
            return pgc_oom(err);
        }
    }
    PQclear(res);
    return DSRC_OK;
}

/* Collects the rows of a column query for one relation. */
typedef struct pgc_one {
    pgc_rel *rel;
    int have;
} pgc_one;

static int pgc_one_row(void *user, const PGresult *res)
{
    pgc_one *o = user;
    if (!o->have) {
        if (pgc_rel_take(o->rel, res, 0) != 0)
            return -1;
        o->have = 1;
    }
    return pgc_col_take(o->rel, res, 0) != 0 ? -1 : 0;
}

/* Read relation `oid` with its columns. */
static dsrc_status pgc_read_rel(dsrc_conn *c, const dsrc_ctx *ctx, unsigned oid,
                                const char *path, pgc_rel *rel, dsrc_error *err)
{
    dsrc_buf q = {0};
    pgc_one o;
    char oidtxt[16];
    const char *p[1];
    dsrc_status s;

    memset(rel, 0, sizeof *rel);
    o.rel = rel;
    o.have = 0;
    snprintf(oidtxt, sizeof oidtxt, "%u", oid);
    p[0] = oidtxt;
    pgc_cols_sql(&q, c->pg, "c.oid = $1::pg_catalog.oid", 1);
    if (q.failed) {
        dsrc_buf_free(&q);
        return pgc_oom(err);
    }
    s = pgc_stream(c, ctx, q.s, 1, p, pgc_one_row, &o, NULL, "reading the columns", err);
    dsrc_buf_free(&q);
    if (s == DSRC_OK && !o.have)
        s = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                           "'%s' was dropped while it was being read", path);
    if (s != DSRC_OK)
        pgc_rel_free(rel);
    return s;
}

static dsrc_status pgc_resolve_ex(dsrc_conn *c, const dsrc_ctx *ctx, const char *path,
                                  pgc_rel *rel, pgc_extra *extra, dsrc_error *err)
{
    unsigned oid;
    dsrc_status s;

    memset(rel, 0, sizeof *rel);
    s = pgc_find(c, ctx, path, extra, &oid, err);
    if (s != DSRC_OK)
        return s;
    s = pgc_read_rel(c, ctx, oid, path, rel, err);
    if (s != DSRC_OK && extra)
        pgc_extra_free(extra);
    return s;
}

dsrc_status pgc_resolve(dsrc_conn *c, const dsrc_ctx *ctx, const char *path, pgc_rel *rel,
                        dsrc_error *err)
{
    return pgc_resolve_ex(c, ctx, path, rel, NULL, err);
}

/* ------------------------------------------------------------------------ */
/* Metadata records                                                          */

/* Deliver one relation to a metadata sink: 0, >0 stop, <0 out of memory. */
static int pgc_emit(const dsrc_meta_sink *sink, const pgc_rel *r, const pgc_extra *x)
{
    dsrc_item it;
    dsrc_metadata md;
    dsrc_column *cols = NULL;
    dsrc_kv props[8];
    char rows[32], size[32], oid[16];
    size_t i, np = 0;
    int rc;
    char *path = dsrc_path_join2(r->schema, r->name);

    if (!path)
        return -1;
    if (r->n_cols) {
        cols = calloc(r->n_cols, sizeof *cols);
        if (!cols) {
            free(path);
            return -1;
        }
    }
    for (i = 0; i < r->n_cols; i++) {
        const pgc_col *c = &r->cols[i];
        cols[i].name = c->name;
        cols[i].type = pgc_type_of(c->cls);
        cols[i].native_type = c->native;
        cols[i].nullable = c->notnull ? 0 : 1;
        cols[i].primary_key = c->pk;
        cols[i].default_value = c->dflt;
        cols[i].comment = c->comment;
    }
    pgc_item_init(&it);
    it.path = path;
    it.name = r->name;
    it.kind = pgc_kind(r->kind);
    it.rows = r->rows;
    it.rows_estimated = r->rows >= 0;
    it.size_bytes = x && x->size >= 0 ? x->size : r->size;
    it.comment = r->comment;

    props[np].key = "type";
    props[np++].value = pgc_kind_name(r->kind);
    snprintf(oid, sizeof oid, "%u", r->oid);
    props[np].key = "oid";
    props[np++].value = oid;
    if (r->rows >= 0) {
        snprintf(rows, sizeof rows, "%" PRId64, r->rows);
        props[np].key = "rows_estimate";
        props[np++].value = rows;
    }
    if (it.size_bytes >= 0) {
        snprintf(size, sizeof size, "%" PRId64, it.size_bytes);
        props[np].key = x ? "total_size" : "size_estimate";
        props[np++].value = size;
    }
    if (x && x->owner) {
        props[np].key = "owner";
        props[np++].value = x->owner;
    }
    if (x && x->indexes) {
        props[np].key = "indexes";
        props[np++].value = x->indexes;
    }
    if (x && x->definition) {
        props[np].key = "definition";
        props[np++].value = x->definition;
    }

    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.columns = cols;
    md.n_columns = r->n_cols;
    md.properties = props;
    md.n_properties = np;
    md.foreign_keys = r->fks.v;
    md.n_foreign_keys = r->fks.n;
    rc = sink->metadata(sink->user, &md) != 0 ? 1 : 0;
    free(cols);
    free(path);
    return rc;
}

dsrc_status pgc_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                         const dsrc_meta_sink *sink, dsrc_error *err)
{
    pgc_rel rel;
    pgc_extra x;
    dsrc_status s;
    int rc;

    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "describe: no metadata receiver");
    s = pgc_op_begin(c, ctx, err);
    if (s != DSRC_OK)
        return s;
    memset(&x, 0, sizeof x);
    x.size = -1;
    s = pgc_resolve_ex(c, ctx, item, &rel, &x, err);
    if (s != DSRC_OK)
        return s;
    rc = pgc_emit(sink, &rel, &x);
    if (rc < 0)
        s = pgc_oom(err);
    else if (rc > 0)
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "describe stopped by the receiver");
    pgc_extra_free(&x);
    pgc_rel_free(&rel);
    return s;
}

/* ------------------------------------------------------------------------ */
/* discover                                                                  */

/* A conservative discover: relations per query, pause between queries. */
#define PGC_DISC_BATCH 100
#define PGC_DISC_PAUSE_MS 50

typedef struct pgc_disc {
    const dsrc_meta_sink *sink;
    pgc_rel cur;
    int have;
    size_t rels;               /* relations begun in this query             */
} pgc_disc;

static int pgc_disc_row(void *user, const PGresult *res)
{
    pgc_disc *d = user;
    unsigned oid = (unsigned)strtoul(PQgetvalue(res, 0, COL_OID), NULL, 10);

    if (d->have && d->cur.oid != oid) {
        int rc = pgc_emit(d->sink, &d->cur, NULL);
        pgc_rel_free(&d->cur);
        d->have = 0;
        if (rc != 0)
            return rc;
    }
    if (!d->have) {
        d->rels++;
        if (pgc_rel_take(&d->cur, res, 0) != 0) {
            pgc_rel_free(&d->cur);
            return -1;
        }
        d->have = 1;
    }
    return pgc_col_take(&d->cur, res, 0) != 0 ? -1 : 0;
}

/* A schema is read through the catalogs' indexes (the narrow query) when
 * its relations are fewer than the database's over PGC_NARROW_SHARE; a
 * schema holding most of the database is read in one pass over each
 * catalog, which then costs less than an index lookup per column. */
#define PGC_NARROW_SHARE 4

/* 1 when schema `name` exists, 0 when not, -1 on error (err set).  When
 * `narrow` is given, it tells whether the schema is small beside its
 * database (see PGC_NARROW_SHARE): its relations are counted, and the
 * database's taken from the estimate of pg_class's own size. */
static int pgc_schema_exists(dsrc_conn *c, const dsrc_ctx *ctx, const char *name,
                             int *narrow, dsrc_error *err)
{
    PGresult *res;
    const char *p[1] = {name};
    int n;
    if (pgc_exec(c, ctx, "SELECT (SELECT count(*) FROM pg_catalog.pg_class c WHERE"
                 " c.relnamespace = n.oid), (SELECT c.reltuples FROM pg_catalog.pg_class c"
                 " WHERE c.oid = 'pg_catalog.pg_class'::pg_catalog.regclass)::bigint FROM"
                 " pg_catalog.pg_namespace n WHERE " PGC_SCHEMA_IS(1),
                 1, p, &res, "looking up the schema", err) != DSRC_OK)
        return -1;
    n = PQntuples(res);
    if (narrow && n > 0) {
        int64_t mine = pgc_int(res, 0, 0, 0), all = pgc_int(res, 0, 1, -1);
        *narrow = all < 0 || mine * PGC_NARROW_SHARE < all;
    }
    PQclear(res);
    return n > 0;
}

/* Send the relation still held (the last one read) to the sink. */
static dsrc_status pgc_disc_flush(pgc_disc *d, dsrc_error *err)
{
    int rc;

    if (!d->have)
        return DSRC_OK;
    rc = pgc_emit(d->sink, &d->cur, NULL);
    pgc_rel_free(&d->cur);
    d->have = 0;
    if (rc < 0)
        return pgc_oom(err);
    if (rc > 0)
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "discover stopped by the receiver");
    return DSRC_OK;
}

#define PGC_STR_(x) #x
#define PGC_STR(x) PGC_STR_(x)

/* The conservative discover of the relations matching `where` (with
 * n_params parameters p, at most one): PGC_DISC_BATCH relations per query,
 * each batch starting after the last relation of the one before, with a
 * pause between batches. */
static dsrc_status pgc_disc_batches(dsrc_conn *c, const dsrc_ctx *ctx,
                                    const dsrc_discover_req *req, const char *where,
                                    int n_params, const char *const *p, pgc_disc *d,
                                    dsrc_error *err)
{
    char *after[2] = {NULL, NULL}, key[96];
    const char *params[3];
    dsrc_status s = DSRC_OK;
    int batch;

    for (batch = 1;; batch++) {
        dsrc_buf w = {0}, q = {0};
        int np = n_params;

        if (n_params)
            params[0] = p[0];
        dsrc_buf_add(&w, where);
        if (after[0]) {
            snprintf(key, sizeof key, " AND (n.nspname, c.relname) > ($%d::pg_catalog.name,"
                     " $%d::pg_catalog.name)", np + 1, np + 2);
            dsrc_buf_add(&w, key);
            params[np++] = after[0];
            params[np++] = after[1];
        }
        dsrc_buf_add(&w, " ORDER BY n.nspname, c.relname LIMIT " PGC_STR(PGC_DISC_BATCH));
        if (!w.failed)
            pgc_cols_sql(&q, c->pg, w.s, 1);
        if (w.failed || q.failed) {
            s = pgc_oom(err);
        } else {
            d->rels = 0;
            dsrc_discover_count(req, 1);
            s = pgc_stream(c, ctx, q.s, np, params, pgc_disc_row, d, NULL, "discover", err);
        }
        dsrc_buf_free(&w);
        dsrc_buf_free(&q);
        if (s == DSRC_OK && d->have) {
            free(after[0]);
            free(after[1]);
            after[0] = strdup(d->cur.schema);
            after[1] = strdup(d->cur.name);
            if (!after[0] || !after[1])
                s = pgc_oom(err);
        }
        if (s == DSRC_OK)
            s = pgc_disc_flush(d, err);
        if (s != DSRC_OK || d->rels < PGC_DISC_BATCH)
            break;
        if (pgc_host && pgc_host->log)
            pgc_host->log(ctx, DSRC_LOG_DEBUG, "discover (conservative): batch %d, %zu "
                          "relations; pausing %d ms", batch, d->rels, PGC_DISC_PAUSE_MS);
        if (pgc_pause(c, ctx, PGC_DISC_PAUSE_MS)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "discover: cancelled");
            break;
        }
    }
    free(after[0]);
    free(after[1]);
    return s;
}

dsrc_status pgc_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                         const dsrc_meta_sink *sink, dsrc_error *err)
{
    const char *path = req && req->path && *req->path && strcmp(req->path, "/") != 0
                           ? req->path : NULL;
    int include_system = req ? req->include_system : 0;
    char *schema = NULL;
    const char *p[1], *where;
    dsrc_buf q = {0};
    pgc_disc d;
    dsrc_status s;
    int n_params = 0, narrow = 0;

    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "discover: no metadata receiver");
    s = pgc_op_begin(c, ctx, err);
    if (s != DSRC_OK)
        return s;
    if (path) {
        int ex;
        s = dsrc_path_container(path, &schema, err);
        if (s != DSRC_OK)
            return s;
        ex = schema ? pgc_schema_exists(c, ctx, schema, &narrow, err) : 0;
        if (schema)
            dsrc_discover_count(req, 1);
        if (ex <= 0) {
            if (ex == 0)
                s = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "3F000",
                                   "no schema '%s' in this database", schema ? schema : path);
            else
                s = err ? err->status : DSRC_E_BACKEND;
            free(schema);
            return s;
        }
        p[0] = schema;
        n_params = 1;
        where = PGC_SCHEMA_IS(1);
    } else {
        where = include_system ? "true" : PGC_USER_SCHEMA("n");
    }
    memset(&d, 0, sizeof d);
    d.sink = sink;
    if (dsrc_discover_mode_of(req) == DSRC_DISCOVER_CONSERVATIVE) {
        s = pgc_disc_batches(c, ctx, req, where, n_params, p, &d, err);
    } else {
        pgc_cols_sql(&q, c->pg, where, narrow);
        if (q.failed) {
            s = pgc_oom(err);
        } else {
            dsrc_discover_count(req, 1);
            s = pgc_stream(c, ctx, q.s, n_params, p, pgc_disc_row, &d, NULL, "discover", err);
        }
        if (s == DSRC_OK)
            s = pgc_disc_flush(&d, err);
    }
    pgc_rel_free(&d.cur);
    dsrc_buf_free(&q);
    free(schema);
    return s;
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

typedef struct pgc_lister {
    const dsrc_item_sink *sink;
    int schemas;
} pgc_lister;

static int pgc_list_row(void *user, const PGresult *res)
{
    pgc_lister *l = user;
    dsrc_item it;
    int rc;

    pgc_item_init(&it);
    if (l->schemas) {
        char *path = dsrc_path_join2(PQgetvalue(res, 0, 0), NULL);
        if (!path)
            return -1;
        it.path = path;
        it.name = PQgetvalue(res, 0, 0);
        it.kind = DSRC_ITEM_SCHEMA;
        it.container = 1;
        it.comment = pgc_val(res, 0, 1);
        rc = l->sink->item(l->sink->user, &it) != 0;
        free(path);
        return rc;
    } else {
        pgc_rel r;
        char *path;
        memset(&r, 0, sizeof r);
        if (pgc_rel_take(&r, res, 0) != 0 || !(path = dsrc_path_join2(r.schema, r.name))) {
            pgc_rel_free(&r);
            return -1;
        }
        it.path = path;
        it.name = r.name;
        it.kind = pgc_kind(r.kind);
        it.rows = r.rows;
        it.rows_estimated = r.rows >= 0;
        it.size_bytes = r.size;
        it.comment = r.comment;
        rc = l->sink->item(l->sink->user, &it) != 0;
        free(path);
        pgc_rel_free(&r);
        return rc;
    }
}

dsrc_status pgc_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                     const dsrc_item_sink *sink, dsrc_error *err)
{
    pgc_lister l;
    dsrc_status s;
    uint64_t n = 0;
    char *schema;
    const char *p[1];
    int ex;

    if (!sink || !sink->item)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "list: no item receiver");
    s = pgc_op_begin(c, ctx, err);
    if (s != DSRC_OK)
        return s;
    l.sink = sink;
    if (!path || !*path || strcmp(path, "/") == 0) {
        l.schemas = 1;
        return pgc_stream(c, ctx,
                          "SELECT n.nspname, d.description FROM pg_catalog.pg_namespace n"
                          " LEFT JOIN pg_catalog.pg_description d ON d.objoid = n.oid AND"
                          " d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND"
                          " d.objsubid = 0 WHERE " PGC_USER_SCHEMA("n")
                          " ORDER BY n.nspname", 0, NULL, pgc_list_row, &l, NULL, "listing",
                          err);
    }
    l.schemas = 0;
    s = dsrc_path_container(path, &schema, err);
    if (s != DSRC_OK)
        return s;
    if (schema) {
        p[0] = schema;
        s = pgc_stream(c, ctx, PGC_REL_SELECT_NARROW " AND " PGC_SCHEMA_IS(1) " ORDER BY c.relname",
                       1, p, pgc_list_row, &l, &n, "listing", err);
        if (s != DSRC_OK || n > 0) {
            free(schema);
            return s;
        }
        /* Nothing listed: an empty schema, no such schema, or a relation. */
        ex = pgc_schema_exists(c, ctx, schema, NULL, err);
        free(schema);
        if (ex < 0)
            return err ? err->status : DSRC_E_BACKEND;
        if (ex)
            return DSRC_OK;
    }
    {
        pgc_rel rel;
        s = pgc_resolve(c, ctx, path, &rel, err);
        if (s == DSRC_E_NOT_FOUND)
            return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                                  "no schema '%s' in this database", path);
        if (s != DSRC_OK)
            return s;
        s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                           "'%s' is a %s: it has nothing to list (describe or fetch it)", path,
                           pgc_kind_name(rel.kind));
        pgc_rel_free(&rel);
        return s;
    }
}
