/* demo.c - `evmjit demo`. See demo.h.

   Threads: this one runs every execution; the runtime's backend thread calls
   demo_on_compilation; the store wrapper's load_all runs on this thread inside
   evmjit_runtime_create, before the runtime's threads exist. What those callbacks record
   (preloaded keys, compilations) is guarded by demo.lock.

   Telling the tiers apart: every frame of code the host runs is one evmjit_execute, hence one
   lookup (host_state.frames counts them), and the runtime's hit counter is exact at once (it
   is summed from per-reader counters). An execution whose frames all hit ran native; one with
   no hit was interpreted; anything between is "mixed" (a transaction that calls several
   contracts, only some of them compiled). Memory: one sample (8 bytes) per execution. */
#include "demo.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "host.h"
#include "statetest.h"
#include "trie.h"

#define DEMO_DEFAULT_ROUNDS 40
#define DEMO_DEFAULT_STORE "evmjit-store"
#define DEMO_REF_RUNS 3    /* interpreted executions a row's interpreter median needs */
#define DEMO_WAIT_MS 300000 /* the longest wait for running compilations at the end */

typedef struct demo_samples {
    uint64_t *ns;
    size_t count, cap;
} demo_samples;

typedef struct demo_row {
    const statetest_item *item; /* NULL: a path that could not be read */
    char name[200];
    /* the recipient's code: what the compile and store columns are about */
    bool has_code;
    evmjit_bytes32 code_hash;
    size_t code_size;
    bool failed;  /* a wrong result, or broken input: the row leaves the rounds */
    bool skipped; /* reaches a precompile this build lacks: leaves the rounds, not a failure */
    char status[400];
    /* the first execution's status and gas: every later one must repeat them */
    bool has_ref;
    evmjit_status_code ref_status;
    int64_t gas_used;
    bool native_checked; /* the first native execution was checked like the first one */
    long interp_runs, native_runs, mixed_runs, ref_runs;
    long first_native; /* round (from 1) of the first native execution; 0: none */
    demo_samples interp, native;
    uint64_t exec_ns; /* every execution in the rounds, summed */
} demo_row;

typedef struct demo_key {
    evmjit_bytes32 hash;
    evmjit_revision rev;
} demo_key;

typedef struct demo_compile {
    demo_key key;
    bool success;
    bool from_store;
    evmjit_compile_times times;
    char message[160];
} demo_compile;

typedef struct demo {
    /* options */
    const char *store_dir;
    long rounds;
    uint64_t threshold; /* 0: the runtime's default */
    bool fresh;
    const char *filter;
    /* fixtures */
    statetest_file *files;
    size_t file_count;
    demo_row *rows;
    size_t row_count, row_cap;
    int name_width;
    bool progress; /* stderr is a terminal */
    /* the runtime and its store */
    const evmjit_backend *backend; /* NULL: this build has no LLVM backend */
    evmjit_store *store;           /* NULL: none (store_note says why) */
    char store_note[600];
    evmjit_artifact_store table; /* the store's table, with load_all wrapped */
    const evmjit_artifact_store *inner;
    evmjit_artifact_sink sink; /* the runtime's, during load_all */
    void *sink_ctx;
    uint64_t preload_ns;
    evmjit_runtime *rt;
    /* recorded by the callbacks, under lock */
    mtx_t lock;
    demo_key *preloaded;
    size_t preloaded_count, preloaded_cap;
    demo_compile *compiles;
    size_t compile_count, compile_cap;
} demo;

/* ---- small helpers --------------------------------------------------------------------- */

static uint64_t demo_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void demo_sample(demo_samples *s, uint64_t ns) {
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->ns = trie_xrealloc(s->ns, s->cap * sizeof *s->ns);
    }
    s->ns[s->count++] = ns;
}

static int demo_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The median (sorts the samples); 0 without samples. */
static double demo_median(demo_samples *s) {
    if (!s->count) return 0;
    qsort(s->ns, s->count, sizeof *s->ns, demo_cmp_u64);
    size_t n = s->count;
    return n % 2 ? (double)s->ns[n / 2] : ((double)s->ns[n / 2 - 1] + (double)s->ns[n / 2]) / 2;
}

static void demo_status(demo_row *row, const char *fmt, ...) {
    if (row->status[0]) return; /* the first failure says it */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(row->status, sizeof row->status, fmt, ap);
    va_end(ap);
    row->failed = true;
}

static bool demo_key_eq(const demo_key *k, const evmjit_bytes32 *hash, evmjit_revision rev) {
    return k->rev == rev && !memcmp(k->hash.bytes, hash->bytes, 32);
}

static demo_row *demo_add_row(demo *d) {
    if (d->row_count == d->row_cap) {
        d->row_cap = d->row_cap ? d->row_cap * 2 : 64;
        d->rows = trie_xrealloc(d->rows, d->row_cap * sizeof *d->rows);
    }
    demo_row *row = &d->rows[d->row_count++];
    memset(row, 0, sizeof *row);
    return row;
}

/* ---- options --------------------------------------------------------------------------- */

static void demo_usage(FILE *out) {
    fprintf(out,
            "usage: evmjit demo [--store DIR] [--rounds N] [--hot-threshold N] [--fresh]\n"
            "                   [--filter SUBSTRING] [FIXTURE_OR_DIR...]\n"
            "Run the benchmark contracts through one tiered runtime, the way a node runs them:\n"
            "every round executes each benchmark's transaction once, in turn. A contract's\n"
            "first executions are interpreted; once hot it is compiled in the background (LLVM,\n"
            "ahead of time, into the artifact store) and later executions run native. The\n"
            "next run preloads the store: those contracts run native from the first round.\n"
            "Prints a line per round, a row per benchmark (executions per tier, the first\n"
            "native round, compile time, whether the program came from the store, the median\n"
            "time per execution in each tier, the speedup) and the runtime's totals.\n"
            "  --store DIR          the artifact store (default ./%s; created, mode 0755)\n"
            "  --rounds N           executions of each benchmark (default %d)\n"
            "  --hot-threshold N    interpreted executions before a contract is compiled\n"
            "                       (default: the runtime's, 8)\n"
            "  --fresh              delete every artifact in the store first (a cold start)\n"
            "  --filter SUBSTRING   only benchmarks whose name or fixture path contains it\n"
            "  --help               this text\n"
            "FIXTURE_OR_DIR: state tests or revmc-style transaction lists, as for evmjit bench.\n"
            "Default: $EVMJIT_FIXTURES/bench/evm-benchmarks and $EVMJIT_FIXTURES/bench/revmc,\n"
            "EVMJIT_FIXTURES defaulting to ../shared/fixtures.\n"
            "Without the LLVM backend the demo interprets (and says so); programs the store\n"
            "already holds for this CPU still run native.\n"
            "Exit status: 0 when every execution gave the expected result, 1 on a failure,\n"
            "2 on a usage error.\n",
            DEMO_DEFAULT_STORE, DEMO_DEFAULT_ROUNDS);
}

static int demo_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("evmjit demo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    demo_usage(stderr);
    return 2;
}

/* A whole number in [lo, hi]. */
static bool demo_parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* ---- fixtures -> rows ------------------------------------------------------------------ */

static const char *demo_basename(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The recipient's code of a vector (its pre-state), for the compile and store columns. */
static void demo_find_code(demo_row *row) {
    const statetest_item *v = row->item;
    if (v->tx.create) return;
    host_state *h = statetest_vector_host(v, NULL);
    host_account *a = host_find(h, &v->tx.to);
    if (a && a->exists && a->code_size) {
        row->has_code = true;
        row->code_hash = a->code_hash;
        row->code_size = a->code_size;
    }
    host_destroy(h);
}

static void demo_add_file(void *user, const char *path) {
    demo *d = user;
    d->files = trie_xrealloc(d->files, (d->file_count + 1) * sizeof *d->files);
    statetest_file *f = &d->files[d->file_count++];
    statetest_options o;
    memset(&o, 0, sizeof o);
    statetest_file_load(&o, true, path, f);
    for (size_t i = 0; i < f->count; i++) {
        const statetest_item *v = &f->items[i];
        char name[sizeof d->rows->name];
        if (v->kind == STATETEST_BAD_INPUT)
            snprintf(name, sizeof name, "%s", v->test ? v->test : demo_basename(path));
        else bench_item_name(f, i, name, sizeof name);
        if (d->filter && !strstr(name, d->filter) && !strstr(path, d->filter)) continue;
        demo_row *row = demo_add_row(d);
        row->item = v;
        snprintf(row->name, sizeof row->name, "%s", name);
        if (v->kind != STATETEST_VECTOR) demo_status(row, "FAIL %s", v->error);
        else demo_find_code(row);
    }
}

static void demo_path_error(void *user, const char *path, const char *message) {
    demo *d = user;
    demo_row *row = demo_add_row(d);
    snprintf(row->name, sizeof row->name, "%s", demo_basename(path));
    demo_status(row, "FAIL %s: %s", path, message);
}

/* ---- the store and the runtime --------------------------------------------------------- */

/* Warnings and errors to stderr, except failed compilations: the table shows those. */
static void demo_log(evmjit_log_level level, const char *message, void *user) {
    (void)user;
    if (level > EVMJIT_LOG_WARN || !strncmp(message, "compilation failed", 18)) return;
    fprintf(stderr, "evmjit: %s\n", message);
}

/* The runtime's backend thread, after every finished compilation. */
static void demo_on_compilation(const evmjit_compilation_info *info, void *user) {
    demo *d = user;
    mtx_lock(&d->lock);
    if (d->compile_count == d->compile_cap) {
        d->compile_cap = d->compile_cap ? d->compile_cap * 2 : 64;
        d->compiles = trie_xrealloc(d->compiles, d->compile_cap * sizeof *d->compiles);
    }
    demo_compile *c = &d->compiles[d->compile_count++];
    memset(c, 0, sizeof *c);
    c->key.hash = info->code_hash;
    c->key.rev = info->rev;
    c->success = info->success;
    c->from_store = info->from_store;
    c->times = info->times;
    snprintf(c->message, sizeof c->message, "%.*s", (int)strcspn(info->message, ";"),
             info->message);
    mtx_unlock(&d->lock);
}

/* load_all's sink, between the store and the runtime: note the key, hand the artifact on. */
static evmjit_error demo_preload_sink(void *ctx, const evmjit_artifact *a) {
    demo *d = ctx;
    mtx_lock(&d->lock);
    if (d->preloaded_count == d->preloaded_cap) {
        d->preloaded_cap = d->preloaded_cap ? d->preloaded_cap * 2 : 64;
        d->preloaded = trie_xrealloc(d->preloaded, d->preloaded_cap * sizeof *d->preloaded);
    }
    d->preloaded[d->preloaded_count].hash = a->code_hash;
    d->preloaded[d->preloaded_count].rev = a->rev;
    d->preloaded_count++;
    mtx_unlock(&d->lock);
    return d->sink(d->sink_ctx, a);
}

/* The store's load_all, timed, with demo_preload_sink in between. */
static evmjit_error demo_load_all(void *user, evmjit_artifact_sink sink, void *ctx) {
    demo *d = user;
    d->sink = sink;
    d->sink_ctx = ctx;
    uint64_t t0 = demo_now_ns();
    evmjit_error err = d->inner->load_all(d->inner->user, demo_preload_sink, d);
    d->preload_ns = demo_now_ns() - t0;
    return err;
}

/* The rest of the table goes straight to the store. */
static evmjit_error demo_load(void *user, const evmjit_bytes32 *code_hash, evmjit_revision rev,
                              evmjit_artifact *out) {
    const demo *d = user;
    return d->inner->load(d->inner->user, code_hash, rev, out);
}
static evmjit_error demo_store(void *user, const evmjit_artifact_object *object) {
    const demo *d = user;
    return d->inner->store(d->inner->user, object);
}
static evmjit_error demo_clear(void *user) {
    const demo *d = user;
    return d->inner->clear(d->inner->user);
}
static void demo_unload(void *user, const evmjit_artifact *artifact) {
    const demo *d = user;
    d->inner->unload(d->inner->user, artifact);
}

/* Create the store directory if it is absent: mode 0755 whatever the umask (the store
   refuses a directory that others can write, and the owner needs every bit). */
static bool demo_make_dir(const char *dir, char *why, size_t n) {
    struct stat s;
    if (stat(dir, &s) == 0) return true;
    if (errno != ENOENT || mkdir(dir, 0755) != 0 || chmod(dir, 0755) != 0) {
        snprintf(why, n, "cannot create %s: %s", dir, strerror(errno));
        return false;
    }
    return true;
}

typedef struct demo_profile_count {
    char backend[64], version[128];
    int opt_level;
    long count;
} demo_profile_count;

typedef struct demo_profiles {
    char target[EVMJIT_STORE_MAX_TARGET];
    demo_profile_count p[16];
    int n;
} demo_profiles;

static evmjit_error demo_count_profile(void *ctx, const evmjit_store_entry *e) {
    demo_profiles *ps = ctx;
    const evmjit_store_manifest *m = e->manifest;
    if (e->kind != EVMJIT_STORE_ENTRY_ARTIFACT || !m || e->status != EVMJIT_SKIP_NONE ||
        m->abi_version != EVMJIT_ABI_VERSION || strcmp(m->target, ps->target))
        return EVMJIT_OK;
    for (int i = 0; i < ps->n; i++) {
        demo_profile_count *p = &ps->p[i];
        if (!strcmp(p->backend, m->backend) && !strcmp(p->version, m->compiler_version) &&
            p->opt_level == m->opt_level) {
            p->count++;
            return EVMJIT_OK;
        }
    }
    if (ps->n == (int)(sizeof ps->p / sizeof ps->p[0])) return EVMJIT_OK;
    demo_profile_count *p = &ps->p[ps->n++];
    snprintf(p->backend, sizeof p->backend, "%s", m->backend);
    snprintf(p->version, sizeof p->version, "%s", m->compiler_version);
    p->opt_level = m->opt_level;
    p->count = 1;
    return EVMJIT_OK;
}

/* Open the store. With the LLVM backend: create the directory if needed and open it with
   the backend's profile. Without: an existing directory only, opened with the profile (backend,
   compiler version, opt level) of most of the artifacts it holds for this CPU and ABI, so
   that they can be loaded without a compiler. On failure d->store stays NULL and
   d->store_note says why. */
static void demo_open_store(demo *d) {
    evmjit_store_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.path = d->store_dir;
    sd.logger.log = demo_log;
    evmjit_error err = EVMJIT_OK;
    if (d->backend) {
        if (!demo_make_dir(d->store_dir, d->store_note, sizeof d->store_note)) return;
        sd.backend = d->backend;
        err = evmjit_store_open(&sd, &d->store);
    } else {
        struct stat s;
        if (stat(d->store_dir, &s) != 0) {
            snprintf(d->store_note, sizeof d->store_note, "%s does not exist: nothing to preload",
                     d->store_dir);
            return;
        }
        evmjit_store *probe = NULL;
        if ((err = evmjit_store_open(&sd, &probe)) != EVMJIT_OK) {
            snprintf(d->store_note, sizeof d->store_note, "cannot open %s (%s)", d->store_dir,
                     evmjit_error_name(err));
            return;
        }
        demo_profiles ps;
        memset(&ps, 0, sizeof ps);
        evmjit_store_host_target(ps.target, sizeof ps.target);
        err = evmjit_store_iterate(probe, 0, demo_count_profile, &ps);
        evmjit_store_close(probe);
        int best = -1;
        for (int i = 0; i < ps.n; i++)
            if (best < 0 || ps.p[i].count > ps.p[best].count) best = i;
        if (err != EVMJIT_OK || best < 0) {
            snprintf(d->store_note, sizeof d->store_note,
                     "%s holds no artifact for this CPU and ABI: nothing to preload", d->store_dir);
            return;
        }
        sd.backend_name = ps.p[best].backend;
        sd.compiler_version = ps.p[best].version;
        sd.opt_level = EVMJIT_O0 + ps.p[best].opt_level;
        err = evmjit_store_open(&sd, &d->store); /* copies the profile */
    }
    if (err != EVMJIT_OK) {
        d->store = NULL;
        snprintf(d->store_note, sizeof d->store_note, "cannot open %s (%s)%s", d->store_dir,
                 evmjit_error_name(err),
                 err == EVMJIT_ERR_UNTRUSTED ? ": others can write it or a parent (chmod go-w)"
                                             : "");
        return;
    }
    if (d->fresh && (err = evmjit_store_clear(d->store)) != EVMJIT_OK)
        fprintf(stderr, "evmjit demo: --fresh: could not empty %s (%s)\n", d->store_dir,
                evmjit_error_name(err));
    d->inner = evmjit_store_table(d->store);
    d->table = *d->inner;
    d->table.user = d;
    d->table.load_all = demo_load_all;
    d->table.load = demo_load;
    d->table.store = demo_store;
    d->table.clear = demo_clear;
    d->table.unload = demo_unload;
}

static evmjit_error demo_make_runtime(demo *d) {
    evmjit_runtime_desc rd;
    memset(&rd, 0, sizeof rd);
    rd.backend = d->backend;
    rd.store = d->store ? &d->table : NULL;
    /* hot code becomes a shared object in the store when there is one to write to */
    rd.mode = d->backend && d->store ? EVMJIT_MODE_AOT : EVMJIT_MODE_JIT;
    rd.enabled = true;
    rd.hot_threshold = d->threshold;
    rd.logger.log = demo_log;
    rd.on_compilation = demo_on_compilation;
    rd.on_compilation_user = d;
    return evmjit_runtime_create(&rd, &d->rt);
}

/* After the rounds: let running compilations finish, so that the store holds everything
   that got hot. A key that became hot in the last round may wait for an execution to hand
   over its code, which will not come: the wait ends when no compilation is queued or running
   and nothing changed for a second. */
static void demo_wait_compilations(demo *d) {
    evmjit_runtime_stats s;
    uint64_t last_change = demo_now_ns(), start = last_change, before = UINT64_MAX;
    bool told = false;
    for (;;) {
        evmjit_runtime_sync(d->rt, 1000);
        evmjit_runtime_get_stats(d->rt, &s);
        uint64_t finished = s.succeeded + s.failed + s.discarded;
        uint64_t running = s.dispatched > finished ? s.dispatched - finished : 0;
        if (!s.pending_jobs) break;
        if (s.pending_jobs + s.dispatched != before) {
            before = s.pending_jobs + s.dispatched;
            last_change = demo_now_ns();
        }
        uint64_t now = demo_now_ns();
        if (!running && now - last_change > 1000000000u) break;
        if (now - start > (uint64_t)DEMO_WAIT_MS * 1000000u) {
            printf("gave up waiting for %" PRIu64 " compilations after %d s\n", s.pending_jobs,
                   DEMO_WAIT_MS / 1000);
            break;
        }
        if (!told && running) {
            printf("waiting for %" PRIu64 " compilation%s to finish, so that the store is "
                   "complete\n", running, running == 1 ? "" : "s");
            fflush(stdout);
            told = true;
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
}

/* ---- executing ------------------------------------------------------------------------- */

typedef enum demo_tier { TIER_INTERP, TIER_NATIVE, TIER_MIXED } demo_tier;

/* One execution of a row's transaction through `rt` (NULL: the interpreter alone), checked:
   the first one and the first native one fully (post-state root and logs, or success), every
   other one against the first one's status and gas. Returns its tier; *ns gets its time. */
static demo_tier demo_execute(demo_row *row, evmjit_runtime *rt, long round, uint64_t *ns) {
    const statetest_item *v = row->item;
    host_state *h = statetest_vector_host(v, rt);
    evmjit_runtime_stats s0, s1;
    evmjit_runtime_get_stats(rt, &s0);
    host_tx_result r;
    uint64_t t0 = demo_now_ns();
    host_transact(h, &v->block, &v->tx, &r);
    *ns = demo_now_ns() - t0;
    evmjit_runtime_get_stats(rt, &s1);
    uint64_t hits = s1.hits - s0.hits;
    demo_tier tier = !hits                 ? TIER_INTERP
                     : hits == h->frames   ? TIER_NATIVE
                                           : TIER_MIXED;
    const char *what = !rt                  ? "interpreter only"
                       : tier == TIER_NATIVE ? "native"
                       : tier == TIER_MIXED  ? "mixed"
                                             : "interpreted";
    if (!row->has_ref || (tier == TIER_NATIVE && !row->native_checked)) {
        char why[512];
        statetest_verdict verdict = statetest_check(v, h, &r, why, sizeof why);
        if (verdict == STATETEST_SKIP) {
            snprintf(row->status, sizeof row->status, "SKIP %.300s", why);
            row->skipped = true;
        } else if (verdict != STATETEST_PASS)
            demo_status(row, "FAIL round %ld (%s): %s", round, what, why);
        if (!row->has_ref) {
            row->has_ref = true;
            row->ref_status = r.status;
            row->gas_used = r.gas_used;
        }
        if (tier == TIER_NATIVE) row->native_checked = true;
    }
    if (!row->failed && !row->skipped &&
        (!r.valid || r.status != row->ref_status || r.gas_used != row->gas_used))
        demo_status(row, "FAIL round %ld (%s): %s, gas used %" PRId64 " (%s, %" PRId64
                    " the first time)", round, what,
                    r.valid ? evmjit_status_name(r.status) : "rejected", r.gas_used,
                    evmjit_status_name(row->ref_status), row->gas_used);
    free(r.output);
    host_destroy(h);
    return tier;
}

/* What the round lines show; a round like the one before is not printed (but the last). */
typedef struct demo_round_line {
    long counts[3];
    uint64_t succeeded, failed, resident;
} demo_round_line;

static void demo_round(demo *d, long round, demo_round_line *prev) {
    long counts[3] = {0, 0, 0};
    uint64_t t0 = demo_now_ns(), last_progress = t0;
    for (size_t i = 0; i < d->row_count; i++) {
        demo_row *row = &d->rows[i];
        if (row->failed || row->skipped) continue;
        uint64_t ns;
        demo_tier tier = demo_execute(row, d->rt, round, &ns);
        if (row->failed || row->skipped) continue;
        counts[tier]++;
        row->exec_ns += ns;
        if (tier == TIER_INTERP) {
            row->interp_runs++;
            demo_sample(&row->interp, ns);
        } else if (tier == TIER_NATIVE) {
            row->native_runs++;
            demo_sample(&row->native, ns);
            if (!row->first_native) row->first_native = round;
        } else {
            row->mixed_runs++;
        }
        if (d->progress && demo_now_ns() - last_progress > 200000000u) {
            fprintf(stderr, "\r\033[K  round %ld: %s", round, row->name);
            fflush(stderr);
            last_progress = demo_now_ns();
        }
    }
    if (d->progress) fputs("\r\033[K", stderr);
    uint64_t t1 = demo_now_ns();
    /* A round is a block. Between two blocks a node has seconds to spare, in which the
       backend thread drains the lookup events and counts hotness; here the next round would
       start at once, so let it catch up (compilations go on in the background). */
    evmjit_runtime_sync(d->rt, 1000);
    evmjit_runtime_stats s;
    evmjit_runtime_get_stats(d->rt, &s);
    demo_round_line line = {{counts[0], counts[1], counts[2]}, s.succeeded, s.failed,
                            s.resident_entries};
    if (round > 1 && round < d->rounds && !memcmp(&line, prev, sizeof line)) return;
    *prev = line;
    char time[32];
    bench_format_time(time, sizeof time, (double)(t1 - t0));
    printf("%5ld  %11ld %8ld %7ld  %10s  %9" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n", round,
           counts[TIER_INTERP], counts[TIER_NATIVE], counts[TIER_MIXED], time, s.succeeded,
           s.failed, s.resident_entries);
    fflush(stdout);
}

/* ---- the report ------------------------------------------------------------------------ */

static bool demo_was_preloaded(demo *d, const demo_row *row) {
    bool found = false;
    mtx_lock(&d->lock);
    for (size_t i = 0; i < d->preloaded_count && !found; i++)
        found = demo_key_eq(&d->preloaded[i], &row->code_hash, row->item->rev);
    mtx_unlock(&d->lock);
    return found;
}

/* The compilation of the row's contract, copied, or false. */
static bool demo_find_compile(demo *d, const demo_row *row, demo_compile *out) {
    bool found = false;
    mtx_lock(&d->lock);
    for (size_t i = 0; i < d->compile_count && !found; i++)
        if (demo_key_eq(&d->compiles[i].key, &row->code_hash, row->item->rev)) {
            *out = d->compiles[i];
            found = true;
        }
    mtx_unlock(&d->lock);
    return found;
}

typedef struct demo_totals {
    long interp, native, mixed;
    uint64_t exec_ns;
    double all_interp_ns; /* the same executions at each row's interpreter median */
    double log_speedup;
    long speedup_n;
    long failed_rows;
} demo_totals;

static void demo_print_row(demo *d, demo_row *row, uint64_t max_code_size, demo_totals *t) {
    char first[16] = "-", compile[32] = "-", store[16] = "-", ti[32] = "-", tn[32] = "-",
         x[32] = "-";
    if (row->item && row->item->kind == STATETEST_VECTOR && row->has_code) {
        demo_compile c;
        bool preloaded = demo_was_preloaded(d, row);
        bool compiled = demo_find_compile(d, row, &c);
        if (preloaded) snprintf(store, sizeof store, "preloaded");
        if (compiled && c.success && c.from_store) {
            snprintf(compile, sizeof compile, "loaded");
            snprintf(store, sizeof store, "loaded");
        } else if (compiled && c.success) {
            bench_format_time(compile, sizeof compile, (double)c.times.total_ns);
            if (d->store && d->backend) snprintf(store, sizeof store, "written");
        } else if (compiled) {
            snprintf(compile, sizeof compile, "failed");
        } else if (!preloaded && max_code_size != EVMJIT_OFF && row->code_size > max_code_size) {
            snprintf(compile, sizeof compile, "too big");
        }
    }
    if (row->first_native) snprintf(first, sizeof first, "%ld", row->first_native);
    double mi = demo_median(&row->interp), mn = demo_median(&row->native);
    if (mi > 0) bench_format_time(ti, sizeof ti, mi);
    if (mn > 0) bench_format_time(tn, sizeof tn, mn);
    if (mi > 0 && mn > 0) {
        snprintf(x, sizeof x, "%.1fx", mi / mn);
        t->log_speedup += log(mi / mn);
        t->speedup_n++;
    }
    if (mi > 0) t->all_interp_ns += mi * (double)(row->interp_runs + row->native_runs + row->mixed_runs);
    t->interp += row->interp_runs;
    t->native += row->native_runs;
    t->mixed += row->mixed_runs;
    t->exec_ns += row->exec_ns;
    t->failed_rows += row->failed;
    printf("%-*.*s  %6ld %6ld %5ld  %6s  %9s  %9s  %10s%s %10s  %8s  %s\n", d->name_width,
           d->name_width, row->name, row->interp_runs, row->native_runs, row->mixed_runs, first,
           compile, store, ti, row->ref_runs ? "*" : " ", tn, x,
           row->status[0] ? row->status : "ok");
}

/* Why the contracts that failed to compile did (once per contract). */
static void demo_print_failures(demo *d) {
    mtx_lock(&d->lock);
    for (size_t i = 0; i < d->compile_count; i++) {
        const demo_compile *c = &d->compiles[i];
        if (c->success) continue;
        const char *who = "a contract called by the benchmarks";
        for (size_t k = 0; k < d->row_count; k++) {
            const demo_row *row = &d->rows[k];
            if (row->has_code && demo_key_eq(&c->key, &row->code_hash, row->item->rev)) {
                who = row->name;
                break;
            }
        }
        printf("not compiled (interpreted instead): %s: %s\n", who, c->message);
    }
    mtx_unlock(&d->lock);
}

/* ---- main ------------------------------------------------------------------------------ */

static void demo_free(demo *d) {
    for (size_t i = 0; i < d->row_count; i++) {
        free(d->rows[i].interp.ns);
        free(d->rows[i].native.ns);
    }
    free(d->rows);
    for (size_t i = 0; i < d->file_count; i++) statetest_file_free(&d->files[i]);
    free(d->files);
    free(d->preloaded);
    free(d->compiles);
}

int demo_main(int argc, char **argv) {
    demo d;
    memset(&d, 0, sizeof d);
    d.store_dir = DEMO_DEFAULT_STORE;
    d.rounds = DEMO_DEFAULT_ROUNDS;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1]) break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            demo_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--fresh")) {
            d.fresh = true;
            continue;
        }
        /* --name VALUE or --name=VALUE */
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        static const char *const with_value[] = {"--store", "--rounds", "--hot-threshold",
                                                 "--filter"};
        int opt = -1;
        for (int k = 0; k < 4; k++)
            if (strlen(with_value[k]) == name_len && !strncmp(a, with_value[k], name_len)) opt = k;
        if (opt < 0) return demo_usage_error("unknown option '%s'", a);
        const char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!val) return demo_usage_error("%s needs a value", with_value[opt]);
        long n;
        if (opt == 0) {
            if (!*val) return demo_usage_error("--store needs a directory");
            d.store_dir = val;
        } else if (opt == 1) {
            if (!demo_parse_long(val, 1, 1000000, &n))
                return demo_usage_error("--rounds: '%s' is not a number from 1 to 1000000", val);
            d.rounds = n;
        } else if (opt == 2) {
            if (!demo_parse_long(val, 1, 1000000, &n))
                return demo_usage_error("--hot-threshold: '%s' is not a number from 1 to 1000000",
                                        val);
            d.threshold = (uint64_t)n;
        } else {
            d.filter = val;
        }
    }

    statetest_walk_or_bench(argv + i, argc - i, &d, demo_add_file, demo_path_error);
    if (!d.row_count) {
        fprintf(stderr, "evmjit demo: no benchmark%s%s%s\n", d.filter ? " matches '" : "",
                d.filter ? d.filter : "", d.filter ? "'" : "");
        demo_free(&d);
        return 1;
    }
    d.name_width = 8;
    for (size_t k = 0; k < d.row_count; k++) {
        int len = (int)strlen(d.rows[k].name);
        if (len > d.name_width) d.name_width = len > 34 ? 34 : len;
    }
    d.progress = isatty(STDERR_FILENO) != 0;

    if (mtx_init(&d.lock, mtx_plain) != thrd_success) {
        fprintf(stderr, "evmjit demo: cannot create a mutex\n");
        demo_free(&d);
        return 1;
    }
    d.backend = statetest_llvm_backend();
    demo_open_store(&d);
    evmjit_error err = demo_make_runtime(&d);
    if (err != EVMJIT_OK) {
        fprintf(stderr, "evmjit demo: cannot create the runtime: %s\n", evmjit_error_name(err));
        evmjit_store_close(d.store);
        mtx_destroy(&d.lock);
        demo_free(&d);
        return 1;
    }
    evmjit_runtime_desc used;
    evmjit_runtime_settings(d.rt, &used);

    /* what is about to happen */
    printf("evmjit demo: one tiered runtime runs %zu benchmark transaction%s, %ld round%s of "
           "each in turn, as a node would\n",
           d.row_count, d.row_count == 1 ? "" : "s", d.rounds, d.rounds == 1 ? "" : "s");
    if (d.backend)
        printf("  compiler  %s %s at O%d on %d worker thread%s: a contract is compiled in the "
               "background after %" PRIu64 " interpreted executions%s\n",
               d.backend->name, d.backend->version, used.opt_level - EVMJIT_O0,
               used.worker_threads, used.worker_threads == 1 ? "" : "s", used.hot_threshold,
               d.store ? ", ahead of time, into the store" : " (JIT: no store to write to)");
    else
        printf("  compiler  none: this evmjit was built without the LLVM backend (make "
               "llvm-status): interpreter only, but programs already in the store run native\n");
    if (d.store) {
        char ms[32];
        bench_format_time(ms, sizeof ms, (double)d.preload_ns);
        printf("  store     %s: %zu program%s preloaded in %s%s\n", d.store_dir,
               d.preloaded_count, d.preloaded_count == 1 ? "" : "s", ms,
               d.fresh ? " (emptied first: --fresh)" : "");
    } else {
        printf("  store     none: %s\n", d.store_note);
    }
    printf("\nround  interpreted   native   mixed        time   compiled   failed resident"
           "   (a round like the one before is not shown)\n");
    fflush(stdout);

    demo_round_line prev;
    memset(&prev, 0, sizeof prev);
    for (long round = 1; round <= d.rounds; round++) demo_round(&d, round, &prev);
    demo_wait_compilations(&d);
    evmjit_runtime_stats stats;
    evmjit_runtime_get_stats(d.rt, &stats);

    /* An interpreter median for every row: where the rounds gave fewer than DEMO_REF_RUNS
       interpreted executions (a contract preloaded or compiled early), rounds without the
       runtime make up the rest. They go in turn over the rows too: executions in rotation
       find colder caches than repeated ones (for small transactions the difference is
       larger than the interpreter's time), and both tiers must be timed alike. */
    for (int pass = 0; pass < DEMO_REF_RUNS; pass++) {
        for (size_t k = 0; k < d.row_count; k++) {
            demo_row *row = &d.rows[k];
            if (row->failed || row->skipped || row->interp.count >= DEMO_REF_RUNS) continue;
            uint64_t ns;
            demo_execute(row, NULL, 0, &ns);
            demo_sample(&row->interp, ns);
            row->ref_runs++;
        }
    }

    /* the table */
    printf("\n%-*s  %6s %6s %5s  %6s  %9s  %9s  %10s  %10s  %8s  %s\n", d.name_width, "benchmark",
           "interp", "native", "mixed", "native", "compile", "store", "interp", "native",
           "speedup", "status");
    printf("%-*s  %6s %6s %5s  %6s  %9s  %9s  %10s  %10s  %8s\n", d.name_width, "",
           "runs", "runs", "runs", "from", "", "", "per run", "per run", "");
    demo_totals t;
    memset(&t, 0, sizeof t);
    for (size_t k = 0; k < d.row_count; k++) demo_print_row(&d, &d.rows[k], used.max_code_size, &t);
    if (t.speedup_n) {
        char x[32];
        snprintf(x, sizeof x, "%.1fx", exp(t.log_speedup / (double)t.speedup_n));
        printf("%-*s%77s%8s\n", d.name_width, "geometric mean", "", x);
    }
    printf("  native from: the first round that ran native. Per run: the median time of one "
           "execution in rotation, as in a block\n"
           "  (colder caches than in evmjit bench, which repeats one transaction); *: with "
           "interpreter-only rounds after the rounds.\n\n");
    demo_print_failures(&d);

    uint64_t compile_ns = 0;
    long compiled = 0, from_store = 0, compile_failed = 0;
    mtx_lock(&d.lock);
    for (size_t k = 0; k < d.compile_count; k++) {
        const demo_compile *c = &d.compiles[k];
        if (!c->success) compile_failed++;
        else if (c->from_store) from_store++;
        else {
            compiled++;
            compile_ns += c->times.total_ns;
        }
    }
    mtx_unlock(&d.lock);
    long executions = t.interp + t.native + t.mixed;
    char took[32], all[32];
    bench_format_time(took, sizeof took, (double)t.exec_ns);
    printf("executions  %ld: %ld interpreted, %ld native, %ld mixed, in %s", executions, t.interp,
           t.native, t.mixed, took);
    if (t.all_interp_ns > 0 && t.exec_ns > 0) {
        bench_format_time(all, sizeof all, t.all_interp_ns);
        printf("; all interpreted they would take about %s (%.1fx as long)", all,
               t.all_interp_ns / (double)t.exec_ns);
    }
    printf("\nruntime     %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " dropped events; "
           "%ld compiled (%.2f s of compiler time), %ld failed, %ld loaded on request\n",
           stats.hits, stats.misses, stats.dropped_events, compiled, (double)compile_ns / 1e9,
           compile_failed, from_store);
    evmjit_runtime_destroy(d.rt); /* unloads the artifacts; then the store can close */
    evmjit_store_stats ss;
    memset(&ss, 0, sizeof ss);
    if (d.store) {
        evmjit_store_get_stats(d.store, &ss);
        printf("store       %s: %zu program%s preloaded, %" PRIu64 " artifact%s written, %" PRIu64
               " store errors\n", d.store_dir, d.preloaded_count,
               d.preloaded_count == 1 ? "" : "s", ss.stored, ss.stored == 1 ? "" : "s",
               stats.store_errors);
        if (ss.stored)
            printf("            run it again: the next run preloads them and runs those contracts "
                   "native from round 1\n");
        evmjit_store_close(d.store);
    }
    printf("demo: rows=%zu rounds=%ld executions=%ld interpreted=%ld native=%ld mixed=%ld "
           "hits=%" PRIu64 " misses=%" PRIu64 " compiled=%ld compile_failed=%ld preloaded=%zu "
           "stored=%" PRIu64 " failed_rows=%ld llvm=%d\n",
           d.row_count, d.rounds, executions, t.interp, t.native, t.mixed, stats.hits,
           stats.misses, compiled, compile_failed, d.preloaded_count, ss.stored, t.failed_rows,
           d.backend != NULL);
    mtx_destroy(&d.lock);
    demo_free(&d);
    return t.failed_rows ? 1 : 0;
}
