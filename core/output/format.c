/* SPDX-License-Identifier: Apache-2.0 */
/* format.c -- CSV (RFC 4180) and JSON Lines writers; see format.h */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "output/dtoa.h"
#include "output/format.h"

#define FORMAT_BUFSIZE (64u * 1024u)
/* Raw bytes base64-encoded per chunk: a multiple of 3 whose encoding fits
 * the buffer with room to spare. */
#define FORMAT_B64_CHUNK (3u * 4096u)
/* Deepest nesting a JSON cell may have to be embedded as JSON. */
#define FORMAT_JSON_MAX_DEPTH 512

struct format_writer {
    format_kind kind;
    format_out_fn out;
    void *user;
    dsrc_row_sink sink;

    unsigned char *buf;
    size_t len;

    uint64_t rows;
    int failed;       /* an output call failed                        */
    int err;          /* its errno                                    */
    int broken;       /* a protocol error (see format_error)             */
    char errmsg[160];

    int have_schema;
    dsrc_column *cols;
    size_t ncols;
    char *strings;    /* the copied column strings, one block          */

    /* JSONL: per column, the text that precedes its value:
     * '{"name":' for the first, ',"name":' for the others. */
    char *keys;
    size_t *key_off;  /* ncols + 1 offsets into keys                  */
};

/* ------------------------------------------------------------------------ */
/* Output buffer                                                             */

static int format_flush(format_writer *w)
{
    if (w->failed) {
        w->len = 0;
        return -1;
    }
    if (w->len) {
        errno = 0;
        if (w->out(w->user, w->buf, w->len) != 0) {
            w->failed = 1;
            w->err = errno ? errno : EIO;
            w->len = 0;
            return -1;
        }
        w->len = 0;
    }
    return 0;
}

/* Make room for n bytes (n <= FORMAT_BUFSIZE).  On failure the buffer is
 * emptied, so callers may keep writing; the failure is sticky. */
static inline void format_reserve(format_writer *w, size_t n)
{
    if (w->len + n > FORMAT_BUFSIZE)
        format_flush(w);
}

static inline void format_putc(format_writer *w, char c)
{
    if (w->len == FORMAT_BUFSIZE)
        format_flush(w);
    w->buf[w->len++] = (unsigned char)c;
}

static void format_put_slow(format_writer *w, const void *data, size_t n)
{
    if (format_flush(w) != 0)
        return;
    if (n >= FORMAT_BUFSIZE) {
        errno = 0;
        if (w->out(w->user, data, n) != 0) {
            w->failed = 1;
            w->err = errno ? errno : EIO;
        }
        return;
    }
    memcpy(w->buf, data, n);
    w->len = n;
}

static inline void format_put(format_writer *w, const void *data, size_t n)
{
    if (n <= FORMAT_BUFSIZE - w->len) {
        memcpy(w->buf + w->len, data, n);
        w->len += n;
        return;
    }
    format_put_slow(w, data, n);
}

#define FORMAT_PUTS(w, lit) format_put((w), (lit), sizeof(lit) - 1)

/* ------------------------------------------------------------------------ */
/* Scalars                                                                   */

/* Decimal text of v into the end of tmp[24]; returns the start. */
static char *format_i64(int64_t v, char tmp[24])
{
    char *p = tmp + 24;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        *--p = pairs[2 * r + 1];
        *--p = pairs[2 * r];
    }
    if (u >= 10) {
        *--p = pairs[2 * u + 1];
        *--p = pairs[2 * u];
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    return p;
}

static void format_put_i64(format_writer *w, int64_t v)
{
    char tmp[24];
    char *p = format_i64(v, tmp);
    format_put(w, p, (size_t)(tmp + 24 - p));
}

/* 1 when the decimal 0.DIGITS * 10^point (n digits) lies exactly halfway
 * between |d| (finite, not zero) and a neighbouring double: it reads back
 * as d only through round-half-even.  PostgreSQL's float8out (Ryu without
 * the bounds) never writes such a decimal; double-conversion's shortest
 * may.  Exact, in integers: a halfway point is an odd number times a power
 * of two, with at most 55 significant bits. */
static int double_text_is_tie(double d, const char *digits, int n, int point)
{
    static const uint64_t pow5[] = {
        1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull, 390625ull,
        1953125ull, 9765625ull, 48828125ull, 244140625ull, 1220703125ull,
        6103515625ull, 30517578125ull, 152587890625ull, 762939453125ull,
        3814697265625ull, 19073486328125ull, 95367431640625ull, 476837158203125ull,
        2384185791015625ull, 11920928955078125ull, 59604644775390625ull,
        298023223876953125ull, 1490116119384765625ull, 7450580596923828125ull};
    uint64_t bits, m = 0, mant;
    unsigned __int128 p;
    int k = point - n, two, e2, be, i;

    memcpy(&bits, &d, sizeof bits);
    be = (int)(bits >> 52 & 0x7ff);
    mant = bits & ((1ull << 52) - 1);
    e2 = be ? be - 1075 : -1074;
    if (be)
        mant |= 1ull << 52;
    for (i = 0; i < n; i++)
        m = m * 10 + (uint64_t)(digits[i] - '0');
    if (k > 27 || k < -27)
        return 0;
    if (k >= 0) {
        p = (unsigned __int128)m * pow5[k];
    } else {
        if (m % pow5[-k])
            return 0;
        p = m / pow5[-k];
    }
    two = k;
    while (!(p & 1)) {
        p >>= 1;
        two++;
    }
    if (two == e2 - 1 && (p == 2 * mant + 1 || p == 2 * mant - 1))
        return 1;
    /* a power of two: the double below is a quarter of an ulp away */
    return (bits & ((1ull << 52) - 1)) == 0 && be > 1 && two == e2 - 2 && p == 4 * mant - 1;
}

/* d (finite) as PostgreSQL's float8 output writes it with the default
 * extra_float_digits: the shortest digits that read back as d, in fixed
 * notation when the decimal exponent is in [-4, 15), otherwise as "%g" does
 * ("1e+15", "1e-05", "1.2345678901234568e+20"); "-0" for negative zero.
 * Like float8out, never a decimal exactly halfway to a neighbouring double
 * (2.6078045549787152e+16, not 2.607804554978715e+16, which reads back the
 * same only through round-half-even).
 * Returns the length written into out[32] (at most 25 bytes and a NUL). */
int format_double_text(double d, char out[32])
{
    char digits[18];
    int n, point, exp, i = 0, z;

    if (signbit(d))
        out[i++] = '-';
    if (d == 0) {
        out[i++] = '0';
        out[i] = '\0';
        return i;
    }
    n = dtoa_shortest(d, digits, &point);
    if (double_text_is_tie(d, digits, n, point)) {
        /* the shortest decimal strictly between the halfway points, as
         * float8out writes it: the nearest with more digits */
        int p;
        for (p = n + 1; p <= 17; p++) {
            n = dtoa_precision(d, p, digits, &point);
            if (!double_text_is_tie(d, digits, n, point))
                break;
        }
    }
    exp = point - 1;
    if (exp >= -4 && exp < 15) {
        if (point <= 0) {
            out[i++] = '0';
            out[i++] = '.';
            for (z = point; z < 0; z++)
                out[i++] = '0';
            memcpy(out + i, digits, (size_t)n);
            i += n;
        } else if (point >= n) {
            memcpy(out + i, digits, (size_t)n);
            i += n;
            for (z = n; z < point; z++)
                out[i++] = '0';
        } else {
            memcpy(out + i, digits, (size_t)point);
            i += point;
            out[i++] = '.';
            memcpy(out + i, digits + point, (size_t)(n - point));
            i += n - point;
        }
    } else {
        out[i++] = digits[0];
        if (n > 1) {
            out[i++] = '.';
            memcpy(out + i, digits + 1, (size_t)(n - 1));
            i += n - 1;
        }
        out[i++] = 'e';
        out[i++] = exp < 0 ? '-' : '+';
        if (exp < 0)
            exp = -exp;
        if (exp >= 100)
            out[i++] = (char)('0' + exp / 100);
        out[i++] = (char)('0' + exp / 10 % 10);
        out[i++] = (char)('0' + exp % 10);
    }
    out[i] = '\0';
    return i;
}

const char *format_non_finite(double d)
{
    if (isnan(d))
        return "NaN";
    return d > 0 ? "Infinity" : "-Infinity";
}

static void format_put_str(format_writer *w, const char *s)
{
    format_put(w, s, strlen(s));
}

static void format_base64_put(format_writer *w, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t chunk = n > FORMAT_B64_CHUNK ? FORMAT_B64_CHUNK : n;
        size_t enc = 4 * ((chunk + 2) / 3);
        format_reserve(w, enc + 1);
        EVP_EncodeBlock(w->buf + w->len, p, (int)chunk);
        w->len += enc;
        p += chunk;
        n -= chunk;
    }
}

char *format_base64(const void *data, size_t len)
{
    size_t enc = 4 * ((len + 2) / 3);
    const unsigned char *p = data;
    char *s, *q;

    s = malloc(enc + 1);
    if (!s)
        return NULL;
    q = s;
    while (len > 0) {
        size_t chunk = len > FORMAT_B64_CHUNK ? FORMAT_B64_CHUNK : len;
        q += EVP_EncodeBlock((unsigned char *)q, p, (int)chunk);
        p += chunk;
        len -= chunk;
    }
    *q = '\0';
    return s;
}

/* ------------------------------------------------------------------------ */
/* UTF-8 and JSON                                                            */

/* Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or
 * 0 when invalid; then *bad is the length of its maximal invalid subpart
 * (at least 1), which is replaced by one U+FFFD. */
static size_t format_utf8_seq(const unsigned char *p, const unsigned char *end,
                           size_t *bad)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t need, i;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;          /* no overlongs                */
        else if (c == 0xED)
            hi = 0x9F;          /* no surrogates               */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;          /* no overlongs                */
        else if (c == 0xF4)
            hi = 0x8F;          /* nothing above U+10FFFF      */
    } else {
        *bad = 1;
        return 0;
    }
    for (i = 1; i <= need; i++) {
        if (p + i >= end || p[i] < lo || p[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* Bytes of text that JSON strings carry unescaped (ASCII only). */
static const unsigned char format_json_plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0),
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: '"' = 0x22 */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50: '\\' = 0x5C */
    R16(1), R16(1),
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)
#undef R16
};

/* A JSON string (with quotes) for n bytes of text. */
static void format_json_string(format_writer *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    const unsigned char *run = p;
    static const char hex[] = "0123456789abcdef";

    format_putc(w, '"');
    while (p < end) {
        unsigned char c = *p;
        if (format_json_plain[c]) {
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t bad = 0, ok = format_utf8_seq(p, end, &bad);
            if (ok) {
                p += ok;
                continue;
            }
            format_put(w, run, (size_t)(p - run));
            FORMAT_PUTS(w, "\xEF\xBF\xBD");
            p += bad;
            run = p;
            continue;
        }
        format_put(w, run, (size_t)(p - run));
        format_reserve(w, 6);
        switch (c) {
        case '"': FORMAT_PUTS(w, "\\\""); break;
        case '\\': FORMAT_PUTS(w, "\\\\"); break;
        case '\n': FORMAT_PUTS(w, "\\n"); break;
        case '\r': FORMAT_PUTS(w, "\\r"); break;
        case '\t': FORMAT_PUTS(w, "\\t"); break;
        case '\b': FORMAT_PUTS(w, "\\b"); break;
        case '\f': FORMAT_PUTS(w, "\\f"); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            format_put(w, u, 6);
        }
        }
        p++;
        run = p;
    }
    format_put(w, run, (size_t)(p - run));
    format_putc(w, '"');
}

static int format_json_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Scan a JSON string starting after its opening quote; returns the index
 * after the closing quote, or 0 when invalid. */
static size_t format_json_scan_string(const unsigned char *s, size_t n, size_t i)
{
    while (i < n) {
        unsigned char c = s[i];
        if (c == '"')
            return i + 1;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (++i >= n)
                return 0;
            switch (s[i]) {
            case '"': case '\\': case '/': case 'b': case 'f':
            case 'n': case 'r': case 't':
                i++;
                break;
            case 'u': {
                size_t k;
                for (k = 1; k <= 4; k++)
                    if (i + k >= n || !isxdigit(s[i + k]))
                        return 0;
                i += 5;
                break;
            }
            default:
                return 0;
            }
            continue;
        }
        if (c >= 0x80) {
            size_t bad, ok = format_utf8_seq(s + i, s + n, &bad);
            if (!ok)
                return 0;
            i += ok;
            continue;
        }
        i++;
    }
    return 0;
}

/* Scan a JSON number at i; returns the index after it, or 0 when invalid. */
static size_t format_json_scan_number(const unsigned char *s, size_t n, size_t i)
{
    size_t start;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return 0;
    }
    return i;
}

/* 1 when s[0..n) is exactly one valid JSON value (RFC 8259, any type,
 * surrounding whitespace allowed, strings valid UTF-8, nesting at most
 * FORMAT_JSON_MAX_DEPTH).  No allocation. */
static int format_json_valid(const unsigned char *s, size_t n)
{
    char stack[FORMAT_JSON_MAX_DEPTH]; /* '{' or '[' */
    int depth = 0;
    size_t i = 0;
    enum { VALUE, AFTER_VALUE, KEY_OR_END, VALUE_OR_END, KEY } st = VALUE;

    for (;;) {
        while (i < n && format_json_ws(s[i]))
            i++;
        if (st == AFTER_VALUE) {
            if (depth == 0)
                return i == n;
            if (i >= n)
                return 0;
            if (s[i] == ',') {
                i++;
                st = stack[depth - 1] == '{' ? KEY : VALUE;
            } else if ((s[i] == '}' && stack[depth - 1] == '{') ||
                       (s[i] == ']' && stack[depth - 1] == '[')) {
                i++;
                depth--;
            } else {
                return 0;
            }
            continue;
        }
        if (i >= n)
            return 0;
        if (st == KEY_OR_END || st == VALUE_OR_END) {
            if (s[i] == (st == KEY_OR_END ? '}' : ']')) {
                i++;
                depth--;
                st = AFTER_VALUE;
                continue;
            }
            st = st == KEY_OR_END ? KEY : VALUE;
        }
        if (st == KEY) {
            if (s[i] != '"' || !(i = format_json_scan_string(s, n, i + 1)))
                return 0;
            while (i < n && format_json_ws(s[i]))
                i++;
            if (i >= n || s[i] != ':')
                return 0;
            i++;
            st = VALUE;
            continue;
        }
        /* st == VALUE */
        switch (s[i]) {
        case '{':
        case '[':
            if (depth == FORMAT_JSON_MAX_DEPTH)
                return 0;
            stack[depth++] = (char)s[i];
            st = s[i] == '{' ? KEY_OR_END : VALUE_OR_END;
            i++;
            continue;
        case '"':
            if (!(i = format_json_scan_string(s, n, i + 1)))
                return 0;
            break;
        case 't':
            if (n - i < 4 || memcmp(s + i, "true", 4) != 0)
                return 0;
            i += 4;
            break;
        case 'f':
            if (n - i < 5 || memcmp(s + i, "false", 5) != 0)
                return 0;
            i += 5;
            break;
        case 'n':
            if (n - i < 4 || memcmp(s + i, "null", 4) != 0)
                return 0;
            i += 4;
            break;
        default:
            if (!(i = format_json_scan_number(s, n, i)))
                return 0;
        }
        st = AFTER_VALUE;
    }
}

/* Embed a validated JSON document: its outer whitespace trimmed and its
 * line breaks (which valid JSON only has between tokens) dropped, so the
 * row stays on one line. */
static void format_json_raw(format_writer *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end && format_json_ws(*p))
        p++;
    while (end > p && format_json_ws(end[-1]))
        end--;
    while (p < end) {
        const unsigned char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        format_put(w, p, (size_t)(q - p));
        p = q;
        while (p < end && (*p == '\n' || *p == '\r'))
            p++;
    }
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */

static const unsigned char format_csv_special[256] = {
    ['\n'] = 1, ['\r'] = 1, ['"'] = 1, [','] = 1,
};

static void format_csv_text(format_writer *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    const unsigned char *q;

    if (n == 0) {
        FORMAT_PUTS(w, "\"\"");
        return;
    }
    for (q = p; q < end; q++)
        if (format_csv_special[*q])
            break;
    if (q == end) {
        format_put(w, s, n);
        return;
    }
    format_putc(w, '"');
    while (p < end) {
        q = memchr(p, '"', (size_t)(end - p));
        if (!q) {
            format_put(w, p, (size_t)(end - p));
            break;
        }
        format_put(w, p, (size_t)(q - p + 1));
        format_putc(w, '"');
        p = q + 1;
    }
    format_putc(w, '"');
}

static int format_protocol_error(format_writer *w, const char *fmt, ...)
    DSRC_PRINTF(2, 3);

static int format_protocol_error(format_writer *w, const char *fmt, ...)
{
    va_list ap;
    if (!w->broken) {
        w->broken = 1;
        va_start(ap, fmt);
        vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A bool, an int64 or a double cell (1), as CSV and JSON Lines both write
 * them but for a non-finite double, which `quote` puts in double quotes;
 * 0 for another type; -1 (the writer failed) for a double's text without
 * text or longer than any double's. */
static int format_scalar_cell(format_writer *w, const dsrc_cell *c, int quote)
{
    char tmp[32];
    int n;

    switch (c->type) {
    case DSRC_T_DOUBLE_TEXT:
        /* the backend's own text of the double, which is what
         * format_double_text() would write: as it is.  That it is a number
         * the host's contract checked (contract.c, before any writer);
         * here only that there is a text of a double's length. */
        if (!c->v.s.ptr || c->v.s.len - 1 >= 32)
            return format_protocol_error(w, "row %llu: a double's text of %zu byte(s)",
                                         (unsigned long long)w->rows + 1, c->v.s.len);
        if (quote && (c->v.s.ptr[0] == 'N' || c->v.s.ptr[0] == 'I' ||
                      (c->v.s.len > 1 && c->v.s.ptr[1] == 'I'))) {
            format_putc(w, '"');
            format_put(w, c->v.s.ptr, c->v.s.len);
            format_putc(w, '"');
        } else {
            format_put(w, c->v.s.ptr, c->v.s.len);
        }
        return 1;
    case DSRC_T_BOOL:
        if (c->v.b)
            FORMAT_PUTS(w, "true");
        else
            FORMAT_PUTS(w, "false");
        return 1;
    case DSRC_T_INT64:
        format_put_i64(w, c->v.i);
        return 1;
    case DSRC_T_DOUBLE:
        if (isfinite(c->v.d)) {
            n = format_double_text(c->v.d, tmp);
            format_put(w, tmp, (size_t)n);
            return 1;
        }
        if (quote)
            format_putc(w, '"');
        format_put_str(w, format_non_finite(c->v.d));
        if (quote)
            format_putc(w, '"');
        return 1;
    default:
        return 0;
    }
}

static int format_csv_cell(format_writer *w, const dsrc_cell *c)
{
    int n;

    if ((n = format_scalar_cell(w, c, 0)) != 0)
        return n < 0 ? -1 : 0;
    switch (c->type) {
    case DSRC_T_NULL:
        break;
    case DSRC_T_TEXT:
    case DSRC_T_TIMESTAMP:
    case DSRC_T_JSON:
        if (!c->v.s.ptr && c->v.s.len)
            return format_protocol_error(w, "row %llu: text cell without data",
                                      (unsigned long long)w->rows + 1);
        format_csv_text(w, c->v.s.ptr ? c->v.s.ptr : "", c->v.s.len);
        break;
    case DSRC_T_BYTES:
        if (!c->v.s.ptr && c->v.s.len)
            return format_protocol_error(w, "row %llu: bytes cell without data",
                                      (unsigned long long)w->rows + 1);
        if (c->v.s.len == 0)
            FORMAT_PUTS(w, "\"\"");
        else
            format_base64_put(w, (const unsigned char *)c->v.s.ptr, c->v.s.len);
        break;
    default:
        return format_protocol_error(w, "row %llu: unknown cell type %d",
                                  (unsigned long long)w->rows + 1, (int)c->type);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* JSON Lines                                                                */

static int format_json_cell(format_writer *w, const dsrc_cell *c)
{
    int n;

    /* Non-finite doubles as PostgreSQL's to_json() writes them: strings,
     * so that they stay apart from NULL. */
    if ((n = format_scalar_cell(w, c, 1)) != 0)
        return n < 0 ? -1 : 0;
    switch (c->type) {
    case DSRC_T_NULL:
        FORMAT_PUTS(w, "null");
        break;
    case DSRC_T_TEXT:
    case DSRC_T_TIMESTAMP:
        if (!c->v.s.ptr && c->v.s.len)
            return format_protocol_error(w, "row %llu: text cell without data",
                                      (unsigned long long)w->rows + 1);
        format_json_string(w, c->v.s.ptr ? c->v.s.ptr : "", c->v.s.len);
        break;
    case DSRC_T_JSON:
        if (!c->v.s.ptr && c->v.s.len)
            return format_protocol_error(w, "row %llu: json cell without data",
                                      (unsigned long long)w->rows + 1);
        if (c->v.s.ptr &&
            format_json_valid((const unsigned char *)c->v.s.ptr, c->v.s.len))
            format_json_raw(w, c->v.s.ptr, c->v.s.len);
        else
            format_json_string(w, c->v.s.ptr ? c->v.s.ptr : "", c->v.s.len);
        break;
    case DSRC_T_BYTES:
        if (!c->v.s.ptr && c->v.s.len)
            return format_protocol_error(w, "row %llu: bytes cell without data",
                                      (unsigned long long)w->rows + 1);
        format_putc(w, '"');
        format_base64_put(w, (const unsigned char *)c->v.s.ptr, c->v.s.len);
        format_putc(w, '"');
        break;
    default:
        return format_protocol_error(w, "row %llu: unknown cell type %d",
                                  (unsigned long long)w->rows + 1, (int)c->type);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The sink                                                                  */

static char *format_copy_str(char **pool, const char *s)
{
    char *d;
    size_t n;
    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = *pool;
    memcpy(d, s, n);
    *pool += n;
    return d;
}

/* A growing memory block, the output of the scratch writer below. */
typedef struct format_mem {
    char *p;
    size_t len, cap;
} format_mem;

static int format_mem_out(void *user, const void *data, size_t len)
{
    format_mem *m = user;
    if (len > m->cap - m->len) {
        size_t cap = m->cap ? m->cap : 256;
        char *np;
        while (len > cap - m->len)
            cap *= 2;
        np = realloc(m->p, cap);
        if (!np) {
            errno = ENOMEM;
            return -1;
        }
        m->p = np;
        m->cap = cap;
    }
    memcpy(m->p + m->len, data, len);
    m->len += len;
    return 0;
}

/* Keys for JSONL: escaped column names with their separators, escaped
 * once here through a scratch writer instead of on every row. */
static int format_build_keys(format_writer *w)
{
    format_mem m = {NULL, 0, 0};
    format_writer *kw;
    size_t i;
    int rc = 0;

    w->key_off = calloc(w->ncols + 1, sizeof *w->key_off);
    kw = format_new(FORMAT_JSONL, format_mem_out, &m);
    if (!w->key_off || !kw) {
        format_free(kw);
        return -1;
    }
    for (i = 0; i < w->ncols && rc == 0; i++) {
        format_putc(kw, i == 0 ? '{' : ',');
        format_json_string(kw, w->cols[i].name, strlen(w->cols[i].name));
        format_putc(kw, ':');
        rc = format_flush(kw);
        w->key_off[i + 1] = m.len;
    }
    format_free(kw);
    if (rc != 0) {
        free(m.p);
        return -1;
    }
    w->keys = m.p;
    return 0;
}

static int format_on_schema(void *user, const dsrc_column *cols, size_t n)
{
    format_writer *w = user;
    size_t i, total = 0;
    char *pool;

    if (w->have_schema)
        return format_protocol_error(w, "the plugin sent the schema twice");
    if (n && !cols)
        return format_protocol_error(w, "the plugin sent a schema without columns");
    for (i = 0; i < n; i++) {
        if (!cols[i].name)
            return format_protocol_error(w, "column %zu has no name", i + 1);
        total += strlen(cols[i].name) + 1;
        if (cols[i].native_type)
            total += strlen(cols[i].native_type) + 1;
        if (cols[i].default_value)
            total += strlen(cols[i].default_value) + 1;
        if (cols[i].comment)
            total += strlen(cols[i].comment) + 1;
    }
    w->cols = calloc(n ? n : 1, sizeof *w->cols);
    w->strings = malloc(total ? total : 1);
    if (!w->cols || !w->strings)
        return format_protocol_error(w, "out of memory copying the schema");
    pool = w->strings;
    for (i = 0; i < n; i++) {
        w->cols[i].name = format_copy_str(&pool, cols[i].name);
        w->cols[i].type = cols[i].type;
        w->cols[i].native_type = format_copy_str(&pool, cols[i].native_type);
        w->cols[i].nullable = cols[i].nullable;
        w->cols[i].primary_key = cols[i].primary_key;
        w->cols[i].default_value = format_copy_str(&pool, cols[i].default_value);
        w->cols[i].comment = format_copy_str(&pool, cols[i].comment);
    }
    w->ncols = n;
    w->have_schema = 1;

    if (w->kind == FORMAT_JSONL) {
        if (format_build_keys(w) != 0)
            return format_protocol_error(w, "out of memory building the keys");
    } else {
        for (i = 0; i < n; i++) {
            if (i)
                format_putc(w, ',');
            format_csv_text(w, w->cols[i].name, strlen(w->cols[i].name));
        }
        FORMAT_PUTS(w, "\r\n");
    }
    return w->failed ? -1 : 0;
}

static int format_on_row(void *user, const dsrc_cell *cells, size_t n)
{
    format_writer *w = user;
    size_t i;

    if (w->failed || w->broken)
        return -1;
    if (!w->have_schema)
        return format_protocol_error(w, "the plugin sent a row before the schema");
    if (n != w->ncols)
        return format_protocol_error(w, "row %llu has %zu cells, the schema has %zu columns",
                                  (unsigned long long)w->rows + 1, n, w->ncols);
    if (n && !cells)
        return format_protocol_error(w, "row %llu has no cells",
                                  (unsigned long long)w->rows + 1);
    if (w->kind == FORMAT_CSV) {
        for (i = 0; i < n; i++) {
            if (i)
                format_putc(w, ',');
            if (format_csv_cell(w, &cells[i]) != 0)
                return -1;
        }
        FORMAT_PUTS(w, "\r\n");
    } else {
        if (n == 0)
            format_putc(w, '{');
        for (i = 0; i < n; i++) {
            format_put(w, w->keys + w->key_off[i], w->key_off[i + 1] - w->key_off[i]);
            if (format_json_cell(w, &cells[i]) != 0)
                return -1;
        }
        FORMAT_PUTS(w, "}\n");
    }
    if (w->failed)
        return -1;
    w->rows++;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public                                                                    */

format_writer *format_new(format_kind kind, format_out_fn out, void *user)
{
    format_writer *w;

    if ((kind != FORMAT_CSV && kind != FORMAT_JSONL) || !out)
        return NULL;
    w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->buf = malloc(FORMAT_BUFSIZE);
    if (!w->buf) {
        free(w);
        return NULL;
    }
    w->kind = kind;
    w->out = out;
    w->user = user;
    w->sink.struct_size = sizeof w->sink;
    w->sink.user = w;
    w->sink.schema = format_on_schema;
    w->sink.row = format_on_row;
    return w;
}

void format_free(format_writer *w)
{
    if (!w)
        return;
    free(w->buf);
    free(w->cols);
    free(w->strings);
    free(w->keys);
    free(w->key_off);
    free(w);
}

const dsrc_row_sink *format_sink(format_writer *w)
{
    return &w->sink;
}

int format_finish(format_writer *w)
{
    format_flush(w);
    return w->failed || w->broken ? -1 : 0;
}

uint64_t format_rows(const format_writer *w)
{
    return w->rows;
}

int format_failed(const format_writer *w)
{
    return w->failed;
}

int format_errno(const format_writer *w)
{
    return w->failed ? w->err : 0;
}

const char *format_error(const format_writer *w)
{
    return w->broken ? w->errmsg : NULL;
}

const dsrc_column *format_columns(const format_writer *w, size_t *n)
{
    if (n)
        *n = w->have_schema ? w->ncols : 0;
    return w->have_schema ? w->cols : NULL;
}

int format_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "csv") == 0)
        return FORMAT_CSV;
    if (strcmp(name, "jsonl") == 0 || strcmp(name, "json-lines") == 0 ||
        strcmp(name, "ndjson") == 0)
        return FORMAT_JSONL;
    return -1;
}

const char *format_name(format_kind k)
{
    return k == FORMAT_JSONL ? "jsonl" : "csv";
}

const char *format_extension(format_kind k)
{
    return k == FORMAT_JSONL ? "jsonl" : "csv";
}
