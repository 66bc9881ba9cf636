/* The directory artifact store under concurrency (runs under ThreadSanitizer):
   1. processes: four forked processes, two threads each, publish and load the same keys at
      once (objects of two different byte contents); exactly one publish per key wins, every
      other one is counted as raced or existing, every load finds a valid artifact, nothing bad
      is ever loaded, and the directory ends with one manifest and one object per key;
   2. threads: four threads share one store object and mix publish, load, remove and load_all
      on a few keys: loads see an artifact whole or not at all (never a corrupt one).
   Shared objects are built with `cc -shared -fPIC` at test time. Every wait is bounded. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#define PROCS 4
#define PROC_THREADS 2
#define KEYS 16
#define ROUNDS 2
#define MIX_THREADS 4
#define MIX_KEYS 6
#define MIX_OPS 40

static char root[256];
static uint8_t *obj[2];
static size_t obj_size[2];

static bool read_file(const char *path, uint8_t **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = (uint8_t *)malloc(n > 0 ? (size_t)n : 1);
    *size = *data && n > 0 && fread(*data, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return *size > 0;
}

static uint8_t *build_so(const char *tag, const char *source, size_t *size) {
    char src[400], so[400], cmd[1000];
    snprintf(src, sizeof src, "%s/%s.c", root, tag);
    snprintf(so, sizeof so, "%s/%s.so", root, tag);
    FILE *f = fopen(src, "w");
    if (!f) return NULL;
    fputs(source, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -o '%s' '%s'", so, src);
    uint8_t *bytes = NULL;
    if (system(cmd) != 0 || !read_file(so, &bytes, size)) {
        free(bytes);
        return NULL;
    }
    return bytes;
}

static evmjit_bytes32 key_of(unsigned i) {
    uint8_t b[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    return evmjit_keccak256(b, sizeof b);
}

static evmjit_store *open_store(const char *dir) {
    evmjit_store_desc d;
    memset(&d, 0, sizeof d);
    d.path = dir;
    d.create = true;
    d.backend_name = "cc";
    d.compiler_version = "test-1";
    evmjit_store *st = NULL;
    return evmjit_store_open(&d, &st) == EVMJIT_OK ? st : NULL;
}

static evmjit_error publish(evmjit_store *st, unsigned key, int variant) {
    evmjit_artifact_object o;
    memset(&o, 0, sizeof o);
    o.code_hash = key_of(key);
    o.rev = EVMJIT_CANCUN;
    o.symbol = "evmjit_test_fn";
    o.object = obj[variant];
    o.object_size = obj_size[variant];
    o.code_size = 10;
    return evmjit_store_publish(st, &o);
}

static int64_t call_fn(evmjit_fn fn) {
    evmjit_frame f;
    memset(&f, 0, sizeof f);
    return fn(&f) == EVMJIT_SUCCESS ? f.gas : -1;
}

/* Failures seen on any thread (CHECK is for the main thread only). */
static atomic_long bad_publish, bad_load, bad_run, bad_remove, bad_load_all, loads_ok, loads_absent;

/* Skips that concurrency may legitimately cause: an in-flight temporary file, an object
   linked just before its manifest (or left by a removal in progress). Anything else is bad. */
static uint64_t bad_skips(const evmjit_store_stats *s) {
    return s->skipped - s->skips[EVMJIT_SKIP_TEMP_LEFTOVER] - s->skips[EVMJIT_SKIP_ORPHAN_OBJECT];
}

typedef struct loader {
    evmjit_store *st;
    long loaded;
} loader;

static evmjit_error run_and_unload(void *ctx, const evmjit_artifact *a) {
    loader *l = (loader *)ctx;
    if (!a->fn || call_fn(a->fn) != 4242) atomic_fetch_add(&bad_run, 1);
    evmjit_store_unload(l->st, a);
    l->loaded++;
    return EVMJIT_OK;
}

static void load_one(evmjit_store *st, unsigned key, bool must_exist) {
    evmjit_artifact a;
    evmjit_bytes32 h = key_of(key);
    evmjit_error err = evmjit_store_load(st, &h, EVMJIT_CANCUN, &a);
    if (err == EVMJIT_OK) {
        if (!a.fn || call_fn(a.fn) != 4242) atomic_fetch_add(&bad_run, 1);
        evmjit_store_unload(st, &a);
        atomic_fetch_add(&loads_ok, 1);
    } else if (err == EVMJIT_ERR_NOT_FOUND && !must_exist) {
        atomic_fetch_add(&loads_absent, 1);
    } else {
        fprintf(stderr, "load of key %u: %s\n", key, evmjit_error_name(err));
        atomic_fetch_add(&bad_load, 1);
    }
}

/* ---- 1. processes -------------------------------------------------------------------------- */

typedef struct proc_thread {
    evmjit_store *st;
    int proc, thread;
} proc_thread;

static void *proc_worker(void *arg) {
    proc_thread *t = (proc_thread *)arg;
    for (int round = 0; round < ROUNDS; round++) {
        for (unsigned j = 0; j < KEYS; j++) {
            /* every thread of every process walks the keys from a different place */
            unsigned key = (j + (unsigned)t->thread * KEYS / 2 + (unsigned)t->proc * 3) % KEYS;
            if (publish(t->st, key, (int)((key + (unsigned)t->proc) & 1)) != EVMJIT_OK)
                atomic_fetch_add(&bad_publish, 1);
            load_one(t->st, key, true); /* ours or the winner's: it exists now */
            if (j % 8 == 7) {
                loader l = {t->st, 0};
                if (evmjit_store_load_all(t->st, run_and_unload, &l) != EVMJIT_OK || l.loaded < 1)
                    atomic_fetch_add(&bad_load_all, 1);
            }
        }
    }
    return NULL;
}

/* What a child reports to the parent. */
typedef struct proc_report {
    uint64_t stored, raced, existing, failed, bad_skips;
    long bad;
} proc_report;

static int child(const char *dir, int proc, int go_fd, int report_fd) {
    evmjit_store *st = open_store(dir);
    if (!st) return 1;
    char c;
    if (read(go_fd, &c, 1) != 1) return 1; /* start together */
    pthread_t th[PROC_THREADS];
    proc_thread args[PROC_THREADS];
    for (int i = 0; i < PROC_THREADS; i++) {
        args[i].st = st;
        args[i].proc = proc;
        args[i].thread = i;
        if (pthread_create(&th[i], NULL, proc_worker, &args[i]) != 0) return 1;
    }
    for (int i = 0; i < PROC_THREADS; i++) pthread_join(th[i], NULL);
    evmjit_store_stats s;
    evmjit_store_get_stats(st, &s);
    proc_report r = {s.stored, s.store_raced, s.store_existing, s.store_failed, bad_skips(&s),
                     atomic_load(&bad_publish) + atomic_load(&bad_load) + atomic_load(&bad_run) +
                         atomic_load(&bad_load_all)};
    if (r.bad_skips)
        for (int i = 0; i < EVMJIT_SKIP_COUNT; i++)
            if (s.skips[i]) fprintf(stderr, "process %d: %llu x %s\n", proc, (unsigned long long)s.skips[i], evmjit_store_skip_name((evmjit_store_skip)i));
    evmjit_store_close(st);
    return write(report_fd, &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1;
}

typedef struct tally {
    int artifacts, valid, ours;
} tally;

static evmjit_error tally_visit(void *ctx, const evmjit_store_entry *e) {
    tally *t = (tally *)ctx;
    t->artifacts += e->kind == EVMJIT_STORE_ENTRY_ARTIFACT;
    t->valid += e->kind == EVMJIT_STORE_ENTRY_ARTIFACT && e->status == EVMJIT_SKIP_NONE;
    t->ours += e->ours;
    return EVMJIT_OK;
}

static int count_files(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, needle)) n++;
    closedir(d);
    return n;
}

static void test_processes(void) {
    char dir[300];
    snprintf(dir, sizeof dir, "%s/procs", root);
    int go[2], rep[2];
    CHECK(pipe(go) == 0 && pipe(rep) == 0);
    pid_t pids[PROCS];
    fflush(NULL);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            close(go[1]);
            close(rep[0]);
            _exit(child(dir, p, go[0], rep[1]));
        }
        CHECK(pids[p] > 0);
    }
    close(go[0]);
    close(rep[1]);
    char start[PROCS] = {0};
    CHECK(write(go[1], start, PROCS) == PROCS);
    close(go[1]);
    proc_report total;
    memset(&total, 0, sizeof total);
    int reports = 0;
    for (proc_report r; read(rep[0], &r, sizeof r) == (ssize_t)sizeof r; reports++) {
        total.stored += r.stored;
        total.raced += r.raced;
        total.existing += r.existing;
        total.failed += r.failed;
        total.bad_skips += r.bad_skips;
        total.bad += r.bad;
    }
    close(rep[0]);
    for (int p = 0; p < PROCS; p++) {
        int status = -1;
        /* bounded: a hung child is killed after 60 s */
        for (int ms = 0; ms < 60000 && waitpid(pids[p], &status, WNOHANG) == 0; ms += 10) {
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
        if (!WIFEXITED(status)) {
            kill(pids[p], SIGKILL);
            waitpid(pids[p], &status, 0);
        }
        CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d: status %d", p, status);
    }
    CHECK(reports == PROCS);
    /* exactly one publish per key won; every other one raced or found it there */
    const uint64_t publishes = (uint64_t)PROCS * PROC_THREADS * ROUNDS * KEYS;
    CHECKF(total.stored == KEYS, "stored %llu", (unsigned long long)total.stored);
    CHECKF(total.stored + total.raced + total.existing == publishes && total.failed == 0,
           "%llu + %llu + %llu of %llu, %llu failed", (unsigned long long)total.stored,
           (unsigned long long)total.raced, (unsigned long long)total.existing,
           (unsigned long long)publishes, (unsigned long long)total.failed);
    CHECK(total.bad == 0 && total.bad_skips == 0);
    /* one valid artifact per key, nothing else */
    CHECK(count_files(dir, ".manifest") == KEYS && count_files(dir, ".so") == KEYS);
    CHECK(count_files(dir, EVMJIT__STORE_TEMP_PREFIX) == 0);
    evmjit_store *st = open_store(dir);
    if (!st) return;
    loader l = {st, 0};
    CHECK(evmjit_store_load_all(st, run_and_unload, &l) == EVMJIT_OK && l.loaded == KEYS);
    tally t = {0, 0, 0};
    CHECK(evmjit_store_iterate(st, EVMJIT_STORE_CHECK_SYMBOL, tally_visit, &t) == EVMJIT_OK);
    CHECK(t.artifacts == KEYS && t.valid == KEYS && t.ours == KEYS);
    evmjit_store_stats s;
    evmjit_store_get_stats(st, &s);
    CHECK(s.skipped == 0 && atomic_load(&bad_run) == 0);
    evmjit_store_close(st);
}

/* ---- 2. threads sharing one store object ----------------------------------------------------- */

typedef struct mix_thread {
    evmjit_store *st;
    unsigned seed;
} mix_thread;

static unsigned next_rand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

static void *mix_worker(void *arg) {
    mix_thread *t = (mix_thread *)arg;
    for (int i = 0; i < MIX_OPS; i++) {
        unsigned r = next_rand(&t->seed), key = r % MIX_KEYS;
        switch ((r / MIX_KEYS) % 6) {
        case 0:
        case 1:
            if (publish(t->st, key, (int)(r & 1)) != EVMJIT_OK) atomic_fetch_add(&bad_publish, 1);
            break;
        case 2:
        case 3: load_one(t->st, key, false); break; /* a remove may have won */
        case 4: {
            evmjit_bytes32 h = key_of(key);
            evmjit_error err = evmjit_store_remove(t->st, &h, EVMJIT_CANCUN);
            if (err != EVMJIT_OK && err != EVMJIT_ERR_NOT_FOUND) atomic_fetch_add(&bad_remove, 1);
            break;
        }
        default: {
            loader l = {t->st, 0};
            if (evmjit_store_load_all(t->st, run_and_unload, &l) != EVMJIT_OK)
                atomic_fetch_add(&bad_load_all, 1);
        }
        }
    }
    return NULL;
}

static void test_threads(void) {
    char dir[300];
    snprintf(dir, sizeof dir, "%s/threads", root);
    evmjit_store *st = open_store(dir);
    if (!st) return;
    atomic_store(&loads_ok, 0);
    atomic_store(&loads_absent, 0);
    pthread_t th[MIX_THREADS];
    mix_thread args[MIX_THREADS];
    int started = 0;
    for (int i = 0; i < MIX_THREADS; i++) {
        args[i].st = st;
        args[i].seed = 1234u + 977u * (unsigned)i;
        if (pthread_create(&th[i], NULL, mix_worker, &args[i]) == 0) started++;
    }
    CHECK(started == MIX_THREADS);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    evmjit_store_stats s;
    evmjit_store_get_stats(st, &s);
    CHECK(atomic_load(&bad_publish) == 0 && atomic_load(&bad_load) == 0 && atomic_load(&bad_run) == 0);
    CHECK(atomic_load(&bad_remove) == 0 && atomic_load(&bad_load_all) == 0);
    CHECKF(bad_skips(&s) == 0, "%llu bad skips", (unsigned long long)bad_skips(&s));
    for (int i = 0; bad_skips(&s) && i < EVMJIT_SKIP_COUNT; i++)
        if (s.skips[i]) fprintf(stderr, "threads: %llu x %s\n", (unsigned long long)s.skips[i], evmjit_store_skip_name((evmjit_store_skip)i));
    CHECK(s.loaded == s.unloaded && s.store_failed == 0 && atomic_load(&loads_ok) > 0);
    printf("threads: %ld loads found, %ld absent, %llu stored, %llu raced, %llu existing, %llu removed\n",
           atomic_load(&loads_ok), atomic_load(&loads_absent), (unsigned long long)s.stored,
           (unsigned long long)s.store_raced, (unsigned long long)s.store_existing,
           (unsigned long long)s.removed);
    /* what is left is whole: every manifest loads, no temporary file remains */
    loader l = {st, 0};
    CHECK(evmjit_store_load_all(st, run_and_unload, &l) == EVMJIT_OK);
    CHECK(l.loaded == count_files(dir, ".manifest") && count_files(dir, EVMJIT__STORE_TEMP_PREFIX) == 0);
    evmjit_store_gc_report r;
    CHECK(evmjit_store_gc(st, 0, &r) == EVMJIT_OK && r.artifacts_removed == 0 && r.errors == 0);
    CHECK(count_files(dir, ".so") == count_files(dir, ".manifest"));
    evmjit_store_get_stats(st, &s);
    CHECK(bad_skips(&s) == 0);
    evmjit_store_close(st);
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/evmjit-conc-store-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 2;
    }
    obj[0] = build_so("a", "#include <stdint.h>\n"
                           "int evmjit_test_fn(int64_t *f) { f[0] = 4242; return 0; }\n", &obj_size[0]);
    obj[1] = build_so("b", "#include <stdint.h>\n"
                           "const char evmjit_variant[] = \"another object, same behaviour\";\n"
                           "int evmjit_test_fn(int64_t *f) { f[0] = 4242; return 0; }\n", &obj_size[1]);
    if (!obj[0] || !obj[1]) {
        fprintf(stderr, "cannot build test shared objects with cc -shared -fPIC\n");
        return 1;
    }
    test_processes(); /* first: it forks, and no thread may exist then */
    test_threads();
    free(obj[0]);
    free(obj[1]);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    evmjit_thread_cleanup();
    return check_summary();
}
