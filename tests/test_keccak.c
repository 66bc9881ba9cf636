/* keccak-256 (Ethereum's original-padding Keccak, not SHA3-256) against published vectors.

   Where each expected value comes from:
   - ""      c5d24601...: the Keccak team's ShortMsgKAT_256 (Len = 0); also Ethereum's hash of
             empty code (EIP-1052 EXTCODEHASH of an account without code).
   - "abc"   4e03657a...: the widely published Keccak-256("abc") (Ethereum clients' tests).
   - 0xc0    1dcc4de8...: Ethereum's hash of the empty RLP list (a block's empty ommers hash).
   - 0x80    56e81f17...: Ethereum's empty trie root, keccak(RLP("")).
   - 32 zero bytes 290decd9...: Solidity's data slot of a dynamic array stored at slot 0.
   - 135, 136, 137 bytes (one byte short of the 136-byte rate, exactly the rate, one past it):
             the Keccak team's KAT for the SHA-3 round-3 submission, file ShortMsgKAT_256.txt in
             KeccakKAT-3.zip, entries Len = 1080, 1088, 1096 (bits), message and digest verbatim.
   - 135/136/137/271/272/273 bytes and 1 MiB of the pattern below: computed once with an
             independent from-the-spec Python Keccak (round constants from the FIPS 202 rc(t)
             LFSR, rho offsets from the (x,y) walk; no tables shared with the header). Its
             permutation and sponge were first checked against Python's hashlib.sha3_256 by
             switching only the domain byte to 0x06 (lengths 0..299, 407..409, 543..545 and this
             same 1 MiB input), and it reproduces every value above.
   Beyond fixed vectors: incremental absorbs in odd chunk sizes must equal the one-shot hash,
   and the header's absorb + permutation, finished with SHA3's 0x06 padding, must equal
   OpenSSL's SHA3-256 for every length 0..600 (this pins the permutation and the absorb
   bookkeeping independently of the Keccak padding, which the fixed vectors pin). */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include "check.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* The deterministic pattern behind the computed vectors: byte i = (i * 131) ^ (i >> 10). */
static void fill_pattern(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((i * 131u) ^ (i >> 10));
}

static int hex_nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a hex string into out (at most cap bytes); returns the byte count. */
static size_t hex_decode(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        int hi = hex_nibble(hex[0]), lo = hex_nibble(hex[1]);
        if (hi < 0 || lo < 0) break;
        out[n++] = (uint8_t)(hi << 4 | lo);
    }
    return n;
}

static void to_hex(const uint8_t *p, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int same_digest(evmjit_bytes32 got, const char *want_hex) {
    uint8_t want[32];
    return hex_decode(want_hex, want, 32) == 32 && memcmp(got.bytes, want, 32) == 0;
}

/* One-shot hash of data must equal want_hex. */
static void expect_hash(const char *what, const uint8_t *data, size_t n, const char *want_hex) {
    evmjit_bytes32 got = evmjit_keccak256(data, n);
    char hex[65];
    to_hex(got.bytes, 32, hex);
    CHECKF(same_digest(got, want_hex), "%s (%zu bytes): got %s, want %s", what, n, hex,
           want_hex);
}

/* Hash of a hex-encoded message (a KAT entry). */
static void expect_hex_msg(const char *what, const char *msg_hex, size_t want_len,
                           const char *want_hex) {
    uint8_t msg[256];
    size_t n = hex_decode(msg_hex, msg, sizeof msg);
    CHECKF(n == want_len, "%s: message decodes to %zu bytes, want %zu", what, n, want_len);
    expect_hash(what, msg, n, want_hex);
}

/* Absorbs data in chunks whose sizes cycle through sizes[0..count) (zero-sized absorbs
   included) and returns the final digest. */
static evmjit_bytes32 hash_chunked(const uint8_t *data, size_t n, const size_t *sizes,
                                   size_t count) {
    evmjit_keccak k;
    evmjit_keccak_init(&k);
    size_t off = 0;
    for (size_t i = 0; off < n; i = (i + 1) % count) {
        size_t take = sizes[i] < n - off ? sizes[i] : n - off;
        evmjit_keccak_absorb(&k, data + off, take);
        off += take;
    }
    evmjit_keccak_absorb(&k, data + n, 0);
    return evmjit_keccak_final(&k);
}

/* SHA3-256 built from the header's absorb and permutation, with SHA3's 0x06 domain byte
   instead of Keccak's 0x01: equal to OpenSSL's SHA3-256 exactly when the permutation, the
   lane byte order and the absorb buffering are right. */
static evmjit_bytes32 sha3_via_header(const uint8_t *data, size_t n, size_t chunk) {
    evmjit_keccak k;
    evmjit_keccak_init(&k);
    for (size_t off = 0; off < n; off += chunk)
        evmjit_keccak_absorb(&k, data + off, n - off < chunk ? n - off : chunk);
    memset(k.buffer + k.buffered, 0, sizeof k.buffer - k.buffered);
    k.buffer[k.buffered] ^= 0x06;
    k.buffer[sizeof k.buffer - 1] ^= 0x80;
    evmjit__keccak_absorb_block(k.state, k.buffer);
    evmjit_bytes32 out;
    for (int i = 0; i < 32; i++) out.bytes[i] = (uint8_t)(k.state[i / 8] >> (8 * (i % 8)));
    return out;
}

static void test_fixed_vectors(void) {
    expect_hash("empty", (const uint8_t *)"", 0,
                "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect_hash("abc", (const uint8_t *)"abc", 3,
                "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    const uint8_t rlp_empty_list = 0xc0, rlp_empty_string = 0x80, zeros[32] = {0};
    expect_hash("rlp []", &rlp_empty_list, 1,
                "1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347");
    expect_hash("rlp \"\"", &rlp_empty_string, 1,
                "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
    expect_hash("32 zero bytes", zeros, 32,
                "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563");

    /* ShortMsgKAT_256.txt, Len = 1080, 1088, 1096 */
    expect_hex_msg("KAT Len=1080",
                   "2f3fb9e6321405869ff0e6271369357ee08c9c27837fe300adf3766a61979591d64e7809627e"
                   "8f026e762982df5f00bfeb9ce76f1ccb70c9bee6331f7dc8b15417295d7aa7ec7c1662a69842"
                   "059901f136e96052b4d01b72b64f92331744872f6de4a915d0262b33ccc375d25d77c3936023"
                   "e514f30187a9501adc685e6497cc4841e119670d4d",
                   135, "0484f02cc16415e7e9f28f95b6bb77209e1b25ec35015de84facbc8f9605b39e");
    expect_hex_msg("KAT Len=1088",
                   "33d0c3052e3ac8c19beca6b0dfa73888f753655fb2c9f77e1238602c9f6d7ad33e3dd96c78a2"
                   "2e148ed4c46d7cfdf674505bd40325cb813804e264a450de778f1c50fc94f32aa881fe6def7b"
                   "6ae6efbb42c3be678f40a09322053773e3af020000fe94f3283c7527aa64a2144b92cf8d568d"
                   "f4e6cd957af09ab1637e61667e616412558d4fcab4f9",
                   136, "b30ad6fc320c0d70309dc39953895cb7cf3fbedec7d86a5f7aa9f2bb760f6dba");
    expect_hex_msg("KAT Len=1096",
                   "2f570e7aeadd07406bfc263992a0292c528daab4f32816573b6be58a36998465f192e0db70e8"
                   "1cdbe5431477e43ea437cb4eebbe760116b26dfb3ca395c1098753e962c3d27f9fb8c2b32fa6"
                   "f1d3debd22c97b99cb924b388d87db2348e5aa9ccf0d60a18cff594eb389f5a55dd362809dde"
                   "19687064a0feec7c213561cbd130d832d264312cb3e4b6",
                   137, "6cf9e0e9008f6b5b2d28fb38c47a0212e7b28f6a7f44815f10c53141c2f1c84d");

    /* the pattern around one and two rates (independent Python Keccak, see the top) */
    static const struct {
        size_t n;
        const char *want;
    } pat[] = {
        {135, "6ec42f1f7622f67006c23840695f882ecce4c7dbea70535711a9fe77bb577866"},
        {136, "aa5c0771c91283514158ebf8a00472481b9b1480d028afd0dd4af32fbda03140"},
        {137, "bd7caa7eb4f76a35d14c5b3d0370292e9f9108f47799030ce296355e04e3b65c"},
        {271, "3867a640bea6b0a199a667f140be31a22a46d558ff871534d9e5c423749cf510"},
        {272, "7d274e5696018f003b6a0032774197faa0bc13968679c2a90652c35f1d3205da"},
        {273, "2d3c8fde7c8ac714ac4bc71076d394d69818b5fae48205049f5fb3d6a8571e5a"},
    };
    uint8_t buf[273];
    fill_pattern(buf, sizeof buf);
    for (size_t i = 0; i < sizeof pat / sizeof pat[0]; i++)
        expect_hash("pattern", buf, pat[i].n, pat[i].want);
}

#define MIB ((size_t)1 << 20)

static void test_one_mib(const uint8_t *big) {
    expect_hash("1 MiB pattern", big, MIB,
                "51bc586d71a20e7dca25eb04118b89bf197b27049f513ffdfe7a9804e296681b");
}

/* Incremental absorbs in odd chunk sizes equal the one-shot hash: 1 MiB under several fixed
   and mixed chunkings, and every length 0..300 split at every kind of boundary. */
static void test_incremental(const uint8_t *big) {
    static const size_t fixed[] = {1, 3, 7, 13, 64, 135, 136, 137, 271, 1000, 65537};
    static const size_t mixed[] = {0, 1, 135, 2, 136, 0, 137, 5, 271, 272, 1, 409, 33, 0, 7};
    evmjit_bytes32 whole = evmjit_keccak256(big, MIB);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        evmjit_bytes32 got = hash_chunked(big, MIB, &fixed[i], 1);
        CHECKF(memcmp(got.bytes, whole.bytes, 32) == 0, "1 MiB in chunks of %zu", fixed[i]);
    }
    evmjit_bytes32 got = hash_chunked(big, MIB, mixed, sizeof mixed / sizeof mixed[0]);
    CHECKF(memcmp(got.bytes, whole.bytes, 32) == 0, "1 MiB in mixed chunks");

    /* every length 0..300, split into two absorbs at every point, and in chunks of 1..9 */
    long bad = 0, total = 0;
    for (size_t n = 0; n <= 300; n++) {
        evmjit_bytes32 one = evmjit_keccak256(big, n);
        for (size_t cut = 0; cut <= n; cut++) {
            evmjit_keccak k;
            evmjit_keccak_init(&k);
            evmjit_keccak_absorb(&k, big, cut);
            evmjit_keccak_absorb(&k, big + cut, n - cut);
            evmjit_bytes32 two = evmjit_keccak_final(&k);
            total++;
            if (memcmp(one.bytes, two.bytes, 32) != 0 && bad++ < 3)
                fprintf(stderr, "split mismatch: length %zu cut at %zu\n", n, cut);
        }
        for (size_t c = 1; c <= 9; c++) {
            evmjit_bytes32 two = hash_chunked(big, n, &c, 1);
            total++;
            if (memcmp(one.bytes, two.bytes, 32) != 0 && bad++ < 3)
                fprintf(stderr, "chunk mismatch: length %zu chunks of %zu\n", n, c);
        }
    }
    CHECKF(bad == 0, "incremental == one-shot: %ld of %ld mismatched", bad, total);
}

/* The header's sponge (with SHA3 padding) against OpenSSL's SHA3-256. */
static void test_against_openssl_sha3(const uint8_t *big) {
    long bad = 0, total = 0;
    for (size_t n = 0; n <= 600; n++) {
        unsigned char want[EVP_MAX_MD_SIZE];
        unsigned int want_len = 0;
        if (!EVP_Digest(big + n, n, want, &want_len, EVP_sha3_256(), NULL) || want_len != 32) {
            SKIP("OpenSSL has no SHA3-256: permutation cross-check not run");
            return;
        }
        size_t chunk = 1 + n % 150; /* vary the absorb pattern too */
        evmjit_bytes32 got = sha3_via_header(big + n, n, chunk);
        total++;
        if (memcmp(got.bytes, want, 32) != 0 && bad++ < 3) {
            char g[65], w[65];
            to_hex(got.bytes, 32, g);
            to_hex(want, 32, w);
            fprintf(stderr, "sha3 mismatch at length %zu: header %s, OpenSSL %s\n", n, g, w);
        }
    }
    CHECKF(bad == 0, "permutation vs OpenSSL SHA3-256: %ld of %ld lengths mismatched", bad,
           total);
}

/* The header picks its keccak-f rounds by CPU on x86-64 (a BMI1 build and the portable one):
   both must give the same permutation, whichever one this machine's hashes above used. */
static void test_permutation_variants(void) {
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    long bad = 0, runs = 0;
    for (int n = 0; n < 200; n++) {
        uint64_t a[25], b[25];
        for (int i = 0; i < 25; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a[i] = b[i] = x;
        }
        evmjit__keccakf_rounds(a);
        evmjit__keccakf(b);
        bad += memcmp(a, b, sizeof a) != 0;
        runs++;
#if defined(__GNUC__) && defined(__x86_64__)
        if (__builtin_cpu_supports("bmi")) {
            for (int i = 0; i < 25; i++) b[i] = a[i];
            evmjit__keccakf_rounds(a);
            evmjit__keccakf_bmi(b);
            bad += memcmp(a, b, sizeof a) != 0;
            runs++;
        }
#endif
    }
    CHECKF(bad == 0, "keccak-f variants: %ld of %ld permutations differ from the portable rounds", bad, runs);
}

int main(void) {
    uint8_t *big = malloc(MIB + 601);
    if (!big) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    fill_pattern(big, MIB + 601);
    test_fixed_vectors();
    test_one_mib(big);
    test_incremental(big);
    test_against_openssl_sha3(big);
    test_permutation_variants();
    free(big);
    return check_summary();
}
