/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pgc_error.c -- how postgres.so words a failed connection from
 * libpq's message text (the messages are libpq 15's, as Debian 12 ships).
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../pgc.h"

/* pgc_error.c logs through the host when there is one; here there is none. */
const dsrc_host *pgc_host = NULL;

static char *fail_text(const char *msg, int needs_password, const char *password,
                       dsrc_status *st)
{
    dsrc_error e;
    char *m;

    memset(&e, 0, sizeof e);
    *st = pgc_fail_connect_text(msg, needs_password, password, "localhost:5432", "app", "db",
                                &e);
    m = strdup(e.message ? e.message : "");
    if (e.release)
        e.release(&e);
    return m;
}

/* "localhost" is ::1 and 127.0.0.1: ::1 refuses (the server listens on
 * 127.0.0.1 only), 127.0.0.1 has no TLS.  The TLS failure is the reason,
 * whichever address libpq tried first. */
START_TEST(t_refused_then_tls)
{
    static const char *const msgs[] = {
        "connection to server at \"localhost\" (::1), port 5432 failed: Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
        "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: server does not "
        "support SSL, but SSL was required\n",
        "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: server does not "
        "support SSL, but SSL was required\n"
        "connection to server at \"localhost\" (::1), port 5432 failed: Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP connections?\n",
    };
    size_t i;

    for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        dsrc_status st;
        char *m = fail_text(msgs[i], 0, NULL, &st);
        ck_assert_int_eq(st, DSRC_E_UNREACHABLE);
        ck_assert_msg(strstr(m, "server does not support SSL, but SSL was required"), "%zu: %s",
                      i, m);
        ck_assert_msg(!strstr(m, "Connection refused"), "%zu: %s", i, m);
        ck_assert_msg(strstr(m, "check tls.mode"), "%zu: %s", i, m);
        ck_assert_msg(!strchr(m, '\n'), "%zu: two lines: %s", i, m);
        free(m);
    }
}
END_TEST

/* Every address refused: the first refusal, with the host and port advice. */
START_TEST(t_all_refused)
{
    dsrc_status st;
    char *m = fail_text(
        "connection to server at \"localhost\" (::1), port 5432 failed: Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
        "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: Connection "
        "refused\n\tIs the server running on that host and accepting TCP/IP connections?\n",
        0, NULL, &st);
    ck_assert_int_eq(st, DSRC_E_UNREACHABLE);
    ck_assert_str_eq(m, "localhost:5432 (user 'app', database 'db'): Connection refused; check "
                        "connection.host and connection.port, and that the server runs and "
                        "accepts TCP connections from here");
    free(m);
}
END_TEST

/* A refusal on one address, a timeout on the other: both say only that
 * nothing answered, so the first is kept. */
START_TEST(t_refused_then_timeout)
{
    dsrc_status st;
    char *m = fail_text(
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: Connection refused\n"
        "connection to server at \"db\" (10.0.0.2), port 5432 failed: timeout expired\n",
        0, NULL, &st);
    ck_assert_msg(strstr(m, "): Connection refused; check connection.host"), "%s", m);
    free(m);
}
END_TEST

/* The server's own refusal (verbose, with its SQLSTATE) wins, and a
 * password it echoes is scrubbed. */
START_TEST(t_server_refusal)
{
    dsrc_status st;
    char *m = fail_text(
        "connection to server at \"localhost\" (::1), port 5432 failed: Connection refused\n"
        "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  28P01: "
        "password authentication failed for user \"app\" s3cretpw\nLOCATION:  auth_failed\n",
        0, "s3cretpw", &st);
    ck_assert_int_eq(st, DSRC_E_AUTH);
    ck_assert_msg(strstr(m, "password authentication failed for user \"app\""), "%s", m);
    ck_assert_msg(!strstr(m, "s3cretpw") && strstr(m, "********"), "%s", m);
    ck_assert_msg(!strstr(m, "LOCATION"), "%s", m);
    free(m);
}
END_TEST

/* A message that is not a list of attempts: its first line. */
START_TEST(t_plain_message)
{
    char out[64];
    dsrc_status st;
    char *m;

    pgc_reason("could not translate host name \"nowhere\" to address: Name or service not "
               "known\n",
               out, sizeof out);
    ck_assert_str_eq(out, "could not translate host name \"nowhere\" to address: Name or ser");
    pgc_reason("", out, sizeof out);
    ck_assert_str_eq(out, "no error message");
    m = fail_text("fe_sendauth: no password supplied\n", 1, NULL, &st);
    ck_assert_int_eq(st, DSRC_E_AUTH);
    ck_assert_msg(strstr(m, "the server asks for a password and none is configured"), "%s", m);
    free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pgc_error");
    TCase *tc = tcase_create("connect");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, t_refused_then_tls);
    tcase_add_test(tc, t_all_refused);
    tcase_add_test(tc, t_refused_then_timeout);
    tcase_add_test(tc, t_server_refusal);
    tcase_add_test(tc, t_plain_message);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
