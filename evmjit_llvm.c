/* evmjit_llvm.c - the LLVM backend: EVM bytecode to a native evmjit_fn, JIT and AOT.

   The only translation unit that includes the llvm-c headers. It hands the runtime one table of
   function pointers (evmjit_llvm_backend()) and nothing else. LLVM 17 or newer (opaque
   pointers); the LLVM-C API only.

   PIPELINE
   ========

     code bytes
        |
        v
     el_analyze     decode (PUSH data past the end reads as zeros), JUMPDEST map (never in
        |           PUSH data), basic blocks, dead code after terminators, static jump
        |           targets (constants tracked through PUSH/DUP/SWAP/POP), reachability,
        |           unused JUMPDESTs folded into their block, static entry stack depths,
        |           budget check (reject with a reason -> the interpreter runs the code)
        v
     el_gen         two tiers (below); one LLVM function per superblock (a JUMPDEST block and
        |           the JUMPI fall-through blocks after it), joined by musttail calls that
        |           carry (frame, stack length, gas); the exported `i32 fn(ptr frame)`
        |           enters the first one; a dispatch function switches dynamic jumps over
        |           every JUMPDEST (a run of consecutive JUMPDESTs is one range check that
        |           charges the ones skipped and enters the last):
        |             - the EVM stack is frame->stack (grows down); inside a block its
        |               values live in SSA ("virtual stack") and are written back at the
        |               block's end only where they changed
        |             - sections: one gas check and one stack-bounds check each; a
        |               section ends after an instruction with an effect or host gas
        |               (builtin call, GAS), so a batched check fails exactly where the
        |               interpreter would (a cold classifier replays the order); memory
        |               accesses stay inside a section (see el_block_gen)
        |             - arithmetic, comparisons, bitwise ops, shifts, BYTE, SIGNEXTEND,
        |               CLZ, MLOAD/MSTORE fast paths, CALLDATALOAD, 64-bit DIV/MOD/SDIV/
        |               SMOD, reduced ADDMOD inline; the rest of division, EXP, memory
        |               growth and the host through frame->builtins
        |             - TBAA: stack, memory, frame, message and call data never alias
        |           the full tier: words are i256 SSA values, as above.
        |           the baseline tier (the default level's first JIT compilation, see
        |           el_bl_inst): the same functions, sections and jumps, but words are four
        |           i64 limbs, so LLVM's fast instruction selector takes nearly all of it
        |           (i256 goes through SelectionDAG, which dominates the full tier's compile
        |           time); common word operations inline on limbs, the rest calls
        |           evmjit_rt_XX, the full tier's code for that operation compiled once per
        |           process (el_rt_gen), or a builtin; dynamic jumps through a table; the
        |           functions return to a driver loop (el_bl_driver) instead of tail
        |           calling each other, and memory byte order is reversed by a call
        |           (evmjit_rt_rev32): the fast selector handles neither tail calls nor bswap
        v
     verify (see EVMJIT_LLVM_VERIFY) -> LLVMRunPasses(mem2reg for the baseline tier, else a short
        |                     function pipeline) -> TargetMachine (host CPU without AVX;
        |                     CodeGenLevelNone for the baseline tier) -> object
        |
        +--> JIT: the object goes into one process-wide ORC LLJIT under its own
        |         ResourceTracker; the symbol is looked up; freeing removes the tracker.
        |         Code bytes = object size. The LLJIT's main JITDylib also holds the
        |         baseline runtime (evmjit_rt_XX), added when the LLJIT is made.
        |         AOT never takes the baseline tier (an artifact cannot be upgraded).
        |
        +--> AOT: the object is written to a private temp directory and linked with
                  `cc -shared -nostartfiles`; the shared object's bytes are returned with
                  the exported symbol (code hash, revision, ABI version) and the target
                  (triple/cpu/hash of the feature string) it was compiled for.

   Ownership (LLVM-C): one LLVMContext per compilation (created and disposed by the worker
   that compiles), one TargetMachine per compiler object (per worker), every error message
   and LLVMErrorRef disposed or consumed. Compiled code reaches the runtime only through
   pointers in the frame (frame->builtins, frame->msg, ...), so an AOT object has no
   undefined symbols beyond libc (memcpy/memset).

   EVMJIT_LLVM_VERIFY (environment) runs LLVM's IR verifier on the baseline tier too (the
   other tiers always verify); the tests set it.
   Debugging aids (environment): EVMJIT_LLVM_STATS prints the analysis counts, phase times
   and object size of each compilation, EVMJIT_LLVM_DUMP the optimised IR, EVMJIT_LLVM_NO_BASELINE
   compiles level 2 on the full tier at once, EVMJIT_LLVM_FASTCG
   forces the cheap code generator (for measuring), EVMJIT_LLVM_OPTIONS passes options to
   LLVM's own parser once (for example "-time-passes"), EVMJIT_CC names the AOT link driver
   (default cc).

   Internal names in this file start with el_ (evmjit llvm). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include <llvm/Config/llvm-config.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Support.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "evmjit_cache.h"

#if LLVM_VERSION_MAJOR < 17
#error "evmjit_llvm.c needs LLVM 17 or newer (opaque pointers)"
#endif

/* EVMJIT_ABI_VERSION (evmjit_cache.h: the evmjit_frame layout, the builtin indices and
   their signature) is part of every AOT symbol name. */

/* ---- Budgets (see el_check_budget) ---------------------------------------------------------
   Compile time is linear in the reachable code (one LLVM function per superblock), and
   LLVM's instruction selection dominates: measured on 2 shared cores, about 100 us per
   byte of reachable code on the full tier and about 8-12 us on the baseline tier that
   the default level compiles first (weth, 3 KiB: 24-33 ms; 24 KiB contracts 0.15 to 0.35 s:
   onchain-lm-v2 0.15, univ2_router 0.17, fiat_token 0.27, seaport 0.35). The full tier,
   which a hot program is upgraded to in the background, takes up to about 5 s for 24 KiB;
   at levels 0 and 1 inputs over EVMJIT_LLVM_BIG_* take mem2reg only and CodeGenLevelNone
   on the full tier's IR (about 35 us per byte). Peak memory stays under about 100 MiB.
   Hostile shapes are bounded by counting what costs:
   check sections (24 KiB of consecutive JUMPDESTs collapse to one, even as dynamic-jump
   targets; of PUSH/JUMP pairs make 4,915, which took 0.82 s of CPU: the limit of 4,000
   keeps the worst case near 0.7 s and is still twice what the largest real contracts need,
   about 1,850), runtime call sites (an EXP or MSTORE storm) and dynamic-jump targets
   (switch cases plus JUMPDEST runs). Over a limit the compile is rejected with
   EVMJIT_ERR_INELIGIBLE and a message naming the limit; the runtime then keeps
   interpreting that code. tests/test_llvm.c ("adversarial") measures every case. */
#ifndef EVMJIT_LLVM_MAX_CODE
#define EVMJIT_LLVM_MAX_CODE 49152 /* EIP-3860 initcode limit */
#endif
#ifndef EVMJIT_LLVM_MAX_SECTIONS
#define EVMJIT_LLVM_MAX_SECTIONS 4000 /* gas/stack check points */
#endif
#ifndef EVMJIT_LLVM_MAX_CALLS
#define EVMJIT_LLVM_MAX_CALLS 4000 /* runtime (builtin) call sites */
#endif
#ifndef EVMJIT_LLVM_MAX_TARGETS
#define EVMJIT_LLVM_MAX_TARGETS 4096 /* JUMPDESTs in the dynamic-jump switch */
#endif
#ifndef EVMJIT_LLVM_BIG_SECTIONS
#define EVMJIT_LLVM_BIG_SECTIONS 1500
#endif
#ifndef EVMJIT_LLVM_BIG_INSTS
/* reachable instructions, about 6 KiB of code: over it, levels 0 and 1 run mem2reg only */
#define EVMJIT_LLVM_BIG_INSTS 3500
#endif
#ifndef EVMJIT_LLVM_BIG_TARGETS
#define EVMJIT_LLVM_BIG_TARGETS 1500
#endif
#ifndef EVMJIT_LLVM_DEFAULT_OPT
#define EVMJIT_LLVM_DEFAULT_OPT 2
#endif

/* Internal per-phase timings (the runtime's evmjit_compile_times gets them). */
typedef struct evmjit_llvm_timings {
    uint64_t analysis_ns, ir_ns, opt_ns, codegen_ns, link_ns;
    bool provisional; /* a big input took the cheap path at the default level */
} evmjit_llvm_timings;

/* An AOT result before it is handed to the runtime. */
typedef struct evmjit_llvm_aot {
    uint8_t *bytes;
    size_t size;
    char symbol[128];
    char *triple, *cpu, *features; /* owned */
} evmjit_llvm_aot;

/* The one thing this file exports (declared for the runtime in evmjit_cache.h). */
const evmjit_backend *evmjit_llvm_backend(void);

/* ============================================================================================
   Small helpers
   ========================================================================================== */

static void el_err(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void el_err(char *err, size_t n, const char *fmt, ...) {
    if (!err || !n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

static uint64_t el_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copies an LLVM error's message into err and consumes the error. */
static void el_take_error(LLVMErrorRef e, const char *what, char *err, size_t n) {
    char *m = LLVMGetErrorMessage(e); /* consumes e */
    el_err(err, n, "%s: %s", what, m ? m : "?");
    LLVMDisposeErrorMessage(m);
}

/* ============================================================================================
   1. Analysis
   ========================================================================================== */

typedef struct el_inst {
    uint32_t pc;
    uint8_t op;
    uint8_t defined; /* op exists in this revision */
    int8_t inputs, growth;
    int32_t gas;  /* static gas */
    uint32_t imm; /* PUSH1..32: index into imms */
} el_inst;

enum { EL_END_FALL, EL_END_JUMP, EL_END_JUMPI, EL_END_EXIT };

typedef struct el_block {
    uint32_t first, end; /* instruction range [first, end) */
    int32_t fall;        /* fallthrough block; -1: falls off the end of the code (STOP) */
    int32_t target;      /* JUMP/JUMPI: static target block, -1 dynamic, -2 invalid */
    uint8_t kind;        /* EL_END_* */
    uint8_t reachable;
    uint8_t jumpdest; /* starts with a JUMPDEST */
    int32_t func;     /* the block heading the LLVM function this block is in */
    int32_t depth;    /* stack length at entry when the same on every path, else EL_DEPTH_* */
    LLVMBasicBlockRef bb;
} el_block;

/* A run of consecutive JUMPDESTs [first_pc, last_pc] that dynamic jumps may enter anywhere:
   entering at pc costs (last_pc - pc) gas (one per JUMPDEST skipped) and continues in the
   block of the last one, so the run needs one dispatch case instead of one per byte. */
typedef struct el_jdrun {
    uint32_t first_pc, last_pc;
    int32_t last_block;
} el_jdrun;

typedef struct el_analysis {
    const uint8_t *code;
    size_t code_size;
    evmjit_revision rev;
    el_inst *insts;
    uint32_t n_insts;
    evmjit_word *imms;
    uint32_t n_imms;
    uint8_t *is_jumpdest; /* per byte: 1 at a JUMPDEST instruction */
    el_block *blocks;
    uint32_t n_blocks;
    bool has_dynamic; /* some reachable jump has a target only known at run time */
    el_jdrun *runs;     /* has_dynamic: JUMPDEST runs of two or more, in pc order */
    uint32_t n_runs;
    uint32_t reach_blocks, reach_insts, reach_jumpdests, sections, calls;
} el_analysis;

static void el_analysis_free(el_analysis *a) {
    free(a->insts);
    free(a->imms);
    free(a->is_jumpdest);
    free(a->blocks);
    free(a->runs);
    memset(a, 0, sizeof *a);
}

static bool el_is_terminator(uint8_t op) {
    return op == 0x00 || op == 0x56 || op == 0xf3 || op == 0xfd || op == 0xfe || op == 0xff;
}

/* Instructions after which a section must end: those whose builtin changes gas or has an
   effect others can see (storage, logs, calls), and GAS, which reads the exact counter.
   The pure arithmetic builtins (DIV..MULMOD) do not end a section, and neither do
   MLOAD/MSTORE/MSTORE8: their only dynamic effect is memory growth and its gas, handled by
   the section rule in el_block_gen and the gas bias in el_builtin. */
static bool el_ends_section(uint8_t op) {
    switch (op) {
    case 0x04: case 0x05: case 0x06: case 0x07: case 0x08: case 0x09:
        return false;
    case 0x0a: case 0x20: case 0x31: case 0x32: case 0x37: case 0x39: case 0x3a: case 0x3b:
    case 0x3c: case 0x3e: case 0x3f: case 0x40: case 0x41: case 0x42: case 0x43: case 0x44:
    case 0x45: case 0x46: case 0x47: case 0x48: case 0x49: case 0x4a:
    case 0x54: case 0x55: case 0x5a: case 0x5c: case 0x5d: case 0x5e: case 0xa0:
    case 0xa1: case 0xa2: case 0xa3: case 0xa4: case 0xf0: case 0xf1: case 0xf2: case 0xf4:
    case 0xf5: case 0xfa:
        return true;
    default:
        return false;
    }
}

/* Abstract value for static jump resolution: a constant that fits 32 bits, a constant that
   does not (an invalid destination), or unknown. */
typedef struct el_av {
    uint8_t kind; /* 0 unknown, 1 small constant, 2 big constant */
    uint32_t v;
} el_av;
#define EL_AV_CAP 1100

static int32_t el_block_of_pc(const el_analysis *a, uint32_t pc) {
    uint32_t lo = 0, hi = a->n_blocks;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        const el_block *b = &a->blocks[mid];
        uint32_t p = b->first == b->end ? UINT32_MAX : a->insts[b->first].pc; /* empty: last */
        if (p == pc) return (int32_t)mid;
        if (p < pc) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* Static jump target of block b from abstract constants tracked through its instructions.
   Returns a block index, -1 (dynamic) or -2 (always an invalid destination). O(block). */
static int32_t el_static_target(const el_analysis *a, const el_block *b, el_av *av) {
    int top = 0;
    for (uint32_t i = b->first; i + 1 < b->end; i++) {
        const el_inst *in = &a->insts[i];
        uint8_t op = in->op;
        if (op >= 0x5f && op <= 0x7f) {
            el_av v = {1, 0};
            if (op != 0x5f) {
                const evmjit_word *w = &a->imms[in->imm];
                v.kind = (w->w[0] >> 32 | w->w[1] | w->w[2] | w->w[3]) ? 2 : 1;
                v.v = (uint32_t)w->w[0];
            }
            if (top == EL_AV_CAP) return -1;
            av[top++] = v;
        } else if (op >= 0x80 && op <= 0x8f) {
            int n = op - 0x7f;
            el_av v = {0, 0};
            if (n <= top) v = av[top - n];
            if (top == EL_AV_CAP) return -1;
            av[top++] = v;
        } else if (op >= 0x90 && op <= 0x9f) {
            int n = op - 0x8f;
            if (n < top) {
                el_av t = av[top - 1];
                av[top - 1] = av[top - 1 - n];
                av[top - 1 - n] = t;
            } else if (top > 0) {
                av[top - 1].kind = 0; /* swapped with an item from below the block */
            }
        } else {
            int pops = in->inputs, pushes = in->inputs + in->growth;
            top = pops > top ? 0 : top - pops;
            for (int k = 0; k < pushes; k++) {
                if (top == EL_AV_CAP) return -1;
                av[top].kind = 0;
                av[top++].v = 0;
            }
        }
    }
    if (top == 0 || av[top - 1].kind == 0) return -1;
    if (av[top - 1].kind == 2) return -2;
    uint32_t dest = av[top - 1].v;
    if (dest >= a->code_size || !a->is_jumpdest[dest]) return -2;
    int32_t t = el_block_of_pc(a, dest);
    return t >= 0 ? t : -2;
}

/* Entry stack depths: block 0 starts empty; a block entered only through fall-through and
   static jumps with one depth on every path gets that depth, which turns its stack checks
   into constants. Dynamic-jump targets and blocks reached with two depths are
   EL_DEPTH_VARIES. Each block changes state at most twice: O(blocks + instructions). */
#define EL_DEPTH_UNSET (-1)
#define EL_DEPTH_VARIES (-2)
static void el_depths(el_analysis *a) {
    uint32_t *work = (uint32_t *)malloc((2 * (size_t)a->n_blocks + 1) * sizeof *work);
    for (uint32_t bi = 0; bi < a->n_blocks; bi++)
        a->blocks[bi].depth = a->blocks[bi].jumpdest && a->has_dynamic ? EL_DEPTH_VARIES : EL_DEPTH_UNSET;
    if (!work) {
        for (uint32_t bi = 0; bi < a->n_blocks; bi++) a->blocks[bi].depth = EL_DEPTH_VARIES;
        return;
    }
    uint32_t nw = 0;
    if (a->blocks[0].depth == EL_DEPTH_UNSET) a->blocks[0].depth = 0;
    work[nw++] = 0;
    while (nw) {
        el_block *b = &a->blocks[work[--nw]];
        if (!b->reachable) continue;
        int32_t d = b->depth;
        for (uint32_t i = b->first; i < b->end && d >= 0; i++) {
            d += a->insts[i].growth;
            if (!a->insts[i].defined || d < 0 || d > EVMJIT_STACK_LIMIT) d = EL_DEPTH_UNSET; /* fails here */
        }
        if (b->depth == EL_DEPTH_VARIES) d = EL_DEPTH_VARIES;
        if (d == EL_DEPTH_UNSET) continue;
        int32_t next[2] = {-1, -1};
        if (b->kind == EL_END_FALL || b->kind == EL_END_JUMPI) next[0] = b->fall;
        if ((b->kind == EL_END_JUMP || b->kind == EL_END_JUMPI) && b->target >= 0) next[1] = b->target;
        for (int k = 0; k < 2; k++) {
            if (next[k] < 0) continue;
            el_block *n = &a->blocks[next[k]];
            int32_t old = n->depth;
            if (old == EL_DEPTH_VARIES || old == d) continue;
            n->depth = old == EL_DEPTH_UNSET ? d : EL_DEPTH_VARIES;
            work[nw++] = (uint32_t)next[k];
        }
    }
    free(work);
}

/* Decodes the code, builds blocks, resolves static jumps and marks reachable blocks.
   O(code size); allocates O(code size). */
static evmjit_error el_analyze(el_analysis *a, const uint8_t *code, size_t n, evmjit_revision rev,
                               char *err, size_t err_size) {
    memset(a, 0, sizeof *a);
    a->code = code;
    a->code_size = n;
    a->rev = rev;
    a->insts = (el_inst *)malloc((n + 1) * sizeof *a->insts);
    a->imms = (evmjit_word *)malloc((n / 2 + 1) * sizeof *a->imms);
    a->is_jumpdest = (uint8_t *)calloc(n + 1, 1);
    a->blocks = (el_block *)malloc((n + 2) * sizeof *a->blocks);
    el_av *av = (el_av *)malloc(EL_AV_CAP * sizeof *av);
    if (!a->insts || !a->imms || !a->is_jumpdest || !a->blocks || !av) {
        free(av);
        el_analysis_free(a);
        el_err(err, err_size, "out of memory in analysis");
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }

    /* decode */
    for (size_t pc = 0; pc < n;) {
        uint8_t op = code[pc];
        el_inst *in = &a->insts[a->n_insts++];
        int gas = 0, inputs = 0, growth = 0;
        in->pc = (uint32_t)pc;
        in->op = op;
        in->defined = evmjit_op_info(rev, op, &gas, &inputs, &growth);
        in->gas = gas;
        in->inputs = (int8_t)inputs;
        in->growth = (int8_t)growth;
        in->imm = 0;
        size_t len = 1;
        if (op >= 0x60 && op <= 0x7f) {
            size_t k = (size_t)(op - 0x5f);
            evmjit_word w = {{0, 0, 0, 0}};
            for (size_t i = 0; i < k; i++) { /* big-endian; bytes past the end are zero */
                uint8_t byte = pc + 1 + i < n ? code[pc + 1 + i] : 0;
                size_t bit = 8 * (k - 1 - i);
                w.w[bit / 64] |= (uint64_t)byte << (bit % 64);
            }
            in->imm = a->n_imms;
            a->imms[a->n_imms++] = w;
            len += k;
        } else if (op == 0x5b) {
            a->is_jumpdest[pc] = 1;
        }
        pc += len;
    }

    /* blocks: start at 0, at each JUMPDEST and after each JUMPI; instructions after a
       terminator up to the next JUMPDEST are dead and belong to no block */
    bool open = true, dead = false;
    el_block *cur = &a->blocks[a->n_blocks++];
    memset(cur, 0, sizeof *cur);
    cur->fall = -1;
    cur->target = -1;
    cur->jumpdest = a->n_insts > 0 && a->insts[0].op == 0x5b;
    for (uint32_t i = 0; i < a->n_insts; i++) {
        const el_inst *in = &a->insts[i];
        if (in->op == 0x5b && (dead || (open && cur->end > cur->first))) {
            if (open && !dead) {
                cur->kind = EL_END_FALL;
                cur->fall = (int32_t)a->n_blocks;
            }
            cur = &a->blocks[a->n_blocks++];
            memset(cur, 0, sizeof *cur);
            cur->first = cur->end = i;
            cur->fall = -1;
            cur->target = -1;
            cur->jumpdest = 1;
            open = true;
            dead = false;
        }
        if (dead) continue;
        if (cur->end == cur->first) {
            cur->first = cur->end = i;
            cur->jumpdest = in->op == 0x5b;
        }
        cur->end = i + 1;
        if (!in->defined || el_is_terminator(in->op)) {
            cur->kind = in->op == 0x56 && in->defined ? EL_END_JUMP : EL_END_EXIT;
            dead = true;
            open = false;
        } else if (in->op == 0x57) {
            cur->kind = EL_END_JUMPI;
            cur->fall = (int32_t)a->n_blocks;
            cur = &a->blocks[a->n_blocks++];
            memset(cur, 0, sizeof *cur);
            cur->first = cur->end = i + 1;
            cur->fall = -1;
            cur->target = -1;
            open = true;
        }
    }
    if (open && !dead) {
        cur->kind = EL_END_FALL;
        cur->fall = -1;
    }

    /* static targets */
    for (uint32_t bi = 0; bi < a->n_blocks; bi++) {
        el_block *b = &a->blocks[bi];
        if (b->kind == EL_END_JUMP || b->kind == EL_END_JUMPI) b->target = el_static_target(a, b, av);
    }
    free(av);

    /* JUMPDEST runs: a block that is one JUMPDEST followed at once by another JUMPDEST is
       "inside" a run. A dynamic jump into it is sent (by the dispatch) to the run's last
       JUMPDEST with the skipped JUMPDESTs' gas charged, so it is no dynamic target of its
       own and joins the block before it like any unused JUMPDEST. O(blocks). */
    uint8_t *inner = (uint8_t *)calloc(a->n_blocks + 1, 1);
    uint32_t *work = (uint32_t *)malloc((a->n_blocks + 1) * sizeof *work);
    if (!inner || !work) {
        free(inner);
        free(work);
        el_analysis_free(a);
        el_err(err, err_size, "out of memory in analysis");
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    for (uint32_t bi = 0; bi + 1 < a->n_blocks; bi++) {
        const el_block *b = &a->blocks[bi], *next = &a->blocks[bi + 1];
        inner[bi] = b->jumpdest && b->end - b->first == 1 && b->kind == EL_END_FALL && b->fall == (int32_t)(bi + 1) &&
                    next->jumpdest && next->first == b->end;
    }

    /* reachability: a worklist from block 0; a reachable dynamic jump makes every JUMPDEST
       block outside a run's inside reachable. Each block is pushed at most once:
       O(blocks). */
    uint32_t nw = 0;
    a->blocks[0].reachable = 1;
    work[nw++] = 0;
    while (nw) {
        el_block *b = &a->blocks[work[--nw]];
        int32_t next[2] = {-1, -1};
        if (b->kind == EL_END_FALL || b->kind == EL_END_JUMPI) next[0] = b->fall;
        if (b->kind == EL_END_JUMP || b->kind == EL_END_JUMPI) {
            if (b->target >= 0) next[1] = b->target;
            else if (b->target == -1 && !a->has_dynamic) {
                a->has_dynamic = true;
                for (uint32_t k = 0; k < a->n_blocks; k++)
                    if (a->blocks[k].jumpdest && !inner[k] && !a->blocks[k].reachable) {
                        a->blocks[k].reachable = 1;
                        work[nw++] = k;
                    }
            }
        }
        for (int k = 0; k < 2; k++)
            if (next[k] >= 0 && !a->blocks[next[k]].reachable) {
                a->blocks[next[k]].reachable = 1;
                work[nw++] = (uint32_t)next[k];
            }
    }
    free(work);

    /* the runs the dispatch needs: each ends at a block outside, reachable by dynamic jumps */
    if (a->has_dynamic) {
        uint32_t n_runs = 0;
        for (uint32_t bi = 0; bi < a->n_blocks; bi++)
            if (inner[bi] && (bi == 0 || !inner[bi - 1])) n_runs++;
        a->runs = (el_jdrun *)malloc((n_runs + 1) * sizeof *a->runs);
        if (!a->runs) {
            free(inner);
            el_analysis_free(a);
            el_err(err, err_size, "out of memory in analysis");
            return EVMJIT_ERR_OUT_OF_MEMORY;
        }
        for (uint32_t bi = 0; bi < a->n_blocks; bi++) {
            if (!inner[bi] || (bi > 0 && inner[bi - 1])) continue;
            uint32_t last = bi;
            while (inner[last]) last++;
            el_jdrun *r = &a->runs[a->n_runs++];
            r->first_pc = a->insts[a->blocks[bi].first].pc;
            r->last_pc = a->insts[a->blocks[last].first].pc;
            r->last_block = (int32_t)last;
        }
    }

    /* a JUMPDEST that no reachable jump can land on is an ordinary 1-gas instruction: its
       block joins the one falling into it (fewer blocks and checks; a long run of unused
       JUMPDESTs becomes one section). O(blocks). */
    uint8_t *target = (uint8_t *)calloc(a->n_blocks + 1, 1);
    if (!target) {
        free(inner);
        el_analysis_free(a);
        el_err(err, err_size, "out of memory in analysis");
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    for (uint32_t bi = 0; bi < a->n_blocks; bi++) {
        const el_block *b = &a->blocks[bi];
        if (b->reachable && (b->kind == EL_END_JUMP || b->kind == EL_END_JUMPI) && b->target >= 0) target[b->target] = 1;
        if (b->reachable && b->jumpdest && a->has_dynamic && !inner[bi]) target[bi] = 1;
    }
    free(inner);
    for (uint32_t bi = 0, into = 0; bi < a->n_blocks; bi++) {
        el_block *b = &a->blocks[bi], *prev = &a->blocks[into];
        if (bi > 0 && b->jumpdest && !target[bi] && prev->reachable && prev->kind == EL_END_FALL &&
            prev->fall == (int32_t)bi && prev->end == b->first) {
            prev->end = b->end;
            prev->kind = b->kind;
            prev->fall = b->fall;
            prev->target = b->target;
            b->reachable = 0;
            continue;
        }
        into = bi;
    }
    free(target);
    el_depths(a);

    for (uint32_t bi = 0; bi < a->n_blocks; bi++) {
        const el_block *b = &a->blocks[bi];
        if (!b->reachable) continue;
        a->reach_blocks++;
        a->reach_insts += b->end - b->first;
        if (b->jumpdest) a->reach_jumpdests++;
        a->sections++;
        for (uint32_t i = b->first; i < b->end; i++) {
            uint8_t op = a->insts[i].op;
            if (el_ends_section(op)) a->sections++;
            if (el_ends_section(op) || (op >= 0x04 && op <= 0x09) || (op >= 0x51 && op <= 0x53) || op == 0xf3 ||
                op == 0xfd || op == 0xff)
                a->calls++;
        }
    }
    return EVMJIT_OK;
}

/* The compile budget: bounds LLVM's time and memory on hostile code. */
static evmjit_error el_check_budget(const el_analysis *a, char *err, size_t err_size) {
    if (a->sections > EVMJIT_LLVM_MAX_SECTIONS) {
        el_err(err, err_size,
               "over the compile budget: %u sections (limit %u, EVMJIT_LLVM_MAX_SECTIONS); "
               "interpret instead",
               a->sections, (unsigned)EVMJIT_LLVM_MAX_SECTIONS);
        return EVMJIT_ERR_INELIGIBLE;
    }
    if (a->calls > EVMJIT_LLVM_MAX_CALLS) {
        el_err(err, err_size,
               "over the compile budget: %u runtime calls (limit %u, EVMJIT_LLVM_MAX_CALLS); "
               "interpret instead",
               a->calls, (unsigned)EVMJIT_LLVM_MAX_CALLS);
        return EVMJIT_ERR_INELIGIBLE;
    }
    if (a->has_dynamic && a->reach_jumpdests + a->n_runs > EVMJIT_LLVM_MAX_TARGETS) {
        el_err(err, err_size,
               "over the compile budget: %u dynamic-jump targets (JUMPDESTs and JUMPDEST runs; "
               "limit %u, EVMJIT_LLVM_MAX_TARGETS); interpret instead",
               a->reach_jumpdests + a->n_runs, (unsigned)EVMJIT_LLVM_MAX_TARGETS);
        return EVMJIT_ERR_INELIGIBLE;
    }
    return EVMJIT_OK;
}

/* ============================================================================================
   2. IR generation
   ========================================================================================== */

/* A value on the virtual stack. `origin` != EL_NO_ORIGIN: the value equals the in-memory
   stack item at that index below the block's entry top (it was loaded from there and the
   block never writes the stack before its exit), so writing it back to the same place is
   unnecessary. Indices may be negative (above the entry top), hence the sentinel. */
#define EL_NO_ORIGIN INT32_MIN
typedef struct el_sv {
    LLVMValueRef v;    /* the i256 value */
    LLVMValueRef l[4]; /* the baseline tier's: its 64-bit limbs, least significant first */
    int32_t origin;
} el_sv;

typedef struct el_cg {
    const el_analysis *a;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef i1, i8, i32, i64, i160, i256, ptr, fn_ty, builtin_ty;
    LLVMValueRef fn, frame;
    LLVMValueRef len_var, gas_var, args, cbuf;
    LLVMValueRef stack_end, msg, builtins;
    LLVMValueRef bswap256, bswap160, ctlz256, memcpy_fn, memset_fn;
    LLVMTypeRef bswap256_ty, bswap160_ty, ctlz256_ty, memcpy_ty, memset_ty;
    LLVMBasicBlockRef oog_bb, badjump_bb; /* per function */
    LLVMBasicBlockRef cold_bb;            /* per function: calls the classifier */
    LLVMValueRef cold_first, cold_base, cold_gas; /* its phis */
    LLVMValueRef *fns;                     /* per head block: its function */
    LLVMValueRef dispatch;                 /* i32 (frame, len, gas, pc): dynamic jumps */
    bool cheap;                            /* the cheap path: no inline memory growth */
    bool baseline;                         /* the baseline tier: see el_bl_inst */
    LLVMValueRef rt[256];                  /* baseline: declarations of evmjit_rt_XX */
    LLVMValueRef rev32;                    /* baseline: evmjit_rt_rev32, see el_rt_gen */
    LLVMTypeRef rt_ty;                     /* void (ptr frame, ptr args) */
    LLVMValueRef grow;                     /* i64 (frame, size, end, gas): see el_grow_fn */
    LLVMTypeRef grow_ty;
    LLVMTypeRef block_ty;                  /* i32 (ptr frame, i64 len, i64 gas, i64 aux);
                                              baseline: i32 (ptr frame, ptr state) */
    int32_t *fn_num;                       /* baseline: per head block, its function's number */
    int32_t dispatch_num;                  /* baseline: the dispatch function's */
    LLVMValueRef state;                    /* baseline: the driver's {len, gas, pc} */
    LLVMValueRef fn_table;                 /* baseline: the functions by number */
    int32_t cur_head;
    LLVMValueRef classify;  /* i32 classify(i64 base, i64 gas, i32 first): see el_classifier */
    LLVMTypeRef classify_ty;
    int64_t *events;        /* its table: (kind, threshold) pairs, one run per section */
    size_t n_events, cap_events;
    LLVMValueRef weights_likely; /* !prof branch_weights metadata: first successor hot */
    unsigned prof_kind;
    unsigned tbaa_kind;
    LLVMValueRef tbaa[5]; /* access tags, see el_tbaa */
    /* the current block */
    LLVMValueRef base, entry_top;
    el_sv *vs;
    int vs_count, vs_cap;
    int popped; /* in-memory items below the entry top consumed by this block */
    int known_min, known_max; /* proven bounds of `base` */
    int64_t gas_ahead;        /* static gas of the section's later instructions, already charged */
    bool terminated;
    bool failed;
    char *err;
    size_t err_size;
} el_cg;

static LLVMValueRef el_c64(el_cg *g, int64_t v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }
static LLVMValueRef el_c32(el_cg *g, int v) { return LLVMConstInt(g->i32, (unsigned long long)(long long)v, 1); }
static LLVMValueRef el_cw(el_cg *g, uint64_t v) { return LLVMConstInt(g->i256, v, 0); }
static LLVMValueRef el_cword(el_cg *g, const evmjit_word *w) {
    return LLVMConstIntOfArbitraryPrecision(g->i256, 4, w->w);
}

static LLVMValueRef el_load(el_cg *g, LLVMTypeRef ty, LLVMValueRef p, unsigned align) {
    LLVMValueRef v = LLVMBuildLoad2(g->b, ty, p, "");
    LLVMSetAlignment(v, align);
    return v;
}
static LLVMValueRef el_store(el_cg *g, LLVMValueRef v, LLVMValueRef p, unsigned align) {
    LLVMValueRef s = LLVMBuildStore(g->b, v, p);
    LLVMSetAlignment(s, align);
    return s;
}
static LLVMValueRef el_tbaa(el_cg *g, LLVMValueRef inst, int cls);
static void el_store_t(el_cg *g, LLVMValueRef v, LLVMValueRef p, unsigned align, int cls) {
    el_tbaa(g, el_store(g, v, p, align), cls);
}
/* Pointer to the byte at `off` from `base` (a struct field). */
static LLVMValueRef el_field(el_cg *g, LLVMValueRef base, size_t off) {
    LLVMValueRef idx = el_c64(g, (int64_t)off);
    return LLVMBuildInBoundsGEP2(g->b, g->i8, base, &idx, 1, "");
}
static LLVMValueRef el_word_at(el_cg *g, LLVMValueRef base, int64_t idx) {
    LLVMValueRef i = el_c64(g, idx);
    return LLVMBuildGEP2(g->b, g->i256, base, &i, 1, "");
}
/* Type-based alias classes: the EVM stack, EVM memory, the frame, the message and the
   call data never overlap inside one frame (a callee's input may be its caller's memory,
   but a frame never writes its caller's memory). Telling LLVM lets it keep loaded frame
   fields and stack items across stores to the others. Calls still clobber everything. */
enum { EL_T_STACK, EL_T_MEMORY, EL_T_FRAME, EL_T_MSG, EL_T_DATA };
static LLVMValueRef el_tbaa(el_cg *g, LLVMValueRef inst, int cls) {
    if (!g->baseline) LLVMSetMetadata(inst, g->tbaa_kind, g->tbaa[cls]); /* no pass would read it */
    return inst;
}
static void el_tbaa_init(el_cg *g) {
    static const char *const names[5] = {"evm stack", "evm memory", "frame", "message", "call data"};
    LLVMContextRef C = g->ctx;
    g->tbaa_kind = LLVMGetMDKindIDInContext(C, "tbaa", 4);
    LLVMMetadataRef root_name = LLVMMDStringInContext2(C, "evmjit tbaa", 11);
    LLVMMetadataRef root = LLVMMDNodeInContext2(C, &root_name, 1);
    LLVMMetadataRef zero = LLVMValueAsMetadata(LLVMConstInt(g->i64, 0, 0));
    for (int i = 0; i < 5; i++) {
        LLVMMetadataRef tn[3] = {LLVMMDStringInContext2(C, names[i], strlen(names[i])), root, zero};
        LLVMMetadataRef type = LLVMMDNodeInContext2(C, tn, 3);
        LLVMMetadataRef tag[3] = {type, type, zero};
        g->tbaa[i] = LLVMMetadataAsValue(C, LLVMMDNodeInContext2(C, tag, 3));
    }
}
static LLVMValueRef el_frame_load(el_cg *g, LLVMTypeRef ty, size_t off) {
    return el_tbaa(g, el_load(g, ty, el_field(g, g->frame, off), 8), EL_T_FRAME);
}

static LLVMBasicBlockRef el_new_bb(el_cg *g) { return LLVMAppendBasicBlockInContext(g->ctx, g->fn, ""); }

/* A conditional branch whose first successor is the expected one. */
static void el_br_likely(el_cg *g, LLVMValueRef cond, LLVMBasicBlockRef hot, LLVMBasicBlockRef cold) {
    LLVMValueRef br = LLVMBuildCondBr(g->b, cond, hot, cold);
    if (!g->baseline) LLVMSetMetadata(br, g->prof_kind, g->weights_likely); /* O0 places blocks in order */
}

static LLVMValueRef el_call1(el_cg *g, LLVMTypeRef ty, LLVMValueRef fn, LLVMValueRef x) {
    return LLVMBuildCall2(g->b, ty, fn, &x, 1, "");
}
static LLVMValueRef el_bswap(el_cg *g, LLVMValueRef x) {
    return el_call1(g, g->bswap256_ty, g->bswap256, x);
}

/* ---- the virtual stack ---- */

static bool el_vs_reserve(el_cg *g, int n) {
    if (n <= g->vs_cap) return true;
    int cap = g->vs_cap ? g->vs_cap * 2 : 64;
    while (cap < n) cap *= 2;
    el_sv *p = (el_sv *)realloc(g->vs, (size_t)cap * sizeof *p);
    if (!p) {
        g->failed = true;
        el_err(g->err, g->err_size, "out of memory in code generation");
        return false;
    }
    g->vs = p;
    g->vs_cap = cap;
    return true;
}

/* The baseline tier's words are four i64 limbs (it never makes i256 code): those of word idx
   at base (an evmjit_word array), and the store of limbs there. */
static void el_limbs_at(el_cg *g, LLVMValueRef base, int idx, LLVMValueRef l[4]) {
    for (int k = 0; k < 4; k++) {
        LLVMValueRef off = el_c64(g, (int64_t)idx * 32 + 8 * k);
        l[k] = el_tbaa(g, el_load(g, g->i64, LLVMBuildGEP2(g->b, g->i8, base, &off, 1, ""), 8), EL_T_STACK);
    }
}
static void el_store_limbs(el_cg *g, LLVMValueRef base, int idx, LLVMValueRef const l[4]) {
    for (int k = 0; k < 4; k++) {
        LLVMValueRef off = el_c64(g, (int64_t)idx * 32 + 8 * k);
        el_store_t(g, l[k], LLVMBuildGEP2(g->b, g->i8, base, &off, 1, ""), 8, EL_T_STACK);
    }
}

/* Make sure the top n items are on the virtual stack, loading the missing ones from the
   in-memory stack. The section check before the instruction guarantees they exist. */
static void el_ensure(el_cg *g, int n) {
    if (g->vs_count >= n) return;
    int missing = n - g->vs_count;
    if (!el_vs_reserve(g, n)) return;
    memmove(g->vs + missing, g->vs, (size_t)g->vs_count * sizeof *g->vs);
    for (int k = 0; k < missing; k++) {
        /* vs[missing-1-k] is the k-th item below what is already there */
        int idx = g->popped + k;
        el_sv *sv = &g->vs[missing - 1 - k];
        if (g->baseline) el_limbs_at(g, g->entry_top, idx, sv->l);
        else sv->v = el_tbaa(g, el_load(g, g->i256, el_word_at(g, g->entry_top, idx), 8), EL_T_STACK);
        sv->origin = idx;
    }
    g->popped += missing;
    g->vs_count = n;
}
static LLVMValueRef el_pop(el_cg *g) {
    el_ensure(g, 1);
    if (g->failed) return LLVMGetUndef(g->i256);
    return g->vs[--g->vs_count].v;
}
static void el_push(el_cg *g, LLVMValueRef v) {
    if (!el_vs_reserve(g, g->vs_count + 1)) return;
    g->vs[g->vs_count].v = v;
    g->vs[g->vs_count].origin = EL_NO_ORIGIN;
    g->vs_count++;
}
/* The baseline tier's pop and push: limbs. */
static el_sv el_pop_limbs(el_cg *g) {
    el_ensure(g, 1);
    if (g->failed) {
        el_sv z;
        memset(&z, 0, sizeof z);
        for (int k = 0; k < 4; k++) z.l[k] = LLVMGetUndef(g->i64);
        return z;
    }
    return g->vs[--g->vs_count];
}
static void el_push_limbs(el_cg *g, LLVMValueRef const l[4]) {
    if (!el_vs_reserve(g, g->vs_count + 1)) return;
    el_sv *sv = &g->vs[g->vs_count++];
    memcpy(sv->l, l, sizeof sv->l);
    sv->v = NULL;
    sv->origin = EL_NO_ORIGIN;
}

/* Write the virtual stack back to memory. */
static void el_write_back(el_cg *g) {
    for (int j = 0; j < g->vs_count; j++) {
        int pos = g->popped - j - 1; /* index below the entry top */
        if (g->vs[j].origin == pos) continue;
        if (g->baseline) el_store_limbs(g, g->entry_top, pos, g->vs[j].l);
        else el_store_t(g, g->vs[j].v, el_word_at(g, g->entry_top, pos), 8, EL_T_STACK);
    }
}
/* ... and set the stack length: a block's exit. */
static void el_flush(el_cg *g) {
    el_write_back(g);
    LLVMValueRef len = LLVMBuildAdd(g->b, g->base, el_c64(g, g->vs_count - g->popped), "");
    LLVMBuildStore(g->b, len, g->len_var);
}

/* ---- exits ---- */

static LLVMBasicBlockRef el_ret_block(el_cg *g, LLVMBasicBlockRef *slot, evmjit_status_code st) {
    if (!*slot) {
        LLVMBasicBlockRef saved = LLVMGetInsertBlock(g->b);
        *slot = el_new_bb(g);
        LLVMPositionBuilderAtEnd(g->b, *slot);
        LLVMBuildRet(g->b, el_c32(g, st));
        LLVMPositionBuilderAtEnd(g->b, saved);
    }
    return *slot;
}
static LLVMBasicBlockRef el_oog(el_cg *g) { return el_ret_block(g, &g->oog_bb, EVMJIT_OUT_OF_GAS); }

/* SUCCESS with the exact gas left in the frame (STOP, the end of the code). */
static void el_exit_success(el_cg *g) {
    LLVMValueRef gas = LLVMBuildLoad2(g->b, g->i64, g->gas_var, "");
    el_store_t(g, gas, el_field(g, g->frame, offsetof(evmjit_frame, gas)), 8, EL_T_FRAME);
    LLVMBuildRet(g->b, el_c32(g, EVMJIT_SUCCESS));
    g->terminated = true;
}

/* ---- builtins ---- */

/* Calls builtin `id` on the operands at `args` (args[0] the top; both tiers pass g->args).
   `sync`: the builtin reads or writes gas, so the
   counter goes to the frame before and comes back after. A non-SUCCESS status leaves the
   function with that status. */
static void el_builtin_call(el_cg *g, evmjit_builtin_id id, int imm, LLVMValueRef args, bool sync) {
    LLVMValueRef gas_ptr = NULL;
    int64_t ahead = sync ? g->gas_ahead : 0; /* the builtin sees the interpreter's exact gas */
    if (sync) {
        gas_ptr = el_field(g, g->frame, offsetof(evmjit_frame, gas));
        LLVMValueRef gv = LLVMBuildLoad2(g->b, g->i64, g->gas_var, "");
        if (ahead) gv = LLVMBuildAdd(g->b, gv, el_c64(g, ahead), "");
        el_store_t(g, gv, gas_ptr, 8, EL_T_FRAME);
    }
    LLVMValueRef fp = el_load(g, g->ptr,
                              el_field(g, g->builtins,
                                       offsetof(evmjit_builtins, fn) + (size_t)id * sizeof(evmjit_builtin_fn)),
                              8);
    LLVMValueRef argv[3] = {g->frame, args, el_c32(g, imm)};
    LLVMValueRef st = LLVMBuildCall2(g->b, g->builtin_ty, fp, argv, 3, "");
    LLVMValueRef after = NULL;
    if (sync) {
        after = el_tbaa(g, el_load(g, g->i64, gas_ptr, 8), EL_T_FRAME);
        if (ahead) after = LLVMBuildSub(g->b, after, el_c64(g, ahead), "");
        LLVMBuildStore(g->b, after, g->gas_var);
    }
    if (id >= EVMJIT_BUILTIN_DIV && id <= EVMJIT_BUILTIN_MULMOD) return; /* always SUCCESS */
    /* a failing builtin ends the frame with its status (its own small block: one shared
       block with a phi over thousands of call sites makes LLVM's CFG passes quadratic) */
    LLVMBasicBlockRef cont = el_new_bb(g), fail = el_new_bb(g);
    el_br_likely(g, LLVMBuildICmp(g->b, LLVMIntEQ, st, el_c32(g, 0), ""), cont, fail);
    LLVMPositionBuilderAtEnd(g->b, fail);
    LLVMBuildRet(g->b, st);
    LLVMPositionBuilderAtEnd(g->b, cont);
    if (ahead) { /* growth left too little for the section's rest: the interpreter runs out there */
        LLVMBasicBlockRef ok = el_new_bb(g);
        el_br_likely(g, LLVMBuildICmp(g->b, LLVMIntSGE, after, el_c64(g, 0), ""), ok, el_oog(g));
        LLVMPositionBuilderAtEnd(g->b, ok);
    }
}

/* el_builtin_call with the n operands in ops[] (ops[0] the top) copied to g->args; returns
   the result word (args[n-1], or args[0] for n == 0) when `out`. */
static LLVMValueRef el_builtin(el_cg *g, evmjit_builtin_id id, int imm, int n, const LLVMValueRef *ops,
                               bool out, bool sync) {
    for (int k = 0; k < n; k++) el_store(g, ops[k], el_word_at(g, g->args, k), 8);
    el_builtin_call(g, id, imm, g->args, sync);
    if (!out) return NULL;
    return el_load(g, g->i256, el_word_at(g, g->args, n > 0 ? n - 1 : 0), 8);
}

/* Pops n operands, calls the builtin, pushes its result if it has one. */
static void el_builtin_op(el_cg *g, evmjit_builtin_id id, int imm, int n, bool out, bool sync) {
    LLVMValueRef ops[8];
    el_ensure(g, n);
    for (int k = 0; k < n; k++) ops[k] = el_pop(g);
    if (g->failed) return;
    LLVMValueRef r = el_builtin(g, id, imm, n, ops, out, sync);
    if (out) el_push(g, r);
}

/* ---- sections: one gas check and one stack check for a run of instructions ---- */

/* Appends one (kind, threshold) event to the classifier table. */
enum { EL_EV_END, EL_EV_GAS, EL_EV_UNDER, EL_EV_OVER };
static void el_event(el_cg *g, int64_t kind, int64_t threshold) {
    if (g->n_events + 2 > g->cap_events) {
        size_t cap = g->cap_events ? g->cap_events * 2 : 256;
        int64_t *p = (int64_t *)realloc(g->events, cap * sizeof *p);
        if (!p) {
            g->failed = true;
            el_err(g->err, g->err_size, "out of memory in code generation");
            return;
        }
        g->events = p;
        g->cap_events = cap;
    }
    g->events[g->n_events++] = kind;
    g->events[g->n_events++] = threshold;
}

/* Checks gas and stack bounds for instructions [from, to) of the current block at once.
   If the fast check fails, the cold path asks the classifier, which replays the
   interpreter's per-instruction order (underflow, overflow, then gas) from a table, so the
   status is the one the interpreter returns. Sections never contain an effect before their
   last instruction, so failing at the start is the same as failing where the interpreter
   does. Cost: O(to - from) compile time; at run time one compare and branch (plus one or
   two for the stack when it is not already proven by an earlier section of the block). */
static void el_section(el_cg *g, uint32_t from, uint32_t to) {
    const el_inst *insts = g->a->insts;
    int d0 = g->vs_count - g->popped, d = d0;
    int need = INT_MIN, lim = INT_MAX;
    int64_t gas = 0;
    for (uint32_t i = from; i < to; i++) {
        const el_inst *in = &insts[i];
        if (in->inputs - d > need) need = in->inputs - d;
        if (in->growth > 0 && EVMJIT_STACK_LIMIT - in->growth - d < lim)
            lim = EVMJIT_STACK_LIMIT - in->growth - d;
        gas += in->gas;
        d += in->growth;
    }
    bool chk_need = need > g->known_min, chk_lim = lim < g->known_max;
    if (!chk_need && !chk_lim && gas == 0) return;
    LLVMValueRef gv = LLVMBuildLoad2(g->b, g->i64, g->gas_var, "");
    LLVMValueRef ok = NULL;
    if (chk_need && chk_lim && need <= lim) { /* one unsigned range check: base - need <= lim - need */
        ok = LLVMBuildICmp(g->b, LLVMIntULE, LLVMBuildSub(g->b, g->base, el_c64(g, need), ""),
                           el_c64(g, (int64_t)lim - need), "");
    } else {
        if (chk_need) ok = LLVMBuildICmp(g->b, LLVMIntSGE, g->base, el_c64(g, need), "");
        if (chk_lim) {
            LLVMValueRef c = LLVMBuildICmp(g->b, LLVMIntSLE, g->base, el_c64(g, lim), "");
            ok = ok ? LLVMBuildAnd(g->b, ok, c, "") : c;
        }
    }
    if (gas) {
        LLVMValueRef c = LLVMBuildICmp(g->b, LLVMIntSGE, gv, el_c64(g, gas), "");
        ok = ok ? LLVMBuildAnd(g->b, ok, c, "") : c;
    }
    LLVMBasicBlockRef cont = el_new_bb(g);
    if ((chk_need || chk_lim) && !g->cold_bb) { /* one cold block per function */
        LLVMBasicBlockRef saved = LLVMGetInsertBlock(g->b);
        g->cold_bb = el_new_bb(g);
        LLVMPositionBuilderAtEnd(g->b, g->cold_bb);
        g->cold_first = LLVMBuildPhi(g->b, g->i32, "");
        g->cold_base = LLVMBuildPhi(g->b, g->i64, "");
        g->cold_gas = LLVMBuildPhi(g->b, g->i64, "");
        LLVMValueRef cargs[3] = {g->cold_base, g->cold_gas, g->cold_first};
        LLVMBuildRet(g->b, LLVMBuildCall2(g->b, g->classify_ty, g->classify, cargs, 3, ""));
        LLVMPositionBuilderAtEnd(g->b, saved);
    }
    LLVMBasicBlockRef slow = chk_need || chk_lim ? g->cold_bb : el_oog(g);
    LLVMBasicBlockRef here = LLVMGetInsertBlock(g->b);
    el_br_likely(g, ok, cont, slow);
    if (chk_need || chk_lim) {
        /* the events that can fail first, in the interpreter's order */
        size_t first = g->n_events / 2;
        int cur_need = g->known_min, cur_lim = g->known_max;
        int64_t before = 0, checked = 0;
        d = d0;
        for (uint32_t i = from; i < to && !g->failed; i++) {
            const el_inst *in = &insts[i];
            int nk = in->inputs - d;
            if (nk > cur_need) {
                if (before > checked) el_event(g, EL_EV_GAS, checked = before);
                el_event(g, EL_EV_UNDER, cur_need = nk);
            }
            if (in->growth > 0 && EVMJIT_STACK_LIMIT - in->growth - d < cur_lim) {
                if (before > checked) el_event(g, EL_EV_GAS, checked = before);
                el_event(g, EL_EV_OVER, cur_lim = EVMJIT_STACK_LIMIT - in->growth - d);
            }
            before += in->gas;
            d += in->growth;
        }
        el_event(g, EL_EV_END, 0);
        LLVMValueRef f32 = el_c32(g, (int)first);
        LLVMAddIncoming(g->cold_first, &f32, &here, 1);
        LLVMAddIncoming(g->cold_base, &g->base, &here, 1);
        LLVMAddIncoming(g->cold_gas, &gv, &here, 1);
    }
    LLVMPositionBuilderAtEnd(g->b, cont);
    if (gas) LLVMBuildStore(g->b, LLVMBuildSub(g->b, gv, el_c64(g, gas), ""), g->gas_var);
    if (chk_need) g->known_min = need;
    if (chk_lim) g->known_max = lim;
}

/* A private constant table `name` holding init (read-only data of this module). */
static LLVMValueRef el_const_table(el_cg *g, const char *name, LLVMValueRef init) {
    LLVMValueRef t = LLVMAddGlobal(g->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(t, init);
    LLVMSetGlobalConstant(t, 1);
    LLVMSetLinkage(t, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(t, LLVMGlobalUnnamedAddr);
    LLVMSetAlignment(t, 8);
    return t;
}

/* The body of the classifier: walks the events from `first` until one fails.
     i32 classify(i64 base, i64 gas, i32 first)
   GAS t: gas < t -> OUT_OF_GAS; UNDER t: base < t -> STACK_UNDERFLOW; OVER t: base > t ->
   STACK_OVERFLOW; END -> OUT_OF_GAS (the fast check failed on gas alone). Cold code. */
static void el_classifier(el_cg *g) {
    LLVMTypeRef arr = LLVMArrayType2(g->i64, g->n_events);
    LLVMValueRef *vals = (LLVMValueRef *)malloc((g->n_events + 1) * sizeof *vals);
    if (!vals) {
        g->failed = true;
        el_err(g->err, g->err_size, "out of memory in code generation");
        return;
    }
    for (size_t i = 0; i < g->n_events; i++) vals[i] = el_c64(g, g->events[i]);
    LLVMValueRef table = el_const_table(g, "evmjit_sections", LLVMConstArray2(g->i64, vals, g->n_events));
    free(vals);

    LLVMValueRef f = g->classify;
    LLVMValueRef base = LLVMGetParam(f, 0), gas = LLVMGetParam(f, 1), first = LLVMGetParam(f, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(g->ctx, f, "");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(g->ctx, f, "");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(g->ctx, f, "");
    LLVMBasicBlockRef ck[3], rets[4];
    for (int i = 0; i < 3; i++) ck[i] = LLVMAppendBasicBlockInContext(g->ctx, f, "");
    static const evmjit_status_code codes[4] = {EVMJIT_OUT_OF_GAS, EVMJIT_OUT_OF_GAS, EVMJIT_STACK_UNDERFLOW,
                                                EVMJIT_STACK_OVERFLOW};
    for (int i = 0; i < 4; i++) {
        rets[i] = LLVMAppendBasicBlockInContext(g->ctx, f, "");
        LLVMPositionBuilderAtEnd(g->b, rets[i]);
        LLVMBuildRet(g->b, el_c32(g, codes[i]));
    }
    LLVMPositionBuilderAtEnd(g->b, entry);
    LLVMValueRef first64 = LLVMBuildZExt(g->b, first, g->i64, "");
    LLVMBuildBr(g->b, loop);
    LLVMPositionBuilderAtEnd(g->b, loop);
    LLVMValueRef i = LLVMBuildPhi(g->b, g->i64, "");
    LLVMValueRef idx[2] = {el_c64(g, 0), LLVMBuildShl(g->b, i, el_c64(g, 1), "")};
    LLVMValueRef kp = LLVMBuildInBoundsGEP2(g->b, arr, table, idx, 2, "");
    LLVMValueRef one = el_c64(g, 1);
    LLVMValueRef tp = LLVMBuildInBoundsGEP2(g->b, g->i64, kp, &one, 1, "");
    LLVMValueRef kind = el_load(g, g->i64, kp, 8), t = el_load(g, g->i64, tp, 8);
    LLVMValueRef sw = LLVMBuildSwitch(g->b, kind, rets[0], 3);
    for (int k = 0; k < 3; k++) LLVMAddCase(sw, el_c64(g, k + 1), ck[k]);
    LLVMIntPredicate preds[3] = {LLVMIntSLT, LLVMIntSLT, LLVMIntSGT};
    LLVMValueRef lhs[3] = {gas, base, base};
    for (int k = 0; k < 3; k++) {
        LLVMPositionBuilderAtEnd(g->b, ck[k]);
        LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, preds[k], lhs[k], t, ""), rets[k + 1], next);
    }
    LLVMPositionBuilderAtEnd(g->b, next);
    LLVMValueRef inext = LLVMBuildAdd(g->b, i, one, "");
    LLVMBuildBr(g->b, loop);
    LLVMValueRef inc[2] = {first64, inext};
    LLVMBasicBlockRef from[2] = {entry, next};
    LLVMAddIncoming(i, inc, from, 2);
}

/* ---- instructions ---- */

static LLVMValueRef el_bool(el_cg *g, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildZExt(g->b, LLVMBuildICmp(g->b, p, a, b, ""), g->i256, "");
}

/* A word from 20 address bytes at p (big-endian). */
static LLVMValueRef el_address_word(el_cg *g, LLVMValueRef p) {
    LLVMValueRef v = el_tbaa(g, el_load(g, g->i160, p, 1), EL_T_MSG);
    v = el_call1(g, g->bswap160_ty, g->bswap160, v);
    return LLVMBuildZExt(g->b, v, g->i256, "");
}

/* (size >= width) && (off <= size - width): the access [off, off+width) is inside. */
static LLVMValueRef el_in_bounds(el_cg *g, LLVMValueRef off, LLVMValueRef size, uint64_t width) {
    LLVMValueRef big = LLVMBuildICmp(g->b, LLVMIntUGE, size, el_c64(g, (int64_t)width), "");
    LLVMValueRef lim = LLVMBuildZExt(g->b, LLVMBuildSub(g->b, size, el_c64(g, (int64_t)width), ""), g->i256, "");
    LLVMValueRef fits = LLVMBuildICmp(g->b, LLVMIntULE, off, lim, "");
    return LLVMBuildAnd(g->b, big, fits, "");
}

static void el_op_calldataload(el_cg *g) {
    LLVMValueRef off = el_pop(g);
    LLVMValueRef data = el_tbaa(g, el_load(g, g->ptr, el_field(g, g->msg, offsetof(evmjit_message, input_data)), 8), EL_T_MSG);
    LLVMValueRef size = el_tbaa(g, el_load(g, g->i64, el_field(g, g->msg, offsetof(evmjit_message, input_size)), 8), EL_T_MSG);
    LLVMBasicBlockRef fast = el_new_bb(g), slow = el_new_bb(g), join = el_new_bb(g);
    el_br_likely(g, el_in_bounds(g, off, size, 32), fast, slow);

    LLVMPositionBuilderAtEnd(g->b, fast);
    LLVMValueRef o64 = LLVMBuildTrunc(g->b, off, g->i64, "");
    LLVMValueRef w1 = el_bswap(g, el_tbaa(g, el_load(g, g->i256, LLVMBuildGEP2(g->b, g->i8, data, &o64, 1, ""), 1), EL_T_DATA));
    LLVMBuildBr(g->b, join);

    /* partial or past the end: copy what exists into a zeroed 32-byte buffer */
    LLVMPositionBuilderAtEnd(g->b, slow);
    LLVMValueRef inside = LLVMBuildICmp(g->b, LLVMIntULT, off, LLVMBuildZExt(g->b, size, g->i256, ""), "");
    LLVMValueRef o = LLVMBuildTrunc(g->b, off, g->i64, "");
    LLVMValueRef avail = LLVMBuildSub(g->b, size, o, "");
    LLVMValueRef n = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntULT, avail, el_c64(g, 32), ""), avail,
                                     el_c64(g, 32), "");
    n = LLVMBuildSelect(g->b, inside, n, el_c64(g, 0), "");
    LLVMValueRef ms[4] = {g->cbuf, LLVMConstInt(g->i8, 0, 0), el_c64(g, 32), LLVMConstInt(g->i1, 0, 0)};
    LLVMBuildCall2(g->b, g->memset_ty, g->memset_fn, ms, 4, "");
    LLVMValueRef src = LLVMBuildGEP2(g->b, g->i8, data, &o, 1, "");
    src = LLVMBuildSelect(g->b, inside, src, data, "");
    LLVMValueRef mc[4] = {g->cbuf, src, n, LLVMConstInt(g->i1, 0, 0)};
    LLVMBuildCall2(g->b, g->memcpy_ty, g->memcpy_fn, mc, 4, "");
    LLVMValueRef w2 = el_bswap(g, el_load(g, g->i256, g->cbuf, 8));
    LLVMBuildBr(g->b, join);

    LLVMPositionBuilderAtEnd(g->b, join);
    LLVMValueRef phi = LLVMBuildPhi(g->b, g->i256, "");
    LLVMValueRef vals[2] = {w1, w2};
    LLVMBasicBlockRef bbs[2] = {fast, slow};
    LLVMAddIncoming(phi, vals, bbs, 2);
    el_push(g, phi);
}

/* The module's memory growth function, made on first use:
     i64 grow(ptr frame, i64 size, i64 end, i64 gas)
   grows memory from size to end (rounded up to words; the buffer has room) and returns the
   gas left after the expansion charge, 3 w + w^2 / 512 for w words, new minus old as the
   interpreter charges it; negative: out of gas (memory untouched). */
static LLVMValueRef el_grow_fn(el_cg *g) {
    if (g->grow) return g->grow;
    LLVMTypeRef pt[4] = {g->ptr, g->i64, g->i64, g->i64};
    g->grow_ty = LLVMFunctionType(g->i64, pt, 4, 0);
    g->grow = LLVMAddFunction(g->mod, "grow", g->grow_ty);
    LLVMSetLinkage(g->grow, LLVMInternalLinkage);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(g->ctx); /* the caller's builder stays put */
    LLVMValueRef frame = LLVMGetParam(g->grow, 0), size = LLVMGetParam(g->grow, 1), end = LLVMGetParam(g->grow, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(g->ctx, g->grow, ""),
                      ok = LLVMAppendBasicBlockInContext(g->ctx, g->grow, ""),
                      out = LLVMAppendBasicBlockInContext(g->ctx, g->grow, "");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef words[2] = {LLVMBuildLShr(B, LLVMBuildAdd(B, end, el_c64(g, 31), ""), el_c64(g, 5), ""),
                             LLVMBuildLShr(B, size, el_c64(g, 5), "")};
    LLVMValueRef cost[2];
    for (int k = 0; k < 2; k++)
        cost[k] = LLVMBuildAdd(B, LLVMBuildMul(B, words[k], el_c64(g, 3), ""),
                               LLVMBuildLShr(B, LLVMBuildMul(B, words[k], words[k], ""), el_c64(g, 9), ""), "");
    LLVMValueRef left = LLVMBuildSub(B, LLVMGetParam(g->grow, 3), LLVMBuildSub(B, cost[0], cost[1], ""), "");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSGE, left, el_c64(g, 0), ""), ok, out);
    LLVMPositionBuilderAtEnd(B, ok);
    LLVMValueRef offs[2] = {el_c64(g, (int64_t)offsetof(evmjit_frame, memory)),
                            el_c64(g, (int64_t)offsetof(evmjit_frame, memory_size))};
    LLVMValueRef mem = el_tbaa(g, LLVMBuildLoad2(B, g->ptr, LLVMBuildInBoundsGEP2(B, g->i8, frame, &offs[0], 1, ""), ""),
                               EL_T_FRAME);
    LLVMValueRef new_size = LLVMBuildShl(B, words[0], el_c64(g, 5), "");
    LLVMValueRef ms[4] = {LLVMBuildGEP2(B, g->i8, mem, &size, 1, ""), LLVMConstInt(g->i8, 0, 0),
                          LLVMBuildSub(B, new_size, size, ""), LLVMConstInt(g->i1, 0, 0)};
    LLVMBuildCall2(B, g->memset_ty, g->memset_fn, ms, 4, "");
    el_tbaa(g, LLVMBuildStore(B, new_size, LLVMBuildInBoundsGEP2(B, g->i8, frame, &offs[1], 1, "")), EL_T_FRAME);
    LLVMBuildBr(B, out);
    LLVMPositionBuilderAtEnd(B, out);
    LLVMBuildRet(B, left);
    LLVMDisposeBuilder(B);
    return g->grow;
}

/* From the current block: if the frame's buffer has room for [off, off + width) (off < 2^32,
   so nothing below overflows; off + width <= capacity), grow memory with the module's grow
   function, charge it, and continue at `covered`; else continue at `slow`. */
static void el_grow_inline(el_cg *g, LLVMValueRef off, LLVMValueRef size, uint64_t width, LLVMBasicBlockRef covered,
                           LLVMBasicBlockRef slow) {
    LLVMBuilderRef B = g->b;
    LLVMValueRef end = LLVMBuildAdd(B, LLVMBuildTrunc(B, off, g->i64, ""), el_c64(g, (int64_t)width), "");
    LLVMValueRef cap = el_frame_load(g, g->i64, offsetof(evmjit_frame, memory_capacity));
    LLVMValueRef room = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntULT, off, el_cw(g, 1ull << 32), ""),
                                     LLVMBuildICmp(B, LLVMIntULE, end, cap, ""), "");
    LLVMBasicBlockRef grow = el_new_bb(g), paid = el_new_bb(g);
    LLVMBuildCondBr(B, room, grow, slow);
    LLVMPositionBuilderAtEnd(B, grow);
    LLVMValueRef args[4] = {g->frame, size, end, LLVMBuildLoad2(B, g->i64, g->gas_var, "")};
    LLVMValueRef left = LLVMBuildCall2(B, g->grow_ty, el_grow_fn(g), args, 4, "");
    el_br_likely(g, LLVMBuildICmp(B, LLVMIntSGE, left, el_c64(g, 0), ""), paid, el_oog(g));
    LLVMPositionBuilderAtEnd(B, paid);
    LLVMBuildStore(B, left, g->gas_var);
    LLVMBuildBr(B, covered);
}

/* The builtin of MLOAD (0x51), MSTORE (0x52) or MSTORE8 (0x53). */
static evmjit_builtin_id el_memory_builtin(uint8_t op) {
    return op == 0x51 ? EVMJIT_BUILTIN_MLOAD : op == 0x52 ? EVMJIT_BUILTIN_MSTORE : EVMJIT_BUILTIN_MSTORE8;
}

/* MLOAD / MSTORE / MSTORE8: inline when memory already covers the access; inline growth when
   the frame's buffer has room (the usual append at the free memory pointer), except on the
   cheap path; else the builtin (which reallocates, and fails with OUT_OF_GAS for huge
   offsets). The growth is charged against the section's counter, whose later instructions
   are already paid for: running out there is the interpreter's out-of-gas at this
   instruction or later in the section. */
static void el_op_memory(el_cg *g, uint8_t op) {
    int n = op == 0x51 ? 1 : 2;
    el_ensure(g, n);
    LLVMValueRef ops[2];
    for (int k = 0; k < n; k++) ops[k] = el_pop(g);
    if (g->failed) return;
    uint64_t width = op == 0x53 ? 1 : 32;
    LLVMValueRef mem = el_frame_load(g, g->ptr, offsetof(evmjit_frame, memory));
    LLVMValueRef size = el_frame_load(g, g->i64, offsetof(evmjit_frame, memory_size));
    LLVMBasicBlockRef fast = el_new_bb(g), miss = el_new_bb(g), slow = g->cheap ? miss : el_new_bb(g),
                      join = el_new_bb(g);
    el_br_likely(g, el_in_bounds(g, ops[0], size, width), fast, miss);

    LLVMPositionBuilderAtEnd(g->b, fast);
    LLVMValueRef o = LLVMBuildTrunc(g->b, ops[0], g->i64, "");
    LLVMValueRef p = LLVMBuildGEP2(g->b, g->i8, mem, &o, 1, "");
    LLVMValueRef w1 = NULL;
    if (op == 0x51) w1 = el_bswap(g, el_tbaa(g, el_load(g, g->i256, p, 1), EL_T_MEMORY));
    else if (op == 0x52) el_store_t(g, el_bswap(g, ops[1]), p, 1, EL_T_MEMORY);
    else el_store_t(g, LLVMBuildTrunc(g->b, ops[1], g->i8, ""), p, 1, EL_T_MEMORY);
    LLVMBuildBr(g->b, join);

    if (!g->cheap) {
        LLVMPositionBuilderAtEnd(g->b, miss);
        el_grow_inline(g, ops[0], size, width, fast, slow);
    }

    LLVMPositionBuilderAtEnd(g->b, slow);
    evmjit_builtin_id id = el_memory_builtin(op);
    LLVMValueRef w2 = el_builtin(g, id, op, n, ops, op == 0x51, true);
    LLVMBasicBlockRef slow_end = LLVMGetInsertBlock(g->b);
    LLVMBuildBr(g->b, join);

    LLVMPositionBuilderAtEnd(g->b, join);
    if (op == 0x51) {
        LLVMValueRef phi = LLVMBuildPhi(g->b, g->i256, "");
        LLVMValueRef vals[2] = {w1, w2};
        LLVMBasicBlockRef bbs[2] = {fast, slow_end};
        LLVMAddIncoming(phi, vals, bbs, 2);
        el_push(g, phi);
    }
}

static void el_binary(el_cg *g, uint8_t op) {
    LLVMValueRef a = el_pop(g), b = el_pop(g), r = NULL;
    LLVMBuilderRef B = g->b;
    switch (op) {
    case 0x01: r = LLVMBuildAdd(B, a, b, ""); break;
    case 0x02: r = LLVMBuildMul(B, a, b, ""); break;
    case 0x03: r = LLVMBuildSub(B, a, b, ""); break;
    case 0x10: r = el_bool(g, LLVMIntULT, a, b); break;
    case 0x11: r = el_bool(g, LLVMIntUGT, a, b); break;
    case 0x12: r = el_bool(g, LLVMIntSLT, a, b); break;
    case 0x13: r = el_bool(g, LLVMIntSGT, a, b); break;
    case 0x14: r = el_bool(g, LLVMIntEQ, a, b); break;
    case 0x16: r = LLVMBuildAnd(B, a, b, ""); break;
    case 0x17: r = LLVMBuildOr(B, a, b, ""); break;
    case 0x18: r = LLVMBuildXor(B, a, b, ""); break;
    case 0x0b: { /* SIGNEXTEND(b = a, x = b): shift the sign byte to the top and back */
        LLVMValueRef ok = LLVMBuildICmp(B, LLVMIntULT, a, el_cw(g, 31), "");
        LLVMValueRef sh = LLVMBuildSub(B, el_cw(g, 248), LLVMBuildShl(B, a, el_cw(g, 3), ""), "");
        sh = LLVMBuildSelect(B, ok, sh, el_cw(g, 0), "");
        r = LLVMBuildAShr(B, LLVMBuildShl(B, b, sh, ""), sh, "");
        break;
    }
    case 0x1a: { /* BYTE(i = a, x = b) */
        LLVMValueRef ok = LLVMBuildICmp(B, LLVMIntULT, a, el_cw(g, 32), "");
        LLVMValueRef sh = LLVMBuildSub(B, el_cw(g, 248), LLVMBuildShl(B, a, el_cw(g, 3), ""), "");
        sh = LLVMBuildSelect(B, ok, sh, el_cw(g, 0), "");
        r = LLVMBuildAnd(B, LLVMBuildLShr(B, b, sh, ""), el_cw(g, 255), "");
        r = LLVMBuildSelect(B, ok, r, el_cw(g, 0), "");
        break;
    }
    case 0x1b: case 0x1c: { /* SHL/SHR(shift = a, x = b): 0 for shifts >= 256 */
        LLVMValueRef ok = LLVMBuildICmp(B, LLVMIntULT, a, el_cw(g, 256), "");
        LLVMValueRef sh = LLVMBuildAnd(B, a, el_cw(g, 255), "");
        r = op == 0x1b ? LLVMBuildShl(B, b, sh, "") : LLVMBuildLShr(B, b, sh, "");
        r = LLVMBuildSelect(B, ok, r, el_cw(g, 0), "");
        break;
    }
    case 0x1d: { /* SAR: shifts >= 256 fill with the sign */
        LLVMValueRef ok = LLVMBuildICmp(B, LLVMIntULT, a, el_cw(g, 256), "");
        LLVMValueRef sh = LLVMBuildSelect(B, ok, LLVMBuildAnd(B, a, el_cw(g, 255), ""), el_cw(g, 255), "");
        r = LLVMBuildAShr(B, b, sh, "");
        break;
    }
    default:
        g->failed = true;
        el_err(g->err, g->err_size, "internal: no binary op 0x%02x", op);
        return;
    }
    el_push(g, r);
}

/* DIV/SDIV/MOD/SMOD: inline 64-bit division when both operands are small (non-negative
   and below 2^63 for the signed ones, where they equal the unsigned results); the builtin
   otherwise. Division by zero gives 0, as EVM wants (never LLVM's undefined udiv by 0). */
/* k when v is the constant 2^k, else -1 (compares fold at IR build time: no code). */
static int el_const_log2(el_cg *g, LLVMValueRef v) {
    if (!LLVMIsAConstantInt(v)) return -1;
    for (int k = 0; k < 256; k++) {
        evmjit_word w = {{0, 0, 0, 0}};
        w.w[k / 64] = 1ull << (k % 64);
        LLVMValueRef c = LLVMBuildICmp(g->b, LLVMIntEQ, v, el_cword(g, &w), "");
        if (LLVMIsAConstantInt(c) && LLVMConstIntGetZExtValue(c)) return k;
    }
    return -1;
}

static void el_op_division(el_cg *g, uint8_t op) {
    el_ensure(g, 2);
    LLVMValueRef ops[2] = {el_pop(g), el_pop(g)};
    if (g->failed) return;
    LLVMBuilderRef B = g->b;
    bool is_signed = op == 0x05 || op == 0x07, is_mod = op == 0x06 || op == 0x07;
    int k = is_signed ? -1 : el_const_log2(g, ops[1]);
    if (k >= 0) { /* by a constant power of two: a shift or a mask */
        evmjit_word m = {{0, 0, 0, 0}};
        m.w[k / 64] = 1ull << (k % 64);
        el_push(g, is_mod ? LLVMBuildAnd(B, ops[0], LLVMBuildSub(B, el_cword(g, &m), el_cw(g, 1), ""), "")
                          : LLVMBuildLShr(B, ops[0], el_cw(g, (uint64_t)k), ""));
        return;
    }
    LLVMValueRef small;
    if (!is_signed) {
        const evmjit_word bound = {{0, 1, 0, 0}};
        small = LLVMBuildICmp(B, LLVMIntULT, LLVMBuildOr(B, ops[0], ops[1], ""), el_cword(g, &bound), "");
    } else { /* both are sign-extended 64-bit values, and not INT64_MIN / -1 */
        LLVMValueRef fits[2];
        for (int i = 0; i < 2; i++)
            fits[i] = LLVMBuildICmp(B, LLVMIntEQ, LLVMBuildSExt(B, LLVMBuildTrunc(B, ops[i], g->i64, ""), g->i256, ""),
                                    ops[i], "");
        const evmjit_word min = {{1ull << 63, ~0ull, ~0ull, ~0ull}};
        LLVMValueRef ovf = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntEQ, ops[0], el_cword(g, &min), ""),
                                        LLVMBuildICmp(B, LLVMIntEQ, ops[1], LLVMConstAllOnes(g->i256), ""), "");
        small = LLVMBuildAnd(B, LLVMBuildAnd(B, fits[0], fits[1], ""), LLVMBuildNot(B, ovf, ""), "");
    }
    LLVMBasicBlockRef fast = el_new_bb(g), slow = el_new_bb(g), join = el_new_bb(g);
    el_br_likely(g, small, fast, slow);
    LLVMPositionBuilderAtEnd(B, fast);
    LLVMValueRef a = LLVMBuildTrunc(B, ops[0], g->i64, ""), b = LLVMBuildTrunc(B, ops[1], g->i64, "");
    LLVMValueRef zero = LLVMBuildICmp(B, LLVMIntEQ, b, el_c64(g, 0), "");
    LLVMValueRef d = LLVMBuildSelect(B, zero, el_c64(g, 1), b, "");
    LLVMValueRef q = is_signed ? (is_mod ? LLVMBuildSRem(B, a, d, "") : LLVMBuildSDiv(B, a, d, ""))
                               : (is_mod ? LLVMBuildURem(B, a, d, "") : LLVMBuildUDiv(B, a, d, ""));
    q = LLVMBuildSelect(B, zero, el_c64(g, 0), q, "");
    LLVMValueRef r1 = is_signed ? LLVMBuildSExt(B, q, g->i256, "") : LLVMBuildZExt(B, q, g->i256, "");
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, slow);
    static const evmjit_builtin_id ids[4] = {EVMJIT_BUILTIN_DIV, EVMJIT_BUILTIN_SDIV, EVMJIT_BUILTIN_MOD, EVMJIT_BUILTIN_SMOD};
    LLVMValueRef r2 = el_builtin(g, ids[op - 0x04], op, 2, ops, true, false);
    LLVMBasicBlockRef slow_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef phi = LLVMBuildPhi(B, g->i256, "");
    LLVMValueRef vals[2] = {r1, r2};
    LLVMBasicBlockRef bbs[2] = {fast, slow_end};
    LLVMAddIncoming(phi, vals, bbs, 2);
    el_push(g, phi);
}

/* ADDMOD inline when both addends are already reduced (a < m and b < m, the usual case in
   modular arithmetic): the 257-bit sum needs at most one subtraction. The builtin
   otherwise (and for m = 0, which a < m excludes). */
static void el_op_addmod(el_cg *g) {
    el_ensure(g, 3);
    LLVMValueRef ops[3] = {el_pop(g), el_pop(g), el_pop(g)};
    if (g->failed) return;
    LLVMBuilderRef B = g->b;
    LLVMValueRef a = ops[0], b = ops[1], m = ops[2];
    LLVMValueRef reduced = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntULT, a, m, ""), LLVMBuildICmp(B, LLVMIntULT, b, m, ""), "");
    LLVMBasicBlockRef fast = el_new_bb(g), slow = el_new_bb(g), join = el_new_bb(g);
    el_br_likely(g, reduced, fast, slow);
    LLVMPositionBuilderAtEnd(B, fast);
    LLVMValueRef sum = LLVMBuildAdd(B, a, b, "");
    LLVMValueRef carry = LLVMBuildICmp(B, LLVMIntULT, sum, a, "");
    LLVMValueRef over = LLVMBuildOr(B, carry, LLVMBuildICmp(B, LLVMIntUGE, sum, m, ""), "");
    LLVMValueRef r1 = LLVMBuildSelect(B, over, LLVMBuildSub(B, sum, m, ""), sum, "");
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, slow);
    LLVMValueRef r2 = el_builtin(g, EVMJIT_BUILTIN_ADDMOD, 0x08, 3, ops, true, false);
    LLVMBasicBlockRef slow_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef phi = LLVMBuildPhi(B, g->i256, "");
    LLVMValueRef vals[2] = {r1, r2};
    LLVMBasicBlockRef bbs[2] = {fast, slow_end};
    LLVMAddIncoming(phi, vals, bbs, 2);
    el_push(g, phi);
}

/* A baseline function's return value at or above EL_NEXT_FN: call function number
   r - EL_NEXT_FN next (statuses are small: -3 to about 20). */
#define EL_NEXT_FN (1 << 20)

/* The baseline tier's state field k (0 the stack length, 1 gas, 2 the pc of a dynamic jump):
   an i64 in the driver's frame (see el_gen). */
static LLVMValueRef el_state_field(el_cg *g, int k) {
    LLVMValueRef idx = el_c64(g, k);
    return LLVMBuildGEP2(g->b, g->i64, g->state, &idx, 1, "");
}

/* Ends the function with a guaranteed tail call: the stack length and gas travel in
   registers (the baseline tier's in its state), the stack items are already in memory. */
static void el_ret_tail_call(el_cg *g, LLVMValueRef fn, LLVMValueRef *args /* block_ty's */) {
    LLVMValueRef call = LLVMBuildCall2(g->b, g->block_ty, fn, args, g->baseline ? 2 : 4, "");
#if LLVM_VERSION_MAJOR >= 18
    LLVMSetTailCallKind(call, LLVMTailCallKindMustTail);
#else
    LLVMSetTailCall(call, 1);
#endif
    LLVMBuildRet(g->b, call);
}

/* Leaves for function fn, aux its pc for the dispatch, else 0. The baseline tier returns to
   its driver with the function's number (num) and the state instead: LLVM's fast
   instruction selector cannot do tail calls (each went through SelectionDAG, about 9% of a
   baseline compile), a return it can. */
static void el_tail_call(el_cg *g, LLVMValueRef fn, int32_t num, LLVMValueRef aux) {
    LLVMValueRef len = LLVMBuildLoad2(g->b, g->i64, g->len_var, ""), gas = LLVMBuildLoad2(g->b, g->i64, g->gas_var, "");
    if (!g->baseline) {
        LLVMValueRef args[4] = {g->frame, len, gas, aux};
        el_ret_tail_call(g, fn, args);
        return;
    }
    LLVMBuildStore(g->b, len, el_state_field(g, 0));
    LLVMBuildStore(g->b, gas, el_state_field(g, 1));
    if (fn == g->dispatch) LLVMBuildStore(g->b, aux, el_state_field(g, 2));
    LLVMBuildRet(g->b, el_c32(g, EL_NEXT_FN + num));
}

/* Continue at block `target` (after el_flush): a branch inside this function, a tail call
   to another block's function, or STOP at the end of the code (target -1). */
static void el_goto(el_cg *g, int32_t target) {
    if (target < 0) {
        el_exit_success(g);
        return;
    }
    const el_block *t = &g->a->blocks[target];
    if (t->func == g->cur_head) {
        LLVMBuildBr(g->b, t->bb);
        return;
    }
    if (t->func != target || !g->fns[target]) { /* only superblock heads are entered from outside */
        g->failed = true;
        el_err(g->err, g->err_size, "internal: edge into the middle of a superblock");
        LLVMBuildRet(g->b, el_c32(g, EVMJIT_INTERNAL_ERROR));
        return;
    }
    el_tail_call(g, g->fns[target], g->baseline ? g->fn_num[target] : 0, el_c64(g, 0));
}

/* A new block of this function from which to continue at `target`. */
static LLVMBasicBlockRef el_goto_block(el_cg *g, int32_t target) {
    if (target >= 0 && g->a->blocks[target].func == g->cur_head) return g->a->blocks[target].bb;
    LLVMBasicBlockRef saved = LLVMGetInsertBlock(g->b), bb = el_new_bb(g);
    LLVMPositionBuilderAtEnd(g->b, bb);
    el_goto(g, target);
    LLVMPositionBuilderAtEnd(g->b, saved);
    return bb;
}

/* Builders that fold what LLVM's IR builder leaves (x | 0, x & ~0, x + 0, x < x, ...): the
   limbs of constants are constants, and the baseline tier runs no pass that would fold them. */
static bool el_is_int(LLVMValueRef v, int64_t c) {
    return LLVMIsAConstantInt(v) && LLVMConstIntGetSExtValue(v) == c;
}
static LLVMValueRef el_or(el_cg *g, LLVMValueRef x, LLVMValueRef y) {
    return el_is_int(x, 0) ? y : el_is_int(y, 0) ? x : LLVMBuildOr(g->b, x, y, "");
}
static LLVMValueRef el_and(el_cg *g, LLVMValueRef x, LLVMValueRef y) {
    if (el_is_int(x, 0) || el_is_int(y, -1)) return x;
    if (el_is_int(y, 0) || el_is_int(x, -1)) return y;
    return LLVMBuildAnd(g->b, x, y, "");
}
static LLVMValueRef el_xor(el_cg *g, LLVMValueRef x, LLVMValueRef y) {
    return el_is_int(x, 0) ? y : el_is_int(y, 0) ? x : LLVMBuildXor(g->b, x, y, "");
}
static LLVMValueRef el_ult(el_cg *g, LLVMValueRef x, LLVMValueRef y) {
    if (x == y || el_is_int(y, 0)) return LLVMConstInt(g->i1, 0, 0);
    return LLVMBuildICmp(g->b, LLVMIntULT, x, y, "");
}
static LLVMValueRef el_z64(el_cg *g, LLVMValueRef bit) { return LLVMBuildZExt(g->b, bit, g->i64, ""); }
static void el_jump(el_cg *g, const el_block *blk, bool conditional) {
    LLVMValueRef dest = NULL, cond = NULL, dlimb[4] = {NULL, NULL, NULL, NULL};
    if (g->baseline) { /* the destination's limbs and whether the condition is non-zero */
        el_sv d = el_pop_limbs(g);
        memcpy(dlimb, d.l, sizeof dlimb);
        if (conditional) {
            el_sv c = el_pop_limbs(g);
            cond = el_or(g, el_or(g, c.l[0], c.l[1]), el_or(g, c.l[2], c.l[3]));
        }
    } else {
        dest = el_pop(g);
        cond = conditional ? el_pop(g) : NULL;
    }
    if (g->failed) return;
    el_flush(g);
    LLVMBasicBlockRef target;
    if (blk->target >= 0) {
        target = el_goto_block(g, blk->target);
    } else if (blk->target == -2) {
        target = el_ret_block(g, &g->badjump_bb, EVMJIT_BAD_JUMP_DESTINATION);
    } else { /* dynamic: the dispatch function's switch over every JUMPDEST */
        if (!g->dispatch) {
            g->failed = true;
            el_err(g->err, g->err_size, "internal: dynamic jump without a dispatch function");
            return;
        }
        LLVMBasicBlockRef saved = LLVMGetInsertBlock(g->b), in = el_new_bb(g);
        target = el_new_bb(g);
        LLVMPositionBuilderAtEnd(g->b, target);
        LLVMValueRef inside, pc;
        if (g->baseline) {
            LLVMValueRef high = el_or(g, el_or(g, dlimb[1], dlimb[2]), dlimb[3]);
            inside = LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, high, el_c64(g, 0), ""),
                                  LLVMBuildICmp(g->b, LLVMIntULT, dlimb[0], el_c64(g, (int64_t)g->a->code_size), ""), "");
            pc = dlimb[0];
        } else {
            inside = LLVMBuildICmp(g->b, LLVMIntULT, dest, el_cw(g, g->a->code_size), "");
            pc = NULL;
        }
        el_br_likely(g, inside, in, el_ret_block(g, &g->badjump_bb, EVMJIT_BAD_JUMP_DESTINATION));
        LLVMPositionBuilderAtEnd(g->b, in);
        el_tail_call(g, g->dispatch, g->dispatch_num, pc ? pc : LLVMBuildTrunc(g->b, dest, g->i64, ""));
        LLVMPositionBuilderAtEnd(g->b, saved);
    }
    if (!conditional) {
        LLVMBuildBr(g->b, target);
    } else {
        LLVMValueRef taken = LLVMBuildICmp(g->b, LLVMIntNE, cond, g->baseline ? el_c64(g, 0) : el_cw(g, 0), "");
        LLVMBuildCondBr(g->b, taken, target, el_goto_block(g, blk->fall));
    }
    g->terminated = true;
}

static void el_inst_gen(el_cg *g, const el_block *blk, const el_inst *in) {
    uint8_t op = in->op;
    LLVMBuilderRef B = g->b;
    if (op >= 0x60 && op <= 0x7f) {
        el_push(g, el_cword(g, &g->a->imms[in->imm]));
        return;
    }
    if (op >= 0x80 && op <= 0x8f) { /* DUPn */
        int n = op - 0x7f;
        el_ensure(g, n);
        if (g->failed) return;
        el_sv v = g->vs[g->vs_count - n];
        if (!el_vs_reserve(g, g->vs_count + 1)) return;
        g->vs[g->vs_count++] = v;
        return;
    }
    if (op >= 0x90 && op <= 0x9f) { /* SWAPn */
        int n = op - 0x8f;
        el_ensure(g, n + 1);
        if (g->failed) return;
        el_sv t = g->vs[g->vs_count - 1];
        g->vs[g->vs_count - 1] = g->vs[g->vs_count - 1 - n];
        g->vs[g->vs_count - 1 - n] = t;
        return;
    }
    switch (op) {
    case 0x00: el_exit_success(g); return;
    case 0x01: case 0x02: case 0x03: case 0x0b: case 0x10: case 0x11: case 0x12: case 0x13:
    case 0x14: case 0x16: case 0x17: case 0x18: case 0x1a: case 0x1b: case 0x1c: case 0x1d:
        el_binary(g, op);
        return;
    case 0x04: case 0x05: case 0x06: case 0x07: el_op_division(g, op); return;
    case 0x08: el_op_addmod(g); return;
    case 0x09: el_builtin_op(g, EVMJIT_BUILTIN_MULMOD, op, 3, true, false); return;
    case 0x0a: el_builtin_op(g, EVMJIT_BUILTIN_EXP, op, 2, true, true); return;
    case 0x15: el_push(g, el_bool(g, LLVMIntEQ, el_pop(g), el_cw(g, 0))); return;
    case 0x19: el_push(g, LLVMBuildNot(B, el_pop(g), "")); return;
    case 0x1e: {
        LLVMValueRef args[2] = {el_pop(g), LLVMConstInt(g->i1, 0, 0)};
        el_push(g, LLVMBuildCall2(B, g->ctlz256_ty, g->ctlz256, args, 2, ""));
        return;
    }
    case 0x20: el_builtin_op(g, EVMJIT_BUILTIN_KECCAK256, op, 2, true, true); return;
    case 0x30: el_push(g, el_address_word(g, el_field(g, g->msg, offsetof(evmjit_message, recipient)))); return;
    case 0x31: el_builtin_op(g, EVMJIT_BUILTIN_BALANCE, op, 1, true, true); return;
    case 0x33: el_push(g, el_address_word(g, el_field(g, g->msg, offsetof(evmjit_message, sender)))); return;
    case 0x34:
        el_push(g, el_bswap(g, el_tbaa(g, el_load(g, g->i256, el_field(g, g->msg, offsetof(evmjit_message, value)), 1), EL_T_MSG)));
        return;
    case 0x35: el_op_calldataload(g); return;
    case 0x36:
        el_push(g, LLVMBuildZExt(B, el_tbaa(g, el_load(g, g->i64, el_field(g, g->msg, offsetof(evmjit_message, input_size)), 8), EL_T_MSG),
                                 g->i256, ""));
        return;
    case 0x37: el_builtin_op(g, EVMJIT_BUILTIN_CALLDATACOPY, op, 3, false, true); return;
    case 0x38: el_push(g, el_cw(g, g->a->code_size)); return;
    case 0x39: el_builtin_op(g, EVMJIT_BUILTIN_CODECOPY, op, 3, false, true); return;
    case 0x3b: el_builtin_op(g, EVMJIT_BUILTIN_EXTCODESIZE, op, 1, true, true); return;
    case 0x3c: el_builtin_op(g, EVMJIT_BUILTIN_EXTCODECOPY, op, 4, false, true); return;
    case 0x3d:
        el_push(g, LLVMBuildZExt(B, el_frame_load(g, g->i64, offsetof(evmjit_frame, return_data_size)), g->i256, ""));
        return;
    case 0x3e: el_builtin_op(g, EVMJIT_BUILTIN_RETURNDATACOPY, op, 3, false, true); return;
    case 0x3f: el_builtin_op(g, EVMJIT_BUILTIN_EXTCODEHASH, op, 1, true, true); return;
    case 0x40: el_builtin_op(g, EVMJIT_BUILTIN_BLOCKHASH, op, 1, true, true); return;
    case 0x32: case 0x3a: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46:
    case 0x48: case 0x4a:
        el_builtin_op(g, EVMJIT_BUILTIN_TX_GETTER, op, 0, true, true);
        return;
    case 0x49: el_builtin_op(g, EVMJIT_BUILTIN_TX_GETTER, op, 1, true, true); return;
    case 0x47: el_builtin_op(g, EVMJIT_BUILTIN_SELFBALANCE, op, 0, true, true); return;
    case 0x50:
        if (g->vs_count > 0) g->vs_count--;
        else g->popped++;
        return;
    case 0x51: case 0x52: case 0x53: el_op_memory(g, op); return;
    case 0x54: el_builtin_op(g, EVMJIT_BUILTIN_SLOAD, op, 1, true, true); return;
    case 0x55: el_builtin_op(g, EVMJIT_BUILTIN_SSTORE, op, 2, false, true); return;
    case 0x56: el_jump(g, blk, false); return;
    case 0x57: el_jump(g, blk, true); return;
    case 0x58: el_push(g, el_cw(g, in->pc)); return;
    case 0x59:
        el_push(g, LLVMBuildZExt(B, el_frame_load(g, g->i64, offsetof(evmjit_frame, memory_size)), g->i256, ""));
        return;
    case 0x5a: el_push(g, LLVMBuildZExt(B, LLVMBuildLoad2(B, g->i64, g->gas_var, ""), g->i256, "")); return;
    case 0x5b: return;
    case 0x5c: el_builtin_op(g, EVMJIT_BUILTIN_TLOAD, op, 1, true, true); return;
    case 0x5d: el_builtin_op(g, EVMJIT_BUILTIN_TSTORE, op, 2, false, true); return;
    case 0x5e: el_builtin_op(g, EVMJIT_BUILTIN_MCOPY, op, 3, false, true); return;
    case 0x5f: el_push(g, el_cw(g, 0)); return;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4:
        el_builtin_op(g, EVMJIT_BUILTIN_LOG, op - 0xa0, op - 0xa0 + 2, false, true);
        return;
    case 0xf0: el_builtin_op(g, EVMJIT_BUILTIN_CREATE, op, 3, true, true); return;
    case 0xf5: el_builtin_op(g, EVMJIT_BUILTIN_CREATE, op, 4, true, true); return;
    case 0xf1: case 0xf2: el_builtin_op(g, EVMJIT_BUILTIN_CALL, op, 7, true, true); return;
    case 0xf4: case 0xfa: el_builtin_op(g, EVMJIT_BUILTIN_CALL, op, 6, true, true); return;
    case 0xf3: case 0xfd:
        el_builtin_op(g, EVMJIT_BUILTIN_RETURN, op, 2, false, true);
        LLVMBuildRet(B, el_c32(g, op == 0xf3 ? EVMJIT_SUCCESS : EVMJIT_REVERT));
        g->terminated = true;
        return;
    case 0xfe:
        LLVMBuildRet(B, el_c32(g, EVMJIT_INVALID_INSTRUCTION));
        g->terminated = true;
        return;
    case 0xff:
        el_builtin_op(g, EVMJIT_BUILTIN_SELFDESTRUCT, op, 1, false, true);
        LLVMBuildRet(B, el_c32(g, EVMJIT_SUCCESS));
        g->terminated = true;
        return;
    default:
        g->failed = true;
        el_err(g->err, g->err_size, "internal: no code generation for opcode 0x%02x", op);
        return;
    }
}

/* ---- the baseline tier ----
   A first tier whose code LLVM compiles about ten times faster: no i256 value appears in
   its IR, so the fast instruction selector takes almost all of it (i256 code goes through
   the much slower SelectionDAG). The virtual stack holds each word as four i64 limbs
   (el_sv.l; el_ensure loads them, el_flush stores them), so PUSH/DUP/SWAP/POP cost nothing
   and constants stay constants. Each instruction:
     - ADD SUB LT GT SLT SGT EQ ISZERO AND OR XOR NOT, and SHL SHR SAR BYTE SIGNEXTEND by a
       constant: inline on the limbs (el_bl_inline); MLOAD/MSTORE/MSTORE8 at a constant
       offset: inline when memory covers the access (el_bl_memory);
     - other word operations and the message reads: its operands go to g->args and it calls
       evmjit_rt_XX(frame, args), the full tier's code for that one instruction, which
       el_rt_gen builds and the LLJIT holds once per process: both tiers share one
       implementation of every operation;
     - the rest: the builtin, as in the full tier.
   Sections, gas, stack checks and jumps are the full tier's; the dispatch of dynamic jumps
   is a table (el_dispatch_table). The program is provisional: the runtime recompiles a
   hot one on the full tier. */

/* The operations that are a runtime function in the baseline tier: they cannot fail and
   touch neither gas nor the host. */
static bool el_rt_op(uint8_t op) {
    return (op >= 0x01 && op <= 0x08) || op == 0x0b || (op >= 0x10 && op <= 0x1e) || op == 0x30 || op == 0x33 ||
           op == 0x34 || op == 0x35;
}

static void el_push64(el_cg *g, LLVMValueRef v) { /* the baseline tier's: high limbs zero */
    LLVMValueRef l[4] = {v, el_c64(g, 0), el_c64(g, 0), el_c64(g, 0)};
    el_push_limbs(g, l);
}

/* x < y (signed: the high limbs compared signed), from the high limb down. */
static LLVMValueRef el_limbs_less(el_cg *g, const LLVMValueRef x[4], const LLVMValueRef y[4], bool is_signed) {
    LLVMBuilderRef B = g->b;
    LLVMValueRef lt = el_ult(g, x[0], y[0]);
    for (int k = 1; k < 4; k++) {
        LLVMValueRef below = k == 3 && is_signed ? LLVMBuildICmp(B, LLVMIntSLT, x[k], y[k], "") : el_ult(g, x[k], y[k]);
        LLVMValueRef same = x[k] == y[k] ? LLVMConstInt(g->i1, 1, 0) : LLVMBuildICmp(B, LLVMIntEQ, x[k], y[k], "");
        lt = el_or(g, below, el_and(g, same, lt));
    }
    return lt;
}
/* Word operations the baseline tier does inline on limbs (the commonest, and the ones whose
   limb code is short); false: not one of them (its operands may be loaded already). */
static bool el_bl_inline(el_cg *g, uint8_t op) {
    LLVMBuilderRef B = g->b;
    LLVMValueRef r[4] = {NULL, NULL, NULL, NULL}, zero = el_c64(g, 0);
    switch (op) {
    case 0x01: case 0x03: case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x16: case 0x17:
    case 0x18: case 0x0b: case 0x1a: case 0x1b: case 0x1c: case 0x1d: break;
    case 0x15: case 0x19: {
        el_sv a = el_pop_limbs(g);
        if (op == 0x19) {
            for (int k = 0; k < 4; k++) r[k] = LLVMBuildNot(B, a.l[k], "");
        } else {
            LLVMValueRef any = el_or(g, el_or(g, a.l[0], a.l[1]), el_or(g, a.l[2], a.l[3]));
            r[0] = el_z64(g, LLVMBuildICmp(B, LLVMIntEQ, any, zero, ""));
            r[1] = r[2] = r[3] = zero;
        }
        el_push_limbs(g, r);
        return true;
    }
    default: return false;
    }
    el_ensure(g, 2);
    if (g->failed) return true;
    const LLVMValueRef *a = g->vs[g->vs_count - 1].l, *b = g->vs[g->vs_count - 2].l;
    if (op == 0x0b || op >= 0x1a) { /* SIGNEXTEND BYTE SHL SHR SAR by a constant only */
        for (int k = 0; k < 4; k++)
            if (!LLVMIsAConstantInt(a[k])) return false;
        uint64_t c = LLVMConstIntGetZExtValue(a[0]);
        if (LLVMConstIntGetZExtValue(a[1]) | LLVMConstIntGetZExtValue(a[2]) | LLVMConstIntGetZExtValue(a[3]))
            c = 256; /* as good as infinite for all five */
        LLVMValueRef sign = NULL;
        if (op == 0x0b) { /* the sign bit of byte c (from the low end) fills the bits above it */
            if (c >= 31) {
                for (int k = 0; k < 4; k++) r[k] = b[k];
            } else {
                int bit = (int)c * 8 + 7, limb = bit / 64, up = 63 - bit % 64;
                LLVMValueRef t = up ? LLVMBuildShl(B, b[limb], el_c64(g, up), "") : b[limb];
                sign = LLVMBuildAShr(B, t, el_c64(g, 63), "");
                for (int k = 0; k < 4; k++)
                    r[k] = k < limb ? b[k] : k > limb ? sign : up ? LLVMBuildAShr(B, t, el_c64(g, up), "") : t;
            }
        } else if (op == 0x1a) { /* BYTE: byte c from the high end */
            r[0] = zero;
            if (c < 32) {
                int bit = (31 - (int)c) * 8;
                LLVMValueRef v = bit % 64 ? LLVMBuildLShr(B, b[bit / 64], el_c64(g, bit % 64), "") : b[bit / 64];
                r[0] = LLVMBuildAnd(B, v, el_c64(g, 255), "");
            }
            r[1] = r[2] = r[3] = zero;
        } else {
            if (op == 0x1d) sign = LLVMBuildAShr(B, b[3], el_c64(g, 63), "");
            LLVMValueRef fill = op == 0x1d ? sign : zero;
            int q = c >= 256 ? 4 : (int)(c / 64), bits = (int)(c % 64);
            for (int k = 0; k < 4; k++) {
                int lo = op == 0x1b ? k - q : k + q;         /* the limb that lands on k */
                int hi = op == 0x1b ? k - q - 1 : k + q + 1; /* its neighbour that fills the rest */
                bool inside = lo >= 0 && lo < 4; /* when outside, so is its neighbour */
                LLVMValueRef v = inside ? b[lo] : fill, w = hi >= 0 && hi < 4 ? b[hi] : fill;
                if (!bits || !inside) {
                    r[k] = v;
                } else if (op == 0x1b) {
                    r[k] = el_or(g, LLVMBuildShl(B, v, el_c64(g, bits), ""), LLVMBuildLShr(B, w, el_c64(g, 64 - bits), ""));
                } else {
                    r[k] = el_or(g, LLVMBuildLShr(B, v, el_c64(g, bits), ""), LLVMBuildShl(B, w, el_c64(g, 64 - bits), ""));
                }
            }
        }
    } else if (op == 0x01 || op == 0x03) { /* ADD/SUB with the carry (borrow) chain */
        LLVMValueRef carry = LLVMConstInt(g->i1, 0, 0);
        for (int k = 0; k < 4; k++) {
            LLVMValueRef t = el_is_int(b[k], 0) ? a[k]
                             : op == 0x01 ? LLVMBuildAdd(B, a[k], b[k], "") : LLVMBuildSub(B, a[k], b[k], "");
            if (op == 0x01 && el_is_int(a[k], 0)) t = b[k];
            LLVMValueRef c64 = el_z64(g, carry);
            r[k] = el_is_int(c64, 0) ? t : op == 0x01 ? LLVMBuildAdd(B, t, c64, "") : LLVMBuildSub(B, t, c64, "");
            if (k < 3) /* carry: a + b wrapped, or adding the carry did; borrow: a < b, or a - b < borrow */
                carry = op == 0x01 ? el_or(g, el_ult(g, t, a[k]), el_ult(g, r[k], t))
                                   : el_or(g, el_ult(g, a[k], b[k]), el_ult(g, t, c64));
        }
    } else if (op >= 0x16) { /* AND/OR/XOR */
        for (int k = 0; k < 4; k++)
            r[k] = op == 0x16 ? el_and(g, a[k], b[k]) : op == 0x17 ? el_or(g, a[k], b[k]) : el_xor(g, a[k], b[k]);
    } else { /* comparisons: LT GT SLT SGT EQ */
        LLVMValueRef bit;
        if (op == 0x14) {
            LLVMValueRef d = el_or(g, el_or(g, el_xor(g, a[0], b[0]), el_xor(g, a[1], b[1])),
                                   el_or(g, el_xor(g, a[2], b[2]), el_xor(g, a[3], b[3])));
            bit = LLVMBuildICmp(B, LLVMIntEQ, d, zero, "");
        } else {
            bool gt = op == 0x11 || op == 0x13;
            bit = el_limbs_less(g, gt ? b : a, gt ? a : b, op >= 0x12);
        }
        r[0] = el_z64(g, bit);
        r[1] = r[2] = r[3] = zero;
    }
    g->vs_count -= 2;
    el_push_limbs(g, r);
    return true;
}

/* MLOAD/MSTORE/MSTORE8 at a constant offset in the baseline tier: inline on limbs when
   memory already covers the access (EVM memory is big-endian: the high limb's bytes come
   first), else the builtin (which grows memory and charges for it). */
static void el_bl_memory(el_cg *g, uint8_t op) {
    int n = op == 0x51 ? 1 : 2;
    el_ensure(g, n);
    el_sv ops[2];
    for (int k = 0; k < n; k++) ops[k] = el_pop_limbs(g);
    if (g->failed) return;
    LLVMBuilderRef B = g->b;
    const LLVMValueRef *off = ops[0].l;
    int64_t width = op == 0x53 ? 1 : 32;
    LLVMValueRef size = el_frame_load(g, g->i64, offsetof(evmjit_frame, memory_size)), inside;
    bool constant_off = true;
    for (int k = 0; k < 4; k++) constant_off = constant_off && LLVMIsAConstantInt(off[k]);
    if (constant_off) { /* the usual case: the end is a constant (2^40: more than gas can buy) */
        uint64_t end = LLVMConstIntGetZExtValue(off[0]) + (uint64_t)width;
        bool small = LLVMConstIntGetZExtValue(off[0]) < (1ull << 40) && !LLVMConstIntGetZExtValue(off[1]) &&
                     !LLVMConstIntGetZExtValue(off[2]) && !LLVMConstIntGetZExtValue(off[3]);
        inside = small ? LLVMBuildICmp(B, LLVMIntUGE, size, el_c64(g, (int64_t)end), "") : LLVMConstInt(g->i1, 0, 0);
    } else {
        LLVMValueRef high = el_or(g, el_or(g, off[1], off[2]), off[3]);
        inside = el_and(g, LLVMBuildICmp(B, LLVMIntEQ, high, el_c64(g, 0), ""),
                        el_and(g, LLVMBuildICmp(B, LLVMIntUGE, size, el_c64(g, width), ""),
                               LLVMBuildICmp(B, LLVMIntULE, off[0], LLVMBuildSub(B, size, el_c64(g, width), ""), "")));
    }
    /* The operands go to args before the branch: the builtin reads them there, and O0 code
       would spill every limb that stayed live into both paths. */
    for (int k = 0; k < n; k++) el_store_limbs(g, g->args, k, ops[k].l);
    LLVMBasicBlockRef fast = el_new_bb(g), slow = el_new_bb(g), join = el_new_bb(g);
    el_br_likely(g, inside, fast, slow);

    /* The byte order is reversed by evmjit_rt_rev32 (or here for a constant): an i64 bswap
       is a call LLVM's fast instruction selector hands to SelectionDAG, which costs as much
       as dozens of simple instructions. MLOAD's result comes back in args[0] on both paths. */
    LLVMPositionBuilderAtEnd(B, fast);
    LLVMValueRef base = LLVMBuildGEP2(B, g->i8, el_frame_load(g, g->ptr, offsetof(evmjit_frame, memory)),
                                      (LLVMValueRef *)&off[0], 1, "");
    bool constant = op == 0x52;
    for (int k = 0; k < 4 && constant; k++) constant = LLVMIsAConstantInt(ops[1].l[k]) != NULL;
    if (op == 0x53) {
        el_store_t(g, LLVMBuildTrunc(B, ops[1].l[0], g->i8, ""), base, 1, EL_T_MEMORY);
    } else if (constant) {
        for (int k = 0; k < 4; k++) {
            LLVMValueRef at = el_c64(g, 8 * (3 - k)), p = LLVMBuildGEP2(B, g->i8, base, &at, 1, "");
            uint64_t v = LLVMConstIntGetZExtValue(ops[1].l[k]), swapped = 0;
            for (int i = 0; i < 8; i++, v >>= 8) swapped = swapped << 8 | (v & 0xff);
            el_store_t(g, el_c64(g, (int64_t)swapped), p, 1, EL_T_MEMORY);
        }
    } else {
        if (!g->rev32) g->rev32 = LLVMAddFunction(g->mod, "evmjit_rt_rev32", g->rt_ty);
        LLVMValueRef args[2] = {op == 0x52 ? base : g->args, op == 0x52 ? el_word_at(g, g->args, 1) : base};
        LLVMBuildCall2(B, g->rt_ty, g->rev32, args, 2, "");
    }
    LLVMBuildBr(B, join);

    LLVMPositionBuilderAtEnd(B, slow);
    el_builtin_call(g, el_memory_builtin(op), op, g->args, true);
    LLVMBuildBr(B, join);

    LLVMPositionBuilderAtEnd(B, join);
    if (op != 0x51) return;
    LLVMValueRef result[4];
    el_limbs_at(g, g->args, 0, result);
    el_push_limbs(g, result);
}

static void el_bl_inst(el_cg *g, const el_block *blk, const el_inst *in) {
    uint8_t op = in->op;
    if ((op >= 0x60 && op <= 0x7f) || op == 0x5f || op == 0x58 || op == 0x38) { /* constants */
        evmjit_word w = {{0, 0, 0, 0}};
        if (op >= 0x60) w = g->a->imms[in->imm];
        else if (op == 0x58) w.w[0] = in->pc;
        else if (op == 0x38) w.w[0] = g->a->code_size;
        LLVMValueRef l[4];
        for (int k = 0; k < 4; k++) l[k] = el_c64(g, (int64_t)w.w[k]);
        el_push_limbs(g, l);
        return;
    }
    if ((op >= 0x80 && op <= 0x9f) || op == 0x50) { /* DUP, SWAP, POP: the virtual stack's */
        el_inst_gen(g, blk, in);
        return;
    }
    if (el_bl_inline(g, op)) return;
    evmjit_builtin_id id = EVMJIT_BUILTIN_COUNT; /* none: a runtime function */
    bool sync = true;
    switch (op) {
    case 0x00: case 0x56: case 0x57: case 0x5b: case 0xfe: el_inst_gen(g, blk, in); return; /* no word */
    case 0x36:
        el_push64(g, el_tbaa(g, el_load(g, g->i64, el_field(g, g->msg, offsetof(evmjit_message, input_size)), 8), EL_T_MSG));
        return;
    case 0x3d: el_push64(g, el_frame_load(g, g->i64, offsetof(evmjit_frame, return_data_size))); return;
    case 0x59: el_push64(g, el_frame_load(g, g->i64, offsetof(evmjit_frame, memory_size))); return;
    case 0x5a: el_push64(g, LLVMBuildLoad2(g->b, g->i64, g->gas_var, "")); return;
    case 0x09: id = EVMJIT_BUILTIN_MULMOD; sync = false; break;
    case 0x0a: id = EVMJIT_BUILTIN_EXP; break;
    case 0x20: id = EVMJIT_BUILTIN_KECCAK256; break;
    case 0x31: id = EVMJIT_BUILTIN_BALANCE; break;
    case 0x37: id = EVMJIT_BUILTIN_CALLDATACOPY; break;
    case 0x39: id = EVMJIT_BUILTIN_CODECOPY; break;
    case 0x3b: id = EVMJIT_BUILTIN_EXTCODESIZE; break;
    case 0x3c: id = EVMJIT_BUILTIN_EXTCODECOPY; break;
    case 0x3e: id = EVMJIT_BUILTIN_RETURNDATACOPY; break;
    case 0x3f: id = EVMJIT_BUILTIN_EXTCODEHASH; break;
    case 0x40: id = EVMJIT_BUILTIN_BLOCKHASH; break;
    case 0x32: case 0x3a: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x48: case 0x49:
    case 0x4a:
        id = EVMJIT_BUILTIN_TX_GETTER;
        break;
    case 0x47: id = EVMJIT_BUILTIN_SELFBALANCE; break;
    case 0x51: case 0x52: case 0x53:
        /* a constant offset (a Solidity free-memory pointer, a Huff slot) inline; others
           through the builtin: the fast path's extra blocks cost compile time (weth +25%
           for all accesses, +10% for these) */
        el_ensure(g, 1);
        if (!g->failed && LLVMIsAConstantInt(g->vs[g->vs_count - 1].l[0])) {
            el_bl_memory(g, op);
            return;
        }
        id = el_memory_builtin(op);
        break;
    case 0x54: id = EVMJIT_BUILTIN_SLOAD; break;
    case 0x55: id = EVMJIT_BUILTIN_SSTORE; break;
    case 0x5c: id = EVMJIT_BUILTIN_TLOAD; break;
    case 0x5d: id = EVMJIT_BUILTIN_TSTORE; break;
    case 0x5e: id = EVMJIT_BUILTIN_MCOPY; break;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4: id = EVMJIT_BUILTIN_LOG; break;
    case 0xf0: case 0xf5: id = EVMJIT_BUILTIN_CREATE; break;
    case 0xf1: case 0xf2: case 0xf4: case 0xfa: id = EVMJIT_BUILTIN_CALL; break;
    case 0xf3: case 0xfd: id = EVMJIT_BUILTIN_RETURN; break;
    case 0xff: id = EVMJIT_BUILTIN_SELFDESTRUCT; break;
    default:
        if (!el_rt_op(op)) {
            g->failed = true;
            el_err(g->err, g->err_size, "internal: no baseline code for opcode 0x%02x", op);
            return;
        }
    }
    /* the operands go to g->args (args[0] the top), the result comes back from
       args[inputs - 1] (args[0] without inputs) */
    int n = in->inputs;
    el_ensure(g, n);
    for (int k = 0; k < n && !g->failed; k++) el_store_limbs(g, g->args, k, el_pop_limbs(g).l);
    if (g->failed) return;
    if (id == EVMJIT_BUILTIN_COUNT) {
        if (!g->rt[op]) {
            char name[16];
            snprintf(name, sizeof name, "evmjit_rt_%02x", op);
            g->rt[op] = LLVMAddFunction(g->mod, name, g->rt_ty);
        }
        LLVMValueRef args[2] = {g->frame, g->args};
        LLVMBuildCall2(g->b, g->rt_ty, g->rt[op], args, 2, "");
    } else {
        el_builtin_call(g, id, op >= 0xa0 && op <= 0xa4 ? op - 0xa0 : op, g->args, sync);
    }
    if (n + in->growth == 1) { /* it yields a word */
        LLVMValueRef l[4];
        el_limbs_at(g, g->args, n ? n - 1 : 0, l);
        el_push_limbs(g, l);
    }
    if (op == 0xf3 || op == 0xfd || op == 0xff) {
        LLVMBuildRet(g->b, el_c32(g, op == 0xfd ? EVMJIT_REVERT : EVMJIT_SUCCESS));
        g->terminated = true;
    }
}

/* The baseline tier starts a new LLVM basic block every EL_BL_BLOCK_INSTS instructions of a
   section: LLVM's O0 code generator is superlinear in the length of a basic block (24 KiB of
   PUSH1 5 MUL, one section of 8,000 runtime calls: 3.0 G instructions of compilation in one
   block, 2.0 G split), and the register spills at each split cost little at this length. */
#ifndef EL_BL_BLOCK_INSTS
#define EL_BL_BLOCK_INSTS 32
#endif
static void el_block_gen(el_cg *g, const el_block *blk) {
    const el_inst *insts = g->a->insts;
    LLVMPositionBuilderAtEnd(g->b, blk->bb);
    /* a statically known entry depth makes every stack check of the block a constant */
    g->base = blk->depth >= 0 ? el_c64(g, blk->depth) : LLVMBuildLoad2(g->b, g->i64, g->len_var, "");
    LLVMValueRef neg = LLVMBuildNeg(g->b, g->base, "");
    g->entry_top = LLVMBuildGEP2(g->b, g->i256, g->stack_end, &neg, 1, "");
    g->vs_count = 0;
    g->popped = 0;
    g->known_min = blk->depth >= 0 ? blk->depth : 0;
    g->known_max = blk->depth >= 0 ? blk->depth : EVMJIT_STACK_LIMIT;
    g->terminated = false;
    uint32_t i = blk->first;
    while (i < blk->end && !g->failed) {
        if (!insts[i].defined) {
            LLVMBuildRet(g->b, el_c32(g, EVMJIT_UNDEFINED_INSTRUCTION));
            g->terminated = true;
            return;
        }
        /* A section runs to the first instruction that ends one. After a memory access
           (whose growth may fail with OUT_OF_GAS) it only takes instructions whose stack
           needs the part before the access already checked: then any stack failure comes
           before the access, in the interpreter's order, and only gas can fail after it. */
        uint32_t e = i;
        int d = g->vs_count - g->popped, env_need = INT_MIN, env_lim = INT_MAX;
        bool after_mem = false;
        while (e < blk->end) {
            const el_inst *in = &insts[e];
            if (!in->defined) break;
            int nk = in->inputs - d, lk = in->growth > 0 ? EVMJIT_STACK_LIMIT - in->growth - d : INT_MAX;
            if (after_mem && (nk > env_need || lk < env_lim)) break;
            if (nk > env_need) env_need = nk;
            if (lk < env_lim) env_lim = lk;
            d += in->growth;
            e++;
            if (in->op >= 0x51 && in->op <= 0x53) after_mem = true;
            if (el_ends_section(in->op) || el_is_terminator(in->op) || in->op == 0x57) break;
        }
        el_section(g, i, e);
        g->gas_ahead = 0;
        for (uint32_t k = i; k < e; k++) g->gas_ahead += insts[k].gas;
        for (uint32_t run = 0; i < e && !g->failed; i++, run++) {
            g->gas_ahead -= insts[i].gas; /* static gas charged early for the rest of the section */
            if (g->baseline) {
                if (run && run % EL_BL_BLOCK_INSTS == 0) {
                    LLVMBasicBlockRef next = el_new_bb(g);
                    LLVMBuildBr(g->b, next);
                    LLVMPositionBuilderAtEnd(g->b, next);
                }
                el_bl_inst(g, blk, &insts[i]);
            } else {
                el_inst_gen(g, blk, &insts[i]);
            }
        }
        if (g->terminated) return;
    }
    if (g->failed || g->terminated) return;
    el_flush(g);
    el_goto(g, blk->fall);
}

static LLVMValueRef el_intrinsic(el_cg *g, const char *name, LLVMTypeRef *tys, unsigned n, LLVMTypeRef *fty) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    *fty = LLVMIntrinsicGetType(g->ctx, id, tys, n);
    return LLVMGetIntrinsicDeclaration(g->mod, id, tys, n);
}

/* The baseline tier's dispatch (the full tier's is a switch, which LLVM's optimising code
   generator turns into a jump table, but its O0 one into a chain of compares): a constant
   table of 16-bit slots, one per code byte (0: not a JUMPDEST function, else its number + 1);
   a pc that is no case continues at `other` (the JUMPDEST runs, then a bad jump). The caller
   guarantees pc < code size. The case tail calls its function through the driver's table
   (one call site), the state (stack length, gas) unchanged. */
static void el_dispatch_table(el_cg *g, LLVMValueRef pc, LLVMBasicBlockRef other) {
    const el_analysis *a = g->a;
    uint16_t *slot = (uint16_t *)calloc(a->code_size ? a->code_size : 1, sizeof *slot);
    if (!slot) {
        g->failed = true;
        el_err(g->err, g->err_size, "out of memory in code generation");
        return;
    }
    for (uint32_t bi = 0; bi < a->n_blocks && !g->failed; bi++) {
        if (!a->blocks[bi].jumpdest || !a->blocks[bi].reachable || !g->fns[bi]) continue;
        if (g->fn_num[bi] >= 65535) { /* the target budget keeps functions far fewer */
            g->failed = true;
            el_err(g->err, g->err_size, "internal: over 65,534 functions for the dispatch table");
        }
        slot[a->insts[a->blocks[bi].first].pc] = (uint16_t)(g->fn_num[bi] + 1);
    }
    LLVMValueRef slots = el_const_table(
        g, "dispatch_slots", LLVMConstStringInContext(g->ctx, (const char *)slot, (unsigned)(2 * a->code_size), 1));
    free(slot);
    LLVMValueRef sp = LLVMBuildGEP2(g->b, LLVMInt16TypeInContext(g->ctx), slots, &pc, 1, "");
    LLVMValueRef k = LLVMBuildZExt(g->b, el_load(g, LLVMInt16TypeInContext(g->ctx), sp, 2), g->i32, "");
    LLVMBasicBlockRef go = el_new_bb(g);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntNE, k, el_c32(g, 0), ""), go, other);
    LLVMPositionBuilderAtEnd(g->b, go);
    LLVMValueRef idx = LLVMBuildZExt(g->b, LLVMBuildSub(g->b, k, el_c32(g, 1), ""), g->i64, "");
    LLVMValueRef args[2] = {g->frame, g->state};
    el_ret_tail_call(g, el_load(g, g->ptr, LLVMBuildGEP2(g->b, g->ptr, g->fn_table, &idx, 1, ""), 8), args);
}

/* The baseline tier's exported function: the driver. It holds the state {stack length, gas,
   pc} and calls function after function (number r - EL_NEXT_FN) until one returns a status. */
static void el_bl_driver(el_cg *g, int32_t n_fns) {
    LLVMContextRef C = g->ctx;
    LLVMValueRef *fns = (LLVMValueRef *)calloc((size_t)n_fns + 1, sizeof *fns);
    if (!fns) {
        g->failed = true;
        el_err(g->err, g->err_size, "out of memory in code generation");
        return;
    }
    const el_analysis *a = g->a;
    for (uint32_t bi = 0; bi < a->n_blocks; bi++)
        if (g->fns[bi]) fns[g->fn_num[bi]] = g->fns[bi];
    if (g->dispatch) fns[g->dispatch_num] = g->dispatch;
    LLVMValueRef table = g->fn_table = el_const_table(g, "evmjit_fns", LLVMConstArray2(g->ptr, fns, (uint64_t)n_fns));
    free(fns);

    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, g->fn, ""), loop = LLVMAppendBasicBlockInContext(C, g->fn, ""),
                      next = LLVMAppendBasicBlockInContext(C, g->fn, ""), done = LLVMAppendBasicBlockInContext(C, g->fn, "");
    LLVMPositionBuilderAtEnd(g->b, entry);
    g->state = LLVMBuildAlloca(g->b, LLVMArrayType2(g->i64, 3), "state");
    LLVMBuildStore(g->b, el_c64(g, 0), el_state_field(g, 0));
    LLVMBuildStore(g->b, el_frame_load(g, g->i64, offsetof(evmjit_frame, gas)), el_state_field(g, 1));
    LLVMValueRef args[2] = {g->frame, g->state};
    LLVMValueRef r0 = LLVMBuildCall2(g->b, g->block_ty, g->fns[0], args, 2, "");
    LLVMBuildBr(g->b, loop);
    LLVMPositionBuilderAtEnd(g->b, loop);
    LLVMValueRef r = LLVMBuildPhi(g->b, g->i32, "");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSGE, r, el_c32(g, EL_NEXT_FN), ""), next, done);
    LLVMPositionBuilderAtEnd(g->b, next);
    LLVMValueRef idx = LLVMBuildZExt(g->b, LLVMBuildSub(g->b, r, el_c32(g, EL_NEXT_FN), ""), g->i64, "");
    LLVMValueRef fn = el_load(g, g->ptr, LLVMBuildGEP2(g->b, g->ptr, table, &idx, 1, ""), 8);
    LLVMValueRef r1 = LLVMBuildCall2(g->b, g->block_ty, fn, args, 2, "");
    LLVMBuildBr(g->b, loop);
    LLVMValueRef inc[2] = {r0, r1};
    LLVMBasicBlockRef from[2] = {entry, next};
    LLVMAddIncoming(r, inc, from, 2);
    LLVMPositionBuilderAtEnd(g->b, done);
    LLVMBuildRet(g->b, r);
}

/* Types, intrinsics and metadata every module uses. */
static void el_cg_init(el_cg *g) {
    LLVMContextRef C = g->ctx;
    g->i1 = LLVMInt1TypeInContext(C);
    g->i8 = LLVMInt8TypeInContext(C);
    g->i32 = LLVMInt32TypeInContext(C);
    g->i64 = LLVMInt64TypeInContext(C);
    g->i160 = LLVMIntTypeInContext(C, 160);
    g->i256 = LLVMIntTypeInContext(C, 256);
    g->ptr = LLVMPointerTypeInContext(C, 0);
    g->fn_ty = LLVMFunctionType(g->i32, &g->ptr, 1, 0);
    LLVMTypeRef bparams[3] = {g->ptr, g->ptr, g->i32};
    g->builtin_ty = LLVMFunctionType(g->i32, bparams, 3, 0);
    LLVMTypeRef rparams[2] = {g->ptr, g->ptr};
    g->rt_ty = LLVMFunctionType(LLVMVoidTypeInContext(C), rparams, 2, 0);
    g->bswap256 = el_intrinsic(g, "llvm.bswap", &g->i256, 1, &g->bswap256_ty);
    g->bswap160 = el_intrinsic(g, "llvm.bswap", &g->i160, 1, &g->bswap160_ty);
    g->ctlz256 = el_intrinsic(g, "llvm.ctlz", &g->i256, 1, &g->ctlz256_ty);
    LLVMTypeRef mc[3] = {g->ptr, g->ptr, g->i64};
    g->memcpy_fn = el_intrinsic(g, "llvm.memcpy", mc, 3, &g->memcpy_ty);
    LLVMTypeRef ms[2] = {g->ptr, g->i64};
    g->memset_fn = el_intrinsic(g, "llvm.memset", ms, 2, &g->memset_ty);
    g->prof_kind = LLVMGetMDKindIDInContext(C, "prof", 4);
    el_tbaa_init(g);
    LLVMMetadataRef w[3] = {LLVMMDStringInContext2(C, "branch_weights", 14),
                            LLVMValueAsMetadata(LLVMConstInt(g->i32, 2000, 0)),
                            LLVMValueAsMetadata(LLVMConstInt(g->i32, 1, 0))};
    g->weights_likely = LLVMMetadataAsValue(C, LLVMMDNodeInContext2(C, w, 3));
}

/* Builds the module's one function `symbol`. */
static evmjit_error el_gen(el_cg *g, const char *symbol) {
    LLVMContextRef C = g->ctx;
    el_cg_init(g);
    g->fn = LLVMAddFunction(g->mod, symbol, g->fn_ty);
    LLVMAddAttributeAtIndex(g->fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(C, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    g->frame = LLVMGetParam(g->fn, 0);

    /* the cold classifier of failed section checks (its body comes last) */
    LLVMTypeRef cparams[3] = {g->i64, g->i64, g->i32};
    g->classify_ty = LLVMFunctionType(g->i32, cparams, 3, 0);
    g->classify = LLVMAddFunction(g->mod, "evmjit_classify", g->classify_ty);
    LLVMSetLinkage(g->classify, LLVMInternalLinkage);
    static const char *const cold_attrs[] = {"nounwind", "cold", "noinline"};
    for (int i = 0; i < 3; i++)
        LLVMAddAttributeAtIndex(g->classify, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(C, LLVMGetEnumAttributeKindForName(cold_attrs[i], strlen(cold_attrs[i])), 0));

    /* One LLVM function per superblock: a JUMPDEST block (or the code's start) and the JUMPI
       fall-through blocks after it. Every jump lands on a JUMPDEST, so every edge between
       superblocks is a guaranteed tail call. Small functions keep LLVM's register allocation
       and scheduling linear in the code size; a loop back to its own superblock stays a
       branch. */
    const el_analysis *a = g->a;
    el_block *blocks = (el_block *)a->blocks; /* func and bb fields are ours to fill */
    g->fns = (LLVMValueRef *)calloc(a->n_blocks + 1, sizeof *g->fns);
    g->fn_num = (int32_t *)calloc(a->n_blocks + 1, sizeof *g->fn_num);
    if (!g->fns || !g->fn_num) {
        free(g->fns);
        free(g->fn_num);
        el_err(g->err, g->err_size, "out of memory in code generation");
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    LLVMTypeRef bt[4] = {g->ptr, g->i64, g->i64, g->i64}, bl_bt[2] = {g->ptr, g->ptr};
    g->block_ty = g->baseline ? LLVMFunctionType(g->i32, bl_bt, 2, 0) : LLVMFunctionType(g->i32, bt, 4, 0);
    LLVMAttributeRef nounwind = LLVMCreateEnumAttribute(C, LLVMGetEnumAttributeKindForName("nounwind", 8), 0);
    int32_t head = -1, n_fns = 0;
    for (uint32_t bi = 0; bi < a->n_blocks; bi++) {
        if (!blocks[bi].reachable) continue;
        if (bi == 0 || blocks[bi].jumpdest) {
            head = (int32_t)bi;
            char name[32];
            snprintf(name, sizeof name, "b%u", a->insts[blocks[bi].first].pc);
            g->fns[bi] = LLVMAddFunction(g->mod, blocks[bi].first < blocks[bi].end ? name : "b_end", g->block_ty);
            LLVMSetLinkage(g->fns[bi], LLVMInternalLinkage);
            LLVMAddAttributeAtIndex(g->fns[bi], LLVMAttributeFunctionIndex, nounwind);
            g->fn_num[bi] = n_fns++;
        }
        blocks[bi].func = head;
    }
    if (a->has_dynamic) {
        g->dispatch = LLVMAddFunction(g->mod, "dispatch", g->block_ty);
        LLVMSetLinkage(g->dispatch, LLVMInternalLinkage);
        LLVMAddAttributeAtIndex(g->dispatch, LLVMAttributeFunctionIndex, nounwind);
        g->dispatch_num = n_fns++;
    }

    /* the exported entry: gas from the frame, stack empty */
    if (g->baseline) {
        el_bl_driver(g, n_fns);
    } else {
        LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(C, g->fn, ""));
        LLVMValueRef entry_args[4] = {g->frame, el_c64(g, 0), el_frame_load(g, g->i64, offsetof(evmjit_frame, gas)),
                                      el_c64(g, 0)};
        LLVMValueRef first = LLVMBuildCall2(g->b, g->block_ty, g->fns[0], entry_args, 4, "");
        LLVMSetTailCall(first, 1);
        LLVMBuildRet(g->b, first);
    }

    /* dynamic jumps: one switch over every JUMPDEST, each case a tail call */
    if (a->has_dynamic && !g->failed) {
        g->fn = g->dispatch;
        g->frame = LLVMGetParam(g->fn, 0);
        LLVMBasicBlockRef sw_bb = el_new_bb(g), bad = el_new_bb(g), runs_bb = a->n_runs ? el_new_bb(g) : bad;
        LLVMPositionBuilderAtEnd(g->b, sw_bb);
        LLVMValueRef pc, gas;
        if (g->baseline) {
            g->state = LLVMGetParam(g->fn, 1);
            pc = el_load(g, g->i64, el_state_field(g, 2), 8);
            gas = el_load(g, g->i64, el_state_field(g, 1), 8);
        } else {
            pc = LLVMGetParam(g->fn, 3);
            gas = LLVMGetParam(g->fn, 2);
        }
        LLVMPositionBuilderAtEnd(g->b, bad);
        LLVMBuildRet(g->b, el_c32(g, EVMJIT_BAD_JUMP_DESTINATION));
        /* not a case: one range check per JUMPDEST run (pc - first <u last - first), which
           charges the JUMPDESTs skipped and enters the run's last one */
        LLVMBasicBlockRef check = runs_bb, oog = NULL;
        for (uint32_t r = 0; r < a->n_runs && !g->failed; r++) {
            const el_jdrun *run = &a->runs[r];
            LLVMValueRef target_fn = g->fns[run->last_block];
            if (!target_fn) {
                g->failed = true;
                el_err(g->err, g->err_size, "internal: a JUMPDEST run ends in no function");
                break;
            }
            if (!oog) {
                oog = el_new_bb(g);
                LLVMPositionBuilderAtEnd(g->b, oog);
                LLVMBuildRet(g->b, el_c32(g, EVMJIT_OUT_OF_GAS));
            }
            LLVMBasicBlockRef in = el_new_bb(g), go = el_new_bb(g), next = r + 1 < a->n_runs ? el_new_bb(g) : bad;
            LLVMPositionBuilderAtEnd(g->b, check);
            LLVMValueRef off = LLVMBuildSub(g->b, pc, el_c64(g, run->first_pc), "");
            LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntULT, off, el_c64(g, run->last_pc - run->first_pc), ""),
                            in, next);
            LLVMPositionBuilderAtEnd(g->b, in);
            LLVMValueRef left = LLVMBuildSub(g->b, gas, LLVMBuildSub(g->b, el_c64(g, run->last_pc), pc, ""), "");
            LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSGE, left, el_c64(g, 0), ""), go, oog);
            LLVMPositionBuilderAtEnd(g->b, go);
            if (g->baseline) {
                LLVMBuildStore(g->b, left, el_state_field(g, 1));
                LLVMBuildRet(g->b, el_c32(g, EL_NEXT_FN + g->fn_num[run->last_block]));
            } else {
                LLVMValueRef args[4] = {g->frame, LLVMGetParam(g->fn, 1), left, el_c64(g, 0)};
                el_ret_tail_call(g, target_fn, args);
            }
            check = next;
        }
        LLVMPositionBuilderAtEnd(g->b, sw_bb);
        if (g->baseline) { /* O0 code generation lowers a switch to a chain of compares */
            el_dispatch_table(g, pc, runs_bb);
        } else {
        LLVMValueRef sw = LLVMBuildSwitch(g->b, LLVMBuildTrunc(g->b, pc, g->i32, ""), runs_bb, a->reach_jumpdests);
        for (uint32_t bi = 0; bi < a->n_blocks; bi++)
            if (blocks[bi].jumpdest && blocks[bi].reachable && g->fns[bi]) {
                LLVMBasicBlockRef cs = el_new_bb(g);
                LLVMAddCase(sw, LLVMConstInt(g->i32, a->insts[blocks[bi].first].pc, 0), cs);
                LLVMPositionBuilderAtEnd(g->b, cs);
                LLVMValueRef args[4] = {g->frame, LLVMGetParam(g->fn, 1), LLVMGetParam(g->fn, 2), el_c64(g, 0)};
                el_ret_tail_call(g, g->fns[bi], args);
                LLVMPositionBuilderAtEnd(g->b, sw_bb);
            }
        }
    }

    /* the superblock functions */
    for (uint32_t bi = 0; bi < a->n_blocks && !g->failed; bi++) {
        if (!blocks[bi].reachable || !g->fns[bi]) continue;
        g->fn = g->fns[bi];
        g->cur_head = (int32_t)bi;
        g->frame = LLVMGetParam(g->fn, 0);
        g->oog_bb = g->badjump_bb = g->cold_bb = NULL;
        LLVMBasicBlockRef entry = el_new_bb(g);
        LLVMPositionBuilderAtEnd(g->b, entry);
        g->len_var = LLVMBuildAlloca(g->b, g->i64, "len");
        g->gas_var = LLVMBuildAlloca(g->b, g->i64, "gas");
        /* 8-byte alignment is all evmjit_word needs; more would realign every frame */
        g->args = LLVMBuildArrayAlloca(g->b, g->i256, el_c64(g, 8), "args");
        LLVMSetAlignment(g->args, 8);
        g->cbuf = LLVMBuildAlloca(g->b, LLVMArrayType2(g->i8, 32), "cbuf");
        LLVMSetAlignment(g->cbuf, 8);
        LLVMValueRef stack = el_frame_load(g, g->ptr, offsetof(evmjit_frame, stack));
        g->stack_end = el_word_at(g, stack, EVMJIT_STACK_LIMIT);
        g->msg = el_frame_load(g, g->ptr, offsetof(evmjit_frame, msg));
        g->builtins = el_frame_load(g, g->ptr, offsetof(evmjit_frame, builtins));
        /* a statically known entry depth replaces the parameter: stack checks fold away */
        LLVMValueRef len_in, gas_in;
        if (g->baseline) {
            g->state = LLVMGetParam(g->fn, 1);
            len_in = blocks[bi].depth >= 0 ? NULL : el_load(g, g->i64, el_state_field(g, 0), 8);
            gas_in = el_load(g, g->i64, el_state_field(g, 1), 8);
        } else {
            len_in = LLVMGetParam(g->fn, 1);
            gas_in = LLVMGetParam(g->fn, 2);
        }
        LLVMBuildStore(g->b, blocks[bi].depth >= 0 ? el_c64(g, blocks[bi].depth) : len_in, g->len_var);
        LLVMBuildStore(g->b, gas_in, g->gas_var);
        uint32_t last = bi;
        for (uint32_t k = bi; k < a->n_blocks; k++) {
            if (k > bi && blocks[k].reachable && g->fns[k]) break;
            if (blocks[k].reachable && blocks[k].func == (int32_t)bi) {
                blocks[k].bb = el_new_bb(g);
                last = k;
            }
        }
        LLVMBuildBr(g->b, blocks[bi].bb);
        for (uint32_t k = bi; k <= last && !g->failed; k++)
            if (blocks[k].reachable && blocks[k].func == (int32_t)bi) el_block_gen(g, &blocks[k]);
    }
    free(g->fns);
    free(g->fn_num);
    g->fns = NULL;
    g->fn_num = NULL;
    if (!g->failed) {
        if (g->n_events) el_classifier(g);
        else LLVMDeleteFunction(g->classify);
    }
    free(g->vs);
    free(g->events);
    g->vs = NULL;
    g->events = NULL;
    return g->failed ? EVMJIT_ERR_COMPILE_FAILED : EVMJIT_OK;
}

/* The pass pipelines by level (see el_compile_object). One instcombine run, not iterated to a
   fixpoint (LLVM 18+ aborts when asked to verify). */
#if LLVM_VERSION_MAJOR >= 18
#define EL_IC "instcombine<no-verify-fixpoint>"
#else
#define EL_IC "instcombine"
#endif
static const char *const el_pipelines[4] = {
    "function(mem2reg)",
    "function(sroa,early-cse," EL_IC ",simplifycfg)",
    "function(sroa,early-cse<memssa>,simplifycfg," EL_IC ",correlated-propagation,gvn,dse,adce,"
    "simplifycfg," EL_IC ")",
    /* not default<O2>: its inliner would merge the superblock functions back */
    "function(sroa,early-cse<memssa>,simplifycfg," EL_IC ",correlated-propagation,gvn,dse,adce,"
    "simplifycfg," EL_IC ")"};

/* The baseline tier's runtime (see el_bl_inst): `void evmjit_rt_XX(ptr frame, ptr top)` for
   every el_rt_op XX, each el_inst_gen's code for that one instruction on a virtual stack over
   `top` (its operands from top[0], its result to top[inputs - 1]). */
static evmjit_error el_rt_gen(el_cg *g) {
    el_cg_init(g);
    LLVMAttributeRef nounwind = LLVMCreateEnumAttribute(g->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0);
    for (int op = 0; op < 256 && !g->failed; op++) {
        if (!el_rt_op((uint8_t)op)) continue;
        char name[16];
        snprintf(name, sizeof name, "evmjit_rt_%02x", op);
        g->fn = LLVMAddFunction(g->mod, name, g->rt_ty);
        LLVMAddAttributeAtIndex(g->fn, LLVMAttributeFunctionIndex, nounwind);
        g->frame = LLVMGetParam(g->fn, 0);
        LLVMPositionBuilderAtEnd(g->b, el_new_bb(g));
        /* the builtins' convention: the result at top[inputs - 1], or top[0] without inputs */
        g->entry_top = LLVMGetParam(g->fn, 1);
        if (op == 0x30 || op == 0x33 || op == 0x34) g->entry_top = el_word_at(g, g->entry_top, 1);
        g->args = LLVMBuildArrayAlloca(g->b, g->i256, el_c64(g, 8), "args");
        LLVMSetAlignment(g->args, 8);
        g->cbuf = LLVMBuildAlloca(g->b, LLVMArrayType2(g->i8, 32), "cbuf");
        LLVMSetAlignment(g->cbuf, 8);
        g->msg = el_frame_load(g, g->ptr, offsetof(evmjit_frame, msg));
        g->builtins = el_frame_load(g, g->ptr, offsetof(evmjit_frame, builtins));
        g->oog_bb = g->badjump_bb = g->cold_bb = NULL;
        g->vs_count = g->popped = 0;
        g->gas_ahead = 0;
        el_inst in;
        memset(&in, 0, sizeof in);
        in.op = (uint8_t)op;
        in.defined = 1;
        el_inst_gen(g, NULL, &in);
        el_write_back(g);
        LLVMBuildRetVoid(g->b);
    }
    /* void evmjit_rt_rev32(ptr dst, ptr src): 32 bytes in reverse order, the conversion
       between EVM memory (big-endian) and four little-endian limbs (el_bl_memory) */
    if (!g->failed) {
        LLVMValueRef f = LLVMAddFunction(g->mod, "evmjit_rt_rev32", g->rt_ty);
        LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, nounwind);
        LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(g->ctx, f, ""));
        LLVMValueRef w = el_bswap(g, el_load(g, g->i256, LLVMGetParam(f, 1), 1));
        el_store(g, w, LLVMGetParam(f, 0), 1);
        LLVMBuildRetVoid(g->b);
    }
    free(g->vs);
    g->vs = NULL;
    return g->failed ? EVMJIT_ERR_COMPILE_FAILED : EVMJIT_OK;
}

/* ============================================================================================
   3. The compiler object (one per worker) and the shared JIT
   ========================================================================================== */

typedef struct el_compiler {
    int opt_level;
    LLVMTargetMachineRef tm;
    LLVMTargetMachineRef tm_fast; /* CodeGenLevelNone, for inputs over the "big" thresholds */
    char *triple, *cpu, *features; /* LLVM-allocated: LLVMDisposeMessage */
    char *layout;                  /* data layout string: LLVMDisposeMessage */
    LLVMPassBuilderOptionsRef pbo;
    bool jit_ref; /* holds a reference to the shared LLJIT */
} el_compiler;

typedef struct el_program {
    LLVMOrcResourceTrackerRef rt;
    size_t code_bytes;
    evmjit_fn fn;
} el_program;

static once_flag el_once = ONCE_FLAG_INIT;
static mtx_t el_lock; /* guards el_jit and el_jit_refs */
static LLVMOrcLLJITRef el_jit;
static long el_jit_refs; /* compilers + live programs */
static atomic_ulong el_seq; /* unique JIT symbol names */
static bool el_init_ok;

static void el_global_init(void) {
    el_init_ok = mtx_init(&el_lock, mtx_plain) == thrd_success;
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter()) el_init_ok = false;
    /* debugging aid: EVMJIT_LLVM_OPTIONS="-time-passes ..." goes to LLVM's option parser */
    const char *opts = getenv("EVMJIT_LLVM_OPTIONS");
    if (opts && *opts) {
        static char buf[1024];
        const char *argv[33] = {"evmjit"};
        int argc = 1;
        snprintf(buf, sizeof buf, "%s", opts);
        for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && argc < 32; tok = strtok_r(NULL, " ", &save))
            argv[argc++] = tok;
        LLVMParseCommandLineOptions(argc, argv, "evmjit");
    }
}

/* A code generator over a new context and module for c's target (its builder and the two
   are the caller's to dispose of). */
static void el_cg_open(el_cg *g, const el_compiler *c, const char *module_name, char *err, size_t n) {
    memset(g, 0, sizeof *g);
    g->ctx = LLVMContextCreate();
    g->mod = LLVMModuleCreateWithNameInContext(module_name, g->ctx);
    LLVMSetTarget(g->mod, c->triple);
    LLVMSetDataLayout(g->mod, c->layout);
    g->b = LLVMCreateBuilderInContext(g->ctx);
    g->err = err;
    g->err_size = n;
}

/* Compiles the baseline tier's runtime (el_rt_gen) into an object for c's target, on the
   full path (once per process, a few tens of milliseconds). */
static bool el_rt_object(const el_compiler *c, LLVMMemoryBufferRef *obj, char *err, size_t n) {
    *obj = NULL;
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(c->triple, &target, &msg)) {
        el_err(err, n, "no LLVM target for %s: %s", c->triple, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return false;
    }
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, c->triple, c->cpu, c->features, LLVMCodeGenLevelDefault,
                                                      LLVMRelocPIC, LLVMCodeModelSmall);
    if (!tm) {
        el_err(err, n, "cannot create a target machine for %s/%s", c->triple, c->cpu);
        return false;
    }
    el_cg g;
    el_cg_open(&g, c, "evmjit_rt", err, n);
    LLVMContextRef ctx = g.ctx;
    LLVMModuleRef mod = g.mod;
    bool ok = el_rt_gen(&g) == EVMJIT_OK;
    LLVMDisposeBuilder(g.b);
    if (ok) {
        LLVMErrorRef e = LLVMRunPasses(mod, el_pipelines[2], tm, c->pbo);
        if (e) {
            el_take_error(e, "optimisation of the baseline runtime", err, n);
            ok = false;
        }
    }
    if (ok && LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, obj)) {
        el_err(err, n, "code generation of the baseline runtime: %s", msg ? msg : "?");
        *obj = NULL;
        ok = false;
    }
    LLVMDisposeMessage(msg);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    return ok;
}

/* Takes a reference to the process-wide LLJIT, creating it on first use with the baseline
   runtime (el_rt_object, for c's target) in its main JITDylib, where every baseline
   program's calls to evmjit_rt_XX resolve. */
static bool el_jit_acquire(const el_compiler *c, char *err, size_t n) {
    bool ok = true;
    mtx_lock(&el_lock);
    if (!el_jit) {
        LLVMErrorRef e = LLVMOrcCreateLLJIT(&el_jit, NULL);
        if (e) {
            el_take_error(e, "creating the LLJIT", err, n);
            el_jit = NULL;
            ok = false;
        } else {
            /* memcpy/memset that lowered intrinsics may call come from the process */
            LLVMOrcDefinitionGeneratorRef gen = NULL;
            e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(el_jit),
                                                                     NULL, NULL);
            if (e) {
                el_take_error(e, "process symbol generator", err, n);
                LLVMConsumeError(LLVMOrcDisposeLLJIT(el_jit));
                el_jit = NULL;
                ok = false;
            } else {
                LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(el_jit), gen);
                LLVMMemoryBufferRef rt = NULL;
                uint64_t t0 = el_now_ns();
                ok = el_rt_object(c, &rt, err, n);
                if (ok && getenv("EVMJIT_LLVM_STATS")) /* debugging aid */
                    fprintf(stderr, "evmjit_llvm: the baseline runtime compiled in %.2f ms, object %zu bytes\n",
                            (double)(el_now_ns() - t0) / 1e6, LLVMGetBufferSize(rt));
                if (ok) {
                    e = LLVMOrcLLJITAddObjectFile(el_jit, LLVMOrcLLJITGetMainJITDylib(el_jit), rt); /* takes rt */
                    LLVMOrcExecutorAddress addr = 0;
                    if (!e) e = LLVMOrcLLJITLookup(el_jit, &addr, "evmjit_rt_01"); /* links it now */
                    if (e) {
                        el_take_error(e, "linking the baseline runtime", err, n);
                        ok = false;
                    }
                }
                if (!ok) {
                    LLVMConsumeError(LLVMOrcDisposeLLJIT(el_jit));
                    el_jit = NULL;
                }
            }
        }
    }
    if (ok) el_jit_refs++;
    mtx_unlock(&el_lock);
    return ok;
}

static void el_jit_release(void) {
    mtx_lock(&el_lock);
    if (--el_jit_refs == 0 && el_jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(el_jit);
        if (e) LLVMConsumeError(e);
        el_jit = NULL;
    }
    mtx_unlock(&el_lock);
}

static void el_compiler_destroy(void *p) {
    el_compiler *c = (el_compiler *)p;
    if (!c) return;
    if (c->pbo) LLVMDisposePassBuilderOptions(c->pbo);
    if (c->tm) LLVMDisposeTargetMachine(c->tm);
    if (c->tm_fast) LLVMDisposeTargetMachine(c->tm_fast);
    LLVMDisposeMessage(c->triple);
    LLVMDisposeMessage(c->cpu);
    LLVMDisposeMessage(c->features);
    LLVMDisposeMessage(c->layout);
    if (c->jit_ref) el_jit_release();
    free(c);
}

static void *el_compiler_create(int opt_level, char *err, size_t n) {
    call_once(&el_once, el_global_init);
    if (!el_init_ok) {
        el_err(err, n, "LLVM native target initialisation failed");
        return NULL;
    }
    el_compiler *c = (el_compiler *)calloc(1, sizeof *c);
    if (!c) {
        el_err(err, n, "out of memory");
        return NULL;
    }
    c->opt_level = opt_level < 0 ? EVMJIT_LLVM_DEFAULT_OPT : opt_level > 3 ? 3 : opt_level;
    char *def = LLVMGetDefaultTargetTriple();
    c->triple = LLVMNormalizeTargetTriple(def);
    LLVMDisposeMessage(def);
    c->cpu = LLVMGetHostCPUName();
    /* The host's features without AVX: LLVM 19's x86 DAG combiner crashes on some i256
       compare/select patterns when AVX is on (found by the random differential tests:
       select of two i256 constants compared against 0). EVM code is scalar i256 work, so
       it loses next to nothing. The string is LLVM's to free (LLVMCreateMessage). */
    char *host = LLVMGetHostCPUFeatures();
    size_t hl = strlen(host);
    char *feat = (char *)malloc(hl + 8);
    if (feat) {
        memcpy(feat, host, hl);
        memcpy(feat + hl, hl ? ",-avx" : "-avx", hl ? 6 : 5);
    }
    c->features = LLVMCreateMessage(feat ? feat : host);
    free(feat);
    LLVMDisposeMessage(host);
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(c->triple, &target, &msg)) {
        el_err(err, n, "no LLVM target for %s: %s", c->triple, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        el_compiler_destroy(c);
        return NULL;
    }
    static const LLVMCodeGenOptLevel levels[4] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
                                                  LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive};
    c->tm = LLVMCreateTargetMachine(target, c->triple, c->cpu, c->features, levels[c->opt_level], LLVMRelocPIC,
                                    LLVMCodeModelSmall);
    c->tm_fast = LLVMCreateTargetMachine(target, c->triple, c->cpu, c->features, LLVMCodeGenLevelNone,
                                         LLVMRelocPIC, LLVMCodeModelSmall);
    if (!c->tm || !c->tm_fast) {
        el_err(err, n, "cannot create a target machine for %s/%s", c->triple, c->cpu);
        el_compiler_destroy(c);
        return NULL;
    }
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(c->tm);
    c->layout = LLVMCopyStringRepOfTargetData(td);
    LLVMDisposeTargetData(td);
    c->pbo = LLVMCreatePassBuilderOptions();
    if (!el_jit_acquire(c, err, n)) {
        el_compiler_destroy(c);
        return NULL;
    }
    c->jit_ref = true;
    return c;
}

/* Analysis, IR, optimisation and code generation: the object file for `symbol`. */
static bool el_cancelled(const evmjit_compile_request *req) {
    return req && req->cancelled && req->cancelled(req);
}

/* full: never the cheap path for big inputs (an AOT artifact, or the upgrade of a provisional
   JIT program). */
static evmjit_error el_compile_object(el_compiler *c, const uint8_t *code, size_t code_size, evmjit_revision rev,
                                      bool full, const char *symbol, LLVMMemoryBufferRef *obj, evmjit_llvm_timings *t,
                                      const evmjit_compile_request *req, char *err, size_t n) {
    *obj = NULL;
    if (t) memset(t, 0, sizeof *t);
    if ((!code && code_size) || (unsigned)rev > EVMJIT_MAX_REVISION) {
        el_err(err, n, "invalid argument: %s", (unsigned)rev > EVMJIT_MAX_REVISION ? "unknown revision" : "no code");
        return EVMJIT_ERR_INVALID_ARGUMENT;
    }
    if (code_size > EVMJIT_LLVM_MAX_CODE) {
        el_err(err, n, "code of %zu bytes is over the compile limit of %u bytes (EVMJIT_LLVM_MAX_CODE)", code_size,
               (unsigned)EVMJIT_LLVM_MAX_CODE);
        return EVMJIT_ERR_INELIGIBLE;
    }
    uint64_t t0 = el_now_ns();
    el_analysis a;
    evmjit_error r = el_analyze(&a, code, code_size, rev, err, n);
    if (r != EVMJIT_OK) return r;
    if ((r = el_check_budget(&a, err, n)) != EVMJIT_OK) {
        el_analysis_free(&a);
        return r;
    }
    if (el_cancelled(req)) {
        el_analysis_free(&a);
        el_err(err, n, "cancelled");
        return EVMJIT_ERR_SHUTDOWN;
    }
    uint64_t t1 = el_now_ns();
    if (getenv("EVMJIT_LLVM_STATS")) /* debugging aid */
        fprintf(stderr, "evmjit_llvm: %zu bytes: %u blocks, %u instructions, %u sections, %u calls, %u targets, %u runs%s\n",
                code_size, a.reach_blocks, a.reach_insts, a.sections, a.calls, a.reach_jumpdests, a.n_runs,
                a.has_dynamic ? " (dynamic)" : "");

    /* Levels: 0 mem2reg and CodeGenLevelNone; 1 a few cleanup passes, CodeGenLevelNone
       (both on the full tier's IR without inline memory growth; inputs over the "big"
       thresholds run mem2reg only); 2 (default) the baseline tier for a JIT compilation,
       marked provisional (the runtime recompiles a hot one with req->upgrade: the full
       pass list and the optimising code generator), the full tier for AOT (an artifact is
       kept for months) and upgrades; 3 the full tier always. The budgets always apply.
       EVMJIT_LLVM_NO_BASELINE (debugging aid) makes level 2 take the full tier at once. */
    uint32_t targets = a.has_dynamic ? a.reach_jumpdests + a.n_runs : 0;
    bool baseline = c->opt_level == 2 && !full && !getenv("EVMJIT_LLVM_NO_BASELINE");
    bool big = c->opt_level < 2 && !full &&
               (a.sections > EVMJIT_LLVM_BIG_SECTIONS || targets > EVMJIT_LLVM_BIG_TARGETS ||
                a.reach_insts > EVMJIT_LLVM_BIG_INSTS);
    bool cheap = baseline || big || c->opt_level < 2 || getenv("EVMJIT_LLVM_FASTCG");
    el_cg g;
    el_cg_open(&g, c, "evmjit", err, n);
    LLVMContextRef ctx = g.ctx;
    LLVMModuleRef mod = g.mod;
    g.a = &a;
    g.cheap = cheap;
    g.baseline = baseline;
    r = el_gen(&g, symbol);
    LLVMDisposeBuilder(g.b);
    el_analysis_free(&a);
    uint64_t t2 = el_now_ns(), t3 = t2, t4 = t2;
    /* The verifier costs about 8% of a baseline compile, which a caller waits for; the full
       tier and AOT (background work, kept for long) always verify, the baseline tier when
       EVMJIT_LLVM_VERIFY is set, as test.sh and tests/test_llvm.c do for every test. */
    if (r == EVMJIT_OK && (!baseline || getenv("EVMJIT_LLVM_VERIFY"))) {
        char *msg = NULL;
        if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
            el_err(err, n, "internal: invalid IR: %.200s", msg ? msg : "?");
            r = EVMJIT_ERR_COMPILE_FAILED;
        }
        LLVMDisposeMessage(msg);
    }
    LLVMTargetMachineRef tm = cheap ? c->tm_fast : c->tm;
    if (r == EVMJIT_OK) {
        int opt = baseline || big ? 0 : c->opt_level; /* mem2reg only */
        LLVMErrorRef e = LLVMRunPasses(mod, el_pipelines[opt], tm, c->pbo);
        if (e) {
            el_take_error(e, "optimisation", err, n);
            r = EVMJIT_ERR_COMPILE_FAILED;
        }
        t3 = el_now_ns();
    }
    if (r == EVMJIT_OK && el_cancelled(req)) {
        el_err(err, n, "cancelled");
        r = EVMJIT_ERR_SHUTDOWN;
    }
    if (r == EVMJIT_OK && getenv("EVMJIT_LLVM_DUMP")) LLVMDumpModule(mod); /* debugging aid */
    if (r == EVMJIT_OK) {
        char *msg = NULL;
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, obj)) {
            el_err(err, n, "code generation: %s", msg ? msg : "?");
            r = EVMJIT_ERR_COMPILE_FAILED;
            *obj = NULL;
        }
        LLVMDisposeMessage(msg);
        t4 = el_now_ns();
    }
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    if (getenv("EVMJIT_LLVM_STATS")) /* debugging aid */
        fprintf(stderr,
                "evmjit_llvm: %zu bytes: analysis %.2f ms, IR %.2f ms, passes %.2f ms, codegen %.2f ms, "
                "object %zu bytes%s\n",
                code_size, (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6, (double)(t3 - t2) / 1e6,
                (double)(t4 - t3) / 1e6, r == EVMJIT_OK ? LLVMGetBufferSize(*obj) : 0,
                baseline ? " (baseline)" : big ? " (big: the cheap path)" : "");
    if (t) {
        t->provisional = baseline;
        t->analysis_ns = t1 - t0;
        t->ir_ns = t2 - t1;
        t->opt_ns = t3 - t2;
        t->codegen_ns = t4 - t3;
        t->link_ns = 0;
    }
    return r;
}

static evmjit_error el_compile_jit(void *cc, const uint8_t *code, size_t code_size, evmjit_revision rev,
                                   const evmjit_bytes32 *code_hash, evmjit_fn *fn, void **program,
                                   evmjit_llvm_timings *t, const evmjit_compile_request *req, char *err,
                                   size_t n) {
    el_compiler *c = (el_compiler *)cc;
    *fn = NULL;
    *program = NULL;
    char symbol[64];
    unsigned long seq = atomic_fetch_add_explicit(&el_seq, 1, memory_order_relaxed); /* only unique */
    uint64_t h = 0;
    if (code_hash)
        for (int i = 0; i < 8; i++) h = h << 8 | code_hash->bytes[i];
    snprintf(symbol, sizeof symbol, "evmjit_jit_%016" PRIx64 "_r%d_%lu", h, (int)rev, seq);
    LLVMMemoryBufferRef obj;
    evmjit_error r = el_compile_object(c, code, code_size, rev, req && req->upgrade, symbol, &obj, t, req, err, n);
    if (r != EVMJIT_OK) return r;
    uint64_t t0 = el_now_ns();
    el_program *p = (el_program *)calloc(1, sizeof *p);
    if (!p) {
        LLVMDisposeMemoryBuffer(obj);
        el_err(err, n, "out of memory");
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    p->code_bytes = LLVMGetBufferSize(obj);
    if (!el_jit_acquire(c, err, n)) { /* the program keeps the JIT alive */
        LLVMDisposeMemoryBuffer(obj);
        free(p);
        return EVMJIT_ERR_COMPILE_FAILED;
    }
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(el_jit);
    p->rt = LLVMOrcJITDylibCreateResourceTracker(jd);
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(el_jit, p->rt, obj); /* takes obj */
    LLVMOrcExecutorAddress addr = 0;
    if (!e) e = LLVMOrcLLJITLookup(el_jit, &addr, symbol);
    if (e) {
        el_take_error(e, "JIT link", err, n);
        LLVMErrorRef e2 = LLVMOrcResourceTrackerRemove(p->rt);
        if (e2) LLVMConsumeError(e2);
        LLVMOrcReleaseResourceTracker(p->rt);
        free(p);
        el_jit_release();
        return EVMJIT_ERR_COMPILE_FAILED;
    }
    p->fn = (evmjit_fn)(uintptr_t)addr;
    *fn = p->fn;
    *program = p;
    if (t) t->link_ns = el_now_ns() - t0;
    return EVMJIT_OK;
}

static void el_free_code(void *program) {
    el_program *p = (el_program *)program;
    if (!p) return;
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(p->rt);
    if (e) LLVMConsumeError(e);
    LLVMOrcReleaseResourceTracker(p->rt);
    free(p);
    el_jit_release();
}

static size_t el_code_bytes(const void *program) {
    return program ? ((const el_program *)program)->code_bytes : 0;
}

/* ---- AOT ---- */

static bool el_write_file(const char *path, const void *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    const uint8_t *p = (const uint8_t *)data;
    while (size) {
        ssize_t w = write(fd, p, size);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return false;
        }
        p += w;
        size -= (size_t)w;
    }
    return close(fd) == 0;
}

static uint8_t *el_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = (uint8_t *)malloc((size_t)len))) {
            if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
                free(buf);
                buf = NULL;
            } else {
                *size = (size_t)len;
            }
        }
    }
    fclose(f);
    return buf;
}

/* Runs argv (argv[0] found on PATH) and waits; true when it exits 0. */
static bool el_run(char *const argv[]) {
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0) return false;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static char *el_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = (char *)malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static void el_free_aot(evmjit_llvm_aot *aot) {
    if (!aot) return;
    free(aot->bytes);
    free(aot->triple);
    free(aot->cpu);
    free(aot->features);
    memset(aot, 0, sizeof *aot);
}

static evmjit_error el_compile_aot(void *cc, const uint8_t *code, size_t code_size, evmjit_revision rev,
                                   const evmjit_bytes32 *code_hash, evmjit_llvm_aot *out, evmjit_llvm_timings *t,
                                   const evmjit_compile_request *req, char *err, size_t n) {
    el_compiler *c = (el_compiler *)cc;
    memset(out, 0, sizeof *out);
    if (!code_hash) {
        el_err(err, n, "invalid argument: AOT needs the code hash (it names the symbol)");
        return EVMJIT_ERR_INVALID_ARGUMENT;
    }
    int pos = snprintf(out->symbol, sizeof out->symbol, "evmjit_aot_");
    for (int i = 0; i < 32; i++) pos += snprintf(out->symbol + pos, sizeof out->symbol - (size_t)pos, "%02x", code_hash->bytes[i]);
    snprintf(out->symbol + pos, sizeof out->symbol - (size_t)pos, "_r%d_abi%d", (int)rev, EVMJIT_ABI_VERSION);

    LLVMMemoryBufferRef obj;
    evmjit_error r = el_compile_object(c, code, code_size, rev, true, out->symbol, &obj, t, req, err, n);
    if (r != EVMJIT_OK) return r;
    uint64_t t0 = el_now_ns();
    const char *tmp = getenv("TMPDIR");
    char dir[512], o_path[600], so_path[600];
    snprintf(dir, sizeof dir, "%s/evmjit-aot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        LLVMDisposeMemoryBuffer(obj);
        el_err(err, n, "AOT: cannot make a temporary directory in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
        return EVMJIT_ERR_IO;
    }
    snprintf(o_path, sizeof o_path, "%s/code.o", dir);
    snprintf(so_path, sizeof so_path, "%s/code.so", dir);
    bool wrote = el_write_file(o_path, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj));
    LLVMDisposeMemoryBuffer(obj);
    if (!wrote) {
        el_err(err, n, "AOT: cannot write %s", o_path);
        r = EVMJIT_ERR_IO;
    } else {
        const char *cc_env = getenv("EVMJIT_CC");
        char *argv[] = {(char *)(cc_env && *cc_env ? cc_env : "cc"), (char *)"-shared", (char *)"-nostartfiles",
                        (char *)"-o", so_path, o_path, NULL};
        if (!el_run(argv)) {
            el_err(err, n, "AOT: linking with `%s -shared` failed (set EVMJIT_CC to another driver)", argv[0]);
            r = EVMJIT_ERR_COMPILE_FAILED;
        } else if (!(out->bytes = el_read_file(so_path, &out->size))) {
            el_err(err, n, "AOT: cannot read %s", so_path);
            r = EVMJIT_ERR_IO;
        }
    }
    unlink(o_path);
    unlink(so_path);
    rmdir(dir);
    if (r == EVMJIT_OK) {
        out->triple = el_strdup(c->triple);
        out->cpu = el_strdup(c->cpu);
        out->features = el_strdup(c->features);
        if (!out->triple || !out->cpu || !out->features) {
            el_free_aot(out);
            el_err(err, n, "out of memory");
            r = EVMJIT_ERR_OUT_OF_MEMORY;
        }
    } else {
        el_free_aot(out);
    }
    if (t) t->link_ns = el_now_ns() - t0;
    return r;
}

/* ============================================================================================
   4. The table the runtime uses (evmjit_backend, declared in evmjit_cache.h)
   ========================================================================================== */

#define EL_STR2(x) #x
#define EL_STR(x) EL_STR2(x)

static evmjit_error el_be_create(void *user, int opt_level, void **compiler, char *err, size_t n) {
    (void)user;
    *compiler = el_compiler_create(opt_level, err, n);
    return *compiler ? EVMJIT_OK : EVMJIT_ERR_COMPILE_FAILED;
}

static void el_be_destroy(void *user, void *compiler) {
    (void)user;
    el_compiler_destroy(compiler);
}

static void el_be_times(evmjit_compile_output *out, const evmjit_llvm_timings *t) {
    out->times.analysis_ns = t->analysis_ns;
    out->times.ir_ns = t->ir_ns;
    out->times.optimize_ns = t->opt_ns;
    out->times.codegen_ns = t->codegen_ns;
    out->times.link_ns = t->link_ns;
}

static evmjit_error el_be_compile_jit(void *user, void *compiler, const evmjit_compile_request *req,
                                      evmjit_compile_output *out) {
    (void)user;
    evmjit_llvm_timings t;
    evmjit_error r = el_compile_jit(compiler, req->code, req->code_size, req->rev, &req->code_hash, &out->fn,
                                    &out->code, &t, req, out->message, sizeof out->message);
    el_be_times(out, &t);
    if (r == EVMJIT_OK) {
        out->code_bytes = el_code_bytes(out->code);
        out->provisional = t.provisional;
    }
    return r;
}

/* FNV-1a: the CPU feature string is long, the target field short; the hash stands for it. */
static uint64_t el_fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static evmjit_error el_be_compile_aot(void *user, void *compiler, const evmjit_compile_request *req,
                                      evmjit_compile_output *out) {
    (void)user;
    evmjit_llvm_timings t;
    evmjit_llvm_aot aot;
    evmjit_error r = el_compile_aot(compiler, req->code, req->code_size, req->rev, &req->code_hash, &aot, &t, req,
                                    out->message, sizeof out->message);
    el_be_times(out, &t);
    if (r != EVMJIT_OK) return r;
    out->object = aot.bytes; /* ownership moves to out: free_object frees it */
    out->object_size = aot.size;
    memcpy(out->symbol, aot.symbol, sizeof out->symbol);
    snprintf(out->target, sizeof out->target, "%.60s/%.40s/%016" PRIx64, aot.triple, aot.cpu, el_fnv1a(aot.features));
    aot.bytes = NULL;
    el_free_aot(&aot);
    return EVMJIT_OK;
}

static void el_be_free_code(void *user, void *code) {
    (void)user;
    el_free_code(code);
}

static void el_be_free_object(void *user, evmjit_compile_output *out) {
    (void)user;
    free(out->object);
    out->object = NULL;
    out->object_size = 0;
}

const evmjit_backend *evmjit_llvm_backend(void) {
    static const evmjit_backend table = {
        "llvm",
        EL_STR(LLVM_VERSION_MAJOR) "." EL_STR(LLVM_VERSION_MINOR) "." EL_STR(LLVM_VERSION_PATCH),
        NULL,
        el_be_create,
        el_be_destroy,
        el_be_compile_jit,
        el_be_compile_aot,
        el_be_free_code,
        el_be_free_object,
    };
    return &table;
}
