/* The directory artifact store (issue 6): open and trust, publish and load, one fault test
   per way an artifact can be bad (each checks that nothing bad is loaded and that the reason
   is counted), gc, the runtime on a real store (behaviours 37 and 40-42) across a process
   restart, and the time to preload 1,000 artifacts. Shared objects are built at test time
   with the system compiler (`cc -shared -fPIC`) from C sources that define an evmjit_fn. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include "cache_testlib.h"

#include <sys/wait.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static char root[256]; /* this run's scratch directory */

static void make_root(void) {
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/evmjit-store-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(root)) {
        snprintf(root, sizeof root, "/tmp/evmjit-store-XXXXXX");
        if (!mkdtemp(root)) {
            perror("mkdtemp");
            exit(2);
        }
    }
}

static void sh(const char *fmt, ...) EVMJIT__PRINTF(1, 2);
static void sh(const char *fmt, ...) {
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    CHECKF(rc == 0, "%s: exit %d", cmd, rc);
}

static atomic_uint build_seq; /* unique source names: workers build concurrently */

/* A fresh directory under the root. */
static const char *fresh_dir(const char *name) {
    static char path[8][300];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 300, "%s/%s", root, name);
    sh("rm -rf '%s'", p);
    return p;
}

static bool read_file(const char *path, uint8_t **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = (uint8_t *)malloc(n > 0 ? (size_t)n : 1);
    *size = *data && n > 0 && fread(*data, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    if (!*size) free(*data);
    return *size > 0;
}

static bool write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* Compiles `source` to a shared object and returns its bytes (malloc), or NULL. Any thread
   (no CHECK here: the runtime's workers call it). */
static uint8_t *build_so(const char *tag, const char *source, size_t *size) {
    char src[400], so[400], cmd[1000];
    unsigned n = atomic_fetch_add(&build_seq, 1);
    snprintf(src, sizeof src, "%s/%s-%u.c", root, tag, n);
    snprintf(so, sizeof so, "%s/%s-%u.so", root, tag, n);
    uint8_t *bytes = NULL;
    *size = 0;
    if (!write_file(src, source, strlen(source))) return NULL;
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -o '%s' '%s'", so, src);
    if (system(cmd) != 0 || !read_file(so, &bytes, size)) return NULL;
    unlink(src);
    unlink(so);
    return bytes;
}

/* The first evmjit_fn: sets frame->gas (the frame's first field) and succeeds. */
static const char *SRC_GAS =
    "#include <stdint.h>\n"
    "int evmjit_test_fn(int64_t *frame) { frame[0] = 4242; return 0; }\n";
/* A shared object that exports something else. */
static const char *SRC_OTHER =
    "#include <stdint.h>\n"
    "int evmjit_other_fn(int64_t *frame) { frame[0] = 1; return 0; }\n";

static uint8_t *obj_gas, *obj_other;
static size_t obj_gas_size, obj_other_size;

static evmjit_bytes32 key_of(unsigned i) {
    uint8_t b[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    return evmjit_keccak256(b, sizeof b);
}

/* The profile every test store uses unless a test says otherwise. */
static void store_desc(evmjit_store_desc *d, const char *path) {
    memset(d, 0, sizeof *d);
    d->path = path;
    d->create = true;
    d->backend_name = "cc";
    d->compiler_version = "test-1";
    d->logger.log = test_log;
}

static evmjit_store *open_store(const evmjit_store_desc *d) {
    evmjit_store *st = NULL;
    evmjit_error err = evmjit_store_open(d, &st);
    CHECKF(err == EVMJIT_OK && st, "open %s: %s", d->path, evmjit_error_name(err));
    return st;
}

static evmjit_artifact_object object_for(unsigned key, const uint8_t *bytes, size_t size,
                                         const char *symbol) {
    evmjit_artifact_object o;
    memset(&o, 0, sizeof o);
    o.code_hash = key_of(key);
    o.rev = EVMJIT_CANCUN;
    o.symbol = symbol;
    o.object = bytes;
    o.object_size = size;
    o.code_size = 100 + key;
    return o;
}

static evmjit_error publish(evmjit_store *st, unsigned key) {
    evmjit_artifact_object o = object_for(key, obj_gas, obj_gas_size, "evmjit_test_fn");
    return evmjit_store_publish(st, &o);
}

/* Runs a loaded artifact's function on a zeroed frame; returns the gas it left (4242). */
static int64_t call_fn(evmjit_fn fn) {
    evmjit_frame f;
    memset(&f, 0, sizeof f);
    if (fn(&f) != EVMJIT_SUCCESS) return -1;
    return f.gas;
}

/* load_all's sink for tests: keeps up to 64 artifacts, counts the rest, runs each. */
typedef struct sink_state {
    evmjit_store *st;
    evmjit_artifact a[64];
    int n, total, ran_ok;
} sink_state;

static evmjit_error test_sink(void *ctx, const evmjit_artifact *a) {
    sink_state *s = (sink_state *)ctx;
    if (a->fn && call_fn(a->fn) == 4242) s->ran_ok++;
    if (s->n < 64) s->a[s->n++] = *a;
    else evmjit_store_unload(s->st, a);
    s->total++;
    return EVMJIT_OK;
}

static void sink_release(sink_state *s) {
    for (int i = 0; i < s->n; i++) evmjit_store_unload(s->st, &s->a[i]);
    s->n = 0;
}

/* load_all into a fresh sink; returns how many loaded (all unloaded again). */
static int load_all_count(evmjit_store *st, evmjit_error *err_out) {
    sink_state s;
    memset(&s, 0, sizeof s);
    s.st = st;
    evmjit_error err = evmjit_store_load_all(st, test_sink, &s);
    if (err_out) *err_out = err;
    CHECK(s.ran_ok == s.total);
    sink_release(&s);
    return s.total;
}

static evmjit_store_stats sstats(const evmjit_store *st) {
    evmjit_store_stats s;
    evmjit_store_get_stats(st, &s);
    return s;
}

/* The manifest / object file names of a key in st's profile. */
static void names_of(const evmjit_store *st, unsigned key, char *manifest, char *object) {
    char base[EVMJIT__ST_NAME], m[EVMJIT__ST_NAME];
    evmjit_bytes32 h = key_of(key);
    evmjit__st_names(st, &h, EVMJIT_CANCUN, base, m);
    snprintf(manifest, 600, "%s/%s", st->path, m);
    if (object) { /* the object the manifest names */
        evmjit__st_check *c = evmjit__st_check_new((evmjit_store *)(uintptr_t)st);
        object[0] = 0;
        if (c && evmjit__st_read_manifest((evmjit_store *)(uintptr_t)st, m, c) == EVMJIT_SKIP_NONE)
            snprintf(object, 600, "%s/%s", st->path, c->m.object_file);
        CHECK(object[0]);
        evmjit__st_check_free((evmjit_store *)(uintptr_t)st, c);
    }
}

/* Number of directory entries whose name contains `needle`. */
static int count_files(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, needle)) n++;
    closedir(d);
    return n;
}

/* ---- open, trust ---------------------------------------------------------------------------- */

static void test_open(void) {
    evmjit_store_desc d;
    const char *dir = fresh_dir("open");
    store_desc(&d, dir);
    evmjit_store *st = NULL;
    d.create = false;
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_NOT_FOUND && !st);
    d.create = true;
    st = open_store(&d);
    if (!st) return;
    evmjit_store_desc s;
    evmjit_store_settings(st, &s);
    char host[512];
    evmjit_store_host_target(host, sizeof host);
    CHECK(s.path && s.path[0] == '/' && strstr(s.path, "/open") && s.opt_level == EVMJIT_O2);
    CHECK(s.target && !strcmp(s.target, host) && strstr(host, "-") && !strcmp(s.backend_name, "cc"));
    CHECK(evmjit_store_table(st) && !strcmp(evmjit_store_table(st)->name, "directory"));
    CHECK(load_all_count(st, NULL) == 0);
    evmjit_store_close(st);
    evmjit_store_close(NULL);

    /* bad settings */
    store_desc(&d, dir);
    d.opt_level = 9;
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_INVALID_ARGUMENT && log_has("opt_level"));
    store_desc(&d, NULL);
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_INVALID_ARGUMENT);
    store_desc(&d, dir);
    d.compiler_version = NULL;
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_INVALID_ARGUMENT);
    store_desc(&d, dir);
    d.target = "bad\ntarget";
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_INVALID_ARGUMENT && log_has("target"));
    CHECK(evmjit_store_open(NULL, &st) == EVMJIT_ERR_INVALID_ARGUMENT);
    store_desc(&d, dir);
    CHECK(evmjit_store_open(&d, NULL) == EVMJIT_ERR_INVALID_ARGUMENT);
    /* without a compiler profile: opens, loads nothing, refuses to store */
    d.backend_name = d.compiler_version = NULL;
    st = open_store(&d);
    if (st) {
        CHECK(publish(st, 1) == EVMJIT_ERR_INVALID_ARGUMENT && log_has("compiler profile"));
        evmjit_artifact a;
        evmjit_bytes32 h = key_of(1);
        CHECK(evmjit_store_load(st, &h, EVMJIT_CANCUN, &a) == EVMJIT_ERR_NOT_FOUND);
        evmjit_store_close(st);
    }
    /* the profile may come from a backend table */
    evmjit_backend be;
    memset(&be, 0, sizeof be);
    be.name = "cc";
    be.version = "test-1";
    store_desc(&d, dir);
    d.backend_name = d.compiler_version = NULL;
    d.backend = &be;
    st = open_store(&d);
    if (st) {
        CHECK(!strcmp(st->compiler_id, "cc test-1 O2"));
        evmjit_store_close(st);
    }
}

/* A world- or group-writable directory, one owned by another user, and a writable parent are
   refused with UNTRUSTED; a directory that becomes writable after open stops loads. */
static void test_untrusted_dir(void) {
    evmjit_store_desc d;
    const char *dir = fresh_dir("trust");
    store_desc(&d, dir);
    evmjit_store *st = open_store(&d);
    if (!st) return;
    CHECK(publish(st, 1) == EVMJIT_OK);
    evmjit_store_close(st);
    st = NULL;
    sh("chmod 0777 '%s'", dir);
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_UNTRUSTED && !st);
    CHECK(log_has("writable by group or others") && log_has("chmod go-w"));
    sh("chmod 0775 '%s'", dir);
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_UNTRUSTED);
    sh("chmod 0755 '%s'", dir);
    if (geteuid() == 0) { /* only root can give a directory away */
        sh("chown 12345 '%s'", dir);
        CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_UNTRUSTED && log_has("owned by another user"));
        sh("chown %d '%s'", (int)geteuid(), dir);
    } else {
        SKIP("a directory owned by another user: needs root to chown");
    }
    /* a parent anyone can write (and not sticky): the directory could be swapped */
    char parent[300], child[330];
    snprintf(parent, sizeof parent, "%s", fresh_dir("trust-parent"));
    snprintf(child, sizeof child, "%s/store", parent);
    sh("mkdir -p '%s' && chmod 0777 '%s'", child, parent);
    store_desc(&d, child);
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_UNTRUSTED && log_has("parent"));
    sh("chmod 1777 '%s'", parent); /* sticky, like /tmp: fine */
    st = open_store(&d);
    evmjit_store_close(st);
    /* permissions that change after open: load_all and load refuse, publish too */
    store_desc(&d, dir);
    st = open_store(&d);
    if (!st) return;
    CHECK(load_all_count(st, NULL) == 1);
    sh("chmod 0777 '%s'", dir);
    evmjit_error err = EVMJIT_OK;
    CHECK(load_all_count(st, &err) == 0 && err == EVMJIT_ERR_UNTRUSTED);
    evmjit_artifact a;
    evmjit_bytes32 h = key_of(1);
    CHECK(evmjit_store_load(st, &h, EVMJIT_CANCUN, &a) == EVMJIT_ERR_UNTRUSTED && !a.handle);
    CHECK(publish(st, 2) == EVMJIT_ERR_UNTRUSTED && sstats(st).store_failed == 1);
    sh("chmod 0755 '%s'", dir);
    CHECK(load_all_count(st, NULL) == 1);
    evmjit_store_close(st);
}

/* ---- publish and load ----------------------------------------------------------------------- */

static void test_publish_load(void) {
    evmjit_store_desc d;
    const char *dir = fresh_dir("basic");
    store_desc(&d, dir);
    evmjit_store *st = open_store(&d);
    if (!st) return;
    evmjit_bytes32 h1 = key_of(1);
    evmjit_artifact a;
    CHECK(evmjit_store_load(st, &h1, EVMJIT_CANCUN, &a) == EVMJIT_ERR_NOT_FOUND);
    CHECK(publish(st, 1) == EVMJIT_OK && publish(st, 2) == EVMJIT_OK);
    CHECK(count_files(dir, ".manifest") == 2 && count_files(dir, ".so") == 2);
    CHECK(count_files(dir, EVMJIT__STORE_TEMP_PREFIX) == 0);
    /* the manifest is readable text with the whole key */
    char mpath[600], opath[600];
    names_of(st, 1, mpath, opath);
    uint8_t *text = NULL;
    size_t n = 0;
    CHECK(read_file(mpath, &text, &n));
    if (n) {
        text = (uint8_t *)realloc(text, n + 1);
        text[n] = 0;
        const char *t = (const char *)text;
        CHECK(!strncmp(t, "evmjit-artifact 1\ncode_hash 0x", 30) && strstr(t, "\nrevision 12\n"));
        CHECK(strstr(t, "\nbackend cc\ncompiler_version test-1\nopt_level 2\nabi_version 1\ntarget "));
        CHECK(strstr(t, "\nsymbol evmjit_test_fn\ncode_size 101\n") && strstr(t, "\nend\n"));
        free(text);
    }
    uint8_t *ob = NULL;
    CHECK(read_file(opath, &ob, &n) && n == obj_gas_size && !memcmp(ob, obj_gas, n));
    free(ob);
    /* load: verified, dlopened, callable */
    CHECK(evmjit_store_load(st, &h1, EVMJIT_CANCUN, &a) == EVMJIT_OK);
    CHECK(a.fn && a.handle && a.code_size == 101 && a.code_bytes == obj_gas_size && a.rev == EVMJIT_CANCUN);
    CHECK(!memcmp(a.code_hash.bytes, h1.bytes, 32) && a.fn && call_fn(a.fn) == 4242);
    evmjit_store_unload(st, &a);
    CHECK(evmjit_store_load(st, &h1, EVMJIT_SHANGHAI, &a) == EVMJIT_ERR_NOT_FOUND);
    CHECK(load_all_count(st, NULL) == 2);
    /* again: nothing is written, the artifact is kept */
    struct stat before, after;
    CHECK(stat(mpath, &before) == 0);
    CHECK(publish(st, 1) == EVMJIT_OK && sstats(st).store_existing == 1);
    CHECK(stat(mpath, &after) == 0 && before.st_ino == after.st_ino);
    /* the runtime's compiler string must be this profile's */
    evmjit_artifact_object o = object_for(3, obj_gas, obj_gas_size, "evmjit_test_fn");
    o.compiler = "cc test-1 O3";
    CHECK(evmjit_store_publish(st, &o) == EVMJIT_ERR_INVALID_ARGUMENT && log_has("profile"));
    o.compiler = "cc test-1 O2";
    CHECK(evmjit_store_publish(st, &o) == EVMJIT_OK);
    o.symbol = "not a symbol";
    CHECK(evmjit_store_publish(st, &o) == EVMJIT_ERR_INVALID_ARGUMENT);
    o = object_for(4, obj_gas, 0, "evmjit_test_fn");
    CHECK(evmjit_store_publish(st, &o) == EVMJIT_ERR_INVALID_ARGUMENT);
    evmjit_store_stats s = sstats(st);
    CHECK(s.stored == 3 && s.loaded == 3 && s.unloaded == 3 && s.store_failed == 3 && s.skipped == 0);
    /* remove, clear; a loaded copy stays usable */
    CHECK(evmjit_store_load(st, &h1, EVMJIT_CANCUN, &a) == EVMJIT_OK);
    CHECK(evmjit_store_remove(st, &h1, EVMJIT_CANCUN) == EVMJIT_OK);
    CHECK(a.fn && call_fn(a.fn) == 4242);
    evmjit_store_unload(st, &a);
    CHECK(evmjit_store_remove(st, &h1, EVMJIT_CANCUN) == EVMJIT_ERR_NOT_FOUND);
    CHECK(evmjit_store_load(st, &h1, EVMJIT_CANCUN, &a) == EVMJIT_ERR_NOT_FOUND);
    CHECK(count_files(dir, ".manifest") == 2 && count_files(dir, ".so") == 2);
    CHECK(evmjit_store_clear(st) == EVMJIT_OK && count_files(dir, "") == 0);
    CHECK(load_all_count(st, NULL) == 0 && sstats(st).removed == 3);
    evmjit_store_close(st);
}

/* ---- fault tests ------------------------------------------------------------------------- */

/* Fault injection: `op` on files whose name contains `part` (NULL: any; "=name": exactly
   name) fails with `err`, `count` times (-1: always). */
static struct {
    evmjit_store_op op;
    const char *part;
    int err, count;
    atomic_int hits;
} FAULT;

static int fault_hook(evmjit_store_op op, const char *file, void *user) {
    (void)user;
    if (op != FAULT.op || !FAULT.count) return 0;
    if (FAULT.part && (FAULT.part[0] == '=' ? strcmp(file, FAULT.part + 1) : !strstr(file, FAULT.part)))
        return 0;
    if (FAULT.count > 0) FAULT.count--;
    atomic_fetch_add(&FAULT.hits, 1);
    return FAULT.err;
}

static void set_fault(evmjit_store_op op, const char *part, int err, int count) {
    FAULT.op = op;
    FAULT.part = part;
    FAULT.err = err;
    FAULT.count = count;
    atomic_store(&FAULT.hits, 0);
}

/* A store directory with artifacts for keys 1, 2 and 3. */
static const char *three(const char *name) {
    const char *dir = fresh_dir(name);
    evmjit_store_desc d;
    store_desc(&d, dir);
    evmjit_store *st = open_store(&d);
    if (st) {
        CHECK(publish(st, 1) == EVMJIT_OK && publish(st, 2) == EVMJIT_OK && publish(st, 3) == EVMJIT_OK);
        evmjit_store_close(st);
    }
    return dir;
}

/* Opens dir with the test profile and the fault hook. */
static evmjit_store *reopen(const char *dir) {
    evmjit_store_desc d;
    store_desc(&d, dir);
    d.faults.inject = fault_hook;
    return open_store(&d);
}

/* The file names of key k in the test profile of dir. */
static void key_files(const char *dir, unsigned k, char *manifest, char *object) {
    evmjit_store *st = reopen(dir);
    if (!st) return;
    names_of(st, k, manifest, object);
    evmjit_store_close(st);
}

/* In a fresh store on dir: load_all loads exactly `loaded` artifacts (each runs correctly),
   counts `reason` once and nothing else; a load of `key` returns want (nothing loaded) and
   counts the reason again; the log names the reason. */
static void expect_skip(const char *dir, int loaded, evmjit_store_skip reason, unsigned key,
                        evmjit_error want) {
    evmjit_store *st = reopen(dir);
    if (!st) return;
    CHECKF(load_all_count(st, NULL) == loaded, "%s", evmjit_store_skip_name(reason));
    evmjit_store_stats s = sstats(st);
    CHECKF(s.skips[reason] == 1 && s.skipped == 1, "%s: %llu of %llu",
           evmjit_store_skip_name(reason), (unsigned long long)s.skips[reason],
           (unsigned long long)s.skipped);
    if (want != EVMJIT_OK) {
        evmjit_artifact a;
        evmjit_bytes32 h = key_of(key);
        evmjit_error err = evmjit_store_load(st, &h, EVMJIT_CANCUN, &a);
        CHECKF(err == want && !a.handle && !a.fn, "%s: load gave %s",
               evmjit_store_skip_name(reason), evmjit_error_name(err));
        if (want != EVMJIT_ERR_NOT_FOUND) {
            CHECK(sstats(st).skips[reason] == 2);
            CHECKF(log_has(evmjit_store_skip_name(reason)), "log: %s", log_last);
        }
    }
    evmjit_store_close(st);
}

static void flip_byte(const char *path, long where) {
    uint8_t *b = NULL;
    size_t n = 0;
    CHECK(read_file(path, &b, &n));
    if (!n) return;
    b[(size_t)where % n] ^= 0x10;
    /* a new file renamed over the old one: a process that has the old one mapped (the runtime
       may still hold the artifact) keeps intact code; rewriting it in place would not */
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.flip", path);
    CHECK(write_file(tmp, b, n) && rename(tmp, path) == 0);
    free(b);
}

static void test_truncated_object(void) {
    const char *dir = three("truncated");
    char m[600], o[600];
    key_files(dir, 2, m, o);
    sh("truncate -s 100 '%s'", o);
    expect_skip(dir, 2, EVMJIT_SKIP_SIZE_MISMATCH, 2, EVMJIT_ERR_CORRUPT);
}

static void test_flipped_byte(void) {
    const char *dir = three("flipped");
    char m[600], o[600];
    key_files(dir, 2, m, o);
    flip_byte(o, 1000);
    expect_skip(dir, 2, EVMJIT_SKIP_HASH_MISMATCH, 2, EVMJIT_ERR_CORRUPT);
    /* a publish of that key replaces the bad artifact (by rename, never in place) */
    evmjit_store *st = reopen(dir);
    if (!st) return;
    CHECK(publish(st, 2) == EVMJIT_OK && sstats(st).store_replaced == 1 && log_has("replacing"));
    CHECK(load_all_count(st, NULL) == 3 && sstats(st).skipped == 0);
    CHECK(count_files(dir, ".so") == 3 && count_files(dir, EVMJIT__STORE_TEMP_PREFIX) == 0);
    evmjit_store_close(st);
}

static void test_other_code_hash(void) {
    const char *dir = three("otherhash");
    char m1[600], m2[600];
    key_files(dir, 1, m1, NULL);
    key_files(dir, 2, m2, NULL);
    sh("cp '%s' '%s'", m1, m2); /* key 2's file name, key 1's manifest */
    expect_skip(dir, 2, EVMJIT_SKIP_KEY_MISMATCH, 2, EVMJIT_ERR_CORRUPT);
}

/* Artifacts of another ABI version, target or compiler in the same directory are counted as
   foreign and never loaded; forging the field in one of ours breaks its name. */
static void test_foreign(void) {
    const char *dir = three("foreign");
    evmjit_store_desc d;
    store_desc(&d, dir);
    evmjit_store *other = open_store(&d);
    if (!other) return;
    other->abi = 2; /* internal: as if built by a later evmjit */
    evmjit__st_profile_hash(other->backend, other->version, other->opt, other->abi, other->target, other->k16);
    CHECK(publish(other, 4) == EVMJIT_OK);
    evmjit_store_close(other);
    expect_skip(dir, 3, EVMJIT_SKIP_FOREIGN_ABI, 4, EVMJIT_ERR_NOT_FOUND);
    sh("rm -f '%s'/*.manifest", dir);

    dir = three("foreign-target");
    store_desc(&d, dir);
    d.target = "riscv64-linux-gnu rv64gc";
    other = open_store(&d);
    if (!other) return;
    CHECK(publish(other, 5) == EVMJIT_OK);
    evmjit_store_close(other);
    expect_skip(dir, 3, EVMJIT_SKIP_FOREIGN_TARGET, 5, EVMJIT_ERR_NOT_FOUND);

    dir = three("foreign-compiler");
    store_desc(&d, dir);
    d.compiler_version = "test-2";
    other = open_store(&d);
    if (!other) return;
    CHECK(publish(other, 6) == EVMJIT_OK);
    evmjit_store_close(other);
    expect_skip(dir, 3, EVMJIT_SKIP_FOREIGN_COMPILER, 6, EVMJIT_ERR_NOT_FOUND);

    /* forged: "abi_version 2" written into one of ours */
    dir = three("forged-abi");
    char m[600];
    key_files(dir, 2, m, NULL);
    sh("sed -i 's/^abi_version 1$/abi_version 2/' '%s'", m);
    expect_skip(dir, 2, EVMJIT_SKIP_KEY_MISMATCH, 2, EVMJIT_ERR_CORRUPT);
}

static void test_missing_symbol(void) {
    const char *dir = three("nosymbol");
    evmjit_store *st = reopen(dir);
    if (!st) return;
    evmjit_artifact_object o = object_for(7, obj_other, obj_other_size, "evmjit_test_fn");
    CHECK(evmjit_store_publish(st, &o) == EVMJIT_OK);
    evmjit_store_close(st);
    expect_skip(dir, 3, EVMJIT_SKIP_MISSING_SYMBOL, 7, EVMJIT_ERR_CORRUPT);
}

static void test_not_a_shared_object(void) {
    const char *dir = three("notelf");
    evmjit_store *st = reopen(dir);
    if (!st) return;
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 7 + 3);
    evmjit_artifact_object o = object_for(8, junk, sizeof junk, "evmjit_test_fn");
    CHECK(evmjit_store_publish(st, &o) == EVMJIT_OK);
    evmjit_store_close(st);
    expect_skip(dir, 3, EVMJIT_SKIP_DLOPEN_FAILED, 8, EVMJIT_ERR_CORRUPT);
}

static void test_unreadable(void) {
    const char *dir = three("unreadable");
    char m[600], o[600];
    key_files(dir, 2, m, o);
    const char *oname = strrchr(o, '/') + 1;
    /* root reads anything: the open fails by injection (EACCES); as another user, chmod */
    set_fault(EVMJIT_STORE_OP_OPEN, oname, EACCES, -1);
    if (geteuid() != 0) sh("chmod 000 '%s'", o);
    expect_skip(dir, 2, EVMJIT_SKIP_UNREADABLE, 2, EVMJIT_ERR_IO);
    CHECK(atomic_load(&FAULT.hits) >= 2 || geteuid() != 0);
    /* a read error half way */
    set_fault(EVMJIT_STORE_OP_READ, oname, EIO, -1);
    if (geteuid() != 0) sh("chmod 644 '%s'", o);
    expect_skip(dir, 2, EVMJIT_SKIP_UNREADABLE, 2, EVMJIT_ERR_IO);
    set_fault(EVMJIT_STORE_OP_READ, NULL, 0, 0);
}

static void test_untrusted_files(void) {
    const char *dir = three("untrusted-owner");
    char m[600], o[600];
    key_files(dir, 2, m, o);
    if (geteuid() == 0) {
        sh("chown 12345 '%s'", o);
        expect_skip(dir, 2, EVMJIT_SKIP_UNTRUSTED, 2, EVMJIT_ERR_UNTRUSTED);
    } else {
        SKIP("an object owned by another user: needs root to chown");
    }
    dir = three("untrusted-mode");
    key_files(dir, 2, m, o);
    sh("chmod 0666 '%s'", m);
    expect_skip(dir, 2, EVMJIT_SKIP_UNTRUSTED, 2, EVMJIT_ERR_UNTRUSTED);
    dir = three("untrusted-link");
    key_files(dir, 2, m, o);
    sh("mv '%s' '%s.real' && ln -s '%s.real' '%s'", o, o, o, o); /* a symlinked object */
    expect_skip(dir, 2, EVMJIT_SKIP_UNTRUSTED, 2, EVMJIT_ERR_UNTRUSTED);
}

static void test_missing_object(void) {
    const char *dir = three("noobject");
    char m[600], o[600];
    key_files(dir, 2, m, o);
    sh("rm '%s'", o);
    expect_skip(dir, 2, EVMJIT_SKIP_MISSING_OBJECT, 2, EVMJIT_ERR_CORRUPT);
}

static void test_bad_manifest(void) {
    const char *dir = three("badmanifest");
    char m[600];
    key_files(dir, 2, m, NULL);
    sh("head -c 300 '%s' > '%s.cut' && cat '%s.cut' > '%s' && rm '%s.cut'", m, m, m, m, m);
    expect_skip(dir, 2, EVMJIT_SKIP_BAD_MANIFEST, 2, EVMJIT_ERR_CORRUPT);
    sh("printf 'garbage\\n' > '%s'", m);
    expect_skip(dir, 2, EVMJIT_SKIP_BAD_MANIFEST, 2, EVMJIT_ERR_CORRUPT);
    dir = three("badformat"); /* a format version from the future */
    key_files(dir, 1, m, NULL);
    sh("sed -i 's/^evmjit-artifact 1$/evmjit-artifact 9/' '%s'", m);
    expect_skip(dir, 2, EVMJIT_SKIP_BAD_MANIFEST, 1, EVMJIT_ERR_CORRUPT);
}

static void test_leftovers(void) {
    const char *dir = three("leftovers");
    sh("echo partial > '%s/" EVMJIT__STORE_TEMP_PREFIX "999-1-x.so'", dir);
    expect_skip(dir, 3, EVMJIT_SKIP_TEMP_LEFTOVER, 0, EVMJIT_OK);
    sh("rm '%s/" EVMJIT__STORE_TEMP_PREFIX "999-1-x.so'", dir);
    /* an object no manifest names */
    char m[600], o[600];
    key_files(dir, 3, m, o);
    sh("rm '%s'", m);
    expect_skip(dir, 2, EVMJIT_SKIP_ORPHAN_OBJECT, 3, EVMJIT_ERR_NOT_FOUND);
}

/* A full disk (or any write-side failure) at every step of a publish: IO, the reason logged,
   nothing left behind, nothing loadable; the store works again once the disk has room. */
static void test_full_disk(void) {
    const char *dir = three("fulldisk");
    evmjit_store *st = reopen(dir);
    if (!st) return;
    static const struct {
        evmjit_store_op op;
        const char *part;
        int err;
    } cases[] = {
        {EVMJIT_STORE_OP_WRITE, ".so", ENOSPC},       {EVMJIT_STORE_OP_WRITE, ".manifest", ENOSPC},
        {EVMJIT_STORE_OP_CREATE, NULL, EDQUOT},       {EVMJIT_STORE_OP_FSYNC, ".so", EIO},
        {EVMJIT_STORE_OP_FSYNC, ".manifest", ENOSPC}, {EVMJIT_STORE_OP_LINK, ".so", EIO},
        {EVMJIT_STORE_OP_FSYNC, "=.", EIO},           {EVMJIT_STORE_OP_LINK, ".manifest", ENOSPC},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        set_fault(cases[i].op, cases[i].part, cases[i].err, 1);
        evmjit_store_stats before = sstats(st);
        CHECKF(publish(st, 10 + i) == EVMJIT_ERR_IO, "case %u", i);
        CHECKF(atomic_load(&FAULT.hits) == 1, "case %u", i);
        CHECK(sstats(st).store_failed == before.store_failed + 1 && sstats(st).io_errors > before.io_errors);
        if (cases[i].err != EIO) CHECKF(log_has("disk full"), "case %u: %s", i, log_last);
        CHECKF(count_files(dir, EVMJIT__STORE_TEMP_PREFIX) == 0 && count_files(dir, ".manifest") == 3 &&
               count_files(dir, ".so") == 3, "case %u leaves files behind", i);
        evmjit_artifact a;
        evmjit_bytes32 h = key_of(10 + i);
        CHECK(evmjit_store_load(st, &h, EVMJIT_CANCUN, &a) == EVMJIT_ERR_NOT_FOUND);
    }
    /* the last directory fsync fails: the artifact is visible and valid, the call says IO */
    set_fault(EVMJIT_STORE_OP_FSYNC, "=.", EIO, 2);
    FAULT.count = -1;
    CHECK(publish(st, 30) == EVMJIT_ERR_IO);
    set_fault(EVMJIT_STORE_OP_WRITE, NULL, 0, 0);
    CHECK(publish(st, 31) == EVMJIT_OK && load_all_count(st, NULL) == 4);
    CHECK(sstats(st).skipped == 0);
    evmjit_store_close(st);
}

typedef struct tally {
    int artifacts, valid, ours, temps, orphans, old, hash_bad, with_manifest;
} tally;

static evmjit_error tally_visit(void *ctx, const evmjit_store_entry *e) {
    tally *t = (tally *)ctx;
    if (e->kind == EVMJIT_STORE_ENTRY_ARTIFACT) t->artifacts++;
    if (e->kind == EVMJIT_STORE_ENTRY_TEMP) t->temps++;
    if (e->kind == EVMJIT_STORE_ENTRY_ORPHAN) t->orphans++;
    if (e->kind == EVMJIT_STORE_ENTRY_ARTIFACT && e->status == EVMJIT_SKIP_NONE) t->valid++;
    if (e->status == EVMJIT_SKIP_HASH_MISMATCH && e->detail[0]) t->hash_bad++;
    if (e->ours) t->ours++;
    if (e->manifest && e->manifest->object_size == obj_gas_size) t->with_manifest++;
    if (e->age_s > 3600) t->old++;
    return EVMJIT_OK;
}

/* gc removes temporary leftovers and orphans past the age limit, and artifacts that fail
   verification; it keeps valid artifacts and intact ones of other profiles. */
static void test_gc(void) {
    const char *dir = three("gc");
    char m[600], o[600];
    key_files(dir, 2, m, o);
    flip_byte(o, 500);
    evmjit_store_desc d;
    store_desc(&d, dir);
    d.target = "other-target";
    evmjit_store *other = open_store(&d);
    if (other) {
        CHECK(publish(other, 5) == EVMJIT_OK);
        evmjit_store_close(other);
    }
    key_files(dir, 3, m, o);
    sh("rm '%s'", m); /* key 3's object is an orphan */
    sh("echo x > '%s/" EVMJIT__STORE_TEMP_PREFIX "1-1-old.so' && echo x > '%s/" EVMJIT__STORE_TEMP_PREFIX
       "1-2-new.so' && echo keep > '%s/README'", dir, dir, dir);
    sh("touch -d '2 hours ago' '%s/" EVMJIT__STORE_TEMP_PREFIX "1-1-old.so' '%s'", dir, o);
    evmjit_store *st = reopen(dir);
    if (!st) return;
    /* iterate reports everything, checks as asked, counts nothing */
    tally t;
    memset(&t, 0, sizeof t);
    CHECK(evmjit_store_iterate(st, 0, tally_visit, &t) == EVMJIT_OK);
    CHECK(t.artifacts == 3 && t.valid == 3 && t.ours == 2 && t.temps == 2 && t.orphans == 1 && t.old == 2);
    memset(&t, 0, sizeof t);
    CHECK(evmjit_store_iterate(st, EVMJIT_STORE_CHECK_SYMBOL, tally_visit, &t) == EVMJIT_OK);
    CHECK(t.artifacts == 3 && t.valid == 2 && t.hash_bad == 1 && t.ours == 2 && t.with_manifest == 3);
    CHECK(sstats(st).skipped == 0 && sstats(st).loaded == 0);
    evmjit_store_gc_report r;
    CHECK(evmjit_store_gc(st, 600, &r) == EVMJIT_OK);
    CHECKF(r.artifacts_removed == 1 && r.temps_removed == 1 && r.orphans_removed == 1 && r.kept == 2 &&
           r.errors == 0, "gc: %llu %llu %llu %llu", (unsigned long long)r.artifacts_removed,
           (unsigned long long)r.temps_removed, (unsigned long long)r.orphans_removed,
           (unsigned long long)r.kept);
    CHECK(count_files(dir, ".manifest") == 2 && count_files(dir, ".so") == 3); /* + the new temp */
    CHECK(count_files(dir, "new.so") == 1 && count_files(dir, "README") == 1);
    CHECK(load_all_count(st, NULL) == 1);
    CHECK(evmjit_store_gc(st, 0, &r) == EVMJIT_OK && r.temps_removed == 1 && r.kept == 2);
    evmjit_store_close(st);
}

/* ---- the runtime on a directory store ---------------------------------------------------- */

/* A backend whose AOT output is a real shared object: for the contracts make_code() builds
   (PUSH3 v, MSTORE at 0, RETURN 32 bytes) it writes C that does the same through the
   frame's builtins (MSTORE, RETURN) and compiles it with cc. JIT: the interpreter. */
static atomic_int cc_aot_compiles;
static int cc_compiler_object;

static evmjit_error cc_create(void *user, int opt_level, void **compiler, char *err, size_t n) {
    (void)user, (void)opt_level, (void)err, (void)n;
    *compiler = &cc_compiler_object;
    return EVMJIT_OK;
}
static void cc_destroy(void *user, void *compiler) { (void)user, (void)compiler; }

static evmjit_error cc_compile_jit(void *user, void *compiler, const evmjit_compile_request *req,
                                   evmjit_compile_output *out) {
    (void)user, (void)compiler, (void)req;
    out->fn = evmjit_interpret;
    out->code = &cc_compiler_object;
    out->code_bytes = 1;
    return EVMJIT_OK;
}

static evmjit_error cc_compile_aot(void *user, void *compiler, const evmjit_compile_request *req,
                                   evmjit_compile_output *out) {
    (void)user, (void)compiler;
    if (req->code_size < 13 || req->code[0] != 0x62) {
        snprintf(out->message, sizeof out->message, "cc backend: not a make_code contract");
        return EVMJIT_ERR_COMPILE_FAILED;
    }
    unsigned v = (unsigned)req->code[1] << 16 | (unsigned)req->code[2] << 8 | req->code[3];
    char src[2048];
    snprintf(out->symbol, sizeof out->symbol, "evmjit_cc_%02x%02x%02x%02x_r%d", req->code_hash.bytes[0],
             req->code_hash.bytes[1], req->code_hash.bytes[2], req->code_hash.bytes[3], (int)req->rev);
    snprintf(src, sizeof src,
             "#include <stdint.h>\n"
             "typedef struct { uint64_t w[4]; } W;\n"
             "typedef int (*B)(void *frame, W *args, int imm);\n"
             "int %s(void *f) {\n"
             "    B *bt = *(B **)((char *)f + %zu);\n"
             "    *(int64_t *)f -= 15; /* PUSH3 PUSH1 MSTORE PUSH1 PUSH1 */\n"
             "    W a[2] = {{{0, 0, 0, 0}}, {{%uu, 0, 0, 0}}};\n"
             "    int st = bt[%d](f, a, 0x52);\n"
             "    if (st) return st;\n"
             "    W r[2] = {{{0, 0, 0, 0}}, {{32, 0, 0, 0}}};\n"
             "    return bt[%d](f, r, 0xf3);\n"
             "}\n",
             out->symbol, offsetof(evmjit_frame, builtins), v, (int)EVMJIT_BUILTIN_MSTORE,
             (int)EVMJIT_BUILTIN_RETURN);
    out->object = build_so("aot", src, &out->object_size);
    if (!out->object) {
        snprintf(out->message, sizeof out->message, "cc backend: cc failed");
        return EVMJIT_ERR_COMPILE_FAILED;
    }
    snprintf(out->target, sizeof out->target, "host");
    atomic_fetch_add(&cc_aot_compiles, 1);
    return EVMJIT_OK;
}

static void cc_free_code(void *user, void *handle) { (void)user, (void)handle; }
static void cc_free_object(void *user, evmjit_compile_output *out) {
    (void)user;
    free(out->object);
    out->object = NULL;
}

static const evmjit_backend CC_BACKEND = {"cc", "test-1", NULL, cc_create, cc_destroy,
                                          cc_compile_jit, cc_compile_aot, cc_free_code,
                                          cc_free_object};

static void runtime_desc(evmjit_runtime_desc *d, evmjit_store *st) {
    memset(d, 0, sizeof *d);
    d->backend = &CC_BACKEND;
    d->store = evmjit_store_table(st);
    d->worker_threads = 1;
    d->wake_interval_ms = 10;
    d->logger.log = test_log;
    d->enabled = true;
}

static evmjit_store *runtime_store(const char *dir) {
    evmjit_store_desc sd;
    store_desc(&sd, dir);
    sd.backend_name = sd.compiler_version = NULL;
    sd.backend = &CC_BACKEND; /* the runtime's backend and opt level: the same profile */
    return open_store(&sd);
}

/* evmjit_runtime_desc.store_dir: the runtime opens its own directory store (creating the
   directory), persists there, and a second runtime on the same directory preloads it. A
   directory that cannot be made fails creation with the store's error. */
static void test_runtime_store_dir(void) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/not/yet", fresh_dir("store_dir"));
    code *a = (code *)malloc(sizeof(code));
    if (!a) return;
    make_code(a, 4101, 0);
    evmjit_runtime_desc d;
    memset(&d, 0, sizeof d);
    d.backend = &CC_BACKEND;
    d.store_dir = dir;
    d.worker_threads = 1;
    d.wake_interval_ms = 10;
    d.logger.log = test_log;
    d.enabled = true;
    long compiles = atomic_load(&cc_aot_compiles);
    evmjit_runtime *rt = make(&d);
    if (rt) {
        CHECK(evmjit_prepare_aot(rt, &a->hash, a->bytes, a->size, EVMJIT_CANCUN) == EVMJIT_OK);
        WAIT_UNTIL(stats(rt).resident_aot == 1, 20000);
        CHECK(run(rt, a, EVMJIT_CANCUN) == 4101);
        destroy(rt);
    }
    CHECK(count_files(dir, ".manifest") == 1 && atomic_load(&cc_aot_compiles) == compiles + 1);
    rt = make(&d);
    if (rt) {
        /* preloaded at creation: a hit before any compilation */
        CHECK(stats(rt).resident_aot == 1 && run(rt, a, EVMJIT_CANCUN) == 4101);
        CHECK(atomic_load(&cc_aot_compiles) == compiles + 1);
        destroy(rt);
    }
    d.store_dir = "/proc/evmjit-no-such-dir/store";
    evmjit_runtime *bad = NULL;
    CHECK(evmjit_runtime_create(&d, &bad) != EVMJIT_OK && bad == NULL);
    free(a);
}

/* Behaviours 37 and 39 in a child process: two AOT requests, two artifacts on disk. */
static int child_compile(const char *dir, const code *a, const code *b) {
    evmjit_store *st = runtime_store(dir);
    if (!st) return 1;
    evmjit_runtime_desc d;
    runtime_desc(&d, st);
    evmjit_runtime *rt = make(&d);
    if (rt) {
        evmjit_code_ref items[2] = {{a->hash, a->bytes, a->size, EVMJIT_CANCUN},
                                    {b->hash, b->bytes, b->size, EVMJIT_CANCUN}};
        size_t accepted = 0;
        CHECK(evmjit_prepare_aot_batch(rt, items, 2, &accepted) == EVMJIT_OK && accepted == 2);
        WAIT_UNTIL(stats(rt).resident_aot == 2, 20000);
        CHECK(stats(rt).resident_aot == 2 && stats(rt).aot_stored == 2 && stats(rt).store_errors == 0);
        CHECK(run(rt, a, EVMJIT_CANCUN) == 4001 && run(rt, b, EVMJIT_CANCUN) == 4002);
        destroy(rt);
    }
    evmjit_store_stats s = sstats(st);
    CHECK(s.stored == 2 && s.loaded == 2 && s.unloaded == 2 && atomic_load(&cc_aot_compiles) == 2);
    evmjit_store_close(st);
    evmjit_thread_cleanup();
    return check_failed ? 1 : 0;
}

/* Behaviours 40-42 across a process restart: a child compiles and persists; this process
   starts a runtime on the same directory, finds both preloaded before its first lookup, runs
   them, and after a clear reloads one from the store instead of compiling it. */
static void test_runtime_restart(void) {
    const char *dir = fresh_dir("runtime");
    code *a = (code *)malloc(sizeof(code)), *b = (code *)malloc(sizeof(code)), *c = (code *)malloc(sizeof(code));
    if (!a || !b || !c) return;
    make_code(a, 4001, 0);
    make_code(b, 4002, 0);
    make_code(c, 4003, 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(child_compile(dir, a, b));
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the compiling process failed (status %d)", status);
    CHECK(count_files(dir, ".manifest") == 2);
    /* a crash left a temporary file: preload skips and counts it */
    sh("echo partial > '%s/" EVMJIT__STORE_TEMP_PREFIX "1-1-crashed.so'", dir);

    evmjit_store *st = runtime_store(dir);
    if (!st) return;
    evmjit_runtime_desc d;
    runtime_desc(&d, st);
    d.enabled = false;
    evmjit_runtime *rt = make(&d);
    if (rt) {
        /* 41: seeded before the first lookup */
        CHECK(stats(rt).resident_aot == 2 && stats(rt).aot_loaded == 2 && sstats(st).loaded == 2);
        CHECK(sstats(st).skipped == 1 && sstats(st).skips[EVMJIT_SKIP_TEMP_LEFTOVER] == 1);
        CHECK(evmjit_runtime_enable(rt) == EVMJIT_OK);
        /* 40: the first lookup is a hit on the AOT program, and it runs correctly */
        evmjit_program *p = NULL;
        CHECK(evmjit_lookup(rt, &a->hash, a->bytes, a->size, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_HIT);
        if (p) {
            CHECK(p->kind == EVMJIT_PROGRAM_AOT && p->code_size == a->size && run_program(rt, p, a) == 4001);
            evmjit_lookup_release(rt, p);
        }
        CHECK(run(rt, b, EVMJIT_CANCUN) == 4002);
        /* 42: cleared, then an AOT request for a persisted key loads it without compiling */
        CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
        WAIT_UNTIL(stats(rt).resident_entries == 0, 5000);
        CHECK(evmjit_prepare_aot(rt, &a->hash, a->bytes, a->size, EVMJIT_CANCUN) == EVMJIT_OK);
        WAIT_UNTIL(stats(rt).resident_aot == 1, 5000);
        CHECK(probe(rt, a, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT && run(rt, a, EVMJIT_CANCUN) == 4001);
        CHECK(atomic_load(&cc_aot_compiles) == 0 && sstats(st).loaded == 3);
        /* 37: a new key compiles, is stored and becomes resident */
        CHECK(evmjit_prepare_aot(rt, &c->hash, c->bytes, c->size, EVMJIT_CANCUN) == EVMJIT_OK);
        WAIT_UNTIL(stats(rt).resident_aot == 2, 20000);
        CHECK(atomic_load(&cc_aot_compiles) == 1 && sstats(st).stored == 1 && run(rt, c, EVMJIT_CANCUN) == 4003);
        CHECK(stats(rt).store_errors == 0 && count_files(dir, ".manifest") == 3);
        /* a persisted artifact goes bad: the request does not load it, compiles again and
           the new artifact replaces the bad one */
        char o[600];
        evmjit_bytes32 ha = a->hash;
        char base[EVMJIT__ST_NAME], mname[EVMJIT__ST_NAME];
        evmjit__st_names(st, &ha, EVMJIT_CANCUN, base, mname);
        evmjit__st_check *ck = evmjit__st_check_new(st);
        if (ck && evmjit__st_read_manifest(st, mname, ck) == EVMJIT_SKIP_NONE) {
            snprintf(o, sizeof o, "%s/%s", st->path, ck->m.object_file);
            flip_byte(o, 3000);
        }
        evmjit__st_check_free(st, ck);
        CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
        WAIT_UNTIL(stats(rt).resident_entries == 0, 5000);
        CHECK(evmjit_prepare_aot(rt, &a->hash, a->bytes, a->size, EVMJIT_CANCUN) == EVMJIT_OK);
        WAIT_UNTIL(stats(rt).resident_aot == 1, 20000);
        CHECK(run(rt, a, EVMJIT_CANCUN) == 4001 && atomic_load(&cc_aot_compiles) == 2);
        CHECK(sstats(st).skips[EVMJIT_SKIP_HASH_MISMATCH] == 1 && sstats(st).store_replaced == 1);
        CHECK(count_files(dir, ".manifest") == 3 && count_files(dir, "-r12-") == 6); /* old object gone */
        destroy(rt);
    }
    evmjit_store_stats s = sstats(st);
    CHECK(s.loaded == s.unloaded && s.skipped == 2);
    evmjit_store_close(st);
    free(a);
    free(b);
    free(c);
}

/* ---- preloading 1,000 artifacts ---------------------------------------------------------- */

/* Writes n artifacts straight into dir (what n publishes leave behind, without n x 4 fsyncs):
   one object copy and one manifest per key, in the test profile. */
static void fill_store(evmjit_store *st, unsigned n) {
    evmjit_store_manifest *m = (evmjit_store_manifest *)calloc(1, sizeof *m);
    char *text = (char *)malloc(EVMJIT_STORE_MAX_MANIFEST);
    if (!m || !text) return;
    evmjit_bytes32 ok = evmjit_keccak256(obj_gas, obj_gas_size);
    for (unsigned k = 0; k < n; k++) {
        char base[EVMJIT__ST_NAME], mname[EVMJIT__ST_NAME], oname[EVMJIT__ST_NAME], path[700];
        evmjit_bytes32 h = key_of(100000 + k);
        evmjit__st_names(st, &h, EVMJIT_CANCUN, base, mname);
        uint8_t id[8] = {(uint8_t)k, (uint8_t)(k >> 8), 1, 2, 3, 4, 5, 6};
        evmjit__st_object_name(oname, base, id);
        m->format_version = EVMJIT_STORE_FORMAT_VERSION;
        m->code_hash = h;
        m->rev = EVMJIT_CANCUN;
        snprintf(m->backend, sizeof m->backend, "%s", st->backend);
        snprintf(m->compiler_version, sizeof m->compiler_version, "%s", st->version);
        m->opt_level = st->opt;
        m->abi_version = st->abi;
        snprintf(m->target, sizeof m->target, "%s", st->target);
        snprintf(m->symbol, sizeof m->symbol, "evmjit_test_fn");
        m->code_size = 1000;
        snprintf(m->object_file, sizeof m->object_file, "%s", oname);
        m->object_size = obj_gas_size;
        m->object_keccak = ok;
        m->created = (int64_t)time(NULL);
        evmjit__st_manifest_text(text, EVMJIT_STORE_MAX_MANIFEST, m);
        snprintf(path, sizeof path, "%s/%s", st->path, oname);
        bool w1 = write_file(path, obj_gas, obj_gas_size);
        snprintf(path, sizeof path, "%s/%s", st->path, mname);
        bool w2 = write_file(path, text, strlen(text));
        if (!w1 || !w2) {
            CHECK(w1 && w2);
            break;
        }
    }
    free(text);
    free(m);
}

static double seconds(uint64_t ns) { return (double)ns / 1e9; }

/* The figure: preloading 1,000 artifacts (verify + dlopen each) takes well under a
   second. Timed twice: the store's load_all alone, and a runtime created on the store (which
   preloads into its resident table before it returns). */
static void test_preload_1000(void) {
    const unsigned n = 1000;
    const char *dir = fresh_dir("preload");
    evmjit_store *st = runtime_store(dir);
    if (!st) return;
    fill_store(st, n);
    uint64_t t0 = evmjit__now_ns();
    sink_state *s = (sink_state *)calloc(1, sizeof *s);
    if (!s) return;
    s->st = st;
    CHECK(evmjit_store_load_all(st, test_sink, s) == EVMJIT_OK);
    uint64_t t_load = evmjit__now_ns() - t0;
    CHECK(s->total == (int)n && s->ran_ok == (int)n && sstats(st).skipped == 0);
    sink_release(s);
    free(s);
    evmjit_store_close(st);

    st = runtime_store(dir); /* a fresh process would start like this */
    if (!st) return;
    evmjit_runtime_desc d;
    runtime_desc(&d, st);
    d.enabled = false;
    t0 = evmjit__now_ns();
    evmjit_runtime *rt = make(&d);
    uint64_t t_rt = evmjit__now_ns() - t0;
    if (rt) {
        CHECK(stats(rt).resident_aot == n);
        destroy(rt);
    }
    evmjit_store_close(st);
    printf("preload %u artifacts: load_all %.1f ms (%.1f us each), runtime create %.1f ms\n", n,
           seconds(t_load) * 1e3, seconds(t_load) * 1e6 / n, seconds(t_rt) * 1e3);
    if (getenv("EVMJIT_SANITIZER")) SKIP("the 1 s bound on preload is not checked under sanitizers");
    else CHECKF(t_load < 1000000000u && t_rt < 1000000000u, "preload took %.3f s / %.3f s",
                seconds(t_load), seconds(t_rt));
    sh("rm -rf '%s'", dir);
}

/* Every byte the store allocates goes through the desc's allocator and comes back with the
   size it was allocated with. */
static void test_allocator(void) {
    const char *dir = three("alloc");
    evmjit_store_desc d;
    store_desc(&d, dir);
    d.allocator.alloc = count_alloc;
    d.allocator.free = count_free;
    long live = atomic_load(&alloc_live_bytes), calls = atomic_load(&alloc_calls);
    evmjit_store *st = open_store(&d);
    if (!st) return;
    CHECK(publish(st, 4) == EVMJIT_OK && load_all_count(st, NULL) == 4);
    evmjit_artifact a;
    evmjit_bytes32 h = key_of(4);
    CHECK(evmjit_store_load(st, &h, EVMJIT_CANCUN, &a) == EVMJIT_OK);
    evmjit_store_unload(st, &a);
    evmjit_store_gc_report r;
    CHECK(evmjit_store_gc(st, 600, &r) == EVMJIT_OK && r.kept == 4);
    CHECK(evmjit_store_remove(st, &h, EVMJIT_CANCUN) == EVMJIT_OK && evmjit_store_clear(st) == EVMJIT_OK);
    evmjit_store_close(st);
    CHECK(atomic_load(&alloc_calls) > calls + 5);
    CHECK(atomic_load(&alloc_live_bytes) == live && atomic_load(&alloc_size_mismatch) == 0);
}

/* ---- the command line (examples/store_cli.c) --------------------------------------------- */

int store_cli_main(int argc, char **argv);

static int cli(const char *a, const char *b, const char *c, const char *d, const char *e) {
    char *argv[] = {(char *)"evmjit", (char *)a, (char *)b, (char *)c, (char *)d, (char *)e, NULL};
    int argc = 1;
    while (argv[argc]) argc++;
    fflush(stdout);
    return store_cli_main(argc, argv);
}

static void test_cli(void) {
    const char *dir = three("cli");
    char m[600], o[600];
    key_files(dir, 2, m, o);
    CHECK(cli("store", "ls", dir, NULL, NULL) == 0);
    CHECK(cli("store", "verify", dir, NULL, NULL) == 0);
    flip_byte(o, 700);
    sh("echo x > '%s/" EVMJIT__STORE_TEMP_PREFIX "7-7-x.so' && touch -d '1 hour ago' '%s/" EVMJIT__STORE_TEMP_PREFIX "7-7-x.so'", dir, dir);
    CHECK(cli("store", "verify", dir, NULL, NULL) == 1);
    CHECK(cli("store", "gc", dir, "--min-age", "60") == 0);
    CHECK(count_files(dir, EVMJIT__STORE_TEMP_PREFIX) == 0 && count_files(dir, ".manifest") == 2);
    CHECK(cli("store", "verify", dir, NULL, NULL) == 0);
    /* a missing symbol is found by verify even without a compiler profile */
    evmjit_store *st = reopen(dir);
    if (st) {
        evmjit_artifact_object ob = object_for(9, obj_other, obj_other_size, "evmjit_test_fn");
        CHECK(evmjit_store_publish(st, &ob) == EVMJIT_OK);
        evmjit_store_close(st);
    }
    CHECK(cli("store", "verify", dir, NULL, NULL) == 1);
    CHECK(cli("store", "gc", dir, NULL, NULL) == 0 && count_files(dir, ".manifest") == 2);
    /* usage errors; aot needs the LLVM backend, which this test does not link */
    CHECK(cli("store", "frobnicate", dir, NULL, NULL) == 2 && cli("store", NULL, NULL, NULL, NULL) == 2);
    CHECK(cli("store", "ls", "/nonexistent/evmjit-store", NULL, NULL) == 2);
    CHECK(cli("aot", "--store", dir, "x.json", NULL) == 2 && cli("aot", NULL, NULL, NULL, NULL) == 2);
}

/* ---- main ----------------------------------------------------------------------------------- */

int main(void) {
    mtx_init(&log_mtx, mtx_plain);
    make_root();
    obj_gas = build_so("gas", SRC_GAS, &obj_gas_size);
    obj_other = build_so("other", SRC_OTHER, &obj_other_size);
    if (!obj_gas || !obj_other) {
        fprintf(stderr, "cannot build test shared objects with cc -shared -fPIC\n");
        return 1;
    }
    void (*tests[])(void) = {
        test_runtime_restart, /* first: it forks, and no thread may exist then */
        test_open, test_untrusted_dir, test_publish_load, test_truncated_object,
        test_flipped_byte, test_other_code_hash, test_foreign, test_missing_symbol,
        test_not_a_shared_object, test_unreadable, test_untrusted_files, test_missing_object,
        test_bad_manifest, test_leftovers, test_full_disk, test_gc, test_allocator, test_cli,
        test_preload_1000, test_runtime_store_dir,
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        long failed = check_failed;
        tests[i]();
        if (check_failed != failed) fprintf(stderr, "test #%zu failed\n", i);
    }
    free(obj_gas);
    free(obj_other);
    sh("chmod -R u+rwX '%s' && rm -rf '%s'", root, root);
    evmjit_thread_cleanup();
    mtx_destroy(&log_mtx);
    return check_summary();
}
