/* Concurrency properties of the code cache runtime (CACHE_BEHAVIOUR.md), with exact counts;
   test.sh runs this under ThreadSanitizer.
     - the event ring alone: every event carries a producer id and a sequence number; none is
       lost or duplicated, each producer's order holds, and popped + dropped == pushed;
     - every lookup is accounted exactly once: hits + misses + dropped == lookups;
     - no key is ever compiled twice at the same time, and without clears, evictions or
       failures each key is compiled exactly once;
     - a program executing while another thread clears or evicts it runs to completion, and
       its code is freed only after the last reference goes;
     - shutdown while compilations run finishes within the shutdown timeout and leaks nothing.
   Every wait is bounded; the whole program takes a few seconds even under TSan. */
#define EVMJIT_CACHE_IMPLEMENTATION
#define EVMJIT_READER_SLOTS 3 /* fewer records than threads: the overflow path runs too */
#include "evmjit_cache.h"

#include "cache_testlib.h"

/* ---- the ring: producer ids, sequence numbers, one consumer ------------------------------ */

#define RING_PRODUCERS 3
#define RING_EVENTS 40000

typedef struct producer {
    evmjit_runtime *rt;
    uint32_t id;
    long failed;
} producer;

static atomic_int producers_done;

static int producer_main(void *arg) {
    producer *p = (producer *)arg;
    for (uint64_t seq = 1; seq <= RING_EVENTS; seq++) {
        evmjit_bytes32 h;
        memset(&h, 0, sizeof h);
        memcpy(h.bytes, &p->id, 4);
        memcpy(h.bytes + 8, &seq, 8);
        if (!evmjit__ring_push(p->rt, &h, EVMJIT_CANCUN, EVMJIT__EV_UNKNOWN)) p->failed++;
        if (seq % 128 == 0) thrd_yield(); /* let the consumer in, even on one core */
    }
    atomic_fetch_add(&producers_done, 1);
    return 0;
}

static void test_ring_exact(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.enabled = false; /* no backend thread: this thread is the ring's consumer */
    d.ring_capacity = 1024;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    producer p[RING_PRODUCERS];
    thrd_t t[RING_PRODUCERS];
    atomic_store(&producers_done, 0);
    for (uint32_t i = 0; i < RING_PRODUCERS; i++) {
        p[i].rt = rt;
        p[i].id = i;
        p[i].failed = 0;
        CHECK(thrd_create(&t[i], producer_main, &p[i]) == thrd_success);
    }
    uint64_t last[RING_PRODUCERS] = {0}, popped[RING_PRODUCERS] = {0};
    long out_of_order = 0, bad_id = 0;
    uint64_t deadline = ms_now() + 20000;
    for (;;) {
        uint32_t kind;
        evmjit_revision rev;
        evmjit_bytes32 h;
        if (evmjit__ring_pop(rt, &kind, &rev, &h)) {
            uint32_t id;
            uint64_t seq;
            memcpy(&id, h.bytes, 4);
            memcpy(&seq, h.bytes + 8, 8);
            if (id >= RING_PRODUCERS || kind != EVMJIT__EV_UNKNOWN || rev != EVMJIT_CANCUN) {
                bad_id++;
                continue;
            }
            if (seq <= last[id]) out_of_order++; /* also catches duplicates */
            last[id] = seq;
            popped[id]++;
            continue;
        }
        if (atomic_load(&producers_done) == RING_PRODUCERS &&
            atomic_load_explicit(&rt->ring_head, memory_order_relaxed) ==
                atomic_load_explicit(&rt->ring_tail, memory_order_relaxed))
            break;
        if (ms_now() > deadline) break;
        thrd_yield();
    }
    for (int i = 0; i < RING_PRODUCERS; i++) thrd_join(t[i], NULL);
    CHECK(bad_id == 0 && out_of_order == 0);
    CHECK(popped[0] + popped[1] + popped[2] > 1024); /* the consumer ran alongside */
    long failed = 0;
    for (int i = 0; i < RING_PRODUCERS; i++) {
        CHECKF(popped[i] + (uint64_t)p[i].failed == RING_EVENTS, "producer %d: popped %llu failed %ld", i,
               (unsigned long long)popped[i], p[i].failed);
        failed += p[i].failed;
    }
    CHECK(stats(rt).dropped_events == (uint64_t)failed && stats(rt).queued_events == 0);
    if (getenv("VERBOSE"))
        fprintf(stderr, "ring: %llu popped, %ld dropped\n",
                (unsigned long long)(popped[0] + popped[1] + popped[2]), failed);
    destroy(rt);
}

/* ---- every lookup is accounted exactly once ----------------------------------------------- */

#define KEYS 48

typedef struct mixer {
    evmjit_runtime *rt;
    const code *keys;
    int id, n;
    long outcomes[EVMJIT_LOOKUP_OUTCOME_COUNT];
    long wrong_output;
} mixer;

static int mixer_main(void *arg) {
    mixer *m = (mixer *)arg;
    for (int i = 0; i < m->n; i++) {
        const code *c = &m->keys[(i * 7 + m->id * 13) % KEYS];
        evmjit_program *p = NULL;
        evmjit_lookup_outcome o = evmjit_lookup(m->rt, &c->hash, c->bytes, c->size, EVMJIT_CANCUN, &p);
        m->outcomes[o]++;
        if (i % 500 == 499) sleep_ms(1); /* spread over time: the backend drains in between */
        if (o == EVMJIT_LOOKUP_HIT) {
            if (i % 8 == 0 && run_program(m->rt, p, c) != (long)(1000 + (c - m->keys))) m->wrong_output++;
            evmjit_lookup_release(m->rt, p);
        } else if (o == EVMJIT_LOOKUP_WANT_CODE) {
            evmjit_compile(m->rt, &c->hash, c->bytes, c->size, EVMJIT_CANCUN);
        }
    }
    return 0;
}

static code keys[KEYS];

static void test_accounting(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = 2;
    d.ring_capacity = 1024; /* small: some events are dropped */
    d.wake_interval_ms = 5;
    d.drain_batch = 64;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.delay_ms, 1);
    mixer m[4];
    thrd_t t[4];
    for (int i = 0; i < 4; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].rt = rt;
        m[i].keys = keys;
        m[i].id = i;
        m[i].n = 15000;
        CHECK(thrd_create(&t[i], mixer_main, &m[i]) == thrd_success);
    }
    for (int k = 0; k < 6; k++) { /* clears while lookups and compilations go on */
        sleep_ms(15);
        CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    }
    long total = 0, hits = 0, wrong = 0;
    for (int i = 0; i < 4; i++) {
        thrd_join(t[i], NULL);
        for (int o = 0; o < EVMJIT_LOOKUP_OUTCOME_COUNT; o++) total += m[i].outcomes[o];
        hits += m[i].outcomes[EVMJIT_LOOKUP_HIT];
        wrong += m[i].wrong_output;
        CHECK(m[i].outcomes[EVMJIT_LOOKUP_INVALID] == 0 && m[i].outcomes[EVMJIT_LOOKUP_DISABLED] == 0);
    }
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(total == 60000 && wrong == 0);
    CHECKF(s.hits == (uint64_t)hits, "hits %llu, seen %ld", (unsigned long long)s.hits, hits);
    CHECKF(s.hits + s.misses + s.dropped_events == (uint64_t)total, "hits %llu misses %llu dropped %llu",
           (unsigned long long)s.hits, (unsigned long long)s.misses, (unsigned long long)s.dropped_events);
    CHECK(atomic_load(&rt->hits_overflow) > 0); /* a thread without a record hit too */
    CHECKF(hits > 0 && s.generation == 6, "hits %ld generation %llu", hits, (unsigned long long)s.generation);
    CHECK(atomic_load(&TB.same_key_overlaps) == 0);
    if (getenv("VERBOSE"))
        fprintf(stderr, "accounting: %ld lookups, %llu hits, %llu misses, %llu dropped, %llu compiled\n",
                total, (unsigned long long)s.hits, (unsigned long long)s.misses,
                (unsigned long long)s.dropped_events, (unsigned long long)s.succeeded);
    atomic_store(&TB.delay_ms, 0);
    destroy(rt);
    CHECK(atomic_load(&TB.live_code_bytes) == 0);
}

/* ---- no double compilation ----------------------------------------------------------------- */

typedef struct runner {
    evmjit_runtime *rt;
    int id;
    long wrong;
} runner;

static int runner_main(void *arg) {
    runner *r = (runner *)arg;
    for (int round = 0; round < 15; round++)
        for (int k = 0; k < KEYS; k++) {
            const code *c = &keys[(k + r->id * 11) % KEYS];
            if (run(r->rt, c, EVMJIT_CANCUN) != 1000 + (c - keys)) r->wrong++;
        }
    return 0;
}

static void test_no_double_compilation(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = 1; /* every miss of an unknown key hands over its code */
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.delay_ms, 3);
    runner r[4];
    thrd_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i].rt = rt;
        r[i].id = i;
        r[i].wrong = 0;
        CHECK(thrd_create(&t[i], runner_main, &r[i]) == thrd_success);
    }
    for (int i = 0; i < 4; i++) {
        thrd_join(t[i], NULL);
        CHECK(r[i].wrong == 0);
    }
    WAIT_UNTIL(stats(rt).resident_entries == KEYS, 5000);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.resident_entries == KEYS && s.succeeded == KEYS && s.failed == 0 && s.discarded == 0);
    CHECKF(atomic_load(&TB.jit_compiles) == KEYS, "%ld compilations of %d keys", atomic_load(&TB.jit_compiles), KEYS);
    CHECK(atomic_load(&TB.same_key_overlaps) == 0);
    atomic_store(&TB.delay_ms, 0);
    destroy(rt);
}

/* ---- programs keep running while cleared or evicted ------------------------------------- */

/* JUMPDEST PUSH1 0 JUMP: loops until the gas runs out (12 gas per iteration). */
static const uint8_t loop_code[] = {0x5b, 0x60, 0x00, 0x56};

typedef struct long_run {
    evmjit_runtime *rt;
    evmjit_program *counted; /* run this (a counted reference) instead of looking up */
    atomic_int running;
    evmjit_status_code status;
    long frees_before_release;
} long_run;

static int long_run_main(void *arg) {
    long_run *l = (long_run *)arg;
    evmjit_bytes32 h = evmjit_keccak256(loop_code, sizeof loop_code);
    evmjit_program *p = l->counted;
    if (!p && evmjit_lookup(l->rt, &h, loop_code, sizeof loop_code, EVMJIT_CANCUN, &p) != EVMJIT_LOOKUP_HIT) {
        atomic_store(&l->running, -1);
        return 0;
    }
    atomic_store(&l->running, 1);
    evmjit_host_interface host;
    memset(&host, 0, sizeof host);
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = 1200000; /* 100000 iterations */
    evmjit_result r = evmjit__run_frame(p->fn, l->rt, &host, NULL, EVMJIT_CANCUN, &msg, loop_code, sizeof loop_code);
    l->status = r.status_code;
    if (r.release) r.release(&r);
    l->frees_before_release = atomic_load(&TB.code_frees);
    if (l->counted) evmjit_program_release(l->rt, p);
    else evmjit_lookup_release(l->rt, p);
    atomic_store(&l->running, 2);
    return 0;
}

/* Compiles loop_code and readies l for long_run_main (counted: keep a counted reference). */
static void long_run_prepare(long_run *l, evmjit_runtime *rt, bool counted) {
    evmjit_bytes32 h = evmjit_keccak256(loop_code, sizeof loop_code);
    memset(l, 0, sizeof *l);
    l->rt = rt;
    CHECK(evmjit_compile_sync(rt, &h, loop_code, sizeof loop_code, EVMJIT_CANCUN, 3000,
                              counted ? &l->counted : NULL) == EVMJIT_OK);
}

/* how: 0 clear, 1 idle eviction, 2 budget eviction (with a counted reference) */
static void run_while_removed(int how) {
    evmjit_runtime_desc d;
    base_desc(&d);
    if (how == 1) {
        d.idle_eviction_ms = 20;
        d.sweep_interval_ms = 5;
    }
    if (how == 2) d.jit_budget_bytes = 1;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    long_run l;
    long_run_prepare(&l, rt, how == 2);
    thrd_t t;
    CHECK(thrd_create(&t, long_run_main, &l) == thrd_success);
    WAIT_UNTIL(atomic_load(&l.running) != 0, 3000);
    CHECK(atomic_load(&l.running) == 1 || atomic_load(&l.running) == 2);
    if (how == 0) CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).resident_entries == 0, 3000); /* removed while (probably) running */
    CHECK(stats(rt).resident_entries == 0);
    thrd_join(t, NULL);
    CHECK(l.status == EVMJIT_OUT_OF_GAS);   /* ran to its end, as the interpreter would */
    CHECK(l.frees_before_release == 0);     /* its code outlived the removal */
    WAIT_UNTIL(atomic_load(&TB.code_frees) == 1, 3000);
    CHECK(atomic_load(&TB.code_frees) == 1 && stats(rt).jit_code_bytes == 0);
    CHECK(how != 1 || stats(rt).evictions_idle == 1);
    CHECK(how != 2 || stats(rt).evictions_budget == 1);
    destroy(rt);
}

static void test_run_while_removed(void) {
    for (int how = 0; how < 3; how++) {
        tb_reset();
        run_while_removed(how);
    }
}

/* Many short executions while another thread clears every few milliseconds. */
static atomic_int churn_stop;

static int churn_main(void *arg) {
    runner *r = (runner *)arg;
    for (int i = 0; !atomic_load(&churn_stop) && i < 200000; i++) {
        const code *c = &keys[(i + r->id) % 8];
        if (run(r->rt, c, EVMJIT_CANCUN) != 1000 + (c - keys)) r->wrong++;
    }
    return 0;
}

/* Starts three churn_main threads on rt / stops them and checks that none got a wrong
   answer. */
static void churn_start(evmjit_runtime *rt, runner r[3], thrd_t t[3]) {
    atomic_store(&churn_stop, 0);
    for (int i = 0; i < 3; i++) {
        r[i].rt = rt;
        r[i].id = i;
        r[i].wrong = 0;
        CHECK(thrd_create(&t[i], churn_main, &r[i]) == thrd_success);
    }
}
static void churn_join(runner r[3], thrd_t t[3]) {
    atomic_store(&churn_stop, 1);
    for (int i = 0; i < 3; i++) {
        thrd_join(t[i], NULL);
        CHECK(r[i].wrong == 0);
    }
}

static void test_churn(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = 1;
    d.wake_interval_ms = 2;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    runner r[3];
    thrd_t t[3];
    churn_start(rt, r, t);
    for (int k = 0; k < 60; k++) {
        sleep_ms(3);
        CHECK(evmjit_clear_resident(rt) == EVMJIT_OK);
    }
    churn_join(r, t);
    sync_rt(rt);
    CHECK(atomic_load(&TB.same_key_overlaps) == 0 && stats(rt).hits > 0);
    destroy(rt);
    CHECK(atomic_load(&TB.live_code_bytes) == 0);
}

/* A provisional program executing while its upgrade replaces it runs to completion and its
   code is freed only after the last reference goes; meanwhile three threads run eight
   provisional keys (churn_main), each upgraded once, and always get the right answer. */
static void test_run_while_upgraded(void) {
    atomic_store(&TB.provisional_min, 1);
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = 1;
    d.upgrade_threshold = 1;
    d.wake_interval_ms = 2;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    long_run l;
    long_run_prepare(&l, rt, false);
    runner r[3];
    thrd_t t[3], lt;
    churn_start(rt, r, t);
    CHECK(thrd_create(&lt, long_run_main, &l) == thrd_success); /* its lookup is the trigger */
    WAIT_UNTIL(stats(rt).upgrades == 9, 10000);
    churn_join(r, t);
    thrd_join(lt, NULL);
    CHECK(l.running == 2 && l.status == EVMJIT_OUT_OF_GAS);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.upgrades == 9 && s.provisional == 0 && s.resident_entries == 9);
    CHECK(atomic_load(&TB.upgrade_requests) == 9 && atomic_load(&TB.same_key_overlaps) == 0);
    WAIT_UNTIL(atomic_load(&TB.code_frees) == 9, 3000); /* the nine provisional programs */
    CHECK(atomic_load(&TB.code_frees) == 9 && stats(rt).programs_freed == 9);
    destroy(rt);
    CHECK(atomic_load(&TB.live_code_bytes) == 0);
}

/* ---- shutdown while compiling --------------------------------------------------------------- */

static void test_shutdown_while_compiling(void) {
    long live0 = atomic_load(&alloc_live_bytes);
    evmjit_runtime_desc d;
    base_desc(&d);
    d.allocator.alloc = count_alloc;
    d.allocator.free = count_free;
    d.shutdown_timeout_ms = 1000;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.delay_ms, 10000); /* cancellable */
    for (int i = 0; i < 10; i++)
        CHECK(evmjit_compile(rt, &keys[i].hash, keys[i].bytes, keys[i].size, EVMJIT_CANCUN) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).dispatched == 10, 3000);
    sleep_ms(20); /* both workers are inside a compilation */
    uint64_t t0 = ms_now();
    CHECK(evmjit_runtime_destroy(rt) == EVMJIT_OK);
    uint64_t took = ms_now() - t0;
    CHECKF(took < 1000, "shutdown took %llu ms", (unsigned long long)took);
    CHECK(atomic_load(&TB.cancelled) >= 1);
    CHECK(atomic_load(&TB.creates) == atomic_load(&TB.destroys)); /* every compiler destroyed */
    CHECK(atomic_load(&TB.live_code_bytes) == 0);
    CHECK(atomic_load(&alloc_live_bytes) == live0); /* nothing leaked */
    atomic_store(&TB.delay_ms, 0);

    /* a compiler that ignores cancellation: destroy gives up at the timeout and says so */
    base_desc(&d);
    d.shutdown_timeout_ms = 100;
    rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.ignore_cancel, 1);
    atomic_store(&TB.delay_ms, 400);
    CHECK(evmjit_compile(rt, &keys[0].hash, keys[0].bytes, keys[0].size, EVMJIT_CANCUN) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).dispatched == 1, 3000);
    sleep_ms(20);
    t0 = ms_now();
    CHECK(evmjit_runtime_destroy(rt) == EVMJIT_ERR_TIMEOUT); /* threads detached; rt leaked */
    took = ms_now() - t0;
    CHECKF(took >= 90 && took < 350, "gave up after %llu ms", (unsigned long long)took);
    CHECK(log_has("shutdown_timeout_ms"));
    sleep_ms(600); /* let the detached worker finish before the process ends */
    atomic_store(&TB.ignore_cancel, 0);
    atomic_store(&TB.delay_ms, 0);
}

int main(void) {
    mtx_init(&log_mtx, mtx_plain);
    mtx_init(&TB.mtx, mtx_plain);
    for (int i = 0; i < KEYS; i++) make_code(&keys[i], 1000 + (unsigned)i, 0);
    /* the interpreter's one-time set-up happens here, before any thread races for it */
    CHECK(run(NULL, &keys[0], EVMJIT_CANCUN) == 1000);
    void (*tests[])(void) = {
        test_ring_exact, test_accounting, test_no_double_compilation, test_run_while_removed,
        test_churn, test_run_while_upgraded, test_shutdown_while_compiling,
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        tb_reset();
        long failed = check_failed;
        uint64_t t0 = ms_now();
        tests[i]();
        if (check_failed != failed) fprintf(stderr, "test #%zu failed\n", i);
        if (getenv("VERBOSE")) fprintf(stderr, "test #%zu: %llu ms\n", i, (unsigned long long)(ms_now() - t0));
    }
    evmjit_thread_cleanup();
    /* TB.mtx and log_mtx stay: the detached worker of the timeout test used them */
    return check_summary();
}
