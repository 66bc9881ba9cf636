/* prewarm.c - what a prewarm session buys a block: a synthetic block from the benchmark
   fixtures, executed sequentially on a cold runtime without and with prewarm.

   The block: --txs transactions, each one of the fixture vectors (picked at random with a
   fixed seed, so every contract recurs) that succeeds within --max-gas in a calibration run
   on the interpreter. Each transaction runs on a fresh host holding its fixture's pre-state
   (the hosts are built before the clock starts), so every run of the block computes the same
   results, and they are checked against the calibration: status, gas used and validity.

   Run 1, without prewarm: a cold runtime (LLVM JIT, default settings: a contract compiles in
   the background after hot_threshold misses) executes the block in order.
   Run 2, with prewarm: another cold runtime; the block's transactions are submitted to a
   prewarm session whose workers run them speculatively on the interpreter (each on its own
   copy of the pre-state: read-only for the block) with touch_from_execute, so every frame
   they enter is promoted, earlier transactions first, while the sequential execution starts
   at once and reports its progress with evmjit_prewarm_set_executed. A transaction identical
   to one already speculated is not run again (--speculate-all runs it).
   Both print the wall time of the sequential execution and how many of its frames ran native
   code (runtime hits; the speculative frames run with a NULL runtime and count nowhere).

   Without the LLVM backend (or with --no-jit) nothing can compile: both runs interpret, the
   prewarm session is refused (EVMJIT_ERR_UNSUPPORTED), and the figures are the interpreter's.
   Exit status: 0 when every transaction of both runs matched the calibration, 1 otherwise,
   2 on a usage error. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>

#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include "host.h"
#include "statetest.h"
#include "trie.h"

#define DEFAULT_TXS 300
#define DEFAULT_MAX_GAS 15000000
#define DEFAULT_SEED 1

typedef struct vector {
    const statetest_item *item;
    bool valid;
    evmjit_status_code status;
    int64_t gas_used;
} vector;

typedef struct block {
    vector *vectors; /* eligible fixture vectors, with their calibration results */
    size_t vector_count, vector_cap;
    size_t *txs; /* transaction i runs vectors[txs[i]] */
    size_t tx_count;
    /* speculation: vectors already run by a prewarm worker (NULL: speculate every one) */
    atomic_bool *speculated;
} block;

typedef struct options {
    size_t txs;
    int64_t max_gas;
    int workers;         /* prewarm workers; 0: the session's default (the number of CPUs) */
    int compile_workers; /* runtime compiler workers; 0: the runtime's default */
    uint64_t seed;
    bool no_jit;
    bool speculate_all; /* also transactions identical to one already speculated */
    bool verbose;       /* print every compilation */
} options;

static uint64_t run_start_ns; /* --verbose: compilations are timed from the run's start */

typedef struct run_result {
    double ms;
    uint64_t frames, native, compiled;
    size_t mismatches;
    bool prewarmed;
    char note[200];
    evmjit_prewarm_report report;
} run_result;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: prewarm [--txs N] [--max-gas GAS] [--workers N] [--compile-workers N]\n"
            "               [--seed N] [--no-jit] [--speculate-all] [-v] [FIXTURE_OR_DIR...]\n"
            "Build a synthetic block from benchmark fixtures and execute it sequentially on a\n"
            "cold runtime, without and with a prewarm session; print the times and how many\n"
            "frames ran native code.\n"
            "  --txs N              transactions in the block (default %d)\n"
            "  --max-gas GAS        leave out fixture vectors that use more gas (default %d)\n"
            "  --workers N          prewarm worker threads (default: the number of CPUs)\n"
            "  --compile-workers N  the runtime's compiler threads (default: ceil(cpus/2))\n"
            "  --seed N             which vector each transaction runs (default %d)\n"
            "  --no-jit             no compiler backend: interpreter-only figures\n"
            "  -v, --verbose        print every compilation (to stderr)\n"
            "  --speculate-all      speculate every transaction, also those identical to one\n"
            "                       already speculated (skipped by default: same frames)\n"
            "  --help               this text\n"
            "FIXTURE_OR_DIR: state tests or revmc-style transaction lists. Default:\n"
            "$EVMJIT_FIXTURES/bench/evm-benchmarks and $EVMJIT_FIXTURES/bench/revmc,\n"
            "EVMJIT_FIXTURES defaulting to ../shared/fixtures.\n"
            "Exit status: 0 when every transaction gave the interpreter's result, 1 otherwise,\n"
            "2 on a usage error.\n",
            DEFAULT_TXS, DEFAULT_MAX_GAS, DEFAULT_SEED);
}

static int usage_error(const char *what, const char *arg) {
    fprintf(stderr, "prewarm: %s '%s'\n", what, arg);
    usage(stderr);
    return 2;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) return false;
    *out = v;
    return true;
}

/* ---- fixtures -> eligible vectors -------------------------------------------------------- */

typedef struct loader {
    statetest_file *files;
    size_t file_count;
    long path_errors;
} loader;

static void add_file(void *user, const char *path) {
    loader *l = user;
    l->files = trie_xrealloc(l->files, (l->file_count + 1) * sizeof *l->files);
    statetest_options o;
    memset(&o, 0, sizeof o);
    statetest_file_load(&o, true, path, &l->files[l->file_count++]);
}

static void path_error(void *user, const char *path, const char *message) {
    loader *l = user;
    fprintf(stderr, "prewarm: %s: %s\n", path, message);
    l->path_errors++;
}

/* Runs every vector once on the interpreter (the calibration) and keeps those that pass
   their own check, are valid transactions and use at most max_gas. */
static void calibrate(const loader *l, int64_t max_gas, block *b) {
    for (size_t f = 0; f < l->file_count; f++) {
        for (size_t i = 0; i < l->files[f].count; i++) {
            const statetest_item *v = &l->files[f].items[i];
            if (v->kind != STATETEST_VECTOR) continue;
            host_state *h = statetest_vector_host(v, NULL);
            host_tx_result r;
            host_transact(h, &v->block, &v->tx, &r);
            char why[512];
            bool ok = statetest_check(v, h, &r, why, sizeof why) == STATETEST_PASS && r.valid &&
                      r.gas_used <= max_gas;
            free(r.output);
            host_destroy(h);
            if (!ok) continue;
            if (b->vector_count == b->vector_cap) {
                b->vector_cap = b->vector_cap ? 2 * b->vector_cap : 64;
                b->vectors = trie_xrealloc(b->vectors, b->vector_cap * sizeof *b->vectors);
            }
            vector *w = &b->vectors[b->vector_count++];
            w->item = v;
            w->valid = r.valid;
            w->status = r.status;
            w->gas_used = r.gas_used;
        }
    }
}

/* ---- the speculative executor: a prewarm callback --------------------------------------- */

/* Runs transaction tx->index on its own copy of the pre-state, on the interpreter (NULL
   runtime); touch_from_execute makes every frame a touch. Reverts are results, not errors.
   A transaction identical to one already speculated (same sender, recipient, input and
   state: here, the same fixture vector) enters the same frames: it is skipped, so that the
   workers give the CPU back to the sequential execution and the compilers sooner. */
static evmjit_error speculate(const evmjit_prewarm_tx *tx) {
    const block *b = tx->user;
    size_t k = b->txs[tx->index];
    if (b->speculated && atomic_exchange(&b->speculated[k], true)) return EVMJIT_OK;
    const statetest_item *v = b->vectors[k].item;
    host_state *h = statetest_vector_host(v, NULL);
    host_tx_result r;
    host_transact(h, &v->block, &v->tx, &r);
    free(r.output);
    host_destroy(h);
    return EVMJIT_OK;
}

/* ---- one sequential run ----------------------------------------------------------------- */

/* --verbose: on the runtime's backend thread, after every compilation */
static void on_compilation(const evmjit_compilation_info *info, void *user) {
    (void)user;
    fprintf(stderr, "  %8.1f ms: %s %5zu bytes of code in %7.1f ms (%.1f ms queued)%s%s\n",
            (double)(now_ns() - run_start_ns) / 1e6, info->success ? "compiled" : "failed",
            info->code_size, (double)info->times.total_ns / 1e6,
            (double)info->times.queue_ns / 1e6, info->success ? "" : ": ", info->message);
}

static void run_block(const block *b, const options *o, const evmjit_backend *backend,
                      bool prewarm, run_result *res) {
    memset(res, 0, sizeof *res);
    evmjit_runtime_desc d;
    memset(&d, 0, sizeof d);
    d.backend = backend;
    d.enabled = true;
    d.worker_threads = o->compile_workers;
    d.logger.log = statetest_log;
    if (o->verbose) d.on_compilation = on_compilation;
    evmjit_runtime *rt = NULL;
    evmjit_error err = evmjit_runtime_create(&d, &rt);
    if (err != EVMJIT_OK) {
        snprintf(res->note, sizeof res->note, "runtime: %s", evmjit_error_name(err));
        res->mismatches = b->tx_count;
        return;
    }
    if (b->speculated)
        for (size_t k = 0; k < b->vector_count; k++) atomic_init(&b->speculated[k], false);
    host_state **hosts = trie_xcalloc(b->tx_count, sizeof *hosts);
    for (size_t i = 0; i < b->tx_count; i++)
        hosts[i] = statetest_vector_host(b->vectors[b->txs[i]].item, rt);

    uint64_t t0 = now_ns();
    run_start_ns = t0;
    if (o->verbose) fprintf(stderr, "%s prewarm:\n", prewarm ? "with" : "without");
    evmjit_prewarm *pw = NULL;
    if (prewarm) {
        evmjit_prewarm_desc pd;
        memset(&pd, 0, sizeof pd);
        pd.execute = speculate;
        pd.user = (void *)b;
        pd.touch_from_execute = true;
        pd.worker_threads = o->workers;
        err = evmjit_prewarm_begin(rt, &pd, &pw);
        if (err == EVMJIT_OK) err = evmjit_prewarm_submit(pw, NULL, b->tx_count, NULL);
        if (err != EVMJIT_OK)
            snprintf(res->note, sizeof res->note, "prewarm unavailable: %s",
                     evmjit_error_name(err));
    }
    for (size_t i = 0; i < b->tx_count; i++) {
        const vector *v = &b->vectors[b->txs[i]];
        host_tx_result r;
        host_transact(hosts[i], &v->item->block, &v->item->tx, &r);
        if (r.valid != v->valid || r.status != v->status || r.gas_used != v->gas_used) {
            if (res->mismatches++ < 5)
                fprintf(stderr, "prewarm: transaction %zu (%s): %s, gas %" PRId64 "; the "
                        "interpreter gave %s, gas %" PRId64 "\n", i, v->item->test,
                        evmjit_status_name(r.status), r.gas_used, evmjit_status_name(v->status),
                        v->gas_used);
        }
        free(r.output);
        if (pw) evmjit_prewarm_set_executed(pw, i);
    }
    res->ms = (double)(now_ns() - t0) / 1e6;
    if (pw) {
        err = evmjit_prewarm_finish(pw, true, &res->report);
        res->prewarmed = err == EVMJIT_OK;
        if (err != EVMJIT_OK)
            snprintf(res->note, sizeof res->note, "prewarm finish: %s", evmjit_error_name(err));
    }
    evmjit_runtime_sync(rt, 0);
    evmjit_runtime_stats s;
    evmjit_runtime_get_stats(rt, &s);
    res->native = s.hits;
    res->frames = s.hits + s.misses + s.dropped_events;
    res->compiled = s.succeeded;
    for (size_t i = 0; i < b->tx_count; i++) host_destroy(hosts[i]);
    free(hosts);
    evmjit_runtime_destroy(rt);
}

static void print_run(const char *name, const run_result *r) {
    printf("%-16s %9.1f ms, %6" PRIu64 " of %6" PRIu64 " frames native (%5.1f%%), %3" PRIu64
           " contracts compiled", name, r->ms, r->native, r->frames,
           r->frames ? 100.0 * (double)r->native / (double)r->frames : 0.0, r->compiled);
    if (r->note[0]) printf(" (%s)", r->note);
    printf("\n");
}

int main(int argc, char **argv) {
    options o;
    memset(&o, 0, sizeof o);
    o.txs = DEFAULT_TXS;
    o.max_gas = DEFAULT_MAX_GAS;
    o.seed = DEFAULT_SEED;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (a[0] != '-' || !a[1]) break;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-jit")) {
            o.no_jit = true;
            continue;
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o.verbose = true;
            continue;
        }
        if (!strcmp(a, "--speculate-all")) {
            o.speculate_all = true;
            continue;
        }
        static const char *const with_value[] = {"--txs", "--max-gas", "--workers",
                                                 "--compile-workers", "--seed"};
        int opt = -1;
        for (int k = 0; k < 5; k++)
            if (!strcmp(a, with_value[k])) opt = k;
        if (opt < 0) return usage_error("unknown option", a);
        if (i + 1 >= argc) return usage_error("a value is missing after", a);
        const char *val = argv[++i];
        static const uint64_t max[] = {1000000, INT64_MAX, 256, 64, UINT64_MAX};
        if (!parse_u64(val, max[opt], &v) || (opt == 0 && v == 0))
            return usage_error(opt == 0 ? "--txs: not a number from 1 to 1000000:"
                                        : "not a number in range:", val);
        if (opt == 0) o.txs = (size_t)v;
        else if (opt == 1) o.max_gas = (int64_t)v;
        else if (opt == 2) o.workers = (int)v;
        else if (opt == 3) o.compile_workers = (int)v;
        else o.seed = v;
    }

    loader l;
    memset(&l, 0, sizeof l);
    statetest_walk_or_bench(argv + i, argc - i, &l, add_file, path_error);
    block b;
    memset(&b, 0, sizeof b);
    calibrate(&l, o.max_gas, &b);
    int status = 0;
    if (!b.vector_count) {
        fprintf(stderr, "prewarm: no fixture vector succeeds within %" PRId64 " gas%s\n",
                o.max_gas, l.path_errors ? " (and some paths could not be read)" : "");
        status = 1;
        goto done;
    }
    /* the block: a fixed-seed xorshift picks each transaction's vector */
    b.tx_count = o.txs;
    b.txs = trie_xcalloc(b.tx_count, sizeof *b.txs);
    uint64_t x = o.seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t k = 0; k < b.tx_count; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.txs[k] = (size_t)(x % b.vector_count);
    }
    if (!o.speculate_all) b.speculated = trie_xcalloc(b.vector_count, sizeof *b.speculated);

    const evmjit_backend *backend = o.no_jit ? NULL : statetest_llvm_backend();
    printf("evmjit prewarm: a block of %zu transactions over %zu fixture vectors (<= %" PRId64
           " gas each), seed %" PRIu64 "\n", b.tx_count, b.vector_count, o.max_gas, o.seed);
    if (backend)
        printf("backend: %s %s; each run on a cold runtime (JIT, hot_threshold 8)\n",
               backend->name, backend->version);
    else
        printf("backend: none (%s): every frame is interpreted, and prewarm has nothing to "
               "compile - interpreter-only figures\n",
               o.no_jit ? "--no-jit" : "this build has no LLVM backend");

    run_result without, with;
    run_block(&b, &o, backend, false, &without);
    run_block(&b, &o, backend, true, &with);
    print_run("without prewarm:", &without);
    print_run("with prewarm:", &with);
    if (with.prewarmed) {
        const evmjit_prewarm_report *r = &with.report;
        printf("prewarm report:  %" PRIu64 " transactions run, %" PRIu64 " skipped, %" PRIu64
               " not run, %" PRIu64 " errors; %" PRIu64 " touches, %" PRIu64 " codes: %" PRIu64
               " promoted, %" PRIu64 " already resident, %" PRIu64 " ineligible, %" PRIu64
               " rejected (queue full); %.1f ms\n",
               r->run, r->skipped, r->not_run, r->errors, r->touches, r->codes_touched,
               r->promoted, r->already_resident, r->ineligible, r->rejected_full,
               (double)r->elapsed_ns / 1e6);
        if (with.ms > 0) printf("speedup:         %.2fx\n", without.ms / with.ms);
    }
    size_t bad = without.mismatches + with.mismatches;
    printf("results: %zu of %zu transactions gave the interpreter's status and gas\n",
           2 * b.tx_count - bad, 2 * b.tx_count);
    status = bad ? 1 : 0;
done:
    free(b.txs);
    free(b.speculated);
    free(b.vectors);
    for (size_t k = 0; k < l.file_count; k++) statetest_file_free(&l.files[k]);
    free(l.files);
    evmjit_thread_cleanup();
    return status;
}
