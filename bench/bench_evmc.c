/* The per-call cost of libevmjit.so's execute on a cache hit, as an EVMC host sees it (dlopen
   and the EVMC ABI only). EVMC passes no code hash, so the module remembers it by code pointer
   and length and verifies the bytes (one memcmp); this measures what that costs for a 24 KiB
   contract against a 1-byte one. Both contracts STOP at once, in jit mode, after compilation,
   so the difference is the size-dependent overhead. Prints figures; asserts nothing.
   Usage: bench_evmc [MODULE] (default: libevmjit.so beside this program) */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evmjit_cache.h"
#include "../tests/mock_host.h"

static evmjit_vm *vm;

static evmjit_result vm_execute(mock *m, const evmjit_message *msg) {
    return vm->execute(vm, mock_iface(), (evmjit_host_context *)m, m->rev, msg, m->code,
                       m->code_size);
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Median over 7 rounds of the mean ns per execute. */
static double per_call_ns(const uint8_t *code, size_t size) {
    mock m;
    memset(&m, 0, sizeof m);
    m.code = code;
    m.code_size = size;
    m.rev = EVMJIT_CANCUN;
    m.execute = vm_execute;
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = 100000;
    double rounds[7];
    for (int r = 0; r < 7; r++) {
        int n = 20000;
        double t0 = now_ns();
        for (int i = 0; i < n; i++) {
            evmjit_result res = vm_execute(&m, &msg);
            if (res.release) res.release(&res);
        }
        rounds[r] = (now_ns() - t0) / n;
    }
    for (int i = 1; i < 7; i++)
        for (int j = i; j > 0 && rounds[j] < rounds[j - 1]; j--) {
            double t = rounds[j];
            rounds[j] = rounds[j - 1];
            rounds[j - 1] = t;
        }
    return rounds[3];
}

int main(int argc, char **argv) {
    char path[PATH_MAX];
    if (argc > 1) {
        snprintf(path, sizeof path, "%s", argv[1]);
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        snprintf(path, sizeof path, "%s/libevmjit.so", dirname(exe));
    }
    void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "bench_evmc: %s\n", dlerror());
        return 1;
    }
    evmjit_vm *(*create)(void) = NULL;
    *(void **)&create = dlsym(so, "evmc_create_evmjit");
    vm = create ? create() : NULL;
    if (!vm) return 1;
    const char *mode = "jit";
    if (vm->set_option(vm, "mode", "jit") != EVMJIT_SET_OPTION_SUCCESS ||
        vm->set_option(vm, "blocking", "1") != EVMJIT_SET_OPTION_SUCCESS) {
        mode = "interpreter (no LLVM backend)";
        vm->set_option(vm, "mode", "interpreter");
    }
    static uint8_t big[24576];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(0x5b + i % 3); /* JUMPDEST.. */
    big[0] = 0x00; /* STOP */
    static const uint8_t tiny[1] = {0x00};
    double t_tiny = per_call_ns(tiny, sizeof tiny);
    double t_big = per_call_ns(big, sizeof big);
    printf("mode %s, execute on a hit:\n", mode);
    printf("  1-byte code:    %8.1f ns/call\n", t_tiny);
    printf("  24 KiB code:    %8.1f ns/call\n", t_big);
    printf("  24 KiB overhead (code-hash memo): %.1f ns/call\n", t_big - t_tiny);
    printf("evmc_hit_1b_ns=%.1f evmc_hit_24k_ns=%.1f memo_overhead_24k_ns=%.1f\n", t_tiny, t_big,
           t_big - t_tiny);
    vm->destroy(vm);
    dlclose(so);
    return 0;
}
