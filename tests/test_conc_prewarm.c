/* Prewarm sessions (evmjit_prewarm_*), with exact counts; test.sh runs this under
   ThreadSanitizer too.
     - promotion order: with the runtime paused and one compiler worker, compilations run by
       the index of the transaction that first touched each code (codes lists by the index
       given, ties in arrival order), before other requests;
     - de-duplication: many workers touching a pool of codes promote each exactly once;
     - set_executed: transactions the sequential executor passed are skipped, exactly;
     - stop while callbacks run: running callbacks finish and see the flag, nothing else
       starts, later touches are ignored; stop from a callback;
     - finish with and without commit: without, the promotions no compiler started are taken
       back (pending and queued), running and shared ones go on; with, all compile;
     - failing callbacks are counted; fewer transactions than the minimum run nothing;
     - streaming submission while workers run: every transaction runs once with its pointer;
     - racing with evmjit_clear_resident: accounting identities hold, no key is compiled twice
       at once, nothing stale stays resident, nothing leaks;
     - evmjit_execute touches every frame (nested ones too) when the session asks for it;
     - OBSERVE mode, limits, ineligible and resident codes, settings, misuse, finish timeout.
   Every wait is bounded. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include "cache_testlib.h"

/* ---- a backend that records the order of compilations (the test backend underneath) ----- */

static mtx_t rec_mtx;
static unsigned rec_log[512];
static int rec_n;
static atomic_int rec_started; /* compilations that began */

static unsigned code_value(const uint8_t *bytes) {
    return (unsigned)bytes[1] << 16 | (unsigned)bytes[2] << 8 | bytes[3];
}

static evmjit_error rec_compile_jit(void *user, void *compiler, const evmjit_compile_request *req,
                                    evmjit_compile_output *out) {
    mtx_lock(&rec_mtx);
    if (rec_n < 512) rec_log[rec_n++] = code_value(req->code);
    mtx_unlock(&rec_mtx);
    atomic_fetch_add(&rec_started, 1);
    return tb_compile_jit(user, compiler, req, out);
}

static const evmjit_backend REC_BACKEND = {
    "test", "1.0", NULL, tb_create, tb_destroy, rec_compile_jit, tb_compile_aot,
    tb_free_code, tb_free_object,
};

static void rec_reset(void) {
    mtx_lock(&rec_mtx);
    rec_n = 0;
    mtx_unlock(&rec_mtx);
    atomic_store(&rec_started, 0);
}

static int rec_count(void) {
    mtx_lock(&rec_mtx);
    int n = rec_n;
    mtx_unlock(&rec_mtx);
    return n;
}

/* ---- codes -------------------------------------------------------------------------------- */

#define POOL 64
static code pool[POOL];  /* values 100 + i */
static code extra[32];   /* values 2000 + i */
static code big;         /* 24577 bytes: over the default max_code_size */

static evmjit_code_ref ref_of(const code *c) {
    evmjit_code_ref r;
    r.code_hash = c->hash;
    r.code = c->bytes;
    r.code_size = c->size;
    r.rev = EVMJIT_CANCUN;
    return r;
}

static evmjit_error touch(const evmjit_prewarm_tx *tx, const code *c) {
    return evmjit_prewarm_touch(tx, &c->hash, c->bytes, c->size, EVMJIT_CANCUN);
}

static evmjit_prewarm *begin(evmjit_runtime *rt, const evmjit_prewarm_desc *d) {
    evmjit_prewarm *pw = NULL;
    evmjit_error err = evmjit_prewarm_begin(rt, d, &pw);
    CHECKF(err == EVMJIT_OK && pw, "prewarm_begin: %s", evmjit_error_name(err));
    return pw;
}

static evmjit_prewarm_report finish(evmjit_prewarm *pw, bool commit) {
    evmjit_prewarm_report r;
    memset(&r, 0, sizeof r);
    evmjit_error err = evmjit_prewarm_finish(pw, commit, &r);
    CHECKF(err == EVMJIT_OK, "prewarm_finish: %s", evmjit_error_name(err));
    CHECKF(r.submitted == r.run + r.skipped + r.not_run, "%llu submitted != %llu run + %llu "
           "skipped + %llu not run", (unsigned long long)r.submitted, (unsigned long long)r.run,
           (unsigned long long)r.skipped, (unsigned long long)r.not_run);
    CHECK(r.codes_touched == r.already_resident + r.ineligible + r.over_limit + r.rejected_full +
                                 r.promoted);
    CHECK(r.elapsed_ns > 0);
    return r;
}

/* Callback state shared by several tests. */
static atomic_int cb_calls, cb_gate, cb_in, cb_saw_stop, cb_stopped_touches;
static atomic_int cb_seen[1024];

static void cb_reset(void) {
    atomic_store(&cb_calls, 0);
    atomic_store(&cb_gate, 0);
    atomic_store(&cb_in, 0);
    atomic_store(&cb_saw_stop, 0);
    atomic_store(&cb_stopped_touches, 0);
    for (int i = 0; i < 1024; i++) atomic_store(&cb_seen[i], 0);
}

/* Waits (at most 5 s) for the test to open the gate. */
static void cb_wait_gate(void) {
    for (int i = 0; i < 5000 && !atomic_load(&cb_gate); i++) sleep_ms(1);
}

/* ---- 1. promotion order ------------------------------------------------------------------ */

/* tx i touches pool[i], then pool[50] (shared) three times, then pool[i] again */
static evmjit_error order_cb(const evmjit_prewarm_tx *tx) {
    int i = (int)tx->index;
    touch(tx, &pool[i]);
    for (int k = 0; k < 3; k++) touch(tx, &pool[50]);
    touch(tx, &pool[i]);
    atomic_fetch_add(&cb_calls, 1);
    return EVMJIT_OK;
}

static void test_promotion_order(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.backend = &REC_BACKEND;
    d.worker_threads = 1;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    rec_reset();
    evmjit_runtime_pause(rt); /* everything admitted waits in the pending heap */
    CHECK(evmjit_compile(rt, &extra[9].hash, extra[9].bytes, extra[9].size, EVMJIT_CANCUN) == EVMJIT_OK);

    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.execute = order_cb;
    pd.worker_threads = 1; /* first touches arrive in transaction order */
    evmjit_prewarm *pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    /* a codes list, arriving in the reverse of its priority: extra[k] as if touched by 9 - 2k */
    for (int k = 0; k < 5; k++) {
        evmjit_code_ref r = ref_of(&extra[k]);
        CHECK(evmjit_prewarm_submit_codes(pw, &r, 1, (uint64_t)(9 - 2 * k)) == EVMJIT_OK);
    }
    uint64_t first = 99;
    CHECK(evmjit_prewarm_submit(pw, NULL, 10, &first) == EVMJIT_OK && first == 0);
    WAIT_UNTIL(atomic_load(&cb_calls) == 10, 5000);
    evmjit_prewarm_report r = finish(pw, true);
    CHECK(r.run == 10 && r.skipped == 0 && r.not_run == 0 && r.errors == 0);
    CHECKF(r.touches == 50, "touches %llu", (unsigned long long)r.touches);
    CHECK(r.codes_touched == 16 && r.promoted == 16 && r.already_resident == 0);
    sync_rt(rt);
    CHECK(stats(rt).prewarm_requests == 16 && rec_count() == 0);

    CHECK(evmjit_runtime_resume(rt) == EVMJIT_OK);
    WAIT_UNTIL(rec_count() == 17 && stats(rt).succeeded == 17, 5000);
    /* by (transaction index, arrival): pool[i] at i, pool[50] at 0 after pool[0], extra[k]
       at 9 - 2k before pool[9 - 2k]; then the plain evmjit_compile */
    static const unsigned want[17] = {100, 150, 2004, 101, 102, 2003, 103, 104, 2002, 105,
                                      106, 2001, 107, 108, 2000, 109, 2009};
    int n = rec_count(), wrong = 0;
    for (int i = 0; i < 17 && i < n; i++)
        if (rec_log[i] != want[i]) wrong++;
    CHECKF(n == 17 && wrong == 0, "%d compilations, %d out of order", n, wrong);
    if (wrong)
        for (int i = 0; i < n; i++) fprintf(stderr, "  #%d: %u (want %u)\n", i, rec_log[i], want[i]);
    CHECK(atomic_load(&TB.jit_compiles) == 17);
    destroy(rt);
}

/* ---- 2. de-duplication across workers ---------------------------------------------------- */

/* 6 codes of a 40-code pool, each touched twice */
static evmjit_error dedup_cb(const evmjit_prewarm_tx *tx) {
    for (int k = 0; k < 6; k++) {
        const code *c = &pool[(tx->index * 7 + (uint64_t)k * 13) % 40];
        if (touch(tx, c) != EVMJIT_OK) atomic_fetch_add(&cb_saw_stop, 1);
        touch(tx, c);
    }
    atomic_fetch_add(&cb_calls, 1);
    return EVMJIT_OK;
}

static void test_dedup(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.execute = dedup_cb;
    pd.worker_threads = 4;
    evmjit_prewarm *pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, NULL, 300, NULL) == EVMJIT_OK);
    WAIT_UNTIL(atomic_load(&cb_calls) == 300, 10000);
    evmjit_prewarm_report r = finish(pw, true);
    CHECK(r.run == 300 && r.touches == 3600 && atomic_load(&cb_saw_stop) == 0);
    CHECKF(r.codes_touched == 40 && r.promoted == 40, "codes %llu, promoted %llu",
           (unsigned long long)r.codes_touched, (unsigned long long)r.promoted);
    WAIT_UNTIL(stats(rt).succeeded == 40, 5000);
    sleep_ms(30);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.prewarm_requests == 40 && s.admitted == 40 && s.succeeded == 40);
    CHECK(atomic_load(&TB.jit_compiles) == 40 && atomic_load(&TB.same_key_overlaps) == 0);
    long hits = 0;
    for (int i = 0; i < 40; i++) hits += probe(rt, &pool[i], EVMJIT_CANCUN) == EVMJIT_LOOKUP_HIT;
    CHECK(hits == 40);
    destroy(rt);
}

/* ---- 3. set_executed ---------------------------------------------------------------------- */

static evmjit_error skip_cb(const evmjit_prewarm_tx *tx) {
    atomic_fetch_add(&cb_seen[tx->index], 1);
    if (tx->index == 0) {
        atomic_store(&cb_in, 1);
        cb_wait_gate();
    }
    atomic_fetch_add(&cb_calls, 1);
    return EVMJIT_OK;
}

static void test_set_executed(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.execute = skip_cb;
    pd.worker_threads = 1;
    evmjit_prewarm *pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, NULL, 100, NULL) == EVMJIT_OK);
    WAIT_UNTIL(atomic_load(&cb_in) == 1, 5000);
    evmjit_prewarm_set_executed(pw, 49); /* 0..49 passed; 1..49 have not started */
    evmjit_prewarm_set_executed(pw, 10); /* lower: ignored */
    atomic_store(&cb_gate, 1);
    WAIT_UNTIL(atomic_load(&cb_calls) == 51, 5000);
    evmjit_prewarm_report r = finish(pw, true);
    CHECKF(r.run == 51 && r.skipped == 49 && r.not_run == 0, "run %llu skipped %llu",
           (unsigned long long)r.run, (unsigned long long)r.skipped);
    int wrong = 0;
    for (int i = 0; i < 100; i++) wrong += atomic_load(&cb_seen[i]) != (i == 0 || i >= 50);
    CHECK(wrong == 0);

    /* passed before they were even submitted; and passed after the last claim (counted at
       finish) */
    cb_reset();
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    evmjit_prewarm_set_executed(pw, 10);
    CHECK(evmjit_prewarm_submit(pw, NULL, 20, NULL) == EVMJIT_OK);
    WAIT_UNTIL(atomic_load(&cb_calls) == 9, 5000);
    sleep_ms(20);
    evmjit_prewarm_set_executed(pw, 29); /* beyond what was submitted */
    r = finish(pw, true);
    CHECK(r.submitted == 20 && r.run == 9 && r.skipped == 11 && r.not_run == 0);
    wrong = 0;
    for (int i = 0; i < 20; i++) wrong += atomic_load(&cb_seen[i]) != (i >= 11);
    CHECK(wrong == 0);
    destroy(rt);
}

/* ---- 4. stop while callbacks run ---------------------------------------------------------- */

static evmjit_error stop_cb(const evmjit_prewarm_tx *tx) {
    atomic_fetch_add(&cb_in, 1);
    cb_wait_gate();
    atomic_fetch_add(&cb_saw_stop, evmjit_prewarm_stopped(tx->session));
    if (touch(tx, &extra[tx->index % 32]) == EVMJIT_ERR_STOPPED) atomic_fetch_add(&cb_stopped_touches, 1);
    atomic_fetch_add(&cb_calls, 1);
    return EVMJIT_OK;
}

/* tx 5 stops the session itself */
static evmjit_error self_stop_cb(const evmjit_prewarm_tx *tx) {
    atomic_fetch_add(&cb_seen[tx->index], 1);
    if (tx->index == 5) evmjit_prewarm_stop(tx->session);
    /* its own callback cannot finish a session (it would wait for itself) */
    if (evmjit_prewarm_finish(tx->session, true, NULL) == EVMJIT_ERR_INVALID_ARGUMENT)
        atomic_fetch_add(&cb_saw_stop, 1);
    atomic_fetch_add(&cb_calls, 1);
    return EVMJIT_OK;
}

static void test_stop(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.execute = stop_cb;
    pd.worker_threads = 2;
    evmjit_prewarm *pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, NULL, 50, NULL) == EVMJIT_OK);
    WAIT_UNTIL(atomic_load(&cb_in) == 2, 5000); /* both workers inside a callback */
    CHECK(!evmjit_prewarm_stopped(pw));
    evmjit_prewarm_stop(pw);
    evmjit_prewarm_stop(pw); /* idempotent */
    CHECK(evmjit_prewarm_stopped(pw));
    CHECK(evmjit_prewarm_submit(pw, NULL, 1, NULL) == EVMJIT_ERR_STOPPED);
    evmjit_code_ref cr = ref_of(&pool[0]);
    CHECK(evmjit_prewarm_submit_codes(pw, &cr, 1, 0) == EVMJIT_ERR_STOPPED);
    atomic_store(&cb_gate, 1);
    evmjit_prewarm_report r = finish(pw, true); /* waits for the two running callbacks */
    CHECK(atomic_load(&cb_calls) == 2 && atomic_load(&cb_saw_stop) == 2);
    CHECK(atomic_load(&cb_stopped_touches) == 2);
    CHECK(r.run == 2 && r.not_run == 48 && r.skipped == 0);
    CHECK(r.touches == 2 && r.ignored_touches == 2 && r.codes_touched == 0 && r.promoted == 0);
    sync_rt(rt);
    CHECK(stats(rt).prewarm_requests == 0);

    cb_reset();
    pd.execute = self_stop_cb;
    pd.worker_threads = 1;
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, NULL, 20, NULL) == EVMJIT_OK);
    WAIT_UNTIL(evmjit_prewarm_stopped(pw), 5000);
    r = finish(pw, true);
    CHECK(r.run == 6 && r.not_run == 14 && atomic_load(&cb_calls) == 6);
    CHECK(atomic_load(&cb_saw_stop) == 6);
    int wrong = 0;
    for (int i = 0; i < 20; i++) wrong += atomic_load(&cb_seen[i]) != (i <= 5);
    CHECK(wrong == 0);
    destroy(rt);
}

/* ---- 5. finish with and without commit --------------------------------------------------- */

static void probe_all(evmjit_runtime *rt, const code *c, int n, evmjit_lookup_outcome want,
                      int line) {
    int wrong = 0;
    for (int i = 0; i < n; i++) wrong += probe(rt, &c[i], EVMJIT_CANCUN) != want;
    CHECKF(wrong == 0, "line %d: %d of %d not '%s'", line, wrong, n, evmjit_lookup_outcome_name(want));
}

static void test_commit(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.backend = &REC_BACKEND;
    d.worker_threads = 1;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    rec_reset();
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd); /* no callback: codes lists only */

    /* without commit, paused: five promotions only this session made are taken back; the one
       the user also asked for (extra[5]) stays */
    evmjit_runtime_pause(rt);
    evmjit_prewarm *pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    evmjit_code_ref refs[6];
    for (int i = 0; i < 6; i++) refs[i] = ref_of(&extra[i]);
    CHECK(evmjit_prewarm_submit_codes(pw, refs, 6, 0) == EVMJIT_OK);
    CHECK(evmjit_compile(rt, &extra[5].hash, extra[5].bytes, extra[5].size, EVMJIT_CANCUN) == EVMJIT_OK);
    evmjit_prewarm_report r = finish(pw, false);
    CHECKF(r.promoted == 6 && r.cancelled == 5, "promoted %llu cancelled %llu",
           (unsigned long long)r.promoted, (unsigned long long)r.cancelled);
    sync_rt(rt);
    CHECK(stats(rt).cancelled == 5 && stats(rt).pending_jobs == 1);
    CHECK(evmjit_runtime_resume(rt) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).succeeded == 1, 5000);
    sleep_ms(50);
    sync_rt(rt);
    CHECK(rec_count() == 1 && rec_log[0] == 2005 && stats(rt).pending_jobs == 0);
    probe_all(rt, extra, 5, EVMJIT_LOOKUP_NOT_READY, __LINE__); /* forgotten */
    probe_all(rt, &extra[5], 1, EVMJIT_LOOKUP_HIT, __LINE__);

    /* with commit, paused: all five compile after the session is gone */
    evmjit_runtime_pause(rt);
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    for (int i = 0; i < 5; i++) refs[i] = ref_of(&extra[10 + i]);
    CHECK(evmjit_prewarm_submit_codes(pw, refs, 5, 0) == EVMJIT_OK);
    r = finish(pw, true);
    CHECK(r.promoted == 5 && r.cancelled == 0);
    CHECK(evmjit_runtime_resume(rt) == EVMJIT_OK);
    WAIT_UNTIL(stats(rt).succeeded == 6, 5000);
    sync_rt(rt);
    CHECK(rec_count() == 6 && stats(rt).cancelled == 5);
    probe_all(rt, &extra[10], 5, EVMJIT_LOOKUP_HIT, __LINE__);

    /* without commit, running: the compilation a worker started finishes; the two queued
       behind it (in the worker queue, not paused) are taken back */
    atomic_store(&TB.delay_ms, 800); /* outlasts the sync and the cancel, even under load */
    rec_reset();
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    refs[0] = ref_of(&extra[20]);
    CHECK(evmjit_prewarm_submit_codes(pw, refs, 1, 0) == EVMJIT_OK);
    WAIT_UNTIL(atomic_load(&rec_started) == 1, 5000);
    refs[0] = ref_of(&extra[21]);
    refs[1] = ref_of(&extra[22]);
    CHECK(evmjit_prewarm_submit_codes(pw, refs, 2, 1) == EVMJIT_OK);
    sync_rt(rt); /* admitted and dispatched to the (busy) worker's queue */
    r = finish(pw, false);
    CHECK(r.promoted == 3 && r.cancelled == 2);
    WAIT_UNTIL(stats(rt).succeeded == 7, 5000);
    sleep_ms(30);
    sync_rt(rt);
    CHECK(rec_count() == 1 && stats(rt).cancelled == 7 && stats(rt).pending_jobs == 0);
    probe_all(rt, &extra[20], 1, EVMJIT_LOOKUP_HIT, __LINE__);
    probe_all(rt, &extra[21], 2, EVMJIT_LOOKUP_NOT_READY, __LINE__);
    atomic_store(&TB.delay_ms, 0);
    destroy(rt);
}

/* ---- 6. failing callbacks, 7. the minimum, 8. streaming ---------------------------------- */

static evmjit_error failing_cb(const evmjit_prewarm_tx *tx) {
    touch(tx, &pool[tx->index % 4]);
    atomic_fetch_add(&cb_calls, 1);
    return tx->index % 3 == 0 ? EVMJIT_ERR_IO : EVMJIT_OK;
}

static evmjit_error count_cb(const evmjit_prewarm_tx *tx) {
    /* the pointer submitted for this index: &cb_seen[index] */
    if (tx->tx != (void *)&cb_seen[tx->index]) atomic_fetch_add(&cb_saw_stop, 1000);
    atomic_fetch_add(&cb_seen[tx->index], 1);
    atomic_fetch_add(&cb_calls, 1);
    return EVMJIT_OK;
}

static void test_errors_minimum(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.execute = failing_cb;
    pd.worker_threads = 2;
    evmjit_prewarm *pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, NULL, 40, NULL) == EVMJIT_OK);
    WAIT_UNTIL(atomic_load(&cb_calls) == 40, 5000);
    evmjit_prewarm_report r = finish(pw, true);
    CHECK(r.run == 40 && r.errors == 14 && r.touches == 40 && r.codes_touched == 4);

    /* nine of a minimum of ten: nothing runs */
    cb_reset();
    void *ptrs[10];
    for (int i = 0; i < 10; i++) ptrs[i] = &cb_seen[i];
    pd.execute = count_cb;
    pd.min_transactions = 10;
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, ptrs, 9, NULL) == EVMJIT_OK);
    sleep_ms(50);
    CHECK(atomic_load(&cb_calls) == 0);
    r = finish(pw, true);
    CHECK(r.run == 0 && r.not_run == 9 && r.below_minimum && atomic_load(&cb_calls) == 0);

    /* five, then five more: the tenth starts them */
    cb_reset();
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    uint64_t first = 99;
    CHECK(evmjit_prewarm_submit(pw, ptrs, 5, &first) == EVMJIT_OK && first == 0);
    sleep_ms(30);
    CHECK(atomic_load(&cb_calls) == 0);
    CHECK(evmjit_prewarm_submit(pw, ptrs + 5, 5, &first) == EVMJIT_OK && first == 5);
    WAIT_UNTIL(atomic_load(&cb_calls) == 10, 5000);
    r = finish(pw, true);
    CHECK(r.run == 10 && !r.below_minimum && atomic_load(&cb_saw_stop) == 0);
    destroy(rt);
}

typedef struct submitter {
    evmjit_prewarm *pw;
    int total;
    long wrong_first;
} submitter;

static int submitter_main(void *arg) {
    submitter *s = (submitter *)arg;
    void *ptrs[8];
    for (int n = 0, batch = 1; n < s->total; batch = batch % 7 + 1) {
        int k = batch < s->total - n ? batch : s->total - n;
        for (int i = 0; i < k; i++) ptrs[i] = &cb_seen[n + i];
        uint64_t first = 0;
        if (evmjit_prewarm_submit(s->pw, ptrs, (size_t)k, &first) != EVMJIT_OK || first != (uint64_t)n)
            s->wrong_first++;
        n += k;
        if (n % 50 < 7) sleep_ms(1); /* let the workers catch up and go idle now and then */
    }
    return 0;
}

static void test_streaming(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.execute = count_cb;
    pd.worker_threads = 3;
    pd.max_transactions = 600; /* chunks of 1024 slots: one, made by the first submit */
    evmjit_prewarm *pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    submitter s = {pw, 500, 0};
    thrd_t t;
    CHECK(thrd_create(&t, submitter_main, &s) == thrd_success);
    thrd_join(t, NULL);
    CHECK(s.wrong_first == 0);
    CHECK(evmjit_prewarm_submit(pw, NULL, 101, NULL) == EVMJIT_ERR_BUSY); /* 601 > 600 */
    WAIT_UNTIL(atomic_load(&cb_calls) == 500, 10000);
    evmjit_prewarm_report r = finish(pw, true);
    CHECK(r.submitted == 500 && r.run == 500 && atomic_load(&cb_saw_stop) == 0);
    int wrong = 0;
    for (int i = 0; i < 500; i++) wrong += atomic_load(&cb_seen[i]) != 1;
    CHECK(wrong == 0);
    destroy(rt);
}

/* ---- 9. racing with evmjit_clear_resident ------------------------------------------------- */

static atomic_int clear_stop;
static atomic_long clears;

static int clearer_main(void *arg) {
    evmjit_runtime *rt = (evmjit_runtime *)arg;
    while (!atomic_load(&clear_stop)) {
        evmjit_clear_resident(rt);
        /* 1 to 29 ms apart: some compilations finish between clears, some do not, and some
           sessions finish between two clears */
        sleep_ms(1 + (int)(atomic_fetch_add(&clears, 1) * 7 % 29));
    }
    return 0;
}

static evmjit_error race_cb(const evmjit_prewarm_tx *tx) {
    for (uint64_t k = 0; k < 3; k++) touch(tx, &pool[(tx->index * 11 + k * 17) % 60]);
    if (tx->index % 16 == 0) sleep_ms(1); /* spread the touches over the clears */
    atomic_fetch_add(&cb_calls, 1);
    return EVMJIT_OK;
}

static void test_race_with_clear(void) {
    atomic_store(&alloc_live_bytes, 0);
    evmjit_runtime_desc d;
    base_desc(&d);
    d.allocator.alloc = count_alloc;
    d.allocator.free = count_free;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    atomic_store(&TB.delay_ms, 2); /* a backlog: finish(false) finds promotions to take back */
    atomic_store(&clear_stop, 0);
    atomic_store(&clears, 0);
    thrd_t t;
    CHECK(thrd_create(&t, clearer_main, rt) == thrd_success);
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.execute = race_cb;
    pd.worker_threads = 3;
    uint64_t cancelled = 0;
    for (int round = 0; round < 6; round++) {
        cb_reset();
        evmjit_prewarm *pw = begin(rt, &pd);
        if (!pw) break;
        CHECK(evmjit_prewarm_submit(pw, NULL, 300, NULL) == EVMJIT_OK);
        WAIT_UNTIL(atomic_load(&cb_calls) == 300, 10000);
        evmjit_prewarm_report r = finish(pw, round % 2 == 0); /* commit, then not */
        CHECK(r.run == 300 && r.touches == 900 && r.codes_touched == 60);
        CHECK(r.untracked == 0 && r.over_limit == 0 && r.ineligible == 0);
        CHECK(r.cancelled <= r.promoted);
        cancelled += r.cancelled;
    }
    atomic_store(&clear_stop, 1);
    thrd_join(t, NULL);
    CHECK(atomic_load(&clears) > 0);
    WAIT_UNTIL((sync_rt(rt), stats(rt).pending_jobs == 0), 5000);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.pending_jobs == 0 && atomic_load(&TB.same_key_overlaps) == 0);
    CHECK(s.cancelled == cancelled);
    /* nothing of an older generation stays: every entry is current */
    evmjit__table *tab = atomic_load(&rt->table);
    int stale = 0, ready = 0;
    for (size_t i = 0; i <= tab->mask; i++) {
        evmjit__entry *e = atomic_load(&tab->slots[i]);
        if (!e || e == EVMJIT__TOMBSTONE) continue;
        stale += e->generation != s.generation;
        ready += atomic_load(&e->state) == EVMJIT__READY;
    }
    CHECK(stale == 0 && (uint64_t)ready == s.resident_entries);
    if (getenv("VERBOSE"))
        fprintf(stderr, "race: %ld clears, %llu succeeded, %llu discarded, %llu cancelled\n",
                atomic_load(&clears), (unsigned long long)s.succeeded,
                (unsigned long long)s.discarded, (unsigned long long)s.cancelled);
    atomic_store(&TB.delay_ms, 0);
    destroy(rt);
    CHECKF(atomic_load(&alloc_live_bytes) == 0, "%ld bytes leaked", atomic_load(&alloc_live_bytes));
    CHECK(atomic_load(&TB.live_code_bytes) == 0);
}

/* ---- 10. evmjit_execute touches every frame ---------------------------------------------- */

/* caller[i] CALLs address (i % 5) + 1, whose code is callee[i % 5] */
static code callers[10], callees[5];

static void make_caller(code *c, int index, int target) {
    static const uint8_t tmpl[] = {0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, /* out, in, value */
                                   0x60, 0, 0x5a, 0xf1, 0x50, 0x00};      /* addr, GAS, CALL, POP */
    memset(c, 0, sizeof *c);
    memcpy(c->bytes, tmpl, sizeof tmpl);
    c->bytes[11] = (uint8_t)(target + 1);
    c->bytes[sizeof tmpl] = (uint8_t)index; /* after STOP: a distinct code per caller */
    c->size = sizeof tmpl + 1;
}

/* A host with what CALL needs (Cancun: no delegation, no value): nested frames run
   evmjit_execute on the callee of the recipient's address. */
typedef struct call_host {
    long calls;
} call_host;

static const evmjit_host_interface *call_iface(void);

static bool ch_exists(evmjit_host_context *c, const evmjit_address *a) {
    (void)c, (void)a;
    return true;
}
static evmjit_access_status ch_access(evmjit_host_context *c, const evmjit_address *a) {
    (void)c, (void)a;
    return EVMJIT_ACCESS_COLD;
}
static evmjit_result ch_call(evmjit_host_context *ctx, const evmjit_message *msg) {
    ((call_host *)(void *)ctx)->calls++;
    const code *c = &callees[(msg->recipient.bytes[19] + 4) % 5];
    return evmjit_execute(NULL, call_iface(), ctx, EVMJIT_CANCUN, msg, c->bytes, c->size, NULL);
}
static const evmjit_host_interface *call_iface(void) {
    static const evmjit_host_interface iface = {
        .account_exists = ch_exists, .call = ch_call, .access_account = ch_access};
    return &iface;
}

static evmjit_error exec_cb(const evmjit_prewarm_tx *tx) {
    call_host h = {0};
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = 100000;
    const code *c = &callers[tx->index % 10];
    /* the runtime argument does not matter: NULL interprets */
    evmjit_result r = evmjit_execute(NULL, call_iface(), (evmjit_host_context *)(void *)&h,
                                     EVMJIT_CANCUN, &msg, c->bytes, c->size, NULL);
    if (r.release) r.release(&r);
    atomic_fetch_add(&cb_calls, 1);
    return r.status_code == EVMJIT_SUCCESS && h.calls == 1 ? EVMJIT_OK : EVMJIT_ERR_IO;
}

static void test_execute_touches(void) {
    for (int i = 0; i < 10; i++) make_caller(&callers[i], i, i % 5);
    for (int i = 0; i < 10; i++) callers[i].hash = evmjit_keccak256(callers[i].bytes, callers[i].size);
    evmjit_runtime_desc d;
    base_desc(&d);
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.execute = exec_cb;
    pd.worker_threads = 2;
    pd.touch_from_execute = true;
    evmjit_prewarm *pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, NULL, 20, NULL) == EVMJIT_OK);
    WAIT_UNTIL(atomic_load(&cb_calls) == 20, 5000);
    evmjit_prewarm_report r = finish(pw, true);
    CHECKF(r.run == 20 && r.errors == 0 && r.touches == 40 && r.codes_touched == 15 &&
               r.promoted == 15,
           "errors %llu touches %llu codes %llu", (unsigned long long)r.errors,
           (unsigned long long)r.touches, (unsigned long long)r.codes_touched);
    WAIT_UNTIL(stats(rt).succeeded == 15, 5000);
    probe_all(rt, callers, 10, EVMJIT_LOOKUP_HIT, __LINE__);
    probe_all(rt, callees, 5, EVMJIT_LOOKUP_HIT, __LINE__);

    /* without the option evmjit_execute touches nothing; outside a session neither */
    cb_reset();
    pd.touch_from_execute = false;
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, NULL, 20, NULL) == EVMJIT_OK);
    WAIT_UNTIL(atomic_load(&cb_calls) == 20, 5000);
    r = finish(pw, true);
    CHECK(r.run == 20 && r.errors == 0 && r.touches == 0 && r.codes_touched == 0);
    evmjit_prewarm_tx fake;
    memset(&fake, 0, sizeof fake);
    CHECK(exec_cb(&fake) == EVMJIT_OK); /* on this thread: no session, no touch, no crash */
    destroy(rt);
}

/* ---- 11. OBSERVE, limits, settings, misuse; finish timeout ------------------------------- */

static evmjit_error slow_cb(const evmjit_prewarm_tx *tx) {
    (void)tx;
    for (int i = 0; i < 300 && !atomic_load(&cb_gate); i++) sleep_ms(1);
    atomic_fetch_add(&cb_calls, 1);
    return EVMJIT_OK;
}

static void test_modes_and_limits(void) {
    evmjit_runtime_desc d;
    base_desc(&d);
    d.hot_threshold = 4;
    evmjit_runtime *rt = make(&d);
    if (!rt) return;
    evmjit_prewarm *pw = NULL;

    /* settings */
    CHECK(evmjit_prewarm_begin(NULL, NULL, &pw) == EVMJIT_ERR_INVALID_ARGUMENT && !pw);
    evmjit_prewarm_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.worker_threads = 300;
    CHECK(evmjit_prewarm_begin(rt, &pd, &pw) == EVMJIT_ERR_INVALID_ARGUMENT && !pw);
    CHECK(log_has("worker_threads"));
    memset(&pd, 0, sizeof pd);
    pd.promote = (evmjit_prewarm_promote)7;
    CHECK(evmjit_prewarm_begin(rt, &pd, &pw) == EVMJIT_ERR_INVALID_ARGUMENT && !pw);
    memset(&pd, 0, sizeof pd);
    pd.max_transactions = ((uint64_t)1 << 32) + 1;
    CHECK(evmjit_prewarm_begin(rt, &pd, &pw) == EVMJIT_ERR_INVALID_ARGUMENT && !pw);
    memset(&pd, 0, sizeof pd);
    pd.execute = slow_cb;
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    evmjit_prewarm_desc got;
    evmjit_prewarm_settings(pw, &got);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(got.worker_threads == (int)(cpus < 1 ? 1 : cpus > 256 ? 256 : cpus));
    CHECK(got.promote == EVMJIT_PREWARM_COMPILE && got.min_transactions == 1 &&
          got.max_promotions == 2048 && got.observations == 1 && got.max_codes == 65536 &&
          got.max_transactions == ((uint64_t)1 << 20) && got.finish_timeout_ms == 10000);
    CHECK(finish(pw, true).submitted == 0);
    memset(&pd, 0, sizeof pd); /* no callback: no workers, no transactions */
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    evmjit_prewarm_settings(pw, &got);
    CHECK(got.worker_threads == 0);
    CHECK(evmjit_prewarm_submit(pw, NULL, 1, NULL) == EVMJIT_ERR_INVALID_ARGUMENT);
    evmjit_code_ref bad = ref_of(&pool[0]);
    bad.code = NULL;
    CHECK(evmjit_prewarm_submit_codes(pw, &bad, 1, 0) == EVMJIT_ERR_INVALID_ARGUMENT);
    CHECK(evmjit_prewarm_touch(NULL, &pool[0].hash, pool[0].bytes, pool[0].size, EVMJIT_CANCUN) ==
          EVMJIT_ERR_INVALID_ARGUMENT);
    finish(pw, false);
    CHECK(evmjit_prewarm_finish(NULL, true, NULL) == EVMJIT_ERR_INVALID_ARGUMENT);

    /* a runtime that cannot compile has nothing to warm */
    evmjit_runtime_desc nd;
    base_desc(&nd);
    nd.backend = NULL;
    evmjit_runtime *none = make(&nd);
    if (none) {
        CHECK(evmjit_prewarm_begin(none, NULL, &pw) == EVMJIT_ERR_UNSUPPORTED && !pw);
        destroy(none);
    }

    /* resident, empty, too long, observed: OBSERVE with 2 observations and threshold 4 */
    CHECK(evmjit_compile_sync(rt, &pool[0].hash, pool[0].bytes, pool[0].size, EVMJIT_CANCUN, 2000,
                              NULL) == EVMJIT_OK);
    code empty;
    memset(&empty, 0, sizeof empty);
    empty.hash = evmjit_keccak256(empty.bytes, 0);
    memset(&pd, 0, sizeof pd);
    pd.promote = EVMJIT_PREWARM_OBSERVE;
    pd.observations = 2;
    evmjit_code_ref refs[5] = {ref_of(&pool[0]), ref_of(&empty), ref_of(&big), ref_of(&pool[1]),
                               ref_of(&pool[1])};
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit_codes(pw, refs, 5, 0) == EVMJIT_OK);
    evmjit_prewarm_report r = finish(pw, true);
    CHECK(r.codes_touched == 4 && r.already_resident == 1 && r.ineligible == 2 && r.promoted == 1);
    sync_rt(rt);
    evmjit_runtime_stats s = stats(rt);
    CHECK(s.tracked_cold_keys == 1 && s.misses == 0 && s.succeeded == 1); /* 2 of 4: not hot */
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit_codes(pw, &refs[3], 1, 0) == EVMJIT_OK); /* 4 of 4: hot */
    finish(pw, true);
    WAIT_UNTIL(stats(rt).succeeded == 2, 5000);
    sync_rt(rt);
    s = stats(rt);
    CHECK(s.succeeded == 2 && s.tracked_cold_keys == 0 && s.misses == 0 && s.prewarm_requests == 2);
    probe_all(rt, &pool[1], 1, EVMJIT_LOOKUP_HIT, __LINE__);

    /* max_promotions, max_codes */
    memset(&pd, 0, sizeof pd);
    pd.max_promotions = 2;
    pd.max_codes = 5;
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    evmjit_code_ref many[7];
    for (int i = 0; i < 7; i++) many[i] = ref_of(&pool[10 + i]);
    CHECK(evmjit_prewarm_submit_codes(pw, many, 7, 0) == EVMJIT_OK);
    r = finish(pw, true);
    CHECK(r.codes_touched == 5 && r.untracked == 2 && r.promoted == 2 && r.over_limit == 3);

    /* finish gives up after finish_timeout_ms while a callback runs; a second finish works */
    cb_reset();
    memset(&pd, 0, sizeof pd);
    pd.execute = slow_cb;
    pd.worker_threads = 1;
    pd.finish_timeout_ms = 30;
    pw = begin(rt, &pd);
    if (!pw) {
        destroy(rt);
        return;
    }
    CHECK(evmjit_prewarm_submit(pw, NULL, 3, NULL) == EVMJIT_OK);
    sleep_ms(10);
    uint64_t t0 = ms_now();
    CHECK(evmjit_prewarm_finish(pw, false, &r) == EVMJIT_ERR_TIMEOUT);
    uint64_t took = ms_now() - t0;
    CHECKF(took >= 25 && took < 250, "gave up after %llu ms", (unsigned long long)took);
    CHECK(log_has("finish_timeout_ms"));
    atomic_store(&cb_gate, 1);
    WAIT_UNTIL(atomic_load(&cb_calls) == 1, 5000);
    sleep_ms(10);
    r = finish(pw, false);
    CHECK(r.run == 1 && r.not_run == 2 && atomic_load(&cb_calls) == 1);
    destroy(rt);
}

int main(void) {
    mtx_init(&log_mtx, mtx_plain);
    mtx_init(&TB.mtx, mtx_plain);
    mtx_init(&rec_mtx, mtx_plain);
    for (int i = 0; i < POOL; i++) make_code(&pool[i], 100 + (unsigned)i, 0);
    for (int i = 0; i < 32; i++) make_code(&extra[i], 2000 + (unsigned)i, 0);
    for (int i = 0; i < 5; i++) make_code(&callees[i], 7000 + (unsigned)i, 0);
    make_code(&big, 9999, 24577);
    /* the interpreter's one-time set-up happens here, before any thread races for it */
    CHECK(run(NULL, &pool[0], EVMJIT_CANCUN) == 100);
    void (*tests[])(void) = {
        test_promotion_order, test_dedup,     test_set_executed,     test_stop,
        test_commit,          test_errors_minimum, test_streaming, test_race_with_clear,
        test_execute_touches, test_modes_and_limits,
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        tb_reset();
        cb_reset();
        long failed = check_failed;
        uint64_t t0 = ms_now();
        tests[i]();
        if (check_failed != failed) fprintf(stderr, "test #%zu failed\n", i);
        if (getenv("VERBOSE")) fprintf(stderr, "test #%zu: %llu ms\n", i, (unsigned long long)(ms_now() - t0));
    }
    evmjit_thread_cleanup();
    mtx_destroy(&rec_mtx);
    return check_summary();
}
