/* trie.c - RLP encoding and Merkle-Patricia trie roots. See trie.h. */
#include "trie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation ------------------------------------------------------------------------ */

static void trie_oom(size_t size) {
    fprintf(stderr, "evmjit: out of memory (allocating %zu bytes)\n", size);
    abort();
}

void *trie_xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) trie_oom(size);
    return p;
}

void *trie_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) trie_oom(count * size);
    return p;
}

void *trie_xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q) trie_oom(size);
    return q;
}

/* ---- RLP encoding ---------------------------------------------------------------------- */

void rlp_buf_free(rlp_buf *b) {
    free(b->data);
    b->data = NULL;
    b->size = b->cap = 0;
}

static void rlp_reserve(rlp_buf *b, size_t extra) {
    if (b->size + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->size + extra) cap *= 2;
    b->data = trie_xrealloc(b->data, cap);
    b->cap = cap;
}

void rlp_put_raw(rlp_buf *b, const uint8_t *data, size_t size) {
    if (size == 0) return;
    rlp_reserve(b, size);
    memcpy(b->data + b->size, data, size);
    b->size += size;
}

/* Length prefix for a payload of `len` bytes: short form `base + len` below 56, else
   `base + 55 + n` followed by the n-byte big-endian length. Writes at most 9 bytes. */
static size_t rlp_header(uint8_t out[9], uint8_t base, size_t len) {
    if (len < 56) {
        out[0] = (uint8_t)(base + len);
        return 1;
    }
    uint8_t tmp[8];
    size_t n = 0;
    for (size_t v = len; v; v >>= 8) tmp[n++] = (uint8_t)v;
    out[0] = (uint8_t)(base + 55 + n);
    for (size_t i = 0; i < n; i++) out[1 + i] = tmp[n - 1 - i];
    return 1 + n;
}

void rlp_put_bytes(rlp_buf *b, const uint8_t *data, size_t size) {
    if (size == 1 && data[0] < 0x80) {
        rlp_put_raw(b, data, 1);
        return;
    }
    uint8_t h[9];
    rlp_put_raw(b, h, rlp_header(h, 0x80, size));
    rlp_put_raw(b, data, size);
}

void rlp_put_be(rlp_buf *b, const uint8_t *be, size_t size) {
    while (size > 0 && be[0] == 0) be++, size--;
    rlp_put_bytes(b, be, size);
}

void rlp_put_uint(rlp_buf *b, uint64_t v) {
    uint8_t be[8];
    for (int i = 0; i < 8; i++) be[i] = (uint8_t)(v >> (56 - 8 * i));
    rlp_put_be(b, be, 8);
}

size_t rlp_list_begin(rlp_buf *b) { return b->size; }

void rlp_list_end(rlp_buf *b, size_t start) {
    uint8_t h[9];
    size_t payload = b->size - start;
    size_t n = rlp_header(h, 0xc0, payload);
    rlp_reserve(b, n);
    memmove(b->data + start + n, b->data + start, payload);
    memcpy(b->data + start, h, n);
    b->size += n;
}

/* ---- RLP validation -------------------------------------------------------------------- */

/* Parse one item at data[*pos..end); advances *pos past it. Canonical form is required:
   single bytes below 0x80 are not wrapped, long forms carry lengths >= 56 without leading
   zero bytes. `depth` bounds recursion on hostile input. */
static bool rlp_item(const uint8_t *data, size_t *pos, size_t end, int depth) {
    if (*pos >= end || depth > 1024) return false;
    uint8_t p = data[*pos];
    size_t len, hdr;
    bool list = p >= 0xc0;
    uint8_t base = list ? 0xc0 : 0x80;
    if (p < 0x80) {
        *pos += 1;
        return true;
    }
    if (p - base < 56) {
        len = (size_t)(p - base);
        hdr = 1;
        if (!list && len == 1) {
            if (*pos + 1 >= end || data[*pos + 1] < 0x80) return false; /* not canonical */
        }
    } else {
        size_t n = (size_t)(p - base - 55);
        if (n > 8 || *pos + 1 + n > end) return false;
        if (data[*pos + 1] == 0) return false; /* leading zero in the length */
        len = 0;
        for (size_t i = 0; i < n; i++) {
            if (len >> 56) return false;
            len = (len << 8) | data[*pos + 1 + i];
        }
        if (len < 56) return false; /* should have used the short form */
        hdr = 1 + n;
    }
    if (len > end - *pos - hdr) return false;
    size_t start = *pos + hdr, stop = start + len;
    if (list) {
        size_t q = start;
        while (q < stop)
            if (!rlp_item(data, &q, stop, depth + 1)) return false;
    }
    *pos = stop;
    return true;
}

bool rlp_validate(const uint8_t *data, size_t size) {
    size_t pos = 0;
    return rlp_item(data, &pos, size, 0) && pos == size;
}

/* ---- trie root ------------------------------------------------------------------------- */

/* A key as nibbles (4-bit digits, most significant first) with its value. */
typedef struct trie_item {
    uint8_t *nibbles;
    size_t len;
    const uint8_t *value;
    size_t value_size;
} trie_item;

static int trie_item_cmp(const void *pa, const void *pb) {
    const trie_item *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->nibbles, b->nibbles, n);
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* Hex-prefix encoding of nibbles[0..n) with the leaf flag: flag nibble (2 for a leaf, +1
   when the length is odd), then the nibbles packed two per byte. */
static void trie_put_path(rlp_buf *out, const uint8_t *nibbles, size_t n, bool leaf) {
    uint8_t stack_buf[40];
    size_t bytes = n / 2 + 1;
    uint8_t *p = bytes <= sizeof stack_buf ? stack_buf : trie_xmalloc(bytes);
    uint8_t flag = (uint8_t)((leaf ? 2 : 0) + (n & 1));
    size_t i = 0;
    if (n & 1) {
        p[0] = (uint8_t)(flag << 4 | nibbles[0]);
        i = 1;
    } else {
        p[0] = (uint8_t)(flag << 4);
    }
    for (size_t k = 1; i < n; i += 2, k++) p[k] = (uint8_t)(nibbles[i] << 4 | nibbles[i + 1]);
    rlp_put_bytes(out, p, bytes);
    if (p != stack_buf) free(p);
}

static void trie_node(const trie_item *items, size_t lo, size_t hi, size_t depth, rlp_buf *out);

/* Append the reference to the node of items[lo..hi): the node itself when its RLP is under
   32 bytes, else its hash as a 32-byte string. */
static void trie_ref(const trie_item *items, size_t lo, size_t hi, size_t depth, rlp_buf *out) {
    rlp_buf child = {0};
    trie_node(items, lo, hi, depth, &child);
    if (child.size < 32) {
        rlp_put_raw(out, child.data, child.size);
    } else {
        evmjit_bytes32 h = evmjit_keccak256(child.data, child.size);
        rlp_put_bytes(out, h.bytes, 32);
    }
    rlp_buf_free(&child);
}

/* Encode the node holding items[lo..hi) (sorted, hi > lo), all sharing nibbles[0..depth).
   Recursion depth is bounded by the longest key in nibbles. */
static void trie_node(const trie_item *items, size_t lo, size_t hi, size_t depth, rlp_buf *out) {
    size_t list = rlp_list_begin(out);
    if (hi - lo == 1) { /* leaf: rest of the path, value */
        trie_put_path(out, items[lo].nibbles + depth, items[lo].len - depth, true);
        rlp_put_bytes(out, items[lo].value, items[lo].value_size);
        rlp_list_end(out, list);
        return;
    }
    /* sorted order: the prefix shared by the first and last item is shared by all */
    const trie_item *a = &items[lo], *b = &items[hi - 1];
    size_t common = 0;
    while (depth + common < a->len && depth + common < b->len &&
           a->nibbles[depth + common] == b->nibbles[depth + common])
        common++;
    if (common > 0) { /* extension: shared path, then the branch below it */
        trie_put_path(out, a->nibbles + depth, common, false);
        trie_ref(items, lo, hi, depth + common, out);
        rlp_list_end(out, list);
        return;
    }
    /* branch: 16 children by the next nibble, then the value of a key ending here */
    const trie_item *here = NULL;
    size_t i = lo;
    if (items[i].len == depth) here = &items[i++];
    for (uint8_t nib = 0; nib < 16; nib++) {
        size_t j = i;
        while (j < hi && items[j].nibbles[depth] == nib) j++;
        if (j > i) trie_ref(items, i, j, depth + 1, out);
        else rlp_put_bytes(out, NULL, 0);
        i = j;
    }
    if (here) rlp_put_bytes(out, here->value, here->value_size);
    else rlp_put_bytes(out, NULL, 0);
    rlp_list_end(out, list);
}

evmjit_bytes32 trie_root(const trie_entry *entries, size_t count, bool secure) {
    trie_item *items = trie_xcalloc(count ? count : 1, sizeof *items);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (entries[i].value_size == 0) continue; /* empty value: absent */
        const uint8_t *key = entries[i].key;
        size_t key_size = entries[i].key_size;
        evmjit_bytes32 hashed;
        if (secure) {
            hashed = evmjit_keccak256(key, key_size);
            key = hashed.bytes;
            key_size = 32;
        }
        trie_item *it = &items[n++];
        it->len = key_size * 2;
        it->nibbles = trie_xmalloc(it->len);
        for (size_t k = 0; k < key_size; k++) {
            it->nibbles[2 * k] = key[k] >> 4;
            it->nibbles[2 * k + 1] = key[k] & 15;
        }
        it->value = entries[i].value;
        it->value_size = entries[i].value_size;
    }
    evmjit_bytes32 root;
    if (n == 0) {
        static const uint8_t empty = 0x80;
        root = evmjit_keccak256(&empty, 1);
    } else {
        qsort(items, n, sizeof *items, trie_item_cmp);
        rlp_buf node = {0};
        trie_node(items, 0, n, 0, &node);
        root = evmjit_keccak256(node.data, node.size); /* the root is hashed even if short */
        rlp_buf_free(&node);
    }
    for (size_t i = 0; i < n; i++) free(items[i].nibbles);
    free(items);
    return root;
}
