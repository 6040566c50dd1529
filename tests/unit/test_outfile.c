/* SPDX-License-Identifier: Apache-2.0 */
/* test_outfile.c -- durable output files: temp name, hash, commit, abort. */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "unit_tmp.h"
#include "output/outfile.h"

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/dsrc-outfile-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    chmod(tmpdir, 0700);
    unit_tmp_remove(tmpdir);
}

static char *path_in(const char *rel)
{
    char *p;
    ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, rel), 0);
    return p;
}

/* Number of entries in dir (besides . and ..); *tmp_seen set when one
 * looks like an outfile temporary. */
static int count_entries(const char *dir, int *tmp_seen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    if (tmp_seen)
        *tmp_seen = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        n++;
        if (tmp_seen && de->d_name[0] == '.' && len > 4 &&
            strcmp(de->d_name + len - 4, ".tmp") == 0)
            *tmp_seen = 1;
    }
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

START_TEST(invisible_until_commit)
{
    char *dir = path_in("ws/src/item"), *final = path_in("ws/src/item/out.csv");
    derr e = {0};
    outfile *of;
    int tmp_seen;
    struct stat st;
    char *data;

    of = outfile_open(final, &e);
    ck_assert_msg(of != NULL, "%s", e.msg);
    ck_assert_str_eq(outfile_path(of), final);
    ck_assert_int_eq(outfile_write(of, "a,b\r\n", 5), 0);
    ck_assert_int_eq(outfile_write(of, "1,2\r\n", 5), 0);
    ck_assert_uint_eq(outfile_bytes(of), 10);
    /* the parent directories were made; only a temporary is there */
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(access(final, F_OK), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(count_entries(dir, &tmp_seen), 1);
    ck_assert_int_eq(tmp_seen, 1);

    ck_assert_int_eq(outfile_commit(of, &e), DSRC_OK);
    ck_assert_int_eq(count_entries(dir, &tmp_seen), 1);
    ck_assert_int_eq(tmp_seen, 0);
    data = slurp(final, NULL);
    ck_assert_str_eq(data, "a,b\r\n1,2\r\n");
    ck_assert_int_eq(stat(final, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    free(data);
    free(dir);
    free(final);
}
END_TEST

START_TEST(replaces_old_file_only_on_commit)
{
    char *final = path_in("f.txt");
    derr e = {0};
    outfile *of;
    char *data;

    ck_assert_int_eq(outfile_write_all(final, "old\n", 4, &e), DSRC_OK);
    of = outfile_open(final, &e);
    ck_assert_ptr_nonnull(of);
    ck_assert_int_eq(outfile_write(of, "new content\n", 12), 0);
    data = slurp(final, NULL);
    ck_assert_str_eq(data, "old\n");
    free(data);
    ck_assert_int_eq(outfile_commit(of, &e), DSRC_OK);
    data = slurp(final, NULL);
    ck_assert_str_eq(data, "new content\n");
    free(data);
    ck_assert_int_eq(count_entries(tmpdir, NULL), 1);
    free(final);
}
END_TEST

START_TEST(abort_leaves_nothing)
{
    char *final = path_in("gone.jsonl");
    derr e = {0};
    outfile *of = outfile_open(final, &e);
    int tmp_seen;

    ck_assert_ptr_nonnull(of);
    ck_assert_int_eq(outfile_write(of, "{}\n", 3), 0);
    ck_assert_int_eq(count_entries(tmpdir, &tmp_seen), 1);
    ck_assert_int_eq(tmp_seen, 1);
    outfile_abort(of);
    ck_assert_int_eq(count_entries(tmpdir, NULL), 0);
    ck_assert_int_eq(access(final, F_OK), -1);
    outfile_abort(NULL);
    free(final);
}
END_TEST

/* An undo after the rename: the older file is back, or nothing is left. */
START_TEST(abort_after_publish_undoes)
{
    char *final = path_in("undo.csv"), *data;
    derr e = {0};
    outfile *of;

    of = outfile_open(final, &e);
    ck_assert_ptr_nonnull(of);
    ck_assert_int_eq(outfile_write(of, "new\n", 4), 0);
    ck_assert_int_eq(outfile_prepare(of, &e), DSRC_OK);
    ck_assert_int_eq(outfile_publish(of, &e), DSRC_OK);
    ck_assert_int_eq(access(final, F_OK), 0);
    outfile_abort(of);
    ck_assert_int_eq(count_entries(tmpdir, NULL), 0);

    ck_assert_int_eq(outfile_write_all(final, "old\n", 4, &e), DSRC_OK);
    of = outfile_open(final, &e);
    ck_assert_ptr_nonnull(of);
    ck_assert_int_eq(outfile_write(of, "new\n", 4), 0);
    ck_assert_int_eq(outfile_prepare(of, &e), DSRC_OK);
    ck_assert_int_eq(outfile_publish(of, &e), DSRC_OK);
    data = slurp(final, NULL);
    ck_assert_str_eq(data, "new\n");
    free(data);
    outfile_abort(of);
    data = slurp(final, NULL);
    ck_assert_str_eq(data, "old\n");
    free(data);
    ck_assert_int_eq(count_entries(tmpdir, NULL), 1);
    free(final);
}
END_TEST

/* A FIFO given as the path is written to, never replaced. */
START_TEST(fifo_written_directly)
{
    char *fifo = path_in("fifo"), buf[64];
    derr e = {0};
    outfile *of;
    struct stat st;
    int fds[2], status;
    ssize_t n;
    pid_t pid;

    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the reader: copy what comes through the FIFO to the pipe */
        int fd = open(fifo, O_RDONLY);
        while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
            if (write(fds[1], buf, (size_t)n) != n)
                _exit(1);
        _exit(fd < 0);
    }
    close(fds[1]);
    of = outfile_open(fifo, &e);
    ck_assert_msg(of != NULL, "%s", e.msg);
    ck_assert_int_eq(outfile_is_stream(of), 1);
    ck_assert_int_eq(outfile_write(of, "through\n", 8), 0);
    ck_assert_int_eq(outfile_commit(of, &e), DSRC_OK);
    n = read(fds[0], buf, sizeof buf - 1);
    ck_assert_int_eq(n, 8);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "through\n");
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    ck_assert_int_eq(lstat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    ck_assert_int_eq(count_entries(tmpdir, NULL), 1);
    /* a state or manifest file is never written to one */
    ck_assert_int_ne(outfile_write_all(fifo, "x", 1, &e), DSRC_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
    derr_clear(&e);
    free(fifo);
}
END_TEST

/* A child that opens an outfile, writes, tells the parent and waits for a
 * byte on `hold` (or none: dies at once without cleaning up). */
static pid_t writer_child(const char *path, int hold)
{
    int ready[2];
    char c;
    pid_t pid;

    ck_assert_int_eq(pipe(ready), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        derr e = {0};
        outfile *of = outfile_open(path, &e);
        if (!of || outfile_write(of, "part", 4) != 0 || write(ready[1], "r", 1) != 1)
            _exit(1);
        if (hold >= 0)
            (void)read(hold, &c, 1);
        _exit(0); /* as a SIGKILL would: no abort, the temporary stays */
    }
    close(ready[1]);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

/* The temporary files of dead writers are swept; a live writer's stay. */
START_TEST(sweep_dead_writers_only)
{
    char *dead = path_in("d/dead.csv"), *live = path_in("d/live.csv"),
         *next = path_in("d/next.csv"), *dir = path_in("d");
    int hold[2], tmp_seen, status;
    derr e = {0};
    pid_t dpid, lpid;

    ck_assert_int_eq(pipe(hold), 0);
    dpid = writer_child(dead, -1);
    ck_assert_int_eq(waitpid(dpid, &status, 0), dpid);
    ck_assert_int_eq(count_entries(dir, &tmp_seen), 1);
    ck_assert_int_eq(tmp_seen, 1);
    /* the next file opened there sweeps the dead writer's */
    lpid = writer_child(live, hold[0]);
    ck_assert_int_eq(count_entries(dir, &tmp_seen), 1);
    ck_assert_int_eq(tmp_seen, 1);
    /* ... never a live writer's */
    ck_assert_int_eq(outfile_write_all(next, "n\n", 2, &e), DSRC_OK);
    ck_assert_int_eq(count_entries(dir, NULL), 2); /* live's temporary, next */
    ck_assert_int_eq(outfile_sweep(dir), 0);
    ck_assert_int_eq(write(hold[1], "x", 1), 1);
    ck_assert_int_eq(waitpid(lpid, &status, 0), lpid);
    ck_assert_int_eq(outfile_sweep_tree(tmpdir), 1);
    ck_assert_int_eq(count_entries(dir, &tmp_seen), 1);
    ck_assert_int_eq(tmp_seen, 0);
    close(hold[0]);
    close(hold[1]);
    free(dead);
    free(live);
    free(next);
    free(dir);
}
END_TEST

START_TEST(sha256_known)
{
    char *final = path_in("abc");
    derr e = {0};
    outfile *of = outfile_open(final, &e);
    char hex[65];

    ck_assert_ptr_nonnull(of);
    outfile_sha256(of, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_int_eq(outfile_write(of, "a", 1), 0);
    ck_assert_int_eq(outfile_write(of, "", 0), 0);
    ck_assert_int_eq(outfile_write(of, "bc", 2), 0);
    outfile_sha256(of, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* asking does not disturb the running hash */
    outfile_sha256(of, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_uint_eq(outfile_bytes(of), 3);
    ck_assert_int_eq(outfile_commit(of, &e), DSRC_OK);
    free(final);
}
END_TEST

/* The hash covers exactly the bytes on disk, for a file of many writes. */
START_TEST(sha256_matches_file)
{
    char *final = path_in("big.bin");
    derr e = {0};
    outfile *of = outfile_open(final, &e);
    size_t total = 0, len, i;
    unsigned char chunk[7919], md[32];
    unsigned int mdlen;
    char hex[65], want[65];
    char *data;

    ck_assert_ptr_nonnull(of);
    for (i = 0; i < sizeof chunk; i++)
        chunk[i] = (unsigned char)(i * 13 + 1);
    for (i = 0; i < 300; i++) {
        size_t n = (i * 97) % sizeof chunk;
        ck_assert_int_eq(outfile_write(of, chunk, n), 0);
        total += n;
    }
    outfile_sha256(of, hex);
    ck_assert_uint_eq(outfile_bytes(of), total);
    ck_assert_int_eq(outfile_commit(of, &e), DSRC_OK);
    data = slurp(final, &len);
    ck_assert_uint_eq(len, total);
    ck_assert_int_eq(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
    for (i = 0; i < 32; i++)
        sprintf(want + 2 * i, "%02x", md[i]);
    ck_assert_str_eq(hex, want);
    free(data);
    free(final);
}
END_TEST

/* Try to open `path` in a child that is not root (root writes anywhere);
 * returns the child's error status and message. */
static dsrc_status open_as_user(const char *path, char *msg, size_t msgsize)
{
    int pfd[2], wstatus;
    pid_t pid;
    ssize_t n;
    size_t got = 0;

    ck_assert_int_eq(pipe(pfd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        derr e = {0};
        outfile *of;
        close(pfd[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(100);
        of = outfile_open(path, &e);
        if (of) {
            outfile_abort(of);
            _exit(0);
        }
        if (e.msg && write(pfd[1], e.msg, strlen(e.msg)) < 0)
            _exit(101);
        _exit((int)e.status);
    }
    close(pfd[1]);
    while (got + 1 < msgsize && (n = read(pfd[0], msg + got, msgsize - 1 - got)) > 0)
        got += (size_t)n;
    msg[got] = '\0';
    close(pfd[0]);
    ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
    ck_assert(WIFEXITED(wstatus));
    ck_assert_int_lt(WEXITSTATUS(wstatus), 100);
    return (dsrc_status)WEXITSTATUS(wstatus);
}

START_TEST(unwritable_directory)
{
    char *dir = path_in("ro"), *final = path_in("ro/x.csv");
    char msg[512];
    dsrc_status st;

    ck_assert_int_eq(chmod(tmpdir, 0711), 0);
    ck_assert_int_eq(mkdir(dir, 0555), 0);
    ck_assert_int_eq(chmod(dir, 0555), 0);
    st = open_as_user(final, msg, sizeof msg);
    ck_assert_int_eq(st, DSRC_E_PERMISSION);
    ck_assert_msg(strstr(msg, final) != NULL, "message without the path: %s", msg);
    ck_assert_msg(strstr(msg, strerror(EACCES)) != NULL, "message without the cause: %s", msg);
    ck_assert_int_eq(count_entries(dir, NULL), 0);
    free(dir);
    free(final);
}
END_TEST

START_TEST(parent_is_a_file)
{
    char *file = path_in("plain"), *final = path_in("plain/sub/x.csv");
    derr e = {0};
    outfile *of;

    ck_assert_int_eq(outfile_write_all(file, "x", 1, &e), DSRC_OK);
    of = outfile_open(final, &e);
    ck_assert_ptr_null(of);
    ck_assert_int_ne(e.status, DSRC_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, final));
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOTDIR)));
    derr_clear(&e);
    free(file);
    free(final);
}
END_TEST

START_TEST(bad_paths)
{
    char *dirpath = path_in("d/");
    derr e = {0};

    ck_assert_ptr_null(outfile_open(dirpath, &e));
    ck_assert_int_eq(e.status, DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, dirpath));
    derr_clear(&e);
    ck_assert_ptr_null(outfile_open("", &e));
    ck_assert_int_eq(e.status, DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    /* an existing directory under the final name */
    ck_assert_ptr_null(outfile_open(tmpdir, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, tmpdir));
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(EISDIR)));
    derr_clear(&e);
    free(dirpath);
}
END_TEST

START_TEST(mkdirs)
{
    char *deep = path_in("a/b//c/d/"), *file = path_in("a/file"), *under = path_in("a/file/x");
    struct stat st;
    derr e = {0};

    ck_assert_int_eq(outfile_mkdirs(deep, 0750), 0);
    ck_assert_int_eq(stat(deep, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(outfile_mkdirs(deep, 0750), 0); /* already there */
    ck_assert_int_eq(outfile_write_all(file, "", 0, &e), DSRC_OK);
    errno = 0;
    ck_assert_int_eq(outfile_mkdirs(file, 0750), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    errno = 0;
    ck_assert_int_eq(outfile_mkdirs(under, 0750), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    ck_assert_int_eq(outfile_mkdirs("", 0750), -1);
    free(deep);
    free(file);
    free(under);
}
END_TEST

START_TEST(write_all)
{
    char *final = path_in("s/state.json");
    derr e = {0};
    char *data;
    struct stat st;

    ck_assert_int_eq(outfile_write_all(final, "{\"a\":1}\n", 8, &e), DSRC_OK);
    data = slurp(final, NULL);
    ck_assert_str_eq(data, "{\"a\":1}\n");
    free(data);
    ck_assert_int_eq(outfile_write_all(final, "{}", 2, &e), DSRC_OK);
    data = slurp(final, NULL);
    ck_assert_str_eq(data, "{}");
    free(data);
    ck_assert_int_eq(stat(final, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    ck_assert_int_eq(outfile_write_all("-", "x", 1, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    free(final);
}
END_TEST

/* "-" writes to standard output, counted and hashed, no temporary. */
START_TEST(to_stdout)
{
    char *cap = path_in("stdout.txt");
    int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    derr e = {0};
    outfile *of;
    char hex[65], *data;

    int saved = dup(STDOUT_FILENO);

    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    ck_assert_int_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    close(fd);
    of = outfile_open("-", &e);
    ck_assert_ptr_nonnull(of);
    ck_assert_int_eq(outfile_write(of, "abc", 3), 0);
    outfile_sha256(of, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_uint_eq(outfile_bytes(of), 3);
    ck_assert_int_eq(count_entries(tmpdir, NULL), 1);
    ck_assert_int_eq(outfile_commit(of, &e), DSRC_OK);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    data = slurp(cap, NULL);
    ck_assert_str_eq(data, "abc");
    free(data);
    free(cap);
}
END_TEST

/* A failed write is remembered and the commit reports it. */
START_TEST(write_failure_reported)
{
    int fd = open("/dev/full", O_WRONLY);
    int saved = dup(STDOUT_FILENO);
    derr e = {0};
    outfile *of;

    ck_assert_msg(fd >= 0, "/dev/full: %s", strerror(errno));
    fflush(stdout);
    ck_assert_int_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    close(fd);
    of = outfile_open("-", &e);
    ck_assert_ptr_nonnull(of);
    ck_assert_int_eq(outfile_write(of, "abc", 3), -1);
    ck_assert_int_eq(errno, ENOSPC);
    ck_assert_int_eq(outfile_write(of, "d", 1), -1);
    ck_assert_int_ne(outfile_commit(of, &e), DSRC_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "standard output"));
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOSPC)));
    derr_clear(&e);
    dup2(saved, STDOUT_FILENO);
    close(saved);
}
END_TEST

/* Write `total` bytes of a known pattern to `final` in odd-sized chunks,
 * check the hash and the bytes on disk.  Large enough for several staging
 * buffers, the hasher and putter threads and (where allowed) O_DIRECT. */
static void big_file_round_trip(const char *final, size_t total)
{
    derr e = {0};
    outfile *of = outfile_open(final, &e);
    unsigned char chunk[7919], md[32];
    unsigned int mdlen;
    size_t done = 0, len, i;
    char hex[65], want[65];
    char *data;
    struct stat st;

    ck_assert_msg(of != NULL, "%s", e.msg ? e.msg : "");
    while (done < total) {
        size_t n = sizeof chunk - (done / sizeof chunk) % 100;
        if (n > total - done)
            n = total - done;
        for (i = 0; i < n; i++)
            chunk[i] = (unsigned char)((done + i) * 2654435761u >> 13);
        ck_assert_int_eq(outfile_write(of, chunk, n), 0);
        done += n;
    }
    ck_assert_uint_eq(outfile_bytes(of), total);
    ck_assert_int_ne(stat(final, &st), 0); /* nothing visible before commit */
    outfile_sha256(of, hex);
    ck_assert_int_eq(outfile_commit(of, &e), DSRC_OK);
    data = slurp(final, &len);
    ck_assert_uint_eq(len, total);
    for (i = 0; i < total; i++)
        if ((unsigned char)data[i] != (unsigned char)(i * 2654435761u >> 13))
            ck_abort_msg("byte %zu differs", i);
    ck_assert_int_eq(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
    for (i = 0; i < 32; i++)
        sprintf(want + 2 * i, "%02x", md[i]);
    ck_assert_str_eq(hex, want);
    free(data);
}

START_TEST(big_file)
{
    char *final = path_in("big/large.bin");

    big_file_round_trip(final, (11u << 20) + 12345);
    ck_assert_int_eq(unlink(final), 0);
    /* many times round the staging buffers, hashed and written apart */
    big_file_round_trip(final, (37u << 20) + 4097);
    ck_assert_int_eq(unlink(final), 0);
    /* exactly a whole number of staging buffers */
    big_file_round_trip(final, 8u << 20);
    free(final);
}
END_TEST

/* tmpfs: a file system that may refuse O_DIRECT; the same bytes land. */
START_TEST(big_file_tmpfs)
{
    char dir[] = "/dev/shm/dsrc-outfile-XXXXXX", *final = NULL;

    if (!mkdtemp(dir))
        return; /* no /dev/shm here: nothing to compare against */
    ck_assert_int_ge(asprintf(&final, "%s/large.bin", dir), 0);
    big_file_round_trip(final, (9u << 20) + 1);
    unlink(final);
    rmdir(dir);
    free(final);
}
END_TEST

/* Abort while the hasher and the putter hold buffers: nothing is left. */
START_TEST(big_file_abort)
{
    char *final = path_in("gone.bin");
    derr e = {0};
    outfile *of = outfile_open(final, &e);
    static unsigned char chunk[1 << 20];
    int i;

    ck_assert_ptr_nonnull(of);
    memset(chunk, 'x', sizeof chunk);
    for (i = 0; i < 13; i++)
        ck_assert_int_eq(outfile_write(of, chunk, sizeof chunk), 0);
    outfile_abort(of);
    ck_assert_int_eq(count_entries(tmpdir, NULL), 0);
    free(final);
}
END_TEST

/* A failure in the putter thread (the file size limit) reaches the caller:
 * a later write or the commit fails with the reason, and no file is left. */
START_TEST(big_file_write_failure)
{
    char *final = path_in("limited.bin");
    pid_t pid = fork();
    int status = 0;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {5u << 20, 5u << 20};
        static unsigned char chunk[1 << 20];
        derr e = {0};
        outfile *of;
        int i, failed_write = 0;
        dsrc_status st;

        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        if (!(of = outfile_open(final, &e)))
            _exit(11);
        memset(chunk, 'y', sizeof chunk);
        for (i = 0; i < 16 && !failed_write; i++)
            if (outfile_write(of, chunk, sizeof chunk) != 0)
                failed_write = errno == EFBIG ? 1 : 2;
        if (failed_write == 2)
            _exit(12);
        st = outfile_commit(of, &e);
        if (st == DSRC_OK)
            _exit(13);
        if (!e.msg || !strstr(e.msg, strerror(EFBIG)) || !strstr(e.msg, "limited.bin"))
            _exit(14);
        derr_clear(&e);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    ck_assert_int_eq(count_entries(tmpdir, NULL), 0);
    free(final);
}
END_TEST

static Suite *outfile_suite(void)
{
    Suite *s = suite_create("outfile");
    TCase *tc = tcase_create("outfile");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, invisible_until_commit);
    tcase_add_test(tc, replaces_old_file_only_on_commit);
    tcase_add_test(tc, abort_leaves_nothing);
    tcase_add_test(tc, abort_after_publish_undoes);
    tcase_add_test(tc, fifo_written_directly);
    tcase_add_test(tc, sweep_dead_writers_only);
    tcase_add_test(tc, sha256_known);
    tcase_add_test(tc, sha256_matches_file);
    tcase_add_test(tc, unwritable_directory);
    tcase_add_test(tc, parent_is_a_file);
    tcase_add_test(tc, bad_paths);
    tcase_add_test(tc, mkdirs);
    tcase_add_test(tc, write_all);
    tcase_add_test(tc, to_stdout);
    tcase_add_test(tc, write_failure_reported);
    tcase_add_test(tc, big_file);
    tcase_add_test(tc, big_file_tmpfs);
    tcase_add_test(tc, big_file_abort);
    tcase_add_test(tc, big_file_write_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(outfile_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
