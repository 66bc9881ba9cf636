/* gas_vectors.h - small programs with an exact expected status and gas left, written by
   hand from the gas schedules. test_interp runs them on the interpreter; test_llvm runs them
   on compiled code and the interpreter and compares both with these values. */
#ifndef EVMJIT_TESTS_GAS_VECTORS_H
#define EVMJIT_TESTS_GAS_VECTORS_H
#include "evmjit_cache.h"

typedef struct gas_vector {
    const char *name;
    evmjit_revision rev;
    const char *hex; /* the code */
    int64_t gas;
    evmjit_status_code status;
    int64_t gas_left; /* 0 unless SUCCESS or REVERT */
} gas_vector;

static const gas_vector gas_vectors[] = {
    /* add11: PUSH1 1 PUSH1 1 ADD PUSH1 0 SSTORE STOP; Cancun: 4*3 + cold 2100 + set 20000 */
    {"add11 cancun", EVMJIT_CANCUN, "600160010160005500", 100000, EVMJIT_SUCCESS, 100000 - 12 - 22100},
    /* Frontier: SSTORE of a new nonzero slot costs 20000, no access lists */
    {"add11 frontier", EVMJIT_FRONTIER, "600160010160005500", 100000, EVMJIT_SUCCESS, 100000 - 12 - 20000},
    /* Istanbul: SSTORE with 2300 or less left fails (EIP-2200) */
    {"sstore stipend", EVMJIT_ISTANBUL, "600160005500", 2306, EVMJIT_OUT_OF_GAS, 0},
    {"underflow", EVMJIT_CANCUN, "01", 100, EVMJIT_STACK_UNDERFLOW, 0},
    {"undefined 0x0c", EVMJIT_CANCUN, "0c", 100, EVMJIT_UNDEFINED_INSTRUCTION, 0},
    {"invalid 0xfe", EVMJIT_CANCUN, "fe", 100, EVMJIT_INVALID_INSTRUCTION, 0},
    {"push0 before shanghai", EVMJIT_LONDON, "5f", 100, EVMJIT_UNDEFINED_INSTRUCTION, 0},
    {"push0 shanghai", EVMJIT_SHANGHAI, "5f00", 100, EVMJIT_SUCCESS, 98},
    {"clz before osaka", EVMJIT_PRAGUE, "60011e", 100, EVMJIT_UNDEFINED_INSTRUCTION, 0},
    {"clz osaka", EVMJIT_OSAKA, "60011e00", 100, EVMJIT_SUCCESS, 92},
    {"tload cancun", EVMJIT_CANCUN, "60005c00", 200, EVMJIT_SUCCESS, 97},
    {"tload shanghai", EVMJIT_SHANGHAI, "60005c00", 200, EVMJIT_UNDEFINED_INSTRUCTION, 0},
    {"shl before constantinople", EVMJIT_BYZANTIUM, "600160011b", 100, EVMJIT_UNDEFINED_INSTRUCTION, 0},
    {"revert before byzantium", EVMJIT_HOMESTEAD, "60006000fd", 100, EVMJIT_UNDEFINED_INSTRUCTION, 0},
    /* REVERT keeps the gas left: 2 pushes */
    {"revert", EVMJIT_CANCUN, "60006000fd", 100, EVMJIT_REVERT, 94},
    {"out of gas", EVMJIT_CANCUN, "6001600101", 8, EVMJIT_OUT_OF_GAS, 0},
    /* JUMP to 0 (a PUSH1) and into PUSH data are bad destinations */
    {"bad jump", EVMJIT_CANCUN, "600056", 100, EVMJIT_BAD_JUMP_DESTINATION, 0},
    {"jump into push data", EVMJIT_CANCUN, "6004566a5b00", 100, EVMJIT_BAD_JUMP_DESTINATION, 0},
    /* PUSH1 4 JUMP INVALID JUMPDEST STOP: 3 + 8 + 1 */
    {"good jump", EVMJIT_CANCUN, "600456fe5b00", 100, EVMJIT_SUCCESS, 88},
    /* JUMPI not taken falls through */
    {"jumpi not taken", EVMJIT_CANCUN, "6000600a5700", 100, EVMJIT_SUCCESS, 84},
    /* MSTORE at 0: 3 + 3 + 3 + memory 1 word (3) */
    {"mstore", EVMJIT_CANCUN, "602a60005200", 100, EVMJIT_SUCCESS, 88},
    /* MSTORE at offset 2^32 is out of gas, not a crash */
    {"mstore huge offset", EVMJIT_CANCUN, "602a64010000000052", 1000000, EVMJIT_OUT_OF_GAS, 0},
    /* KECCAK256 of 2^255 bytes: out of gas */
    {"keccak hostile size", EVMJIT_CANCUN, "7f800000000000000000000000000000000000000000000000000000000000000060002000", 1000000, EVMJIT_OUT_OF_GAS, 0},
    /* EXP 2**256-1 costs 10 + 50*32 (Spurious Dragon) */
    {"exp gas", EVMJIT_CANCUN, "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff60020a00", 10000, EVMJIT_SUCCESS, 10000 - 3 - 3 - 10 - 50 * 32},
    /* truncated PUSH at the end reads zeros and stops */
    {"truncated push", EVMJIT_CANCUN, "61ff", 100, EVMJIT_SUCCESS, 97},
};
#endif
