/* `evmjit bench-cache`: microbenchmarks of the code cache runtime. Lookup hit and miss in ns
   per call with one and two threads, event push, the backend's drain rate, and the time to
   preload N artifacts from a directory store. Every figure is the best of a few rounds,
   measured in this run. The last line is machine-readable:
     lookup_hit_ns=... lookup_miss_ns=... hit_2t_speedup=... push_ns=... drain_ns=...
     preload_artifacts=N preload_us_per_artifact=...   (preload: 0 and -1 when skipped)
   A "hit" is evmjit_lookup + evmjit_lookup_release of a resident key; a "miss" is a lookup
   of a key that is not resident (it records one event); the speedup is the two-thread hit
   throughput (both threads on the same key) over the one-thread throughput. The preload is
   evmjit_runtime_create with a store of N artifacts: load_all verifies each manifest and
   object (keccak-256), dlopens it and makes it resident.

   It measures internals of the implementation (event push, drain) that are static to the
   translation unit that defines EVMJIT_CACHE_IMPLEMENTATION: examples/evmjit.c includes this
   file after the implementation, and calls bench_cache_main. The artifacts come from the LLVM
   backend (compiled once, published under N code hashes); without it that row is skipped. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

#include "evmjit_cache.h"

/* argv[0] is the command name ("bench-cache"); `aot_backend` compiles the preload's
   artifacts (NULL: skip that row). Returns the exit status: 0, 1 when a measurement could not
   be made, 2 on a usage error. */
int bench_cache_main(int argc, char **argv, const evmjit_backend *aot_backend);

/* ---- a backend whose programs are the interpreter ---------------------------------------- */

static evmjit_error bc_create(void *user, int opt, void **compiler, char *err, size_t n) {
    (void)user, (void)opt, (void)err, (void)n;
    *compiler = malloc(1);
    return *compiler ? EVMJIT_OK : EVMJIT_ERR_OUT_OF_MEMORY;
}
static void bc_destroy(void *user, void *compiler) {
    (void)user;
    free(compiler);
}
static evmjit_error bc_compile(void *user, void *compiler, const evmjit_compile_request *req,
                               evmjit_compile_output *out) {
    (void)user, (void)compiler;
    out->fn = evmjit_interpret;
    out->code = malloc(1);
    out->code_bytes = 1000 + req->code_size;
    return out->code ? EVMJIT_OK : EVMJIT_ERR_OUT_OF_MEMORY;
}
static void bc_free_code(void *user, void *code) {
    (void)user;
    free(code);
}
static const evmjit_backend BC_BACKEND = {"bench", "1", NULL, bc_create, bc_destroy, bc_compile,
                                          NULL, bc_free_code, NULL};

/* ---- measuring ----------------------------------------------------------------------------- */

#define BC_HIT_N 2000000u
#define BC_MISS_N 100000u
#define BC_PUSH_N 100000u
#define BC_ROUNDS 5
#define BC_DEFAULT_ARTIFACTS 200

typedef struct bc_worker {
    evmjit_runtime *rt;
    const evmjit_bytes32 *hash;
    const uint8_t *code;
    size_t size;
    unsigned n;
    atomic_int *go;
    uint64_t ns;
    unsigned hits;
} bc_worker;

static int bc_hit_loop(void *arg) {
    bc_worker *w = (bc_worker *)arg;
    while (!atomic_load_explicit(w->go, memory_order_acquire)) thrd_yield();
    uint64_t t0 = evmjit__now_ns();
    unsigned hits = 0;
    for (unsigned i = 0; i < w->n; i++) {
        evmjit_program *p;
        if (evmjit_lookup(w->rt, w->hash, w->code, w->size, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_HIT) {
            hits++;
            evmjit_lookup_release(w->rt, p);
        }
    }
    w->ns = evmjit__now_ns() - t0;
    w->hits = hits;
    return 0;
}

/* ns per lookup with `threads` threads looking up the same key; wall time of the slowest. */
static double bc_hits_ns(evmjit_runtime *rt, const evmjit_bytes32 *h, const uint8_t *code,
                         size_t size, int threads, unsigned *hits) {
    atomic_int go = 0;
    bc_worker w[2];
    thrd_t t[2];
    for (int i = 0; i < threads; i++) {
        bc_worker x = {rt, h, code, size, BC_HIT_N, &go, 0, 0};
        w[i] = x;
        if (thrd_create(&t[i], bc_hit_loop, &w[i]) != thrd_success) return 0;
    }
    atomic_store_explicit(&go, 1, memory_order_release); /* the workers' start signal */
    uint64_t slowest = 0;
    *hits = 0;
    for (int i = 0; i < threads; i++) {
        thrd_join(t[i], NULL);
        if (w[i].ns > slowest) slowest = w[i].ns;
        *hits += w[i].hits;
    }
    return (double)slowest / BC_HIT_N; /* per thread: each did BC_HIT_N in `slowest` */
}

/* The machine's own two-thread scaling for pure computation, to read hit_2t_speedup against
   (on a loaded or single-core machine two threads cannot go faster than one). */
static int bc_spin_loop(void *arg) {
    bc_worker *w = (bc_worker *)arg;
    while (!atomic_load_explicit(w->go, memory_order_acquire)) thrd_yield();
    uint64_t t0 = evmjit__now_ns();
    volatile uint64_t x = 1;
    for (unsigned i = 0; i < w->n; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
    w->ns = evmjit__now_ns() - t0;
    return 0;
}

static double bc_spin_scaling(void) {
    double best1 = 1e18, best2 = 1e18;
    for (int r = 0; r < BC_ROUNDS; r++) {
        for (int threads = 1; threads <= 2; threads++) {
            atomic_int go = 0;
            bc_worker w[2];
            thrd_t t[2];
            for (int i = 0; i < threads; i++) {
                memset(&w[i], 0, sizeof w[i]);
                w[i].n = 20000000u;
                w[i].go = &go;
                if (thrd_create(&t[i], bc_spin_loop, &w[i]) != thrd_success) return 0;
            }
            atomic_store_explicit(&go, 1, memory_order_release); /* the workers' start signal */
            uint64_t slowest = 0;
            for (int i = 0; i < threads; i++) {
                thrd_join(t[i], NULL);
                if (w[i].ns > slowest) slowest = w[i].ns;
            }
            double *best = threads == 1 ? &best1 : &best2;
            if ((double)slowest < *best) *best = (double)slowest;
        }
    }
    return 2.0 * best1 / best2;
}

/* ---- preload ------------------------------------------------------------------------------- */

/* Remove a store directory this benchmark made: its files, then itself. */
static void bc_remove_dir(const char *dir) {
    evmjit_store_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.path = dir;
    evmjit_store *st = NULL;
    if (evmjit_store_open(&sd, &st) == EVMJIT_OK) {
        evmjit_store_clear(st);
        evmjit_store_gc(st, 0, NULL); /* temporary files and orphans */
        evmjit_store_close(st);
    }
    if (rmdir(dir) != 0) fprintf(stderr, "evmjit bench-cache: cannot remove %s: %s\n", dir, strerror(errno));
}

/* Compile one small contract ahead of time with `be`, publish it under n code hashes in a
   fresh temporary store, then time evmjit_runtime_create (which preloads them all) a few
   times. *us_per gets the best time per artifact; *why says why it could not run. */
static bool bc_preload(const evmjit_backend *be, unsigned n, double *total_ms, double *us_per,
                       char *why, size_t why_n) {
    char dir[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/evmjit-bench-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        snprintf(why, why_n, "cannot make a temporary directory: %s", strerror(errno));
        return false;
    }
    bool ok = false;
    evmjit_store *st = NULL;
    void *compiler = NULL;
    evmjit_compile_output out;
    memset(&out, 0, sizeof out);
    evmjit_store_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.path = dir;
    sd.backend = be;
    evmjit_error err = evmjit_store_open(&sd, &st);
    if (err != EVMJIT_OK) {
        snprintf(why, why_n, "cannot open a store in %.200s: %s", dir, evmjit_error_name(err));
        goto done;
    }
    /* a small loop: PUSH1 10 JUMPDEST PUSH1 1 SWAP1 SUB DUP1 PUSH1 2 JUMPI STOP */
    static const uint8_t code[] = {0x60, 0x0a, 0x5b, 0x60, 0x01, 0x90, 0x03, 0x80, 0x60, 0x02, 0x57, 0x00};
    evmjit_compile_request req;
    memset(&req, 0, sizeof req);
    req.code_hash = evmjit_keccak256(code, sizeof code);
    req.rev = EVMJIT_CANCUN;
    req.code = code;
    req.code_size = sizeof code;
    req.opt_level = EVMJIT_O2 - EVMJIT_O0;
    char message[256] = "";
    if ((err = be->create_compiler(be->user, req.opt_level, &compiler, message, sizeof message)) !=
            EVMJIT_OK ||
        (err = be->compile_aot(be->user, compiler, &req, &out)) != EVMJIT_OK) {
        snprintf(why, why_n, "the backend could not compile: %s %s", evmjit_error_name(err),
                 message[0] ? message : out.message);
        goto done;
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t seed[8] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24),
                           'p', 'r', 'e', 'l'};
        evmjit_artifact_object obj;
        memset(&obj, 0, sizeof obj);
        obj.code_hash = evmjit_keccak256(seed, sizeof seed);
        obj.rev = EVMJIT_CANCUN;
        obj.symbol = out.symbol;
        obj.target = out.target;
        obj.object = out.object;
        obj.object_size = out.object_size;
        obj.code_size = sizeof code;
        if ((err = evmjit_store_publish(st, &obj)) != EVMJIT_OK) {
            snprintf(why, why_n, "publishing artifact %u failed: %s", i, evmjit_error_name(err));
            goto done;
        }
    }
    double best = 1e18;
    for (int r = 0; r < 3; r++) {
        evmjit_runtime_desc d;
        memset(&d, 0, sizeof d);
        d.store = evmjit_store_table(st);
        d.worker_threads = EVMJIT_NO_WORKERS; /* the preload alone: no thread starts */
        evmjit_runtime *rt = NULL;
        uint64_t t0 = evmjit__now_ns();
        err = evmjit_runtime_create(&d, &rt);
        double ns = (double)(evmjit__now_ns() - t0);
        evmjit_runtime_stats s;
        evmjit_runtime_get_stats(rt, &s);
        evmjit_runtime_destroy(rt);
        if (err != EVMJIT_OK || s.resident_aot != n) {
            snprintf(why, why_n, "preloaded %llu of %u artifacts (%s)",
                     (unsigned long long)s.resident_aot, n, evmjit_error_name(err));
            goto done;
        }
        if (ns < best) best = ns;
    }
    *total_ms = best / 1e6;
    *us_per = best / 1e3 / n;
    ok = true;
done:
    if (out.object) be->free_object(be->user, &out);
    if (compiler) be->destroy_compiler(be->user, compiler);
    if (st) evmjit_store_close(st);
    bc_remove_dir(dir);
    return ok;
}

/* ---- options and main ---------------------------------------------------------------------- */

static void bc_usage(FILE *out) {
    fprintf(out,
            "usage: evmjit bench-cache [--artifacts N]\n"
            "Microbenchmarks of the code cache: lookup hit (1 and 2 threads on one key) and\n"
            "miss, event push and the backend's drain rate, in ns per operation (best of %d\n"
            "rounds), and the time a runtime takes to preload N artifacts from a directory\n"
            "store (one small contract compiled ahead of time by the LLVM backend, published\n"
            "under N code hashes in a temporary store; skipped without the backend).\n"
            "  --artifacts N  how many artifacts to preload (default %d; 0: skip)\n"
            "  --help         this text\n"
            "The last line is machine-readable: lookup_hit_ns=... lookup_miss_ns=...\n"
            "hit_2t_speedup=... push_ns=... drain_ns=... preload_artifacts=N\n"
            "preload_us_per_artifact=... (-1 when skipped).\n"
            "Exit status: 0, 1 when a measurement failed, 2 on a usage error.\n",
            BC_ROUNDS, BC_DEFAULT_ARTIFACTS);
}

static int bc_usage_error(const char *what, const char *arg) {
    fprintf(stderr, "evmjit bench-cache: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
    bc_usage(stderr);
    return 2;
}

int bench_cache_main(int argc, char **argv, const evmjit_backend *aot_backend) {
    unsigned long artifacts = BC_DEFAULT_ARTIFACTS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            bc_usage(stdout);
            return 0;
        }
        const char *val = NULL;
        if (!strncmp(a, "--artifacts=", 12)) val = a + 12;
        else if (!strcmp(a, "--artifacts")) {
            if (i + 1 >= argc) return bc_usage_error("--artifacts needs a value", NULL);
            val = argv[++i];
        } else if (a[0] == '-') {
            return bc_usage_error("unknown option", a);
        } else {
            return bc_usage_error("takes no arguments:", a);
        }
        char *end;
        errno = 0;
        artifacts = strtoul(val, &end, 10);
        if (errno || end == val || *end || val[0] == '-' || artifacts > 100000)
            return bc_usage_error("--artifacts: not a number from 0 to 100000:", val);
    }

    uint8_t code[64];
    memset(code, 0, sizeof code);
    code[0] = 0x60; /* PUSH1 1 STOP */
    code[1] = 1;
    evmjit_bytes32 hit_key = evmjit_keccak256(code, sizeof code);
    evmjit_bytes32 miss_key = evmjit_keccak256(code, 32);

    /* hits */
    evmjit_runtime_desc d;
    memset(&d, 0, sizeof d);
    d.backend = &BC_BACKEND;
    d.worker_threads = 1;
    d.enabled = true;
    d.ring_capacity = 1u << 18;
    d.hot_threshold = EVMJIT_OFF; /* misses stay misses */
    evmjit_runtime *rt;
    if (evmjit_runtime_create(&d, &rt) != EVMJIT_OK) return 1;
    if (evmjit_compile_sync(rt, &hit_key, code, sizeof code, EVMJIT_CANCUN, 5000, NULL) != EVMJIT_OK)
        return 1;
    double hit1 = 1e9, hit2 = 1e9;
    unsigned hits;
    for (int r = 0; r < 3 * BC_ROUNDS; r++) { /* more rounds: on a shared machine the best ones
                                                  are those where both threads had a core */
        double x = bc_hits_ns(rt, &hit_key, code, sizeof code, 1, &hits);
        if (hits != BC_HIT_N) return 1;
        if (x < hit1) hit1 = x;
        x = bc_hits_ns(rt, &hit_key, code, sizeof code, 2, &hits);
        if (hits != 2 * BC_HIT_N) return 1;
        if (x < hit2) hit2 = x;
    }
    double speedup = 2.0 * hit1 / hit2; /* two threads did 2N in the time one did N x hit2/hit1 */
    printf("lookup hit, 1 thread:  %6.1f ns/call\n", hit1);
    printf("lookup hit, 2 threads: %6.1f ns/call per thread (throughput x%.2f)\n", hit2, speedup);
    printf("machine: two threads of pure computation scale x%.2f here\n", bc_spin_scaling());

    /* misses: each records an event; the ring is drained between rounds */
    double miss1 = 1e9;
    for (int r = 0; r < BC_ROUNDS; r++) {
        evmjit_runtime_sync(rt, 5000);
        uint64_t t0 = evmjit__now_ns();
        for (unsigned i = 0; i < BC_MISS_N; i++) {
            evmjit_program *p;
            if (evmjit_lookup(rt, &miss_key, code, 32, EVMJIT_CANCUN, &p) != EVMJIT_LOOKUP_NOT_READY) return 1;
        }
        double x = (double)(evmjit__now_ns() - t0) / BC_MISS_N;
        if (x < miss1) miss1 = x;
    }
    evmjit_runtime_sync(rt, 5000);
    evmjit_runtime_stats s;
    evmjit_runtime_get_stats(rt, &s);
    printf("lookup miss, 1 thread: %6.1f ns/call (%llu misses, %llu dropped)\n", miss1,
           (unsigned long long)s.misses, (unsigned long long)s.dropped_events);

    /* event push alone */
    double push = 1e9;
    for (int r = 0; r < BC_ROUNDS; r++) {
        evmjit_runtime_sync(rt, 5000);
        uint64_t t0 = evmjit__now_ns();
        for (unsigned i = 0; i < BC_PUSH_N; i++) evmjit__ring_push(rt, &miss_key, EVMJIT_CANCUN, EVMJIT__EV_UNKNOWN);
        double x = (double)(evmjit__now_ns() - t0) / BC_PUSH_N;
        if (x < push) push = x;
    }
    printf("event push:            %6.1f ns/event\n", push);
    evmjit_runtime_destroy(rt);

    /* drain rate: this thread plays the backend of a runtime without threads; 1024 keys,
       hotness tracking on (threshold never reached) */
    memset(&d, 0, sizeof d);
    d.ring_capacity = 1u << 18;
    d.hot_threshold = 1u << 30;
    d.backend = &BC_BACKEND;
    d.worker_threads = 1;
    if (evmjit_runtime_create(&d, &rt) != EVMJIT_OK) return 1;
    evmjit_bytes32 keys[1024];
    for (unsigned i = 0; i < 1024; i++) {
        uint8_t b[4] = {(uint8_t)i, (uint8_t)(i >> 8), 1, 2};
        keys[i] = evmjit_keccak256(b, 4);
    }
    double drain = 1e9;
    for (int r = 0; r < BC_ROUNDS; r++) {
        for (unsigned i = 0; i < BC_PUSH_N; i++) evmjit__ring_push(rt, &keys[i & 1023], EVMJIT_CANCUN, EVMJIT__EV_UNKNOWN);
        uint64_t t0 = evmjit__now_ns();
        evmjit__drain(rt, true);
        double x = (double)(evmjit__now_ns() - t0) / BC_PUSH_N;
        if (x < drain) drain = x;
    }
    printf("backend drain:         %6.1f ns/event (%.1f M events/s)\n", drain, 1e3 / drain);
    evmjit_runtime_destroy(rt);

    /* preload */
    double preload_ms = 0, preload_us = -1;
    int status = 0;
    if (!artifacts) {
        printf("preload:               skipped (--artifacts 0)\n");
    } else if (!aot_backend || !aot_backend->compile_aot) {
        printf("preload:               skipped: needs the LLVM backend to compile an artifact, "
               "and this evmjit was built without it\n");
    } else {
        char why[512];
        if (bc_preload(aot_backend, (unsigned)artifacts, &preload_ms, &preload_us, why, sizeof why)) {
            printf("preload, %lu artifacts: %6.1f ms (%.1f us per artifact)\n", artifacts,
                   preload_ms, preload_us);
        } else {
            printf("preload:               FAILED: %s\n", why);
            status = 1;
        }
    }
    evmjit_thread_cleanup();

    printf("lookup_hit_ns=%.1f lookup_miss_ns=%.1f hit_2t_speedup=%.2f push_ns=%.1f drain_ns=%.1f "
           "preload_artifacts=%lu preload_us_per_artifact=%.1f\n",
           hit1, miss1, speedup, push, drain, preload_us < 0 ? 0 : artifacts, preload_us);
    return status;
}
