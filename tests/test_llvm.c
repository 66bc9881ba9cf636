/* LLVM backend tests: every program runs through the interpreter and through the JIT (and
   some through AOT) on the same deterministic mock host; status, gas left, refund, output,
   storage, transient storage, warm sets, logs and calls must agree exactly.

     build/tests/test_llvm                 directed cases, every opcode class, revisions,
                                           failures, nested calls, AOT, adversarial inputs,
                                           2,000 random programs
     build/tests/test_llvm random N [SEED] N random programs only (the long differential run)
     build/tests/test_llvm bench FILE...   not here: see examples (later `evmjit bench`)

   Only built when LLVM is available (see the Makefile). */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"
#include "check.h"
#include "gas_vectors.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- the backend under test: evmjit_llvm.c's evmjit_backend, through a small shim that
   gives the tests direct calls (code in, fn out) ---- */
const evmjit_backend *evmjit_llvm_backend(void); /* until evmjit_cache.h declares it */

typedef struct evmjit_llvm_timings {
    uint64_t analysis_ns, ir_ns, opt_ns, codegen_ns, link_ns;
} evmjit_llvm_timings;
typedef struct evmjit_llvm_aot {
    uint8_t *bytes;
    size_t size;
    char symbol[128];
    char target[128];
    evmjit_compile_output out;
} evmjit_llvm_aot;

static const evmjit_backend *BE;
static size_t last_code_bytes;

static void *s_create(int opt, char *err, size_t n) {
    void *c = NULL;
    return BE->create_compiler(BE->user, opt < 0 ? 2 : opt, &c, err, n) == EVMJIT_OK ? c : NULL;
}
static void s_destroy(void *c) { BE->destroy_compiler(BE->user, c); }
static void s_request(evmjit_compile_request *req, const uint8_t *code, size_t n, evmjit_revision rev,
                      const evmjit_bytes32 *hash) {
    memset(req, 0, sizeof *req);
    req->code_hash = *hash;
    req->rev = rev;
    req->code = code;
    req->code_size = n;
    req->opt_level = 2;
}
static void s_times(evmjit_llvm_timings *t, const evmjit_compile_output *out) {
    if (!t) return;
    t->analysis_ns = out->times.analysis_ns;
    t->ir_ns = out->times.ir_ns;
    t->opt_ns = out->times.optimize_ns;
    t->codegen_ns = out->times.codegen_ns;
    t->link_ns = out->times.link_ns;
}
/* true: JIT compilations ask for the full tier (req.upgrade, as the runtime's recompilation
   of a hot program does); false: a first compilation, the baseline tier at the default level */
static bool s_full_tier;
static evmjit_error s_jit(void *c, const uint8_t *code, size_t n, evmjit_revision rev, const evmjit_bytes32 *hash,
                          evmjit_fn *fn, void **prog, evmjit_llvm_timings *t, char *err, size_t errn) {
    evmjit_compile_request req;
    evmjit_compile_output out;
    s_request(&req, code, n, rev, hash);
    req.upgrade = s_full_tier;
    memset(&out, 0, sizeof out);
    evmjit_error e = BE->compile_jit(BE->user, c, &req, &out);
    *fn = out.fn;
    *prog = out.code;
    last_code_bytes = out.code_bytes;
    s_times(t, &out);
    snprintf(err, errn, "%s", out.message);
    return e;
}
static void s_free_code(void *prog) { BE->free_code(BE->user, prog); }
static size_t s_code_bytes(const void *prog) { return prog ? last_code_bytes : 0; }
static evmjit_error s_aot(void *c, const uint8_t *code, size_t n, evmjit_revision rev, const evmjit_bytes32 *hash,
                          evmjit_llvm_aot *a, evmjit_llvm_timings *t, char *err, size_t errn) {
    evmjit_compile_request req;
    s_request(&req, code, n, rev, hash);
    memset(a, 0, sizeof *a);
    evmjit_error e = BE->compile_aot(BE->user, c, &req, &a->out);
    a->bytes = a->out.object;
    a->size = a->out.object_size;
    memcpy(a->symbol, a->out.symbol, sizeof a->symbol);
    memcpy(a->target, a->out.target, sizeof a->target);
    s_times(t, &a->out);
    snprintf(err, errn, "%s", a->out.message);
    return e;
}
static void s_free_aot(evmjit_llvm_aot *a) { BE->free_object(BE->user, &a->out); }

typedef struct shim_backend {
    const char *name, *version;
    void *(*create)(int, char *, size_t);
    void (*destroy)(void *);
    evmjit_error (*compile_jit)(void *, const uint8_t *, size_t, evmjit_revision, const evmjit_bytes32 *,
                                evmjit_fn *, void **, evmjit_llvm_timings *, char *, size_t);
    void (*free_code)(void *);
    size_t (*code_bytes)(const void *);
    evmjit_error (*compile_aot)(void *, const uint8_t *, size_t, evmjit_revision, const evmjit_bytes32 *,
                                evmjit_llvm_aot *, evmjit_llvm_timings *, char *, size_t);
    void (*free_aot)(evmjit_llvm_aot *);
} shim_backend;

static const shim_backend *shim_table(void) {
    static shim_backend t = {NULL, NULL, s_create, s_destroy, s_jit, s_free_code, s_code_bytes, s_aot, s_free_aot};
    BE = evmjit_llvm_backend();
    t.name = BE->name;
    t.version = BE->version;
    return &t;
}

static const shim_backend *B;
static void *compiler;

/* ============================================================================================
   Mock host: up to 4 contracts, storage with originals (EIP-2200 statuses), warm sets,
   transient storage, logs folded into a hash. Calls run the callee's code in the host's
   current mode (interpreter or compiled) through evmjit__run_frame.
   ========================================================================================== */

enum { MODE_INTERP, MODE_JIT, MODE_AOT };

typedef struct contract {
    evmjit_address addr;
    const uint8_t *code;
    size_t size;
    evmjit_fn fn[EVMJIT_MAX_REVISION + 1]; /* compiled (JIT or AOT) per revision */
} contract;

typedef struct slot {
    evmjit_address addr;
    evmjit_bytes32 key, value, original;
    bool warm;
} slot;

#define MAX_SLOTS 2048
typedef struct host {
    int mode;
    evmjit_revision rev;
    contract contracts[4];
    int ncontracts;
    slot slots[MAX_SLOTS];
    int nslots;
    slot tslots[MAX_SLOTS];
    int ntslots;
    uint16_t sidx[4096], tidx[4096];
    evmjit_address warm[64];
    int nwarm;
    evmjit_keccak logs;
    int nlogs;
    long calls, creates, selfdestructs;
    uint64_t call_digest; /* folds every nested message the host sees */
} host;

static bool addr_eq(const evmjit_address *a, const evmjit_address *b) { return !memcmp(a->bytes, b->bytes, 20); }
static bool b32_zero(const evmjit_bytes32 *a) {
    for (int i = 0; i < 32; i++)
        if (a->bytes[i]) return false;
    return true;
}
static bool b32_eq(const evmjit_bytes32 *a, const evmjit_bytes32 *b) { return !memcmp(a->bytes, b->bytes, 32); }

static contract *h_contract(host *h, const evmjit_address *a) {
    for (int i = 0; i < h->ncontracts; i++)
        if (addr_eq(&h->contracts[i].addr, a)) return &h->contracts[i];
    return NULL;
}
/* Slot lookup through an open-addressing index (4096 entries for at most 2048 slots). */
static slot *h_slot(slot *s, int *n, uint16_t *idx, const evmjit_address *a, const evmjit_bytes32 *k, bool create) {
    uint32_t h = 2166136261u ^ a->bytes[19];
    for (int i = 0; i < 32; i++) h = (h ^ k->bytes[i]) * 16777619u;
    for (uint32_t i = h & 4095;; i = (i + 1) & 4095) {
        if (!idx[i]) {
            if (!create || *n == MAX_SLOTS) return NULL;
            slot *r = &s[(*n)++];
            memset(r, 0, sizeof *r);
            r->addr = *a;
            r->key = *k;
            idx[i] = (uint16_t)*n;
            return r;
        }
        slot *r = &s[idx[i] - 1];
        if (addr_eq(&r->addr, a) && b32_eq(&r->key, k)) return r;
    }
}

static bool m_exists(evmjit_host_context *c, const evmjit_address *a) {
    host *h = (host *)c;
    return h_contract(h, a) != NULL || a->bytes[19] == 0x42;
}
static evmjit_bytes32 m_get_storage(evmjit_host_context *c, const evmjit_address *a, const evmjit_bytes32 *k) {
    host *h = (host *)c;
    slot *s = h_slot(h->slots, &h->nslots, h->sidx, a, k, false);
    evmjit_bytes32 z = {{0}};
    return s ? s->value : z;
}
static evmjit_storage_status m_set_storage(evmjit_host_context *c, const evmjit_address *a,
                                           const evmjit_bytes32 *k, const evmjit_bytes32 *v) {
    host *h = (host *)c;
    slot *s = h_slot(h->slots, &h->nslots, h->sidx, a, k, true);
    if (!s) return EVMJIT_STORAGE_ASSIGNED;
    evmjit_bytes32 o = s->original, cur = s->value;
    evmjit_storage_status st;
    if (b32_eq(&cur, v)) st = EVMJIT_STORAGE_ASSIGNED;
    else if (b32_eq(&o, &cur)) st = b32_zero(&o) ? EVMJIT_STORAGE_ADDED : b32_zero(v) ? EVMJIT_STORAGE_DELETED : EVMJIT_STORAGE_MODIFIED;
    else if (!b32_zero(&o) && b32_zero(&cur)) st = b32_eq(v, &o) ? EVMJIT_STORAGE_DELETED_RESTORED : EVMJIT_STORAGE_DELETED_ADDED;
    else if (!b32_zero(&o) && b32_zero(v)) st = EVMJIT_STORAGE_MODIFIED_DELETED;
    else if (b32_zero(&o) && b32_zero(v)) st = EVMJIT_STORAGE_ADDED_DELETED;
    else if (b32_eq(v, &o)) st = EVMJIT_STORAGE_MODIFIED_RESTORED;
    else st = EVMJIT_STORAGE_ASSIGNED;
    s->value = *v;
    return st;
}
static evmjit_bytes32 m_balance(evmjit_host_context *c, const evmjit_address *a) {
    (void)c;
    evmjit_bytes32 b = {{0}};
    b.bytes[31] = a->bytes[19];
    b.bytes[30] = 1;
    return b;
}
static size_t m_code_size(evmjit_host_context *c, const evmjit_address *a) {
    contract *k = h_contract((host *)c, a);
    return k ? k->size : 0;
}
static evmjit_bytes32 m_code_hash(evmjit_host_context *c, const evmjit_address *a) {
    contract *k = h_contract((host *)c, a);
    evmjit_bytes32 z = {{0}};
    return k ? evmjit_keccak256(k->code, k->size) : z;
}
static size_t m_copy_code(evmjit_host_context *c, const evmjit_address *a, size_t o, uint8_t *b, size_t n) {
    contract *k = h_contract((host *)c, a);
    if (!k || o >= k->size) return 0;
    size_t m = k->size - o < n ? k->size - o : n;
    memcpy(b, k->code + o, m);
    return m;
}
static bool m_selfdestruct(evmjit_host_context *c, const evmjit_address *a, const evmjit_address *b) {
    host *h = (host *)c;
    (void)a, (void)b;
    return h->selfdestructs++ == 0;
}
static const evmjit_host_interface *iface(void);
static evmjit_result m_call(evmjit_host_context *c, const evmjit_message *msg) {
    host *h = (host *)c;
    h->calls++;
    h->call_digest = h->call_digest * 1000003u ^ (uint64_t)msg->gas ^ ((uint64_t)msg->kind << 56) ^
                     ((uint64_t)msg->input_size << 40) ^ ((uint64_t)msg->flags << 48) ^ msg->code_address.bytes[19];
    if (msg->kind == EVMJIT_CREATE || msg->kind == EVMJIT_CREATE2) {
        h->creates++;
        evmjit_result r;
        memset(&r, 0, sizeof r);
        r.status_code = msg->input_size % 3 == 2 ? EVMJIT_REVERT : EVMJIT_SUCCESS;
        r.gas_left = msg->gas / 2;
        r.create_address.bytes[19] = (uint8_t)(0x80 + h->creates);
        return r;
    }
    contract *k = h_contract(h, &msg->code_address);
    if (!k) {
        evmjit_result r;
        memset(&r, 0, sizeof r);
        r.status_code = EVMJIT_SUCCESS;
        r.gas_left = msg->gas;
        return r;
    }
    evmjit_fn fn = h->mode == MODE_INTERP ? evmjit_interpret : k->fn[h->rev];
    if (!fn) fn = evmjit_interpret;
    return evmjit__run_frame(fn, NULL, iface(), c, h->rev, msg, k->code, k->size);
}
static evmjit_tx_context m_tx(evmjit_host_context *c) {
    (void)c;
    static const evmjit_bytes32 blobs[2] = {{{1, 2, 3}}, {{4, 5, 6}}};
    evmjit_tx_context t;
    memset(&t, 0, sizeof t);
    t.tx_gas_price.bytes[31] = 7;
    t.tx_origin.bytes[19] = 0x0a;
    t.block_coinbase.bytes[19] = 0xcb;
    t.block_number = 1000;
    t.block_timestamp = 1700000000;
    t.block_gas_limit = 30000000;
    t.block_prev_randao.bytes[0] = 0x99;
    t.chain_id.bytes[31] = 1;
    t.block_base_fee.bytes[31] = 10;
    t.blob_base_fee.bytes[31] = 3;
    t.blob_hashes = blobs;
    t.blob_hashes_count = 2;
    return t;
}
static evmjit_bytes32 m_block_hash(evmjit_host_context *c, int64_t n) {
    (void)c;
    evmjit_bytes32 b = {{0}};
    b.bytes[0] = 0xbb;
    b.bytes[31] = (uint8_t)n;
    return b;
}
static void m_log(evmjit_host_context *c, const evmjit_address *a, const uint8_t *d, size_t n,
                  const evmjit_bytes32 t[], size_t tn) {
    host *h = (host *)c;
    uint8_t hdr[28];
    memcpy(hdr, a->bytes, 20);
    for (int i = 0; i < 8; i++) hdr[20 + i] = (uint8_t)((n | (uint64_t)tn << 56) >> (8 * i));
    evmjit_keccak_absorb(&h->logs, hdr, sizeof hdr);
    if (n) evmjit_keccak_absorb(&h->logs, d, n);
    for (size_t i = 0; i < tn; i++) evmjit_keccak_absorb(&h->logs, t[i].bytes, 32);
    h->nlogs++;
}
static evmjit_access_status m_access(evmjit_host_context *c, const evmjit_address *a) {
    host *h = (host *)c;
    for (int i = 0; i < h->nwarm; i++)
        if (addr_eq(&h->warm[i], a)) return EVMJIT_ACCESS_WARM;
    if (h->nwarm < 64) h->warm[h->nwarm++] = *a;
    return EVMJIT_ACCESS_COLD;
}
static evmjit_access_status m_access_storage(evmjit_host_context *c, const evmjit_address *a,
                                             const evmjit_bytes32 *k) {
    host *h = (host *)c;
    slot *s = h_slot(h->slots, &h->nslots, h->sidx, a, k, true);
    if (!s) return EVMJIT_ACCESS_WARM;
    bool was = s->warm;
    s->warm = true;
    return was ? EVMJIT_ACCESS_WARM : EVMJIT_ACCESS_COLD;
}
static evmjit_bytes32 m_tget(evmjit_host_context *c, const evmjit_address *a, const evmjit_bytes32 *k) {
    host *h = (host *)c;
    slot *s = h_slot(h->tslots, &h->ntslots, h->tidx, a, k, false);
    evmjit_bytes32 z = {{0}};
    return s ? s->value : z;
}
static void m_tset(evmjit_host_context *c, const evmjit_address *a, const evmjit_bytes32 *k, const evmjit_bytes32 *v) {
    host *h = (host *)c;
    slot *s = h_slot(h->tslots, &h->ntslots, h->tidx, a, k, true);
    if (s) s->value = *v;
}
static const evmjit_host_interface *iface(void) {
    static const evmjit_host_interface i = {m_exists, m_get_storage, m_set_storage, m_balance, m_code_size,
                                            m_code_hash, m_copy_code, m_selfdestruct, m_call, m_tx,
                                            m_block_hash, m_log, m_access, m_access_storage, m_tget, m_tset};
    return &i;
}

/* ---- one run and its observable outcome ---- */

typedef struct outcome {
    evmjit_status_code status;
    int64_t gas_left, refund;
    evmjit_bytes32 output; /* keccak of the output */
    size_t output_size;
    evmjit_bytes32 state; /* storage, transient storage, warm sets, logs, calls */
    int nslots, nlogs;
    long calls;
} outcome;

#define ADDR_MAIN 0x10
static int msg_value = 5; /* CALLVALUE of the top frame (benchmarks use 0) */
#define ADDR_OTHER 0x20

static void host_reset(host *h, int mode, evmjit_revision rev) {
    contract keep[4];
    int nk = h->ncontracts;
    memcpy(keep, h->contracts, sizeof keep);
    memset(h, 0, sizeof *h);
    memcpy(h->contracts, keep, sizeof keep);
    h->ncontracts = nk;
    h->mode = mode;
    h->rev = rev;
    evmjit_keccak_init(&h->logs);
}

static void host_digest(host *h, outcome *o) {
    evmjit_keccak k;
    evmjit_keccak_init(&k);
    for (int i = 0; i < h->nslots; i++) {
        evmjit_keccak_absorb(&k, (const uint8_t *)&h->slots[i].addr, 20);
        evmjit_keccak_absorb(&k, h->slots[i].key.bytes, 32);
        evmjit_keccak_absorb(&k, h->slots[i].value.bytes, 32);
        uint8_t w = h->slots[i].warm;
        evmjit_keccak_absorb(&k, &w, 1);
    }
    for (int i = 0; i < h->ntslots; i++) {
        evmjit_keccak_absorb(&k, h->tslots[i].key.bytes, 32);
        evmjit_keccak_absorb(&k, h->tslots[i].value.bytes, 32);
    }
    for (int i = 0; i < h->nwarm; i++) evmjit_keccak_absorb(&k, h->warm[i].bytes, 20);
    evmjit_keccak lk = h->logs;
    evmjit_bytes32 lh = evmjit_keccak_final(&lk);
    evmjit_keccak_absorb(&k, lh.bytes, 32);
    uint64_t misc[4] = {(uint64_t)h->calls, (uint64_t)h->creates, (uint64_t)h->selfdestructs, h->call_digest};
    evmjit_keccak_absorb(&k, (const uint8_t *)misc, sizeof misc);
    o->state = evmjit_keccak_final(&k);
    o->nslots = h->nslots;
    o->nlogs = h->nlogs;
    o->calls = h->calls;
}

static double now_ms(void);
static double last_run_ms; /* wall time of the last run's frame alone */
static void run(host *h, int mode, evmjit_revision rev, const uint8_t *code, size_t size, evmjit_fn fn,
                int64_t gas, const uint8_t *input, size_t input_size, outcome *o) {
    host_reset(h, mode, rev);
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.gas = gas;
    msg.recipient.bytes[19] = ADDR_MAIN;
    msg.code_address.bytes[19] = ADDR_MAIN;
    msg.sender.bytes[19] = 0x0a;
    msg.value.bytes[31] = (uint8_t)msg_value;
    msg.input_data = input;
    msg.input_size = input_size;
    double t0 = now_ms();
    evmjit_result r = evmjit__run_frame(mode == MODE_INTERP ? evmjit_interpret : fn, NULL, iface(),
                                        (evmjit_host_context *)h, rev, &msg, code, size);
    last_run_ms = now_ms() - t0;
    memset(o, 0, sizeof *o);
    o->status = r.status_code;
    o->gas_left = r.gas_left;
    o->refund = r.gas_refund;
    o->output_size = r.output_size;
    o->output = evmjit_keccak256(r.output_data, r.output_size);
    if (r.release) r.release(&r);
    host_digest(h, o);
}

static bool outcome_eq(const outcome *a, const outcome *b) {
    return a->status == b->status && a->gas_left == b->gas_left && a->refund == b->refund &&
           a->output_size == b->output_size && b32_eq(&a->output, &b->output) && b32_eq(&a->state, &b->state);
}

static void outcome_print(const char *tag, const outcome *o) {
    fprintf(stderr, "  %-6s status %d gas_left %lld refund %lld output %zu slots %d logs %d calls %ld\n", tag,
            o->status, (long long)o->gas_left, (long long)o->refund, o->output_size, o->nslots, o->nlogs, o->calls);
}

static void hex_print(const uint8_t *code, size_t n) {
    for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x", code[i]);
    fputc('\n', stderr);
}

static size_t from_hex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time of the calling thread: what a compilation costs, whatever else the machine runs
   (wall time on a loaded 2-core machine made the budget check flaky). */
static double thread_cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the program set: main code plus the callee, compiled for one revision ---- */

typedef struct compiled {
    void *prog[4];
    int n;
} compiled;

static evmjit_fn jit(const uint8_t *code, size_t size, evmjit_revision rev, compiled *keep, char *err, size_t errn) {
    evmjit_fn fn = NULL;
    void *prog = NULL;
    evmjit_bytes32 hash = evmjit_keccak256(code, size);
    evmjit_error e = B->compile_jit(compiler, code, size, rev, &hash, &fn, &prog, NULL, err, errn);
    if (e != EVMJIT_OK) return NULL;
    keep->prog[keep->n++] = prog;
    return fn;
}
static void release(compiled *keep) {
    for (int i = 0; i < keep->n; i++) B->free_code(keep->prog[i]);
    keep->n = 0;
}

static host H;
static uint8_t other_code[512];
static size_t other_size;

/* Runs code in both tiers and compares. Returns true when they agree. */
static bool differential(const char *name, evmjit_revision rev, const uint8_t *code, size_t size, int64_t gas,
                         const uint8_t *input, size_t input_size, outcome *out_interp) {
    char err[256] = "";
    compiled keep = {{0}, 0};
    H.ncontracts = 2;
    memset(H.contracts, 0, sizeof H.contracts);
    H.contracts[0].addr.bytes[19] = ADDR_MAIN;
    H.contracts[0].code = code;
    H.contracts[0].size = size;
    H.contracts[1].addr.bytes[19] = ADDR_OTHER;
    H.contracts[1].code = other_code;
    H.contracts[1].size = other_size;
    evmjit_fn fn = jit(code, size, rev, &keep, err, sizeof err);
    if (!fn) {
        CHECKF(0, "%s: compile failed: %s", name, err);
        hex_print(code, size);
        release(&keep);
        return false;
    }
    H.contracts[0].fn[rev] = fn;
    H.contracts[1].fn[rev] = jit(other_code, other_size, rev, &keep, err, sizeof err);
    outcome a, b;
    run(&H, MODE_INTERP, rev, code, size, NULL, gas, input, input_size, &a);
    run(&H, MODE_JIT, rev, code, size, fn, gas, input, input_size, &b);
    release(&keep);
    bool same = outcome_eq(&a, &b);
    CHECKF(same, "%s (rev %d, gas %lld): interpreter and JIT differ", name, rev, (long long)gas);
    if (!same) {
        outcome_print("interp", &a);
        outcome_print("jit", &b);
        fprintf(stderr, "  output %s, state %s\n", b32_eq(&a.output, &b.output) ? "same" : "differs",
                b32_eq(&a.state, &b.state) ? "same" : "differs");
        if (size <= 4096) hex_print(code, size);
    }
    if (out_interp) *out_interp = a;
    return same;
}

static bool diff_hex(const char *name, evmjit_revision rev, const char *hex, int64_t gas, outcome *o) {
    static uint8_t code[65536];
    size_t n = from_hex(hex, code, sizeof code);
    static const uint8_t input[40] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36};
    return differential(name, rev, code, n, gas, input, sizeof input, o);
}

/* Exact expectations from the interpreter's unit tests: the JIT must give the same. */
static void expect(const char *name, evmjit_revision rev, const char *hex, int64_t gas, evmjit_status_code st,
                   int64_t gas_left) {
    outcome o;
    if (!diff_hex(name, rev, hex, gas, &o)) return;
    CHECKF(o.status == st && o.gas_left == gas_left, "%s: status %d gas %lld, want %d %lld", name, o.status,
           (long long)o.gas_left, st, (long long)gas_left);
}

static void directed(void) {
    for (size_t i = 0; i < sizeof gas_vectors / sizeof gas_vectors[0]; i++) {
        const gas_vector *v = &gas_vectors[i];
        expect(v->name, v->rev, v->hex, v->gas, v->status, v->gas_left);
    }
    expect("empty code", EVMJIT_CANCUN, "", 100, EVMJIT_SUCCESS, 100);
    expect("jumpi at the end", EVMJIT_CANCUN, "600060035700", 100, EVMJIT_SUCCESS, 84);
    expect("jumpi last byte", EVMJIT_CANCUN, "6000600057", 100, EVMJIT_SUCCESS, 84);

    /* JUMPDEST runs entered by a dynamic jump (PUSH1 x PUSH1 0 ADD JUMP: 17 gas): the dispatch
       charges the JUMPDESTs skipped and enters the run's last one. Runs at pc 6..10 (after a
       JUMP) and 12..14 (after a STOP); then STOP and PUSH1 7 STOP. */
    static const struct { const char *x; int64_t gas; evmjit_status_code st; int64_t left; } runs[] = {
        {"06", 100, EVMJIT_SUCCESS, 78}, {"06", 22, EVMJIT_SUCCESS, 0}, {"06", 21, EVMJIT_OUT_OF_GAS, 0},
        {"08", 100, EVMJIT_SUCCESS, 80}, {"0a", 100, EVMJIT_SUCCESS, 82}, {"0a", 17, EVMJIT_OUT_OF_GAS, 0},
        {"0b", 100, EVMJIT_BAD_JUMP_DESTINATION, 0}, {"0c", 100, EVMJIT_SUCCESS, 77},
        {"0c", 19, EVMJIT_OUT_OF_GAS, 0}, {"0d", 100, EVMJIT_SUCCESS, 78}, {"0e", 100, EVMJIT_SUCCESS, 79},
        {"0f", 100, EVMJIT_BAD_JUMP_DESTINATION, 0}, {"10", 100, EVMJIT_BAD_JUMP_DESTINATION, 0}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char hex[64], name[64];
        snprintf(hex, sizeof hex, "60%s600001565b5b5b5b5b005b5b5b600700", runs[i].x);
        snprintf(name, sizeof name, "jumpdest run: jump to 0x%s, gas %lld", runs[i].x, (long long)runs[i].gas);
        expect(name, EVMJIT_CANCUN, hex, runs[i].gas, runs[i].st, runs[i].left);
    }
    /* a run entered by falling through (JUMPI not taken) and by a dynamic JUMPI into it */
    expect("jumpdest run: fall-through", EVMJIT_CANCUN, "6000600960000157" "5b5b5b00", 100, EVMJIT_SUCCESS, 75);
    expect("jumpdest run: jumpi into it", EVMJIT_CANCUN, "6001600960000157" "5b5b5b00", 100, EVMJIT_SUCCESS, 76);

    /* the order of failures inside one batched section: underflow after an OOG point, OOG
       before an underflow, overflow */
    expect("oog before underflow", EVMJIT_CANCUN, "6001600101016001", 8, EVMJIT_OUT_OF_GAS, 0);
    expect("underflow before oog", EVMJIT_CANCUN, "600101", 6, EVMJIT_STACK_UNDERFLOW, 0);
    expect("underflow at the second add", EVMJIT_CANCUN, "60016001010101", 1000, EVMJIT_STACK_UNDERFLOW, 0);
    expect("oog at a later push", EVMJIT_CANCUN, "600160016001600160016001", 16, EVMJIT_OUT_OF_GAS, 0);
    {
        char hex[2 * 1100 + 16];
        for (int i = 0; i < 1025; i++) memcpy(hex + 2 * i, "5f", 2);
        hex[2 * 1025] = 0;
        expect("stack overflow", EVMJIT_SHANGHAI, hex, 100000, EVMJIT_STACK_OVERFLOW, 0);
        expect("overflow vs oog", EVMJIT_SHANGHAI, hex, 2000, EVMJIT_OUT_OF_GAS, 0);
        expect("overflow vs oog 2", EVMJIT_SHANGHAI, hex, 2048, EVMJIT_STACK_OVERFLOW, 0);
        for (int i = 0; i < 1024; i++) memcpy(hex + 2 * i, "5f", 2);
        memcpy(hex + 2 * 1024, "00", 3);
        expect("stack full", EVMJIT_SHANGHAI, hex, 100000, EVMJIT_SUCCESS, 100000 - 2048);
        /* a loop that pushes one item per iteration overflows across blocks */
        expect("overflow in a loop", EVMJIT_SHANGHAI, "5b5f600056", 1000000, EVMJIT_STACK_OVERFLOW, 0);
    }
    /* memory accesses inside a section: growth that leaves too little for the rest, and a
       stack failure after an access whose growth runs out of gas first */
    for (int64_t gas = 1; gas < 1200; gas += gas < 100 ? 1 : 7) {
        diff_hex("mstore growth then rest", EVMJIT_CANCUN, "600161100052600160010150", gas, NULL);
        diff_hex("mstore growth then underflow", EVMJIT_CANCUN, "5f61400052015b", gas, NULL);
        diff_hex("mload growth then overflow-free rest", EVMJIT_CANCUN, "61080051505f5f5f01015000", gas, NULL);
        diff_hex("mstore8 twice", EVMJIT_CANCUN, "60ff610200536001610400535900", gas, NULL);
    }
    /* GAS and PC see exact values mid-block */
    diff_hex("gas pc", EVMJIT_CANCUN, "6001600201505a585a60005260206000f3", 1000, NULL);
    /* MLOAD/MSTORE fast and slow paths, MSIZE, memory growth */
    diff_hex("memory", EVMJIT_CANCUN,
             "7f0102030405060708091011121314151617181920212223242526272829303132600052"
             "600351601f51593d6040526060600153602060405260806000f3",
             100000, NULL);
    diff_hex("memory oog growth", EVMJIT_CANCUN, "60ff61fff052", 3000, NULL);
    /* CALLDATALOAD in, partly in, and past the input */
    diff_hex("calldataload", EVMJIT_CANCUN,
             "600035600452601035602452602035604452603035606452610100356084526001600003356084"
             "5260a06000f3",
             100000, NULL);
    /* environment */
    diff_hex("env", EVMJIT_CANCUN,
             "303132333436383a3d414243444546474849484a4a60014960004960ff4960204060fe40596000"
             "52602060006000393b3c3f00",
             100000, NULL);
    diff_hex("env values", EVMJIT_CANCUN,
             "3060005233602052346040523660605238608052306000526103e8406000526001496020526000"
             "4960405260a06000f3",
             100000, NULL);
}

/* ---- every opcode class over interesting operands ---- */

static const char *const interesting[] = {
    "00", "01", "02", "03", "07", "1f", "20", "21", "ff", "0100", "fe",
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "8000000000000000000000000000000000000000000000000000000000000000",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "010000000000000000",
    "ffffffffffffffff",
    "80",
    "1e",
    "f8",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
};
#define N_INTERESTING (int)(sizeof interesting / sizeof interesting[0])

static void push_hex(char *out, const char *v) {
    size_t n = strlen(v) / 2;
    char op[3];
    snprintf(op, sizeof op, "%02x", (unsigned)(0x5f + n));
    strcat(out, op);
    strcat(out, v);
}

/* The baseline tier's inline limb code (el_bl_inline) sees constants as constants: each
   word operation with its first operand a constant and the other from call data (unknown
   when compiling), the other way round, and both from call data, on several inputs. The
   constants sit at the limb and byte boundaries of shifts, BYTE and SIGNEXTEND. */
static void limb_ops(void) {
    static const uint8_t ops[] = {0x01, 0x02, 0x03, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14, 0x16,
                                  0x17, 0x18, 0x1a, 0x1b, 0x1c, 0x1d, 0x15, 0x19};
    static const char *const consts[] = {
        "00", "01", "07", "08", "0f", "10", "1e", "1f", "20", "21", "3f", "40", "41", "7f", "80", "81",
        "bf", "c0", "c1", "fe", "ff", "0100", "0101", "010000000000000000", "ffffffffffffffff",
        "8000000000000000000000000000000000000000000000000000000000000000",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"};
    static const char *const inputs[] = {
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        "00000000000000000000000000000000000000000000000000000000000000c1",
        "f123456789abcdef8000000000000000ffffffffffffffff0000000000000080"
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0",
        "0000000000000000000000000000000000000000000000000000000000000001"
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"};
    static char hex[65536];
    static uint8_t code[32768];
    char name[64];
    for (size_t k = 0; k < sizeof ops; k++) {
        bool unary = ops[k] == 0x15 || ops[k] == 0x19;
        hex[0] = 0;
        int at = 0;
        for (size_t c = 0; c < sizeof consts / sizeof consts[0] && !unary; c++)
            for (int first = 0; first < 2; first++, at++) { /* the constant on top, then below */
                if (!first) push_hex(hex, consts[c]);
                strcat(hex, "5f35"); /* CALLDATALOAD(0) */
                if (first) push_hex(hex, consts[c]);
                char tail[32];
                snprintf(tail, sizeof tail, "%02x61%04x52", ops[k], at * 32);
                strcat(hex, tail);
            }
        /* both from call data: CALLDATALOAD(32) CALLDATALOAD(0) op, or the unary op on one */
        char tail[48];
        snprintf(tail, sizeof tail, "%s5f35%02x61%04x52", unary ? "" : "602035", ops[k], at++ * 32);
        strcat(hex, tail);
        snprintf(tail, sizeof tail, "61%04x6000f3", at * 32);
        strcat(hex, tail);
        size_t n = from_hex(hex, code, sizeof code);
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
            uint8_t input[64];
            from_hex(inputs[i], input, sizeof input);
            snprintf(name, sizeof name, "limb op %02x, input %zu", ops[k], i);
            differential(name, EVMJIT_OSAKA, code, n, 10000000, input, sizeof input, NULL);
        }
    }
}

/* Memory at constant offsets (inline in the baseline tier when memory covers the access,
   the builtin otherwise): stores and loads around the current size, unaligned, one byte,
   a store that grows memory and one whose growth runs out of gas. */
static void memory_offsets(void) {
    static const char *const offsets[] = {"00", "01", "1f", "20", "21", "3f", "40", "5f", "60", "61", "7f", "80", "0100"};
    static char hex[16384];
    char name[96];
    const char *word = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for (int variant = 0; variant < 3; variant++) {
        hex[0] = 0;
        strcat(hex, "5f3560805260ff5f535f"); /* memory to 0xa0 bytes; byte 0 = 0xff; sum 0 */
        for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
            if (variant == 0) { /* MSTORE a constant word, MLOAD it back, keep the sum */
                push_hex(hex, word);
                push_hex(hex, offsets[k]);
                strcat(hex, "52");
            } else if (variant == 1) { /* MSTORE8 of the call data's word */
                strcat(hex, "5f35");
                push_hex(hex, offsets[k]);
                strcat(hex, "53");
            }
            push_hex(hex, offsets[k]);
            strcat(hex, "5101"); /* MLOAD, ADD to the running value */
        }
        strcat(hex, variant == 2 ? "6103e851" : ""); /* a load that grows memory */
        strcat(hex, "5f5260206000f3");               /* MSTORE the sum at 0, RETURN it */
        snprintf(name, sizeof name, "memory at constant offsets %d", variant);
        outcome o;
        if (diff_hex(name, EVMJIT_OSAKA, hex, 1000000, &o))
            CHECKF(o.status == EVMJIT_SUCCESS && o.output_size == 32, "%s: status %d", name, o.status);
        /* the same with little gas: growth runs out somewhere on the way */
        for (int64_t gas = 60; gas < 400; gas += 37) {
            snprintf(name, sizeof name, "memory at constant offsets %d, gas %lld", variant, (long long)gas);
            diff_hex(name, EVMJIT_OSAKA, hex, gas, NULL);
        }
    }
}

static void opcode_classes(void) {
    static const uint8_t binary[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0a, 0x0b, 0x10, 0x11, 0x12,
                                     0x13, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1b, 0x1c, 0x1d};
    static const uint8_t unary[] = {0x15, 0x19, 0x1e};
    /* one program per opcode: every operand pair, each result stored at its own offset,
       the whole memory returned (its hash is compared) */
    static char hex[200000];
    char name[64];
    for (size_t k = 0; k < sizeof binary; k++) {
        hex[0] = 0;
        int at = 0;
        for (int i = 0; i < N_INTERESTING; i++)
            for (int j = 0; j < N_INTERESTING; j++, at++) {
                push_hex(hex, interesting[j]);
                push_hex(hex, interesting[i]);
                char tail[32];
                snprintf(tail, sizeof tail, "%02x61%04x52", binary[k], at * 32);
                strcat(hex, tail);
            }
        char tail[32];
        snprintf(tail, sizeof tail, "61%04x6000f3", at * 32);
        strcat(hex, tail);
        snprintf(name, sizeof name, "binary op %02x", binary[k]);
        diff_hex(name, EVMJIT_OSAKA, hex, 10000000, NULL);
    }
    for (size_t k = 0; k < sizeof unary; k++) {
        hex[0] = 0;
        for (int i = 0; i < N_INTERESTING; i++) {
            push_hex(hex, interesting[i]);
            char tail[32];
            snprintf(tail, sizeof tail, "%02x61%04x52", unary[k], i * 32);
            strcat(hex, tail);
        }
        char tail[32];
        snprintf(tail, sizeof tail, "61%04x6000f3", N_INTERESTING * 32);
        strcat(hex, tail);
        diff_hex("unary", EVMJIT_OSAKA, hex, 10000000, NULL);
    }
    for (int op = 0x08; op <= 0x09; op++) {
        hex[0] = 0;
        int at = 0;
        for (int i = 0; i < N_INTERESTING; i += 2)
            for (int j = 0; j < N_INTERESTING; j += 3)
                for (int m = 0; m < N_INTERESTING; m += 4, at++) {
                    push_hex(hex, interesting[m]);
                    push_hex(hex, interesting[j]);
                    push_hex(hex, interesting[i]);
                    char tail[32];
                    snprintf(tail, sizeof tail, "%02x61%04x52", op, at * 32);
                    strcat(hex, tail);
                }
        char tail[32];
        snprintf(tail, sizeof tail, "61%04x6000f3", at * 32);
        strcat(hex, tail);
        diff_hex("addmod/mulmod", EVMJIT_OSAKA, hex, 10000000, NULL);
    }
    /* DUP1..16 and SWAP1..16 over 17 distinct items, then return them all */
    for (int op = 0x80; op <= 0x9f; op++) {
        hex[0] = 0;
        for (int i = 0; i < 17; i++) {
            char item[8];
            snprintf(item, sizeof item, "60%02x", i + 1);
            strcat(hex, item);
        }
        char tail[16];
        snprintf(tail, sizeof tail, "%02x", op);
        strcat(hex, tail);
        for (int i = 0; i < 18; i++) {
            char st[16];
            snprintf(st, sizeof st, "60%02x52", (17 - i) * 32 % 256);
            strcat(hex, st);
        }
        strcat(hex, "6102406000f3");
        diff_hex("dup/swap", EVMJIT_CANCUN, hex, 100000, NULL);
    }
    /* every opcode byte on its own and after a few pushes: all of them under Osaka, and
       under every revision those whose availability changes between revisions */
    for (int rev = 0; rev <= EVMJIT_OSAKA; rev++)
        for (int op = 0; op < 256; op++) {
            int g0, i0, r0;
            bool first = evmjit_op_info(EVMJIT_FRONTIER, (unsigned)op, &g0, &i0, &r0);
            bool last = evmjit_op_info(EVMJIT_OSAKA, (unsigned)op, &g0, &i0, &r0);
            if (rev != EVMJIT_OSAKA && first == last) continue;
            snprintf(hex, sizeof hex, "%02x", op);
            diff_hex("lone op", (evmjit_revision)rev, hex, 100000, NULL);
            snprintf(hex, sizeof hex, "6001600260036004600560066007%02x00", op);
            diff_hex("op after pushes", (evmjit_revision)rev, hex, 100000, NULL);
        }
}

/* ---- nested calls: to the other contract and to itself ---- */

static void calls(void) {
    /* other: stores calldata word 0 at slot 1, logs it, returns 32 bytes (its GAS) */
    other_size = from_hex("60003560015560206000a15a60005260206000f3", other_code, sizeof other_code);
    /* CALL other with value 0 and 1, STATICCALL (SSTORE fails), DELEGATECALL, CALLCODE;
       copy return data; then return everything */
    diff_hex("calls", EVMJIT_CANCUN,
             "602a60005260206020602060006000602061fffff1"  /* CALL other, value 0 */
             "60206040602060006001602061fffff1"          /* CALL other, value 1 */
             "6020606060206000602061fffffa"              /* STATICCALL: fails inside */
             "6020608060206000602061fffff4"              /* DELEGATECALL */
             "602060a060206000600060206161a8f2"          /* CALLCODE */
             "3d60006000600060c03e"                       /* RETURNDATACOPY 0 */
             "60e06000f3",
             1000000, NULL);
    /* recursion into itself until the gas runs down (63/64 rule) */
    diff_hex("self recursion", EVMJIT_CANCUN, "60006000600060006000305af1600055", 200000, NULL);
    diff_hex("self recursion frontier", EVMJIT_FRONTIER, "600060006000600060006010615000f1600055", 200000, NULL);
    /* CREATE / CREATE2 / SELFDESTRUCT */
    diff_hex("create", EVMJIT_CANCUN, "6005600060006000f56003600060f0600052600052600b6000f0ff", 1000000, NULL);
}

/* ---- revisions: one busy program under every revision ---- */

static void revisions(void) {
    static const char *prog =
        "6001600055600160005560006000556000545060026001556001600155" /* SSTORE statuses */
        "600060006000600060006020615000f150"                          /* CALL other */
        "31503b503f50475048504a50"                                    /* BALANCE etc. */
        "60ff60ff0a5060016101000a50"                                  /* EXP */
        "6001600020505a50";
    other_size = from_hex("60003560015560206000a15a60005260206000f3", other_code, sizeof other_code);
    for (int rev = 0; rev <= EVMJIT_OSAKA; rev++) {
        diff_hex("revision program", (evmjit_revision)rev, prog, 1000000, NULL);
        for (int64_t gas = 1; gas < 60000; gas = gas * 3 / 2 + 1) diff_hex("revision program gas", (evmjit_revision)rev, prog, gas, NULL);
    }
}

/* ============================================================================================
   Random programs (differential testing): meaningful stretches of code with jumps to real
   JUMPDESTs, loops, dynamic jumps, memory, storage, logs, calls.
   ========================================================================================== */

typedef struct gen {
    uint8_t *code;
    size_t n, cap;
    uint64_t rng;
    int depth;
    size_t fix[64]; /* PUSH2 operand positions waiting for a label */
    int fix_label[64];
    int nfix;
    int labels;
} gen;

static uint64_t rnd(gen *g) {
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}
static int rn(gen *g, int n) { return (int)(rnd(g) % (uint64_t)n); }
static void emit(gen *g, uint8_t b) {
    if (g->n < g->cap) g->code[g->n++] = b;
}
static void emit_push(gen *g, uint64_t v) {
    int len = 1;
    while (len < 8 && (v >> (8 * len))) len++;
    emit(g, (uint8_t)(0x5f + len));
    for (int i = len - 1; i >= 0; i--) emit(g, (uint8_t)(v >> (8 * i)));
    g->depth++;
}
static void emit_push_interesting(gen *g) {
    int k = rn(g, 4);
    if (k == 0) {
        emit_push(g, (uint64_t)rn(g, 40));
    } else if (k == 1) {
        const char *v = interesting[rn(g, N_INTERESTING)];
        size_t n = strlen(v) / 2;
        emit(g, (uint8_t)(0x5f + n));
        for (size_t i = 0; i < n; i++) {
            unsigned x;
            sscanf(v + 2 * i, "%2x", &x);
            emit(g, (uint8_t)x);
        }
        g->depth++;
    } else if (k == 2) {
        int n = 1 + rn(g, 32);
        emit(g, (uint8_t)(0x5f + n));
        for (int i = 0; i < n; i++) emit(g, (uint8_t)rnd(g));
        g->depth++;
    } else {
        emit_push(g, rnd(g) & 0xffff);
    }
}
static void ensure_depth(gen *g, int n) {
    while (g->depth < n) emit_push_interesting(g);
}
static void op(gen *g, uint8_t o, int in, int out) {
    ensure_depth(g, in);
    emit(g, o);
    g->depth += out - in;
}
static int new_label(gen *g) { return g->labels++; }
static void jump_to(gen *g, int label) { /* PUSH2 placeholder */
    emit(g, 0x61);
    if (g->nfix < 64) {
        g->fix[g->nfix] = g->n;
        g->fix_label[g->nfix++] = label;
    }
    emit(g, 0);
    emit(g, 0);
    g->depth++;
}
static void place_label(gen *g, int label) {
    size_t extra = rn(g, 4) == 0 ? 1 + rn(g, 3) : 0; /* sometimes a JUMPDEST run */
    for (int i = 0; i < g->nfix; i++)
        if (g->fix_label[i] == label && g->fix[i] + 1 < g->cap) {
            g->code[g->fix[i]] = (uint8_t)(g->n >> 8);
            g->code[g->fix[i] + 1] = (uint8_t)g->n;
            g->fix_label[i] = -1;
        }
    for (size_t i = 0; i <= extra; i++) emit(g, 0x5b);
}

static void gen_chunk(gen *g, int level);

static void gen_body(gen *g, int n, int level) {
    for (int i = 0; i < n && g->n + 64 < g->cap; i++) gen_chunk(g, level);
}

static void gen_chunk(gen *g, int level) {
    static const uint8_t bin[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0a, 0x0b, 0x10, 0x11,
                                  0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1b, 0x1c, 0x1d};
    static const uint8_t env[] = {0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3a, 0x3d, 0x41, 0x42, 0x43,
                                  0x44, 0x45, 0x46, 0x47, 0x48, 0x4a, 0x58, 0x59, 0x5a, 0x5f};
    switch (rn(g, 24)) {
    case 0: case 1: emit_push_interesting(g); break;
    case 2: case 3: case 4: op(g, bin[rn(g, sizeof bin)], 2, 1); break;
    case 5: op(g, (uint8_t)(rn(g, 3) == 0 ? 0x1e : rn(g, 2) ? 0x15 : 0x19), 1, 1); break;
    case 6: op(g, (uint8_t)(0x08 + rn(g, 2)), 3, 1); break;
    case 7: {
        int n = 1 + rn(g, 16);
        if (rn(g, 8)) ensure_depth(g, n);
        op(g, (uint8_t)(0x7f + n), n, n + 1);
        break;
    }
    case 8: {
        int n = 1 + rn(g, 16);
        if (rn(g, 8)) ensure_depth(g, n + 1);
        op(g, (uint8_t)(0x8f + n), n + 1, n + 1);
        break;
    }
    case 9: if (g->depth > 0) op(g, 0x50, 1, 0); break;
    case 10: /* memory store */
        ensure_depth(g, 1);
        emit_push(g, rn(g, 50) ? (uint64_t)rn(g, 300) : rnd(g) & 0xfffff);
        op(g, rn(g, 3) ? 0x52 : 0x53, 2, 0);
        break;
    case 11:
        emit_push(g, rn(g, 30) ? (uint64_t)rn(g, 300) : rnd(g) & 0xfffff);
        op(g, 0x51, 1, 1);
        break;
    case 12: /* storage */
        if (rn(g, 2)) {
            ensure_depth(g, 1);
            emit_push(g, (uint64_t)rn(g, 6));
            op(g, rn(g, 4) ? 0x55 : 0x5d, 2, 0);
        } else {
            emit_push(g, (uint64_t)rn(g, 6));
            op(g, rn(g, 4) ? 0x54 : 0x5c, 1, 1);
        }
        break;
    case 13: op(g, env[rn(g, sizeof env)], 0, 1); break;
    case 14:
        emit_push(g, (uint64_t)rn(g, 48));
        op(g, 0x35, 1, 1);
        break;
    case 15: { /* copies */
        static const uint8_t copies[] = {0x37, 0x39, 0x5e, 0x3e};
        emit_push(g, (uint64_t)rn(g, 70));
        emit_push(g, (uint64_t)rn(g, 70));
        emit_push(g, (uint64_t)rn(g, 200));
        op(g, copies[rn(g, 4)], 3, 0);
        break;
    }
    case 16:
        emit_push(g, (uint64_t)rn(g, 80));
        emit_push(g, (uint64_t)rn(g, 200));
        op(g, 0x20, 2, 1);
        break;
    case 17: { /* LOGn */
        int t = rn(g, 5);
        ensure_depth(g, t);
        emit_push(g, (uint64_t)rn(g, 64));
        emit_push(g, (uint64_t)rn(g, 128));
        op(g, (uint8_t)(0xa0 + t), t + 2, 0);
        break;
    }
    case 18: { /* forward JUMPI over a stretch */
        if (level > 2) break;
        int l = new_label(g);
        ensure_depth(g, 1);
        if (rn(g, 2)) op(g, 0x80, 1, 2); /* DUP1 as the condition */
        jump_to(g, l);
        op(g, 0x57, 2, 0);
        int saved = g->depth;
        gen_body(g, 1 + rn(g, 4), level + 1);
        place_label(g, l);
        g->depth = saved < g->depth ? saved : g->depth;
        break;
    }
    case 19: { /* bounded loop: counter on the stack */
        if (level > 1) break;
        int l = new_label(g);
        emit_push(g, (uint64_t)(1 + rn(g, 6)));
        int top = (int)g->n;
        emit(g, 0x5b);
        int saved = g->depth;
        for (int i = 0, n = 1 + rn(g, 4); i < n; i++) { /* stack-neutral body */
            int k = rn(g, 4);
            if (k == 0) {
                emit_push(g, (uint64_t)rn(g, 100));
                emit_push(g, (uint64_t)rn(g, 200));
                op(g, 0x52, 2, 0);
            } else if (k == 1) {
                emit_push_interesting(g);
                emit_push_interesting(g);
                op(g, bin[rn(g, sizeof bin)], 2, 1);
                op(g, 0x50, 1, 0);
            } else if (k == 2) {
                op(g, 0x80, 1, 2); /* counter */
                emit_push(g, (uint64_t)rn(g, 4));
                op(g, rn(g, 2) ? 0x55 : 0x5d, 2, 0);
            } else {
                emit_push(g, 1);
                op(g, 0x50, 1, 0);
            }
        }
        g->depth = saved;
        emit_push(g, 1);
        op(g, 0x90, 2, 2);
        op(g, 0x03, 2, 1); /* counter - 1 */
        op(g, 0x80, 1, 2);
        emit(g, 0x61);
        emit(g, (uint8_t)(top >> 8));
        emit(g, (uint8_t)top);
        g->depth++;
        op(g, 0x57, 2, 0);
        op(g, 0x50, 1, 0);
        (void)l;
        break;
    }
    case 20: { /* dynamic jump: target = a + b computed at run time, junk skipped */
        if (level > 2) break;
        int l = new_label(g);
        jump_to(g, l);
        emit_push(g, 0);
        op(g, 0x01, 2, 1);
        if (rn(g, 2)) op(g, 0x56, 1, 0);
        else {
            emit_push(g, 1);
            op(g, 0x90, 2, 2);
            op(g, 0x57, 2, 0);
        }
        for (int i = rn(g, 3); i > 0; i--) emit(g, (uint8_t)(rn(g, 2) ? 0xfe : 0x60));
        place_label(g, l);
        break;
    }
    case 21: { /* calls */
        static const uint8_t kinds[] = {0xf1, 0xf2, 0xf4, 0xfa};
        uint8_t k = kinds[rn(g, 4)];
        emit_push(g, (uint64_t)rn(g, 64)); /* ret size */
        emit_push(g, (uint64_t)rn(g, 128)); /* ret offset */
        emit_push(g, (uint64_t)rn(g, 64)); /* args size */
        emit_push(g, (uint64_t)rn(g, 128)); /* args offset */
        if (k == 0xf1 || k == 0xf2) emit_push(g, (uint64_t)rn(g, 2));
        emit_push(g, rn(g, 4) ? ADDR_OTHER : rn(g, 2) ? ADDR_MAIN : 0x42);
        if (rn(g, 3)) emit_push(g, (uint64_t)rn(g, 50000));
        else op(g, 0x5a, 0, 1);
        op(g, k, k == 0xf1 || k == 0xf2 ? 7 : 6, 1);
        break;
    }
    case 22: { /* account and block queries */
        static const uint8_t q[] = {0x31, 0x3b, 0x3f, 0x40, 0x49};
        uint8_t o = q[rn(g, 5)];
        emit_push(g, o == 0x40 ? (uint64_t)(990 + rn(g, 20)) : o == 0x49 ? (uint64_t)rn(g, 3)
                                                            : rn(g, 2) ? ADDR_OTHER : (uint64_t)rn(g, 256));
        op(g, o, 1, 1);
        break;
    }
    case 23: { /* rare: create, a random byte, EXTCODECOPY */
        int k = rn(g, 6);
        if (k == 0) {
            emit_push(g, (uint64_t)rn(g, 9));
            emit_push(g, (uint64_t)rn(g, 64));
            emit_push(g, (uint64_t)rn(g, 2));
            op(g, 0xf0, 3, 1);
        } else if (k == 1) {
            emit_push(g, (uint64_t)rn(g, 5));
            emit_push(g, (uint64_t)rn(g, 9));
            emit_push(g, (uint64_t)rn(g, 64));
            emit_push(g, 0);
            op(g, 0xf5, 4, 1);
        } else if (k == 2) {
            emit(g, (uint8_t)rnd(g)); /* anything, even undefined */
            g->depth = g->depth > 2 ? g->depth - 1 : g->depth;
        } else {
            emit_push(g, (uint64_t)rn(g, 40));
            emit_push(g, (uint64_t)rn(g, 10));
            emit_push(g, (uint64_t)rn(g, 100));
            emit_push(g, ADDR_OTHER);
            op(g, 0x3c, 4, 0);
        }
        break;
    }
    }
}

/* One random program into g->code; returns its size. */
static size_t gen_program(gen *g) {
    g->n = 0;
    g->depth = 0;
    g->nfix = 0;
    g->labels = 0;
    gen_body(g, 5 + rn(g, 60), 0);
    for (int i = 0; i < g->nfix; i++)
        if (g->fix_label[i] >= 0) place_label(g, g->fix_label[i]);
    switch (rn(g, 6)) {
    case 0: emit(g, 0x00); break;
    case 1:
        emit_push(g, (uint64_t)rn(g, 96));
        emit_push(g, (uint64_t)rn(g, 64));
        emit(g, 0xf3);
        break;
    case 2:
        emit_push(g, (uint64_t)rn(g, 64));
        emit_push(g, (uint64_t)rn(g, 64));
        emit(g, 0xfd);
        break;
    case 3: emit(g, 0xfe); break;
    case 4:
        if (rn(g, 4) == 0) {
            emit_push(g, 0x42);
            emit(g, 0xff);
        }
        break;
    default: break;
    }
    return g->n;
}

/* The programs take turns: the baseline tier (the default level's first compilation), the
   full tier (the runtime's recompilation of a hot program), the baseline tier, and level 0
   (mem2reg and the fast code generator on the full tier's IR, without inline memory
   growth). */
static void random_programs(long count, uint64_t seed, bool quiet) {
    static uint8_t code[8192], other[1024];
    char err[256] = "";
    void *level2 = compiler, *level0 = B->create(0, err, sizeof err);
    CHECKF(level0 != NULL, "level-0 compiler: %s", err);
    gen g = {code, 0, sizeof code, seed ? seed : 0x9e3779b97f4a7c15ull, 0, {0}, {0}, 0, 0};
    long bad = 0;
    double t0 = now_ms();
    for (long i = 0; i < count; i++) {
        uint64_t program_seed = g.rng;
        /* a callee for this program */
        gen og = {other, 0, sizeof other, g.rng ^ 0x5555, 0, {0}, {0}, 0, 0};
        rnd(&og);
        size_t on = gen_program(&og);
        memcpy(other_code, other, on < sizeof other_code ? on : sizeof other_code);
        other_size = on < sizeof other_code ? on : sizeof other_code;
        size_t n = gen_program(&g);
        evmjit_revision rev = (evmjit_revision)(rn(&g, 4) ? EVMJIT_CANCUN + rn(&g, 3) : rn(&g, EVMJIT_OSAKA + 1));
        int64_t gas = rn(&g, 3) ? 1000000 : 1 + rn(&g, 30000);
        uint8_t input[64];
        size_t in_size = (size_t)rn(&g, 65);
        for (size_t k = 0; k < in_size; k++) input[k] = (uint8_t)rnd(&g);
        char name[64];
        bool cheap = level0 && i % 4 == 3;
        s_full_tier = i % 4 == 1;
        snprintf(name, sizeof name, "random #%ld seed %llu%s", i, (unsigned long long)program_seed,
                 cheap ? " (level 0)" : s_full_tier ? " (full tier)" : " (baseline tier)");
        compiler = cheap ? level0 : level2; /* jit() compiles with `compiler` */
        if (getenv("EVMJIT_TEST_TRACE")) { /* debugging aid: the program before it compiles */
            fprintf(stderr, "%s rev %d: ", name, rev);
            hex_print(code, n);
        }
        if (!differential(name, rev, code, n, gas, input, in_size, NULL)) {
            if (++bad >= 5) {
                fprintf(stderr, "stopping after 5 mismatches\n");
                break;
            }
        }
    }
    compiler = level2;
    s_full_tier = false;
    if (level0) B->destroy(level0);
    if (!quiet)
        printf("random: %ld programs in %.0f ms, %ld mismatches\n", count, now_ms() - t0, bad);
}

/* ============================================================================================
   AOT: compile to a shared object, check its undefined symbols, load it and run it
   ========================================================================================== */

static void aot(void) {
    static const char *hex = "6001600101600055602a60005260206000f3";
    uint8_t code[64];
    size_t n = from_hex(hex, code, sizeof code);
    evmjit_bytes32 hash = evmjit_keccak256(code, n);
    evmjit_llvm_aot art;
    char err[256] = "";
    evmjit_error e = B->compile_aot(compiler, code, n, EVMJIT_CANCUN, &hash, &art, NULL, err, sizeof err);
    CHECKF(e == EVMJIT_OK, "AOT compile: %s", err);
    if (e != EVMJIT_OK) return;
    CHECK(art.size > 0 && strstr(art.symbol, "_r12_abi") != NULL && art.target[0]);
    char dir[] = "/tmp/evmjit-test-aot-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        B->free_aot(&art);
        return;
    }
    char path[128], cmd[300];
    snprintf(path, sizeof path, "%s/a.so", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(art.bytes, 1, art.size, f) == art.size);
    if (f) fclose(f);
    /* undefined dynamic symbols: only libc's */
    snprintf(cmd, sizeof cmd, "nm -D --undefined-only %s", path);
    FILE *p = popen(cmd, "r");
    if (!p) {
        SKIP("nm not available");
    } else {
        char line[256];
        int foreign = 0;
        while (fgets(line, sizeof line, p)) {
            char kind[8] = "", name[200] = "";
            if (sscanf(line, "%7s %199s", kind, name) != 2) continue;
            if (kind[0] == 'w') continue; /* weak: never needed */
            if (strncmp(name, "memcpy", 6) && strncmp(name, "memset", 6) && strncmp(name, "memmove", 7) &&
                strncmp(name, "__stack_chk_fail", 16)) {
                fprintf(stderr, "AOT object needs %s", line);
                foreign++;
            }
        }
        CHECK(pclose(p) == 0);
        CHECK(foreign == 0);
    }
    void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECKF(so != NULL, "dlopen: %s", dlerror());
    if (so) {
        evmjit_fn fn = (evmjit_fn)(uintptr_t)dlsym(so, art.symbol);
        CHECK(fn != NULL);
        if (fn) {
            outcome a, b;
            H.ncontracts = 1;
            memset(H.contracts, 0, sizeof H.contracts);
            H.contracts[0].addr.bytes[19] = ADDR_MAIN;
            H.contracts[0].code = code;
            H.contracts[0].size = n;
            run(&H, MODE_INTERP, EVMJIT_CANCUN, code, n, NULL, 100000, NULL, 0, &a);
            run(&H, MODE_AOT, EVMJIT_CANCUN, code, n, fn, 100000, NULL, 0, &b);
            CHECK(outcome_eq(&a, &b) && a.status == EVMJIT_SUCCESS && a.output_size == 32);
        }
        dlclose(so);
    }
    unlink(path);
    rmdir(dir);
    B->free_aot(&art);
}

/* ============================================================================================
   Adversarial inputs: compile time and memory within the budget, or a clear rejection
   ========================================================================================== */

static long max_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void adversarial_one(const char *name, const uint8_t *code, size_t n, double budget_ms) {
    evmjit_fn fn = NULL;
    void *prog = NULL;
    char err[256] = "";
    evmjit_bytes32 hash = evmjit_keccak256(code, n);
    evmjit_llvm_timings t;
    fprintf(stderr, "compiling %s...\n", name);
    long rss0 = max_rss_kb();
    double t0 = now_ms(), c0 = thread_cpu_ms();
    evmjit_error e = B->compile_jit(compiler, code, n, EVMJIT_CANCUN, &hash, &fn, &prog, &t, err, sizeof err);
    double ms = now_ms() - t0, cpu_ms = thread_cpu_ms() - c0;
    long rss1 = max_rss_kb();
    printf("adversarial %-28s %6zu bytes: %s in %7.1f ms, %7.1f ms CPU (analysis %.1f ir %.1f opt %.1f "
           "codegen %.1f link %.1f), code %zu bytes, peak RSS +%ld KiB%s%s\n",
           name, n, e == EVMJIT_OK ? "compiled" : "rejected", ms, cpu_ms, t.analysis_ns / 1e6, t.ir_ns / 1e6,
           t.opt_ns / 1e6, t.codegen_ns / 1e6, t.link_ns / 1e6, e == EVMJIT_OK ? B->code_bytes(prog) : 0,
           rss1 - rss0, e == EVMJIT_OK ? "" : ": ", e == EVMJIT_OK ? "" : err);
    CHECKF(e == EVMJIT_OK || e == EVMJIT_ERR_INELIGIBLE, "%s: %s", name, err);
    if (e == EVMJIT_ERR_INELIGIBLE) CHECK(strstr(err, "budget") || strstr(err, "limit"));
    if (!getenv("EVMJIT_SANITIZER"))
        CHECKF(cpu_ms < budget_ms, "%s took %.0f ms of CPU (budget %.0f)", name, cpu_ms, budget_ms);
    if (e == EVMJIT_OK) {
        /* and it runs like the interpreter */
        outcome a, b;
        H.ncontracts = 1;
        memset(H.contracts, 0, sizeof H.contracts);
        H.contracts[0].addr.bytes[19] = ADDR_MAIN;
        H.contracts[0].code = code;
        H.contracts[0].size = n;
        run(&H, MODE_INTERP, EVMJIT_CANCUN, code, n, NULL, 3000000, NULL, 0, &a);
        run(&H, MODE_JIT, EVMJIT_CANCUN, code, n, fn, 3000000, NULL, 0, &b);
        CHECKF(outcome_eq(&a, &b), "%s: interpreter and JIT differ", name);
        B->free_code(prog);
    }
}

/* A first compilation at the default level takes the baseline tier and says it is
   provisional; the runtime's upgrade (req.upgrade) takes the full path. Both run like the
   interpreter, also on a big input. */
static void upgrade_path(void) {
    static uint8_t code[24576];
    size_t n = 0;
    code[n++] = 0x60;
    code[n++] = 3;
    while (n + 3 + 8 <= sizeof code) { /* PUSH1 7 MUL, 8,000 times: over EVMJIT_LLVM_BIG_INSTS */
        memcpy(code + n, "\x60\x07\x02", 3);
        n += 3;
    }
    memcpy(code + n, "\x5f\x52\x60\x20\x5f\xf3", 6); /* MSTORE at 0, RETURN 32 bytes */
    n += 6;
    evmjit_bytes32 hash = evmjit_keccak256(code, n);
    H.ncontracts = 1;
    memset(H.contracts, 0, sizeof H.contracts);
    H.contracts[0].addr.bytes[19] = ADDR_MAIN;
    H.contracts[0].code = code;
    H.contracts[0].size = n;
    outcome a;
    run(&H, MODE_INTERP, EVMJIT_CANCUN, code, n, NULL, 3000000, NULL, 0, &a);
    CHECK(a.status == EVMJIT_SUCCESS);
    for (int upgrade = 0; upgrade < 2; upgrade++) {
        evmjit_compile_request req;
        evmjit_compile_output out;
        s_request(&req, code, n, EVMJIT_CANCUN, &hash);
        req.upgrade = upgrade;
        memset(&out, 0, sizeof out);
        evmjit_error e = BE->compile_jit(BE->user, compiler, &req, &out);
        CHECKF(e == EVMJIT_OK, "upgrade %d: %s", upgrade, out.message);
        if (e != EVMJIT_OK) continue;
        CHECKF(out.provisional == !upgrade, "upgrade %d: provisional %d", upgrade, out.provisional);
        outcome b;
        run(&H, MODE_JIT, EVMJIT_CANCUN, code, n, out.fn, 3000000, NULL, 0, &b);
        CHECKF(outcome_eq(&a, &b), "upgrade %d: interpreter and JIT differ", upgrade);
        BE->free_code(BE->user, out.code);
    }
    /* a small input too; at level 3 (and 0 and 1) nothing is provisional */
    void *level3 = s_create(3, NULL, 0);
    CHECK(level3 != NULL);
    hash = evmjit_keccak256(code + n - 6, 6);
    for (int k = 0; k < 2 && level3; k++) {
        evmjit_compile_request req;
        evmjit_compile_output out;
        s_request(&req, code + n - 6, 6, EVMJIT_CANCUN, &hash);
        memset(&out, 0, sizeof out);
        CHECK(BE->compile_jit(BE->user, k ? level3 : compiler, &req, &out) == EVMJIT_OK);
        CHECKF(out.provisional == !k, "level %d: provisional %d", k ? 3 : 2, out.provisional);
        if (out.code) BE->free_code(BE->user, out.code);
    }
    if (level3) s_destroy(level3);
}

static void adversarial(void) {
    static uint8_t code[24576];
    const size_t n = sizeof code;
    double budget = 1000.0;
    memset(code, 0x5b, n);
    adversarial_one("24 KiB of JUMPDESTs", code, n, budget);
    /* PUSH2 target JUMP pairs, every target a JUMPDEST: 4 bytes per block */
    for (size_t i = 0; i + 4 <= n; i += 4) {
        size_t t = (i + 4) % (n - 3);
        code[i] = 0x5b;
        code[i + 1] = 0x61;
        code[i + 2] = (uint8_t)(t >> 8);
        code[i + 3] = (uint8_t)t;
    }
    for (size_t i = 0; i + 5 <= n; i += 5) { /* JUMPDEST PUSH2 next JUMP */
        size_t t = i + 5 < n - 4 ? i + 5 : 0;
        code[i] = 0x5b;
        code[i + 1] = 0x61;
        code[i + 2] = (uint8_t)(t >> 8);
        code[i + 3] = (uint8_t)t;
        code[i + 4] = 0x56;
    }
    adversarial_one("24 KiB of PUSH/JUMP pairs", code, n - n % 5, budget);
    /* the same shape just under EVMJIT_LLVM_MAX_SECTIONS: the costliest input that compiles */
    const size_t under = 3990 * 5;
    for (size_t i = 0; i + 5 <= under; i += 5) {
        size_t t = i + 5 < under - 4 ? i + 5 : 0;
        code[i] = 0x5b;
        code[i + 1] = 0x61;
        code[i + 2] = (uint8_t)(t >> 8);
        code[i + 3] = (uint8_t)t;
        code[i + 4] = 0x56;
    }
    adversarial_one("PUSH/JUMP pairs, 3990 sections", code, under, budget);
    /* every byte a JUMPDEST reached through one dynamic jump (into the middle: the run's
       JUMPDESTs from there on are charged, then the code ends) */
    memset(code, 0x5b, n);
    memcpy(code, "\x61\x30\x00\x60\x00\x01\x56", 7); /* PUSH2 0x3000 PUSH1 0 ADD JUMP */
    adversarial_one("JUMPDESTs + dynamic jump", code, n, budget);
    /* dynamic jumps everywhere: JUMPDEST PUSH1 0 CALLDATALOAD JUMP */
    for (size_t i = 0; i + 5 <= n; i += 5) memcpy(code + i, "\x5b\x60\x00\x35\x56", 5);
    adversarial_one("24 KiB of dynamic jumps", code, n - n % 5, budget);
    /* long EXP chain: PUSH1 3 then (PUSH1 7 EXP)* */
    code[0] = 0x60;
    code[1] = 3;
    for (size_t i = 2; i + 3 <= n; i += 3) memcpy(code + i, "\x60\x07\x0a", 3);
    adversarial_one("EXP chain", code, n - (n - 2) % 3, budget);
    /* straight-line arithmetic: PUSH1 x ADD ... */
    code[0] = 0x60;
    code[1] = 1;
    for (size_t i = 2; i + 3 <= n; i += 3) memcpy(code + i, "\x60\x05\x02", 3);
    adversarial_one("MUL chain", code, n - (n - 2) % 3, budget);
    /* deep stack: 1024 pushes then 1023 ADDs, repeated */
    for (size_t i = 0; i < n; i++) code[i] = (i / 1024) % 2 ? 0x01 : 0x5f;
    adversarial_one("push/add waves", code, n, budget);
    /* MSTORE storm */
    for (size_t i = 0; i + 5 <= n; i += 5) memcpy(code + i, "\x5f\x60\x40\x52\x5b", 5);
    adversarial_one("MSTORE storm", code, n - n % 5, budget);
    /* over the byte limit: rejected with a reason */
    static uint8_t big[EVMJIT_MAX_DEPTH * 64];
    memset(big, 0x5b, sizeof big);
    adversarial_one("64 KiB (over the limit)", big, sizeof big, budget);
}

/* ---- concurrency: two workers, each with its own compiler, compile and run at once
   (the LLJIT is shared; contexts and target machines are per compiler) ---- */
#include <threads.h>
typedef struct worker {
    int id, ok, bad;
} worker;
static int worker_main(void *arg) {
    worker *w = (worker *)arg;
    char err[256];
    void *c = B->create(-1, err, sizeof err);
    host *h = (host *)calloc(1, sizeof *h);
    if (!c || !h) {
        w->bad++;
        free(h);
        if (c) B->destroy(c);
        return 0;
    }
    uint8_t code[64];
    for (int i = 0; i < 20; i++) {
        char hex[64];
        /* (i + id) * 3 + 5, stored and returned: distinct code per thread and iteration */
        snprintf(hex, sizeof hex, "60%02x60%02x0160030260005260206000f3", (i * 7 + w->id) & 0xff, 5);
        size_t n = from_hex(hex, code, sizeof code);
        evmjit_bytes32 hash = evmjit_keccak256(code, n);
        evmjit_fn fn;
        void *prog;
        if (B->compile_jit(c, code, n, EVMJIT_CANCUN, &hash, &fn, &prog, NULL, err, sizeof err) != EVMJIT_OK) {
            w->bad++;
            continue;
        }
        h->ncontracts = 0;
        outcome a, b;
        run(h, MODE_INTERP, EVMJIT_CANCUN, code, n, NULL, 100000, NULL, 0, &a);
        run(h, MODE_JIT, EVMJIT_CANCUN, code, n, fn, 100000, NULL, 0, &b);
        if (outcome_eq(&a, &b) && a.status == EVMJIT_SUCCESS) w->ok++;
        else w->bad++;
        B->free_code(prog);
    }
    free(h);
    B->destroy(c);
    evmjit_thread_cleanup();
    return 0;
}
static void concurrency(void) {
    worker w[2] = {{1, 0, 0}, {2, 0, 0}};
    thrd_t t[2];
    for (int i = 0; i < 2; i++) CHECK(thrd_create(&t[i], worker_main, &w[i]) == thrd_success);
    for (int i = 0; i < 2; i++) thrd_join(t[i], NULL);
    CHECKF(w[0].ok == 20 && w[1].ok == 20 && !w[0].bad && !w[1].bad, "workers: %d/%d ok, %d/%d bad", w[0].ok,
           w[1].ok, w[0].bad, w[1].bad);
}

/* ---- resources: compile and free many programs; code bytes and LLVM contexts do not leak ---- */
static void churn(void) {
    uint8_t code[64];
    size_t n = from_hex("600160020160005260206000f3", code, sizeof code);
    double t0 = now_ms();
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        evmjit_fn fn;
        void *prog;
        char err[256];
        evmjit_bytes32 h = evmjit_keccak256(code, n);
        if (B->compile_jit(compiler, code, n, EVMJIT_CANCUN, &h, &fn, &prog, NULL, err, sizeof err) == EVMJIT_OK) {
            ok += B->code_bytes(prog) > 0;
            B->free_code(prog);
        }
    }
    CHECK(ok == 50);
    printf("churn: 50 compile+free of a small program: %.2f ms each\n", (now_ms() - t0) / 50);
    /* a recycled compiler still works */
    B->destroy(compiler);
    char err[256];
    compiler = B->create(-1, err, sizeof err);
    CHECKF(compiler != NULL, "%s", err);
}

/* bench OPT CODE_HEX_FILE INPUT_HEX_FILE [REPS]: compile time, then interpreter and JIT
   medians on the mock host (a quick driver until `evmjit bench`). */
static uint8_t *read_hex_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    uint8_t *out = (uint8_t *)malloc(len / 2 + 1);
    *n = from_hex(buf, out, len / 2 + 1);
    return out;
}
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static void bench(int opt, const char *code_path, const char *input_path, int reps) {
    size_t n = 0, in = 0;
    uint8_t *code = read_hex_file(code_path, &n), *input = read_hex_file(input_path, &in);
    if (!code || !input) {
        fprintf(stderr, "cannot read %s or %s\n", code_path, input_path);
        return;
    }
    char err[256];
    void *c = B->create(opt, err, sizeof err);
    evmjit_fn fn;
    void *prog;
    evmjit_llvm_timings t;
    evmjit_bytes32 h = evmjit_keccak256(code, n);
    double t0 = now_ms();
    evmjit_error e = B->compile_jit(c, code, n, EVMJIT_CANCUN, &h, &fn, &prog, &t, err, sizeof err);
    double ct = now_ms() - t0;
    const char *name = strrchr(code_path, '/') ? strrchr(code_path, '/') + 1 : code_path;
    if (e != EVMJIT_OK) {
        printf("%-28s compile failed: %s\n", name, err);
        B->destroy(c);
        return;
    }
    H.ncontracts = 1;
    memset(H.contracts, 0, sizeof H.contracts);
    H.contracts[0].addr.bytes[19] = ADDR_MAIN;
    H.contracts[0].code = code;
    H.contracts[0].size = n;
    H.contracts[0].fn[EVMJIT_CANCUN] = fn;
    double ti[64], tj[64];
    outcome a, b;
    if (reps > 64) reps = 64;
    /* each sample is the mean of a batch of executions lasting about 2 ms */
    run(&H, MODE_INTERP, EVMJIT_CANCUN, code, n, NULL, 1000000000, input, in, &a);
    int batch = last_run_ms > 2.0 ? 1 : (int)(2.0 / (last_run_ms + 1e-6)) + 1;
    if (batch > 2000) batch = 2000;
    for (int r = 0; r < reps; r++) {
        ti[r] = tj[r] = 0;
        for (int k = 0; k < batch; k++) {
            if (!getenv("EVMJIT_BENCH_JIT_ONLY")) { /* profiling aid */
                run(&H, MODE_INTERP, EVMJIT_CANCUN, code, n, NULL, 1000000000, input, in, &a);
                ti[r] += last_run_ms / batch;
            }
            run(&H, MODE_JIT, EVMJIT_CANCUN, code, n, fn, 1000000000, input, in, &b);
            tj[r] += last_run_ms / batch;
        }
    }
    qsort(ti, (size_t)reps, sizeof ti[0], cmp_double);
    qsort(tj, (size_t)reps, sizeof tj[0], cmp_double);
    printf("%-28s %6zu B compile %7.1f ms (opt %.1f cg %.1f) code %7zu | status %d gas %10lld | interp %10.4f ms jit %10.4f ms x%.2f%s\n",
           name, n, ct, t.opt_ns / 1e6, t.codegen_ns / 1e6, B->code_bytes(prog), a.status,
           (long long)(1000000000 - a.gas_left), ti[reps / 2], tj[reps / 2], ti[reps / 2] / tj[reps / 2],
           outcome_eq(&a, &b) ? "" : "  MISMATCH");
    B->free_code(prog);
    B->destroy(c);
    free(code);
    free(input);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setenv("EVMJIT_LLVM_VERIFY", "1", 0); /* every compilation's IR checked (make llvm-random too) */
    B = shim_table();
    char err[256] = "";
    compiler = B->create(-1, err, sizeof err);
    CHECKF(compiler != NULL, "create: %s", err);
    if (!compiler) return check_summary();
    if (argc >= 5 && !strcmp(argv[1], "bench")) {
        msg_value = 0;
        bench(atoi(argv[2]), argv[3], argv[4], argc >= 6 ? atoi(argv[5]) : 5);
    } else if (argc >= 5 && !strcmp(argv[1], "hex")) { /* hex CODE REV GAS [OTHER]: one program */
        if (argc >= 6) other_size = from_hex(argv[5], other_code, sizeof other_code);
        outcome o;
        diff_hex("hex", (evmjit_revision)atoi(argv[3]), argv[2], atoll(argv[4]), &o);
        outcome_print("interp", &o);
    } else if (argc >= 2 && !strcmp(argv[1], "only")) { /* only [full] SECTION...: for debugging */
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "full")) s_full_tier = true;
            if (!strcmp(argv[i], "directed")) directed();
            if (!strcmp(argv[i], "classes")) opcode_classes();
            if (!strcmp(argv[i], "limbs")) limb_ops();
            if (!strcmp(argv[i], "memory")) memory_offsets();
            if (!strcmp(argv[i], "calls")) calls();
            if (!strcmp(argv[i], "revisions")) revisions();
            if (!strcmp(argv[i], "aot")) aot();
            if (!strcmp(argv[i], "churn")) churn();
            if (!strcmp(argv[i], "concurrency")) concurrency();
            if (!strcmp(argv[i], "adversarial")) adversarial();
            if (!strcmp(argv[i], "upgrade")) upgrade_path();
        }
    } else if (argc >= 3 && !strcmp(argv[1], "random")) {
        random_programs(atol(argv[2]), argc >= 4 ? strtoull(argv[3], NULL, 0) : 0, false);
    } else {
        printf("backend %s, LLVM %s\n", B->name, B->version);
        for (int full = 0; full < 2; full++) { /* the baseline tier, then the full one */
            s_full_tier = full;
            directed();
            opcode_classes();
            limb_ops();
            memory_offsets();
            calls();
            revisions();
        }
        s_full_tier = false;
        aot();
        concurrency();
        churn();
        adversarial();
        upgrade_path();
        random_programs(getenv("EVMJIT_SANITIZER") ? 300 : 2000, 0, false);
    }
    B->destroy(compiler);
    evmjit_thread_cleanup();
    return check_summary();
}
