/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire.h -- the framed encoding between the host and a plugin worker
 * process (see isolate.h).
 *
 * A frame is a 32-bit little-endian length, then that many bytes: a type
 * byte and the body.  A body is a sequence of fields: u8, u32 and i64
 * little-endian, f64 as its IEEE bits, and strings as a u32 length
 * (WIRE_NULL for a null pointer), the bytes and a NUL (so a decoded string
 * points into the frame and is NUL-terminated).  Frames larger than
 * WIRE_MAX_FRAME, empty ones, truncated fields and strings without their
 * NUL are refused: decoding never reads past a frame and never crashes on
 * garbage, it sets the reader's `bad` flag.
 *
 * The records that cross (open parameters, errors, items, metadata, rows)
 * have an encoder and a decoder each here, so the worker and the proxy
 * share one definition.  What a decoder returns points into the frame it
 * read (valid until the next wire_recv() on that buffer) or into the
 * wire_arena it was given (wire_arena_free()).
 */
#ifndef DSRC_CORE_WIRE_H
#define DSRC_CORE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <dsrc/plugin.h>

#define WIRE_MAX_FRAME (64u << 20)  /* 64 MiB: a frame beyond is garbage  */
#define WIRE_BATCH 65536u           /* rows and bytes are sent in batches of
                                       about this size                    */
#define WIRE_NULL 0xffffffffu

/* Frame types, host to worker. */
enum {
    WIRE_OPEN = 1, WIRE_CLOSE, WIRE_PING, WIRE_LIST, WIRE_DESCRIBE, WIRE_DISCOVER,
    WIRE_FETCH, WIRE_STORAGE,
    WIRE_QUERY,       /* a read-only statement (ABI 1.4 query())          */
    WIRE_CANCEL = 16, /* cancel the running call                          */
    WIRE_STOP,        /* a sink refused: stop the running call's sinks     */
    WIRE_PRECANCEL    /* the next request is cancelled before it starts    */
};
/* Frame types, worker to host. */
enum {
    WIRE_RESULT = 32, WIRE_LOG, WIRE_ITEM, WIRE_META, WIRE_SCHEMA, WIRE_ROWS,
    WIRE_BYTES_BEGIN, WIRE_BYTES,
    WIRE_SIGN,        /* sign an AWS request (host->aws_sign) for the call */
    WIRE_BEARER       /* a bearer token (host->bearer_token): the resource
                         and the plugin's buffer size                      */
};
/* Frame types, host to worker, answering the worker. */
enum {
    WIRE_SIGNED = 64, /* the status, the error and the headers to add     */
    WIRE_BEARER_TOKEN /* the status, the error, the token and its expiry  */
};

/* An outgoing frame.  Zero-initialise; after an allocation failure
 * `failed` is set and wire_send() fails. */
typedef struct wire_buf {
    unsigned char *p;
    size_t len, cap;
    int failed;
} wire_buf;

void wire_begin(wire_buf *b, uint8_t type);   /* empty it, start a frame */
void wire_u8(wire_buf *b, uint8_t v);
void wire_u32(wire_buf *b, uint32_t v);
void wire_i64(wire_buf *b, int64_t v);
void wire_f64(wire_buf *b, double v);
void wire_str(wire_buf *b, const char *s);                 /* NULL allowed */
void wire_put_raw(wire_buf *b, const void *p, size_t n);   /* bytes as they are */
void wire_strn(wire_buf *b, const char *s, size_t n);
/* Write the frame to `fd` whole (EINTR retried, no SIGPIPE): 0, or -1 with
 * errno (EMSGSIZE: too large, ENOMEM: an append failed). */
int wire_send(int fd, wire_buf *b);
/* Several frames in one buffer, written at once (a batch):
 * wire_open() appends a frame's header and returns where it starts,
 * wire_close() sets its length once its body is appended, and
 * wire_flush() writes the whole buffer and empties it (0, or -1). */
size_t wire_open(wire_buf *b, uint8_t type);
void wire_close(wire_buf *b, size_t at);
int wire_flush(int fd, wire_buf *b);
/* Overwrite the content (it held secrets), keeping the memory. */
void wire_wipe(wire_buf *b);
void wire_free(wire_buf *b);

/* An incoming frame's body, and a reader over it. */
typedef struct wire_rd {
    uint8_t type;
    const unsigned char *p;
    size_t len, off;
    int bad;                  /* a read went past the end, or was malformed */
} wire_rd;

/* Read one frame from `fd` into `store` (grown as needed) and point `rd`
 * at it: 1, 0 at end of file before a frame, -1 on a read error or a
 * truncated or oversized frame (errno: EPROTO for garbage). */
int wire_recv(int fd, wire_buf *store, wire_rd *rd);
/* Take one frame from memory (`len` bytes at `p`): its size consumed, 0
 * when `p` holds no whole frame yet, -1 when it is garbage. */
long wire_parse(const unsigned char *p, size_t len, wire_rd *rd);

uint8_t wire_get_u8(wire_rd *r);
uint32_t wire_get_u32(wire_rd *r);
int64_t wire_get_i64(wire_rd *r);
double wire_get_f64(wire_rd *r);
/* A string (NULL for a null one or when bad); *n its length when n set. */
const char *wire_get_str(wire_rd *r, size_t *n);

/* Allocations made while decoding one record: freed together. */
typedef struct wire_arena {
    void **blocks;
    size_t n, cap;
} wire_arena;
void *wire_arena_alloc(wire_arena *a, size_t n, size_t size); /* zeroed; NULL */
void wire_arena_free(wire_arena *a);

/* Records.  A decoder returns 0, or -1 (r->bad set) on a malformed one. */
void wire_put_params(wire_buf *b, const dsrc_open_params *p);
int wire_get_params(wire_rd *r, wire_arena *a, dsrc_open_params *p);
void wire_put_error(wire_buf *b, dsrc_status st, const dsrc_error *e);
/* Fills `e` (zeroed and sized by the caller) with a malloc'd message and
 * the default release; returns the status. */
dsrc_status wire_get_error(wire_rd *r, dsrc_error *e);
void wire_put_item(wire_buf *b, const dsrc_item *it);
int wire_get_item(wire_rd *r, dsrc_item *it);
void wire_put_meta(wire_buf *b, const dsrc_metadata *md);
int wire_get_meta(wire_rd *r, wire_arena *a, dsrc_metadata *md, dsrc_item *it);
/* An array of strings (NULL: none). */
void wire_put_strs(wire_buf *b, const char *const *s, size_t n);
const char *const *wire_get_strs(wire_rd *r, wire_arena *a, size_t *n);
void wire_put_columns(wire_buf *b, const dsrc_column *c, size_t n);
int wire_get_columns(wire_rd *r, wire_arena *a, const dsrc_column **c, size_t *n);
/* An AWS request to sign (its header callback is not sent). */
void wire_put_aws_request(wire_buf *b, const dsrc_aws_request *q);
int wire_get_aws_request(wire_rd *r, wire_arena *a, dsrc_aws_request *q);
/* One row: the cell count, then each cell. */
void wire_put_row(wire_buf *b, const dsrc_cell *cells, size_t n);
/* Into *cells (room for *cap, grown with realloc; the caller frees it):
 * the count, or -1 when malformed or out of memory. */
long wire_get_row(wire_rd *r, dsrc_cell **cells, size_t *cap);

#endif
