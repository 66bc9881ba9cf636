/* Shared by the code cache tests: helpers, a logger, a counting allocator, the test backend
   (real, callable programs without LLVM: the interpreter plus a simulated code size, with a
   switchable, cancellable delay and failure injection) and an in-memory artifact store.
   Include once, from a test's only translation unit, after the implementation. */
#ifndef EVMJIT_TESTS_CACHE_TESTLIB_H
#define EVMJIT_TESTS_CACHE_TESTLIB_H
#ifndef EVMJIT_CACHE_IMPLEMENTATION_DONE
#error "include evmjit_cache.h with EVMJIT_CACHE_IMPLEMENTATION defined first"
#endif
#include "check.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

/* ---- small helpers ---------------------------------------------------------------------- */

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    thrd_sleep(&ts, NULL);
}

static inline uint64_t ms_now(void) { return evmjit__now_ns() / 1000000u; }

/* Polls cond every millisecond for at most ms milliseconds. */
static int wait_iter;
#define WAIT_UNTIL(cond, ms)                                                                 \
    for (wait_iter = 0; !(cond) && wait_iter < (ms); wait_iter++) sleep_ms(1)

static inline evmjit_runtime_stats stats(const evmjit_runtime *rt) {
    evmjit_runtime_stats s;
    evmjit_runtime_get_stats(rt, &s);
    return s;
}

/* A contract that returns `value` as a 32-byte word; padded with STOPs to `size` bytes
   (at least 13). Distinct values give distinct keys. */
typedef struct code {
    uint8_t bytes[24577 + 1];
    size_t size;
    evmjit_bytes32 hash;
} code;

static inline void make_code(code *c, unsigned value, size_t size) {
    static const uint8_t tail[] = {0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3};
    if (size < 13) size = 13;
    memset(c->bytes, 0, size);
    c->bytes[0] = 0x62; /* PUSH3 value */
    c->bytes[1] = (uint8_t)(value >> 16);
    c->bytes[2] = (uint8_t)(value >> 8);
    c->bytes[3] = (uint8_t)value;
    memcpy(c->bytes + 4, tail, sizeof tail); /* MSTORE at 0, RETURN 32 bytes */
    c->size = size;
    c->hash = evmjit_keccak256(c->bytes, size);
}

/* Runs the code through the runtime (evmjit__runtime_execute) and returns the word it
   returned, or -1. */
static inline long run(evmjit_runtime *rt, const code *c, evmjit_revision rev) {
    evmjit_host_interface host;
    memset(&host, 0, sizeof host);
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = 100000;
    evmjit_result r = evmjit__runtime_execute(rt, &host, NULL, rev, &msg, c->bytes, c->size, &c->hash);
    long v = -1;
    if (r.status_code == EVMJIT_SUCCESS && r.output_size == 32)
        v = (long)r.output_data[29] << 16 | (long)r.output_data[30] << 8 | r.output_data[31];
    if (r.release) r.release(&r);
    return v;
}

/* Runs a program directly (what evmjit_execute does on a hit). */
static inline long run_program(evmjit_runtime *rt, const evmjit_program *p, const code *c) {
    evmjit_host_interface host;
    memset(&host, 0, sizeof host);
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = 100000;
    evmjit_result r = evmjit__run_frame(p->fn, rt, &host, NULL, p->rev, &msg, c->bytes, c->size);
    long v = -1;
    if (r.status_code == EVMJIT_SUCCESS && r.output_size == 32)
        v = (long)r.output_data[29] << 16 | (long)r.output_data[30] << 8 | r.output_data[31];
    if (r.release) r.release(&r);
    return v;
}

/* ---- logger: keeps the last message ------------------------------------------------------ */

static mtx_t log_mtx;
static char log_last[400];
static atomic_int log_count;

static inline void test_log(evmjit_log_level level, const char *message, void *user) {
    (void)user;
    mtx_lock(&log_mtx);
    snprintf(log_last, sizeof log_last, "%d %s", (int)level, message);
    mtx_unlock(&log_mtx);
    atomic_fetch_add_explicit(&log_count, 1, memory_order_relaxed);
}

static inline bool log_has(const char *needle) {
    mtx_lock(&log_mtx);
    bool r = strstr(log_last, needle) != NULL;
    mtx_unlock(&log_mtx);
    return r;
}

/* ---- counting allocator: every byte the runtime allocates comes back with the same size --- */

static atomic_long alloc_live_bytes, alloc_calls, free_calls, alloc_size_mismatch;
static atomic_int alloc_fail; /* while set, every allocation fails */

static inline void *count_alloc(size_t size, void *user) {
    (void)user;
    if (atomic_load(&alloc_fail)) return NULL;
    size_t *p = (size_t *)malloc(size + 16);
    if (!p) return NULL;
    p[0] = size;
    atomic_fetch_add(&alloc_live_bytes, (long)size);
    atomic_fetch_add(&alloc_calls, 1);
    return (uint8_t *)p + 16;
}

static inline void count_free(void *ptr, size_t size, void *user) {
    (void)user;
    size_t *p = (size_t *)((uint8_t *)ptr - 16);
    if (p[0] != size) atomic_fetch_add(&alloc_size_mismatch, 1);
    atomic_fetch_sub(&alloc_live_bytes, (long)p[0]);
    atomic_fetch_add(&free_calls, 1);
    free(p);
}

/* ---- the test backend --------------------------------------------------------------------- */

typedef struct tb_code {
    size_t bytes;
    void *inner; /* the inner backend's code handle, or NULL */
} tb_code;

/* The LLVM variant of the [C] tests (test_cache built with TEST_CACHE_WITH_LLVM) sets
   TB_INNER: the test backend keeps its bookkeeping (delay, failure injection, overlap and
   code-byte counts) and then hands the compilation to this backend, so that programs are
   real native code and AOT objects real shared objects. NULL: the simulated backend. */
static const evmjit_backend *TB_INNER;

typedef struct tb_compiler {
    void *inner;
} tb_compiler;

static struct {
    atomic_int delay_ms;   /* each compilation takes this long (cancellable) */
    atomic_int fail_byte;  /* compilations of code starting with this byte fail (0: none) */
    atomic_int fail_create;
    atomic_int ignore_cancel; /* the delay runs to its end even when cancelled */
    atomic_int provisional_min; /* simulated JIT output of code this long or longer is
                                   provisional unless it is an upgrade (0: never) */
    atomic_int upgrade_delay_ms; /* upgrades take this long (cancellable) */
    atomic_long upgrade_requests; /* compilations with req->upgrade, failed ones included */
    atomic_long jit_compiles, aot_compiles, creates, destroys, code_frees, object_frees;
    atomic_long live_code_bytes, cancelled;
    atomic_long same_key_overlaps; /* a key compiled twice at the same time */
    mtx_t mtx;
    evmjit_bytes32 busy[64];
    evmjit_revision busy_rev[64];
    int nbusy;
} TB;

static inline void tb_reset(void) {
    atomic_store(&TB.delay_ms, 0);
    atomic_store(&TB.fail_byte, 0);
    atomic_store(&TB.fail_create, 0);
    atomic_store(&TB.ignore_cancel, 0);
    atomic_store(&TB.provisional_min, 0);
    atomic_store(&TB.upgrade_delay_ms, 0);
    atomic_store(&TB.upgrade_requests, 0);
    atomic_store(&TB.jit_compiles, 0);
    atomic_store(&TB.aot_compiles, 0);
    atomic_store(&TB.creates, 0);
    atomic_store(&TB.destroys, 0);
    atomic_store(&TB.code_frees, 0);
    atomic_store(&TB.object_frees, 0);
    atomic_store(&TB.cancelled, 0);
    atomic_store(&TB.same_key_overlaps, 0);
}

static inline evmjit_error tb_create(void *user, int opt_level, void **compiler, char *err_buf, size_t n) {
    (void)user;
    if (opt_level < 0 || opt_level > 3) return EVMJIT_ERR_INVALID_ARGUMENT;
    if (atomic_load(&TB.fail_create)) {
        snprintf(err_buf, n, "injected compiler creation failure");
        return EVMJIT_ERR_COMPILE_FAILED;
    }
    tb_compiler *c = (tb_compiler *)calloc(1, sizeof *c);
    if (!c) return EVMJIT_ERR_OUT_OF_MEMORY;
    if (TB_INNER) {
        evmjit_error err = TB_INNER->create_compiler(TB_INNER->user, opt_level, &c->inner, err_buf, n);
        if (err != EVMJIT_OK) {
            free(c);
            return err;
        }
    }
    *compiler = c;
    atomic_fetch_add(&TB.creates, 1);
    return EVMJIT_OK;
}

static inline void tb_destroy(void *user, void *compiler) {
    (void)user;
    tb_compiler *c = (tb_compiler *)compiler;
    if (TB_INNER) TB_INNER->destroy_compiler(TB_INNER->user, c->inner);
    free(c);
    atomic_fetch_add(&TB.destroys, 1);
}

/* The part both kinds share: the busy-key check, the delay, failure injection, timings. */
static inline evmjit_error tb_compile(const evmjit_compile_request *req, evmjit_compile_output *out) {
    uint64_t t0 = evmjit__now_ns();
    int slot = -1;
    mtx_lock(&TB.mtx);
    for (int i = 0; i < TB.nbusy; i++)
        if (TB.busy_rev[i] == req->rev && !memcmp(TB.busy[i].bytes, req->code_hash.bytes, 32))
            atomic_fetch_add(&TB.same_key_overlaps, 1);
    if (TB.nbusy < 64) {
        slot = TB.nbusy++;
        TB.busy[slot] = req->code_hash;
        TB.busy_rev[slot] = req->rev;
    }
    mtx_unlock(&TB.mtx);
    evmjit_error err = EVMJIT_OK;
    if (req->upgrade) atomic_fetch_add(&TB.upgrade_requests, 1);
    int delay = req->upgrade ? atomic_load(&TB.upgrade_delay_ms) : atomic_load(&TB.delay_ms);
    for (int i = 0; i < delay; i++) {
        if (!atomic_load(&TB.ignore_cancel) && req->cancelled(req)) {
            atomic_fetch_add(&TB.cancelled, 1);
            snprintf(out->message, sizeof out->message, "cancelled");
            err = EVMJIT_ERR_SHUTDOWN;
            break;
        }
        sleep_ms(1);
    }
    mtx_lock(&TB.mtx);
    for (int i = 0; i < TB.nbusy; i++)
        if (TB.busy_rev[i] == req->rev && !memcmp(TB.busy[i].bytes, req->code_hash.bytes, 32)) {
            TB.busy[i] = TB.busy[TB.nbusy - 1];
            TB.busy_rev[i] = TB.busy_rev[TB.nbusy - 1];
            TB.nbusy--;
            break;
        }
    mtx_unlock(&TB.mtx);
    if (err == EVMJIT_OK && atomic_load(&TB.fail_byte) && req->code[0] == atomic_load(&TB.fail_byte)) {
        snprintf(out->message, sizeof out->message, "injected failure");
        err = EVMJIT_ERR_COMPILE_FAILED;
    }
    uint64_t t = evmjit__now_ns() - t0 + 5;
    out->times.analysis_ns = t / 5 + 1;
    out->times.ir_ns = t / 5 + 1;
    out->times.optimize_ns = t / 5 + 1;
    out->times.codegen_ns = t / 5 + 1;
    out->times.link_ns = t / 5 + 1;
    return err;
}

static inline evmjit_error tb_compile_jit(void *user, void *compiler, const evmjit_compile_request *req,
                                   evmjit_compile_output *out) {
    (void)user;
    if (!compiler) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_error err = tb_compile(req, out);
    if (err != EVMJIT_OK) return err;
    tb_code *c = (tb_code *)calloc(1, sizeof *c);
    if (!c) return EVMJIT_ERR_OUT_OF_MEMORY;
    if (TB_INNER) {
        err = TB_INNER->compile_jit(TB_INNER->user, ((tb_compiler *)compiler)->inner, req, out);
        if (err != EVMJIT_OK) {
            free(c);
            return err;
        }
        c->inner = out->code;
        c->bytes = out->code_bytes;
    } else { /* an upgrade's code is "bigger" so that tests can tell the two apart */
        int min = atomic_load(&TB.provisional_min);
        c->bytes = (req->upgrade ? 2000 : 1000) + req->code_size;
        out->fn = evmjit_interpret;
        out->code_bytes = c->bytes;
        out->provisional = !req->upgrade && min > 0 && req->code_size >= (size_t)min;
    }
    out->code = c;
    atomic_fetch_add(&TB.live_code_bytes, (long)c->bytes);
    atomic_fetch_add(&TB.jit_compiles, 1);
    return EVMJIT_OK;
}

static inline evmjit_error tb_compile_aot(void *user, void *compiler, const evmjit_compile_request *req,
                                   evmjit_compile_output *out) {
    (void)user;
    if (!compiler) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_error err = tb_compile(req, out);
    if (err != EVMJIT_OK) return err;
    if (TB_INNER) {
        err = TB_INNER->compile_aot(TB_INNER->user, ((tb_compiler *)compiler)->inner, req, out);
        if (err == EVMJIT_OK) atomic_fetch_add(&TB.aot_compiles, 1);
        return err;
    }
    out->object_size = 64 + req->code_size;
    out->object = (uint8_t *)calloc(1, out->object_size);
    if (!out->object) return EVMJIT_ERR_OUT_OF_MEMORY;
    memcpy(out->object, "TESTSO", 6);
    snprintf(out->symbol, sizeof out->symbol, "evmjit_test_fn");
    snprintf(out->target, sizeof out->target, "test-target");
    atomic_fetch_add(&TB.aot_compiles, 1);
    return EVMJIT_OK;
}

static inline void tb_free_code(void *user, void *code_handle) {
    (void)user;
    tb_code *c = (tb_code *)code_handle;
    atomic_fetch_sub(&TB.live_code_bytes, (long)c->bytes);
    atomic_fetch_add(&TB.code_frees, 1);
    if (c->inner) TB_INNER->free_code(TB_INNER->user, c->inner);
    free(c);
}

static inline void tb_free_object(void *user, evmjit_compile_output *out) {
    (void)user;
    if (TB_INNER) {
        TB_INNER->free_object(TB_INNER->user, out);
    } else {
        free(out->object);
    }
    out->object = NULL;
    atomic_fetch_add(&TB.object_frees, 1);
}

static const evmjit_backend TB_BACKEND = {
    "test", "1.0", NULL, tb_create, tb_destroy, tb_compile_jit, tb_compile_aot,
    tb_free_code, tb_free_object,
};

/* ---- an in-memory artifact store -------------------------------------------------------- */

typedef struct ts_item {
    evmjit_bytes32 hash;
    evmjit_revision rev;
    uint8_t *object;
    size_t size, code_size;
} ts_item;

typedef struct test_store {
    mtx_t mtx;
    ts_item items[64];
    int n;
    atomic_int fail_load_all_after; /* load_all fails after this many artifacts (-1: never) */
    atomic_long loads, stores, unloads, live_handles;
    /* When set (with TB_INNER), artifacts really go to this store (a directory store) and
       load with dlopen; this one keeps the list and the counts the tests read. */
    const evmjit_artifact_store *inner;
} test_store;

static inline evmjit_error ts_artifact(test_store *s, int i, evmjit_artifact *out) {
    memset(out, 0, sizeof *out);
    if (s->inner) {
        evmjit_error err = s->inner->load(s->inner->user, &s->items[i].hash, s->items[i].rev, out);
        if (err != EVMJIT_OK) return err;
        atomic_fetch_add(&s->loads, 1);
        atomic_fetch_add(&s->live_handles, 1);
        return EVMJIT_OK;
    }
    out->code_hash = s->items[i].hash;
    out->rev = s->items[i].rev;
    out->fn = evmjit_interpret; /* what dlsym would give: a callable evmjit_fn */
    out->handle = malloc(8);
    if (!out->handle) return EVMJIT_ERR_OUT_OF_MEMORY;
    out->code_size = s->items[i].code_size;
    out->code_bytes = s->items[i].size;
    atomic_fetch_add(&s->loads, 1);
    atomic_fetch_add(&s->live_handles, 1);
    return EVMJIT_OK;
}

static inline int ts_find(test_store *s, const evmjit_bytes32 *h, evmjit_revision rev) {
    for (int i = 0; i < s->n; i++)
        if (s->items[i].rev == rev && !memcmp(s->items[i].hash.bytes, h->bytes, 32)) return i;
    return -1;
}

static inline evmjit_error ts_load_all(void *user, evmjit_artifact_sink sink, void *ctx) {
    test_store *s = (test_store *)user;
    mtx_lock(&s->mtx);
    evmjit_error err = EVMJIT_OK;
    for (int i = 0; i < s->n && err == EVMJIT_OK; i++) {
        if (atomic_load(&s->fail_load_all_after) == i) {
            err = EVMJIT_ERR_IO;
            break;
        }
        evmjit_artifact a;
        err = ts_artifact(s, i, &a);
        if (err == EVMJIT_OK) err = sink(ctx, &a);
    }
    if (err == EVMJIT_OK && atomic_load(&s->fail_load_all_after) >= s->n) err = EVMJIT_ERR_IO;
    mtx_unlock(&s->mtx);
    return err;
}

static inline evmjit_error ts_load(void *user, const evmjit_bytes32 *h, evmjit_revision rev,
                            evmjit_artifact *out) {
    test_store *s = (test_store *)user;
    mtx_lock(&s->mtx);
    int i = ts_find(s, h, rev);
    evmjit_error err = i < 0 ? EVMJIT_ERR_NOT_FOUND : ts_artifact(s, i, out);
    mtx_unlock(&s->mtx);
    return err;
}

static inline evmjit_error ts_store(void *user, const evmjit_artifact_object *obj) {
    test_store *s = (test_store *)user;
    if (!obj->compiler || !obj->symbol || !obj->object || !obj->object_size) return EVMJIT_ERR_INVALID_ARGUMENT;
    mtx_lock(&s->mtx);
    evmjit_error err = EVMJIT_OK;
    if (ts_find(s, &obj->code_hash, obj->rev) < 0) { /* an existing name is never overwritten */
        if (s->n == 64) {
            err = EVMJIT_ERR_IO;
        } else if (s->inner && (err = s->inner->store(s->inner->user, obj)) != EVMJIT_OK) {
            /* the directory store refused it: nothing recorded */
        } else {
            ts_item *it = &s->items[s->n];
            it->object = (uint8_t *)malloc(obj->object_size);
            if (!it->object) {
                err = EVMJIT_ERR_OUT_OF_MEMORY;
            } else {
                memcpy(it->object, obj->object, obj->object_size);
                it->hash = obj->code_hash;
                it->rev = obj->rev;
                it->size = obj->object_size;
                it->code_size = obj->code_size;
                s->n++;
                atomic_fetch_add(&s->stores, 1);
            }
        }
    }
    mtx_unlock(&s->mtx);
    return err;
}

static inline evmjit_error ts_clear(void *user) {
    test_store *s = (test_store *)user;
    mtx_lock(&s->mtx);
    evmjit_error err = s->inner ? s->inner->clear(s->inner->user) : EVMJIT_OK;
    for (int i = 0; i < s->n; i++) free(s->items[i].object);
    s->n = 0;
    mtx_unlock(&s->mtx);
    return err;
}

static inline void ts_unload(void *user, const evmjit_artifact *a) {
    test_store *s = (test_store *)user;
    if (s->inner) {
        s->inner->unload(s->inner->user, a);
    } else {
        free(a->handle);
    }
    atomic_fetch_add(&s->unloads, 1);
    atomic_fetch_sub(&s->live_handles, 1);
}

static inline void ts_init(test_store *s, evmjit_artifact_store *table) {
    memset(s, 0, sizeof *s);
    mtx_init(&s->mtx, mtx_plain);
    atomic_store(&s->fail_load_all_after, -1);
    evmjit_artifact_store t = {"memory", s, ts_load_all, ts_load, ts_store, ts_clear, ts_unload};
    *table = t;
}

static inline void ts_fini(test_store *s) {
    ts_clear(s);
    mtx_destroy(&s->mtx);
}

/* ---- runtime helpers ---------------------------------------------------------------------- */

/* Test defaults: the test backend, two workers, a fast backend clock, the logger. */
static inline void base_desc(evmjit_runtime_desc *d) {
    memset(d, 0, sizeof *d);
    d->backend = &TB_BACKEND;
    d->worker_threads = 2;
    d->wake_interval_ms = 10;
    d->logger.log = test_log;
    d->enabled = true;
}

static inline evmjit_runtime *make(const evmjit_runtime_desc *d) {
    evmjit_runtime *rt = NULL;
    evmjit_error err = evmjit_runtime_create(d, &rt);
    CHECKF(err == EVMJIT_OK && rt, "create: %s", evmjit_error_name(err));
    return rt;
}

static inline void destroy(evmjit_runtime *rt) {
    evmjit_error err = evmjit_runtime_destroy(rt);
    CHECKF(err == EVMJIT_OK, "destroy: %s", evmjit_error_name(err));
}

static inline void sync_rt(evmjit_runtime *rt) { CHECK(evmjit_runtime_sync(rt, 2000) == EVMJIT_OK); }

/* Lookup and immediately release; returns the outcome. */
static inline evmjit_lookup_outcome probe(evmjit_runtime *rt, const code *c, evmjit_revision rev) {
    evmjit_program *p = NULL;
    evmjit_lookup_outcome o = evmjit_lookup(rt, &c->hash, c->bytes, c->size, rev, &p);
    if (o == EVMJIT_LOOKUP_HIT) evmjit_lookup_release(rt, p);
    return o;
}

#endif
