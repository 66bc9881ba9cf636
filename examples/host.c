/* host.c - the in-memory host: state, journal, the 16 host functions, nested frames,
   precompiles and transactions. See host.h.

   Journal: every change to the state (balance, nonce, code, storage, transient storage,
   warm flags, touch, creation, self-destruction, logs) appends an entry holding the old
   value. A snapshot is the journal length; reverting pops entries back to it, restoring the
   old values in reverse order. So a failed frame costs O(changes it made) to undo, and a
   successful one costs nothing. Accounts are allocated one by one and never move, so entries
   point at them; storage slots can move when their table grows, so entries name the key.

   Deletion happens only at the end of a transaction (host_finalize_tx), as in the protocol:
   self-destructed accounts, and from Spurious Dragon touched accounts that are empty. */
#include "host.h"

#include <gmp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "precompiles.h"
#include "trie.h"

/* keccak-256 of the empty string: the code hash of an account without code. */
static const evmjit_bytes32 host_empty_code_hash = {
    {0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03,
     0xc0, 0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85,
     0xa4, 0x70}};

#define HOST_MAX_CODE_SIZE 24576     /* EIP-170 */
#define HOST_MAX_INITCODE_SIZE 49152 /* EIP-3860 */
#define HOST_BLOB_GAS_PER_BLOB 131072

/* ---- 256-bit helpers ------------------------------------------------------------------- */

static bool w_is_zero(evmjit_word a) { return (a.w[0] | a.w[1] | a.w[2] | a.w[3]) == 0; }

static bool w_lt(evmjit_word a, evmjit_word b) {
    for (int i = 3; i >= 0; i--)
        if (a.w[i] != b.w[i]) return a.w[i] < b.w[i];
    return false;
}

/* a + b modulo 2^256 (balances never get near the top in practice). */
static evmjit_word w_add(evmjit_word a, evmjit_word b) {
    evmjit_word r;
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a.w[i] + b.w[i];
        uint64_t c = s < a.w[i];
        r.w[i] = s + carry;
        carry = c | (r.w[i] < s);
    }
    return r;
}

static evmjit_word w_sub(evmjit_word a, evmjit_word b) {
    evmjit_word r;
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t d = a.w[i] - b.w[i];
        uint64_t b1 = a.w[i] < b.w[i];
        r.w[i] = d - borrow;
        borrow = b1 | (d < borrow);
    }
    return r;
}

static bool b32_is_zero(const evmjit_bytes32 *b) {
    for (int i = 0; i < 32; i++)
        if (b->bytes[i]) return false;
    return true;
}

static bool b32_eq(const evmjit_bytes32 *a, const evmjit_bytes32 *b) {
    return memcmp(a->bytes, b->bytes, 32) == 0;
}

static bool addr_eq(const evmjit_address *a, const evmjit_address *b) {
    return memcmp(a->bytes, b->bytes, 20) == 0;
}

static void mpz_from_b32(mpz_t r, const evmjit_bytes32 *b) {
    mpz_import(r, 32, 1, 1, 1, 0, b->bytes);
}

/* r = x (x < 2^256 required). */
static evmjit_word mpz_to_word(const mpz_t x) {
    evmjit_bytes32 b;
    memset(&b, 0, sizeof b);
    size_t n = mpz_sizeinbase(x, 256);
    if (mpz_sgn(x) != 0 && n <= 32) mpz_export(b.bytes + (32 - n), NULL, 1, 1, 1, 0, x);
    return evmjit_word_from_bytes32(&b);
}

static void mpz_from_word(mpz_t r, evmjit_word w) {
    evmjit_bytes32 b = evmjit_word_to_bytes32(w);
    mpz_from_b32(r, &b);
}

/* ---- hash tables ----------------------------------------------------------------------- */

/* Table hashes, a word at a time: each 8-byte chunk (native byte order, loaded with memcpy)
   is folded in with a multiply and an xor-shift, then a final mix (murmur3's fmix64
   constants) spreads every input bit over the low bits that the table masks keep. Keys are
   big-endian numbers that often differ only in their last byte (slots 0, 1, 2, ...,
   precompile addresses), so the final mix matters more than the per-chunk one. About 25
   instructions for 32 bytes, against some 130 for a byte-at-a-time FNV-1a loop. */
static inline uint64_t host_load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t host_fold(uint64_t h, uint64_t w) {
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 32);
}

static inline uint64_t host_mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static inline uint64_t host_hash_key(const evmjit_bytes32 *key) {
    const uint8_t *p = key->bytes;
    uint64_t h = host_fold(0x243f6a8885a308d3ULL, host_load64(p));
    h = host_fold(h, host_load64(p + 8));
    h = host_fold(h, host_load64(p + 16));
    return host_mix(h ^ host_load64(p + 24));
}

static inline uint64_t host_hash_address(const evmjit_address *a) {
    const uint8_t *p = a->bytes;
    uint32_t tail;
    memcpy(&tail, p + 16, 4);
    uint64_t h = host_fold(0x13198a2e03707344ULL, host_load64(p));
    h = host_fold(h, host_load64(p + 8));
    return host_mix(h ^ tail);
}

host_slot *host_find_slot(host_slots *s, const evmjit_bytes32 *key) {
    if (!s->cap) return NULL;
    size_t mask = s->cap - 1;
    for (size_t i = host_hash_key(key) & mask;; i = (i + 1) & mask) {
        host_slot *e = &s->slots[i];
        if (!e->used) return NULL;
        if (b32_eq(&e->key, key)) return e;
    }
}

/* Find or insert (zeroed value and original). The table stays at most half full, so probing
   visits O(1) entries on average; growth rehashes O(count). */
static host_slot *slots_get(host_slots *s, const evmjit_bytes32 *key) {
    host_slot *found = host_find_slot(s, key);
    if (found) return found;
    if ((s->count + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        host_slot *old = s->slots;
        size_t old_cap = s->cap;
        s->slots = trie_xcalloc(cap, sizeof *s->slots);
        s->cap = cap;
        for (size_t i = 0; i < old_cap; i++) {
            if (!old[i].used) continue;
            size_t j = host_hash_key(&old[i].key) & (cap - 1);
            while (s->slots[j].used) j = (j + 1) & (cap - 1);
            s->slots[j] = old[i];
        }
        free(old);
    }
    size_t mask = s->cap - 1;
    size_t i = host_hash_key(key) & mask;
    while (s->slots[i].used) i = (i + 1) & mask;
    host_slot *e = &s->slots[i];
    memset(e, 0, sizeof *e);
    e->key = *key;
    e->used = true;
    s->count++;
    return e;
}

static void slots_free(host_slots *s) {
    free(s->slots);
    s->slots = NULL;
    s->cap = s->count = 0;
}

host_account *host_find(host_state *h, const evmjit_address *address) {
    if (!h->table_cap) return NULL;
    size_t mask = h->table_cap - 1;
    for (size_t i = host_hash_address(address) & mask;; i = (i + 1) & mask) {
        host_account *a = h->table[i];
        if (!a) return NULL;
        if (addr_eq(&a->address, address)) return a;
    }
}

static void table_insert(host_account **table, size_t cap, host_account *a) {
    size_t i = host_hash_address(&a->address) & (cap - 1);
    while (table[i]) i = (i + 1) & (cap - 1);
    table[i] = a;
}

/* The account at `address`, inserting a non-existing placeholder when it is new. */
static host_account *host_get(host_state *h, const evmjit_address *address) {
    host_account *a = host_find(h, address);
    if (a) return a;
    if ((h->account_count + 1) * 2 > h->table_cap) {
        size_t cap = h->table_cap ? h->table_cap * 2 : 64;
        host_account **t = trie_xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < h->table_cap; i++)
            if (h->table[i]) table_insert(t, cap, h->table[i]);
        free(h->table);
        h->table = t;
        h->table_cap = cap;
    }
    a = trie_xcalloc(1, sizeof *a);
    a->address = *address;
    a->code_hash = host_empty_code_hash;
    table_insert(h->table, h->table_cap, a);
    h->account_count++;
    return a;
}

static bool account_empty(const host_account *a) {
    return a->nonce == 0 && w_is_zero(a->balance) && a->code_size == 0;
}

/* ---- journal --------------------------------------------------------------------------- */

typedef enum host_journal_kind {
    HJ_BALANCE,
    HJ_NONCE,
    HJ_CODE,
    HJ_STORAGE,
    HJ_TRANSIENT,
    HJ_WARM_ACCOUNT,
    HJ_WARM_SLOT,
    HJ_TOUCH,
    HJ_CREATE,
    HJ_DESTRUCT,
    HJ_LOG
} host_journal_kind;

struct host_journal_entry {
    host_journal_kind kind;
    host_account *acc;
    evmjit_bytes32 key;
    union {
        evmjit_word balance;
        uint64_t nonce;
        struct {
            const uint8_t *code;
            size_t size;
            evmjit_bytes32 hash;
        } code;
        evmjit_bytes32 value;
        struct {
            bool exists, created;
        } create;
        size_t log_count;
    } old;
};

static host_journal_entry *journal_push(host_state *h, host_journal_kind kind,
                                        host_account *acc) {
    if (h->journal_size == h->journal_cap) {
        h->journal_cap = h->journal_cap ? h->journal_cap * 2 : 256;
        h->journal = trie_xrealloc(h->journal, h->journal_cap * sizeof *h->journal);
    }
    host_journal_entry *e = &h->journal[h->journal_size++];
    e->kind = kind;
    e->acc = acc;
    return e;
}

static size_t host_snapshot(host_state *h) { return h->journal_size; }

static void host_free_log(host_log *l) { free(l->data); }

static bool is_ripemd(const evmjit_address *a) {
    for (int i = 0; i < 19; i++)
        if (a->bytes[i]) return false;
    return a->bytes[19] == 3;
}

/* Undo every change after `snapshot`, newest first. */
static void host_revert(host_state *h, size_t snapshot) {
    while (h->journal_size > snapshot) {
        host_journal_entry *e = &h->journal[--h->journal_size];
        host_account *a = e->acc;
        switch (e->kind) {
        case HJ_BALANCE: a->balance = e->old.balance; break;
        case HJ_NONCE: a->nonce = e->old.nonce; break;
        case HJ_CODE:
            a->code = e->old.code.code;
            a->code_size = e->old.code.size;
            a->code_hash = e->old.code.hash;
            break;
        case HJ_STORAGE: slots_get(&a->storage, &e->key)->value = e->old.value; break;
        case HJ_TRANSIENT: slots_get(&a->transient, &e->key)->value = e->old.value; break;
        case HJ_WARM_ACCOUNT: a->warm = false; break;
        case HJ_WARM_SLOT: slots_get(&a->storage, &e->key)->warm = false; break;
        case HJ_TOUCH:
            /* The RIPEMD-160 precompile keeps its touch through a revert: the consensus
               quirk of mainnet block 2675119 that clients reproduce (EIP-161 era). */
            if (!(h->rev >= EVMJIT_SPURIOUS_DRAGON && is_ripemd(&a->address))) a->touched = false;
            break;
        case HJ_CREATE:
            a->exists = e->old.create.exists;
            a->created = e->old.create.created;
            break;
        case HJ_DESTRUCT: a->destructed = false; break;
        case HJ_LOG:
            while (h->log_count > e->old.log_count) host_free_log(&h->logs[--h->log_count]);
            break;
        }
    }
}

/* ---- journaled mutations --------------------------------------------------------------- */

static void set_balance(host_state *h, host_account *a, evmjit_word v) {
    journal_push(h, HJ_BALANCE, a)->old.balance = a->balance;
    a->balance = v;
}

static void set_nonce(host_state *h, host_account *a, uint64_t v) {
    journal_push(h, HJ_NONCE, a)->old.nonce = a->nonce;
    a->nonce = v;
}

static const uint8_t *pool_copy(host_state *h, const uint8_t *code, size_t size) {
    if (size == 0) return NULL;
    if (h->code_pool_size == h->code_pool_cap) {
        h->code_pool_cap = h->code_pool_cap ? h->code_pool_cap * 2 : 64;
        h->code_pool = trie_xrealloc(h->code_pool, h->code_pool_cap * sizeof *h->code_pool);
    }
    uint8_t *p = trie_xmalloc(size);
    memcpy(p, code, size);
    h->code_pool[h->code_pool_size++] = p;
    return p;
}

static void set_code(host_state *h, host_account *a, const uint8_t *code, size_t size) {
    host_journal_entry *e = journal_push(h, HJ_CODE, a);
    e->old.code.code = a->code;
    e->old.code.size = a->code_size;
    e->old.code.hash = a->code_hash;
    a->code = pool_copy(h, code, size);
    a->code_size = size;
    a->code_hash = size ? evmjit_keccak256(code, size) : host_empty_code_hash;
}

static void touch(host_state *h, host_account *a) {
    if (a->touched) return;
    journal_push(h, HJ_TOUCH, a);
    a->touched = true;
}

/* Make `a` part of the state (flags journaled); `created` marks a CREATE in this tx. */
static void make_exist(host_state *h, host_account *a, bool created) {
    host_journal_entry *e = journal_push(h, HJ_CREATE, a);
    e->old.create.exists = a->exists;
    e->old.create.created = a->created;
    a->exists = true;
    if (created) a->created = true;
}

/* Add to a balance; the account comes into existence (and is touched) even for zero, as
   clients do for fee payment and SELFDESTRUCT beneficiaries. */
static void credit(host_state *h, host_account *a, evmjit_word v) {
    if (!a->exists) make_exist(h, a, false);
    if (!w_is_zero(v)) set_balance(h, a, w_add(a->balance, v));
    touch(h, a);
}

/* Move `value` from one account to another; false (nothing done) if the balance is short.
   Both ends are touched (EIP-161). */
static bool transfer(host_state *h, host_account *from, host_account *to, evmjit_word value) {
    if (!w_is_zero(value)) {
        if (w_lt(from->balance, value)) return false;
        set_balance(h, from, w_sub(from->balance, value));
        set_balance(h, to, w_add(to->balance, value));
    }
    touch(h, from);
    touch(h, to);
    return true;
}

static evmjit_access_status warm_account(host_state *h, host_account *a) {
    if (a->warm) return EVMJIT_ACCESS_WARM;
    journal_push(h, HJ_WARM_ACCOUNT, a);
    a->warm = true;
    return EVMJIT_ACCESS_COLD;
}

static evmjit_access_status warm_slot(host_state *h, host_account *a, const evmjit_bytes32 *key) {
    host_slot *s = slots_get(&a->storage, key);
    if (s->warm) return EVMJIT_ACCESS_WARM;
    host_journal_entry *e = journal_push(h, HJ_WARM_SLOT, a);
    e->key = *key;
    s->warm = true;
    return EVMJIT_ACCESS_COLD;
}

/* ---- the host functions ---------------------------------------------------------------- */

static host_state *H(evmjit_host_context *ctx) { return (host_state *)(void *)ctx; }

static bool hf_account_exists(evmjit_host_context *ctx, const evmjit_address *address) {
    host_state *h = H(ctx);
    host_account *a = host_find(h, address);
    return a && a->exists && (h->rev < EVMJIT_SPURIOUS_DRAGON || !account_empty(a));
}

static evmjit_bytes32 hf_get_storage(evmjit_host_context *ctx, const evmjit_address *address,
                                     const evmjit_bytes32 *key) {
    host_account *a = host_find(H(ctx), address);
    host_slot *s = a ? host_find_slot(&a->storage, key) : NULL;
    evmjit_bytes32 zero;
    memset(&zero, 0, sizeof zero);
    return s ? s->value : zero;
}

/* The EIP-2200 storage status from original O, current C and new N (shared/EVMC_ABI.md). */
static evmjit_storage_status storage_status(const evmjit_bytes32 *o, const evmjit_bytes32 *c,
                                            const evmjit_bytes32 *n) {
    bool oz = b32_is_zero(o), cz = b32_is_zero(c), nz = b32_is_zero(n);
    if (b32_eq(c, n)) return EVMJIT_STORAGE_ASSIGNED;
    if (b32_eq(o, c)) { /* clean slot */
        if (oz) return EVMJIT_STORAGE_ADDED;
        return nz ? EVMJIT_STORAGE_DELETED : EVMJIT_STORAGE_MODIFIED;
    }
    if (!oz) {
        if (cz)
            return b32_eq(n, o) ? EVMJIT_STORAGE_DELETED_RESTORED : EVMJIT_STORAGE_DELETED_ADDED;
        if (nz) return EVMJIT_STORAGE_MODIFIED_DELETED;
        if (b32_eq(n, o)) return EVMJIT_STORAGE_MODIFIED_RESTORED;
        return EVMJIT_STORAGE_ASSIGNED;
    }
    return nz ? EVMJIT_STORAGE_ADDED_DELETED : EVMJIT_STORAGE_ASSIGNED;
}

static evmjit_storage_status hf_set_storage(evmjit_host_context *ctx,
                                            const evmjit_address *address,
                                            const evmjit_bytes32 *key,
                                            const evmjit_bytes32 *value) {
    host_state *h = H(ctx);
    host_account *a = host_get(h, address);
    host_slot *s = slots_get(&a->storage, key);
    evmjit_storage_status st = storage_status(&s->original, &s->value, value);
    if (!b32_eq(&s->value, value)) {
        host_journal_entry *e = journal_push(h, HJ_STORAGE, a);
        e->key = *key;
        e->old.value = s->value;
        s->value = *value;
    }
    return st;
}

static evmjit_uint256be hf_get_balance(evmjit_host_context *ctx, const evmjit_address *address) {
    host_account *a = host_find(H(ctx), address);
    evmjit_word zero = {{0, 0, 0, 0}};
    return evmjit_word_to_bytes32(a && a->exists ? a->balance : zero);
}

static size_t hf_get_code_size(evmjit_host_context *ctx, const evmjit_address *address) {
    host_account *a = host_find(H(ctx), address);
    return a && a->exists ? a->code_size : 0;
}

static evmjit_bytes32 hf_get_code_hash(evmjit_host_context *ctx, const evmjit_address *address) {
    host_account *a = host_find(H(ctx), address);
    evmjit_bytes32 zero;
    memset(&zero, 0, sizeof zero);
    return a && a->exists && !account_empty(a) ? a->code_hash : zero;
}

static size_t hf_copy_code(evmjit_host_context *ctx, const evmjit_address *address,
                           size_t offset, uint8_t *buffer, size_t size) {
    host_account *a = host_find(H(ctx), address);
    if (!a || !a->exists || offset >= a->code_size) return 0;
    size_t n = a->code_size - offset < size ? a->code_size - offset : size;
    if (n) memcpy(buffer, a->code + offset, n);
    return n;
}

/* Balance moves now, deletion at the end of the transaction. From Cancun (EIP-6780) only an
   account created in this transaction is destroyed; others just send their balance (to a
   different beneficiary). Returns true the first time the account is marked. */
static bool hf_selfdestruct(evmjit_host_context *ctx, const evmjit_address *address,
                            const evmjit_address *beneficiary) {
    host_state *h = H(ctx);
    host_account *a = host_get(h, address);
    host_account *b = host_get(h, beneficiary);
    evmjit_word zero = {{0, 0, 0, 0}};
    evmjit_word bal = a->balance;
    if (h->rev >= EVMJIT_CANCUN && !a->created) {
        if (a != b) {
            credit(h, b, bal);
            if (!w_is_zero(bal)) set_balance(h, a, zero);
        }
        return false;
    }
    credit(h, b, bal);
    if (!w_is_zero(a->balance)) set_balance(h, a, zero); /* burns it when a == b */
    if (a->destructed) return false;
    journal_push(h, HJ_DESTRUCT, a);
    a->destructed = true;
    return true;
}

static void host_release_output(const evmjit_result *r) { free((void *)r->output_data); }

static evmjit_result host_call_frame(host_state *h, const evmjit_message *msg);

static evmjit_result hf_call(evmjit_host_context *ctx, const evmjit_message *msg) {
    return host_call_frame(H(ctx), msg);
}

static evmjit_tx_context hf_get_tx_context(evmjit_host_context *ctx) { return H(ctx)->tx; }

/* State tests define the hash of block n as keccak-256 of n in decimal (a convention of the
   test fillers); zero outside the 256 blocks before the current one. */
static evmjit_bytes32 hf_get_block_hash(evmjit_host_context *ctx, int64_t number) {
    host_state *h = H(ctx);
    int64_t current = h->tx.block_number;
    if (number < 0 || number >= current || number < current - 256) {
        evmjit_bytes32 zero;
        memset(&zero, 0, sizeof zero);
        return zero;
    }
    char s[32];
    int n = snprintf(s, sizeof s, "%" PRId64, number);
    return evmjit_keccak256((const uint8_t *)s, (size_t)n);
}

static void hf_emit_log(evmjit_host_context *ctx, const evmjit_address *address,
                        const uint8_t *data, size_t data_size, const evmjit_bytes32 topics[],
                        size_t topics_count) {
    host_state *h = H(ctx);
    if (h->log_count == h->log_cap) {
        h->log_cap = h->log_cap ? h->log_cap * 2 : 16;
        h->logs = trie_xrealloc(h->logs, h->log_cap * sizeof *h->logs);
    }
    journal_push(h, HJ_LOG, NULL)->old.log_count = h->log_count;
    host_log *l = &h->logs[h->log_count++];
    memset(l, 0, sizeof *l);
    l->address = *address;
    if (data_size) {
        l->data = trie_xmalloc(data_size);
        memcpy(l->data, data, data_size);
    }
    l->data_size = data_size;
    l->topics_count = topics_count > 4 ? 4 : topics_count;
    for (size_t i = 0; i < l->topics_count; i++) l->topics[i] = topics[i];
}

static evmjit_access_status hf_access_account(evmjit_host_context *ctx,
                                              const evmjit_address *address) {
    host_state *h = H(ctx);
    return warm_account(h, host_get(h, address));
}

static evmjit_access_status hf_access_storage(evmjit_host_context *ctx,
                                              const evmjit_address *address,
                                              const evmjit_bytes32 *key) {
    host_state *h = H(ctx);
    return warm_slot(h, host_get(h, address), key);
}

static evmjit_bytes32 hf_get_transient_storage(evmjit_host_context *ctx,
                                               const evmjit_address *address,
                                               const evmjit_bytes32 *key) {
    host_account *a = host_find(H(ctx), address);
    host_slot *s = a ? host_find_slot(&a->transient, key) : NULL;
    evmjit_bytes32 zero;
    memset(&zero, 0, sizeof zero);
    return s ? s->value : zero;
}

static void hf_set_transient_storage(evmjit_host_context *ctx, const evmjit_address *address,
                                     const evmjit_bytes32 *key, const evmjit_bytes32 *value) {
    host_state *h = H(ctx);
    host_account *a = host_get(h, address);
    host_slot *s = slots_get(&a->transient, key);
    if (b32_eq(&s->value, value)) return;
    host_journal_entry *e = journal_push(h, HJ_TRANSIENT, a);
    e->key = *key;
    e->old.value = s->value;
    s->value = *value;
}

static const evmjit_host_interface host_iface = {
    hf_account_exists,  hf_get_storage,     hf_set_storage,     hf_get_balance,
    hf_get_code_size,   hf_get_code_hash,   hf_copy_code,       hf_selfdestruct,
    hf_call,            hf_get_tx_context,  hf_get_block_hash,  hf_emit_log,
    hf_access_account,  hf_access_storage,  hf_get_transient_storage,
    hf_set_transient_storage,
};

const evmjit_host_interface *host_interface(void) { return &host_iface; }

/* ---- frames ---------------------------------------------------------------------------- */

static evmjit_result result_of(evmjit_status_code status, int64_t gas_left) {
    evmjit_result r;
    memset(&r, 0, sizeof r);
    r.status_code = status;
    r.gas_left = gas_left;
    return r;
}

static void release(evmjit_result *r) {
    if (r->release) r->release(r);
    r->release = NULL;
}

/* Run code for msg (no state changes of its own). */
static evmjit_result host_execute(host_state *h, const evmjit_message *msg, const uint8_t *code,
                                  size_t code_size, const evmjit_bytes32 *code_hash) {
    h->frames++;
    if (h->vm) return h->vm->execute(h->vm, &host_iface, host_context(h), h->rev, msg, code, code_size);
    evmjit_bytes32 hash;
    if (!code_hash && h->runtime) { /* only a cache needs the key */
        hash = evmjit_keccak256(code, code_size);
        code_hash = &hash;
    }
    return evmjit_execute(h->runtime, &host_iface, host_context(h), h->rev, msg, code,
                          code_size, code_hash);
}

static evmjit_result host_run_precompile(host_state *h, unsigned id, const evmjit_message *msg) {
    if (!precompile_supported(id)) {
        if (!h->unsupported_precompile) h->unsupported_precompile = id;
        return result_of(EVMJIT_PRECOMPILE_FAILURE, 0);
    }
    int64_t gas_left;
    uint8_t *out;
    size_t out_size;
    evmjit_status_code st = precompile_run(id, h->rev, msg->input_data, msg->input_size,
                                           msg->gas, &gas_left, &out, &out_size);
    evmjit_result r = result_of(st, st == EVMJIT_SUCCESS ? gas_left : 0);
    if (out) {
        r.output_data = out;
        r.output_size = out_size;
        r.release = host_release_output;
    }
    return r;
}

/* CREATE address: keccak(rlp([sender, nonce]))[12:]; CREATE2: keccak(0xff ++ sender ++ salt ++
   keccak(initcode))[12:]. */
static evmjit_address create_address(const evmjit_message *msg, uint64_t nonce) {
    evmjit_bytes32 hash;
    if (msg->kind == EVMJIT_CREATE2) {
        uint8_t buf[1 + 20 + 32 + 32];
        buf[0] = 0xff;
        memcpy(buf + 1, msg->sender.bytes, 20);
        memcpy(buf + 21, msg->create2_salt.bytes, 32);
        evmjit_bytes32 ch = evmjit_keccak256(msg->input_data, msg->input_size);
        memcpy(buf + 53, ch.bytes, 32);
        hash = evmjit_keccak256(buf, sizeof buf);
    } else {
        rlp_buf b = {0};
        size_t l = rlp_list_begin(&b);
        rlp_put_bytes(&b, msg->sender.bytes, 20);
        rlp_put_uint(&b, nonce);
        rlp_list_end(&b, l);
        hash = evmjit_keccak256(b.data, b.size);
        rlp_buf_free(&b);
    }
    evmjit_address a;
    memcpy(a.bytes, hash.bytes + 12, 20);
    return a;
}

static bool storage_nonempty(const host_account *a) {
    for (size_t i = 0; i < a->storage.cap; i++)
        if (a->storage.slots[i].used && !b32_is_zero(&a->storage.slots[i].value)) return true;
    return false;
}

/* CREATE and CREATE2 (also the transaction-level creation at depth 0). */
static evmjit_result host_create_frame(host_state *h, const evmjit_message *msg) {
    if (h->vm_test) {
        h->callcreates++;
        return result_of(EVMJIT_SUCCESS, msg->gas);
    }
    host_account *sender = host_get(h, &msg->sender);
    if (sender->nonce == UINT64_MAX) return result_of(EVMJIT_FAILURE, msg->gas); /* EIP-2681 */
    evmjit_address addr = create_address(msg, sender->nonce);
    set_nonce(h, sender, sender->nonce + 1);
    host_account *target = host_get(h, &addr);
    if (h->rev >= EVMJIT_BERLIN) warm_account(h, target);
    /* collision: code, nonce or (EIP-7610) storage already there; all gas is consumed */
    if (target->exists &&
        (target->nonce != 0 || target->code_size != 0 || storage_nonempty(target)))
        return result_of(EVMJIT_FAILURE, 0);

    size_t snap = host_snapshot(h);
    make_exist(h, target, true);
    if (h->rev >= EVMJIT_SPURIOUS_DRAGON) set_nonce(h, target, 1);
    if (!transfer(h, sender, target, evmjit_word_from_bytes32(&msg->value))) {
        host_revert(h, snap);
        return result_of(EVMJIT_INSUFFICIENT_BALANCE, msg->gas);
    }

    evmjit_result r;
    if (msg->input_size == 0) {
        r = result_of(EVMJIT_SUCCESS, msg->gas);
    } else {
        evmjit_message child = *msg;
        child.recipient = addr;
        child.code_address = addr;
        child.input_data = NULL;
        child.input_size = 0;
        r = host_execute(h, &child, msg->input_data, msg->input_size, NULL);
    }
    if (r.status_code != EVMJIT_SUCCESS) {
        host_revert(h, snap);
        if (r.status_code != EVMJIT_REVERT) r.gas_left = 0;
        r.gas_refund = 0;
        return r;
    }

    /* code deposit: EIP-170 size limit, EIP-3541 0xEF prefix, 200 gas per byte */
    const uint8_t *code = r.output_data;
    size_t size = r.output_size;
    bool fail = false;
    if (h->rev >= EVMJIT_SPURIOUS_DRAGON && size > HOST_MAX_CODE_SIZE) fail = true;
    else if (h->rev >= EVMJIT_LONDON && size > 0 && code[0] == 0xef) fail = true;
    int64_t gas_left = r.gas_left;
    if (!fail) {
        int64_t cost = 200 * (int64_t)size;
        if (gas_left < cost) {
            if (h->rev >= EVMJIT_HOMESTEAD) fail = true; /* Frontier: no code, no failure */
        } else {
            gas_left -= cost;
            if (size) set_code(h, target, code, size);
        }
    }
    int64_t refund = r.gas_refund;
    release(&r);
    if (fail) {
        host_revert(h, snap);
        return result_of(EVMJIT_OUT_OF_GAS, 0);
    }
    evmjit_result ok = result_of(EVMJIT_SUCCESS, gas_left);
    ok.gas_refund = refund;
    ok.create_address = addr;
    return ok;
}

/* CALL, CALLCODE, DELEGATECALL, STATICCALL (CALL with the static flag), and creations. */
static evmjit_result host_call_frame(host_state *h, const evmjit_message *msg) {
    if (msg->kind == EVMJIT_CREATE || msg->kind == EVMJIT_CREATE2)
        return host_create_frame(h, msg);
    if (msg->kind != EVMJIT_CALL && msg->kind != EVMJIT_CALLCODE &&
        msg->kind != EVMJIT_DELEGATECALL)
        return result_of(EVMJIT_REJECTED, 0); /* EOFCREATE: legacy EVM only */
    if (h->vm_test) {
        h->callcreates++;
        return result_of(EVMJIT_SUCCESS, msg->gas);
    }
    unsigned pre = (msg->flags & EVMJIT_DELEGATED) ? 0 : precompile_id(h->rev, &msg->code_address);
    size_t snap = host_snapshot(h);
    if (msg->kind == EVMJIT_CALL) {
        host_account *to = host_get(h, &msg->recipient);
        evmjit_word value = evmjit_word_from_bytes32(&msg->value);
        /* Before Spurious Dragon any CALL brings its target into existence; from it only a
           call with value or to a precompile does (an empty one is deleted at the end). */
        if (!to->exists && (h->rev < EVMJIT_SPURIOUS_DRAGON || !w_is_zero(value) || pre))
            make_exist(h, to, false);
        if (to->exists || !w_is_zero(value)) {
            if (!transfer(h, host_get(h, &msg->sender), to, value)) {
                host_revert(h, snap);
                return result_of(EVMJIT_INSUFFICIENT_BALANCE, msg->gas);
            }
        }
    } else if (msg->kind == EVMJIT_CALLCODE) {
        touch(h, host_get(h, &msg->sender)); /* value "moves" from the caller to itself */
    }

    evmjit_result r;
    if (pre) {
        r = host_run_precompile(h, pre, msg);
    } else {
        host_account *c = host_find(h, &msg->code_address);
        if (!c || !c->exists || c->code_size == 0) r = result_of(EVMJIT_SUCCESS, msg->gas);
        else r = host_execute(h, msg, c->code, c->code_size, &c->code_hash);
    }
    if (r.status_code != EVMJIT_SUCCESS) {
        host_revert(h, snap);
        if (r.status_code != EVMJIT_REVERT) r.gas_left = 0;
        r.gas_refund = 0;
    }
    return r;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

host_state *host_create(evmjit_revision rev, evmjit_runtime *runtime) {
    host_state *h = trie_xcalloc(1, sizeof *h);
    h->rev = rev;
    h->runtime = runtime;
    return h;
}

static void account_clear(host_account *a) {
    slots_free(&a->storage);
    slots_free(&a->transient);
    memset(&a->balance, 0, sizeof a->balance);
    a->nonce = 0;
    a->code = NULL;
    a->code_size = 0;
    a->code_hash = host_empty_code_hash;
    a->exists = false;
}

void host_destroy(host_state *h) {
    if (!h) return;
    for (size_t i = 0; i < h->table_cap; i++) {
        host_account *a = h->table[i];
        if (!a) continue;
        slots_free(&a->storage);
        slots_free(&a->transient);
        free(a);
    }
    free(h->table);
    free(h->journal);
    for (size_t i = 0; i < h->log_count; i++) host_free_log(&h->logs[i]);
    free(h->logs);
    for (size_t i = 0; i < h->code_pool_size; i++) free(h->code_pool[i]);
    free(h->code_pool);
    free(h->blob_hashes);
    free(h);
}

host_account *host_put_account_hashed(host_state *h, const evmjit_address *address,
                                      const evmjit_bytes32 *balance, uint64_t nonce,
                                      const uint8_t *code, size_t code_size,
                                      const evmjit_bytes32 *code_hash) {
    host_account *a = host_get(h, address);
    account_clear(a);
    a->exists = true;
    a->balance = evmjit_word_from_bytes32(balance);
    a->nonce = nonce;
    a->code = pool_copy(h, code, code_size);
    a->code_size = code_size;
    a->code_hash = code_size ? *code_hash : host_empty_code_hash;
    return a;
}

host_account *host_put_account(host_state *h, const evmjit_address *address,
                               const evmjit_bytes32 *balance, uint64_t nonce,
                               const uint8_t *code, size_t code_size) {
    evmjit_bytes32 hash = code_size ? evmjit_keccak256(code, code_size) : host_empty_code_hash;
    return host_put_account_hashed(h, address, balance, nonce, code, code_size, &hash);
}

void host_put_storage(host_state *h, host_account *a, const evmjit_bytes32 *key,
                      const evmjit_bytes32 *value) {
    (void)h;
    if (b32_is_zero(value)) return;
    host_slot *s = slots_get(&a->storage, key);
    s->value = s->original = *value;
}

void host_finalize_tx(host_state *h) {
    for (size_t i = 0; i < h->table_cap; i++) {
        host_account *a = h->table[i];
        if (!a) continue;
        if (a->exists && (a->destructed || (h->rev >= EVMJIT_SPURIOUS_DRAGON && a->touched &&
                                            account_empty(a))))
            account_clear(a);
        slots_free(&a->transient);
        a->warm = a->touched = a->destructed = a->created = false;
        for (size_t k = 0; k < a->storage.cap; k++) {
            host_slot *s = &a->storage.slots[k];
            if (!s->used) continue;
            s->original = s->value;
            s->warm = false;
        }
    }
    h->journal_size = 0;
}

/* ---- roots ----------------------------------------------------------------------------- */

static evmjit_bytes32 storage_root(const host_account *a) {
    trie_entry *e = trie_xcalloc(a->storage.count ? a->storage.count : 1, sizeof *e);
    rlp_buf *vals = trie_xcalloc(a->storage.count ? a->storage.count : 1, sizeof *vals);
    size_t n = 0;
    for (size_t i = 0; i < a->storage.cap; i++) {
        const host_slot *s = &a->storage.slots[i];
        if (!s->used || b32_is_zero(&s->value)) continue;
        rlp_put_be(&vals[n], s->value.bytes, 32);
        e[n].key = s->key.bytes;
        e[n].key_size = 32;
        e[n].value = vals[n].data;
        e[n].value_size = vals[n].size;
        n++;
    }
    evmjit_bytes32 root = trie_root(e, n, true);
    for (size_t i = 0; i < n; i++) rlp_buf_free(&vals[i]);
    free(vals);
    free(e);
    return root;
}

evmjit_bytes32 host_state_root(host_state *h) {
    trie_entry *e = trie_xcalloc(h->account_count ? h->account_count : 1, sizeof *e);
    rlp_buf *vals = trie_xcalloc(h->account_count ? h->account_count : 1, sizeof *vals);
    size_t n = 0;
    for (size_t i = 0; i < h->table_cap; i++) {
        host_account *a = h->table[i];
        if (!a || !a->exists) continue;
        evmjit_bytes32 sroot = storage_root(a);
        evmjit_bytes32 bal = evmjit_word_to_bytes32(a->balance);
        rlp_buf *v = &vals[n];
        size_t l = rlp_list_begin(v);
        rlp_put_uint(v, a->nonce);
        rlp_put_be(v, bal.bytes, 32);
        rlp_put_bytes(v, sroot.bytes, 32);
        rlp_put_bytes(v, a->code_hash.bytes, 32);
        rlp_list_end(v, l);
        e[n].key = a->address.bytes;
        e[n].key_size = 20;
        e[n].value = v->data;
        e[n].value_size = v->size;
        n++;
    }
    evmjit_bytes32 root = trie_root(e, n, true);
    for (size_t i = 0; i < n; i++) rlp_buf_free(&vals[i]);
    free(vals);
    free(e);
    return root;
}

evmjit_bytes32 host_logs_hash(const host_state *h) {
    rlp_buf b = {0};
    size_t outer = rlp_list_begin(&b);
    for (size_t i = 0; i < h->log_count; i++) {
        const host_log *l = &h->logs[i];
        size_t one = rlp_list_begin(&b);
        rlp_put_bytes(&b, l->address.bytes, 20);
        size_t topics = rlp_list_begin(&b);
        for (size_t t = 0; t < l->topics_count; t++) rlp_put_bytes(&b, l->topics[t].bytes, 32);
        rlp_list_end(&b, topics);
        rlp_put_bytes(&b, l->data, l->data_size);
        rlp_list_end(&b, one);
    }
    rlp_list_end(&b, outer);
    evmjit_bytes32 hash = evmjit_keccak256(b.data, b.size);
    rlp_buf_free(&b);
    return hash;
}

/* ---- transactions ---------------------------------------------------------------------- */

uint64_t host_intrinsic_gas(evmjit_revision rev, const host_tx *tx, uint64_t *floor) {
    uint64_t zeros = 0;
    for (size_t i = 0; i < tx->data_size; i++) zeros += tx->data[i] == 0;
    uint64_t nonzeros = tx->data_size - zeros;
    uint64_t g = 21000;
    if (tx->create && rev >= EVMJIT_HOMESTEAD) g += 32000;
    g += zeros * 4 + nonzeros * (rev >= EVMJIT_ISTANBUL ? 16 : 68); /* EIP-2028 */
    for (size_t i = 0; i < tx->access_count; i++)                   /* EIP-2930 */
        g += 2400 + 1900 * (uint64_t)tx->access_list[i].key_count;
    if (tx->create && rev >= EVMJIT_SHANGHAI) g += 2 * ((tx->data_size + 31) / 32); /* EIP-3860 */
    if (rev >= EVMJIT_PRAGUE) g += 25000 * (uint64_t)tx->authorization_count; /* EIP-7702 */
    if (floor) *floor = rev >= EVMJIT_PRAGUE ? 21000 + 10 * (zeros + 4 * nonzeros) : 0; /* 7623 */
    return g;
}

/* EIP-4844 fake_exponential(factor, numerator, denominator): factor * e^(num/den), in
   integers. O(terms), each term shrinking by num/(den*i). */
static void fake_exponential(mpz_t out, unsigned long factor, const mpz_t num, const mpz_t den) {
    mpz_t acc, t;
    mpz_inits(acc, t, NULL);
    mpz_set_ui(out, 0);
    mpz_mul_ui(acc, den, factor);
    for (unsigned long i = 1; mpz_sgn(acc) > 0; i++) {
        mpz_add(out, out, acc);
        mpz_mul(acc, acc, num);
        mpz_mul_ui(t, den, i);
        mpz_fdiv_q(acc, acc, t);
    }
    mpz_fdiv_q(out, out, den);
    mpz_clears(acc, t, NULL);
}

static bool is_delegation(const uint8_t *code, size_t size, evmjit_address *target) {
    if (size != 23 || code[0] != 0xef || code[1] != 0x01 || code[2] != 0x00) return false;
    if (target) memcpy(target->bytes, code + 3, 20);
    return true;
}

static bool b32_fits_u64(const evmjit_bytes32 *b, uint64_t *v) {
    for (int i = 0; i < 24; i++)
        if (b->bytes[i]) return false;
    uint64_t x = 0;
    for (int i = 24; i < 32; i++) x = x << 8 | b->bytes[i];
    *v = x;
    return true;
}

/* EIP-7702: apply each valid authorization; returns the refund for authorities that already
   existed. Invalid entries are skipped, never fatal. */
static int64_t apply_authorizations(host_state *h, const host_tx *tx) {
    int64_t refund = 0;
    mpz_t chain, mine;
    mpz_inits(chain, mine, NULL);
    mpz_from_b32(mine, &h->tx.chain_id);
    for (size_t i = 0; i < tx->authorization_count; i++) {
        const host_authorization *au = &tx->authorizations[i];
        mpz_from_b32(chain, &au->chain_id);
        if (mpz_sgn(chain) != 0 && mpz_cmp(chain, mine) != 0) continue;
        uint64_t nonce, y;
        if (!b32_fits_u64(&au->nonce, &nonce) || nonce == UINT64_MAX) continue;
        if (!b32_fits_u64(&au->y_parity, &y) || y > 1) continue;
        /* s must be in the lower half of the order (EIP-2) */
        static const uint8_t half_n[32] = {
            0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
            0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
        if (memcmp(au->s.bytes, half_n, 32) > 0) continue;
        /* the signed message: keccak(0x05 || rlp([chain_id, address, nonce])) */
        rlp_buf b = {0};
        uint8_t magic = 0x05;
        rlp_put_raw(&b, &magic, 1);
        size_t l = rlp_list_begin(&b);
        rlp_put_be(&b, au->chain_id.bytes, 32);
        rlp_put_bytes(&b, au->address.bytes, 20);
        rlp_put_uint(&b, nonce);
        rlp_list_end(&b, l);
        evmjit_bytes32 msg_hash = evmjit_keccak256(b.data, b.size);
        rlp_buf_free(&b);
        evmjit_address authority;
        if (!precompile_recover_address(msg_hash.bytes, (int)y, au->r.bytes, au->s.bytes,
                                        &authority))
            continue;
        host_account *a = host_get(h, &authority);
        warm_account(h, a);
        if (a->exists && a->code_size && !is_delegation(a->code, a->code_size, NULL)) continue;
        if (a->nonce != nonce) continue;
        if (a->exists) refund += 25000 - 12500; /* PER_EMPTY_ACCOUNT_COST - PER_AUTH_BASE */
        if (!a->exists) make_exist(h, a, false);
        bool clear = true;
        for (int k = 0; k < 20; k++) clear &= au->address.bytes[k] == 0;
        if (clear) {
            set_code(h, a, NULL, 0);
        } else {
            uint8_t code[23] = {0xef, 0x01, 0x00};
            memcpy(code + 3, au->address.bytes, 20);
            set_code(h, a, code, sizeof code);
        }
        set_nonce(h, a, a->nonce + 1);
        touch(h, a);
    }
    mpz_clears(chain, mine, NULL);
    return refund;
}

#define REJECT(...)                                                                           \
    do {                                                                                      \
        snprintf(r->error, sizeof r->error, __VA_ARGS__);                                     \
        goto out;                                                                             \
    } while (0)

void host_transact(host_state *h, const host_block *block, const host_tx *tx,
                   host_tx_result *r) {
    memset(r, 0, sizeof *r);
    h->call_ns = 0;
    r->status = EVMJIT_REJECTED;
    for (size_t i = 0; i < h->log_count; i++) host_free_log(&h->logs[i]);
    h->log_count = 0;
    h->unsupported_precompile = 0;
    const evmjit_revision rev = h->rev;

    mpz_t gas_limit, price, max_price, base_fee, prio, max_fee, value, upfront, balance, blob_fee,
        max_blob_fee, t, u;
    mpz_inits(gas_limit, price, max_price, base_fee, prio, max_fee, value, upfront, balance,
              blob_fee, max_blob_fee, t, u, NULL);

    static const int min_rev[] = {EVMJIT_FRONTIER, EVMJIT_BERLIN, EVMJIT_LONDON, EVMJIT_CANCUN,
                                  EVMJIT_PRAGUE};
    if ((unsigned)tx->type > HOST_TX_SET_CODE) REJECT("unknown transaction type %d", tx->type);
    if ((int)rev < min_rev[tx->type])
        REJECT("transaction type %d is not valid in %s", tx->type, host_revision_name(rev));

    uint64_t gas, nonce;
    if (!b32_fits_u64(&tx->gas_limit, &gas) || gas > INT64_MAX)
        REJECT("gas limit does not fit in 64 bits");
    if (block->gas_limit >= 0 && gas > (uint64_t)block->gas_limit)
        REJECT("gas limit %" PRIu64 " above the block gas limit", gas);
    if (rev >= EVMJIT_OSAKA && !h->no_tx_gas_cap && gas > (1u << 24))
        REJECT("gas limit above 2^24 (EIP-7825)");
    if (!b32_fits_u64(&tx->nonce, &nonce) || nonce == UINT64_MAX)
        REJECT("nonce at or above 2^64-1 (EIP-2681)");

    host_account *sender = host_get(h, &tx->sender);
    if (sender->nonce != nonce)
        REJECT("nonce %" PRIu64 " differs from the sender's %" PRIu64, nonce, sender->nonce);
    if (sender->code_size &&
        !(rev >= EVMJIT_PRAGUE && is_delegation(sender->code, sender->code_size, NULL)))
        REJECT("sender has code (EIP-3607)");
    if (tx->create && (tx->type == HOST_TX_BLOB || tx->type == HOST_TX_SET_CODE))
        REJECT("type %d transaction without a recipient", tx->type);
    if (tx->create && rev >= EVMJIT_SHANGHAI && tx->data_size > HOST_MAX_INITCODE_SIZE)
        REJECT("initcode of %zu bytes above the EIP-3860 limit", tx->data_size);
    if (tx->type == HOST_TX_SET_CODE && tx->authorization_count == 0)
        REJECT("set-code transaction with an empty authorization list");

    uint64_t floor = 0, intrinsic = host_intrinsic_gas(rev, tx, &floor);
    if (gas < intrinsic) REJECT("intrinsic gas %" PRIu64 " above the gas limit", intrinsic);
    if (gas < floor) REJECT("EIP-7623 floor %" PRIu64 " above the gas limit", floor);

    /* fees */
    mpz_set_ui(gas_limit, gas);
    if (rev >= EVMJIT_LONDON) mpz_from_b32(base_fee, &block->base_fee);
    if (tx->type >= HOST_TX_DYNAMIC_FEE) {
        mpz_from_b32(max_fee, &tx->max_fee_per_gas);
        mpz_from_b32(prio, &tx->max_priority_fee_per_gas);
        if (mpz_cmp(prio, max_fee) > 0) REJECT("priority fee above the max fee per gas");
        if (mpz_cmp(max_fee, base_fee) < 0) REJECT("max fee per gas below the base fee");
        mpz_add(price, base_fee, prio);
        if (mpz_cmp(price, max_fee) > 0) mpz_set(price, max_fee);
        mpz_set(max_price, max_fee);
    } else {
        mpz_from_b32(price, &tx->gas_price);
        if (rev >= EVMJIT_LONDON && mpz_cmp(price, base_fee) < 0)
            REJECT("gas price below the base fee");
        mpz_set(max_price, price);
    }
    uint64_t blob_gas = 0;
    if (tx->type == HOST_TX_BLOB) {
        uint64_t max_blobs = block->max_blobs ? block->max_blobs : rev >= EVMJIT_PRAGUE ? 9 : 6;
        uint64_t fraction = block->blob_update_fraction ? block->blob_update_fraction
                            : rev >= EVMJIT_PRAGUE ? 5007716 : 3338477;
        if (tx->blob_count == 0) REJECT("blob transaction without blobs");
        if (tx->blob_count > max_blobs) REJECT("%zu blobs above the maximum", tx->blob_count);
        for (size_t i = 0; i < tx->blob_count; i++)
            if (tx->blob_hashes[i].bytes[0] != 0x01) REJECT("blob hash %zu has a bad version", i);
        blob_gas = HOST_BLOB_GAS_PER_BLOB * (uint64_t)tx->blob_count;
        mpz_set_ui(t, block->excess_blob_gas);
        mpz_set_ui(u, fraction);
        fake_exponential(blob_fee, 1, t, u);
        mpz_from_b32(max_blob_fee, &tx->max_fee_per_blob_gas);
        if (mpz_cmp(max_blob_fee, blob_fee) < 0) REJECT("max fee per blob gas below the blob fee");
    }
    mpz_from_b32(value, &tx->value);
    mpz_mul(upfront, gas_limit, max_price);
    mpz_add(upfront, upfront, value);
    mpz_mul_ui(t, max_blob_fee, blob_gas);
    mpz_add(upfront, upfront, t);
    mpz_from_word(balance, sender->balance);
    if (mpz_cmp(balance, upfront) < 0) REJECT("insufficient funds for gas * price + value");

    /* ---- valid: execute ---- */
    r->valid = true;
    memset(&h->tx, 0, sizeof h->tx);
    h->tx.tx_gas_price = evmjit_word_to_bytes32(mpz_to_word(price));
    h->tx.tx_origin = tx->sender;
    h->tx.block_coinbase = block->coinbase;
    h->tx.block_number = block->number;
    h->tx.block_timestamp = block->timestamp;
    h->tx.block_gas_limit = block->gas_limit;
    h->tx.block_prev_randao =
        rev >= EVMJIT_PARIS && block->has_prev_randao ? block->prev_randao : block->difficulty;
    h->tx.chain_id = block->chain_id;
    if (rev >= EVMJIT_LONDON) h->tx.block_base_fee = block->base_fee;
    if (rev >= EVMJIT_CANCUN) {
        mpz_t frac, ex;
        mpz_inits(frac, ex, NULL);
        mpz_set_ui(ex, block->excess_blob_gas);
        mpz_set_ui(frac, block->blob_update_fraction ? block->blob_update_fraction
                         : rev >= EVMJIT_PRAGUE ? 5007716 : 3338477);
        fake_exponential(u, 1, ex, frac);
        h->tx.blob_base_fee = evmjit_word_to_bytes32(mpz_to_word(u));
        mpz_clears(frac, ex, NULL);
    }
    free(h->blob_hashes);
    h->blob_hashes = NULL;
    if (tx->blob_count) {
        h->blob_hashes = trie_xmalloc(tx->blob_count * sizeof *h->blob_hashes);
        memcpy(h->blob_hashes, tx->blob_hashes, tx->blob_count * sizeof *h->blob_hashes);
        h->tx.blob_hashes = h->blob_hashes;
        h->tx.blob_hashes_count = tx->blob_count;
    }

    /* buy gas (the blob fee is burned), bump the nonce of a call (CREATE bumps its own) */
    mpz_mul(t, gas_limit, price);
    mpz_mul_ui(u, blob_fee, blob_gas);
    mpz_add(t, t, u);
    set_balance(h, sender, w_sub(sender->balance, mpz_to_word(t)));
    if (!tx->create) set_nonce(h, sender, sender->nonce + 1);

    /* warm-up (EIP-2929, EIP-2930, EIP-3651) */
    evmjit_address delegate;
    bool delegated = false;
    host_account *to = tx->create ? NULL : host_get(h, &tx->to);
    if (rev >= EVMJIT_BERLIN) {
        warm_account(h, sender);
        if (to) warm_account(h, to);
        unsigned n = precompile_count(rev);
        for (unsigned i = 1; i <= n + (rev >= EVMJIT_OSAKA); i++) {
            evmjit_address p;
            memset(&p, 0, sizeof p);
            unsigned id = i <= n ? i : 0x100;
            p.bytes[18] = (uint8_t)(id >> 8);
            p.bytes[19] = (uint8_t)id;
            warm_account(h, host_get(h, &p));
        }
        if (rev >= EVMJIT_SHANGHAI) warm_account(h, host_get(h, &block->coinbase));
        for (size_t i = 0; i < tx->access_count; i++) {
            host_account *a = host_get(h, &tx->access_list[i].address);
            warm_account(h, a);
            for (size_t k = 0; k < tx->access_list[i].key_count; k++)
                warm_slot(h, a, &tx->access_list[i].keys[k]);
        }
    }
    int64_t auth_refund = 0;
    if (tx->type == HOST_TX_SET_CODE) auth_refund = apply_authorizations(h, tx);
    if (to && rev >= EVMJIT_PRAGUE && to->exists &&
        is_delegation(to->code, to->code_size, &delegate)) {
        delegated = true;
        warm_account(h, host_get(h, &delegate));
    }

    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    msg.kind = tx->create ? EVMJIT_CREATE : EVMJIT_CALL;
    msg.flags = delegated ? EVMJIT_DELEGATED : 0;
    msg.depth = 0;
    msg.gas = (int64_t)(gas - intrinsic);
    msg.sender = tx->sender;
    if (!tx->create) msg.recipient = tx->to;
    msg.code_address = delegated ? delegate : msg.recipient;
    msg.input_data = tx->data;
    msg.input_size = tx->data_size;
    msg.value = tx->value;
    struct timespec call_start, call_end;
    clock_gettime(CLOCK_MONOTONIC, &call_start);
    evmjit_result res = host_call_frame(h, &msg);
    clock_gettime(CLOCK_MONOTONIC, &call_end);
    h->call_ns = (uint64_t)((call_end.tv_sec - call_start.tv_sec) * 1000000000LL +
                            (call_end.tv_nsec - call_start.tv_nsec));

    r->status = res.status_code;
    int64_t gas_left = res.status_code == EVMJIT_SUCCESS || res.status_code == EVMJIT_REVERT
                           ? res.gas_left : 0;
    int64_t refund = (res.status_code == EVMJIT_SUCCESS ? res.gas_refund : 0) + auth_refund;
    if (res.output_size) {
        r->output = trie_xmalloc(res.output_size);
        memcpy(r->output, res.output_data, res.output_size);
        r->output_size = res.output_size;
    }
    release(&res);
    int64_t used = (int64_t)gas - gas_left;
    int64_t cap = used / (rev >= EVMJIT_LONDON ? 5 : 2); /* EIP-3529 */
    if (refund > cap) refund = cap;
    if (refund < 0) refund = 0;
    used -= refund;
    if (rev >= EVMJIT_PRAGUE && (uint64_t)used < floor) used = (int64_t)floor;
    r->gas_used = used;
    r->gas_refund = refund;

    /* return unused gas, pay the coinbase its priority fee (touching it even for zero) */
    mpz_set_ui(t, (uint64_t)((int64_t)gas - used));
    mpz_mul(t, t, price);
    set_balance(h, sender, w_add(sender->balance, mpz_to_word(t)));
    mpz_sub(u, price, base_fee);
    mpz_mul_ui(u, u, (uint64_t)used);
    credit(h, host_get(h, &block->coinbase), mpz_to_word(u));
    host_finalize_tx(h);
out:
    mpz_clears(gas_limit, price, max_price, base_fee, prio, max_fee, value, upfront, balance,
               blob_fee, max_blob_fee, t, u, NULL);
}

/* ---- revision names -------------------------------------------------------------------- */

static const struct {
    const char *name;
    evmjit_revision rev;
} host_revisions[] = {
    {"Frontier", EVMJIT_FRONTIER},
    {"Homestead", EVMJIT_HOMESTEAD},
    {"EIP150", EVMJIT_TANGERINE_WHISTLE},
    {"TangerineWhistle", EVMJIT_TANGERINE_WHISTLE},
    {"EIP158", EVMJIT_SPURIOUS_DRAGON},
    {"SpuriousDragon", EVMJIT_SPURIOUS_DRAGON},
    {"Byzantium", EVMJIT_BYZANTIUM},
    {"Constantinople", EVMJIT_CONSTANTINOPLE},
    {"ConstantinopleFix", EVMJIT_PETERSBURG},
    {"Petersburg", EVMJIT_PETERSBURG},
    {"Istanbul", EVMJIT_ISTANBUL},
    {"Berlin", EVMJIT_BERLIN},
    {"London", EVMJIT_LONDON},
    {"Merge", EVMJIT_PARIS},
    {"Paris", EVMJIT_PARIS},
    {"Shanghai", EVMJIT_SHANGHAI},
    {"Cancun", EVMJIT_CANCUN},
    {"Prague", EVMJIT_PRAGUE},
    {"Osaka", EVMJIT_OSAKA},
};

bool host_revision_from_name(const char *name, evmjit_revision *rev) {
    for (size_t i = 0; i < sizeof host_revisions / sizeof host_revisions[0]; i++) {
        if (!strcmp(name, host_revisions[i].name)) {
            *rev = host_revisions[i].rev;
            return true;
        }
    }
    return false;
}

const char *host_revision_name(evmjit_revision rev) {
    /* the canonical (later) names; the table lists aliases first */
    const char *name = "unknown";
    for (size_t i = 0; i < sizeof host_revisions / sizeof host_revisions[0]; i++)
        if (host_revisions[i].rev == rev) name = host_revisions[i].name;
    return name;
}

evmjit_result host_execute_code(host_state *h, const evmjit_message *msg, const uint8_t *code,
                                size_t code_size) {
    return host_execute(h, msg, code, code_size, NULL);
}
