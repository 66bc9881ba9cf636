/* The header included twice in one translation unit, with the implementation, and used from
   a second translation unit (compile_only_b.c) that includes it without the implementation:
   catches include-guard and multiple-definition mistakes. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"
#include "evmjit_cache.h" /* twice on purpose */
#include "check.h"

evmjit_bytes32 compile_only_hash_from_b(void);

int main(void) {
    evmjit_bytes32 a = evmjit_keccak256((const uint8_t *)"abc", 3);
    evmjit_bytes32 b = compile_only_hash_from_b();
    CHECK(memcmp(a.bytes, b.bytes, 32) == 0);
    CHECK(strcmp(evmjit_error_name(EVMJIT_OK), "ok") == 0);
    return check_summary();
}
