/* bench.h - `evmjit bench`: time the benchmark fixtures' transactions in each execution mode.

   For every contract and input (a state test's post entry, or the first transaction of a
   revmc-style list) the bench builds a fresh host holding the pre-state for each execution
   (untimed) and times host_transact alone. The modes (interpreter, JIT, AOT) run interleaved
   in one process, one execution each in turn, so that machine noise hits them alike. The
   first execution of each mode is an untimed warm-up whose result is checked (post-state root
   and logs hash, or success); every later one must give the same status and gas. Then
   executions repeat until the slowest mode has run --min-time seconds in total and every mode
   at least 5 times, and the table shows the medians, Mgas/s, the speedups over the
   interpreter, what compiling the benchmark's contracts took (the JIT runtime's
   on_compilation reports: time and native code size; a second table splits the time by
   phase) and, in a column, every failure. */
#ifndef EVMJIT_EXAMPLES_BENCH_H
#define EVMJIT_EXAMPLES_BENCH_H

#include <stddef.h>

#include "statetest.h"

/* Run `bench` with its arguments (argv[0] is the command name, "bench"). Prints the table to
   stdout and a progress line to stderr when stderr is a terminal. Returns the exit status:
   0 when every benchmark ran correctly, 1 on any failure, 2 on a usage error. Runs nested
   frames on the calling thread: give it a large stack (1024 frames deep). */
int bench_main(int argc, char **argv);

/* ---- shared with `evmjit demo` ----------------------------------------------------------- */

/* The name of item i of a fixture, as the bench table shows it: the test name, then the
   input's label (or data index) when the test has several inputs, the gas and value indexes
   when they are not 0, and the fork when the test runs under several. */
void bench_item_name(const statetest_file *f, size_t i, char *s, size_t n);

/* "12.3 ms": 3-4 significant digits in a unit that suits the value. */
void bench_format_time(char *s, size_t n, double ns);

#endif
