/* statetest.h - run Ethereum state tests and legacy VM tests through the test host.

   State tests (ethereum/tests GeneralStateTests, execution-spec-tests state_test fixtures,
   evm-benchmarks): each file maps a test name to {env, pre, transaction, post}; every entry
   of every fork in `post` picks one data/gas/value combination by its `indexes` and expects
   a post-state root (`hash`), a logs hash (`logs`) and, with `expectException`, a rejected
   transaction. Legacy VM tests (VMTests): one code execution each, compared on gas left,
   output, logs hash and post state; CALL and CREATE are not executed (`callcreates`).

   Every failure is printed with the file, the test name, the fork and the indexes. Broken
   input (malformed JSON, bad hex, an unknown fork name) is reported as a failure of that
   file or vector and never stops the run. */
#ifndef EVMJIT_EXAMPLES_STATETEST_H
#define EVMJIT_EXAMPLES_STATETEST_H

#include <stdbool.h>
#include <stdio.h>

#include "evmjit_cache.h"
#include "host.h"

typedef struct statetest_options {
    evmjit_runtime *runtime; /* handed to every evmjit_execute; NULL: interpret */
    evmjit_vm *vm;           /* run every frame through this EVMC VM instead (NULL: none) */
    bool has_fork;           /* run only vectors of this revision */
    evmjit_revision fork;
    const char *filter;     /* run only tests whose file path or name contains it (NULL: all) */
    const char *skip_list;  /* path of a skip list (NULL: none), see statetest_load_skips */
    bool verbose;           /* print every vector, and our post state on a root mismatch */
    evmjit_revision vm_rev; /* the revision VM tests run under */
    unsigned shard, shards;  /* shards > 1: run only the files with statetest_shard_of() == shard */
} statetest_options;

/* The shard (0..shards-1) of a test file: a hash of its file name (not its directory), so
   the selection is the same from any checkout and does not shift when files are added. */
unsigned statetest_shard_of(const char *path, unsigned shards);

typedef struct statetest_counts {
    long passed;
    long failed;
    long skipped;
} statetest_counts;

/* Run every state test in `path` (a .json file, or a directory searched recursively in
   name order) and add to the counts. Messages go to `out`. */
void statetest_run_path(const statetest_options *o, const char *path, statetest_counts *c,
                        FILE *out);

/* The same for legacy VM tests. */
void statetest_run_vm_path(const statetest_options *o, const char *path, statetest_counts *c,
                           FILE *out);

/* Print the closing line "N passed, M failed[, K skipped]". */
void statetest_print_counts(const statetest_counts *c, FILE *out);

/* ---- execution modes ------------------------------------------------------------------- */

typedef enum statetest_mode_status {
    STATETEST_MODE_READY,       /* *rt is the runtime for the mode (NULL for interp) */
    STATETEST_MODE_UNAVAILABLE, /* a mode this build cannot run; `why` says why */
    STATETEST_MODE_UNKNOWN      /* not a mode name */
} statetest_mode_status;

/* The runtime for an execution mode ("interp", "jit" or "aot"), handed to every
   evmjit_execute of a run (statetest, vmtest, bench). `interp` is the interpreter: a NULL
   runtime. The one place where the compiling modes get their runtime: `jit` and `aot` must
   compile before they return from their first execution of a code (blocking compilation), so
   that a benchmark's untimed first run is the one that pays for it. Release with
   statetest_destroy_runtime. */
typedef struct statetest_runtime {
    evmjit_runtime *rt;   /* NULL for interp */
    evmjit_store *store;  /* aot: a private artifact store in a temporary directory */
    char store_dir[4096]; /* removed with the runtime */
} statetest_runtime;

/* The LLVM backend when evmjit_llvm.c is linked into the program, else NULL. */
const evmjit_backend *statetest_llvm_backend(void);

/* A logger for the tools: warnings and errors to stderr. */
void statetest_log(evmjit_log_level level, const char *message, void *user);

statetest_mode_status statetest_make_runtime(const char *mode, statetest_runtime *out, char *why,
                                             size_t why_size);
/* The same, with an observer of every finished compilation: on_compilation(info, user) runs
   on the runtime's backend thread (evmjit_runtime_desc.on_compilation); NULL: none.
   upgrade_threshold: evmjit_runtime_desc.upgrade_threshold (0: the runtime's default). */
statetest_mode_status statetest_make_observed_runtime(
    const char *mode, void (*on_compilation)(const evmjit_compilation_info *info, void *user),
    void *user, uint64_t upgrade_threshold, statetest_runtime *out, char *why, size_t why_size);
void statetest_destroy_runtime(statetest_runtime *r);

/* ---- fixtures as runnable vectors (shared with `evmjit bench`) -------------------------- */

typedef enum statetest_item_kind {
    STATETEST_VECTOR,     /* a transaction to run */
    STATETEST_BAD_VECTOR, /* a post entry whose input is broken: `error` says why */
    STATETEST_BAD_INPUT   /* a broken file or test: `error` says why; counts `failures` */
} statetest_item_kind;

typedef struct statetest_test statetest_test; /* a decoded test: pre-state, env, tx fields */

/* One item of a fixture file. A VECTOR is everything needed to run its transaction: build a
   fresh host with statetest_vector_host, run host_transact(h, &v->block, &v->tx, &r), judge
   the result with statetest_check. Every pointer refers to memory of the statetest_file. */
typedef struct statetest_item {
    statetest_item_kind kind;
    const char *file; /* the fixture's path */
    const char *test; /* the test's name; NULL when the whole file is broken */
    const char *fork; /* the post entry's fork name (tx lists: the fork they run under) */
    long long data_index, gas_index, value_index; /* the post entry's indexes */
    const char *label; /* the fixture's name for the data index (_info.labels), or NULL */
    evmjit_revision rev;
    host_block block;
    host_tx tx;
    /* what a correct run gives: state tests expect a post-state root and logs hash, or a
       rejection (expect_exception); transaction lists (bench/revmc) expect success */
    bool tx_list;
    evmjit_bytes32 want_root, want_logs;
    const char *expect_exception; /* NULL: the transaction is valid */
    const char *error;            /* BAD_*: what is wrong */
    long failures;                /* BAD_INPUT: how many vectors it stands for */
    /* private */
    const statetest_test *owner;
    uint8_t *data_buf;
    host_access_entry *access_buf;
    evmjit_bytes32 *keys_buf;
    char *error_buf;
} statetest_item;

/* The items of one fixture file, in file order. */
typedef struct statetest_file {
    statetest_item *items;
    size_t count;
    /* private */
    size_t cap;
    char *path;
    statetest_test **tests;
    size_t test_count;
    void *json; /* the parsed file (json_t *): names and strings point into it */
} statetest_file;

/* Decode every vector of the fixture at `path`: state tests (one item per post entry of
   every fork, or per fork `o->fork` when o->has_fork), and with `tx_lists` also fixtures
   whose `transaction` is a list (bench/revmc: one item, the first transaction; they name no
   fork, so they run under Osaka, or Cancun for the three the fixtures' README lists).
   Tests whose file path and name both lack o->filter are left out. Broken input becomes
   BAD_* items; nothing aborts. Free with statetest_file_free. */
void statetest_file_load(const statetest_options *o, bool tx_lists, const char *path,
                         statetest_file *f);
void statetest_file_free(statetest_file *f);

/* A fresh host holding the vector's pre-state, for revision v->rev; nested frames run with
   `runtime`. The caller destroys it (host_destroy). */
host_state *statetest_vector_host(const statetest_item *v, evmjit_runtime *runtime);

typedef enum statetest_verdict {
    STATETEST_PASS,
    STATETEST_FAIL,       /* wrong status, or wrongly accepted or rejected */
    STATETEST_WRONG_POST, /* the post-state root or the logs hash differ */
    STATETEST_SKIP        /* reached a precompile this build does not implement */
} statetest_verdict;

/* Judge the run of `v` on `h` that gave `r`: the expected post root and logs hash (or the
   expected rejection) for state tests, success for transaction lists. Writes the reason (on
   PASS: "status N") to `why`. Computes the state root: O(state). */
statetest_verdict statetest_check(const statetest_item *v, host_state *h,
                                  const host_tx_result *r, char *why, size_t why_size);

/* Call file(user, path) for `path` if it is a file, or for every .json file under it (a
   directory, searched recursively in name order); fail(user, path, message) for a path that
   does not exist or a directory that cannot be read. */
void statetest_walk(const char *path, void *user, void (*file)(void *user, const char *path),
                    void (*fail)(void *user, const char *path, const char *message));

/* statetest_walk over each of the `count` paths, or, when count is 0, over the benchmark
   fixtures: $EVMJIT_FIXTURES/bench/evm-benchmarks and .../bench/revmc (EVMJIT_FIXTURES
   defaulting to ../shared/fixtures). What `evmjit bench`, `evmjit demo` and the prewarm
   example run by default. */
void statetest_walk_or_bench(char *const *paths, int count, void *user,
                             void (*file)(void *user, const char *path),
                             void (*fail)(void *user, const char *path, const char *message));

#endif
