/* SPDX-License-Identifier: Apache-2.0 */
/* test_secret.c -- the keyring (lookup order, permissions, malformed keys,
 * DSRC_KEY) and secret values (fernet:, env:, file:, plain), including
 * their registration for redaction. */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "secret/fernet.h"
#include "secret/keyring.h"
#include "base/redact.h"
#include "secret/secmem.h"
#include "secret/secret.h"

static char tmpdir[256];
static char key1[FERNET_KEY_TEXT_LEN + 1], key2[FERNET_KEY_TEXT_LEN + 1],
    key3[FERNET_KEY_TEXT_LEN + 1];

static void new_key(char *text)
{
    fernet_key k;
    ck_assert_int_eq(fernet_key_generate(&k), FERNET_OK);
    fernet_key_encode(&k, text);
    fernet_key_wipe(&k);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/dsrc-secret.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    unsetenv("DSRC_KEY");
    unsetenv("CREDENTIALS_DIRECTORY");
    new_key(key1);
    new_key(key2);
    new_key(key3);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    redact_clear();
}

/* Write tmpdir/name with `content` and `mode`; returns the malloc'd path. */
static char *write_file(const char *name, const char *content, mode_t mode)
{
    char *path = NULL;
    FILE *fp;

    ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(content, fp);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

/* The keyring holds exactly the keys given, in order. */
static void assert_keys(const keyring *kr, const char *a, const char *b)
{
    fernet_key k;

    ck_assert_ptr_nonnull(kr);
    ck_assert_uint_eq(kr->n_keys, b ? 2 : 1);
    ck_assert_int_eq(fernet_key_decode(a, strlen(a), &k), FERNET_OK);
    ck_assert_mem_eq(&kr->keys[0], &k, sizeof k);
    if (b) {
        ck_assert_int_eq(fernet_key_decode(b, strlen(b), &k), FERNET_OK);
        ck_assert_mem_eq(&kr->keys[1], &k, sizeof k);
    }
}

static void assert_redacted(const char *value)
{
    char *in = NULL, *out, *want = NULL;

    ck_assert_int_ge(asprintf(&in, "before %s after", value), 0);
    ck_assert_int_ge(asprintf(&want, "before %s after", REDACTED), 0);
    out = redact_dup(in);
    ck_assert_str_eq(out, want);
    free(in);
    free(out);
    free(want);
}

/* ------------------------------------------------------------------------ */
/* Keyring                                                                   */

START_TEST(keyring_order)
{
    char *kf, *creds = NULL, *content = NULL;
    keyring *kr = NULL;
    derr e = {0};

    ck_assert_int_ge(asprintf(&content, "%s\n", key1), 0);
    kf = write_file("explicit.key", content, 0600);
    free(content);
    ck_assert_int_ge(asprintf(&creds, "%s/creds", tmpdir), 0);
    ck_assert_int_eq(mkdir(creds, 0700), 0);
    ck_assert_int_ge(asprintf(&content, "%s\n", key2), 0);
    free(write_file("creds/dsrc.key", content, 0400));
    free(content);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    setenv("DSRC_KEY", key3, 1);

    /* 1. the key_file setting */
    ck_assert_int_eq(keyring_load(kf, &kr, &e), DSRC_OK);
    assert_keys(kr, key1, NULL);
    ck_assert_str_eq(kr->origin, kf);
    keyring_free(kr);

    /* 2. $CREDENTIALS_DIRECTORY/dsrc.key */
    ck_assert_int_eq(keyring_load(NULL, &kr, &e), DSRC_OK);
    assert_keys(kr, key2, NULL);
    ck_assert_ptr_nonnull(strstr(kr->origin, "creds/dsrc.key"));
    keyring_free(kr);
    ck_assert_int_eq(keyring_load("", &kr, &e), DSRC_OK); /* empty setting: not set */
    assert_keys(kr, key2, NULL);
    keyring_free(kr);

    /* 3. DSRC_KEY, when the credentials directory has no dsrc.key */
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    ck_assert_int_eq(keyring_load(NULL, &kr, &e), DSRC_OK);
    assert_keys(kr, key3, NULL);
    ck_assert_ptr_nonnull(strstr(kr->origin, "DSRC_KEY"));
    keyring_free(kr);
    unsetenv("CREDENTIALS_DIRECTORY");
    ck_assert_int_eq(keyring_load(NULL, &kr, &e), DSRC_OK);
    assert_keys(kr, key3, NULL);
    keyring_free(kr);

    /* Nowhere: the message names the three places. */
    unsetenv("DSRC_KEY");
    ck_assert_int_eq(keyring_load(NULL, &kr, &e), DSRC_E_NOT_FOUND);
    ck_assert_ptr_null(kr);
    ck_assert_ptr_nonnull(strstr(e.msg, "key_file"));
    ck_assert_ptr_nonnull(strstr(e.msg, "CREDENTIALS_DIRECTORY"));
    ck_assert_ptr_nonnull(strstr(e.msg, "DSRC_KEY"));
    derr_clear(&e);
    free(kf);
    free(creds);
}
END_TEST

/* A configured place that fails is an error: no fallback to later ones. */
START_TEST(keyring_no_fallback)
{
    char *missing = NULL, *content = NULL, *bad;
    keyring *kr = NULL;
    derr e = {0};

    setenv("DSRC_KEY", key3, 1);
    ck_assert_int_ge(asprintf(&missing, "%s/nope.key", tmpdir), 0);
    ck_assert_int_eq(keyring_load(missing, &kr, &e), DSRC_E_NOT_FOUND);
    ck_assert_ptr_null(kr);
    ck_assert_ptr_nonnull(strstr(e.msg, missing));
    derr_clear(&e);

    ck_assert_int_ge(asprintf(&content, "%s\n", key2), 0);
    bad = write_file("dsrc.key", content, 0644);
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    ck_assert_int_eq(keyring_load(NULL, &kr, &e), DSRC_E_PERMISSION);
    ck_assert_ptr_null(kr);
    derr_clear(&e);
    free(content);
    free(bad);
    free(missing);
}
END_TEST

START_TEST(keyring_permissions)
{
    static const mode_t refused[] = {0640, 0604, 0620, 0602, 0660, 0644, 0666, 0610, 0601};
    static const mode_t accepted[] = {0600, 0400, 0700};
    char *content = NULL, *path, *want = NULL;
    keyring *kr = NULL;
    derr e = {0};
    size_t i;

    ck_assert_int_ge(asprintf(&content, "%s\n", key1), 0);
    path = write_file("perm.key", content, 0600);
    /* Not owned by root: group may not even read it. */
    if (geteuid() == 0)
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
    ck_assert_int_ge(asprintf(&want, "chmod 600 %s", path), 0);
    for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_int_eq(chmod(path, refused[i]), 0);
        ck_assert_int_eq(keyring_load_file(path, &kr, &e), DSRC_E_PERMISSION);
        ck_assert_ptr_null(kr);
        ck_assert_msg(strstr(e.msg, want) != NULL, "mode %o: %s", refused[i], e.msg);
        ck_assert_ptr_null(strstr(e.msg, key1));
        derr_clear(&e);
    }
    for (i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        ck_assert_int_eq(chmod(path, accepted[i]), 0);
        ck_assert_int_eq(keyring_load_file(path, &kr, &e), DSRC_OK);
        assert_keys(kr, key1, NULL);
        keyring_free(kr);
    }
    /* Owned by root, group may read it (root:dsrc 0640, as the packages
     * make it) but not write it; owned by another user, it may not. */
    if (geteuid() == 0) {
        static const mode_t root_ok[] = {0640, 0440}, root_refused[] = {0660, 0644, 0604, 0650};

        ck_assert_int_eq(chown(path, 0, 0), 0);
        for (i = 0; i < sizeof root_ok / sizeof root_ok[0]; i++) {
            ck_assert_int_eq(chmod(path, root_ok[i]), 0);
            ck_assert_int_eq(keyring_load_file(path, &kr, &e), DSRC_OK);
            assert_keys(kr, key1, NULL);
            keyring_free(kr);
        }
        for (i = 0; i < sizeof root_refused / sizeof root_refused[0]; i++) {
            ck_assert_int_eq(chmod(path, root_refused[i]), 0);
            ck_assert_int_eq(keyring_load_file(path, &kr, &e), DSRC_E_PERMISSION);
            derr_clear(&e);
        }
        ck_assert_int_eq(chmod(path, 0640), 0);
        ck_assert_int_eq(chown(path, 65534, 0), 0);
        ck_assert_int_eq(keyring_load_file(path, &kr, &e), DSRC_E_PERMISSION);
        derr_clear(&e);
        ck_assert_int_eq(chown(path, 0, 0), 0);
    }
    /* A directory is not a key file. */
    ck_assert_int_ne(keyring_load_file(tmpdir, &kr, &e), DSRC_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "regular file"));
    derr_clear(&e);
    free(want);
    free(path);
    free(content);
}
END_TEST

START_TEST(keyring_file_format)
{
    char *content = NULL, *path;
    keyring *kr = NULL;
    derr e = {0};

    /* Comments, blank lines, blanks around keys, CRLF, no final newline. */
    ck_assert_int_ge(asprintf(&content, "# dsrc keys\n\n  %s \r\n\t# old key:\n%s", key1, key2),
                     0);
    path = write_file("two.key", content, 0600);
    ck_assert_int_eq(keyring_load_file(path, &kr, &e), DSRC_OK);
    assert_keys(kr, key1, key2);
    keyring_free(kr);
    /* The key texts are registered for redaction. */
    assert_redacted(key1);
    assert_redacted(key2);
    free(path);
    free(content);

    path = write_file("empty.key", "# nothing here\n\n", 0600);
    ck_assert_int_eq(keyring_load_file(path, &kr, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "no key"));
    derr_clear(&e);
    free(path);
}
END_TEST

START_TEST(keyring_malformed_line)
{
    /* A key one character short, on line 4: named by file and line, never
     * printed. */
    char bad[FERNET_KEY_TEXT_LEN + 1], *content = NULL, *path, *want = NULL;
    keyring *kr = NULL;
    derr e = {0};

    memcpy(bad, key2, sizeof bad);
    bad[FERNET_KEY_TEXT_LEN - 2] = '=';
    bad[FERNET_KEY_TEXT_LEN - 1] = '\0';
    ck_assert_int_ge(asprintf(&content, "# keys\n%s\n\n%s\n", key1, bad), 0);
    path = write_file("bad.key", content, 0600);
    ck_assert_int_ge(asprintf(&want, "%s:4:", path), 0);
    ck_assert_int_eq(keyring_load_file(path, &kr, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_null(kr);
    ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);
    ck_assert_ptr_null(strstr(e.msg, bad));
    ck_assert_ptr_null(strstr(e.msg, key1));
    ck_assert_ptr_nonnull(strstr(e.msg, "genkey"));
    derr_clear(&e);
    free(content);
    free(path);
    free(want);
}
END_TEST

START_TEST(keyring_env_list)
{
    char *v = NULL;
    keyring *kr = NULL;
    derr e = {0};

    ck_assert_int_ge(asprintf(&v, "%s,%s", key1, key2), 0);
    setenv("DSRC_KEY", v, 1);
    ck_assert_int_eq(keyring_load(NULL, &kr, &e), DSRC_OK);
    assert_keys(kr, key1, key2);
    keyring_free(kr);
    free(v);

    ck_assert_int_ge(asprintf(&v, " %s , %s ", key2, key1), 0);
    ck_assert_int_eq(keyring_parse_list(v, "test", &kr, &e), DSRC_OK);
    assert_keys(kr, key2, key1);
    keyring_free(kr);
    free(v);

    ck_assert_int_ge(asprintf(&v, "%s,,%s", key1, key2), 0);
    ck_assert_int_eq(keyring_parse_list(v, "DSRC_KEY", &kr, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_null(kr);
    ck_assert_ptr_nonnull(strstr(e.msg, "key 2"));
    derr_clear(&e);
    free(v);

    ck_assert_int_ge(asprintf(&v, "%s,Zm9vYmFyLXNlY3JldC10ZXh0LW5vdC1hLWtleQ==", key1), 0);
    setenv("DSRC_KEY", v, 1);
    ck_assert_int_eq(keyring_load(NULL, &kr, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "DSRC_KEY"));
    ck_assert_ptr_nonnull(strstr(e.msg, "key 2"));
    ck_assert_ptr_null(strstr(e.msg, "Zm9vYmFy"));
    ck_assert_ptr_null(strstr(e.msg, key1));
    derr_clear(&e);
    free(v);
}
END_TEST

START_TEST(keyring_crypt)
{
    char *v = NULL, *tok = NULL;
    keyring *old = NULL, *both = NULL, *fresh = NULL;
    unsigned char *out = NULL;
    size_t len = 0, idx = 9;
    fernet_status fst = FERNET_OK;
    derr e = {0};

    ck_assert_int_eq(keyring_parse_list(key1, "old", &old, &e), DSRC_OK);
    ck_assert_int_ge(asprintf(&v, "%s,%s", key2, key1), 0);
    ck_assert_int_eq(keyring_parse_list(v, "both", &both, &e), DSRC_OK);
    ck_assert_int_eq(keyring_parse_list(key2, "new-only", &fresh, &e), DSRC_OK);

    ck_assert_int_eq(keyring_encrypt(old, "pa55word!", 9, &tok, &e), DSRC_OK);
    ck_assert_int_eq(keyring_decrypt(both, tok, strlen(tok), &out, &len, &idx, &fst, &e),
                     DSRC_OK);
    ck_assert_uint_eq(idx, 1);
    ck_assert_str_eq((char *)out, "pa55word!");
    fernet_free(out, len);
    ck_assert_int_eq(keyring_decrypt(fresh, tok, strlen(tok), &out, &len, &idx, &fst, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_int_eq(fst, FERNET_E_MAC);
    ck_assert_ptr_nonnull(strstr(e.msg, "new-only"));
    ck_assert_ptr_null(strstr(e.msg, tok));
    derr_clear(&e);
    free(tok);

    /* The first key encrypts. */
    ck_assert_int_eq(keyring_encrypt(both, "x1y2z3", 6, &tok, &e), DSRC_OK);
    ck_assert_int_eq(keyring_decrypt(fresh, tok, strlen(tok), &out, &len, &idx, NULL, &e),
                     DSRC_OK);
    ck_assert_uint_eq(idx, 0);
    fernet_free(out, len);
    free(tok);
    free(v);
    keyring_free(old);
    keyring_free(both);
    keyring_free(fresh);
    keyring_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Secret values                                                             */

START_TEST(reference_kinds)
{
    ck_assert_int_eq(secret_kind_of("fernet:gAAAA"), SECRET_FERNET);
    ck_assert_int_eq(secret_kind_of("env:X"), SECRET_ENV);
    ck_assert_int_eq(secret_kind_of("file:/x"), SECRET_FILE);
    ck_assert_int_eq(secret_kind_of("hunter2"), SECRET_PLAIN);
    ck_assert_int_eq(secret_kind_of("Fernet:x"), SECRET_PLAIN);
    ck_assert_int_eq(secret_kind_of(" env:X"), SECRET_PLAIN);
    ck_assert_int_eq(secret_kind_of(""), SECRET_PLAIN);
    ck_assert_int_eq(secret_kind_of(NULL), SECRET_PLAIN);
    ck_assert_int_eq(secret_is_reference("fernet:"), 1);
    ck_assert_int_eq(secret_is_reference("env:HOME"), 1);
    ck_assert_int_eq(secret_is_reference("file:/etc/x"), 1);
    ck_assert_int_eq(secret_is_reference("localhost"), 0);
    ck_assert_int_eq(secret_is_reference("envy:x"), 0);
    ck_assert_int_eq(secret_is_reference(NULL), 0);
    ck_assert_str_eq(secret_kind_name(SECRET_FERNET), "fernet");
    ck_assert_str_eq(secret_kind_name(SECRET_ENV), "env");
    ck_assert_str_eq(secret_kind_name(SECRET_FILE), "file");
    ck_assert_str_eq(secret_kind_name(SECRET_PLAIN), "plain");
}
END_TEST

START_TEST(resolve_plain)
{
    char *out = NULL;
    secret_kind kind = SECRET_FERNET;
    derr e = {0};

    ck_assert_int_eq(secret_resolve("plain-Passw0rd", NULL, NULL, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "plain-Passw0rd");
    ck_assert_int_eq(kind, SECRET_PLAIN);
    assert_redacted("plain-Passw0rd");
    secret_free(out);
    secret_free(NULL);
}
END_TEST

START_TEST(resolve_env)
{
    char *out = NULL;
    secret_kind kind;
    derr e = {0};

    setenv("DSRC_TEST_PW", "from-the-environment", 1);
    ck_assert_int_eq(secret_resolve("env:DSRC_TEST_PW", NULL, NULL, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "from-the-environment");
    ck_assert_int_eq(kind, SECRET_ENV);
    assert_redacted("from-the-environment");
    secret_free(out);

    unsetenv("DSRC_TEST_MISSING");
    ck_assert_int_eq(secret_resolve("env:DSRC_TEST_MISSING", NULL, NULL, &out, &kind, &e),
                     DSRC_E_NOT_FOUND);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(e.msg, "DSRC_TEST_MISSING"));
    ck_assert_ptr_nonnull(strstr(e.msg, "not set"));
    derr_clear(&e);

    ck_assert_int_eq(secret_resolve("env:", NULL, NULL, &out, &kind, &e), DSRC_E_INVALID_CONFIG);
    derr_clear(&e);
    ck_assert_int_eq(secret_resolve("env:1BAD", NULL, NULL, &out, &kind, &e),
                     DSRC_E_INVALID_CONFIG);
    derr_clear(&e);
    ck_assert_int_eq(secret_resolve("env:A B", NULL, NULL, &out, &kind, &e),
                     DSRC_E_INVALID_CONFIG);
    derr_clear(&e);
}
END_TEST

START_TEST(resolve_file)
{
    char *path, *ref = NULL, *out = NULL, *want = NULL;
    secret_kind kind;
    derr e = {0};

    path = write_file("pw", "file-secret-value\n", 0600);
    ck_assert_int_ge(asprintf(&ref, "file:%s", path), 0);
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "file-secret-value");
    ck_assert_int_eq(kind, SECRET_FILE);
    assert_redacted("file-secret-value");
    secret_free(out);

    /* Only one trailing newline goes; CRLF counts as one. */
    free(write_file("pw", "two-newlines\n\n", 0600));
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "two-newlines\n");
    secret_free(out);
    free(write_file("pw", "crlf-value\r\n", 0600));
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "crlf-value");
    secret_free(out);
    free(write_file("pw", "no-newline", 0400));
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "no-newline");
    secret_free(out);
    free(write_file("pw", "", 0600));
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "");
    secret_free(out);

    /* Readable by others: refused, with the fix, without the content. */
    free(write_file("pw", "world-readable-secret\n", 0644));
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_E_PERMISSION);
    ck_assert_ptr_null(out);
    ck_assert_int_ge(asprintf(&want, "chmod 600 %s", path), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, want));
    ck_assert_ptr_null(strstr(e.msg, "world-readable-secret"));
    derr_clear(&e);
    free(want);
    free(ref);

    /* Missing, relative, a directory, a NUL byte. */
    ck_assert_int_ge(asprintf(&ref, "file:%s/missing", tmpdir), 0);
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(e.msg, "missing"));
    derr_clear(&e);
    free(ref);
    ck_assert_int_eq(secret_resolve("file:relative/pw", NULL, NULL, &out, &kind, &e),
                     DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "absolute"));
    derr_clear(&e);
    ck_assert_int_ge(asprintf(&ref, "file:%s", tmpdir), 0);
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_E_INVALID_CONFIG);
    derr_clear(&e);
    free(ref);
    {
        FILE *fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        fwrite("ab\0cd", 1, 5, fp);
        fclose(fp);
        chmod(path, 0600);
    }
    ck_assert_int_ge(asprintf(&ref, "file:%s", path), 0);
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
    derr_clear(&e);
    free(ref);
    free(path);
}
END_TEST

START_TEST(resolve_fernet)
{
    keyring *kr = NULL, *other = NULL;
    char *tok = NULL, *ref = NULL, *out = NULL, *kf, *content = NULL;
    secret_kind kind;
    derr e = {0};

    ck_assert_int_eq(keyring_parse_list(key1, "test", &kr, &e), DSRC_OK);
    ck_assert_int_eq(keyring_parse_list(key2, "other keys", &other, &e), DSRC_OK);
    ck_assert_int_eq(keyring_encrypt(kr, "fernet-secret-value", 19, &tok, &e), DSRC_OK);
    ck_assert_int_ge(asprintf(&ref, "fernet:%s", tok), 0);

    /* With a keyring given. */
    ck_assert_int_eq(secret_resolve(ref, kr, NULL, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "fernet-secret-value");
    ck_assert_int_eq(kind, SECRET_FERNET);
    assert_redacted("fernet-secret-value");
    secret_free(out);

    /* Without: the keyring is loaded from the key_file setting. */
    ck_assert_int_ge(asprintf(&content, "%s\n", key1), 0);
    kf = write_file("dsrc.key", content, 0600);
    ck_assert_int_eq(secret_resolve(ref, NULL, kf, &out, &kind, &e), DSRC_OK);
    ck_assert_str_eq(out, "fernet-secret-value");
    secret_free(out);
    /* ... or found by the lookup order (DSRC_KEY here). */
    setenv("DSRC_KEY", key1, 1);
    ck_assert_int_eq(secret_resolve(ref, NULL, NULL, &out, &kind, &e), DSRC_OK);
    secret_free(out);
    unsetenv("DSRC_KEY");

    /* Wrong key: an error naming the reason, not the token or value. */
    ck_assert_int_eq(secret_resolve(ref, other, NULL, &out, &kind, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(e.msg, "wrong key"));
    ck_assert_ptr_null(strstr(e.msg, tok));
    ck_assert_ptr_null(strstr(e.msg, "fernet-secret-value"));
    derr_clear(&e);

    /* Tampered and truncated tokens. */
    ref[strlen(ref) - 10] = ref[strlen(ref) - 10] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(secret_resolve(ref, kr, NULL, &out, &kind, &e), DSRC_E_INVALID_CONFIG);
    derr_clear(&e);
    ref[strlen(ref) - 20] = '\0';
    ck_assert_int_eq(secret_resolve(ref, kr, NULL, &out, &kind, &e), DSRC_E_INVALID_CONFIG);
    derr_clear(&e);
    ck_assert_int_eq(secret_resolve("fernet:", kr, NULL, &out, &kind, &e),
                     DSRC_E_INVALID_CONFIG);
    derr_clear(&e);

    /* No key anywhere. */
    ck_assert_int_eq(secret_resolve("fernet:gAAAAA==", NULL, NULL, &out, &kind, &e),
                     DSRC_E_NOT_FOUND);
    ck_assert_int_eq(kind, SECRET_FERNET);
    ck_assert_ptr_nonnull(strstr(e.msg, "DSRC_KEY"));
    derr_clear(&e);

    /* A plaintext with a NUL byte is refused. */
    free(tok);
    free(ref);
    ck_assert_int_eq(keyring_encrypt(kr, "ab\0cd", 5, &tok, &e), DSRC_OK);
    ck_assert_int_ge(asprintf(&ref, "fernet:%s", tok), 0);
    ck_assert_int_eq(secret_resolve(ref, kr, NULL, &out, &kind, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
    derr_clear(&e);

    free(tok);
    free(ref);
    free(kf);
    free(content);
    keyring_free(kr);
    keyring_free(other);
}
END_TEST

/* A value is not registered before it is resolved, and a failed resolution
 * registers nothing. */
START_TEST(redact_only_resolved)
{
    char *out = NULL, *s;
    derr e = {0};

    s = redact_dup("value-not-yet-resolved");
    ck_assert_str_eq(s, "value-not-yet-resolved");
    free(s);
    setenv("DSRC_TEST_LATER", "value-not-yet-resolved", 1);
    ck_assert_int_eq(secret_resolve("env:DSRC_TEST_LATER", NULL, NULL, &out, NULL, &e), DSRC_OK);
    secret_free(out);
    s = redact_dup("value-not-yet-resolved");
    ck_assert_str_eq(s, REDACTED);
    free(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Out of core dumps                                                         */

#define XOR 0x5A /* needles are kept xored, so that they are not themselves a copy */

/* 1 when the mapping holding addr is marked "dd" (MADV_DONTDUMP) in
 * /proc/self/smaps. */
static int dontdump(const void *addr)
{
    FILE *fp = fopen("/proc/self/smaps", "r");
    char line[1024];
    unsigned long lo, hi, a = (unsigned long)addr;
    int in = 0, dd = 0;

    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof line, fp)) {
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in = a >= lo && a < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0)
            dd = strstr(line, " dd") != NULL;
    }
    fclose(fp);
    return dd;
}

/* 1 when the len bytes of xored[] ^ XOR are found in a readable mapping of
 * this process that a core dump would hold (not marked "dd"). */
static int in_dumped_memory(const unsigned char *xored, size_t len)
{
    FILE *fp = fopen("/proc/self/smaps", "r");
    int fd = open("/proc/self/mem", O_RDONLY);
    static unsigned char buf[(1 << 20) + 256];
    char line[1024], perms[8] = "";
    unsigned long lo = 0, hi = 0;
    int found = 0;

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_le(len, 256);
    while (!found && fgets(line, sizeof line, fp)) {
        unsigned long off, a, b;
        char p[8];
        /* a mapping's first line; field names such as "FilePmdMapped:"
         * start with hex digits too, so lo and hi change only here */
        if (sscanf(line, "%lx-%lx %7s", &a, &b, p) == 3) {
            lo = a;
            hi = b;
            memcpy(perms, p, sizeof perms);
            continue;
        }
        if (strncmp(line, "VmFlags:", 8) != 0 || perms[0] != 'r' || strstr(line, " dd"))
            continue;
        for (off = lo; !found && off < hi; off += 1 << 20) {
            size_t want = hi - off < sizeof buf ? hi - off : sizeof buf, i, j;
            ssize_t n = pread(fd, buf, want, (off_t)off);
            if (n <= 0)
                break; /* not readable ([vsyscall], guard pages) */
            for (i = 0; i + len <= (size_t)n && !found; i++) {
                for (j = 0; j < len && (buf[i + j] ^ XOR) == xored[j]; j++)
                    ;
                found = j == len;
            }
        }
    }
    memset(buf, 0, sizeof buf);
    close(fd);
    fclose(fp);
    return found;
}

/* A loaded key (text and bytes) and a registered secret are in no memory
 * that a core dump holds: they live in MADV_DONTDUMP pages. */
START_TEST(secrets_not_dumped)
{
    fernet_key k;
    char text[FERNET_KEY_TEXT_LEN + 1], value[40];
    unsigned char x_text[FERNET_KEY_TEXT_LEN], x_raw[sizeof k], x_value[32];
    keyring *kr = NULL;
    derr e = {0};
    size_t i;
    void *p;

    ck_assert_int_eq(fernet_key_generate(&k), FERNET_OK);
    fernet_key_encode(&k, text);
    for (i = 0; i < sizeof k; i++)
        x_raw[i] = ((unsigned char *)&k)[i] ^ XOR;
    fernet_key_wipe(&k);
    for (i = 0; i < sizeof x_text; i++)
        x_text[i] = (unsigned char)text[i] ^ XOR;
    ck_assert_int_eq(keyring_parse_list(text, "test", &kr, &e), DSRC_OK);
    OPENSSL_cleanse(text, sizeof text);
    ck_assert(dontdump(kr->keys));

    /* a value as secret_resolve() registers it */
    for (i = 0; i < sizeof x_value; i++)
        value[i] = (char)('a' + (unsigned)rand() % 26);
    value[sizeof x_value] = '\0';
    for (i = 0; i < sizeof x_value; i++)
        x_value[i] = (unsigned char)value[i] ^ XOR;
    ck_assert_int_eq(redact_add(value), 0);
    OPENSSL_cleanse(value, sizeof value);

    ck_assert_msg(!in_dumped_memory(x_raw, sizeof x_raw), "key bytes in dumped memory");
    ck_assert_msg(!in_dumped_memory(x_text, sizeof x_text), "key text in dumped memory");
    ck_assert_msg(!in_dumped_memory(x_value, sizeof x_value), "secret in dumped memory");
    keyring_free(kr);
    redact_clear();

    /* secmem itself: page-aligned, zeroed, marked */
    p = secmem_alloc(10);
    ck_assert_ptr_nonnull(p);
    ck_assert(dontdump(p));
    ck_assert_int_eq(((unsigned char *)p)[9], 0);
    secmem_free(p);
    secmem_free(NULL);
}
END_TEST

static Suite *secret_suite(void)
{
    Suite *s = suite_create("secret");
    TCase *tc = tcase_create("keyring");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, keyring_order);
    tcase_add_test(tc, keyring_no_fallback);
    tcase_add_test(tc, keyring_permissions);
    tcase_add_test(tc, keyring_file_format);
    tcase_add_test(tc, keyring_malformed_line);
    tcase_add_test(tc, keyring_env_list);
    tcase_add_test(tc, keyring_crypt);
    suite_add_tcase(s, tc);

    tc = tcase_create("resolve");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, reference_kinds);
    tcase_add_test(tc, resolve_plain);
    tcase_add_test(tc, resolve_env);
    tcase_add_test(tc, resolve_file);
    tcase_add_test(tc, resolve_fernet);
    tcase_add_test(tc, redact_only_resolved);
    tcase_add_test(tc, secrets_not_dumped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(secret_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
