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

typedef struct statetest_options {
    evmjit_runtime *runtime; /* handed to every evmjit_execute; NULL: interpret */
    bool has_fork;           /* run only vectors of this revision */
    evmjit_revision fork;
    const char *filter;     /* run only tests whose file path or name contains it (NULL: all) */
    const char *skip_list;  /* path of a skip list (NULL: none), see statetest_load_skips */
    bool verbose;           /* print every vector, and our post state on a root mismatch */
    evmjit_revision vm_rev; /* the revision VM tests run under */
} statetest_options;

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

#endif
