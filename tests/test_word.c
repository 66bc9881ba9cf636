/* The 256-bit word arithmetic against an independent GMP reference.

   Every EVM word operation in the header is compared with the same operation done on mpz_t
   integers: unsigned values are reduced mod 2^256, signed ones are converted by subtracting
   2^256 when bit 255 is set, and the EVM rules (x/0 = 0, SDIV truncates toward zero so
   -2^255 / -1 wraps to -2^255, SMOD takes the dividend's sign, ADDMOD/MULMOD at full
   precision and 0 for modulus 0, EXP mod 2^256, shifts of 256 or more, BYTE index >= 32,
   SIGNEXTEND with b >= 31, CLZ(0) = 256) are written in GMP terms, not copied from the header.

   Phases, each ending in one CHECK per operation (a phase fails an operation if any input
   mismatched; the first three mismatches are printed in hex):
   1. boundary: every pair from 91 values (0, 1, 2, 2^63, 2^64-1, 2^64, 2^127, 2^128, 2^192,
      2^255, 2^256-1 and their neighbours +-1, +-2; 3..40 and the shift/index edges
      63..65, 127..129, 191..193, 247..249, 254..258, 1000), every triple of a 25-value subset
      for ADDMOD/MULMOD, and every pair with six random moduli (one just below 2^256).
   2. limb patterns: every pair of the 625 words whose limbs are 0, 1, 2^63-1, 2^63 or
      2^64-1. Random inputs almost never reach the rare steps of long division (a quotient
      digit estimated two too high, the add-back); these structured limbs do.
   3. random: N inputs per operation (1,000,000; 20,000 when EVMJIT_SANITIZER=1) of words
      drawn from a mix of full random, random bit length, special limbs, small, near powers
      of two, negative and sparse patterns; shift amounts and byte indices are biased toward
      the interesting range, and EXP exponents toward 32 bits (see gen_exponent). The seed is
      printed and EVMJIT_TEST_SEED overrides it.
   Word <-> bytes32 (big-endian, both directions against GMP and the round trip) and the PUSH
   helpers are checked in every phase. A full run takes about 3.5 s at -O2. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include "check.h"

#include <gmp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- operations and their mismatch counters ------------------------------------------- */

#define OPS(X)                                                                                \
    X(ADD, "add") X(SUB, "sub") X(MUL, "mul") X(DIV, "div") X(SDIV, "sdiv") X(MOD, "mod")     \
    X(SMOD, "smod") X(ADDMOD, "addmod") X(MULMOD, "mulmod") X(EXP, "exp")                     \
    X(SIGNEXTEND, "signextend") X(BYTE, "byte") X(SHL, "shl") X(SHR, "shr") X(SAR, "sar")     \
    X(LT, "lt") X(GT, "gt") X(SLT, "slt") X(SGT, "sgt") X(EQ, "eq") X(ISZERO, "iszero")        \
    X(AND, "and") X(OR, "or") X(XOR, "xor") X(NOT, "not") X(NEG, "neg") X(CLZ, "clz")          \
    X(BYTE_LENGTH, "byte_length") X(TO_BYTES32, "to_bytes32") X(FROM_BYTES32, "from_bytes32") \
    X(BYTES32_ROUNDTRIP, "bytes32_roundtrip") X(FROM_BE, "from_be") X(TO_BE, "to_be")

enum {
#define OP_ENUM(id, name) OP_##id,
    OPS(OP_ENUM)
#undef OP_ENUM
        OP_COUNT
};
static const char *const op_names[OP_COUNT] = {
#define OP_NAME(id, name) name,
    OPS(OP_NAME)
#undef OP_NAME
};

static struct {
    long tested, failed;
} stats[OP_COUNT];

static void word_hex(evmjit_word w, char out[67]) {
    snprintf(out, 67, "0x%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, w.w[3], w.w[2],
             w.w[1], w.w[0]);
}

/* Counts a mismatch and prints the first three of each operation per phase. */
static void mismatch(int op, const evmjit_word *in, int nin, const char *want, const char *got) {
    if (++stats[op].failed > 3) return;
    char h[67];
    fprintf(stderr, "  %s(", op_names[op]);
    for (int i = 0; i < nin; i++) {
        word_hex(in[i], h);
        fprintf(stderr, "%s%s", i ? ", " : "", h);
    }
    fprintf(stderr, ")\n    want %s\n    got  %s\n", want, got);
}

/* One CHECK per operation exercised in the phase; then the counters restart. */
static void end_phase(const char *phase, double seconds) {
    long total = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        if (!stats[op].tested) continue;
        total += stats[op].tested;
        CHECKF(stats[op].failed == 0, "%s: %s: %ld of %ld inputs mismatched", phase,
               op_names[op], stats[op].failed, stats[op].tested);
    }
    printf("%-13s %10ld comparisons in %.2f s\n", phase, total, seconds);
    memset(stats, 0, sizeof stats);
}

/* ---- the GMP reference ---------------------------------------------------------------- */

static mpz_t two256, ones256, za, zb, zm, sa, sb, ref, tmp;

static void to_mpz(mpz_t z, evmjit_word w) {
#if GMP_NUMB_BITS == 64 && GMP_NAIL_BITS == 0
    mp_limb_t *p = mpz_limbs_write(z, 4);
    for (int i = 0; i < 4; i++) p[i] = (mp_limb_t)w.w[i];
    mpz_limbs_finish(z, 4);
#else
    mpz_import(z, 4, -1, sizeof(uint64_t), 0, 0, w.w);
#endif
}

/* z mod 2^256 as a word (z may be negative). */
static evmjit_word from_mpz(const mpz_t z) {
    evmjit_word w = {{0, 0, 0, 0}};
    mpz_fdiv_r_2exp(tmp, z, 256);
#if GMP_NUMB_BITS == 64 && GMP_NAIL_BITS == 0
    size_t n = mpz_size(tmp);
    for (size_t i = 0; i < n; i++) w.w[i] = (uint64_t)mpz_getlimbn(tmp, (mp_size_t)i);
#else
    mpz_export(w.w, NULL, -1, sizeof(uint64_t), 0, 0, tmp);
#endif
    return w;
}

/* Two's complement reading of an unsigned 256-bit value. */
static void to_signed(mpz_t s, const mpz_t u) {
    if (mpz_tstbit(u, 255)) mpz_sub(s, u, two256);
    else mpz_set(s, u);
}

static int same_word(evmjit_word a, evmjit_word b) { return memcmp(a.w, b.w, sizeof a.w) == 0; }

static void expect_word(int op, const evmjit_word *in, int nin, const mpz_t want,
                        evmjit_word got) {
    stats[op].tested++;
    evmjit_word w = from_mpz(want);
    if (same_word(w, got)) return;
    char hw[67], hg[67];
    word_hex(w, hw);
    word_hex(got, hg);
    mismatch(op, in, nin, hw, hg);
}

static void expect_bool(int op, const evmjit_word *in, int nin, int want, int got) {
    stats[op].tested++;
    if (!want == !got) return;
    mismatch(op, in, nin, want ? "true" : "false", got ? "true" : "false");
}

static void expect_uint(int op, const evmjit_word *in, int nin, unsigned long want,
                        unsigned long got) {
    stats[op].tested++;
    if (want == got) return;
    char hw[24], hg[24];
    snprintf(hw, sizeof hw, "%lu", want);
    snprintf(hg, sizeof hg, "%lu", got);
    mismatch(op, in, nin, hw, hg);
}

static void expect_bytes(int op, const evmjit_word *in, int nin, const uint8_t *want,
                         const uint8_t *got, size_t n) {
    stats[op].tested++;
    if (memcmp(want, got, n) == 0) return;
    char hw[67] = "0x", hg[67] = "0x";
    for (size_t i = 0; i < n; i++) {
        snprintf(hw + 2 + 2 * i, 3, "%02x", want[i]);
        snprintf(hg + 2 + 2 * i, 3, "%02x", got[i]);
    }
    mismatch(op, in, nin, hw, hg);
}

/* A shift amount or byte index as an unsigned long, saturated at 1000. */
static unsigned long small_or_1000(const mpz_t z) {
    return mpz_cmp_ui(z, 1000) >= 0 ? 1000 : mpz_get_ui(z);
}

/* ---- the checks, grouped by operand shape --------------------------------------------- */

/* Binary arithmetic, comparisons and bitwise operations of (a, b). */
static void check_arith(evmjit_word a, evmjit_word b) {
    evmjit_word in[2] = {a, b};
    to_mpz(za, a);
    to_mpz(zb, b);
    to_signed(sa, za);
    to_signed(sb, zb);
    int bzero = mpz_sgn(zb) == 0;

    mpz_add(ref, za, zb);
    expect_word(OP_ADD, in, 2, ref, evmjit__word_add(a, b));
    mpz_sub(ref, za, zb);
    expect_word(OP_SUB, in, 2, ref, evmjit__word_sub(a, b));
    mpz_mul(ref, za, zb);
    expect_word(OP_MUL, in, 2, ref, evmjit__word_mul(a, b));

    if (bzero) mpz_set_ui(ref, 0);
    else mpz_tdiv_q(ref, za, zb);
    expect_word(OP_DIV, in, 2, ref, evmjit__word_div(a, b));
    if (bzero) mpz_set_ui(ref, 0);
    else mpz_tdiv_r(ref, za, zb);
    expect_word(OP_MOD, in, 2, ref, evmjit__word_mod(a, b));
    /* truncating signed division; -2^255 / -1 = 2^255 = -2^255 mod 2^256 by itself */
    if (bzero) mpz_set_ui(ref, 0);
    else mpz_tdiv_q(ref, sa, sb);
    expect_word(OP_SDIV, in, 2, ref, evmjit__word_sdiv(a, b));
    /* tdiv_r's remainder has the dividend's sign, as SMOD requires */
    if (bzero) mpz_set_ui(ref, 0);
    else mpz_tdiv_r(ref, sa, sb);
    expect_word(OP_SMOD, in, 2, ref, evmjit__word_smod(a, b));

    int c = mpz_cmp(za, zb), sc = mpz_cmp(sa, sb);
    expect_bool(OP_LT, in, 2, c < 0, evmjit__word_ult(a, b));
    expect_bool(OP_GT, in, 2, c > 0, evmjit__word_ult(b, a));
    expect_bool(OP_SLT, in, 2, sc < 0, evmjit__word_slt(a, b));
    expect_bool(OP_SGT, in, 2, sc > 0, evmjit__word_slt(b, a));
    expect_bool(OP_EQ, in, 2, c == 0, evmjit__word_eq_(a, b));

    mpz_and(ref, za, zb);
    expect_word(OP_AND, in, 2, ref, evmjit__word_and(a, b));
    mpz_ior(ref, za, zb);
    expect_word(OP_OR, in, 2, ref, evmjit__word_or(a, b));
    mpz_xor(ref, za, zb);
    expect_word(OP_XOR, in, 2, ref, evmjit__word_xor(a, b));
}

/* EXP(base, exponent) mod 2^256 (0^0 = 1 in both). */
static void check_exp(evmjit_word base, evmjit_word exponent) {
    evmjit_word in[2] = {base, exponent};
    to_mpz(za, base);
    to_mpz(zb, exponent);
    mpz_powm(ref, za, zb, two256);
    expect_word(OP_EXP, in, 2, ref, evmjit__word_exp(base, exponent));
}

/* Operations whose first operand is an index or shift amount: (i, x) as on the EVM stack. */
static void check_index(evmjit_word i, evmjit_word x) {
    evmjit_word in[2] = {i, x};
    to_mpz(za, i);
    to_mpz(zb, x);
    unsigned long n = small_or_1000(za);

    /* SIGNEXTEND: keep the low 8(n+1) bits, read them as a signed number */
    if (n >= 31) {
        mpz_set(ref, zb);
    } else {
        unsigned long bits = 8 * (n + 1);
        mpz_fdiv_r_2exp(ref, zb, bits);
        if (mpz_tstbit(ref, bits - 1)) {
            mpz_set_ui(sa, 0);
            mpz_setbit(sa, bits);
            mpz_sub(ref, ref, sa);
        }
    }
    expect_word(OP_SIGNEXTEND, in, 2, ref, evmjit__word_signextend(i, x));

    /* BYTE: byte n counted from the most significant end */
    if (n >= 32) {
        mpz_set_ui(ref, 0);
    } else {
        mpz_fdiv_q_2exp(ref, zb, 8 * (31 - n));
        mpz_fdiv_r_2exp(ref, ref, 8);
    }
    expect_word(OP_BYTE, in, 2, ref, evmjit__word_byte(i, x));

    if (n >= 256) mpz_set_ui(ref, 0);
    else mpz_mul_2exp(ref, zb, n); /* reduced mod 2^256 when compared */
    expect_word(OP_SHL, in, 2, ref, evmjit__word_shl(i, x));
    if (n >= 256) mpz_set_ui(ref, 0);
    else mpz_fdiv_q_2exp(ref, zb, n);
    expect_word(OP_SHR, in, 2, ref, evmjit__word_shr(i, x));
    /* SAR is floor division of the signed value by 2^n; from n = 256 on that is 0 or -1 */
    to_signed(sb, zb);
    mpz_fdiv_q_2exp(ref, sb, n < 256 ? n : 256);
    expect_word(OP_SAR, in, 2, ref, evmjit__word_sar(i, x));
}

/* ADDMOD and MULMOD at full precision; modulus 0 gives 0. */
static void check_mod(evmjit_word a, evmjit_word b, evmjit_word m) {
    evmjit_word in[3] = {a, b, m};
    to_mpz(za, a);
    to_mpz(zb, b);
    to_mpz(zm, m);
    int mzero = mpz_sgn(zm) == 0;
    if (mzero) mpz_set_ui(ref, 0);
    else {
        mpz_add(ref, za, zb);
        mpz_mod(ref, ref, zm);
    }
    expect_word(OP_ADDMOD, in, 3, ref, evmjit__word_addmod(a, b, m));
    if (mzero) mpz_set_ui(ref, 0);
    else {
        mpz_mul(ref, za, zb);
        mpz_mod(ref, ref, zm);
    }
    expect_word(OP_MULMOD, in, 3, ref, evmjit__word_mulmod(a, b, m));
}

/* Unary operations and the byte conversions of x. */
static void check_unary(evmjit_word x) {
    evmjit_word in[1] = {x};
    to_mpz(za, x);
    size_t bits = mpz_sgn(za) ? mpz_sizeinbase(za, 2) : 0;

    expect_bool(OP_ISZERO, in, 1, mpz_sgn(za) == 0, evmjit__word_is_zero(x));
    mpz_sub(ref, ones256, za);
    expect_word(OP_NOT, in, 1, ref, evmjit__word_not(x));
    mpz_sub(ref, two256, za);
    expect_word(OP_NEG, in, 1, ref, evmjit__word_neg(x));
    mpz_set_ui(ref, 256 - bits);
    expect_word(OP_CLZ, in, 1, ref, evmjit__word_clz(x));
    expect_uint(OP_BYTE_LENGTH, in, 1, (bits + 7) / 8, evmjit__word_byte_length(x));

    /* big-endian bytes from GMP: most significant byte first, right-aligned in 32 */
    uint8_t be[32] = {0};
    size_t nbytes = (bits + 7) / 8;
    if (nbytes) mpz_export(be + 32 - nbytes, NULL, 1, 1, 1, 0, za);
    evmjit_bytes32 b32 = evmjit_word_to_bytes32(x);
    expect_bytes(OP_TO_BYTES32, in, 1, be, b32.bytes, 32);
    evmjit_bytes32 ref32;
    memcpy(ref32.bytes, be, 32);
    expect_word(OP_FROM_BYTES32, in, 1, za, evmjit_word_from_bytes32(&ref32));
    expect_word(OP_BYTES32_ROUNDTRIP, in, 1, za, evmjit_word_from_bytes32(&b32));
    uint8_t out[32];
    evmjit__word_to_be(x, out);
    expect_bytes(OP_TO_BE, in, 1, be, out, 32);

    /* PUSHn reads the last n of those bytes: x mod 2^(8n), n chosen from x's low bits */
    size_t n = (size_t)(x.w[0] % 33);
    mpz_fdiv_r_2exp(ref, za, 8 * n);
    expect_word(OP_FROM_BE, in, 1, ref, evmjit__word_from_be(be + 32 - n, n));
}

/* Every check that takes two words, with (a, b) in the EVM stack order. */
static void check_all_pair(evmjit_word a, evmjit_word b) {
    check_arith(a, b);
    check_exp(a, b);
    check_index(a, b);
}

/* ---- input generation ------------------------------------------------------------------ */

static uint64_t rng_state;

/* splitmix64: small, fast, and good enough to spread test inputs. */
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static evmjit_word mkword(uint64_t w3, uint64_t w2, uint64_t w1, uint64_t w0) {
    evmjit_word w = {{w0, w1, w2, w3}};
    return w;
}

/* Adds a small signed d to w mod 2^256 with its own carry loop (independent of the header). */
static evmjit_word add_small(evmjit_word w, int d) {
    if (d >= 0) {
        uint64_t carry = (uint64_t)d;
        for (int i = 0; i < 4 && carry; i++) {
            w.w[i] += carry;
            carry = w.w[i] < carry;
        }
    } else {
        uint64_t borrow = (uint64_t)-(int64_t)d;
        for (int i = 0; i < 4 && borrow; i++) {
            uint64_t old = w.w[i];
            w.w[i] -= borrow;
            borrow = old < borrow;
        }
    }
    return w;
}

static evmjit_word pow2(unsigned k) { /* 2^k mod 2^256 */
    evmjit_word w = {{0, 0, 0, 0}};
    if (k < 256) w.w[k / 64] = 1ULL << (k % 64);
    return w;
}

static evmjit_word keep_low_bits(evmjit_word w, unsigned bits) {
    for (unsigned i = 0; i < 4; i++) {
        if (bits <= 64 * i) w.w[i] = 0;
        else if (bits < 64 * (i + 1)) w.w[i] &= (1ULL << (bits - 64 * i)) - 1;
    }
    return w;
}

static const uint64_t special_limbs[] = {
    0, 1, 2, 0x7fffffffffffffffULL, 0x8000000000000000ULL, 0x8000000000000001ULL,
    0xfffffffffffffffeULL, 0xffffffffffffffffULL};

static uint64_t gen_limb(void) {
    uint64_t r = rnd();
    switch (r & 7) {
    case 5: return rnd();
    case 6: return rnd() >> (rnd() & 63);
    case 7: return 1ULL << ((r >> 3) & 63);
    default: return special_limbs[(r >> 3) % 8];
    }
}

/* A random word from a mix of patterns that each reach different code paths. */
static evmjit_word gen_word(void) {
    evmjit_word w = mkword(rnd(), rnd(), rnd(), rnd());
    switch (rnd() % 8) {
    case 0:
    case 1: return w; /* full random */
    case 2: return keep_low_bits(w, (unsigned)(rnd() % 257)); /* random bit length */
    case 3: return mkword(gen_limb(), gen_limb(), gen_limb(), gen_limb()); /* limb patterns */
    case 4: return mkword(0, 0, 0, rnd() >> (rnd() % 64)); /* small */
    case 5: /* near a power of two */
        return add_small(pow2((unsigned)(rnd() % 257)), (int)(rnd() % 7) - 3);
    case 6: { /* negative: two's complement of a random-length value */
        w = keep_low_bits(w, (unsigned)(rnd() % 257));
        for (int i = 0; i < 4; i++) w.w[i] = ~w.w[i];
        return add_small(w, 1);
    }
    default: /* sparse: whole limbs zero */
        for (int i = 0; i < 4; i++)
            if (rnd() & 1) w.w[i] = 0;
        return w;
    }
}

/* A shift amount / byte index: mostly in range, sometimes at the edges or far beyond. */
static evmjit_word gen_index(void) {
    uint64_t r = rnd() % 16;
    if (r < 5) return mkword(0, 0, 0, rnd() % 40);
    if (r < 11) return mkword(0, 0, 0, rnd() % 300);
    if (r == 11) return mkword(0, 0, 0, 250 + rnd() % 12);
    if (r == 12) { /* small low limb but a high limb set: still out of range */
        evmjit_word w = mkword(0, 0, 0, rnd() % 300);
        w.w[1 + rnd() % 3] = 1ULL << (rnd() % 64);
        return w;
    }
    return gen_word();
}

/* An exponent. EXP costs up to two 256-bit multiplications per exponent bit (in the header
   and in GMP alike), so to keep the run short one exponent in eight comes from the full mix
   (up to 256 bits, every limb shape) and the rest have at most 32 bits; the boundary phase
   adds every pair of boundary values, 2^256-1 included. */
static evmjit_word gen_exponent(void) {
    if (rnd() % 8 == 0) return gen_word();
    return mkword(0, 0, 0, (rnd() >> 32) >> (rnd() % 33));
}

/* ---- phases ---------------------------------------------------------------------------- */

static double seconds_since(clock_t start) { return (double)(clock() - start) / CLOCKS_PER_SEC; }

/* Adds w to set[*n] unless it is already there. */
static void add_unique(evmjit_word *set, size_t *n, evmjit_word w) {
    for (size_t i = 0; i < *n; i++)
        if (same_word(set[i], w)) return;
    set[(*n)++] = w;
}

static void phase_boundary(void) {
    clock_t start = clock();
    evmjit_word set[160], sub[40];
    size_t n = 0, nsub = 0;
    const unsigned pows[] = {0, 1, 63, 64, 127, 128, 192, 255, 256 /* = 0 */};
    for (size_t p = 0; p < sizeof pows / sizeof pows[0]; p++)
        for (int d = -2; d <= 2; d++) {
            add_unique(set, &n, add_small(pow2(pows[p]), d));
            if (d >= -1 && d <= 1) add_unique(sub, &nsub, add_small(pow2(pows[p]), d));
        }
    /* 2 and 2^64-1 are among the neighbours above; 2^255 +- 1 too */
    for (uint64_t v = 3; v <= 40; v++) add_unique(set, &n, mkword(0, 0, 0, v));
    const uint64_t edges[] = {63,  64,  65,  127, 128, 129, 191, 192, 193,
                              247, 248, 249, 254, 255, 256, 257, 258, 1000};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        add_unique(set, &n, mkword(0, 0, 0, edges[i]));
    add_unique(sub, &nsub, mkword(0, 0, 0, 3));
    add_unique(sub, &nsub, mkword(0, 0, 0, 256));
    add_unique(sub, &nsub, mkword(1, 0, 0x8000000000000000ULL, 1)); /* 2^192 + 2^127 + 1 */

    for (size_t i = 0; i < n; i++) {
        check_unary(set[i]);
        for (size_t j = 0; j < n; j++) check_all_pair(set[i], set[j]);
    }
    for (size_t i = 0; i < nsub; i++)
        for (size_t j = 0; j < nsub; j++)
            for (size_t k = 0; k < nsub; k++) check_mod(sub[i], sub[j], sub[k]);
    evmjit_word moduli[6];
    for (int k = 0; k < 6; k++) moduli[k] = gen_word();
    moduli[0] = add_small(pow2(256), -(int)(rnd() % 1000)); /* a modulus near 2^256 */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            for (int k = 0; k < 6; k++) check_mod(set[i], set[j], moduli[k]);
    printf("boundary: %zu values (%zu-value subset for triples)\n", n, nsub);
    end_phase("boundary", seconds_since(start));
}

static void phase_limb_patterns(void) {
    clock_t start = clock();
    static const uint64_t limbs[] = {0, 1, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
                                     0xffffffffffffffffULL};
    enum { L = 5, WORDS = L * L * L * L };
    static evmjit_word words[WORDS];
    for (int i = 0; i < WORDS; i++)
        words[i] = mkword(limbs[i % L], limbs[i / L % L], limbs[i / (L * L) % L],
                          limbs[i / (L * L * L)]);
    for (int i = 0; i < WORDS; i++) {
        check_unary(words[i]);
        for (int j = 0; j < WORDS; j++) {
            check_arith(words[i], words[j]);
            /* (a*a) mod b and (a+a) mod b: 512-bit numerators made of these limbs */
            check_mod(words[i], words[i], words[j]);
        }
    }
    end_phase("limb patterns", seconds_since(start));
}

static void phase_random(long count) {
    clock_t start = clock();
    for (long n = 0; n < count; n++) {
        evmjit_word a = gen_word(), b = gen_word();
        check_arith(a, b);
        check_exp(a, gen_exponent());
        check_index(gen_index(), b);
        check_mod(a, b, gen_word());
        check_unary(a);
    }
    end_phase("random", seconds_since(start));
}

/* A few fixed facts stated in the EVM spec, so a reader sees them without the reference. */
static void check_named_cases(void) {
    evmjit_word min = pow2(255), minus1 = mkword(~0ULL, ~0ULL, ~0ULL, ~0ULL);
    CHECK(same_word(evmjit__word_sdiv(min, minus1), min));
    CHECK(same_word(evmjit__word_smod(min, minus1), pow2(256)));
    CHECK(same_word(evmjit__word_div(minus1, pow2(256)), pow2(256)));
    CHECK(same_word(evmjit__word_addmod(minus1, minus1, mkword(0, 0, 0, 7)),
                    mkword(0, 0, 0, 2))); /* (2^257 - 2) mod 7 = 2 */
    CHECK(same_word(evmjit__word_mulmod(minus1, minus1, minus1), pow2(256)));
    CHECK(same_word(evmjit__word_mulmod(minus1, minus1, mkword(0, 0, 0, 12)),
                    mkword(0, 0, 0, 9))); /* (2^256 - 1)^2 mod 12: 2^256 = 4 (mod 12), 3^2 */
    CHECK(same_word(evmjit__word_exp(mkword(0, 0, 0, 2), mkword(0, 0, 0, 255)), min));
    CHECK(same_word(evmjit__word_exp(mkword(0, 0, 0, 2), mkword(0, 0, 0, 256)), pow2(256)));
    CHECK(same_word(evmjit__word_sar(mkword(0, 0, 0, 256), min), minus1));
    CHECK(same_word(evmjit__word_clz(pow2(256)), mkword(0, 0, 0, 256)));
    CHECK(same_word(evmjit__word_signextend(mkword(0, 0, 0, 0), mkword(0, 0, 0, 0xff)), minus1));
}

int main(void) {
    uint64_t seed = 0x65766d6a69742031ULL; /* "evmjit 1" in ASCII */
    const char *env = getenv("EVMJIT_TEST_SEED");
    if (env && *env) seed = strtoull(env, NULL, 0);
    rng_state = seed;
    const char *san = getenv("EVMJIT_SANITIZER");
    int sanitizer = san && strcmp(san, "1") == 0;
    long count = sanitizer ? 20000 : 1000000;
    printf("seed 0x%016" PRIx64 " (EVMJIT_TEST_SEED overrides); %ld random inputs per "
           "operation%s\n",
           seed, count, sanitizer ? " (EVMJIT_SANITIZER=1: reduced)" : "");

    mpz_inits(two256, ones256, za, zb, zm, sa, sb, ref, tmp, NULL);
    mpz_setbit(two256, 256);
    mpz_sub_ui(ones256, two256, 1);

    check_named_cases();
    phase_boundary();
    phase_limb_patterns();
    phase_random(count);

    mpz_clears(two256, ones256, za, zb, zm, sa, sb, ref, tmp, NULL);
    return check_summary();
}
