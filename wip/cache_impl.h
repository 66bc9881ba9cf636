/* wip/cache_impl.h - the code cache runtime: implementation.
   Spliced verbatim into evmjit_cache.h's implementation section, just before the line
   `/\* ---- Execute ---`; until then tests include it after evmjit_cache.h and cache_decl.h. */
#ifdef EVMJIT_CACHE_IMPLEMENTATION
#ifndef EVMJIT_CACHE_RUNTIME_DONE
#define EVMJIT_CACHE_RUNTIME_DONE

/* ============================================================================================
   DESIGN of the code cache runtime
   ============================================================================================

   Threads
     callers   any number. Look keys up in the resident table (lock-free, no allocation),
               run programs, push one event per miss into the event ring, and hand requests
               (evmjit_compile, compile_sync, prepare_aot, sync) to the backend through a
               mutex-protected request list (O(1) under the lock).
     backend   one thread, the ONLY writer of the resident table. Owns the cold-key map, the
               in-flight map, the pending-job list, the retired list and every entry's
               backend-only fields. Each wake-up (timed, absolute deadline; or signalled)
               it: purges entries of an old generation, publishes worker results, admits
               requests, drains at most drain_batch events (all of them for a sync),
               dispatches pending jobs to the worker queue, sweeps idle programs and cold
               keys, evicts over the JIT budget, and frees retired objects no reader can see.
     workers   N threads. Each pops jobs from the bounded worker queue, owns one compiler
               (created lazily, recycled after recycle_after jobs), compiles or loads from
               the artifact store, and appends the result to the result list.
   One mutex (rt->mtx) guards the request list, worker queue, result list, waiters and the
   sync counters; nobody holds it while compiling, draining or looking up.

   Order
     The event ring is a bounded multi-producer single-consumer queue (Vyukov's per-cell
     sequence numbers): events are consumed in the order producers claimed their cells, so
     each producer's events keep their order; a full ring drops the event and counts it.
     Requests are admitted in arrival order. The worker queue is FIFO except that jobs a
     caller waits for (compile_sync, blocking lookups) go to its front.

   Reclamation (epoch based, with counted references on top)
     Every thread that looks something up owns a reader record (process-wide array, one
     cache line each) holding the global epoch it read when it entered its outermost read
     section, or 0 outside. A per-thread nesting counter makes nested lookups free. The
     backend unlinks an object (seq_cst store), then retires it with E = fetch_add(global
     epoch) (seq_cst) and frees it once every record holds 0 or an epoch > E, and (entries)
     no counted reference is left. Why this is safe: all four operations involved (reader:
     store epoch, load table/slot; backend: store unlink, load record) are seq_cst, so they
     fall in one total order. If the backend read the record before the reader's epoch store,
     the reader's later slot load comes after the unlink and cannot see the object. If the
     reader's epoch is > E, it read the epoch after the fetch_add, which comes after the
     unlink, so again it cannot see the object. If the backend read 0 from the reader's exit
     store (release), everything the reader did happens before the free (acquire).
   ========================================================================================== */

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

_Static_assert(EVMJIT_READER_SLOTS >= 1 && EVMJIT_READER_SLOTS <= 65536,
               "EVMJIT_READER_SLOTS must be 1..65536");

#if defined(__GNUC__) || defined(__clang__)
#define EVMJIT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define EVMJIT__PRINTF(f, a)
#endif

#define EVMJIT__CACHE_LINE 64
#define EVMJIT__WANT_REASK_MS 1000 /* a WANT_CODE claim nobody honoured is re-offered */

/* ---- time, logging, aligned allocation --------------------------------------------------- */

/* Monotonic nanoseconds (durations, idle times). */
static uint64_t evmjit__now_ns(void) {
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* An absolute TIME_UTC deadline ms from now, for cnd_timedwait. */
static struct timespec evmjit__deadline(uint64_t ms) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    if (ms > 100000000000u) ms = 100000000000u; /* ~3 years: keeps tv_sec in range */
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static bool evmjit__deadline_passed(const struct timespec *d) {
    struct timespec now;
    timespec_get(&now, TIME_UTC);
    return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static void evmjit__logf(const evmjit_logger *lg, evmjit_log_level level, const char *fmt, ...)
    EVMJIT__PRINTF(3, 4);
static void evmjit__logf(const evmjit_logger *lg, evmjit_log_level level, const char *fmt, ...) {
    if (!lg || !lg->log) return;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lg->log(level, msg, lg->user);
}

/* size bytes at a 64-byte boundary, zeroed; *raw gets what to free (size + 64 bytes). */
static void *evmjit__alloc_aligned(const evmjit_allocator *a, size_t size, void **raw) {
    uint8_t *p = (uint8_t *)evmjit__alloc(a, size + EVMJIT__CACHE_LINE);
    *raw = p;
    if (!p) return NULL;
    uintptr_t x = ((uintptr_t)p + EVMJIT__CACHE_LINE - 1) & ~(uintptr_t)(EVMJIT__CACHE_LINE - 1);
    memset((void *)x, 0, size);
    return (void *)x;
}

/* ---- keys ---------------------------------------------------------------------------------- */

/* The code hash is keccak output, already uniform: its first 8 bytes, mixed with rev. */
static inline uint64_t evmjit__key_hash(const evmjit_bytes32 *h, evmjit_revision rev) {
    uint64_t x;
    memcpy(&x, h->bytes, 8);
    return x ^ ((uint64_t)(unsigned)rev * 0x9e3779b97f4a7c15ull);
}

static inline bool evmjit__key_eq(const evmjit_bytes32 *a, const evmjit_bytes32 *b) {
    uint64_t x[4], y[4];
    memcpy(x, a->bytes, 32);
    memcpy(y, b->bytes, 32);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

/* ---- reader records (process-wide) -------------------------------------------------------- */

typedef struct evmjit__reader {
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t epoch; /* 0: holds no lookup reference */
    _Atomic uint32_t used;                               /* owned by a live thread */
} evmjit__reader;

static evmjit__reader evmjit__readers[EVMJIT_READER_SLOTS];
/* Advanced by backends when they retire something; read when a read section starts. */
static _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t evmjit__global_epoch = 1;
/* Readers without a record (more than EVMJIT_READER_SLOTS threads) inside a read section. */
static _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t evmjit__overflow_readers;
/* Records ever handed out: scans visit [0, hwm). */
static _Alignas(EVMJIT__CACHE_LINE) _Atomic uint32_t evmjit__readers_hwm;

static _Thread_local int evmjit__tls_slot = -1; /* -1: not registered; -2: overflow */
static _Thread_local uint32_t evmjit__tls_nest;  /* lookup references this thread holds */

static tss_t evmjit__reader_key;
static once_flag evmjit__reader_once = ONCE_FLAG_INIT;
static int evmjit__reader_key_ok;

/* Thread exit: give the record back. */
static void evmjit__reader_exit(void *v) {
    size_t i = (size_t)(uintptr_t)v - 1;
    /* release: this thread's reads of programs happen before a backend frees them */
    atomic_store_explicit(&evmjit__readers[i].epoch, 0, memory_order_release);
    /* release: the next owner starts after everything we did with this record */
    atomic_store_explicit(&evmjit__readers[i].used, 0, memory_order_release);
}

static void evmjit__reader_init(void) {
    evmjit__reader_key_ok = tss_create(&evmjit__reader_key, evmjit__reader_exit) == thrd_success;
}

/* First lookup on this thread: claim a free record (visits at most EVMJIT_READER_SLOTS). */
static int evmjit__reader_register(void) {
    call_once(&evmjit__reader_once, evmjit__reader_init);
    evmjit__tls_slot = -2;
    if (!evmjit__reader_key_ok) return -2; /* could not give it back at exit: use overflow */
    for (uint32_t i = 0; i < EVMJIT_READER_SLOTS; i++) {
        uint32_t expect = 0;
        if (atomic_load_explicit(&evmjit__readers[i].used, memory_order_relaxed)) continue;
        /* acquire: pairs with the previous owner's release in evmjit__reader_exit */
        if (!atomic_compare_exchange_strong_explicit(&evmjit__readers[i].used, &expect, 1,
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        if (tss_set(evmjit__reader_key, (void *)(uintptr_t)(i + 1)) != thrd_success) {
            atomic_store_explicit(&evmjit__readers[i].used, 0, memory_order_release);
            return -2;
        }
        /* seq_cst: a backend that does not see the new mark runs before our first epoch load */
        uint32_t hwm = atomic_load_explicit(&evmjit__readers_hwm, memory_order_seq_cst);
        while (hwm < i + 1 &&
               !atomic_compare_exchange_weak_explicit(&evmjit__readers_hwm, &hwm, i + 1,
                                                      memory_order_seq_cst, memory_order_seq_cst)) {
        }
        evmjit__tls_slot = (int)i;
        return (int)i;
    }
    return -2;
}

/* Enter a read section (nests). Cost: one seq_cst store at the outermost level. */
static inline int evmjit__read_enter(void) {
    int s = evmjit__tls_slot;
    if (s == -1) s = evmjit__reader_register();
    if (evmjit__tls_nest++ == 0) {
        if (s >= 0) {
            /* seq_cst (both): see the DESIGN comment on reclamation */
            uint64_t e = atomic_load_explicit(&evmjit__global_epoch, memory_order_seq_cst);
            atomic_store_explicit(&evmjit__readers[s].epoch, e, memory_order_seq_cst);
        } else {
            /* seq_cst: as the epoch store above; a backend frees nothing while this is > 0 */
            atomic_fetch_add_explicit(&evmjit__overflow_readers, 1, memory_order_seq_cst);
        }
    }
    return s;
}

static inline void evmjit__read_exit(void) {
    EVMJIT_ASSERT(evmjit__tls_nest > 0);
    if (--evmjit__tls_nest == 0) {
        int s = evmjit__tls_slot;
        /* release: our reads of programs and tables happen before a backend frees them */
        if (s >= 0) atomic_store_explicit(&evmjit__readers[s].epoch, 0, memory_order_release);
        else atomic_fetch_sub_explicit(&evmjit__overflow_readers, 1, memory_order_release);
    }
}

/* The oldest epoch a reader may still be in (UINT64_MAX: none). An object retired at epoch
   E may be freed when E < this. Visits the records handed out so far. Backend threads. */
static uint64_t evmjit__oldest_reader_epoch(void) {
    /* seq_cst: part of the reclamation order; acquire: overflow readers' exits */
    if (atomic_load_explicit(&evmjit__overflow_readers, memory_order_seq_cst) != 0) return 0;
    uint32_t n = atomic_load_explicit(&evmjit__readers_hwm, memory_order_seq_cst);
    uint64_t oldest = UINT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
        /* seq_cst: part of the reclamation order; acquire: pairs with the reader's exit */
        uint64_t e = atomic_load_explicit(&evmjit__readers[i].epoch, memory_order_seq_cst);
        if (e && e < oldest) oldest = e;
    }
    return oldest;
}

/* ==== EVMJIT_CACHE_IMPL_CONTINUES ==== */
#endif /* EVMJIT_CACHE_RUNTIME_DONE */
#endif /* EVMJIT_CACHE_IMPLEMENTATION */
