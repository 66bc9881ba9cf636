/* libevmjit.so: evmjit as an EVMC virtual machine.

   An EVMC host loads this module, calls evmc_create_evmjit() and uses the returned VM like
   any other (evmone's tools, clients, tracers). evmjit's types are binary-compatible with
   EVMC ABI 12, so the VM object and every call pass straight through.

   Options (set_option, or environment variables EVMJIT_<NAME> read at creation; names are
   case-sensitive, environment names upper-case):
     mode           interpreter | jit | aot | tiered   (default tiered)
     hot_threshold  observed executions before a contract is compiled
     workers        compiler threads
     opt_level      0..3
     store          artifact store directory (AOT persistence and preload)
     blocking       0 | 1: compile before the first execution (tests, benchmarks)
     max_code_size  longest code that is compiled (bytes; 0 = no limit)
   Unknown names answer EVMC's INVALID_NAME, bad values INVALID_VALUE. Options take effect
   at the next execute; they are meant to be set before the first one. With EVMJIT_STATS=1,
   destroy prints the cache statistics to stderr.

   Only evmc_create_evmjit is exported (the Makefile links with a version script). */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#define EVMJIT_MODULE_VERSION "0.1.0"

typedef enum module_mode {
    MODULE_INTERPRETER,
    MODULE_JIT,
    MODULE_AOT,
    MODULE_TIERED
} module_mode;

typedef struct module_vm {
    evmjit_vm vm; /* first: the host sees this */
    module_mode mode;
    long hot_threshold; /* 0: the runtime's default */
    long workers;       /* 0: the runtime's default */
    long opt_level;     /* -1: the backend's default */
    long max_code_size; /* -1: the runtime's default */
    bool blocking;
    char *store;
    /* The code cache, made at the first execute of a compiled mode from the options above.
       Published with a release store under `lock`; executes read it with acquire. */
    _Atomic(evmjit_runtime *) runtime;
    bool runtime_failed; /* creation failed once: interpret from then on (under lock) */
    mtx_t lock;
} module_vm;

static bool module_parse_long(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Modes this build can serve: compiled modes need the LLVM backend. */
static bool module_mode_available(module_mode m) {
#ifdef EVMJIT_HAVE_LLVM
    (void)m;
    return true;
#else
    return m == MODULE_INTERPRETER;
#endif
}

static evmjit_set_option_result module_set_option(evmjit_vm *vm, const char *name,
                                                  const char *value) {
    module_vm *m = (module_vm *)vm;
    long v;
    if (!name) return EVMJIT_SET_OPTION_INVALID_NAME;
    if (!value) return EVMJIT_SET_OPTION_INVALID_VALUE;
    /* the runtime is made from the options at the first compiled execute: later changes
       would not apply, so they are refused */
    if (atomic_load_explicit(&m->runtime, memory_order_acquire)) {
        fprintf(stderr, "evmjit: option %s must be set before the first execute\n", name);
        return EVMJIT_SET_OPTION_INVALID_VALUE;
    }
    if (!strcmp(name, "mode")) {
        module_mode mode;
        if (!strcmp(value, "interpreter")) mode = MODULE_INTERPRETER;
        else if (!strcmp(value, "jit")) mode = MODULE_JIT;
        else if (!strcmp(value, "aot")) mode = MODULE_AOT;
        else if (!strcmp(value, "tiered")) mode = MODULE_TIERED;
        else return EVMJIT_SET_OPTION_INVALID_VALUE;
        if (!module_mode_available(mode)) return EVMJIT_SET_OPTION_INVALID_VALUE;
        m->mode = mode;
    } else if (!strcmp(name, "hot_threshold")) {
        if (!module_parse_long(value, 0, 1L << 30, &v)) return EVMJIT_SET_OPTION_INVALID_VALUE;
        m->hot_threshold = v;
    } else if (!strcmp(name, "workers")) {
        if (!module_parse_long(value, 0, 64, &v)) return EVMJIT_SET_OPTION_INVALID_VALUE;
        m->workers = v;
    } else if (!strcmp(name, "opt_level")) {
        if (!module_parse_long(value, 0, 3, &v)) return EVMJIT_SET_OPTION_INVALID_VALUE;
        m->opt_level = v;
    } else if (!strcmp(name, "max_code_size")) {
        if (!module_parse_long(value, 0, 1L << 30, &v)) return EVMJIT_SET_OPTION_INVALID_VALUE;
        m->max_code_size = v;
    } else if (!strcmp(name, "blocking")) {
        if (strcmp(value, "0") && strcmp(value, "1")) return EVMJIT_SET_OPTION_INVALID_VALUE;
        m->blocking = value[0] == '1';
    } else if (!strcmp(name, "store")) {
        if (!*value) return EVMJIT_SET_OPTION_INVALID_VALUE;
        char *copy = strdup(value);
        if (!copy) return EVMJIT_SET_OPTION_INVALID_VALUE;
        free(m->store);
        m->store = copy;
    } else {
        return EVMJIT_SET_OPTION_INVALID_NAME;
    }
    return EVMJIT_SET_OPTION_SUCCESS;
}

/* ---- code hash memo ------------------------------------------------------------------ */
/* EVMC's execute gets no code hash. Hashing 24 KiB of code on every call would cost far more
   than a cache hit saves, so each thread remembers the hash by (code pointer, length) in a
   small direct-mapped table and verifies the bytes against a private copy before trusting
   it (a host may reuse a buffer for other code): one memcmp per call, no keccak. */
#define MODULE_MEMO_SLOTS 64

typedef struct memo_entry {
    const uint8_t *code;
    size_t size;
    uint8_t *copy; /* the bytes the hash was computed from */
    size_t capacity;
    evmjit_bytes32 hash;
} memo_entry;

static tss_t memo_key;
static once_flag memo_once = ONCE_FLAG_INIT;
static bool memo_ok;

static void memo_free(void *p) {
    memo_entry *t = (memo_entry *)p;
    if (!t) return;
    for (int i = 0; i < MODULE_MEMO_SLOTS; i++) free(t[i].copy);
    free(t);
}
static void memo_init(void) { memo_ok = tss_create(&memo_key, memo_free) == thrd_success; }

static evmjit_bytes32 module_code_hash(const uint8_t *code, size_t size) {
    call_once(&memo_once, memo_init);
    memo_entry *t = memo_ok ? (memo_entry *)tss_get(memo_key) : NULL;
    if (!t && memo_ok) {
        t = (memo_entry *)calloc(MODULE_MEMO_SLOTS, sizeof *t);
        if (t && tss_set(memo_key, t) != thrd_success) {
            free(t);
            t = NULL;
        }
    }
    if (!t) return evmjit_keccak256(code, size);
    uintptr_t k = (uintptr_t)code ^ (size * 0x9e3779b97f4a7c15u);
    memo_entry *e = &t[(k >> 4 ^ k >> 12) % MODULE_MEMO_SLOTS];
    if (e->code == code && e->size == size && (size == 0 || !memcmp(e->copy, code, size)))
        return e->hash;
    evmjit_bytes32 h = evmjit_keccak256(code, size);
    if (size > e->capacity) {
        uint8_t *copy = (uint8_t *)malloc(size);
        if (!copy) return h; /* remember nothing; still correct */
        free(e->copy);
        e->copy = copy;
        e->capacity = size;
    }
    if (size) memcpy(e->copy, code, size);
    e->code = code;
    e->size = size;
    e->hash = h;
    return h;
}

/* ---- the runtime ------------------------------------------------------------------------ */

#ifdef EVMJIT_HAVE_LLVM
static void module_log(evmjit_log_level level, const char *message, void *user) {
    (void)user;
    if (level <= EVMJIT_LOG_WARN) fprintf(stderr, "evmjit: %s\n", message);
}

static evmjit_runtime *module_make_runtime(module_vm *m) {
    evmjit_runtime_desc d;
    memset(&d, 0, sizeof d);
    d.backend = evmjit_llvm_backend();
    d.logger.log = module_log;
    d.enabled = true;
    d.blocking = m->blocking;
    d.mode = m->mode == MODULE_AOT ? EVMJIT_MODE_AOT : EVMJIT_MODE_JIT;
    if (m->opt_level >= 0) d.opt_level = (int)m->opt_level + 1; /* EVMJIT_O0 is 1 */
    if (m->workers > 0) d.worker_threads = (int)m->workers;
    if (m->mode == MODULE_JIT || m->mode == MODULE_AOT) d.hot_threshold = 1;
    if (m->hot_threshold > 0) d.hot_threshold = (uint64_t)m->hot_threshold;
    if (m->max_code_size == 0) d.max_code_size = EVMJIT_OFF;
    else if (m->max_code_size > 0) d.max_code_size = (uint64_t)m->max_code_size;
    d.store_dir = m->store; /* the runtime opens (and closes) the directory store */
    if (!m->store && m->mode == MODULE_AOT) {
        fprintf(stderr, "evmjit: mode aot needs the store option (a directory); interpreting\n");
        return NULL;
    }
    evmjit_runtime *rt = NULL;
    evmjit_error e = evmjit_runtime_create(&d, &rt);
    if (e != EVMJIT_OK) {
        fprintf(stderr, "evmjit: cannot create the code cache%s%s (%s); interpreting\n",
                m->store ? " with the store " : "", m->store ? m->store : "", evmjit_error_name(e));
        return NULL;
    }
    return rt;
}
#endif

/* The runtime for a compiled mode, made once; NULL: interpret. */
static evmjit_runtime *module_runtime(module_vm *m) {
    evmjit_runtime *rt = atomic_load_explicit(&m->runtime, memory_order_acquire);
    if (rt || m->mode == MODULE_INTERPRETER) return rt;
#ifdef EVMJIT_HAVE_LLVM
    mtx_lock(&m->lock);
    rt = atomic_load_explicit(&m->runtime, memory_order_relaxed);
    if (!rt && !m->runtime_failed) {
        rt = module_make_runtime(m);
        m->runtime_failed = rt == NULL;
        /* publishes the fully created runtime to executes on other threads */
        atomic_store_explicit(&m->runtime, rt, memory_order_release);
    }
    mtx_unlock(&m->lock);
#endif
    return rt;
}

static evmjit_result module_execute(evmjit_vm *vm, const evmjit_host_interface *host,
                                    evmjit_host_context *ctx, evmjit_revision rev,
                                    const evmjit_message *msg, const uint8_t *code,
                                    size_t code_size) {
    evmjit_runtime *rt = module_runtime((module_vm *)vm);
    if (!rt) return evmjit_execute(NULL, host, ctx, rev, msg, code, code_size, NULL);
    evmjit_bytes32 hash = module_code_hash(code, code_size);
    return evmjit_execute(rt, host, ctx, rev, msg, code, code_size, &hash);
}

static uint32_t module_get_capabilities(evmjit_vm *vm) {
    (void)vm;
    return EVMJIT_CAPABILITY_EVM1;
}

static void module_destroy(evmjit_vm *vm) {
    module_vm *m = (module_vm *)vm;
    evmjit_runtime *rt = atomic_load_explicit(&m->runtime, memory_order_acquire);
    if (rt) {
        const char *stats = getenv("EVMJIT_STATS");
        if (stats && !strcmp(stats, "1")) {
            evmjit_runtime_stats st;
            evmjit_runtime_get_stats(rt, &st);
            fprintf(stderr,
                    "evmjit: hits %llu, misses %llu, dropped events %llu, compiled %llu, "
                    "failed %llu, evictions %llu, resident %llu, JIT code %llu bytes\n",
                    (unsigned long long)st.hits, (unsigned long long)st.misses,
                    (unsigned long long)st.dropped_events, (unsigned long long)st.succeeded,
                    (unsigned long long)st.failed, (unsigned long long)st.evictions,
                    (unsigned long long)st.resident_entries, (unsigned long long)st.jit_code_bytes);
        }
        evmjit_runtime_destroy(rt);
    }
    mtx_destroy(&m->lock);
    free(m->store);
    free(m);
    evmjit_thread_cleanup();
}

/* Apply EVMJIT_<NAME> environment variables; a bad one is reported and ignored. */
static void module_read_environment(module_vm *m) {
    static const char *const names[] = {"mode",    "hot_threshold", "workers",      "opt_level",
                                        "store",   "blocking",      "max_code_size"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char env[64] = "EVMJIT_";
        size_t n = strlen(env);
        for (const char *p = names[i]; *p && n + 1 < sizeof env; p++)
            env[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        env[n] = 0;
        const char *value = getenv(env);
        if (value && module_set_option(&m->vm, names[i], value) != EVMJIT_SET_OPTION_SUCCESS)
            fprintf(stderr, "evmjit: ignoring %s=%s (invalid value)\n", env, value);
    }
}

/* dlclose: the per-thread interpreter state and hash memo are thread-specific storage whose
   destructors live in this module. Threads that outlive the module must not call them, so
   the keys are deleted here (other threads' entries are then unreachable: a one-time leak
   per unload, instead of a jump into unmapped code at their exit). */
__attribute__((destructor)) static void module_unload(void) {
    evmjit__delete_thread_keys();
    if (memo_ok) {
        memo_free(tss_get(memo_key));
        tss_delete(memo_key);
    }
}

__attribute__((visibility("default"))) evmjit_vm *evmc_create_evmjit(void);

/* The EVMC entry point: a new VM, or NULL when out of memory. */
__attribute__((visibility("default"))) evmjit_vm *evmc_create_evmjit(void) {
    module_vm *m = (module_vm *)calloc(1, sizeof *m);
    if (!m) return NULL;
    evmjit_vm vm = {EVMJIT_EVMC_ABI_VERSION, "evmjit",       EVMJIT_MODULE_VERSION,
                    module_destroy,          module_execute, module_get_capabilities,
                    module_set_option};
    memcpy(&m->vm, &vm, sizeof vm); /* abi_version is const: initialise by copy */
    if (mtx_init(&m->lock, mtx_plain) != thrd_success) {
        free(m);
        return NULL;
    }
    atomic_init(&m->runtime, NULL);
    m->mode = module_mode_available(MODULE_TIERED) ? MODULE_TIERED : MODULE_INTERPRETER;
    m->opt_level = -1;
    m->max_code_size = -1;
    module_read_environment(m);
    return &m->vm;
}
