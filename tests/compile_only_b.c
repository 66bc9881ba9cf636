/* Second translation unit: declarations only. */
#include "evmjit_cache.h"
#include "evmjit_cache.h"

evmjit_bytes32 compile_only_hash_from_b(void);
evmjit_bytes32 compile_only_hash_from_b(void) {
    return evmjit_keccak256((const uint8_t *)"abc", 3);
}
