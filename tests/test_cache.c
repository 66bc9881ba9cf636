/* The code cache runtime: one test per numbered behaviour in CACHE_BEHAVIOUR.md, plus bad
   input. The [C] behaviours run with a test backend that produces real, callable programs
   without LLVM: the interpreter (evmjit_interpret) plus a simulated native code size, with a
   switchable delay (which polls the cancel callback) and failure injection; AOT goes through
   an in-memory artifact store whose "shared objects" load as the interpreter too. Every wait
   is bounded.

   Built with TEST_CACHE_WITH_LLVM (build/tests/test_cache_llvm), the [C] behaviours run
   again with the LLVM backend behind the test backend's bookkeeping (TB_INNER): programs are
   native code, and AOT objects are shared objects published to a private directory store and
   loaded with dlopen. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include "cache_testlib.h"

#include <stdlib.h>
#include <unistd.h>

#ifdef TEST_CACHE_WITH_LLVM
static const bool WITH_LLVM = true;
#else
static const bool WITH_LLVM = false;
#endif

/* ---- 1-18: start, enable, lookup --------------------------------------------------------- */

static void test_b01_defaults(void) {
    evmjit_runtime *rt = make(NULL);
    if (!rt) return;
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.threads == 0 && s.resident_entries == 0 && !s.enabled);
    evmjit_runtime_desc d;
    evmjit_runtime_settings(rt, &d);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN), w = (cpus + 1) / 2;
    w = w < 1 ? 1 : w > 4 ? 4 : w;
    CHECK(d.hot_threshold == 8 && d.max_code_size == 24576 && d.max_in_flight == 2048);
    CHECK(d.max_cold_keys == 20480 && d.worker_threads == (int)w && d.queue_per_worker == 64);
    CHECK(d.ring_capacity == 4096 && d.drain_batch == 4096 && d.wake_interval_ms == 100);
    CHECK(d.idle_eviction_ms == 600000 && d.sweep_interval_ms == 60000);
    CHECK(d.jit_budget_bytes == (uint64_t)1 << 30 && d.recycle_after == 1000 && d.upgrade_threshold == 64);
    CHECK(d.shutdown_timeout_ms == 5000 && d.mode == EVMJIT_MODE_JIT && d.opt_level == EVMJIT_O2);
    destroy(rt);

    /* with a backend: still no threads until enabled, then backend + workers */
    evmjit_runtime_desc bd;
    base_desc(&bd);
    bd.enabled = false;
    rt = make(&bd);
    if (!rt) return;
    CHECK(stats(rt).threads == 0);
    CHECK(evmjit_runtime_enable(rt) == EVMJIT_OK);
    CHECK(stats(rt).threads == 3 && stats(rt).enabled);
    destroy(rt);

    /* ... or until asked to compile */
    rt = make(&bd);
    if (!rt) return;
    code c;
    make_code(&c, 1, 0);
    CHECK(stats(rt).threads == 0);
    CHECK(evmjit_compile(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_OK);
    CHECK(stats(rt).threads == 3);
    destroy(rt);
}

static void test_b02_empty_store(void) {
    test_store ts;
    evmjit_artifact_store table;
    ts_init(&ts, &table);
    evmjit_runtime_desc d;
    base_desc(&d);
    d.store = &table;
    evmjit_runtime *rt = make(&d);
    if (rt) {
        CHECK(stats(rt).resident_entries == 0 && stats(rt).aot_loaded == 0);
        destroy(rt);
    }
    ts_fini(&ts);
}

static void test_b03_load_all_fails(void) {
    test_store ts;
    evmjit_artifact_store table;
    ts_init(&ts, &table);
    code c1, c2;
    make_code(&c1, 31, 0);
    make_code(&c2, 32, 0);
    evmjit_artifact_object o = {c1.hash, EVMJIT_CANCUN, "test", "f", "t", (const uint8_t *)"x", 1, c1.size};
    CHECK(ts_store(&ts, &o) == EVMJIT_OK);
    o.code_hash = c2.hash;
    CHECK(ts_store(&ts, &o) == EVMJIT_OK);
    atomic_store(&ts.fail_load_all_after, 1); /* one artifact goes into the table, then failure */
    evmjit_runtime_desc d;
    base_desc(&d);
    d.store = &table;
    d.allocator.alloc = count_alloc;
    d.allocator.free = count_free;
    long live0 = atomic_load(&alloc_live_bytes);
    evmjit_runtime *rt = (evmjit_runtime *)1;
    evmjit_error err = evmjit_runtime_create(&d, &rt);
    CHECK(err == EVMJIT_ERR_IO && rt == NULL);
    CHECK(log_has("load_all failed"));
    CHECK(atomic_load(&ts.loads) == 1 && atomic_load(&ts.live_handles) == 0); /* unloaded again */
    CHECK(atomic_load(&alloc_live_bytes) == live0);                            /* nothing leaked */
    CHECK(stats(NULL).threads == 0);
    ts_fini(&ts);
}

static void test_b04_blocking_no_workers(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.blocking = true;
    d.worker_threads = EVMJIT_NO_WORKERS;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 4, 0);
    uint64_t t0 = ms_now();
    evmjit_program *p = (evmjit_program *)1;
    CHECK(evmjit_lookup(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_FAILED);
    CHECK(p == NULL && ms_now() - t0 < 500);
    CHECK(evmjit_compile(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_ERR_UNSUPPORTED);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.dispatched == 0 && s.admitted == 0 && s.pending_jobs == 0 && s.threads == 1);
    CHECK(s.misses == 1);
    destroy(rt);
}

static void test_b05_disabled(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.enabled = false;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 5, 0);
    for (int i = 0; i < 5; i++) CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_DISABLED);
    CHECK(probe(NULL, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_DISABLED);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.hits == 0 && s.misses == 0 && s.dropped_events == 0 && s.queued_events == 0);
    CHECK(run(rt, &c, EVMJIT_CANCUN) == 5); /* still runs: interpreted */
    destroy(rt);
}

static void test_b06_miss(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 6, 0);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    sync_rt(rt);
    CHECK(stats(rt).misses == 1 && stats(rt).hits == 0);
    destroy(rt);
}

static void test_b07_toggle(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.enabled = false;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 7, 0);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_DISABLED);
    CHECK(evmjit_runtime_enable(rt) == EVMJIT_OK);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    evmjit_runtime_disable(rt);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_DISABLED);
    CHECK(evmjit_runtime_enable(rt) == EVMJIT_OK);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    sync_rt(rt);
    CHECK(stats(rt).misses == 2);
    destroy(rt);
}

static void test_b08_pause_nests(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 8, 0);
    CHECK(evmjit_runtime_pause(rt) == 1);
    CHECK(evmjit_runtime_pause(rt) == 2);
    for (int i = 0; i < 3; i++) CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    CHECK(evmjit_runtime_resume(rt) == EVMJIT_OK);
    CHECK(stats(rt).pause_depth == 1);
    CHECK(evmjit_runtime_resume(rt) == EVMJIT_OK);
    CHECK(stats(rt).pause_depth == 0);
    CHECK(evmjit_runtime_resume(rt) == EVMJIT_ERR_INVALID_ARGUMENT);
    sync_rt(rt);
    CHECK(stats(rt).misses == 3);
    destroy(rt);
}

static void test_b09_ten_misses(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = 1000;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 9, 0);
    for (int i = 0; i < 10; i++) CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    sync_rt(rt);
    CHECK(stats(rt).misses == 10 && stats(rt).hits == 0 && stats(rt).tracked_cold_keys == 1);
    destroy(rt);
}

typedef struct lookers {
    evmjit_runtime *rt;
    const code *c;
    int n;
    atomic_int outcomes[EVMJIT_LOOKUP_OUTCOME_COUNT];
    atomic_long wrong_output;
} lookers;

static int looker_main(void *arg) {
    lookers *l = (lookers *)arg;
    for (int i = 0; i < l->n; i++) {
        evmjit_program *p = NULL;
        evmjit_lookup_outcome o = evmjit_lookup(l->rt, &l->c->hash, l->c->bytes, l->c->size, EVMJIT_CANCUN, &p);
        atomic_fetch_add(&l->outcomes[o], 1);
        if (o == EVMJIT_LOOKUP_HIT) {
            if (i % 10 == 0 && run_program(l->rt, p, l->c) != (long)(l->c->bytes[3])) atomic_fetch_add(&l->wrong_output, 1);
            evmjit_lookup_release(l->rt, p);
        }
    }
    return 0;
}

/* n threads x per lookups of c; joins them. */
static void run_lookers(lookers *l, int n, int per) {
    thrd_t t[8];
    l->n = per;
    for (int i = 0; i < n; i++) CHECK(thrd_create(&t[i], looker_main, l) == thrd_success);
    for (int i = 0; i < n; i++) thrd_join(t[i], NULL);
}

static void test_b10_b11_shared(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = EVMJIT_OFF;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 10, 0);
    lookers l;
    memset(&l, 0, sizeof l);
    l.rt = rt;
    l.c = &c;
    run_lookers(&l, 4, 50);
    CHECK(atomic_load(&l.outcomes[EVMJIT_LOOKUP_NOT_READY]) == 200);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.misses + s.dropped_events == 200 && s.hits == 0); /* 11: one set of statistics */
    destroy(rt); /* 10: the threads are gone (idle); destroy joins the runtime's own */
}

static void test_b12_b14_no_workers(void) {
    test_store ts;
    evmjit_artifact_store table;
    ts_init(&ts, &table);
    evmjit_runtime_desc d;
    base_desc(&d);
    d.worker_threads = EVMJIT_NO_WORKERS;
    d.store = &table;
    evmjit_runtime *rt = make(&d);
    if (rt) {
        code c1, c2;
        make_code(&c1, 12, 0);
        make_code(&c2, 13, 0);
        uint64_t t0 = ms_now();
        CHECK(evmjit_compile(rt, &c1.hash, c1.bytes, c1.size, EVMJIT_CANCUN) == EVMJIT_ERR_UNSUPPORTED);
        CHECK(evmjit_prepare_aot(rt, &c1.hash, c1.bytes, c1.size, EVMJIT_CANCUN) == EVMJIT_ERR_UNSUPPORTED);
        evmjit_code_ref items[2] = {{c1.hash, c1.bytes, c1.size, EVMJIT_CANCUN},
                                    {c2.hash, c2.bytes, c2.size, EVMJIT_CANCUN}};
        size_t accepted = 99;
        CHECK(evmjit_prepare_aot_batch(rt, items, 2, &accepted) == EVMJIT_ERR_UNSUPPORTED);
        CHECK(accepted == 0);
        CHECK(ms_now() - t0 < 500);
        sync_rt(rt);
        CHECK(stats(rt).dispatched == 0 && stats(rt).queued_commands == 0);
        destroy(rt);
    }
    ts_fini(&ts);
}

static void test_b15_clear_empty(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    CHECK(evmjit_clear_all(rt) == EVMJIT_OK);
    CHECK(evmjit_clear_persisted(rt) == EVMJIT_ERR_UNSUPPORTED); /* no store */
    code c;
    make_code(&c, 15, 0);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    sync_rt(rt);
    CHECK(stats(rt).generation == 2 && stats(rt).resident_entries == 0);
    destroy(rt);
}

static void test_b16_tiny_ring(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.ring_capacity = 2;
    d.hot_threshold = 1000000000;
    d.wake_interval_ms = 1000;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 16, 0);
    uint64_t t0 = ms_now();
    for (int i = 0; i < 200; i++) CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    CHECK(ms_now() - t0 < 500);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECKF(s.misses + s.dropped_events == 200, "misses %llu dropped %llu",
           (unsigned long long)s.misses, (unsigned long long)s.dropped_events);
    CHECK(s.dropped_events >= 190 && s.dispatched == 0 && s.admitted == 0);
    WAIT_UNTIL(log_has("raise ring_capacity"), 1000); /* the backend names the setting */
    CHECK(log_has("event ring full; raise ring_capacity"));
    destroy(rt);
}

static void test_b17_pause_before_threads(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.enabled = false;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    CHECK(evmjit_runtime_pause(rt) == 1);
    CHECK(evmjit_runtime_resume(rt) == EVMJIT_OK);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.threads == 0 && s.queued_commands == 0 && s.pause_depth == 0);
    CHECK(evmjit_runtime_sync(rt, 100) == EVMJIT_OK); /* nothing to wait for */
    destroy(rt);
}

static void test_b18_pause_running(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 18, 0);
    for (uint32_t i = 1; i <= 3; i++) CHECK(evmjit_runtime_pause(rt) == i);
    CHECK(evmjit_compile(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_OK);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.pause_depth == 3 && s.admitted == 1 && s.pending_jobs == 1 && s.dispatched == 0);
    CHECK(s.queued_commands == 0 && s.dropped_commands == 0);
    for (int i = 0; i < 3; i++) CHECK(evmjit_runtime_resume(rt) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).resident_entries == 1, 2000);
    s = stats(rt);
    CHECK(s.pause_depth == 0 && s.dispatched == 1 && s.resident_entries == 1 && s.dropped_commands == 0);
    destroy(rt);
}

/* ---- 19-36: compiling [C] --------------------------------------------------------------- */

static void test_b19_blocking(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.blocking = true;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 19, 0);
    evmjit_program *p = NULL;
    CHECK(evmjit_lookup(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_HIT);
    CHECK(p && p->fn && p->kind == EVMJIT_PROGRAM_JIT && p->rev == EVMJIT_CANCUN);
    if (p) {
        CHECK(run_program(rt, p, &c) == 19);
        evmjit_lookup_release(rt, p);
    }
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    CHECK(run(rt, &c, EVMJIT_CANCUN) == 19); /* evmjit_execute's path, a hit */
    uint8_t empty = 0;
    CHECK(evmjit_lookup(rt, &c.hash, &empty, 0, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_INELIGIBLE);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.hits == 2 && s.misses == 2 && s.succeeded == 1 && atomic_load(&TB.jit_compiles) >= 1);
    destroy(rt);
}

static void test_b20_max_code_default(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    static code a, b;
    make_code(&a, 20, 24576);
    make_code(&b, 21, 24577);
    CHECK(probe(rt, &a, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    CHECK(probe(rt, &b, EVMJIT_CANCUN) == EVMJIT_LOOKUP_INELIGIBLE);
    CHECK(evmjit_compile(rt, &b.hash, b.bytes, b.size, EVMJIT_CANCUN) == EVMJIT_ERR_INELIGIBLE);
    evmjit_program *p = NULL;
    CHECK(evmjit_compile_sync(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN, 2000, &p) == EVMJIT_OK);
    CHECK(p && p->code_size == 24576 && p->code_bytes > 0);
    CHECK(p && p->code_bytes == (size_t)atomic_load(&TB.live_code_bytes));
    CHECK(WITH_LLVM || (p && p->code_bytes == 1000 + 24576));
    evmjit_program_release(rt, p);
    destroy(rt);
}

static void test_b21_threshold(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = 3;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 21, 0);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    sync_rt(rt);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    sync_rt(rt);
    CHECK(stats(rt).admitted == 1 && stats(rt).resident_entries == 0);
    /* the third miss is the one that hands over the code (as evmjit_execute does) */
    evmjit_program *p = NULL;
    CHECK(evmjit_lookup(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_WANT_CODE);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY); /* asked only once */
    CHECK(evmjit_compile(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_OK);
    WAIT_UNTIL(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT, 2000);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    CHECK(atomic_load(&TB.jit_compiles) == 1);
    /* the same through evmjit_execute's path, a second key */
    code c2;
    make_code(&c2, 22, 0);
    for (int i = 0; i < 3; i++) {
        CHECK(run(rt, &c2, EVMJIT_CANCUN) == 22);
        sync_rt(rt);
    }
    WAIT_UNTIL(probe(rt, &c2, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT, 2000);
    CHECK(probe(rt, &c2, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    CHECK(run(rt, &c2, EVMJIT_CANCUN) == 22);
    destroy(rt);
}

static void test_b22_max_code_small(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.max_code_size = 4;
    d.hot_threshold = 1;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 22, 0);
    c.size = 8;
    c.hash = evmjit_keccak256(c.bytes, 8);
    for (int i = 0; i < 5; i++) CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_INELIGIBLE);
    CHECK(evmjit_compile(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_ERR_INELIGIBLE);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 100, NULL) == EVMJIT_ERR_INELIGIBLE);
    sync_rt(rt);
    CHECK(stats(rt).admitted == 0 && stats(rt).misses == 5);
    destroy(rt);
}

static void test_b23_promote_then_clear(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.delay_ms, 150);
    code c;
    make_code(&c, 23, 0);
    CHECK(evmjit_compile(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).dispatched == 1, 2000);
    CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    WAIT_UNTIL(stats(rt).discarded == 1, 2000);
    atomic_store(&TB.delay_ms, 0);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.discarded == 1 && s.succeeded == 0 && s.resident_entries == 0 && s.pending_jobs == 0);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    WAIT_UNTIL(atomic_load(&TB.live_code_bytes) == 0, 1000);
    CHECK(atomic_load(&TB.live_code_bytes) == 0); /* the discarded code was freed */
    destroy(rt);
}

static void test_b24_b25_sync_compile(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 24, 40);
    CHECK(stats(rt).jit_code_bytes == 0);
    evmjit_program *p = NULL;
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, &p) == EVMJIT_OK);
    CHECK(p && run_program(rt, p, &c) == 24);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT); /* 25: resident on return */
    CHECK(stats(rt).jit_code_bytes > 0 && stats(rt).resident_jit == 1);
    CHECK(stats(rt).jit_code_bytes == (uint64_t)atomic_load(&TB.live_code_bytes));
    CHECK(WITH_LLVM || stats(rt).jit_code_bytes == 1040);
    evmjit_program_release(rt, p);
    /* compile_sync of a resident key compiles nothing */
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    CHECK(atomic_load(&TB.jit_compiles) == 1);
    destroy(rt);
}

typedef struct syncers {
    evmjit_runtime *rt;
    const code *c;
    atomic_int ok;
    evmjit_program *got[8];
    atomic_int idx;
} syncers;

static int syncer_main(void *arg) {
    syncers *s = (syncers *)arg;
    evmjit_program *p = NULL;
    if (evmjit_compile_sync(s->rt, &s->c->hash, s->c->bytes, s->c->size, EVMJIT_CANCUN, 3000, &p) == EVMJIT_OK) {
        atomic_fetch_add(&s->ok, 1);
        s->got[atomic_fetch_add(&s->idx, 1)] = p;
    }
    return 0;
}

static void test_b26_shared_sync(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.delay_ms, 50);
    code c;
    make_code(&c, 26, 0);
    syncers s;
    memset(&s, 0, sizeof s);
    s.rt = rt;
    s.c = &c;
    thrd_t t[4];
    for (int i = 0; i < 4; i++) CHECK(thrd_create(&t[i], syncer_main, &s) == thrd_success);
    for (int i = 0; i < 4; i++) thrd_join(t[i], NULL);
    atomic_store(&TB.delay_ms, 0);
    CHECK(atomic_load(&s.ok) == 4);
    CHECK(atomic_load(&TB.jit_compiles) == 1 && atomic_load(&TB.same_key_overlaps) == 0);
    for (int i = 0; i < atomic_load(&s.idx); i++) {
        CHECK(s.got[i] == s.got[0]);
        evmjit_program_release(rt, s.got[i]);
    }
    destroy(rt);
}

static void test_b27_two_revisions(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 27, 0);
    evmjit_program *a = NULL, *b = NULL;
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_SHANGHAI, 2000, &a) == EVMJIT_OK);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, &b) == EVMJIT_OK);
    CHECK(a && b && a != b && a->rev == EVMJIT_SHANGHAI && b->rev == EVMJIT_CANCUN);
    CHECK(stats(rt).resident_entries == 2 && atomic_load(&TB.jit_compiles) == 2);
    evmjit_program_release(rt, a);
    evmjit_program_release(rt, b);
    destroy(rt);
}

static void test_b28_idle_eviction(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.idle_eviction_ms = 100;
    d.sweep_interval_ms = 50;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 28, 0);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    CHECK(stats(rt).resident_entries == 1);
    WAIT_UNTIL(stats(rt).resident_entries == 0, 2000);
    CHECK(stats(rt).resident_entries == 0 && stats(rt).evictions_idle == 1 && stats(rt).evictions == 1);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    WAIT_UNTIL(stats(rt).programs_freed == 1, 1000);
    CHECK(stats(rt).programs_freed == 1 && stats(rt).jit_code_bytes == 0);
    destroy(rt);
}

static void test_b29_last_reference(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 29, 0);
    evmjit_program *p = NULL;
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, &p) == EVMJIT_OK);
    uint64_t bytes = stats(rt).jit_code_bytes;
    CHECK(bytes > 0 && bytes == (uint64_t)atomic_load(&TB.live_code_bytes));
    CHECK(WITH_LLVM || bytes == 1013);
    CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).resident_entries == 0, 2000);
    sync_rt(rt);
    sync_rt(rt);
    CHECK(stats(rt).resident_entries == 0 && stats(rt).retired_waiting >= 1);
    CHECK(stats(rt).jit_code_bytes == bytes && stats(rt).programs_freed == 0);
    CHECK(p && run_program(rt, p, &c) == 29); /* still valid: we hold a reference */
    evmjit_program_release(rt, p);
    WAIT_UNTIL(stats(rt).jit_code_bytes == 0, 2000);
    CHECK(stats(rt).jit_code_bytes == 0 && stats(rt).programs_freed == 1);
    CHECK(atomic_load(&TB.code_frees) == 1);
    destroy(rt);
}

/* The code bytes of one compiled make_code program (1013 with the simulated backend). */
static uint64_t one_program_bytes(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return 0;
    code c;
    make_code(&c, 300, 0);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    uint64_t bytes = stats(rt).jit_code_bytes;
    destroy(rt);
    return bytes;
}

static void test_b30_budget(void) {
    uint64_t one = one_program_bytes();
    CHECK(one > 0 && (WITH_LLVM || one == 1013));
    evmjit_runtime_desc d;
    base_desc(&d);
    d.jit_budget_bytes = 1;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code a, b, c;
    make_code(&a, 30, 0);
    make_code(&b, 31, 0);
    make_code(&c, 32, 0);
    CHECK(evmjit_compile_sync(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    sync_rt(rt);
    CHECK(stats(rt).evictions_budget == 1 && stats(rt).evictions == 1 && stats(rt).resident_entries == 0);
    destroy(rt);

    /* least recently hit first: room for two programs, not three */
    d.jit_budget_bytes = 2 * one + one / 2;
    rt = make(&d);
    if (!rt) return;
    CHECK(evmjit_compile_sync(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    sleep_ms(5);
    CHECK(evmjit_compile_sync(rt, &b.hash, b.bytes, b.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    sleep_ms(5);
    sync_rt(rt); /* the backend clock moves on */
    CHECK(probe(rt, &a, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT); /* a is now the most recent */
    sleep_ms(5);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    sync_rt(rt);
    CHECK(probe(rt, &a, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    CHECK(probe(rt, &b, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    CHECK(stats(rt).evictions_budget == 1 && stats(rt).resident_entries == 2);
    destroy(rt);
}

static void test_b31_b33_resident_lookups(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 31, 0);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    sync_rt(rt);
    uint64_t misses0 = stats(rt).misses;
    lookers l;
    memset(&l, 0, sizeof l);
    l.rt = rt;
    l.c = &c;
    run_lookers(&l, 8, 100);
    CHECK(atomic_load(&l.outcomes[EVMJIT_LOOKUP_HIT]) == 800 && atomic_load(&l.wrong_output) == 0);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.hits + s.dropped_events >= 800 && s.hits == 800);
    CHECK(s.misses == misses0); /* 33 */
    destroy(rt);
}

static void test_b32_threshold_one(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = 1;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.delay_ms, 20);
    code c;
    make_code(&c, 32, 0);
    for (int i = 0; i < 50; i++) CHECK(run(rt, &c, EVMJIT_CANCUN) == 32);
    WAIT_UNTIL(stats(rt).resident_entries == 1, 2000);
    atomic_store(&TB.delay_ms, 0);
    sync_rt(rt);
    CHECK(stats(rt).resident_entries == 1 && atomic_load(&TB.jit_compiles) == 1);
    CHECK(stats(rt).succeeded == 1 && stats(rt).dispatched == 1);
    destroy(rt);
}

static void test_b34_clear_in_flight(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    static code cs[20];
    atomic_store(&TB.delay_ms, 30);
    for (int i = 0; i < 20; i++) {
        make_code(&cs[i], 340 + (unsigned)i, 0);
        CHECK(evmjit_compile(rt, &cs[i].hash, cs[i].bytes, cs[i].size, EVMJIT_CANCUN) == EVMJIT_OK);
    }
    sync_rt(rt); /* all twenty admitted under the current generation */
    CHECK(stats(rt).pending_jobs == 20);
    CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    CHECK(evmjit_clear_all(rt) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).pending_jobs == 0, 3000);
    atomic_store(&TB.delay_ms, 0);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECKF(s.discarded == 20 && s.succeeded == 0 && s.resident_entries == 0,
           "discarded %llu succeeded %llu resident %llu", (unsigned long long)s.discarded,
           (unsigned long long)s.succeeded, (unsigned long long)s.resident_entries);
    for (int i = 0; i < 20; i++) CHECK(probe(rt, &cs[i], EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    CHECK(atomic_load(&TB.same_key_overlaps) == 0);
    WAIT_UNTIL(atomic_load(&TB.live_code_bytes) == 0, 1000);
    CHECK(atomic_load(&TB.live_code_bytes) == 0);
    destroy(rt);
}

static void test_b35_disable_during_compile(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.delay_ms, 100);
    code c;
    make_code(&c, 35, 0);
    CHECK(evmjit_compile(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).dispatched == 1, 2000);
    evmjit_runtime_disable(rt);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_DISABLED);
    WAIT_UNTIL(stats(rt).succeeded == 1, 2000);
    atomic_store(&TB.delay_ms, 0);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_DISABLED);
    CHECK(evmjit_runtime_enable(rt) == EVMJIT_OK);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    CHECK(run(rt, &c, EVMJIT_CANCUN) == 35);
    destroy(rt);
}

typedef struct cb_record {
    evmjit_bytes32 hash;
    evmjit_revision rev;
    evmjit_program_kind kind;
    bool success, published, from_store;
    char message[64];
    evmjit_compile_times times;
} cb_record;

static struct {
    mtx_t mtx;
    int n;
    cb_record r[16];
} CB;

static void on_compilation(const evmjit_compilation_info *info, void *user) {
    (void)user;
    mtx_lock(&CB.mtx);
    if (CB.n < 16) {
        cb_record *r = &CB.r[CB.n];
        r->hash = info->code_hash;
        r->rev = info->rev;
        r->kind = info->kind;
        r->success = info->success;
        r->published = info->published;
        r->from_store = info->from_store;
        snprintf(r->message, sizeof r->message, "%s", info->message);
        r->times = info->times;
    }
    CB.n++;
    mtx_unlock(&CB.mtx);
}

static int cb_count(void) {
    mtx_lock(&CB.mtx);
    int n = CB.n;
    mtx_unlock(&CB.mtx);
    return n;
}

static void test_b36_callback(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.on_compilation = on_compilation;
    CB.n = 0;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code a, b;
    make_code(&a, 36, 0);
    make_code(&b, 37, 0);
    CHECK(evmjit_compile_sync(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    atomic_store(&TB.fail_byte, 0x62);
    CHECK(evmjit_compile_sync(rt, &b.hash, b.bytes, b.size, EVMJIT_PRAGUE, 2000, NULL) == EVMJIT_ERR_COMPILE_FAILED);
    atomic_store(&TB.fail_byte, 0);
    CHECK(probe(rt, &b, EVMJIT_PRAGUE) == EVMJIT_LOOKUP_FAILED);
    CHECK(log_has("injected failure"));
    sync_rt(rt);
    CHECK(cb_count() == 2 && stats(rt).failed == 1 && stats(rt).succeeded == 1);
    if (cb_count() == 2) {
        cb_record *r = &CB.r[0];
        CHECK(!memcmp(r->hash.bytes, a.hash.bytes, 32) && r->rev == EVMJIT_CANCUN);
        CHECK(r->success && r->published && !r->from_store && r->kind == EVMJIT_PROGRAM_JIT);
        CHECK(r->times.analysis_ns && r->times.ir_ns && r->times.optimize_ns && r->times.codegen_ns &&
              r->times.link_ns && r->times.total_ns && r->times.queue_ns);
        r = &CB.r[1];
        CHECK(!memcmp(r->hash.bytes, b.hash.bytes, 32) && r->rev == EVMJIT_PRAGUE);
        CHECK(!r->success && !r->published && r->kind == EVMJIT_PROGRAM_JIT);
        CHECK(!strcmp(r->message, "injected failure") && r->times.total_ns);
    }
    /* an explicit request retries a failed key */
    CHECK(evmjit_compile_sync(rt, &b.hash, b.bytes, b.size, EVMJIT_PRAGUE, 2000, NULL) == EVMJIT_OK);
    CHECK(cb_count() == 3);
    destroy(rt);
}

/* ---- 37-45: AOT and the store, cold keys, recycling [C] ---------------------------------- */

static void aot_desc(evmjit_runtime_desc *d, evmjit_artifact_store *table) {
    base_desc(d);
    d->store = table;
    d->on_compilation = on_compilation;
}

/* The AOT tests' store: in-memory, and in the LLVM variant passing through to a directory
   store in a fresh private directory (removed by aot_store_fini, which checks that nothing
   is left behind). */
typedef struct aot_store {
    test_store ts;
    evmjit_artifact_store table;
    evmjit_store *dir;
    char path[64];
} aot_store;

static bool aot_store_init(aot_store *a) {
    ts_init(&a->ts, &a->table);
    a->dir = NULL;
    if (!WITH_LLVM) return true;
    snprintf(a->path, sizeof a->path, "/tmp/evmjit-test-cache-XXXXXX");
    if (!mkdtemp(a->path)) {
        CHECKF(0, "mkdtemp failed");
        return false;
    }
    evmjit_store_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.path = a->path;
    sd.backend = &TB_BACKEND;
    sd.logger.log = test_log;
    evmjit_error err = evmjit_store_open(&sd, &a->dir);
    CHECKF(err == EVMJIT_OK, "store open: %s", evmjit_error_name(err));
    if (err != EVMJIT_OK) return false;
    a->ts.inner = evmjit_store_table(a->dir);
    return true;
}

static void aot_store_fini(aot_store *a) {
    ts_fini(&a->ts); /* clears the directory store too */
    if (!a->dir) return;
    evmjit_store_close(a->dir);
    CHECKF(rmdir(a->path) == 0, "the store left files in %s", a->path);
}

static void test_b37_b43_aot(void) {
    static aot_store as;
    if (!aot_store_init(&as)) return;
    evmjit_runtime_desc d;
    aot_desc(&d, &as.table);
    CB.n = 0;
    code a, b, c, j;
    make_code(&a, 37, 0);
    make_code(&b, 38, 0);
    make_code(&c, 39, 0);
    make_code(&j, 43, 0);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    /* 37: one request, one resident AOT program, one artifact */
    CHECK(evmjit_prepare_aot(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).resident_aot == 1, 2000);
    CHECK(stats(rt).resident_aot == 1 && atomic_load(&as.ts.stores) == 1 && stats(rt).aot_stored == 1);
    evmjit_program *p = NULL;
    CHECK(evmjit_lookup(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_HIT);
    if (p) {
        CHECK(p->kind == EVMJIT_PROGRAM_AOT && p->code_bytes == as.ts.items[0].size && run_program(rt, p, &a) == 37);
        CHECK(WITH_LLVM ? p->fn != evmjit_interpret : p->code_bytes == 64 + a.size);
        evmjit_lookup_release(rt, p);
    }
    /* 39: a batch of two */
    evmjit_code_ref items[2] = {{b.hash, b.bytes, b.size, EVMJIT_CANCUN}, {c.hash, c.bytes, c.size, EVMJIT_CANCUN}};
    size_t accepted = 0;
    CHECK(evmjit_prepare_aot_batch(rt, items, 2, &accepted) == EVMJIT_OK && accepted == 2);
    WAIT_UNTIL(stats(rt).resident_aot == 3, 2000);
    CHECK(atomic_load(&as.ts.stores) == 3 && atomic_load(&TB.aot_compiles) == 3);
    if (as.dir) { /* the LLVM variant: three shared objects really were published */
        evmjit_store_stats ss;
        evmjit_store_get_stats(as.dir, &ss);
        CHECK(ss.stored == 3 && ss.store_failed == 0);
    }
    /* 43: a key resident as JIT stores nothing */
    CHECK(evmjit_compile_sync(rt, &j.hash, j.bytes, j.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    CHECK(evmjit_prepare_aot(rt, &j.hash, j.bytes, j.size, EVMJIT_CANCUN) == EVMJIT_OK);
    sync_rt(rt);
    WAIT_UNTIL(stats(rt).pending_jobs == 0, 2000);
    CHECK(atomic_load(&as.ts.stores) == 3 && atomic_load(&TB.aot_compiles) == 3 && stats(rt).resident_jit == 1);
    /* 42: cleared, then an AOT request for a persisted key loads it without compiling */
    CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).resident_entries == 0, 2000);
    long loads = atomic_load(&as.ts.loads);
    int n0 = cb_count();
    CHECK(evmjit_prepare_aot(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).resident_aot == 1, 2000);
    CHECK(probe(rt, &a, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    CHECK(atomic_load(&TB.aot_compiles) == 3 && atomic_load(&as.ts.loads) == loads + 1);
    if (as.dir) { /* ... and loaded with dlopen after verification */
        evmjit_store_stats ss;
        evmjit_store_get_stats(as.dir, &ss);
        CHECKF(ss.loaded == (uint64_t)atomic_load(&as.ts.loads) && ss.skipped == 0, "loaded %llu skipped %llu",
               (unsigned long long)ss.loaded, (unsigned long long)ss.skipped);
    }
    sync_rt(rt);
    CHECK(cb_count() == n0 + 1);
    if (cb_count() == n0 + 1) CHECK(CB.r[n0].from_store && CB.r[n0].kind == EVMJIT_PROGRAM_AOT && CB.r[n0].success);
    destroy(rt);
    CHECK(atomic_load(&as.ts.live_handles) == 0); /* every loaded artifact was unloaded */

    /* 40, 41: a new runtime on the same store preloads the artifacts before any lookup */
    d.enabled = false;
    rt = make(&d);
    if (rt) {
        CHECK(stats(rt).resident_entries == 3 && stats(rt).resident_aot == 3 && stats(rt).aot_loaded == 3);
        CHECK(evmjit_runtime_enable(rt) == EVMJIT_OK);
        p = NULL;
        CHECK(evmjit_lookup(rt, &b.hash, b.bytes, b.size, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_HIT);
        if (p) {
            CHECK(p->kind == EVMJIT_PROGRAM_AOT && run_program(rt, p, &b) == 38);
            evmjit_lookup_release(rt, p);
        }
        CHECK(evmjit_clear_persisted(rt) == EVMJIT_OK && as.ts.n == 0);
        CHECK(probe(rt, &b, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT); /* loaded ones stay usable */
        destroy(rt);
    }
    /* behaviour 40 across a process restart: tests/test_store.c (directory store, forked process) */
    CHECK(atomic_load(&as.ts.live_handles) == 0);
    aot_store_fini(&as);
}

static void test_b38_aot_mode(void) {
    static aot_store as;
    if (!aot_store_init(&as)) return;
    evmjit_runtime_desc d;
    aot_desc(&d, &as.table);
    d.mode = EVMJIT_MODE_AOT;
    d.hot_threshold = 2;
    evmjit_runtime *rt = make(&d);
    if (rt) {
        code c;
        make_code(&c, 380, 0);
        CHECK(run(rt, &c, EVMJIT_CANCUN) == 380);
        sync_rt(rt);
        CHECK(run(rt, &c, EVMJIT_CANCUN) == 380); /* the second miss hands over the code */
        WAIT_UNTIL(stats(rt).resident_aot == 1, 2000);
        CHECK(stats(rt).resident_aot == 1 && atomic_load(&as.ts.stores) == 1);
        CHECK(atomic_load(&TB.aot_compiles) == 1 && atomic_load(&TB.jit_compiles) == 0);
        CHECK(run(rt, &c, EVMJIT_CANCUN) == 380);
        destroy(rt);
    }
    aot_store_fini(&as);
}

static void test_b44_cold_keys(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.max_cold_keys = 2;
    d.hot_threshold = 100;
    d.idle_eviction_ms = 100;
    d.sweep_interval_ms = 50;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code k[4];
    for (int i = 0; i < 4; i++) make_code(&k[i], 440 + (unsigned)i, 0);
    for (int i = 0; i < 3; i++) CHECK(probe(rt, &k[i], EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    sync_rt(rt);
    CHECK(stats(rt).tracked_cold_keys == 2 && stats(rt).dropped_cold_keys == 1);
    WAIT_UNTIL(stats(rt).tracked_cold_keys == 0, 2000);
    CHECK(stats(rt).tracked_cold_keys == 0);
    CHECK(probe(rt, &k[3], EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    CHECK(probe(rt, &k[2], EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    sync_rt(rt);
    CHECK(stats(rt).tracked_cold_keys == 2 && stats(rt).dropped_cold_keys == 1);
    destroy(rt);
}

static void test_b45_recycle(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.recycle_after = 1;
    d.worker_threads = 1;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c[5];
    for (int i = 0; i < 5; i++) {
        make_code(&c[i], 450 + (unsigned)i, 0);
        CHECK(evmjit_compile_sync(rt, &c[i].hash, c[i].bytes, c[i].size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    }
    for (int i = 0; i < 5; i++) CHECK(run(rt, &c[i], EVMJIT_CANCUN) == 450 + i);
    CHECK(stats(rt).compiler_creates == 5 && atomic_load(&TB.creates) == 5 && atomic_load(&TB.destroys) == 5);
    destroy(rt);
}

/* ---- bad input, allocator, execution ---------------------------------------------------- */

static void expect_bad_desc(evmjit_runtime_desc *d, const char *setting) {
    evmjit_runtime *rt = (evmjit_runtime *)1;
    evmjit_error err = evmjit_runtime_create(d, &rt);
    CHECKF(err == EVMJIT_ERR_INVALID_ARGUMENT && rt == NULL, "%s: %s", setting, evmjit_error_name(err));
    CHECKF(log_has(setting), "the log names %s", setting);
}

/* A runtime whose test backend marks every JIT program provisional, upgraded after
   `threshold` hits. */
static evmjit_runtime *make_upgrading(evmjit_runtime_desc *d, uint64_t threshold) {
    atomic_store(&TB.provisional_min, 1);
    d->upgrade_threshold = threshold;
    return make(d);
}

/* Upgrades (not a numbered behaviour): a provisional program is compiled again once it has
   upgrade_threshold hits; the new program replaces it while a caller still runs the old
   one, whose code is freed after the last reference. */
static void test_upgrade(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make_upgrading(&d, 5);
    if (!rt) return;
    code c;
    make_code(&c, 77, 0);
    evmjit_program *p0 = NULL, *p1 = NULL;
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, &p0) == EVMJIT_OK);
    CHECK(p0 && p0->code_bytes == 1013 && stats(rt).provisional == 1);
    for (int i = 0; i < 4; i++) CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    sync_rt(rt);
    sync_rt(rt);
    CHECK(stats(rt).upgrades == 0 && atomic_load(&TB.upgrade_requests) == 0);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT); /* the fifth hit */
    WAIT_UNTIL(stats(rt).upgrades == 1, 2000);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.upgrades == 1 && s.provisional == 0 && s.resident_entries == 1 && s.resident_jit == 1);
    CHECK(s.jit_code_bytes == 1013 + 2013 && s.succeeded == 2);
    CHECK(evmjit_lookup(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, &p1) == EVMJIT_LOOKUP_HIT);
    CHECK(p1 && p1 != p0 && p1->code_bytes == 2013 && p1->kind == EVMJIT_PROGRAM_JIT);
    if (p1) evmjit_lookup_release(rt, p1);
    CHECK(run(rt, &c, EVMJIT_CANCUN) == 77);
    CHECK(p0 && run_program(rt, p0, &c) == 77); /* still valid: we hold a reference */
    evmjit_program_release(rt, p0);
    WAIT_UNTIL(stats(rt).jit_code_bytes == 2013, 2000);
    CHECK(stats(rt).jit_code_bytes == 2013 && stats(rt).programs_freed == 1);
    for (int i = 0; i < 20; i++) CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    sync_rt(rt);
    sync_rt(rt);
    CHECK(stats(rt).upgrades == 1 && atomic_load(&TB.upgrade_requests) == 1); /* once */
    destroy(rt);
}

/* A failed upgrade keeps the provisional program and is not retried; a clear during an
   upgrade discards its result; upgrade_threshold EVMJIT_OFF never upgrades. */
static void test_upgrade_fail_clear_off(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make_upgrading(&d, 1);
    if (!rt) return;
    code a, b;
    make_code(&a, 78, 0);
    make_code(&b, 79, 0);
    CHECK(evmjit_compile_sync(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    atomic_store(&TB.fail_byte, a.bytes[0]); /* every later compilation fails */
    CHECK(probe(rt, &a, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    WAIT_UNTIL(stats(rt).failed == 1, 2000);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.failed == 1 && s.upgrades == 0 && s.provisional == 0 && s.resident_entries == 1);
    CHECK(log_has("upgrade failed"));
    for (int i = 0; i < 10; i++) CHECK(probe(rt, &a, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    sync_rt(rt);
    sync_rt(rt);
    CHECK(atomic_load(&TB.upgrade_requests) == 1 && stats(rt).failed == 1); /* no retry */
    CHECK(run(rt, &a, EVMJIT_CANCUN) == 78);

    atomic_store(&TB.fail_byte, 0);
    atomic_store(&TB.upgrade_delay_ms, 5000);
    CHECK(evmjit_compile_sync(rt, &b.hash, b.bytes, b.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    CHECK(probe(rt, &b, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    WAIT_UNTIL(atomic_load(&TB.upgrade_requests) == 2, 2000);
    CHECK(atomic_load(&TB.upgrade_requests) == 2);
    uint64_t discarded = stats(rt).discarded;
    CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).discarded > discarded, 3000); /* the cancelled upgrade comes back */
    sync_rt(rt);
    s = stats(rt);
    CHECK(s.discarded == discarded + 1 && s.upgrades == 0 && s.resident_entries == 0 && s.provisional == 0);
    CHECK(probe(rt, &b, EVMJIT_CANCUN) == EVMJIT_LOOKUP_NOT_READY);
    destroy(rt);

    tb_reset();
    rt = make_upgrading(&d, EVMJIT_OFF);
    if (!rt) return;
    CHECK(evmjit_compile_sync(rt, &a.hash, a.bytes, a.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    for (int i = 0; i < 10; i++) CHECK(probe(rt, &a, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    sync_rt(rt);
    sync_rt(rt);
    CHECK(stats(rt).provisional == 0 && stats(rt).upgrades == 0 && atomic_load(&TB.upgrade_requests) == 0);
    destroy(rt);
}

/* An upgrade whose new entry cannot be allocated keeps the provisional program, logs why,
   and leaks neither memory nor the new code. */
static void test_upgrade_no_memory(void) {
    long live0 = atomic_load(&alloc_live_bytes);
    evmjit_runtime_desc d;
    base_desc(&d);
    d.allocator.alloc = count_alloc;
    d.allocator.free = count_free;
    evmjit_runtime *rt = make_upgrading(&d, 1);
    if (!rt) return;
    code c;
    make_code(&c, 81, 0);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, 2000, NULL) == EVMJIT_OK);
    atomic_store(&TB.upgrade_delay_ms, 200);
    CHECK(probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    WAIT_UNTIL(atomic_load(&TB.upgrade_requests) == 1, 2000); /* the job exists: it compiles */
    atomic_store(&alloc_fail, 1);
    WAIT_UNTIL(stats(rt).failed == 1, 3000);
    atomic_store(&alloc_fail, 0);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.failed == 1 && s.upgrades == 0 && s.provisional == 0 && s.resident_entries == 1);
    CHECK(log_has("out of memory"));
    CHECK(run(rt, &c, EVMJIT_CANCUN) == 81);
    destroy(rt);
    CHECK(atomic_load(&alloc_live_bytes) == live0 && atomic_load(&TB.live_code_bytes) == 0);
}

static void test_bad_input(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.ring_capacity = 1000;
    expect_bad_desc(&d, "ring_capacity");
    d.ring_capacity = 1;
    expect_bad_desc(&d, "ring_capacity");
    base_desc(&d);
    d.worker_threads = 65;
    expect_bad_desc(&d, "worker_threads");
    d.worker_threads = -2;
    expect_bad_desc(&d, "worker_threads");
    base_desc(&d);
    d.opt_level = 9;
    expect_bad_desc(&d, "opt_level");
    base_desc(&d);
    d.mode = (evmjit_compile_mode)7;
    expect_bad_desc(&d, "mode");
    d.mode = EVMJIT_MODE_AOT;
    expect_bad_desc(&d, "mode");
    base_desc(&d);
    d.allocator.alloc = count_alloc;
    expect_bad_desc(&d, "allocator");
    base_desc(&d);
    d.queue_per_worker = EVMJIT_OFF;
    expect_bad_desc(&d, "queue_per_worker");
    base_desc(&d);
    evmjit_backend half = TB_BACKEND;
    half.compile_jit = NULL;
    d.backend = &half;
    expect_bad_desc(&d, "backend");
    CHECK(evmjit_runtime_create(NULL, NULL) == EVMJIT_ERR_INVALID_ARGUMENT);

    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 50, 0);
    evmjit_program *p = (evmjit_program *)1;
    CHECK(evmjit_lookup(rt, NULL, c.bytes, c.size, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_INVALID && !p);
    CHECK(evmjit_lookup(rt, &c.hash, NULL, 5, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_INVALID);
    CHECK(evmjit_lookup(rt, &c.hash, c.bytes, c.size, (evmjit_revision)99, &p) == EVMJIT_LOOKUP_INVALID);
    CHECK(evmjit_lookup(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN, NULL) == EVMJIT_LOOKUP_INVALID);
    CHECK(evmjit_lookup(rt, &c.hash, NULL, 0, EVMJIT_CANCUN, &p) == EVMJIT_LOOKUP_INELIGIBLE);
    CHECK(evmjit_compile(NULL, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_compile(rt, NULL, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_compile(rt, &c.hash, NULL, 5, EVMJIT_CANCUN) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_compile(rt, &c.hash, c.bytes, c.size, (evmjit_revision)-1) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_compile(rt, &c.hash, NULL, 0, EVMJIT_CANCUN) == EVMJIT_ERR_INELIGIBLE);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, c.size, (evmjit_revision)99, 10, &p) == EVMJIT_ERR_INVALID_ARGUMENT && !p);
    CHECK(evmjit_compile_sync(rt, &c.hash, c.bytes, 0, EVMJIT_CANCUN, 10, NULL) == EVMJIT_ERR_INELIGIBLE);
    CHECK(evmjit_prepare_aot(rt, &c.hash, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_ERR_UNSUPPORTED); /* no store */
    CHECK(evmjit_prepare_aot(rt, NULL, c.bytes, c.size, EVMJIT_CANCUN) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_prepare_aot_batch(rt, NULL, 2, NULL) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_lookup_blocking(rt, &c.hash, c.bytes, c.size, (evmjit_revision)99, 10, &p) == EVMJIT_LOOKUP_INVALID);
    CHECK(evmjit_runtime_sync(NULL, 10) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_clear_resident(NULL) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_runtime_enable(NULL) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_runtime_pause(NULL) == 0 && evmjit_runtime_resume(NULL) == EVMJIT_ERR_INVALID_ARGUMENT);
    evmjit_runtime_disable(NULL);
    evmjit_lookup_release(rt, NULL);
    evmjit_program_release(rt, NULL);
    CHECK(evmjit_program_acquire(rt, NULL) == NULL);
    CHECK(evmjit_runtime_destroy(NULL) == EVMJIT_OK);
    CHECK(!strcmp(evmjit_lookup_outcome_name(EVMJIT_LOOKUP_HIT), "hit: run the compiled program"));
    CHECK(!strcmp(evmjit_lookup_outcome_name((evmjit_lookup_outcome)99), "unknown outcome"));
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.misses == 1 && s.hits == 0 && s.admitted == 0); /* only the valid, ineligible lookup */
    destroy(rt);
}

static void test_allocator(void) {
    long live0 = atomic_load(&alloc_live_bytes), calls0 = atomic_load(&alloc_calls);
    test_store ts;
    evmjit_artifact_store table;
    ts_init(&ts, &table);
    evmjit_runtime_desc d;
    aot_desc(&d, &table);
    d.allocator.alloc = count_alloc;
    d.allocator.free = count_free;
    d.hot_threshold = 2;
    evmjit_runtime *rt = make(&d);
    if (rt) {
        static code cs[40];
        for (int i = 0; i < 40; i++) { /* enough keys to grow the table and the maps */
            make_code(&cs[i], 600 + (unsigned)i, 0);
            CHECK(run(rt, &cs[i], EVMJIT_CANCUN) == 600 + i);
        }
        sync_rt(rt);
        for (int i = 0; i < 40; i++) CHECK(run(rt, &cs[i], EVMJIT_CANCUN) == 600 + i);
        WAIT_UNTIL(stats(rt).resident_entries == 40, 3000);
        CHECK(stats(rt).resident_entries == 40);
        CHECK(evmjit_prepare_aot(rt, &cs[0].hash, cs[0].bytes, cs[0].size, EVMJIT_CANCUN) == EVMJIT_OK);
        CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
        CHECK(evmjit_compile(rt, &cs[1].hash, cs[1].bytes, cs[1].size, EVMJIT_CANCUN) == EVMJIT_OK);
        sync_rt(rt);
        CHECK(atomic_load(&alloc_calls) > calls0 + 40);
        destroy(rt);
    }
    CHECK(atomic_load(&alloc_live_bytes) == live0 && atomic_load(&alloc_size_mismatch) == 0);
    CHECK(atomic_load(&alloc_calls) == atomic_load(&free_calls)); /* every allocation freed */
    CHECK(atomic_load(&TB.live_code_bytes) == 0 && atomic_load(&ts.live_handles) == 0);
    ts_fini(&ts);
}

static void test_execute(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.blocking = true;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    code c;
    make_code(&c, 77, 0);
    /* no code hash: computed once; the blocking runtime compiles, then runs native */
    evmjit_host_interface host;
    memset(&host, 0, sizeof host);
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = 100000;
    evmjit_result r = evmjit__runtime_execute(rt, &host, NULL, EVMJIT_CANCUN, &msg, c.bytes, c.size, NULL);
    CHECK(r.status_code == EVMJIT_SUCCESS && r.output_size == 32 && r.output_data[31] == 77);
    if (r.release) r.release(&r);
    CHECK(stats(rt).resident_entries == 1 && probe(rt, &c, EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT);
    r = evmjit__runtime_execute(rt, &host, NULL, EVMJIT_CANCUN, &msg, NULL, 0, NULL);
    CHECK(r.status_code == EVMJIT_SUCCESS && r.output_size == 0); /* empty code: STOP */
    if (r.release) r.release(&r);
    r = evmjit__runtime_execute(NULL, &host, NULL, EVMJIT_CANCUN, &msg, c.bytes, c.size, NULL);
    CHECK(r.status_code == EVMJIT_SUCCESS && r.output_size == 32 && r.output_data[31] == 77);
    if (r.release) r.release(&r);
    destroy(rt);
}

int main(void) {
    mtx_init(&log_mtx, mtx_plain);
    mtx_init(&TB.mtx, mtx_plain);
    mtx_init(&CB.mtx, mtx_plain);
    void (*tests[])(void) = {
        test_b01_defaults, test_b02_empty_store, test_b03_load_all_fails,
        test_b04_blocking_no_workers, test_b05_disabled, test_b06_miss, test_b07_toggle,
        test_b08_pause_nests, test_b09_ten_misses, test_b10_b11_shared, test_b12_b14_no_workers,
        test_b15_clear_empty, test_b16_tiny_ring, test_b17_pause_before_threads,
        test_b18_pause_running, test_b19_blocking, test_b20_max_code_default, test_b21_threshold,
        test_b22_max_code_small, test_b23_promote_then_clear, test_b24_b25_sync_compile,
        test_b26_shared_sync, test_b27_two_revisions, test_b28_idle_eviction,
        test_b29_last_reference, test_b30_budget, test_b31_b33_resident_lookups,
        test_b32_threshold_one, test_b34_clear_in_flight, test_b35_disable_during_compile,
        test_b36_callback, test_b37_b43_aot, test_b38_aot_mode, test_b44_cold_keys,
        test_b45_recycle, test_bad_input, test_allocator, test_execute, test_upgrade,
        test_upgrade_fail_clear_off, test_upgrade_no_memory,
    };
    /* the LLVM variant runs the [C] behaviours (19-45) and execution */
    static void (*const with_llvm[])(void) = {
        test_b19_blocking, test_b20_max_code_default, test_b21_threshold,
        test_b22_max_code_small, test_b23_promote_then_clear, test_b24_b25_sync_compile,
        test_b26_shared_sync, test_b27_two_revisions, test_b28_idle_eviction,
        test_b29_last_reference, test_b30_budget, test_b31_b33_resident_lookups,
        test_b32_threshold_one, test_b34_clear_in_flight, test_b35_disable_during_compile,
        test_b36_callback, test_b37_b43_aot, test_b38_aot_mode, test_b44_cold_keys,
        test_b45_recycle, test_execute,
    };
    size_t count = sizeof tests / sizeof tests[0];
#ifdef TEST_CACHE_WITH_LLVM
    TB_INNER = evmjit_llvm_backend();
    memcpy(tests, with_llvm, sizeof with_llvm);
    count = sizeof with_llvm / sizeof with_llvm[0];
    printf("test_cache: the [C] behaviours with the %s backend %s behind the test backend\n",
           TB_INNER->name, TB_INNER->version);
#else
    (void)with_llvm;
#endif
    for (size_t i = 0; i < count; i++) {
        tb_reset();
        long failed = check_failed;
        uint64_t t0 = ms_now();
        tests[i]();
        if (check_failed != failed) fprintf(stderr, "test #%zu failed\n", i);
        if (getenv("VERBOSE")) fprintf(stderr, "test #%zu: %llu ms\n", i, (unsigned long long)(ms_now() - t0));
    }
    CHECK(atomic_load(&TB.live_code_bytes) == 0 && atomic_load(&TB.same_key_overlaps) == 0);
    evmjit_thread_cleanup();
    mtx_destroy(&CB.mtx);
    mtx_destroy(&TB.mtx);
    mtx_destroy(&log_mtx);
    return check_summary();
}
