/* demo.h - `evmjit demo`: the tiered runtime on the benchmark contracts, the way a node runs
   them.

   One runtime (evmjit_runtime_create) serves every execution. Each round runs the transaction
   of every benchmark once, in turn, like the transactions of a block; a fresh host holds the
   pre-state of each execution. The first executions of a contract are interpreted; after
   hot_threshold of them the runtime compiles it in the background (the LLVM backend, AOT: a
   shared object written to the artifact store), and later executions run native. The store
   directory outlives the process: the next run preloads every artifact at creation and runs
   those contracts native from its first round. Without the LLVM backend the demo interprets,
   says so, and still runs native whatever the store holds for this CPU.

   The report: one line per round (how many executions ran native), one row per benchmark
   (interpreted and native executions, the first native round, compile time, whether the
   program came from the store, the median time per execution in each tier and the speedup)
   and the totals of evmjit_runtime_get_stats, ending with one machine-readable line
   "demo: key=value ...". */
#ifndef EVMJIT_EXAMPLES_DEMO_H
#define EVMJIT_EXAMPLES_DEMO_H

/* Run `demo` with its arguments (argv[0] is the command name, "demo"). Returns the exit
   status: 0 when every execution gave the expected result, 1 on any failure (or when the
   runtime could not be made), 2 on a usage error. Runs nested frames on the calling thread:
   give it a large stack (1024 frames deep). */
int demo_main(int argc, char **argv);

#endif
