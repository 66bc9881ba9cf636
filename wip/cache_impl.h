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

/* ThreadSanitizer and C11 threads. glibc (2.34 and newer) implements <threads.h> on internal
   pthread entry points that ThreadSanitizer (GCC 12) does not intercept: a thread made by
   thrd_create crashes in the first instrumented function, and mtx_lock/cnd_wait/call_once
   are invisible to it (every lock-protected access is reported as a race). Under TSan only,
   the C11 calls below go to the pthread functions it intercepts. On glibc the C11 types are
   the pthread types (thrd_t is pthread_t; mtx_t, cnd_t and once_flag share their layout).
   Production builds use <threads.h> unchanged. */
#if defined(__SANITIZE_THREAD__)
#define EVMJIT__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EVMJIT__TSAN 1
#endif
#endif
#if defined(EVMJIT__TSAN) && defined(__GLIBC__) && !defined(EVMJIT_NO_TSAN_SHIM)
#include <errno.h>
#include <pthread.h>
_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "glibc: mtx_t is a pthread mutex");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "glibc: cnd_t is a pthread condition");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "glibc: once_flag is pthread_once_t");
typedef struct evmjit__tsan_start {
    thrd_start_t fn;
    void *arg;
} evmjit__tsan_start;
static void *evmjit__tsan_trampoline(void *p) {
    evmjit__tsan_start s = *(evmjit__tsan_start *)p;
    free(p); /* sanitizer builds only: not through the runtime's allocator */
    return (void *)(intptr_t)s.fn(s.arg);
}
static inline int evmjit__tsan_thrd_create(thrd_t *t, thrd_start_t fn, void *arg) {
    evmjit__tsan_start *s = (evmjit__tsan_start *)malloc(sizeof *s);
    if (!s) return thrd_nomem;
    s->fn = fn;
    s->arg = arg;
    if (pthread_create(t, NULL, evmjit__tsan_trampoline, s) != 0) {
        free(s);
        return thrd_error;
    }
    return thrd_success;
}
static inline int evmjit__tsan_thrd_join(thrd_t t, int *res) {
    void *r;
    if (pthread_join(t, &r) != 0) return thrd_error;
    if (res) *res = (int)(intptr_t)r;
    return thrd_success;
}
static inline int evmjit__tsan_thrd_detach(thrd_t t) {
    return pthread_detach(t) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_mtx_init(mtx_t *m, int type) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (type & mtx_recursive) pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    int r = pthread_mutex_init((pthread_mutex_t *)m, &a);
    pthread_mutexattr_destroy(&a);
    return r ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_mtx_lock(mtx_t *m) {
    return pthread_mutex_lock((pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_mtx_unlock(mtx_t *m) {
    return pthread_mutex_unlock((pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
static inline void evmjit__tsan_mtx_destroy(mtx_t *m) { pthread_mutex_destroy((pthread_mutex_t *)m); }
static inline int evmjit__tsan_cnd_init(cnd_t *c) {
    return pthread_cond_init((pthread_cond_t *)c, NULL) ? thrd_error : thrd_success;
}
static inline void evmjit__tsan_cnd_destroy(cnd_t *c) { pthread_cond_destroy((pthread_cond_t *)c); }
static inline int evmjit__tsan_cnd_signal(cnd_t *c) {
    return pthread_cond_signal((pthread_cond_t *)c) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_cnd_broadcast(cnd_t *c) {
    return pthread_cond_broadcast((pthread_cond_t *)c) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_cnd_wait(cnd_t *c, mtx_t *m) {
    return pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_cnd_timedwait(cnd_t *c, mtx_t *m, const struct timespec *ts) {
    int r = pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts);
    return r == 0 ? thrd_success : r == ETIMEDOUT ? thrd_timedout : thrd_error;
}
static inline void evmjit__tsan_call_once(once_flag *f, void (*fn)(void)) {
    pthread_once((pthread_once_t *)f, fn);
}
#define thrd_create evmjit__tsan_thrd_create
#define thrd_join evmjit__tsan_thrd_join
#define thrd_detach evmjit__tsan_thrd_detach
#define mtx_init evmjit__tsan_mtx_init
#define mtx_lock evmjit__tsan_mtx_lock
#define mtx_unlock evmjit__tsan_mtx_unlock
#define mtx_destroy evmjit__tsan_mtx_destroy
#define cnd_init evmjit__tsan_cnd_init
#define cnd_destroy evmjit__tsan_cnd_destroy
#define cnd_signal evmjit__tsan_cnd_signal
#define cnd_broadcast evmjit__tsan_cnd_broadcast
#define cnd_wait evmjit__tsan_cnd_wait
#define cnd_timedwait evmjit__tsan_cnd_timedwait
#define call_once evmjit__tsan_call_once
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

/* Thread exit (runs on the exiting thread): give the record back. Later evmjit calls from
   other exit-time destructors on this thread use the overflow counter. */
static void evmjit__reader_exit(void *v) {
    size_t i = (size_t)(uintptr_t)v - 1;
    evmjit__tls_slot = -2;
    evmjit__tls_nest = 0;
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
            /* release: hands the (untouched) record back */
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

/* ---- data structures ---------------------------------------------------------------------- */

/* Entry states. An entry's state only changes on the backend thread; READY is final (a ready
   entry's public fields never change until it is freed). */
enum { EVMJIT__WANTED = 1, EVMJIT__COMPILING = 2, EVMJIT__READY = 3, EVMJIT__FAILED = 4 };

/* One key in the resident table: a program once READY. */
typedef struct evmjit__entry {
    evmjit_program pub;  /* first member: an evmjit_program * is an entry */
    uint64_t generation; /* immutable */
    _Atomic int state;
    _Atomic uint32_t refs;         /* counted references */
    _Atomic uint64_t last_hit_ms;  /* the backend clock at the last hit (written once per tick) */
    _Atomic uint64_t claimed_ms;   /* WANTED: when a caller was last asked for the code */
    /* backend thread only */
    void *code;                /* JIT: the backend's handle */
    evmjit_artifact artifact;  /* AOT */
    uint64_t created_ms;
    uint64_t retire_epoch;
    struct evmjit__entry *next_retired;
} evmjit__entry;

/* Open addressing, linear probing, power-of-two capacity. Slots hold NULL (end of a probe),
   the tombstone (a removed entry; probes go on) or an entry. Only the backend writes; live +
   tombstones stay <= capacity / 2, so every probe ends at a NULL. */
typedef struct evmjit__table {
    size_t mask, live, tombstones;
    uint64_t retire_epoch;
    struct evmjit__table *next_retired;
    _Atomic(evmjit__entry *) slots[];
} evmjit__table;

static evmjit__entry evmjit__tombstone_entry;
#define EVMJIT__TOMBSTONE (&evmjit__tombstone_entry)

/* Lookup event kinds: UNKNOWN had no current entry (counts toward hotness), KNOWN had one. */
enum { EVMJIT__EV_UNKNOWN = 0, EVMJIT__EV_KNOWN = 1 };

typedef struct evmjit__event {
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t seq; /* position + 1: full; + capacity: free */
    uint32_t kind;
    uint32_t rev;
    evmjit_bytes32 code_hash;
} evmjit__event;

/* A request, then a job: created by a caller (with its own copy of the code), admitted by the
   backend, run by a worker, published by the backend. Lives in exactly one list at a time. */
typedef struct evmjit__job {
    struct evmjit__job *next;
    evmjit_runtime *rt;
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    evmjit_program_kind kind;
    uint8_t *code;
    size_t code_size;
    bool urgent;         /* a caller waits for it (backend only) */
    bool rerun;          /* a newer generation wants the key: run again after this result */
    evmjit_program_kind rerun_kind; /* ... as this kind (backend only: the job may be running) */
    uint64_t generation; /* set at admission; a result of an older generation is discarded */
    uint64_t admitted_ns;
    /* result, written by the worker */
    evmjit_error error;
    bool from_store;
    bool have_artifact;
    evmjit_artifact artifact;
    evmjit_compile_output out;
} evmjit__job;

typedef struct evmjit__job_list {
    evmjit__job *head, *tail;
    size_t n;
} evmjit__job_list;

/* A caller blocked in evmjit_compile_sync; lives on its stack, linked under rt->mtx. */
typedef struct evmjit__waiter {
    struct evmjit__waiter *next, *prev;
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    bool done;
    evmjit_error error;
    evmjit__entry *entry; /* done and OK: a counted reference */
} evmjit__waiter;

/* Backend-private hash map (cold keys and in-flight jobs): linear probing with backward-shift
   deletion (no tombstones). */
typedef struct evmjit__map_item {
    evmjit_bytes32 code_hash;
    uint32_t rev;
    uint32_t used;
    uint64_t count;   /* cold keys: observed misses */
    uint64_t last_ms; /* cold keys: last miss */
    evmjit__job *job; /* in flight: the job */
} evmjit__map_item;

typedef struct evmjit__map {
    evmjit__map_item *items;
    size_t cap, size;
} evmjit__map;

typedef struct evmjit__hit_counter {
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t n; /* written only by the record's owner */
} evmjit__hit_counter;

/* Statistics; relaxed atomics (exactness comes from evmjit_runtime_sync). */
#define EVMJIT__COUNTERS(X)                                                                   \
    X(misses) X(dropped_events) X(dropped_commands) X(dropped_jobs) X(dropped_cold_keys)      \
    X(admitted) X(dispatched) X(succeeded) X(failed) X(discarded) X(evictions)                \
    X(evictions_idle) X(evictions_budget) X(aot_stored) X(aot_loaded) X(store_errors)         \
    X(programs_freed) X(compiler_creates) X(resident_entries) X(resident_jit) X(resident_aot) \
    X(queued_commands) X(pending_jobs) X(tracked_cold_keys) X(jit_code_bytes)                 \
    X(aot_code_bytes) X(retired_waiting)

typedef struct evmjit__counters {
#define EVMJIT__COUNTER_FIELD(name) _Atomic uint64_t name;
    EVMJIT__COUNTERS(EVMJIT__COUNTER_FIELD)
#undef EVMJIT__COUNTER_FIELD
} evmjit__counters;

#define EVMJIT__ADD(rt, name, v) atomic_fetch_add_explicit(&(rt)->c.name, (v), memory_order_relaxed)
#define EVMJIT__SUB(rt, name, v) atomic_fetch_sub_explicit(&(rt)->c.name, (v), memory_order_relaxed)

struct evmjit_runtime {
    /* Read by every lookup, written rarely: its own cache lines. */
    _Alignas(EVMJIT__CACHE_LINE) evmjit_runtime_desc cfg; /* defaults resolved; immutable */
    _Atomic(evmjit__table *) table;
    _Atomic uint64_t generation;
    _Atomic bool enabled;
    bool can_jit;  /* a backend and workers: compilation requests are possible */
    bool can_aot;  /* a store and workers */
    bool can_hot;  /* misses can lead to compilations in the runtime's mode */
    int workers;
    uint64_t threshold;
    evmjit__hit_counter *hits; /* one per reader record */
    evmjit__event *cells;      /* the event ring */
    uint64_t ring_mask;
    void *raw, *hits_raw, *cells_raw;

    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t clock_ms; /* backend clock: ms since create + 1 */
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t ring_tail; /* producers: next cell to claim */
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t ring_head; /* consumer: next cell to read */
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t hits_overflow; /* threads without a record */
    _Alignas(EVMJIT__CACHE_LINE) evmjit__counters c;
    _Atomic uint32_t pause_depth;
    _Atomic bool wake;     /* work for the backend (set before signalling backend_cnd) */
    _Atomic bool stopping; /* shutdown began: compilations should cancel */
    _Atomic bool started;  /* threads exist */
    _Atomic uint32_t threads_running;

    /* Guarded by mtx (held only for O(1) work, never while compiling). */
    mtx_t mtx;
    cnd_t backend_cnd, worker_cnd, done_cnd, exit_cnd;
    bool shutdown;
    evmjit__job_list requests; /* callers -> backend */
    evmjit__job_list queue;    /* backend -> workers (bounded: workers x queue_per_worker) */
    evmjit__job_list results;  /* workers -> backend */
    evmjit__waiter *waiters;
    uint64_t sync_requested, sync_done;
    uint32_t threads_exited;

    mtx_t start_mtx; /* serialises thread start */
    thrd_t backend_thread;
    thrd_t *worker_threads;
    uint32_t threads_created;

    /* Backend thread only (and the creating / destroying thread when no backend runs). */
    uint64_t start_ns;
    uint64_t seen_generation;
    uint64_t next_sweep_ms;
    evmjit__map cold, inflight;
    evmjit__job_list pending; /* admitted, waiting for room in the worker queue */
    uint64_t wanted;          /* WANTED entries */
    uint64_t resident_jit_bytes;
    uint64_t next_report_ms, reported[4]; /* evmjit__report_drops */
    evmjit__entry *retired_entries;
    evmjit__table *retired_tables;
    char compiler_id[192];
};

static const evmjit_allocator *evmjit__a(const evmjit_runtime *rt) { return &rt->cfg.allocator; }

static void evmjit__list_push(evmjit__job_list *l, evmjit__job *j) {
    j->next = NULL;
    if (l->tail) l->tail->next = j;
    else l->head = j;
    l->tail = j;
    l->n++;
}
static void evmjit__list_push_front(evmjit__job_list *l, evmjit__job *j) {
    j->next = l->head;
    l->head = j;
    if (!l->tail) l->tail = j;
    l->n++;
}
static evmjit__job *evmjit__list_pop(evmjit__job_list *l) {
    evmjit__job *j = l->head;
    if (!j) return NULL;
    l->head = j->next;
    if (!l->head) l->tail = NULL;
    l->n--;
    j->next = NULL;
    return j;
}
/* Moves everything out of *l (O(1)). */
static evmjit__job_list evmjit__list_take(evmjit__job_list *l) {
    evmjit__job_list r = *l;
    memset(l, 0, sizeof *l);
    return r;
}

/* ---- the resident table (one writer: the backend thread) ---------------------------------- */

static size_t evmjit__table_bytes(size_t cap) {
    return sizeof(evmjit__table) + cap * sizeof(_Atomic(evmjit__entry *));
}

static evmjit__table *evmjit__table_new(evmjit_runtime *rt, size_t cap) {
    evmjit__table *t = (evmjit__table *)evmjit__alloc(evmjit__a(rt), evmjit__table_bytes(cap));
    if (!t) return NULL;
    t->mask = cap - 1;
    t->live = t->tombstones = 0;
    t->retire_epoch = 0;
    t->next_retired = NULL;
    for (size_t i = 0; i < cap; i++) atomic_init(&t->slots[i], NULL);
    return t;
}

static void evmjit__table_free(evmjit_runtime *rt, evmjit__table *t) {
    evmjit__free(evmjit__a(rt), t, evmjit__table_bytes(t->mask + 1));
}

/* Readers (inside a read section) and the writer. Visits at most capacity / 2 + 1 slots. */
static inline evmjit__entry *evmjit__table_find(evmjit__table *t, const evmjit_bytes32 *h,
                                                evmjit_revision rev) {
    size_t i = (size_t)evmjit__key_hash(h, rev) & t->mask;
    for (size_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        /* seq_cst: ordered after our epoch store (reclamation); acquire: the entry's fields */
        evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_seq_cst);
        if (!e) return NULL;
        if (e != EVMJIT__TOMBSTONE && e->pub.rev == rev && evmjit__key_eq(&e->pub.code_hash, h))
            return e;
    }
    return NULL;
}

static void evmjit__retire_table(evmjit_runtime *rt, evmjit__table *t) {
    /* seq_cst: the epoch advances after the table was unpublished (see DESIGN) */
    t->retire_epoch = atomic_fetch_add_explicit(&evmjit__global_epoch, 1, memory_order_seq_cst);
    t->next_retired = rt->retired_tables;
    rt->retired_tables = t;
    EVMJIT__ADD(rt, retired_waiting, 1);
}

/* Copies the live entries into a table of `cap` slots and publishes it. Writer; O(capacity). */
static bool evmjit__table_rebuild(evmjit_runtime *rt, size_t cap) {
    evmjit__table *old = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    evmjit__table *t = evmjit__table_new(rt, cap);
    if (!t) return false;
    for (size_t i = 0; i <= old->mask; i++) {
        evmjit__entry *e = atomic_load_explicit(&old->slots[i], memory_order_relaxed);
        if (!e || e == EVMJIT__TOMBSTONE) continue;
        size_t j = (size_t)evmjit__key_hash(&e->pub.code_hash, e->pub.rev) & t->mask;
        while (atomic_load_explicit(&t->slots[j], memory_order_relaxed)) j = (j + 1) & t->mask;
        atomic_store_explicit(&t->slots[j], e, memory_order_relaxed); /* not yet published */
        t->live++;
    }
    /* seq_cst: publishes the filled table (release) and orders it before the retire epoch */
    atomic_store_explicit(&rt->table, t, memory_order_seq_cst);
    evmjit__retire_table(rt, old);
    return true;
}

/* Adds e (whose key is not in the table). Writer. Amortised O(1). */
static bool evmjit__table_insert(evmjit_runtime *rt, evmjit__entry *e) {
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    if ((t->live + t->tombstones + 1) * 2 > t->mask + 1) {
        size_t cap = 16;
        while (cap < (t->live + 1) * 4) cap *= 2;
        if (!evmjit__table_rebuild(rt, cap)) return false;
        t = atomic_load_explicit(&rt->table, memory_order_relaxed);
    }
    size_t i = (size_t)evmjit__key_hash(&e->pub.code_hash, e->pub.rev) & t->mask;
    for (;;) {
        evmjit__entry *s = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (!s || s == EVMJIT__TOMBSTONE) {
            if (s) t->tombstones--;
            /* seq_cst (release): publishes the entry's fields to readers */
            atomic_store_explicit(&t->slots[i], e, memory_order_seq_cst);
            t->live++;
            return true;
        }
        i = (i + 1) & t->mask;
    }
}

static void evmjit__entry_free(evmjit_runtime *rt, evmjit__entry *e) {
    if (atomic_load_explicit(&e->state, memory_order_relaxed) == EVMJIT__READY) {
        if (e->pub.kind == EVMJIT_PROGRAM_JIT) {
            if (e->code && rt->cfg.backend && rt->cfg.backend->free_code)
                rt->cfg.backend->free_code(rt->cfg.backend->user, e->code);
            EVMJIT__SUB(rt, jit_code_bytes, e->pub.code_bytes);
        } else {
            if (rt->cfg.store && rt->cfg.store->unload)
                rt->cfg.store->unload(rt->cfg.store->user, &e->artifact);
            EVMJIT__SUB(rt, aot_code_bytes, e->pub.code_bytes);
        }
        EVMJIT__ADD(rt, programs_freed, 1);
    }
    evmjit__free(evmjit__a(rt), e, sizeof *e);
}

/* Unlinks e from the table and retires it. Writer. O(probe length). */
static void evmjit__table_remove(evmjit_runtime *rt, evmjit__entry *e) {
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    size_t i = (size_t)evmjit__key_hash(&e->pub.code_hash, e->pub.rev) & t->mask;
    for (size_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        evmjit__entry *s = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (!s) return;
        if (s != e) continue;
        /* seq_cst: the unlink precedes the retire epoch and our record scans (see DESIGN) */
        atomic_store_explicit(&t->slots[i], EVMJIT__TOMBSTONE, memory_order_seq_cst);
        t->live--;
        t->tombstones++;
        break;
    }
    int st = atomic_load_explicit(&e->state, memory_order_relaxed);
    if (st == EVMJIT__READY) {
        EVMJIT__SUB(rt, resident_entries, 1);
        if (e->pub.kind == EVMJIT_PROGRAM_JIT) {
            EVMJIT__SUB(rt, resident_jit, 1);
            rt->resident_jit_bytes -= e->pub.code_bytes;
        } else {
            EVMJIT__SUB(rt, resident_aot, 1);
        }
    } else if (st == EVMJIT__WANTED) {
        rt->wanted--;
    }
    /* seq_cst: the epoch advances after the unlink (see DESIGN) */
    e->retire_epoch = atomic_fetch_add_explicit(&evmjit__global_epoch, 1, memory_order_seq_cst);
    e->next_retired = rt->retired_entries;
    rt->retired_entries = e;
    EVMJIT__ADD(rt, retired_waiting, 1);
}

/* Frees retired entries and tables that no reader can see and nobody references. Backend.
   O(reader records + retired objects). */
static void evmjit__reclaim(evmjit_runtime *rt) {
    if (!rt->retired_entries && !rt->retired_tables) return;
    uint64_t oldest = evmjit__oldest_reader_epoch();
    evmjit__entry **pe = &rt->retired_entries;
    while (*pe) {
        evmjit__entry *e = *pe;
        /* acquire: pairs with evmjit_program_release; the holders' uses happen before the free */
        if (e->retire_epoch < oldest && atomic_load_explicit(&e->refs, memory_order_acquire) == 0) {
            *pe = e->next_retired;
            evmjit__entry_free(rt, e);
            EVMJIT__SUB(rt, retired_waiting, 1);
        } else {
            pe = &e->next_retired;
        }
    }
    evmjit__table **pt = &rt->retired_tables;
    while (*pt) {
        evmjit__table *t = *pt;
        if (t->retire_epoch < oldest) {
            *pt = t->next_retired;
            evmjit__table_free(rt, t);
            EVMJIT__SUB(rt, retired_waiting, 1);
        } else {
            pt = &t->next_retired;
        }
    }
}

/* ---- backend-private maps ---------------------------------------------------------------- */

static evmjit__map_item *evmjit__map_find(evmjit__map *m, const evmjit_bytes32 *h,
                                          evmjit_revision rev) {
    if (!m->cap) return NULL;
    size_t i = (size_t)evmjit__key_hash(h, rev) & (m->cap - 1);
    while (m->items[i].used) {
        if (m->items[i].rev == (uint32_t)rev && evmjit__key_eq(&m->items[i].code_hash, h))
            return &m->items[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static void evmjit__map_place(evmjit__map *m, const evmjit__map_item *it) {
    size_t i = (size_t)evmjit__key_hash(&it->code_hash, (evmjit_revision)it->rev) & (m->cap - 1);
    while (m->items[i].used) i = (i + 1) & (m->cap - 1);
    m->items[i] = *it;
}

/* A new zeroed item for a key that is absent; NULL when out of memory. Amortised O(1). */
static evmjit__map_item *evmjit__map_insert(evmjit_runtime *rt, evmjit__map *m,
                                            const evmjit_bytes32 *h, evmjit_revision rev) {
    if ((m->size + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        evmjit__map_item *items =
            (evmjit__map_item *)evmjit__calloc(evmjit__a(rt), cap * sizeof *items);
        if (!items) return NULL;
        evmjit__map old = *m;
        m->items = items;
        m->cap = cap;
        for (size_t i = 0; i < old.cap; i++)
            if (old.items[i].used) evmjit__map_place(m, &old.items[i]);
        evmjit__free(evmjit__a(rt), old.items, old.cap * sizeof *old.items);
    }
    evmjit__map_item it;
    memset(&it, 0, sizeof it);
    it.code_hash = *h;
    it.rev = (uint32_t)rev;
    it.used = 1;
    evmjit__map_place(m, &it);
    m->size++;
    return evmjit__map_find(m, h, rev);
}

/* Backward-shift deletion: the items after it move back so no probe breaks. O(cluster). */
static void evmjit__map_remove(evmjit__map *m, evmjit__map_item *it) {
    size_t mask = m->cap - 1, i = (size_t)(it - m->items), j = i;
    m->items[i].used = 0;
    m->size--;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->items[j].used) return;
        size_t k = (size_t)evmjit__key_hash(&m->items[j].code_hash,
                                            (evmjit_revision)m->items[j].rev) & mask;
        /* leave items whose home k lies cyclically in (i, j] */
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        m->items[i] = m->items[j];
        m->items[j].used = 0;
        i = j;
    }
}

static void evmjit__map_free(evmjit_runtime *rt, evmjit__map *m) {
    evmjit__free(evmjit__a(rt), m->items, m->cap * sizeof *m->items);
    memset(m, 0, sizeof *m);
}

/* ---- the event ring (many producers: callers; one consumer: the backend) ------------------ */

/* Records one lookup event. Never blocks, never allocates: one CAS to claim a cell, retried
   only when another producer claimed it first. A full ring drops the event and counts it. */
static bool evmjit__ring_push(evmjit_runtime *rt, const evmjit_bytes32 *h, evmjit_revision rev,
                              uint32_t kind) {
    uint64_t pos = atomic_load_explicit(&rt->ring_tail, memory_order_relaxed);
    evmjit__event *ev;
    for (;;) {
        ev = &rt->cells[pos & rt->ring_mask];
        /* acquire: the consumer has finished reading this cell's previous lap */
        uint64_t seq = atomic_load_explicit(&ev->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - pos);
        if (dif == 0) {
            /* relaxed: the cell's seq, not tail, carries the payload */
            if (atomic_compare_exchange_weak_explicit(&rt->ring_tail, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (dif < 0) {
            EVMJIT__ADD(rt, dropped_events, 1);
            return false;
        } else {
            pos = atomic_load_explicit(&rt->ring_tail, memory_order_relaxed);
        }
    }
    ev->kind = kind;
    ev->rev = (uint32_t)rev;
    ev->code_hash = *h;
    /* release: publishes the event's payload to the consumer */
    atomic_store_explicit(&ev->seq, pos + 1, memory_order_release);
    return true;
}

/* The next event, if its producer has published it. Backend thread only. */
static bool evmjit__ring_pop(evmjit_runtime *rt, uint32_t *kind, evmjit_revision *rev,
                             evmjit_bytes32 *h) {
    uint64_t head = atomic_load_explicit(&rt->ring_head, memory_order_relaxed); /* ours */
    evmjit__event *ev = &rt->cells[head & rt->ring_mask];
    /* acquire: the producer's payload */
    if (atomic_load_explicit(&ev->seq, memory_order_acquire) != head + 1) return false;
    *kind = ev->kind;
    *rev = (evmjit_revision)ev->rev;
    *h = ev->code_hash;
    /* release: we are done reading; the producer of the next lap may overwrite the cell */
    atomic_store_explicit(&ev->seq, head + rt->ring_mask + 1, memory_order_release);
    atomic_store_explicit(&rt->ring_head, head + 1, memory_order_relaxed); /* gauge only */
    return true;
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static evmjit__job *evmjit__job_new(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                    const uint8_t *code, size_t code_size, evmjit_revision rev,
                                    evmjit_program_kind kind) {
    evmjit__job *job = (evmjit__job *)evmjit__calloc(evmjit__a(rt), sizeof *job);
    if (!job) return NULL;
    job->code = (uint8_t *)evmjit__alloc(evmjit__a(rt), code_size);
    if (!job->code) {
        evmjit__free(evmjit__a(rt), job, sizeof *job);
        return NULL;
    }
    memcpy(job->code, code, code_size);
    job->rt = rt;
    job->code_hash = *h;
    job->rev = rev;
    job->code_size = code_size;
    job->kind = kind;
    return job;
}

/* Frees what a worker produced and nobody published. */
static void evmjit__job_drop_output(evmjit_runtime *rt, evmjit__job *job) {
    if (job->have_artifact && rt->cfg.store && rt->cfg.store->unload)
        rt->cfg.store->unload(rt->cfg.store->user, &job->artifact);
    job->have_artifact = false;
    if (job->kind == EVMJIT_PROGRAM_JIT && job->error == EVMJIT_OK && job->out.code &&
        rt->cfg.backend && rt->cfg.backend->free_code)
        rt->cfg.backend->free_code(rt->cfg.backend->user, job->out.code);
    job->out.code = NULL;
    job->out.fn = NULL;
}

static void evmjit__job_free(evmjit_runtime *rt, evmjit__job *job) {
    evmjit__job_drop_output(rt, job);
    evmjit__free(evmjit__a(rt), job->code, job->code_size);
    evmjit__free(evmjit__a(rt), job, sizeof *job);
}

static void evmjit__list_free(evmjit_runtime *rt, evmjit__job_list *l) {
    evmjit__job *j;
    while ((j = evmjit__list_pop(l)) != NULL) evmjit__job_free(rt, j);
}

/* ---- workers ------------------------------------------------------------------------------- */

static void evmjit__name_thread(const char *name) {
#if defined(__linux__)
    prctl(PR_SET_NAME, name, 0, 0, 0);
#else
    (void)name;
#endif
}

/* Compilers poll this: shutdown, or a clear made the job stale. Worker threads. */
static bool evmjit__job_cancelled(const evmjit_compile_request *req) {
    const evmjit__job *job = (const evmjit__job *)req->runtime_private;
    evmjit_runtime *rt = job->rt;
    return atomic_load_explicit(&rt->stopping, memory_order_relaxed) ||
           job->generation != atomic_load_explicit(&rt->generation, memory_order_relaxed);
}

static void evmjit__job_fail(evmjit__job *job, evmjit_error e, const char *why) {
    job->error = e;
    if (!job->out.message[0]) snprintf(job->out.message, sizeof job->out.message, "%s", why);
}

/* Runs one job on a worker: AOT jobs try the store first; then compile (and for AOT store and
   load). The worker's compiler is created on first use and recycled after recycle_after
   compilations. Blocks for as long as the compiler takes. */
static void evmjit__run_job(evmjit_runtime *rt, evmjit__job *job, void **compiler,
                            uint64_t *uses) {
    const evmjit_backend *be = rt->cfg.backend;
    const evmjit_artifact_store *st = rt->cfg.store;
    uint64_t t0 = evmjit__now_ns(), queue_ns = t0 - job->admitted_ns, store_ns = 0, load_ns = 0;
    memset(&job->out, 0, sizeof job->out);
    job->error = EVMJIT_OK;
    job->from_store = job->have_artifact = false;
    evmjit_compile_request req;
    memset(&req, 0, sizeof req);
    req.code_hash = job->code_hash;
    req.rev = job->rev;
    req.code = job->code;
    req.code_size = job->code_size;
    req.opt_level = rt->cfg.opt_level - 1;
    req.cancelled = evmjit__job_cancelled;
    req.runtime_private = job;
    evmjit_error err;
    if (job->kind == EVMJIT_PROGRAM_AOT) {
        uint64_t t = evmjit__now_ns();
        err = st->load(st->user, &job->code_hash, job->rev, &job->artifact);
        load_ns = evmjit__now_ns() - t;
        if (err == EVMJIT_OK) {
            job->have_artifact = job->from_store = true;
            goto done;
        }
        if (err != EVMJIT_ERR_NOT_FOUND) EVMJIT__ADD(rt, store_errors, 1);
    }
    if (!be) {
        evmjit__job_fail(job, EVMJIT_ERR_UNSUPPORTED, "no compiler backend (desc.backend is NULL)");
        goto done;
    }
    if (!*compiler) {
        err = be->create_compiler(be->user, rt->cfg.opt_level - 1, compiler, job->out.message,
                                  sizeof job->out.message);
        if (err != EVMJIT_OK || !*compiler) {
            *compiler = NULL;
            evmjit__job_fail(job, err != EVMJIT_OK ? err : EVMJIT_ERR_COMPILE_FAILED,
                             "the backend could not create a compiler");
            goto done;
        }
        EVMJIT__ADD(rt, compiler_creates, 1);
        *uses = 0;
    }
    if (job->kind == EVMJIT_PROGRAM_JIT) {
        err = be->compile_jit(be->user, *compiler, &req, &job->out);
        if (err == EVMJIT_OK && !job->out.fn) {
            if (job->out.code && be->free_code) be->free_code(be->user, job->out.code);
            job->out.code = NULL;
            err = EVMJIT_ERR_COMPILE_FAILED;
            snprintf(job->out.message, sizeof job->out.message, "backend returned no function");
        }
        if (err != EVMJIT_OK) evmjit__job_fail(job, err, "compilation failed");
    } else if (!be->compile_aot) {
        evmjit__job_fail(job, EVMJIT_ERR_UNSUPPORTED, "the backend cannot compile AOT");
    } else {
        err = be->compile_aot(be->user, *compiler, &req, &job->out);
        if (err == EVMJIT_OK) {
            evmjit_artifact_object obj;
            memset(&obj, 0, sizeof obj);
            obj.code_hash = job->code_hash;
            obj.rev = job->rev;
            obj.compiler = rt->compiler_id;
            obj.symbol = job->out.symbol;
            obj.target = job->out.target;
            obj.object = job->out.object;
            obj.object_size = job->out.object_size;
            obj.code_size = job->code_size;
            uint64_t t = evmjit__now_ns();
            err = st->store(st->user, &obj);
            store_ns = evmjit__now_ns() - t;
            if (be->free_object) be->free_object(be->user, &job->out);
            job->out.object = NULL;
            if (err == EVMJIT_OK) {
                EVMJIT__ADD(rt, aot_stored, 1);
                t = evmjit__now_ns();
                err = st->load(st->user, &job->code_hash, job->rev, &job->artifact);
                load_ns = evmjit__now_ns() - t;
                if (err == EVMJIT_OK) job->have_artifact = true;
                else evmjit__job_fail(job, err, "stored artifact could not be loaded");
            } else {
                evmjit__job_fail(job, err, "artifact store refused the object");
            }
            if (err != EVMJIT_OK) EVMJIT__ADD(rt, store_errors, 1);
        } else {
            evmjit__job_fail(job, err, "AOT compilation failed");
        }
    }
    (*uses)++;
    if (rt->cfg.recycle_after != EVMJIT_OFF && *uses >= rt->cfg.recycle_after) {
        be->destroy_compiler(be->user, *compiler);
        *compiler = NULL;
    }
done:
    job->out.times.queue_ns = queue_ns;
    job->out.times.store_ns = store_ns;
    job->out.times.load_ns = load_ns;
    job->out.times.total_ns = evmjit__now_ns() - t0;
    if (!job->out.times.total_ns) job->out.times.total_ns = 1;
}

/* Marks this thread finished for evmjit_runtime_destroy's timed join. */
static void evmjit__thread_exited(evmjit_runtime *rt) {
    atomic_fetch_sub_explicit(&rt->threads_running, 1, memory_order_relaxed);
    mtx_lock(&rt->mtx);
    rt->threads_exited++;
    cnd_broadcast(&rt->exit_cnd);
    mtx_unlock(&rt->mtx);
}

static int evmjit__worker_main(void *arg) {
    evmjit_runtime *rt = (evmjit_runtime *)arg;
    void *compiler = NULL;
    uint64_t uses = 0;
    evmjit__name_thread("evmjit-worker");
    mtx_lock(&rt->mtx);
    for (;;) {
        while (!rt->shutdown && !rt->queue.head) cnd_wait(&rt->worker_cnd, &rt->mtx);
        if (rt->shutdown) break;
        evmjit__job *job = evmjit__list_pop(&rt->queue);
        mtx_unlock(&rt->mtx);
        evmjit__run_job(rt, job, &compiler, &uses);
        mtx_lock(&rt->mtx);
        evmjit__list_push(&rt->results, job);
        atomic_store_explicit(&rt->wake, true, memory_order_relaxed); /* under mtx */
        cnd_signal(&rt->backend_cnd);
    }
    mtx_unlock(&rt->mtx);
    if (compiler) rt->cfg.backend->destroy_compiler(rt->cfg.backend->user, compiler);
    evmjit__thread_exited(rt);
    return 0;
}

/* ---- the backend: admission and publication ---------------------------------------------- */

/* ms since the runtime was created, + 1 (0 means "never" in entry timestamps). */
static uint64_t evmjit__clock_now(const evmjit_runtime *rt) {
    return (evmjit__now_ns() - rt->start_ns) / 1000000u + 1;
}

static uint64_t evmjit__generation(evmjit_runtime *rt) {
    return atomic_load_explicit(&rt->generation, memory_order_relaxed); /* a plain counter */
}

static uint64_t evmjit__in_flight(const evmjit_runtime *rt) { return rt->inflight.size + rt->wanted; }

static evmjit__entry *evmjit__entry_new(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                        evmjit_revision rev, size_t code_size, int state) {
    evmjit__entry *e = (evmjit__entry *)evmjit__calloc(evmjit__a(rt), sizeof *e);
    if (!e) return NULL;
    e->pub.code_hash = *h;
    e->pub.rev = rev;
    e->pub.code_size = code_size;
    e->generation = evmjit__generation(rt);
    atomic_init(&e->state, state);
    atomic_init(&e->refs, 0);
    e->created_ms = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
    atomic_init(&e->last_hit_ms, e->created_ms);
    atomic_init(&e->claimed_ms, 0);
    return e;
}

/* Wakes every compile_sync caller waiting for this key. entry: READY (each gets a counted
   reference) or NULL with the error. O(waiters). */
static void evmjit__complete_waiters(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                     evmjit_revision rev, evmjit__entry *entry, evmjit_error err) {
    bool any = false;
    mtx_lock(&rt->mtx);
    for (evmjit__waiter *w = rt->waiters; w; w = w->next) {
        if (w->done || w->rev != rev || !evmjit__key_eq(&w->code_hash, h)) continue;
        if (entry) atomic_fetch_add_explicit(&entry->refs, 1, memory_order_relaxed); /* resident */
        w->entry = entry;
        w->error = err;
        w->done = true;
        any = true;
    }
    if (any) cnd_broadcast(&rt->done_cnd);
    mtx_unlock(&rt->mtx);
}

static bool evmjit__has_waiters(evmjit_runtime *rt, const evmjit_bytes32 *h, evmjit_revision rev) {
    bool any = false;
    mtx_lock(&rt->mtx);
    for (evmjit__waiter *w = rt->waiters; w && !any; w = w->next)
        any = !w->done && w->rev == rev && evmjit__key_eq(&w->code_hash, h);
    mtx_unlock(&rt->mtx);
    return any;
}

/* Admits a request: ignored if the key is resident or a current job has it; merged into a
   running job of an older generation (run again afterwards); refused at max_in_flight;
   otherwise the key's entry becomes COMPILING and the job waits in the pending list (urgent
   jobs first). Backend. O(1) amortised. */
static void evmjit__admit(evmjit_runtime *rt, evmjit__job *job) {
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    evmjit__entry *e = evmjit__table_find(t, &job->code_hash, job->rev);
    int st = e ? atomic_load_explicit(&e->state, memory_order_relaxed) : 0;
    if (st == EVMJIT__READY) {
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, e, EVMJIT_OK);
        evmjit__job_free(rt, job);
        return;
    }
    evmjit__map_item *fl = evmjit__map_find(&rt->inflight, &job->code_hash, job->rev);
    if (fl && fl->job->generation == evmjit__generation(rt)) { /* compiling now: share it */
        evmjit__job_free(rt, job);
        return;
    }
    if (!fl && st != EVMJIT__WANTED && st != EVMJIT__COMPILING &&
        evmjit__in_flight(rt) >= rt->cfg.max_in_flight) {
        EVMJIT__ADD(rt, dropped_jobs, 1); /* reported by evmjit__report_drops */
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, NULL, EVMJIT_ERR_BUSY);
        evmjit__job_free(rt, job);
        return;
    }
    if (!e) {
        e = evmjit__entry_new(rt, &job->code_hash, job->rev, job->code_size, EVMJIT__COMPILING);
        if (!e || !evmjit__table_insert(rt, e)) {
            if (e) evmjit__free(evmjit__a(rt), e, sizeof *e);
            evmjit__complete_waiters(rt, &job->code_hash, job->rev, NULL, EVMJIT_ERR_OUT_OF_MEMORY);
            evmjit__job_free(rt, job);
            return;
        }
        if (!fl) EVMJIT__ADD(rt, admitted, 1);
    } else if (st != EVMJIT__COMPILING) {
        if (st == EVMJIT__WANTED) rt->wanted--;
        else if (!fl) EVMJIT__ADD(rt, admitted, 1); /* FAILED: an explicit retry */
        e->pub.code_size = job->code_size;
        atomic_store_explicit(&e->state, EVMJIT__COMPILING, memory_order_relaxed); /* not READY */
    }
    evmjit__map_item *cold = evmjit__map_find(&rt->cold, &job->code_hash, job->rev);
    if (cold) evmjit__map_remove(&rt->cold, cold);
    if (fl) { /* an older generation's job still runs for this key: run again after it */
        fl->job->rerun = true;
        fl->job->urgent |= job->urgent;
        fl->job->rerun_kind = job->kind;
        evmjit__job_free(rt, job);
        return;
    }
    fl = evmjit__map_insert(rt, &rt->inflight, &job->code_hash, job->rev);
    if (!fl) {
        atomic_store_explicit(&e->state, EVMJIT__FAILED, memory_order_release); /* nothing new */
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, NULL, EVMJIT_ERR_OUT_OF_MEMORY);
        evmjit__job_free(rt, job);
        return;
    }
    fl->job = job;
    job->generation = e->generation;
    job->admitted_ns = evmjit__now_ns();
    if (job->urgent) evmjit__list_push_front(&rt->pending, job);
    else evmjit__list_push(&rt->pending, job);
}

static void evmjit__notify(evmjit_runtime *rt, const evmjit__job *job, bool published) {
    if (!rt->cfg.on_compilation) return;
    evmjit_compilation_info info;
    memset(&info, 0, sizeof info);
    info.code_hash = job->code_hash;
    info.rev = job->rev;
    info.kind = job->kind;
    info.success = job->error == EVMJIT_OK;
    info.published = published;
    info.from_store = job->from_store;
    info.error = job->error;
    info.message = info.success ? "" : job->out.message;
    info.code_size = job->code_size;
    info.code_bytes = job->kind == EVMJIT_PROGRAM_JIT ? job->out.code_bytes : job->artifact.code_bytes;
    info.times = job->out.times;
    rt->cfg.on_compilation(&info, rt->cfg.on_compilation_user);
}

/* A job of an older generation (finished, or never started): its output is dropped; if a
   newer request or a compile_sync caller still wants the key it is admitted again for the
   current generation, else freed. Backend. */
static void evmjit__stale_job(evmjit_runtime *rt, evmjit__job *job) {
    evmjit__map_item *fl = evmjit__map_find(&rt->inflight, &job->code_hash, job->rev);
    if (fl && fl->job == job) evmjit__map_remove(&rt->inflight, fl);
    evmjit__job_drop_output(rt, job);
    EVMJIT__ADD(rt, discarded, 1);
    if (!job->rerun && !evmjit__has_waiters(rt, &job->code_hash, job->rev)) {
        evmjit__job_free(rt, job);
        return;
    }
    if (job->rerun) job->kind = job->rerun_kind;
    job->rerun = false;
    job->error = EVMJIT_OK;
    evmjit__admit(rt, job);
}

/* Publishes a worker's result: the key's COMPILING entry becomes READY (or FAILED), waiters
   wake, the callback runs. A result of an older generation is discarded. Backend. */
static void evmjit__finish(evmjit_runtime *rt, evmjit__job *job) {
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    evmjit__entry *e = evmjit__table_find(t, &job->code_hash, job->rev);
    if (job->generation != evmjit__generation(rt) || !e || e->generation != job->generation ||
        atomic_load_explicit(&e->state, memory_order_relaxed) != EVMJIT__COMPILING) {
        evmjit__notify(rt, job, false);
        evmjit__stale_job(rt, job);
        return;
    }
    evmjit__map_item *fl = evmjit__map_find(&rt->inflight, &job->code_hash, job->rev);
    if (fl && fl->job == job) evmjit__map_remove(&rt->inflight, fl);
    if (job->error == EVMJIT_OK) {
        e->pub.kind = job->kind;
        if (job->kind == EVMJIT_PROGRAM_JIT) {
            e->pub.fn = job->out.fn;
            e->pub.code_bytes = job->out.code_bytes;
            e->code = job->out.code;
            job->out.code = NULL; /* the entry owns it now */
            EVMJIT__ADD(rt, jit_code_bytes, e->pub.code_bytes);
            EVMJIT__ADD(rt, resident_jit, 1);
            rt->resident_jit_bytes += e->pub.code_bytes;
        } else {
            e->pub.fn = job->artifact.fn;
            e->pub.code_bytes = job->artifact.code_bytes;
            e->artifact = job->artifact;
            job->have_artifact = false; /* the entry owns it now */
            EVMJIT__ADD(rt, aot_code_bytes, e->pub.code_bytes);
            EVMJIT__ADD(rt, resident_aot, 1);
            EVMJIT__ADD(rt, aot_loaded, 1);
        }
        atomic_store_explicit(&e->last_hit_ms,
                              atomic_load_explicit(&rt->clock_ms, memory_order_relaxed),
                              memory_order_relaxed);
        /* release: publishes fn, kind and code_bytes to readers that see READY */
        atomic_store_explicit(&e->state, EVMJIT__READY, memory_order_release);
        EVMJIT__ADD(rt, resident_entries, 1);
        EVMJIT__ADD(rt, succeeded, 1);
        evmjit__notify(rt, job, true); /* before the waiters wake: they see it has run */
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, e, EVMJIT_OK);
    } else {
        e->created_ms = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
        atomic_store_explicit(&e->state, EVMJIT__FAILED, memory_order_release); /* no payload */
        EVMJIT__ADD(rt, failed, 1);
        evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN, "compilation failed (%s): %s",
                     evmjit_error_name(job->error), job->out.message);
        evmjit__notify(rt, job, false);
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, NULL,
                                 job->error == EVMJIT_ERR_SHUTDOWN ? EVMJIT_ERR_SHUTDOWN
                                                                   : EVMJIT_ERR_COMPILE_FAILED);
    }
    evmjit__job_free(rt, job);
}

/* ---- the backend: hotness, dispatch, eviction, the loop ---------------------------------- */

/* One drained lookup event: count the miss; for a key without an entry, count its hotness
   (cold-key map, bounded by max_cold_keys) and when it has threshold - 1 observed misses make
   it WANTED, so that the next caller to miss it hands over its code. Backend. O(1). */
static void evmjit__observe(evmjit_runtime *rt, uint32_t kind, evmjit_revision rev,
                            const evmjit_bytes32 *h) {
    EVMJIT__ADD(rt, misses, 1);
    if (kind != EVMJIT__EV_UNKNOWN || !rt->can_hot || rt->threshold <= 1 ||
        rt->threshold == EVMJIT_OFF)
        return;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    if (evmjit__table_find(t, h, rev) || evmjit__map_find(&rt->inflight, h, rev)) return;
    evmjit__map_item *c = evmjit__map_find(&rt->cold, h, rev);
    if (!c) {
        if (rt->cold.size >= rt->cfg.max_cold_keys ||
            !(c = evmjit__map_insert(rt, &rt->cold, h, rev))) {
            EVMJIT__ADD(rt, dropped_cold_keys, 1);
            return;
        }
    }
    c->count++;
    c->last_ms = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
    if (c->count + 1 < rt->threshold) return;
    if (evmjit__in_flight(rt) >= rt->cfg.max_in_flight) {
        EVMJIT__ADD(rt, dropped_jobs, 1);
        return;
    }
    evmjit__entry *e = evmjit__entry_new(rt, h, rev, 0, EVMJIT__WANTED);
    if (!e || !evmjit__table_insert(rt, e)) {
        if (e) evmjit__free(evmjit__a(rt), e, sizeof *e);
        return;
    }
    evmjit__map_remove(&rt->cold, c);
    rt->wanted++;
    EVMJIT__ADD(rt, admitted, 1);
}

/* Drains at most drain_batch events, or (all) every event pushed before this call, waiting
   for producers that claimed a cell and have not filled it yet. Returns true if events were
   left behind. Backend. */
static bool evmjit__drain(evmjit_runtime *rt, bool all) {
    uint64_t target = atomic_load_explicit(&rt->ring_tail, memory_order_relaxed);
    uint32_t kind;
    evmjit_revision rev;
    evmjit_bytes32 h;
    for (uint64_t n = 0;; n++) {
        if (!all && n >= rt->cfg.drain_batch) return true;
        if (evmjit__ring_pop(rt, &kind, &rev, &h)) {
            evmjit__observe(rt, kind, rev, &h);
            continue;
        }
        uint64_t head = atomic_load_explicit(&rt->ring_head, memory_order_relaxed);
        if (!all || head >= target || atomic_load_explicit(&rt->stopping, memory_order_relaxed))
            return false;
        thrd_yield(); /* a producer is between its claim and its publish */
    }
}

/* Moves pending jobs to the worker queue while it has room (workers x queue_per_worker) and
   the runtime is not paused. Stale jobs are re-admitted or dropped. Backend. O(pending). */
static void evmjit__dispatch(evmjit_runtime *rt) {
    if (atomic_load_explicit(&rt->pause_depth, memory_order_relaxed) != 0 || !rt->pending.n) return;
    size_t cap = (size_t)rt->workers * (size_t)rt->cfg.queue_per_worker, room;
    mtx_lock(&rt->mtx);
    room = cap > rt->queue.n ? cap - rt->queue.n : 0; /* workers only make more room */
    mtx_unlock(&rt->mtx);
    evmjit__job_list batch = {NULL, NULL, 0};
    for (size_t n = rt->pending.n; room && n && rt->pending.head; n--) {
        evmjit__job *job = evmjit__list_pop(&rt->pending);
        if (job->generation != evmjit__generation(rt)) {
            evmjit__stale_job(rt, job);
            continue;
        }
        evmjit__list_push(&batch, job);
        room--;
    }
    if (!batch.n) return;
    EVMJIT__ADD(rt, dispatched, batch.n);
    mtx_lock(&rt->mtx);
    evmjit__job *job;
    while ((job = evmjit__list_pop(&batch)) != NULL) {
        if (job->urgent) evmjit__list_push_front(&rt->queue, job);
        else evmjit__list_push(&rt->queue, job);
    }
    cnd_broadcast(&rt->worker_cnd);
    mtx_unlock(&rt->mtx);
}

/* Idle eviction: programs not hit, failures not retried and WANTED keys not handed over for
   idle_eviction_ms go; so do cold keys not missed for that long. Backend. O(capacity). */
static void evmjit__sweep(evmjit_runtime *rt, uint64_t now) {
    uint64_t idle = rt->cfg.idle_eviction_ms;
    if (idle == EVMJIT_OFF) return;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    for (size_t i = 0; i <= t->mask; i++) {
        evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (!e || e == EVMJIT__TOMBSTONE) continue;
        int st = atomic_load_explicit(&e->state, memory_order_relaxed);
        uint64_t last = e->created_ms;
        if (st == EVMJIT__COMPILING) continue;
        if (st == EVMJIT__READY) last = atomic_load_explicit(&e->last_hit_ms, memory_order_relaxed);
        if (st == EVMJIT__WANTED) {
            uint64_t c = atomic_load_explicit(&e->claimed_ms, memory_order_relaxed);
            if (c > last) last = c;
        }
        if (now < last || now - last < idle) continue;
        evmjit__table_remove(rt, e); /* leaves a tombstone in slot i: the walk stays valid */
        if (st == EVMJIT__READY) {
            EVMJIT__ADD(rt, evictions, 1);
            EVMJIT__ADD(rt, evictions_idle, 1);
        }
    }
    for (size_t i = 0; i < rt->cold.cap; i++) {
        /* a removal shifts a later item into slot i: look at i again */
        while (rt->cold.items[i].used && now >= rt->cold.items[i].last_ms &&
               now - rt->cold.items[i].last_ms >= idle)
            evmjit__map_remove(&rt->cold, &rt->cold.items[i]);
    }
}

/* While resident JIT code exceeds jit_budget_bytes, evict the least recently hit JIT program
   (ties: the oldest). Backend. O(evictions x capacity); runs only when over budget. */
static void evmjit__enforce_budget(evmjit_runtime *rt) {
    uint64_t budget = rt->cfg.jit_budget_bytes;
    while (budget != EVMJIT_OFF && rt->resident_jit_bytes > budget) {
        evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
        evmjit__entry *victim = NULL;
        uint64_t vhit = 0;
        for (size_t i = 0; i <= t->mask; i++) {
            evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
            if (!e || e == EVMJIT__TOMBSTONE || e->pub.kind != EVMJIT_PROGRAM_JIT ||
                atomic_load_explicit(&e->state, memory_order_relaxed) != EVMJIT__READY)
                continue;
            uint64_t hit = atomic_load_explicit(&e->last_hit_ms, memory_order_relaxed);
            if (!victim || hit < vhit || (hit == vhit && e->created_ms < victim->created_ms)) {
                victim = e;
                vhit = hit;
            }
        }
        if (!victim) break;
        evmjit__table_remove(rt, victim);
        EVMJIT__ADD(rt, evictions, 1);
        EVMJIT__ADD(rt, evictions_budget, 1);
    }
}

/* Logs, at most once per second, how much work each bound dropped since the last report,
   naming the setting to change. Backend. */
static void evmjit__report_drops(evmjit_runtime *rt, uint64_t now) {
    static const struct {
        size_t offset;
        const char *what;
    } bounds[4] = {
        {offsetof(evmjit__counters, dropped_events), "lookup events dropped: event ring full; raise ring_capacity"},
        {offsetof(evmjit__counters, dropped_commands), "requests refused: request queue full; raise max_in_flight"},
        {offsetof(evmjit__counters, dropped_jobs), "compilations refused at max_in_flight; raise max_in_flight"},
        {offsetof(evmjit__counters, dropped_cold_keys), "misses not tracked: max_cold_keys reached; raise max_cold_keys"},
    };
    if (now < rt->next_report_ms) return;
    for (int i = 0; i < 4; i++) {
        _Atomic uint64_t *c = (_Atomic uint64_t *)((char *)&rt->c + bounds[i].offset);
        uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
        if (v <= rt->reported[i]) continue;
        evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN, "%llu %s",
                     (unsigned long long)(v - rt->reported[i]), bounds[i].what);
        rt->reported[i] = v;
        rt->next_report_ms = now + 1000;
    }
}

/* Entries of an older generation leave the table (a clear happened). Backend. O(capacity). */
static void evmjit__purge_stale(evmjit_runtime *rt) {
    uint64_t g = evmjit__generation(rt);
    if (g == rt->seen_generation) return;
    rt->seen_generation = g;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    for (size_t i = 0; i <= t->mask; i++) {
        evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (e && e != EVMJIT__TOMBSTONE && e->generation != g) evmjit__table_remove(rt, e);
    }
}

static int evmjit__backend_main(void *arg) {
    evmjit_runtime *rt = (evmjit_runtime *)arg;
    evmjit__name_thread("evmjit-backend");
    mtx_lock(&rt->mtx);
    for (;;) {
        /* relaxed: wake is a hint; the lists it announces are read under mtx */
        if (!rt->shutdown && !atomic_exchange_explicit(&rt->wake, false, memory_order_relaxed)) {
            uint64_t now = evmjit__clock_now(rt), wait = rt->cfg.wake_interval_ms;
            if (rt->cfg.idle_eviction_ms != EVMJIT_OFF && rt->next_sweep_ms > now &&
                rt->next_sweep_ms - now < wait)
                wait = rt->next_sweep_ms - now;
            struct timespec deadline = evmjit__deadline(wait ? wait : 1);
            cnd_timedwait(&rt->backend_cnd, &rt->mtx, &deadline);
            atomic_store_explicit(&rt->wake, false, memory_order_relaxed);
        }
        if (rt->shutdown) break;
        evmjit__job_list requests = evmjit__list_take(&rt->requests);
        evmjit__job_list results = evmjit__list_take(&rt->results);
        atomic_store_explicit(&rt->c.queued_commands, 0, memory_order_relaxed);
        uint64_t sync_target = rt->sync_requested;
        bool sync = sync_target > rt->sync_done;
        mtx_unlock(&rt->mtx);

        uint64_t now = evmjit__clock_now(rt);
        atomic_store_explicit(&rt->clock_ms, now, memory_order_relaxed); /* a coarse clock */
        evmjit__purge_stale(rt);
        evmjit__job *job;
        while ((job = evmjit__list_pop(&results)) != NULL) evmjit__finish(rt, job);
        while ((job = evmjit__list_pop(&requests)) != NULL) evmjit__admit(rt, job);
        bool more = evmjit__drain(rt, sync);
        evmjit__dispatch(rt);
        if (rt->cfg.idle_eviction_ms != EVMJIT_OFF && now >= rt->next_sweep_ms) {
            evmjit__sweep(rt, now);
            rt->next_sweep_ms = now + rt->cfg.sweep_interval_ms;
        }
        evmjit__enforce_budget(rt);
        evmjit__reclaim(rt);
        evmjit__report_drops(rt, now);
        atomic_store_explicit(&rt->c.pending_jobs, evmjit__in_flight(rt), memory_order_relaxed);
        atomic_store_explicit(&rt->c.tracked_cold_keys, rt->cold.size, memory_order_relaxed);

        mtx_lock(&rt->mtx);
        if (sync_target > rt->sync_done) {
            rt->sync_done = sync_target;
            cnd_broadcast(&rt->done_cnd);
        }
        /* relaxed: under mtx; loop again at once when the batch bound left events behind */
        if (more) atomic_store_explicit(&rt->wake, true, memory_order_relaxed);
    }
    mtx_unlock(&rt->mtx);
    evmjit__thread_exited(rt);
    return 0;
}

/* Starts the backend and the workers once. On failure everything started is stopped and
   joined again, and the runtime stays without threads. Any thread; blocks for thrd_create. */
static evmjit_error evmjit__start_threads(evmjit_runtime *rt) {
    /* acquire: the threads and their state exist */
    if (atomic_load_explicit(&rt->started, memory_order_acquire)) return EVMJIT_OK;
    evmjit_error err = EVMJIT_OK;
    mtx_lock(&rt->start_mtx);
    if (atomic_load_explicit(&rt->started, memory_order_relaxed)) {
        mtx_unlock(&rt->start_mtx);
        return EVMJIT_OK;
    }
    rt->threads_created = 0;
    atomic_fetch_add_explicit(&rt->threads_running, 1, memory_order_relaxed);
    if (thrd_create(&rt->backend_thread, evmjit__backend_main, rt) != thrd_success) {
        atomic_fetch_sub_explicit(&rt->threads_running, 1, memory_order_relaxed);
        err = EVMJIT_ERR_THREAD;
    } else {
        rt->threads_created = 1;
    }
    for (int i = 0; i < rt->workers && err == EVMJIT_OK; i++) {
        atomic_fetch_add_explicit(&rt->threads_running, 1, memory_order_relaxed);
        if (thrd_create(&rt->worker_threads[i], evmjit__worker_main, rt) != thrd_success) {
            atomic_fetch_sub_explicit(&rt->threads_running, 1, memory_order_relaxed);
            err = EVMJIT_ERR_THREAD;
        } else {
            rt->threads_created++;
        }
    }
    if (err != EVMJIT_OK) {
        evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_ERROR,
                     "could not start runtime threads; lower worker_threads");
        mtx_lock(&rt->mtx);
        rt->shutdown = true;
        cnd_broadcast(&rt->backend_cnd);
        cnd_broadcast(&rt->worker_cnd);
        mtx_unlock(&rt->mtx);
        if (rt->threads_created >= 1) thrd_join(rt->backend_thread, NULL);
        for (uint32_t i = 1; i < rt->threads_created; i++) thrd_join(rt->worker_threads[i - 1], NULL);
        mtx_lock(&rt->mtx);
        rt->shutdown = false;
        rt->threads_exited = 0;
        mtx_unlock(&rt->mtx);
        rt->threads_created = 0;
    } else {
        /* release: the threads exist for whoever sees started */
        atomic_store_explicit(&rt->started, true, memory_order_release);
    }
    mtx_unlock(&rt->start_mtx);
    return err;
}

/* ---- create, settings, destroy ----------------------------------------------------------- */

static evmjit_error evmjit__bad_setting(const evmjit_logger *lg, const char *what) {
    evmjit__logf(lg, EVMJIT_LOG_ERROR, "invalid runtime setting: %s", what);
    return EVMJIT_ERR_INVALID_ARGUMENT;
}

static uint64_t evmjit__or_default(uint64_t v, uint64_t def) { return v ? v : def; }

/* Fills *c from *in with every default resolved; INVALID_ARGUMENT (logged, naming the
   setting) for a nonsense value. */
static evmjit_error evmjit__resolve_desc(const evmjit_runtime_desc *in, evmjit_runtime_desc *c) {
    const evmjit_logger *lg = &in->logger;
    *c = *in;
    if (!c->allocator.alloc != !c->allocator.free)
        return evmjit__bad_setting(lg, "allocator: set both alloc and free, or neither");
    const evmjit_backend *be = c->backend;
    if (be && (!be->create_compiler || !be->destroy_compiler || !be->compile_jit || !be->free_code))
        return evmjit__bad_setting(lg, "backend: create_compiler, destroy_compiler, compile_jit "
                                       "and free_code are required");
    if (be && be->compile_aot && !be->free_object)
        return evmjit__bad_setting(lg, "backend: compile_aot needs free_object");
    const evmjit_artifact_store *st = c->store;
    if (st && (!st->load || !st->store || !st->unload))
        return evmjit__bad_setting(lg, "store: load, store and unload are required");
    if ((unsigned)c->mode > (unsigned)EVMJIT_MODE_AOT)
        return evmjit__bad_setting(lg, "mode: EVMJIT_MODE_JIT or EVMJIT_MODE_AOT");
    if (c->mode == EVMJIT_MODE_AOT && !st)
        return evmjit__bad_setting(lg, "mode: EVMJIT_MODE_AOT needs a store");
    if (c->mode == EVMJIT_MODE_DEFAULT) c->mode = EVMJIT_MODE_JIT;
    if (c->opt_level < 0 || c->opt_level > EVMJIT_O3)
        return evmjit__bad_setting(lg, "opt_level: EVMJIT_O0..EVMJIT_O3, or 0 for the default");
    if (!c->opt_level) c->opt_level = EVMJIT_O2;
    if (c->worker_threads < EVMJIT_NO_WORKERS || c->worker_threads > 64)
        return evmjit__bad_setting(lg, "worker_threads: EVMJIT_NO_WORKERS, 0 (default) or 1..64");
    if (!c->worker_threads) {
        long cpus = 1;
#if defined(_SC_NPROCESSORS_ONLN)
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
#endif
        long w = cpus > 0 ? (cpus + 1) / 2 : 1;
        c->worker_threads = (int)(w < 1 ? 1 : w > 4 ? 4 : w);
    }
    c->hot_threshold = evmjit__or_default(c->hot_threshold, 8);
    c->max_code_size = evmjit__or_default(c->max_code_size, 24576);
    c->max_in_flight = evmjit__or_default(c->max_in_flight, 2048);
    if (!c->max_cold_keys)
        c->max_cold_keys = c->max_in_flight > UINT64_MAX / 10 ? UINT64_MAX : 10 * c->max_in_flight;
    c->queue_per_worker = evmjit__or_default(c->queue_per_worker, 64);
    if (c->queue_per_worker > (1u << 20))
        return evmjit__bad_setting(lg, "queue_per_worker: at most 1048576");
    c->ring_capacity = evmjit__or_default(c->ring_capacity, 4096);
    if (c->ring_capacity < 2 || c->ring_capacity > (1u << 24) ||
        (c->ring_capacity & (c->ring_capacity - 1)))
        return evmjit__bad_setting(lg, "ring_capacity: a power of two from 2 to 16777216");
    c->drain_batch = evmjit__or_default(c->drain_batch, 4096);
    c->wake_interval_ms = evmjit__or_default(c->wake_interval_ms, 100);
    if (c->wake_interval_ms > 3600000)
        return evmjit__bad_setting(lg, "wake_interval_ms: at most 3600000 (one hour)");
    c->idle_eviction_ms = evmjit__or_default(c->idle_eviction_ms, 600000);
    c->sweep_interval_ms = evmjit__or_default(c->sweep_interval_ms, 60000);
    if (c->sweep_interval_ms > 86400000)
        return evmjit__bad_setting(lg, "sweep_interval_ms: at most 86400000 (one day)");
    c->jit_budget_bytes = evmjit__or_default(c->jit_budget_bytes, (uint64_t)1 << 30);
    c->recycle_after = evmjit__or_default(c->recycle_after, 1000);
    c->shutdown_timeout_ms = evmjit__or_default(c->shutdown_timeout_ms, 5000);
    c->compile_timeout_ms = evmjit__or_default(c->compile_timeout_ms, 60000);
    return EVMJIT_OK;
}

/* Frees everything a runtime owns; no runtime thread may be running. Unloads and frees every
   program regardless of readers (the caller contract: none are left). */
static void evmjit__runtime_free(evmjit_runtime *rt) {
    evmjit__list_free(rt, &rt->requests);
    evmjit__list_free(rt, &rt->queue);
    evmjit__list_free(rt, &rt->results);
    evmjit__list_free(rt, &rt->pending);
    evmjit__map_free(rt, &rt->inflight); /* its jobs were in the lists */
    evmjit__map_free(rt, &rt->cold);
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed);
    if (t) {
        for (size_t i = 0; i <= t->mask; i++) {
            evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
            if (e && e != EVMJIT__TOMBSTONE) evmjit__entry_free(rt, e);
        }
        evmjit__table_free(rt, t);
    }
    while (rt->retired_entries) {
        evmjit__entry *e = rt->retired_entries;
        rt->retired_entries = e->next_retired;
        evmjit__entry_free(rt, e);
    }
    while (rt->retired_tables) {
        evmjit__table *r = rt->retired_tables;
        rt->retired_tables = r->next_retired;
        evmjit__table_free(rt, r);
    }
    const evmjit_allocator *a = evmjit__a(rt);
    evmjit__free(a, rt->hits_raw, EVMJIT_READER_SLOTS * sizeof(evmjit__hit_counter) + EVMJIT__CACHE_LINE);
    evmjit__free(a, rt->cells_raw, (size_t)(rt->ring_mask + 1) * sizeof(evmjit__event) + EVMJIT__CACHE_LINE);
    evmjit__free(a, rt->worker_threads, (size_t)rt->workers * sizeof(thrd_t));
    mtx_destroy(&rt->mtx);
    mtx_destroy(&rt->start_mtx);
    cnd_destroy(&rt->backend_cnd);
    cnd_destroy(&rt->worker_cnd);
    cnd_destroy(&rt->done_cnd);
    cnd_destroy(&rt->exit_cnd);
    evmjit_allocator alloc = rt->cfg.allocator;
    evmjit__free(&alloc, rt->raw, sizeof *rt + EVMJIT__CACHE_LINE);
}

/* load_all's sink: one preloaded artifact becomes a READY AOT entry (creating thread, before
   any other thread exists). Duplicates and unusable artifacts are unloaded and skipped. */
static evmjit_error evmjit__preload_sink(void *ctx, const evmjit_artifact *a) {
    evmjit_runtime *rt = (evmjit_runtime *)ctx;
    const evmjit_artifact_store *st = rt->cfg.store;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed);
    if (!a->fn || (unsigned)a->rev > EVMJIT_MAX_REVISION || evmjit__table_find(t, &a->code_hash, a->rev)) {
        st->unload(st->user, a);
        return EVMJIT_OK;
    }
    evmjit__entry *e = evmjit__entry_new(rt, &a->code_hash, a->rev, a->code_size, EVMJIT__READY);
    if (!e) {
        st->unload(st->user, a);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    e->pub.kind = EVMJIT_PROGRAM_AOT;
    e->pub.fn = a->fn;
    e->pub.code_bytes = a->code_bytes;
    e->artifact = *a;
    if (!evmjit__table_insert(rt, e)) {
        st->unload(st->user, a);
        evmjit__free(evmjit__a(rt), e, sizeof *e);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    EVMJIT__ADD(rt, resident_entries, 1);
    EVMJIT__ADD(rt, resident_aot, 1);
    EVMJIT__ADD(rt, aot_code_bytes, a->code_bytes);
    EVMJIT__ADD(rt, aot_loaded, 1);
    return EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_runtime_create(const evmjit_runtime_desc *desc,
                                             evmjit_runtime **out) {
    if (!out) return EVMJIT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    evmjit_runtime_desc defaults, cfg;
    memset(&defaults, 0, sizeof defaults);
    evmjit_error err = evmjit__resolve_desc(desc ? desc : &defaults, &cfg);
    if (err != EVMJIT_OK) return err;
    void *raw;
    evmjit_runtime *rt = (evmjit_runtime *)evmjit__alloc_aligned(&cfg.allocator, sizeof *rt, &raw);
    if (!rt) return EVMJIT_ERR_OUT_OF_MEMORY;
    rt->raw = raw;
    rt->cfg = cfg;
    int sync_ok = 0; /* how many of the six primitives below exist */
    if (mtx_init(&rt->mtx, mtx_plain) == thrd_success) sync_ok++;
    if (sync_ok == 1 && mtx_init(&rt->start_mtx, mtx_plain) == thrd_success) sync_ok++;
    if (sync_ok == 2 && cnd_init(&rt->backend_cnd) == thrd_success) sync_ok++;
    if (sync_ok == 3 && cnd_init(&rt->worker_cnd) == thrd_success) sync_ok++;
    if (sync_ok == 4 && cnd_init(&rt->done_cnd) == thrd_success) sync_ok++;
    if (sync_ok == 5 && cnd_init(&rt->exit_cnd) == thrd_success) sync_ok++;
    if (sync_ok < 6) {
        if (sync_ok > 4) cnd_destroy(&rt->done_cnd);
        if (sync_ok > 3) cnd_destroy(&rt->worker_cnd);
        if (sync_ok > 2) cnd_destroy(&rt->backend_cnd);
        if (sync_ok > 1) mtx_destroy(&rt->start_mtx);
        if (sync_ok > 0) mtx_destroy(&rt->mtx);
        evmjit__free(&cfg.allocator, raw, sizeof *rt + EVMJIT__CACHE_LINE);
        return EVMJIT_ERR_THREAD;
    }
    const evmjit_allocator *a = evmjit__a(rt);
    rt->workers = cfg.worker_threads > 0 ? cfg.worker_threads : 0;
    rt->threshold = cfg.hot_threshold;
    rt->can_jit = cfg.backend && rt->workers > 0;
    rt->can_aot = cfg.store && rt->workers > 0;
    rt->can_hot = cfg.mode == EVMJIT_MODE_AOT ? (rt->can_aot && cfg.backend && cfg.backend->compile_aot)
                                              : rt->can_jit;
    rt->ring_mask = cfg.ring_capacity - 1;
    rt->start_ns = evmjit__now_ns();
    atomic_init(&rt->clock_ms, 1);
    rt->next_sweep_ms = 1 + cfg.sweep_interval_ms;
    atomic_init(&rt->table, NULL);
    atomic_init(&rt->generation, 0);
    atomic_init(&rt->enabled, false);
    atomic_init(&rt->pause_depth, 0);
    atomic_init(&rt->wake, false);
    atomic_init(&rt->stopping, false);
    atomic_init(&rt->started, false);
    atomic_init(&rt->threads_running, 0);
    if (cfg.backend)
        snprintf(rt->compiler_id, sizeof rt->compiler_id, "%s %s O%d",
                 cfg.backend->name ? cfg.backend->name : "?",
                 cfg.backend->version ? cfg.backend->version : "?", cfg.opt_level - 1);
    rt->hits = (evmjit__hit_counter *)evmjit__alloc_aligned(
        a, EVMJIT_READER_SLOTS * sizeof(evmjit__hit_counter), &rt->hits_raw);
    rt->cells = (evmjit__event *)evmjit__alloc_aligned(
        a, (size_t)cfg.ring_capacity * sizeof(evmjit__event), &rt->cells_raw);
    rt->worker_threads = rt->workers ? (thrd_t *)evmjit__calloc(a, (size_t)rt->workers * sizeof(thrd_t)) : NULL;
    evmjit__table *t = evmjit__table_new(rt, 16);
    atomic_init(&rt->table, t);
    if (!rt->hits || !rt->cells || !t || (rt->workers && !rt->worker_threads)) {
        evmjit__runtime_free(rt);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < EVMJIT_READER_SLOTS; i++) atomic_init(&rt->hits[i].n, 0);
    for (uint64_t i = 0; i <= rt->ring_mask; i++) atomic_init(&rt->cells[i].seq, i);
    atomic_init(&rt->ring_tail, 0);
    atomic_init(&rt->ring_head, 0);
    if (cfg.store && cfg.store->load_all) {
        err = cfg.store->load_all(cfg.store->user, evmjit__preload_sink, rt);
        if (err != EVMJIT_OK) {
            evmjit__logf(&cfg.logger, EVMJIT_LOG_ERROR, "artifact store '%s': load_all failed: %s",
                         cfg.store->name ? cfg.store->name : "?", evmjit_error_name(err));
            evmjit__runtime_free(rt);
            return err;
        }
    }
    if (cfg.enabled) {
        err = evmjit__start_threads(rt);
        if (err != EVMJIT_OK) {
            evmjit__runtime_free(rt);
            return err;
        }
        atomic_store_explicit(&rt->enabled, true, memory_order_relaxed); /* a flag */
    }
    *out = rt;
    return EVMJIT_OK;
}

EVMJIT_API void evmjit_runtime_settings(const evmjit_runtime *rt, evmjit_runtime_desc *out) {
    if (!out) return;
    if (!rt) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = rt->cfg;
}

EVMJIT_API evmjit_error evmjit_runtime_destroy(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_OK;
    /* acquire: the threads exist */
    if (atomic_load_explicit(&rt->started, memory_order_acquire)) {
        atomic_store_explicit(&rt->stopping, true, memory_order_relaxed); /* compilers poll it */
        struct timespec deadline = evmjit__deadline(rt->cfg.shutdown_timeout_ms);
        mtx_lock(&rt->mtx);
        rt->shutdown = true;
        cnd_broadcast(&rt->backend_cnd);
        cnd_broadcast(&rt->worker_cnd);
        cnd_broadcast(&rt->done_cnd);
        while (rt->threads_exited < rt->threads_created)
            if (cnd_timedwait(&rt->exit_cnd, &rt->mtx, &deadline) == thrd_timedout &&
                evmjit__deadline_passed(&deadline))
                break;
        bool all = rt->threads_exited >= rt->threads_created;
        mtx_unlock(&rt->mtx);
        if (!all) {
            evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_ERROR,
                         "runtime threads did not stop within %llu ms; they are detached and "
                         "the runtime is leaked; raise shutdown_timeout_ms",
                         (unsigned long long)rt->cfg.shutdown_timeout_ms);
            if (rt->threads_created >= 1) thrd_detach(rt->backend_thread);
            for (uint32_t i = 1; i < rt->threads_created; i++) thrd_detach(rt->worker_threads[i - 1]);
            return EVMJIT_ERR_TIMEOUT;
        }
        if (rt->threads_created >= 1) thrd_join(rt->backend_thread, NULL);
        for (uint32_t i = 1; i < rt->threads_created; i++) thrd_join(rt->worker_threads[i - 1], NULL);
    }
    evmjit__runtime_free(rt);
    return EVMJIT_OK;
}

/* ---- enable, pause --------------------------------------------------------------------------- */

EVMJIT_API evmjit_error evmjit_runtime_enable(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_error err = evmjit__start_threads(rt);
    if (err != EVMJIT_OK) return err;
    atomic_store_explicit(&rt->enabled, true, memory_order_relaxed); /* a flag */
    return EVMJIT_OK;
}

EVMJIT_API void evmjit_runtime_disable(evmjit_runtime *rt) {
    if (rt) atomic_store_explicit(&rt->enabled, false, memory_order_relaxed); /* a flag */
}

/* Wakes the backend without taking its mutex (never blocks). A wake-up lost to the race with
   the backend going to sleep costs at most one wake_interval_ms. */
static void evmjit__poke(evmjit_runtime *rt) {
    if (!atomic_load_explicit(&rt->started, memory_order_acquire)) return; /* acquire: cnd in use */
    atomic_store_explicit(&rt->wake, true, memory_order_relaxed); /* a hint */
    cnd_signal(&rt->backend_cnd);
}

EVMJIT_API uint32_t evmjit_runtime_pause(evmjit_runtime *rt) {
    if (!rt) return 0;
    return atomic_fetch_add_explicit(&rt->pause_depth, 1, memory_order_relaxed) + 1; /* a counter */
}

EVMJIT_API evmjit_error evmjit_runtime_resume(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    uint32_t d = atomic_load_explicit(&rt->pause_depth, memory_order_relaxed);
    do {
        if (d == 0) return EVMJIT_ERR_INVALID_ARGUMENT;
    } while (!atomic_compare_exchange_weak_explicit(&rt->pause_depth, &d, d - 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    if (d == 1) evmjit__poke(rt); /* dispatch what waited */
    return EVMJIT_OK;
}

EVMJIT_API const char *evmjit_lookup_outcome_name(evmjit_lookup_outcome outcome) {
    static const char *const names[] = {
#define EVMJIT_LOOKUP_TEXT(name, text) text,
        EVMJIT_LOOKUP_OUTCOMES(EVMJIT_LOOKUP_TEXT)
#undef EVMJIT_LOOKUP_TEXT
    };
    if ((unsigned)outcome >= (unsigned)EVMJIT_LOOKUP_OUTCOME_COUNT) return "unknown outcome";
    return names[outcome];
}

/* ---- lookup and references --------------------------------------------------------------- */

/* Offers a WANTED key's code hand-over to this caller: once, and again after
   EVMJIT__WANT_REASK_MS if nobody honoured it. One CAS on a miss path. */
static bool evmjit__claim(evmjit_runtime *rt, evmjit__entry *e) {
    uint64_t now = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
    uint64_t c = atomic_load_explicit(&e->claimed_ms, memory_order_relaxed);
    if (c && (now < c || now - c < EVMJIT__WANT_REASK_MS)) return false;
    /* relaxed: only decides which caller is asked; no data travels with it */
    return atomic_compare_exchange_strong_explicit(&e->claimed_ms, &c, now, memory_order_relaxed,
                                                   memory_order_relaxed);
}

/* The lookup. On HIT the caller stays inside its read section until evmjit_lookup_release.
   count: record the lookup (hit counter or miss event). Never blocks, never allocates; the
   hit path writes only this thread's record and hit counter (and an entry's last-hit time
   once per backend tick). Visits at most capacity / 2 + 1 table slots. */
static evmjit_lookup_outcome evmjit__lookup(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                            const uint8_t *code, size_t code_size,
                                            evmjit_revision rev, evmjit_program **program,
                                            bool count) {
    if (program) *program = NULL;
    if (!rt) return EVMJIT_LOOKUP_DISABLED;
    if (!h || !program || (!code && code_size) || (unsigned)rev > EVMJIT_MAX_REVISION)
        return EVMJIT_LOOKUP_INVALID;
    if (!atomic_load_explicit(&rt->enabled, memory_order_relaxed)) return EVMJIT_LOOKUP_DISABLED;
    if (code_size == 0 || code_size > rt->cfg.max_code_size) {
        if (count) evmjit__ring_push(rt, h, rev, EVMJIT__EV_KNOWN);
        return EVMJIT_LOOKUP_INELIGIBLE;
    }
    int slot = evmjit__read_enter();
    /* seq_cst: ordered after our epoch store (reclamation); acquire: the table's slots */
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_seq_cst);
    evmjit__entry *e = evmjit__table_find(t, h, rev);
    evmjit_lookup_outcome o;
    uint32_t kind = EVMJIT__EV_KNOWN;
    if (e && e->generation == atomic_load_explicit(&rt->generation, memory_order_relaxed)) {
        /* acquire: fn, kind and code_bytes were written before READY */
        int st = atomic_load_explicit(&e->state, memory_order_acquire);
        if (st == EVMJIT__READY) {
            uint64_t now = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
            if (atomic_load_explicit(&e->last_hit_ms, memory_order_relaxed) != now)
                atomic_store_explicit(&e->last_hit_ms, now, memory_order_relaxed); /* once per tick */
            if (count) {
                if (slot >= 0) { /* only this thread writes its counter: no read-modify-write */
                    _Atomic uint64_t *n = &rt->hits[slot].n;
                    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                                          memory_order_relaxed);
                } else {
                    atomic_fetch_add_explicit(&rt->hits_overflow, 1, memory_order_relaxed);
                }
            }
            *program = &e->pub;
            return EVMJIT_LOOKUP_HIT;
        }
        if (st == EVMJIT__FAILED) o = EVMJIT_LOOKUP_FAILED;
        else if (st == EVMJIT__WANTED && evmjit__claim(rt, e)) o = EVMJIT_LOOKUP_WANT_CODE;
        else o = EVMJIT_LOOKUP_NOT_READY;
    } else {
        kind = EVMJIT__EV_UNKNOWN;
        o = rt->can_hot && rt->threshold <= 1 ? EVMJIT_LOOKUP_WANT_CODE : EVMJIT_LOOKUP_NOT_READY;
    }
    evmjit__read_exit();
    if (count) evmjit__ring_push(rt, h, rev, kind);
    return o;
}

EVMJIT_API void evmjit_lookup_release(evmjit_runtime *rt, evmjit_program *program) {
    (void)rt;
    if (program) evmjit__read_exit();
}

EVMJIT_API evmjit_program *evmjit_program_acquire(evmjit_runtime *rt, evmjit_program *program) {
    (void)rt;
    if (program) { /* relaxed: the caller already holds a reference, so the entry is alive */
        evmjit__entry *e = (evmjit__entry *)program;
        atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    }
    return program;
}

EVMJIT_API void evmjit_program_release(evmjit_runtime *rt, evmjit_program *program) {
    (void)rt;
    if (!program) return;
    evmjit__entry *e = (evmjit__entry *)program;
    /* release: our uses of the program happen before the backend's free (acquire in reclaim) */
    uint32_t old = atomic_fetch_sub_explicit(&e->refs, 1, memory_order_release);
    EVMJIT_ASSERT(old > 0);
    (void)old;
}

/* ---- requests -------------------------------------------------------------------------------- */

static evmjit_error evmjit__check_request(const evmjit_runtime *rt, const evmjit_bytes32 *h,
                                          const uint8_t *code, size_t code_size,
                                          evmjit_revision rev) {
    if (!rt || !h || (!code && code_size) || (unsigned)rev > EVMJIT_MAX_REVISION)
        return EVMJIT_ERR_INVALID_ARGUMENT;
    if (code_size == 0 || code_size > rt->cfg.max_code_size) return EVMJIT_ERR_INELIGIBLE;
    return EVMJIT_OK;
}

static evmjit_error evmjit__unsupported(const evmjit_runtime *rt, const char *what) {
    evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN, "%s", what);
    return EVMJIT_ERR_UNSUPPORTED;
}

static evmjit_program_kind evmjit__mode_kind(const evmjit_runtime *rt) {
    return rt->cfg.mode == EVMJIT_MODE_AOT ? EVMJIT_PROGRAM_AOT : EVMJIT_PROGRAM_JIT;
}

/* Copies the code into a request and hands it to the backend (with a waiter, linked under
   the same lock). Any thread; O(code size) copy, then O(1) under rt->mtx. */
static evmjit_error evmjit__submit(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                   const uint8_t *code, size_t code_size, evmjit_revision rev,
                                   evmjit_program_kind kind, evmjit__waiter *w) {
    evmjit_error err = evmjit__start_threads(rt);
    if (err != EVMJIT_OK) return err;
    evmjit__job *job = evmjit__job_new(rt, h, code, code_size, rev, kind);
    if (!job) return EVMJIT_ERR_OUT_OF_MEMORY;
    job->urgent = w != NULL;
    mtx_lock(&rt->mtx);
    if (rt->shutdown || rt->requests.n >= rt->cfg.max_in_flight) {
        bool down = rt->shutdown;
        mtx_unlock(&rt->mtx);
        evmjit__job_free(rt, job);
        if (down) return EVMJIT_ERR_SHUTDOWN;
        EVMJIT__ADD(rt, dropped_commands, 1); /* reported by evmjit__report_drops */
        return EVMJIT_ERR_BUSY;
    }
    evmjit__list_push(&rt->requests, job);
    atomic_store_explicit(&rt->c.queued_commands, rt->requests.n, memory_order_relaxed);
    if (w) {
        w->prev = NULL;
        w->next = rt->waiters;
        if (rt->waiters) rt->waiters->prev = w;
        rt->waiters = w;
    }
    atomic_store_explicit(&rt->wake, true, memory_order_relaxed); /* under mtx */
    cnd_signal(&rt->backend_cnd);
    mtx_unlock(&rt->mtx);
    return EVMJIT_OK;
}

/* Resident already: a counted reference without asking anyone. */
static bool evmjit__resident_ref(evmjit_runtime *rt, const evmjit_bytes32 *h, evmjit_revision rev,
                                 evmjit_program **program) {
    evmjit__read_enter();
    /* seq_cst: as in evmjit__lookup */
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_seq_cst);
    evmjit__entry *e = evmjit__table_find(t, h, rev);
    bool ok = e && e->generation == atomic_load_explicit(&rt->generation, memory_order_relaxed) &&
              /* acquire: the program's fields */
              atomic_load_explicit(&e->state, memory_order_acquire) == EVMJIT__READY;
    if (ok && program) *program = evmjit_program_acquire(rt, &e->pub);
    evmjit__read_exit();
    return ok;
}

/* Requests the key (urgent) and waits for its result with an absolute deadline. */
static evmjit_error evmjit__compile_wait(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                         const uint8_t *code, size_t code_size,
                                         evmjit_revision rev, evmjit_program_kind kind,
                                         uint64_t timeout_ms, evmjit_program **program) {
    if (evmjit__resident_ref(rt, h, rev, program)) return EVMJIT_OK;
    evmjit__waiter w;
    memset(&w, 0, sizeof w);
    w.code_hash = *h;
    w.rev = rev;
    evmjit_error err = evmjit__submit(rt, h, code, code_size, rev, kind, &w);
    if (err != EVMJIT_OK) return err;
    struct timespec deadline = evmjit__deadline(timeout_ms ? timeout_ms : rt->cfg.compile_timeout_ms);
    mtx_lock(&rt->mtx);
    while (!w.done && !rt->shutdown)
        if (cnd_timedwait(&rt->done_cnd, &rt->mtx, &deadline) == thrd_timedout &&
            evmjit__deadline_passed(&deadline))
            break;
    if (w.prev) w.prev->next = w.next;
    else rt->waiters = w.next;
    if (w.next) w.next->prev = w.prev;
    bool down = rt->shutdown;
    mtx_unlock(&rt->mtx);
    if (!w.done) return down ? EVMJIT_ERR_SHUTDOWN : EVMJIT_ERR_TIMEOUT;
    if (w.error != EVMJIT_OK) return w.error;
    if (program) *program = &w.entry->pub;
    else evmjit_program_release(rt, &w.entry->pub);
    return EVMJIT_OK;
}

EVMJIT_API evmjit_lookup_outcome evmjit_lookup_blocking(evmjit_runtime *rt,
                                                        const evmjit_bytes32 *code_hash,
                                                        const uint8_t *code, size_t code_size,
                                                        evmjit_revision rev, uint64_t timeout_ms,
                                                        evmjit_program **program) {
    evmjit_lookup_outcome o = evmjit__lookup(rt, code_hash, code, code_size, rev, program, true);
    if (o != EVMJIT_LOOKUP_NOT_READY && o != EVMJIT_LOOKUP_WANT_CODE) return o;
    if (!rt->can_hot) return EVMJIT_LOOKUP_FAILED; /* nothing can compile: answer at once */
    if (evmjit__compile_wait(rt, code_hash, code, code_size, rev, evmjit__mode_kind(rt), timeout_ms,
                             NULL) != EVMJIT_OK)
        return EVMJIT_LOOKUP_FAILED;
    o = evmjit__lookup(rt, code_hash, code, code_size, rev, program, false);
    return o == EVMJIT_LOOKUP_HIT ? o : EVMJIT_LOOKUP_NOT_READY; /* cleared or evicted meanwhile */
}

EVMJIT_API evmjit_lookup_outcome evmjit_lookup(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                               const uint8_t *code, size_t code_size,
                                               evmjit_revision rev, evmjit_program **program) {
    if (rt && rt->cfg.blocking)
        return evmjit_lookup_blocking(rt, code_hash, code, code_size, rev, 0, program);
    return evmjit__lookup(rt, code_hash, code, code_size, rev, program, true);
}

EVMJIT_API evmjit_error evmjit_compile(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                       const uint8_t *code, size_t code_size, evmjit_revision rev) {
    evmjit_error err = evmjit__check_request(rt, code_hash, code, code_size, rev);
    if (err != EVMJIT_OK) return err;
    if (!rt->can_hot)
        return evmjit__unsupported(rt, "cannot compile: set desc.backend and worker_threads "
                                       "(and desc.store for EVMJIT_MODE_AOT)");
    return evmjit__submit(rt, code_hash, code, code_size, rev, evmjit__mode_kind(rt), NULL);
}

EVMJIT_API evmjit_error evmjit_compile_sync(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                            const uint8_t *code, size_t code_size,
                                            evmjit_revision rev, uint64_t timeout_ms,
                                            evmjit_program **program) {
    if (program) *program = NULL;
    evmjit_error err = evmjit__check_request(rt, code_hash, code, code_size, rev);
    if (err != EVMJIT_OK) return err;
    if (!rt->can_hot)
        return evmjit__unsupported(rt, "cannot compile: set desc.backend and worker_threads "
                                       "(and desc.store for EVMJIT_MODE_AOT)");
    return evmjit__compile_wait(rt, code_hash, code, code_size, rev, evmjit__mode_kind(rt),
                                timeout_ms, program);
}

EVMJIT_API evmjit_error evmjit_prepare_aot(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                           const uint8_t *code, size_t code_size,
                                           evmjit_revision rev) {
    evmjit_error err = evmjit__check_request(rt, code_hash, code, code_size, rev);
    if (err != EVMJIT_OK) return err;
    if (!rt->can_aot)
        return evmjit__unsupported(rt, "prepare_aot needs desc.store and worker_threads");
    return evmjit__submit(rt, code_hash, code, code_size, rev, EVMJIT_PROGRAM_AOT, NULL);
}

EVMJIT_API evmjit_error evmjit_prepare_aot_batch(evmjit_runtime *rt, const evmjit_code_ref *items,
                                                 size_t count, size_t *accepted) {
    evmjit_error first = EVMJIT_OK;
    size_t n = 0;
    if (accepted) *accepted = 0;
    if (!rt || (!items && count)) return EVMJIT_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++) {
        evmjit_error err = evmjit_prepare_aot(rt, &items[i].code_hash, items[i].code,
                                              items[i].code_size, items[i].rev);
        if (err == EVMJIT_OK) n++;
        else if (first == EVMJIT_OK) first = err;
    }
    if (accepted) *accepted = n;
    return first;
}

/* ---- clear, sync, statistics ------------------------------------------------------------- */

EVMJIT_API evmjit_error evmjit_clear_resident(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    /* relaxed: readers compare entry generations with it; no data travels with it */
    atomic_fetch_add_explicit(&rt->generation, 1, memory_order_relaxed);
    evmjit__poke(rt);
    return EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_clear_persisted(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    if (!rt->cfg.store || !rt->cfg.store->clear)
        return evmjit__unsupported(rt, "clear_persisted needs desc.store with clear");
    return rt->cfg.store->clear(rt->cfg.store->user);
}

EVMJIT_API evmjit_error evmjit_clear_all(evmjit_runtime *rt) {
    evmjit_error err = evmjit_clear_resident(rt);
    if (err != EVMJIT_OK || !rt->cfg.store || !rt->cfg.store->clear) return err;
    return rt->cfg.store->clear(rt->cfg.store->user);
}

EVMJIT_API evmjit_error evmjit_runtime_sync(evmjit_runtime *rt, uint64_t timeout_ms) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    /* acquire: the threads exist; without them no event or request is waiting */
    if (!atomic_load_explicit(&rt->started, memory_order_acquire)) return EVMJIT_OK;
    struct timespec deadline = evmjit__deadline(timeout_ms ? timeout_ms : rt->cfg.compile_timeout_ms);
    mtx_lock(&rt->mtx);
    uint64_t ticket = ++rt->sync_requested;
    atomic_store_explicit(&rt->wake, true, memory_order_relaxed); /* under mtx */
    cnd_signal(&rt->backend_cnd);
    while (rt->sync_done < ticket && !rt->shutdown)
        if (cnd_timedwait(&rt->done_cnd, &rt->mtx, &deadline) == thrd_timedout &&
            evmjit__deadline_passed(&deadline))
            break;
    bool done = rt->sync_done >= ticket;
    mtx_unlock(&rt->mtx);
    return done ? EVMJIT_OK : EVMJIT_ERR_TIMEOUT;
}

EVMJIT_API void evmjit_runtime_get_stats(const evmjit_runtime *crt, evmjit_runtime_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!crt) return;
    evmjit_runtime *rt = (evmjit_runtime *)crt; /* atomics are read, never written */
    /* relaxed everywhere: a snapshot of independent counters */
    uint64_t hits = atomic_load_explicit(&rt->hits_overflow, memory_order_relaxed);
    for (size_t i = 0; i < EVMJIT_READER_SLOTS; i++)
        hits += atomic_load_explicit(&rt->hits[i].n, memory_order_relaxed);
    out->hits = hits;
#define EVMJIT__COUNTER_COPY(name) out->name = atomic_load_explicit(&rt->c.name, memory_order_relaxed);
    EVMJIT__COUNTERS(EVMJIT__COUNTER_COPY)
#undef EVMJIT__COUNTER_COPY
    uint64_t head = atomic_load_explicit(&rt->ring_head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&rt->ring_tail, memory_order_relaxed);
    out->queued_events = tail > head ? tail - head : 0;
    out->generation = atomic_load_explicit(&rt->generation, memory_order_relaxed);
    out->pause_depth = atomic_load_explicit(&rt->pause_depth, memory_order_relaxed);
    out->threads = atomic_load_explicit(&rt->threads_running, memory_order_relaxed);
    out->enabled = atomic_load_explicit(&rt->enabled, memory_order_relaxed);
}

/* ---- execution through the runtime ------------------------------------------------------- */

/* Defined in the Execute section below. */
static evmjit_result evmjit__run_frame(evmjit_fn fn, evmjit_runtime *runtime,
                                       const evmjit_host_interface *host,
                                       evmjit_host_context *host_ctx, evmjit_revision rev,
                                       const evmjit_message *msg, const uint8_t *code,
                                       size_t code_size);

/* evmjit_execute with a runtime: a hit runs the compiled program (pinned for the frame's
   duration, so a clear or an eviction meanwhile cannot free it); a miss interprets, and when
   the runtime asks for the code (WANT_CODE) hands it over first so the compilation overlaps
   the interpretation. A NULL code_hash is computed here, once. The caller has validated
   host, msg and rev. */
static evmjit_result evmjit__runtime_execute(evmjit_runtime *rt, const evmjit_host_interface *host,
                                             evmjit_host_context *ctx, evmjit_revision rev,
                                             const evmjit_message *msg, const uint8_t *code,
                                             size_t code_size, const evmjit_bytes32 *code_hash) {
    if (!rt || !atomic_load_explicit(&rt->enabled, memory_order_relaxed)) /* a flag */
        return evmjit__run_frame(evmjit_interpret, rt, host, ctx, rev, msg, code, code_size);
    evmjit_bytes32 h;
    if (!code_hash) {
        static const uint8_t empty[1] = {0};
        h = evmjit_keccak256(code_size ? code : empty, code_size);
        code_hash = &h;
    }
    evmjit_program *p = NULL;
    evmjit_lookup_outcome o = evmjit_lookup(rt, code_hash, code, code_size, rev, &p);
    if (o == EVMJIT_LOOKUP_HIT) {
        evmjit_result r = evmjit__run_frame(p->fn, rt, host, ctx, rev, msg, code, code_size);
        evmjit_lookup_release(rt, p);
        return r;
    }
    if (o == EVMJIT_LOOKUP_WANT_CODE) (void)evmjit_compile(rt, code_hash, code, code_size, rev);
    return evmjit__run_frame(evmjit_interpret, rt, host, ctx, rev, msg, code, code_size);
}

#endif /* EVMJIT_CACHE_RUNTIME_DONE */
#endif /* EVMJIT_CACHE_IMPLEMENTATION */
