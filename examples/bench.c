/* bench.c - `evmjit bench`. See bench.h.

   Per benchmark row: the modes take turns, one execution each (interp, jit, aot, interp, ...).
   Every execution is: statetest_vector_host (fresh host with the pre-state, untimed), then
   host_transact, of which the transaction's message call is timed (host_state.call_ns: the
   EVM with every host call and nested frame, not the test host's fee and nonce arithmetic
   around it, which is the same in every mode), then host_destroy (untimed). Round 0 is
   the warm-up: untimed, judged by statetest_check. Rounds go on until at least BENCH_MIN_RUNS
   timed rounds are done and the slowest mode has spent --min-time in timed executions; a
   mode whose execution fails leaves the rotation and its cell says FAIL. Memory: one sample
   (8 bytes) per timed execution and mode. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "statetest.h"
#include "trie.h"

#define BENCH_MODES 3
#define BENCH_MIN_RUNS 5
#define BENCH_DEFAULT_MIN_TIME 0.3

enum { MODE_INTERP, MODE_JIT, MODE_AOT };
static const char *const bench_mode_names[BENCH_MODES] = {"interp", "jit", "aot"};

/* One finished compilation, as the runtime reported it (on_compilation). */
typedef struct bench_compile {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    bool success;
    size_t code_bytes; /* JIT: native code; AOT: the shared object */
    evmjit_compile_times times;
    char message[160]; /* why it failed */
} bench_compile;

typedef struct bench_mode {
    bool selected;
    bool ready;
    statetest_runtime runtime;
    char why[160]; /* why a selected mode cannot run */
    /* every compilation of this mode's runtime, appended by its backend thread: under lock */
    mtx_t lock;
    bool has_lock;
    bench_compile *compiles;
    size_t compile_count, compile_cap;
} bench_mode;

/* What compiling one benchmark's contracts cost in a mode: every contract of its pre-state
   that the runtime compiled (for this benchmark, or for an earlier one with the same code). */
typedef struct bench_compiled {
    int codes;  /* compiled */
    int failed; /* compilations that failed: those contracts ran in the interpreter */
    size_t code_bytes;
    evmjit_compile_times times; /* summed */
} bench_compiled;

typedef enum bench_verdict { ROW_OK, ROW_FAIL, ROW_SKIP } bench_verdict;

typedef struct bench_row {
    const statetest_item *item; /* NULL: a path that could not be read */
    char name[200];
    char file[512];
    bench_verdict verdict;
    bool has_gas;
    int64_t gas_used;
    long runs; /* timed executions per mode */
    bool measured[BENCH_MODES];
    double median_ns[BENCH_MODES];
    bench_compiled compiled[BENCH_MODES]; /* JIT and AOT */
    char note[200]; /* the first compilation failure's reason, when one failed */
    char status[800];
} bench_row;

typedef struct bench {
    /* options */
    const char *json_path;
    const char *filter;
    double min_time;
    bool first_tier; /* --first-tier: no upgrades, no settling */
    bench_mode modes[BENCH_MODES];
    /* fixtures and results */
    statetest_file *files;
    size_t file_count;
    bench_row *rows;
    size_t row_count, row_cap;
    int name_width;
    bool progress; /* stderr is a terminal */
} bench;

/* ---- small helpers --------------------------------------------------------------------- */

static uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The median of n > 0 samples (sorts them). */
static double bench_median(uint64_t *s, size_t n) {
    qsort(s, n, sizeof *s, bench_cmp_u64);
    return n % 2 ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2;
}

/* Append to a row's status, separating entries with "; ". */
static void bench_status(bench_row *row, const char *fmt, ...) {
    size_t used = strlen(row->status);
    if (used + 3 >= sizeof row->status) return;
    if (used) {
        memcpy(row->status + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(row->status + used, sizeof row->status - used, fmt, ap);
    va_end(ap);
}

static bench_row *bench_add_row(bench *b) {
    if (b->row_count == b->row_cap) {
        b->row_cap = b->row_cap ? b->row_cap * 2 : 64;
        b->rows = trie_xrealloc(b->rows, b->row_cap * sizeof *b->rows);
    }
    bench_row *row = &b->rows[b->row_count++];
    memset(row, 0, sizeof *row);
    return row;
}

/* "12.3 ms": 3-4 significant digits in a unit that suits the value. */
void bench_format_time(char *s, size_t n, double ns) {
    if (ns < 1e3) snprintf(s, n, "%.0f ns", ns);
    else if (ns < 1e6) snprintf(s, n, "%.2f us", ns / 1e3);
    else if (ns < 1e9) snprintf(s, n, "%.2f ms", ns / 1e6);
    else snprintf(s, n, "%.3f s", ns / 1e9);
}

/* ---- options --------------------------------------------------------------------------- */

static void bench_usage(FILE *out) {
    fprintf(out,
            "usage: evmjit bench [--json FILE] [--filter SUBSTRING] [--mode interp|jit|aot|all]\n"
            "                    [--min-time SECONDS] [--first-tier] [FIXTURE_OR_DIR...]\n"
            "Time the transaction of every benchmark fixture in each execution mode and print,\n"
            "per contract and input: gas used, the median time per execution, Mgas/s, the\n"
            "speedups over the interpreter, the compile time and native code size, and the\n"
            "status (every failure is a row), with a geometric-mean row; then the compile time\n"
            "of each benchmark phase by phase. A progress line goes to stderr when it is a\n"
            "terminal.\n"
            "  --json FILE         also write every figure to FILE: a JSON list with one object\n"
            "                      per contract and input (name, file, fork, gas_used, runs,\n"
            "                      interp_ns, jit_ns, aot_ns, jit_speedup, aot_speedup,\n"
            "                      compiled_codes, compile_failures, compile_ns and\n"
            "                      aot_compile_ns by phase, code_bytes, aot_code_bytes, note,\n"
            "                      status; null when n/a): tests/bench.schema.json\n"
            "  --filter SUBSTRING  only benchmarks whose name or fixture path contains it\n"
            "  --mode MODE         interp, jit, aot, all (the default) or a comma-separated\n"
            "                      list; the modes take turns, one execution each, so that\n"
            "                      machine noise hits them alike; a mode this build cannot run\n"
            "                      shows n/a and the reason\n"
            "  --min-time SECONDS  repeat until the slowest mode has run SECONDS in total\n"
            "                      (default %.1f), and at least %d times; 0: %d timed runs\n"
            "  --first-tier        time the JIT's first compilation as it is: the runtime never\n"
            "                      upgrades a provisional program (see below)\n"
            "  --help              this text\n"
            "FIXTURE_OR_DIR: state tests (each post entry is one input; the post-state root is\n"
            "checked) or revmc-style transaction lists (the first one runs and must succeed).\n"
            "Default: $EVMJIT_FIXTURES/bench/evm-benchmarks and $EVMJIT_FIXTURES/bench/revmc,\n"
            "EVMJIT_FIXTURES defaulting to ../shared/fixtures.\n"
            "Every execution gets a fresh host with the pre-state (untimed); only the transaction's\n"
            "message call is timed: the EVM with its host calls and nested frames, not the test\n"
            "host's transaction envelope (fees, nonce, refunds). Each mode's first execution is\n"
            "an untimed warm-up (it pays for any compilation) and is checked; later ones must\n"
            "repeat its status and gas. A first JIT compilation is provisional (the baseline\n"
            "tier; its time is the compile column): after the warm-up the transaction runs\n"
            "untimed until the runtime has replaced every provisional program with its\n"
            "optimised recompilation (at most 60 s), and that is what the jit column times.\n"
            "Exit status: 0 when every benchmark ran correctly, 1 on any failure, 2 on a usage\n"
            "error.\n",
            BENCH_DEFAULT_MIN_TIME, BENCH_MIN_RUNS, BENCH_MIN_RUNS);
}

static int bench_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("evmjit bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    bench_usage(stderr);
    return 2;
}

/* "interp", "jit", "aot", "all" or a comma-separated list of the first three. */
static bool bench_parse_modes(const char *s, bench_mode *modes) {
    for (int m = 0; m < BENCH_MODES; m++) modes[m].selected = false;
    if (!strcmp(s, "all")) {
        for (int m = 0; m < BENCH_MODES; m++) modes[m].selected = true;
        return true;
    }
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int m = 0; m < BENCH_MODES; m++)
            if (strlen(bench_mode_names[m]) == len && !strncmp(s, bench_mode_names[m], len))
                found = m;
        if (found < 0) return false;
        modes[found].selected = true;
        s += len;
        if (*s == ',' && *++s == 0) return false;
    }
    for (int m = 0; m < BENCH_MODES; m++)
        if (modes[m].selected) return true;
    return false;
}

/* ---- fixtures -> rows ------------------------------------------------------------------ */

/* A row's name: the test name, then the input's label (or data index) when the test has
   several vectors or names its inputs, the gas and value indexes when they are not 0, and
   the fork when the test runs under several. */
void bench_item_name(const statetest_file *f, size_t i, char *s, size_t n) {
    const statetest_item *v = &f->items[i];
    size_t siblings = 0;
    bool forks = false;
    for (size_t k = 0; k < f->count; k++) {
        const statetest_item *u = &f->items[k];
        if (!u->test || !v->test || strcmp(u->test, v->test)) continue;
        siblings++;
        if (u->fork && v->fork && strcmp(u->fork, v->fork)) forks = true;
    }
    size_t w = (size_t)snprintf(s, n, "%s", v->test);
    if (w < n && v->label) w += (size_t)snprintf(s + w, n - w, "/%s", v->label);
    else if (w < n && siblings > 1) w += (size_t)snprintf(s + w, n - w, "/d%lld", v->data_index);
    if (w < n && v->gas_index) w += (size_t)snprintf(s + w, n - w, "/g%lld", v->gas_index);
    if (w < n && v->value_index) w += (size_t)snprintf(s + w, n - w, "/v%lld", v->value_index);
    if (w < n && forks) snprintf(s + w, n - w, "@%s", v->fork);
}

static const char *bench_basename(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void bench_add_file(void *user, const char *path) {
    bench *b = user;
    b->files = trie_xrealloc(b->files, (b->file_count + 1) * sizeof *b->files);
    statetest_file *f = &b->files[b->file_count++];
    statetest_options o;
    memset(&o, 0, sizeof o);
    statetest_file_load(&o, true, path, f);
    for (size_t i = 0; i < f->count; i++) {
        const statetest_item *v = &f->items[i];
        char name[sizeof b->rows->name];
        if (v->kind == STATETEST_BAD_INPUT)
            snprintf(name, sizeof name, "%s", v->test ? v->test : bench_basename(path));
        else bench_item_name(f, i, name, sizeof name);
        if (b->filter && !strstr(name, b->filter) && !strstr(path, b->filter)) continue;
        bench_row *row = bench_add_row(b);
        row->item = v;
        snprintf(row->name, sizeof row->name, "%s", name);
        snprintf(row->file, sizeof row->file, "%s", path);
        if (v->kind != STATETEST_VECTOR) {
            row->verdict = ROW_FAIL;
            bench_status(row, "FAIL %s", v->error);
        }
    }
}

static void bench_path_error(void *user, const char *path, const char *message) {
    bench *b = user;
    bench_row *row = bench_add_row(b);
    snprintf(row->name, sizeof row->name, "%s", bench_basename(path));
    snprintf(row->file, sizeof row->file, "%s", path);
    row->verdict = ROW_FAIL;
    bench_status(row, "FAIL %s: %s", path, message);
}

/* ---- measuring ------------------------------------------------------------------------- */

static void bench_progress(const bench *b, size_t index, const bench_row *row, long runs) {
    if (!b->progress) return;
    fprintf(stderr, "\r\033[K[%zu/%zu] %s", index + 1, b->row_count, row->name);
    if (runs) fprintf(stderr, " (%ld runs)", runs);
    fflush(stderr);
}

static void bench_progress_clear(const bench *b) {
    if (!b->progress) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

typedef struct bench_samples {
    uint64_t *ns;
    size_t count, cap;
    uint64_t total;
} bench_samples;

static void bench_sample(bench_samples *s, uint64_t ns) {
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->ns = trie_xrealloc(s->ns, s->cap * sizeof *s->ns);
    }
    s->ns[s->count++] = ns;
    s->total += ns;
}

/* on_compilation of the JIT and AOT runtimes (their backend threads): remember it. */
static void bench_on_compilation(const evmjit_compilation_info *info, void *user) {
    bench_mode *bm = user;
    mtx_lock(&bm->lock);
    if (bm->compile_count == bm->compile_cap) {
        bm->compile_cap = bm->compile_cap ? bm->compile_cap * 2 : 64;
        bm->compiles = trie_xrealloc(bm->compiles, bm->compile_cap * sizeof *bm->compiles);
    }
    bench_compile *c = &bm->compiles[bm->compile_count++];
    memset(c, 0, sizeof *c);
    c->code_hash = info->code_hash;
    c->rev = info->rev;
    c->success = info->success;
    c->code_bytes = info->code_bytes;
    c->times = info->times;
    snprintf(c->message, sizeof c->message, "%s", info->success ? "" : info->message);
    mtx_unlock(&bm->lock);
}

static void bench_add_times(evmjit_compile_times *sum, const evmjit_compile_times *t) {
    sum->queue_ns += t->queue_ns;
    sum->analysis_ns += t->analysis_ns;
    sum->ir_ns += t->ir_ns;
    sum->optimize_ns += t->optimize_ns;
    sum->codegen_ns += t->codegen_ns;
    sum->link_ns += t->link_ns;
    sum->store_ns += t->store_ns;
    sum->load_ns += t->load_ns;
    sum->total_ns += t->total_ns;
}

/* Fill row->compiled: for each compiling mode, the first compilation of every contract in the
   benchmark's pre-state (a code the transaction never entered was never compiled).
   O(contracts x compilations). */
static void bench_collect_compiles(bench *b, bench_row *row) {
    const statetest_item *v = row->item;
    host_state *h = statetest_vector_host(v, NULL);
    for (int m = MODE_JIT; m < BENCH_MODES; m++) {
        bench_mode *bm = &b->modes[m];
        if (!bm->ready) continue;
        bench_compiled *sum = &row->compiled[m];
        mtx_lock(&bm->lock);
        for (size_t k = 0; k < h->table_cap; k++) {
            const host_account *a = h->table[k];
            if (!a || !a->exists || !a->code_size) continue;
            bool seen = false;
            for (size_t j = 0; j < k && !seen; j++) /* the same code at two addresses */
                seen = h->table[j] && h->table[j]->exists && h->table[j]->code_size &&
                       !memcmp(h->table[j]->code_hash.bytes, a->code_hash.bytes, 32);
            for (size_t c = 0; c < bm->compile_count && !seen; c++) {
                const bench_compile *bc = &bm->compiles[c];
                if (bc->rev != v->rev || memcmp(bc->code_hash.bytes, a->code_hash.bytes, 32))
                    continue;
                seen = true;
                if (!bc->success) {
                    sum->failed++;
                    if (!row->note[0]) /* the reason, without the advice after a ';' */
                        snprintf(row->note, sizeof row->note, "%s: a contract not compiled: %.*s",
                                 bench_mode_names[m], (int)strcspn(bc->message, ";"),
                                 bc->message);
                    continue;
                }
                sum->codes++;
                sum->code_bytes += bc->code_bytes;
                bench_add_times(&sum->times, &bc->times);
            }
        }
        mtx_unlock(&bm->lock);
    }
    host_destroy(h);
}

/* After the warm-up: a first JIT compilation is provisional (the backend's baseline tier)
   and the runtime compiles it again with the full optimiser once it is hot. Run
   the transaction untimed until no provisional program is left (at most 60 s), so that the
   timed runs measure what a long-running node converges to. */
static void bench_settle(const bench *b, const statetest_item *v, const bool *active) {
    for (int m = MODE_JIT; m < BENCH_MODES; m++) {
        evmjit_runtime *rt = b->modes[m].runtime.rt;
        if (!active[m] || !rt) continue;
        uint64_t deadline = bench_now_ns() + 60000000000u;
        for (;;) {
            evmjit_runtime_stats st;
            evmjit_runtime_sync(rt, 0);
            evmjit_runtime_get_stats(rt, &st);
            if (!st.provisional || bench_now_ns() > deadline) break;
            host_state *h = statetest_vector_host(v, rt);
            host_tx_result r;
            host_transact(h, &v->block, &v->tx, &r);
            free(r.output);
            host_destroy(h);
        }
    }
}

/* Time one row in every ready mode, interleaved. */
static void bench_measure(const bench *b, size_t index, bench_row *row) {
    const statetest_item *v = row->item;
    bench_samples samples[BENCH_MODES];
    bool active[BENCH_MODES];
    memset(samples, 0, sizeof samples);
    int ref_mode = -1; /* the first mode whose warm-up passed: its status and gas are the
                          reference for every later execution of every mode */
    evmjit_status_code ref_status = EVMJIT_SUCCESS;
    const uint64_t min_ns = (uint64_t)(b->min_time * 1e9);
    uint64_t last_progress = bench_now_ns();
    for (int m = 0; m < BENCH_MODES; m++) active[m] = b->modes[m].ready;
    for (long round = 0;; round++) {
        int running = 0;
        for (int m = 0; m < BENCH_MODES; m++) {
            if (!active[m]) continue;
            host_state *h = statetest_vector_host(v, b->modes[m].runtime.rt);
            host_tx_result r;
            host_transact(h, &v->block, &v->tx, &r);
            const char *mode = bench_mode_names[m];
            if (round == 0) {
                char why[512];
                statetest_verdict verdict = statetest_check(v, h, &r, why, sizeof why);
                if (verdict == STATETEST_SKIP) {
                    row->verdict = ROW_SKIP;
                    bench_status(row, "SKIP %s", why);
                    free(r.output);
                    host_destroy(h);
                    goto done;
                } else if (verdict != STATETEST_PASS) {
                    bench_status(row, "FAIL %s: %s", mode, why);
                    active[m] = false;
                } else if (ref_mode < 0) {
                    ref_mode = m;
                    ref_status = r.status;
                    row->gas_used = r.gas_used;
                    row->has_gas = true;
                }
            }
            if (active[m] && ref_mode >= 0 && (round > 0 || m != ref_mode) &&
                (!r.valid || r.status != ref_status || r.gas_used != row->gas_used)) {
                bench_status(row, "FAIL %s: run %ld: %s, gas used %" PRId64 " (%s, %" PRId64
                             " in %s's first run)", mode, round + 1,
                             r.valid ? evmjit_status_name(r.status) : "rejected",
                             r.gas_used, evmjit_status_name(ref_status), row->gas_used,
                             bench_mode_names[ref_mode]);
                active[m] = false;
            }
            if (active[m] && round > 0) bench_sample(&samples[m], h->call_ns);
            running += active[m];
            free(r.output);
            host_destroy(h);
        }
        if (!running) break;
        if (round == 0 && !b->first_tier) bench_settle(b, v, active);
        if (round >= BENCH_MIN_RUNS) {
            uint64_t slowest = 0;
            for (int m = 0; m < BENCH_MODES; m++)
                if (active[m] && samples[m].total > slowest) slowest = samples[m].total;
            if (slowest >= min_ns) break;
        }
        if (b->progress && bench_now_ns() - last_progress > 200000000u) {
            bench_progress(b, index, row, round + 1);
            last_progress = bench_now_ns();
        }
    }
    for (int m = 0; m < BENCH_MODES; m++) {
        if (!active[m] || !samples[m].count) continue;
        row->measured[m] = true;
        row->runs = (long)samples[m].count;
        row->median_ns[m] = bench_median(samples[m].ns, samples[m].count);
    }
    if (row->status[0]) row->verdict = ROW_FAIL;
done:
    for (int m = 0; m < BENCH_MODES; m++) free(samples[m].ns);
}

/* ---- the table ------------------------------------------------------------------------- */

/* The mode whose compilations the main table shows: the JIT's, else the AOT's; -1: none. */
static int bench_compile_mode(const bench *b) {
    return b->modes[MODE_JIT].ready ? MODE_JIT : b->modes[MODE_AOT].ready ? MODE_AOT : -1;
}

/* "12.3 KiB" */
static void bench_format_bytes(char *s, size_t n, double bytes) {
    if (bytes < 1024) snprintf(s, n, "%.0f B", bytes);
    else if (bytes < 1024 * 1024) snprintf(s, n, "%.1f KiB", bytes / 1024);
    else snprintf(s, n, "%.1f MiB", bytes / (1024 * 1024));
}

static void bench_print_header(const bench *b) {
    printf("%-*s  %12s  %10s %8s", b->name_width, "benchmark", "gas used", "interp", "Mgas/s");
    for (int m = MODE_JIT; m < BENCH_MODES; m++)
        if (b->modes[m].selected) printf("  %10s %7s", bench_mode_names[m], "x");
    int cm = bench_compile_mode(b);
    if (cm >= 0) printf("  %10s %9s", cm == MODE_JIT ? "compile" : "aot comp.", "code");
    printf("  status\n");
}

/* The compile and code-size cells of the main table. */
static void bench_print_compile_cells(const bench *b, const bench_row *row) {
    int cm = bench_compile_mode(b);
    if (cm < 0) return;
    const bench_compiled *c = &row->compiled[cm];
    char t[32] = "-", size[32] = "-";
    if (c->codes) {
        bench_format_time(t, sizeof t, (double)c->times.total_ns);
        bench_format_bytes(size, sizeof size, (double)c->code_bytes);
    } else if (c->failed) {
        snprintf(t, sizeof t, "failed");
    }
    printf("  %10s %9s", t, size);
}

/* One time column: the median, or why there is none. */
static void bench_time_cell(const bench_row *row, int m, bool ready, char *s, size_t n) {
    if (!ready) snprintf(s, n, "n/a");
    else if (row->measured[m]) bench_format_time(s, n, row->median_ns[m]);
    else if (row->verdict == ROW_FAIL && row->item && row->item->kind == STATETEST_VECTOR)
        snprintf(s, n, "FAIL");
    else snprintf(s, n, "-");
}

static void bench_print_row(const bench *b, const bench_row *row) {
    char gas[32], t[32], rate[32];
    if (row->has_gas) snprintf(gas, sizeof gas, "%" PRId64, row->gas_used);
    else snprintf(gas, sizeof gas, "-");
    bench_time_cell(row, MODE_INTERP, b->modes[MODE_INTERP].ready, t, sizeof t);
    if (row->measured[MODE_INTERP] && row->has_gas)
        snprintf(rate, sizeof rate, "%.1f", (double)row->gas_used * 1e3 / row->median_ns[0]);
    else snprintf(rate, sizeof rate, "%s", b->modes[MODE_INTERP].ready ? "-" : "n/a");
    if (!b->modes[MODE_INTERP].selected) {
        snprintf(t, sizeof t, "-");
        snprintf(rate, sizeof rate, "-");
    }
    printf("%-*s  %12s  %10s %8s", b->name_width, row->name, gas, t, rate);
    for (int m = MODE_JIT; m < BENCH_MODES; m++) {
        if (!b->modes[m].selected) continue;
        char x[32];
        bench_time_cell(row, m, b->modes[m].ready, t, sizeof t);
        if (!b->modes[m].ready) snprintf(x, sizeof x, "n/a");
        else if (row->measured[m] && row->measured[MODE_INTERP])
            snprintf(x, sizeof x, "%.2fx", row->median_ns[MODE_INTERP] / row->median_ns[m]);
        else snprintf(x, sizeof x, "-");
        printf("  %10s %7s", t, x);
    }
    bench_print_compile_cells(b, row);
    if (row->verdict != ROW_OK) printf("  %s\n", row->status);
    else if (row->note[0]) printf("  ok (%s)\n", row->note);
    else printf("  ok\n");
    fflush(stdout);
}

/* The geometric means of interp Mgas/s and of each mode's speedup, over the rows where both
   figures exist; and the counts. */
static void bench_print_summary(const bench *b, long ok, long failed, long skipped) {
    double log_rate = 0;
    long rate_n = 0;
    for (size_t i = 0; i < b->row_count; i++) {
        const bench_row *row = &b->rows[i];
        if (row->measured[MODE_INTERP] && row->has_gas && row->gas_used > 0) {
            log_rate += log((double)row->gas_used * 1e3 / row->median_ns[MODE_INTERP]);
            rate_n++;
        }
    }
    char rate[32] = "-";
    if (rate_n) snprintf(rate, sizeof rate, "%.1f", exp(log_rate / (double)rate_n));
    if (!b->modes[MODE_INTERP].ready) snprintf(rate, sizeof rate, "n/a");
    printf("%-*s  %12s  %10s %8s", b->name_width, "geometric mean", "", "", rate);
    for (int m = MODE_JIT; m < BENCH_MODES; m++) {
        if (!b->modes[m].selected) continue;
        double log_x = 0;
        long n = 0;
        for (size_t i = 0; i < b->row_count; i++) {
            const bench_row *row = &b->rows[i];
            if (row->measured[m] && row->measured[MODE_INTERP]) {
                log_x += log(row->median_ns[MODE_INTERP] / row->median_ns[m]);
                n++;
            }
        }
        char x[32] = "-";
        if (!b->modes[m].ready) snprintf(x, sizeof x, "n/a");
        else if (n) snprintf(x, sizeof x, "%.2fx", exp(log_x / (double)n));
        printf("  %10s %7s", "", x);
    }
    if (bench_compile_mode(b) >= 0) printf("  %10s %9s", "", "");
    printf("  %ld ok, %ld failed", ok, failed);
    if (skipped) printf(", %ld skipped", skipped);
    printf("\n");
    for (int m = 0; m < BENCH_MODES; m++)
        if (b->modes[m].selected && !b->modes[m].ready)
            printf("n/a: %s: %s\n", bench_mode_names[m], b->modes[m].why);
}

/* The second table: what compiling each benchmark's contracts took, phase by phase (the
   JIT's; the AOT's phases are the same up to codegen, then it links a shared object, stores
   and loads it: its total and object size close the row). */
static void bench_print_phases(const bench *b) {
    bool jit = b->modes[MODE_JIT].ready, aot = b->modes[MODE_AOT].ready;
    if (!jit && !aot) return;
    int pm = jit ? MODE_JIT : MODE_AOT;
    printf("\ncompilation by phase (%s; every contract of the benchmark that was compiled, "
           "summed)\n", jit ? "JIT" : "AOT");
    printf("%-*s  %5s  %9s %9s %9s %9s %9s %9s %9s", b->name_width, "benchmark", "codes",
           "analysis", "ir", "optimize", "codegen", "link", "total", "code");
    if (jit && aot) printf("  %9s %9s", "aot total", "object");
    printf("\n");
    for (size_t i = 0; i < b->row_count; i++) {
        const bench_row *row = &b->rows[i];
        const bench_compiled *c = &row->compiled[pm];
        if (!c->codes && !c->failed) continue;
        const uint64_t phase[] = {c->times.analysis_ns, c->times.ir_ns, c->times.optimize_ns,
                                  c->times.codegen_ns, c->times.link_ns, c->times.total_ns};
        printf("%-*s  %5d ", b->name_width, row->name, c->codes);
        for (size_t k = 0; k < sizeof phase / sizeof phase[0]; k++) {
            char t[32] = "-";
            if (c->codes) bench_format_time(t, sizeof t, (double)phase[k]);
            printf(" %9s", t);
        }
        char size[32] = "-";
        if (c->codes) bench_format_bytes(size, sizeof size, (double)c->code_bytes);
        printf(" %9s", size);
        if (jit && aot) {
            const bench_compiled *a = &row->compiled[MODE_AOT];
            char t[32] = "-", o[32] = "-";
            if (a->codes) {
                bench_format_time(t, sizeof t, (double)a->times.total_ns);
                bench_format_bytes(o, sizeof o, (double)a->code_bytes);
            }
            printf("  %9s %9s", t, o);
        }
        if (c->failed) printf("  %d failed", c->failed);
        printf("\n");
    }
}

/* ---- JSON ------------------------------------------------------------------------------ */

static json_t *bench_json_ns(const bench_row *row, int m) {
    return row->measured[m] ? json_integer((json_int_t)llround(row->median_ns[m])) : json_null();
}

/* compile_ns / aot_compile_ns: phase -> nanoseconds summed over the contracts; null when
   none was compiled. */
static json_t *bench_json_times(const bench_row *row, int m) {
    const bench_compiled *c = &row->compiled[m];
    if (!c->codes) return json_null();
    const evmjit_compile_times *t = &c->times;
    json_t *o = json_object();
    json_object_set_new(o, "analysis", json_integer((json_int_t)t->analysis_ns));
    json_object_set_new(o, "ir", json_integer((json_int_t)t->ir_ns));
    json_object_set_new(o, "optimize", json_integer((json_int_t)t->optimize_ns));
    json_object_set_new(o, "codegen", json_integer((json_int_t)t->codegen_ns));
    json_object_set_new(o, "link", json_integer((json_int_t)t->link_ns));
    if (m == MODE_AOT) {
        json_object_set_new(o, "store", json_integer((json_int_t)t->store_ns));
        json_object_set_new(o, "load", json_integer((json_int_t)t->load_ns));
    }
    json_object_set_new(o, "queue", json_integer((json_int_t)t->queue_ns));
    json_object_set_new(o, "total", json_integer((json_int_t)t->total_ns));
    return o;
}

static json_t *bench_json_speedup(const bench_row *row, int m) {
    if (!row->measured[m] || !row->measured[MODE_INTERP]) return json_null();
    return json_real(row->median_ns[MODE_INTERP] / row->median_ns[m]);
}

static bool bench_write_json(const bench *b) {
    json_t *list = json_array();
    for (size_t i = 0; i < b->row_count; i++) {
        const bench_row *row = &b->rows[i];
        const statetest_item *v = row->item;
        json_t *o = json_object();
        char status[sizeof row->status + 8];
        if (row->verdict == ROW_OK) snprintf(status, sizeof status, "ok");
        else snprintf(status, sizeof status, "%s", row->status);
        json_object_set_new(o, "name", json_string(row->name));
        json_object_set_new(o, "file", json_string(row->file));
        json_object_set_new(o, "fork", v && v->fork ? json_string(v->fork) : json_null());
        json_object_set_new(o, "gas_used", row->has_gas ? json_integer(row->gas_used) : json_null());
        json_object_set_new(o, "runs", json_integer(row->runs));
        json_object_set_new(o, "interp_ns", bench_json_ns(row, MODE_INTERP));
        json_object_set_new(o, "jit_ns", bench_json_ns(row, MODE_JIT));
        json_object_set_new(o, "aot_ns", bench_json_ns(row, MODE_AOT));
        json_object_set_new(o, "jit_speedup", bench_json_speedup(row, MODE_JIT));
        json_object_set_new(o, "aot_speedup", bench_json_speedup(row, MODE_AOT));
        json_object_set_new(o, "compiled_codes", json_integer(row->compiled[MODE_JIT].codes));
        json_object_set_new(o, "compile_failures", json_integer(row->compiled[MODE_JIT].failed +
                                                                row->compiled[MODE_AOT].failed));
        json_object_set_new(o, "compile_ns", bench_json_times(row, MODE_JIT));
        json_object_set_new(o, "code_bytes",
                            row->compiled[MODE_JIT].codes
                                ? json_integer((json_int_t)row->compiled[MODE_JIT].code_bytes)
                                : json_null());
        json_object_set_new(o, "aot_compile_ns", bench_json_times(row, MODE_AOT));
        json_object_set_new(o, "aot_code_bytes",
                            row->compiled[MODE_AOT].codes
                                ? json_integer((json_int_t)row->compiled[MODE_AOT].code_bytes)
                                : json_null());
        json_object_set_new(o, "note", row->note[0] ? json_string(row->note) : json_null());
        json_object_set_new(o, "status", json_string(status));
        json_array_append_new(list, o);
    }
    int rc = json_dump_file(list, b->json_path, JSON_INDENT(2));
    json_decref(list);
    if (rc != 0) {
        fprintf(stderr, "evmjit bench: cannot write %s: %s\n", b->json_path,
                errno ? strerror(errno) : "error");
        return false;
    }
    return true;
}

/* ---- main ------------------------------------------------------------------------------ */

static void bench_free(bench *b) {
    for (size_t i = 0; i < b->file_count; i++) statetest_file_free(&b->files[i]);
    free(b->files);
    free(b->rows);
    for (int m = 0; m < BENCH_MODES; m++) {
        if (b->modes[m].ready) statetest_destroy_runtime(&b->modes[m].runtime);
        if (b->modes[m].has_lock) mtx_destroy(&b->modes[m].lock);
        free(b->modes[m].compiles);
    }
}

/* The test host allocates its journal, logs and storage tables afresh in every timed
   execution and frees them after it. By default glibc hands large freed blocks back to the
   kernel, so every execution would fault the same pages in again: on a paravirtualised guest
   that was more than half of erc20_transfer's time, the same in every mode. Keep freed
   memory in the process, as it is in a long-running node. */
static void bench_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
#endif
}

int bench_main(int argc, char **argv) {
    bench b;
    memset(&b, 0, sizeof b);
    b.min_time = BENCH_DEFAULT_MIN_TIME;
    for (int m = 0; m < BENCH_MODES; m++) b.modes[m].selected = true;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1]) break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            bench_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--first-tier")) {
            b.first_tier = true;
            continue;
        }
        /* --name VALUE or --name=VALUE */
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        static const char *const with_value[] = {"--json", "--filter", "--mode", "--min-time"};
        int opt = -1;
        for (int k = 0; k < 4; k++)
            if (strlen(with_value[k]) == name_len && !strncmp(a, with_value[k], name_len)) opt = k;
        if (opt < 0) return bench_usage_error("unknown option '%s'", a);
        const char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!val) return bench_usage_error("%s needs a value", with_value[opt]);
        if (opt == 0) {
            b.json_path = val;
        } else if (opt == 1) {
            b.filter = val;
        } else if (opt == 2) {
            if (!bench_parse_modes(val, b.modes))
                return bench_usage_error("--mode: '%s' is not interp, jit, aot, all or a list", val);
        } else {
            char *end;
            errno = 0;
            double t = strtod(val, &end);
            if (errno || end == val || *end || !(t >= 0) || t > 86400)
                return bench_usage_error("--min-time: '%s' is not a number of seconds", val);
            b.min_time = t;
        }
    }

    bench_keep_freed_memory();
    for (int m = 0; m < BENCH_MODES; m++) {
        bench_mode *bm = &b.modes[m];
        if (!bm->selected) continue;
        if (m != MODE_INTERP) {
            if (mtx_init(&bm->lock, mtx_plain) != thrd_success) {
                snprintf(bm->why, sizeof bm->why, "cannot create a mutex");
                continue;
            }
            bm->has_lock = true;
        }
        bm->ready = statetest_make_observed_runtime(
                        bench_mode_names[m], m != MODE_INTERP ? bench_on_compilation : NULL, bm,
                        b.first_tier ? EVMJIT_OFF : 0, &bm->runtime, bm->why, sizeof bm->why) == STATETEST_MODE_READY;
    }
    bool any_ready = false;
    for (int m = 0; m < BENCH_MODES; m++) any_ready |= b.modes[m].ready;
    if (!any_ready) {
        for (int m = 0; m < BENCH_MODES; m++)
            if (b.modes[m].selected)
                fprintf(stderr, "evmjit bench: %s: %s\n", bench_mode_names[m], b.modes[m].why);
        fprintf(stderr, "evmjit bench: none of the selected modes can run\n");
        bench_free(&b);
        return 1;
    }

    statetest_walk_or_bench(argv + i, argc - i, &b, bench_add_file, bench_path_error);
    if (!b.row_count) {
        fprintf(stderr, "evmjit bench: no benchmark%s%s%s\n", b.filter ? " matches '" : "",
                b.filter ? b.filter : "", b.filter ? "'" : "");
        bench_free(&b);
        return 1;
    }

    b.name_width = 9;
    for (size_t k = 0; k < b.row_count; k++) {
        int len = (int)strlen(b.rows[k].name);
        if (len > b.name_width) b.name_width = len > 48 ? 48 : len;
    }
    b.progress = isatty(STDERR_FILENO) != 0;
    printf("evmjit bench: %zu benchmark%s; median of >= %d timed runs and >= %g s per mode "
           "(after an untimed, checked warm-up)\n\n",
           b.row_count, b.row_count == 1 ? "" : "s", BENCH_MIN_RUNS, b.min_time);
    bench_print_header(&b);
    long ok = 0, failed = 0, skipped = 0;
    for (size_t k = 0; k < b.row_count; k++) {
        bench_row *row = &b.rows[k];
        bench_progress(&b, k, row, 0);
        if (row->verdict == ROW_OK) {
            bench_measure(&b, k, row);
            bench_collect_compiles(&b, row);
        }
        bench_progress_clear(&b);
        bench_print_row(&b, row);
        ok += row->verdict == ROW_OK;
        failed += row->verdict == ROW_FAIL;
        skipped += row->verdict == ROW_SKIP;
    }
    bench_print_summary(&b, ok, failed, skipped);
    bench_print_phases(&b);
    bool json_ok = !b.json_path || bench_write_json(&b);
    bench_free(&b);
    return failed || !json_ok ? 1 : 0;
}
