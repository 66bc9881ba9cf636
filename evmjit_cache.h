/* evmjit_cache.h - run Ethereum contracts as native code, from plain C.

   MANUAL
   ======

   Including
   ---------
   This is a single-header library. In exactly ONE C file of your program write

       #define EVMJIT_CACHE_IMPLEMENTATION
       #include "evmjit_cache.h"

   and include it without the macro everywhere else. Link with -lpthread -ldl (glibc 2.34 and
   newer need neither). Define EVMJIT_STATIC before the include to make every function static
   to that one file.

   Example
   -------
       #define EVMJIT_CACHE_IMPLEMENTATION
       #include "evmjit_cache.h"

       // host, host_ctx: your state (an EVMC-style host interface, see evmjit_host_interface)
       evmjit_message msg = {0};
       msg.kind = EVMJIT_CALL;
       msg.gas = 1000000;
       msg.recipient = contract_address;
       msg.input_data = calldata;
       msg.input_size = calldata_size;

       // NULL runtime: always interpret. With a runtime (evmjit_runtime_create) hot code is
       // compiled in the background and later calls run native code.
       evmjit_result r = evmjit_execute(NULL, &host, host_ctx, EVMJIT_CANCUN, &msg,
                                        code, code_size, &code_hash);
       if (r.status_code == EVMJIT_SUCCESS) use(r.output_data, r.output_size);
       if (r.release) r.release(&r);

   Configuration macros
   --------------------
   EVMJIT_CACHE_IMPLEMENTATION  compile the implementation into this translation unit.
   EVMJIT_STATIC                all public functions become static (one-file use).
   EVMJIT_API                   override the linkage/visibility of public functions.
   EVMJIT_ASSERT(c)             the assert used for broken caller contracts (default assert).

   Memory
   ------
   Every allocation the runtime makes goes through an evmjit_allocator (alloc, free with size,
   user pointer); a zeroed allocator means malloc/free. The hot paths - lookup, event push and
   interpreter dispatch - never allocate.

   Errors and logging
   ------------------
   Library functions return an evmjit_error (EVMJIT_OK is 0); evmjit_error_name() names each
   value. EVM execution reports an evmjit_status_code inside evmjit_result, exactly as EVMC
   does. An optional evmjit_logger receives messages; it may be called from any thread, so it
   must be thread-safe. Messages name the setting to change when a bound drops work.

   Threading model
   ---------------
   (See the code cache section: one backend thread owns the resident table and is its only
   writer; callers read it lock-free; worker threads run compilers.)

   Artifact store layout
   ---------------------
   (A directory of shared objects and manifests; see the artifact store section.)

   The LLVM backend
   ----------------
   evmjit_llvm.c is the only file that uses LLVM. Without it this header still interprets
   every contract and runs ahead-of-time artifacts compiled elsewhere.

   EVMC compatibility
   ------------------
   The public types below are binary-compatible with EVMC ABI version 12: same layout, same
   enum values, evmjit_ names. Sizes and offsets are checked at compile time.

   License
   -------
   MIT. See the repository.
*/
#ifndef EVMJIT_CACHE_H
#define EVMJIT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef EVMJIT_API
#ifdef EVMJIT_STATIC
#define EVMJIT_API static
#else
#define EVMJIT_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
   Library results, allocator, logger
   ========================================================================================== */

/* The one list of library results: X(name, description). */
#define EVMJIT_ERRORS(X)                                                                      \
    X(OK, "ok")                                                                               \
    X(INVALID_ARGUMENT, "invalid argument")                                                   \
    X(OUT_OF_MEMORY, "out of memory")                                                         \
    X(IO, "input/output error")                                                               \
    X(UNSUPPORTED, "not supported in this build")                                             \
    X(NOT_FOUND, "not found")                                                                 \
    X(BUSY, "queue full or busy")                                                             \
    X(TIMEOUT, "timed out")                                                                   \
    X(COMPILE_FAILED, "compilation failed")                                                   \
    X(INELIGIBLE, "code not eligible for compilation")                                        \
    X(CORRUPT, "corrupt or foreign data")                                                     \
    X(UNTRUSTED, "untrusted file or directory permissions")                                   \
    X(SHUTDOWN, "runtime is shutting down")                                                   \
    X(THREAD, "thread creation failed")

typedef enum evmjit_error {
#define EVMJIT_ERROR_ENUM(name, text) EVMJIT_ERR_##name,
    EVMJIT_ERRORS(EVMJIT_ERROR_ENUM)
#undef EVMJIT_ERROR_ENUM
    EVMJIT_ERROR_COUNT
} evmjit_error;
#define EVMJIT_OK EVMJIT_ERR_OK

/* The name of a library result ("ok", "invalid argument", ...); "unknown error" for values
   outside the enum. Any thread; never blocks. */
EVMJIT_API const char *evmjit_error_name(evmjit_error e);

/* Optional allocator. A zeroed struct means malloc/free. `free` gets the size that was
   allocated. Called from any thread: the functions must be thread-safe. */
typedef struct evmjit_allocator {
    void *(*alloc)(size_t size, void *user);
    void (*free)(void *ptr, size_t size, void *user);
    void *user;
} evmjit_allocator;

typedef enum evmjit_log_level {
    EVMJIT_LOG_ERROR = 0,
    EVMJIT_LOG_WARN = 1,
    EVMJIT_LOG_INFO = 2,
    EVMJIT_LOG_DEBUG = 3
} evmjit_log_level;

/* Optional logger: called from any thread (callers, backend, workers), so it must be
   thread-safe. `message` is valid only during the call. */
typedef struct evmjit_logger {
    void (*log)(evmjit_log_level level, const char *message, void *user);
    void *user;
} evmjit_logger;

/* ============================================================================================
   EVMC-compatible types (EVMC ABI version 12)
   ========================================================================================== */

#define EVMJIT_EVMC_ABI_VERSION 12

/* 32 bytes; 256-bit values in it are big-endian. */
typedef struct evmjit_bytes32 {
    uint8_t bytes[32];
} evmjit_bytes32;
typedef evmjit_bytes32 evmjit_uint256be;

typedef struct evmjit_address {
    uint8_t bytes[20];
} evmjit_address;

typedef enum evmjit_call_kind {
    EVMJIT_CALL = 0,
    EVMJIT_DELEGATECALL = 1,
    EVMJIT_CALLCODE = 2,
    EVMJIT_CREATE = 3,
    EVMJIT_CREATE2 = 4,
    EVMJIT_EOFCREATE = 5
} evmjit_call_kind;

typedef enum evmjit_flags {
    EVMJIT_STATIC_FLAG = 1,  /* STATICCALL: no state changes */
    EVMJIT_DELEGATED = 2     /* EIP-7702 delegated code */
} evmjit_flags;

typedef struct evmjit_message {
    evmjit_call_kind kind;
    uint32_t flags;
    int32_t depth;
    int64_t gas;
    evmjit_address recipient;
    evmjit_address sender;
    const uint8_t *input_data;
    size_t input_size;
    evmjit_uint256be value;
    evmjit_bytes32 create2_salt;
    evmjit_address code_address;
    const uint8_t *code; /* only for EOFCREATE; legacy code comes as execute's arguments */
    size_t code_size;
} evmjit_message;

typedef struct evmjit_tx_initcode {
    evmjit_bytes32 hash;
    const uint8_t *code;
    size_t code_size;
} evmjit_tx_initcode;

typedef struct evmjit_tx_context {
    evmjit_uint256be tx_gas_price;
    evmjit_address tx_origin;
    evmjit_address block_coinbase;
    int64_t block_number;
    int64_t block_timestamp;
    int64_t block_gas_limit;
    evmjit_uint256be block_prev_randao;
    evmjit_uint256be chain_id;
    evmjit_uint256be block_base_fee;
    evmjit_uint256be blob_base_fee;
    const evmjit_bytes32 *blob_hashes;
    size_t blob_hashes_count;
    const evmjit_tx_initcode *initcodes;
    size_t initcodes_count;
} evmjit_tx_context;

typedef enum evmjit_status_code {
    EVMJIT_SUCCESS = 0,
    EVMJIT_FAILURE = 1,
    EVMJIT_REVERT = 2,
    EVMJIT_OUT_OF_GAS = 3,
    EVMJIT_INVALID_INSTRUCTION = 4,
    EVMJIT_UNDEFINED_INSTRUCTION = 5,
    EVMJIT_STACK_OVERFLOW = 6,
    EVMJIT_STACK_UNDERFLOW = 7,
    EVMJIT_BAD_JUMP_DESTINATION = 8,
    EVMJIT_INVALID_MEMORY_ACCESS = 9,
    EVMJIT_CALL_DEPTH_EXCEEDED = 10,
    EVMJIT_STATIC_MODE_VIOLATION = 11,
    EVMJIT_PRECOMPILE_FAILURE = 12,
    EVMJIT_CONTRACT_VALIDATION_FAILURE = 13,
    EVMJIT_ARGUMENT_OUT_OF_RANGE = 14,
    EVMJIT_WASM_UNREACHABLE_INSTRUCTION = 15,
    EVMJIT_WASM_TRAP = 16,
    EVMJIT_INSUFFICIENT_BALANCE = 17,
    EVMJIT_INTERNAL_ERROR = -1,
    EVMJIT_REJECTED = -2,
    EVMJIT_OUT_OF_MEMORY = -3
} evmjit_status_code;

/* The name of an execution status ("success", "out of gas", ...); "unknown status" for
   values outside the enum. Any thread; never blocks. */
EVMJIT_API const char *evmjit_status_name(evmjit_status_code status);

struct evmjit_result;
typedef void (*evmjit_release_result_fn)(const struct evmjit_result *result);

typedef struct evmjit_result {
    evmjit_status_code status_code;
    int64_t gas_left;   /* 0 unless SUCCESS or REVERT */
    int64_t gas_refund; /* 0 unless SUCCESS */
    const uint8_t *output_data;
    size_t output_size;
    evmjit_release_result_fn release; /* may be NULL; the receiver calls it once if set */
    evmjit_address create_address;
    uint8_t padding[4]; /* with create_address: 24 bytes the creator may use */
} evmjit_result;

typedef enum evmjit_storage_status {
    EVMJIT_STORAGE_ASSIGNED = 0,
    EVMJIT_STORAGE_ADDED = 1,
    EVMJIT_STORAGE_DELETED = 2,
    EVMJIT_STORAGE_MODIFIED = 3,
    EVMJIT_STORAGE_DELETED_ADDED = 4,
    EVMJIT_STORAGE_MODIFIED_DELETED = 5,
    EVMJIT_STORAGE_DELETED_RESTORED = 6,
    EVMJIT_STORAGE_ADDED_DELETED = 7,
    EVMJIT_STORAGE_MODIFIED_RESTORED = 8
} evmjit_storage_status;

typedef enum evmjit_access_status {
    EVMJIT_ACCESS_COLD = 0,
    EVMJIT_ACCESS_WARM = 1
} evmjit_access_status;

typedef enum evmjit_revision {
    EVMJIT_FRONTIER = 0,
    EVMJIT_HOMESTEAD = 1,
    EVMJIT_TANGERINE_WHISTLE = 2,
    EVMJIT_SPURIOUS_DRAGON = 3,
    EVMJIT_BYZANTIUM = 4,
    EVMJIT_CONSTANTINOPLE = 5,
    EVMJIT_PETERSBURG = 6,
    EVMJIT_ISTANBUL = 7,
    EVMJIT_BERLIN = 8,
    EVMJIT_LONDON = 9,
    EVMJIT_PARIS = 10,
    EVMJIT_SHANGHAI = 11,
    EVMJIT_CANCUN = 12,
    EVMJIT_PRAGUE = 13,
    EVMJIT_OSAKA = 14,
    EVMJIT_EXPERIMENTAL = 15,
    EVMJIT_MAX_REVISION = EVMJIT_EXPERIMENTAL
} evmjit_revision;

typedef enum evmjit_capabilities {
    EVMJIT_CAPABILITY_EVM1 = 1,
    EVMJIT_CAPABILITY_EWASM = 2,
    EVMJIT_CAPABILITY_PRECOMPILES = 4
} evmjit_capabilities;

typedef enum evmjit_set_option_result {
    EVMJIT_SET_OPTION_SUCCESS = 0,
    EVMJIT_SET_OPTION_INVALID_NAME = 1,
    EVMJIT_SET_OPTION_INVALID_VALUE = 2
} evmjit_set_option_result;

/* Opaque host state, passed back to every host function. */
typedef struct evmjit_host_context evmjit_host_context;

typedef struct evmjit_host_interface {
    bool (*account_exists)(evmjit_host_context *ctx, const evmjit_address *address);
    evmjit_bytes32 (*get_storage)(evmjit_host_context *ctx, const evmjit_address *address,
                                  const evmjit_bytes32 *key);
    evmjit_storage_status (*set_storage)(evmjit_host_context *ctx, const evmjit_address *address,
                                         const evmjit_bytes32 *key, const evmjit_bytes32 *value);
    evmjit_uint256be (*get_balance)(evmjit_host_context *ctx, const evmjit_address *address);
    size_t (*get_code_size)(evmjit_host_context *ctx, const evmjit_address *address);
    evmjit_bytes32 (*get_code_hash)(evmjit_host_context *ctx, const evmjit_address *address);
    size_t (*copy_code)(evmjit_host_context *ctx, const evmjit_address *address, size_t offset,
                        uint8_t *buffer, size_t size);
    bool (*selfdestruct)(evmjit_host_context *ctx, const evmjit_address *address,
                         const evmjit_address *beneficiary);
    evmjit_result (*call)(evmjit_host_context *ctx, const evmjit_message *msg);
    evmjit_tx_context (*get_tx_context)(evmjit_host_context *ctx);
    evmjit_bytes32 (*get_block_hash)(evmjit_host_context *ctx, int64_t number);
    void (*emit_log)(evmjit_host_context *ctx, const evmjit_address *address, const uint8_t *data,
                     size_t data_size, const evmjit_bytes32 topics[], size_t topics_count);
    evmjit_access_status (*access_account)(evmjit_host_context *ctx,
                                           const evmjit_address *address);
    evmjit_access_status (*access_storage)(evmjit_host_context *ctx, const evmjit_address *address,
                                           const evmjit_bytes32 *key);
    evmjit_bytes32 (*get_transient_storage)(evmjit_host_context *ctx,
                                            const evmjit_address *address,
                                            const evmjit_bytes32 *key);
    void (*set_transient_storage)(evmjit_host_context *ctx, const evmjit_address *address,
                                  const evmjit_bytes32 *key, const evmjit_bytes32 *value);
} evmjit_host_interface;

/* The EVMC VM object, as exported by libevmjit.so (evmc_create_evmjit). */
struct evmjit_vm;
typedef void (*evmjit_destroy_fn)(struct evmjit_vm *vm);
typedef evmjit_result (*evmjit_execute_fn)(struct evmjit_vm *vm,
                                           const evmjit_host_interface *host,
                                           evmjit_host_context *ctx, evmjit_revision rev,
                                           const evmjit_message *msg, const uint8_t *code,
                                           size_t code_size);
typedef uint32_t (*evmjit_get_capabilities_fn)(struct evmjit_vm *vm);
typedef evmjit_set_option_result (*evmjit_set_option_fn)(struct evmjit_vm *vm, const char *name,
                                                          const char *value);

typedef struct evmjit_vm {
    const int abi_version;
    const char *name;
    const char *version;
    evmjit_destroy_fn destroy;
    evmjit_execute_fn execute;
    evmjit_get_capabilities_fn get_capabilities;
    evmjit_set_option_fn set_option;
} evmjit_vm;

/* ============================================================================================
   Primitives: keccak-256
   ========================================================================================== */

/* keccak-256 (original Keccak padding 0x01, as Ethereum uses; not SHA3-256).
   Any thread; never blocks; O(size). */
EVMJIT_API evmjit_bytes32 evmjit_keccak256(const uint8_t *data, size_t size);

/* Incremental keccak-256: init, absorb any number of times, then final. */
typedef struct evmjit_keccak {
    uint64_t state[25];
    uint8_t buffer[136];
    size_t buffered;
} evmjit_keccak;
EVMJIT_API void evmjit_keccak_init(evmjit_keccak *k);
EVMJIT_API void evmjit_keccak_absorb(evmjit_keccak *k, const uint8_t *data, size_t size);
EVMJIT_API evmjit_bytes32 evmjit_keccak_final(evmjit_keccak *k);

/* ============================================================================================
   Primitives: 256-bit words
   ========================================================================================== */

/* A 256-bit EVM word as four 64-bit limbs, least significant first (w[0] is bits 0..63).
   On little-endian machines its memory layout equals LLVM's i256, so compiled code and the
   interpreter share the EVM stack as an array of these. */
typedef struct evmjit_word {
    uint64_t w[4];
} evmjit_word;

EVMJIT_API evmjit_word evmjit_word_from_bytes32(const evmjit_bytes32 *b);
EVMJIT_API evmjit_bytes32 evmjit_word_to_bytes32(evmjit_word a);

/* ============================================================================================
   Execution: frames, compiled programs, the interpreter
   ========================================================================================== */

#define EVMJIT_STACK_LIMIT 1024 /* EVM stack items */
#define EVMJIT_MAX_DEPTH 1024   /* nested call frames */

typedef struct evmjit_runtime evmjit_runtime;  /* the code cache; see below */
typedef struct evmjit_builtins evmjit_builtins; /* runtime support table for compiled code */
typedef struct evmjit_frame evmjit_frame;

/* A compiled contract, and the interpreter: run one call frame to its end. Returns the
   frame's status; on SUCCESS or REVERT the output is frame->output_offset/output_size in
   frame->memory. */
typedef evmjit_status_code (*evmjit_fn)(evmjit_frame *frame);

/* One call frame. Part of the evmjit ABI (EVMJIT_ABI_VERSION): compiled code and AOT
   artifacts read and write these fields directly, so their order only changes with the ABI
   version. Owned by the thread running the frame. */
struct evmjit_frame {
    int64_t gas;        /* gas left */
    int64_t gas_refund; /* refund accumulated by this frame (may be negative) */
    evmjit_word *stack; /* EVMJIT_STACK_LIMIT words handed in by the runtime */
    uint8_t *memory;    /* EVM memory; memory_size is always a multiple of 32 */
    uint64_t memory_size;
    uint64_t memory_capacity;
    const evmjit_message *msg;
    const uint8_t *code;
    size_t code_size;
    const evmjit_host_interface *host;
    evmjit_host_context *host_ctx;
    const evmjit_builtins *builtins;
    evmjit_revision rev;
    int32_t tx_loaded;      /* tx is valid (fetched once, on first use) */
    evmjit_tx_context tx;
    evmjit_result last_call; /* owns the return-data buffer of the last CALL/CREATE */
    const uint8_t *return_data;
    size_t return_data_size;
    uint64_t output_offset; /* RETURN/REVERT slice of memory */
    uint64_t output_size;
    const evmjit_runtime *runtime; /* may be NULL */
    void *scratch;                 /* per-frame pooled buffers (interpreter analysis) */
};

/* Runtime support for compiled code: every builtin has one signature. `args` points at the
   top of the EVM stack (which grows down: args[0] is the first operand popped, args[1] the
   second); a builtin that yields a value writes it to args[inputs - 1]. `imm` is the opcode
   for builtins shared by several opcodes (LOG topics count for LOG). Builtins read and write
   frame->gas and frame->gas_refund. Indices are part of the evmjit ABI. */
typedef evmjit_status_code (*evmjit_builtin_fn)(evmjit_frame *frame, evmjit_word *args, int imm);

#define EVMJIT_BUILTINS(X)                                                                    \
    X(EXP, exp) X(KECCAK256, keccak256) X(MLOAD, mload) X(MSTORE, mstore)                     \
    X(MSTORE8, mstore8) X(CALLDATACOPY, calldatacopy) X(CODECOPY, codecopy)                   \
    X(RETURNDATACOPY, returndatacopy) X(MCOPY, mcopy) X(EXTCODECOPY, extcodecopy)             \
    X(BALANCE, balance) X(EXTCODESIZE, extcodesize) X(EXTCODEHASH, extcodehash)               \
    X(SELFBALANCE, selfbalance) X(BLOCKHASH, blockhash) X(SLOAD, sload) X(SSTORE, sstore)     \
    X(TLOAD, tload) X(TSTORE, tstore) X(RETURN, return) X(SELFDESTRUCT, selfdestruct)         \
    X(DIV, div) X(SDIV, sdiv) X(MOD, mod) X(SMOD, smod) X(ADDMOD, addmod) X(MULMOD, mulmod)   \
    X(TX_GETTER, tx_getter) X(LOG, log) X(CALL, call) X(CREATE, create)

typedef enum evmjit_builtin_id {
#define EVMJIT_BUILTIN_ENUM(NAME, name) EVMJIT_BUILTIN_##NAME,
    EVMJIT_BUILTINS(EVMJIT_BUILTIN_ENUM)
#undef EVMJIT_BUILTIN_ENUM
    EVMJIT_BUILTIN_COUNT
} evmjit_builtin_id;

struct evmjit_builtins {
    evmjit_builtin_fn fn[EVMJIT_BUILTIN_COUNT];
};

/* The one table of runtime support functions (static storage). Any thread. */
EVMJIT_API const evmjit_builtins *evmjit_builtins_table(void);

/* The tier-0 program for any code: interprets frame->code. Any thread. */
EVMJIT_API evmjit_status_code evmjit_interpret(evmjit_frame *frame);

/* [LLVM backend] The interpreter's instruction table entry for opcode `op` (0..255) under
   `rev`: static gas, stack items required, and items pushed minus popped. Returns false (and
   leaves the outputs alone) when `op` is undefined in `rev` or `rev` is out of range. The
   compiler uses it so that both tiers share one table. Any thread; never blocks. */
EVMJIT_API bool evmjit_op_info(evmjit_revision rev, unsigned op, int *gas, int *inputs,
                               int *growth);

/* Execute one call frame of `code` for `msg` under revision `rev`, exactly like EVMC's
   execute. `runtime` may be NULL: then the code is always interpreted. `code_hash` is the
   keccak-256 of `code`, used as the cache key (may be NULL when runtime is NULL). The result's
   output is owned by the result: call result.release(&result) once when done (if non-NULL).
   Reentrant: host->call may call evmjit_execute again for a nested frame. Any thread; blocks
   only for the frame's own execution (never on a compiler unless the runtime is configured
   as blocking). */
EVMJIT_API evmjit_result evmjit_execute(evmjit_runtime *runtime, const evmjit_host_interface *host,
                                        evmjit_host_context *host_ctx, evmjit_revision rev,
                                        const evmjit_message *msg, const uint8_t *code,
                                        size_t code_size, const evmjit_bytes32 *code_hash);

/* Frees the calling thread's pooled frame buffers (EVM stacks, memory, code analysis). They
   are also freed when the thread exits; call this from a thread that outlives its use of
   evmjit (for example the main thread before a leak check). Never blocks. */
EVMJIT_API void evmjit_thread_cleanup(void);

#ifdef __cplusplus
}
#endif
#endif /* EVMJIT_CACHE_H */

/* ============================================================================================
   IMPLEMENTATION
   ========================================================================================== */
#ifdef EVMJIT_CACHE_IMPLEMENTATION
#ifndef EVMJIT_CACHE_IMPLEMENTATION_DONE
#define EVMJIT_CACHE_IMPLEMENTATION_DONE

#include <stdlib.h>
#include <string.h>

#ifndef EVMJIT_ASSERT
#include <assert.h>
#define EVMJIT_ASSERT(c) assert(c)
#endif

/* ---- Layout proofs: EVMC ABI 12 on LP64 ------------------------------------------------- */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(evmjit_bytes32) == 32, "bytes32 is 32 bytes");
_Static_assert(sizeof(evmjit_address) == 20, "address is 20 bytes");
_Static_assert(sizeof(evmjit_call_kind) == 4, "enums are int-sized");
_Static_assert(sizeof(evmjit_message) == 184, "evmc_message is 184 bytes");
_Static_assert(offsetof(evmjit_message, kind) == 0, "message.kind");
_Static_assert(offsetof(evmjit_message, flags) == 4, "message.flags");
_Static_assert(offsetof(evmjit_message, depth) == 8, "message.depth");
_Static_assert(offsetof(evmjit_message, gas) == 16, "message.gas");
_Static_assert(offsetof(evmjit_message, recipient) == 24, "message.recipient");
_Static_assert(offsetof(evmjit_message, sender) == 44, "message.sender");
_Static_assert(offsetof(evmjit_message, input_data) == 64, "message.input_data");
_Static_assert(offsetof(evmjit_message, input_size) == 72, "message.input_size");
_Static_assert(offsetof(evmjit_message, value) == 80, "message.value");
_Static_assert(offsetof(evmjit_message, create2_salt) == 112, "message.create2_salt");
_Static_assert(offsetof(evmjit_message, code_address) == 144, "message.code_address");
_Static_assert(offsetof(evmjit_message, code) == 168, "message.code");
_Static_assert(offsetof(evmjit_message, code_size) == 176, "message.code_size");
_Static_assert(sizeof(evmjit_result) == 72, "evmc_result is 72 bytes");
_Static_assert(offsetof(evmjit_result, status_code) == 0, "result.status_code");
_Static_assert(offsetof(evmjit_result, gas_left) == 8, "result.gas_left");
_Static_assert(offsetof(evmjit_result, gas_refund) == 16, "result.gas_refund");
_Static_assert(offsetof(evmjit_result, output_data) == 24, "result.output_data");
_Static_assert(offsetof(evmjit_result, output_size) == 32, "result.output_size");
_Static_assert(offsetof(evmjit_result, release) == 40, "result.release");
_Static_assert(offsetof(evmjit_result, create_address) == 48, "result.create_address");
_Static_assert(offsetof(evmjit_result, padding) == 68, "result.padding");
_Static_assert(sizeof(evmjit_tx_context) == 256, "evmc_tx_context is 256 bytes");
_Static_assert(offsetof(evmjit_tx_context, block_number) == 72, "tx.block_number");
_Static_assert(offsetof(evmjit_tx_context, block_prev_randao) == 96, "tx.block_prev_randao");
_Static_assert(offsetof(evmjit_tx_context, blob_hashes) == 224, "tx.blob_hashes");
_Static_assert(offsetof(evmjit_tx_context, initcodes_count) == 248, "tx.initcodes_count");
_Static_assert(sizeof(evmjit_tx_initcode) == 48, "evmc_tx_initcode is 48 bytes");
_Static_assert(sizeof(evmjit_host_interface) == 16 * sizeof(void *), "16 host functions");
_Static_assert(offsetof(evmjit_host_interface, set_transient_storage) == 15 * sizeof(void *),
               "host function order");
_Static_assert(offsetof(evmjit_vm, set_option) == 48, "vm.set_option");
#endif
_Static_assert(sizeof(evmjit_word) == 32, "a word is 32 bytes");
_Static_assert(EVMJIT_STACK_LIMIT * 32 < 0xffff, "stack bounds in bytes fit the uint16 op table");

EVMJIT_API const char *evmjit_error_name(evmjit_error e) {
    static const char *const names[] = {
#define EVMJIT_ERROR_TEXT(name, text) text,
        EVMJIT_ERRORS(EVMJIT_ERROR_TEXT)
#undef EVMJIT_ERROR_TEXT
    };
    if ((unsigned)e >= (unsigned)EVMJIT_ERROR_COUNT) return "unknown error";
    return names[e];
}

EVMJIT_API const char *evmjit_status_name(evmjit_status_code status) {
    switch (status) {
    case EVMJIT_SUCCESS: return "success";
    case EVMJIT_FAILURE: return "failure";
    case EVMJIT_REVERT: return "revert";
    case EVMJIT_OUT_OF_GAS: return "out of gas";
    case EVMJIT_INVALID_INSTRUCTION: return "invalid instruction";
    case EVMJIT_UNDEFINED_INSTRUCTION: return "undefined instruction";
    case EVMJIT_STACK_OVERFLOW: return "stack overflow";
    case EVMJIT_STACK_UNDERFLOW: return "stack underflow";
    case EVMJIT_BAD_JUMP_DESTINATION: return "bad jump destination";
    case EVMJIT_INVALID_MEMORY_ACCESS: return "invalid memory access";
    case EVMJIT_CALL_DEPTH_EXCEEDED: return "call depth exceeded";
    case EVMJIT_STATIC_MODE_VIOLATION: return "static mode violation";
    case EVMJIT_PRECOMPILE_FAILURE: return "precompile failure";
    case EVMJIT_CONTRACT_VALIDATION_FAILURE: return "contract validation failure";
    case EVMJIT_ARGUMENT_OUT_OF_RANGE: return "argument out of range";
    case EVMJIT_WASM_UNREACHABLE_INSTRUCTION: return "wasm unreachable instruction";
    case EVMJIT_WASM_TRAP: return "wasm trap";
    case EVMJIT_INSUFFICIENT_BALANCE: return "insufficient balance";
    case EVMJIT_INTERNAL_ERROR: return "internal error";
    case EVMJIT_REJECTED: return "rejected";
    case EVMJIT_OUT_OF_MEMORY: return "out of memory";
    }
    return "unknown status";
}

/* ---- Allocation ------------------------------------------------------------------------- */

static inline void *evmjit__alloc(const evmjit_allocator *a, size_t size) {
    if (a && a->alloc) return a->alloc(size, a->user);
    return malloc(size);
}
static inline void *evmjit__calloc(const evmjit_allocator *a, size_t size) {
    void *p = evmjit__alloc(a, size);
    if (p) memset(p, 0, size);
    return p;
}
static inline void evmjit__free(const evmjit_allocator *a, void *p, size_t size) {
    if (!p) return;
    if (a && a->free) a->free(p, size, a->user);
    else free(p);
}

/* ---- keccak-256 ------------------------------------------------------------------------- */

static const uint64_t evmjit__keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

static inline uint64_t evmjit__rotl64(uint64_t x, unsigned n) {
    return n == 0 ? x : (x << n) | (x >> (64 - n));
}

/* Keccak-f[1600]: 24 rounds over 25 lanes kept in locals (lane x,y is a##x##y, state
   index x + 5y). Each round: theta (column parities), rho+pi (rotate each lane and move
   lane x,y to y,2x+3y), chi (row nonlinearity) and iota (round constant). */
static void evmjit__keccakf(uint64_t s[25]) {
    uint64_t a00 = s[0], a10 = s[1], a20 = s[2], a30 = s[3], a40 = s[4], a01 = s[5], a11 = s[6], a21 = s[7], a31 = s[8], a41 = s[9], a02 = s[10], a12 = s[11], a22 = s[12], a32 = s[13], a42 = s[14], a03 = s[15], a13 = s[16], a23 = s[17], a33 = s[18], a43 = s[19], a04 = s[20], a14 = s[21], a24 = s[22], a34 = s[23], a44 = s[24];
    for (int round = 0; round < 24; round++) {
        uint64_t c0 = a00 ^ a01 ^ a02 ^ a03 ^ a04;
        uint64_t c1 = a10 ^ a11 ^ a12 ^ a13 ^ a14;
        uint64_t c2 = a20 ^ a21 ^ a22 ^ a23 ^ a24;
        uint64_t c3 = a30 ^ a31 ^ a32 ^ a33 ^ a34;
        uint64_t c4 = a40 ^ a41 ^ a42 ^ a43 ^ a44;
        uint64_t d0 = c4 ^ evmjit__rotl64(c1, 1);
        uint64_t d1 = c0 ^ evmjit__rotl64(c2, 1);
        uint64_t d2 = c1 ^ evmjit__rotl64(c3, 1);
        uint64_t d3 = c2 ^ evmjit__rotl64(c4, 1);
        uint64_t d4 = c3 ^ evmjit__rotl64(c0, 1);
        uint64_t b00 = evmjit__rotl64(a00 ^ d0, 0);
        uint64_t b10 = evmjit__rotl64(a11 ^ d1, 44);
        uint64_t b20 = evmjit__rotl64(a22 ^ d2, 43);
        uint64_t b30 = evmjit__rotl64(a33 ^ d3, 21);
        uint64_t b40 = evmjit__rotl64(a44 ^ d4, 14);
        uint64_t b01 = evmjit__rotl64(a30 ^ d3, 28);
        uint64_t b11 = evmjit__rotl64(a41 ^ d4, 20);
        uint64_t b21 = evmjit__rotl64(a02 ^ d0, 3);
        uint64_t b31 = evmjit__rotl64(a13 ^ d1, 45);
        uint64_t b41 = evmjit__rotl64(a24 ^ d2, 61);
        uint64_t b02 = evmjit__rotl64(a10 ^ d1, 1);
        uint64_t b12 = evmjit__rotl64(a21 ^ d2, 6);
        uint64_t b22 = evmjit__rotl64(a32 ^ d3, 25);
        uint64_t b32 = evmjit__rotl64(a43 ^ d4, 8);
        uint64_t b42 = evmjit__rotl64(a04 ^ d0, 18);
        uint64_t b03 = evmjit__rotl64(a40 ^ d4, 27);
        uint64_t b13 = evmjit__rotl64(a01 ^ d0, 36);
        uint64_t b23 = evmjit__rotl64(a12 ^ d1, 10);
        uint64_t b33 = evmjit__rotl64(a23 ^ d2, 15);
        uint64_t b43 = evmjit__rotl64(a34 ^ d3, 56);
        uint64_t b04 = evmjit__rotl64(a20 ^ d2, 62);
        uint64_t b14 = evmjit__rotl64(a31 ^ d3, 55);
        uint64_t b24 = evmjit__rotl64(a42 ^ d4, 39);
        uint64_t b34 = evmjit__rotl64(a03 ^ d0, 41);
        uint64_t b44 = evmjit__rotl64(a14 ^ d1, 2);
        a00 = b00 ^ (~b10 & b20);
        a10 = b10 ^ (~b20 & b30);
        a20 = b20 ^ (~b30 & b40);
        a30 = b30 ^ (~b40 & b00);
        a40 = b40 ^ (~b00 & b10);
        a01 = b01 ^ (~b11 & b21);
        a11 = b11 ^ (~b21 & b31);
        a21 = b21 ^ (~b31 & b41);
        a31 = b31 ^ (~b41 & b01);
        a41 = b41 ^ (~b01 & b11);
        a02 = b02 ^ (~b12 & b22);
        a12 = b12 ^ (~b22 & b32);
        a22 = b22 ^ (~b32 & b42);
        a32 = b32 ^ (~b42 & b02);
        a42 = b42 ^ (~b02 & b12);
        a03 = b03 ^ (~b13 & b23);
        a13 = b13 ^ (~b23 & b33);
        a23 = b23 ^ (~b33 & b43);
        a33 = b33 ^ (~b43 & b03);
        a43 = b43 ^ (~b03 & b13);
        a04 = b04 ^ (~b14 & b24);
        a14 = b14 ^ (~b24 & b34);
        a24 = b24 ^ (~b34 & b44);
        a34 = b34 ^ (~b44 & b04);
        a44 = b44 ^ (~b04 & b14);
        a00 ^= evmjit__keccak_rc[round];
    }
    s[0] = a00; s[1] = a10; s[2] = a20; s[3] = a30; s[4] = a40;
    s[5] = a01; s[6] = a11; s[7] = a21; s[8] = a31; s[9] = a41;
    s[10] = a02; s[11] = a12; s[12] = a22; s[13] = a32; s[14] = a42;
    s[15] = a03; s[16] = a13; s[17] = a23; s[18] = a33; s[19] = a43;
    s[20] = a04; s[21] = a14; s[22] = a24; s[23] = a34; s[24] = a44;
}

static inline uint64_t evmjit__load_le64(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
#endif
}

static void evmjit__keccak_absorb_block(uint64_t s[25], const uint8_t *block) {
    for (int i = 0; i < 17; i++) s[i] ^= evmjit__load_le64(block + 8 * i);
    evmjit__keccakf(s);
}

EVMJIT_API void evmjit_keccak_init(evmjit_keccak *k) { memset(k, 0, sizeof *k); }

EVMJIT_API void evmjit_keccak_absorb(evmjit_keccak *k, const uint8_t *data, size_t size) {
    if (size == 0) return;
    if (k->buffered) {
        size_t take = 136 - k->buffered;
        if (take > size) take = size;
        memcpy(k->buffer + k->buffered, data, take);
        k->buffered += take;
        data += take;
        size -= take;
        if (k->buffered < 136) return;
        evmjit__keccak_absorb_block(k->state, k->buffer);
        k->buffered = 0;
    }
    for (; size >= 136; data += 136, size -= 136) evmjit__keccak_absorb_block(k->state, data);
    memcpy(k->buffer, data, size);
    k->buffered = size;
}

EVMJIT_API evmjit_bytes32 evmjit_keccak_final(evmjit_keccak *k) {
    /* pad10*1 with the Keccak domain bit 0x01 (SHA3 would use 0x06) */
    memset(k->buffer + k->buffered, 0, 136 - k->buffered);
    k->buffer[k->buffered] ^= 0x01;
    k->buffer[135] ^= 0x80;
    evmjit__keccak_absorb_block(k->state, k->buffer);
    evmjit_bytes32 out;
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++) out.bytes[8 * i + b] = (uint8_t)(k->state[i] >> (8 * b));
    return out;
}

EVMJIT_API evmjit_bytes32 evmjit_keccak256(const uint8_t *data, size_t size) {
    evmjit_keccak k;
    evmjit_keccak_init(&k);
    evmjit_keccak_absorb(&k, data, size);
    return evmjit_keccak_final(&k);
}

/* ---- 256-bit words ---------------------------------------------------------------------- */

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 evmjit__u128;
#define EVMJIT__HAVE_U128 1
#endif

static inline evmjit_word evmjit__w(uint64_t lo) {
    evmjit_word r = {{lo, 0, 0, 0}};
    return r;
}

static inline uint64_t evmjit__load_be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) &&                      \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(v);
#else
    v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
#endif
}
static inline void evmjit__store_be64(uint8_t *p, uint64_t v) {
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) &&                      \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
#else
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
#endif
}

/* 32 big-endian bytes to a word (memory loads, bytes32 values). */
static inline evmjit_word evmjit__word_from_be32(const uint8_t *p) {
    evmjit_word r = {{evmjit__load_be64(p + 24), evmjit__load_be64(p + 16),
                      evmjit__load_be64(p + 8), evmjit__load_be64(p)}};
    return r;
}

/* Big-endian bytes (up to 32) to a word: PUSH data, addresses. */
static inline evmjit_word evmjit__word_from_be(const uint8_t *p, size_t n) {
    uint8_t buf[32] = {0};
    memcpy(buf + 32 - n, p, n);
    return evmjit__word_from_be32(buf);
}

static inline void evmjit__word_to_be(evmjit_word a, uint8_t out[32]) {
    for (int i = 0; i < 4; i++) evmjit__store_be64(out + 8 * i, a.w[3 - i]);
}

EVMJIT_API evmjit_word evmjit_word_from_bytes32(const evmjit_bytes32 *b) {
    return evmjit__word_from_be32(b->bytes);
}

EVMJIT_API evmjit_bytes32 evmjit_word_to_bytes32(evmjit_word a) {
    evmjit_bytes32 b;
    evmjit__word_to_be(a, b.bytes);
    return b;
}

static inline bool evmjit__word_is_zero(evmjit_word a) {
    return (a.w[0] | a.w[1] | a.w[2] | a.w[3]) == 0;
}
static inline bool evmjit__word_eq_(evmjit_word a, evmjit_word b) {
    return ((a.w[0] ^ b.w[0]) | (a.w[1] ^ b.w[1]) | (a.w[2] ^ b.w[2]) | (a.w[3] ^ b.w[3])) == 0;
}
/* true when the word fits in 64 bits */
static inline bool evmjit__word_fits64(evmjit_word a) { return (a.w[1] | a.w[2] | a.w[3]) == 0; }

static inline bool evmjit__word_ult(evmjit_word a, evmjit_word b) {
#ifdef EVMJIT__HAVE_U128
    /* the borrow out of a - b, branch-free */
    evmjit__u128 t = (evmjit__u128)a.w[0] - b.w[0];
    t = (evmjit__u128)a.w[1] - b.w[1] - (uint64_t)((t >> 64) & 1);
    t = (evmjit__u128)a.w[2] - b.w[2] - (uint64_t)((t >> 64) & 1);
    t = (evmjit__u128)a.w[3] - b.w[3] - (uint64_t)((t >> 64) & 1);
    return (t >> 64) & 1;
#else
    for (int i = 3; i >= 0; i--)
        if (a.w[i] != b.w[i]) return a.w[i] < b.w[i];
    return false;
#endif
}
static inline bool evmjit__word_slt(evmjit_word a, evmjit_word b) {
    bool an = a.w[3] >> 63, bn = b.w[3] >> 63;
    if (an != bn) return an;
    return evmjit__word_ult(a, b);
}

static inline evmjit_word evmjit__word_add(evmjit_word a, evmjit_word b) {
    evmjit_word r;
#ifdef EVMJIT__HAVE_U128
    /* straight-line carry chain (compilers emit add/adc); a loop here is not unrolled at -O2 */
    evmjit__u128 t = (evmjit__u128)a.w[0] + b.w[0];
    r.w[0] = (uint64_t)t;
    t = (evmjit__u128)a.w[1] + b.w[1] + (uint64_t)(t >> 64);
    r.w[1] = (uint64_t)t;
    t = (evmjit__u128)a.w[2] + b.w[2] + (uint64_t)(t >> 64);
    r.w[2] = (uint64_t)t;
    r.w[3] = a.w[3] + b.w[3] + (uint64_t)(t >> 64);
#else
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a.w[i] + b.w[i];
        uint64_t c1 = s < a.w[i];
        r.w[i] = s + carry;
        carry = c1 | (r.w[i] < s);
    }
#endif
    return r;
}
static inline evmjit_word evmjit__word_sub(evmjit_word a, evmjit_word b) {
    evmjit_word r;
#ifdef EVMJIT__HAVE_U128
    evmjit__u128 t = (evmjit__u128)a.w[0] - b.w[0];
    r.w[0] = (uint64_t)t;
    t = (evmjit__u128)a.w[1] - b.w[1] - (uint64_t)((t >> 64) & 1);
    r.w[1] = (uint64_t)t;
    t = (evmjit__u128)a.w[2] - b.w[2] - (uint64_t)((t >> 64) & 1);
    r.w[2] = (uint64_t)t;
    r.w[3] = a.w[3] - b.w[3] - (uint64_t)((t >> 64) & 1);
#else
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t d = a.w[i] - b.w[i];
        uint64_t b1 = a.w[i] < b.w[i];
        r.w[i] = d - borrow;
        borrow = b1 | (d < borrow);
    }
#endif
    return r;
}
static inline evmjit_word evmjit__word_neg(evmjit_word a) {
    return evmjit__word_sub(evmjit__w(0), a);
}

/* 64x64 -> 128 multiply: hi returned through *hi. */
static inline uint64_t evmjit__mul64(uint64_t a, uint64_t b, uint64_t *hi) {
#ifdef EVMJIT__HAVE_U128
    evmjit__u128 p = (evmjit__u128)a * b;
    *hi = (uint64_t)(p >> 64);
    return (uint64_t)p;
#else
    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return (mid << 32) | (ll & 0xffffffffu);
#endif
}

/* Full product of an na-limb and an nb-limb number into r[na+nb]. */
static void evmjit__mul_limbs(uint64_t *r, const uint64_t *a, int na, const uint64_t *b, int nb) {
    memset(r, 0, sizeof(uint64_t) * (size_t)(na + nb));
    for (int i = 0; i < na; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < nb; j++) {
            uint64_t hi, lo = evmjit__mul64(a[i], b[j], &hi);
            lo += carry;
            hi += lo < carry;
            r[i + j] += lo;
            hi += r[i + j] < lo;
            carry = hi;
        }
        r[i + nb] = carry;
    }
}

static inline evmjit_word evmjit__word_mul(evmjit_word a, evmjit_word b) {
    evmjit_word r = {{0, 0, 0, 0}};
#ifdef EVMJIT__HAVE_U128
    /* truncated schoolbook by columns: 6 full products and 4 low halves */
    const uint64_t *x = a.w, *y = b.w;
    evmjit__u128 p00 = (evmjit__u128)x[0] * y[0];
    evmjit__u128 p01 = (evmjit__u128)x[0] * y[1], p10 = (evmjit__u128)x[1] * y[0];
    evmjit__u128 p02 = (evmjit__u128)x[0] * y[2], p11 = (evmjit__u128)x[1] * y[1],
                 p20 = (evmjit__u128)x[2] * y[0];
    r.w[0] = (uint64_t)p00;
    evmjit__u128 c1 = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
    r.w[1] = (uint64_t)c1;
    evmjit__u128 c2 = (c1 >> 64) + (p01 >> 64) + (p10 >> 64) + (uint64_t)p02 + (uint64_t)p11 +
                      (uint64_t)p20;
    r.w[2] = (uint64_t)c2;
    r.w[3] = (uint64_t)(c2 >> 64) + (uint64_t)(p02 >> 64) + (uint64_t)(p11 >> 64) +
             (uint64_t)(p20 >> 64) + x[0] * y[3] + x[1] * y[2] + x[2] * y[1] + x[3] * y[0];
#else
    for (int i = 0; i < 4; i++) {
        uint64_t carry = 0;
        for (int j = 0; i + j < 4; j++) {
            uint64_t hi, lo = evmjit__mul64(a.w[i], b.w[j], &hi);
            lo += carry;
            hi += lo < carry;
            r.w[i + j] += lo;
            hi += r.w[i + j] < lo;
            carry = hi;
        }
    }
#endif
    return r;
}

static inline int evmjit__clz64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return x ? __builtin_clzll(x) : 64;
#else
    int n = 0;
    if (!x) return 64;
    while (!(x & (1ULL << 63))) x <<= 1, n++;
    return n;
#endif
}

/* Number of significant limbs (0 for zero). */
static inline int evmjit__limbs_used(const uint64_t *a, int n) {
    while (n > 0 && a[n - 1] == 0) n--;
    return n;
}

/* Divide a 128-bit value (hi:lo, hi < d) by d. */
static inline uint64_t evmjit__div128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *rem) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* one divq: hi < d, so the quotient fits and it cannot trap */
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
    *rem = r;
    return q;
#elif defined(EVMJIT__HAVE_U128)
    evmjit__u128 n = ((evmjit__u128)hi << 64) | lo;
    *rem = (uint64_t)(n % d);
    return (uint64_t)(n / d);
#else
    /* bitwise long division; slow but only used where __int128 is missing */
    uint64_t q = 0;
    for (int i = 63; i >= 0; i--) {
        uint64_t top = hi >> 63;
        hi = (hi << 1) | (lo >> 63);
        lo <<= 1;
        q <<= 1;
        if (top || hi >= d) {
            hi -= d;
            q |= 1;
        }
    }
    *rem = hi;
    return q;
#endif
}

/* Unsigned division of u[0..m) by v[0..n) (v[n-1] != 0, n <= m <= 8): quotient q[0..m-n+1),
   remainder r[0..n). Knuth's algorithm D on 64-bit limbs; O(m*n). */
static void evmjit__udivrem(uint64_t *q, uint64_t *r, const uint64_t *u, int m, const uint64_t *v,
                            int n) {
    if (n == 1) {
        uint64_t rem = 0;
        for (int i = m - 1; i >= 0; i--) q[i] = evmjit__div128(rem, u[i], v[0], &rem);
        r[0] = rem;
        return;
    }
    int s = evmjit__clz64(v[n - 1]);
    uint64_t vn[8], un[9];
    for (int i = n - 1; i > 0; i--) vn[i] = (v[i] << s) | (s ? v[i - 1] >> (64 - s) : 0);
    vn[0] = v[0] << s;
    un[m] = s ? u[m - 1] >> (64 - s) : 0;
    for (int i = m - 1; i > 0; i--) un[i] = (u[i] << s) | (s ? u[i - 1] >> (64 - s) : 0);
    un[0] = u[0] << s;

    for (int j = m - n; j >= 0; j--) {
        /* estimate qhat from the top two limbs, then correct it at most twice */
        uint64_t rhat, qhat;
        if (un[j + n] >= vn[n - 1]) {
            qhat = ~0ULL;
            rhat = un[j + n - 1] + vn[n - 1]; /* may overflow: then qhat is already right */
            bool overflow = rhat < vn[n - 1];
            while (!overflow) {
                uint64_t phi, plo = evmjit__mul64(qhat, vn[n - 2], &phi);
                if (phi > rhat || (phi == rhat && plo > un[j + n - 2])) {
                    qhat--;
                    uint64_t old = rhat;
                    rhat += vn[n - 1];
                    overflow = rhat < old;
                } else {
                    break;
                }
            }
        } else {
            qhat = evmjit__div128(un[j + n], un[j + n - 1], vn[n - 1], &rhat);
            for (;;) {
                uint64_t phi, plo = evmjit__mul64(qhat, vn[n - 2], &phi);
                if (phi > rhat || (phi == rhat && plo > un[j + n - 2])) {
                    qhat--;
                    uint64_t old = rhat;
                    rhat += vn[n - 1];
                    if (rhat < old) break;
                } else {
                    break;
                }
            }
        }
        /* multiply and subtract qhat * vn from un[j..j+n] */
        uint64_t borrow = 0, carry = 0;
        for (int i = 0; i < n; i++) {
            uint64_t phi, plo = evmjit__mul64(qhat, vn[i], &phi);
            plo += carry;
            phi += plo < carry;
            carry = phi;
            uint64_t t = un[i + j] - plo;
            uint64_t b1 = un[i + j] < plo;
            uint64_t t2 = t - borrow;
            uint64_t b2 = t < borrow;
            un[i + j] = t2;
            borrow = b1 + b2;
        }
        uint64_t t = un[j + n] - carry;
        uint64_t b1 = un[j + n] < carry;
        uint64_t t2 = t - borrow;
        uint64_t b2 = t < borrow;
        un[j + n] = t2;
        if (b1 + b2) {
            /* qhat was one too large: add vn back */
            qhat--;
            uint64_t c = 0;
            for (int i = 0; i < n; i++) {
                uint64_t sum = un[i + j] + vn[i];
                uint64_t c1 = sum < un[i + j];
                uint64_t sum2 = sum + c;
                uint64_t c2 = sum2 < sum;
                un[i + j] = sum2;
                c = c1 + c2;
            }
            un[j + n] += c;
        }
        q[j] = qhat;
    }
    for (int i = 0; i < n; i++) r[i] = (un[i] >> s) | (s ? un[i + 1] << (64 - s) : 0);
}

/* a / b and a % b (unsigned); both 0 when b is 0, as the EVM defines. */
static void evmjit__word_udivmod(evmjit_word a, evmjit_word b, evmjit_word *quot,
                                 evmjit_word *rem) {
    evmjit_word q = {{0, 0, 0, 0}}, r = {{0, 0, 0, 0}};
    int n = evmjit__limbs_used(b.w, 4);
    int m = evmjit__limbs_used(a.w, 4);
    if (n == 0) {
        /* division by zero gives zero */
    } else if (m < n || evmjit__word_ult(a, b)) {
        r = a;
    } else if (m == 1) {
        q.w[0] = a.w[0] / b.w[0];
        r.w[0] = a.w[0] % b.w[0];
    } else {
        evmjit__udivrem(q.w, r.w, a.w, m, b.w, n);
    }
    if (quot) *quot = q;
    if (rem) *rem = r;
}

static inline evmjit_word evmjit__word_div(evmjit_word a, evmjit_word b) {
    evmjit_word q;
    evmjit__word_udivmod(a, b, &q, NULL);
    return q;
}
static inline evmjit_word evmjit__word_mod(evmjit_word a, evmjit_word b) {
    evmjit_word r;
    evmjit__word_udivmod(a, b, NULL, &r);
    return r;
}
static inline bool evmjit__word_negative(evmjit_word a) { return (a.w[3] >> 63) != 0; }

/* Signed division truncating toward zero; sdiv(-2^255, -1) = -2^255 (wraps). */
static inline evmjit_word evmjit__word_sdiv(evmjit_word a, evmjit_word b) {
    bool an = evmjit__word_negative(a), bn = evmjit__word_negative(b);
    evmjit_word q = evmjit__word_div(an ? evmjit__word_neg(a) : a, bn ? evmjit__word_neg(b) : b);
    return an != bn ? evmjit__word_neg(q) : q;
}
/* Signed remainder: the sign follows the dividend. */
static inline evmjit_word evmjit__word_smod(evmjit_word a, evmjit_word b) {
    bool an = evmjit__word_negative(a), bn = evmjit__word_negative(b);
    evmjit_word r = evmjit__word_mod(an ? evmjit__word_neg(a) : a, bn ? evmjit__word_neg(b) : b);
    return an ? evmjit__word_neg(r) : r;
}

/* Remainder of an nu-limb number (nu <= 8) by a word; 0 when m is 0. */
static evmjit_word evmjit__mod_wide(const uint64_t *u, int nu, evmjit_word m) {
    evmjit_word r = {{0, 0, 0, 0}};
    int n = evmjit__limbs_used(m.w, 4);
    int used = evmjit__limbs_used(u, nu);
    if (n == 0 || used == 0) return r;
    if (used < n) {
        memcpy(r.w, u, sizeof(uint64_t) * (size_t)used);
        return r;
    }
    uint64_t q[8];
    evmjit__udivrem(q, r.w, u, used, m.w, n);
    return r;
}

static inline evmjit_word evmjit__word_addmod(evmjit_word a, evmjit_word b, evmjit_word m) {
    /* the sum has up to 257 bits: keep the carry as a fifth limb */
    uint64_t s[5];
    evmjit_word lo = evmjit__word_add(a, b);
    memcpy(s, lo.w, sizeof lo.w);
    s[4] = evmjit__word_ult(lo, a) ? 1 : 0;
    return evmjit__mod_wide(s, 5, m);
}

static inline evmjit_word evmjit__word_mulmod(evmjit_word a, evmjit_word b, evmjit_word m) {
    uint64_t p[8]; /* the 512-bit product */
    evmjit__mul_limbs(p, a.w, 4, b.w, 4);
    return evmjit__mod_wide(p, 8, m);
}

static inline evmjit_word evmjit__word_exp(evmjit_word base, evmjit_word exponent) {
    /* square-and-multiply from the least significant bit: at most 256 squarings */
    evmjit_word r = evmjit__w(1);
    int n = evmjit__limbs_used(exponent.w, 4);
    for (int i = 0; i < n; i++) {
        uint64_t e = exponent.w[i];
        int bits = i == n - 1 ? 64 - evmjit__clz64(e) : 64;
        for (int k = 0; k < bits; k++, e >>= 1) {
            if (e & 1) r = evmjit__word_mul(r, base);
            base = evmjit__word_mul(base, base);
        }
    }
    return r;
}

/* SIGNEXTEND: extend the sign of byte b (0 = least significant) of x. */
static inline evmjit_word evmjit__word_signextend(evmjit_word b, evmjit_word x) {
    if (!evmjit__word_fits64(b) || b.w[0] >= 31) return x;
    unsigned bit = (unsigned)b.w[0] * 8 + 7; /* index of the sign bit, 7..247 */
    unsigned limb = bit / 64, off = bit % 64;
    bool neg = (x.w[limb] >> off) & 1;
    uint64_t mask = off == 63 ? ~0ULL : ((1ULL << (off + 1)) - 1);
    x.w[limb] = neg ? (x.w[limb] | ~mask) : (x.w[limb] & mask);
    for (unsigned i = limb + 1; i < 4; i++) x.w[i] = neg ? ~0ULL : 0;
    return x;
}

/* BYTE: byte i of x counting from the most significant (0); 0 when i >= 32. */
static inline evmjit_word evmjit__word_byte(evmjit_word i, evmjit_word x) {
    if (!evmjit__word_fits64(i) || i.w[0] >= 32) return evmjit__w(0);
    unsigned bit = (unsigned)(31 - i.w[0]) * 8;
    return evmjit__w((x.w[bit / 64] >> (bit % 64)) & 0xff);
}

static inline evmjit_word evmjit__word_shl(evmjit_word shift, evmjit_word x) {
    evmjit_word r = {{0, 0, 0, 0}};
    if (!evmjit__word_fits64(shift) || shift.w[0] >= 256) return r;
    unsigned s = (unsigned)shift.w[0], limbs = s / 64, bits = s % 64;
    for (int i = 3; i >= (int)limbs; i--) {
        uint64_t v = x.w[i - limbs] << bits;
        if (bits && i - (int)limbs - 1 >= 0) v |= x.w[i - limbs - 1] >> (64 - bits);
        r.w[i] = v;
    }
    return r;
}

static inline evmjit_word evmjit__word_shr(evmjit_word shift, evmjit_word x) {
    evmjit_word r = {{0, 0, 0, 0}};
    if (!evmjit__word_fits64(shift) || shift.w[0] >= 256) return r;
    unsigned s = (unsigned)shift.w[0], limbs = s / 64, bits = s % 64;
    for (unsigned i = 0; i + limbs < 4; i++) {
        uint64_t v = x.w[i + limbs] >> bits;
        if (bits && i + limbs + 1 < 4) v |= x.w[i + limbs + 1] << (64 - bits);
        r.w[i] = v;
    }
    return r;
}

/* SAR: arithmetic shift; shifts of 256 or more give 0 or -1 by the sign. */
static inline evmjit_word evmjit__word_sar(evmjit_word shift, evmjit_word x) {
    bool neg = evmjit__word_negative(x);
    if (!evmjit__word_fits64(shift) || shift.w[0] >= 256) {
        uint64_t fill = neg ? ~0ULL : 0;
        evmjit_word r = {{fill, fill, fill, fill}};
        return r;
    }
    if (!neg) return evmjit__word_shr(shift, x);
    /* ~(~x >> s) is the arithmetic shift of a negative x */
    evmjit_word nx = {{~x.w[0], ~x.w[1], ~x.w[2], ~x.w[3]}};
    evmjit_word r = evmjit__word_shr(shift, nx);
    for (int i = 0; i < 4; i++) r.w[i] = ~r.w[i];
    return r;
}

/* CLZ (EIP-7939): number of leading zero bits; 256 for zero. */
static inline evmjit_word evmjit__word_clz(evmjit_word x) {
    for (int i = 3; i >= 0; i--)
        if (x.w[i]) return evmjit__w((uint64_t)((3 - i) * 64 + evmjit__clz64(x.w[i])));
    return evmjit__w(256);
}

static inline evmjit_word evmjit__word_and(evmjit_word a, evmjit_word b) {
    evmjit_word r = {{a.w[0] & b.w[0], a.w[1] & b.w[1], a.w[2] & b.w[2], a.w[3] & b.w[3]}};
    return r;
}
static inline evmjit_word evmjit__word_or(evmjit_word a, evmjit_word b) {
    evmjit_word r = {{a.w[0] | b.w[0], a.w[1] | b.w[1], a.w[2] | b.w[2], a.w[3] | b.w[3]}};
    return r;
}
static inline evmjit_word evmjit__word_xor(evmjit_word a, evmjit_word b) {
    evmjit_word r = {{a.w[0] ^ b.w[0], a.w[1] ^ b.w[1], a.w[2] ^ b.w[2], a.w[3] ^ b.w[3]}};
    return r;
}
static inline evmjit_word evmjit__word_not(evmjit_word a) {
    evmjit_word r = {{~a.w[0], ~a.w[1], ~a.w[2], ~a.w[3]}};
    return r;
}
static inline evmjit_word evmjit__word_bool(bool b) { return evmjit__w(b ? 1 : 0); }

/* Number of significant bytes of a word (0 for zero): EXP's gas. */
static inline unsigned evmjit__word_byte_length(evmjit_word a) {
    evmjit_word z = evmjit__word_clz(a);
    return (unsigned)(256 - z.w[0] + 7) / 8;
}

/* ============================================================================================
   Runtime support ("builtins") and the interpreter
   ============================================================================================
   Everything non-trivial that an opcode does - memory growth and its gas, hashing, copies,
   storage, the host, calls and creates - is one static function here. The interpreter calls
   them directly; compiled code calls the same functions through frame->builtins. That single
   set of functions is why both tiers agree to the last unit of gas.

   Operand convention of every builtin: `args` points at the top of the EVM stack, which grows
   DOWN in memory, so args[0] is the first operand popped, args[1] the second, and so on. A
   builtin that produces a value writes it to args[n_inputs - 1], the slot that becomes the
   new top. Builtins read and write frame->gas and frame->gas_refund; the caller stores its
   gas counter to the frame before the call and reloads it after. */

#include <threads.h>

#define EVMJIT__MAX_MEMORY 0xffffffffULL /* memory regions past 4 GiB are out of gas */
#define EVMJIT__CODE_PADDING 33          /* zero bytes after the code: PUSH32 at the end */

/* ---- Per-revision instruction tables ---------------------------------------------------- */

typedef struct evmjit__op_info {
    int16_t gas;         /* static gas; -1: undefined in this revision */
    int8_t inputs;       /* stack items required */
    int8_t growth;       /* items pushed minus popped (max over the instruction) */
    uint16_t stack_min;  /* in bytes: the instruction runs when stack_min <= stack bytes */
    uint16_t stack_span; /* <= stack_min + stack_span (one unsigned compare); undefined:
                            0xffff and 0, which no stack size passes */
} evmjit__op_info;

static evmjit__op_info evmjit__op_tables[EVMJIT_MAX_REVISION + 1][256];
static once_flag evmjit__tables_once = ONCE_FLAG_INIT;

static void evmjit__set_op(evmjit__op_info *t, int op, int gas, int in, int out) {
    t[op].gas = (int16_t)gas;
    t[op].inputs = (int8_t)in;
    t[op].growth = (int8_t)(out - in);
    t[op].stack_min = (uint16_t)(in * sizeof(evmjit_word));
    t[op].stack_span =
        (uint16_t)((EVMJIT_STACK_LIMIT - (out > in ? out - in : 0) - in) * sizeof(evmjit_word));
}

/* Builds the 16 tables once: Frontier, then each revision's changes on top of the last. */
static void evmjit__build_tables(void) {
    evmjit__op_info *t = evmjit__op_tables[EVMJIT_FRONTIER];
    for (int op = 0; op < 256; op++) {
        t[op].gas = -1;
        t[op].stack_min = 0xffff;
        t[op].stack_span = 0;
    }
    evmjit__set_op(t, 0x00, 0, 0, 0); /* STOP */
    evmjit__set_op(t, 0x01, 3, 2, 1);
    evmjit__set_op(t, 0x02, 5, 2, 1);
    evmjit__set_op(t, 0x03, 3, 2, 1);
    for (int op = 0x04; op <= 0x07; op++) evmjit__set_op(t, op, 5, 2, 1);
    evmjit__set_op(t, 0x08, 8, 3, 1);
    evmjit__set_op(t, 0x09, 8, 3, 1);
    evmjit__set_op(t, 0x0a, 10, 2, 1); /* EXP: + per exponent byte */
    evmjit__set_op(t, 0x0b, 5, 2, 1);
    for (int op = 0x10; op <= 0x14; op++) evmjit__set_op(t, op, 3, 2, 1);
    evmjit__set_op(t, 0x15, 3, 1, 1); /* ISZERO */
    for (int op = 0x16; op <= 0x18; op++) evmjit__set_op(t, op, 3, 2, 1);
    evmjit__set_op(t, 0x19, 3, 1, 1); /* NOT */
    evmjit__set_op(t, 0x1a, 3, 2, 1); /* BYTE */
    evmjit__set_op(t, 0x20, 30, 2, 1); /* KECCAK256 */
    evmjit__set_op(t, 0x30, 2, 0, 1);  /* ADDRESS */
    evmjit__set_op(t, 0x31, 20, 1, 1); /* BALANCE */
    for (int op = 0x32; op <= 0x34; op++) evmjit__set_op(t, op, 2, 0, 1);
    evmjit__set_op(t, 0x35, 3, 1, 1); /* CALLDATALOAD */
    evmjit__set_op(t, 0x36, 2, 0, 1);
    evmjit__set_op(t, 0x37, 3, 3, 0); /* CALLDATACOPY */
    evmjit__set_op(t, 0x38, 2, 0, 1);
    evmjit__set_op(t, 0x39, 3, 3, 0); /* CODECOPY */
    evmjit__set_op(t, 0x3a, 2, 0, 1);
    evmjit__set_op(t, 0x3b, 20, 1, 1); /* EXTCODESIZE */
    evmjit__set_op(t, 0x3c, 20, 4, 0); /* EXTCODECOPY */
    evmjit__set_op(t, 0x40, 20, 1, 1); /* BLOCKHASH */
    for (int op = 0x41; op <= 0x45; op++) evmjit__set_op(t, op, 2, 0, 1);
    evmjit__set_op(t, 0x50, 2, 1, 0); /* POP */
    evmjit__set_op(t, 0x51, 3, 1, 1);
    evmjit__set_op(t, 0x52, 3, 2, 0);
    evmjit__set_op(t, 0x53, 3, 2, 0);
    evmjit__set_op(t, 0x54, 50, 1, 1); /* SLOAD */
    evmjit__set_op(t, 0x55, 0, 2, 0);  /* SSTORE: all dynamic */
    evmjit__set_op(t, 0x56, 8, 1, 0);
    evmjit__set_op(t, 0x57, 10, 2, 0);
    for (int op = 0x58; op <= 0x5a; op++) evmjit__set_op(t, op, 2, 0, 1);
    evmjit__set_op(t, 0x5b, 1, 0, 0); /* JUMPDEST */
    for (int n = 1; n <= 32; n++) evmjit__set_op(t, 0x5f + n, 3, 0, 1);
    for (int n = 1; n <= 16; n++) evmjit__set_op(t, 0x7f + n, 3, n, n + 1);
    for (int n = 1; n <= 16; n++) evmjit__set_op(t, 0x8f + n, 3, n + 1, n + 1);
    for (int n = 0; n <= 4; n++) evmjit__set_op(t, 0xa0 + n, 375 * (n + 1), n + 2, 0);
    evmjit__set_op(t, 0xf0, 32000, 3, 1); /* CREATE */
    evmjit__set_op(t, 0xf1, 40, 7, 1);    /* CALL */
    evmjit__set_op(t, 0xf2, 40, 7, 1);    /* CALLCODE */
    evmjit__set_op(t, 0xf3, 0, 2, 0);     /* RETURN */
    evmjit__set_op(t, 0xfe, 0, 0, 0);     /* INVALID */
    evmjit__set_op(t, 0xff, 0, 1, 0);     /* SELFDESTRUCT */

    for (int rev = 1; rev <= EVMJIT_MAX_REVISION; rev++) {
        t = evmjit__op_tables[rev];
        memcpy(t, evmjit__op_tables[rev - 1], sizeof evmjit__op_tables[0]);
        switch ((evmjit_revision)rev) {
        case EVMJIT_HOMESTEAD:
            evmjit__set_op(t, 0xf4, 40, 6, 1); /* DELEGATECALL (EIP-7) */
            break;
        case EVMJIT_TANGERINE_WHISTLE: /* EIP-150 repricing */
            t[0x31].gas = 400;
            t[0x3b].gas = 700;
            t[0x3c].gas = 700;
            t[0x54].gas = 200;
            t[0xf1].gas = t[0xf2].gas = t[0xf4].gas = 700;
            t[0xff].gas = 5000;
            break;
        case EVMJIT_BYZANTIUM:
            evmjit__set_op(t, 0x3d, 2, 0, 1);   /* RETURNDATASIZE (EIP-211) */
            evmjit__set_op(t, 0x3e, 3, 3, 0);   /* RETURNDATACOPY */
            evmjit__set_op(t, 0xfa, 700, 6, 1); /* STATICCALL (EIP-214) */
            evmjit__set_op(t, 0xfd, 0, 2, 0);   /* REVERT (EIP-140) */
            break;
        case EVMJIT_CONSTANTINOPLE:
            evmjit__set_op(t, 0x1b, 3, 2, 1);     /* SHL (EIP-145) */
            evmjit__set_op(t, 0x1c, 3, 2, 1);     /* SHR */
            evmjit__set_op(t, 0x1d, 3, 2, 1);     /* SAR */
            evmjit__set_op(t, 0x3f, 400, 1, 1);   /* EXTCODEHASH (EIP-1052) */
            evmjit__set_op(t, 0xf5, 32000, 4, 1); /* CREATE2 (EIP-1014) */
            break;
        case EVMJIT_ISTANBUL: /* EIP-1884, EIP-1344 */
            t[0x31].gas = 700;
            t[0x3f].gas = 700;
            t[0x54].gas = 800;
            evmjit__set_op(t, 0x46, 2, 0, 1); /* CHAINID */
            evmjit__set_op(t, 0x47, 5, 0, 1); /* SELFBALANCE */
            break;
        case EVMJIT_BERLIN: /* EIP-2929: static part is the warm cost; cold adds the rest */
            t[0x31].gas = t[0x3b].gas = t[0x3c].gas = t[0x3f].gas = 100;
            t[0x54].gas = 100;
            t[0xf1].gas = t[0xf2].gas = t[0xf4].gas = t[0xfa].gas = 100;
            break;
        case EVMJIT_LONDON:
            evmjit__set_op(t, 0x48, 2, 0, 1); /* BASEFEE (EIP-3198) */
            break;
        case EVMJIT_SHANGHAI:
            evmjit__set_op(t, 0x5f, 2, 0, 1); /* PUSH0 (EIP-3855) */
            break;
        case EVMJIT_CANCUN:
            evmjit__set_op(t, 0x49, 3, 1, 1);   /* BLOBHASH (EIP-4844) */
            evmjit__set_op(t, 0x4a, 2, 0, 1);   /* BLOBBASEFEE (EIP-7516) */
            evmjit__set_op(t, 0x5c, 100, 1, 1); /* TLOAD (EIP-1153) */
            evmjit__set_op(t, 0x5d, 100, 2, 0); /* TSTORE */
            evmjit__set_op(t, 0x5e, 3, 3, 0);   /* MCOPY (EIP-5656) */
            break;
        case EVMJIT_OSAKA:
            evmjit__set_op(t, 0x1e, 5, 1, 1); /* CLZ (EIP-7939) */
            break;
        default:
            break;
        }
    }
}

static const evmjit__op_info *evmjit__ops(evmjit_revision rev) {
    call_once(&evmjit__tables_once, evmjit__build_tables);
    return evmjit__op_tables[rev];
}

/* [LLVM backend] public view of the tables above (see the declaration). */
EVMJIT_API bool evmjit_op_info(evmjit_revision rev, unsigned op, int *gas, int *inputs,
                               int *growth) {
    if ((unsigned)rev > EVMJIT_MAX_REVISION || op > 255) return false;
    const evmjit__op_info info = evmjit__ops(rev)[op];
    if (info.gas < 0) return false;
    *gas = info.gas;
    *inputs = info.inputs;
    *growth = info.growth;
    return true;
}

/* ---- SSTORE cost by storage status ------------------------------------------------------ */

typedef struct evmjit__sstore_cost {
    int16_t gas;
    int32_t refund;
} evmjit__sstore_cost;

/* Gas and refund for each evmjit_storage_status (EIP-2200 notation original->current->new),
   for the four schedules: legacy (Frontier..Byzantium, Petersburg), EIP-1283 (Constantinople),
   EIP-2200 (Istanbul), EIP-2929 (Berlin) and EIP-3529 (London on). */
static evmjit__sstore_cost evmjit__sstore_costs(evmjit_revision rev, evmjit_storage_status st) {
    static const evmjit__sstore_cost legacy[9] = {
        {5000, 0}, {20000, 0}, {5000, 15000}, {5000, 0},   {20000, 0},
        {5000, 15000}, {20000, 0}, {5000, 15000}, {5000, 0}};
    if (rev < EVMJIT_CONSTANTINOPLE || rev == EVMJIT_PETERSBURG) return legacy[st];
    int64_t load, reset, clears;
    if (rev == EVMJIT_CONSTANTINOPLE) load = 200, reset = 5000, clears = 15000;
    else if (rev == EVMJIT_ISTANBUL) load = 800, reset = 5000, clears = 15000;
    else if (rev == EVMJIT_BERLIN) load = 100, reset = 2900, clears = 15000;
    else load = 100, reset = 2900, clears = 4800;
    const int64_t set = 20000;
    evmjit__sstore_cost c = {0, 0};
    switch (st) {
    case EVMJIT_STORAGE_ASSIGNED: c.gas = (int16_t)load; break;
    case EVMJIT_STORAGE_ADDED: c.gas = (int16_t)set; break;
    case EVMJIT_STORAGE_DELETED: c.gas = (int16_t)reset, c.refund = (int32_t)clears; break;
    case EVMJIT_STORAGE_MODIFIED: c.gas = (int16_t)reset; break;
    case EVMJIT_STORAGE_DELETED_ADDED: c.gas = (int16_t)load, c.refund = (int32_t)-clears; break;
    case EVMJIT_STORAGE_MODIFIED_DELETED: c.gas = (int16_t)load, c.refund = (int32_t)clears; break;
    case EVMJIT_STORAGE_DELETED_RESTORED:
        c.gas = (int16_t)load, c.refund = (int32_t)(reset - load - clears);
        break;
    case EVMJIT_STORAGE_ADDED_DELETED: c.gas = (int16_t)load, c.refund = (int32_t)(set - load); break;
    case EVMJIT_STORAGE_MODIFIED_RESTORED:
        c.gas = (int16_t)load, c.refund = (int32_t)(reset - load);
        break;
    }
    return c;
}

/* ---- Frame helpers ---------------------------------------------------------------------- */

static inline evmjit_address evmjit__word_to_address(evmjit_word a) {
    uint8_t be[32];
    evmjit_address r;
    evmjit__word_to_be(a, be);
    memcpy(r.bytes, be + 12, 20);
    return r;
}
static inline evmjit_word evmjit__address_to_word(const evmjit_address *a) {
    return evmjit__word_from_be(a->bytes, 20);
}
static inline evmjit_word evmjit__bytes32_to_word(evmjit_bytes32 b) {
    return evmjit_word_from_bytes32(&b);
}

static const evmjit_tx_context *evmjit__tx(evmjit_frame *f) {
    if (!f->tx_loaded) {
        f->tx = f->host->get_tx_context(f->host_ctx);
        f->tx_loaded = 1;
    }
    return &f->tx;
}

static inline int64_t evmjit__memory_cost(uint64_t words) {
    return (int64_t)(3 * words + words * words / 512);
}

/* Grow memory to cover [0, end) (end <= EVMJIT__MAX_MEMORY): charges the expansion gas and
   zeroes the new bytes. Capacity at least doubles, so a growing loop copies O(final size). */
static evmjit_status_code evmjit__memory_grow(evmjit_frame *f, uint64_t end) {
    uint64_t new_words = (end + 31) / 32, old_words = f->memory_size / 32;
    if (new_words <= old_words) return EVMJIT_SUCCESS;
    f->gas -= evmjit__memory_cost(new_words) - evmjit__memory_cost(old_words);
    if (f->gas < 0) return EVMJIT_OUT_OF_GAS;
    uint64_t new_size = new_words * 32;
    if (new_size > f->memory_capacity) {
        uint64_t cap = f->memory_capacity * 2;
        if (cap < new_size) cap = new_size;
        if (cap < 4096) cap = 4096;
        uint8_t *m = (uint8_t *)realloc(f->memory, (size_t)cap);
        if (!m) return EVMJIT_OUT_OF_MEMORY;
        f->memory = m;
        f->memory_capacity = cap;
    }
    memset(f->memory + f->memory_size, 0, (size_t)(new_size - f->memory_size));
    f->memory_size = new_size;
    return EVMJIT_SUCCESS;
}

/* Charge and grow memory for the region [offset, offset+size). A zero size touches nothing
   (and its offset may be anything). On success *off and *len are the region. */
static evmjit_status_code evmjit__memory_region(evmjit_frame *f, evmjit_word offset,
                                                evmjit_word size, uint64_t *off, uint64_t *len) {
    *off = 0;
    *len = 0;
    if (evmjit__word_is_zero(size)) return EVMJIT_SUCCESS;
    if (!evmjit__word_fits64(offset) || !evmjit__word_fits64(size) ||
        offset.w[0] > EVMJIT__MAX_MEMORY || size.w[0] > EVMJIT__MAX_MEMORY ||
        offset.w[0] + size.w[0] > EVMJIT__MAX_MEMORY)
        return EVMJIT_OUT_OF_GAS;
    *off = offset.w[0];
    *len = size.w[0];
    if (*off + *len <= f->memory_size) return EVMJIT_SUCCESS;
    return evmjit__memory_grow(f, *off + *len);
}

static inline uint64_t evmjit__num_words(uint64_t bytes) { return (bytes + 31) / 32; }

/* Charge `per_word` gas for each 32-byte word of len. */
static inline evmjit_status_code evmjit__charge_words(evmjit_frame *f, uint64_t len,
                                                      int64_t per_word) {
    f->gas -= (int64_t)evmjit__num_words(len) * per_word;
    return f->gas < 0 ? EVMJIT_OUT_OF_GAS : EVMJIT_SUCCESS;
}

/* Copy src[offset..offset+len) to memory at dst, zero-filling past src_size. */
static void evmjit__copy_padded(uint8_t *dst, const uint8_t *src, size_t src_size,
                                evmjit_word offset, uint64_t len) {
    uint64_t start = evmjit__word_fits64(offset) && offset.w[0] < src_size ? offset.w[0] : src_size;
    uint64_t avail = src_size - start, n = len < avail ? len : avail;
    if (n) memcpy(dst, src + start, (size_t)n);
    if (len > n) memset(dst + n, 0, (size_t)(len - n));
}

static inline bool evmjit__is_static(const evmjit_frame *f) {
    return (f->msg->flags & EVMJIT_STATIC_FLAG) != 0;
}

/* Berlin's cold account surcharge (EIP-2929): 2500 on top of the 100 static cost. */
static inline evmjit_status_code evmjit__access_account(evmjit_frame *f,
                                                        const evmjit_address *a) {
    if (f->rev < EVMJIT_BERLIN) return EVMJIT_SUCCESS;
    if (f->host->access_account(f->host_ctx, a) == EVMJIT_ACCESS_COLD) {
        f->gas -= 2500;
        if (f->gas < 0) return EVMJIT_OUT_OF_GAS;
    }
    return EVMJIT_SUCCESS;
}

/* Replace the return-data buffer with a new call result (releasing the old one). */
static void evmjit__set_return_data(evmjit_frame *f, const evmjit_result *r) {
    if (f->last_call.release) f->last_call.release(&f->last_call);
    if (r) {
        f->last_call = *r;
    } else {
        memset(&f->last_call, 0, sizeof f->last_call);
    }
    f->return_data = f->last_call.output_data;
    f->return_data_size = f->last_call.output_size;
}

/* ---- Builtins ----------------------------------------------------------------------------- */

/* EXP: base=args[0], exponent=args[1] -> args[1]. 10 (50 from Spurious Dragon) gas per
   exponent byte. */
static evmjit_status_code evmjit__op_exp(evmjit_frame *f, evmjit_word *args) {
    int64_t per_byte = f->rev >= EVMJIT_SPURIOUS_DRAGON ? 50 : 10;
    f->gas -= per_byte * (int64_t)evmjit__word_byte_length(args[1]);
    if (f->gas < 0) return EVMJIT_OUT_OF_GAS;
    args[1] = evmjit__word_exp(args[0], args[1]);
    return EVMJIT_SUCCESS;
}

/* KECCAK256: offset, size -> hash */
static evmjit_status_code evmjit__op_keccak256(evmjit_frame *f, evmjit_word *args) {
    uint64_t off, len;
    evmjit_status_code st = evmjit__memory_region(f, args[0], args[1], &off, &len);
    if (st != EVMJIT_SUCCESS) return st;
    if ((st = evmjit__charge_words(f, len, 6)) != EVMJIT_SUCCESS) return st;
    args[1] = evmjit__bytes32_to_word(evmjit_keccak256(len ? f->memory + off : NULL, (size_t)len));
    return EVMJIT_SUCCESS;
}

/* MLOAD/MSTORE/MSTORE8 slow path: grow memory for [offset, offset+width). */
static evmjit_status_code evmjit__op_memory_access(evmjit_frame *f, evmjit_word offset,
                                                   uint64_t width, uint64_t *off) {
    uint64_t len;
    return evmjit__memory_region(f, offset, evmjit__w(width), off, &len);
}

static evmjit_status_code evmjit__op_mload(evmjit_frame *f, evmjit_word *args) {
    uint64_t off;
    evmjit_status_code st = evmjit__op_memory_access(f, args[0], 32, &off);
    if (st != EVMJIT_SUCCESS) return st;
    args[0] = evmjit__word_from_be32(f->memory + off);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_mstore(evmjit_frame *f, evmjit_word *args) {
    uint64_t off;
    evmjit_status_code st = evmjit__op_memory_access(f, args[0], 32, &off);
    if (st != EVMJIT_SUCCESS) return st;
    evmjit__word_to_be(args[1], f->memory + off);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_mstore8(evmjit_frame *f, evmjit_word *args) {
    uint64_t off;
    evmjit_status_code st = evmjit__op_memory_access(f, args[0], 1, &off);
    if (st != EVMJIT_SUCCESS) return st;
    f->memory[off] = (uint8_t)args[1].w[0];
    return EVMJIT_SUCCESS;
}

/* CALLDATACOPY / CODECOPY / RETURNDATACOPY / MCOPY share: dst, src offset, size. */
static evmjit_status_code evmjit__copy_to_memory(evmjit_frame *f, evmjit_word *args,
                                                 const uint8_t *src, size_t src_size) {
    uint64_t off, len;
    evmjit_status_code st = evmjit__memory_region(f, args[0], args[2], &off, &len);
    if (st != EVMJIT_SUCCESS) return st;
    if ((st = evmjit__charge_words(f, len, 3)) != EVMJIT_SUCCESS) return st;
    if (len) evmjit__copy_padded(f->memory + off, src, src_size, args[1], len);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_calldatacopy(evmjit_frame *f, evmjit_word *args) {
    return evmjit__copy_to_memory(f, args, f->msg->input_data, f->msg->input_size);
}
static evmjit_status_code evmjit__op_codecopy(evmjit_frame *f, evmjit_word *args) {
    return evmjit__copy_to_memory(f, args, f->code, f->code_size);
}
static evmjit_status_code evmjit__op_returndatacopy(evmjit_frame *f, evmjit_word *args) {
    uint64_t off, len;
    evmjit_status_code st = evmjit__memory_region(f, args[0], args[2], &off, &len);
    if (st != EVMJIT_SUCCESS) return st;
    /* reading past the return data fails the frame (EIP-211), even for size 0 past the end */
    if (!evmjit__word_fits64(args[1]) || !evmjit__word_fits64(args[2]) ||
        args[1].w[0] > f->return_data_size || args[2].w[0] > f->return_data_size - args[1].w[0])
        return EVMJIT_INVALID_MEMORY_ACCESS;
    if ((st = evmjit__charge_words(f, len, 3)) != EVMJIT_SUCCESS) return st;
    if (len) memcpy(f->memory + off, f->return_data + args[1].w[0], (size_t)len);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_mcopy(evmjit_frame *f, evmjit_word *args) {
    /* dst=args[0], src=args[1], size=args[2]: memory must cover both regions */
    uint64_t dst, src, len;
    evmjit_status_code st = evmjit__memory_region(f, args[0], args[2], &dst, &len);
    if (st != EVMJIT_SUCCESS) return st;
    if ((st = evmjit__memory_region(f, args[1], args[2], &src, &len)) != EVMJIT_SUCCESS) return st;
    if ((st = evmjit__charge_words(f, len, 3)) != EVMJIT_SUCCESS) return st;
    if (len) memmove(f->memory + dst, f->memory + src, (size_t)len);
    return EVMJIT_SUCCESS;
}

/* EXTCODECOPY: address, dst, src offset, size */
static evmjit_status_code evmjit__op_extcodecopy(evmjit_frame *f, evmjit_word *args) {
    evmjit_address a = evmjit__word_to_address(args[0]);
    uint64_t off, len;
    evmjit_status_code st = evmjit__memory_region(f, args[1], args[3], &off, &len);
    if (st != EVMJIT_SUCCESS) return st;
    if ((st = evmjit__charge_words(f, len, 3)) != EVMJIT_SUCCESS) return st;
    if ((st = evmjit__access_account(f, &a)) != EVMJIT_SUCCESS) return st;
    if (len) {
        size_t src = evmjit__word_fits64(args[2]) && args[2].w[0] < SIZE_MAX ? (size_t)args[2].w[0]
                                                                            : SIZE_MAX;
        size_t n = f->host->copy_code(f->host_ctx, &a, src, f->memory + off, (size_t)len);
        if (n < len) memset(f->memory + off + n, 0, (size_t)(len - n));
    }
    return EVMJIT_SUCCESS;
}

static evmjit_status_code evmjit__op_balance(evmjit_frame *f, evmjit_word *args) {
    evmjit_address a = evmjit__word_to_address(args[0]);
    evmjit_status_code st = evmjit__access_account(f, &a);
    if (st != EVMJIT_SUCCESS) return st;
    args[0] = evmjit__bytes32_to_word(f->host->get_balance(f->host_ctx, &a));
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_extcodesize(evmjit_frame *f, evmjit_word *args) {
    evmjit_address a = evmjit__word_to_address(args[0]);
    evmjit_status_code st = evmjit__access_account(f, &a);
    if (st != EVMJIT_SUCCESS) return st;
    args[0] = evmjit__w(f->host->get_code_size(f->host_ctx, &a));
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_extcodehash(evmjit_frame *f, evmjit_word *args) {
    evmjit_address a = evmjit__word_to_address(args[0]);
    evmjit_status_code st = evmjit__access_account(f, &a);
    if (st != EVMJIT_SUCCESS) return st;
    args[0] = evmjit__bytes32_to_word(f->host->get_code_hash(f->host_ctx, &a));
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_selfbalance(evmjit_frame *f, evmjit_word *args) {
    args[0] = evmjit__bytes32_to_word(f->host->get_balance(f->host_ctx, &f->msg->recipient));
    return EVMJIT_SUCCESS;
}

/* BLOCKHASH: the hash of one of the 256 most recent blocks, else 0. */
static evmjit_status_code evmjit__op_blockhash(evmjit_frame *f, evmjit_word *args) {
    int64_t current = evmjit__tx(f)->block_number;
    evmjit_word n = args[0];
    bool in_range = evmjit__word_fits64(n) && n.w[0] < (uint64_t)current &&
                    (uint64_t)current - n.w[0] <= 256;
    args[0] = in_range ? evmjit__bytes32_to_word(f->host->get_block_hash(f->host_ctx, (int64_t)n.w[0]))
                       : evmjit__w(0);
    return EVMJIT_SUCCESS;
}

/* The block and transaction getters; `which` is the opcode (0x32 ORIGIN ... 0x4a). */
static evmjit_status_code evmjit__op_tx_getter(evmjit_frame *f, evmjit_word *args, int which) {
    const evmjit_tx_context *tx = evmjit__tx(f);
    evmjit_word v = evmjit__w(0);
    switch (which) {
    case 0x32: v = evmjit__address_to_word(&tx->tx_origin); break;
    case 0x3a: v = evmjit__bytes32_to_word(tx->tx_gas_price); break;
    case 0x41: v = evmjit__address_to_word(&tx->block_coinbase); break;
    case 0x42: v = evmjit__w((uint64_t)tx->block_timestamp); break;
    case 0x43: v = evmjit__w((uint64_t)tx->block_number); break;
    case 0x44: v = evmjit__bytes32_to_word(tx->block_prev_randao); break;
    case 0x45: v = evmjit__w((uint64_t)tx->block_gas_limit); break;
    case 0x46: v = evmjit__bytes32_to_word(tx->chain_id); break;
    case 0x48: v = evmjit__bytes32_to_word(tx->block_base_fee); break;
    case 0x49: /* BLOBHASH: index=args[0] */
        v = evmjit__word_fits64(args[0]) && args[0].w[0] < tx->blob_hashes_count
                ? evmjit__bytes32_to_word(tx->blob_hashes[args[0].w[0]])
                : evmjit__w(0);
        break;
    case 0x4a: v = evmjit__bytes32_to_word(tx->blob_base_fee); break;
    default: return EVMJIT_INTERNAL_ERROR;
    }
    args[0] = v;
    return EVMJIT_SUCCESS;
}

static evmjit_status_code evmjit__op_sload(evmjit_frame *f, evmjit_word *args) {
    evmjit_bytes32 key = evmjit_word_to_bytes32(args[0]);
    if (f->rev >= EVMJIT_BERLIN &&
        f->host->access_storage(f->host_ctx, &f->msg->recipient, &key) == EVMJIT_ACCESS_COLD) {
        f->gas -= 2000; /* cold SLOAD costs 2100 = 100 static + 2000 */
        if (f->gas < 0) return EVMJIT_OUT_OF_GAS;
    }
    args[0] = evmjit__bytes32_to_word(f->host->get_storage(f->host_ctx, &f->msg->recipient, &key));
    return EVMJIT_SUCCESS;
}

static evmjit_status_code evmjit__op_sstore(evmjit_frame *f, evmjit_word *args) {
    if (evmjit__is_static(f)) return EVMJIT_STATIC_MODE_VIOLATION;
    /* EIP-2200: SSTORE needs more than the call stipend left */
    if (f->rev >= EVMJIT_ISTANBUL && f->gas <= 2300) return EVMJIT_OUT_OF_GAS;
    evmjit_bytes32 key = evmjit_word_to_bytes32(args[0]);
    evmjit_bytes32 value = evmjit_word_to_bytes32(args[1]);
    int64_t cold = 0;
    if (f->rev >= EVMJIT_BERLIN &&
        f->host->access_storage(f->host_ctx, &f->msg->recipient, &key) == EVMJIT_ACCESS_COLD)
        cold = 2100;
    evmjit_storage_status status =
        f->host->set_storage(f->host_ctx, &f->msg->recipient, &key, &value);
    if ((unsigned)status > EVMJIT_STORAGE_MODIFIED_RESTORED) return EVMJIT_INTERNAL_ERROR;
    evmjit__sstore_cost c = evmjit__sstore_costs(f->rev, status);
    f->gas -= c.gas + cold;
    if (f->gas < 0) return EVMJIT_OUT_OF_GAS;
    f->gas_refund += c.refund;
    return EVMJIT_SUCCESS;
}

static evmjit_status_code evmjit__op_tload(evmjit_frame *f, evmjit_word *args) {
    evmjit_bytes32 key = evmjit_word_to_bytes32(args[0]);
    args[0] = evmjit__bytes32_to_word(
        f->host->get_transient_storage(f->host_ctx, &f->msg->recipient, &key));
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_tstore(evmjit_frame *f, evmjit_word *args) {
    if (evmjit__is_static(f)) return EVMJIT_STATIC_MODE_VIOLATION;
    evmjit_bytes32 key = evmjit_word_to_bytes32(args[0]);
    evmjit_bytes32 value = evmjit_word_to_bytes32(args[1]);
    f->host->set_transient_storage(f->host_ctx, &f->msg->recipient, &key, &value);
    return EVMJIT_SUCCESS;
}

/* LOG0..LOG4: offset, size, topics... */
static evmjit_status_code evmjit__op_log(evmjit_frame *f, evmjit_word *args, int topics) {
    if (evmjit__is_static(f)) return EVMJIT_STATIC_MODE_VIOLATION;
    uint64_t off, len;
    evmjit_status_code st = evmjit__memory_region(f, args[0], args[1], &off, &len);
    if (st != EVMJIT_SUCCESS) return st;
    f->gas -= (int64_t)len * 8;
    if (f->gas < 0) return EVMJIT_OUT_OF_GAS;
    evmjit_bytes32 t[4];
    for (int i = 0; i < topics; i++) t[i] = evmjit_word_to_bytes32(args[2 + i]);
    f->host->emit_log(f->host_ctx, &f->msg->recipient, len ? f->memory + off : NULL, (size_t)len,
                      t, (size_t)topics);
    return EVMJIT_SUCCESS;
}

/* EIP-7702 (Prague): if `addr` holds a delegation designator (0xef0100 ++ address), charge
   the access to the delegate and return it in *code_address. */
static evmjit_status_code evmjit__resolve_delegation(evmjit_frame *f, const evmjit_address *addr,
                                                     evmjit_address *code_address,
                                                     bool *delegated) {
    *code_address = *addr;
    *delegated = false;
    if (f->rev < EVMJIT_PRAGUE) return EVMJIT_SUCCESS;
    uint8_t designator[23];
    size_t n = f->host->copy_code(f->host_ctx, addr, 0, designator, sizeof designator);
    if (n != 23 || designator[0] != 0xef || designator[1] != 0x01 || designator[2] != 0x00)
        return EVMJIT_SUCCESS;
    memcpy(code_address->bytes, designator + 3, 20);
    *delegated = true;
    bool cold = f->host->access_account(f->host_ctx, code_address) == EVMJIT_ACCESS_COLD;
    f->gas -= cold ? 2600 : 100;
    return f->gas < 0 ? EVMJIT_OUT_OF_GAS : EVMJIT_SUCCESS;
}

/* CALL, CALLCODE, DELEGATECALL, STATICCALL (`op` is the opcode). Operands: gas, address,
   [value,] in offset, in size, out offset, out size -> success flag. */
static evmjit_status_code evmjit__op_call(evmjit_frame *f, evmjit_word *args, int op) {
    bool has_value_arg = op == 0xf1 || op == 0xf2;
    int n = has_value_arg ? 7 : 6;
    evmjit_word gas_arg = args[0];
    evmjit_address dst = evmjit__word_to_address(args[1]);
    evmjit_word value = has_value_arg ? args[2] : evmjit__w(0);
    evmjit_word io[4]; /* in offset, in size, out offset, out size */
    memcpy(io, args + (has_value_arg ? 3 : 2), sizeof io);
    bool has_value = !evmjit__word_is_zero(value);
    evmjit_status_code st;

    evmjit__set_return_data(f, NULL);
    args[n - 1] = evmjit__w(0); /* assume failure; every operand is read above */
    if (op == 0xf1 && has_value && evmjit__is_static(f)) return EVMJIT_STATIC_MODE_VIOLATION;
    if ((st = evmjit__access_account(f, &dst)) != EVMJIT_SUCCESS) return st;
    evmjit_address code_address;
    bool delegated;
    if ((st = evmjit__resolve_delegation(f, &dst, &code_address, &delegated)) != EVMJIT_SUCCESS)
        return st;
    uint64_t in_off, in_len, out_off, out_len;
    if ((st = evmjit__memory_region(f, io[0], io[1], &in_off, &in_len)) != EVMJIT_SUCCESS) return st;
    if ((st = evmjit__memory_region(f, io[2], io[3], &out_off, &out_len)) != EVMJIT_SUCCESS)
        return st;

    int64_t cost = 0;
    if (has_value) cost += 9000;
    if (op == 0xf1 && (has_value || f->rev < EVMJIT_SPURIOUS_DRAGON) &&
        !f->host->account_exists(f->host_ctx, &dst))
        cost += 25000;
    f->gas -= cost;
    if (f->gas < 0) return EVMJIT_OUT_OF_GAS;

    int64_t call_gas = evmjit__word_fits64(gas_arg) && gas_arg.w[0] <= (uint64_t)INT64_MAX
                           ? (int64_t)gas_arg.w[0]
                           : INT64_MAX;
    if (f->rev >= EVMJIT_TANGERINE_WHISTLE) {
        int64_t cap = f->gas - f->gas / 64; /* EIP-150: all but one 64th */
        if (call_gas > cap) call_gas = cap;
    } else if (call_gas > f->gas) {
        return EVMJIT_OUT_OF_GAS;
    }
    if (has_value) {
        call_gas += 2300; /* the stipend is free for the caller */
        f->gas += 2300;
    }

    evmjit_message m;
    memset(&m, 0, sizeof m);
    m.kind = op == 0xf4 ? EVMJIT_DELEGATECALL : op == 0xf2 ? EVMJIT_CALLCODE : EVMJIT_CALL;
    m.flags = f->msg->flags & EVMJIT_STATIC_FLAG;
    if (op == 0xfa) m.flags |= EVMJIT_STATIC_FLAG;
    if (delegated) m.flags |= EVMJIT_DELEGATED;
    m.depth = f->msg->depth + 1;
    m.gas = call_gas;
    m.code_address = code_address;
    if (op == 0xf4) {
        m.recipient = f->msg->recipient;
        m.sender = f->msg->sender;
        m.value = f->msg->value;
    } else {
        m.recipient = op == 0xf2 ? f->msg->recipient : dst;
        m.sender = f->msg->recipient;
        m.value = evmjit_word_to_bytes32(value);
    }
    m.input_data = in_len ? f->memory + in_off : NULL;
    m.input_size = (size_t)in_len;

    /* light failures: the caller keeps the gas (and the stipend) and gets 0 */
    if (f->msg->depth >= EVMJIT_MAX_DEPTH) return EVMJIT_SUCCESS;
    if (has_value &&
        evmjit__word_ult(evmjit__bytes32_to_word(f->host->get_balance(f->host_ctx, &f->msg->recipient)),
                         value))
        return EVMJIT_SUCCESS;

    evmjit_result r = f->host->call(f->host_ctx, &m);
    evmjit__set_return_data(f, &r);
    args[n - 1] = evmjit__w(r.status_code == EVMJIT_SUCCESS);
    uint64_t copy = out_len < r.output_size ? out_len : r.output_size;
    if (copy) memcpy(f->memory + out_off, r.output_data, (size_t)copy);
    f->gas -= call_gas - r.gas_left;
    f->gas_refund += r.gas_refund;
    return EVMJIT_SUCCESS;
}

/* CREATE (value, offset, size) and CREATE2 (value, offset, size, salt) -> address or 0. */
static evmjit_status_code evmjit__op_create(evmjit_frame *f, evmjit_word *args, int op) {
    int n = op == 0xf5 ? 4 : 3;
    evmjit_word value = args[0];
    evmjit_status_code st;
    evmjit__set_return_data(f, NULL);
    if (evmjit__is_static(f)) return EVMJIT_STATIC_MODE_VIOLATION;
    uint64_t off, len;
    if ((st = evmjit__memory_region(f, args[1], args[2], &off, &len)) != EVMJIT_SUCCESS) return st;
    if (f->rev >= EVMJIT_SHANGHAI && len > 2 * 24576) return EVMJIT_OUT_OF_GAS; /* EIP-3860 */
    int64_t per_word = (op == 0xf5 ? 6 : 0) + (f->rev >= EVMJIT_SHANGHAI ? 2 : 0);
    if ((st = evmjit__charge_words(f, len, per_word)) != EVMJIT_SUCCESS) return st;
    evmjit_word salt = op == 0xf5 ? args[3] : evmjit__w(0);
    args[n - 1] = evmjit__w(0);

    if (f->msg->depth >= EVMJIT_MAX_DEPTH) return EVMJIT_SUCCESS;
    if (!evmjit__word_is_zero(value) &&
        evmjit__word_ult(evmjit__bytes32_to_word(f->host->get_balance(f->host_ctx, &f->msg->recipient)),
                         value))
        return EVMJIT_SUCCESS;

    evmjit_message m;
    memset(&m, 0, sizeof m);
    m.kind = op == 0xf5 ? EVMJIT_CREATE2 : EVMJIT_CREATE;
    m.depth = f->msg->depth + 1;
    m.gas = f->rev >= EVMJIT_TANGERINE_WHISTLE ? f->gas - f->gas / 64 : f->gas;
    m.sender = f->msg->recipient;
    m.value = evmjit_word_to_bytes32(value);
    m.create2_salt = evmjit_word_to_bytes32(salt);
    m.input_data = len ? f->memory + off : NULL;
    m.input_size = (size_t)len;
    evmjit_result r = f->host->call(f->host_ctx, &m);
    f->gas -= m.gas - r.gas_left;
    f->gas_refund += r.gas_refund;
    if (r.status_code == EVMJIT_SUCCESS) args[n - 1] = evmjit__address_to_word(&r.create_address);
    evmjit__set_return_data(f, &r);
    return EVMJIT_SUCCESS;
}

/* SELFDESTRUCT: beneficiary. Ends the frame with SUCCESS. */
static evmjit_status_code evmjit__op_selfdestruct(evmjit_frame *f, evmjit_word *args) {
    if (evmjit__is_static(f)) return EVMJIT_STATIC_MODE_VIOLATION;
    evmjit_address beneficiary = evmjit__word_to_address(args[0]);
    if (f->rev >= EVMJIT_BERLIN &&
        f->host->access_account(f->host_ctx, &beneficiary) == EVMJIT_ACCESS_COLD) {
        f->gas -= 2600;
        if (f->gas < 0) return EVMJIT_OUT_OF_GAS;
    }
    if (f->rev >= EVMJIT_TANGERINE_WHISTLE) {
        /* EIP-150 charges a new account; from Spurious Dragon only when value moves */
        bool moves_value =
            f->rev == EVMJIT_TANGERINE_WHISTLE ||
            !evmjit__word_is_zero(evmjit__bytes32_to_word(f->host->get_balance(f->host_ctx, &f->msg->recipient)));
        if (moves_value && !f->host->account_exists(f->host_ctx, &beneficiary)) {
            f->gas -= 25000;
            if (f->gas < 0) return EVMJIT_OUT_OF_GAS;
        }
    }
    if (f->host->selfdestruct(f->host_ctx, &f->msg->recipient, &beneficiary) &&
        f->rev < EVMJIT_LONDON)
        f->gas_refund += 24000;
    return EVMJIT_SUCCESS;
}

/* RETURN / REVERT: offset, size -> the frame's output slice */
static evmjit_status_code evmjit__op_return(evmjit_frame *f, evmjit_word *args) {
    uint64_t off, len;
    evmjit_status_code st = evmjit__memory_region(f, args[0], args[1], &off, &len);
    if (st != EVMJIT_SUCCESS) return st;
    f->output_offset = off;
    f->output_size = len;
    return EVMJIT_SUCCESS;
}

static evmjit_status_code evmjit__op_div(evmjit_frame *f, evmjit_word *a) {
    (void)f;
    a[1] = evmjit__word_div(a[0], a[1]);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_sdiv(evmjit_frame *f, evmjit_word *a) {
    (void)f;
    a[1] = evmjit__word_sdiv(a[0], a[1]);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_mod(evmjit_frame *f, evmjit_word *a) {
    (void)f;
    a[1] = evmjit__word_mod(a[0], a[1]);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_smod(evmjit_frame *f, evmjit_word *a) {
    (void)f;
    a[1] = evmjit__word_smod(a[0], a[1]);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_addmod(evmjit_frame *f, evmjit_word *a) {
    (void)f;
    a[2] = evmjit__word_addmod(a[0], a[1], a[2]);
    return EVMJIT_SUCCESS;
}
static evmjit_status_code evmjit__op_mulmod(evmjit_frame *f, evmjit_word *a) {
    (void)f;
    a[2] = evmjit__word_mulmod(a[0], a[1], a[2]);
    return EVMJIT_SUCCESS;
}

/* ---- The builtins table ------------------------------------------------------------------ */
/* Adapters give every builtin the one evmjit_builtin_fn signature; those that need the
   opcode take it from `imm`. */
#define EVMJIT__ADAPT(name)                                                                   \
    static evmjit_status_code evmjit__builtin_##name(evmjit_frame *f, evmjit_word *a, int imm) { \
        (void)imm;                                                                            \
        return evmjit__op_##name(f, a);                                                       \
    }
#define EVMJIT__ADAPT_IMM(name)                                                               \
    static evmjit_status_code evmjit__builtin_##name(evmjit_frame *f, evmjit_word *a, int imm) { \
        return evmjit__op_##name(f, a, imm);                                                  \
    }
EVMJIT__ADAPT(exp) EVMJIT__ADAPT(keccak256) EVMJIT__ADAPT(mload) EVMJIT__ADAPT(mstore)
EVMJIT__ADAPT(mstore8) EVMJIT__ADAPT(calldatacopy) EVMJIT__ADAPT(codecopy)
EVMJIT__ADAPT(returndatacopy) EVMJIT__ADAPT(mcopy) EVMJIT__ADAPT(extcodecopy)
EVMJIT__ADAPT(balance) EVMJIT__ADAPT(extcodesize) EVMJIT__ADAPT(extcodehash)
EVMJIT__ADAPT(selfbalance) EVMJIT__ADAPT(blockhash) EVMJIT__ADAPT(sload) EVMJIT__ADAPT(sstore)
EVMJIT__ADAPT(tload) EVMJIT__ADAPT(tstore) EVMJIT__ADAPT(return) EVMJIT__ADAPT(selfdestruct)
EVMJIT__ADAPT(div) EVMJIT__ADAPT(sdiv) EVMJIT__ADAPT(mod) EVMJIT__ADAPT(smod)
EVMJIT__ADAPT(addmod) EVMJIT__ADAPT(mulmod)
EVMJIT__ADAPT_IMM(tx_getter) EVMJIT__ADAPT_IMM(log) EVMJIT__ADAPT_IMM(call)
EVMJIT__ADAPT_IMM(create)
#undef EVMJIT__ADAPT
#undef EVMJIT__ADAPT_IMM

static const evmjit_builtins evmjit__builtins = {{
#define EVMJIT__BUILTIN_ENTRY(NAME, name) evmjit__builtin_##name,
    EVMJIT_BUILTINS(EVMJIT__BUILTIN_ENTRY)
#undef EVMJIT__BUILTIN_ENTRY
}};

EVMJIT_API const evmjit_builtins *evmjit_builtins_table(void) { return &evmjit__builtins; }

/* ---- Per-thread frame buffers ----------------------------------------------------------- */
/* Each running frame needs an EVM stack (32 KiB), memory and the interpreter's code analysis.
   They come from a per-thread free list, so a call at depth d reuses what depth d used last
   time: after warm-up, execute allocates nothing. Owned by one thread; freed at thread exit
   (tss destructor) or by evmjit_thread_cleanup(). */

typedef struct evmjit__frame_buffers {
    struct evmjit__frame_buffers *next;
    evmjit_word stack[EVMJIT_STACK_LIMIT];
    uint8_t *memory;
    uint64_t memory_capacity;
    uint8_t *analysis; /* padded code copy followed by the JUMPDEST bitmap */
    size_t analysis_capacity;
} evmjit__frame_buffers;

static tss_t evmjit__buffers_key;
static once_flag evmjit__buffers_once = ONCE_FLAG_INIT;
static int evmjit__buffers_key_ok;

static void evmjit__buffers_free_list(void *head) {
    evmjit__frame_buffers *b = (evmjit__frame_buffers *)head;
    while (b) {
        evmjit__frame_buffers *next = b->next;
        free(b->memory);
        free(b->analysis);
        free(b);
        b = next;
    }
}
static void evmjit__buffers_init(void) {
    evmjit__buffers_key_ok = tss_create(&evmjit__buffers_key, evmjit__buffers_free_list) == thrd_success;
}

static evmjit__frame_buffers *evmjit__buffers_acquire(void) {
    call_once(&evmjit__buffers_once, evmjit__buffers_init);
    evmjit__frame_buffers *b = evmjit__buffers_key_ok ? (evmjit__frame_buffers *)tss_get(evmjit__buffers_key) : NULL;
    if (b) {
        tss_set(evmjit__buffers_key, b->next);
        b->next = NULL;
        return b;
    }
    b = (evmjit__frame_buffers *)calloc(1, sizeof *b);
    return b;
}
static void evmjit__buffers_release(evmjit__frame_buffers *b) {
    if (!evmjit__buffers_key_ok) {
        evmjit__buffers_free_list(b);
        return;
    }
    b->next = (evmjit__frame_buffers *)tss_get(evmjit__buffers_key);
    if (tss_set(evmjit__buffers_key, b) != thrd_success) {
        b->next = NULL;
        evmjit__buffers_free_list(b);
    }
}

EVMJIT_API void evmjit_thread_cleanup(void) {
    call_once(&evmjit__buffers_once, evmjit__buffers_init);
    if (!evmjit__buffers_key_ok) return;
    evmjit__buffers_free_list(tss_get(evmjit__buffers_key));
    tss_set(evmjit__buffers_key, NULL);
}

/* ---- The interpreter -------------------------------------------------------------------- */

/* Copies the code with zero padding (so PUSH data and the final STOP never read past the end)
   and builds the JUMPDEST bitmap (never inside PUSH data). O(code size); the buffer is reused
   by the next frame at this depth. */
static evmjit_status_code evmjit__analyze(evmjit_frame *f, evmjit__frame_buffers *b,
                                          const uint8_t **padded, const uint8_t **jumpdests) {
    size_t n = f->code_size;
    size_t need = n + EVMJIT__CODE_PADDING + (n + 8) / 8;
    if (need > b->analysis_capacity) {
        uint8_t *p = (uint8_t *)malloc(need);
        if (!p) return EVMJIT_OUT_OF_MEMORY;
        free(b->analysis);
        b->analysis = p;
        b->analysis_capacity = need;
    }
    uint8_t *code = b->analysis, *map = b->analysis + n + EVMJIT__CODE_PADDING;
    if (n) memcpy(code, f->code, n);
    memset(code + n, 0, EVMJIT__CODE_PADDING);
    memset(map, 0, (n + 8) / 8);
    for (size_t pc = 0; pc < n; pc++) {
        uint8_t op = code[pc];
        if (op == 0x5b) map[pc / 8] |= (uint8_t)(1u << (pc % 8));
        else if (op >= 0x60 && op <= 0x7f) pc += (size_t)(op - 0x5f);
    }
    *padded = code;
    *jumpdests = map;
    return EVMJIT_SUCCESS;
}

static inline bool evmjit__is_jumpdest(const uint8_t *map, size_t code_size, evmjit_word dest) {
    if (!evmjit__word_fits64(dest) || dest.w[0] >= code_size) return false;
    return (map[dest.w[0] / 8] >> (dest.w[0] % 8)) & 1;
}

/* PUSHn data as a word; `n` is a constant at every call site, so the copy is inlined. The
   code is padded (EVMJIT__CODE_PADDING), so reading 8 bytes past short data is safe. */
static inline evmjit_word evmjit__push_value(const uint8_t *p, size_t n) {
    if (n <= 8) return evmjit__w(evmjit__load_be64(p) >> (64 - 8 * n));
    return evmjit__word_from_be(p, n);
}
static inline void evmjit__swap(evmjit_word *sp, int n) {
    evmjit_word t = sp[0];
    sp[0] = sp[n];
    sp[n] = t;
}

/* The tier-0 program: runs frame->code from pc 0. The EVM stack is frame->stack, growing
   down from frame->stack + EVMJIT_STACK_LIMIT; sp points at the top item. */
EVMJIT_API evmjit_status_code evmjit_interpret(evmjit_frame *f) {
    evmjit__frame_buffers *b = (evmjit__frame_buffers *)f->scratch;
    const uint8_t *code, *jumpdests;
    evmjit_status_code st;
    if (!b) return EVMJIT_INTERNAL_ERROR;
    if ((st = evmjit__analyze(f, b, &code, &jumpdests)) != EVMJIT_SUCCESS) return st;
    if ((unsigned)f->rev > EVMJIT_MAX_REVISION) return EVMJIT_REJECTED;
    const evmjit__op_info *ops = evmjit__ops(f->rev);
    evmjit_word *const stack_bottom = f->stack + EVMJIT_STACK_LIMIT; /* empty stack */
    evmjit_word *sp = stack_bottom;
    int64_t gas = f->gas;
    size_t pc = 0;

/* Builtins see the frame's gas: store ours before, load theirs after. */
#define EVMJIT__CALL_BUILTIN(expr)                                                            \
    do {                                                                                      \
        f->gas = gas;                                                                         \
        st = (expr);                                                                          \
        gas = f->gas;                                                                         \
        if (st != EVMJIT_SUCCESS) goto done;                                                  \
    } while (0)
#define EVMJIT__BINARY(fn)                                                                    \
    sp[1] = fn(sp[0], sp[1]);                                                                 \
    sp++;                                                                                     \
    break

    for (;;) {
        uint8_t op = code[pc];
        const evmjit__op_info *info = &ops[op];
        /* one compare covers undefined, underflow and overflow; sort them out off the hot path */
        size_t stack_bytes = (size_t)((const char *)stack_bottom - (const char *)sp);
        if (stack_bytes - info->stack_min > info->stack_span) {
            st = info->gas < 0                     ? EVMJIT_UNDEFINED_INSTRUCTION
                 : stack_bytes < info->stack_min ? EVMJIT_STACK_UNDERFLOW
                                                 : EVMJIT_STACK_OVERFLOW;
            goto done;
        }
        if ((gas -= info->gas) < 0) {
            st = EVMJIT_OUT_OF_GAS;
            goto done;
        }
        switch (op) {
        case 0x00: st = EVMJIT_SUCCESS; goto done;
        case 0x01: EVMJIT__BINARY(evmjit__word_add);
        case 0x02: EVMJIT__BINARY(evmjit__word_mul);
        case 0x03: EVMJIT__BINARY(evmjit__word_sub);
        case 0x04: EVMJIT__BINARY(evmjit__word_div);
        case 0x05: EVMJIT__BINARY(evmjit__word_sdiv);
        case 0x06: EVMJIT__BINARY(evmjit__word_mod);
        case 0x07: EVMJIT__BINARY(evmjit__word_smod);
        case 0x08: sp[2] = evmjit__word_addmod(sp[0], sp[1], sp[2]); sp += 2; break;
        case 0x09: sp[2] = evmjit__word_mulmod(sp[0], sp[1], sp[2]); sp += 2; break;
        case 0x0a: EVMJIT__CALL_BUILTIN(evmjit__op_exp(f, sp)); sp++; break;
        case 0x0b: EVMJIT__BINARY(evmjit__word_signextend);
        case 0x10: sp[1] = evmjit__word_bool(evmjit__word_ult(sp[0], sp[1])); sp++; break;
        case 0x11: sp[1] = evmjit__word_bool(evmjit__word_ult(sp[1], sp[0])); sp++; break;
        case 0x12: sp[1] = evmjit__word_bool(evmjit__word_slt(sp[0], sp[1])); sp++; break;
        case 0x13: sp[1] = evmjit__word_bool(evmjit__word_slt(sp[1], sp[0])); sp++; break;
        case 0x14: sp[1] = evmjit__word_bool(evmjit__word_eq_(sp[0], sp[1])); sp++; break;
        case 0x15: sp[0] = evmjit__word_bool(evmjit__word_is_zero(sp[0])); break;
        case 0x16: EVMJIT__BINARY(evmjit__word_and);
        case 0x17: EVMJIT__BINARY(evmjit__word_or);
        case 0x18: EVMJIT__BINARY(evmjit__word_xor);
        case 0x19: sp[0] = evmjit__word_not(sp[0]); break;
        case 0x1a: EVMJIT__BINARY(evmjit__word_byte);
        case 0x1b: EVMJIT__BINARY(evmjit__word_shl);
        case 0x1c: EVMJIT__BINARY(evmjit__word_shr);
        case 0x1d: EVMJIT__BINARY(evmjit__word_sar);
        case 0x1e: sp[0] = evmjit__word_clz(sp[0]); break;
        case 0x20: EVMJIT__CALL_BUILTIN(evmjit__op_keccak256(f, sp)); sp++; break;
        case 0x30: *--sp = evmjit__address_to_word(&f->msg->recipient); break;
        case 0x31: EVMJIT__CALL_BUILTIN(evmjit__op_balance(f, sp)); break;
        case 0x33: *--sp = evmjit__address_to_word(&f->msg->sender); break;
        case 0x34: *--sp = evmjit__bytes32_to_word(f->msg->value); break;
        case 0x35: {
            uint8_t buf[32];
            evmjit__copy_padded(buf, f->msg->input_data, f->msg->input_size, sp[0], 32);
            sp[0] = evmjit__word_from_be32(buf);
            break;
        }
        case 0x36: *--sp = evmjit__w(f->msg->input_size); break;
        case 0x37: EVMJIT__CALL_BUILTIN(evmjit__op_calldatacopy(f, sp)); sp += 3; break;
        case 0x38: *--sp = evmjit__w(f->code_size); break;
        case 0x39: EVMJIT__CALL_BUILTIN(evmjit__op_codecopy(f, sp)); sp += 3; break;
        case 0x3b: EVMJIT__CALL_BUILTIN(evmjit__op_extcodesize(f, sp)); break;
        case 0x3c: EVMJIT__CALL_BUILTIN(evmjit__op_extcodecopy(f, sp)); sp += 4; break;
        case 0x3d: *--sp = evmjit__w(f->return_data_size); break;
        case 0x3e: EVMJIT__CALL_BUILTIN(evmjit__op_returndatacopy(f, sp)); sp += 3; break;
        case 0x3f: EVMJIT__CALL_BUILTIN(evmjit__op_extcodehash(f, sp)); break;
        case 0x40: EVMJIT__CALL_BUILTIN(evmjit__op_blockhash(f, sp)); break;
        case 0x32: case 0x3a: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46:
        case 0x48: case 0x4a:
            --sp;
            EVMJIT__CALL_BUILTIN(evmjit__op_tx_getter(f, sp, op));
            break;
        case 0x49: EVMJIT__CALL_BUILTIN(evmjit__op_tx_getter(f, sp, op)); break;
        case 0x47: --sp; EVMJIT__CALL_BUILTIN(evmjit__op_selfbalance(f, sp)); break;
        case 0x50: sp++; break;
        case 0x51:
            if (f->memory_size >= 32 && evmjit__word_fits64(sp[0]) && sp[0].w[0] <= f->memory_size - 32) {
                sp[0] = evmjit__word_from_be32(f->memory + sp[0].w[0]);
            } else {
                EVMJIT__CALL_BUILTIN(evmjit__op_mload(f, sp));
            }
            break;
        case 0x52:
            if (f->memory_size >= 32 && evmjit__word_fits64(sp[0]) && sp[0].w[0] <= f->memory_size - 32) {
                evmjit__word_to_be(sp[1], f->memory + sp[0].w[0]);
            } else {
                EVMJIT__CALL_BUILTIN(evmjit__op_mstore(f, sp));
            }
            sp += 2;
            break;
        case 0x53:
            if (evmjit__word_fits64(sp[0]) && sp[0].w[0] < f->memory_size) {
                f->memory[sp[0].w[0]] = (uint8_t)sp[1].w[0];
            } else {
                EVMJIT__CALL_BUILTIN(evmjit__op_mstore8(f, sp));
            }
            sp += 2;
            break;
        case 0x54: EVMJIT__CALL_BUILTIN(evmjit__op_sload(f, sp)); break;
        case 0x55: EVMJIT__CALL_BUILTIN(evmjit__op_sstore(f, sp)); sp += 2; break;
        case 0x56:
            if (!evmjit__is_jumpdest(jumpdests, f->code_size, sp[0])) {
                st = EVMJIT_BAD_JUMP_DESTINATION;
                goto done;
            }
            pc = (size_t)sp[0].w[0];
            sp++;
            continue; /* lands on the JUMPDEST, which charges its 1 gas */
        case 0x57:
            if (!evmjit__word_is_zero(sp[1])) {
                if (!evmjit__is_jumpdest(jumpdests, f->code_size, sp[0])) {
                    st = EVMJIT_BAD_JUMP_DESTINATION;
                    goto done;
                }
                pc = (size_t)sp[0].w[0];
                sp += 2;
                continue;
            }
            sp += 2;
            break;
        case 0x58: *--sp = evmjit__w(pc); break;
        case 0x59: *--sp = evmjit__w(f->memory_size); break;
        case 0x5a: *--sp = evmjit__w((uint64_t)gas); break;
        case 0x5b: break;
        case 0x5c: EVMJIT__CALL_BUILTIN(evmjit__op_tload(f, sp)); break;
        case 0x5d: EVMJIT__CALL_BUILTIN(evmjit__op_tstore(f, sp)); sp += 2; break;
        case 0x5e: EVMJIT__CALL_BUILTIN(evmjit__op_mcopy(f, sp)); sp += 3; break;
        case 0x5f: *--sp = evmjit__w(0); break;
        case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4:
            EVMJIT__CALL_BUILTIN(evmjit__op_log(f, sp, op - 0xa0));
            sp += op - 0xa0 + 2;
            break;
        case 0xf0: EVMJIT__CALL_BUILTIN(evmjit__op_create(f, sp, op)); sp += 2; break;
        case 0xf5: EVMJIT__CALL_BUILTIN(evmjit__op_create(f, sp, op)); sp += 3; break;
        case 0xf1: case 0xf2: EVMJIT__CALL_BUILTIN(evmjit__op_call(f, sp, op)); sp += 6; break;
        case 0xf4: case 0xfa: EVMJIT__CALL_BUILTIN(evmjit__op_call(f, sp, op)); sp += 5; break;
        case 0xf3:
            EVMJIT__CALL_BUILTIN(evmjit__op_return(f, sp));
            st = EVMJIT_SUCCESS;
            goto done;
        case 0xfd:
            EVMJIT__CALL_BUILTIN(evmjit__op_return(f, sp));
            st = EVMJIT_REVERT;
            goto done;
        case 0xfe: st = EVMJIT_INVALID_INSTRUCTION; goto done;
        case 0xff:
            EVMJIT__CALL_BUILTIN(evmjit__op_selfdestruct(f, sp));
            st = EVMJIT_SUCCESS;
            goto done;
        case 0x60: *--sp = evmjit__push_value(code + pc + 1, 1); pc += 1; break;
        case 0x61: *--sp = evmjit__push_value(code + pc + 1, 2); pc += 2; break;
        case 0x62: *--sp = evmjit__push_value(code + pc + 1, 3); pc += 3; break;
        case 0x63: *--sp = evmjit__push_value(code + pc + 1, 4); pc += 4; break;
        case 0x64: *--sp = evmjit__push_value(code + pc + 1, 5); pc += 5; break;
        case 0x65: *--sp = evmjit__push_value(code + pc + 1, 6); pc += 6; break;
        case 0x66: *--sp = evmjit__push_value(code + pc + 1, 7); pc += 7; break;
        case 0x67: *--sp = evmjit__push_value(code + pc + 1, 8); pc += 8; break;
        case 0x68: *--sp = evmjit__push_value(code + pc + 1, 9); pc += 9; break;
        case 0x69: *--sp = evmjit__push_value(code + pc + 1, 10); pc += 10; break;
        case 0x6a: *--sp = evmjit__push_value(code + pc + 1, 11); pc += 11; break;
        case 0x6b: *--sp = evmjit__push_value(code + pc + 1, 12); pc += 12; break;
        case 0x6c: *--sp = evmjit__push_value(code + pc + 1, 13); pc += 13; break;
        case 0x6d: *--sp = evmjit__push_value(code + pc + 1, 14); pc += 14; break;
        case 0x6e: *--sp = evmjit__push_value(code + pc + 1, 15); pc += 15; break;
        case 0x6f: *--sp = evmjit__push_value(code + pc + 1, 16); pc += 16; break;
        case 0x70: *--sp = evmjit__push_value(code + pc + 1, 17); pc += 17; break;
        case 0x71: *--sp = evmjit__push_value(code + pc + 1, 18); pc += 18; break;
        case 0x72: *--sp = evmjit__push_value(code + pc + 1, 19); pc += 19; break;
        case 0x73: *--sp = evmjit__push_value(code + pc + 1, 20); pc += 20; break;
        case 0x74: *--sp = evmjit__push_value(code + pc + 1, 21); pc += 21; break;
        case 0x75: *--sp = evmjit__push_value(code + pc + 1, 22); pc += 22; break;
        case 0x76: *--sp = evmjit__push_value(code + pc + 1, 23); pc += 23; break;
        case 0x77: *--sp = evmjit__push_value(code + pc + 1, 24); pc += 24; break;
        case 0x78: *--sp = evmjit__push_value(code + pc + 1, 25); pc += 25; break;
        case 0x79: *--sp = evmjit__push_value(code + pc + 1, 26); pc += 26; break;
        case 0x7a: *--sp = evmjit__push_value(code + pc + 1, 27); pc += 27; break;
        case 0x7b: *--sp = evmjit__push_value(code + pc + 1, 28); pc += 28; break;
        case 0x7c: *--sp = evmjit__push_value(code + pc + 1, 29); pc += 29; break;
        case 0x7d: *--sp = evmjit__push_value(code + pc + 1, 30); pc += 30; break;
        case 0x7e: *--sp = evmjit__push_value(code + pc + 1, 31); pc += 31; break;
        case 0x7f: *--sp = evmjit__push_value(code + pc + 1, 32); pc += 32; break;
        case 0x80: sp[-1] = sp[0]; sp--; break;
        case 0x81: sp[-1] = sp[1]; sp--; break;
        case 0x82: sp[-1] = sp[2]; sp--; break;
        case 0x83: sp[-1] = sp[3]; sp--; break;
        case 0x84: sp[-1] = sp[4]; sp--; break;
        case 0x85: sp[-1] = sp[5]; sp--; break;
        case 0x86: sp[-1] = sp[6]; sp--; break;
        case 0x87: sp[-1] = sp[7]; sp--; break;
        case 0x88: sp[-1] = sp[8]; sp--; break;
        case 0x89: sp[-1] = sp[9]; sp--; break;
        case 0x8a: sp[-1] = sp[10]; sp--; break;
        case 0x8b: sp[-1] = sp[11]; sp--; break;
        case 0x8c: sp[-1] = sp[12]; sp--; break;
        case 0x8d: sp[-1] = sp[13]; sp--; break;
        case 0x8e: sp[-1] = sp[14]; sp--; break;
        case 0x8f: sp[-1] = sp[15]; sp--; break;
        case 0x90: evmjit__swap(sp, 1); break;
        case 0x91: evmjit__swap(sp, 2); break;
        case 0x92: evmjit__swap(sp, 3); break;
        case 0x93: evmjit__swap(sp, 4); break;
        case 0x94: evmjit__swap(sp, 5); break;
        case 0x95: evmjit__swap(sp, 6); break;
        case 0x96: evmjit__swap(sp, 7); break;
        case 0x97: evmjit__swap(sp, 8); break;
        case 0x98: evmjit__swap(sp, 9); break;
        case 0x99: evmjit__swap(sp, 10); break;
        case 0x9a: evmjit__swap(sp, 11); break;
        case 0x9b: evmjit__swap(sp, 12); break;
        case 0x9c: evmjit__swap(sp, 13); break;
        case 0x9d: evmjit__swap(sp, 14); break;
        case 0x9e: evmjit__swap(sp, 15); break;
        case 0x9f: evmjit__swap(sp, 16); break;
        default: /* unreachable: undefined opcodes fail the range check above */
            st = EVMJIT_INTERNAL_ERROR;
            goto done;
        }
        pc++;
    }
#undef EVMJIT__BINARY
#undef EVMJIT__CALL_BUILTIN
done:
    f->gas = gas;
    return st;
}

/* ---- Execute ------------------------------------------------------------------------------ */

static void evmjit__release_output(const evmjit_result *r) { free((void *)r->output_data); }

static evmjit_result evmjit__failure_result(evmjit_status_code st) {
    evmjit_result r;
    memset(&r, 0, sizeof r);
    r.status_code = st;
    return r;
}

/* Runs `fn` on a fresh frame and turns the frame into an evmjit_result. */
static evmjit_result evmjit__run_frame(evmjit_fn fn, evmjit_runtime *runtime,
                                       const evmjit_host_interface *host,
                                       evmjit_host_context *host_ctx, evmjit_revision rev,
                                       const evmjit_message *msg, const uint8_t *code,
                                       size_t code_size) {
    evmjit__frame_buffers *b = evmjit__buffers_acquire();
    if (!b) return evmjit__failure_result(EVMJIT_OUT_OF_MEMORY);
    evmjit_frame f;
    memset(&f, 0, sizeof f);
    f.gas = msg->gas;
    f.stack = b->stack;
    f.memory = b->memory;
    f.memory_capacity = b->memory_capacity;
    f.msg = msg;
    f.code = code;
    f.code_size = code_size;
    f.host = host;
    f.host_ctx = host_ctx;
    f.builtins = &evmjit__builtins;
    f.rev = rev;
    f.runtime = runtime;
    f.scratch = b;

    evmjit_status_code st = fn(&f);

    evmjit_result r = evmjit__failure_result(st);
    if (st == EVMJIT_SUCCESS || st == EVMJIT_REVERT) {
        r.gas_left = f.gas;
        if (st == EVMJIT_SUCCESS) r.gas_refund = f.gas_refund;
        if (f.output_size) {
            uint8_t *out = (uint8_t *)malloc((size_t)f.output_size);
            if (out) {
                memcpy(out, f.memory + f.output_offset, (size_t)f.output_size);
                r.output_data = out;
                r.output_size = (size_t)f.output_size;
                r.release = evmjit__release_output;
            } else {
                r = evmjit__failure_result(EVMJIT_OUT_OF_MEMORY);
            }
        }
    }
    evmjit__set_return_data(&f, NULL);
    b->memory = f.memory; /* keep the (possibly grown) buffer for the next frame */
    b->memory_capacity = f.memory_capacity;
    evmjit__buffers_release(b);
    return r;
}

EVMJIT_API evmjit_result evmjit_execute(evmjit_runtime *runtime, const evmjit_host_interface *host,
                                        evmjit_host_context *host_ctx, evmjit_revision rev,
                                        const evmjit_message *msg, const uint8_t *code,
                                        size_t code_size, const evmjit_bytes32 *code_hash) {
    (void)code_hash;
    if (!host || !msg || (!code && code_size)) return evmjit__failure_result(EVMJIT_INTERNAL_ERROR);
    if ((unsigned)rev > EVMJIT_MAX_REVISION) return evmjit__failure_result(EVMJIT_REJECTED);
    if (msg->gas < 0) return evmjit__failure_result(EVMJIT_OUT_OF_GAS);
    return evmjit__run_frame(evmjit_interpret, runtime, host, host_ctx, rev, msg, code, code_size);
}


#endif /* EVMJIT_CACHE_IMPLEMENTATION_DONE */
#endif /* EVMJIT_CACHE_IMPLEMENTATION */
