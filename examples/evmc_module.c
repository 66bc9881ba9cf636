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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Modes this build can serve: compiled modes need the code cache and a compiler backend. */
static bool module_mode_available(module_mode m) { return m == MODULE_INTERPRETER; }

static evmjit_set_option_result module_set_option(evmjit_vm *vm, const char *name,
                                                  const char *value) {
    module_vm *m = (module_vm *)vm;
    long v;
    if (!name) return EVMJIT_SET_OPTION_INVALID_NAME;
    if (!value) return EVMJIT_SET_OPTION_INVALID_VALUE;
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

static evmjit_result module_execute(evmjit_vm *vm, const evmjit_host_interface *host,
                                    evmjit_host_context *ctx, evmjit_revision rev,
                                    const evmjit_message *msg, const uint8_t *code,
                                    size_t code_size) {
    (void)vm;
    return evmjit_execute(NULL, host, ctx, rev, msg, code, code_size, NULL);
}

static uint32_t module_get_capabilities(evmjit_vm *vm) {
    (void)vm;
    return EVMJIT_CAPABILITY_EVM1;
}

static void module_destroy(evmjit_vm *vm) {
    module_vm *m = (module_vm *)vm;
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

__attribute__((visibility("default"))) evmjit_vm *evmc_create_evmjit(void);

/* The EVMC entry point: a new VM, or NULL when out of memory. */
__attribute__((visibility("default"))) evmjit_vm *evmc_create_evmjit(void) {
    module_vm *m = (module_vm *)calloc(1, sizeof *m);
    if (!m) return NULL;
    evmjit_vm vm = {EVMJIT_EVMC_ABI_VERSION, "evmjit",       EVMJIT_MODULE_VERSION,
                    module_destroy,          module_execute, module_get_capabilities,
                    module_set_option};
    memcpy(&m->vm, &vm, sizeof vm); /* abi_version is const: initialise by copy */
    m->mode = MODULE_INTERPRETER;
    m->opt_level = -1;
    m->max_code_size = -1;
    module_read_environment(m);
    return &m->vm;
}
