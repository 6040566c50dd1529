/* SPDX-License-Identifier: Apache-2.0 */
/* fernet_tool.c -- a test helper: Fernet on standard input with the keys of
 * $DSRC_KEY (through the keyring), for the Python interoperability test.
 *
 *   fernet_tool genkey             a new key + "\n" (no keys needed)
 *   fernet_tool encrypt            stdin (bytes) -> token + "\n"
 *   fernet_tool decrypt [--ttl N]  stdin (token) -> plaintext bytes
 *   fernet_tool keyindex           stdin (token) -> index of the key that
 *                                  decrypts it + "\n"
 * Exit 0, or 1 with the reason on stderr.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret/fernet.h"
#include "secret/keyring.h"

static unsigned char *read_all(size_t *len)
{
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);

    while (buf) {
        ssize_t r;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        r = read(STDIN_FILENO, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    keyring *kr = NULL;
    derr e = {0};
    unsigned char *in, *out = NULL;
    size_t len = 0, out_len = 0, idx = 0;
    int64_t ttl = FERNET_NO_TTL;
    fernet_status st;
    int rc = 0;

    if (argc == 2 && strcmp(argv[1], "genkey") == 0) {
        char text[FERNET_KEY_TEXT_LEN + 1];
        fernet_key k;
        if (fernet_key_generate(&k) != FERNET_OK)
            return 1;
        fernet_key_encode(&k, text);
        fernet_key_wipe(&k);
        printf("%s\n", text);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (argc == 4 && strcmp(argv[1], "decrypt") == 0 && strcmp(argv[2], "--ttl") == 0)
        ttl = strtoll(argv[3], NULL, 10);
    else if (argc != 2 || (strcmp(argv[1], "encrypt") != 0 && strcmp(argv[1], "decrypt") != 0 &&
                           strcmp(argv[1], "keyindex") != 0)) {
        fprintf(stderr, "usage: fernet_tool genkey|encrypt|decrypt [--ttl N]|keyindex\n");
        return 2;
    }
    if (keyring_load(NULL, &kr, &e) != DSRC_OK) {
        fprintf(stderr, "fernet_tool: %s\n", e.msg);
        derr_clear(&e);
        return 1;
    }
    if (!(in = read_all(&len))) {
        fprintf(stderr, "fernet_tool: cannot read standard input\n");
        keyring_free(kr);
        return 1;
    }
    if (strcmp(argv[1], "encrypt") == 0) {
        char *tok = NULL;
        st = fernet_encrypt(&kr->keys[0], in, len, &tok);
        if (st == FERNET_OK)
            printf("%s\n", tok);
        free(tok);
    } else {
        while (len && (in[len - 1] == '\n' || in[len - 1] == '\r'))
            len--;
        st = fernet_decrypt(kr->keys, kr->n_keys, (const char *)in, len, ttl, &out, &out_len,
                            &idx);
        if (st == FERNET_OK && strcmp(argv[1], "keyindex") == 0)
            printf("%zu\n", idx);
        else if (st == FERNET_OK && fwrite(out, 1, out_len, stdout) != out_len)
            rc = 1;
        fernet_free(out, out_len);
    }
    if (st != FERNET_OK) {
        fprintf(stderr, "fernet_tool: %s\n", fernet_strerror(st));
        rc = 1;
    }
    free(in);
    keyring_free(kr);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
