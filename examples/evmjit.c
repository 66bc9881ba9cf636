/* evmjit command-line tool: the demo, state tests, benchmarks and the artifact store.
   `evmjit --help` lists the commands; `evmjit COMMAND --help` explains each one. A wrong
   option gets a one-line error and the command's usage on stderr, and exit status 2. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

/* `bench-cache` measures internals of the implementation (event push, drain), which are
   static to this translation unit: its code is compiled here. */
#include "bench/bench_cache.c"

#include "bench.h"
#include "demo.h"
#include "host.h"
#include "statetest.h"

int store_cli_main(int argc, char **argv); /* examples/store_cli.c */

static void usage(FILE *out) {
    fprintf(out,
            "usage: evmjit COMMAND [ARGS...]\n"
            "commands (evmjit COMMAND --help explains each):\n"
            "  demo [--store DIR] [--rounds N] [--hot-threshold N] [--fresh] [FIXTURE...]\n"
            "                 the tiered runtime on the benchmark contracts, as a node runs\n"
            "                 them; compiled programs persist in the store (./evmjit-store)\n"
            "  bench [--json FILE] [--filter SUBSTRING] [--mode interp|jit|aot|all]\n"
            "        [--min-time SECONDS] [FIXTURE_OR_DIR...]\n"
            "                 time the benchmark fixtures in each mode, interleaved\n"
            "  bench-cache [--artifacts N]\n"
            "                 microbenchmarks of the code cache (lookup, events, preload)\n"
            "  statetest [--mode interp|jit|aot] [--fork NAME] [--filter SUBSTRING]\n"
            "            [--skip-list FILE] [--shard K/N]\n"
            "            [--evmc MODULE.so [--evmc-option NAME=VALUE]...] [-v] PATH...\n"
            "                 run the state tests in each file or directory (recursively)\n"
            "  vmtest [--mode interp|jit|aot] [--fork NAME] [--filter SUBSTRING] [--shard K/N]\n"
            "         [-v] PATH...\n"
            "                 run legacy VM tests (default fork: Homestead)\n"
            "  aot --store DIR [--fork NAME]... [--opt 0..3] [--timeout SECONDS] FILE...\n"
            "                 compile every contract in FILEs ahead of time into the store\n"
            "  store ls|verify DIR, store gc DIR [--min-age SECONDS]\n"
            "                 list, re-check, or clean an artifact store\n"
            "  keccak TEXT    print the keccak-256 of TEXT\n"
            "  --help         this text\n");
}

static void keccak_usage(FILE *out) {
    fprintf(out, "usage: evmjit keccak [--] TEXT\n"
                 "Print the keccak-256 of the bytes of TEXT, in hex. A TEXT that starts with '-'\n"
                 "follows \"--\".\n");
}

static void test_usage(FILE *out, bool vm) {
    if (vm)
        fprintf(out,
                "usage: evmjit vmtest [--mode interp|jit|aot] [--fork NAME] [--filter SUBSTRING]\n"
                "                     [--skip-list FILE] [--shard K/N]\n"
                "                     [--evmc MODULE.so [--evmc-option NAME=VALUE]...]\n"
                "                     [-v] PATH...\n"
                "Run the legacy VM tests (ethereum/legacytests VMTests) in each file or directory,\n"
                "recursively: one code execution each, compared on gas left, output, logs and\n"
                "storage. Ends with \"N passed, M failed[, K skipped]\".\n");
    else
        fprintf(out,
                "usage: evmjit statetest [--mode interp|jit|aot] [--fork NAME] [--filter SUBSTRING]\n"
                "                        [--skip-list FILE] [--shard K/N]\n"
                "                        [--evmc MODULE.so [--evmc-option NAME=VALUE]...]\n"
                "                        [-v] PATH...\n"
                "Run the state tests in each file or directory, recursively: every post entry's\n"
                "transaction, compared on the post-state root and the logs hash. Ends with\n"
                "\"N passed, M failed[, K skipped]\".\n");
    fprintf(out,
            "  --mode MODE           interp (the default); jit or aot: compile every frame\n"
            "                        before it runs (needs the LLVM backend)\n"
            "  --fork NAME           only this fork's vectors (%s)\n"
            "  --filter SUBSTRING    only tests whose file path or name contains it\n"
            "  --skip-list FILE      tests to skip: per line a substring of FILE::TEST, a reason\n"
            "  --shard K/N           only the files whose name hashes to K (0..N-1) of N shards:\n"
            "                        a fixed selection, for example a fifth of a slow suite\n"
            "  --evmc MODULE.so      run every frame through this EVMC module instead\n"
            "  --evmc-option N=V     set an option of the module (repeatable, up to 16)\n"
            "  -v, --verbose         print every vector\n"
            "  --help                this text\n"
            "Exit status: 0 when every test passed, 1 on a failure, 2 on a usage error.\n",
            vm ? "default: Homestead" : "default: every fork the test names");
}

/* A one-line error and the usage of statetest or vmtest; returns NULL (status 2). */
static void *test_usage_error(bool vm, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "evmjit %s: ", vm ? "vmtest" : "statetest");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    test_usage(stderr, vm);
    return NULL;
}

/* Load an EVMC module the way EVMC hosts do: evmc_create_<name>, where <name> is the file
   name without a "lib" prefix and without its extensions (libevmjit.so -> evmjit). */
static evmjit_vm *load_evmc_module(const char *path, void **handle) {
    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) {
        fprintf(stderr, "evmjit: cannot load %s: %s\n", path, dlerror());
        return NULL;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!strncmp(base, "lib", 3)) base += 3;
    char symbol[256];
    int n = snprintf(symbol, sizeof symbol, "evmc_create_%.*s", (int)strcspn(base, "."), base);
    evmjit_vm *(*create)(void) = NULL;
    if (n > 0 && (size_t)n < sizeof symbol) *(void **)&create = dlsym(*handle, symbol);
    if (!create) *(void **)&create = dlsym(*handle, "evmc_create");
    evmjit_vm *vm = create ? create() : NULL;
    if (!vm || vm->abi_version != EVMJIT_EVMC_ABI_VERSION) {
        fprintf(stderr, "evmjit: %s: %s\n", path,
                !create ? "no evmc_create_<name> function"
                : !vm   ? "the module made no VM"
                        : "not EVMC ABI version 12");
        if (vm) vm->destroy(vm);
        dlclose(*handle);
        return NULL;
    }
    return vm;
}

typedef struct test_job {
    int argc;
    char **argv;
    bool vm;
    int status;
} test_job;

/* statetest / vmtest: parse options, run every PATH, print the counts. */
static void *run_tests(void *arg) {
    test_job *job = arg;
    statetest_options o;
    memset(&o, 0, sizeof o);
    o.vm_rev = EVMJIT_HOMESTEAD;
    const char *mode = "interp";
    const char *evmc_path = NULL;
    const char *evmc_options[16];
    int evmc_option_count = 0;
    int i = 2;
    job->status = 2;
    for (; i < job->argc && job->argv[i][0] == '-'; i++) {
        const char *a = job->argv[i];
        const char *val = i + 1 < job->argc ? job->argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            test_usage(stdout, job->vm);
            job->status = 0;
            return NULL;
        }
        bool takes_value = !strcmp(a, "--mode") || !strcmp(a, "--fork") ||
                           !strcmp(a, "--filter") || !strcmp(a, "--skip-list") || !strcmp(a, "--shard") ||
                           !strcmp(a, "--evmc") || !strcmp(a, "--evmc-option");
        if (takes_value && !val) return test_usage_error(job->vm, "%s needs a value", a);
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o.verbose = true;
        } else if (!strcmp(a, "--mode") && val) {
            mode = val, i++;
        } else if (!strcmp(a, "--fork") && val) {
            evmjit_revision rev;
            if (!host_revision_from_name(val, &rev))
                return test_usage_error(job->vm, "unknown fork name '%s'", val);
            o.has_fork = true;
            o.fork = rev;
            o.vm_rev = rev;
            i++;
        } else if (!strcmp(a, "--filter") && val) {
            o.filter = val, i++;
        } else if (!strcmp(a, "--skip-list") && val) {
            o.skip_list = val, i++;
        } else if (!strcmp(a, "--shard") && val) {
            char *end;
            unsigned long k = strtoul(val, &end, 10), n = 0;
            if (*end == '/') n = strtoul(end + 1, &end, 10);
            if (*end || n < 1 || n > 1000 || k >= n)
                return test_usage_error(job->vm, "--shard wants K/N with 0 <= K < N <= 1000, not '%s'", val);
            o.shard = (unsigned)k, o.shards = (unsigned)n, i++;
        } else if (!strcmp(a, "--evmc") && val) {
            evmc_path = val, i++;
        } else if (!strcmp(a, "--evmc-option") && val) {
            if (!strchr(val, '='))
                return test_usage_error(job->vm, "--evmc-option: '%s' is not NAME=VALUE", val);
            if (evmc_option_count == 16)
                return test_usage_error(job->vm, "more than 16 --evmc-option");
            evmc_options[evmc_option_count++] = val, i++;
        } else {
            return test_usage_error(job->vm, "unknown option '%s'", a);
        }
    }
    if (i >= job->argc) return test_usage_error(job->vm, "needs at least one PATH");
    char why[160];
    statetest_runtime runtime;
    switch (statetest_make_runtime(mode, &runtime, why, sizeof why)) {
    case STATETEST_MODE_READY: break;
    case STATETEST_MODE_UNAVAILABLE:
        fprintf(stderr, "evmjit: --mode %s is %s\n", mode, why);
        return NULL;
    case STATETEST_MODE_UNKNOWN:
        return test_usage_error(job->vm, "unknown --mode '%s' (interp, jit, aot)", mode);
    }
    void *module = NULL;
    if (evmc_path) {
        if (!(o.vm = load_evmc_module(evmc_path, &module))) {
            statetest_destroy_runtime(&runtime);
            return NULL;
        }
        for (int k = 0; k < evmc_option_count; k++) {
            char name[64];
            const char *eq = strchr(evmc_options[k], '=');
            snprintf(name, sizeof name, "%.*s", (int)(eq - evmc_options[k]), evmc_options[k]);
            evmjit_set_option_result r = o.vm->set_option
                                             ? o.vm->set_option(o.vm, name, eq + 1)
                                             : EVMJIT_SET_OPTION_INVALID_NAME;
            if (r != EVMJIT_SET_OPTION_SUCCESS) {
                fprintf(stderr, "evmjit: %s rejects option %s (%s)\n", evmc_path, evmc_options[k],
                        r == EVMJIT_SET_OPTION_INVALID_NAME ? "unknown name" : "invalid value");
                o.vm->destroy(o.vm);
                dlclose(module);
                statetest_destroy_runtime(&runtime);
                return NULL;
            }
        }
    }
    o.runtime = runtime.rt;
    statetest_counts c = {0, 0, 0};
    for (; i < job->argc; i++) {
        if (job->vm) statetest_run_vm_path(&o, job->argv[i], &c, stdout);
        else statetest_run_path(&o, job->argv[i], &c, stdout);
        fflush(stdout);
    }
    statetest_destroy_runtime(&runtime);
    if (o.vm) {
        o.vm->destroy(o.vm);
        dlclose(module);
    }
    statetest_print_counts(&c, stdout);
    job->status = c.failed ? 1 : 0;
    return NULL;
}

/* bench: its own options; see examples/bench.h. */
static void *run_bench(void *arg) {
    test_job *job = arg;
    job->status = bench_main(job->argc - 1, job->argv + 1);
    return NULL;
}

/* demo: its own options; see examples/demo.h. */
static void *run_demo(void *arg) {
    test_job *job = arg;
    job->status = demo_main(job->argc - 1, job->argv + 1);
    return NULL;
}

/* Tests nest up to 1024 call frames, each a few native frames (host and interpreter): run
   them on a thread with a generous stack rather than trusting the main thread's limit. */
static int run_on_big_stack(void *(*fn)(void *), test_job *job) {
    pthread_attr_t attr;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0) return 2;
    pthread_attr_setstacksize(&attr, (size_t)512 << 20);
    int rc = pthread_create(&t, &attr, fn, job);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fn(job); /* fall back to this thread */
        return job->status;
    }
    pthread_join(t, NULL);
    return job->status;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "keccak")) {
        int i = 2;
        if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
            keccak_usage(stdout);
            return 0;
        }
        if (i < argc && !strcmp(argv[i], "--")) i++;
        else if (i < argc && argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "evmjit keccak: unknown option '%s'\n", argv[i]);
            keccak_usage(stderr);
            return 2;
        }
        if (argc - i != 1) {
            fprintf(stderr, "evmjit keccak: needs exactly one TEXT\n");
            keccak_usage(stderr);
            return 2;
        }
        evmjit_bytes32 h = evmjit_keccak256((const uint8_t *)argv[i], strlen(argv[i]));
        for (int k = 0; k < 32; k++) printf("%02x", h.bytes[k]);
        printf("\n");
        return 0;
    }
    if (!strcmp(argv[1], "statetest") || !strcmp(argv[1], "vmtest")) {
        test_job job = {argc, argv, !strcmp(argv[1], "vmtest"), 2};
        return run_on_big_stack(run_tests, &job);
    }
    if (!strcmp(argv[1], "bench")) {
        test_job job = {argc, argv, false, 2};
        return run_on_big_stack(run_bench, &job);
    }
    if (!strcmp(argv[1], "demo")) {
        test_job job = {argc, argv, false, 2};
        return run_on_big_stack(run_demo, &job);
    }
    if (!strcmp(argv[1], "bench-cache"))
        return bench_cache_main(argc - 1, argv + 1, statetest_llvm_backend());
    if (!strcmp(argv[1], "aot") || !strcmp(argv[1], "store")) return store_cli_main(argc, argv);
    fprintf(stderr, "evmjit: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
