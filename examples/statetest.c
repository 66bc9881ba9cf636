/* statetest.c - the state-test and VM-test runners. See statetest.h.

   Per file: parse the JSON once (jansson), then per test decode the pre-state once and, for
   each post entry, build a fresh host, load the pre-state, run the transaction and compare
   the roots. Decoding errors are collected in a message buffer and reported as a failure of
   the test (or file); nothing in the input can abort the run. */
#include "statetest.h"

#include <dirent.h>
#include <unistd.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host.h"
#include "precompiles.h"
#include "trie.h"

/* ---- decoding -------------------------------------------------------------------------- */

typedef struct st_error {
    char msg[512];
    bool set;
} st_error;

static void st_fail(st_error *e, const char *fmt, ...) {
    if (e->set) return; /* keep the first error */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->set = true;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The hex digits of a "0x..." string; NULL (error set) for anything else. */
static const char *hex_digits(const json_t *j, const char *what, st_error *e) {
    const char *s = json_string_value(j);
    if (!s) {
        st_fail(e, "%s: expected a hex string", what);
        return NULL;
    }
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
        st_fail(e, "%s: '%.40s' lacks the 0x prefix", what, s);
        return NULL;
    }
    for (const char *p = s + 2; *p; p++) {
        if (hexval(*p) < 0) {
            st_fail(e, "%s: '%.40s' is not hex", what, s);
            return NULL;
        }
    }
    return s + 2;
}

/* Byte strings (code, data, keys as bytes): the length must be even. *out is malloc'd. */
static bool hex_bytes(const json_t *j, const char *what, uint8_t **out, size_t *size,
                      st_error *e) {
    *out = NULL;
    *size = 0;
    const char *d = hex_digits(j, what, e);
    if (!d) return false;
    size_t n = strlen(d);
    if (n % 2) {
        st_fail(e, "%s: odd-length hex string (%zu digits)", what, n);
        return false;
    }
    *out = trie_xmalloc(n / 2);
    for (size_t i = 0; i < n / 2; i++)
        (*out)[i] = (uint8_t)(hexval(d[2 * i]) << 4 | hexval(d[2 * i + 1]));
    *size = n / 2;
    return true;
}

/* Quantities: right-aligned in 32 bytes; leading zeros may be dropped (odd length is fine
   for a number). */
static bool hex_b32(const json_t *j, const char *what, evmjit_bytes32 *out, st_error *e) {
    memset(out, 0, sizeof *out);
    const char *d = hex_digits(j, what, e);
    if (!d) return false;
    while (*d == '0' && d[1]) d++;
    size_t n = strlen(d);
    if (n > 64) {
        st_fail(e, "%s: number wider than 256 bits", what);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        size_t nib = n - 1 - i; /* nibble index from the least significant end */
        out->bytes[31 - nib / 2] |= (uint8_t)(hexval(d[i]) << (nib % 2 ? 4 : 0));
    }
    return true;
}

static bool hex_u64(const json_t *j, const char *what, uint64_t *out, st_error *e) {
    evmjit_bytes32 b;
    if (!hex_b32(j, what, &b, e)) return false;
    for (int i = 0; i < 24; i++) {
        if (b.bytes[i]) {
            st_fail(e, "%s: does not fit in 64 bits", what);
            return false;
        }
    }
    uint64_t v = 0;
    for (int i = 24; i < 32; i++) v = v << 8 | b.bytes[i];
    *out = v;
    return true;
}

static bool hex_i64(const json_t *j, const char *what, int64_t *out, st_error *e) {
    uint64_t v;
    if (!hex_u64(j, what, &v, e)) return false;
    *out = v > INT64_MAX ? INT64_MAX : (int64_t)v;
    return true;
}

/* Addresses: exactly 20 bytes. */
static bool hex_address(const json_t *j, const char *what, evmjit_address *out, st_error *e) {
    uint8_t *p;
    size_t n;
    if (!hex_bytes(j, what, &p, &n, e)) return false;
    if (n != 20) {
        free(p);
        st_fail(e, "%s: an address has 20 bytes, not %zu", what, n);
        return false;
    }
    memcpy(out->bytes, p, 20);
    free(p);
    return true;
}

static void hex_print(FILE *out, const uint8_t *p, size_t n) {
    fputs("0x", out);
    for (size_t i = 0; i < n; i++) fprintf(out, "%02x", p[i]);
}

/* ---- pre-state ------------------------------------------------------------------------- */

typedef struct st_account {
    evmjit_address address;
    evmjit_bytes32 balance;
    uint64_t nonce;
    uint8_t *code;
    size_t code_size;
    evmjit_bytes32 code_hash; /* keccak-256 of the code, computed once */
    evmjit_bytes32 *keys, *values;
    size_t slot_count;
} st_account;

typedef struct st_state {
    st_account *accounts;
    size_t count;
} st_state;

static void st_state_free(st_state *s) {
    for (size_t i = 0; i < s->count; i++) {
        free(s->accounts[i].code);
        free(s->accounts[i].keys);
        free(s->accounts[i].values);
    }
    free(s->accounts);
    s->accounts = NULL;
    s->count = 0;
}

/* Decode {address: {balance, nonce, code, storage}}. */
static bool st_state_parse(const json_t *j, const char *what, st_state *s, st_error *e) {
    memset(s, 0, sizeof *s);
    if (!json_is_object(j)) {
        st_fail(e, "%s: expected an object", what);
        return false;
    }
    s->accounts = trie_xcalloc(json_object_size(j) ? json_object_size(j) : 1, sizeof *s->accounts);
    const char *key;
    json_t *acc;
    json_object_foreach((json_t *)j, key, acc) {
        st_account *a = &s->accounts[s->count++];
        json_t *k = json_string(key);
        bool ok = hex_address(k, what, &a->address, e);
        json_decref(k);
        if (!ok) return false;
        if (!json_is_object(acc)) {
            st_fail(e, "%s: account %s is not an object", what, key);
            return false;
        }
        if (!hex_b32(json_object_get(acc, "balance"), "balance", &a->balance, e) ||
            !hex_u64(json_object_get(acc, "nonce"), "nonce", &a->nonce, e) ||
            !hex_bytes(json_object_get(acc, "code"), "code", &a->code, &a->code_size, e))
            return false;
        if (a->code_size) a->code_hash = evmjit_keccak256(a->code, a->code_size);
        json_t *st = json_object_get(acc, "storage");
        if (st && !json_is_object(st)) {
            st_fail(e, "%s: storage of %s is not an object", what, key);
            return false;
        }
        size_t n = st ? json_object_size(st) : 0;
        a->keys = trie_xcalloc(n ? n : 1, sizeof *a->keys);
        a->values = trie_xcalloc(n ? n : 1, sizeof *a->values);
        const char *sk;
        json_t *sv;
        if (st) {
            json_object_foreach(st, sk, sv) {
                json_t *kj = json_string(sk);
                ok = hex_b32(kj, "storage key", &a->keys[a->slot_count], e) &&
                     hex_b32(sv, "storage value", &a->values[a->slot_count], e);
                json_decref(kj);
                if (!ok) return false;
                a->slot_count++;
            }
        }
    }
    return true;
}

static void st_state_load(const st_state *s, host_state *h) {
    for (size_t i = 0; i < s->count; i++) {
        const st_account *a = &s->accounts[i];
        host_account *ha = host_put_account_hashed(h, &a->address, &a->balance, a->nonce,
                                                   a->code, a->code_size, &a->code_hash);
        for (size_t k = 0; k < a->slot_count; k++)
            host_put_storage(h, ha, &a->keys[k], &a->values[k]);
    }
}

static int st_cmp_accounts(const void *a, const void *b) {
    const host_account *x = *(const host_account *const *)a, *y = *(const host_account *const *)b;
    return memcmp(x->address.bytes, y->address.bytes, 20);
}

static int st_cmp_slots(const void *a, const void *b) {
    const host_slot *x = *(const host_slot *const *)a, *y = *(const host_slot *const *)b;
    return memcmp(x->key.bytes, y->key.bytes, 32);
}

/* Print the host's state as the fixtures spell it (for -v on a root mismatch): accounts in
   address order, slots in key order, whatever the order of the host's hash tables. */
static void st_dump_state(host_state *h, FILE *out) {
    host_account **accounts = trie_xcalloc(h->table_cap ? h->table_cap : 1, sizeof *accounts);
    size_t n = 0;
    for (size_t i = 0; i < h->table_cap; i++)
        if (h->table[i] && h->table[i]->exists) accounts[n++] = h->table[i];
    qsort(accounts, n, sizeof *accounts, st_cmp_accounts);
    for (size_t i = 0; i < n; i++) {
        host_account *a = accounts[i];
        evmjit_bytes32 bal = evmjit_word_to_bytes32(a->balance);
        fputs("    ", out);
        hex_print(out, a->address.bytes, 20);
        fprintf(out, ": nonce %" PRIu64 ", balance ", a->nonce);
        hex_print(out, bal.bytes, 32);
        fprintf(out, ", code %zu bytes\n", a->code_size);
        host_slot **slots = trie_xcalloc(a->storage.cap ? a->storage.cap : 1, sizeof *slots);
        size_t m = 0;
        for (size_t k = 0; k < a->storage.cap; k++) {
            host_slot *s = &a->storage.slots[k];
            bool zero = true;
            for (int b = 0; b < 32; b++) zero &= s->value.bytes[b] == 0;
            if (s->used && !zero) slots[m++] = s;
        }
        qsort(slots, m, sizeof *slots, st_cmp_slots);
        for (size_t k = 0; k < m; k++) {
            fputs("        ", out);
            hex_print(out, slots[k]->key.bytes, 32);
            fputs(" = ", out);
            hex_print(out, slots[k]->value.bytes, 32);
            fputc('\n', out);
        }
        free(slots);
    }
    free(accounts);
}

/* ---- skip list ------------------------------------------------------------------------- */

/* One line per entry: a substring of "FILE::TEST" (no spaces), then the reason. Blank lines
   and lines starting with '#' are ignored. */
typedef struct st_skip {
    char *pattern;
    char *reason;
} st_skip;

typedef struct st_skips {
    st_skip *items;
    size_t count;
} st_skips;

static bool st_load_skips(const char *path, st_skips *s, FILE *out) {
    memset(s, 0, sizeof *s);
    if (!path) return true;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(out, "FAIL %s: cannot open the skip list\n", path);
        return false;
    }
    char line[1024];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || *p == 0) continue;
        char *end = p;
        while (*end && *end != ' ' && *end != '\t' && *end != '\n') end++;
        char *reason = end;
        while (*reason == ' ' || *reason == '\t') reason++;
        size_t rl = strcspn(reason, "\n");
        if (s->count == cap) {
            cap = cap ? cap * 2 : 16;
            s->items = trie_xrealloc(s->items, cap * sizeof *s->items);
        }
        st_skip *it = &s->items[s->count++];
        it->pattern = strndup(p, (size_t)(end - p));
        it->reason = rl ? strndup(reason, rl) : strdup("(no reason given)");
    }
    fclose(f);
    return true;
}

static void st_free_skips(st_skips *s) {
    for (size_t i = 0; i < s->count; i++) {
        free(s->items[i].pattern);
        free(s->items[i].reason);
    }
    free(s->items);
}

static const char *st_skip_reason(const st_skips *s, const char *file, const char *test) {
    for (size_t i = 0; i < s->count; i++) {
        size_t fl = strlen(file);
        char *key = trie_xmalloc(fl + 2 + strlen(test) + 1);
        sprintf(key, "%s::%s", file, test);
        bool hit = strstr(key, s->items[i].pattern) != NULL;
        free(key);
        if (hit) return s->items[i].reason;
    }
    return NULL;
}

/* ---- fixtures: tests and vectors ------------------------------------------------------- */

/* Everything of a test that does not depend on the post entry: decoded once, shared by the
   test's vectors. */
struct statetest_test {
    st_state pre;
    host_block block;
    host_tx base; /* type, sender, to, nonce, fees; data/gas/value/access list per vector */
    evmjit_bytes32 *blob_hashes;
    host_authorization *auths;
    const json_t *tx_json; /* the transaction (state tests) or the first of the list */
    const json_t *config;
    const json_t *labels; /* _info.labels: names of the data indexes (evm-benchmarks) */
};

static bool st_parse_env(const json_t *env, host_block *b, st_error *e) {
    memset(b, 0, sizeof *b);
    if (!json_is_object(env)) {
        st_fail(e, "env: expected an object");
        return false;
    }
    if (!hex_address(json_object_get(env, "currentCoinbase"), "currentCoinbase", &b->coinbase, e) ||
        !hex_i64(json_object_get(env, "currentGasLimit"), "currentGasLimit", &b->gas_limit, e) ||
        !hex_i64(json_object_get(env, "currentNumber"), "currentNumber", &b->number, e) ||
        !hex_i64(json_object_get(env, "currentTimestamp"), "currentTimestamp", &b->timestamp, e))
        return false;
    const json_t *j;
    if ((j = json_object_get(env, "currentDifficulty")) &&
        !hex_b32(j, "currentDifficulty", &b->difficulty, e))
        return false;
    if ((j = json_object_get(env, "currentRandom"))) {
        if (!hex_b32(j, "currentRandom", &b->prev_randao, e)) return false;
        b->has_prev_randao = true;
    }
    if ((j = json_object_get(env, "currentBaseFee")) &&
        !hex_b32(j, "currentBaseFee", &b->base_fee, e))
        return false;
    if ((j = json_object_get(env, "currentExcessBlobGas")) &&
        !hex_u64(j, "currentExcessBlobGas", &b->excess_blob_gas, e))
        return false;
    b->chain_id.bytes[31] = 1;
    return true;
}

/* The parts of a transaction shared by all vectors: everything but data, gasLimit, value
   and the access list. */
static bool st_parse_tx(const json_t *tx, statetest_test *t, st_error *e) {
    host_tx *x = &t->base;
    memset(x, 0, sizeof *x);
    if (!json_is_object(tx)) {
        st_fail(e, "transaction: expected an object");
        return false;
    }
    if (!hex_address(json_object_get(tx, "sender"), "transaction.sender", &x->sender, e) ||
        !hex_b32(json_object_get(tx, "nonce"), "transaction.nonce", &x->nonce, e))
        return false;
    const char *to = json_string_value(json_object_get(tx, "to"));
    if (!to || !*to) {
        x->create = true;
    } else if (!hex_address(json_object_get(tx, "to"), "transaction.to", &x->to, e)) {
        return false;
    }
    const json_t *j;
    if ((j = json_object_get(tx, "gasPrice")) &&
        !hex_b32(j, "transaction.gasPrice", &x->gas_price, e))
        return false;
    if ((j = json_object_get(tx, "maxFeePerGas"))) {
        x->type = HOST_TX_DYNAMIC_FEE;
        if (!hex_b32(j, "transaction.maxFeePerGas", &x->max_fee_per_gas, e) ||
            !hex_b32(json_object_get(tx, "maxPriorityFeePerGas"),
                     "transaction.maxPriorityFeePerGas", &x->max_priority_fee_per_gas, e))
            return false;
    }
    if ((j = json_object_get(tx, "blobVersionedHashes"))) {
        x->type = HOST_TX_BLOB;
        if (!json_is_array(j)) {
            st_fail(e, "transaction.blobVersionedHashes: expected an array");
            return false;
        }
        size_t n = json_array_size(j), i;
        t->blob_hashes = trie_xcalloc(n ? n : 1, sizeof *t->blob_hashes);
        json_t *v;
        json_array_foreach(j, i, v) {
            if (!hex_b32(v, "transaction.blobVersionedHashes", &t->blob_hashes[i], e)) return false;
        }
        x->blob_hashes = t->blob_hashes;
        x->blob_count = n;
        if (!hex_b32(json_object_get(tx, "maxFeePerBlobGas"), "transaction.maxFeePerBlobGas",
                     &x->max_fee_per_blob_gas, e))
            return false;
    }
    if ((j = json_object_get(tx, "authorizationList"))) {
        x->type = HOST_TX_SET_CODE;
        if (!json_is_array(j)) {
            st_fail(e, "transaction.authorizationList: expected an array");
            return false;
        }
        size_t n = json_array_size(j), i;
        t->auths = trie_xcalloc(n ? n : 1, sizeof *t->auths);
        json_t *v;
        json_array_foreach(j, i, v) {
            host_authorization *a = &t->auths[i];
            const json_t *y = json_object_get(v, "yParity");
            if (!y) y = json_object_get(v, "v");
            if (!hex_b32(json_object_get(v, "chainId"), "authorization.chainId", &a->chain_id, e) ||
                !hex_address(json_object_get(v, "address"), "authorization.address",
                             &a->address, e) ||
                !hex_b32(json_object_get(v, "nonce"), "authorization.nonce", &a->nonce, e) ||
                !hex_b32(y, "authorization.yParity", &a->y_parity, e) ||
                !hex_b32(json_object_get(v, "r"), "authorization.r", &a->r, e) ||
                !hex_b32(json_object_get(v, "s"), "authorization.s", &a->s, e))
                return false;
        }
        x->authorizations = t->auths;
        x->authorization_count = n;
    }
    t->tx_json = tx;
    return true;
}

/* Blob limits from config.blobSchedule[fork] (execution-spec-tests), if present. */
static void st_blob_schedule(const statetest_test *t, const char *fork, host_block *b) {
    const json_t *s = json_object_get(json_object_get(t->config, "blobSchedule"), fork);
    st_error ignore = {{0}, false};
    if (!s) return;
    hex_u64(json_object_get(s, "max"), "max", &b->max_blobs, &ignore);
    hex_u64(json_object_get(s, "baseFeeUpdateFraction"), "fraction", &b->blob_update_fraction,
            &ignore);
}

typedef struct st_access {
    host_access_entry *entries;
    evmjit_bytes32 *keys;
    size_t count;
} st_access;

static bool st_parse_access(const json_t *j, st_access *a, st_error *e) {
    memset(a, 0, sizeof *a);
    if (!j || json_is_null(j)) return true;
    if (!json_is_array(j)) {
        st_fail(e, "accessLists entry: expected an array");
        return false;
    }
    size_t n = json_array_size(j), total = 0, i;
    json_t *v;
    json_array_foreach(j, i, v) total += json_array_size(json_object_get(v, "storageKeys"));
    a->entries = trie_xcalloc(n ? n : 1, sizeof *a->entries);
    a->keys = trie_xcalloc(total ? total : 1, sizeof *a->keys);
    size_t used = 0;
    json_array_foreach(j, i, v) {
        host_access_entry *en = &a->entries[a->count++];
        if (!hex_address(json_object_get(v, "address"), "accessList.address", &en->address, e))
            return false;
        const json_t *ks = json_object_get(v, "storageKeys");
        size_t k;
        json_t *kv;
        en->keys = a->keys + used;
        json_array_foreach(ks, k, kv) {
            if (!hex_b32(kv, "accessList.storageKeys", &a->keys[used], e)) return false;
            used++;
            en->key_count++;
        }
    }
    return true;
}

static statetest_item *st_add_item(statetest_file *f, statetest_item_kind kind,
                                   const char *test) {
    if (f->count == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->items = trie_xrealloc(f->items, f->cap * sizeof *f->items);
    }
    statetest_item *v = &f->items[f->count++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->file = f->path;
    v->test = test;
    return v;
}

static void st_set_errorv(statetest_item *v, statetest_item_kind kind, const char *fmt,
                          va_list ap) {
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    v->kind = kind;
    v->error = v->error_buf = strdup(msg);
    if (!v->error_buf) abort();
}

/* Mark a vector as broken. */
static void st_bad_vector(statetest_item *v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_set_errorv(v, STATETEST_BAD_VECTOR, fmt, ap);
    va_end(ap);
}

/* A broken file (test NULL) or test, standing for `failures` vectors. */
static void st_add_bad(statetest_file *f, const char *test, long failures, const char *fmt,
                       ...) {
    statetest_item *v = st_add_item(f, STATETEST_BAD_INPUT, test);
    va_list ap;
    va_start(ap, fmt);
    st_set_errorv(v, STATETEST_BAD_INPUT, fmt, ap);
    va_end(ap);
    v->failures = failures;
}

/* The data, gas limit and value of one vector (JSON values), its access list (NULL: none)
   and the fork it runs under: fill in the item's transaction and block. */
static void st_fill_vector(statetest_item *v, const statetest_test *t, const json_t *dj,
                           const json_t *gj, const json_t *vj, const json_t *alj,
                           const json_t *post) {
    st_error e = {{0}, false};
    host_tx tx = t->base;
    uint8_t *data = NULL;
    size_t data_size = 0;
    st_access al = {0};
    hex_bytes(dj, "transaction.data", &data, &data_size, &e);
    hex_b32(gj, "transaction.gasLimit", &tx.gas_limit, &e);
    hex_b32(vj, "transaction.value", &tx.value, &e);
    if (alj) {
        st_parse_access(alj, &al, &e);
        if (!json_is_null(alj) && tx.type == HOST_TX_LEGACY) tx.type = HOST_TX_ACCESS_LIST;
    }
    if (post) {
        hex_b32(json_object_get(post, "hash"), "post.hash", &v->want_root, &e);
        hex_b32(json_object_get(post, "logs"), "post.logs", &v->want_logs, &e);
    }
    if (e.set) {
        st_bad_vector(v, "bad test input: %s", e.msg);
        free(data);
        free(al.entries);
        free(al.keys);
        return;
    }
    tx.data = v->data_buf = data;
    tx.data_size = data_size;
    tx.access_list = v->access_buf = al.entries;
    v->keys_buf = al.keys;
    tx.access_count = al.count;
    v->tx = tx;
    v->block = t->block;
    st_blob_schedule(t, v->fork, &v->block);
    const json_t *cid = json_object_get(t->config, "chainid");
    if (cid) hex_b32(cid, "config.chainid", &v->block.chain_id, &e);
}

/* One post entry of a state test. */
static void st_load_vector(statetest_file *f, const char *name, const statetest_test *t,
                           const char *fork, evmjit_revision rev, const json_t *post) {
    statetest_item *v = st_add_item(f, STATETEST_VECTOR, name);
    const json_t *idx = json_object_get(post, "indexes");
    const json_t *txj = t->tx_json;
    v->owner = t;
    v->fork = fork;
    v->rev = rev;
    v->data_index = json_integer_value(json_object_get(idx, "data"));
    v->gas_index = json_integer_value(json_object_get(idx, "gas"));
    v->value_index = json_integer_value(json_object_get(idx, "value"));
    char key[32];
    snprintf(key, sizeof key, "%lld", v->data_index);
    v->label = json_string_value(json_object_get(t->labels, key));
    v->expect_exception = json_string_value(json_object_get(post, "expectException"));
    const json_t *dj = json_array_get(json_object_get(txj, "data"), (size_t)v->data_index);
    const json_t *gj = json_array_get(json_object_get(txj, "gasLimit"), (size_t)v->gas_index);
    const json_t *vj = json_array_get(json_object_get(txj, "value"), (size_t)v->value_index);
    if (!json_is_object(idx) || !dj || !gj || !vj) {
        st_bad_vector(v, "indexes out of range or missing");
        return;
    }
    const json_t *als = json_object_get(txj, "accessLists");
    const json_t *alj = als ? json_array_get(als, (size_t)v->data_index) : NULL;
    st_fill_vector(v, t, dj, gj, vj, alj, post);
}

/* bench/revmc fixtures name no fork. The fixtures' README: revmc ran these three under
   Cancun rules and the rest under Osaka. */
static evmjit_revision st_tx_list_revision(const char *path) {
    static const char *const cancun[] = {"curve-stableswap-2pool.json", "onchain-lm-v2.json",
                                         "burntpix.json"};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < sizeof cancun / sizeof cancun[0]; i++)
        if (!strcmp(base, cancun[i])) return EVMJIT_CANCUN;
    return EVMJIT_OSAKA;
}

/* The first transaction of a list (bench/revmc): one value per field. */
static void st_load_tx_list(statetest_file *f, const char *name, const statetest_test *t) {
    statetest_item *v = st_add_item(f, STATETEST_VECTOR, name);
    const json_t *txj = t->tx_json;
    v->owner = t;
    v->tx_list = true;
    v->rev = st_tx_list_revision(f->path);
    v->fork = host_revision_name(v->rev);
    const json_t *al = json_object_get(txj, "accessList");
    st_fill_vector(v, t, json_object_get(txj, "data"), json_object_get(txj, "gasLimit"),
                   json_object_get(txj, "value"), al, NULL);
}

static size_t st_post_count(const json_t *post) {
    size_t n = 0;
    const char *fork;
    json_t *list;
    json_object_foreach((json_t *)post, fork, list) {
        n += json_is_array(list) ? json_array_size(list) : 1;
    }
    return n ? n : 1;
}

static void st_load_test(const statetest_options *o, bool tx_lists, statetest_file *f,
                         const char *name, const json_t *tj) {
    const json_t *post = json_object_get(tj, "post");
    const json_t *txj = json_object_get(tj, "transaction");
    bool list = tx_lists && json_is_object(tj) && !post && json_is_array(txj);
    if (!json_is_object(tj) || (!list && !json_is_object(post))) {
        st_add_bad(f, name, 1, "not a state test (no post object)");
        return;
    }
    statetest_test *t = trie_xcalloc(1, sizeof *t);
    f->tests = trie_xrealloc(f->tests, (f->test_count + 1) * sizeof *f->tests);
    f->tests[f->test_count++] = t;
    t->config = json_object_get(tj, "config");
    t->labels = json_object_get(json_object_get(tj, "_info"), "labels");
    st_error e = {{0}, false};
    if (list && !json_array_size(txj)) st_fail(&e, "transaction: an empty list");
    if (e.set || !st_state_parse(json_object_get(tj, "pre"), "pre", &t->pre, &e) ||
        !st_parse_env(json_object_get(tj, "env"), &t->block, &e) ||
        !st_parse_tx(list ? json_array_get(txj, 0) : txj, t, &e)) {
        st_add_bad(f, name, (long)st_post_count(post), "bad test input: %s", e.msg);
        return;
    }
    if (list) {
        st_load_tx_list(f, name, t);
        return;
    }
    if (!json_is_array(json_object_get(txj, "data")) ||
        !json_is_array(json_object_get(txj, "gasLimit")) ||
        !json_is_array(json_object_get(txj, "value"))) {
        st_add_bad(f, name, (long)st_post_count(post),
                   "bad test input: transaction: data, gasLimit and value must be arrays");
        return;
    }
    const char *fork;
    json_t *entries;
    json_object_foreach((json_t *)post, fork, entries) {
        evmjit_revision rev;
        bool known = host_revision_from_name(fork, &rev);
        if (known && o->has_fork && rev != o->fork) continue;
        if (!known) {
            st_add_bad(f, name, json_is_array(entries) ? (long)json_array_size(entries) : 1,
                       "unknown fork name '%s'", fork);
            continue;
        }
        if (!json_is_array(entries)) {
            st_add_bad(f, name, 1, "post.%s is not an array", fork);
            continue;
        }
        size_t i;
        json_t *p;
        json_array_foreach(entries, i, p) st_load_vector(f, name, t, fork, rev, p);
    }
}

void statetest_file_load(const statetest_options *o, bool tx_lists, const char *path,
                         statetest_file *f) {
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) abort();
    json_error_t err;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!root) {
        st_add_bad(f, NULL, 1, "malformed JSON at line %d: %s", err.line, err.text);
        return;
    }
    f->json = root;
    if (!json_is_object(root)) {
        st_add_bad(f, NULL, 1, "the top level is not an object of tests");
        return;
    }
    const char *name;
    json_t *t;
    json_object_foreach(root, name, t) {
        if (o->filter && !strstr(path, o->filter) && !strstr(name, o->filter)) continue;
        st_load_test(o, tx_lists, f, name, t);
    }
}

void statetest_file_free(statetest_file *f) {
    for (size_t i = 0; i < f->count; i++) {
        statetest_item *v = &f->items[i];
        free(v->data_buf);
        free(v->access_buf);
        free(v->keys_buf);
        free(v->error_buf);
    }
    free(f->items);
    for (size_t i = 0; i < f->test_count; i++) {
        statetest_test *t = f->tests[i];
        st_state_free(&t->pre);
        free(t->blob_hashes);
        free(t->auths);
        free(t);
    }
    free(f->tests);
    json_decref((json_t *)f->json);
    free(f->path);
    memset(f, 0, sizeof *f);
}

host_state *statetest_vector_host(const statetest_item *v, evmjit_runtime *runtime) {
    host_state *h = host_create(v->rev, runtime);
    /* revmc's transactions carry gas limits far above EIP-7825's cap (they were run
       without it); state tests keep the fork's rules */
    h->no_tx_gas_cap = v->tx_list;
    st_state_load(&v->owner->pre, h);
    return h;
}

static size_t st_hex_string(char *s, size_t n, const uint8_t *p, size_t len) {
    size_t w = (size_t)snprintf(s, n, "0x");
    for (size_t i = 0; i < len && w < n; i++) w += (size_t)snprintf(s + w, n - w, "%02x", p[i]);
    return w;
}

statetest_verdict statetest_check(const statetest_item *v, host_state *h,
                                  const host_tx_result *r, char *why, size_t why_size) {
    if (h->unsupported_precompile) {
        snprintf(why, why_size, "calls the %s precompile (0x%02x), not implemented",
                 precompile_name(h->unsupported_precompile), h->unsupported_precompile);
        return STATETEST_SKIP;
    }
    if (v->tx_list) {
        if (!r->valid) {
            snprintf(why, why_size, "transaction rejected: %s", r->error);
            return STATETEST_FAIL;
        }
        if (r->status != EVMJIT_SUCCESS) {
            snprintf(why, why_size, "the transaction ended in %s (status %d, gas used %" PRId64 ")",
                     evmjit_status_name(r->status), (int)r->status, r->gas_used);
            return STATETEST_FAIL;
        }
        snprintf(why, why_size, "status %d", (int)r->status);
        return STATETEST_PASS;
    }
    if (v->expect_exception && r->valid) {
        snprintf(why, why_size, "expected the transaction to be rejected (%s)",
                 v->expect_exception);
        return STATETEST_FAIL;
    }
    if (!v->expect_exception && !r->valid) {
        snprintf(why, why_size, "transaction rejected: %s", r->error);
        return STATETEST_FAIL;
    }
    evmjit_bytes32 root = host_state_root(h), logs = host_logs_hash(h);
    bool root_bad = memcmp(root.bytes, v->want_root.bytes, 32) != 0;
    if (root_bad || memcmp(logs.bytes, v->want_logs.bytes, 32)) {
        const evmjit_bytes32 *w = root_bad ? &v->want_root : &v->want_logs;
        const evmjit_bytes32 *g = root_bad ? &root : &logs;
        char want[80], got[80];
        st_hex_string(want, sizeof want, w->bytes, 32);
        st_hex_string(got, sizeof got, g->bytes, 32);
        snprintf(why, why_size, "%s: expected %s, got %s (status %d, gas used %" PRId64 ")",
                 root_bad ? "state root" : "logs hash", want, got, (int)r->status, r->gas_used);
        return STATETEST_WRONG_POST;
    }
    snprintf(why, why_size, "status %d", (int)r->status);
    return STATETEST_PASS;
}

/* ---- directories ----------------------------------------------------------------------- */

static int st_cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void statetest_walk(const char *path, void *user, void (*file)(void *user, const char *path),
                    void (*fail)(void *user, const char *path, const char *message)) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fail(user, path, "no such file or directory");
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        file(user, path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        fail(user, path, "cannot open the directory");
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = trie_xrealloc(names, cap * sizeof *names);
        }
        size_t len = strlen(path) + 1 + strlen(de->d_name) + 1;
        names[n] = trie_xmalloc(len);
        snprintf(names[n], len, "%s/%s", path, de->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, st_cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat eb;
        if (stat(names[i], &eb) == 0) {
            size_t len = strlen(names[i]);
            if (S_ISDIR(eb.st_mode)) statetest_walk(names[i], user, file, fail);
            else if (len > 5 && !strcmp(names[i] + len - 5, ".json")) file(user, names[i]);
        }
        free(names[i]);
    }
    free(names);
}

void statetest_walk_or_bench(char *const *paths, int count, void *user,
                             void (*file)(void *user, const char *path),
                             void (*fail)(void *user, const char *path, const char *message)) {
    for (int i = 0; i < count; i++) statetest_walk(paths[i], user, file, fail);
    if (count) return;
    const char *fix = getenv("EVMJIT_FIXTURES");
    if (!fix || !*fix) fix = "../shared/fixtures";
    static const char *const defaults[] = {"bench/evm-benchmarks", "bench/revmc"};
    for (size_t k = 0; k < 2; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", fix, defaults[k]);
        statetest_walk(path, user, file, fail);
    }
}

/* ---- execution modes ------------------------------------------------------------------- */

/* evmjit_llvm_backend is a weak reference: programs that link this file without
   evmjit_llvm.c (the tests) see NULL. */
#if defined(__GNUC__) || defined(__clang__)
const evmjit_backend *evmjit_llvm_backend(void) __attribute__((weak));
const evmjit_backend *statetest_llvm_backend(void) {
    return evmjit_llvm_backend ? evmjit_llvm_backend() : NULL;
}
#else
const evmjit_backend *statetest_llvm_backend(void) { return NULL; }
#endif

void statetest_log(evmjit_log_level level, const char *message, void *user) {
    (void)user;
    if (level <= EVMJIT_LOG_WARN) fprintf(stderr, "evmjit: %s\n", message);
}

statetest_mode_status statetest_make_runtime(const char *mode, statetest_runtime *out, char *why,
                                             size_t why_size) {
    return statetest_make_observed_runtime(mode, NULL, NULL, 0, out, why, why_size);
}

statetest_mode_status statetest_make_observed_runtime(
    const char *mode, void (*on_compilation)(const evmjit_compilation_info *info, void *user),
    void *user, uint64_t upgrade_threshold, statetest_runtime *out, char *why, size_t why_size) {
    memset(out, 0, sizeof *out);
    snprintf(why, why_size, "%s", "");
    if (!strcmp(mode, "interp")) return STATETEST_MODE_READY;
    bool aot = !strcmp(mode, "aot");
    if (!aot && strcmp(mode, "jit")) {
        snprintf(why, why_size, "unknown mode '%s' (interp, jit, aot)", mode);
        return STATETEST_MODE_UNKNOWN;
    }
    const evmjit_backend *backend = statetest_llvm_backend();
    if (!backend) {
        snprintf(why, why_size, "unavailable: this build has no LLVM backend (make llvm-status)");
        return STATETEST_MODE_UNAVAILABLE;
    }
    /* every frame compiled before it runs: blocking lookups, no size limit, no eviction */
    evmjit_runtime_desc d;
    memset(&d, 0, sizeof d);
    d.backend = backend;
    d.enabled = true;
    d.blocking = true;
    d.mode = aot ? EVMJIT_MODE_AOT : EVMJIT_MODE_JIT;
    d.max_code_size = EVMJIT_OFF;
    d.idle_eviction_ms = EVMJIT_OFF;
    d.jit_budget_bytes = EVMJIT_OFF;
    d.logger.log = statetest_log;
    d.on_compilation = on_compilation;
    d.on_compilation_user = user;
    d.upgrade_threshold = upgrade_threshold;
    evmjit_error e;
    if (aot) {
        const char *tmp = getenv("TMPDIR");
        snprintf(out->store_dir, sizeof out->store_dir, "%s/evmjit-aot-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(out->store_dir)) {
            snprintf(why, why_size, "unavailable: cannot make a temporary store directory");
            out->store_dir[0] = 0;
            return STATETEST_MODE_UNAVAILABLE;
        }
        evmjit_store_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.path = out->store_dir;
        sd.backend = backend;
        sd.logger.log = statetest_log;
        if ((e = evmjit_store_open(&sd, &out->store)) != EVMJIT_OK) {
            snprintf(why, why_size, "unavailable: cannot open a store in %s (%s)", out->store_dir,
                     evmjit_error_name(e));
            statetest_destroy_runtime(out);
            return STATETEST_MODE_UNAVAILABLE;
        }
        d.store = evmjit_store_table(out->store);
    }
    if ((e = evmjit_runtime_create(&d, &out->rt)) != EVMJIT_OK) {
        snprintf(why, why_size, "unavailable: %s", evmjit_error_name(e));
        statetest_destroy_runtime(out);
        return STATETEST_MODE_UNAVAILABLE;
    }
    return STATETEST_MODE_READY;
}

void statetest_destroy_runtime(statetest_runtime *r) {
    if (r->rt) evmjit_runtime_destroy(r->rt);
    evmjit_store_close(r->store); /* after the runtime: it unloads the artifacts */
    if (r->store_dir[0]) {
        /* the temporary store: its files, then the directory */
        DIR *dir = opendir(r->store_dir);
        if (dir) {
            struct dirent *de;
            char path[4096 + 256];
            while ((de = readdir(dir)) != NULL) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
                snprintf(path, sizeof path, "%s/%s", r->store_dir, de->d_name);
                unlink(path);
            }
            closedir(dir);
        }
        rmdir(r->store_dir);
    }
    memset(r, 0, sizeof *r);
}

/* ---- the state-test runner ------------------------------------------------------------- */

typedef struct st_run {
    const statetest_options *o;
    statetest_counts *c;
    FILE *out;
    st_skips skips;
} st_run;

static void st_report(st_run *run, const statetest_item *v, const char *kind, const char *fmt,
                      ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(run->out, "%s %s: %s [%s d=%lld g=%lld v=%lld]: ", kind, v->file, v->test, v->fork,
            v->data_index, v->gas_index, v->value_index);
    vfprintf(run->out, fmt, ap);
    fputc('\n', run->out);
    va_end(ap);
}

static void st_run_item(st_run *run, const statetest_item *v) {
    if (v->kind == STATETEST_BAD_INPUT) {
        if (v->test) fprintf(run->out, "FAIL %s: %s: %s\n", v->file, v->test, v->error);
        else fprintf(run->out, "FAIL %s: %s\n", v->file, v->error);
        run->c->failed += v->failures;
        return;
    }
    const char *reason = st_skip_reason(&run->skips, v->file, v->test);
    if (reason) {
        st_report(run, v, "SKIP", "%s (skip list)", reason);
        run->c->skipped++;
        return;
    }
    if (v->kind == STATETEST_BAD_VECTOR) {
        st_report(run, v, "FAIL", "%s", v->error);
        run->c->failed++;
        return;
    }
    host_state *h = statetest_vector_host(v, run->o->runtime);
    h->vm = run->o->vm;
    host_tx_result r;
    host_transact(h, &v->block, &v->tx, &r);
    char why[512];
    switch (statetest_check(v, h, &r, why, sizeof why)) {
    case STATETEST_PASS:
        if (run->o->verbose) st_report(run, v, "ok", "%s", why);
        run->c->passed++;
        break;
    case STATETEST_SKIP:
        st_report(run, v, "SKIP", "%s", why);
        run->c->skipped++;
        break;
    case STATETEST_WRONG_POST:
        st_report(run, v, "FAIL", "%s", why);
        if (run->o->verbose) st_dump_state(h, run->out);
        run->c->failed++;
        break;
    case STATETEST_FAIL:
        st_report(run, v, "FAIL", "%s", why);
        run->c->failed++;
        break;
    }
    free(r.output);
    host_destroy(h);
}

unsigned statetest_shard_of(const char *path, unsigned shards) {
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *name; name++) h = (h ^ (uint8_t)*name) * 16777619u;
    return shards ? h % shards : 0;
}

static bool st_in_shard(const statetest_options *o, const char *path) {
    return o->shards <= 1 || statetest_shard_of(path, o->shards) == o->shard;
}

static void st_run_file(void *user, const char *path) {
    st_run *run = user;
    if (!st_in_shard(run->o, path)) return;
    statetest_file f;
    statetest_file_load(run->o, false, path, &f);
    for (size_t i = 0; i < f.count; i++) st_run_item(run, &f.items[i]);
    statetest_file_free(&f);
}

static void st_walk_fail(void *user, const char *path, const char *message) {
    st_run *run = user;
    fprintf(run->out, "FAIL %s: %s\n", path, message);
    run->c->failed++;
}

void statetest_run_path(const statetest_options *o, const char *path, statetest_counts *c,
                        FILE *out) {
    st_run run = {o, c, out, {0}};
    if (!st_load_skips(o->skip_list, &run.skips, out)) {
        c->failed++;
        return;
    }
    statetest_walk(path, &run, st_run_file, st_walk_fail);
    st_free_skips(&run.skips);
}

void statetest_print_counts(const statetest_counts *c, FILE *out) {
    if (c->skipped)
        fprintf(out, "%ld passed, %ld failed, %ld skipped\n", c->passed, c->failed, c->skipped);
    else
        fprintf(out, "%ld passed, %ld failed\n", c->passed, c->failed);
}

/* ---- VM tests -------------------------------------------------------------------------- */

/* Compare the host's state with `post`: the same existing accounts, each with the same
   balance, nonce, code and non-zero storage. Writes the first difference to `why`. */
static bool vm_compare_state(host_state *h, const st_state *post, char *why, size_t why_size) {
    size_t existing = 0;
    for (size_t i = 0; i < h->table_cap; i++) existing += h->table[i] && h->table[i]->exists;
    for (size_t i = 0; i < post->count; i++) {
        const st_account *a = &post->accounts[i];
        host_account *ha = host_find(h, &a->address);
        evmjit_bytes32 bal = ha ? evmjit_word_to_bytes32(ha->balance) : a->balance;
        if (!ha || !ha->exists) {
            snprintf(why, why_size, "account %02x%02x..%02x missing", a->address.bytes[0],
                     a->address.bytes[1], a->address.bytes[19]);
            return false;
        }
        if (memcmp(bal.bytes, a->balance.bytes, 32) || ha->nonce != a->nonce ||
            ha->code_size != a->code_size ||
            (a->code_size && memcmp(ha->code, a->code, a->code_size))) {
            snprintf(why, why_size, "account %02x%02x..%02x: balance, nonce or code differ",
                     a->address.bytes[0], a->address.bytes[1], a->address.bytes[19]);
            return false;
        }
        size_t nonzero = 0;
        for (size_t k = 0; k < a->slot_count; k++) {
            bool zero = true;
            for (int b = 0; b < 32; b++) zero &= a->values[k].bytes[b] == 0;
            if (zero) continue;
            nonzero++;
            host_slot *s = host_find_slot(&ha->storage, &a->keys[k]);
            if (!s || memcmp(s->value.bytes, a->values[k].bytes, 32)) {
                snprintf(why, why_size, "account %02x%02x..%02x: storage differs",
                         a->address.bytes[0], a->address.bytes[1], a->address.bytes[19]);
                return false;
            }
        }
        size_t ours = 0;
        for (size_t k = 0; k < ha->storage.cap; k++) {
            host_slot *s = &ha->storage.slots[k];
            bool zero = true;
            for (int b = 0; b < 32; b++) zero &= s->value.bytes[b] == 0;
            ours += s->used && !zero;
        }
        if (ours != nonzero) {
            snprintf(why, why_size, "account %02x%02x..%02x: %zu storage slots, expected %zu",
                     a->address.bytes[0], a->address.bytes[1], a->address.bytes[19], ours,
                     nonzero);
            return false;
        }
    }
    if (existing != post->count) {
        snprintf(why, why_size, "%zu accounts, expected %zu", existing, post->count);
        return false;
    }
    return true;
}

static void vm_run_test(st_run *run, const char *file, const char *name, const json_t *tj) {
    st_error e = {{0}, false};
    st_state pre = {0}, post = {0};
    uint8_t *code = NULL, *data = NULL, *want_out = NULL;
    size_t code_size = 0, data_size = 0, want_out_size = 0;
    const char *reason = st_skip_reason(&run->skips, file, name);
    if (reason) {
        fprintf(run->out, "SKIP %s: %s: %s (skip list)\n", file, name, reason);
        run->c->skipped++;
        return;
    }
    const json_t *ex = json_object_get(tj, "exec");
    const json_t *pj = json_object_get(tj, "post");
    host_block blk;
    evmjit_message msg;
    memset(&msg, 0, sizeof msg);
    evmjit_bytes32 gas_price, want_logs;
    int64_t want_gas = 0;
    if (!st_state_parse(json_object_get(tj, "pre"), "pre", &pre, &e) ||
        (pj && !st_state_parse(pj, "post", &post, &e)) ||
        !st_parse_env(json_object_get(tj, "env"), &blk, &e) || !json_is_object(ex) ||
        !hex_address(json_object_get(ex, "address"), "exec.address", &msg.recipient, &e) ||
        !hex_address(json_object_get(ex, "caller"), "exec.caller", &msg.sender, &e) ||
        !hex_bytes(json_object_get(ex, "code"), "exec.code", &code, &code_size, &e) ||
        !hex_bytes(json_object_get(ex, "data"), "exec.data", &data, &data_size, &e) ||
        !hex_i64(json_object_get(ex, "gas"), "exec.gas", &msg.gas, &e) ||
        !hex_b32(json_object_get(ex, "gasPrice"), "exec.gasPrice", &gas_price, &e) ||
        !hex_b32(json_object_get(ex, "value"), "exec.value", &msg.value, &e) ||
        (pj && (!hex_i64(json_object_get(tj, "gas"), "gas", &want_gas, &e) ||
                !hex_bytes(json_object_get(tj, "out"), "out", &want_out, &want_out_size, &e) ||
                !hex_b32(json_object_get(tj, "logs"), "logs", &want_logs, &e)))) {
        fprintf(run->out, "FAIL %s: %s: bad test input: %s\n", file, name,
                e.set ? e.msg : "exec is not an object");
        run->c->failed++;
        goto done;
    }
    evmjit_address origin;
    if (!hex_address(json_object_get(ex, "origin"), "exec.origin", &origin, &e)) {
        fprintf(run->out, "FAIL %s: %s: bad test input: %s\n", file, name, e.msg);
        run->c->failed++;
        goto done;
    }

    evmjit_revision rev = run->o->vm_rev;
    host_state *h = host_create(rev, run->o->runtime);
    h->vm = run->o->vm;
    h->vm_test = true;
    st_state_load(&pre, h);
    h->tx.tx_gas_price = gas_price;
    h->tx.tx_origin = origin;
    h->tx.block_coinbase = blk.coinbase;
    h->tx.block_number = blk.number;
    h->tx.block_timestamp = blk.timestamp;
    h->tx.block_gas_limit = blk.gas_limit;
    h->tx.block_prev_randao = blk.difficulty;
    h->tx.chain_id = blk.chain_id;
    msg.kind = EVMJIT_CALL;
    msg.code_address = msg.recipient;
    msg.input_data = data;
    msg.input_size = data_size;
    evmjit_result r = host_execute_code(h, &msg, code, code_size);
    host_finalize_tx(h);
    char why[256] = "";
    bool ok;
    if (!pj) {
        ok = r.status_code != EVMJIT_SUCCESS;
        if (!ok) snprintf(why, sizeof why, "expected the execution to fail, it succeeded");
    } else if (r.status_code != EVMJIT_SUCCESS) {
        ok = false;
        snprintf(why, sizeof why, "execution failed with status %d", (int)r.status_code);
    } else if (r.gas_left != want_gas) {
        ok = false;
        snprintf(why, sizeof why, "gas left %" PRId64 ", expected %" PRId64, r.gas_left, want_gas);
    } else if (r.output_size != want_out_size ||
               (want_out_size && memcmp(r.output_data, want_out, want_out_size))) {
        ok = false;
        snprintf(why, sizeof why, "output differs (%zu bytes, expected %zu)", r.output_size,
                 want_out_size);
    } else {
        evmjit_bytes32 logs = host_logs_hash(h);
        size_t want_cc = json_array_size(json_object_get(tj, "callcreates"));
        if (memcmp(logs.bytes, want_logs.bytes, 32)) {
            ok = false;
            snprintf(why, sizeof why, "logs hash differs");
        } else if (h->callcreates != want_cc) {
            ok = false;
            snprintf(why, sizeof why, "%zu calls/creates, expected %zu", h->callcreates, want_cc);
        } else {
            ok = vm_compare_state(h, &post, why, sizeof why);
        }
    }
    if (ok) {
        run->c->passed++;
        if (run->o->verbose) fprintf(run->out, "ok %s: %s\n", file, name);
    } else {
        run->c->failed++;
        fprintf(run->out, "FAIL %s: %s [%s]: %s\n", file, name, host_revision_name(rev), why);
        if (run->o->verbose) st_dump_state(h, run->out);
    }
    if (r.release) r.release(&r);
    host_destroy(h);
done:
    st_state_free(&pre);
    st_state_free(&post);
    free(code);
    free(data);
    free(want_out);
}

static void vm_run_file(void *user, const char *path) {
    st_run *run = user;
    if (!st_in_shard(run->o, path)) return;
    json_error_t err;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!root) {
        fprintf(run->out, "FAIL %s: malformed JSON at line %d: %s\n", path, err.line, err.text);
        run->c->failed++;
        return;
    }
    const char *name;
    json_t *t;
    if (!json_is_object(root)) {
        fprintf(run->out, "FAIL %s: the top level is not an object of tests\n", path);
        run->c->failed++;
    } else {
        json_object_foreach(root, name, t) {
            if (run->o->filter && !strstr(path, run->o->filter) && !strstr(name, run->o->filter))
                continue;
            vm_run_test(run, path, name, t);
        }
    }
    json_decref(root);
}

void statetest_run_vm_path(const statetest_options *o, const char *path, statetest_counts *c,
                           FILE *out) {
    st_run run = {o, c, out, {0}};
    if (!st_load_skips(o->skip_list, &run.skips, out)) {
        c->failed++;
        return;
    }
    statetest_walk(path, &run, vm_run_file, st_walk_fail);
    st_free_skips(&run.skips);
}
