/* The test host (examples/host.c, examples/precompiles.c): precompiles against known
   vectors, the storage-status table, journal reverts, warm sets, transient storage, and
   transactions that run no code (value transfers, rejections, fees). */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "examples/host.h"
#include "examples/precompiles.h"
#include "examples/trie.h"

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode hex (optional 0x) into a static-sized buffer; returns the length. */
static size_t unhex(const char *s, uint8_t *out, size_t cap) {
    if (s[0] == '0' && s[1] == 'x') s += 2;
    size_t n = strlen(s) / 2;
    if (n > cap) n = cap;
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
    return n;
}

static bool eq_hex(const uint8_t *p, size_t n, const char *hex) {
    uint8_t buf[512];
    size_t m = unhex(hex, buf, sizeof buf);
    return m == n && (n == 0 || memcmp(p, buf, n) == 0);
}

static evmjit_address addr_of(uint8_t last) {
    evmjit_address a;
    memset(&a, 0, sizeof a);
    a.bytes[19] = last;
    return a;
}

static evmjit_bytes32 b32_of(uint64_t v) {
    evmjit_bytes32 b;
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 8; i++) b.bytes[31 - i] = (uint8_t)(v >> (8 * i));
    return b;
}

static uint64_t b32_low(const evmjit_bytes32 *b) {
    uint64_t v = 0;
    for (int i = 24; i < 32; i++) v = v << 8 | b->bytes[i];
    return v;
}

/* ---- precompiles ----------------------------------------------------------------------- */

static void run(unsigned id, evmjit_revision rev, const uint8_t *in, size_t n, int64_t gas,
                evmjit_status_code *st, int64_t *left, uint8_t **out, size_t *out_size) {
    *st = precompile_run(id, rev, in, n, gas, left, out, out_size);
}

static void test_hashes(void) {
    evmjit_status_code st;
    int64_t left;
    uint8_t *out;
    size_t n;
    run(2, EVMJIT_CANCUN, (const uint8_t *)"abc", 3, 1000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 1000 - 72);
    CHECK(eq_hex(out, n, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    free(out);
    run(3, EVMJIT_CANCUN, (const uint8_t *)"abc", 3, 1000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 1000 - 720);
    CHECK(eq_hex(out, n, "0000000000000000000000008eb208f7e05d987a9b044a8e98c6b087f15a0bfc"));
    free(out);
    run(3, EVMJIT_CANCUN, (const uint8_t *)"abc", 3, 719, &st, &left, &out, &n);
    CHECK(st == EVMJIT_OUT_OF_GAS && left == 0 && n == 0);
    run(4, EVMJIT_FRONTIER, (const uint8_t *)"hello", 5, 18, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 0 && n == 5 && !memcmp(out, "hello", 5));
    free(out);
    run(4, EVMJIT_FRONTIER, NULL, 0, 15, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 0 && n == 0);
}

static void test_blake2f(void) {
    /* EIP-152 test vectors 4 and 5: BLAKE2b("abc") compressed with 0 and 12 rounds */
    static const char *h0 =
        "48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d182e6ad7f520e511f6c3e2b8c"
        "68059b6bbd41fbabd9831f79217e1319cde05b";
    uint8_t in[213];
    memset(in, 0, sizeof in);
    in[3] = 12;                             /* rounds, big-endian */
    CHECK(unhex(h0, in + 4, 64) == 64);      /* h */
    memcpy(in + 68, "abc", 3);              /* m */
    in[196] = 3;                            /* t[0] = 3 bytes */
    in[212] = 1;                            /* final block */
    evmjit_status_code st;
    int64_t left;
    uint8_t *out;
    size_t n;
    run(9, EVMJIT_ISTANBUL, in, sizeof in, 100, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 88 && n == 64);
    /* 12 rounds is full BLAKE2b: cross-check with OpenSSL */
    uint8_t ref[64];
    unsigned ref_len = 0;
    CHECK(EVP_Digest("abc", 3, ref, &ref_len, EVP_blake2b512(), NULL) && ref_len == 64);
    CHECK(n == 64 && !memcmp(out, ref, 64));
    CHECK(eq_hex(out, n,
                 "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792d"
                 "c252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"));
    free(out);
    in[3] = 0;
    run(9, EVMJIT_ISTANBUL, in, sizeof in, 0, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 0);
    CHECK(eq_hex(out, n,
                 "08c9bcf367e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d282e6ad7f520e51"
                 "1f6c3e2b8c68059b9442be0454267ce079217e1319cde05b"));
    free(out);
    /* bad length, bad final flag */
    run(9, EVMJIT_ISTANBUL, in, 212, 100, &st, &left, &out, &n);
    CHECK(st == EVMJIT_PRECOMPILE_FAILURE && n == 0);
    in[212] = 2;
    run(9, EVMJIT_ISTANBUL, in, sizeof in, 100, &st, &left, &out, &n);
    CHECK(st == EVMJIT_PRECOMPILE_FAILURE && n == 0);
}

static void test_modexp(void) {
    /* EIP-198 example: 3^(p-1) mod p = 1 for the secp256k1 field prime p */
    uint8_t in[96 + 1 + 32 + 32];
    memset(in, 0, sizeof in);
    in[31] = 1;
    in[63] = 32;
    in[95] = 32;
    in[96] = 3;
    unhex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e", in + 97, 32);
    unhex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", in + 129, 32);
    evmjit_status_code st;
    int64_t left;
    uint8_t *out;
    size_t n;
    run(5, EVMJIT_BYZANTIUM, in, sizeof in, 20000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 20000 - 13056); /* 32^2 * 255 / 20 */
    CHECK(n == 32 && out[31] == 1 && out[0] == 0);
    free(out);
    run(5, EVMJIT_BERLIN, in, sizeof in, 20000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 20000 - 1360); /* 4^2 * 255 / 3 */
    free(out);
    run(5, EVMJIT_BYZANTIUM, in, sizeof in, 13055, &st, &left, &out, &n);
    CHECK(st == EVMJIT_OUT_OF_GAS && n == 0);
    /* 2^10 mod 1000 = 24, the input truncated (zero-padded) at the end */
    uint8_t small[96 + 3];
    memset(small, 0, sizeof small);
    small[31] = 1, small[63] = 1, small[95] = 2;
    small[96] = 2, small[97] = 10, small[98] = 0x03; /* mod = 0x03e8 but 0xe8 is cut off */
    run(5, EVMJIT_BERLIN, small, sizeof small, 1000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 800 && n == 2);
    CHECK(n == 2 && (out[0] << 8 | out[1]) == 1024 % 0x0300);
    free(out);
    /* zero modulus length: empty output, minimum gas */
    memset(small, 0, sizeof small);
    run(5, EVMJIT_BERLIN, small, 96, 1000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 800 && n == 0);
    run(5, EVMJIT_BYZANTIUM, small, 96, 1000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 1000 && n == 0);
}

static void test_ecrecover(void) {
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN);
    uint8_t key[32], hash[32];
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(i + 1), hash[i] = (uint8_t)(0xa0 + i);
    secp256k1_pubkey pub;
    CHECK(secp256k1_ec_pubkey_create(ctx, &pub, key));
    uint8_t ser[65];
    size_t len = sizeof ser;
    secp256k1_ec_pubkey_serialize(ctx, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
    evmjit_bytes32 ph = evmjit_keccak256(ser + 1, 64);
    secp256k1_ecdsa_recoverable_signature sig;
    CHECK(secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash, key, NULL, NULL));
    uint8_t compact[64];
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact, &recid, &sig);
    secp256k1_context_destroy(ctx);

    uint8_t in[128];
    memset(in, 0, sizeof in);
    memcpy(in, hash, 32);
    in[63] = (uint8_t)(27 + recid);
    memcpy(in + 64, compact, 64);
    evmjit_status_code st;
    int64_t left;
    uint8_t *out;
    size_t n;
    run(1, EVMJIT_FRONTIER, in, sizeof in, 3000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 0 && n == 32);
    CHECK(n == 32 && !memcmp(out + 12, ph.bytes + 12, 20) && out[0] == 0 && out[11] == 0);
    free(out);
    /* bad v: success with empty output */
    in[63] = 29;
    run(1, EVMJIT_FRONTIER, in, sizeof in, 5000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS && left == 2000 && n == 0);
    run(1, EVMJIT_FRONTIER, in, sizeof in, 2999, &st, &left, &out, &n);
    CHECK(st == EVMJIT_OUT_OF_GAS);

    /* a published vector (go-ethereum's ecrecover test input) */
    uint8_t v2[128];
    CHECK(unhex("38d18acb67d25c8bb9942764b62f18e17054f66a817bd4295423adf9ed98873e00000000000000000"
                "0000000000000000000000000000000000000000000001b38d18acb67d25c8bb9942764b62f18e17"
                "054f66a817bd4295423adf9ed98873e789d1dd423d25f0772d2748d60f7e4b81bb14d086eba8e8e8"
                "efb6dcff8a4ae02",
                v2, sizeof v2) == 128);
    run(1, EVMJIT_CANCUN, v2, sizeof v2, 3000, &st, &left, &out, &n);
    CHECK(st == EVMJIT_SUCCESS &&
          eq_hex(out, n, "000000000000000000000000ceaccac640adf55b2028469bd36ba501f28b699d"));
    free(out);
}

static void test_availability(void) {
    evmjit_address a = addr_of(5);
    CHECK(precompile_id(EVMJIT_HOMESTEAD, &a) == 0);
    CHECK(precompile_id(EVMJIT_BYZANTIUM, &a) == 5);
    a = addr_of(9);
    CHECK(precompile_id(EVMJIT_PETERSBURG, &a) == 0 && precompile_id(EVMJIT_ISTANBUL, &a) == 9);
    a = addr_of(0x0a);
    CHECK(precompile_id(EVMJIT_SHANGHAI, &a) == 0 && precompile_id(EVMJIT_CANCUN, &a) == 0x0a);
    CHECK(!precompile_supported(0x0a) && !precompile_supported(6) && precompile_supported(5));
    a = addr_of(0x11);
    CHECK(precompile_id(EVMJIT_CANCUN, &a) == 0 && precompile_id(EVMJIT_PRAGUE, &a) == 0x11);
}

/* ---- host functions -------------------------------------------------------------------- */

static void test_storage_status(void) {
    host_state *h = host_create(EVMJIT_CANCUN, NULL);
    const evmjit_host_interface *f = host_interface();
    evmjit_host_context *c = host_context(h);
    evmjit_address me = addr_of(0xaa);
    evmjit_bytes32 zero = b32_of(0), one = b32_of(1), two = b32_of(2), k0 = b32_of(0),
                   k1 = b32_of(1);
    host_account *a = host_put_account(h, &me, &zero, 1, NULL, 0);
    host_put_storage(h, a, &k1, &one); /* original of k1 is 1, of k0 is 0 */

    CHECK(f->set_storage(c, &me, &k0, &zero) == EVMJIT_STORAGE_ASSIGNED);      /* 0->0->0 */
    CHECK(f->set_storage(c, &me, &k0, &one) == EVMJIT_STORAGE_ADDED);          /* 0->0->1 */
    CHECK(f->set_storage(c, &me, &k0, &two) == EVMJIT_STORAGE_ASSIGNED);       /* 0->1->2 */
    CHECK(f->set_storage(c, &me, &k0, &zero) == EVMJIT_STORAGE_ADDED_DELETED); /* 0->2->0 */
    CHECK(f->set_storage(c, &me, &k1, &one) == EVMJIT_STORAGE_ASSIGNED);       /* 1->1->1 */
    CHECK(f->set_storage(c, &me, &k1, &two) == EVMJIT_STORAGE_MODIFIED);       /* 1->1->2 */
    CHECK(f->set_storage(c, &me, &k1, &zero) == EVMJIT_STORAGE_MODIFIED_DELETED);
    CHECK(f->set_storage(c, &me, &k1, &two) == EVMJIT_STORAGE_DELETED_ADDED);  /* 1->0->2 */
    CHECK(f->set_storage(c, &me, &k1, &one) == EVMJIT_STORAGE_MODIFIED_RESTORED);
    CHECK(f->set_storage(c, &me, &k1, &zero) == EVMJIT_STORAGE_DELETED);       /* 1->1->0 */
    CHECK(f->set_storage(c, &me, &k1, &one) == EVMJIT_STORAGE_DELETED_RESTORED);
    evmjit_bytes32 v = f->get_storage(c, &me, &k1);
    CHECK(b32_low(&v) == 1);

    /* warm sets */
    evmjit_address other = addr_of(0xbb);
    CHECK(f->access_account(c, &other) == EVMJIT_ACCESS_COLD);
    CHECK(f->access_account(c, &other) == EVMJIT_ACCESS_WARM);
    CHECK(f->access_storage(c, &me, &k1) == EVMJIT_ACCESS_COLD);
    CHECK(f->access_storage(c, &me, &k1) == EVMJIT_ACCESS_WARM);

    /* transient storage */
    f->set_transient_storage(c, &me, &k0, &two);
    v = f->get_transient_storage(c, &me, &k0);
    CHECK(b32_low(&v) == 2);
    v = f->get_transient_storage(c, &other, &k0);
    CHECK(b32_low(&v) == 0);

    /* end of tx: transient storage and warm flags cleared, originals committed */
    host_finalize_tx(h);
    v = f->get_transient_storage(c, &me, &k0);
    CHECK(b32_low(&v) == 0);
    CHECK(f->access_account(c, &other) == EVMJIT_ACCESS_COLD);
    CHECK(f->set_storage(c, &me, &k1, &two) == EVMJIT_STORAGE_MODIFIED);
    host_destroy(h);
}

static void test_accounts(void) {
    host_state *h = host_create(EVMJIT_CANCUN, NULL);
    const evmjit_host_interface *f = host_interface();
    evmjit_host_context *c = host_context(h);
    evmjit_address x = addr_of(0x10), y = addr_of(0x11), none = addr_of(0x12);
    evmjit_bytes32 hundred = b32_of(100), zero = b32_of(0);
    static const uint8_t code[] = {0x60, 0x00, 0x00};
    host_put_account(h, &x, &hundred, 0, code, sizeof code);
    host_put_account(h, &y, &zero, 0, NULL, 0); /* empty */
    CHECK(f->account_exists(c, &x));
    CHECK(!f->account_exists(c, &y)); /* empty counts as absent from Spurious Dragon */
    CHECK(!f->account_exists(c, &none));
    CHECK(f->get_code_size(c, &x) == 3);
    uint8_t buf[8] = {0};
    CHECK(f->copy_code(c, &x, 1, buf, sizeof buf) == 2 && buf[0] == 0 && buf[1] == 0);
    evmjit_bytes32 hsh = f->get_code_hash(c, &x), want = evmjit_keccak256(code, sizeof code);
    CHECK(!memcmp(hsh.bytes, want.bytes, 32));
    hsh = f->get_code_hash(c, &y);
    CHECK(b32_low(&hsh) == 0);
    evmjit_bytes32 bal = f->get_balance(c, &x);
    CHECK(b32_low(&bal) == 100);

    /* a log, then the block hash convention */
    evmjit_bytes32 topic = b32_of(7);
    f->emit_log(c, &x, (const uint8_t *)"hi", 2, &topic, 1);
    CHECK(h->log_count == 1);
    h->tx.block_number = 10;
    evmjit_bytes32 bh = f->get_block_hash(c, 9), w9 = evmjit_keccak256((const uint8_t *)"9", 1);
    CHECK(!memcmp(bh.bytes, w9.bytes, 32));
    bh = f->get_block_hash(c, 10);
    CHECK(b32_low(&bh) == 0);

    /* SELFDESTRUCT under Cancun of an old account: balance moves, account stays */
    CHECK(!f->selfdestruct(c, &x, &none));
    bal = f->get_balance(c, &none);
    CHECK(b32_low(&bal) == 100);
    host_finalize_tx(h);
    CHECK(f->account_exists(c, &x) && f->get_code_size(c, &x) == 3);
    CHECK(f->account_exists(c, &none));
    CHECK(host_find(h, &y)->exists); /* never touched: an empty pre-state account stays */
    host_destroy(h);
}

/* ---- transactions ---------------------------------------------------------------------- */

static void test_transfer_tx(void) {
    host_state *h = host_create(EVMJIT_LONDON, NULL);
    evmjit_address sender = addr_of(0x20), to = addr_of(0x21), coinbase = addr_of(0x22);
    evmjit_bytes32 million = b32_of(1000000000), zero = b32_of(0);
    host_put_account(h, &sender, &million, 0, NULL, 0);
    evmjit_bytes32 pre_root = host_state_root(h);

    host_block blk;
    memset(&blk, 0, sizeof blk);
    blk.coinbase = coinbase;
    blk.number = 1;
    blk.gas_limit = 10000000;
    blk.base_fee = b32_of(10);
    blk.chain_id = b32_of(1);
    host_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = HOST_TX_DYNAMIC_FEE;
    tx.sender = sender;
    tx.to = to;
    tx.gas_limit = b32_of(30000);
    tx.value = b32_of(1000);
    tx.nonce = b32_of(0);
    tx.max_fee_per_gas = b32_of(20);
    tx.max_priority_fee_per_gas = b32_of(2);
    host_tx_result r;

    /* wrong nonce: rejected, nothing changes */
    tx.nonce = b32_of(1);
    host_transact(h, &blk, &tx, &r);
    CHECK(!r.valid && r.error[0]);
    evmjit_bytes32 root = host_state_root(h);
    CHECK(!memcmp(root.bytes, pre_root.bytes, 32));
    tx.nonce = b32_of(0);
    /* fee cap below the base fee */
    tx.max_fee_per_gas = b32_of(5);
    host_transact(h, &blk, &tx, &r);
    CHECK(!r.valid);
    tx.max_fee_per_gas = b32_of(20);
    /* intrinsic gas above the limit */
    tx.gas_limit = b32_of(20999);
    host_transact(h, &blk, &tx, &r);
    CHECK(!r.valid);
    tx.gas_limit = b32_of(30000);

    host_transact(h, &blk, &tx, &r);
    CHECK(r.valid && r.status == EVMJIT_SUCCESS && r.gas_used == 21000);
    free(r.output);
    const evmjit_host_interface *f = host_interface();
    evmjit_host_context *c = host_context(h);
    evmjit_bytes32 b = f->get_balance(c, &sender);
    CHECK(b32_low(&b) == 1000000000 - 1000 - 21000 * 12);
    b = f->get_balance(c, &to);
    CHECK(b32_low(&b) == 1000);
    b = f->get_balance(c, &coinbase);
    CHECK(b32_low(&b) == 21000 * 2);
    CHECK(host_find(h, &sender)->nonce == 1);

    /* zero tip: the coinbase is touched and, being empty, does not appear */
    host_state *h2 = host_create(EVMJIT_LONDON, NULL);
    host_put_account(h2, &sender, &million, 0, NULL, 0);
    tx.max_priority_fee_per_gas = zero;
    tx.value = zero;
    host_transact(h2, &blk, &tx, &r);
    CHECK(r.valid && r.gas_used == 21000);
    CHECK(!host_find(h2, &coinbase)->exists);
    CHECK(!host_find(h2, &to)->exists); /* zero-value call to nothing creates nothing */
    host_destroy(h2);

    /* before Spurious Dragon the zero-fee coinbase and the called account come to exist */
    host_state *h3 = host_create(EVMJIT_HOMESTEAD, NULL);
    host_put_account(h3, &sender, &million, 0, NULL, 0);
    tx.type = HOST_TX_LEGACY;
    tx.gas_price = zero;
    host_transact(h3, &blk, &tx, &r);
    CHECK(r.valid && r.gas_used == 21000);
    CHECK(host_find(h3, &coinbase)->exists && host_find(h3, &to)->exists);
    host_destroy(h3);
    host_destroy(h);
}

static evmjit_address addr_hex(const char *hex) {
    evmjit_address a;
    unhex(hex, a.bytes, 20);
    return a;
}

/* host->call as the VM uses it for CREATE/CREATE2/CALL at depth 1. */
static void test_frames(void) {
    const evmjit_host_interface *f = host_interface();
    evmjit_bytes32 big = b32_of(1000000), zero = b32_of(0);
    evmjit_address s = addr_hex("6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0");
    evmjit_message m;

    /* CREATE addresses (nonce 0 and 1 of a well-known sender), code deposit */
    host_state *h = host_create(EVMJIT_LONDON, NULL);
    evmjit_host_context *c = host_context(h);
    host_put_account(h, &s, &big, 0, NULL, 0);
    static const uint8_t ret_one[] = {0x60, 0x2a, 0x60, 0, 0x53, 0x60, 1, 0x60, 0, 0xf3};
    memset(&m, 0, sizeof m);
    m.kind = EVMJIT_CREATE;
    m.depth = 1;
    m.gas = 100000;
    m.sender = s;
    m.input_data = ret_one;
    m.input_size = sizeof ret_one;
    evmjit_result r = f->call(c, &m);
    evmjit_address want0 = addr_hex("cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d");
    CHECK(r.status_code == EVMJIT_SUCCESS && !memcmp(r.create_address.bytes, want0.bytes, 20));
    int64_t used_one = m.gas - r.gas_left;
    if (r.release) r.release(&r);
    host_account *na = host_find(h, &want0);
    CHECK(na && na->exists && na->nonce == 1 && na->code_size == 1 && na->code[0] == 0x2a);
    CHECK(host_find(h, &s)->nonce == 1);
    /* the same initcode returning 0xEF: rejected from London (EIP-3541), all gas gone */
    static const uint8_t ret_ef[] = {0x60, 0xef, 0x60, 0, 0x53, 0x60, 1, 0x60, 0, 0xf3};
    m.input_data = ret_ef;
    r = f->call(c, &m);
    evmjit_address want1 = addr_hex("343c43a37d37dff08ae8c4a11544c718abb4fcf8");
    CHECK(r.status_code != EVMJIT_SUCCESS && r.gas_left == 0);
    if (r.release) r.release(&r);
    CHECK(!host_find(h, &want1)->exists);
    CHECK(host_find(h, &s)->nonce == 2); /* the nonce bump survives the failure */
    host_destroy(h);

    /* Berlin accepts 0xEF code; the deposit costs 200 per byte */
    h = host_create(EVMJIT_BERLIN, NULL);
    c = host_context(h);
    host_put_account(h, &s, &big, 0, NULL, 0);
    m.input_data = ret_ef;
    r = f->call(c, &m);
    CHECK(r.status_code == EVMJIT_SUCCESS && m.gas - r.gas_left == used_one);
    if (r.release) r.release(&r);
    CHECK(host_find(h, &want0)->code_size == 1);
    /* collision: an account with a nonce at the next address */
    host_put_account(h, &want1, &zero, 1, NULL, 0);
    m.input_data = ret_one;
    r = f->call(c, &m);
    CHECK(r.status_code != EVMJIT_SUCCESS && r.gas_left == 0);
    if (r.release) r.release(&r);
    CHECK(host_find(h, &s)->nonce == 2 && host_find(h, &want1)->code_size == 0);
    host_destroy(h);

    /* CREATE2 (EIP-1014 example 0: zero sender, zero salt, initcode 0x00) */
    h = host_create(EVMJIT_CANCUN, NULL);
    c = host_context(h);
    evmjit_address z = addr_of(0);
    host_put_account(h, &z, &big, 0, NULL, 0);
    static const uint8_t stop[] = {0x00};
    memset(&m, 0, sizeof m);
    m.kind = EVMJIT_CREATE2;
    m.depth = 1;
    m.gas = 100000;
    m.sender = z;
    m.input_data = stop;
    m.input_size = 1;
    r = f->call(c, &m);
    evmjit_address want2 = addr_hex("4d1a2e2bb4f88f0250f26ffff098b0b30b26bf38");
    CHECK(r.status_code == EVMJIT_SUCCESS && !memcmp(r.create_address.bytes, want2.bytes, 20) &&
          r.gas_left == m.gas);
    if (r.release) r.release(&r);

    /* a precompile call that runs out of gas undoes its value transfer */
    evmjit_address sha = addr_of(2), rip = addr_of(3);
    memset(&m, 0, sizeof m);
    m.kind = EVMJIT_CALL;
    m.depth = 1;
    m.gas = 10;
    m.sender = z;
    m.recipient = m.code_address = sha;
    m.value = b32_of(5);
    r = f->call(c, &m);
    CHECK(r.status_code == EVMJIT_OUT_OF_GAS && r.gas_left == 0);
    evmjit_bytes32 b = f->get_balance(c, &sha);
    CHECK(b32_low(&b) == 0 && !host_find(h, &sha)->exists);
    m.gas = 100;
    r = f->call(c, &m);
    CHECK(r.status_code == EVMJIT_SUCCESS && r.gas_left == 40 && r.output_size == 32);
    if (r.release) r.release(&r);
    b = f->get_balance(c, &sha);
    CHECK(b32_low(&b) == 5);
    host_destroy(h);

    /* the RIPEMD-160 quirk: an empty 0x03 touched by a failed call is still deleted */
    h = host_create(EVMJIT_CANCUN, NULL);
    c = host_context(h);
    host_put_account(h, &z, &big, 0, NULL, 0);
    host_put_account(h, &rip, &zero, 0, NULL, 0);
    host_put_account(h, &sha, &zero, 0, NULL, 0);
    m.value = zero;
    m.gas = 10;
    m.recipient = m.code_address = rip;
    r = f->call(c, &m);
    CHECK(r.status_code == EVMJIT_OUT_OF_GAS);
    m.recipient = m.code_address = sha;
    r = f->call(c, &m);
    CHECK(r.status_code == EVMJIT_OUT_OF_GAS);
    host_finalize_tx(h);
    CHECK(!host_find(h, &rip)->exists); /* touch survived the revert */
    CHECK(host_find(h, &sha)->exists);  /* touch reverted: the empty account stays */
    host_destroy(h);
}

static void test_intrinsic(void) {
    static const uint8_t data[] = {0, 1, 0, 2};
    host_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.data = data;
    tx.data_size = sizeof data;
    uint64_t floor;
    CHECK(host_intrinsic_gas(EVMJIT_FRONTIER, &tx, &floor) == 21000 + 8 + 136 && floor == 0);
    CHECK(host_intrinsic_gas(EVMJIT_ISTANBUL, &tx, NULL) == 21000 + 8 + 32);
    tx.create = true;
    CHECK(host_intrinsic_gas(EVMJIT_FRONTIER, &tx, NULL) == 21000 + 8 + 136);
    CHECK(host_intrinsic_gas(EVMJIT_HOMESTEAD, &tx, NULL) == 53000 + 8 + 136);
    CHECK(host_intrinsic_gas(EVMJIT_SHANGHAI, &tx, NULL) == 53000 + 8 + 32 + 2);
    CHECK(host_intrinsic_gas(EVMJIT_PRAGUE, &tx, &floor) == 53000 + 8 + 32 + 2 &&
          floor == 21000 + 10 * (2 + 8));
    evmjit_bytes32 keys[3];
    host_access_entry al[2] = {{addr_of(1), keys, 3}, {addr_of(2), NULL, 0}};
    tx.create = false;
    tx.access_list = al;
    tx.access_count = 2;
    CHECK(host_intrinsic_gas(EVMJIT_BERLIN, &tx, NULL) == 21000 + 40 + 2 * 2400 + 3 * 1900);
}

static void test_roots(void) {
    host_state *h = host_create(EVMJIT_CANCUN, NULL);
    evmjit_bytes32 root = host_state_root(h);
    CHECK(eq_hex(root.bytes, 32, TRIE_EMPTY_ROOT_HEX));
    evmjit_bytes32 logs = host_logs_hash(h); /* keccak(rlp([])) */
    CHECK(eq_hex(logs.bytes, 32,
                 "1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"));
    host_destroy(h);
}

int main(void) {
    test_hashes();
    test_blake2f();
    test_modexp();
    test_ecrecover();
    test_availability();
    test_storage_status();
    test_accounts();
    test_transfer_tx();
    test_frames();
    test_intrinsic();
    test_roots();
    return check_summary();
}
