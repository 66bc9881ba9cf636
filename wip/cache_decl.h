/* wip/cache_decl.h - the code cache runtime: public declarations.
   Spliced verbatim into evmjit_cache.h's declaration section (just before the closing
   `#ifdef __cplusplus }`). Until then it is included right after evmjit_cache.h. */
#ifndef EVMJIT_CACHE_DECL_H
#define EVMJIT_CACHE_DECL_H

/* ============================================================================================
   The code cache runtime
   ============================================================================================

   A runtime decides which contracts run as native code. Callers look a key (code hash,
   revision) up in the resident table without locks; a miss runs the interpreter and records an
   event in a bounded ring. One backend thread drains the ring and counts how often each key
   was missed; when a key is about to become hot, the next caller that misses it is asked for
   its code (EVMJIT_LOOKUP_WANT_CODE: the lookup itself never copies or allocates), worker
   threads compile, and the backend publishes the result.

   Threading contract
     - The resident table has ONE writer, the backend thread, and any number of lock-free
       readers. A lookup hit takes no lock, allocates nothing and writes no cache line that
       another thread writes (per-thread reader records and per-thread hit counters).
     - Reclamation is epoch based: every thread that looks programs up owns a reader record
       (one per thread, process-wide) holding the global epoch it saw when it entered a read
       section, or 0 when it holds no lookup reference. Removed programs and old tables are
       freed by the backend only after every reader that might still see them has left its
       read section, and after the last counted reference (evmjit_program_acquire,
       evmjit_compile_sync) is released - at its next wake-up, so at most wake_interval_ms
       later. Nothing is ever freed on a caller's thread.
     - Callers never take a lock that a compiler holds. Functions that hand work to the
       backend may wait briefly for an internal mutex that is only held for O(1) work.

   References
     A program returned by evmjit_lookup or evmjit_lookup_blocking is pinned to the calling
     thread: release it with evmjit_lookup_release ON THAT THREAD (nested lookups nest; a
     per-thread counter tracks them, so there is no limit). To keep a program beyond that or
     hand it to another thread, take a counted reference with evmjit_program_acquire first and
     release that with evmjit_program_release on any thread. evmjit_compile_sync also returns
     a counted reference. A program (its native code) lives until its last reference of
     either kind is gone, even if it was evicted or cleared meanwhile. Release every reference
     before destroying the runtime.
*/

/* ---- compile-time limits ------------------------------------------------------------------ */

/* Reader records: threads that can hold lookup references at the same time, process-wide.
   A thread takes a record at its first lookup and gives it back when it exits. Threads
   beyond this share one counter (correct, but slower and it holds back reclamation). */
#ifndef EVMJIT_READER_SLOTS
#define EVMJIT_READER_SLOTS 256
#endif

/* A desc value meaning "off", "no limit" or "never" (zero means "default"). */
#define EVMJIT_OFF UINT64_MAX
/* desc.opt_level values (zero is the default, O2). The backend receives 0..3. */
#define EVMJIT_O0 1
#define EVMJIT_O1 2
#define EVMJIT_O2 3
#define EVMJIT_O3 4
/* desc.worker_threads: no worker threads at all (nothing is ever compiled). */
#define EVMJIT_NO_WORKERS (-1)

/* ---- programs ------------------------------------------------------------------------------ */

typedef enum evmjit_program_kind {
    EVMJIT_PROGRAM_JIT = 1, /* compiled in this process; code lives in the backend's JIT */
    EVMJIT_PROGRAM_AOT = 2  /* a shared object from the artifact store */
} evmjit_program_kind;

/* A compiled contract. Read-only for users; the runtime keeps more state behind it. Valid
   while the caller holds a reference. */
typedef struct evmjit_program {
    evmjit_fn fn;             /* run one frame of this code */
    evmjit_bytes32 code_hash; /* key, with rev */
    evmjit_revision rev;
    evmjit_program_kind kind;
    size_t code_size;  /* bytecode length */
    size_t code_bytes; /* native code size (JIT code or shared object) */
} evmjit_program;

/* ---- compiler backend ---------------------------------------------------------------------- */

/* Per-phase wall times of one job, in nanoseconds. The backend fills the compile phases; the
   runtime fills queue, store, load and total. */
typedef struct evmjit_compile_times {
    uint64_t queue_ns;    /* admitted -> a worker started it */
    uint64_t analysis_ns; /* bytecode analysis */
    uint64_t ir_ns;       /* IR generation */
    uint64_t optimize_ns; /* optimisation passes */
    uint64_t codegen_ns;  /* machine code */
    uint64_t link_ns;     /* AOT: shared object link; JIT: materialisation */
    uint64_t store_ns;    /* AOT: artifact store write */
    uint64_t load_ns;     /* AOT: artifact store load */
    uint64_t total_ns;    /* the whole job on the worker */
} evmjit_compile_times;

typedef struct evmjit_compile_request evmjit_compile_request;
struct evmjit_compile_request {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    const uint8_t *code; /* valid during the call */
    size_t code_size;
    int opt_level; /* 0..3 */
    /* Long compilations should poll this between phases and give up with
       EVMJIT_ERR_SHUTDOWN when it returns true (shutdown, or the result became stale). */
    bool (*cancelled)(const evmjit_compile_request *req);
    void *runtime_private;
};

/* What a compile function fills in (zeroed before the call). */
typedef struct evmjit_compile_output {
    evmjit_fn fn;       /* JIT: the entry point, callable until free_code(code) */
    void *code;         /* JIT: the backend's handle for free_code */
    size_t code_bytes;  /* JIT: native code size */
    uint8_t *object;    /* AOT: shared object bytes, released with free_object */
    size_t object_size;
    char symbol[128];   /* AOT: the exported evmjit_fn */
    char target[128];   /* AOT: target triple and CPU the object runs on */
    evmjit_compile_times times;
    char message[256];  /* why it failed (NUL-terminated) */
} evmjit_compile_output;

/* A compiler, as a table of functions (evmjit_llvm.c provides one). `user` is passed back.
   create_compiler/destroy_compiler/compile_* run on worker threads, one compiler per worker,
   never concurrently for one compiler; a worker recycles its compiler (destroy + create)
   after desc.recycle_after jobs. free_code and free_object run on runtime threads (backend,
   workers, or the thread that destroys the runtime), possibly after the compiler that made
   the code was destroyed: the backend keeps alive what the code needs. */
typedef struct evmjit_backend {
    const char *name;    /* "llvm"; recorded with artifacts */
    const char *version; /* compiler version; recorded with artifacts */
    void *user;
    /* A compiler for one worker, opt_level 0..3. On failure write the reason to err. */
    evmjit_error (*create_compiler)(void *user, int opt_level, void **compiler, char *err,
                                    size_t err_size);
    void (*destroy_compiler)(void *user, void *compiler);
    evmjit_error (*compile_jit)(void *user, void *compiler, const evmjit_compile_request *req,
                                evmjit_compile_output *out);
    /* may be NULL: no AOT */
    evmjit_error (*compile_aot)(void *user, void *compiler, const evmjit_compile_request *req,
                                evmjit_compile_output *out);
    void (*free_code)(void *user, void *code);                 /* JIT code */
    void (*free_object)(void *user, evmjit_compile_output *out); /* AOT object bytes */
} evmjit_backend;

/* ---- artifact store ------------------------------------------------------------------------ */

/* A loaded AOT artifact. */
typedef struct evmjit_artifact {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    evmjit_fn fn;
    void *handle;      /* the store's (for example a dlopen handle); given back to unload */
    size_t code_size;  /* bytecode length (0 if unknown) */
    size_t code_bytes; /* size of the shared object */
} evmjit_artifact;

/* A shared object to persist. */
typedef struct evmjit_artifact_object {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    const char *compiler; /* backend name, version and options ("llvm 19.1.7 O2") */
    const char *symbol;   /* the exported evmjit_fn */
    const char *target;   /* what it runs on */
    const uint8_t *object;
    size_t object_size;
    size_t code_size; /* bytecode length */
} evmjit_artifact_object;

/* Receives one artifact from load_all and takes ownership of it (the runtime unloads it
   later, also when it returns an error). A non-OK return asks the store to stop and return
   that error. */
typedef evmjit_error (*evmjit_artifact_sink)(void *ctx, const evmjit_artifact *artifact);

/* Where AOT artifacts persist, as a table of functions. Called from the creating thread
   (load_all), worker threads (load, store), the backend thread and the destroying thread
   (unload) and API callers (clear): every function must be thread-safe. */
typedef struct evmjit_artifact_store {
    const char *name;
    void *user;
    /* every artifact this process can run; skips (and counts) bad ones itself */
    evmjit_error (*load_all)(void *user, evmjit_artifact_sink sink, void *ctx);
    /* one key: EVMJIT_ERR_NOT_FOUND if absent */
    evmjit_error (*load)(void *user, const evmjit_bytes32 *code_hash, evmjit_revision rev,
                         evmjit_artifact *out);
    /* persist; a key that exists is never overwritten (returns OK) */
    evmjit_error (*store)(void *user, const evmjit_artifact_object *object);
    /* delete every artifact (loaded ones stay usable until unloaded) */
    evmjit_error (*clear)(void *user);
    void (*unload)(void *user, const evmjit_artifact *artifact);
} evmjit_artifact_store;

/* ---- compilation callback ------------------------------------------------------------------ */

typedef struct evmjit_compilation_info {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    evmjit_program_kind kind;
    bool success;
    bool published;  /* became resident (false if it failed or a clear made it stale) */
    bool from_store; /* an AOT request satisfied by loading a persisted artifact */
    evmjit_error error;
    const char *message; /* failure reason ("" on success); valid during the call */
    size_t code_size;
    size_t code_bytes;
    evmjit_compile_times times;
} evmjit_compilation_info;

/* ---- runtime settings ---------------------------------------------------------------------- */

typedef enum evmjit_compile_mode {
    EVMJIT_MODE_DEFAULT = 0, /* JIT */
    EVMJIT_MODE_JIT = 1,     /* hot code is compiled in memory */
    EVMJIT_MODE_AOT = 2      /* hot code is compiled to shared objects and persisted (needs a store) */
} evmjit_compile_mode;

/* Runtime settings. Zero in any field means the default (CACHE_BEHAVIOUR.md, "Defaults");
   EVMJIT_OFF means off / no limit / never where a field says so. evmjit_runtime_settings
   returns the values in use. */
typedef struct evmjit_runtime_desc {
    const evmjit_backend *backend;      /* compiler; NULL: none (interpret, and load stored AOT) */
    const evmjit_artifact_store *store; /* AOT persistence; NULL: none */
    evmjit_allocator allocator;
    evmjit_logger logger;
    /* called on the backend thread after every finished job; keep it short and do not call
       the runtime's blocking functions from it (compile_sync, lookup_blocking, sync, destroy) */
    void (*on_compilation)(const evmjit_compilation_info *info, void *user);
    void *on_compilation_user;
    bool enabled;             /* start enabled (starts the threads at creation) */
    bool blocking;            /* evmjit_lookup compiles synchronously on a miss (tools, tests) */
    evmjit_compile_mode mode; /* what hot code becomes: JIT (default) or AOT */
    int opt_level;            /* EVMJIT_O0..EVMJIT_O3; 0: EVMJIT_O2 */
    int worker_threads;       /* 0: ceil(cpus/2) clamped to 1..4; EVMJIT_NO_WORKERS: none; max 64 */
    uint64_t hot_threshold;   /* observed misses before compiling; 0: 8; EVMJIT_OFF: never */
    uint64_t max_code_size;   /* bytecode length limit; 0: 24576; EVMJIT_OFF: no limit */
    uint64_t max_in_flight;   /* compilations admitted and not finished, and requests queued
                                 for the backend; 0: 2048 */
    uint64_t max_cold_keys;   /* keys counted but not hot yet; 0: 10 x max_in_flight */
    uint64_t queue_per_worker;    /* jobs queued per worker; 0: 64 */
    uint64_t ring_capacity;       /* lookup events; a power of two, 2..2^24; 0: 4096 */
    uint64_t drain_batch;         /* events drained per backend wake-up; 0: 4096 */
    uint64_t wake_interval_ms;    /* backend wake-up interval; 0: 100 */
    uint64_t idle_eviction_ms;    /* evict programs not hit for this long; 0: 600000; EVMJIT_OFF */
    uint64_t sweep_interval_ms;   /* eviction sweep period; 0: 60000 */
    uint64_t jit_budget_bytes;    /* JIT code memory budget; 0: 1 GiB; EVMJIT_OFF: none */
    uint64_t recycle_after;       /* recycle a worker's compiler after N jobs; 0: 1000; EVMJIT_OFF */
    uint64_t shutdown_timeout_ms; /* destroy waits this long for threads; 0: 5000 */
    uint64_t compile_timeout_ms;  /* blocking calls with timeout 0 wait this long; 0: 60000 */
} evmjit_runtime_desc;

/* ---- lookup outcomes ----------------------------------------------------------------------- */

/* X(name, description). Every outcome but HIT means: run the interpreter. */
#define EVMJIT_LOOKUP_OUTCOMES(X)                                                             \
    X(HIT, "hit: run the compiled program")                                                   \
    X(DISABLED, "interpret: the runtime is disabled")                                         \
    X(INELIGIBLE, "interpret: code not eligible (empty or longer than max_code_size)")        \
    X(NOT_READY, "interpret: not compiled yet")                                               \
    X(WANT_CODE, "interpret: hot; hand the code over with evmjit_compile")                    \
    X(FAILED, "interpret: compilation failed")                                                \
    X(INVALID, "interpret: invalid argument")

typedef enum evmjit_lookup_outcome {
#define EVMJIT_LOOKUP_ENUM(name, text) EVMJIT_LOOKUP_##name,
    EVMJIT_LOOKUP_OUTCOMES(EVMJIT_LOOKUP_ENUM)
#undef EVMJIT_LOOKUP_ENUM
    EVMJIT_LOOKUP_OUTCOME_COUNT
} evmjit_lookup_outcome;

/* The description of an outcome ("unknown outcome" outside the enum). Any thread; never
   blocks. */
EVMJIT_API const char *evmjit_lookup_outcome_name(evmjit_lookup_outcome outcome);

/* ---- statistics ---------------------------------------------------------------------------- */

/* A snapshot. Counters only grow; gauges are current values. Fields are read one by one
   (not one atomic snapshot); after evmjit_runtime_sync with no concurrent activity the
   accounting is exact: hits + misses + dropped_events == lookups made while enabled (with
   valid arguments). */
typedef struct evmjit_runtime_stats {
    /* counters */
    uint64_t hits;              /* lookups that returned a program */
    uint64_t misses;            /* lookups that interpreted (counted when the backend drains them) */
    uint64_t dropped_events;    /* lookup events lost to a full ring (ring_capacity) */
    uint64_t dropped_commands;  /* requests refused: request queue full (max_in_flight) */
    uint64_t dropped_jobs;      /* hot keys or requests refused at max_in_flight */
    uint64_t dropped_cold_keys; /* misses not tracked because max_cold_keys was reached */
    uint64_t admitted;          /* keys that became hot or were requested */
    uint64_t dispatched;        /* jobs handed to workers */
    uint64_t succeeded;         /* jobs that produced a program */
    uint64_t failed;            /* jobs that failed */
    uint64_t discarded;         /* results dropped because a clear changed the generation */
    uint64_t evictions;         /* programs evicted (idle + budget) */
    uint64_t evictions_idle;
    uint64_t evictions_budget;
    uint64_t aot_stored;        /* artifacts written to the store */
    uint64_t aot_loaded;        /* artifacts loaded from the store (preload included) */
    uint64_t store_errors;
    uint64_t programs_freed;    /* programs whose code was freed (last reference gone) */
    uint64_t compiler_creates;  /* per-worker compilers created (recycling creates more) */
    /* gauges */
    uint64_t resident_entries; /* programs in the resident table */
    uint64_t resident_jit;
    uint64_t resident_aot;
    uint64_t queued_events;    /* events in the ring */
    uint64_t queued_commands;  /* requests not yet seen by the backend */
    uint64_t pending_jobs;     /* admitted, not finished (waiting for code, queued or compiling) */
    uint64_t tracked_cold_keys;
    uint64_t jit_code_bytes; /* native code of live JIT programs (resident or still referenced) */
    uint64_t aot_code_bytes;
    uint64_t retired_waiting; /* removed objects waiting for readers or references */
    uint64_t generation;      /* bumped by every clear */
    uint32_t pause_depth;
    uint32_t threads; /* running runtime threads (backend + workers) */
    bool enabled;
} evmjit_runtime_stats;

/* One code for batch requests. */
typedef struct evmjit_code_ref {
    evmjit_bytes32 code_hash;
    const uint8_t *code;
    size_t code_size;
    evmjit_revision rev;
} evmjit_code_ref;

/* ---- the API ------------------------------------------------------------------------------- */

/* Create a runtime. desc may be NULL (all defaults: disabled, no backend, no store). With a
   store, its artifacts are loaded (load_all) and made resident before this returns; if that
   fails, nothing is left behind. With desc->enabled the threads are started. Returns
   EVMJIT_OK and *out, or an error (INVALID_ARGUMENT for a nonsense setting, logged with the
   setting's name; OUT_OF_MEMORY; THREAD; the store's error). Any thread; blocks for the
   store's load_all and thread start. */
EVMJIT_API evmjit_error evmjit_runtime_create(const evmjit_runtime_desc *desc,
                                             evmjit_runtime **out);

/* The settings in use, defaults resolved (the backend and store pointers as given). Any
   thread; never blocks. */
EVMJIT_API void evmjit_runtime_settings(const evmjit_runtime *rt, evmjit_runtime_desc *out);

/* Stop every thread (running compilations are asked to cancel), free everything. Returns
   EVMJIT_OK, or EVMJIT_ERR_TIMEOUT if a thread did not finish within shutdown_timeout_ms:
   then the threads are detached and the runtime's memory is left to them (never freed under
   a running thread). No other thread may use rt during or after the call; all program
   references must have been released. Blocks up to the shutdown timeout. NULL: no-op. */
EVMJIT_API evmjit_error evmjit_runtime_destroy(evmjit_runtime *rt);

/* Enable lookups, starting the threads on first use / disable them (lookups answer DISABLED
   and count nothing; compilations already running finish and are published).
   enable: any thread; blocks only to start threads the first time. disable: any thread;
   never blocks. */
EVMJIT_API evmjit_error evmjit_runtime_enable(evmjit_runtime *rt);
EVMJIT_API void evmjit_runtime_disable(evmjit_runtime *rt);

/* Pause / resume dispatching compilations to workers (for example while a block executes).
   Pauses nest: n pauses need n resumes. Lookups, miss counting and admission go on while
   paused. pause returns the new depth; resume returns EVMJIT_ERR_INVALID_ARGUMENT when not
   paused. Any thread; never block, never queue anything. */
EVMJIT_API uint32_t evmjit_runtime_pause(evmjit_runtime *rt);
EVMJIT_API evmjit_error evmjit_runtime_resume(evmjit_runtime *rt);

/* Look a key up. HIT: *program is set and pinned to this thread; run program->fn and call
   evmjit_lookup_release(rt, program) on this thread. Anything else: *program is NULL and the
   caller interprets; the miss is recorded as an event (dropped and counted if the ring is
   full). WANT_CODE: the key is hot and this caller was chosen to hand over the code: call
   evmjit_compile with the same arguments (evmjit_execute does); if nobody does, another
   caller is asked a second later. INVALID: NULL code_hash or program, code NULL with a
   non-zero size, or an unknown revision (nothing is counted). rt may be NULL (DISABLED).
   Any thread; never blocks, never allocates, takes no lock (the first lookup on a thread
   registers its reader record) - unless the runtime was created with blocking = true: then
   it behaves like evmjit_lookup_blocking with timeout 0. */
EVMJIT_API evmjit_lookup_outcome evmjit_lookup(evmjit_runtime *rt,
                                               const evmjit_bytes32 *code_hash,
                                               const uint8_t *code, size_t code_size,
                                               evmjit_revision rev, evmjit_program **program);

/* Like evmjit_lookup, but a key that is not resident is compiled now (threshold ignored)
   and the call waits for it: HIT with *program pinned to this thread (release it with
   evmjit_lookup_release), or FAILED (compilation failed or timed out, or nothing can
   compile: no workers or no backend), or DISABLED/INELIGIBLE/INVALID as evmjit_lookup.
   timeout_ms 0 means compile_timeout_ms. Any thread; blocks until the compilation ends. */
EVMJIT_API evmjit_lookup_outcome evmjit_lookup_blocking(evmjit_runtime *rt,
                                                        const evmjit_bytes32 *code_hash,
                                                        const uint8_t *code, size_t code_size,
                                                        evmjit_revision rev,
                                                        uint64_t timeout_ms,
                                                        evmjit_program **program);

/* Release a program that evmjit_lookup or evmjit_lookup_blocking returned, on the thread
   that looked it up. NULL program: no-op. Never blocks, never frees. */
EVMJIT_API void evmjit_lookup_release(evmjit_runtime *rt, evmjit_program *program);

/* Ask for a compilation of this key now (threshold skipped), in the runtime's mode. The code
   is copied; the call returns at once. EVMJIT_OK: queued (a bound may still refuse it later;
   counted in the stats). Errors: INVALID_ARGUMENT, INELIGIBLE, UNSUPPORTED (no workers or no
   backend; logged), BUSY (request queue full), OUT_OF_MEMORY, THREAD. A key that is resident
   or being compiled is not compiled again. Any thread; never waits for a compiler (may wait
   briefly for an internal mutex; starts the threads the first time). */
EVMJIT_API evmjit_error evmjit_compile(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                       const uint8_t *code, size_t code_size,
                                       evmjit_revision rev);

/* Compile (or find) this key and wait. Concurrent calls for one key share one compilation.
   EVMJIT_OK: the program is resident; if program is not NULL, *program is a counted
   reference (release with evmjit_program_release, any thread). Errors as evmjit_compile,
   plus COMPILE_FAILED, TIMEOUT (the compilation goes on), SHUTDOWN. timeout_ms 0 means
   compile_timeout_ms. Works while disabled. Any thread; blocks. */
EVMJIT_API evmjit_error evmjit_compile_sync(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                            const uint8_t *code, size_t code_size,
                                            evmjit_revision rev, uint64_t timeout_ms,
                                            evmjit_program **program);

/* Ask for an AOT artifact of this key: loaded from the store if persisted, else compiled,
   stored and loaded. A key already resident (JIT or AOT) is left alone. Returns like
   evmjit_compile (UNSUPPORTED without a store or without workers). Any thread; never waits
   for a compiler. */
EVMJIT_API evmjit_error evmjit_prepare_aot(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                           const uint8_t *code, size_t code_size,
                                           evmjit_revision rev);

/* evmjit_prepare_aot for each item. Returns EVMJIT_OK if all were queued, else the first
   error; *accepted (may be NULL) gets how many were queued. Any thread; never waits for a
   compiler. */
EVMJIT_API evmjit_error evmjit_prepare_aot_batch(evmjit_runtime *rt, const evmjit_code_ref *items,
                                                 size_t count, size_t *accepted);

/* Forget every resident program: the generation changes at once (lookups answer NOT_READY
   from now on), the backend removes the entries, and results of compilations that started
   earlier are discarded. Programs still referenced live until released. Any thread; never
   blocks (wakes the backend without waiting for it). */
EVMJIT_API evmjit_error evmjit_clear_resident(evmjit_runtime *rt);

/* Delete every persisted artifact (the store's clear). UNSUPPORTED without a store.
   Any thread; blocks on the store's I/O. */
EVMJIT_API evmjit_error evmjit_clear_persisted(evmjit_runtime *rt);

/* Both of the above. Any thread; blocks on the store's I/O. */
EVMJIT_API evmjit_error evmjit_clear_all(evmjit_runtime *rt);

/* Wait until the backend has processed every event and request made before this call
   (exact statistics in tests and tools). Does not wait for compilations. Returns EVMJIT_OK
   or EVMJIT_ERR_TIMEOUT (timeout_ms 0 means compile_timeout_ms). Any thread; blocks. */
EVMJIT_API evmjit_error evmjit_runtime_sync(evmjit_runtime *rt, uint64_t timeout_ms);

/* Fill *out with a snapshot of the counters and gauges. Any thread; never blocks. */
EVMJIT_API void evmjit_runtime_get_stats(const evmjit_runtime *rt, evmjit_runtime_stats *out);

/* Take a counted reference to a program the caller already holds (pinned or counted). It may
   move to and be released on any thread with evmjit_program_release. Returns program. Any
   thread; never blocks. */
EVMJIT_API evmjit_program *evmjit_program_acquire(evmjit_runtime *rt, evmjit_program *program);

/* Release one counted reference (evmjit_program_acquire, evmjit_compile_sync). The last
   release of an evicted program lets the backend free its code. NULL program: no-op. Any
   thread; never blocks, never frees on the caller's thread. */
EVMJIT_API void evmjit_program_release(evmjit_runtime *rt, evmjit_program *program);

#endif /* EVMJIT_CACHE_DECL_H */
