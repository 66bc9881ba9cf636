/* libevmjit.so as an EVMC host sees it: only dlopen and the EVMC ABI (the header is included
   for its EVMC-compatible types; no evmjit function is linked or called directly).
   Checks the VM object, set_option answers, execution, 1024 nested executions through
   vm->execute on an 8 MiB thread, and that the module exports nothing but
   evmc_create_evmjit. The module path is ../libevmjit.so beside this test's directory, or
   EVMJIT_MODULE. */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mock_host.h"

static char module_path[PATH_MAX];

static void find_module(void) {
    const char *env = getenv("EVMJIT_MODULE");
    if (env) {
        snprintf(module_path, sizeof module_path, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(module_path, sizeof module_path, "%s/../libevmjit.so", dirname(exe));
}

static evmjit_vm *loaded_vm;

static evmjit_result vm_execute(mock *m, const evmjit_message *msg) {
    return loaded_vm->execute(loaded_vm, mock_iface(), (evmjit_host_context *)m, m->rev, msg,
                              m->code, m->code_size);
}

static evmjit_result run(mock *m, const char *hex, int64_t gas) {
    memset(m, 0, sizeof *m);
    m->code = mock_hex(hex, &m->code_size);
    m->rev = EVMJIT_CANCUN;
    m->execute = vm_execute;
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = gas;
    return vm_execute(m, &msg);
}

static void *deep(void *arg) {
    mock *m = (mock *)arg;
    /* CALL(gas, ADDRESS, 0, 0, 0, 0, 0) to itself, then STOP */
    evmjit_result r = run(m, "60006000600060006000305af100", INT64_MAX / 2);
    if (r.status_code != EVMJIT_SUCCESS) m->calls = -1;
    if (r.release) r.release(&r);
    return NULL;
}

static void check_exports(void) {
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s' 2>/dev/null", module_path);
    FILE *p = popen(cmd, "r");
    if (!p) {
        SKIP("cannot run nm to list the module's exports");
        return;
    }
    char line[512];
    int ours = 0, others = 0;
    while (fgets(line, sizeof line, p)) {
        if (strstr(line, " evmc_create_evmjit")) ours++;
        else if (strstr(line, " T ") || strstr(line, " D ") || strstr(line, " B ") ||
                 strstr(line, " R ") || strstr(line, " W ") || strstr(line, " V ")) {
            others++;
            fprintf(stderr, "unexpected export: %s", line);
        }
    }
    int rc = pclose(p);
    CHECKF(rc == 0 && ours == 1 && others == 0, "nm rc %d, evmc_create_evmjit %d, others %d",
           rc, ours, others);
}

int main(void) {
    find_module();
    void *so = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
    CHECKF(so != NULL, "dlopen %s: %s", module_path, dlerror());
    if (!so) return check_summary();
    evmjit_vm *(*create)(void) = NULL;
    *(void **)&create = dlsym(so, "evmc_create_evmjit");
    CHECK(create != NULL);
    if (!create) return check_summary();
    evmjit_vm *vm = create();
    loaded_vm = vm;
    CHECK(vm && vm->abi_version == 12);
    CHECK(vm && !strcmp(vm->name, "evmjit") && vm->version && vm->version[0]);
    CHECK(vm->get_capabilities(vm) == EVMJIT_CAPABILITY_EVM1);
    CHECK(vm->set_option != NULL);

    CHECK(vm->set_option(vm, "no_such_option", "1") == EVMJIT_SET_OPTION_INVALID_NAME);
    CHECK(vm->set_option(vm, "mode", "bogus") == EVMJIT_SET_OPTION_INVALID_VALUE);
    CHECK(vm->set_option(vm, "hot_threshold", "abc") == EVMJIT_SET_OPTION_INVALID_VALUE);
    CHECK(vm->set_option(vm, "hot_threshold", "-1") == EVMJIT_SET_OPTION_INVALID_VALUE);
    CHECK(vm->set_option(vm, "opt_level", "4") == EVMJIT_SET_OPTION_INVALID_VALUE);
    CHECK(vm->set_option(vm, "blocking", "yes") == EVMJIT_SET_OPTION_INVALID_VALUE);
    CHECK(vm->set_option(vm, "store", "") == EVMJIT_SET_OPTION_INVALID_VALUE);
    CHECK(vm->set_option(vm, "mode", "interpreter") == EVMJIT_SET_OPTION_SUCCESS);
    CHECK(vm->set_option(vm, "hot_threshold", "3") == EVMJIT_SET_OPTION_SUCCESS);
    CHECK(vm->set_option(vm, "opt_level", "2") == EVMJIT_SET_OPTION_SUCCESS);
    CHECK(vm->set_option(vm, "blocking", "1") == EVMJIT_SET_OPTION_SUCCESS);

    mock m;
    /* PUSH1 42 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: 4 pushes, MSTORE 3 + 3 memory */
    evmjit_result r = run(&m, "602a60005260206000f3", 1000);
    CHECK(r.status_code == EVMJIT_SUCCESS && r.gas_left == 1000 - 18 && r.output_size == 32 &&
          r.output_data[31] == 42);
    if (r.release) r.release(&r);

    /* 1024 nested frames through vm->execute on an ordinary 8 MiB thread stack */
    CHECK(mock_run_on_8mib_thread(deep, &m) == 0);
    CHECKF(m.max_depth == 1024 && m.calls == 1024, "depth %d calls %ld", m.max_depth, m.calls);

    check_exports();
    vm->destroy(vm);
    dlclose(so);
    return check_summary();
}
