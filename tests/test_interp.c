/* Interpreter unit tests with a minimal mock host: exact gas for small programs, status codes
   for every failure kind, revision gating, and 1024 nested calls on an 8 MiB thread stack.
   The state tests (tests/run_tool_tests.sh) are the broad conformance check; these pin down
   behaviour that is easy to state by hand. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"
#include "check.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gas_vectors.h"
#include "mock_host.h"

static evmjit_result interp_execute(mock *m, const evmjit_message *msg) {
    return evmjit_execute(NULL, mock_iface(), (evmjit_host_context *)m, m->rev, msg, m->code,
                          m->code_size, NULL);
}

/* Runs hex code with `gas` under `rev`; returns the result (caller releases). */
static evmjit_result run_hex(mock *m, evmjit_revision rev, const char *hex, int64_t gas) {
    m->code = mock_hex(hex, &m->code_size);
    m->rev = rev;
    m->execute = interp_execute;
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = gas;
    return interp_execute(m, &msg);
}

static void expect(const char *name, evmjit_revision rev, const char *hex, int64_t gas,
                   evmjit_status_code status, int64_t gas_left) {
    mock m;
    memset(&m, 0, sizeof m);
    evmjit_result r = run_hex(&m, rev, hex, gas);
    CHECKF(r.status_code == status && r.gas_left == gas_left,
           "%s: status %d gas_left %lld, want %d %lld", name, r.status_code,
           (long long)r.gas_left, status, (long long)gas_left);
    if (r.release) r.release(&r);
}

/* Empty code given as (NULL, 0) on a thread whose analysis cache is still empty: an empty
   cache slot must not be taken for this code's analysis. */
static void *empty_code_fresh_thread(void *arg) {
    evmjit_result *out = (evmjit_result *)arg;
    mock m;
    memset(&m, 0, sizeof m);
    m.rev = EVMJIT_CANCUN;
    m.execute = interp_execute;
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = 100;
    *out = interp_execute(&m, &msg);
    evmjit_thread_cleanup();
    return NULL;
}

static void *deep_recursion(void *arg) {
    mock *m = (mock *)arg;
    /* CALL(gas, address, 0, 0, 0, 0, 0) to itself, then STOP */
    evmjit_result r = run_hex(m, EVMJIT_CANCUN, "60006000600060006000305af100", INT64_MAX / 2);
    m->calls = r.status_code == EVMJIT_SUCCESS ? m->calls : -1;
    if (r.release) r.release(&r);
    evmjit_thread_cleanup();
    return NULL;
}

int main(void) {
    for (size_t i = 0; i < sizeof gas_vectors / sizeof gas_vectors[0]; i++) {
        const gas_vector *v = &gas_vectors[i];
        expect(v->name, v->rev, v->hex, v->gas, v->status, v->gas_left);
    }
    expect("exp gas frontier", EVMJIT_FRONTIER, "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff60020a00", 10000,
           EVMJIT_SUCCESS, 10000 - 3 - 3 - 10 - 10 * 32);

    {
        /* 1025 PUSH0: stack overflow at the 1025th */
        char hex[2 * 1026 + 1];
        for (int i = 0; i < 1025; i++) memcpy(hex + 2 * i, "5f", 2);
        hex[2 * 1025] = 0;
        expect("stack overflow", EVMJIT_SHANGHAI, hex, 100000, EVMJIT_STACK_OVERFLOW, 0);
        hex[2 * 1024] = 0;
        expect("stack full", EVMJIT_SHANGHAI, hex, 100000, EVMJIT_SUCCESS, 100000 - 2 * 1024);
    }
    {
        pthread_t th;
        evmjit_result r;
        memset(&r, 0, sizeof r);
        CHECK(pthread_create(&th, NULL, empty_code_fresh_thread, &r) == 0);
        pthread_join(th, NULL);
        CHECKF(r.status_code == EVMJIT_SUCCESS && r.gas_left == 100, "empty code: status %d",
               r.status_code);
    }
    {
        /* The analysis cache picks a slot by the code's length and last 16 bytes, so other
           code of the same length and tail, in the same buffer rewritten, shares the slot
           and must be analysed again. Code A jumps to a JUMPDEST at 3; code B has a PUSH2
           there, so the same jump must fail. */
        static uint8_t buf[21];
        uint8_t a[21] = {0x60, 0x03, 0x56, 0x5b, 0x00}, bcode[21] = {0x60, 0x03, 0x56, 0x61, 0x5b};
        mock m;
        memset(&m, 0, sizeof m);
        m.rev = EVMJIT_CANCUN;
        m.execute = interp_execute;
        m.code = buf;
        m.code_size = sizeof buf;
        evmjit_message msg;
        memset(&msg, 0, sizeof msg);
        msg.gas = 100;
        memcpy(buf, a, sizeof buf);
        evmjit_result r1 = interp_execute(&m, &msg);
        memcpy(buf, bcode, sizeof buf);
        evmjit_result r2 = interp_execute(&m, &msg);
        /* and A again from another buffer: its analysis is found or made, never B's */
        m.code = a;
        evmjit_result r3 = interp_execute(&m, &msg);
        CHECK(r1.status_code == EVMJIT_SUCCESS);
        CHECK(r3.status_code == EVMJIT_SUCCESS);
        CHECK(r2.status_code == EVMJIT_BAD_JUMP_DESTINATION);
    }
    {
        /* output: MSTORE 0x2a at 0, RETURN 32 bytes from 0 */
        mock m;
        memset(&m, 0, sizeof m);
        evmjit_result r = run_hex(&m, EVMJIT_CANCUN, "602a60005260206000f3", 100);
        CHECK(r.status_code == EVMJIT_SUCCESS && r.output_size == 32 && r.output_data &&
              r.output_data[31] == 0x2a && r.output_data[0] == 0);
        if (r.release) r.release(&r);
    }
    {
        /* 1024 nested calls on an 8 MiB thread stack (about 3.3 KiB per level at -O2) */
        mock m;
        memset(&m, 0, sizeof m);
        CHECK(mock_run_on_8mib_thread(deep_recursion, &m) == 0);
        CHECKF(m.max_depth == 1024 && m.calls == 1024, "max depth %d calls %ld", m.max_depth,
               m.calls);
    }
    evmjit_thread_cleanup();
    return check_summary();
}
