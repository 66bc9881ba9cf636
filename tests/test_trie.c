/* RLP and Merkle-Patricia trie roots (examples/trie.c) against the ethereum/tests vectors in
   $EVMJIT_FIXTURES/trie (RLPTests, TrieTests), plus a few built-in checks that run without
   fixtures. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include <ctype.h>
#include <gmp.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "examples/trie.h"

static const char *fixtures_dir(void) {
    const char *d = getenv("EVMJIT_FIXTURES");
    return d && *d ? d : "../shared/fixtures";
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decode "0x..." into a malloc'd buffer; false on bad hex. */
static bool hex_decode(const char *s, uint8_t **out, size_t *size) {
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    size_t n = strlen(s);
    if (n % 2) return false;
    uint8_t *p = trie_xmalloc(n / 2);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(p);
            return false;
        }
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = p;
    *size = n / 2;
    return true;
}

static bool hex_equals(const char *hex, const uint8_t *data, size_t size) {
    uint8_t *p;
    size_t n;
    if (!hex_decode(hex, &p, &n)) return false;
    bool eq = n == size && (size == 0 || memcmp(p, data, size) == 0);
    free(p);
    return eq;
}

static json_t *load_json(const char *path) {
    json_error_t err;
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!j) fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
    return j;
}

/* ---- built-in checks ------------------------------------------------------------------- */

static void test_builtin(void) {
    /* empty trie */
    evmjit_bytes32 r = trie_root(NULL, 0, true);
    uint8_t empty[32];
    uint8_t *p;
    size_t n;
    CHECK(hex_decode(TRIE_EMPTY_ROOT_HEX, &p, &n) && n == 32);
    memcpy(empty, p, 32);
    free(p);
    CHECK(memcmp(r.bytes, empty, 32) == 0);

    /* RLP basics */
    rlp_buf b = {0};
    rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
    CHECK(hex_equals("0x83646f67", b.data, b.size));
    b.size = 0;
    size_t l = rlp_list_begin(&b);
    rlp_put_bytes(&b, (const uint8_t *)"cat", 3);
    rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
    rlp_list_end(&b, l);
    CHECK(hex_equals("0xc88363617483646f67", b.data, b.size));
    b.size = 0;
    rlp_put_uint(&b, 0);
    CHECK(hex_equals("0x80", b.data, b.size));
    b.size = 0;
    rlp_put_uint(&b, 1024);
    CHECK(hex_equals("0x820400", b.data, b.size));
    CHECK(rlp_validate(b.data, b.size));
    rlp_buf_free(&b);

    /* validation rejects non-canonical forms */
    static const uint8_t noncanon1[] = {0x81, 0x05};       /* single byte wrapped */
    static const uint8_t noncanon2[] = {0xb8, 0x02, 1, 2}; /* long form for a short string */
    static const uint8_t trailing[] = {0x01, 0x02};
    CHECK(!rlp_validate(noncanon1, sizeof noncanon1));
    CHECK(!rlp_validate(noncanon2, sizeof noncanon2));
    CHECK(!rlp_validate(trailing, sizeof trailing));
}

/* ---- RLPTests -------------------------------------------------------------------------- */

/* Encode a JSON test input: strings (a leading '#' means a decimal big integer), integers
   and lists. false for inputs this encoder does not understand. */
static bool encode_json(rlp_buf *b, const json_t *in) {
    if (json_is_string(in)) {
        const char *s = json_string_value(in);
        if (s[0] == '#') {
            mpz_t z;
            if (mpz_init_set_str(z, s + 1, 10) != 0) {
                mpz_clear(z);
                return false;
            }
            size_t count = 0;
            uint8_t *bytes = mpz_export(NULL, &count, 1, 1, 1, 0, z);
            rlp_put_bytes(b, bytes, count);
            free(bytes);
            mpz_clear(z);
            return true;
        }
        rlp_put_bytes(b, (const uint8_t *)s, json_string_length(in));
        return true;
    }
    if (json_is_integer(in)) {
        json_int_t v = json_integer_value(in);
        if (v < 0) return false;
        rlp_put_uint(b, (uint64_t)v);
        return true;
    }
    if (json_is_array(in)) {
        size_t start = rlp_list_begin(b), i;
        json_t *item;
        json_array_foreach(in, i, item) {
            if (!encode_json(b, item)) return false;
        }
        rlp_list_end(b, start);
        return true;
    }
    return false;
}

static void test_rlp_file(const char *path) {
    json_t *root = load_json(path);
    CHECKF(root != NULL, "cannot load %s", path);
    if (!root) return;
    const char *name;
    json_t *t;
    json_object_foreach(root, name, t) {
        const json_t *in = json_object_get(t, "in");
        const char *out = json_string_value(json_object_get(t, "out"));
        CHECKF(in && out, "%s: %s: no in/out", path, name);
        if (!in || !out) continue;
        uint8_t *bytes;
        size_t size;
        bool hex_ok = hex_decode(out, &bytes, &size);
        if (json_is_string(in) && !strcmp(json_string_value(in), "INVALID")) {
            CHECKF(!hex_ok || !rlp_validate(bytes, size), "%s: %s: invalid RLP accepted", path,
                   name);
        } else if (json_is_string(in) && !strcmp(json_string_value(in), "VALID")) {
            CHECKF(hex_ok && rlp_validate(bytes, size), "%s: %s: valid RLP rejected", path, name);
        } else {
            rlp_buf b = {0};
            bool ok = encode_json(&b, in);
            CHECKF(ok && hex_ok && b.size == size && memcmp(b.data, bytes, size) == 0,
                   "%s: %s: encoding differs", path, name);
            CHECKF(hex_ok && rlp_validate(bytes, size), "%s: %s: valid RLP rejected", path, name);
            rlp_buf_free(&b);
        }
        if (hex_ok) free(bytes);
    }
    json_decref(root);
}

/* ---- TrieTests ------------------------------------------------------------------------- */

/* A trie test key or value: "0x..." is hex, anything else is the raw string; null is empty
   (deletion). */
static void trie_bytes(const json_t *j, uint8_t **out, size_t *size) {
    *out = NULL;
    *size = 0;
    if (!json_is_string(j)) return;
    const char *s = json_string_value(j);
    if (s[0] == '0' && s[1] == 'x' && hex_decode(s, out, size)) return;
    *size = json_string_length(j);
    *out = trie_xmalloc(*size);
    memcpy(*out, s, *size);
}

/* Apply the inserts (and deletions: null or empty value) in order, then hash. */
static void test_trie_file(const char *path, bool secure) {
    json_t *root = load_json(path);
    CHECKF(root != NULL, "cannot load %s", path);
    if (!root) return;
    const char *name;
    json_t *t;
    json_object_foreach(root, name, t) {
        json_t *in = json_object_get(t, "in");
        const char *want = json_string_value(json_object_get(t, "root"));
        size_t cap = json_is_array(in) ? json_array_size(in) : json_object_size(in), n = 0;
        trie_entry *e = trie_xcalloc(cap ? cap : 1, sizeof *e);
        size_t i;
        json_t *pair;
        const char *key;
        /* one insert: replace an equal key (last write wins), else append */
#define TRIE_PUT(kj, vj)                                                                      \
    do {                                                                                      \
        uint8_t *k_, *v_;                                                                     \
        size_t ks_, vs_;                                                                      \
        trie_bytes(kj, &k_, &ks_);                                                            \
        trie_bytes(vj, &v_, &vs_);                                                            \
        size_t at_ = n;                                                                       \
        for (size_t q_ = 0; q_ < n; q_++)                                                     \
            if (e[q_].key_size == ks_ && !memcmp(e[q_].key, k_, ks_)) at_ = q_;               \
        if (at_ < n) {                                                                        \
            free((void *)e[at_].key);                                                         \
            free((void *)e[at_].value);                                                       \
        } else {                                                                              \
            n++;                                                                              \
        }                                                                                     \
        e[at_].key = k_, e[at_].key_size = ks_, e[at_].value = v_, e[at_].value_size = vs_;   \
    } while (0)
        if (json_is_array(in)) {
            json_array_foreach(in, i, pair) {
                TRIE_PUT(json_array_get(pair, 0), json_array_get(pair, 1));
            }
        } else {
            json_t *v;
            json_object_foreach(in, key, v) {
                json_t *kj = json_string(key);
                TRIE_PUT(kj, v);
                json_decref(kj);
            }
        }
#undef TRIE_PUT
        evmjit_bytes32 got = trie_root(e, n, secure);
        CHECKF(want && hex_equals(want, got.bytes, 32), "%s: %s: root differs", path, name);
        for (size_t q = 0; q < n; q++) {
            free((void *)e[q].key);
            free((void *)e[q].value);
        }
        free(e);
    }
    json_decref(root);
}

int main(void) {
    test_builtin();

    const char *fx = fixtures_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/trie/RLPTests/rlptest.json", fx);
    FILE *probe = fopen(path, "r");
    if (!probe) {
        SKIP("trie fixtures not found at %s/trie (set EVMJIT_FIXTURES): RLP and trie vectors "
             "not run",
             fx);
        return check_summary();
    }
    fclose(probe);
    test_rlp_file(path);
    snprintf(path, sizeof path, "%s/trie/RLPTests/invalidRLPTest.json", fx);
    test_rlp_file(path);
    snprintf(path, sizeof path, "%s/trie/RLPTests/RandomRLPTests/example.json", fx);
    test_rlp_file(path);

    static const struct {
        const char *file;
        bool secure;
    } tries[] = {
        {"trietest.json", false},
        {"trieanyorder.json", false},
        {"trietest_secureTrie.json", true},
        {"trieanyorder_secureTrie.json", true},
        {"hex_encoded_securetrie_test.json", true},
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        snprintf(path, sizeof path, "%s/trie/TrieTests/%s", fx, tries[i].file);
        test_trie_file(path, tries[i].secure);
    }
    SKIP("trie/TrieTests/trietestnextprev.json: tests trie iteration (next/prev), which the "
         "root-only trie in examples/trie.c does not provide");
    return check_summary();
}
