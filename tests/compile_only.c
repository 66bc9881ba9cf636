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
    CHECK(strcmp(evmjit_error_name((evmjit_error)999), "unknown error") == 0);
    CHECK(strcmp(evmjit_status_name(EVMJIT_OUT_OF_GAS), "out of gas") == 0);
    CHECK(strcmp(evmjit_status_name((evmjit_status_code)99), "unknown status") == 0);
    return check_summary();
}
