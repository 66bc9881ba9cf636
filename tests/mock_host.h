/* mock_host.h - a minimal host for tests: one account's storage (16 slots), every account
   exists and is cold, and host->call re-enters `execute` with the same code (so a contract
   that calls itself recurses). Needs only the evmjit (= EVMC) types, not the implementation,
   so an EVMC-host test can use it with a VM loaded by dlopen. */
#ifndef EVMJIT_TESTS_MOCK_HOST_H
#define EVMJIT_TESTS_MOCK_HOST_H
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "evmjit_cache.h"

struct mock;
/* Runs one nested frame for the mock host. */
typedef evmjit_result (*mock_execute_fn)(struct mock *m, const evmjit_message *msg);

typedef struct mock {
    evmjit_bytes32 keys[16], values[16];
    int slots;
    const uint8_t *code;
    size_t code_size;
    evmjit_revision rev;
    int max_depth;
    long calls;
    mock_execute_fn execute;
    void *user; /* for `execute` */
} mock;

static bool m_exists(evmjit_host_context *c, const evmjit_address *a) { (void)c, (void)a; return true; }
static evmjit_bytes32 m_get_storage(evmjit_host_context *c, const evmjit_address *a, const evmjit_bytes32 *k) {
    mock *m = (mock *)c;
    (void)a;
    for (int i = 0; i < m->slots; i++)
        if (!memcmp(m->keys[i].bytes, k->bytes, 32)) return m->values[i];
    evmjit_bytes32 z = {{0}};
    return z;
}
static evmjit_storage_status m_set_storage(evmjit_host_context *c, const evmjit_address *a,
                                           const evmjit_bytes32 *k, const evmjit_bytes32 *v) {
    mock *m = (mock *)c;
    (void)a;
    for (int i = 0; i < m->slots; i++)
        if (!memcmp(m->keys[i].bytes, k->bytes, 32)) {
            m->values[i] = *v;
            return EVMJIT_STORAGE_ASSIGNED;
        }
    if (m->slots < 16) {
        m->keys[m->slots] = *k;
        m->values[m->slots++] = *v;
    }
    return EVMJIT_STORAGE_ADDED;
}
static evmjit_bytes32 m_zero32(evmjit_host_context *c, const evmjit_address *a) {
    (void)c, (void)a;
    evmjit_bytes32 z = {{0}};
    return z;
}
static size_t m_code_size(evmjit_host_context *c, const evmjit_address *a) { (void)c, (void)a; return 0; }
static size_t m_copy_code(evmjit_host_context *c, const evmjit_address *a, size_t o, uint8_t *b, size_t n) {
    (void)c, (void)a, (void)o, (void)b, (void)n;
    return 0;
}
static bool m_selfdestruct(evmjit_host_context *c, const evmjit_address *a, const evmjit_address *b) {
    (void)c, (void)a, (void)b;
    return true;
}
static const evmjit_host_interface *mock_iface(void);
static evmjit_result m_call(evmjit_host_context *c, const evmjit_message *msg) {
    mock *m = (mock *)c;
    m->calls++;
    if (msg->depth > m->max_depth) m->max_depth = msg->depth;
    return m->execute(m, msg);
}
static evmjit_tx_context m_tx(evmjit_host_context *c) {
    (void)c;
    evmjit_tx_context t;
    memset(&t, 0, sizeof t);
    t.block_number = 100;
    return t;
}
static evmjit_bytes32 m_block_hash(evmjit_host_context *c, int64_t n) {
    (void)c;
    evmjit_bytes32 h = {{0}};
    h.bytes[31] = (uint8_t)n;
    return h;
}
static void m_log(evmjit_host_context *c, const evmjit_address *a, const uint8_t *d, size_t n,
                  const evmjit_bytes32 t[], size_t tn) {
    (void)c, (void)a, (void)d, (void)n, (void)t, (void)tn;
}
static evmjit_access_status m_access(evmjit_host_context *c, const evmjit_address *a) {
    (void)c, (void)a;
    return EVMJIT_ACCESS_COLD;
}
static evmjit_access_status m_access_storage(evmjit_host_context *c, const evmjit_address *a,
                                             const evmjit_bytes32 *k) {
    (void)c, (void)a, (void)k;
    return EVMJIT_ACCESS_COLD;
}
static evmjit_bytes32 m_tget(evmjit_host_context *c, const evmjit_address *a, const evmjit_bytes32 *k) {
    return m_get_storage(c, a, k);
}
static void m_tset(evmjit_host_context *c, const evmjit_address *a, const evmjit_bytes32 *k,
                   const evmjit_bytes32 *v) {
    (void)m_set_storage(c, a, k, v);
}
static const evmjit_host_interface *mock_iface(void) {
    static const evmjit_host_interface iface = {
        m_exists, m_get_storage, m_set_storage, m_zero32, m_code_size, m_zero32, m_copy_code,
        m_selfdestruct, m_call, m_tx, m_block_hash, m_log, m_access, m_access_storage, m_tget, m_tset};
    return &iface;
}

/* Run fn(arg) on a thread with an ordinary 8 MiB stack and wait for it; 0 on success.
   AddressSanitizer's redzones roughly triple native frames, so that build gets 24 MiB: the
   8 MiB promise (1024 nested frames) is checked by the normal build. */
static inline int mock_run_on_8mib_thread(void *(*fn)(void *), void *arg) {
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
#if defined(__SANITIZE_ADDRESS__)
    pthread_attr_setstacksize(&attr, 24u << 20);
#else
    pthread_attr_setstacksize(&attr, 8u << 20);
#endif
    int rc = pthread_create(&th, &attr, fn, arg);
    if (rc == 0) pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    return rc;
}

/* Parse hex into a static buffer (tests only; at most 4096 bytes). */
static inline const uint8_t *mock_hex(const char *hex, size_t *size) {
    static uint8_t code[4096];
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n && i < sizeof code; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        code[i] = (uint8_t)v;
    }
    *size = n;
    return code;
}
#endif
