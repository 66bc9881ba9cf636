/* trie.h - RLP encoding and the Merkle-Patricia trie root, for the test host's state root.

   RLP (recursive length prefix) is Ethereum's serialisation: byte strings and lists. The
   encoder appends to a growable rlp_buf; a list is written by rlp_list_begin, its items,
   then rlp_list_end, which inserts the list header in front of the payload.

   trie_root computes the root hash of a Merkle-Patricia trie holding a set of key/value
   pairs, without building a persistent trie: the entries are sorted by key and the nodes
   are encoded bottom-up in one recursive pass (nodes whose RLP is shorter than 32 bytes are
   inlined in their parent, longer ones are referenced by their keccak-256). With `secure`,
   keys are keccak-hashed first, as Ethereum does for the state and storage tries.

   Allocation failure aborts the program (this is test and tool code). Not thread-safe per
   buffer; distinct buffers may be used from distinct threads. */
#ifndef EVMJIT_EXAMPLES_TRIE_H
#define EVMJIT_EXAMPLES_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evmjit_cache.h"

/* keccak-256 of the empty-string RLP (0x80): the root of an empty trie. */
#define TRIE_EMPTY_ROOT_HEX "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"

/* A growable byte buffer. Zero-initialise it; free with rlp_buf_free. */
typedef struct rlp_buf {
    uint8_t *data;
    size_t size;
    size_t cap;
} rlp_buf;

void rlp_buf_free(rlp_buf *b);
/* Append raw bytes (already RLP-encoded items, for example). */
void rlp_put_raw(rlp_buf *b, const uint8_t *data, size_t size);
/* Append a byte-string item. */
void rlp_put_bytes(rlp_buf *b, const uint8_t *data, size_t size);
/* Append an unsigned integer item (big-endian, no leading zeros; 0 is the empty string). */
void rlp_put_uint(rlp_buf *b, uint64_t v);
/* Append a big-endian unsigned integer of any width as an item (leading zeros stripped). */
void rlp_put_be(rlp_buf *b, const uint8_t *be, size_t size);
/* Start a list: returns the offset to hand to rlp_list_end. */
size_t rlp_list_begin(rlp_buf *b);
/* Close the list started at `start`: inserts its header. O(payload) for the move. */
void rlp_list_end(rlp_buf *b, size_t start);

/* true when data[0..size) is exactly one well-formed, canonically encoded RLP item (lists
   checked recursively). O(size). */
bool rlp_validate(const uint8_t *data, size_t size);

/* One key/value pair for trie_root. An empty value means "absent" (skipped). */
typedef struct trie_entry {
    const uint8_t *key;
    size_t key_size;
    const uint8_t *value;
    size_t value_size;
} trie_entry;

/* Root hash of the trie holding `entries` (keys must be distinct). With `secure`, each key is
   replaced by its keccak-256. The entries array is not modified. O(n log n + total size). */
evmjit_bytes32 trie_root(const trie_entry *entries, size_t count, bool secure);

/* Allocation helpers shared by the example modules: they abort with a message on failure. */
void *trie_xmalloc(size_t size);
void *trie_xcalloc(size_t count, size_t size);
void *trie_xrealloc(void *p, size_t size);

#endif
