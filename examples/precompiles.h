/* precompiles.h - the precompiled contracts the test host runs (host.c calls them).

   Implemented: ecrecover (1, libsecp256k1), sha256 (2) and ripemd160 (3) (OpenSSL
   libcrypto), identity (4), modexp (5, GMP; EIP-198 gas, EIP-2565 from Berlin, EIP-7883 and
   the EIP-7823 input bound from Osaka) and blake2f (9, EIP-152).
   Known but not implemented: bn254 add/mul/pairing (6, 7, 8), the KZG point evaluation (0x0a),
   BLS12-381 (0x0b-0x11, Prague) and P256VERIFY (0x100, Osaka). precompile_supported() tells
   them apart; a host that meets one reports the vector as skipped.

   All functions are thread-safe (the secp256k1 context is created once, under call_once). */
#ifndef EVMJIT_EXAMPLES_PRECOMPILES_H
#define EVMJIT_EXAMPLES_PRECOMPILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evmjit_cache.h"

/* The precompile number at `address` under `rev` (1..0x11, 0x100), or 0 when the address is
   not a precompile in that revision. */
unsigned precompile_id(evmjit_revision rev, const evmjit_address *address);

/* The highest precompile number in the contiguous range 1..n active under `rev` (for the
   transaction-level warm-up of EIP-2929); 0x100 (Osaka) is reported by precompile_id only. */
unsigned precompile_count(evmjit_revision rev);

/* true when this build implements precompile `id`. */
bool precompile_supported(unsigned id);

/* A short name ("ecrecover", "bn254 add", ...). */
const char *precompile_name(unsigned id);

/* Run precompile `id` (supported) on input[0..input_size) with `gas`. On SUCCESS *gas_left is
   gas minus the cost and *output (malloc'd, may be NULL when *output_size is 0) holds the
   result; the caller frees it. OUT_OF_GAS when the cost exceeds gas, PRECOMPILE_FAILURE for
   invalid input (both with *gas_left = 0 and no output). */
evmjit_status_code precompile_run(unsigned id, evmjit_revision rev, const uint8_t *input,
                                  size_t input_size, int64_t gas, int64_t *gas_left,
                                  uint8_t **output, size_t *output_size);

/* secp256k1 public-key recovery: the address that signed `hash` with (r, s) and recovery id
   `recid` (0 or 1). false when the signature is invalid. */
bool precompile_recover_address(const uint8_t hash[32], int recid, const uint8_t r[32],
                                const uint8_t s[32], evmjit_address *out);

/* The BLAKE2b compression function F (EIP-152) with `rounds` rounds, in place on h. */
void precompile_blake2b_f(uint64_t h[8], const uint64_t m[16], const uint64_t t[2], bool final,
                          uint32_t rounds);

#endif
