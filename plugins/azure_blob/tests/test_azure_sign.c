/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_azure_sign.c -- the pure parts of azure_blob.so: the Shared Key
 * string-to-sign and signature (checked against an independent Python
 * implementation, plugins/azure_blob/tests/fixture/azure.py), URL encoding, base64,
 * connection strings and HTTP dates.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../az_sign.h"

/* Azurite's documented development account key. */
#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* The signature Python computes for the same request. */
static char *py_sign(const char *verb, const char *account, const char *key, const char *path,
                     const char *query, const char *headers, const char *if_match,
                     const char *range)
{
    const char *srcdir = getenv("top_srcdir");
    char cmd[4096], line[256];
    FILE *fp;
    char *out = NULL;

    if (!srcdir)
        srcdir = TOP_SRCDIR;
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s/plugins/azure_blob/tests/fixture/azure.py' sign '%s' '%s' '%s' '%s' "
             "'%s' '%s' '%s' '%s'",
             srcdir, verb, account, key, path, query, headers, if_match ? if_match : "",
             range ? range : "");
    fp = popen(cmd, "r");
    ck_assert_ptr_nonnull(fp);
    if (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = '\0';
        out = strdup(line);
    }
    ck_assert_int_eq(pclose(fp), 0);
    ck_assert_ptr_nonnull(out);
    return out;
}

START_TEST(t_string_to_sign_layout)
{
    az_pair q[] = {{"restype", "container"}, {"comp", "list"}, {"maxresults", "3"},
                   {"prefix", "dir 1/"}};
    az_pair h[] = {{"x-ms-version", "2021-08-06"}, {"x-ms-date", "Mon, 01 Jan 2024 10:00:00 GMT"}};
    az_sigreq r;
    char *sts;

    memset(&r, 0, sizeof r);
    r.verb = "GET";
    r.account = "devstoreaccount1";
    r.path = "/devstoreaccount1/data";
    r.query = q;
    r.n_query = 4;
    r.headers = h;
    r.n_headers = 2;
    sts = az_string_to_sign(&r);
    ck_assert_ptr_nonnull(sts);
    /* verb, 11 empty standard headers, sorted x-ms headers, the resource
     * with the account twice (path-style), sorted decoded parameters */
    ck_assert_str_eq(sts, "GET\n\n\n\n\n\n\n\n\n\n\n\n"
                          "x-ms-date:Mon, 01 Jan 2024 10:00:00 GMT\n"
                          "x-ms-version:2021-08-06\n"
                          "/devstoreaccount1/devstoreaccount1/data\n"
                          "comp:list\nmaxresults:3\nprefix:dir 1/\nrestype:container");
    free(sts);
}
END_TEST

START_TEST(t_string_to_sign_canonical)
{
    az_pair h1[] = {{"X-MS-Version", "2021-08-06"}, {"x-ms-range", "  bytes=0-9  "},
                    {"x-ms-Date", "Mon,  01 Jan 2024 10:00:00 GMT"}};
    az_pair h2[] = {{"x-ms-date", "Mon, 01 Jan 2024 10:00:00 GMT"}, {"x-ms-range", "bytes=0-9"},
                    {"x-ms-version", "2021-08-06"}};
    az_pair q[] = {{"B", "2"}, {"a", "x"}, {"b", "1"}};
    az_sigreq r;
    char *s1, *s2;

    memset(&r, 0, sizeof r);
    r.verb = "HEAD";
    r.account = "acct";
    r.path = "/c/b";
    r.headers = h1;
    r.n_headers = 3;
    r.query = q;
    r.n_query = 3;
    r.if_match = "\"0x1\"";
    s1 = az_string_to_sign(&r);
    r.headers = h2;
    s2 = az_string_to_sign(&r);
    ck_assert_ptr_nonnull(s1);
    ck_assert_str_eq(s1, s2);
    ck_assert_ptr_nonnull(strstr(s1, "\n\"0x1\"\n\n\n\n"));
    ck_assert_ptr_nonnull(strstr(s1, "/acct/c/b\na:x\nb:1,2"));
    free(s1);
    free(s2);
}
END_TEST

START_TEST(t_signature_matches_python)
{
    struct {
        const char *verb, *account, *path, *query, *headers, *if_match, *range;
        az_pair q[4];
        size_t nq;
        az_pair h[3];
        size_t nh;
    } v[] = {
        {"GET", "devstoreaccount1", "/devstoreaccount1/", "comp=list&maxresults=1",
         "x-ms-date:Mon, 01 Jan 2024 10:00:00 GMT|x-ms-version:2021-08-06", NULL, NULL,
         {{"comp", "list"}, {"maxresults", "1"}}, 2,
         {{"x-ms-date", "Mon, 01 Jan 2024 10:00:00 GMT"}, {"x-ms-version", "2021-08-06"}}, 2},
        {"GET", "myaccount", "/data/dir/with%20space%C3%BC", "",
         "x-ms-version:2021-08-06|x-ms-range:bytes=4194304-8388607|x-ms-date:Tue, 02 Jan 2024 00:00:01 GMT",
         "\"0x8DC\"", NULL, {{NULL, NULL}}, 0,
         {{"x-ms-version", "2021-08-06"}, {"x-ms-range", "bytes=4194304-8388607"},
          {"x-ms-date", "Tue, 02 Jan 2024 00:00:01 GMT"}}, 3},
        {"HEAD", "devstoreaccount1", "/devstoreaccount1/data", "restype=container",
         "x-ms-date:Wed, 03 Jan 2024 23:59:59 GMT|x-ms-version:2021-08-06", NULL, "bytes=0-1",
         {{"restype", "container"}}, 1,
         {{"x-ms-date", "Wed, 03 Jan 2024 23:59:59 GMT"}, {"x-ms-version", "2021-08-06"}}, 2},
    };
    size_t i;

    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        az_sigreq r;
        char *sts, *mine, *theirs;
        memset(&r, 0, sizeof r);
        r.verb = v[i].verb;
        r.account = v[i].account;
        r.path = v[i].path;
        r.query = v[i].q;
        r.n_query = v[i].nq;
        r.headers = v[i].h;
        r.n_headers = v[i].nh;
        r.if_match = v[i].if_match;
        r.range = v[i].range;
        sts = az_string_to_sign(&r);
        mine = az_hmac_b64(DEV_KEY, sts);
        theirs = py_sign(v[i].verb, v[i].account, DEV_KEY, v[i].path, v[i].query, v[i].headers,
                         v[i].if_match, v[i].range);
        ck_assert_ptr_nonnull(mine);
        ck_assert_msg(strcmp(mine, theirs) == 0, "vector %zu: %s != %s", i, mine, theirs);
        free(sts);
        free(mine);
        free(theirs);
    }
}
END_TEST

START_TEST(t_shared_key_header)
{
    az_pair h[] = {{"x-ms-date", "Mon, 01 Jan 2024 10:00:00 GMT"}};
    az_sigreq r;
    char *a;

    memset(&r, 0, sizeof r);
    r.verb = "GET";
    r.account = "acct";
    r.path = "/";
    r.headers = h;
    r.n_headers = 1;
    a = az_shared_key(&r, DEV_KEY);
    ck_assert_ptr_nonnull(a);
    ck_assert(strncmp(a, "SharedKey acct:", 15) == 0);
    ck_assert_uint_eq(strlen(a), 15 + 44); /* base64 of 32 bytes */
    free(a);
    ck_assert_ptr_null(az_shared_key(&r, "not base64!"));
    ck_assert_ptr_null(az_shared_key(&r, ""));
}
END_TEST

START_TEST(t_encoding)
{
    unsigned char buf[64];
    char *s = az_url_encode("dir/a b%ü~.txt", 1);
    ck_assert_str_eq(s, "dir/a%20b%25%C3%BC~.txt");
    free(s);
    s = az_url_encode("a/b=c&d", 0);
    ck_assert_str_eq(s, "a%2Fb%3Dc%26d");
    free(s);
    s = az_b64((const unsigned char *)"hello", 5);
    ck_assert_str_eq(s, "aGVsbG8=");
    ck_assert_int_eq(az_unb64(s, buf, sizeof buf), 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);
    free(s);
    ck_assert_int_eq(az_unb64("aGVsbG8", buf, sizeof buf), -1);
    ck_assert_int_eq(az_unb64("aG=sbG8=", buf, sizeof buf), -1);
    ck_assert_int_eq(az_unb64("aGVsbG8=", buf, 3), -1);
}
END_TEST

START_TEST(t_connstr)
{
    az_connstr cs;
    char why[256];

    ck_assert_int_eq(az_connstr_parse("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                                      "AccountKey=" DEV_KEY ";BlobEndpoint=http://127.0.0.1:10000/"
                                      "devstoreaccount1;QueueEndpoint=http://x;"
                                      "SharedAccessSignature=sv=2021&sig=a%3D",
                                      &cs, why, sizeof why), 0);
    ck_assert_str_eq(cs.protocol, "http");
    ck_assert_str_eq(cs.account, "devstoreaccount1");
    ck_assert_str_eq(cs.key, DEV_KEY);
    ck_assert_str_eq(cs.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
    ck_assert_str_eq(cs.sas, "sv=2021&sig=a%3D");
    ck_assert_ptr_null(cs.suffix);
    az_connstr_free(&cs);

    ck_assert_int_eq(az_connstr_parse("AccountName=a;secretvalue", &cs, why, sizeof why), -1);
    ck_assert_ptr_null(strstr(why, "secretvalue"));
    ck_assert_int_eq(az_connstr_parse("AccountKey=x;AccountKey=y", &cs, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "twice"));
    ck_assert_int_eq(az_connstr_parse("", &cs, why, sizeof why), -1);
}
END_TEST

START_TEST(t_http_time)
{
    char buf[64];
    ck_assert_int_eq(az_http_time("Mon, 01 Jan 2024 10:00:00 GMT"), 1704103200);
    ck_assert_int_eq(az_http_time("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    ck_assert_int_eq(az_http_time("yesterday"), -1);
    ck_assert_int_eq(az_http_time("Mon, 01 Jan 2024 10:00:00 CET"), -1);
    az_http_now(buf, sizeof buf);
    ck_assert_int_gt(az_http_time(buf), 1700000000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("azure_sign");
    TCase *tc = tcase_create("sign");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, t_string_to_sign_layout);
    tcase_add_test(tc, t_string_to_sign_canonical);
    tcase_add_test(tc, t_signature_matches_python);
    tcase_add_test(tc, t_shared_key_header);
    tcase_add_test(tc, t_encoding);
    tcase_add_test(tc, t_connstr);
    tcase_add_test(tc, t_http_time);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
