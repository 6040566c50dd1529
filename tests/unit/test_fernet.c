/* SPDX-License-Identifier: Apache-2.0 */
/* test_fernet.c -- Fernet: the spec's vectors, round trips, tampering,
 * truncation, wrong keys and key lists. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "secret/fernet.h"

#define SPEC_KEY "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* The directory of the spec's JSON files. */
static const char *vectors_dir(char *buf, size_t n)
{
    const char *env = getenv("DSRC_FERNET_VECTORS"), *top = getenv("top_srcdir");

    if (env && *env)
        return env;
    if (top && *top) {
        snprintf(buf, n, "%s/tests/fixtures/fernet", top);
        return buf;
    }
    return FERNET_VECTORS_DIR;
}

/* Load NAME.json: an array.  Fails the test when missing or malformed. */
static json_t *load_vectors(const char *name)
{
    char dirbuf[4096], path[4200];
    json_error_t jerr;
    json_t *j;

    snprintf(path, sizeof path, "%s/%s.json", vectors_dir(dirbuf, sizeof dirbuf), name);
    j = json_load_file(path, 0, &jerr);
    ck_assert_msg(j != NULL, "cannot load the Fernet vectors %s: %s (set DSRC_FERNET_VECTORS "
                  "to the directory holding generate.json, verify.json, invalid.json)",
                  path, jerr.text);
    ck_assert_msg(json_is_array(j) && json_array_size(j) > 0, "%s: not a non-empty array",
                  path);
    return j;
}

/* "1985-10-26T01:20:00-07:00" -> seconds since the epoch. */
static uint64_t parse_rfc3339(const char *s)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
    char sign = 'Z';
    struct tm tm;
    time_t t;

    ck_assert_msg(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6,
                  "bad time %s", s);
    if (s[n] == '+' || s[n] == '-') {
        sign = s[n];
        ck_assert_msg(sscanf(s + n + 1, "%2d:%2d", &oh, &om) == 2, "bad offset in %s", s);
    } else {
        ck_assert_msg(s[n] == 'Z', "bad time zone in %s", s);
    }
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (sign == '+')
        t -= oh * 3600 + om * 60;
    else if (sign == '-')
        t += oh * 3600 + om * 60;
    return (uint64_t)t;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    ck_assert_msg(s != NULL, "vector without string '%s'", k);
    return s;
}

static fernet_key key_of(const char *text)
{
    fernet_key k;
    ck_assert_int_eq(fernet_key_decode(text, strlen(text), &k), FERNET_OK);
    return k;
}

static fernet_key random_key(void)
{
    fernet_key k;
    ck_assert_int_eq(fernet_key_generate(&k), FERNET_OK);
    return k;
}

static fernet_status try_decrypt(const fernet_key *keys, size_t n, const char *tok, size_t len,
                                 int64_t ttl, uint64_t now)
{
    unsigned char *out = (unsigned char *)"sentinel";
    size_t out_len = 7;
    fernet_status st = fernet_decrypt_at(keys, n, tok, len, ttl, now, &out, &out_len, NULL);

    if (st != FERNET_OK) {
        ck_assert_ptr_null(out);
        ck_assert_uint_eq(out_len, 0);
    }
    fernet_free(out, out_len);
    return st;
}

/* Independent URL-safe base64 (through OpenSSL's standard alphabet) for
 * building altered tokens. */
static size_t test_b64_decode(const char *tok, unsigned char *out)
{
    size_t len = strlen(tok), i, pads = 0;
    char *tmp = strdup(tok);
    int n;

    ck_assert_ptr_nonnull(tmp);
    for (i = 0; i < len; i++)
        tmp[i] = tmp[i] == '-' ? '+' : tmp[i] == '_' ? '/' : tmp[i];
    while (pads < len && tok[len - 1 - pads] == '=')
        pads++;
    n = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)len);
    free(tmp);
    ck_assert_int_ge(n, 0);
    return (size_t)n - pads;
}

static char *test_b64_encode(const unsigned char *in, size_t n)
{
    char *out = malloc(n / 3 * 4 + 8);
    int len, i;

    ck_assert_ptr_nonnull(out);
    len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    for (i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

/* ------------------------------------------------------------------------ */
/* The spec's vectors                                                        */

START_TEST(spec_generate)
{
    json_t *v = load_vectors("generate"), *c;
    size_t i, j;

    json_array_foreach(v, i, c) {
        fernet_key k = key_of(jstr(c, "secret"));
        json_t *ivj = json_object_get(c, "iv");
        unsigned char iv[FERNET_IV_BYTES];
        const char *src = jstr(c, "src");
        char *tok = NULL;

        ck_assert_uint_eq(json_array_size(ivj), FERNET_IV_BYTES);
        for (j = 0; j < FERNET_IV_BYTES; j++)
            iv[j] = (unsigned char)json_integer_value(json_array_get(ivj, j));
        ck_assert_int_eq(fernet_encrypt_at(&k, src, strlen(src), parse_rfc3339(jstr(c, "now")),
                                           iv, &tok),
                         FERNET_OK);
        ck_assert_str_eq(tok, jstr(c, "token"));
        free(tok);
    }
    json_decref(v);
}
END_TEST

START_TEST(spec_verify)
{
    json_t *v = load_vectors("verify"), *c;
    size_t i;

    json_array_foreach(v, i, c) {
        fernet_key k = key_of(jstr(c, "secret"));
        const char *tok = jstr(c, "token"), *src = jstr(c, "src");
        unsigned char *out = NULL;
        size_t len = 0, idx = 99;
        uint64_t now = parse_rfc3339(jstr(c, "now"));

        ck_assert_int_eq(fernet_decrypt_at(&k, 1, tok, strlen(tok),
                                           json_integer_value(json_object_get(c, "ttl_sec")),
                                           now, &out, &len, &idx),
                         FERNET_OK);
        ck_assert_uint_eq(idx, 0);
        ck_assert_uint_eq(len, strlen(src));
        ck_assert_mem_eq(out, src, len);
        ck_assert_int_eq(out[len], '\0');
        fernet_free(out, len);
    }
    json_decref(v);
}
END_TEST

/* The status each invalid case of the spec must give. */
static const struct {
    const char *desc;
    fernet_status st;
} invalid_expect[] = {
    {"incorrect mac", FERNET_E_MAC},
    {"too short", FERNET_E_SHORT},
    {"invalid base64", FERNET_E_ENCODING},
    {"payload size not multiple of block size", FERNET_E_LENGTH},
    {"payload padding error", FERNET_E_PADDING},
    {"far-future TS (unacceptable clock skew)", FERNET_E_FUTURE},
    {"expired TTL", FERNET_E_EXPIRED},
    {"incorrect IV (causes padding error)", FERNET_E_PADDING},
};
#define N_INVALID (sizeof invalid_expect / sizeof invalid_expect[0])

START_TEST(spec_invalid)
{
    json_t *v = load_vectors("invalid"), *c;
    int seen[N_INVALID] = {0};
    size_t i, j;

    json_array_foreach(v, i, c) {
        fernet_key k = key_of(jstr(c, "secret"));
        const char *tok = jstr(c, "token"), *desc = jstr(c, "desc");
        fernet_status st = try_decrypt(&k, 1, tok, strlen(tok),
                                       json_integer_value(json_object_get(c, "ttl_sec")),
                                       parse_rfc3339(jstr(c, "now")));

        ck_assert_msg(st != FERNET_OK, "invalid case '%s' was accepted", desc);
        for (j = 0; j < N_INVALID; j++)
            if (strcmp(invalid_expect[j].desc, desc) == 0) {
                ck_assert_msg(st == invalid_expect[j].st, "'%s': got %d (%s), wanted %d", desc,
                              st, fernet_strerror(st), invalid_expect[j].st);
                seen[j]++;
            }
    }
    for (j = 0; j < N_INVALID; j++)
        ck_assert_msg(seen[j] == 1, "invalid case '%s' not in invalid.json",
                      invalid_expect[j].desc);
    json_decref(v);
}
END_TEST

/* Without a TTL, as Python's cryptography, the timestamp is not checked:
 * the expired and far-future cases decrypt. */
START_TEST(spec_no_ttl_ignores_time)
{
    json_t *v = load_vectors("invalid"), *c;
    size_t i, n = 0;

    json_array_foreach(v, i, c) {
        const char *desc = jstr(c, "desc");
        if (strcmp(desc, "expired TTL") == 0 || strncmp(desc, "far-future", 10) == 0) {
            fernet_key k = key_of(jstr(c, "secret"));
            const char *tok = jstr(c, "token");
            ck_assert_int_eq(try_decrypt(&k, 1, tok, strlen(tok), FERNET_NO_TTL,
                                         parse_rfc3339(jstr(c, "now"))),
                             FERNET_OK);
            n++;
        }
    }
    ck_assert_uint_eq(n, 2);
    json_decref(v);
}
END_TEST

START_TEST(ttl_boundaries)
{
    fernet_key k = key_of(SPEC_KEY);
    unsigned char iv[FERNET_IV_BYTES] = {0};
    const uint64_t ts = 1700000000;
    char *tok = NULL;
    size_t len;

    ck_assert_int_eq(fernet_encrypt_at(&k, "x", 1, ts, iv, &tok), FERNET_OK);
    len = strlen(tok);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, 60, ts + 60), FERNET_OK);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, 60, ts + 61), FERNET_E_EXPIRED);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, 0, ts), FERNET_OK);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, 0, ts + 1), FERNET_E_EXPIRED);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, 60, ts - 60), FERNET_OK);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, 60, ts - 61), FERNET_E_FUTURE);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, FERNET_NO_TTL, ts - 100000), FERNET_OK);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, FERNET_NO_TTL, ts + 100000000), FERNET_OK);
    free(tok);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */

START_TEST(key_codec)
{
    fernet_key k = random_key(), k2, k3;
    char text[FERNET_KEY_TEXT_LEN + 1];
    static const char *const bad[] = {
        "",
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4",    /* no padding    */
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4==",  /* bad padding   */
        "cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4=",   /* standard alphabet */
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e5=",   /* unused bits set */
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpw=",       /* 28 bytes      */
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4cw_0",/* 36 bytes      */
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSb pwF4e4=",   /* a blank       */
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=\n", /* newline       */
    };
    size_t i;

    fernet_key_encode(&k, text);
    ck_assert_uint_eq(strlen(text), FERNET_KEY_TEXT_LEN);
    ck_assert_int_eq(text[FERNET_KEY_TEXT_LEN - 1], '=');
    ck_assert_int_eq(fernet_key_decode(text, strlen(text), &k2), FERNET_OK);
    ck_assert_mem_eq(&k, &k2, sizeof k);
    k3 = random_key();
    ck_assert_int_ne(memcmp(&k, &k3, sizeof k), 0);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(fernet_key_decode(bad[i], strlen(bad[i]), &k2) == FERNET_E_KEY,
                      "bad key %zu accepted", i);
    fernet_key_wipe(&k);
    for (i = 0; i < sizeof k; i++)
        ck_assert_int_eq(((unsigned char *)&k)[i], 0);
    for (i = 0; i <= FERNET_E_INTERNAL; i++)
        ck_assert_ptr_nonnull(fernet_strerror((fernet_status)i));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Round trips, tampering, truncation, keys                                  */

START_TEST(round_trips)
{
    static const size_t lens[] = {0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 65537};
    fernet_key k = random_key();
    size_t i, j;

    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned char *msg = malloc(lens[i] + 1), *out = NULL;
        char *tok = NULL, *tok2 = NULL;
        size_t out_len = 0, raw;

        ck_assert_ptr_nonnull(msg);
        for (j = 0; j < lens[i]; j++)
            msg[j] = (unsigned char)(j * 7 + i);
        ck_assert_int_eq(fernet_encrypt(&k, msg, lens[i], &tok), FERNET_OK);
        ck_assert_int_eq(fernet_encrypt(&k, msg, lens[i], &tok2), FERNET_OK);
        ck_assert_str_ne(tok, tok2); /* random IVs */
        raw = 1 + 8 + 16 + (lens[i] / 16 + 1) * 16 + 32;
        ck_assert_uint_eq(strlen(tok), (raw + 2) / 3 * 4);
        ck_assert_int_eq(tok[0], 'g'); /* 0x80 */
        ck_assert_int_eq(fernet_decrypt(&k, 1, tok, strlen(tok), 60, &out, &out_len, NULL),
                         FERNET_OK);
        ck_assert_uint_eq(out_len, lens[i]);
        if (lens[i])
            ck_assert_mem_eq(out, msg, lens[i]);
        fernet_free(out, out_len);
        free(tok);
        free(tok2);
        free(msg);
    }
}
END_TEST

START_TEST(tamper_every_byte)
{
    fernet_key k = random_key();
    unsigned char raw[256];
    char *tok = NULL;
    size_t n, i;
    int bit;

    ck_assert_int_eq(fernet_encrypt(&k, "tamper me, please", 17, &tok), FERNET_OK);
    n = test_b64_decode(tok, raw);
    ck_assert_uint_eq(n, 1 + 8 + 16 + 32 + 32);
    {
        /* The helper round-trips the untouched token. */
        char *same = test_b64_encode(raw, n);
        ck_assert_str_eq(same, tok);
        free(same);
    }
    for (i = 0; i < n; i++)
        for (bit = 0; bit < 8; bit += 7) {
            char *bad;
            fernet_status st;

            raw[i] ^= (unsigned char)(1u << bit);
            bad = test_b64_encode(raw, n);
            st = try_decrypt(&k, 1, bad, strlen(bad), FERNET_NO_TTL, 0);
            ck_assert_msg(st == (i == 0 ? FERNET_E_VERSION : FERNET_E_MAC),
                          "byte %zu bit %d: status %d", i, bit, st);
            free(bad);
            raw[i] ^= (unsigned char)(1u << bit);
        }
    free(tok);
}
END_TEST

START_TEST(tamper_every_char)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .%";
    fernet_key k = random_key();
    char *tok = NULL;
    size_t len, i, a;

    ck_assert_int_eq(fernet_encrypt(&k, "abc", 3, &tok), FERNET_OK);
    len = strlen(tok);
    for (i = 0; i < len; i++) {
        char orig = tok[i];
        for (a = 0; alphabet[a]; a++) {
            if (alphabet[a] == orig)
                continue;
            tok[i] = alphabet[a];
            ck_assert_msg(try_decrypt(&k, 1, tok, len, FERNET_NO_TTL, 0) != FERNET_OK,
                          "changing char %zu to '%c' was accepted", i, alphabet[a]);
        }
        tok[i] = orig;
    }
    ck_assert_int_eq(try_decrypt(&k, 1, tok, len, FERNET_NO_TTL, 0), FERNET_OK);
    free(tok);
}
END_TEST

START_TEST(truncate_every_length)
{
    fernet_key k = random_key();
    char *tok = NULL;
    size_t len, i;

    ck_assert_int_eq(fernet_encrypt(&k, "a value that spans two AES blocks", 33, &tok),
                     FERNET_OK);
    len = strlen(tok);
    for (i = 0; i < len; i++) {
        char *cut = strndup(tok, i); /* a separate buffer: no reading past it */
        fernet_status st;
        ck_assert_ptr_nonnull(cut);
        st = try_decrypt(&k, 1, cut, i, FERNET_NO_TTL, 0);
        ck_assert_msg(st != FERNET_OK, "truncated to %zu accepted", i);
        free(cut);
    }
    /* Truncated to whole base64 quanta, re-padded: decodes, then fails on
     * length or MAC. */
    for (i = 4; i < len; i += 4) {
        char *cut = strndup(tok, i);
        fernet_status st = try_decrypt(&k, 1, cut, i, FERNET_NO_TTL, 0);
        ck_assert_msg(st == FERNET_E_SHORT || st == FERNET_E_MAC || st == FERNET_E_ENCODING,
                      "truncated to %zu: status %d", i, st);
        free(cut);
    }
    /* Extra bytes after the token are refused too. */
    {
        char *longer = malloc(len + 5);
        memcpy(longer, tok, len);
        memcpy(longer + len, "AAAA", 5);
        ck_assert_int_ne(try_decrypt(&k, 1, longer, len + 4, FERNET_NO_TTL, 0), FERNET_OK);
        free(longer);
    }
    free(tok);
}
END_TEST

START_TEST(wrong_key_and_key_lists)
{
    fernet_key k1 = random_key(), k2 = random_key(), k3 = random_key();
    fernet_key list[3];
    char *tok = NULL;
    unsigned char *out = NULL;
    size_t out_len = 0, idx = 99, len;

    ck_assert_int_eq(fernet_encrypt(&k1, "rotate-me", 9, &tok), FERNET_OK);
    len = strlen(tok);
    ck_assert_int_eq(try_decrypt(&k2, 1, tok, len, FERNET_NO_TTL, 0), FERNET_E_MAC);

    /* New key first, old key second: the old key decrypts. */
    list[0] = k2;
    list[1] = k1;
    ck_assert_int_eq(fernet_decrypt(list, 2, tok, len, FERNET_NO_TTL, &out, &out_len, &idx),
                     FERNET_OK);
    ck_assert_uint_eq(idx, 1);
    ck_assert_uint_eq(out_len, 9);
    ck_assert_mem_eq(out, "rotate-me", 9);
    fernet_free(out, out_len);

    list[0] = k1;
    list[1] = k2;
    ck_assert_int_eq(fernet_decrypt(list, 2, tok, len, FERNET_NO_TTL, &out, &out_len, &idx),
                     FERNET_OK);
    ck_assert_uint_eq(idx, 0);
    fernet_free(out, out_len);

    list[0] = k3;
    list[1] = k2;
    list[2] = k3;
    ck_assert_int_eq(try_decrypt(list, 3, tok, len, FERNET_NO_TTL, 0), FERNET_E_MAC);
    ck_assert_int_eq(try_decrypt(list, 0, tok, len, FERNET_NO_TTL, 0), FERNET_E_NO_KEY);
    ck_assert_int_eq(try_decrypt(NULL, 1, tok, len, FERNET_NO_TTL, 0), FERNET_E_NO_KEY);
    free(tok);
}
END_TEST

/* A token encrypted with the signing and encryption halves swapped must
 * not decrypt: the halves are used as the spec says. */
START_TEST(key_halves)
{
    fernet_key k = key_of(SPEC_KEY), swapped;
    unsigned char iv[FERNET_IV_BYTES] = {0};
    char *tok = NULL;

    memcpy(swapped.signing, k.encryption, 16);
    memcpy(swapped.encryption, k.signing, 16);
    ck_assert_int_eq(fernet_encrypt_at(&swapped, "hello", 5, 499162800, iv, &tok), FERNET_OK);
    ck_assert_int_eq(try_decrypt(&k, 1, tok, strlen(tok), FERNET_NO_TTL, 0), FERNET_E_MAC);
    free(tok);
}
END_TEST

START_TEST(encoding_rules)
{
    fernet_key k = key_of(SPEC_KEY);
    unsigned char iv[FERNET_IV_BYTES] = {0};
    char *tok = NULL, *t;
    size_t len;

    /* "hello": 73 bytes, 100 characters ending in "==". */
    ck_assert_int_eq(fernet_encrypt_at(&k, "hello", 5, 499162800, iv, &tok), FERNET_OK);
    len = strlen(tok);
    ck_assert_uint_eq(len, 100);
    ck_assert_int_eq(tok[len - 1], '=');
    ck_assert_int_eq(tok[len - 2], '=');
    ck_assert_int_ne(tok[len - 3], '=');
    t = strdup(tok);
    /* Padding is required, and exactly as much as needed. */
    ck_assert_int_eq(try_decrypt(&k, 1, t, len - 1, FERNET_NO_TTL, 0), FERNET_E_ENCODING);
    ck_assert_int_eq(try_decrypt(&k, 1, t, len - 2, FERNET_NO_TTL, 0), FERNET_E_ENCODING);
    t[len - 1] = 'A'; /* "DA=A": padding inside */
    ck_assert_int_eq(try_decrypt(&k, 1, t, len, FERNET_NO_TTL, 0), FERNET_E_ENCODING);
    t[len - 1] = '=';
    t[len - 3] = '='; /* "D===": too much padding */
    ck_assert_int_eq(try_decrypt(&k, 1, t, len, FERNET_NO_TTL, 0), FERNET_E_ENCODING);
    t[len - 3] = 'A';
    /* The 4 unused bits of the last character must be zero. */
    ck_assert_int_eq(t[len - 3], 'A'); /* the spec's token ends in "DA==" */
    t[len - 3] = 'B';
    ck_assert_int_eq(try_decrypt(&k, 1, t, len, FERNET_NO_TTL, 0), FERNET_E_ENCODING);
    free(t);
    /* Leading or trailing blanks are not part of a token. */
    t = malloc(len + 2);
    t[0] = ' ';
    memcpy(t + 1, tok, len + 1);
    ck_assert_int_eq(try_decrypt(&k, 1, t, len + 1, FERNET_NO_TTL, 0), FERNET_E_ENCODING);
    free(t);
    /* The version byte. */
    t = strdup(tok);
    t[0] = 'A';
    ck_assert_int_eq(try_decrypt(&k, 1, t, len, FERNET_NO_TTL, 0), FERNET_E_VERSION);
    free(t);
    free(tok);
}
END_TEST

static Suite *fernet_suite(void)
{
    Suite *s = suite_create("fernet");
    TCase *tc = tcase_create("spec");

    tcase_add_test(tc, spec_generate);
    tcase_add_test(tc, spec_verify);
    tcase_add_test(tc, spec_invalid);
    tcase_add_test(tc, spec_no_ttl_ignores_time);
    tcase_add_test(tc, ttl_boundaries);
    suite_add_tcase(s, tc);

    tc = tcase_create("tokens");
    tcase_add_test(tc, key_codec);
    tcase_add_test(tc, round_trips);
    tcase_add_test(tc, tamper_every_byte);
    tcase_add_test(tc, tamper_every_char);
    tcase_add_test(tc, truncate_every_length);
    tcase_add_test(tc, wrong_key_and_key_lists);
    tcase_add_test(tc, key_halves);
    tcase_add_test(tc, encoding_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fernet_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
