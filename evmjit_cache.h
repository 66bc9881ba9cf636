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

/* The tier-0 program for any code: interprets frame->code. Any thread. */
EVMJIT_API evmjit_status_code evmjit_interpret(evmjit_frame *frame);

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

EVMJIT_API const char *evmjit_error_name(evmjit_error e) {
    static const char *const names[] = {
#define EVMJIT_ERROR_TEXT(name, text) text,
        EVMJIT_ERRORS(EVMJIT_ERROR_TEXT)
#undef EVMJIT_ERROR_TEXT
    };
    if ((unsigned)e >= (unsigned)EVMJIT_ERROR_COUNT) return "unknown error";
    return names[e];
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

/* Keccak-f[1600]: 24 rounds of theta, rho+pi, chi, iota over a 5x5 lane state (lane x,y at
   index x + 5y). */
static void evmjit__keccakf(uint64_t s[25]) {
    /* rho offsets and pi destinations, walked along the pi cycle starting at lane 1 */
    static const unsigned rho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                     27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
    static const unsigned pi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                                    15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};
    for (int round = 0; round < 24; round++) {
        uint64_t c[5];
        for (int x = 0; x < 5; x++) c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
        for (int x = 0; x < 5; x++) {
            uint64_t d = c[(x + 4) % 5] ^ evmjit__rotl64(c[(x + 1) % 5], 1);
            for (int y = 0; y < 25; y += 5) s[y + x] ^= d;
        }
        uint64_t carried = s[1];
        for (int i = 0; i < 24; i++) {
            unsigned j = pi[i];
            uint64_t t = s[j];
            s[j] = evmjit__rotl64(carried, rho[i]);
            carried = t;
        }
        for (int y = 0; y < 25; y += 5) {
            uint64_t row[5];
            for (int x = 0; x < 5; x++) row[x] = s[y + x];
            for (int x = 0; x < 5; x++) s[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
        }
        s[0] ^= evmjit__keccak_rc[round];
    }
}

static inline uint64_t evmjit__load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
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

EVMJIT_API evmjit_word evmjit_word_from_bytes32(const evmjit_bytes32 *b) {
    evmjit_word r;
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++) v = (v << 8) | b->bytes[(3 - i) * 8 + j];
        r.w[i] = v;
    }
    return r;
}

EVMJIT_API evmjit_bytes32 evmjit_word_to_bytes32(evmjit_word a) {
    evmjit_bytes32 b;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) b.bytes[(3 - i) * 8 + j] = (uint8_t)(a.w[i] >> (56 - 8 * j));
    return b;
}

/* Big-endian bytes (up to 32) to a word: PUSH data, calldata loads. */
static inline evmjit_word evmjit__word_from_be(const uint8_t *p, size_t n) {
    evmjit_word r = {{0, 0, 0, 0}};
    for (size_t i = 0; i < n; i++) {
        size_t bit = 8 * (n - 1 - i);
        r.w[bit / 64] |= (uint64_t)p[i] << (bit % 64);
    }
    return r;
}

static inline void evmjit__word_to_be(evmjit_word a, uint8_t out[32]) {
    for (int i = 0; i < 4; i++) {
        uint64_t v = a.w[3 - i];
        for (int j = 0; j < 8; j++) out[8 * i + j] = (uint8_t)(v >> (56 - 8 * j));
    }
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
    for (int i = 3; i >= 0; i--)
        if (a.w[i] != b.w[i]) return a.w[i] < b.w[i];
    return false;
}
static inline bool evmjit__word_slt(evmjit_word a, evmjit_word b) {
    bool an = a.w[3] >> 63, bn = b.w[3] >> 63;
    if (an != bn) return an;
    return evmjit__word_ult(a, b);
}

static inline evmjit_word evmjit__word_add(evmjit_word a, evmjit_word b) {
    evmjit_word r;
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a.w[i] + b.w[i];
        uint64_t c1 = s < a.w[i];
        r.w[i] = s + carry;
        carry = c1 | (r.w[i] < s);
    }
    return r;
}
static inline evmjit_word evmjit__word_sub(evmjit_word a, evmjit_word b) {
    evmjit_word r;
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t d = a.w[i] - b.w[i];
        uint64_t b1 = a.w[i] < b.w[i];
        r.w[i] = d - borrow;
        borrow = b1 | (d < borrow);
    }
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
    /* truncated schoolbook: only products that land in the low 4 limbs */
    evmjit_word r = {{0, 0, 0, 0}};
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
#ifdef EVMJIT__HAVE_U128
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

/* ==== INTERPRETER (placeholder until the interpreter lands) ==== */
EVMJIT_API evmjit_status_code evmjit_interpret(evmjit_frame *frame) {
    (void)frame;
    return EVMJIT_INTERNAL_ERROR;
}
EVMJIT_API evmjit_result evmjit_execute(evmjit_runtime *runtime, const evmjit_host_interface *host,
                                        evmjit_host_context *host_ctx, evmjit_revision rev,
                                        const evmjit_message *msg, const uint8_t *code,
                                        size_t code_size, const evmjit_bytes32 *code_hash) {
    (void)runtime, (void)host, (void)host_ctx, (void)rev, (void)msg, (void)code, (void)code_size,
        (void)code_hash;
    evmjit_result r;
    memset(&r, 0, sizeof r);
    r.status_code = EVMJIT_INTERNAL_ERROR;
    return r;
}
/* ==== END INTERPRETER ==== */

#endif /* EVMJIT_CACHE_IMPLEMENTATION_DONE */
#endif /* EVMJIT_CACHE_IMPLEMENTATION */
