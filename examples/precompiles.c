/* precompiles.c - precompiled contracts for the test host. See precompiles.h. */
#include "precompiles.h"

#include <gmp.h>
#include <openssl/evp.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "trie.h"

/* ---- availability ---------------------------------------------------------------------- */

unsigned precompile_count(evmjit_revision rev) {
    if (rev >= EVMJIT_PRAGUE) return 0x11;
    if (rev >= EVMJIT_CANCUN) return 0x0a;
    if (rev >= EVMJIT_ISTANBUL) return 9;
    if (rev >= EVMJIT_BYZANTIUM) return 8;
    return 4;
}

unsigned precompile_id(evmjit_revision rev, const evmjit_address *address) {
    for (int i = 0; i < 18; i++)
        if (address->bytes[i]) return 0;
    unsigned id = (unsigned)address->bytes[18] << 8 | address->bytes[19];
    if (id >= 1 && id <= precompile_count(rev)) return id;
    if (id == 0x100 && rev >= EVMJIT_OSAKA) return id;
    return 0;
}

bool precompile_supported(unsigned id) {
    return (id >= 1 && id <= 5) || id == 9;
}

const char *precompile_name(unsigned id) {
    switch (id) {
    case 1: return "ecrecover";
    case 2: return "sha256";
    case 3: return "ripemd160";
    case 4: return "identity";
    case 5: return "modexp";
    case 6: return "bn254 add";
    case 7: return "bn254 mul";
    case 8: return "bn254 pairing";
    case 9: return "blake2f";
    case 0x0a: return "KZG point evaluation";
    case 0x100: return "P256VERIFY";
    default: return id >= 0x0b && id <= 0x11 ? "BLS12-381" : "unknown";
    }
}

/* ---- ecrecover ------------------------------------------------------------------------- */

static secp256k1_context *precompile_secp;
static once_flag precompile_secp_once = ONCE_FLAG_INIT;

static void precompile_secp_init(void) {
    precompile_secp = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
}

bool precompile_recover_address(const uint8_t hash[32], int recid, const uint8_t r[32],
                                const uint8_t s[32], evmjit_address *out) {
    call_once(&precompile_secp_once, precompile_secp_init);
    if (!precompile_secp || recid < 0 || recid > 3) return false;
    uint8_t compact[64];
    memcpy(compact, r, 32);
    memcpy(compact + 32, s, 32);
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pub;
    /* parse rejects r or s >= the group order; recover rejects zero r or s */
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(precompile_secp, &sig, compact,
                                                             recid))
        return false;
    if (!secp256k1_ecdsa_recover(precompile_secp, &pub, &sig, hash)) return false;
    uint8_t ser[65];
    size_t len = sizeof ser;
    secp256k1_ec_pubkey_serialize(precompile_secp, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
    evmjit_bytes32 h = evmjit_keccak256(ser + 1, 64);
    memcpy(out->bytes, h.bytes + 12, 20);
    return true;
}

/* Input: hash, v, r, s (32 bytes each, zero-padded). v must be 27 or 28. An unrecoverable
   signature is not an error: the output is empty. */
static void precompile_ecrecover(const uint8_t in[128], uint8_t **out, size_t *out_size) {
    for (int i = 32; i < 63; i++)
        if (in[i]) return;
    if (in[63] != 27 && in[63] != 28) return;
    evmjit_address a;
    if (!precompile_recover_address(in, in[63] - 27, in + 64, in + 96, &a)) return;
    *out = trie_xcalloc(1, 32);
    memcpy(*out + 12, a.bytes, 20);
    *out_size = 32;
}

/* ---- hashes ---------------------------------------------------------------------------- */

static void precompile_digest(const EVP_MD *md, const uint8_t *in, size_t size, uint8_t *out) {
    unsigned len = 0;
    static const uint8_t none[1] = {0};
    if (!md || !EVP_Digest(size ? in : none, size, out, &len, md, NULL)) {
        fprintf(stderr, "evmjit: OpenSSL digest failed (is RIPEMD160 in the default "
                        "provider? OpenSSL 3.0.7+ is needed)\n");
        abort();
    }
}

/* ---- modexp ---------------------------------------------------------------------------- */

/* Read the big-endian number at in[off..off+len) of an input that is zero-padded beyond
   in_size. `off` and `len` may point far past the input. */
static void precompile_read_number(mpz_t r, const uint8_t *in, size_t in_size, const mpz_t off,
                                   const mpz_t len) {
    mpz_set_ui(r, 0);
    if (mpz_sgn(len) == 0 || mpz_cmp_ui(off, in_size) >= 0) return;
    size_t o = mpz_get_ui(off);
    size_t avail = in_size - o;
    size_t take = mpz_cmp_ui(len, avail) < 0 ? mpz_get_ui(len) : avail;
    mpz_import(r, take, 1, 1, 1, 0, in + o);
    /* the missing bytes are zeros on the right: shift up by them */
    mpz_t pad;
    mpz_init(pad);
    mpz_sub_ui(pad, len, take);
    if (mpz_sgn(r) != 0) {
        if (!mpz_fits_ulong_p(pad) || mpz_get_ui(pad) > (1ul << 40)) {
            mpz_clear(pad);
            return; /* unreachable within any gas budget: callers check gas first */
        }
        mpz_mul_2exp(r, r, 8 * mpz_get_ui(pad));
    }
    mpz_clear(pad);
}

/* Bits of x minus one, 0 for x = 0 (the EIP-198 "adjusted exponent" of a head <= 32 bytes). */
static unsigned long precompile_log2(const mpz_t x) {
    return mpz_sgn(x) == 0 ? 0 : (unsigned long)mpz_sizeinbase(x, 2) - 1;
}

static evmjit_status_code precompile_modexp(evmjit_revision rev, const uint8_t *in,
                                            size_t in_size, int64_t gas, int64_t *gas_left,
                                            uint8_t **out, size_t *out_size) {
    mpz_t blen, elen, mlen, off, head, t, cost, maxlen, words;
    mpz_inits(blen, elen, mlen, off, head, t, cost, maxlen, words, NULL);
    mpz_t thirty_two;
    mpz_init_set_ui(thirty_two, 32);
    mpz_set_ui(off, 0);
    precompile_read_number(blen, in, in_size, off, thirty_two);
    mpz_set_ui(off, 32);
    precompile_read_number(elen, in, in_size, off, thirty_two);
    mpz_set_ui(off, 64);
    precompile_read_number(mlen, in, in_size, off, thirty_two);
    evmjit_status_code status = EVMJIT_SUCCESS;

    if (rev >= EVMJIT_OSAKA && (mpz_cmp_ui(blen, 1024) > 0 || mpz_cmp_ui(elen, 1024) > 0 ||
                                mpz_cmp_ui(mlen, 1024) > 0)) {
        status = EVMJIT_PRECOMPILE_FAILURE; /* EIP-7823 */
        goto done;
    }

    /* the exponent's first (up to) 32 bytes, for the iteration count */
    mpz_add_ui(off, blen, 96);
    if (mpz_cmp_ui(elen, 32) <= 0) {
        precompile_read_number(head, in, in_size, off, elen);
    } else {
        precompile_read_number(head, in, in_size, off, thirty_two);
    }
    /* iterations = log2(head) + multiplier * (elen - 32) when elen > 32 */
    mpz_set_ui(t, precompile_log2(head));
    if (mpz_cmp_ui(elen, 32) > 0) {
        mpz_t extra;
        mpz_init(extra);
        mpz_sub_ui(extra, elen, 32);
        mpz_mul_ui(extra, extra, rev >= EVMJIT_OSAKA ? 16 : 8);
        mpz_add(t, t, extra);
        mpz_clear(extra);
    }
    if (mpz_sgn(t) == 0) mpz_set_ui(t, 1);

    mpz_set(maxlen, mpz_cmp(blen, mlen) > 0 ? blen : mlen);
    if (rev >= EVMJIT_OSAKA) { /* EIP-7883 */
        mpz_cdiv_q_ui(words, maxlen, 8);
        if (mpz_cmp_ui(maxlen, 32) <= 0) {
            mpz_set_ui(cost, 16);
        } else {
            mpz_mul(cost, words, words);
            mpz_mul_ui(cost, cost, 2);
        }
        mpz_mul(cost, cost, t);
        if (mpz_cmp_ui(cost, 500) < 0) mpz_set_ui(cost, 500);
    } else if (rev >= EVMJIT_BERLIN) { /* EIP-2565 */
        mpz_cdiv_q_ui(words, maxlen, 8);
        mpz_mul(cost, words, words);
        mpz_mul(cost, cost, t);
        mpz_fdiv_q_ui(cost, cost, 3);
        if (mpz_cmp_ui(cost, 200) < 0) mpz_set_ui(cost, 200);
    } else { /* EIP-198 */
        mpz_mul(cost, maxlen, maxlen);
        if (mpz_cmp_ui(maxlen, 64) <= 0) {
            /* x^2 */
        } else if (mpz_cmp_ui(maxlen, 1024) <= 0) {
            mpz_fdiv_q_ui(cost, cost, 4);
            mpz_addmul_ui(cost, maxlen, 96);
            mpz_sub_ui(cost, cost, 3072);
        } else {
            mpz_fdiv_q_ui(cost, cost, 16);
            mpz_addmul_ui(cost, maxlen, 480);
            mpz_sub_ui(cost, cost, 199680);
        }
        mpz_mul(cost, cost, t);
        mpz_fdiv_q_ui(cost, cost, 20);
    }
    if (mpz_cmp_si(cost, gas) > 0) {
        status = EVMJIT_OUT_OF_GAS;
        goto done;
    }
    *gas_left = gas - (int64_t)mpz_get_si(cost);
    if (mpz_sgn(mlen) == 0) goto done; /* empty output; base and exponent never read */

    /* within the gas budget all lengths are small enough to handle */
    size_t m = mpz_get_ui(mlen);
    mpz_t base, exp, mod, r;
    mpz_inits(base, exp, mod, r, NULL);
    mpz_set_ui(off, 96);
    precompile_read_number(base, in, in_size, off, blen);
    mpz_add_ui(off, blen, 96);
    precompile_read_number(exp, in, in_size, off, elen);
    mpz_add(off, off, elen);
    precompile_read_number(mod, in, in_size, off, mlen);
    if (mpz_cmp_ui(mod, 1) > 0) mpz_powm(r, base, exp, mod); /* mod 0 and 1 give 0 */
    *out = trie_xcalloc(1, m);
    *out_size = m;
    size_t count = 0, need = mpz_sizeinbase(r, 256); /* r < mod, so need <= m */
    if (mpz_sgn(r) != 0 && need <= m) mpz_export(*out + (m - need), &count, 1, 1, 1, 0, r);
    mpz_clears(base, exp, mod, r, NULL);
done:
    if (status != EVMJIT_SUCCESS) *gas_left = 0;
    mpz_clears(blen, elen, mlen, off, head, t, cost, maxlen, words, thirty_two, NULL);
    return status;
}

/* ---- blake2f --------------------------------------------------------------------------- */

static const uint64_t blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static const uint8_t blake2b_sigma[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0}};

static inline uint64_t rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

#define BLAKE2B_G(a, b, c, d, x, y)                                                           \
    do {                                                                                      \
        v[a] = v[a] + v[b] + (x);                                                             \
        v[d] = rotr64(v[d] ^ v[a], 32);                                                       \
        v[c] = v[c] + v[d];                                                                   \
        v[b] = rotr64(v[b] ^ v[c], 24);                                                       \
        v[a] = v[a] + v[b] + (y);                                                             \
        v[d] = rotr64(v[d] ^ v[a], 16);                                                       \
        v[c] = v[c] + v[d];                                                                   \
        v[b] = rotr64(v[b] ^ v[c], 63);                                                       \
    } while (0)

void precompile_blake2b_f(uint64_t h[8], const uint64_t m[16], const uint64_t t[2], bool final,
                          uint32_t rounds) {
    uint64_t v[16];
    for (int i = 0; i < 8; i++) v[i] = h[i], v[i + 8] = blake2b_iv[i];
    v[12] ^= t[0];
    v[13] ^= t[1];
    if (final) v[14] = ~v[14];
    for (uint32_t r = 0; r < rounds; r++) {
        const uint8_t *s = blake2b_sigma[r % 10];
        BLAKE2B_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        BLAKE2B_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        BLAKE2B_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        BLAKE2B_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        BLAKE2B_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        BLAKE2B_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        BLAKE2B_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        BLAKE2B_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

static uint64_t load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* EIP-152 input: rounds (4 bytes big-endian), h (8x8 LE), m (16x8 LE), t (2x8 LE), f (1). */
static evmjit_status_code precompile_blake2f(const uint8_t *in, size_t in_size, int64_t gas,
                                             int64_t *gas_left, uint8_t **out,
                                             size_t *out_size) {
    *gas_left = 0;
    if (in_size != 213) return EVMJIT_PRECOMPILE_FAILURE;
    uint32_t rounds = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    if ((int64_t)rounds > gas) return EVMJIT_OUT_OF_GAS;
    if (in[212] > 1) return EVMJIT_PRECOMPILE_FAILURE;
    uint64_t h[8], m[16], t[2];
    for (int i = 0; i < 8; i++) h[i] = load_le64(in + 4 + 8 * i);
    for (int i = 0; i < 16; i++) m[i] = load_le64(in + 68 + 8 * i);
    t[0] = load_le64(in + 196);
    t[1] = load_le64(in + 204);
    precompile_blake2b_f(h, m, t, in[212] == 1, rounds);
    *out = trie_xmalloc(64);
    for (int i = 0; i < 8; i++)
        for (int b = 0; b < 8; b++) (*out)[8 * i + b] = (uint8_t)(h[i] >> (8 * b));
    *out_size = 64;
    *gas_left = gas - rounds;
    return EVMJIT_SUCCESS;
}

/* ---- dispatch -------------------------------------------------------------------------- */

evmjit_status_code precompile_run(unsigned id, evmjit_revision rev, const uint8_t *input,
                                  size_t input_size, int64_t gas, int64_t *gas_left,
                                  uint8_t **output, size_t *output_size) {
    *output = NULL;
    *output_size = 0;
    *gas_left = 0;
    uint64_t words = input_size / 32 + (input_size % 32 != 0);
    int64_t cost;
    switch (id) {
    case 1: cost = 3000; break;
    case 2: cost = 60 + 12 * (int64_t)words; break;
    case 3: cost = 600 + 120 * (int64_t)words; break;
    case 4: cost = 15 + 3 * (int64_t)words; break;
    case 5: return precompile_modexp(rev, input, input_size, gas, gas_left, output, output_size);
    case 9: return precompile_blake2f(input, input_size, gas, gas_left, output, output_size);
    default: return EVMJIT_PRECOMPILE_FAILURE; /* not implemented: the caller checks first */
    }
    if (cost > gas) return EVMJIT_OUT_OF_GAS;
    *gas_left = gas - cost;
    switch (id) {
    case 1: {
        uint8_t in[128] = {0};
        if (input_size) memcpy(in, input, input_size < 128 ? input_size : 128);
        precompile_ecrecover(in, output, output_size);
        break;
    }
    case 2:
        *output = trie_xmalloc(32);
        *output_size = 32;
        precompile_digest(EVP_sha256(), input, input_size, *output);
        break;
    case 3:
        *output = trie_xcalloc(1, 32);
        *output_size = 32;
        precompile_digest(EVP_ripemd160(), input, input_size, *output + 12);
        break;
    case 4:
        if (input_size) {
            *output = trie_xmalloc(input_size);
            memcpy(*output, input, input_size);
            *output_size = input_size;
        }
        break;
    }
    return EVMJIT_SUCCESS;
}
