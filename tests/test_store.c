/* The directory artifact store (issue 6): open and trust, publish and load, one fault test
   per way an artifact can be bad (each checks that nothing bad is loaded and that the reason
   is counted), gc, the runtime on a real store (behaviours 37 and 40-42) across a process
   restart, and the time to preload 1,000 artifacts. Shared objects are built at test time
   with the system compiler (`cc -shared -fPIC`) from C sources that define an evmjit_fn. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"
#include "wip/cache_decl.h"
#include "wip/store_decl.h"
#include "wip/cache_impl.h"
#include "wip/store_impl.h"

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

/* Compiles `source` to a shared object and returns its bytes (malloc). */
static uint8_t *build_so(const char *tag, const char *source, size_t *size) {
    char src[400], so[400];
    snprintf(src, sizeof src, "%s/%s.c", root, tag);
    snprintf(so, sizeof so, "%s/%s.so", root, tag);
    uint8_t *bytes = NULL;
    *size = 0;
    if (!write_file(src, source, strlen(source))) return NULL;
    sh("cc -shared -fPIC -O1 -o '%s' '%s'", so, src);
    if (!read_file(so, &bytes, size)) return NULL;
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
    if (object) {
        evmjit_bytes32 ok = evmjit_keccak256(obj_gas, obj_gas_size);
        char o[EVMJIT__ST_NAME];
        evmjit__st_object_name(o, base, &ok);
        snprintf(object, 600, "%s/%s", st->path, o);
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
    sh("chmod 0755 '%s' && chown 12345 '%s'", dir, dir);
    CHECK(evmjit_store_open(&d, &st) == EVMJIT_ERR_UNTRUSTED && log_has("owned by another user"));
    sh("chown %d '%s'", (int)geteuid(), dir);
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
    /* remove, clear */
    CHECK(evmjit_store_remove(st, &h1, EVMJIT_CANCUN) == EVMJIT_OK);
    CHECK(evmjit_store_remove(st, &h1, EVMJIT_CANCUN) == EVMJIT_ERR_NOT_FOUND);
    CHECK(evmjit_store_load(st, &h1, EVMJIT_CANCUN, &a) == EVMJIT_ERR_NOT_FOUND);
    CHECK(count_files(dir, ".manifest") == 2 && count_files(dir, ".so") == 2);
    CHECK(evmjit_store_clear(st) == EVMJIT_OK && count_files(dir, "") == 0);
    CHECK(load_all_count(st, NULL) == 0 && sstats(st).removed == 3);
    evmjit_store_close(st);
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
        test_open, test_untrusted_dir, test_publish_load,
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        long failed = check_failed;
        tests[i]();
        if (check_failed != failed) fprintf(stderr, "test #%zu failed\n", i);
    }
    WAIT_UNTIL(true, 1);
    free(obj_gas);
    free(obj_other);
    sh("chmod -R u+rwX '%s' && rm -rf '%s'", root, root);
    evmjit_thread_cleanup();
    mtx_destroy(&log_mtx);
    return check_summary();
}
