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
   evmjit_execute may be called from any number of threads at once, and re-entered from
   host->call for nested frames. Without a runtime it touches only per-thread state (frame
   buffers and code analyses, freed at thread exit or by evmjit_thread_cleanup).
   A runtime (evmjit_runtime_create) adds:
     - callers: look programs up in the resident table without locks or allocation, and push
       one event per miss into a bounded ring (a full ring drops and counts the event);
     - one backend thread, the only writer of the resident table: it drains the ring, counts
       hotness, admits and dispatches jobs, publishes results, evicts;
     - worker threads (default ceil(cpus/2), 1..4), each with its own compiler.
   Memory a reader may still see (removed programs, old tables) is freed by epoch-based
   reclamation plus counted references; details in "The code cache runtime" below. No caller
   ever waits for a compiler unless it asks to (blocking lookups, evmjit_compile_sync).
   Callbacks (logger, on_compilation) run on runtime threads and must be thread-safe.
   A prewarm session (evmjit_prewarm_begin) adds its own worker threads, which run your
   transaction callback; they hand compilations to the runtime like any caller.

   Prewarm
   -------
   Before a block executes, a prewarm session runs its transactions speculatively on worker
   threads through your callback and promotes every code they enter that is not resident to
   the compile queue, ordered by the first transaction that touched it; the sequential
   execution then finds native code. Streaming submission, skipping what the sequential
   executor passed (set_executed), stop, finish with or without commit and a report; with
   touch_from_execute, evmjit_execute itself reports every frame. Details and an example in
   "Prewarm" below the runtime API.

   Artifact store layout
   ---------------------
   An artifact store is one directory that a node can keep for months and that several
   processes may share. It holds, for every artifact, one manifest and one shared object:

       <base>.manifest              what the object is (text, below)
       <base>-<id>.so               the shared object; <id> = 16 hex digits unique to the
                                    publish that wrote it (so one manifest names it, ever)
       .evmjit-tmp-<pid>-<...>      a publish or removal in progress (or one a crash
                                    interrupted)

       <base> = <code hash, 64 hex>-r<revision>-<backend>-O<opt level>-<k16>

   The artifact key is (code hash, revision, backend, opt level, evmjit ABI version, compiler
   version, target). <k16> is the first 8 bytes of the keccak-256 of the key's profile (every
   field but code hash and revision, one per line), so every field of the key is part of the
   file name, and the code hash, revision, backend and opt level can be read off it. A store
   opened for one profile (evmjit_store_desc) loads only artifacts of that profile; others in
   the same directory (another opt level, an older compiler, another CPU) are skipped and
   counted as foreign, never deleted by load or store. The target defaults to
   evmjit_store_host_target(): architecture, OS and the CPU's instruction-set feature words,
   so an artifact loads only on machines with the CPU features of the one that compiled it
   (set evmjit_store_desc.target to share a store among machines whose compiler targets a
   common baseline).

   The manifest is US-ASCII text, one "field value" per line, in exactly this order:

       evmjit-artifact 1                 format version (EVMJIT_STORE_FORMAT_VERSION)
       code_hash 0x<64 hex>              keccak-256 of the bytecode
       revision <0..>                    evmjit_revision
       backend <name>                    evmjit_backend.name ("llvm")
       compiler_version <text>           evmjit_backend.version ("19.1.7")
       opt_level <0..3>
       abi_version <n>                   EVMJIT_ABI_VERSION: evmjit_frame and builtins layout
       target <text>                     triple and CPU features the object runs on
       symbol <C identifier>             the exported evmjit_fn
       code_size <n>                     bytecode length
       object_file <base>-<id>.so
       object_size <n>                   bytes
       object_keccak 0x<64 hex>          keccak-256 of the object bytes
       created <unix seconds>
       end

   Publishing (store) is atomic: the object and the manifest are written to temporary files in
   the same directory and fsynced; the object is hard-linked to its unique name, the
   directory is fsynced, the manifest is hard-linked to its name (link fails if the name
   exists: nothing is ever overwritten), the directory is fsynced again. The manifest is the
   commit point: an object without a manifest is an orphan, never loaded. Two processes
   publishing one key at once both succeed and leave one valid artifact (the first link wins;
   the other removes its own object). A manifest that exists but fails verification is
   replaced by rename, and its object removed (a process that mapped it keeps its copy).
   Removal (remove, clear, gc) first renames the manifest away, then deletes the object that
   manifest names: since only one manifest ever names an object, loaders and publishers in
   other processes see an artifact whole or not at all. No file is ever written in place:
   processes run code mapped from these files, and rewriting one under them (cp over it,
   an editor) crashes them; replace files by rename, or delete them.

   Loading verifies before dlopen: the manifest parses; the key its fields spell gives exactly
   its file name and is the requested key; its ABI version, compiler and target are this
   store's; the object's length and keccak-256 match the manifest. Then dlopen(RTLD_NOW |
   RTLD_LOCAL) and dlsym(symbol). Any failure skips that artifact, is counted by reason
   (evmjit_store_stats.skips) and logged; it never stops other artifacts from loading.

   Trust. Loading an artifact runs its code with the rights of the process. So the store
   refuses (EVMJIT_ERR_UNTRUSTED) a directory that is not owned by the effective user or is
   writable by group or others, a directory whose ancestors another user could rename or
   replace (owned by someone other than the user or root, or writable by others without the
   sticky bit), and skips artifact files that are not regular files owned by the user or are
   writable by group or others. All file access goes through the directory descriptor opened
   and checked at evmjit_store_open; dlopen takes the absolute path of the verified object,
   whose name is never reused, and which no other user can replace. Fix a refused directory
   with `chmod go-w DIR` (and chown). The check cannot protect against the user itself.

   Maintenance: `evmjit store ls|verify|gc DIR` lists, re-checks, and removes temporary
   leftovers, orphans and artifacts that fail verification (evmjit_store_gc). Neither load nor
   store ever deletes artifacts of another profile; clear deletes every artifact.

   The LLVM backend
   ----------------
   evmjit_llvm.c is the only file that uses LLVM (17 or newer, C API). It provides one
   evmjit_backend table, evmjit_llvm_backend(), to pass in evmjit_runtime_desc.backend:
   bytecode -> analysis -> LLVM IR (words are i256) -> optimisation -> JIT in memory, or an
   object linked into a shared object for the artifact store. Compiled code reaches the host
   and the runtime only through pointers in evmjit_frame (evmjit_builtins_table()), so
   artifacts have no undefined symbols beyond libc. Without evmjit_llvm.c this header still
   interprets every contract and runs ahead-of-time artifacts compiled elsewhere.
   Two tiers of compiled code: at the default level the JIT first compiles a contract on
   the backend's baseline tier (no i256 in its IR, LLVM's fast instruction selector: a few
   milliseconds for a typical contract, about 10x less than the full optimiser; its code
   runs about 1.8x faster than the interpreter); such a JIT program is "provisional".
   After desc.upgrade_threshold hits (default 64) the backend thread has it compiled again
   with the full optimiser (one at a time, after every first compilation) and swaps the
   result into the resident table; callers run the old program until then, and its code is
   freed after the last reference. Statistics: upgrades, provisional.

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
    X(THREAD, "thread creation failed")                                                       \
    X(STOPPED, "stopped (a prewarm session takes no more work)")

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

/* evmjit's own ABI: the layout of evmjit_frame and the builtins table that compiled code and
   AOT artifacts depend on. Artifacts of another ABI version are never loaded. */
#ifndef EVMJIT_ABI_VERSION
#define EVMJIT_ABI_VERSION 1
#endif

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

/* ============================================================================================
   The code cache runtime
   ============================================================================================

   A runtime decides which contracts run as native code. Callers look a key (code hash,
   revision) up in the resident table without locks; a miss runs the interpreter and records an
   event in a bounded ring. One backend thread drains the ring and counts how often each key
   was missed; when a key is about to become hot, the next caller that misses it is asked for
   its code (EVMJIT_LOOKUP_WANT_CODE: the lookup itself never copies or allocates), worker
   threads compile, and the backend publishes the result.

   Threading contract
     - The resident table has ONE writer, the backend thread, and any number of lock-free
       readers. A lookup hit takes no lock, allocates nothing and writes no cache line that
       another thread writes (per-thread reader records and per-thread hit counters).
     - Reclamation is epoch based: every thread that looks programs up owns a reader record
       (one per thread, process-wide) holding the global epoch it saw when it entered a read
       section, or 0 when it holds no lookup reference. Removed programs and old tables are
       freed by the backend only after every reader that might still see them has left its
       read section, and after the last counted reference (evmjit_program_acquire,
       evmjit_compile_sync) is released - at its next wake-up, so at most wake_interval_ms
       later. Nothing is ever freed on a caller's thread.
     - Callers never take a lock that a compiler holds. Functions that hand work to the
       backend may wait briefly for an internal mutex that is only held for O(1) work.

   References
     A program returned by evmjit_lookup or evmjit_lookup_blocking is pinned to the calling
     thread: release it with evmjit_lookup_release ON THAT THREAD (nested lookups nest; a
     per-thread counter tracks them, so there is no limit). To keep a program beyond that or
     hand it to another thread, take a counted reference with evmjit_program_acquire first and
     release that with evmjit_program_release on any thread. evmjit_compile_sync also returns
     a counted reference. A program (its native code) lives until its last reference of
     either kind is gone, even if it was evicted or cleared meanwhile. Release every reference
     before destroying the runtime.
*/

/* ---- compile-time limits ------------------------------------------------------------------ */

/* Reader records: threads that can hold lookup references at the same time, process-wide.
   A thread takes a record at its first lookup and gives it back when it exits. Threads
   beyond this share one counter (correct, but slower and it holds back reclamation). */
#ifndef EVMJIT_READER_SLOTS
#define EVMJIT_READER_SLOTS 256
#endif

/* A desc value meaning "off", "no limit" or "never" (zero means "default"). */
#define EVMJIT_OFF UINT64_MAX
/* desc.opt_level values (zero is the default, O2). The backend receives 0..3. */
#define EVMJIT_O0 1
#define EVMJIT_O1 2
#define EVMJIT_O2 3
#define EVMJIT_O3 4
/* desc.worker_threads: no worker threads at all (nothing is ever compiled). */
#define EVMJIT_NO_WORKERS (-1)

/* ---- programs ------------------------------------------------------------------------------ */

typedef enum evmjit_program_kind {
    EVMJIT_PROGRAM_JIT = 1, /* compiled in this process; code lives in the backend's JIT */
    EVMJIT_PROGRAM_AOT = 2  /* a shared object from the artifact store */
} evmjit_program_kind;

/* A compiled contract. Read-only for users; the runtime keeps more state behind it. Valid
   while the caller holds a reference. */
typedef struct evmjit_program {
    evmjit_fn fn;             /* run one frame of this code */
    evmjit_bytes32 code_hash; /* key, with rev */
    evmjit_revision rev;
    evmjit_program_kind kind;
    size_t code_size;  /* bytecode length */
    size_t code_bytes; /* native code size (JIT code or shared object) */
} evmjit_program;

/* ---- compiler backend ---------------------------------------------------------------------- */

/* Per-phase wall times of one job, in nanoseconds. The backend fills the compile phases; the
   runtime fills queue, store, load and total. */
typedef struct evmjit_compile_times {
    uint64_t queue_ns;    /* admitted -> a worker started it */
    uint64_t analysis_ns; /* bytecode analysis */
    uint64_t ir_ns;       /* IR generation */
    uint64_t optimize_ns; /* optimisation passes */
    uint64_t codegen_ns;  /* machine code */
    uint64_t link_ns;     /* AOT: shared object link; JIT: materialisation */
    uint64_t store_ns;    /* AOT: artifact store write */
    uint64_t load_ns;     /* AOT: artifact store load */
    uint64_t total_ns;    /* the whole job on the worker */
} evmjit_compile_times;

typedef struct evmjit_compile_request evmjit_compile_request;
struct evmjit_compile_request {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    const uint8_t *code; /* valid during the call */
    size_t code_size;
    int opt_level; /* 0..3 */
    /* A hot provisional program is compiled again (JIT only): take the full optimising path
       whatever the input's size (the backend's budgets still apply). */
    bool upgrade;
    /* Long compilations should poll this between phases and give up with
       EVMJIT_ERR_SHUTDOWN when it returns true (shutdown, or the result became stale). */
    bool (*cancelled)(const evmjit_compile_request *req);
    void *runtime_private;
};

/* What a compile function fills in (zeroed before the call). */
typedef struct evmjit_compile_output {
    evmjit_fn fn;       /* JIT: the entry point, callable until free_code(code) */
    void *code;         /* JIT: the backend's handle for free_code */
    size_t code_bytes;  /* JIT: native code size */
    uint8_t *object;    /* AOT: shared object bytes, released with free_object */
    size_t object_size;
    char symbol[128];   /* AOT: the exported evmjit_fn */
    char target[128];   /* AOT: target triple and CPU the object runs on */
    /* JIT: the backend took a cheaper path than opt_level asks for (the LLVM backend's
       baseline tier at the default level, to keep the first compilation short); once it is hot
       (desc.upgrade_threshold hits) the runtime compiles it again with req.upgrade set and
       swaps the result in. */
    bool provisional;
    evmjit_compile_times times;
    char message[256];  /* why it failed (NUL-terminated) */
} evmjit_compile_output;

/* A compiler, as a table of functions (evmjit_llvm.c provides one). `user` is passed back.
   create_compiler/destroy_compiler/compile_* run on worker threads, one compiler per worker,
   never concurrently for one compiler; a worker recycles its compiler (destroy + create)
   after desc.recycle_after jobs. free_code and free_object run on runtime threads (backend,
   workers, or the thread that destroys the runtime), possibly after the compiler that made
   the code was destroyed: the backend keeps alive what the code needs. */
typedef struct evmjit_backend {
    const char *name;    /* "llvm"; recorded with artifacts */
    const char *version; /* compiler version; recorded with artifacts */
    void *user;
    /* A compiler for one worker, opt_level 0..3. On failure write the reason to err. */
    evmjit_error (*create_compiler)(void *user, int opt_level, void **compiler, char *err,
                                    size_t err_size);
    void (*destroy_compiler)(void *user, void *compiler);
    evmjit_error (*compile_jit)(void *user, void *compiler, const evmjit_compile_request *req,
                                evmjit_compile_output *out);
    /* may be NULL: no AOT */
    evmjit_error (*compile_aot)(void *user, void *compiler, const evmjit_compile_request *req,
                                evmjit_compile_output *out);
    void (*free_code)(void *user, void *code);                 /* JIT code */
    void (*free_object)(void *user, evmjit_compile_output *out); /* AOT object bytes */
} evmjit_backend;

/* The LLVM backend, defined in evmjit_llvm.c: only programs that link that file may call it
   (weak references work: `if (evmjit_llvm_backend) ...`). Plain extern, not EVMJIT_API: it is
   never defined by this header. Any thread; never blocks. */
const evmjit_backend *evmjit_llvm_backend(void);

/* ---- artifact store ------------------------------------------------------------------------ */

/* A loaded AOT artifact. */
typedef struct evmjit_artifact {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    evmjit_fn fn;
    void *handle;      /* the store's (for example a dlopen handle); given back to unload */
    size_t code_size;  /* bytecode length (0 if unknown) */
    size_t code_bytes; /* size of the shared object */
} evmjit_artifact;

/* A shared object to persist. */
typedef struct evmjit_artifact_object {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    const char *compiler; /* backend name, version and options ("llvm 19.1.7 O2") */
    const char *symbol;   /* the exported evmjit_fn */
    const char *target;   /* what it runs on */
    const uint8_t *object;
    size_t object_size;
    size_t code_size; /* bytecode length */
} evmjit_artifact_object;

/* Receives one artifact from load_all and takes ownership of it (the runtime unloads it
   later, also when it returns an error). A non-OK return asks the store to stop and return
   that error. */
typedef evmjit_error (*evmjit_artifact_sink)(void *ctx, const evmjit_artifact *artifact);

/* Where AOT artifacts persist, as a table of functions. Called from the creating thread
   (load_all), worker threads (load, store), the backend thread and the destroying thread
   (unload) and API callers (clear): every function must be thread-safe. */
typedef struct evmjit_artifact_store {
    const char *name;
    void *user;
    /* every artifact this process can run; skips (and counts) bad ones itself */
    evmjit_error (*load_all)(void *user, evmjit_artifact_sink sink, void *ctx);
    /* one key: EVMJIT_ERR_NOT_FOUND if absent */
    evmjit_error (*load)(void *user, const evmjit_bytes32 *code_hash, evmjit_revision rev,
                         evmjit_artifact *out);
    /* persist; a key that exists is never overwritten (returns OK) */
    evmjit_error (*store)(void *user, const evmjit_artifact_object *object);
    /* delete every artifact (loaded ones stay usable until unloaded) */
    evmjit_error (*clear)(void *user);
    void (*unload)(void *user, const evmjit_artifact *artifact);
} evmjit_artifact_store;

/* ---- compilation callback ------------------------------------------------------------------ */

typedef struct evmjit_compilation_info {
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    evmjit_program_kind kind;
    bool success;
    bool published;  /* became resident (false if it failed or a clear made it stale) */
    bool from_store; /* an AOT request satisfied by loading a persisted artifact */
    bool upgrade;    /* the optimising recompilation of a hot provisional program */
    evmjit_error error;
    const char *message; /* failure reason ("" on success); valid during the call */
    size_t code_size;
    size_t code_bytes;
    evmjit_compile_times times;
} evmjit_compilation_info;

/* ---- runtime settings ---------------------------------------------------------------------- */

typedef enum evmjit_compile_mode {
    EVMJIT_MODE_DEFAULT = 0, /* JIT */
    EVMJIT_MODE_JIT = 1,     /* hot code is compiled in memory */
    EVMJIT_MODE_AOT = 2      /* hot code is compiled to shared objects and persisted (needs a store) */
} evmjit_compile_mode;

/* Runtime settings. Zero in any field means the default (CACHE_BEHAVIOUR.md, "Defaults");
   EVMJIT_OFF means off / no limit / never where a field says so. evmjit_runtime_settings
   returns the values in use. */
typedef struct evmjit_runtime_desc {
    const evmjit_backend *backend;      /* compiler; NULL: none (interpret, and load stored AOT) */
    const evmjit_artifact_store *store; /* AOT persistence; NULL: none (or store_dir) */
    /* When store is NULL: a directory artifact store (evmjit_store_open) that the runtime opens
       at creation, with its backend, opt level, allocator and logger, creating the directory
       if absent, and closes after destroy. NULL: none. */
    const char *store_dir;
    evmjit_allocator allocator;
    evmjit_logger logger;
    /* called on the backend thread after every finished job; keep it short and do not call
       the runtime's blocking functions from it (compile_sync, lookup_blocking, sync, destroy) */
    void (*on_compilation)(const evmjit_compilation_info *info, void *user);
    void *on_compilation_user;
    bool enabled;             /* start enabled (starts the threads at creation) */
    bool blocking;            /* evmjit_lookup compiles synchronously on a miss (tools, tests) */
    evmjit_compile_mode mode; /* what hot code becomes: JIT (default) or AOT */
    int opt_level;            /* EVMJIT_O0..EVMJIT_O3; 0: EVMJIT_O2 */
    int worker_threads;       /* 0: ceil(cpus/2) clamped to 1..4; EVMJIT_NO_WORKERS: none; max 64 */
    uint64_t hot_threshold;   /* observed misses before compiling; 0: 8; EVMJIT_OFF: never */
    uint64_t max_code_size;   /* bytecode length limit; 0: 24576; EVMJIT_OFF: no limit */
    uint64_t max_in_flight;   /* compilations admitted and not finished, and requests queued
                                 for the backend; 0: 2048 */
    uint64_t max_cold_keys;   /* keys counted but not hot yet; 0: 10 x max_in_flight */
    uint64_t queue_per_worker;    /* jobs queued per worker; 0: 64 */
    uint64_t ring_capacity;       /* lookup events; a power of two, 2..2^24; 0: 4096 */
    uint64_t drain_batch;         /* events drained per backend wake-up; 0: 4096 */
    uint64_t wake_interval_ms;    /* backend wake-up interval; 0: 100 */
    uint64_t idle_eviction_ms;    /* evict programs not hit for this long; 0: 600000; EVMJIT_OFF */
    uint64_t sweep_interval_ms;   /* eviction sweep period; 0: 60000 */
    uint64_t jit_budget_bytes;    /* JIT code memory budget; 0: 1 GiB; EVMJIT_OFF: none */
    uint64_t recycle_after;       /* recycle a worker's compiler after N jobs; 0: 1000; EVMJIT_OFF */
    uint64_t upgrade_threshold;   /* hits of a provisional program before it is compiled again
                                     with the full optimiser; 0: 64; EVMJIT_OFF: never */
    uint64_t shutdown_timeout_ms; /* destroy waits this long for threads; 0: 5000 */
    uint64_t compile_timeout_ms;  /* blocking calls with timeout 0 wait this long; 0: 60000 */
} evmjit_runtime_desc;

/* ---- lookup outcomes ----------------------------------------------------------------------- */

/* X(name, description). Every outcome but HIT means: run the interpreter. */
#define EVMJIT_LOOKUP_OUTCOMES(X)                                                             \
    X(HIT, "hit: run the compiled program")                                                   \
    X(DISABLED, "interpret: the runtime is disabled")                                         \
    X(INELIGIBLE, "interpret: code not eligible (empty or longer than max_code_size)")        \
    X(NOT_READY, "interpret: not compiled yet")                                               \
    X(WANT_CODE, "interpret: hot; hand the code over with evmjit_compile")                    \
    X(FAILED, "interpret: compilation failed")                                                \
    X(INVALID, "interpret: invalid argument")

typedef enum evmjit_lookup_outcome {
#define EVMJIT_LOOKUP_ENUM(name, text) EVMJIT_LOOKUP_##name,
    EVMJIT_LOOKUP_OUTCOMES(EVMJIT_LOOKUP_ENUM)
#undef EVMJIT_LOOKUP_ENUM
    EVMJIT_LOOKUP_OUTCOME_COUNT
} evmjit_lookup_outcome;

/* The description of an outcome ("unknown outcome" outside the enum). Any thread; never
   blocks. */
EVMJIT_API const char *evmjit_lookup_outcome_name(evmjit_lookup_outcome outcome);

/* ---- statistics ---------------------------------------------------------------------------- */

/* A snapshot. Counters only grow; gauges are current values. Fields are read one by one
   (not one atomic snapshot); after evmjit_runtime_sync with no concurrent activity the
   accounting is exact: hits + misses + dropped_events == lookups made while enabled (with
   valid arguments). */
typedef struct evmjit_runtime_stats {
    /* counters */
    uint64_t hits;              /* lookups that returned a program */
    uint64_t misses;            /* lookups that interpreted (counted when the backend drains them) */
    uint64_t dropped_events;    /* lookup events lost to a full ring (ring_capacity) */
    uint64_t dropped_commands;  /* requests refused: request queue full (max_in_flight) */
    uint64_t dropped_jobs;      /* hot keys or requests refused at max_in_flight */
    uint64_t dropped_cold_keys; /* misses not tracked because max_cold_keys was reached */
    uint64_t admitted;          /* keys that became hot or were requested */
    uint64_t dispatched;        /* jobs handed to workers */
    uint64_t succeeded;         /* jobs that produced a program */
    uint64_t failed;            /* jobs that failed */
    uint64_t discarded;         /* results dropped because a clear changed the generation */
    uint64_t evictions;         /* programs evicted (idle + budget) */
    uint64_t evictions_idle;
    uint64_t evictions_budget;
    uint64_t aot_stored;        /* artifacts written to the store */
    uint64_t aot_loaded;        /* artifacts loaded from the store (preload included) */
    uint64_t store_errors;
    uint64_t programs_freed;    /* programs whose code was freed (last reference gone) */
    uint64_t compiler_creates;  /* per-worker compilers created (recycling creates more) */
    uint64_t prewarm_requests;  /* requests prewarm sessions handed over (compile or observe) */
    uint64_t cancelled;         /* prewarm compilations taken back before a worker started them
                                   (evmjit_prewarm_finish without commit) */
    uint64_t upgrades;          /* provisional programs replaced by their optimised recompilation */
    /* gauges */
    uint64_t resident_entries; /* programs in the resident table */
    uint64_t resident_jit;
    uint64_t resident_aot;
    uint64_t provisional;      /* resident JIT programs of a cheap first tier, not upgraded yet */
    uint64_t queued_events;    /* events in the ring */
    uint64_t queued_commands;  /* requests not yet seen by the backend */
    uint64_t pending_jobs;     /* admitted, not finished (waiting for code, queued or compiling) */
    uint64_t tracked_cold_keys;
    uint64_t jit_code_bytes; /* native code of live JIT programs (resident or still referenced) */
    uint64_t aot_code_bytes;
    uint64_t retired_waiting; /* removed objects waiting for readers or references */
    uint64_t generation;      /* bumped by every clear */
    uint32_t pause_depth;
    uint32_t threads; /* running runtime threads (backend + workers) */
    bool enabled;
} evmjit_runtime_stats;

/* One code for batch requests. */
typedef struct evmjit_code_ref {
    evmjit_bytes32 code_hash;
    const uint8_t *code;
    size_t code_size;
    evmjit_revision rev;
} evmjit_code_ref;

/* ---- the API ------------------------------------------------------------------------------- */

/* Create a runtime. desc may be NULL (all defaults: disabled, no backend, no store). With a
   store, its artifacts are loaded (load_all) and made resident before this returns; if that
   fails, nothing is left behind. With desc->enabled the threads are started. Returns
   EVMJIT_OK and *out, or an error (INVALID_ARGUMENT for a nonsense setting, logged with the
   setting's name; OUT_OF_MEMORY; THREAD; the store's error). Any thread; blocks for the
   store's load_all and thread start. */
EVMJIT_API evmjit_error evmjit_runtime_create(const evmjit_runtime_desc *desc,
                                             evmjit_runtime **out);

/* The settings in use, defaults resolved (the backend and store pointers as given). Any
   thread; never blocks. */
EVMJIT_API void evmjit_runtime_settings(const evmjit_runtime *rt, evmjit_runtime_desc *out);

/* Stop every thread (running compilations are asked to cancel), free everything. Returns
   EVMJIT_OK, or EVMJIT_ERR_TIMEOUT if a thread did not finish within shutdown_timeout_ms:
   then the threads are detached and the runtime's memory is left to them (never freed under
   a running thread). No other thread may use rt during or after the call; all program
   references must have been released. Blocks up to the shutdown timeout. NULL: no-op. */
EVMJIT_API evmjit_error evmjit_runtime_destroy(evmjit_runtime *rt);

/* Enable lookups, starting the threads on first use / disable them (lookups answer DISABLED
   and count nothing; compilations already running finish and are published).
   enable: any thread; blocks only to start threads the first time. disable: any thread;
   never blocks. */
EVMJIT_API evmjit_error evmjit_runtime_enable(evmjit_runtime *rt);
EVMJIT_API void evmjit_runtime_disable(evmjit_runtime *rt);

/* Pause / resume dispatching compilations to workers (for example while a block executes).
   Pauses nest: n pauses need n resumes. Lookups, miss counting and admission go on while
   paused. pause returns the new depth; resume returns EVMJIT_ERR_INVALID_ARGUMENT when not
   paused. Any thread; never block, never queue anything. */
EVMJIT_API uint32_t evmjit_runtime_pause(evmjit_runtime *rt);
EVMJIT_API evmjit_error evmjit_runtime_resume(evmjit_runtime *rt);

/* Look a key up. HIT: *program is set and pinned to this thread; run program->fn and call
   evmjit_lookup_release(rt, program) on this thread. Anything else: *program is NULL and the
   caller interprets; the miss is recorded as an event (dropped and counted if the ring is
   full). WANT_CODE: the key is hot and this caller was chosen to hand over the code: call
   evmjit_compile with the same arguments (evmjit_execute does); if nobody does, another
   caller is asked a second later. INVALID: NULL code_hash or program, code NULL with a
   non-zero size, or an unknown revision (nothing is counted). rt may be NULL (DISABLED).
   Any thread; never blocks, never allocates, takes no lock (the first lookup on a thread
   registers its reader record) - unless the runtime was created with blocking = true: then
   it behaves like evmjit_lookup_blocking with timeout 0. */
EVMJIT_API evmjit_lookup_outcome evmjit_lookup(evmjit_runtime *rt,
                                               const evmjit_bytes32 *code_hash,
                                               const uint8_t *code, size_t code_size,
                                               evmjit_revision rev, evmjit_program **program);

/* Like evmjit_lookup, but a key that is not resident is compiled now (threshold ignored)
   and the call waits for it: HIT with *program pinned to this thread (release it with
   evmjit_lookup_release), or FAILED (compilation failed or timed out, or nothing can
   compile: no workers or no backend), or DISABLED/INELIGIBLE/INVALID as evmjit_lookup.
   timeout_ms 0 means compile_timeout_ms. Any thread; blocks until the compilation ends. */
EVMJIT_API evmjit_lookup_outcome evmjit_lookup_blocking(evmjit_runtime *rt,
                                                        const evmjit_bytes32 *code_hash,
                                                        const uint8_t *code, size_t code_size,
                                                        evmjit_revision rev,
                                                        uint64_t timeout_ms,
                                                        evmjit_program **program);

/* Release a program that evmjit_lookup or evmjit_lookup_blocking returned, on the thread
   that looked it up. NULL program: no-op. Never blocks, never frees. */
EVMJIT_API void evmjit_lookup_release(evmjit_runtime *rt, evmjit_program *program);

/* Ask for a compilation of this key now (threshold skipped), in the runtime's mode. The code
   is copied; the call returns at once. EVMJIT_OK: queued (a bound may still refuse it later;
   counted in the stats). Errors: INVALID_ARGUMENT, INELIGIBLE, UNSUPPORTED (no workers or no
   backend; logged), BUSY (request queue full), OUT_OF_MEMORY, THREAD. A key that is resident
   or being compiled is not compiled again. Any thread; never waits for a compiler (may wait
   briefly for an internal mutex; starts the threads the first time). */
EVMJIT_API evmjit_error evmjit_compile(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                       const uint8_t *code, size_t code_size,
                                       evmjit_revision rev);

/* Compile (or find) this key and wait. Concurrent calls for one key share one compilation.
   EVMJIT_OK: the program is resident; if program is not NULL, *program is a counted
   reference (release with evmjit_program_release, any thread). Errors as evmjit_compile,
   plus COMPILE_FAILED, TIMEOUT (the compilation goes on), SHUTDOWN. timeout_ms 0 means
   compile_timeout_ms. Works while disabled. Any thread; blocks. */
EVMJIT_API evmjit_error evmjit_compile_sync(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                            const uint8_t *code, size_t code_size,
                                            evmjit_revision rev, uint64_t timeout_ms,
                                            evmjit_program **program);

/* Ask for an AOT artifact of this key: loaded from the store if persisted, else compiled,
   stored and loaded. A key already resident (JIT or AOT) is left alone. Returns like
   evmjit_compile (UNSUPPORTED without a store or without workers). Any thread; never waits
   for a compiler. */
EVMJIT_API evmjit_error evmjit_prepare_aot(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                           const uint8_t *code, size_t code_size,
                                           evmjit_revision rev);

/* evmjit_prepare_aot for each item. Returns EVMJIT_OK if all were queued, else the first
   error; *accepted (may be NULL) gets how many were queued. Any thread; never waits for a
   compiler. */
EVMJIT_API evmjit_error evmjit_prepare_aot_batch(evmjit_runtime *rt, const evmjit_code_ref *items,
                                                 size_t count, size_t *accepted);

/* Forget every resident program: the generation changes at once (lookups answer NOT_READY
   from now on), the backend removes the entries, and results of compilations that started
   earlier are discarded. Programs still referenced live until released. Any thread; never
   blocks (wakes the backend without waiting for it). */
EVMJIT_API evmjit_error evmjit_clear_resident(evmjit_runtime *rt);

/* Delete every persisted artifact (the store's clear). UNSUPPORTED without a store.
   Any thread; blocks on the store's I/O. */
EVMJIT_API evmjit_error evmjit_clear_persisted(evmjit_runtime *rt);

/* Both of the above. Any thread; blocks on the store's I/O. */
EVMJIT_API evmjit_error evmjit_clear_all(evmjit_runtime *rt);

/* Wait until the backend has processed every event and request made before this call
   (exact statistics in tests and tools). Does not wait for compilations. Returns EVMJIT_OK
   or EVMJIT_ERR_TIMEOUT (timeout_ms 0 means compile_timeout_ms). Any thread; blocks. */
EVMJIT_API evmjit_error evmjit_runtime_sync(evmjit_runtime *rt, uint64_t timeout_ms);

/* Fill *out with a snapshot of the counters and gauges. Any thread; never blocks. */
EVMJIT_API void evmjit_runtime_get_stats(const evmjit_runtime *rt, evmjit_runtime_stats *out);

/* Take a counted reference to a program the caller already holds (pinned or counted). It may
   move to and be released on any thread with evmjit_program_release. Returns program. Any
   thread; never blocks. */
EVMJIT_API evmjit_program *evmjit_program_acquire(evmjit_runtime *rt, evmjit_program *program);

/* Release one counted reference (evmjit_program_acquire, evmjit_compile_sync). The last
   release of an evicted program lets the backend free its code. NULL program: no-op. Any
   thread; never blocks, never frees on the caller's thread. */
EVMJIT_API void evmjit_program_release(evmjit_runtime *rt, evmjit_program *program);

/* ============================================================================================
   Prewarm: compile what a block will need before it needs it
   ============================================================================================

   Execution clients run a block's transactions speculatively in parallel before the real,
   sequential execution, to warm their state caches. A prewarm session turns the same pass to
   code: worker threads run your callback for each transaction against read-only state, the
   callback reports every frame it enters (evmjit_prewarm_touch, or evmjit_execute does it for
   you with touch_from_execute), and every code that is not resident yet is promoted to the
   runtime's compile queue - earlier transactions first - so that the sequential execution
   finds native code instead of the interpreter.

       static evmjit_error run_tx(const evmjit_prewarm_tx *t) {  // on a prewarm worker
           my_block *b = t->user;
           return speculate(b, t->index);  // evmjit_execute(...) on read-only state
       }

       evmjit_prewarm_desc pd = {0};
       pd.execute = run_tx;
       pd.user = block;
       pd.touch_from_execute = true;       // every frame evmjit_execute runs is touched
       evmjit_prewarm *pw;
       if (evmjit_prewarm_begin(rt, &pd, &pw) == EVMJIT_OK) {
           evmjit_prewarm_submit(pw, NULL, block->tx_count, NULL);  // more may follow
           for (uint64_t i = 0; i < block->tx_count; i++) {
               execute_for_real(block, i);  // evmjit_execute(rt, ...): hits native code
               evmjit_prewarm_set_executed(pw, i);
           }
           evmjit_prewarm_report rep;
           evmjit_prewarm_finish(pw, true, &rep);
       }

   Transactions are numbered 0, 1, 2... in submission order; evmjit_prewarm_submit may be
   called again while the workers run (streaming). Workers take the next transaction from one
   shared cursor, so they run in block order, each as soon as a worker is free (no fixed
   chunks). Nothing runs before min_transactions have been submitted (small blocks are not
   worth the threads). evmjit_prewarm_set_executed(i) says the sequential executor has run
   transaction i: transactions up to i that have not started are skipped. evmjit_prewarm_stop
   ends the session's work: no new transaction starts and touches are no longer recorded;
   running callbacks finish (they can poll evmjit_prewarm_stopped to return early).

   Touches. Each key (code hash, revision) counts once per session; its first touch decides,
   in this order: resident or already compiling -> already_resident; empty, longer than the
   runtime's max_code_size, or failed to compile before -> ineligible; max_promotions
   reached -> over_limit; the runtime's request queue full -> rejected_full; else promoted:
     EVMJIT_PREWARM_COMPILE (default)  a compilation request now (threshold skipped), in the
                                       runtime's mode (JIT or AOT);
     EVMJIT_PREWARM_OBSERVE            `observations` misses are added to the key's normal
                                       hotness (hot_threshold); when that makes it hot it is
                                       compiled at once (the session has its code).
   The runtime's bounds and counters apply as for any request (max_in_flight, max_cold_keys;
   stats prewarm_requests). A code promoted before an evmjit_clear_resident is discarded by
   the clear like every compilation, and not promoted again by this session.

   Priority. The runtime orders the compilations that no worker has started: first those a
   caller waits for (compile_sync, blocking lookups), then prewarm promotions by the index of
   the transaction whose touch promoted them (for evmjit_prewarm_submit_codes, the index
   given), then everything else (hot keys, evmjit_compile); first come, first served within
   each. Workers take transactions in order, so "the touch that promoted it" is the first
   transaction that touched the code, up to the few that run at the same moment. A job keeps
   its place once queued.

   Commit. Promotions reach the runtime as they happen, so compilation overlaps both the
   speculative and the sequential execution. evmjit_prewarm_finish(pw, true, ...) keeps them.
   evmjit_prewarm_finish(pw, false, ...) - the block will not execute after all - takes back
   every compilation that only this session asked for and that no compiler worker has
   started: it is dropped and its key forgotten (report.cancelled, stats cancelled).
   Compilations already running, and keys someone else asked for too (a compile_sync waiter,
   evmjit_compile, a hot key, another session), go on; observations already added stay.

   Threads. evmjit_prewarm_begin starts worker_threads threads ("evmjit-prewarm") that run
   the callback; touches made there use only the session's mutex (O(1) work) and the
   runtime's request queue, never a compiler. evmjit_prewarm_finish stops the session, waits
   for running callbacks (at most finish_timeout_ms), cancels (without commit) and frees it.
   Finish every session before destroying its runtime.
*/

typedef struct evmjit_prewarm evmjit_prewarm;

/* One transaction, as a callback sees it. Valid during the callback. */
typedef struct evmjit_prewarm_tx {
    evmjit_prewarm *session;
    uint64_t index;  /* submission order, from 0 */
    void *tx;        /* the pointer evmjit_prewarm_submit was given for it (NULL if none) */
    void *user;      /* evmjit_prewarm_desc.user */
    uint32_t worker; /* 0 .. worker_threads - 1: index per-worker state (one host per worker) */
} evmjit_prewarm_tx;

/* Runs transaction tx->index speculatively against read-only state and touches every frame
   it enters. A non-OK return is counted (report.errors), never fatal. Called on a prewarm
   worker thread, many at once; must not call evmjit_prewarm_finish. */
typedef evmjit_error (*evmjit_prewarm_fn)(const evmjit_prewarm_tx *tx);

typedef enum evmjit_prewarm_promote {
    EVMJIT_PREWARM_DEFAULT = 0, /* COMPILE */
    EVMJIT_PREWARM_COMPILE = 1, /* compile at once, with priority */
    EVMJIT_PREWARM_OBSERVE = 2  /* add `observations` to the normal hotness */
} evmjit_prewarm_promote;

/* Session settings. Zero in any field means the default; evmjit_prewarm_settings returns the
   values in use. */
typedef struct evmjit_prewarm_desc {
    evmjit_prewarm_fn execute; /* NULL: no workers (only evmjit_prewarm_submit_codes) */
    void *user;                /* evmjit_prewarm_tx.user */
    /* evmjit_execute touches every frame it runs on a worker during a callback, with the
       callback's transaction index (any runtime argument, NULL included) */
    bool touch_from_execute;
    evmjit_prewarm_promote promote; /* 0: EVMJIT_PREWARM_COMPILE */
    int worker_threads;             /* 0: the number of CPUs; 1..256 */
    uint64_t min_transactions;      /* fewer submitted: nothing runs; 0: 1 */
    uint64_t max_promotions;        /* 0: the runtime's max_in_flight; EVMJIT_OFF: no limit */
    uint64_t observations;          /* OBSERVE: misses added per promoted code; 0: 1 */
    uint64_t max_codes;             /* distinct keys recorded; 0: 65536; EVMJIT_OFF: no limit */
    uint64_t max_transactions;      /* 0: 1048576; at most 2^32 */
    uint64_t finish_timeout_ms;     /* finish waits this long for callbacks and the backend;
                                       0: 10000 */
} evmjit_prewarm_desc;

/* What a session did. submitted == run + skipped + not_run, and
   codes_touched == already_resident + ineligible + over_limit + rejected_full + promoted. */
typedef struct evmjit_prewarm_report {
    uint64_t submitted;        /* transactions submitted */
    uint64_t run;              /* callbacks that ran (errors included) */
    uint64_t skipped;          /* not started: the sequential executor had passed them */
    uint64_t not_run;          /* not started: stopped first, or below min_transactions */
    uint64_t errors;           /* callbacks that returned an error */
    bool below_minimum;        /* fewer than min_transactions were submitted: nothing ran */
    uint64_t touches;          /* evmjit_prewarm_touch calls and frames evmjit_execute touched */
    uint64_t ignored_touches;  /* ... of which after stop (not recorded) */
    uint64_t untracked;        /* first touches not recorded: max_codes reached or no memory */
    uint64_t codes_touched;    /* distinct keys touched or submitted */
    uint64_t already_resident; /* resident, or being compiled, at the first touch */
    uint64_t ineligible;       /* empty, over max_code_size, or failed to compile before */
    uint64_t over_limit;       /* not promoted: max_promotions reached */
    uint64_t rejected_full;    /* not promoted: the runtime's request queue was full (BUSY), or
                                  no memory */
    uint64_t promoted;         /* handed to the runtime */
    uint64_t cancelled;        /* finish without commit: promotions taken back (not started) */
    uint64_t elapsed_ns;       /* from begin to finish */
} evmjit_prewarm_report;

/* Begin a prewarm session on rt: starts the runtime's threads if needed and worker_threads
   prewarm workers, which wait for transactions. desc may be NULL (no callback: codes lists
   only). Returns EVMJIT_OK and *out, or INVALID_ARGUMENT (a nonsense setting, logged with its
   name), UNSUPPORTED (the runtime cannot compile: no backend, no workers, or AOT mode without
   a store; logged), OUT_OF_MEMORY, THREAD (nothing is left behind). Any thread; blocks for
   thread creation. */
EVMJIT_API evmjit_error evmjit_prewarm_begin(evmjit_runtime *rt, const evmjit_prewarm_desc *desc,
                                             evmjit_prewarm **out);

/* The settings in use, defaults resolved. Any thread while the session lives; never
   blocks. */
EVMJIT_API void evmjit_prewarm_settings(const evmjit_prewarm *pw, evmjit_prewarm_desc *out);

/* Append count transactions, numbered on from the last ones (*first_index, may be NULL, gets
   the first number). txs (may be NULL: every pointer NULL) gives each one's pointer for the
   callback; the pointed-to data must stay valid until finish. All or nothing: EVMJIT_OK,
   INVALID_ARGUMENT (no callback in the desc), STOPPED, BUSY (more than max_transactions in
   all), OUT_OF_MEMORY. Any thread (a callback too); O(count) under the session's mutex,
   never waits for a callback. */
EVMJIT_API evmjit_error evmjit_prewarm_submit(evmjit_prewarm *pw, void *const *txs, size_t count,
                                              uint64_t *first_index);

/* Touch every code of a list on the calling thread, as if transaction `index` had touched
   them (its priority; list order breaks ties). For callers that already know the set; not
   subject to min_transactions. Returns EVMJIT_OK (what each code became is in the report),
   INVALID_ARGUMENT, or STOPPED. Any thread; never waits for a compiler (briefly for the
   session's and the runtime's mutexes; copies each promoted code). */
EVMJIT_API evmjit_error evmjit_prewarm_submit_codes(evmjit_prewarm *pw,
                                                    const evmjit_code_ref *codes, size_t count,
                                                    uint64_t index);

/* Report a frame of transaction tx->index that runs code_hash/code under rev (the first
   touch of a key may promote it; see "Touches"). Returns EVMJIT_OK (recorded, or seen
   before), STOPPED (after stop: ignored), INVALID_ARGUMENT (NULL tx, session or hash, NULL
   code with a size, bad revision). Any thread, usually the callback's; copies the code of a
   promoted key; never waits for a compiler. */
EVMJIT_API evmjit_error evmjit_prewarm_touch(const evmjit_prewarm_tx *tx,
                                             const evmjit_bytes32 *code_hash,
                                             const uint8_t *code, size_t code_size,
                                             evmjit_revision rev);

/* The sequential executor has executed transaction `index`: workers skip every transaction
   up to it that has not started. Lower values than an earlier call are ignored. Any thread;
   never blocks. */
EVMJIT_API void evmjit_prewarm_set_executed(evmjit_prewarm *pw, uint64_t index);

/* Stop: no transaction starts any more, touches are ignored, submit answers STOPPED; running
   callbacks finish. Idempotent. Any thread, a callback too; never waits for a callback (takes
   the session's mutex for O(1) work and wakes idle workers). */
EVMJIT_API void evmjit_prewarm_stop(evmjit_prewarm *pw);

/* Whether the session was stopped (a long callback may poll it to return early). Any
   thread; never blocks. */
EVMJIT_API bool evmjit_prewarm_stopped(const evmjit_prewarm *pw);

/* Stop, wait for running callbacks and join the workers, then: commit keeps every
   promotion; !commit takes back those not started (see "Commit"). Fills *report (may be
   NULL) and frees the session. Returns EVMJIT_OK; TIMEOUT when callbacks (or the runtime's
   backend) did not finish within finish_timeout_ms - the session is stopped but alive: call
   finish again; INVALID_ARGUMENT from the session's own callback. No other thread may use
   the session during or after a successful call. Any thread but the session's workers;
   blocks up to finish_timeout_ms. */
EVMJIT_API evmjit_error evmjit_prewarm_finish(evmjit_prewarm *pw, bool commit,
                                              evmjit_prewarm_report *report);

/* ============================================================================================
   The directory artifact store
   ============================================================================================

   The on-disk layout, publishing, verification and trust rules are in the manual at the top
   of this file ("Artifact store layout").
*/


/* The evmjit ABI version compiled code is built against: the evmjit_frame layout, the builtin
   indices and their signature. Part of every artifact key. */

/* The manifest format this header reads and writes. */
#define EVMJIT_STORE_FORMAT_VERSION 1

/* Limits: a larger manifest or object is refused (store) or skipped (load). */
#ifndef EVMJIT_STORE_MAX_OBJECT
#define EVMJIT_STORE_MAX_OBJECT ((uint64_t)256 << 20)
#endif
#define EVMJIT_STORE_MAX_MANIFEST 16384
#define EVMJIT_STORE_MAX_TARGET 4096 /* LLVM's feature strings run to a few KiB */
_Static_assert(EVMJIT_STORE_MAX_OBJECT > 0 && EVMJIT_STORE_MAX_OBJECT <= ((uint64_t)1 << 40),
               "EVMJIT_STORE_MAX_OBJECT: 1 byte .. 1 TiB");

/* Why an artifact (or a file) was skipped: X(name, description). NONE is "valid". */
#define EVMJIT_STORE_SKIPS(X)                                                                \
    X(NONE, "valid")                                                                         \
    X(BAD_MANIFEST, "manifest does not parse (syntax, size or format version)")              \
    X(KEY_MISMATCH, "manifest key differs from its file name or from the requested key")     \
    X(FOREIGN_ABI, "built for another evmjit ABI version")                                   \
    X(FOREIGN_COMPILER, "built by another backend, compiler version or opt level")           \
    X(FOREIGN_TARGET, "built for another target")                                            \
    X(MISSING_OBJECT, "shared object missing")                                               \
    X(SIZE_MISMATCH, "shared object length differs from the manifest (truncated?)")          \
    X(HASH_MISMATCH, "shared object keccak-256 differs from the manifest (corrupt)")         \
    X(UNREADABLE, "file cannot be opened or read")                                           \
    X(UNTRUSTED, "file not owned by this user, writable by others, or not a regular file")   \
    X(DLOPEN_FAILED, "dlopen failed")                                                        \
    X(MISSING_SYMBOL, "entry symbol not found in the shared object")                         \
    X(TEMP_LEFTOVER, "temporary file (a publish in progress, or one interrupted)")           \
    X(ORPHAN_OBJECT, "shared object without a manifest")

typedef enum evmjit_store_skip {
#define EVMJIT_STORE_SKIP_ENUM(name, text) EVMJIT_SKIP_##name,
    EVMJIT_STORE_SKIPS(EVMJIT_STORE_SKIP_ENUM)
#undef EVMJIT_STORE_SKIP_ENUM
    EVMJIT_SKIP_COUNT
} evmjit_store_skip;

/* The description of a skip reason ("unknown reason" outside the enum). Any thread; never
   blocks. */
EVMJIT_API const char *evmjit_store_skip_name(evmjit_store_skip reason);

/* File operations the fault hook sees. */
typedef enum evmjit_store_op {
    EVMJIT_STORE_OP_OPEN = 1, /* open a file for reading (manifest, object) */
    EVMJIT_STORE_OP_READ,
    EVMJIT_STORE_OP_CREATE, /* create a temporary file */
    EVMJIT_STORE_OP_WRITE,
    EVMJIT_STORE_OP_FSYNC,  /* a file or the directory */
    EVMJIT_STORE_OP_RENAME, /* object into place; replacing an invalid manifest */
    EVMJIT_STORE_OP_LINK,   /* manifest into place */
    EVMJIT_STORE_OP_UNLINK,
    EVMJIT_STORE_OP_DLOPEN
} evmjit_store_op;

/* Optional fault injection (tests, instrumentation): called before each file operation with
   the file name (relative to the store directory; "." for the directory itself). Return 0
   to go on, or an errno value (ENOSPC, EIO, EACCES...) to make the operation fail with it.
   Called from any thread that uses the store: must be thread-safe. */
typedef struct evmjit_store_faults {
    int (*inject)(evmjit_store_op op, const char *file, void *user);
    void *user;
} evmjit_store_faults;

typedef struct evmjit_store evmjit_store;

/* Store settings. The profile (backend, compiler version, opt level, target) decides which
   artifacts this store loads and what it may publish: use the runtime's backend and
   opt_level. Zero means default. */
typedef struct evmjit_store_desc {
    const char *path; /* the directory (required) */
    bool create;      /* create it (and missing parents, mode 0755) if absent */
    /* profile: backend name and compiler version are taken from `backend` when set, else from
       backend_name / compiler_version (NULL: none - nothing loads, store is refused) */
    const evmjit_backend *backend;
    const char *backend_name;
    const char *compiler_version;
    int opt_level;      /* EVMJIT_O0..EVMJIT_O3 as in evmjit_runtime_desc; 0: EVMJIT_O2 */
    const char *target; /* NULL: evmjit_store_host_target() */
    evmjit_allocator allocator;
    evmjit_logger logger;
    evmjit_store_faults faults;
} evmjit_store_desc;

/* Counters since evmjit_store_open (this store object only; other processes keep their own). */
typedef struct evmjit_store_stats {
    uint64_t loaded;         /* artifacts verified and loaded (load_all and load) */
    uint64_t unloaded;
    uint64_t not_found;      /* load of a key with no manifest */
    uint64_t stored;         /* artifacts this store published */
    uint64_t store_existing; /* store found a valid artifact already: nothing written */
    uint64_t store_replaced; /* store replaced an artifact that failed verification */
    uint64_t store_raced;    /* another publisher won the same key first (both succeed) */
    uint64_t store_failed;   /* store refused or failed (I/O error, full disk, bad input) */
    uint64_t io_errors;      /* failed file operations (any) */
    uint64_t removed;        /* artifacts deleted (remove, clear, gc) */
    uint64_t temp_removed;   /* temporary files and orphans deleted (gc) */
    uint64_t skipped;        /* artifacts and files skipped, all reasons */
    uint64_t skips[EVMJIT_SKIP_COUNT]; /* by reason (skips[EVMJIT_SKIP_NONE] stays 0) */
} evmjit_store_stats;

/* A parsed manifest (see "Artifact store layout"). */
typedef struct evmjit_store_manifest {
    unsigned format_version;
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    char backend[64];
    char compiler_version[128];
    int opt_level; /* 0..3 */
    unsigned abi_version;
    char target[EVMJIT_STORE_MAX_TARGET];
    char symbol[128];
    uint64_t code_size;
    char object_file[256];
    uint64_t object_size;
    evmjit_bytes32 object_keccak;
    int64_t created; /* unix seconds */
} evmjit_store_manifest;

typedef enum evmjit_store_entry_kind {
    EVMJIT_STORE_ENTRY_ARTIFACT = 1, /* a manifest (and the object it names) */
    EVMJIT_STORE_ENTRY_TEMP,         /* a temporary file */
    EVMJIT_STORE_ENTRY_ORPHAN        /* a shared object no manifest names */
} evmjit_store_entry_kind;

/* What evmjit_store_iterate reports for one file. Valid during the callback. */
typedef struct evmjit_store_entry {
    evmjit_store_entry_kind kind;
    const char *file;                       /* name in the directory */
    const evmjit_store_manifest *manifest;  /* ARTIFACT whose manifest parsed; else NULL */
    bool ours;                /* the manifest's profile is this store's */
    evmjit_store_skip status; /* NONE, or the first check that failed */
    const char *detail;       /* what failed ("" when valid) */
    uint64_t age_s;           /* seconds since the file was last modified */
} evmjit_store_entry;

/* evmjit_store_iterate flags. Without flags only the manifest is parsed and checked against
   its file name (and, for objects, nothing is opened). */
#define EVMJIT_STORE_CHECK_OBJECT 1u /* open the object: permissions, length, keccak-256 */
#define EVMJIT_STORE_CHECK_SYMBOL 2u /* also dlopen it and look the symbol up (objects of
                                        this store's ABI version and target, any compiler;
                                        implies CHECK_OBJECT) */

/* Called for each file; a non-OK return stops the iteration and is returned. */
typedef evmjit_error (*evmjit_store_visit)(void *ctx, const evmjit_store_entry *entry);

/* What evmjit_store_gc removed. */
typedef struct evmjit_store_gc_report {
    uint64_t artifacts_removed; /* failing verification: corrupt, truncated, untrusted... */
    uint64_t temps_removed;     /* temporary files older than the age limit */
    uint64_t orphans_removed;   /* objects without a manifest older than the age limit */
    uint64_t kept;              /* valid artifacts (of any profile) */
    uint64_t errors;            /* files that could not be removed */
} evmjit_store_gc_report;

/* ---- the API ------------------------------------------------------------------------------- */

/* Writes a description of the CPU this process runs on to buf (NUL-terminated, truncated to
   size): "<arch>-<os> <feature fingerprint>" (x86: CPUID feature words; aarch64 Linux:
   HWCAP words). The default target of a store. Returns the length it needed (like
   snprintf). Any thread; never blocks. */
EVMJIT_API size_t evmjit_store_host_target(char *buf, size_t size);

/* Open (and with desc->create, create) an artifact store directory and check that it can be
   trusted (see "Artifact store layout": Trust). Returns EVMJIT_OK and *out, or
   INVALID_ARGUMENT (no path, bad opt_level or profile text), NOT_FOUND (absent and not
   create), UNTRUSTED (ownership or permissions: logged with the path and the fix), IO,
   OUT_OF_MEMORY. Any thread; blocks on file system calls. */
EVMJIT_API evmjit_error evmjit_store_open(const evmjit_store_desc *desc, evmjit_store **out);

/* Close the store: the directory descriptor and the store's memory. Artifacts it loaded stay
   loaded: unload every one (or destroy the runtime that owns them) BEFORE closing. NULL:
   no-op. Any thread, once, when no other thread uses the store; never blocks. */
EVMJIT_API void evmjit_store_close(evmjit_store *store);

/* The store as the runtime's table (evmjit_runtime_desc.store). The table lives in the store
   and is valid until evmjit_store_close. Any thread; never blocks. */
EVMJIT_API const evmjit_artifact_store *evmjit_store_table(evmjit_store *store);

/* The settings in use: path (absolute), profile with defaults resolved (backend NULL; names,
   opt_level and target as strings of the store), allocator, logger, faults. Pointers are
   valid until close. Any thread; never blocks. */
EVMJIT_API void evmjit_store_settings(const evmjit_store *store, evmjit_store_desc *out);

/* Load every valid artifact of this store's profile, in file name order, handing each to
   sink (which owns it from then on: unload it with evmjit_store_unload). Artifacts that fail
   a check are skipped, counted and logged; so are temporary files and orphans (counted
   only). Returns EVMJIT_OK (also when some were skipped), the first non-OK value of sink
   (loading stops there), or UNTRUSTED / IO / OUT_OF_MEMORY for the directory as a whole.
   Any thread; blocks on file system calls and dlopen (a few tens of microseconds per
   artifact). */
EVMJIT_API evmjit_error evmjit_store_load_all(evmjit_store *store, evmjit_artifact_sink sink,
                                              void *ctx);

/* Load the artifact of (code_hash, rev) in this store's profile into *out. Returns EVMJIT_OK,
   NOT_FOUND (no manifest), CORRUPT (it failed a check: skipped, counted, logged), UNTRUSTED
   (the directory or the files: counted, logged), IO. Any thread; blocks on file system
   calls and dlopen. */
EVMJIT_API evmjit_error evmjit_store_load(evmjit_store *store, const evmjit_bytes32 *code_hash,
                                          evmjit_revision rev, evmjit_artifact *out);

/* Unload an artifact that load or load_all produced (dlclose). Its function must not be
   running and must not be called again. NULL artifact or handle: no-op. Any thread; blocks
   on the dynamic loader's lock. */
EVMJIT_API void evmjit_store_unload(evmjit_store *store, const evmjit_artifact *artifact);

/* Publish a shared object under (object->code_hash, object->rev) in this store's profile
   (atomic: see "Artifact store layout"). object->compiler, when set, must be the runtime's
   "<backend> <version> O<level>" for this profile (else INVALID_ARGUMENT, logged: open the
   store with the runtime's backend and opt_level); object->target is informative (the store's
   target is recorded). A valid artifact for the key is never overwritten: returns EVMJIT_OK
   and writes nothing. Returns EVMJIT_OK, INVALID_ARGUMENT (empty or oversized object, bad
   symbol), IO (write, fsync, rename or link failed: a full disk; nothing is left behind),
   UNTRUSTED, OUT_OF_MEMORY. Any thread (and any number of processes); blocks on file writes
   and fsync. */
EVMJIT_API evmjit_error evmjit_store_publish(evmjit_store *store,
                                             const evmjit_artifact_object *object);

/* Delete the artifact of (code_hash, rev) in this store's profile: manifest first, then its
   object. Loaded copies stay usable until unloaded. Returns EVMJIT_OK, NOT_FOUND, IO. Any
   thread; blocks on file system calls. */
EVMJIT_API evmjit_error evmjit_store_remove(evmjit_store *store, const evmjit_bytes32 *code_hash,
                                            evmjit_revision rev);

/* Delete every artifact in the directory, of every profile (each manifest, then the object it
   names). Temporary files and orphans are left to evmjit_store_gc (another process may be
   publishing). Loaded copies stay usable until unloaded. Returns EVMJIT_OK or the first
   error (IO, UNTRUSTED); it goes on after errors. Any thread; blocks on file system calls. */
EVMJIT_API evmjit_error evmjit_store_clear(evmjit_store *store);

/* Call visit for every artifact (manifest), temporary file and orphan object, in file name
   order, with the checks `flags` ask for (EVMJIT_STORE_CHECK_*). Reports, loads nothing
   (CHECK_SYMBOL loads and unloads at once) and counts nothing in the stats. Returns
   EVMJIT_OK, visit's first non-OK value, or UNTRUSTED / IO / OUT_OF_MEMORY. Any thread;
   blocks on file system calls. */
EVMJIT_API evmjit_error evmjit_store_iterate(evmjit_store *store, unsigned flags,
                                             evmjit_store_visit visit, void *ctx);

/* Remove temporary files and orphan objects last modified at least min_age_s seconds ago
   (publishers take milliseconds; 600 is a safe default), and artifacts that fail
   verification (checked as EVMJIT_STORE_CHECK_SYMBOL; intact artifacts of other profiles
   are kept). report may be NULL. Returns EVMJIT_OK or the directory's error (files
   that could not be removed are counted in report->errors). Any thread; blocks on file
   system calls. */
EVMJIT_API evmjit_error evmjit_store_gc(evmjit_store *store, uint64_t min_age_s,
                                        evmjit_store_gc_report *report);

/* A snapshot of the counters (read one by one). Any thread; never blocks. */
EVMJIT_API void evmjit_store_get_stats(const evmjit_store *store, evmjit_store_stats *out);

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

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

/* ThreadSanitizer and C11 threads. glibc (2.34 and newer) implements <threads.h> on internal
   pthread entry points that ThreadSanitizer (GCC 12) does not intercept: a thread made by
   thrd_create crashes in the first instrumented function, and mtx_lock/cnd_wait/call_once
   are invisible to it (every lock-protected access is reported as a race). Under TSan only,
   the C11 calls below go to the pthread functions it intercepts. On glibc the C11 types are
   the pthread types (thrd_t is pthread_t; mtx_t, cnd_t and once_flag share their layout).
   Production builds use <threads.h> unchanged. */
#if defined(__SANITIZE_THREAD__)
#define EVMJIT__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EVMJIT__TSAN 1
#endif
#endif
#if defined(EVMJIT__TSAN) && defined(__GLIBC__) && !defined(EVMJIT_NO_TSAN_SHIM)
#include <errno.h>
#include <pthread.h>
_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "glibc: mtx_t is a pthread mutex");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "glibc: cnd_t is a pthread condition");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "glibc: once_flag is pthread_once_t");
typedef struct evmjit__tsan_start {
    thrd_start_t fn;
    void *arg;
} evmjit__tsan_start;
static void *evmjit__tsan_trampoline(void *p) {
    evmjit__tsan_start s = *(evmjit__tsan_start *)p;
    free(p); /* sanitizer builds only: not through the runtime's allocator */
    return (void *)(intptr_t)s.fn(s.arg);
}
static inline int evmjit__tsan_thrd_create(thrd_t *t, thrd_start_t fn, void *arg) {
    evmjit__tsan_start *s = (evmjit__tsan_start *)malloc(sizeof *s);
    if (!s) return thrd_nomem;
    s->fn = fn;
    s->arg = arg;
    if (pthread_create(t, NULL, evmjit__tsan_trampoline, s) != 0) {
        free(s);
        return thrd_error;
    }
    return thrd_success;
}
static inline int evmjit__tsan_thrd_join(thrd_t t, int *res) {
    void *r;
    if (pthread_join(t, &r) != 0) return thrd_error;
    if (res) *res = (int)(intptr_t)r;
    return thrd_success;
}
static inline int evmjit__tsan_thrd_detach(thrd_t t) {
    return pthread_detach(t) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_mtx_init(mtx_t *m, int type) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (type & mtx_recursive) pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    int r = pthread_mutex_init((pthread_mutex_t *)m, &a);
    pthread_mutexattr_destroy(&a);
    return r ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_mtx_lock(mtx_t *m) {
    return pthread_mutex_lock((pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_mtx_unlock(mtx_t *m) {
    return pthread_mutex_unlock((pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
static inline void evmjit__tsan_mtx_destroy(mtx_t *m) { pthread_mutex_destroy((pthread_mutex_t *)m); }
static inline int evmjit__tsan_cnd_init(cnd_t *c) {
    return pthread_cond_init((pthread_cond_t *)c, NULL) ? thrd_error : thrd_success;
}
static inline void evmjit__tsan_cnd_destroy(cnd_t *c) { pthread_cond_destroy((pthread_cond_t *)c); }
static inline int evmjit__tsan_cnd_signal(cnd_t *c) {
    return pthread_cond_signal((pthread_cond_t *)c) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_cnd_broadcast(cnd_t *c) {
    return pthread_cond_broadcast((pthread_cond_t *)c) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_cnd_wait(cnd_t *c, mtx_t *m) {
    return pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m) ? thrd_error : thrd_success;
}
static inline int evmjit__tsan_cnd_timedwait(cnd_t *c, mtx_t *m, const struct timespec *ts) {
    int r = pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts);
    return r == 0 ? thrd_success : r == ETIMEDOUT ? thrd_timedout : thrd_error;
}
static inline void evmjit__tsan_call_once(once_flag *f, void (*fn)(void)) {
    pthread_once((pthread_once_t *)f, fn);
}
#define thrd_create evmjit__tsan_thrd_create
#define thrd_join evmjit__tsan_thrd_join
#define thrd_detach evmjit__tsan_thrd_detach
#define mtx_init evmjit__tsan_mtx_init
#define mtx_lock evmjit__tsan_mtx_lock
#define mtx_unlock evmjit__tsan_mtx_unlock
#define mtx_destroy evmjit__tsan_mtx_destroy
#define cnd_init evmjit__tsan_cnd_init
#define cnd_destroy evmjit__tsan_cnd_destroy
#define cnd_signal evmjit__tsan_cnd_signal
#define cnd_broadcast evmjit__tsan_cnd_broadcast
#define cnd_wait evmjit__tsan_cnd_wait
#define cnd_timedwait evmjit__tsan_cnd_timedwait
#define call_once evmjit__tsan_call_once
#endif

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

#define EVMJIT__ROTL64(x, n) (((x) << (n)) | ((x) >> (64 - (n)))) /* 0 < n < 64 */

/* One Keccak-f[1600] round from the 25 lanes A##xy to the lanes E##xy (lane x,y is state
   index x + 5y): theta's column parities c and their mix d, then one output row y at a
   time: rho+pi move lane x,y rotated to y,2x+3y (the five b values of a row), chi mixes
   the row, and iota adds the round constant to lane 0,0. Computing a row and its chi
   together keeps 5 temporaries live instead of 25, which is what made the compiler spill. */
#define EVMJIT__KECCAK_ROUND(A, E, rc)                                                       \
    do {                                                                                     \
        uint64_t c0 = A##00 ^ A##01 ^ A##02 ^ A##03 ^ A##04;                                 \
        uint64_t c1 = A##10 ^ A##11 ^ A##12 ^ A##13 ^ A##14;                                 \
        uint64_t c2 = A##20 ^ A##21 ^ A##22 ^ A##23 ^ A##24;                                 \
        uint64_t c3 = A##30 ^ A##31 ^ A##32 ^ A##33 ^ A##34;                                 \
        uint64_t c4 = A##40 ^ A##41 ^ A##42 ^ A##43 ^ A##44;                                 \
        uint64_t d0 = c4 ^ EVMJIT__ROTL64(c1, 1), d1 = c0 ^ EVMJIT__ROTL64(c2, 1);           \
        uint64_t d2 = c1 ^ EVMJIT__ROTL64(c3, 1), d3 = c2 ^ EVMJIT__ROTL64(c4, 1);           \
        uint64_t d4 = c3 ^ EVMJIT__ROTL64(c0, 1);                                            \
        EVMJIT__KECCAK_ROW(E, 0, A##00 ^ d0, EVMJIT__ROTL64(A##11 ^ d1, 44),                 \
                           EVMJIT__ROTL64(A##22 ^ d2, 43), EVMJIT__ROTL64(A##33 ^ d3, 21),   \
                           EVMJIT__ROTL64(A##44 ^ d4, 14));                                  \
        E##00 ^= (rc);                                                                       \
        EVMJIT__KECCAK_ROW(E, 1, EVMJIT__ROTL64(A##30 ^ d3, 28), EVMJIT__ROTL64(A##41 ^ d4, 20), \
                           EVMJIT__ROTL64(A##02 ^ d0, 3), EVMJIT__ROTL64(A##13 ^ d1, 45),    \
                           EVMJIT__ROTL64(A##24 ^ d2, 61));                                  \
        EVMJIT__KECCAK_ROW(E, 2, EVMJIT__ROTL64(A##10 ^ d1, 1), EVMJIT__ROTL64(A##21 ^ d2, 6), \
                           EVMJIT__ROTL64(A##32 ^ d3, 25), EVMJIT__ROTL64(A##43 ^ d4, 8),    \
                           EVMJIT__ROTL64(A##04 ^ d0, 18));                                  \
        EVMJIT__KECCAK_ROW(E, 3, EVMJIT__ROTL64(A##40 ^ d4, 27), EVMJIT__ROTL64(A##01 ^ d0, 36), \
                           EVMJIT__ROTL64(A##12 ^ d1, 10), EVMJIT__ROTL64(A##23 ^ d2, 15),   \
                           EVMJIT__ROTL64(A##34 ^ d3, 56));                                  \
        EVMJIT__KECCAK_ROW(E, 4, EVMJIT__ROTL64(A##20 ^ d2, 62), EVMJIT__ROTL64(A##31 ^ d3, 55), \
                           EVMJIT__ROTL64(A##42 ^ d4, 39), EVMJIT__ROTL64(A##03 ^ d0, 41),   \
                           EVMJIT__ROTL64(A##14 ^ d1, 2));                                   \
    } while (0)
#define EVMJIT__KECCAK_ROW(E, y, v0, v1, v2, v3, v4)                                         \
    do {                                                                                     \
        uint64_t b0 = (v0), b1 = (v1), b2 = (v2), b3 = (v3), b4 = (v4);                      \
        E##0##y = b0 ^ (~b1 & b2);                                                           \
        E##1##y = b1 ^ (~b2 & b3);                                                           \
        E##2##y = b2 ^ (~b3 & b4);                                                           \
        E##3##y = b3 ^ (~b4 & b0);                                                           \
        E##4##y = b4 ^ (~b0 & b1);                                                           \
    } while (0)

/* Keccak-f[1600]: 24 rounds, two per iteration so that the lanes alternate between the a
   and e locals without copies. */
#if defined(__GNUC__) && defined(__x86_64__)
#define EVMJIT__KECCAK_BMI 1 /* see evmjit__keccakf */
__attribute__((always_inline))
#endif
static inline void evmjit__keccakf_rounds(uint64_t s[25]) {
    uint64_t a00 = s[0], a10 = s[1], a20 = s[2], a30 = s[3], a40 = s[4];
    uint64_t a01 = s[5], a11 = s[6], a21 = s[7], a31 = s[8], a41 = s[9];
    uint64_t a02 = s[10], a12 = s[11], a22 = s[12], a32 = s[13], a42 = s[14];
    uint64_t a03 = s[15], a13 = s[16], a23 = s[17], a33 = s[18], a43 = s[19];
    uint64_t a04 = s[20], a14 = s[21], a24 = s[22], a34 = s[23], a44 = s[24];
    uint64_t e00, e10, e20, e30, e40, e01, e11, e21, e31, e41, e02, e12, e22, e32, e42;
    uint64_t e03, e13, e23, e33, e43, e04, e14, e24, e34, e44;
    for (int round = 0; round < 24; round += 2) {
        EVMJIT__KECCAK_ROUND(a, e, evmjit__keccak_rc[round]);
        EVMJIT__KECCAK_ROUND(e, a, evmjit__keccak_rc[round + 1]);
    }
    s[0] = a00; s[1] = a10; s[2] = a20; s[3] = a30; s[4] = a40;
    s[5] = a01; s[6] = a11; s[7] = a21; s[8] = a31; s[9] = a41;
    s[10] = a02; s[11] = a12; s[12] = a22; s[13] = a32; s[14] = a42;
    s[15] = a03; s[16] = a13; s[17] = a23; s[18] = a33; s[19] = a43;
    s[20] = a04; s[21] = a14; s[22] = a24; s[23] = a34; s[24] = a44;
}

/* On x86-64 with BMI1 (every such CPU since 2013) chi's ~b & c is one ANDN: the same rounds
   compiled for it take 17% fewer instructions (13% less time), whatever the build's -march.
   The CPU is asked once per call (a load of the compiler runtime's cpu model). */
#ifdef EVMJIT__KECCAK_BMI
__attribute__((target("bmi"))) static void evmjit__keccakf_bmi(uint64_t s[25]) { evmjit__keccakf_rounds(s); }
static void evmjit__keccakf(uint64_t s[25]) {
    if (__builtin_cpu_supports("bmi")) evmjit__keccakf_bmi(s);
    else evmjit__keccakf_rounds(s);
}
#undef EVMJIT__KECCAK_BMI
#else
static void evmjit__keccakf(uint64_t s[25]) { evmjit__keccakf_rounds(s); }
#endif
#undef EVMJIT__KECCAK_ROW
#undef EVMJIT__KECCAK_ROUND
#undef EVMJIT__ROTL64

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

/* The last, partial block (size < 136 bytes): XORed into s with Keccak's pad10*1 (domain
   bit 0x01; SHA3 would use 0x06), then the permutation. No block buffer is zeroed. */
static void evmjit__keccak_absorb_last(uint64_t s[25], const uint8_t *data, size_t size) {
    size_t i = 0;
    for (; i + 8 <= size; i += 8) s[i / 8] ^= evmjit__load_le64(data + i);
    uint64_t lane = 0;
    for (size_t j = size; j > i; j--) lane = (lane << 8) | data[j - 1];
    s[i / 8] ^= lane ^ ((uint64_t)0x01 << (8 * (size - i)));
    s[16] ^= (uint64_t)0x80 << 56;
    evmjit__keccakf(s);
}

static evmjit_bytes32 evmjit__keccak_output(const uint64_t s[25]) {
    evmjit_bytes32 out; /* lanes 0..3, each little-endian */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out.bytes, s, 32);
#else
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++) out.bytes[8 * i + b] = (uint8_t)(s[i] >> (8 * b));
#endif
    return out;
}

EVMJIT_API evmjit_bytes32 evmjit_keccak_final(evmjit_keccak *k) {
    evmjit__keccak_absorb_last(k->state, k->buffer, k->buffered);
    return evmjit__keccak_output(k->state);
}

/* One shot: the blocks straight from data, no buffer copies. */
EVMJIT_API evmjit_bytes32 evmjit_keccak256(const uint8_t *data, size_t size) {
    uint64_t s[25] = {0};
    for (; size >= 136; data += 136, size -= 136) evmjit__keccak_absorb_block(s, data);
    evmjit__keccak_absorb_last(s, data, size);
    return evmjit__keccak_output(s);
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

/* MLOAD/MSTORE/MSTORE8 fast path: [offset, offset+width) lies inside the memory already
   paid for, so no growth and no gas (width >= 1). */
static inline bool evmjit__in_memory(const evmjit_frame *f, evmjit_word offset, uint64_t width) {
    return f->memory_size >= width && evmjit__word_fits64(offset) && offset.w[0] <= f->memory_size - width;
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

/* ---- Per-thread state: frame buffers and code analyses ---------------------------------- */
/* Each running frame needs an EVM stack (32 KiB), memory and the interpreter's code analysis
   (a zero-padded copy of the code and its JUMPDEST bitmap). The buffers come from a
   per-thread free list, so a call at depth d reuses what depth d used last time: after
   warm-up, execute allocates nothing. Analyses are kept in a small per-thread table whose
   slot is chosen by the code's length and last 16 bytes (where solc puts the metadata hash)
   and verified with one memcmp against the copy, so a contract called again is not
   rescanned (a 24 KiB scan costs ~15 us, the memcmp under 1 us), even when the host hands
   over its code in a new buffer each time. An entry used by a running frame is never
   replaced; a nested frame whose slot is busy uses its buffers' private analysis instead.
   Everything here is owned by one thread and freed at thread exit (tss destructor) or by
   evmjit_thread_cleanup(). */

#define EVMJIT__ANALYSIS_SLOTS 16

typedef struct evmjit__analysis {
    size_t size;  /* of the code this was computed for */
    uint8_t *buf; /* padded copy (size + EVMJIT__CODE_PADDING), then the bitmap; NULL: empty */
    size_t capacity;
    uint32_t users; /* running frames of this thread that use it */
} evmjit__analysis;

typedef struct evmjit__frame_buffers {
    struct evmjit__frame_buffers *next;
    evmjit_word stack[EVMJIT_STACK_LIMIT];
    uint8_t *memory;
    uint64_t memory_capacity;
    evmjit__analysis private_analysis; /* when the shared slot is busy */
} evmjit__frame_buffers;

typedef struct evmjit__thread_state {
    evmjit__frame_buffers *free_buffers;
    evmjit__analysis analyses[EVMJIT__ANALYSIS_SLOTS];
} evmjit__thread_state;

static tss_t evmjit__thread_key;
static once_flag evmjit__thread_once = ONCE_FLAG_INIT;
static int evmjit__thread_key_ok;

static void evmjit__buffers_free(evmjit__frame_buffers *b) {
    free(b->memory);
    free(b->private_analysis.buf);
    free(b);
}

static void evmjit__thread_state_free(void *p) {
    evmjit__thread_state *ts = (evmjit__thread_state *)p;
    if (!ts) return;
    for (evmjit__frame_buffers *b = ts->free_buffers, *next; b; b = next) {
        next = b->next;
        evmjit__buffers_free(b);
    }
    for (int i = 0; i < EVMJIT__ANALYSIS_SLOTS; i++) free(ts->analyses[i].buf);
    free(ts);
}
static void evmjit__thread_init(void) {
    evmjit__thread_key_ok =
        tss_create(&evmjit__thread_key, evmjit__thread_state_free) == thrd_success;
}

/* The calling thread's state, made on first use; NULL if that fails. */
static evmjit__thread_state *evmjit__thread(void) {
    call_once(&evmjit__thread_once, evmjit__thread_init);
    if (!evmjit__thread_key_ok) return NULL;
    evmjit__thread_state *ts = (evmjit__thread_state *)tss_get(evmjit__thread_key);
    if (!ts) {
        ts = (evmjit__thread_state *)calloc(1, sizeof *ts);
        if (ts && tss_set(evmjit__thread_key, ts) != thrd_success) {
            free(ts);
            ts = NULL;
        }
    }
    return ts;
}

static evmjit__frame_buffers *evmjit__buffers_acquire(void) {
    evmjit__thread_state *ts = evmjit__thread();
    evmjit__frame_buffers *b = ts ? ts->free_buffers : NULL;
    if (b) {
        ts->free_buffers = b->next;
        b->next = NULL;
        return b;
    }
    return (evmjit__frame_buffers *)calloc(1, sizeof *b);
}
static void evmjit__buffers_release(evmjit__frame_buffers *b) {
    evmjit__thread_state *ts = evmjit__thread();
    if (!ts) {
        evmjit__buffers_free(b);
        return;
    }
    b->next = ts->free_buffers;
    ts->free_buffers = b;
}

EVMJIT_API void evmjit_thread_cleanup(void) {
    call_once(&evmjit__thread_once, evmjit__thread_init);
    if (!evmjit__thread_key_ok) return;
    evmjit__thread_state_free(tss_get(evmjit__thread_key));
    tss_set(evmjit__thread_key, NULL);
}

/* ---- The interpreter -------------------------------------------------------------------- */

/* Fill `a` for f's code: a zero-padded copy (so PUSH data and the final STOP never read past
   the end) and the JUMPDEST bitmap (never inside PUSH data). O(code size). */
static evmjit_status_code evmjit__analysis_fill(evmjit__analysis *a, const evmjit_frame *f) {
    size_t n = f->code_size;
    size_t need = n + EVMJIT__CODE_PADDING + (n + 8) / 8;
    if (need > a->capacity) {
        uint8_t *p = (uint8_t *)malloc(need);
        if (!p) return EVMJIT_OUT_OF_MEMORY;
        free(a->buf);
        a->buf = p;
        a->capacity = need;
    }
    uint8_t *code = a->buf, *map = a->buf + n + EVMJIT__CODE_PADDING;
    if (n) memcpy(code, f->code, n);
    memset(code + n, 0, EVMJIT__CODE_PADDING);
    memset(map, 0, (n + 8) / 8);
    for (size_t pc = 0; pc < n; pc++) {
        uint8_t op = code[pc];
        if (op == 0x5b) map[pc / 8] |= (uint8_t)(1u << (pc % 8));
        else if (op >= 0x60 && op <= 0x7f) pc += (size_t)(op - 0x5f);
    }
    a->size = n;
    return EVMJIT_SUCCESS;
}

/* The analysis cache slot of a code: a hash of its length and its last 16 bytes. */
static size_t evmjit__analysis_slot(const uint8_t *code, size_t size) {
    uint64_t tail[2] = {0, 0};
    size_t n = size < 16 ? size : 16;
    if (n) memcpy((uint8_t *)tail + 16 - n, code + size - n, n);
    uint64_t k = (size * 0x9e3779b97f4a7c15u) ^ tail[0] ^ (tail[1] * 0xff51afd7ed558ccdu);
    return (size_t)((k ^ (k >> 29) ^ (k >> 47)) % EVMJIT__ANALYSIS_SLOTS);
}

/* The analysis of f's code: this thread's cached one when the length and bytes match,
   else a fresh one in the cache slot (if no running frame uses it) or in the frame's
   private buffer. The caller releases it with `users--`. */
static evmjit_status_code evmjit__analyze(evmjit_frame *f, evmjit__frame_buffers *b,
                                          evmjit__analysis **out) {
    evmjit__thread_state *ts = evmjit__thread();
    evmjit__analysis *a = &b->private_analysis;
    if (ts) {
        evmjit__analysis *slot = &ts->analyses[evmjit__analysis_slot(f->code, f->code_size)];
        if (slot->buf && slot->size == f->code_size &&
            (f->code_size == 0 || !memcmp(slot->buf, f->code, f->code_size))) {
            slot->users++;
            *out = slot;
            return EVMJIT_SUCCESS;
        }
        if (slot->users == 0) a = slot;
    }
    evmjit_status_code st = evmjit__analysis_fill(a, f);
    if (st != EVMJIT_SUCCESS) return st;
    a->users++;
    *out = a;
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
    evmjit__analysis *analysis;
    evmjit_status_code st;
    if (!b) return EVMJIT_INTERNAL_ERROR;
    if ((unsigned)f->rev > EVMJIT_MAX_REVISION) return EVMJIT_REJECTED;
    if ((st = evmjit__analyze(f, b, &analysis)) != EVMJIT_SUCCESS) return st;
    const uint8_t *const code = analysis->buf;
    const uint8_t *const jumpdests = analysis->buf + f->code_size + EVMJIT__CODE_PADDING;
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
            if (evmjit__in_memory(f, sp[0], 32)) {
                sp[0] = evmjit__word_from_be32(f->memory + sp[0].w[0]);
            } else {
                EVMJIT__CALL_BUILTIN(evmjit__op_mload(f, sp));
            }
            break;
        case 0x52:
            if (evmjit__in_memory(f, sp[0], 32)) {
                evmjit__word_to_be(sp[1], f->memory + sp[0].w[0]);
            } else {
                EVMJIT__CALL_BUILTIN(evmjit__op_mstore(f, sp));
            }
            sp += 2;
            break;
        case 0x53:
            if (evmjit__in_memory(f, sp[0], 1)) {
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
    analysis->users--;
    return st;
}

/* ============================================================================================
   DESIGN of the code cache runtime
   ============================================================================================

   Threads
     callers   any number. Look keys up in the resident table (lock-free, no allocation),
               run programs, push one event per miss into the event ring, and hand requests
               (evmjit_compile, compile_sync, prepare_aot, sync) to the backend through a
               mutex-protected request list (O(1) under the lock).
     backend   one thread, the ONLY writer of the resident table. Owns the cold-key map, the
               in-flight map, the pending-job heap, the retired list and every entry's
               backend-only fields. Each wake-up (timed, absolute deadline; or signalled)
               it: purges entries of an old generation, publishes worker results, admits
               requests, drains at most drain_batch events (all of them for a sync),
               dispatches pending jobs to the worker queue, sweeps idle programs and cold
               keys, evicts over the JIT budget, and frees retired objects no reader can see.
     workers   N threads. Each pops jobs from the bounded worker queue, owns one compiler
               (created lazily, recycled after recycle_after jobs), compiles or loads from
               the artifact store, and appends the result to the result list.
     prewarm   per evmjit_prewarm session, its own threads run the user's transaction callback
               and turn first touches into requests (like callers). A session's own mutex
               guards its touched-key map and its transaction slots.
   One mutex (rt->mtx) guards the request list, worker queue, result list, waiters and the
   sync counters; nobody holds it while compiling, draining or looking up.

   Order
     The event ring is a bounded multi-producer single-consumer queue (Vyukov's per-cell
     sequence numbers): events are consumed in the order producers claimed their cells, so
     each producer's events keep their order; a full ring drops the event and counts it.
     Requests are admitted in arrival order. Admitted jobs wait in two heaps with one order
     (the pending heap, the backend's; the worker queue, under mtx): jobs a caller waits for
     (compile_sync, blocking lookups), then prewarm promotions by transaction index, then
     the rest (hot keys, evmjit_compile); admission order within each class. A job's place
     is fixed when it is admitted; workers always take the first.

   Reclamation (epoch based, with counted references on top)
     Every thread that looks something up owns a reader record (process-wide array, one
     cache line each) holding the global epoch it read when it entered its outermost read
     section, or 0 outside. A per-thread nesting counter makes nested lookups free. The
     backend unlinks an object (seq_cst store), then retires it with E = fetch_add(global
     epoch) (seq_cst) and frees it once every record holds 0 or an epoch > E, and (entries)
     no counted reference is left. Why this is safe: all four operations involved (reader:
     store epoch, load table/slot; backend: store unlink, load record) are seq_cst, so they
     fall in one total order. If the backend read the record before the reader's epoch store,
     the reader's later slot load comes after the unlink and cannot see the object. If the
     reader's epoch is > E, it read the epoch after the fetch_add, which comes after the
     unlink, so again it cannot see the object. If the backend read 0 from the reader's exit
     store (release), everything the reader did happens before the free (acquire).
   ========================================================================================== */


_Static_assert(EVMJIT_READER_SLOTS >= 1 && EVMJIT_READER_SLOTS <= 65536,
               "EVMJIT_READER_SLOTS must be 1..65536");

#if defined(__GNUC__) || defined(__clang__)
#define EVMJIT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define EVMJIT__PRINTF(f, a)
#endif

#define EVMJIT__CACHE_LINE 64
#define EVMJIT__WANT_REASK_MS 1000 /* a WANT_CODE claim nobody honoured is re-offered */

/* ---- time, logging, aligned allocation --------------------------------------------------- */

/* Monotonic nanoseconds (durations, idle times). */
static uint64_t evmjit__now_ns(void) {
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* An absolute TIME_UTC deadline ms from now, for cnd_timedwait. */
static struct timespec evmjit__deadline(uint64_t ms) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    if (ms > 100000000000u) ms = 100000000000u; /* ~3 years: keeps tv_sec in range */
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static bool evmjit__deadline_passed(const struct timespec *d) {
    struct timespec now;
    timespec_get(&now, TIME_UTC);
    return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static void evmjit__logf(const evmjit_logger *lg, evmjit_log_level level, const char *fmt, ...)
    EVMJIT__PRINTF(3, 4);
static void evmjit__logf(const evmjit_logger *lg, evmjit_log_level level, const char *fmt, ...) {
    if (!lg || !lg->log) return;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lg->log(level, msg, lg->user);
}

/* size bytes at a 64-byte boundary, zeroed; *raw gets what to free (size + 64 bytes). */
static void *evmjit__alloc_aligned(const evmjit_allocator *a, size_t size, void **raw) {
    uint8_t *p = (uint8_t *)evmjit__alloc(a, size + EVMJIT__CACHE_LINE);
    *raw = p;
    if (!p) return NULL;
    uintptr_t x = ((uintptr_t)p + EVMJIT__CACHE_LINE - 1) & ~(uintptr_t)(EVMJIT__CACHE_LINE - 1);
    memset((void *)x, 0, size);
    return (void *)x;
}

/* ---- keys ---------------------------------------------------------------------------------- */

/* The code hash is keccak output, already uniform: its first 8 bytes, mixed with rev. */
static inline uint64_t evmjit__key_hash(const evmjit_bytes32 *h, evmjit_revision rev) {
    uint64_t x;
    memcpy(&x, h->bytes, 8);
    return x ^ ((uint64_t)(unsigned)rev * 0x9e3779b97f4a7c15ull);
}

static inline bool evmjit__key_eq(const evmjit_bytes32 *a, const evmjit_bytes32 *b) {
    uint64_t x[4], y[4];
    memcpy(x, a->bytes, 32);
    memcpy(y, b->bytes, 32);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

/* ---- reader records (process-wide) -------------------------------------------------------- */

typedef struct evmjit__reader {
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t epoch; /* 0: holds no lookup reference */
    _Atomic uint32_t used;                               /* owned by a live thread */
} evmjit__reader;

static evmjit__reader evmjit__readers[EVMJIT_READER_SLOTS];
/* Advanced by backends when they retire something; read when a read section starts. */
static _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t evmjit__global_epoch = 1;
/* Readers without a record (more than EVMJIT_READER_SLOTS threads) inside a read section. */
static _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t evmjit__overflow_readers;
/* Records ever handed out: scans visit [0, hwm). */
static _Alignas(EVMJIT__CACHE_LINE) _Atomic uint32_t evmjit__readers_hwm;

static _Thread_local int evmjit__tls_slot = -1; /* -1: not registered; -2: overflow */
static _Thread_local uint32_t evmjit__tls_nest;  /* lookup references this thread holds */

static tss_t evmjit__reader_key;
static once_flag evmjit__reader_once = ONCE_FLAG_INIT;
static int evmjit__reader_key_ok;

/* Thread exit (runs on the exiting thread): give the record back. Later evmjit calls from
   other exit-time destructors on this thread use the overflow counter. */
static void evmjit__reader_exit(void *v) {
    size_t i = (size_t)(uintptr_t)v - 1;
    evmjit__tls_slot = -2;
    evmjit__tls_nest = 0;
    /* release: this thread's reads of programs happen before a backend frees them */
    atomic_store_explicit(&evmjit__readers[i].epoch, 0, memory_order_release);
    /* release: the next owner starts after everything we did with this record */
    atomic_store_explicit(&evmjit__readers[i].used, 0, memory_order_release);
}

static void evmjit__reader_init(void) {
    evmjit__reader_key_ok = tss_create(&evmjit__reader_key, evmjit__reader_exit) == thrd_success;
}

/* First lookup on this thread: claim a free record (visits at most EVMJIT_READER_SLOTS). */
static int evmjit__reader_register(void) {
    call_once(&evmjit__reader_once, evmjit__reader_init);
    evmjit__tls_slot = -2;
    if (!evmjit__reader_key_ok) return -2; /* could not give it back at exit: use overflow */
    for (uint32_t i = 0; i < EVMJIT_READER_SLOTS; i++) {
        uint32_t expect = 0;
        if (atomic_load_explicit(&evmjit__readers[i].used, memory_order_relaxed)) continue;
        /* acquire: pairs with the previous owner's release in evmjit__reader_exit */
        if (!atomic_compare_exchange_strong_explicit(&evmjit__readers[i].used, &expect, 1,
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        if (tss_set(evmjit__reader_key, (void *)(uintptr_t)(i + 1)) != thrd_success) {
            /* release: hands the (untouched) record back */
            atomic_store_explicit(&evmjit__readers[i].used, 0, memory_order_release);
            return -2;
        }
        /* seq_cst: a backend that does not see the new mark runs before our first epoch load */
        uint32_t hwm = atomic_load_explicit(&evmjit__readers_hwm, memory_order_seq_cst);
        while (hwm < i + 1 &&
               !atomic_compare_exchange_weak_explicit(&evmjit__readers_hwm, &hwm, i + 1,
                                                      memory_order_seq_cst, memory_order_seq_cst)) {
        }
        evmjit__tls_slot = (int)i;
        return (int)i;
    }
    return -2;
}

/* Enter a read section (nests). Cost: one seq_cst store at the outermost level. */
static inline int evmjit__read_enter(void) {
    int s = evmjit__tls_slot;
    if (s == -1) s = evmjit__reader_register();
    if (evmjit__tls_nest++ == 0) {
        if (s >= 0) {
            /* seq_cst (both): see the DESIGN comment on reclamation */
            uint64_t e = atomic_load_explicit(&evmjit__global_epoch, memory_order_seq_cst);
            atomic_store_explicit(&evmjit__readers[s].epoch, e, memory_order_seq_cst);
        } else {
            /* seq_cst: as the epoch store above; a backend frees nothing while this is > 0 */
            atomic_fetch_add_explicit(&evmjit__overflow_readers, 1, memory_order_seq_cst);
        }
    }
    return s;
}

static inline void evmjit__read_exit(void) {
    EVMJIT_ASSERT(evmjit__tls_nest > 0);
    if (--evmjit__tls_nest == 0) {
        int s = evmjit__tls_slot;
        /* release: our reads of programs and tables happen before a backend frees them */
        if (s >= 0) atomic_store_explicit(&evmjit__readers[s].epoch, 0, memory_order_release);
        else atomic_fetch_sub_explicit(&evmjit__overflow_readers, 1, memory_order_release);
    }
}

/* The oldest epoch a reader may still be in (UINT64_MAX: none). An object retired at epoch
   E may be freed when E < this. Visits the records handed out so far. Backend threads. */
static uint64_t evmjit__oldest_reader_epoch(void) {
    /* seq_cst: part of the reclamation order; acquire: overflow readers' exits */
    if (atomic_load_explicit(&evmjit__overflow_readers, memory_order_seq_cst) != 0) return 0;
    uint32_t n = atomic_load_explicit(&evmjit__readers_hwm, memory_order_seq_cst);
    uint64_t oldest = UINT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
        /* seq_cst: part of the reclamation order; acquire: pairs with the reader's exit */
        uint64_t e = atomic_load_explicit(&evmjit__readers[i].epoch, memory_order_seq_cst);
        if (e && e < oldest) oldest = e;
    }
    return oldest;
}

/* ---- data structures ---------------------------------------------------------------------- */

/* Entry states. An entry's state only changes on the backend thread; READY is final (a ready
   entry's public fields never change until it is freed). */
enum { EVMJIT__WANTED = 1, EVMJIT__COMPILING = 2, EVMJIT__READY = 3, EVMJIT__FAILED = 4 };

/* One key in the resident table: a program once READY. */
typedef struct evmjit__entry {
    evmjit_program pub;  /* first member: an evmjit_program * is an entry */
    uint64_t generation; /* immutable */
    _Atomic int state;
    _Atomic uint32_t refs;         /* counted references */
    _Atomic uint64_t last_hit_ms;  /* the backend clock at the last hit (written once per tick) */
    _Atomic uint64_t claimed_ms;   /* WANTED: when a caller was last asked for the code */
    /* provisional: written before READY (the release store publishes it), then constant;
       provisional_hits: counted lookups of a provisional program (relaxed; only a trigger) */
    bool provisional;
    _Atomic uint64_t provisional_hits;
    /* backend thread only */
    bool upgrading;            /* provisional: its upgrade job runs */
    uint8_t *upgrade_code;     /* provisional: a copy of the bytecode for the upgrade job */
    void *code;                /* JIT: the backend's handle */
    evmjit_artifact artifact;  /* AOT */
    uint64_t created_ms;
    uint64_t retire_epoch;
    struct evmjit__entry *next_retired;
} evmjit__entry;

/* Open addressing, linear probing, power-of-two capacity. Slots hold NULL (end of a probe),
   the tombstone (a removed entry; probes go on) or an entry. Only the backend writes; live +
   tombstones stay <= capacity / 2, so every probe ends at a NULL. */
typedef struct evmjit__table {
    size_t mask, live, tombstones;
    uint64_t retire_epoch;
    struct evmjit__table *next_retired;
    _Atomic(evmjit__entry *) slots[];
} evmjit__table;

static evmjit__entry evmjit__tombstone_entry;
#define EVMJIT__TOMBSTONE (&evmjit__tombstone_entry)

/* Lookup event kinds: UNKNOWN had no current entry (counts toward hotness), KNOWN had one. */
enum { EVMJIT__EV_UNKNOWN = 0, EVMJIT__EV_KNOWN = 1 };

typedef struct evmjit__event {
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t seq; /* position + 1: full; + capacity: free */
    uint32_t kind;
    uint32_t rev;
    evmjit_bytes32 code_hash;
} evmjit__event;

/* finish(false) of a prewarm session: a command through the request list. Shared by the
   finishing caller and the backend (two references; the last release frees it). */
typedef struct evmjit__cancel {
    _Atomic uint32_t refs;
    uint64_t session;   /* whose compilations to take back */
    uint64_t cancelled; /* how many (under rt->mtx) */
    bool done;          /* under rt->mtx */
} evmjit__cancel;

/* A request, then a job: created by a caller (with its own copy of the code), admitted by the
   backend, run by a worker, published by the backend. Lives in exactly one list or heap at a
   time. */
typedef struct evmjit__job {
    struct evmjit__job *next;
    struct evmjit__job *left, *right; /* in a heap (pending, queue) */
    uint32_t heap_rank;               /* leftist heap: length of the right spine */
    evmjit_runtime *rt;
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    evmjit_program_kind kind;
    uint8_t *code;
    size_t code_size;
    /* Heap order, frozen at admission (workers compare it under rt->mtx; fields that change
       later, such as urgent, never move a queued job): class and priority, then seq. */
    uint64_t order, seq;
    /* prewarm: the session that asked (0: none, or several asked: not cancellable; backend
       only after submission), the touching transaction's index (priority), observations to
       add instead of compiling at once (OBSERVE; 0: compile) */
    bool prewarm;
    uint64_t session, tx_index, observations;
    evmjit__cancel *cancel; /* not a compilation: a cancel command (no code) */
    bool urgent;         /* a caller waits for it (backend only) */
    bool upgrade;        /* recompiles a provisional program (never admitted: see upgrade_hot) */
    bool rerun;          /* a newer generation wants the key: run again after this result */
    evmjit_program_kind rerun_kind; /* ... as this kind (backend only: the job may be running) */
    uint64_t generation; /* set at admission; a result of an older generation is discarded */
    uint64_t admitted_ns;
    /* result, written by the worker */
    evmjit_error error;
    bool from_store;
    bool have_artifact;
    evmjit_artifact artifact;
    evmjit_compile_output out;
} evmjit__job;

typedef struct evmjit__job_list {
    evmjit__job *head, *tail;
    size_t n;
} evmjit__job_list;

/* Jobs in order (evmjit__job_before): a leftist heap of the jobs themselves - no allocation,
   O(log n) push, pop and merge of two heaps. */
typedef struct evmjit__job_heap {
    evmjit__job *root;
    size_t n;
} evmjit__job_heap;

/* A caller blocked in evmjit_compile_sync; lives on its stack, linked under rt->mtx. */
typedef struct evmjit__waiter {
    struct evmjit__waiter *next, *prev;
    evmjit_bytes32 code_hash;
    evmjit_revision rev;
    bool done;
    evmjit_error error;
    evmjit__entry *entry; /* done and OK: a counted reference */
} evmjit__waiter;

/* Backend-private hash map (cold keys and in-flight jobs): linear probing with backward-shift
   deletion (no tombstones). */
typedef struct evmjit__map_item {
    evmjit_bytes32 code_hash;
    uint32_t rev;
    uint32_t used;
    uint64_t count;   /* cold keys: observed misses */
    uint64_t last_ms; /* cold keys: last miss */
    evmjit__job *job; /* in flight: the job */
} evmjit__map_item;

typedef struct evmjit__map {
    evmjit__map_item *items;
    size_t cap, size;
} evmjit__map;

typedef struct evmjit__hit_counter {
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t n; /* written only by the record's owner */
} evmjit__hit_counter;

/* Statistics; relaxed atomics (exactness comes from evmjit_runtime_sync). */
#define EVMJIT__COUNTERS(X)                                                                   \
    X(misses) X(dropped_events) X(dropped_commands) X(dropped_jobs) X(dropped_cold_keys)      \
    X(admitted) X(dispatched) X(succeeded) X(failed) X(discarded) X(evictions)                \
    X(evictions_idle) X(evictions_budget) X(aot_stored) X(aot_loaded) X(store_errors)         \
    X(programs_freed) X(compiler_creates) X(prewarm_requests) X(cancelled) X(upgrades)        \
    X(resident_entries) X(resident_jit) X(resident_aot) X(provisional)                        \
    X(queued_commands) X(pending_jobs) X(tracked_cold_keys) X(jit_code_bytes)                 \
    X(aot_code_bytes) X(retired_waiting)

typedef struct evmjit__counters {
#define EVMJIT__COUNTER_FIELD(name) _Atomic uint64_t name;
    EVMJIT__COUNTERS(EVMJIT__COUNTER_FIELD)
#undef EVMJIT__COUNTER_FIELD
} evmjit__counters;

#define EVMJIT__ADD(rt, name, v) atomic_fetch_add_explicit(&(rt)->c.name, (v), memory_order_relaxed)
#define EVMJIT__SUB(rt, name, v) atomic_fetch_sub_explicit(&(rt)->c.name, (v), memory_order_relaxed)

struct evmjit_runtime {
    /* Read by every lookup, written rarely: its own cache lines. */
    _Alignas(EVMJIT__CACHE_LINE) evmjit_runtime_desc cfg; /* defaults resolved; immutable */
    _Atomic(evmjit__table *) table;
    _Atomic uint64_t generation;
    _Atomic bool enabled;
    bool can_jit;  /* a backend and workers: compilation requests are possible */
    bool can_aot;  /* a store and workers */
    bool can_hot;  /* misses can lead to compilations in the runtime's mode */
    int workers;
    uint64_t threshold;
    evmjit__hit_counter *hits; /* one per reader record */
    evmjit__event *cells;      /* the event ring */
    uint64_t ring_mask;
    void *raw, *hits_raw, *cells_raw;

    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t clock_ms; /* backend clock: ms since create + 1 */
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t ring_tail; /* producers: next cell to claim */
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t ring_head; /* consumer: next cell to read */
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t hits_overflow; /* threads without a record */
    _Alignas(EVMJIT__CACHE_LINE) evmjit__counters c;
    _Atomic uint32_t pause_depth;
    _Atomic bool wake;     /* work for the backend (set before signalling backend_cnd) */
    _Atomic bool stopping; /* shutdown began: compilations should cancel */
    _Atomic bool started;  /* threads exist */
    _Atomic uint32_t threads_running;
    _Atomic uint32_t prewarm_sessions; /* live sessions (none may be left at destroy) */
    _Atomic uint64_t prewarm_ids;      /* the last session id handed out */

    /* Guarded by mtx (held only for O(1) work, never while compiling). */
    mtx_t mtx;
    cnd_t backend_cnd, worker_cnd, done_cnd, exit_cnd;
    bool shutdown;
    evmjit__job_list requests; /* callers -> backend */
    evmjit__job_heap queue;    /* backend -> workers (bounded: workers x queue_per_worker) */
    evmjit__job_list results;  /* workers -> backend */
    evmjit__waiter *waiters;
    uint64_t sync_requested, sync_done;
    uint32_t threads_exited;

    mtx_t start_mtx; /* serialises thread start */
    thrd_t backend_thread;
    thrd_t *worker_threads;
    uint32_t threads_created;

    /* Backend thread only (and the creating / destroying thread when no backend runs). */
    uint64_t start_ns;
    uint64_t seen_generation;
    uint64_t next_sweep_ms;
    evmjit__map cold, inflight;
    evmjit__job_heap pending; /* admitted, waiting for room in the worker queue */
    uint64_t next_seq;        /* admission order (heap ties) */
    uint64_t wanted;          /* WANTED entries */
    uint64_t resident_jit_bytes;
    uint64_t next_report_ms, reported[4]; /* evmjit__report_drops */
    evmjit__entry *retired_entries;
    evmjit__table *retired_tables;
    evmjit__entry **provisional; /* resident provisional entries (upgrade candidates) */
    size_t n_provisional, cap_provisional;
    bool upgrade_running;        /* one upgrade job at a time */
    char compiler_id[192];
    evmjit_store *owned_store; /* opened from store_dir; closed after destroy */
};

static const evmjit_allocator *evmjit__a(const evmjit_runtime *rt) { return &rt->cfg.allocator; }

static void evmjit__list_push(evmjit__job_list *l, evmjit__job *j) {
    j->next = NULL;
    if (l->tail) l->tail->next = j;
    else l->head = j;
    l->tail = j;
    l->n++;
}
static evmjit__job *evmjit__list_pop(evmjit__job_list *l) {
    evmjit__job *j = l->head;
    if (!j) return NULL;
    l->head = j->next;
    if (!l->head) l->tail = NULL;
    l->n--;
    j->next = NULL;
    return j;
}
/* Moves everything out of *l (O(1)). */
static evmjit__job_list evmjit__list_take(evmjit__job_list *l) {
    evmjit__job_list r = *l;
    memset(l, 0, sizeof *l);
    return r;
}

/* Heap order: callers that wait, then prewarm promotions by transaction index, then the rest
   (hot keys, evmjit_compile); admission order within each. */
#define EVMJIT__ORDER_URGENT 0
#define EVMJIT__ORDER_PREWARM ((uint64_t)1 << 62) /* + the transaction index */
#define EVMJIT__ORDER_NORMAL ((uint64_t)2 << 62)
#define EVMJIT__ORDER_UPGRADE ((uint64_t)3 << 62) /* after every first compilation */

static uint64_t evmjit__job_order(const evmjit__job *job) {
    if (job->upgrade) return EVMJIT__ORDER_UPGRADE;
    if (job->urgent) return EVMJIT__ORDER_URGENT;
    if (!job->prewarm) return EVMJIT__ORDER_NORMAL;
    uint64_t i = job->tx_index;
    return EVMJIT__ORDER_PREWARM + (i < EVMJIT__ORDER_PREWARM - 1 ? i : EVMJIT__ORDER_PREWARM - 1);
}

static inline bool evmjit__job_before(const evmjit__job *a, const evmjit__job *b) {
    return a->order < b->order || (a->order == b->order && a->seq < b->seq);
}

static inline uint32_t evmjit__heap_rank(const evmjit__job *j) { return j ? j->heap_rank : 0; }

/* Merges two leftist heaps. Walks down the right spines only, each at most log2(n + 1) long,
   so the recursion is at most 2 log2(n + 1) deep. */
static evmjit__job *evmjit__heap_merge(evmjit__job *a, evmjit__job *b) {
    if (!a) return b;
    if (!b) return a;
    if (evmjit__job_before(b, a)) {
        evmjit__job *t = a;
        a = b;
        b = t;
    }
    a->right = evmjit__heap_merge(a->right, b);
    if (evmjit__heap_rank(a->left) < evmjit__heap_rank(a->right)) {
        evmjit__job *t = a->left;
        a->left = a->right;
        a->right = t;
    }
    a->heap_rank = evmjit__heap_rank(a->right) + 1;
    return a;
}

static void evmjit__heap_push(evmjit__job_heap *h, evmjit__job *j) {
    j->next = j->left = j->right = NULL;
    j->heap_rank = 1;
    h->root = evmjit__heap_merge(h->root, j);
    h->n++;
}

/* The first job in heap order, removed; NULL when empty. O(log n). */
static evmjit__job *evmjit__heap_pop(evmjit__job_heap *h) {
    evmjit__job *j = h->root;
    if (!j) return NULL;
    h->root = evmjit__heap_merge(j->left, j->right);
    h->n--;
    j->left = j->right = NULL;
    return j;
}

/* Moves every job of *from into *to. O(log n). */
static void evmjit__heap_meld(evmjit__job_heap *to, evmjit__job_heap *from) {
    to->root = evmjit__heap_merge(to->root, from->root);
    to->n += from->n;
    memset(from, 0, sizeof *from);
}

/* ---- the resident table (one writer: the backend thread) ---------------------------------- */

static size_t evmjit__table_bytes(size_t cap) {
    return sizeof(evmjit__table) + cap * sizeof(_Atomic(evmjit__entry *));
}

static evmjit__table *evmjit__table_new(evmjit_runtime *rt, size_t cap) {
    evmjit__table *t = (evmjit__table *)evmjit__alloc(evmjit__a(rt), evmjit__table_bytes(cap));
    if (!t) return NULL;
    t->mask = cap - 1;
    t->live = t->tombstones = 0;
    t->retire_epoch = 0;
    t->next_retired = NULL;
    for (size_t i = 0; i < cap; i++) atomic_init(&t->slots[i], NULL);
    return t;
}

static void evmjit__table_free(evmjit_runtime *rt, evmjit__table *t) {
    evmjit__free(evmjit__a(rt), t, evmjit__table_bytes(t->mask + 1));
}

/* Readers (inside a read section) and the writer. Visits at most capacity / 2 + 1 slots. */
static inline evmjit__entry *evmjit__table_find(evmjit__table *t, const evmjit_bytes32 *h,
                                                evmjit_revision rev) {
    size_t i = (size_t)evmjit__key_hash(h, rev) & t->mask;
    for (size_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        /* seq_cst: ordered after our epoch store (reclamation); acquire: the entry's fields */
        evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_seq_cst);
        if (!e) return NULL;
        if (e != EVMJIT__TOMBSTONE && e->pub.rev == rev && evmjit__key_eq(&e->pub.code_hash, h))
            return e;
    }
    return NULL;
}

static void evmjit__retire_table(evmjit_runtime *rt, evmjit__table *t) {
    /* seq_cst: the epoch advances after the table was unpublished (see DESIGN) */
    t->retire_epoch = atomic_fetch_add_explicit(&evmjit__global_epoch, 1, memory_order_seq_cst);
    t->next_retired = rt->retired_tables;
    rt->retired_tables = t;
    EVMJIT__ADD(rt, retired_waiting, 1);
}

/* Copies the live entries into a table of `cap` slots and publishes it. Writer; O(capacity). */
static bool evmjit__table_rebuild(evmjit_runtime *rt, size_t cap) {
    evmjit__table *old = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    evmjit__table *t = evmjit__table_new(rt, cap);
    if (!t) return false;
    for (size_t i = 0; i <= old->mask; i++) {
        evmjit__entry *e = atomic_load_explicit(&old->slots[i], memory_order_relaxed);
        if (!e || e == EVMJIT__TOMBSTONE) continue;
        size_t j = (size_t)evmjit__key_hash(&e->pub.code_hash, e->pub.rev) & t->mask;
        while (atomic_load_explicit(&t->slots[j], memory_order_relaxed)) j = (j + 1) & t->mask;
        atomic_store_explicit(&t->slots[j], e, memory_order_relaxed); /* not yet published */
        t->live++;
    }
    /* seq_cst: publishes the filled table (release) and orders it before the retire epoch */
    atomic_store_explicit(&rt->table, t, memory_order_seq_cst);
    evmjit__retire_table(rt, old);
    return true;
}

/* Adds e (whose key is not in the table). Writer. Amortised O(1). */
static bool evmjit__table_insert(evmjit_runtime *rt, evmjit__entry *e) {
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    if ((t->live + t->tombstones + 1) * 2 > t->mask + 1) {
        size_t cap = 16;
        while (cap < (t->live + 1) * 4) cap *= 2;
        if (!evmjit__table_rebuild(rt, cap)) return false;
        t = atomic_load_explicit(&rt->table, memory_order_relaxed);
    }
    size_t i = (size_t)evmjit__key_hash(&e->pub.code_hash, e->pub.rev) & t->mask;
    for (;;) {
        evmjit__entry *s = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (!s || s == EVMJIT__TOMBSTONE) {
            if (s) t->tombstones--;
            /* seq_cst (release): publishes the entry's fields to readers */
            atomic_store_explicit(&t->slots[i], e, memory_order_seq_cst);
            t->live++;
            return true;
        }
        i = (i + 1) & t->mask;
    }
}

static void evmjit__entry_free(evmjit_runtime *rt, evmjit__entry *e) {
    if (atomic_load_explicit(&e->state, memory_order_relaxed) == EVMJIT__READY) {
        if (e->pub.kind == EVMJIT_PROGRAM_JIT) {
            if (e->code && rt->cfg.backend && rt->cfg.backend->free_code)
                rt->cfg.backend->free_code(rt->cfg.backend->user, e->code);
            EVMJIT__SUB(rt, jit_code_bytes, e->pub.code_bytes);
        } else {
            if (rt->cfg.store && rt->cfg.store->unload)
                rt->cfg.store->unload(rt->cfg.store->user, &e->artifact);
            EVMJIT__SUB(rt, aot_code_bytes, e->pub.code_bytes);
        }
        EVMJIT__ADD(rt, programs_freed, 1);
    }
    if (e->upgrade_code) evmjit__free(evmjit__a(rt), e->upgrade_code, e->pub.code_size);
    evmjit__free(evmjit__a(rt), e, sizeof *e);
}

/* Drops e from the upgrade candidates if it is one. Backend. O(provisional entries). */
static void evmjit__provisional_forget(evmjit_runtime *rt, evmjit__entry *e) {
    if (!e->provisional) return;
    for (size_t i = 0; i < rt->n_provisional; i++)
        if (rt->provisional[i] == e) {
            rt->provisional[i] = rt->provisional[--rt->n_provisional];
            EVMJIT__SUB(rt, provisional, 1);
            return;
        }
}

/* Hands an unlinked entry to reclamation: freed once no reader can see it and nobody holds a
   reference (evmjit__reclaim). Writer. */
static void evmjit__retire_entry(evmjit_runtime *rt, evmjit__entry *e) {
    /* seq_cst: the epoch advances after the unlink (see DESIGN) */
    e->retire_epoch = atomic_fetch_add_explicit(&evmjit__global_epoch, 1, memory_order_seq_cst);
    e->next_retired = rt->retired_entries;
    rt->retired_entries = e;
    EVMJIT__ADD(rt, retired_waiting, 1);
}

/* The slot holding e, or NULL. Writer. O(probe length). */
static _Atomic(evmjit__entry *) *evmjit__table_slot_of(evmjit__table *t, const evmjit__entry *e) {
    size_t i = (size_t)evmjit__key_hash(&e->pub.code_hash, e->pub.rev) & t->mask;
    for (size_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        evmjit__entry *s = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (!s) return NULL;
        if (s == e) return &t->slots[i];
    }
    return NULL;
}

/* Unlinks e from the table and retires it. Writer. O(probe length). */
static void evmjit__table_remove(evmjit_runtime *rt, evmjit__entry *e) {
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    _Atomic(evmjit__entry *) *slot = evmjit__table_slot_of(t, e);
    if (slot) {
        /* seq_cst: the unlink precedes the retire epoch and our record scans (see DESIGN) */
        atomic_store_explicit(slot, EVMJIT__TOMBSTONE, memory_order_seq_cst);
        t->live--;
        t->tombstones++;
    }
    evmjit__provisional_forget(rt, e);
    int st = atomic_load_explicit(&e->state, memory_order_relaxed);
    if (st == EVMJIT__READY) {
        EVMJIT__SUB(rt, resident_entries, 1);
        if (e->pub.kind == EVMJIT_PROGRAM_JIT) {
            EVMJIT__SUB(rt, resident_jit, 1);
            rt->resident_jit_bytes -= e->pub.code_bytes;
        } else {
            EVMJIT__SUB(rt, resident_aot, 1);
        }
    } else if (st == EVMJIT__WANTED) {
        rt->wanted--;
    }
    evmjit__retire_entry(rt, e);
}

/* Puts the READY JIT entry n in the slot of the READY JIT entry old and retires old: a reader
   finds one or the other, both runnable. Writer. O(probe length). */
static bool evmjit__table_replace(evmjit_runtime *rt, evmjit__entry *old, evmjit__entry *n) {
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    _Atomic(evmjit__entry *) *slot = evmjit__table_slot_of(t, old);
    if (!slot) return false;
    /* seq_cst (release): publishes n's fields to readers; the unlink of old precedes its
       retire epoch (see DESIGN) */
    atomic_store_explicit(slot, n, memory_order_seq_cst);
    evmjit__provisional_forget(rt, old);
    rt->resident_jit_bytes = rt->resident_jit_bytes - old->pub.code_bytes + n->pub.code_bytes;
    evmjit__retire_entry(rt, old);
    return true;
}

/* Frees retired entries and tables that no reader can see and nobody references. Backend.
   O(reader records + retired objects). */
static void evmjit__reclaim(evmjit_runtime *rt) {
    if (!rt->retired_entries && !rt->retired_tables) return;
    uint64_t oldest = evmjit__oldest_reader_epoch();
    evmjit__entry **pe = &rt->retired_entries;
    while (*pe) {
        evmjit__entry *e = *pe;
        /* acquire: pairs with evmjit_program_release; the holders' uses happen before the free */
        if (e->retire_epoch < oldest && atomic_load_explicit(&e->refs, memory_order_acquire) == 0) {
            *pe = e->next_retired;
            evmjit__entry_free(rt, e);
            EVMJIT__SUB(rt, retired_waiting, 1);
        } else {
            pe = &e->next_retired;
        }
    }
    evmjit__table **pt = &rt->retired_tables;
    while (*pt) {
        evmjit__table *t = *pt;
        if (t->retire_epoch < oldest) {
            *pt = t->next_retired;
            evmjit__table_free(rt, t);
            EVMJIT__SUB(rt, retired_waiting, 1);
        } else {
            pt = &t->next_retired;
        }
    }
}

/* ---- backend-private maps ---------------------------------------------------------------- */

static evmjit__map_item *evmjit__map_find(evmjit__map *m, const evmjit_bytes32 *h,
                                          evmjit_revision rev) {
    if (!m->cap) return NULL;
    size_t i = (size_t)evmjit__key_hash(h, rev) & (m->cap - 1);
    while (m->items[i].used) {
        if (m->items[i].rev == (uint32_t)rev && evmjit__key_eq(&m->items[i].code_hash, h))
            return &m->items[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static void evmjit__map_place(evmjit__map *m, const evmjit__map_item *it) {
    size_t i = (size_t)evmjit__key_hash(&it->code_hash, (evmjit_revision)it->rev) & (m->cap - 1);
    while (m->items[i].used) i = (i + 1) & (m->cap - 1);
    m->items[i] = *it;
}

/* A new zeroed item for a key that is absent; NULL when out of memory. Amortised O(1). */
static evmjit__map_item *evmjit__map_insert(evmjit_runtime *rt, evmjit__map *m,
                                            const evmjit_bytes32 *h, evmjit_revision rev) {
    if ((m->size + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        evmjit__map_item *items =
            (evmjit__map_item *)evmjit__calloc(evmjit__a(rt), cap * sizeof *items);
        if (!items) return NULL;
        evmjit__map old = *m;
        m->items = items;
        m->cap = cap;
        for (size_t i = 0; i < old.cap; i++)
            if (old.items[i].used) evmjit__map_place(m, &old.items[i]);
        evmjit__free(evmjit__a(rt), old.items, old.cap * sizeof *old.items);
    }
    evmjit__map_item it;
    memset(&it, 0, sizeof it);
    it.code_hash = *h;
    it.rev = (uint32_t)rev;
    it.used = 1;
    evmjit__map_place(m, &it);
    m->size++;
    return evmjit__map_find(m, h, rev);
}

/* Backward-shift deletion: the items after it move back so no probe breaks. O(cluster). */
static void evmjit__map_remove(evmjit__map *m, evmjit__map_item *it) {
    size_t mask = m->cap - 1, i = (size_t)(it - m->items), j = i;
    m->items[i].used = 0;
    m->size--;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->items[j].used) return;
        size_t k = (size_t)evmjit__key_hash(&m->items[j].code_hash,
                                            (evmjit_revision)m->items[j].rev) & mask;
        /* leave items whose home k lies cyclically in (i, j] */
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        m->items[i] = m->items[j];
        m->items[j].used = 0;
        i = j;
    }
}

static void evmjit__map_free(evmjit_runtime *rt, evmjit__map *m) {
    evmjit__free(evmjit__a(rt), m->items, m->cap * sizeof *m->items);
    memset(m, 0, sizeof *m);
}

/* ---- the event ring (many producers: callers; one consumer: the backend) ------------------ */

/* Records one lookup event. Never blocks, never allocates: one CAS to claim a cell, retried
   only when another producer claimed it first. A full ring drops the event and counts it. */
static void evmjit__poke(evmjit_runtime *rt);

/* Push one lookup event; a full ring drops it and counts it. Every half ring of events (at
   least 64) also wakes the backend (evmjit__poke: a hint and a signal, never blocking), so a
   fast caller does not fill the ring between two timed wake-ups (wake_interval_ms) and lose
   hotness. */
static bool evmjit__ring_push(evmjit_runtime *rt, const evmjit_bytes32 *h, evmjit_revision rev,
                              uint32_t kind) {
    uint64_t pos = atomic_load_explicit(&rt->ring_tail, memory_order_relaxed);
    evmjit__event *ev;
    for (;;) {
        ev = &rt->cells[pos & rt->ring_mask];
        /* acquire: the consumer has finished reading this cell's previous lap */
        uint64_t seq = atomic_load_explicit(&ev->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - pos);
        if (dif == 0) {
            /* relaxed: the cell's seq, not tail, carries the payload */
            if (atomic_compare_exchange_weak_explicit(&rt->ring_tail, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (dif < 0) {
            EVMJIT__ADD(rt, dropped_events, 1);
            return false;
        } else {
            pos = atomic_load_explicit(&rt->ring_tail, memory_order_relaxed);
        }
    }
    ev->kind = kind;
    ev->rev = (uint32_t)rev;
    ev->code_hash = *h;
    /* release: publishes the event's payload to the consumer */
    atomic_store_explicit(&ev->seq, pos + 1, memory_order_release);
    /* every max(capacity / 2, 64) events: a tiny ring still overflows rather than turning
       every lookup into a wake-up (both are powers of two) */
    uint64_t nudge = rt->ring_mask >> 1 > 63 ? rt->ring_mask >> 1 : 63;
    if (((pos + 1) & nudge) == 0) evmjit__poke(rt);
    return true;
}

/* The next event, if its producer has published it. Backend thread only. */
static bool evmjit__ring_pop(evmjit_runtime *rt, uint32_t *kind, evmjit_revision *rev,
                             evmjit_bytes32 *h) {
    uint64_t head = atomic_load_explicit(&rt->ring_head, memory_order_relaxed); /* ours */
    evmjit__event *ev = &rt->cells[head & rt->ring_mask];
    /* acquire: the producer's payload */
    if (atomic_load_explicit(&ev->seq, memory_order_acquire) != head + 1) return false;
    *kind = ev->kind;
    *rev = (evmjit_revision)ev->rev;
    *h = ev->code_hash;
    /* release: we are done reading; the producer of the next lap may overwrite the cell */
    atomic_store_explicit(&ev->seq, head + rt->ring_mask + 1, memory_order_release);
    atomic_store_explicit(&rt->ring_head, head + 1, memory_order_relaxed); /* gauge only */
    return true;
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static evmjit__job *evmjit__job_new(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                    const uint8_t *code, size_t code_size, evmjit_revision rev,
                                    evmjit_program_kind kind) {
    evmjit__job *job = (evmjit__job *)evmjit__calloc(evmjit__a(rt), sizeof *job);
    if (!job) return NULL;
    job->code = (uint8_t *)evmjit__alloc(evmjit__a(rt), code_size);
    if (!job->code) {
        evmjit__free(evmjit__a(rt), job, sizeof *job);
        return NULL;
    }
    memcpy(job->code, code, code_size);
    job->rt = rt;
    job->code_hash = *h;
    job->rev = rev;
    job->code_size = code_size;
    job->kind = kind;
    return job;
}

/* Frees what a worker produced and nobody published. */
static void evmjit__job_drop_output(evmjit_runtime *rt, evmjit__job *job) {
    if (job->have_artifact && rt->cfg.store && rt->cfg.store->unload)
        rt->cfg.store->unload(rt->cfg.store->user, &job->artifact);
    job->have_artifact = false;
    if (job->kind == EVMJIT_PROGRAM_JIT && job->error == EVMJIT_OK && job->out.code &&
        rt->cfg.backend && rt->cfg.backend->free_code)
        rt->cfg.backend->free_code(rt->cfg.backend->user, job->out.code);
    job->out.code = NULL;
    job->out.fn = NULL;
}

/* Drops one reference to a cancel command; the last one frees it. Any thread. */
static void evmjit__cancel_release(evmjit_runtime *rt, evmjit__cancel *c) {
    /* acq_rel: the other holder's reads and writes happen before the free */
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        evmjit__free(evmjit__a(rt), c, sizeof *c);
}

static void evmjit__job_free(evmjit_runtime *rt, evmjit__job *job) {
    evmjit__job_drop_output(rt, job);
    if (job->cancel) evmjit__cancel_release(rt, job->cancel);
    evmjit__free(evmjit__a(rt), job->code, job->code_size);
    evmjit__free(evmjit__a(rt), job, sizeof *job);
}

static void evmjit__list_free(evmjit_runtime *rt, evmjit__job_list *l) {
    evmjit__job *j;
    while ((j = evmjit__list_pop(l)) != NULL) evmjit__job_free(rt, j);
}

static void evmjit__heap_free(evmjit_runtime *rt, evmjit__job_heap *h) {
    evmjit__job *j;
    while ((j = evmjit__heap_pop(h)) != NULL) evmjit__job_free(rt, j);
}

/* ---- workers ------------------------------------------------------------------------------- */

static void evmjit__name_thread(const char *name) {
#if defined(__linux__)
    prctl(PR_SET_NAME, name, 0, 0, 0);
#else
    (void)name;
#endif
}

/* Compilers poll this: shutdown, or a clear made the job stale. Worker threads. */
static bool evmjit__job_cancelled(const evmjit_compile_request *req) {
    const evmjit__job *job = (const evmjit__job *)req->runtime_private;
    evmjit_runtime *rt = job->rt;
    return atomic_load_explicit(&rt->stopping, memory_order_relaxed) ||
           job->generation != atomic_load_explicit(&rt->generation, memory_order_relaxed);
}

static void evmjit__job_fail(evmjit__job *job, evmjit_error e, const char *why) {
    job->error = e;
    if (!job->out.message[0]) snprintf(job->out.message, sizeof job->out.message, "%s", why);
}

/* Runs one job on a worker: AOT jobs try the store first; then compile (and for AOT store and
   load). The worker's compiler is created on first use and recycled after recycle_after
   compilations. Blocks for as long as the compiler takes. */
static void evmjit__run_job(evmjit_runtime *rt, evmjit__job *job, void **compiler,
                            uint64_t *uses) {
    const evmjit_backend *be = rt->cfg.backend;
    const evmjit_artifact_store *st = rt->cfg.store;
    uint64_t t0 = evmjit__now_ns(), queue_ns = t0 - job->admitted_ns, store_ns = 0, load_ns = 0;
    memset(&job->out, 0, sizeof job->out);
    job->error = EVMJIT_OK;
    job->from_store = job->have_artifact = false;
    evmjit_compile_request req;
    memset(&req, 0, sizeof req);
    req.code_hash = job->code_hash;
    req.rev = job->rev;
    req.code = job->code;
    req.code_size = job->code_size;
    req.opt_level = rt->cfg.opt_level - 1;
    req.upgrade = job->upgrade;
    req.cancelled = evmjit__job_cancelled;
    req.runtime_private = job;
    evmjit_error err;
    if (job->kind == EVMJIT_PROGRAM_AOT) {
        uint64_t t = evmjit__now_ns();
        err = st->load(st->user, &job->code_hash, job->rev, &job->artifact);
        load_ns = evmjit__now_ns() - t;
        if (err == EVMJIT_OK) {
            job->have_artifact = job->from_store = true;
            goto done;
        }
        if (err != EVMJIT_ERR_NOT_FOUND) EVMJIT__ADD(rt, store_errors, 1);
    }
    if (!be) {
        evmjit__job_fail(job, EVMJIT_ERR_UNSUPPORTED, "no compiler backend (desc.backend is NULL)");
        goto done;
    }
    if (!*compiler) {
        err = be->create_compiler(be->user, rt->cfg.opt_level - 1, compiler, job->out.message,
                                  sizeof job->out.message);
        if (err != EVMJIT_OK || !*compiler) {
            *compiler = NULL;
            evmjit__job_fail(job, err != EVMJIT_OK ? err : EVMJIT_ERR_COMPILE_FAILED,
                             "the backend could not create a compiler");
            goto done;
        }
        EVMJIT__ADD(rt, compiler_creates, 1);
        *uses = 0;
    }
    if (job->kind == EVMJIT_PROGRAM_JIT) {
        err = be->compile_jit(be->user, *compiler, &req, &job->out);
        if (err == EVMJIT_OK && !job->out.fn) {
            if (job->out.code && be->free_code) be->free_code(be->user, job->out.code);
            job->out.code = NULL;
            err = EVMJIT_ERR_COMPILE_FAILED;
            snprintf(job->out.message, sizeof job->out.message, "backend returned no function");
        }
        if (err != EVMJIT_OK) evmjit__job_fail(job, err, "compilation failed");
    } else if (!be->compile_aot) {
        evmjit__job_fail(job, EVMJIT_ERR_UNSUPPORTED, "the backend cannot compile AOT");
    } else {
        err = be->compile_aot(be->user, *compiler, &req, &job->out);
        if (err == EVMJIT_OK) {
            evmjit_artifact_object obj;
            memset(&obj, 0, sizeof obj);
            obj.code_hash = job->code_hash;
            obj.rev = job->rev;
            obj.compiler = rt->compiler_id;
            obj.symbol = job->out.symbol;
            obj.target = job->out.target;
            obj.object = job->out.object;
            obj.object_size = job->out.object_size;
            obj.code_size = job->code_size;
            uint64_t t = evmjit__now_ns();
            err = st->store(st->user, &obj);
            store_ns = evmjit__now_ns() - t;
            if (be->free_object) be->free_object(be->user, &job->out);
            job->out.object = NULL;
            if (err == EVMJIT_OK) {
                EVMJIT__ADD(rt, aot_stored, 1);
                t = evmjit__now_ns();
                err = st->load(st->user, &job->code_hash, job->rev, &job->artifact);
                load_ns = evmjit__now_ns() - t;
                if (err == EVMJIT_OK) job->have_artifact = true;
                else evmjit__job_fail(job, err, "stored artifact could not be loaded");
            } else {
                evmjit__job_fail(job, err, "artifact store refused the object");
            }
            if (err != EVMJIT_OK) EVMJIT__ADD(rt, store_errors, 1);
        } else {
            evmjit__job_fail(job, err, "AOT compilation failed");
        }
    }
    (*uses)++;
    if (rt->cfg.recycle_after != EVMJIT_OFF && *uses >= rt->cfg.recycle_after) {
        be->destroy_compiler(be->user, *compiler);
        *compiler = NULL;
    }
done:
    job->out.times.queue_ns = queue_ns;
    job->out.times.store_ns = store_ns;
    job->out.times.load_ns = load_ns;
    job->out.times.total_ns = evmjit__now_ns() - t0;
    if (!job->out.times.total_ns) job->out.times.total_ns = 1;
}

/* Marks this thread finished for evmjit_runtime_destroy's timed join. */
static void evmjit__thread_exited(evmjit_runtime *rt) {
    atomic_fetch_sub_explicit(&rt->threads_running, 1, memory_order_relaxed);
    mtx_lock(&rt->mtx);
    rt->threads_exited++;
    cnd_broadcast(&rt->exit_cnd);
    mtx_unlock(&rt->mtx);
}

static int evmjit__worker_main(void *arg) {
    evmjit_runtime *rt = (evmjit_runtime *)arg;
    void *compiler = NULL;
    uint64_t uses = 0;
    evmjit__name_thread("evmjit-worker");
    mtx_lock(&rt->mtx);
    for (;;) {
        while (!rt->shutdown && !rt->queue.root) cnd_wait(&rt->worker_cnd, &rt->mtx);
        if (rt->shutdown) break;
        evmjit__job *job = evmjit__heap_pop(&rt->queue); /* the first in order: O(log n) */
        mtx_unlock(&rt->mtx);
        evmjit__run_job(rt, job, &compiler, &uses);
        mtx_lock(&rt->mtx);
        evmjit__list_push(&rt->results, job);
        atomic_store_explicit(&rt->wake, true, memory_order_relaxed); /* under mtx */
        cnd_signal(&rt->backend_cnd);
    }
    mtx_unlock(&rt->mtx);
    if (compiler) rt->cfg.backend->destroy_compiler(rt->cfg.backend->user, compiler);
    evmjit__thread_exited(rt);
    return 0;
}

/* ---- the backend: admission and publication ---------------------------------------------- */

/* ms since the runtime was created, + 1 (0 means "never" in entry timestamps). */
static uint64_t evmjit__clock_now(const evmjit_runtime *rt) {
    return (evmjit__now_ns() - rt->start_ns) / 1000000u + 1;
}

static uint64_t evmjit__generation(evmjit_runtime *rt) {
    return atomic_load_explicit(&rt->generation, memory_order_relaxed); /* a plain counter */
}

static uint64_t evmjit__in_flight(const evmjit_runtime *rt) { return rt->inflight.size + rt->wanted; }

static evmjit__entry *evmjit__entry_new(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                        evmjit_revision rev, size_t code_size, int state) {
    evmjit__entry *e = (evmjit__entry *)evmjit__calloc(evmjit__a(rt), sizeof *e);
    if (!e) return NULL;
    e->pub.code_hash = *h;
    e->pub.rev = rev;
    e->pub.code_size = code_size;
    e->generation = evmjit__generation(rt);
    atomic_init(&e->state, state);
    atomic_init(&e->refs, 0);
    e->created_ms = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
    atomic_init(&e->last_hit_ms, e->created_ms);
    atomic_init(&e->claimed_ms, 0);
    return e;
}

/* Wakes every compile_sync caller waiting for this key. entry: READY (each gets a counted
   reference) or NULL with the error. O(waiters). */
static void evmjit__complete_waiters(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                     evmjit_revision rev, evmjit__entry *entry, evmjit_error err) {
    bool any = false;
    mtx_lock(&rt->mtx);
    for (evmjit__waiter *w = rt->waiters; w; w = w->next) {
        if (w->done || w->rev != rev || !evmjit__key_eq(&w->code_hash, h)) continue;
        if (entry) atomic_fetch_add_explicit(&entry->refs, 1, memory_order_relaxed); /* resident */
        w->entry = entry;
        w->error = err;
        w->done = true;
        any = true;
    }
    if (any) cnd_broadcast(&rt->done_cnd);
    mtx_unlock(&rt->mtx);
}

static bool evmjit__has_waiters(evmjit_runtime *rt, const evmjit_bytes32 *h, evmjit_revision rev) {
    bool any = false;
    mtx_lock(&rt->mtx);
    for (evmjit__waiter *w = rt->waiters; w && !any; w = w->next)
        any = !w->done && w->rev == rev && evmjit__key_eq(&w->code_hash, h);
    mtx_unlock(&rt->mtx);
    return any;
}

static void evmjit__cancel_session(evmjit_runtime *rt, evmjit__job *cmd);

/* An OBSERVE request of a prewarm session: its observations count as misses of the key. True
   when that makes the key hot (hot_threshold - 1 observed misses, where evmjit__observe makes
   a key WANTED): the request carries the code, so it is admitted as a compilation at once.
   Bounded by max_cold_keys like any miss. Backend. O(1) amortised. */
static bool evmjit__observe_request(evmjit_runtime *rt, evmjit__job *job, int st) {
    if (st == EVMJIT__WANTED) { /* hot already, waiting for a caller's code: here it is */
        job->observations = 0;
        return true;
    }
    if (st != 0 || rt->threshold == EVMJIT_OFF) return false; /* failed before, or never hot */
    if (rt->threshold > 1) {
        evmjit__map_item *c = evmjit__map_find(&rt->cold, &job->code_hash, job->rev);
        if (!c) {
            if (rt->cold.size >= rt->cfg.max_cold_keys ||
                !(c = evmjit__map_insert(rt, &rt->cold, &job->code_hash, job->rev))) {
                EVMJIT__ADD(rt, dropped_cold_keys, 1);
                return false;
            }
        }
        c->count = c->count > UINT64_MAX - job->observations ? UINT64_MAX
                                                              : c->count + job->observations;
        c->last_ms = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed); /* coarse */
        if (c->count + 1 < rt->threshold) return false;
    }
    job->observations = 0; /* from now on a compilation (a stale re-admission adds nothing) */
    return true;
}

/* Admits a request: ignored if the key is resident or a current job has it; merged into a
   running job of an older generation (run again afterwards); refused at max_in_flight;
   otherwise the key's entry becomes COMPILING and the job waits in the pending heap (in
   evmjit__job_before order). Prewarm OBSERVE requests first add their observations and go
   on only if the key became hot; cancel commands run here, after every earlier request.
   Backend. O(log pending) amortised. */
static void evmjit__admit(evmjit_runtime *rt, evmjit__job *job) {
    if (job->cancel) {
        evmjit__cancel_session(rt, job);
        return;
    }
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    evmjit__entry *e = evmjit__table_find(t, &job->code_hash, job->rev);
    int st = e ? atomic_load_explicit(&e->state, memory_order_relaxed) : 0;
    if (st == EVMJIT__READY) {
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, e, EVMJIT_OK);
        evmjit__job_free(rt, job);
        return;
    }
    evmjit__map_item *fl = evmjit__map_find(&rt->inflight, &job->code_hash, job->rev);
    if (fl && fl->job->generation == evmjit__generation(rt)) { /* compiling now: share it */
        /* another asker (not an observation) makes it everyone's: no session cancels it */
        if (!job->observations && fl->job->session != job->session) fl->job->session = 0;
        evmjit__job_free(rt, job);
        return;
    }
    if (job->observations && (fl || !evmjit__observe_request(rt, job, st))) {
        evmjit__job_free(rt, job);
        return;
    }
    if (!fl && st != EVMJIT__WANTED && st != EVMJIT__COMPILING &&
        evmjit__in_flight(rt) >= rt->cfg.max_in_flight) {
        EVMJIT__ADD(rt, dropped_jobs, 1); /* reported by evmjit__report_drops */
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, NULL, EVMJIT_ERR_BUSY);
        evmjit__job_free(rt, job);
        return;
    }
    if (!e) {
        e = evmjit__entry_new(rt, &job->code_hash, job->rev, job->code_size, EVMJIT__COMPILING);
        if (!e || !evmjit__table_insert(rt, e)) {
            if (e) evmjit__free(evmjit__a(rt), e, sizeof *e);
            evmjit__complete_waiters(rt, &job->code_hash, job->rev, NULL, EVMJIT_ERR_OUT_OF_MEMORY);
            evmjit__job_free(rt, job);
            return;
        }
        if (!fl) EVMJIT__ADD(rt, admitted, 1);
    } else if (st != EVMJIT__COMPILING) {
        if (st == EVMJIT__WANTED) rt->wanted--;
        else if (!fl) EVMJIT__ADD(rt, admitted, 1); /* FAILED: an explicit retry */
        e->pub.code_size = job->code_size;
        atomic_store_explicit(&e->state, EVMJIT__COMPILING, memory_order_relaxed); /* not READY */
    }
    evmjit__map_item *cold = evmjit__map_find(&rt->cold, &job->code_hash, job->rev);
    if (cold) evmjit__map_remove(&rt->cold, cold);
    if (fl) { /* an older generation's job still runs for this key: run again after it */
        fl->job->rerun = true;
        fl->job->urgent |= job->urgent;
        fl->job->rerun_kind = job->kind;
        if (fl->job->session != job->session) fl->job->session = 0;
        evmjit__job_free(rt, job);
        return;
    }
    fl = evmjit__map_insert(rt, &rt->inflight, &job->code_hash, job->rev);
    if (!fl) {
        atomic_store_explicit(&e->state, EVMJIT__FAILED, memory_order_release); /* nothing new */
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, NULL, EVMJIT_ERR_OUT_OF_MEMORY);
        evmjit__job_free(rt, job);
        return;
    }
    fl->job = job;
    job->generation = e->generation;
    job->admitted_ns = evmjit__now_ns();
    job->order = evmjit__job_order(job);
    job->seq = rt->next_seq++;
    evmjit__heap_push(&rt->pending, job);
}

static void evmjit__notify(evmjit_runtime *rt, const evmjit__job *job, bool published) {
    if (!rt->cfg.on_compilation) return;
    evmjit_compilation_info info;
    memset(&info, 0, sizeof info);
    info.code_hash = job->code_hash;
    info.rev = job->rev;
    info.kind = job->kind;
    info.success = job->error == EVMJIT_OK;
    info.published = published;
    info.from_store = job->from_store;
    info.upgrade = job->upgrade;
    info.error = job->error;
    info.message = info.success ? "" : job->out.message;
    info.code_size = job->code_size;
    info.code_bytes = job->kind == EVMJIT_PROGRAM_JIT ? job->out.code_bytes : job->artifact.code_bytes;
    info.times = job->out.times;
    rt->cfg.on_compilation(&info, rt->cfg.on_compilation_user);
}

/* A job of an older generation (finished, or never started): its output is dropped; if a
   newer request or a compile_sync caller still wants the key it is admitted again for the
   current generation, else freed. Backend. */
static void evmjit__stale_job(evmjit_runtime *rt, evmjit__job *job) {
    if (job->upgrade) {
        rt->upgrade_running = false;
        EVMJIT__ADD(rt, discarded, 1);
        evmjit__job_free(rt, job);
        return;
    }
    evmjit__map_item *fl = evmjit__map_find(&rt->inflight, &job->code_hash, job->rev);
    if (fl && fl->job == job) evmjit__map_remove(&rt->inflight, fl);
    evmjit__job_drop_output(rt, job);
    EVMJIT__ADD(rt, discarded, 1);
    if (!job->rerun && !evmjit__has_waiters(rt, &job->code_hash, job->rev)) {
        evmjit__job_free(rt, job);
        return;
    }
    if (job->rerun) job->kind = job->rerun_kind;
    job->rerun = false;
    job->error = EVMJIT_OK;
    evmjit__admit(rt, job);
}

static void evmjit__finish_upgrade(evmjit_runtime *rt, evmjit__job *job);
static bool evmjit__provisional_add(evmjit_runtime *rt, evmjit__entry *e, evmjit__job *job);

/* Publishes a worker's result: the key's COMPILING entry becomes READY (or FAILED), waiters
   wake, the callback runs. A result of an older generation is discarded; an upgrade has its
   own publication (evmjit__finish_upgrade). Backend. */
static void evmjit__finish(evmjit_runtime *rt, evmjit__job *job) {
    if (job->upgrade) {
        evmjit__finish_upgrade(rt, job);
        return;
    }
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    evmjit__entry *e = evmjit__table_find(t, &job->code_hash, job->rev);
    if (job->generation != evmjit__generation(rt) || !e || e->generation != job->generation ||
        atomic_load_explicit(&e->state, memory_order_relaxed) != EVMJIT__COMPILING) {
        evmjit__notify(rt, job, false);
        evmjit__stale_job(rt, job);
        return;
    }
    evmjit__map_item *fl = evmjit__map_find(&rt->inflight, &job->code_hash, job->rev);
    if (fl && fl->job == job) evmjit__map_remove(&rt->inflight, fl);
    if (job->error == EVMJIT_OK) {
        e->pub.kind = job->kind;
        if (job->kind == EVMJIT_PROGRAM_JIT) {
            e->pub.fn = job->out.fn;
            e->pub.code_bytes = job->out.code_bytes;
            e->code = job->out.code;
            job->out.code = NULL; /* the entry owns it now */
            if (job->out.provisional) e->provisional = evmjit__provisional_add(rt, e, job);
            EVMJIT__ADD(rt, jit_code_bytes, e->pub.code_bytes);
            EVMJIT__ADD(rt, resident_jit, 1);
            rt->resident_jit_bytes += e->pub.code_bytes;
        } else {
            e->pub.fn = job->artifact.fn;
            e->pub.code_bytes = job->artifact.code_bytes;
            e->artifact = job->artifact;
            job->have_artifact = false; /* the entry owns it now */
            EVMJIT__ADD(rt, aot_code_bytes, e->pub.code_bytes);
            EVMJIT__ADD(rt, resident_aot, 1);
            EVMJIT__ADD(rt, aot_loaded, 1);
        }
        atomic_store_explicit(&e->last_hit_ms,
                              atomic_load_explicit(&rt->clock_ms, memory_order_relaxed),
                              memory_order_relaxed);
        /* release: publishes fn, kind and code_bytes to readers that see READY */
        atomic_store_explicit(&e->state, EVMJIT__READY, memory_order_release);
        EVMJIT__ADD(rt, resident_entries, 1);
        EVMJIT__ADD(rt, succeeded, 1);
        evmjit__notify(rt, job, true); /* before the waiters wake: they see it has run */
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, e, EVMJIT_OK);
    } else {
        e->created_ms = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
        atomic_store_explicit(&e->state, EVMJIT__FAILED, memory_order_release); /* no payload */
        EVMJIT__ADD(rt, failed, 1);
        evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN, "compilation failed (%s): %s",
                     evmjit_error_name(job->error), job->out.message);
        evmjit__notify(rt, job, false);
        evmjit__complete_waiters(rt, &job->code_hash, job->rev, NULL,
                                 job->error == EVMJIT_ERR_SHUTDOWN ? EVMJIT_ERR_SHUTDOWN
                                                                   : EVMJIT_ERR_COMPILE_FAILED);
    }
    evmjit__job_free(rt, job);
}

/* ---- upgrades: provisional programs compiled again with the full optimiser ------------------

   A backend may compile code on a cheap path first (out.provisional: the first compilation
   stays short; the LLVM backend's baseline tier). Such an entry keeps a copy of its bytecode and is an upgrade
   candidate; lookups count its hits (a relaxed add, only on provisional entries). Once it has
   upgrade_threshold hits, one job at a time recompiles it with req.upgrade, queued after every
   first compilation; the result replaces the entry in its table slot (evmjit__table_replace),
   so callers go on hitting the old program until the new one is there. A failed upgrade
   keeps the provisional program and is not retried; a clear or an eviction drops the
   candidate and discards a running upgrade's result. */

/* Makes e (READY soon) an upgrade candidate, taking job's copy of the code. Backend. False
   when upgrades are off or memory is short: then e is an ordinary program. */
static bool evmjit__provisional_add(evmjit_runtime *rt, evmjit__entry *e, evmjit__job *job) {
    if (rt->cfg.upgrade_threshold == EVMJIT_OFF || !job->code) return false;
    if (rt->n_provisional == rt->cap_provisional) {
        size_t cap = rt->cap_provisional ? rt->cap_provisional * 2 : 16;
        evmjit__entry **p = (evmjit__entry **)evmjit__alloc(evmjit__a(rt), cap * sizeof *p);
        if (!p) return false;
        if (rt->n_provisional) memcpy(p, rt->provisional, rt->n_provisional * sizeof *p);
        evmjit__free(evmjit__a(rt), rt->provisional, rt->cap_provisional * sizeof *p);
        rt->provisional = p;
        rt->cap_provisional = cap;
    }
    rt->provisional[rt->n_provisional++] = e;
    e->upgrade_code = job->code; /* e->pub.code_size == job->code_size */
    job->code = NULL;
    EVMJIT__ADD(rt, provisional, 1);
    return true;
}

/* Queues the upgrade of the first candidate that is hot enough, unless one runs. Backend.
   O(candidates). */
static void evmjit__upgrade_hot(evmjit_runtime *rt) {
    if (rt->upgrade_running) return;
    for (size_t i = 0; i < rt->n_provisional; i++) {
        evmjit__entry *e = rt->provisional[i];
        /* relaxed: a trigger; the exact count does not matter */
        if (e->upgrading || atomic_load_explicit(&e->provisional_hits, memory_order_relaxed) <
                                rt->cfg.upgrade_threshold)
            continue;
        evmjit__job *job = evmjit__job_new(rt, &e->pub.code_hash, e->upgrade_code, e->pub.code_size,
                                           e->pub.rev, EVMJIT_PROGRAM_JIT);
        if (!job) return; /* out of memory: try again at the next wake-up */
        job->upgrade = true;
        job->generation = e->generation;
        job->admitted_ns = evmjit__now_ns();
        job->order = evmjit__job_order(job);
        job->seq = rt->next_seq++;
        e->upgrading = true;
        rt->upgrade_running = true;
        evmjit__heap_push(&rt->pending, job);
        return;
    }
}

/* Publishes an upgrade: the new program replaces the provisional one if that is still
   resident, current and waiting for this job; anything else discards it. Backend. */
static void evmjit__finish_upgrade(evmjit_runtime *rt, evmjit__job *job) {
    rt->upgrade_running = false;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    evmjit__entry *e = evmjit__table_find(t, &job->code_hash, job->rev);
    if (!e || !e->upgrading || e->generation != job->generation ||
        job->generation != evmjit__generation(rt)) {
        EVMJIT__ADD(rt, discarded, 1);
        evmjit__notify(rt, job, false);
        evmjit__job_free(rt, job);
        return;
    }
    e->upgrading = false;
    evmjit__entry *n = NULL;
    if (job->error == EVMJIT_OK)
        n = evmjit__entry_new(rt, &job->code_hash, job->rev, job->code_size, EVMJIT__READY);
    if (!n) { /* keep the provisional program; no retry */
        evmjit__provisional_forget(rt, e);
        evmjit__job_drop_output(rt, job); /* while error still says whether there is output */
        if (job->error == EVMJIT_OK) {
            job->error = EVMJIT_ERR_OUT_OF_MEMORY;
            snprintf(job->out.message, sizeof job->out.message, "out of memory for the new entry");
        }
        EVMJIT__ADD(rt, failed, 1);
        evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN, "upgrade failed (%s): %s; the provisional program stays",
                     evmjit_error_name(job->error), job->out.message);
        evmjit__notify(rt, job, false);
        evmjit__job_free(rt, job);
        return;
    }
    n->generation = e->generation;
    n->created_ms = e->created_ms;
    n->pub.kind = EVMJIT_PROGRAM_JIT;
    n->pub.fn = job->out.fn;
    n->pub.code_bytes = job->out.code_bytes;
    n->code = job->out.code;
    job->out.code = NULL; /* the entry owns it now */
    atomic_store_explicit(&n->last_hit_ms, atomic_load_explicit(&e->last_hit_ms, memory_order_relaxed),
                          memory_order_relaxed);
    evmjit__table_replace(rt, e, n); /* e was found in the table: its slot exists */
    EVMJIT__ADD(rt, jit_code_bytes, n->pub.code_bytes);
    EVMJIT__ADD(rt, succeeded, 1);
    EVMJIT__ADD(rt, upgrades, 1);
    evmjit__notify(rt, job, true);
    evmjit__job_free(rt, job);
}

/* ---- the backend: hotness, dispatch, eviction, the loop ---------------------------------- */

/* One drained lookup event: count the miss; for a key without an entry, count its hotness
   (cold-key map, bounded by max_cold_keys) and when it has threshold - 1 observed misses make
   it WANTED, so that the next caller to miss it hands over its code. Backend. O(1). */
static void evmjit__observe(evmjit_runtime *rt, uint32_t kind, evmjit_revision rev,
                            const evmjit_bytes32 *h) {
    EVMJIT__ADD(rt, misses, 1);
    if (kind != EVMJIT__EV_UNKNOWN || !rt->can_hot || rt->threshold <= 1 ||
        rt->threshold == EVMJIT_OFF)
        return;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    if (evmjit__table_find(t, h, rev) || evmjit__map_find(&rt->inflight, h, rev)) return;
    evmjit__map_item *c = evmjit__map_find(&rt->cold, h, rev);
    if (!c) {
        if (rt->cold.size >= rt->cfg.max_cold_keys ||
            !(c = evmjit__map_insert(rt, &rt->cold, h, rev))) {
            EVMJIT__ADD(rt, dropped_cold_keys, 1);
            return;
        }
    }
    c->count++;
    c->last_ms = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
    if (c->count + 1 < rt->threshold) return;
    if (evmjit__in_flight(rt) >= rt->cfg.max_in_flight) {
        EVMJIT__ADD(rt, dropped_jobs, 1);
        return;
    }
    evmjit__entry *e = evmjit__entry_new(rt, h, rev, 0, EVMJIT__WANTED);
    if (!e || !evmjit__table_insert(rt, e)) {
        if (e) evmjit__free(evmjit__a(rt), e, sizeof *e);
        return;
    }
    evmjit__map_remove(&rt->cold, c);
    rt->wanted++;
    EVMJIT__ADD(rt, admitted, 1);
}

/* Drains at most drain_batch events, or (all) every event pushed before this call, waiting
   for producers that claimed a cell and have not filled it yet. Returns true if events were
   left behind. Backend. */
static bool evmjit__drain(evmjit_runtime *rt, bool all) {
    uint64_t target = atomic_load_explicit(&rt->ring_tail, memory_order_relaxed);
    uint32_t kind;
    evmjit_revision rev;
    evmjit_bytes32 h;
    for (uint64_t n = 0;; n++) {
        if (!all && n >= rt->cfg.drain_batch) return true;
        if (evmjit__ring_pop(rt, &kind, &rev, &h)) {
            evmjit__observe(rt, kind, rev, &h);
            continue;
        }
        uint64_t head = atomic_load_explicit(&rt->ring_head, memory_order_relaxed);
        if (!all || head >= target || atomic_load_explicit(&rt->stopping, memory_order_relaxed))
            return false;
        thrd_yield(); /* a producer is between its claim and its publish */
    }
}

/* Moves pending jobs, first in order first, to the worker queue while it has room (workers x
   queue_per_worker) and the runtime is not paused. Stale jobs are re-admitted or dropped.
   Backend. O(pending log pending); under rt->mtx only O(log n): the batch is one heap, melded
   into the queue. */
static void evmjit__dispatch(evmjit_runtime *rt) {
    if (atomic_load_explicit(&rt->pause_depth, memory_order_relaxed) != 0 || !rt->pending.n) return;
    size_t cap = (size_t)rt->workers * (size_t)rt->cfg.queue_per_worker, room;
    mtx_lock(&rt->mtx);
    room = cap > rt->queue.n ? cap - rt->queue.n : 0; /* workers only make more room */
    mtx_unlock(&rt->mtx);
    evmjit__job_heap batch = {NULL, 0};
    for (size_t n = rt->pending.n; room && n && rt->pending.root; n--) {
        evmjit__job *job = evmjit__heap_pop(&rt->pending);
        if (job->generation != evmjit__generation(rt)) {
            evmjit__stale_job(rt, job);
            continue;
        }
        evmjit__heap_push(&batch, job);
        room--;
    }
    if (!batch.n) return;
    EVMJIT__ADD(rt, dispatched, batch.n);
    mtx_lock(&rt->mtx);
    evmjit__heap_meld(&rt->queue, &batch);
    cnd_broadcast(&rt->worker_cnd);
    mtx_unlock(&rt->mtx);
}

/* ---- the backend: taking prewarm promotions back ------------------------------------------ */

/* Whether finish(false) of `session` may take this job back: that session alone asked for it
   (no waiter, no rerun after a clear, no other request), for the current generation. */
static bool evmjit__cancellable(evmjit_runtime *rt, const evmjit__job *job, uint64_t session) {
    return job->session == session && !job->upgrade && !job->urgent && !job->rerun &&
           job->generation == evmjit__generation(rt) &&
           !evmjit__has_waiters(rt, &job->code_hash, job->rev);
}

/* Takes every cancellable job of `session` out of *h, dropping it with its COMPILING entry
   (the key is forgotten, as if never requested). Returns how many. Backend; *h must not be
   visible to workers. O(n log n). */
static uint64_t evmjit__cancel_heap(evmjit_runtime *rt, evmjit__job_heap *h, uint64_t session) {
    evmjit__job_heap keep = {NULL, 0};
    uint64_t n = 0;
    evmjit__job *job;
    while ((job = evmjit__heap_pop(h)) != NULL) {
        if (!evmjit__cancellable(rt, job, session)) {
            evmjit__heap_push(&keep, job); /* order and seq unchanged: same place */
            continue;
        }
        evmjit__map_item *fl = evmjit__map_find(&rt->inflight, &job->code_hash, job->rev);
        if (fl && fl->job == job) evmjit__map_remove(&rt->inflight, fl);
        evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
        evmjit__entry *e = evmjit__table_find(t, &job->code_hash, job->rev);
        if (e && e->generation == job->generation && /* relaxed: we write states */
            atomic_load_explicit(&e->state, memory_order_relaxed) == EVMJIT__COMPILING)
            evmjit__table_remove(rt, e);
        evmjit__job_free(rt, job);
        n++;
    }
    *h = keep;
    return n;
}

/* A cancel command (evmjit_prewarm_finish without commit): every request the session made
   was admitted before it (one FIFO request list). The pending heap is the backend's; the
   worker queue is taken out under rt->mtx, sifted without it (has_waiters takes it), and
   melded back - workers that look meanwhile find it empty and wait. Answers the finishing
   caller under rt->mtx. Backend. O((pending + queued) log n), once per finish(false). */
static void evmjit__cancel_session(evmjit_runtime *rt, evmjit__job *cmd) {
    uint64_t session = cmd->cancel->session;
    uint64_t n = evmjit__cancel_heap(rt, &rt->pending, session);
    mtx_lock(&rt->mtx);
    evmjit__job_heap queued = rt->queue;
    memset(&rt->queue, 0, sizeof rt->queue);
    mtx_unlock(&rt->mtx);
    n += evmjit__cancel_heap(rt, &queued, session);
    mtx_lock(&rt->mtx);
    evmjit__heap_meld(&rt->queue, &queued);
    if (rt->queue.root) cnd_broadcast(&rt->worker_cnd);
    cmd->cancel->cancelled = n;
    cmd->cancel->done = true;
    cnd_broadcast(&rt->done_cnd);
    mtx_unlock(&rt->mtx);
    EVMJIT__ADD(rt, cancelled, n);
    evmjit__job_free(rt, cmd);
}

/* Idle eviction: programs not hit, failures not retried and WANTED keys not handed over for
   idle_eviction_ms go; so do cold keys not missed for that long. Backend. O(capacity). */
static void evmjit__sweep(evmjit_runtime *rt, uint64_t now) {
    uint64_t idle = rt->cfg.idle_eviction_ms;
    if (idle == EVMJIT_OFF) return;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    for (size_t i = 0; i <= t->mask; i++) {
        evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (!e || e == EVMJIT__TOMBSTONE) continue;
        int st = atomic_load_explicit(&e->state, memory_order_relaxed);
        uint64_t last = e->created_ms;
        if (st == EVMJIT__COMPILING) continue;
        if (st == EVMJIT__READY) last = atomic_load_explicit(&e->last_hit_ms, memory_order_relaxed);
        if (st == EVMJIT__WANTED) {
            uint64_t c = atomic_load_explicit(&e->claimed_ms, memory_order_relaxed);
            if (c > last) last = c;
        }
        if (now < last || now - last < idle) continue;
        evmjit__table_remove(rt, e); /* leaves a tombstone in slot i: the walk stays valid */
        if (st == EVMJIT__READY) {
            EVMJIT__ADD(rt, evictions, 1);
            EVMJIT__ADD(rt, evictions_idle, 1);
        }
    }
    for (size_t i = 0; i < rt->cold.cap; i++) {
        /* a removal shifts a later item into slot i: look at i again */
        while (rt->cold.items[i].used && now >= rt->cold.items[i].last_ms &&
               now - rt->cold.items[i].last_ms >= idle)
            evmjit__map_remove(&rt->cold, &rt->cold.items[i]);
    }
}

/* While resident JIT code exceeds jit_budget_bytes, evict the least recently hit JIT program
   (ties: the oldest). Backend. O(evictions x capacity); runs only when over budget. */
static void evmjit__enforce_budget(evmjit_runtime *rt) {
    uint64_t budget = rt->cfg.jit_budget_bytes;
    while (budget != EVMJIT_OFF && rt->resident_jit_bytes > budget) {
        evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
        evmjit__entry *victim = NULL;
        uint64_t vhit = 0;
        for (size_t i = 0; i <= t->mask; i++) {
            evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
            if (!e || e == EVMJIT__TOMBSTONE || e->pub.kind != EVMJIT_PROGRAM_JIT ||
                atomic_load_explicit(&e->state, memory_order_relaxed) != EVMJIT__READY)
                continue;
            uint64_t hit = atomic_load_explicit(&e->last_hit_ms, memory_order_relaxed);
            if (!victim || hit < vhit || (hit == vhit && e->created_ms < victim->created_ms)) {
                victim = e;
                vhit = hit;
            }
        }
        if (!victim) break;
        evmjit__table_remove(rt, victim);
        EVMJIT__ADD(rt, evictions, 1);
        EVMJIT__ADD(rt, evictions_budget, 1);
    }
}

/* Logs, at most once per second, how much work each bound dropped since the last report,
   naming the setting to change. Backend. */
static void evmjit__report_drops(evmjit_runtime *rt, uint64_t now) {
    static const struct {
        size_t offset;
        const char *what;
    } bounds[4] = {
        {offsetof(evmjit__counters, dropped_events), "lookup events dropped: event ring full; raise ring_capacity"},
        {offsetof(evmjit__counters, dropped_commands), "requests refused: request queue full; raise max_in_flight"},
        {offsetof(evmjit__counters, dropped_jobs), "compilations refused at max_in_flight; raise max_in_flight"},
        {offsetof(evmjit__counters, dropped_cold_keys), "misses not tracked: max_cold_keys reached; raise max_cold_keys"},
    };
    if (now < rt->next_report_ms) return;
    for (int i = 0; i < 4; i++) {
        _Atomic uint64_t *c = (_Atomic uint64_t *)((char *)&rt->c + bounds[i].offset);
        uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
        if (v <= rt->reported[i]) continue;
        evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN, "%llu %s",
                     (unsigned long long)(v - rt->reported[i]), bounds[i].what);
        rt->reported[i] = v;
        rt->next_report_ms = now + 1000;
    }
}

/* Entries of an older generation leave the table (a clear happened). Backend. O(capacity). */
static void evmjit__purge_stale(evmjit_runtime *rt) {
    uint64_t g = evmjit__generation(rt);
    if (g == rt->seen_generation) return;
    rt->seen_generation = g;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed); /* our own */
    for (size_t i = 0; i <= t->mask; i++) {
        evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (e && e != EVMJIT__TOMBSTONE && e->generation != g) evmjit__table_remove(rt, e);
    }
}

static int evmjit__backend_main(void *arg) {
    evmjit_runtime *rt = (evmjit_runtime *)arg;
    evmjit__name_thread("evmjit-backend");
    mtx_lock(&rt->mtx);
    for (;;) {
        /* relaxed: wake is a hint; the lists it announces are read under mtx */
        if (!rt->shutdown && !atomic_exchange_explicit(&rt->wake, false, memory_order_relaxed)) {
            uint64_t now = evmjit__clock_now(rt), wait = rt->cfg.wake_interval_ms;
            if (rt->cfg.idle_eviction_ms != EVMJIT_OFF && rt->next_sweep_ms > now &&
                rt->next_sweep_ms - now < wait)
                wait = rt->next_sweep_ms - now;
            struct timespec deadline = evmjit__deadline(wait ? wait : 1);
            cnd_timedwait(&rt->backend_cnd, &rt->mtx, &deadline);
            atomic_store_explicit(&rt->wake, false, memory_order_relaxed);
        }
        if (rt->shutdown) break;
        evmjit__job_list requests = evmjit__list_take(&rt->requests);
        evmjit__job_list results = evmjit__list_take(&rt->results);
        atomic_store_explicit(&rt->c.queued_commands, 0, memory_order_relaxed);
        uint64_t sync_target = rt->sync_requested;
        bool sync = sync_target > rt->sync_done;
        mtx_unlock(&rt->mtx);

        uint64_t now = evmjit__clock_now(rt);
        atomic_store_explicit(&rt->clock_ms, now, memory_order_relaxed); /* a coarse clock */
        evmjit__purge_stale(rt);
        evmjit__job *job;
        while ((job = evmjit__list_pop(&results)) != NULL) evmjit__finish(rt, job);
        while ((job = evmjit__list_pop(&requests)) != NULL) evmjit__admit(rt, job);
        bool more = evmjit__drain(rt, sync);
        evmjit__upgrade_hot(rt);
        evmjit__dispatch(rt);
        if (rt->cfg.idle_eviction_ms != EVMJIT_OFF && now >= rt->next_sweep_ms) {
            evmjit__sweep(rt, now);
            rt->next_sweep_ms = now + rt->cfg.sweep_interval_ms;
        }
        evmjit__enforce_budget(rt);
        evmjit__reclaim(rt);
        evmjit__report_drops(rt, now);
        atomic_store_explicit(&rt->c.pending_jobs, evmjit__in_flight(rt), memory_order_relaxed);
        atomic_store_explicit(&rt->c.tracked_cold_keys, rt->cold.size, memory_order_relaxed);

        mtx_lock(&rt->mtx);
        if (sync_target > rt->sync_done) {
            rt->sync_done = sync_target;
            cnd_broadcast(&rt->done_cnd);
        }
        /* relaxed: under mtx; loop again at once when the batch bound left events behind */
        if (more) atomic_store_explicit(&rt->wake, true, memory_order_relaxed);
    }
    mtx_unlock(&rt->mtx);
    evmjit__thread_exited(rt);
    return 0;
}

/* Starts the backend and the workers once. On failure everything started is stopped and
   joined again, and the runtime stays without threads. Any thread; blocks for thrd_create. */
static evmjit_error evmjit__start_threads(evmjit_runtime *rt) {
    /* acquire: the threads and their state exist */
    if (atomic_load_explicit(&rt->started, memory_order_acquire)) return EVMJIT_OK;
    evmjit_error err = EVMJIT_OK;
    mtx_lock(&rt->start_mtx);
    if (atomic_load_explicit(&rt->started, memory_order_relaxed)) {
        mtx_unlock(&rt->start_mtx);
        return EVMJIT_OK;
    }
    rt->threads_created = 0;
    atomic_fetch_add_explicit(&rt->threads_running, 1, memory_order_relaxed);
    if (thrd_create(&rt->backend_thread, evmjit__backend_main, rt) != thrd_success) {
        atomic_fetch_sub_explicit(&rt->threads_running, 1, memory_order_relaxed);
        err = EVMJIT_ERR_THREAD;
    } else {
        rt->threads_created = 1;
    }
    for (int i = 0; i < rt->workers && err == EVMJIT_OK; i++) {
        atomic_fetch_add_explicit(&rt->threads_running, 1, memory_order_relaxed);
        if (thrd_create(&rt->worker_threads[i], evmjit__worker_main, rt) != thrd_success) {
            atomic_fetch_sub_explicit(&rt->threads_running, 1, memory_order_relaxed);
            err = EVMJIT_ERR_THREAD;
        } else {
            rt->threads_created++;
        }
    }
    if (err != EVMJIT_OK) {
        evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_ERROR,
                     "could not start runtime threads; lower worker_threads");
        mtx_lock(&rt->mtx);
        rt->shutdown = true;
        cnd_broadcast(&rt->backend_cnd);
        cnd_broadcast(&rt->worker_cnd);
        mtx_unlock(&rt->mtx);
        if (rt->threads_created >= 1) thrd_join(rt->backend_thread, NULL);
        for (uint32_t i = 1; i < rt->threads_created; i++) thrd_join(rt->worker_threads[i - 1], NULL);
        mtx_lock(&rt->mtx);
        rt->shutdown = false;
        rt->threads_exited = 0;
        mtx_unlock(&rt->mtx);
        rt->threads_created = 0;
    } else {
        /* release: the threads exist for whoever sees started */
        atomic_store_explicit(&rt->started, true, memory_order_release);
    }
    mtx_unlock(&rt->start_mtx);
    return err;
}

/* ---- create, settings, destroy ----------------------------------------------------------- */

static evmjit_error evmjit__bad_setting(const evmjit_logger *lg, const char *what) {
    evmjit__logf(lg, EVMJIT_LOG_ERROR, "invalid runtime setting: %s", what);
    return EVMJIT_ERR_INVALID_ARGUMENT;
}

static uint64_t evmjit__or_default(uint64_t v, uint64_t def) { return v ? v : def; }

/* Fills *c from *in with every default resolved; INVALID_ARGUMENT (logged, naming the
   setting) for a nonsense value. */
static evmjit_error evmjit__resolve_desc(const evmjit_runtime_desc *in, evmjit_runtime_desc *c) {
    const evmjit_logger *lg = &in->logger;
    *c = *in;
    if (!c->allocator.alloc != !c->allocator.free)
        return evmjit__bad_setting(lg, "allocator: set both alloc and free, or neither");
    const evmjit_backend *be = c->backend;
    if (be && (!be->create_compiler || !be->destroy_compiler || !be->compile_jit || !be->free_code))
        return evmjit__bad_setting(lg, "backend: create_compiler, destroy_compiler, compile_jit "
                                       "and free_code are required");
    if (be && be->compile_aot && !be->free_object)
        return evmjit__bad_setting(lg, "backend: compile_aot needs free_object");
    const evmjit_artifact_store *st = c->store;
    if (st && (!st->load || !st->store || !st->unload))
        return evmjit__bad_setting(lg, "store: load, store and unload are required");
    if ((unsigned)c->mode > (unsigned)EVMJIT_MODE_AOT)
        return evmjit__bad_setting(lg, "mode: EVMJIT_MODE_JIT or EVMJIT_MODE_AOT");
    if (c->mode == EVMJIT_MODE_AOT && !st)
        return evmjit__bad_setting(lg, "mode: EVMJIT_MODE_AOT needs a store");
    if (c->mode == EVMJIT_MODE_DEFAULT) c->mode = EVMJIT_MODE_JIT;
    if (c->opt_level < 0 || c->opt_level > EVMJIT_O3)
        return evmjit__bad_setting(lg, "opt_level: EVMJIT_O0..EVMJIT_O3, or 0 for the default");
    if (!c->opt_level) c->opt_level = EVMJIT_O2;
    if (c->worker_threads < EVMJIT_NO_WORKERS || c->worker_threads > 64)
        return evmjit__bad_setting(lg, "worker_threads: EVMJIT_NO_WORKERS, 0 (default) or 1..64");
    if (!c->worker_threads) {
        long cpus = 1;
#if defined(_SC_NPROCESSORS_ONLN)
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
#endif
        long w = cpus > 0 ? (cpus + 1) / 2 : 1;
        c->worker_threads = (int)(w < 1 ? 1 : w > 4 ? 4 : w);
    }
    c->hot_threshold = evmjit__or_default(c->hot_threshold, 8);
    c->upgrade_threshold = evmjit__or_default(c->upgrade_threshold, 64);
    c->max_code_size = evmjit__or_default(c->max_code_size, 24576);
    c->max_in_flight = evmjit__or_default(c->max_in_flight, 2048);
    if (!c->max_cold_keys)
        c->max_cold_keys = c->max_in_flight > UINT64_MAX / 10 ? UINT64_MAX : 10 * c->max_in_flight;
    c->queue_per_worker = evmjit__or_default(c->queue_per_worker, 64);
    if (c->queue_per_worker > (1u << 20))
        return evmjit__bad_setting(lg, "queue_per_worker: at most 1048576");
    c->ring_capacity = evmjit__or_default(c->ring_capacity, 4096);
    if (c->ring_capacity < 2 || c->ring_capacity > (1u << 24) ||
        (c->ring_capacity & (c->ring_capacity - 1)))
        return evmjit__bad_setting(lg, "ring_capacity: a power of two from 2 to 16777216");
    c->drain_batch = evmjit__or_default(c->drain_batch, 4096);
    c->wake_interval_ms = evmjit__or_default(c->wake_interval_ms, 100);
    if (c->wake_interval_ms > 3600000)
        return evmjit__bad_setting(lg, "wake_interval_ms: at most 3600000 (one hour)");
    c->idle_eviction_ms = evmjit__or_default(c->idle_eviction_ms, 600000);
    c->sweep_interval_ms = evmjit__or_default(c->sweep_interval_ms, 60000);
    if (c->sweep_interval_ms > 86400000)
        return evmjit__bad_setting(lg, "sweep_interval_ms: at most 86400000 (one day)");
    c->jit_budget_bytes = evmjit__or_default(c->jit_budget_bytes, (uint64_t)1 << 30);
    c->recycle_after = evmjit__or_default(c->recycle_after, 1000);
    c->shutdown_timeout_ms = evmjit__or_default(c->shutdown_timeout_ms, 5000);
    c->compile_timeout_ms = evmjit__or_default(c->compile_timeout_ms, 60000);
    return EVMJIT_OK;
}

/* Frees everything a runtime owns; no runtime thread may be running. Unloads and frees every
   program regardless of readers (the caller contract: none are left). */
static void evmjit__runtime_free(evmjit_runtime *rt) {
    evmjit__list_free(rt, &rt->requests);
    evmjit__heap_free(rt, &rt->queue);
    evmjit__list_free(rt, &rt->results);
    evmjit__heap_free(rt, &rt->pending);
    evmjit__map_free(rt, &rt->inflight); /* its jobs were in the lists */
    evmjit__map_free(rt, &rt->cold);
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed);
    if (t) {
        for (size_t i = 0; i <= t->mask; i++) {
            evmjit__entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
            if (e && e != EVMJIT__TOMBSTONE) evmjit__entry_free(rt, e);
        }
        evmjit__table_free(rt, t);
    }
    while (rt->retired_entries) {
        evmjit__entry *e = rt->retired_entries;
        rt->retired_entries = e->next_retired;
        evmjit__entry_free(rt, e);
    }
    while (rt->retired_tables) {
        evmjit__table *r = rt->retired_tables;
        rt->retired_tables = r->next_retired;
        evmjit__table_free(rt, r);
    }
    const evmjit_allocator *a = evmjit__a(rt);
    evmjit__free(a, rt->provisional, rt->cap_provisional * sizeof *rt->provisional);
    evmjit__free(a, rt->hits_raw, EVMJIT_READER_SLOTS * sizeof(evmjit__hit_counter) + EVMJIT__CACHE_LINE);
    evmjit__free(a, rt->cells_raw, (size_t)(rt->ring_mask + 1) * sizeof(evmjit__event) + EVMJIT__CACHE_LINE);
    evmjit__free(a, rt->worker_threads, (size_t)rt->workers * sizeof(thrd_t));
    mtx_destroy(&rt->mtx);
    mtx_destroy(&rt->start_mtx);
    cnd_destroy(&rt->backend_cnd);
    cnd_destroy(&rt->worker_cnd);
    cnd_destroy(&rt->done_cnd);
    cnd_destroy(&rt->exit_cnd);
    evmjit_allocator alloc = rt->cfg.allocator;
    evmjit__free(&alloc, rt->raw, sizeof *rt + EVMJIT__CACHE_LINE);
}

/* load_all's sink: one preloaded artifact becomes a READY AOT entry (creating thread, before
   any other thread exists). Duplicates and unusable artifacts are unloaded and skipped. */
static evmjit_error evmjit__preload_sink(void *ctx, const evmjit_artifact *a) {
    evmjit_runtime *rt = (evmjit_runtime *)ctx;
    const evmjit_artifact_store *st = rt->cfg.store;
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_relaxed);
    if (!a->fn || (unsigned)a->rev > EVMJIT_MAX_REVISION || evmjit__table_find(t, &a->code_hash, a->rev)) {
        st->unload(st->user, a);
        return EVMJIT_OK;
    }
    evmjit__entry *e = evmjit__entry_new(rt, &a->code_hash, a->rev, a->code_size, EVMJIT__READY);
    if (!e) {
        st->unload(st->user, a);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    e->pub.kind = EVMJIT_PROGRAM_AOT;
    e->pub.fn = a->fn;
    e->pub.code_bytes = a->code_bytes;
    e->artifact = *a;
    if (!evmjit__table_insert(rt, e)) {
        st->unload(st->user, a);
        evmjit__free(evmjit__a(rt), e, sizeof *e);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    EVMJIT__ADD(rt, resident_entries, 1);
    EVMJIT__ADD(rt, resident_aot, 1);
    EVMJIT__ADD(rt, aot_code_bytes, a->code_bytes);
    EVMJIT__ADD(rt, aot_loaded, 1);
    return EVMJIT_OK;
}

static evmjit_error evmjit__runtime_create(const evmjit_runtime_desc *desc,
                                          evmjit_runtime **out) {
    if (!out) return EVMJIT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    evmjit_runtime_desc defaults, cfg;
    memset(&defaults, 0, sizeof defaults);
    evmjit_error err = evmjit__resolve_desc(desc ? desc : &defaults, &cfg);
    if (err != EVMJIT_OK) return err;
    void *raw;
    evmjit_runtime *rt = (evmjit_runtime *)evmjit__alloc_aligned(&cfg.allocator, sizeof *rt, &raw);
    if (!rt) return EVMJIT_ERR_OUT_OF_MEMORY;
    rt->raw = raw;
    rt->cfg = cfg;
    int sync_ok = 0; /* how many of the six primitives below exist */
    if (mtx_init(&rt->mtx, mtx_plain) == thrd_success) sync_ok++;
    if (sync_ok == 1 && mtx_init(&rt->start_mtx, mtx_plain) == thrd_success) sync_ok++;
    if (sync_ok == 2 && cnd_init(&rt->backend_cnd) == thrd_success) sync_ok++;
    if (sync_ok == 3 && cnd_init(&rt->worker_cnd) == thrd_success) sync_ok++;
    if (sync_ok == 4 && cnd_init(&rt->done_cnd) == thrd_success) sync_ok++;
    if (sync_ok == 5 && cnd_init(&rt->exit_cnd) == thrd_success) sync_ok++;
    if (sync_ok < 6) {
        if (sync_ok > 4) cnd_destroy(&rt->done_cnd);
        if (sync_ok > 3) cnd_destroy(&rt->worker_cnd);
        if (sync_ok > 2) cnd_destroy(&rt->backend_cnd);
        if (sync_ok > 1) mtx_destroy(&rt->start_mtx);
        if (sync_ok > 0) mtx_destroy(&rt->mtx);
        evmjit__free(&cfg.allocator, raw, sizeof *rt + EVMJIT__CACHE_LINE);
        return EVMJIT_ERR_THREAD;
    }
    const evmjit_allocator *a = evmjit__a(rt);
    rt->workers = cfg.worker_threads > 0 ? cfg.worker_threads : 0;
    rt->threshold = cfg.hot_threshold;
    rt->can_jit = cfg.backend && rt->workers > 0;
    rt->can_aot = cfg.store && rt->workers > 0;
    rt->can_hot = cfg.mode == EVMJIT_MODE_AOT ? (rt->can_aot && cfg.backend && cfg.backend->compile_aot)
                                              : rt->can_jit;
    rt->ring_mask = cfg.ring_capacity - 1;
    rt->start_ns = evmjit__now_ns();
    atomic_init(&rt->clock_ms, 1);
    rt->next_sweep_ms = 1 + cfg.sweep_interval_ms;
    atomic_init(&rt->table, NULL);
    atomic_init(&rt->generation, 0);
    atomic_init(&rt->enabled, false);
    atomic_init(&rt->pause_depth, 0);
    atomic_init(&rt->wake, false);
    atomic_init(&rt->stopping, false);
    atomic_init(&rt->started, false);
    atomic_init(&rt->threads_running, 0);
    atomic_init(&rt->prewarm_sessions, 0);
    atomic_init(&rt->prewarm_ids, 0);
    if (cfg.backend)
        snprintf(rt->compiler_id, sizeof rt->compiler_id, "%s %s O%d",
                 cfg.backend->name ? cfg.backend->name : "?",
                 cfg.backend->version ? cfg.backend->version : "?", cfg.opt_level - 1);
    rt->hits = (evmjit__hit_counter *)evmjit__alloc_aligned(
        a, EVMJIT_READER_SLOTS * sizeof(evmjit__hit_counter), &rt->hits_raw);
    rt->cells = (evmjit__event *)evmjit__alloc_aligned(
        a, (size_t)cfg.ring_capacity * sizeof(evmjit__event), &rt->cells_raw);
    rt->worker_threads = rt->workers ? (thrd_t *)evmjit__calloc(a, (size_t)rt->workers * sizeof(thrd_t)) : NULL;
    evmjit__table *t = evmjit__table_new(rt, 16);
    atomic_init(&rt->table, t);
    if (!rt->hits || !rt->cells || !t || (rt->workers && !rt->worker_threads)) {
        evmjit__runtime_free(rt);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < EVMJIT_READER_SLOTS; i++) atomic_init(&rt->hits[i].n, 0);
    for (uint64_t i = 0; i <= rt->ring_mask; i++) atomic_init(&rt->cells[i].seq, i);
    atomic_init(&rt->ring_tail, 0);
    atomic_init(&rt->ring_head, 0);
    if (cfg.store && cfg.store->load_all) {
        err = cfg.store->load_all(cfg.store->user, evmjit__preload_sink, rt);
        if (err != EVMJIT_OK) {
            evmjit__logf(&cfg.logger, EVMJIT_LOG_ERROR, "artifact store '%s': load_all failed: %s",
                         cfg.store->name ? cfg.store->name : "?", evmjit_error_name(err));
            evmjit__runtime_free(rt);
            return err;
        }
    }
    if (cfg.enabled) {
        err = evmjit__start_threads(rt);
        if (err != EVMJIT_OK) {
            evmjit__runtime_free(rt);
            return err;
        }
        atomic_store_explicit(&rt->enabled, true, memory_order_relaxed); /* a flag */
    }
    *out = rt;
    return EVMJIT_OK;
}

EVMJIT_API void evmjit_runtime_settings(const evmjit_runtime *rt, evmjit_runtime_desc *out) {
    if (!out) return;
    if (!rt) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = rt->cfg;
}

static evmjit_error evmjit__runtime_destroy(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_OK;
    /* caller contract: every prewarm session was finished (its threads use rt) */
    EVMJIT_ASSERT(atomic_load_explicit(&rt->prewarm_sessions, memory_order_relaxed) == 0);
    /* acquire: the threads exist */
    if (atomic_load_explicit(&rt->started, memory_order_acquire)) {
        atomic_store_explicit(&rt->stopping, true, memory_order_relaxed); /* compilers poll it */
        struct timespec deadline = evmjit__deadline(rt->cfg.shutdown_timeout_ms);
        mtx_lock(&rt->mtx);
        rt->shutdown = true;
        cnd_broadcast(&rt->backend_cnd);
        cnd_broadcast(&rt->worker_cnd);
        cnd_broadcast(&rt->done_cnd);
        while (rt->threads_exited < rt->threads_created)
            if (cnd_timedwait(&rt->exit_cnd, &rt->mtx, &deadline) == thrd_timedout &&
                evmjit__deadline_passed(&deadline))
                break;
        bool all = rt->threads_exited >= rt->threads_created;
        mtx_unlock(&rt->mtx);
        if (!all) {
            evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_ERROR,
                         "runtime threads did not stop within %llu ms; they are detached and "
                         "the runtime is leaked; raise shutdown_timeout_ms",
                         (unsigned long long)rt->cfg.shutdown_timeout_ms);
            if (rt->threads_created >= 1) thrd_detach(rt->backend_thread);
            for (uint32_t i = 1; i < rt->threads_created; i++) thrd_detach(rt->worker_threads[i - 1]);
            return EVMJIT_ERR_TIMEOUT;
        }
        if (rt->threads_created >= 1) thrd_join(rt->backend_thread, NULL);
        for (uint32_t i = 1; i < rt->threads_created; i++) thrd_join(rt->worker_threads[i - 1], NULL);
    }
    evmjit__runtime_free(rt);
    return EVMJIT_OK;
}

/* ---- enable, pause --------------------------------------------------------------------------- */

EVMJIT_API evmjit_error evmjit_runtime_enable(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_error err = evmjit__start_threads(rt);
    if (err != EVMJIT_OK) return err;
    atomic_store_explicit(&rt->enabled, true, memory_order_relaxed); /* a flag */
    return EVMJIT_OK;
}

EVMJIT_API void evmjit_runtime_disable(evmjit_runtime *rt) {
    if (rt) atomic_store_explicit(&rt->enabled, false, memory_order_relaxed); /* a flag */
}

/* Wakes the backend without taking its mutex (never blocks). A wake-up lost to the race with
   the backend going to sleep costs at most one wake_interval_ms. */
static void evmjit__poke(evmjit_runtime *rt) {
    if (!atomic_load_explicit(&rt->started, memory_order_acquire)) return; /* acquire: cnd in use */
    atomic_store_explicit(&rt->wake, true, memory_order_relaxed); /* a hint */
    cnd_signal(&rt->backend_cnd);
}

EVMJIT_API uint32_t evmjit_runtime_pause(evmjit_runtime *rt) {
    if (!rt) return 0;
    return atomic_fetch_add_explicit(&rt->pause_depth, 1, memory_order_relaxed) + 1; /* a counter */
}

EVMJIT_API evmjit_error evmjit_runtime_resume(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    uint32_t d = atomic_load_explicit(&rt->pause_depth, memory_order_relaxed);
    do {
        if (d == 0) return EVMJIT_ERR_INVALID_ARGUMENT;
    } while (!atomic_compare_exchange_weak_explicit(&rt->pause_depth, &d, d - 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    if (d == 1) evmjit__poke(rt); /* dispatch what waited */
    return EVMJIT_OK;
}

EVMJIT_API const char *evmjit_lookup_outcome_name(evmjit_lookup_outcome outcome) {
    static const char *const names[] = {
#define EVMJIT_LOOKUP_TEXT(name, text) text,
        EVMJIT_LOOKUP_OUTCOMES(EVMJIT_LOOKUP_TEXT)
#undef EVMJIT_LOOKUP_TEXT
    };
    if ((unsigned)outcome >= (unsigned)EVMJIT_LOOKUP_OUTCOME_COUNT) return "unknown outcome";
    return names[outcome];
}

/* ---- lookup and references --------------------------------------------------------------- */

/* Offers a WANTED key's code hand-over to this caller: once, and again after
   EVMJIT__WANT_REASK_MS if nobody honoured it. One CAS on a miss path. */
static bool evmjit__claim(evmjit_runtime *rt, evmjit__entry *e) {
    uint64_t now = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
    uint64_t c = atomic_load_explicit(&e->claimed_ms, memory_order_relaxed);
    if (c && (now < c || now - c < EVMJIT__WANT_REASK_MS)) return false;
    /* relaxed: only decides which caller is asked; no data travels with it */
    return atomic_compare_exchange_strong_explicit(&e->claimed_ms, &c, now, memory_order_relaxed,
                                                   memory_order_relaxed);
}

/* The lookup. On HIT the caller stays inside its read section until evmjit_lookup_release.
   count: record the lookup (hit counter or miss event). Never blocks, never allocates; the
   hit path writes only this thread's record and hit counter (and an entry's last-hit time
   once per backend tick). Visits at most capacity / 2 + 1 table slots. */
static evmjit_lookup_outcome evmjit__lookup(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                            const uint8_t *code, size_t code_size,
                                            evmjit_revision rev, evmjit_program **program,
                                            bool count) {
    if (program) *program = NULL;
    if (!rt) return EVMJIT_LOOKUP_DISABLED;
    if (!h || !program || (!code && code_size) || (unsigned)rev > EVMJIT_MAX_REVISION)
        return EVMJIT_LOOKUP_INVALID;
    if (!atomic_load_explicit(&rt->enabled, memory_order_relaxed)) return EVMJIT_LOOKUP_DISABLED;
    if (code_size == 0 || code_size > rt->cfg.max_code_size) {
        if (count) evmjit__ring_push(rt, h, rev, EVMJIT__EV_KNOWN);
        return EVMJIT_LOOKUP_INELIGIBLE;
    }
    int slot = evmjit__read_enter();
    /* seq_cst: ordered after our epoch store (reclamation); acquire: the table's slots */
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_seq_cst);
    evmjit__entry *e = evmjit__table_find(t, h, rev);
    evmjit_lookup_outcome o;
    uint32_t kind = EVMJIT__EV_KNOWN;
    if (e && e->generation == atomic_load_explicit(&rt->generation, memory_order_relaxed)) {
        /* acquire: fn, kind and code_bytes were written before READY */
        int st = atomic_load_explicit(&e->state, memory_order_acquire);
        if (st == EVMJIT__READY) {
            uint64_t now = atomic_load_explicit(&rt->clock_ms, memory_order_relaxed);
            if (atomic_load_explicit(&e->last_hit_ms, memory_order_relaxed) != now)
                atomic_store_explicit(&e->last_hit_ms, now, memory_order_relaxed); /* once per tick */
            if (count && e->provisional) /* an upgrade candidate: its trigger */
                atomic_fetch_add_explicit(&e->provisional_hits, 1, memory_order_relaxed);
            if (count) {
                if (slot >= 0) { /* only this thread writes its counter: no read-modify-write */
                    _Atomic uint64_t *n = &rt->hits[slot].n;
                    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                                          memory_order_relaxed);
                } else {
                    atomic_fetch_add_explicit(&rt->hits_overflow, 1, memory_order_relaxed);
                }
            }
            *program = &e->pub;
            return EVMJIT_LOOKUP_HIT;
        }
        if (st == EVMJIT__FAILED) o = EVMJIT_LOOKUP_FAILED;
        else if (st == EVMJIT__WANTED && evmjit__claim(rt, e)) o = EVMJIT_LOOKUP_WANT_CODE;
        else o = EVMJIT_LOOKUP_NOT_READY;
    } else {
        kind = EVMJIT__EV_UNKNOWN;
        o = rt->can_hot && rt->threshold <= 1 ? EVMJIT_LOOKUP_WANT_CODE : EVMJIT_LOOKUP_NOT_READY;
    }
    evmjit__read_exit();
    if (count) evmjit__ring_push(rt, h, rev, kind);
    return o;
}

EVMJIT_API void evmjit_lookup_release(evmjit_runtime *rt, evmjit_program *program) {
    (void)rt;
    if (program) evmjit__read_exit();
}

EVMJIT_API evmjit_program *evmjit_program_acquire(evmjit_runtime *rt, evmjit_program *program) {
    (void)rt;
    if (program) { /* relaxed: the caller already holds a reference, so the entry is alive */
        evmjit__entry *e = (evmjit__entry *)program;
        atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    }
    return program;
}

EVMJIT_API void evmjit_program_release(evmjit_runtime *rt, evmjit_program *program) {
    (void)rt;
    if (!program) return;
    evmjit__entry *e = (evmjit__entry *)program;
    /* release: our uses of the program happen before the backend's free (acquire in reclaim) */
    uint32_t old = atomic_fetch_sub_explicit(&e->refs, 1, memory_order_release);
    EVMJIT_ASSERT(old > 0);
    (void)old;
}

/* ---- requests -------------------------------------------------------------------------------- */

static evmjit_error evmjit__check_request(const evmjit_runtime *rt, const evmjit_bytes32 *h,
                                          const uint8_t *code, size_t code_size,
                                          evmjit_revision rev) {
    if (!rt || !h || (!code && code_size) || (unsigned)rev > EVMJIT_MAX_REVISION)
        return EVMJIT_ERR_INVALID_ARGUMENT;
    if (code_size == 0 || code_size > rt->cfg.max_code_size) return EVMJIT_ERR_INELIGIBLE;
    return EVMJIT_OK;
}

static evmjit_error evmjit__unsupported(const evmjit_runtime *rt, const char *what) {
    evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN, "%s", what);
    return EVMJIT_ERR_UNSUPPORTED;
}

static evmjit_program_kind evmjit__mode_kind(const evmjit_runtime *rt) {
    return rt->cfg.mode == EVMJIT_MODE_AOT ? EVMJIT_PROGRAM_AOT : EVMJIT_PROGRAM_JIT;
}

/* Hands a request to the backend (with a waiter, linked under the same lock) and takes
   ownership of job: freed here when refused. The request list is bounded by max_in_flight;
   cancel commands are not (one per finishing session). Any thread; O(1) under rt->mtx. */
static evmjit_error evmjit__submit_job(evmjit_runtime *rt, evmjit__job *job, evmjit__waiter *w) {
    evmjit_error err = evmjit__start_threads(rt);
    if (err != EVMJIT_OK) {
        evmjit__job_free(rt, job);
        return err;
    }
    job->urgent = w != NULL;
    mtx_lock(&rt->mtx);
    if (rt->shutdown || (!job->cancel && rt->requests.n >= rt->cfg.max_in_flight)) {
        bool down = rt->shutdown;
        mtx_unlock(&rt->mtx);
        evmjit__job_free(rt, job);
        if (down) return EVMJIT_ERR_SHUTDOWN;
        EVMJIT__ADD(rt, dropped_commands, 1); /* reported by evmjit__report_drops */
        return EVMJIT_ERR_BUSY;
    }
    if (job->prewarm) EVMJIT__ADD(rt, prewarm_requests, 1);
    evmjit__list_push(&rt->requests, job);
    atomic_store_explicit(&rt->c.queued_commands, rt->requests.n, memory_order_relaxed);
    if (w) {
        w->prev = NULL;
        w->next = rt->waiters;
        if (rt->waiters) rt->waiters->prev = w;
        rt->waiters = w;
    }
    atomic_store_explicit(&rt->wake, true, memory_order_relaxed); /* under mtx */
    cnd_signal(&rt->backend_cnd);
    mtx_unlock(&rt->mtx);
    return EVMJIT_OK;
}

/* Copies the code into a request and hands it to the backend. Any thread; O(code size) copy,
   then O(1) under rt->mtx. */
static evmjit_error evmjit__submit(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                   const uint8_t *code, size_t code_size, evmjit_revision rev,
                                   evmjit_program_kind kind, evmjit__waiter *w) {
    evmjit__job *job = evmjit__job_new(rt, h, code, code_size, rev, kind);
    if (!job) return EVMJIT_ERR_OUT_OF_MEMORY;
    return evmjit__submit_job(rt, job, w);
}

/* Resident already: a counted reference without asking anyone. */
static bool evmjit__resident_ref(evmjit_runtime *rt, const evmjit_bytes32 *h, evmjit_revision rev,
                                 evmjit_program **program) {
    evmjit__read_enter();
    /* seq_cst: as in evmjit__lookup */
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_seq_cst);
    evmjit__entry *e = evmjit__table_find(t, h, rev);
    bool ok = e && e->generation == atomic_load_explicit(&rt->generation, memory_order_relaxed) &&
              /* acquire: the program's fields */
              atomic_load_explicit(&e->state, memory_order_acquire) == EVMJIT__READY;
    if (ok && program) *program = evmjit_program_acquire(rt, &e->pub);
    evmjit__read_exit();
    return ok;
}

/* Requests the key (urgent) and waits for its result with an absolute deadline. */
static evmjit_error evmjit__compile_wait(evmjit_runtime *rt, const evmjit_bytes32 *h,
                                         const uint8_t *code, size_t code_size,
                                         evmjit_revision rev, evmjit_program_kind kind,
                                         uint64_t timeout_ms, evmjit_program **program) {
    if (evmjit__resident_ref(rt, h, rev, program)) return EVMJIT_OK;
    evmjit__waiter w;
    memset(&w, 0, sizeof w);
    w.code_hash = *h;
    w.rev = rev;
    evmjit_error err = evmjit__submit(rt, h, code, code_size, rev, kind, &w);
    if (err != EVMJIT_OK) return err;
    struct timespec deadline = evmjit__deadline(timeout_ms ? timeout_ms : rt->cfg.compile_timeout_ms);
    mtx_lock(&rt->mtx);
    while (!w.done && !rt->shutdown)
        if (cnd_timedwait(&rt->done_cnd, &rt->mtx, &deadline) == thrd_timedout &&
            evmjit__deadline_passed(&deadline))
            break;
    if (w.prev) w.prev->next = w.next;
    else rt->waiters = w.next;
    if (w.next) w.next->prev = w.prev;
    bool down = rt->shutdown;
    mtx_unlock(&rt->mtx);
    if (!w.done) return down ? EVMJIT_ERR_SHUTDOWN : EVMJIT_ERR_TIMEOUT;
    if (w.error != EVMJIT_OK) return w.error;
    if (program) *program = &w.entry->pub;
    else evmjit_program_release(rt, &w.entry->pub);
    return EVMJIT_OK;
}

EVMJIT_API evmjit_lookup_outcome evmjit_lookup_blocking(evmjit_runtime *rt,
                                                        const evmjit_bytes32 *code_hash,
                                                        const uint8_t *code, size_t code_size,
                                                        evmjit_revision rev, uint64_t timeout_ms,
                                                        evmjit_program **program) {
    evmjit_lookup_outcome o = evmjit__lookup(rt, code_hash, code, code_size, rev, program, true);
    if (o != EVMJIT_LOOKUP_NOT_READY && o != EVMJIT_LOOKUP_WANT_CODE) return o;
    if (!rt->can_hot) return EVMJIT_LOOKUP_FAILED; /* nothing can compile: answer at once */
    if (evmjit__compile_wait(rt, code_hash, code, code_size, rev, evmjit__mode_kind(rt), timeout_ms,
                             NULL) != EVMJIT_OK)
        return EVMJIT_LOOKUP_FAILED;
    o = evmjit__lookup(rt, code_hash, code, code_size, rev, program, false);
    return o == EVMJIT_LOOKUP_HIT ? o : EVMJIT_LOOKUP_NOT_READY; /* cleared or evicted meanwhile */
}

EVMJIT_API evmjit_lookup_outcome evmjit_lookup(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                               const uint8_t *code, size_t code_size,
                                               evmjit_revision rev, evmjit_program **program) {
    if (rt && rt->cfg.blocking)
        return evmjit_lookup_blocking(rt, code_hash, code, code_size, rev, 0, program);
    return evmjit__lookup(rt, code_hash, code, code_size, rev, program, true);
}

EVMJIT_API evmjit_error evmjit_compile(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                       const uint8_t *code, size_t code_size, evmjit_revision rev) {
    evmjit_error err = evmjit__check_request(rt, code_hash, code, code_size, rev);
    if (err != EVMJIT_OK) return err;
    if (!rt->can_hot)
        return evmjit__unsupported(rt, "cannot compile: set desc.backend and worker_threads "
                                       "(and desc.store for EVMJIT_MODE_AOT)");
    return evmjit__submit(rt, code_hash, code, code_size, rev, evmjit__mode_kind(rt), NULL);
}

EVMJIT_API evmjit_error evmjit_compile_sync(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                            const uint8_t *code, size_t code_size,
                                            evmjit_revision rev, uint64_t timeout_ms,
                                            evmjit_program **program) {
    if (program) *program = NULL;
    evmjit_error err = evmjit__check_request(rt, code_hash, code, code_size, rev);
    if (err != EVMJIT_OK) return err;
    if (!rt->can_hot)
        return evmjit__unsupported(rt, "cannot compile: set desc.backend and worker_threads "
                                       "(and desc.store for EVMJIT_MODE_AOT)");
    return evmjit__compile_wait(rt, code_hash, code, code_size, rev, evmjit__mode_kind(rt),
                                timeout_ms, program);
}

EVMJIT_API evmjit_error evmjit_prepare_aot(evmjit_runtime *rt, const evmjit_bytes32 *code_hash,
                                           const uint8_t *code, size_t code_size,
                                           evmjit_revision rev) {
    evmjit_error err = evmjit__check_request(rt, code_hash, code, code_size, rev);
    if (err != EVMJIT_OK) return err;
    if (!rt->can_aot)
        return evmjit__unsupported(rt, "prepare_aot needs desc.store and worker_threads");
    return evmjit__submit(rt, code_hash, code, code_size, rev, EVMJIT_PROGRAM_AOT, NULL);
}

EVMJIT_API evmjit_error evmjit_prepare_aot_batch(evmjit_runtime *rt, const evmjit_code_ref *items,
                                                 size_t count, size_t *accepted) {
    evmjit_error first = EVMJIT_OK;
    size_t n = 0;
    if (accepted) *accepted = 0;
    if (!rt || (!items && count)) return EVMJIT_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++) {
        evmjit_error err = evmjit_prepare_aot(rt, &items[i].code_hash, items[i].code,
                                              items[i].code_size, items[i].rev);
        if (err == EVMJIT_OK) n++;
        else if (first == EVMJIT_OK) first = err;
    }
    if (accepted) *accepted = n;
    return first;
}

/* ---- clear, sync, statistics ------------------------------------------------------------- */

EVMJIT_API evmjit_error evmjit_clear_resident(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    /* relaxed: readers compare entry generations with it; no data travels with it */
    atomic_fetch_add_explicit(&rt->generation, 1, memory_order_relaxed);
    evmjit__poke(rt);
    return EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_clear_persisted(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    if (!rt->cfg.store || !rt->cfg.store->clear)
        return evmjit__unsupported(rt, "clear_persisted needs desc.store with clear");
    return rt->cfg.store->clear(rt->cfg.store->user);
}

EVMJIT_API evmjit_error evmjit_clear_all(evmjit_runtime *rt) {
    evmjit_error err = evmjit_clear_resident(rt);
    if (err != EVMJIT_OK || !rt->cfg.store || !rt->cfg.store->clear) return err;
    return rt->cfg.store->clear(rt->cfg.store->user);
}

EVMJIT_API evmjit_error evmjit_runtime_sync(evmjit_runtime *rt, uint64_t timeout_ms) {
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    /* acquire: the threads exist; without them no event or request is waiting */
    if (!atomic_load_explicit(&rt->started, memory_order_acquire)) return EVMJIT_OK;
    struct timespec deadline = evmjit__deadline(timeout_ms ? timeout_ms : rt->cfg.compile_timeout_ms);
    mtx_lock(&rt->mtx);
    uint64_t ticket = ++rt->sync_requested;
    atomic_store_explicit(&rt->wake, true, memory_order_relaxed); /* under mtx */
    cnd_signal(&rt->backend_cnd);
    while (rt->sync_done < ticket && !rt->shutdown)
        if (cnd_timedwait(&rt->done_cnd, &rt->mtx, &deadline) == thrd_timedout &&
            evmjit__deadline_passed(&deadline))
            break;
    bool done = rt->sync_done >= ticket;
    mtx_unlock(&rt->mtx);
    return done ? EVMJIT_OK : EVMJIT_ERR_TIMEOUT;
}

EVMJIT_API void evmjit_runtime_get_stats(const evmjit_runtime *crt, evmjit_runtime_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!crt) return;
    evmjit_runtime *rt = (evmjit_runtime *)crt; /* atomics are read, never written */
    /* relaxed everywhere: a snapshot of independent counters */
    uint64_t hits = atomic_load_explicit(&rt->hits_overflow, memory_order_relaxed);
    for (size_t i = 0; i < EVMJIT_READER_SLOTS; i++)
        hits += atomic_load_explicit(&rt->hits[i].n, memory_order_relaxed);
    out->hits = hits;
#define EVMJIT__COUNTER_COPY(name) out->name = atomic_load_explicit(&rt->c.name, memory_order_relaxed);
    EVMJIT__COUNTERS(EVMJIT__COUNTER_COPY)
#undef EVMJIT__COUNTER_COPY
    uint64_t head = atomic_load_explicit(&rt->ring_head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&rt->ring_tail, memory_order_relaxed);
    out->queued_events = tail > head ? tail - head : 0;
    out->generation = atomic_load_explicit(&rt->generation, memory_order_relaxed);
    out->pause_depth = atomic_load_explicit(&rt->pause_depth, memory_order_relaxed);
    out->threads = atomic_load_explicit(&rt->threads_running, memory_order_relaxed);
    out->enabled = atomic_load_explicit(&rt->enabled, memory_order_relaxed);
}

/* ============================================================================================
   Prewarm sessions
   ============================================================================================

   DESIGN. A session owns its worker threads, a shared cursor, the transaction slots and a map
   of the keys it has seen; it reaches the runtime only through requests, like any caller.
     - Transactions: submit writes pointers into chunks of EVMJIT__PW_CHUNK slots (the chunk
       directory is sized at begin, so a slot never moves) under the session's mutex and
       publishes the new count with a release store. Workers claim an index with one CAS on
       the cursor - lock-free, skipping what set_executed passed - and sleep on the session's
       condition variable only when nothing can be claimed (submit and stop signal it under
       the mutex, so no wake-up is lost; an idle wait is re-armed every EVMJIT__PW_IDLE_MS).
     - Touches: the first touch of a key inserts it into the map under the session's mutex
       (O(1) amortised) and then decides outside it: a lock-free look at the resident table,
       then a request to the runtime (rt->mtx, O(1)) carrying a copy of the code.
     - evmjit_execute finds the running callback's worker through one thread-local pointer
       (NULL outside prewarm callbacks: the whole cost when no session runs).
     - Counters are relaxed atomics; finish reads them after joining the workers.
*/

#define EVMJIT__PW_CHUNK 1024  /* transaction slots per chunk (8 KiB) */
#define EVMJIT__PW_IDLE_MS 100 /* an idle worker re-checks this often (wake-ups are signalled) */

/* Session counters: X(name). promotions counts attempts against max_promotions. */
#define EVMJIT__PW_COUNTERS(X)                                                                \
    X(run) X(skipped) X(claimed_not_run) X(errors) X(touches) X(ignored_touches) X(untracked) \
    X(codes_touched) X(already_resident) X(ineligible) X(over_limit) X(rejected_full)         \
    X(promoted) X(promotions)

typedef struct evmjit__pw_counters {
#define EVMJIT__PW_COUNTER_FIELD(name) _Atomic uint64_t name;
    EVMJIT__PW_COUNTERS(EVMJIT__PW_COUNTER_FIELD)
#undef EVMJIT__PW_COUNTER_FIELD
} evmjit__pw_counters;

#define EVMJIT__PW_ADD(pw, name, v)                                                           \
    atomic_fetch_add_explicit(&(pw)->c.name, (v), memory_order_relaxed)
#define EVMJIT__PW_GET(pw, name) atomic_load_explicit(&(pw)->c.name, memory_order_relaxed)

typedef struct evmjit__pw_worker {
    evmjit_prewarm_tx tx; /* what the callback sees (index and tx change per transaction) */
    evmjit_prewarm *pw;
    thrd_t thread;
} evmjit__pw_worker;

struct evmjit_prewarm {
    /* Claimed by workers (CAS), published by submit, raised by set_executed: own lines. */
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t cursor; /* the next index to hand out */
    _Alignas(EVMJIT__CACHE_LINE) _Atomic uint64_t submitted; /* slots written (release) */
    _Atomic uint64_t executed; /* set_executed: transactions below this were passed */
    _Atomic bool stopped;      /* written under mtx */
    _Alignas(EVMJIT__CACHE_LINE) evmjit__pw_counters c;
    /* Immutable after begin. */
    evmjit_runtime *rt;
    evmjit_prewarm_desc cfg; /* defaults resolved */
    uint64_t id;             /* the runtime's session number, from 1: jobs carry it */
    uint64_t start_ns;
    void ***chunks; /* chunk directory: chunk_count pointers, chunks made by submit */
    size_t chunk_count;
    evmjit__pw_worker *workers;
    /* Guarded by mtx (held for O(1) work, never during a callback). */
    mtx_t mtx;
    cnd_t work_cnd, exit_cnd;
    evmjit__map seen; /* keys touched or submitted */
    uint32_t started, exited;
    /* The finishing thread only. */
    bool joined, cancel_done;
    evmjit__cancel *cancel; /* sent to the backend, not answered yet (a finish timed out) */
    uint64_t cancelled;
    void *raw;
};

/* The worker whose callback runs on this thread, or NULL. */
static _Thread_local evmjit__pw_worker *evmjit__pw_self;

static evmjit_error evmjit__pw_bad(const evmjit_runtime *rt, const char *what) {
    evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_ERROR, "invalid prewarm setting: %s", what);
    return EVMJIT_ERR_INVALID_ARGUMENT;
}

/* Fills *c from *in (NULL: all defaults) with every default resolved. */
static evmjit_error evmjit__pw_resolve(const evmjit_runtime *rt, const evmjit_prewarm_desc *in,
                                       evmjit_prewarm_desc *c) {
    if (in) *c = *in;
    else memset(c, 0, sizeof *c);
    if ((unsigned)c->promote > (unsigned)EVMJIT_PREWARM_OBSERVE)
        return evmjit__pw_bad(rt, "promote: EVMJIT_PREWARM_COMPILE or EVMJIT_PREWARM_OBSERVE");
    if (c->promote == EVMJIT_PREWARM_DEFAULT) c->promote = EVMJIT_PREWARM_COMPILE;
    if (c->worker_threads < 0 || c->worker_threads > 256)
        return evmjit__pw_bad(rt, "worker_threads: 0 (the number of CPUs) or 1..256");
    if (!c->worker_threads) {
        long cpus = 1;
#if defined(_SC_NPROCESSORS_ONLN)
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
#endif
        c->worker_threads = (int)(cpus < 1 ? 1 : cpus > 256 ? 256 : cpus);
    }
    if (!c->execute) c->worker_threads = 0; /* nothing to run: codes lists only */
    c->min_transactions = evmjit__or_default(c->min_transactions, 1);
    c->max_promotions = evmjit__or_default(c->max_promotions, rt->cfg.max_in_flight);
    c->observations = evmjit__or_default(c->observations, 1);
    c->max_codes = evmjit__or_default(c->max_codes, 65536);
    c->max_transactions = evmjit__or_default(c->max_transactions, (uint64_t)1 << 20);
    if (c->max_transactions > ((uint64_t)1 << 32))
        return evmjit__pw_bad(rt, "max_transactions: at most 4294967296");
    c->finish_timeout_ms = evmjit__or_default(c->finish_timeout_ms, 10000);
    return EVMJIT_OK;
}

/* Frees a session whose workers have been joined (or never started). */
static void evmjit__pw_free(evmjit_prewarm *pw) {
    evmjit_runtime *rt = pw->rt;
    const evmjit_allocator *a = evmjit__a(rt);
    if (pw->cancel) evmjit__cancel_release(rt, pw->cancel);
    if (pw->chunks) {
        for (size_t i = 0; i < pw->chunk_count; i++)
            evmjit__free(a, pw->chunks[i], EVMJIT__PW_CHUNK * sizeof(void *));
        evmjit__free(a, pw->chunks, pw->chunk_count * sizeof(void **));
    }
    evmjit__free(a, pw->workers, (size_t)pw->cfg.worker_threads * sizeof *pw->workers);
    evmjit__map_free(rt, &pw->seen);
    cnd_destroy(&pw->exit_cnd);
    cnd_destroy(&pw->work_cnd);
    mtx_destroy(&pw->mtx);
    evmjit__free(a, pw->raw, sizeof *pw + EVMJIT__CACHE_LINE);
}

/* The state of a key's entry in the current generation (0: none). Lock-free, like a lookup,
   but records nothing. Any thread. */
static int evmjit__key_state(evmjit_runtime *rt, const evmjit_bytes32 *h, evmjit_revision rev) {
    evmjit__read_enter();
    /* seq_cst: as in evmjit__lookup */
    evmjit__table *t = atomic_load_explicit(&rt->table, memory_order_seq_cst);
    evmjit__entry *e = evmjit__table_find(t, h, rev);
    /* relaxed: only the state is used, none of the fields READY publishes */
    int st = e && e->generation == atomic_load_explicit(&rt->generation, memory_order_relaxed)
                 ? atomic_load_explicit(&e->state, memory_order_relaxed)
                 : 0;
    evmjit__read_exit();
    return st;
}

/* The first touch of a key: decide what it becomes (see "Touches" in the header) and, when
   it is promoted, hand a request with a copy of the code to the runtime. Any thread; O(code
   size) copy, then O(1) under rt->mtx. */
static void evmjit__pw_promote(evmjit_prewarm *pw, uint64_t index, const evmjit_bytes32 *h,
                               const uint8_t *code, size_t code_size, evmjit_revision rev) {
    evmjit_runtime *rt = pw->rt;
    if (code_size == 0 || code_size > rt->cfg.max_code_size) {
        EVMJIT__PW_ADD(pw, ineligible, 1);
        return;
    }
    int st = evmjit__key_state(rt, h, rev);
    if (st == EVMJIT__READY || st == EVMJIT__COMPILING) {
        EVMJIT__PW_ADD(pw, already_resident, 1);
        return;
    }
    if (st == EVMJIT__FAILED) { /* the runtime does not retry it on its own either */
        EVMJIT__PW_ADD(pw, ineligible, 1);
        return;
    }
    if (EVMJIT__PW_ADD(pw, promotions, 1) >= pw->cfg.max_promotions) {
        EVMJIT__PW_ADD(pw, over_limit, 1);
        return;
    }
    evmjit__job *job = evmjit__job_new(rt, h, code, code_size, rev, evmjit__mode_kind(rt));
    if (!job) {
        EVMJIT__PW_ADD(pw, rejected_full, 1);
        return;
    }
    job->prewarm = true;
    job->session = pw->id;
    job->tx_index = index;
    job->observations = pw->cfg.promote == EVMJIT_PREWARM_OBSERVE ? pw->cfg.observations : 0;
    if (evmjit__submit_job(rt, job, NULL) == EVMJIT_OK) EVMJIT__PW_ADD(pw, promoted, 1);
    else EVMJIT__PW_ADD(pw, rejected_full, 1); /* BUSY (counted in dropped_commands), no memory */
}

/* A touch by transaction `index` (frame: counts as a touch; else a submitted code). Records the
   key once per session; its first touch is decided by evmjit__pw_promote. Any thread. */
static evmjit_error evmjit__pw_touch(evmjit_prewarm *pw, uint64_t index, const evmjit_bytes32 *h,
                                     const uint8_t *code, size_t code_size, evmjit_revision rev,
                                     bool frame) {
    if (frame) EVMJIT__PW_ADD(pw, touches, 1);
    bool fresh = false, full = false;
    mtx_lock(&pw->mtx);
    if (atomic_load_explicit(&pw->stopped, memory_order_relaxed)) { /* written under mtx */
        mtx_unlock(&pw->mtx);
        if (frame) EVMJIT__PW_ADD(pw, ignored_touches, 1);
        return EVMJIT_ERR_STOPPED;
    }
    if (!evmjit__map_find(&pw->seen, h, rev)) {
        fresh = pw->seen.size < pw->cfg.max_codes && evmjit__map_insert(pw->rt, &pw->seen, h, rev);
        full = !fresh;
    }
    mtx_unlock(&pw->mtx);
    if (full) EVMJIT__PW_ADD(pw, untracked, 1);
    if (!fresh) return EVMJIT_OK;
    EVMJIT__PW_ADD(pw, codes_touched, 1);
    evmjit__pw_promote(pw, index, h, code, code_size, rev);
    return EVMJIT_OK;
}

/* evmjit_execute on a prewarm worker of a touch_from_execute session: touch the frame's code
   (hashed here when the caller gave no hash: O(code size)). */
static void evmjit__pw_touch_frame(evmjit__pw_worker *w, const evmjit_bytes32 *code_hash,
                                   const uint8_t *code, size_t code_size, evmjit_revision rev) {
    evmjit_bytes32 h;
    if (!code_hash) {
        static const uint8_t empty[1] = {0};
        h = evmjit_keccak256(code_size ? code : empty, code_size);
        code_hash = &h;
    }
    (void)evmjit__pw_touch(w->pw, w->tx.index, code_hash, code, code_size, rev, true);
}

/* Whether a worker could claim a transaction now. Under pw->mtx. */
static bool evmjit__pw_has_work(evmjit_prewarm *pw) {
    /* relaxed: submitted is written under mtx, which we hold; cursor and executed only
       decide whether to look again */
    uint64_t n = atomic_load_explicit(&pw->submitted, memory_order_relaxed);
    uint64_t c = atomic_load_explicit(&pw->cursor, memory_order_relaxed);
    uint64_t e = atomic_load_explicit(&pw->executed, memory_order_relaxed);
    return n >= pw->cfg.min_transactions && (c > e ? c : e) < n;
}

enum { EVMJIT__PW_CLAIMED, EVMJIT__PW_EMPTY, EVMJIT__PW_STOP };

/* Claims the next transaction: the first index at or after the cursor that the sequential
   executor has not passed (those in between count as skipped). Lock-free: one CAS, retried
   only when another worker claimed first. */
static int evmjit__pw_claim(evmjit_prewarm *pw, uint64_t *index) {
    uint64_t c = atomic_load_explicit(&pw->cursor, memory_order_relaxed);
    for (;;) {
        /* relaxed: a hint; the check after the claim is the one that counts */
        if (atomic_load_explicit(&pw->stopped, memory_order_relaxed)) return EVMJIT__PW_STOP;
        /* acquire: the slots of every transaction below the count */
        uint64_t n = atomic_load_explicit(&pw->submitted, memory_order_acquire);
        if (n < pw->cfg.min_transactions) return EVMJIT__PW_EMPTY;
        uint64_t e = atomic_load_explicit(&pw->executed, memory_order_relaxed); /* a bound */
        uint64_t start = c > e ? c : e;
        if (start >= n) return EVMJIT__PW_EMPTY;
        /* relaxed: the cursor only hands out numbers; the slots came with `submitted` */
        if (atomic_compare_exchange_weak_explicit(&pw->cursor, &c, start + 1,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            if (start > c) EVMJIT__PW_ADD(pw, skipped, start - c);
            *index = start;
            return EVMJIT__PW_CLAIMED;
        }
    }
}

static int evmjit__pw_worker_main(void *arg) {
    evmjit__pw_worker *w = (evmjit__pw_worker *)arg;
    evmjit_prewarm *pw = w->pw;
    evmjit__name_thread("evmjit-prewarm");
    for (;;) {
        uint64_t i = 0;
        int got = evmjit__pw_claim(pw, &i);
        if (got == EVMJIT__PW_STOP) break;
        if (got == EVMJIT__PW_EMPTY) {
            mtx_lock(&pw->mtx);
            while (!atomic_load_explicit(&pw->stopped, memory_order_relaxed) && /* under mtx */
                   !evmjit__pw_has_work(pw)) {
                struct timespec deadline = evmjit__deadline(EVMJIT__PW_IDLE_MS);
                cnd_timedwait(&pw->work_cnd, &pw->mtx, &deadline);
            }
            mtx_unlock(&pw->mtx);
            continue;
        }
        /* seq_cst (both): a stop or set_executed that came first in the single total order -
           in particular one that returned before a gate the caller then opened - is seen,
           so no transaction starts after stop and none that was passed runs */
        if (atomic_load_explicit(&pw->stopped, memory_order_seq_cst)) {
            EVMJIT__PW_ADD(pw, claimed_not_run, 1);
            break;
        }
        if (i < atomic_load_explicit(&pw->executed, memory_order_seq_cst)) {
            EVMJIT__PW_ADD(pw, skipped, 1);
            continue;
        }
        w->tx.index = i;
        w->tx.tx = pw->chunks[i / EVMJIT__PW_CHUNK][i % EVMJIT__PW_CHUNK];
        evmjit__pw_self = w;
        evmjit_error err = pw->cfg.execute(&w->tx);
        evmjit__pw_self = NULL;
        EVMJIT__PW_ADD(pw, run, 1);
        if (err != EVMJIT_OK) EVMJIT__PW_ADD(pw, errors, 1);
    }
    mtx_lock(&pw->mtx);
    pw->exited++;
    cnd_broadcast(&pw->exit_cnd);
    mtx_unlock(&pw->mtx);
    return 0;
}

EVMJIT_API evmjit_error evmjit_prewarm_begin(evmjit_runtime *rt, const evmjit_prewarm_desc *desc,
                                             evmjit_prewarm **out) {
    if (!out) return EVMJIT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!rt) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_prewarm_desc cfg;
    evmjit_error err = evmjit__pw_resolve(rt, desc, &cfg);
    if (err != EVMJIT_OK) return err;
    if (!rt->can_hot)
        return evmjit__unsupported(rt, "prewarm: the runtime cannot compile: set desc.backend and "
                                       "worker_threads (and desc.store for EVMJIT_MODE_AOT)");
    if ((err = evmjit__start_threads(rt)) != EVMJIT_OK) return err;
    const evmjit_allocator *a = evmjit__a(rt);
    void *raw;
    evmjit_prewarm *pw = (evmjit_prewarm *)evmjit__alloc_aligned(a, sizeof *pw, &raw);
    if (!pw) return EVMJIT_ERR_OUT_OF_MEMORY;
    pw->raw = raw;
    pw->rt = rt;
    pw->cfg = cfg;
    pw->start_ns = evmjit__now_ns();
    atomic_init(&pw->cursor, 0);
    atomic_init(&pw->submitted, 0);
    atomic_init(&pw->executed, 0);
    atomic_init(&pw->stopped, false);
#define EVMJIT__PW_COUNTER_INIT(name) atomic_init(&pw->c.name, 0);
    EVMJIT__PW_COUNTERS(EVMJIT__PW_COUNTER_INIT)
#undef EVMJIT__PW_COUNTER_INIT
    int sync_ok = 0; /* how many of the three primitives exist */
    if (mtx_init(&pw->mtx, mtx_plain) == thrd_success) sync_ok++;
    if (sync_ok == 1 && cnd_init(&pw->work_cnd) == thrd_success) sync_ok++;
    if (sync_ok == 2 && cnd_init(&pw->exit_cnd) == thrd_success) sync_ok++;
    if (sync_ok < 3) {
        if (sync_ok > 1) cnd_destroy(&pw->work_cnd);
        if (sync_ok > 0) mtx_destroy(&pw->mtx);
        evmjit__free(a, raw, sizeof *pw + EVMJIT__CACHE_LINE);
        return EVMJIT_ERR_THREAD;
    }
    pw->chunk_count = (size_t)((cfg.max_transactions + EVMJIT__PW_CHUNK - 1) / EVMJIT__PW_CHUNK);
    pw->chunks = (void ***)evmjit__calloc(a, pw->chunk_count * sizeof(void **));
    if (cfg.worker_threads)
        pw->workers = (evmjit__pw_worker *)evmjit__calloc(
            a, (size_t)cfg.worker_threads * sizeof *pw->workers);
    if (!pw->chunks || (cfg.worker_threads && !pw->workers)) {
        evmjit__pw_free(pw);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    /* relaxed: a counter handing out distinct numbers */
    pw->id = atomic_fetch_add_explicit(&rt->prewarm_ids, 1, memory_order_relaxed) + 1;
    bool failed = false;
    for (int i = 0; i < cfg.worker_threads && !failed; i++) {
        evmjit__pw_worker *w = &pw->workers[i];
        w->pw = pw;
        w->tx.session = pw;
        w->tx.user = cfg.user;
        w->tx.worker = (uint32_t)i;
        mtx_lock(&pw->mtx);
        if (thrd_create(&w->thread, evmjit__pw_worker_main, w) == thrd_success) pw->started++;
        else failed = true;
        mtx_unlock(&pw->mtx);
    }
    if (failed) { /* unwind: the started workers are idle; stopped, they exit at once */
        evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_ERROR,
                     "prewarm: could not start worker threads; lower worker_threads");
        evmjit_prewarm_stop(pw);
        for (uint32_t i = 0; i < pw->started; i++) thrd_join(pw->workers[i].thread, NULL);
        evmjit__pw_free(pw);
        return EVMJIT_ERR_THREAD;
    }
    atomic_fetch_add_explicit(&rt->prewarm_sessions, 1, memory_order_relaxed); /* a count */
    *out = pw;
    return EVMJIT_OK;
}

EVMJIT_API void evmjit_prewarm_settings(const evmjit_prewarm *pw, evmjit_prewarm_desc *out) {
    if (!out) return;
    if (!pw) memset(out, 0, sizeof *out);
    else *out = pw->cfg;
}

EVMJIT_API evmjit_error evmjit_prewarm_submit(evmjit_prewarm *pw, void *const *txs, size_t count,
                                              uint64_t *first_index) {
    if (!pw || !pw->cfg.execute) return EVMJIT_ERR_INVALID_ARGUMENT;
    const evmjit_allocator *a = evmjit__a(pw->rt);
    evmjit_error err = EVMJIT_OK;
    mtx_lock(&pw->mtx);
    uint64_t n = atomic_load_explicit(&pw->submitted, memory_order_relaxed); /* ours, under mtx */
    if (atomic_load_explicit(&pw->stopped, memory_order_relaxed)) { /* written under mtx */
        err = EVMJIT_ERR_STOPPED;
    } else if ((uint64_t)count > pw->cfg.max_transactions - n) {
        err = EVMJIT_ERR_BUSY;
    } else {
        /* chunks first (a failure leaves the count alone), then the slots */
        uint64_t last = count ? (n + count - 1) / EVMJIT__PW_CHUNK : 0;
        for (uint64_t c = n / EVMJIT__PW_CHUNK; count && c <= last; c++)
            if (!pw->chunks[c] &&
                !(pw->chunks[c] = (void **)evmjit__alloc(a, EVMJIT__PW_CHUNK * sizeof(void *)))) {
                err = EVMJIT_ERR_OUT_OF_MEMORY;
                break;
            }
        if (err == EVMJIT_OK) {
            for (size_t i = 0; i < count; i++) {
                uint64_t k = n + i;
                pw->chunks[k / EVMJIT__PW_CHUNK][k % EVMJIT__PW_CHUNK] = txs ? txs[i] : NULL;
            }
            if (first_index) *first_index = n;
            /* release: publishes the slots to workers that read the new count (acquire) */
            atomic_store_explicit(&pw->submitted, n + count, memory_order_release);
            cnd_broadcast(&pw->work_cnd);
        }
    }
    mtx_unlock(&pw->mtx);
    if (err == EVMJIT_ERR_BUSY)
        evmjit__logf(&pw->rt->cfg.logger, EVMJIT_LOG_WARN,
                     "prewarm: more than %llu transactions; raise max_transactions",
                     (unsigned long long)pw->cfg.max_transactions);
    return err;
}

EVMJIT_API evmjit_error evmjit_prewarm_submit_codes(evmjit_prewarm *pw,
                                                    const evmjit_code_ref *codes, size_t count,
                                                    uint64_t index) {
    if (!pw || (!codes && count)) return EVMJIT_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++)
        if ((!codes[i].code && codes[i].code_size) ||
            (unsigned)codes[i].rev > EVMJIT_MAX_REVISION)
            return EVMJIT_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++)
        if (evmjit__pw_touch(pw, index, &codes[i].code_hash, codes[i].code, codes[i].code_size,
                             codes[i].rev, false) == EVMJIT_ERR_STOPPED)
            return EVMJIT_ERR_STOPPED;
    return EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_prewarm_touch(const evmjit_prewarm_tx *tx,
                                             const evmjit_bytes32 *code_hash,
                                             const uint8_t *code, size_t code_size,
                                             evmjit_revision rev) {
    if (!tx || !tx->session || !code_hash || (!code && code_size) ||
        (unsigned)rev > EVMJIT_MAX_REVISION)
        return EVMJIT_ERR_INVALID_ARGUMENT;
    return evmjit__pw_touch(tx->session, tx->index, code_hash, code, code_size, rev, true);
}

EVMJIT_API void evmjit_prewarm_set_executed(evmjit_prewarm *pw, uint64_t index) {
    if (!pw) return;
    uint64_t next = index == UINT64_MAX ? UINT64_MAX : index + 1;
    uint64_t cur = atomic_load_explicit(&pw->executed, memory_order_relaxed);
    /* seq_cst: pairs with the worker's check after its claim (see evmjit__pw_worker_main) */
    while (cur < next && !atomic_compare_exchange_weak_explicit(&pw->executed, &cur, next,
                                                                memory_order_seq_cst,
                                                                memory_order_relaxed)) {
    }
}

EVMJIT_API void evmjit_prewarm_stop(evmjit_prewarm *pw) {
    if (!pw) return;
    mtx_lock(&pw->mtx);
    /* seq_cst: pairs with the worker's check after its claim (see evmjit__pw_worker_main) */
    atomic_store_explicit(&pw->stopped, true, memory_order_seq_cst);
    cnd_broadcast(&pw->work_cnd);
    mtx_unlock(&pw->mtx);
}

EVMJIT_API bool evmjit_prewarm_stopped(const evmjit_prewarm *pw) {
    /* relaxed: a flag; nothing is published with it */
    return pw && atomic_load_explicit(&((evmjit_prewarm *)pw)->stopped, memory_order_relaxed);
}

/* finish(false): asks the backend to take back this session's compilations that no worker
   has started (evmjit__cancel_session) and waits for the answer until *deadline. A command
   that timed out stays in flight and is waited for again by the next finish. */
static evmjit_error evmjit__pw_cancel(evmjit_prewarm *pw, const struct timespec *deadline) {
    evmjit_runtime *rt = pw->rt;
    if (!pw->cancel) {
        if (EVMJIT__PW_GET(pw, promoted) == 0) { /* nothing was handed over */
            pw->cancel_done = true;
            return EVMJIT_OK;
        }
        const evmjit_allocator *a = evmjit__a(rt);
        evmjit__cancel *c = (evmjit__cancel *)evmjit__calloc(a, sizeof *c);
        evmjit__job *cmd = (evmjit__job *)evmjit__calloc(a, sizeof *cmd);
        if (!c || !cmd) {
            evmjit__free(a, c, sizeof *c);
            evmjit__free(a, cmd, sizeof *cmd);
            return EVMJIT_ERR_OUT_OF_MEMORY;
        }
        atomic_init(&c->refs, 2); /* ours and the command's */
        c->session = pw->id;
        cmd->rt = rt;
        cmd->cancel = c;
        pw->cancel = c;
        evmjit_error err = evmjit__submit_job(rt, cmd, NULL); /* frees cmd when refused */
        if (err != EVMJIT_OK) {
            evmjit__cancel_release(rt, c);
            pw->cancel = NULL;
            return err;
        }
    }
    evmjit__cancel *c = pw->cancel;
    mtx_lock(&rt->mtx);
    while (!c->done && !rt->shutdown)
        if (cnd_timedwait(&rt->done_cnd, &rt->mtx, deadline) == thrd_timedout &&
            evmjit__deadline_passed(deadline))
            break;
    bool done = c->done;
    uint64_t n = c->cancelled;
    mtx_unlock(&rt->mtx);
    if (!done) return EVMJIT_ERR_TIMEOUT;
    pw->cancelled = n;
    pw->cancel_done = true;
    pw->cancel = NULL;
    evmjit__cancel_release(rt, c);
    return EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_prewarm_finish(evmjit_prewarm *pw, bool commit,
                                              evmjit_prewarm_report *report) {
    if (!pw) return EVMJIT_ERR_INVALID_ARGUMENT;
    if (evmjit__pw_self && evmjit__pw_self->pw == pw) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_runtime *rt = pw->rt;
    evmjit_prewarm_stop(pw);
    struct timespec deadline = evmjit__deadline(pw->cfg.finish_timeout_ms);
    if (!pw->joined) {
        mtx_lock(&pw->mtx);
        while (pw->exited < pw->started)
            if (cnd_timedwait(&pw->exit_cnd, &pw->mtx, &deadline) == thrd_timedout &&
                evmjit__deadline_passed(&deadline))
                break;
        bool all = pw->exited >= pw->started;
        mtx_unlock(&pw->mtx);
        if (!all) {
            evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN,
                         "prewarm: callbacks still running after %llu ms; finish again later "
                         "(or raise finish_timeout_ms)",
                         (unsigned long long)pw->cfg.finish_timeout_ms);
            return EVMJIT_ERR_TIMEOUT;
        }
        for (uint32_t i = 0; i < pw->started; i++) thrd_join(pw->workers[i].thread, NULL);
        pw->joined = true;
    }
    if (!commit && !pw->cancel_done) {
        evmjit_error err = evmjit__pw_cancel(pw, &deadline);
        if (err == EVMJIT_ERR_TIMEOUT)
            evmjit__logf(&rt->cfg.logger, EVMJIT_LOG_WARN,
                         "prewarm: the backend did not answer within %llu ms; finish again "
                         "later (or raise finish_timeout_ms)",
                         (unsigned long long)pw->cfg.finish_timeout_ms);
        if (err != EVMJIT_OK) return err;
    }
    if (report) {
        /* relaxed everywhere: the workers were joined; the rest are this thread's writes */
        uint64_t n = atomic_load_explicit(&pw->submitted, memory_order_relaxed);
        uint64_t cur = atomic_load_explicit(&pw->cursor, memory_order_relaxed);
        uint64_t e = atomic_load_explicit(&pw->executed, memory_order_relaxed);
        if (e > n) e = n;
        memset(report, 0, sizeof *report);
        report->submitted = n;
        report->run = EVMJIT__PW_GET(pw, run);
        report->errors = EVMJIT__PW_GET(pw, errors);
        /* below the cursor every index was skipped, run or claimed at stop; above it the
           passed ones are skipped and the rest never ran */
        report->skipped = EVMJIT__PW_GET(pw, skipped) + (e > cur ? e - cur : 0);
        report->not_run = n - (cur > e ? cur : e) + EVMJIT__PW_GET(pw, claimed_not_run);
        report->below_minimum = pw->cfg.execute && n > 0 && n < pw->cfg.min_transactions;
        report->touches = EVMJIT__PW_GET(pw, touches);
        report->ignored_touches = EVMJIT__PW_GET(pw, ignored_touches);
        report->untracked = EVMJIT__PW_GET(pw, untracked);
        report->codes_touched = EVMJIT__PW_GET(pw, codes_touched);
        report->already_resident = EVMJIT__PW_GET(pw, already_resident);
        report->ineligible = EVMJIT__PW_GET(pw, ineligible);
        report->over_limit = EVMJIT__PW_GET(pw, over_limit);
        report->rejected_full = EVMJIT__PW_GET(pw, rejected_full);
        report->promoted = EVMJIT__PW_GET(pw, promoted);
        report->cancelled = pw->cancelled;
        report->elapsed_ns = evmjit__now_ns() - pw->start_ns;
    }
    atomic_fetch_sub_explicit(&rt->prewarm_sessions, 1, memory_order_relaxed); /* a count */
    evmjit__pw_free(pw);
    return EVMJIT_OK;
}

/* ---- execution through the runtime ------------------------------------------------------- */

/* Defined in the Execute section below. */
static evmjit_result evmjit__run_frame(evmjit_fn fn, evmjit_runtime *runtime,
                                       const evmjit_host_interface *host,
                                       evmjit_host_context *host_ctx, evmjit_revision rev,
                                       const evmjit_message *msg, const uint8_t *code,
                                       size_t code_size);

/* evmjit_execute with a runtime: a hit runs the compiled program (pinned for the frame's
   duration, so a clear or an eviction meanwhile cannot free it); a miss interprets, and when
   the runtime asks for the code (WANT_CODE) hands it over first so the compilation overlaps
   the interpretation. A NULL code_hash is computed here, once. The caller has validated
   host, msg and rev. */
static evmjit_result evmjit__runtime_execute(evmjit_runtime *rt, const evmjit_host_interface *host,
                                             evmjit_host_context *ctx, evmjit_revision rev,
                                             const evmjit_message *msg, const uint8_t *code,
                                             size_t code_size, const evmjit_bytes32 *code_hash) {
    if (!rt || !atomic_load_explicit(&rt->enabled, memory_order_relaxed)) /* a flag */
        return evmjit__run_frame(evmjit_interpret, rt, host, ctx, rev, msg, code, code_size);
    evmjit_bytes32 h;
    if (!code_hash) {
        static const uint8_t empty[1] = {0};
        h = evmjit_keccak256(code_size ? code : empty, code_size);
        code_hash = &h;
    }
    evmjit_program *p = NULL;
    evmjit_lookup_outcome o = evmjit_lookup(rt, code_hash, code, code_size, rev, &p);
    if (o == EVMJIT_LOOKUP_HIT) {
        evmjit_result r = evmjit__run_frame(p->fn, rt, host, ctx, rev, msg, code, code_size);
        evmjit_lookup_release(rt, p);
        return r;
    }
    if (o == EVMJIT_LOOKUP_WANT_CODE) (void)evmjit_compile(rt, code_hash, code, code_size, rev);
    return evmjit__run_frame(evmjit_interpret, rt, host, ctx, rev, msg, code, code_size);
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
    if (!host || !msg || (!code && code_size)) return evmjit__failure_result(EVMJIT_INTERNAL_ERROR);
    if ((unsigned)rev > EVMJIT_MAX_REVISION) return evmjit__failure_result(EVMJIT_REJECTED);
    if (msg->gas < 0) return evmjit__failure_result(EVMJIT_OUT_OF_GAS);
    evmjit__pw_worker *pw = evmjit__pw_self; /* one thread-local load: NULL unless prewarming */
    if (pw && pw->pw->cfg.touch_from_execute)
        evmjit__pw_touch_frame(pw, code_hash, code, code_size, rev);
    if (runtime)
        return evmjit__runtime_execute(runtime, host, host_ctx, rev, msg, code, code_size,
                                       code_hash);
    return evmjit__run_frame(evmjit_interpret, runtime, host, host_ctx, rev, msg, code, code_size);
}


/* DESIGN. A store is a directory descriptor (opened and checked once, at open; every file is
   reached through it with openat/renameat/linkat, so a renamed or replaced path cannot
   redirect us), an immutable profile (the key fields every artifact of this store shares)
   and atomic counters. No store lock: every operation is a sequence of file system calls
   whose commit points are atomic (link of a manifest publishes; rename of a manifest to a
   temporary name removes), and an object file is named by exactly one manifest ever, so
   threads and processes share a store freely; a reader that loses a race sees "not found",
   never a corrupt artifact. The one lock is process-wide around dlopen/dlclose (the loader
   holds its own anyway; see evmjit__st_dl_lock). Loaded artifacts are dlopen handles owned
   by whoever loaded them. Costs: load reads the manifest (<= 16 KiB) and the object once
   (keccak-256) and dlopens it (~0.1 ms for a small object); load_all lists the directory
   once (n names, sorted: O(n log n)); publish writes two files and fsyncs them and the
   directory twice. */

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#define EVMJIT__STORE_CPUID 1
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#define EVMJIT__STORE_HWCAP 1
#endif

#define EVMJIT__STORE_TEMP_PREFIX ".evmjit-tmp-"

/* Counters: X(field of evmjit_store_stats). */
#define EVMJIT__STORE_COUNTERS(X)                                                            \
    X(loaded) X(unloaded) X(not_found) X(stored) X(store_existing) X(store_replaced)         \
    X(store_raced) X(store_failed) X(io_errors) X(removed) X(temp_removed)

enum {
#define EVMJIT__STORE_COUNTER_ENUM(name) EVMJIT__SC_##name,
    EVMJIT__STORE_COUNTERS(EVMJIT__STORE_COUNTER_ENUM)
#undef EVMJIT__STORE_COUNTER_ENUM
    EVMJIT__SC_COUNT
};

struct evmjit_store {
    evmjit_allocator alloc;
    evmjit_logger logger;
    evmjit_store_faults faults;
    int dirfd;   /* the directory, checked at open */
    uid_t uid;   /* effective user at open: owner of everything we trust */
    char *path;  /* absolute, for dlopen and messages */
    size_t path_size;
    /* the profile */
    bool has_compiler; /* backend name and version known: store and load possible */
    char backend[64];
    char version[128];
    int opt;      /* 0..3 */
    unsigned abi; /* EVMJIT_ABI_VERSION (tests change it to make foreign artifacts) */
    char target[EVMJIT_STORE_MAX_TARGET];
    char compiler_id[256]; /* "<backend> <version> O<opt>", as the runtime writes it */
    char k16[17];          /* profile hash, in every file name */
    atomic_uint_fast64_t seq; /* temporary file names */
    atomic_uint_fast64_t c[EVMJIT__SC_COUNT];
    atomic_uint_fast64_t skips[EVMJIT_SKIP_COUNT];
    evmjit_artifact_store table;
};

EVMJIT_API const char *evmjit_store_skip_name(evmjit_store_skip reason) {
    static const char *const names[] = {
#define EVMJIT__STORE_SKIP_TEXT(name, text) text,
        EVMJIT_STORE_SKIPS(EVMJIT__STORE_SKIP_TEXT)
#undef EVMJIT__STORE_SKIP_TEXT
    };
    if ((unsigned)reason >= (unsigned)EVMJIT_SKIP_COUNT) return "unknown reason";
    return names[reason];
}

static void evmjit__st_add(evmjit_store *st, int counter, uint64_t n) {
    atomic_fetch_add_explicit(&st->c[counter], n, memory_order_relaxed); /* a statistic */
}
#define EVMJIT__ST_ADD(st, name, n) evmjit__st_add((st), EVMJIT__SC_##name, (n))

/* The fault hook: 0 to go on, or the errno the operation must fail with. */
static int evmjit__st_fault(const evmjit_store *st, evmjit_store_op op, const char *file) {
    return st->faults.inject ? st->faults.inject(op, file, st->faults.user) : 0;
}

/* Log with room for a path, two file names and a detail. */
static void evmjit__st_logf(const evmjit_logger *lg, evmjit_log_level level, const char *fmt, ...)
    EVMJIT__PRINTF(3, 4);
static void evmjit__st_logf(const evmjit_logger *lg, evmjit_log_level level, const char *fmt, ...) {
    if (!lg || !lg->log) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lg->log(level, msg, lg->user);
}
#define evmjit__st_log(st, ...) evmjit__st_logf(&(st)->logger, __VA_ARGS__)

/* ---- text helpers ---------------------------------------------------------------------- */

static void evmjit__st_hex(char *out, const uint8_t *bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}

static int evmjit__st_hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1; /* upper case is not canonical: the manifest is written in lower case */
}

static bool evmjit__st_is_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (evmjit__st_hexval(s[i]) < 0) return false;
    return true;
}

/* printable ASCII; spaces allowed or not; 1..max-1 characters */
static bool evmjit__st_text_ok(const char *s, size_t max, bool spaces) {
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (ch < 0x20 || ch > 0x7e || (!spaces && ch == ' ')) return false;
    }
    return n > 0 && n < max;
}

static bool evmjit__st_symbol_ok(const char *s) {
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        if (!alpha && !(n > 0 && ch >= '0' && ch <= '9')) return false;
    }
    return n > 0 && n < 128;
}

/* snprintf that reports truncation as false */
static bool evmjit__st_fmt(char *out, size_t size, const char *fmt, ...) EVMJIT__PRINTF(3, 4);
static bool evmjit__st_fmt(char *out, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

/* ---- the host target ------------------------------------------------------------------- */

#if defined(__x86_64__)
#define EVMJIT__STORE_ARCH "x86_64"
#elif defined(__i386__)
#define EVMJIT__STORE_ARCH "i386"
#elif defined(__aarch64__)
#define EVMJIT__STORE_ARCH "aarch64"
#elif defined(__arm__)
#define EVMJIT__STORE_ARCH "arm"
#elif defined(__riscv) && defined(__riscv_xlen) && __riscv_xlen == 64
#define EVMJIT__STORE_ARCH "riscv64"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define EVMJIT__STORE_ARCH "ppc64le"
#elif defined(__powerpc64__)
#define EVMJIT__STORE_ARCH "ppc64"
#elif defined(__s390x__)
#define EVMJIT__STORE_ARCH "s390x"
#else
#define EVMJIT__STORE_ARCH "unknown"
#endif
#if defined(__linux__) && defined(__GLIBC__)
#define EVMJIT__STORE_OS "linux-gnu"
#elif defined(__linux__)
#define EVMJIT__STORE_OS "linux"
#elif defined(__APPLE__)
#define EVMJIT__STORE_OS "darwin"
#elif defined(__FreeBSD__)
#define EVMJIT__STORE_OS "freebsd"
#else
#define EVMJIT__STORE_OS "unknown"
#endif

EVMJIT_API size_t evmjit_store_host_target(char *buf, size_t size) {
    int n;
#if defined(EVMJIT__STORE_CPUID)
    /* The instruction-set feature words: leaf 1 (ecx, edx), leaf 7 (ebx, ecx, and the ISA bits
       of edx: microcode updates flip its mitigation bits), leaf 0x80000001 (ecx, edx). */
    unsigned a = 0, b = 0, c1 = 0, d1 = 0, b7 = 0, c7 = 0, d7 = 0, ce = 0, de = 0;
    __get_cpuid(1, &a, &b, &c1, &d1);
    if ((unsigned)__get_cpuid_max(0, NULL) >= 7) __get_cpuid_count(7, 0, &a, &b7, &c7, &d7);
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) >= 0x80000001u) __get_cpuid(0x80000001u, &a, &b, &ce, &de);
    d7 &= 0x03C0411Cu;
    n = snprintf(buf, size, "%s-%s cpuid:%08x.%08x.%08x.%08x.%08x.%08x.%08x", EVMJIT__STORE_ARCH,
                 EVMJIT__STORE_OS, c1, d1, b7, c7, d7, ce, de);
#elif defined(EVMJIT__STORE_HWCAP)
    n = snprintf(buf, size, "%s-%s hwcap:%lx.%lx", EVMJIT__STORE_ARCH, EVMJIT__STORE_OS,
                 (unsigned long)getauxval(AT_HWCAP), (unsigned long)getauxval(AT_HWCAP2));
#else
    n = snprintf(buf, size, "%s-%s", EVMJIT__STORE_ARCH, EVMJIT__STORE_OS);
#endif
    return n < 0 ? 0 : (size_t)n;
}

/* ---- the profile and file names ---------------------------------------------------------- */

#define EVMJIT__ST_NAME 256 /* file names we make are <= ~140 bytes */

/* <k16>: the first 8 bytes, in hex, of the keccak-256 of the profile, one field per line. */
static void evmjit__st_profile_hash(const char *backend, const char *version, int opt,
                                    unsigned abi, const char *target, char out[17]) {
    char nums[64];
    snprintf(nums, sizeof nums, "%d\n%u\n", opt, abi);
    evmjit_keccak k;
    evmjit_keccak_init(&k);
    const char *parts[] = {"evmjit-profile\n", backend, "\n", version, "\n", nums, target, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        evmjit_keccak_absorb(&k, (const uint8_t *)parts[i], strlen(parts[i]));
    evmjit_bytes32 h = evmjit_keccak_final(&k);
    evmjit__st_hex(out, h.bytes, 8);
}

/* <base> = <code hash>-r<rev>-<backend's [a-z0-9], at most 16>-O<opt>-<k16> */
static bool evmjit__st_base(char *out, size_t size, const evmjit_bytes32 *hash, int rev,
                            const char *backend, int opt, const char *k16) {
    char hex[65], be[17];
    size_t n = 0;
    for (const char *p = backend; *p && n < 16; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) be[n++] = *p;
    if (!n) be[n++] = 'x';
    be[n] = 0;
    evmjit__st_hex(hex, hash->bytes, 32);
    return evmjit__st_fmt(out, size, "%s-r%d-%s-O%d-%s", hex, rev, be, opt, k16);
}

/* The manifest and object names of a key in this store's profile. */
static bool evmjit__st_names(const evmjit_store *st, const evmjit_bytes32 *hash, int rev,
                             char *base, char *manifest) {
    return evmjit__st_base(base, EVMJIT__ST_NAME, hash, rev, st->backend, st->opt, st->k16) &&
           evmjit__st_fmt(manifest, EVMJIT__ST_NAME, "%s.manifest", base);
}

/* <base>-<id>.so: id is 8 bytes unique to one publish, so an object file is named by one
   manifest only, and a name is never reused. */
static bool evmjit__st_object_name(char *out, const char *base, const uint8_t id[8]) {
    char hex[17];
    evmjit__st_hex(hex, id, 8);
    return evmjit__st_fmt(out, EVMJIT__ST_NAME, "%s-%s.so", base, hex);
}

/* Is `object` a name evmjit__st_object_name could give for base? */
static bool evmjit__st_object_of(const char *object, const char *base) {
    size_t b = strlen(base), n = strlen(object);
    return n == b + 20 && !strncmp(object, base, b) && object[b] == '-' &&
           evmjit__st_is_hex(object + b + 1, 16) && !strcmp(object + b + 17, ".so");
}

/* What a directory entry is: a manifest or object of ours (by shape), a temp file, or
   something else (ignored). */
typedef enum evmjit__st_kind {
    EVMJIT__ST_OTHER = 0,
    EVMJIT__ST_MANIFEST,
    EVMJIT__ST_OBJECT,
    EVMJIT__ST_TEMP
} evmjit__st_kind;

static bool evmjit__st_ends(const char *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

static evmjit__st_kind evmjit__st_classify(const char *name) {
    size_t n = strlen(name);
    if (!strncmp(name, EVMJIT__STORE_TEMP_PREFIX, strlen(EVMJIT__STORE_TEMP_PREFIX)))
        return EVMJIT__ST_TEMP;
    if (n < 66 || n >= EVMJIT__ST_NAME || !evmjit__st_is_hex(name, 64) || name[64] != '-' ||
        name[65] != 'r')
        return EVMJIT__ST_OTHER;
    if (evmjit__st_ends(name, n, ".manifest")) return EVMJIT__ST_MANIFEST;
    /* <base>-<o16>.so */
    if (evmjit__st_ends(name, n, ".so") && n > 66 + 20 && name[n - 20] == '-' &&
        evmjit__st_is_hex(name + n - 19, 16))
        return EVMJIT__ST_OBJECT;
    return EVMJIT__ST_OTHER;
}

/* ---- trust ------------------------------------------------------------------------------ */

/* Why a file or directory cannot be trusted, or NULL. */
static const char *evmjit__st_distrust(const struct stat *s, uid_t uid, bool dir) {
    if (dir ? !S_ISDIR(s->st_mode) : !S_ISREG(s->st_mode))
        return dir ? "not a directory" : "not a regular file";
    if (s->st_uid != uid) return "owned by another user";
    if (s->st_mode & (S_IWGRP | S_IWOTH)) return "writable by group or others";
    return NULL;
}

static evmjit_error evmjit__st_refuse(const evmjit_logger *lg, const char *path, const char *why) {
    evmjit__st_logf(lg, EVMJIT_LOG_ERROR,
                 "artifact store: refusing '%s': %s. The store runs the code it loads, so its "
                 "directory must be owned by this user and writable by no one else "
                 "(fix: chown, and chmod go-w)", path, why);
    return EVMJIT_ERR_UNTRUSTED;
}

/* Every ancestor of an absolute, canonical path must be owned by the user or root and not
   writable by others unless sticky (/tmp): else someone could swap the directory. */
static evmjit_error evmjit__st_check_ancestors(const evmjit_logger *lg, const char *path, uid_t uid) {
    char buf[PATH_MAX];
    if (!evmjit__st_fmt(buf, sizeof buf, "%s", path)) return EVMJIT_ERR_INVALID_ARGUMENT;
    for (;;) {
        char *slash = strrchr(buf, '/');
        if (!slash) return EVMJIT_OK;
        if (slash == buf) slash[1] = 0; /* "/" */
        else *slash = 0;
        struct stat s;
        if (stat(buf, &s) != 0) {
            evmjit__st_logf(lg, EVMJIT_LOG_ERROR, "artifact store: cannot stat '%s': %s", buf,
                         strerror(errno));
            return EVMJIT_ERR_IO;
        }
        if (s.st_uid != uid && s.st_uid != 0)
            return evmjit__st_refuse(lg, buf, "a parent directory is owned by another user");
        if ((s.st_mode & (S_IWGRP | S_IWOTH)) && !(s.st_mode & S_ISVTX))
            return evmjit__st_refuse(lg, buf,
                                     "a parent directory is writable by others (and not sticky)");
        if (slash == buf) return EVMJIT_OK;
    }
}

/* The directory as it is now (re-checked by every load_all, load and publish: one fstat). */
static evmjit_error evmjit__st_check_dir(evmjit_store *st) {
    struct stat s;
    if (fstat(st->dirfd, &s) != 0) {
        EVMJIT__ST_ADD(st, io_errors, 1);
        return EVMJIT_ERR_IO;
    }
    const char *why = evmjit__st_distrust(&s, st->uid, true);
    return why ? evmjit__st_refuse(&st->logger, st->path, why) : EVMJIT_OK;
}

/* mkdir -p, mode 0755 */
static evmjit_error evmjit__st_mkdirs(const evmjit_logger *lg, const char *path) {
    char buf[PATH_MAX];
    if (!evmjit__st_fmt(buf, sizeof buf, "%s", path)) return EVMJIT_ERR_INVALID_ARGUMENT;
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char saved = *p;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            evmjit__st_logf(lg, EVMJIT_LOG_ERROR, "artifact store: cannot create '%s': %s", buf,
                         strerror(errno));
            return EVMJIT_ERR_IO;
        }
        *p = saved;
        if (!saved) return EVMJIT_OK;
    }
}

/* ---- open, close, settings ---------------------------------------------------------------- */

static evmjit_error evmjit__st_table_load_all(void *user, evmjit_artifact_sink sink, void *ctx);
static evmjit_error evmjit__st_table_load(void *user, const evmjit_bytes32 *code_hash,
                                          evmjit_revision rev, evmjit_artifact *out);
static evmjit_error evmjit__st_table_store(void *user, const evmjit_artifact_object *object);
static evmjit_error evmjit__st_table_clear(void *user);
static void evmjit__st_table_unload(void *user, const evmjit_artifact *artifact);

static evmjit_error evmjit__st_bad(const evmjit_logger *lg, const char *setting) {
    evmjit__st_logf(lg, EVMJIT_LOG_ERROR, "artifact store: invalid setting: %s", setting);
    return EVMJIT_ERR_INVALID_ARGUMENT;
}

/* The profile from the desc (validated; the strings end up in manifests and file names). */
static evmjit_error evmjit__st_profile(evmjit_store *st, const evmjit_store_desc *d) {
    const char *name = d->backend ? d->backend->name : d->backend_name;
    const char *version = d->backend ? d->backend->version : d->compiler_version;
    if (name || version) {
        if (!name || !evmjit__st_text_ok(name, sizeof st->backend, false))
            return evmjit__st_bad(&d->logger, "backend name: 1..63 printable characters, no spaces");
        if (!version || !evmjit__st_text_ok(version, sizeof st->version, true))
            return evmjit__st_bad(&d->logger, "compiler version: 1..127 printable characters");
        snprintf(st->backend, sizeof st->backend, "%s", name);
        snprintf(st->version, sizeof st->version, "%s", version);
        st->has_compiler = true;
    }
    if (d->opt_level < 0 || d->opt_level > EVMJIT_O3)
        return evmjit__st_bad(&d->logger, "opt_level: EVMJIT_O0..EVMJIT_O3 (0: EVMJIT_O2)");
    st->opt = (d->opt_level ? d->opt_level : EVMJIT_O2) - 1;
    if (d->target) {
        if (!evmjit__st_text_ok(d->target, sizeof st->target, true))
            return evmjit__st_bad(&d->logger, "target: 1..4095 printable characters");
        snprintf(st->target, sizeof st->target, "%s", d->target);
    } else {
        evmjit_store_host_target(st->target, sizeof st->target);
    }
    st->abi = EVMJIT_ABI_VERSION;
    snprintf(st->compiler_id, sizeof st->compiler_id, "%s %s O%d", st->backend, st->version, st->opt);
    evmjit__st_profile_hash(st->backend, st->version, st->opt, st->abi, st->target, st->k16);
    return EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_store_open(const evmjit_store_desc *desc, evmjit_store **out) {
    if (!out) return EVMJIT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!desc || !desc->path || !desc->path[0]) {
        if (desc) return evmjit__st_bad(&desc->logger, "path: the store directory is required");
        return EVMJIT_ERR_INVALID_ARGUMENT;
    }
    const evmjit_logger *lg = &desc->logger;
    evmjit_store *st = (evmjit_store *)evmjit__calloc(&desc->allocator, sizeof *st);
    if (!st) return EVMJIT_ERR_OUT_OF_MEMORY;
    st->alloc = desc->allocator;
    st->logger = desc->logger;
    st->faults = desc->faults;
    st->dirfd = -1;
    st->uid = geteuid();
    for (int i = 0; i < EVMJIT__SC_COUNT; i++) atomic_init(&st->c[i], 0);
    for (int i = 0; i < EVMJIT_SKIP_COUNT; i++) atomic_init(&st->skips[i], 0);
    atomic_init(&st->seq, 0);
    evmjit_error err = evmjit__st_profile(st, desc);
    char *real = NULL;
    if (err == EVMJIT_OK && desc->create) err = evmjit__st_mkdirs(lg, desc->path);
    if (err == EVMJIT_OK) {
        real = realpath(desc->path, NULL);
        if (!real) {
            err = errno == ENOENT ? EVMJIT_ERR_NOT_FOUND : EVMJIT_ERR_IO;
            evmjit__st_logf(lg, EVMJIT_LOG_ERROR, "artifact store: '%s': %s%s", desc->path,
                         strerror(errno), errno == ENOENT ? " (set create to make it)" : "");
        }
    }
    if (err == EVMJIT_OK) {
        st->path_size = strlen(real) + 1;
        st->path = (char *)evmjit__alloc(&st->alloc, st->path_size);
        if (!st->path) err = EVMJIT_ERR_OUT_OF_MEMORY;
        else memcpy(st->path, real, st->path_size);
    }
    free(real); /* realpath's memory is libc's */
    if (err == EVMJIT_OK) err = evmjit__st_check_ancestors(lg, st->path, st->uid);
    if (err == EVMJIT_OK) {
        st->dirfd = open(st->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (st->dirfd < 0) {
            evmjit__st_logf(lg, EVMJIT_LOG_ERROR, "artifact store: cannot open '%s': %s", st->path,
                         strerror(errno));
            err = errno == ENOENT ? EVMJIT_ERR_NOT_FOUND : EVMJIT_ERR_IO;
        }
    }
    if (err == EVMJIT_OK) err = evmjit__st_check_dir(st);
    if (err == EVMJIT_OK) {
        /* the descriptor must be the directory whose ancestors we checked */
        struct stat a, b;
        if (stat(st->path, &a) != 0 || fstat(st->dirfd, &b) != 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino)
            err = evmjit__st_refuse(lg, st->path, "the directory changed while it was opened");
    }
    if (err != EVMJIT_OK) {
        evmjit_store_close(st);
        return err;
    }
    evmjit_artifact_store t = {"directory", st, evmjit__st_table_load_all, evmjit__st_table_load,
                               evmjit__st_table_store, evmjit__st_table_clear,
                               evmjit__st_table_unload};
    st->table = t;
    *out = st;
    return EVMJIT_OK;
}

EVMJIT_API void evmjit_store_close(evmjit_store *st) {
    if (!st) return;
    if (st->dirfd >= 0) close(st->dirfd);
    evmjit_allocator a = st->alloc;
    evmjit__free(&a, st->path, st->path_size);
    evmjit__free(&a, st, sizeof *st);
}

EVMJIT_API const evmjit_artifact_store *evmjit_store_table(evmjit_store *st) {
    return st ? &st->table : NULL;
}

EVMJIT_API void evmjit_store_settings(const evmjit_store *st, evmjit_store_desc *out) {
    memset(out, 0, sizeof *out);
    if (!st) return;
    out->path = st->path;
    out->backend_name = st->has_compiler ? st->backend : NULL;
    out->compiler_version = st->has_compiler ? st->version : NULL;
    out->opt_level = st->opt + 1;
    out->target = st->target;
    out->allocator = st->alloc;
    out->logger = st->logger;
    out->faults = st->faults;
}

EVMJIT_API void evmjit_store_get_stats(const evmjit_store *st, evmjit_store_stats *out) {
    memset(out, 0, sizeof *out);
    if (!st) return;
    evmjit_store *s = (evmjit_store *)(uintptr_t)st; /* atomics are read, not changed */
#define EVMJIT__STORE_COUNTER_READ(name)                                                      \
    out->name = atomic_load_explicit(&s->c[EVMJIT__SC_##name], memory_order_relaxed);
    EVMJIT__STORE_COUNTERS(EVMJIT__STORE_COUNTER_READ)
#undef EVMJIT__STORE_COUNTER_READ
    for (int i = 0; i < EVMJIT_SKIP_COUNT; i++) {
        out->skips[i] = atomic_load_explicit(&s->skips[i], memory_order_relaxed); /* a statistic */
        out->skipped += out->skips[i];
    }
}

/* ---- manifests ---------------------------------------------------------------------------- */

static bool evmjit__st_manifest_text(char *out, size_t size, const evmjit_store_manifest *m) {
    char h[65], o[65];
    evmjit__st_hex(h, m->code_hash.bytes, 32);
    evmjit__st_hex(o, m->object_keccak.bytes, 32);
    return evmjit__st_fmt(out, size,
                          "evmjit-artifact %u\ncode_hash 0x%s\nrevision %d\nbackend %s\n"
                          "compiler_version %s\nopt_level %d\nabi_version %u\ntarget %s\n"
                          "symbol %s\ncode_size %llu\nobject_file %s\nobject_size %llu\n"
                          "object_keccak 0x%s\ncreated %lld\nend\n",
                          m->format_version, h, (int)m->rev, m->backend, m->compiler_version,
                          m->opt_level, m->abi_version, m->target, m->symbol,
                          (unsigned long long)m->code_size, m->object_file,
                          (unsigned long long)m->object_size, o, (long long)m->created);
}

/* The value of the next line if it is "<name> <value>\n" (the line is cut in place). */
static const char *evmjit__st_field(char **p, const char *name) {
    char *nl = strchr(*p, '\n');
    size_t n = strlen(name);
    if (!nl || strncmp(*p, name, n) != 0 || (*p)[n] != ' ') return NULL;
    *nl = 0;
    const char *v = *p + n + 1;
    *p = nl + 1;
    return v;
}

/* Decimal, no sign, no leading zeros, <= max. */
static bool evmjit__st_u64(const char *s, uint64_t max, uint64_t *out) {
    uint64_t v = 0;
    size_t n = 0;
    if (!s) return false;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || (n == 1 && s[0] == '0')) return false;
        unsigned d = (unsigned)(s[n] - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return n > 0;
}

static bool evmjit__st_hash(const char *s, evmjit_bytes32 *out) {
    if (!s || s[0] != '0' || s[1] != 'x' || strlen(s) != 66 || !evmjit__st_is_hex(s + 2, 64))
        return false;
    for (int i = 0; i < 32; i++)
        out->bytes[i] = (uint8_t)(evmjit__st_hexval(s[2 + 2 * i]) << 4 | evmjit__st_hexval(s[3 + 2 * i]));
    return true;
}

static bool evmjit__st_copy(char *dst, size_t size, const char *v, bool spaces) {
    if (!v || !evmjit__st_text_ok(v, size, spaces)) return false;
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

/* Parses text (NUL-terminated; cut in place). Returns NULL or what is wrong. */
static const char *evmjit__st_parse(char *text, evmjit_store_manifest *m) {
    char *p = text;
    uint64_t v;
    memset(m, 0, sizeof *m);
    if (!evmjit__st_u64(evmjit__st_field(&p, "evmjit-artifact"), UINT32_MAX, &v))
        return "not an evmjit manifest";
    if (v != EVMJIT_STORE_FORMAT_VERSION) return "unknown format version";
    m->format_version = (unsigned)v;
    if (!evmjit__st_hash(evmjit__st_field(&p, "code_hash"), &m->code_hash)) return "code_hash";
    if (!evmjit__st_u64(evmjit__st_field(&p, "revision"), EVMJIT_MAX_REVISION, &v)) return "revision";
    m->rev = (evmjit_revision)v;
    if (!evmjit__st_copy(m->backend, sizeof m->backend, evmjit__st_field(&p, "backend"), false))
        return "backend";
    if (!evmjit__st_copy(m->compiler_version, sizeof m->compiler_version,
                         evmjit__st_field(&p, "compiler_version"), true))
        return "compiler_version";
    if (!evmjit__st_u64(evmjit__st_field(&p, "opt_level"), 3, &v)) return "opt_level";
    m->opt_level = (int)v;
    if (!evmjit__st_u64(evmjit__st_field(&p, "abi_version"), UINT32_MAX, &v)) return "abi_version";
    m->abi_version = (unsigned)v;
    if (!evmjit__st_copy(m->target, sizeof m->target, evmjit__st_field(&p, "target"), true))
        return "target";
    const char *sym = evmjit__st_field(&p, "symbol");
    if (!sym || !evmjit__st_symbol_ok(sym)) return "symbol";
    memcpy(m->symbol, sym, strlen(sym) + 1);
    if (!evmjit__st_u64(evmjit__st_field(&p, "code_size"), UINT32_MAX, &m->code_size))
        return "code_size";
    if (!evmjit__st_copy(m->object_file, sizeof m->object_file, evmjit__st_field(&p, "object_file"), false))
        return "object_file";
    if (!evmjit__st_u64(evmjit__st_field(&p, "object_size"), EVMJIT_STORE_MAX_OBJECT, &m->object_size) ||
        !m->object_size)
        return "object_size";
    if (!evmjit__st_hash(evmjit__st_field(&p, "object_keccak"), &m->object_keccak))
        return "object_keccak";
    if (!evmjit__st_u64(evmjit__st_field(&p, "created"), INT64_MAX, &v)) return "created";
    m->created = (int64_t)v;
    if (strcmp(p, "end\n") != 0) return "missing end line (truncated?) or trailing data";
    return NULL;
}

/* ---- checked file access ------------------------------------------------------------------ */

/* Open one of the store's files for reading and check it can be trusted. On failure returns
   the skip reason (absent files: *absent = true) with the detail. */
static evmjit_store_skip evmjit__st_open_file(evmjit_store *st, const char *name, int *fd,
                                              struct stat *s, bool *absent, char *detail,
                                              size_t dsize) {
    *fd = -1;
    *absent = false;
    int e = evmjit__st_fault(st, EVMJIT_STORE_OP_OPEN, name);
    if (!e) {
        /* O_NOFOLLOW: a symbolic link is refused; O_NONBLOCK: a FIFO cannot hang us */
        *fd = openat(st->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (*fd < 0) e = errno;
    }
    if (e) {
        *fd = -1;
        if (e == ENOENT) {
            *absent = true;
            snprintf(detail, dsize, "%s: absent", name);
            return EVMJIT_SKIP_MISSING_OBJECT;
        }
        EVMJIT__ST_ADD(st, io_errors, 1);
        snprintf(detail, dsize, "%s: %s", name, e == ELOOP ? "a symbolic link" : strerror(e));
        return e == ELOOP ? EVMJIT_SKIP_UNTRUSTED : EVMJIT_SKIP_UNREADABLE;
    }
    const char *why = fstat(*fd, s) != 0 ? "fstat failed" : evmjit__st_distrust(s, st->uid, false);
    if (why) {
        close(*fd);
        *fd = -1;
        snprintf(detail, dsize, "%s: %s", name, why);
        return EVMJIT_SKIP_UNTRUSTED;
    }
    return EVMJIT_SKIP_NONE;
}

/* read() everything up to size bytes; returns the count, or -1 with errno (or the fault). */
static long long evmjit__st_read(evmjit_store *st, int fd, const char *name, uint8_t *buf,
                                 size_t size) {
    size_t got = 0;
    while (got < size) {
        int e = evmjit__st_fault(st, EVMJIT_STORE_OP_READ, name);
        if (e) {
            errno = e;
            return -1;
        }
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (long long)got;
}

/* ---- verification ------------------------------------------------------------------------- */

#define EVMJIT__ST_V_OURS 1u   /* another profile is a failure (load), not just a flag */
#define EVMJIT__ST_V_OBJECT 2u /* open the object: trust, length, keccak-256 */
#define EVMJIT__ST_V_LOAD 4u   /* dlopen + dlsym and keep the handle (ours only) */
#define EVMJIT__ST_V_SYMBOL 8u /* dlopen + dlsym + dlclose (ours only) */

/* One verification's state: big buffers live here, allocated once per call (or per list). */
typedef struct evmjit__st_check {
    evmjit_store_manifest m;
    bool parsed;             /* m is valid */
    bool ours;               /* m's profile is the store's */
    bool absent;             /* the manifest does not exist */
    evmjit_store_skip skip;  /* NONE or the first failed check */
    uint64_t mtime;          /* the manifest's, seconds */
    struct stat id;          /* the manifest's identity: see evmjit__st_same_file */
    bool have_digest;        /* digest = keccak-256 of the manifest's bytes */
    evmjit_bytes32 digest;
    void *handle;            /* V_LOAD: the dlopen handle */
    evmjit_fn fn;
    char detail[400];
    char text[EVMJIT_STORE_MAX_MANIFEST + 2];
    uint8_t chunk[16384];
    char path[PATH_MAX + EVMJIT__ST_NAME + 2];
} evmjit__st_check;

static evmjit_store_skip evmjit__st_fail(evmjit__st_check *c, evmjit_store_skip why,
                                         const char *fmt, ...) EVMJIT__PRINTF(3, 4);
static evmjit_store_skip evmjit__st_fail(evmjit__st_check *c, evmjit_store_skip why,
                                         const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
    return c->skip = why;
}

/* Checks the object a parsed manifest names: trusted file, length, keccak-256. */
static evmjit_store_skip evmjit__st_check_object(evmjit_store *st, evmjit__st_check *c) {
    int fd;
    struct stat s;
    bool absent;
    evmjit_store_skip k = evmjit__st_open_file(st, c->m.object_file, &fd, &s, &absent, c->detail,
                                               sizeof c->detail);
    if (k != EVMJIT_SKIP_NONE) return c->skip = k;
    if ((uint64_t)s.st_size != c->m.object_size) {
        close(fd);
        return evmjit__st_fail(c, EVMJIT_SKIP_SIZE_MISMATCH, "%s: %llu bytes, manifest says %llu",
                               c->m.object_file, (unsigned long long)s.st_size,
                               (unsigned long long)c->m.object_size);
    }
    evmjit_keccak k256;
    evmjit_keccak_init(&k256);
    uint64_t total = 0;
    for (;;) {
        long long n = evmjit__st_read(st, fd, c->m.object_file, c->chunk, sizeof c->chunk);
        if (n < 0) {
            int e = errno;
            close(fd);
            EVMJIT__ST_ADD(st, io_errors, 1);
            return evmjit__st_fail(c, EVMJIT_SKIP_UNREADABLE, "%s: %s", c->m.object_file, strerror(e));
        }
        evmjit_keccak_absorb(&k256, c->chunk, (size_t)n);
        total += (uint64_t)n;
        if ((size_t)n < sizeof c->chunk || total > c->m.object_size) break;
    }
    close(fd);
    if (total != c->m.object_size) /* it changed under us */
        return evmjit__st_fail(c, EVMJIT_SKIP_SIZE_MISMATCH, "%s: read %llu bytes, manifest says %llu",
                               c->m.object_file, (unsigned long long)total,
                               (unsigned long long)c->m.object_size);
    evmjit_bytes32 h = evmjit_keccak_final(&k256);
    if (memcmp(h.bytes, c->m.object_keccak.bytes, 32) != 0)
        return evmjit__st_fail(c, EVMJIT_SKIP_HASH_MISMATCH, "%s: keccak-256 differs",
                               c->m.object_file);
    return EVMJIT_SKIP_NONE;
}

/* The dynamic loader serialises dlopen and dlclose internally, with a lock ThreadSanitizer
   cannot see (it reports the loader's own allocations as races); this process-wide mutex
   makes the ordering visible. It costs nothing the loader's lock does not already cost. */
static mtx_t evmjit__st_dl_mtx;
static once_flag evmjit__st_dl_once = ONCE_FLAG_INIT;
static void evmjit__st_dl_init(void) { mtx_init(&evmjit__st_dl_mtx, mtx_plain); }
static void evmjit__st_dl_lock(void) {
    call_once(&evmjit__st_dl_once, evmjit__st_dl_init);
    mtx_lock(&evmjit__st_dl_mtx);
}
static void evmjit__st_dl_unlock(void) { mtx_unlock(&evmjit__st_dl_mtx); }

/* dlopen the (verified) object by its path and look its symbol up. */
static evmjit_store_skip evmjit__st_dlopen(evmjit_store *st, evmjit__st_check *c, bool keep) {
    int e = evmjit__st_fault(st, EVMJIT_STORE_OP_DLOPEN, c->m.object_file);
    if (e) return evmjit__st_fail(c, EVMJIT_SKIP_DLOPEN_FAILED, "%s: %s", c->m.object_file, strerror(e));
    if (!evmjit__st_fmt(c->path, sizeof c->path, "%s/%s", st->path, c->m.object_file))
        return evmjit__st_fail(c, EVMJIT_SKIP_DLOPEN_FAILED, "path too long");
    evmjit__st_dl_lock();
    void *h = dlopen(c->path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *msg = dlerror();
        evmjit__st_fail(c, EVMJIT_SKIP_DLOPEN_FAILED, "%s", msg ? msg : c->m.object_file);
        evmjit__st_dl_unlock();
        return c->skip;
    }
    void *sym = dlsym(h, c->m.symbol);
    if (!sym || !keep) dlclose(h);
    evmjit__st_dl_unlock();
    if (!sym)
        return evmjit__st_fail(c, EVMJIT_SKIP_MISSING_SYMBOL, "%s: no symbol '%s'",
                               c->m.object_file, c->m.symbol);
    if (!keep) return EVMJIT_SKIP_NONE;
    c->handle = h;
    /* POSIX dlsym returns a data pointer; converting it to a function pointer is what POSIX
       requires to work. memcpy keeps -Wpedantic quiet about the conversion. */
    memcpy(&c->fn, &sym, sizeof c->fn);
    return EVMJIT_SKIP_NONE;
}

/* Opens, checks and parses the manifest `name` into c->m (c->parsed). Returns c->skip; an
   absent file sets c->absent. */
static evmjit_store_skip evmjit__st_read_manifest(evmjit_store *st, const char *name,
                                                  evmjit__st_check *c) {
    c->parsed = c->ours = c->absent = c->have_digest = false;
    c->skip = EVMJIT_SKIP_NONE;
    c->handle = NULL;
    c->fn = NULL;
    c->mtime = 0;
    c->detail[0] = 0;
    int fd;
    struct stat s;
    evmjit_store_skip k = evmjit__st_open_file(st, name, &fd, &s, &c->absent, c->detail,
                                               sizeof c->detail);
    if (c->absent) return c->skip = EVMJIT_SKIP_BAD_MANIFEST;
    if (k != EVMJIT_SKIP_NONE) return c->skip = k;
    c->mtime = (uint64_t)s.st_mtime;
    c->id = s;
    long long n = evmjit__st_read(st, fd, name, (uint8_t *)c->text, EVMJIT_STORE_MAX_MANIFEST + 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        EVMJIT__ST_ADD(st, io_errors, 1);
        return evmjit__st_fail(c, EVMJIT_SKIP_UNREADABLE, "%s: %s", name, strerror(e));
    }
    if (n > EVMJIT_STORE_MAX_MANIFEST)
        return evmjit__st_fail(c, EVMJIT_SKIP_BAD_MANIFEST, "%s: larger than %d bytes", name,
                               EVMJIT_STORE_MAX_MANIFEST);
    c->text[n] = 0;
    c->digest = evmjit_keccak256((const uint8_t *)c->text, (size_t)n);
    c->have_digest = true;
    if (strlen(c->text) != (size_t)n)
        return evmjit__st_fail(c, EVMJIT_SKIP_BAD_MANIFEST, "%s: contains a NUL byte", name);
    const char *bad = evmjit__st_parse(c->text, &c->m);
    if (bad) return evmjit__st_fail(c, EVMJIT_SKIP_BAD_MANIFEST, "%s: bad field: %s", name, bad);
    c->parsed = true;
    return EVMJIT_SKIP_NONE;
}

/* The same file, not one that reuses a freed inode number: device, inode, size and the
   change time (nanoseconds) all equal. */
static bool evmjit__st_same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Did the manifest `name` that c checked go away (removed or replaced) meanwhile? Then a
   missing object is not a fault: the artifact was removed under us. */
static bool evmjit__st_vanished(evmjit_store *st, const char *name, const evmjit__st_check *c) {
    struct stat s;
    if (fstatat(st->dirfd, name, &s, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT;
    return !evmjit__st_same_file(&s, &c->id);
}

/* Verifies the artifact whose manifest is `name`. want_hash/want_rev (may be NULL/-1): the key
   the caller asked for. Returns c->skip (NONE: valid, and with V_LOAD loaded); c->absent when
   the manifest does not exist or was removed while it was being checked. */
static evmjit_store_skip evmjit__st_verify(evmjit_store *st, const char *name,
                                           const evmjit_bytes32 *want_hash, int want_rev,
                                           unsigned flags, evmjit__st_check *c) {
    evmjit_store_skip k = evmjit__st_read_manifest(st, name, c);
    if (k != EVMJIT_SKIP_NONE) return k;
    /* the key its fields spell must give exactly this file name */
    char k16[17], base[EVMJIT__ST_NAME], expect[EVMJIT__ST_NAME];
    evmjit__st_profile_hash(c->m.backend, c->m.compiler_version, c->m.opt_level,
                            c->m.abi_version, c->m.target, k16);
    if (!evmjit__st_base(base, sizeof base, &c->m.code_hash, (int)c->m.rev, c->m.backend,
                         c->m.opt_level, k16) ||
        !evmjit__st_fmt(expect, sizeof expect, "%s.manifest", base) || strcmp(expect, name) != 0)
        return evmjit__st_fail(c, EVMJIT_SKIP_KEY_MISMATCH, "%s: its key is that of %s", name, expect);
    if ((want_hash && memcmp(want_hash->bytes, c->m.code_hash.bytes, 32) != 0) ||
        (want_rev >= 0 && want_rev != (int)c->m.rev))
        return evmjit__st_fail(c, EVMJIT_SKIP_KEY_MISMATCH, "%s: not the requested key", name);
    if (!evmjit__st_object_of(c->m.object_file, base))
        return evmjit__st_fail(c, EVMJIT_SKIP_BAD_MANIFEST, "%s: object_file is not %s-<id>.so",
                               name, base);
    /* the profile */
    evmjit_store_skip foreign = EVMJIT_SKIP_NONE;
    if (c->m.abi_version != st->abi)
        foreign = EVMJIT_SKIP_FOREIGN_ABI;
    else if (!st->has_compiler || strcmp(c->m.backend, st->backend) ||
             strcmp(c->m.compiler_version, st->version) || c->m.opt_level != st->opt)
        foreign = EVMJIT_SKIP_FOREIGN_COMPILER;
    else if (strcmp(c->m.target, st->target))
        foreign = EVMJIT_SKIP_FOREIGN_TARGET;
    c->ours = foreign == EVMJIT_SKIP_NONE;
    if (!c->ours && (flags & EVMJIT__ST_V_OURS))
        return evmjit__st_fail(c, foreign, "%s: abi %u, %s %s O%d, target %.64s", name,
                               c->m.abi_version, c->m.backend, c->m.compiler_version,
                               c->m.opt_level, c->m.target);
    if (flags & (EVMJIT__ST_V_OBJECT | EVMJIT__ST_V_LOAD | EVMJIT__ST_V_SYMBOL))
        k = evmjit__st_check_object(st, c);
    /* loading needs our profile; the symbol check only needs an object this machine can map
       (our ABI and target: `store verify` without a backend checks every compiler's) */
    bool mappable = c->m.abi_version == st->abi && !strcmp(c->m.target, st->target);
    if (k == EVMJIT_SKIP_NONE && (flags & EVMJIT__ST_V_LOAD) && c->ours)
        k = evmjit__st_dlopen(st, c, true);
    else if (k == EVMJIT_SKIP_NONE && (flags & EVMJIT__ST_V_SYMBOL) && mappable)
        k = evmjit__st_dlopen(st, c, false);
    if ((k == EVMJIT_SKIP_MISSING_OBJECT || k == EVMJIT_SKIP_DLOPEN_FAILED) && evmjit__st_vanished(st, name, c))
        c->absent = true; /* removed while we looked: not a fault */
    return k;
}

static evmjit__st_check *evmjit__st_check_new(evmjit_store *st) {
    return (evmjit__st_check *)evmjit__alloc(&st->alloc, sizeof(evmjit__st_check));
}
static void evmjit__st_check_free(evmjit_store *st, evmjit__st_check *c) {
    evmjit__free(&st->alloc, c, sizeof *c);
}

/* Counts and logs one skipped artifact or file (foreign artifacts and temp files quietly). */
static void evmjit__st_skipped(evmjit_store *st, evmjit_store_skip why, const char *file,
                               const char *detail) {
    atomic_fetch_add_explicit(&st->skips[why], 1, memory_order_relaxed); /* a statistic */
    bool quiet = why == EVMJIT_SKIP_FOREIGN_ABI || why == EVMJIT_SKIP_FOREIGN_COMPILER ||
                 why == EVMJIT_SKIP_FOREIGN_TARGET || why == EVMJIT_SKIP_TEMP_LEFTOVER;
    evmjit__st_log(st, quiet ? EVMJIT_LOG_DEBUG : EVMJIT_LOG_WARN,
                 "artifact store %s: skipped %s: %s (%s)%s", st->path, file,
                 evmjit_store_skip_name(why), detail,
                 quiet ? "" : "; `evmjit store gc DIR` removes it");
}

/* ---- listing the directory ---------------------------------------------------------------- */

typedef struct evmjit__st_ent {
    const char *name;
    evmjit__st_kind kind;
    bool used; /* an object some parsed manifest names */
    bool bad;  /* a manifest that did not parse (its objects are not orphans) */
} evmjit__st_ent;

typedef struct evmjit__st_list {
    evmjit__st_ent *v;
    size_t n, cap;
    char *pool; /* the names, NUL-separated */
    size_t used, pool_cap;
} evmjit__st_list;

/* Grows *p (elements of elem bytes, capacity *cap) to hold need; the allocator has no
   realloc, so this copies: amortised O(1) per element. */
static bool evmjit__st_grow(evmjit_store *st, void **p, size_t *cap, size_t elem, size_t need) {
    if (need <= *cap) return true;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) ncap *= 2;
    void *q = evmjit__alloc(&st->alloc, ncap * elem);
    if (!q) return false;
    if (*p) memcpy(q, *p, *cap * elem);
    evmjit__free(&st->alloc, *p, *cap * elem);
    *p = q;
    *cap = ncap;
    return true;
}

static void evmjit__st_list_free(evmjit_store *st, evmjit__st_list *l) {
    evmjit__free(&st->alloc, l->v, l->cap * sizeof *l->v);
    evmjit__free(&st->alloc, l->pool, l->pool_cap);
    memset(l, 0, sizeof *l);
}

static int evmjit__st_ent_cmp(const void *a, const void *b) {
    return strcmp(((const evmjit__st_ent *)a)->name, ((const evmjit__st_ent *)b)->name);
}

/* Every manifest, object and temp file in the directory, sorted by name. */
static evmjit_error evmjit__st_list_dir(evmjit_store *st, evmjit__st_list *l) {
    memset(l, 0, sizeof *l);
    int fd = openat(st->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        evmjit__st_log(st, EVMJIT_LOG_ERROR, "artifact store %s: cannot list: %s", st->path,
                       strerror(errno));
        if (fd >= 0) close(fd);
        EVMJIT__ST_ADD(st, io_errors, 1);
        return EVMJIT_ERR_IO;
    }
    evmjit_error err = EVMJIT_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) {
                EVMJIT__ST_ADD(st, io_errors, 1);
                err = EVMJIT_ERR_IO;
            }
            break;
        }
        evmjit__st_kind kind = evmjit__st_classify(e->d_name);
        if (kind == EVMJIT__ST_OTHER) continue;
        size_t len = strlen(e->d_name) + 1;
        if (!evmjit__st_grow(st, (void **)&l->v, &l->cap, sizeof *l->v, l->n + 1) ||
            !evmjit__st_grow(st, (void **)&l->pool, &l->pool_cap, 1, l->used + len)) {
            err = EVMJIT_ERR_OUT_OF_MEMORY;
            break;
        }
        memcpy(l->pool + l->used, e->d_name, len);
        l->v[l->n].name = (const char *)(uintptr_t)l->used; /* an offset until the pool is final */
        l->v[l->n].kind = kind;
        l->v[l->n].used = l->v[l->n].bad = false;
        l->n++;
        l->used += len;
    }
    closedir(d);
    if (err != EVMJIT_OK) {
        evmjit__st_list_free(st, l);
        return err;
    }
    for (size_t i = 0; i < l->n; i++) l->v[i].name = l->pool + (uintptr_t)l->v[i].name;
    if (l->n) qsort(l->v, l->n, sizeof *l->v, evmjit__st_ent_cmp);
    return EVMJIT_OK;
}

static evmjit__st_ent *evmjit__st_find(evmjit__st_list *l, const char *name) {
    evmjit__st_ent key;
    memset(&key, 0, sizeof key);
    key.name = name;
    return l->n ? (evmjit__st_ent *)bsearch(&key, l->v, l->n, sizeof *l->v, evmjit__st_ent_cmp) : NULL;
}

static bool evmjit__st_foreign(evmjit_store_skip k) {
    return k == EVMJIT_SKIP_FOREIGN_ABI || k == EVMJIT_SKIP_FOREIGN_COMPILER ||
           k == EVMJIT_SKIP_FOREIGN_TARGET;
}

/* After a manifest was checked: marks the object it names; a manifest that failed (other than
   by being foreign) marks its base as bad: objects of that base are that artifact's problem,
   not orphans. */
static void evmjit__st_mark(evmjit__st_list *l, evmjit__st_ent *manifest, const evmjit__st_check *c) {
    if (c->parsed) {
        evmjit__st_ent *o = evmjit__st_find(l, c->m.object_file);
        if (o) o->used = true;
    }
    if (c->skip != EVMJIT_SKIP_NONE && !evmjit__st_foreign(c->skip)) manifest->bad = true;
}

/* An object is an orphan when no manifest names it and its base has no unparsable manifest. */
static bool evmjit__st_orphan(evmjit__st_list *l, const evmjit__st_ent *o) {
    if (o->used) return false;
    char m[EVMJIT__ST_NAME];
    size_t n = strlen(o->name) - 20; /* drop "-<o16>.so" */
    memcpy(m, o->name, n);
    memcpy(m + n, ".manifest", 10);
    evmjit__st_ent *e = evmjit__st_find(l, m);
    return !(e && e->bad);
}

/* Seconds since a file was modified (0 if it cannot be stat'ed: treated as new). */
static uint64_t evmjit__st_age(const evmjit_store *st, const char *name) {
    struct stat s;
    if (fstatat(st->dirfd, name, &s, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    time_t now = time(NULL);
    return now > s.st_mtime ? (uint64_t)(now - s.st_mtime) : 0;
}

/* ---- loading -------------------------------------------------------------------------------- */

static void evmjit__st_artifact(const evmjit__st_check *c, evmjit_artifact *out) {
    memset(out, 0, sizeof *out);
    out->code_hash = c->m.code_hash;
    out->rev = c->m.rev;
    out->fn = c->fn;
    out->handle = c->handle;
    out->code_size = (size_t)c->m.code_size;
    out->code_bytes = (size_t)c->m.object_size;
}

EVMJIT_API evmjit_error evmjit_store_load_all(evmjit_store *st, evmjit_artifact_sink sink,
                                              void *ctx) {
    if (!st || !sink) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_error err = evmjit__st_check_dir(st);
    if (err != EVMJIT_OK) return err;
    evmjit__st_list l;
    err = evmjit__st_list_dir(st, &l);
    if (err != EVMJIT_OK) return err;
    evmjit__st_check *c = evmjit__st_check_new(st);
    if (!c) {
        evmjit__st_list_free(st, &l);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < l.n && err == EVMJIT_OK; i++) {
        evmjit__st_ent *e = &l.v[i];
        if (e->kind == EVMJIT__ST_TEMP) {
            evmjit__st_skipped(st, EVMJIT_SKIP_TEMP_LEFTOVER, e->name, "left alone");
            continue;
        }
        if (e->kind != EVMJIT__ST_MANIFEST) continue;
        evmjit_store_skip k = evmjit__st_verify(st, e->name, NULL, -1,
                                                EVMJIT__ST_V_OURS | EVMJIT__ST_V_LOAD, c);
        evmjit__st_mark(&l, e, c);
        if (k != EVMJIT_SKIP_NONE) {
            if (!c->absent) evmjit__st_skipped(st, k, e->name, c->detail); /* else: just removed */
            continue;
        }
        evmjit_artifact a;
        evmjit__st_artifact(c, &a);
        EVMJIT__ST_ADD(st, loaded, 1);
        err = sink(ctx, &a); /* it owns the artifact now, whatever it returns */
    }
    for (size_t i = 0; i < l.n && err == EVMJIT_OK; i++)
        if (l.v[i].kind == EVMJIT__ST_OBJECT && evmjit__st_orphan(&l, &l.v[i]))
            evmjit__st_skipped(st, EVMJIT_SKIP_ORPHAN_OBJECT, l.v[i].name, "no manifest names it");
    evmjit__st_check_free(st, c);
    evmjit__st_list_free(st, &l);
    return err;
}

EVMJIT_API evmjit_error evmjit_store_load(evmjit_store *st, const evmjit_bytes32 *code_hash,
                                          evmjit_revision rev, evmjit_artifact *out) {
    if (!st || !code_hash || !out || (unsigned)rev > EVMJIT_MAX_REVISION)
        return EVMJIT_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    char base[EVMJIT__ST_NAME], name[EVMJIT__ST_NAME];
    if (!st->has_compiler || !evmjit__st_names(st, code_hash, (int)rev, base, name)) {
        EVMJIT__ST_ADD(st, not_found, 1); /* no profile: nothing of ours can exist */
        return EVMJIT_ERR_NOT_FOUND;
    }
    evmjit_error err = evmjit__st_check_dir(st);
    if (err != EVMJIT_OK) return err;
    evmjit__st_check *c = evmjit__st_check_new(st);
    if (!c) return EVMJIT_ERR_OUT_OF_MEMORY;
    evmjit_store_skip k = evmjit__st_verify(st, name, code_hash, (int)rev,
                                            EVMJIT__ST_V_OURS | EVMJIT__ST_V_LOAD, c);
    if (c->absent) {
        EVMJIT__ST_ADD(st, not_found, 1);
        err = EVMJIT_ERR_NOT_FOUND;
    } else if (k != EVMJIT_SKIP_NONE) {
        evmjit__st_skipped(st, k, name, c->detail);
        err = k == EVMJIT_SKIP_UNTRUSTED ? EVMJIT_ERR_UNTRUSTED
              : k == EVMJIT_SKIP_UNREADABLE ? EVMJIT_ERR_IO
                                            : EVMJIT_ERR_CORRUPT;
    } else {
        evmjit__st_artifact(c, out);
        EVMJIT__ST_ADD(st, loaded, 1);
    }
    evmjit__st_check_free(st, c);
    return err;
}

EVMJIT_API void evmjit_store_unload(evmjit_store *st, const evmjit_artifact *a) {
    if (!a || !a->handle) return;
    evmjit__st_dl_lock();
    dlclose(a->handle);
    evmjit__st_dl_unlock();
    if (st) EVMJIT__ST_ADD(st, unloaded, 1);
}

/* ---- publishing ----------------------------------------------------------------------------- */

static int evmjit__st_unlink(evmjit_store *st, const char *name) {
    int e = evmjit__st_fault(st, EVMJIT_STORE_OP_UNLINK, name);
    if (!e && unlinkat(st->dirfd, name, 0) != 0) e = errno;
    if (e && e != ENOENT) EVMJIT__ST_ADD(st, io_errors, 1);
    return e;
}

static int evmjit__st_fsync_dir(evmjit_store *st) {
    int e = evmjit__st_fault(st, EVMJIT_STORE_OP_FSYNC, ".");
    if (!e && fsync(st->dirfd) != 0) e = errno;
    if (e) EVMJIT__ST_ADD(st, io_errors, 1);
    return e;
}

/* Creates `tmp` (it must not exist), writes data, fsyncs, closes. Returns 0 or an errno; on
   failure the file is gone. */
static int evmjit__st_write_temp(evmjit_store *st, const char *tmp, const void *data, size_t size) {
    int fd = -1, e = evmjit__st_fault(st, EVMJIT_STORE_OP_CREATE, tmp);
    if (!e) {
        fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) e = errno;
    }
    if (e) {
        EVMJIT__ST_ADD(st, io_errors, 1);
        return e;
    }
    const uint8_t *p = (const uint8_t *)data;
    while (size && !e) {
        e = evmjit__st_fault(st, EVMJIT_STORE_OP_WRITE, tmp);
        if (e) break;
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) e = n < 0 ? errno : ENOSPC;
        else p += n, size -= (size_t)n;
    }
    if (!e) e = evmjit__st_fault(st, EVMJIT_STORE_OP_FSYNC, tmp);
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (e) {
        EVMJIT__ST_ADD(st, io_errors, 1);
        unlinkat(st->dirfd, tmp, 0);
    }
    return e;
}

static evmjit_error evmjit__st_io_fail(evmjit_store *st, const char *what, const char *file, int e) {
    evmjit__st_log(st, EVMJIT_LOG_ERROR, "artifact store %s: %s %s failed: %s%s", st->path, what,
                   file, strerror(e), e == ENOSPC || e == EDQUOT ? " (disk full)" : "");
    return EVMJIT_ERR_IO;
}

/* 8 bytes no other publish uses: keccak-256 of the object's hash, the process, a counter and
   both clocks. */
static void evmjit__st_publish_id(evmjit_store *st, const evmjit_bytes32 *object_keccak,
                                  uint8_t id[8]) {
    struct {
        evmjit_bytes32 object;
        long long pid;
        unsigned long long seq, mono, real_s, real_ns;
    } in;
    memset(&in, 0, sizeof in);
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    in.object = *object_keccak;
    in.pid = (long long)getpid();
    in.seq = (unsigned long long)atomic_fetch_add_explicit(&st->seq, 1, memory_order_relaxed);
    in.mono = (unsigned long long)evmjit__now_ns();
    in.real_s = (unsigned long long)ts.tv_sec;
    in.real_ns = (unsigned long long)ts.tv_nsec;
    evmjit_bytes32 h = evmjit_keccak256((const uint8_t *)&in, sizeof in);
    memcpy(id, h.bytes, 8);
}

static evmjit_error evmjit__st_publish(evmjit_store *st, const evmjit_artifact_object *o,
                                       evmjit__st_check *c) {
    char base[EVMJIT__ST_NAME], mname[EVMJIT__ST_NAME], oname[EVMJIT__ST_NAME];
    char tmp_o[EVMJIT__ST_NAME], tmp_m[EVMJIT__ST_NAME], old_object[EVMJIT__ST_NAME];
    if (!evmjit__st_names(st, &o->code_hash, (int)o->rev, base, mname))
        return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_store_skip k = evmjit__st_verify(st, mname, &o->code_hash, (int)o->rev,
                                            EVMJIT__ST_V_OURS | EVMJIT__ST_V_OBJECT, c);
    if (!c->absent && k == EVMJIT_SKIP_NONE) {
        EVMJIT__ST_ADD(st, store_existing, 1); /* never overwrite a valid artifact */
        return EVMJIT_OK;
    }
    bool replace = !c->absent;
    old_object[0] = 0;
    if (replace) {
        evmjit__st_log(st, EVMJIT_LOG_WARN, "artifact store %s: replacing %s: %s (%s)", st->path,
                       mname, evmjit_store_skip_name(k), c->detail);
        if (c->parsed && evmjit__st_object_of(c->m.object_file, base))
            snprintf(old_object, sizeof old_object, "%s", c->m.object_file);
    }
    evmjit_store_manifest *m = &c->m;
    memset(m, 0, sizeof *m);
    m->format_version = EVMJIT_STORE_FORMAT_VERSION;
    m->code_hash = o->code_hash;
    m->rev = o->rev;
    memcpy(m->backend, st->backend, sizeof m->backend);
    memcpy(m->compiler_version, st->version, sizeof m->compiler_version);
    m->opt_level = st->opt;
    m->abi_version = st->abi;
    memcpy(m->target, st->target, sizeof m->target);
    memcpy(m->symbol, o->symbol, strlen(o->symbol) + 1);
    m->code_size = o->code_size;
    m->object_size = o->object_size;
    m->object_keccak = evmjit_keccak256(o->object, o->object_size);
    m->created = (int64_t)time(NULL);
    uint8_t id[8];
    evmjit__st_publish_id(st, &m->object_keccak, id);
    char idhex[17];
    evmjit__st_hex(idhex, id, 8);
    if (!evmjit__st_object_name(oname, base, id) ||
        !evmjit__st_fmt(m->object_file, sizeof m->object_file, "%s", oname) ||
        !evmjit__st_manifest_text(c->text, sizeof c->text, m) ||
        !evmjit__st_fmt(tmp_o, sizeof tmp_o, EVMJIT__STORE_TEMP_PREFIX "%ld-%s-%s.so", (long)getpid(), idhex, base) ||
        !evmjit__st_fmt(tmp_m, sizeof tmp_m, EVMJIT__STORE_TEMP_PREFIX "%ld-%s-%s.manifest", (long)getpid(), idhex, base))
        return EVMJIT_ERR_INVALID_ARGUMENT;
    /* 1. both files complete and durable under temporary names (a full disk fails here, and
          leaves nothing behind) */
    int e = evmjit__st_write_temp(st, tmp_o, o->object, o->object_size);
    if (e) return evmjit__st_io_fail(st, "writing", tmp_o, e);
    e = evmjit__st_write_temp(st, tmp_m, c->text, strlen(c->text));
    if (e) {
        evmjit__st_unlink(st, tmp_o);
        return evmjit__st_io_fail(st, "writing", tmp_m, e);
    }
    /* 2. the object under its own name (unique: link never replaces anything), durable before
          any manifest names it */
    e = evmjit__st_fault(st, EVMJIT_STORE_OP_LINK, oname);
    if (!e && linkat(st->dirfd, tmp_o, st->dirfd, oname, 0) != 0) e = errno;
    evmjit__st_unlink(st, tmp_o);
    if (!e) e = evmjit__st_fsync_dir(st);
    else EVMJIT__ST_ADD(st, io_errors, 1);
    /* 3. the manifest: link never replaces (the first publisher of a key wins); an invalid one
          is replaced by rename */
    bool raced = false;
    if (!e) {
        e = evmjit__st_fault(st, replace ? EVMJIT_STORE_OP_RENAME : EVMJIT_STORE_OP_LINK, mname);
        if (!e && replace && renameat(st->dirfd, tmp_m, st->dirfd, mname) != 0) e = errno;
        if (!e && !replace && linkat(st->dirfd, tmp_m, st->dirfd, mname, 0) != 0) e = errno;
        if (e == EEXIST) raced = true, e = 0;
        if (e) EVMJIT__ST_ADD(st, io_errors, 1);
    }
    evmjit__st_unlink(st, tmp_m); /* after link (after rename it is gone: ENOENT) */
    if (e || raced) evmjit__st_unlink(st, oname); /* no manifest names it: only ours could */
    if (e) return evmjit__st_io_fail(st, "publishing", mname, e);
    if (raced) {
        EVMJIT__ST_ADD(st, store_raced, 1); /* someone published this key first: theirs stands */
        return EVMJIT_OK;
    }
    /* the replaced manifest named old_object, and only it did */
    if (old_object[0]) evmjit__st_unlink(st, old_object);
    EVMJIT__ST_ADD(st, stored, 1);
    if (replace) EVMJIT__ST_ADD(st, store_replaced, 1);
    e = evmjit__st_fsync_dir(st);
    return e ? evmjit__st_io_fail(st, "fsync of the directory after", mname, e) : EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_store_publish(evmjit_store *st, const evmjit_artifact_object *o) {
    if (!st) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_error err = EVMJIT_OK;
    if (!o || !o->object || !o->object_size || o->object_size > EVMJIT_STORE_MAX_OBJECT ||
        !o->symbol || !evmjit__st_symbol_ok(o->symbol) || (unsigned)o->rev > EVMJIT_MAX_REVISION ||
        (uint64_t)o->code_size > UINT32_MAX) {
        evmjit__st_log(st, EVMJIT_LOG_ERROR, "artifact store %s: refused an object: empty, larger "
                       "than EVMJIT_STORE_MAX_OBJECT, bad symbol or bad revision", st->path);
        err = EVMJIT_ERR_INVALID_ARGUMENT;
    } else if (!st->has_compiler) {
        evmjit__st_log(st, EVMJIT_LOG_ERROR, "artifact store %s: cannot store without a compiler "
                       "profile (set evmjit_store_desc.backend)", st->path);
        err = EVMJIT_ERR_INVALID_ARGUMENT;
    } else if (o->compiler && strcmp(o->compiler, st->compiler_id) != 0) {
        evmjit__st_log(st, EVMJIT_LOG_ERROR, "artifact store %s: object compiled by '%s' but the "
                       "store's profile is '%s' (open the store with the runtime's backend and "
                       "opt_level)", st->path, o->compiler, st->compiler_id);
        err = EVMJIT_ERR_INVALID_ARGUMENT;
    } else {
        err = evmjit__st_check_dir(st);
    }
    evmjit__st_check *c = err == EVMJIT_OK ? evmjit__st_check_new(st) : NULL;
    if (err == EVMJIT_OK && !c) err = EVMJIT_ERR_OUT_OF_MEMORY;
    if (err == EVMJIT_OK) err = evmjit__st_publish(st, o, c);
    evmjit__st_check_free(st, c);
    if (err != EVMJIT_OK) EVMJIT__ST_ADD(st, store_failed, 1);
    return err;
}

/* ---- removing ------------------------------------------------------------------------------- */

/* Removes the manifest `name` and the object it names. The manifest is first taken away by
   renaming it to a temporary name, so what is deleted is exactly one manifest and the object
   only it names (object names are unique to a publish): a publisher or loader racing with us
   sees the artifact whole or not at all. If `expect` is given, the taken manifest must be the
   file c checked (same inode), else it is put back (a publisher replaced it meanwhile).
   Returns OK, NOT_FOUND (gone already) or IO; c is overwritten. */
static evmjit_error evmjit__st_take(evmjit_store *st, const char *name, evmjit__st_check *c,
                                    bool expect) {
    char taken[EVMJIT__ST_NAME];
    struct stat judged = c->id;
    bool had_digest = c->have_digest;
    evmjit_bytes32 digest = c->digest;
    unsigned long long seq = (unsigned long long)atomic_fetch_add_explicit(&st->seq, 1, memory_order_relaxed);
    if (!evmjit__st_fmt(taken, sizeof taken, EVMJIT__STORE_TEMP_PREFIX "%ld-%llu-rm-%s", (long)getpid(), seq, name))
        return EVMJIT_ERR_INVALID_ARGUMENT;
    int e = evmjit__st_fault(st, EVMJIT_STORE_OP_RENAME, name);
    if (!e && renameat(st->dirfd, name, st->dirfd, taken) != 0) e = errno;
    if (e == ENOENT) return EVMJIT_ERR_NOT_FOUND;
    if (e) {
        EVMJIT__ST_ADD(st, io_errors, 1);
        return EVMJIT_ERR_IO;
    }
    evmjit__st_read_manifest(st, taken, c);
    if (c->absent) return EVMJIT_ERR_NOT_FOUND; /* someone else took it */
    /* the same bytes (or, for a file we could not read, the same inode; a rename changes
       the change time, so that is not compared) */
    judged.st_ctim = c->id.st_ctim;
    bool same = had_digest ? c->have_digest && !memcmp(digest.bytes, c->digest.bytes, 32)
                           : evmjit__st_same_file(&c->id, &judged);
    if (expect && !same) {
        /* not the file we judged: put it back, unless the name was published again (then
           what we took is superseded and goes) */
        if (linkat(st->dirfd, taken, st->dirfd, name, 0) == 0 || errno != EEXIST) {
            evmjit__st_unlink(st, taken);
            return EVMJIT_ERR_NOT_FOUND;
        }
    }
    char base[EVMJIT__ST_NAME];
    size_t n = strlen(name) - strlen(".manifest");
    memcpy(base, name, n);
    base[n] = 0;
    if (c->parsed && evmjit__st_object_of(c->m.object_file, base)) {
        e = evmjit__st_unlink(st, c->m.object_file);
        if (e && e != ENOENT) return EVMJIT_ERR_IO; /* the manifest is in `taken`: gc retries */
    }
    e = evmjit__st_unlink(st, taken);
    if (e && e != ENOENT) return EVMJIT_ERR_IO;
    EVMJIT__ST_ADD(st, removed, 1);
    return EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_store_remove(evmjit_store *st, const evmjit_bytes32 *code_hash,
                                            evmjit_revision rev) {
    if (!st || !code_hash || (unsigned)rev > EVMJIT_MAX_REVISION) return EVMJIT_ERR_INVALID_ARGUMENT;
    char base[EVMJIT__ST_NAME], name[EVMJIT__ST_NAME];
    if (!st->has_compiler || !evmjit__st_names(st, code_hash, (int)rev, base, name))
        return EVMJIT_ERR_NOT_FOUND;
    evmjit__st_check *c = evmjit__st_check_new(st);
    if (!c) return EVMJIT_ERR_OUT_OF_MEMORY;
    evmjit_error err = evmjit__st_take(st, name, c, false);
    evmjit__st_check_free(st, c);
    if (err == EVMJIT_OK && evmjit__st_fsync_dir(st)) err = EVMJIT_ERR_IO;
    return err;
}

EVMJIT_API evmjit_error evmjit_store_clear(evmjit_store *st) {
    if (!st) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_error err = evmjit__st_check_dir(st);
    evmjit__st_list l;
    if (err == EVMJIT_OK) err = evmjit__st_list_dir(st, &l);
    if (err != EVMJIT_OK) return err;
    evmjit__st_check *c = evmjit__st_check_new(st);
    for (size_t i = 0; c && i < l.n; i++) {
        if (l.v[i].kind != EVMJIT__ST_MANIFEST) continue;
        evmjit_error e = evmjit__st_take(st, l.v[i].name, c, false);
        if (e == EVMJIT_ERR_IO && err == EVMJIT_OK) err = e;
    }
    if (!c) err = EVMJIT_ERR_OUT_OF_MEMORY;
    evmjit__st_check_free(st, c);
    evmjit__st_list_free(st, &l);
    if (evmjit__st_fsync_dir(st) && err == EVMJIT_OK) err = EVMJIT_ERR_IO;
    return err;
}

/* ---- iterate and gc --------------------------------------------------------------------- */

static uint64_t evmjit__st_since(uint64_t mtime) {
    time_t now = time(NULL);
    return (uint64_t)now > mtime ? (uint64_t)now - mtime : 0;
}

EVMJIT_API evmjit_error evmjit_store_iterate(evmjit_store *st, unsigned flags,
                                             evmjit_store_visit visit, void *ctx) {
    if (!st || !visit) return EVMJIT_ERR_INVALID_ARGUMENT;
    unsigned vf = 0;
    if (flags & EVMJIT_STORE_CHECK_OBJECT) vf |= EVMJIT__ST_V_OBJECT;
    if (flags & EVMJIT_STORE_CHECK_SYMBOL) vf |= EVMJIT__ST_V_OBJECT | EVMJIT__ST_V_SYMBOL;
    evmjit_error err = evmjit__st_check_dir(st);
    evmjit__st_list l;
    if (err == EVMJIT_OK) err = evmjit__st_list_dir(st, &l);
    if (err != EVMJIT_OK) return err;
    evmjit__st_check *c = evmjit__st_check_new(st);
    if (!c) err = EVMJIT_ERR_OUT_OF_MEMORY;
    /* artifacts, then temporary files, then orphans (known once every manifest was read) */
    for (int pass = 0; pass < 3 && err == EVMJIT_OK; pass++) {
        for (size_t i = 0; i < l.n && err == EVMJIT_OK; i++) {
            evmjit__st_ent *e = &l.v[i];
            evmjit_store_entry en;
            memset(&en, 0, sizeof en);
            en.file = e->name;
            en.detail = "";
            if (pass == 0 && e->kind == EVMJIT__ST_MANIFEST) {
                en.status = evmjit__st_verify(st, e->name, NULL, -1, vf, c);
                evmjit__st_mark(&l, e, c);
                if (c->absent) continue; /* removed meanwhile */
                en.kind = EVMJIT_STORE_ENTRY_ARTIFACT;
                en.manifest = c->parsed ? &c->m : NULL;
                en.ours = c->ours;
                en.detail = c->detail;
                en.age_s = evmjit__st_since(c->mtime);
            } else if (pass == 1 && e->kind == EVMJIT__ST_TEMP) {
                en.kind = EVMJIT_STORE_ENTRY_TEMP;
                en.status = EVMJIT_SKIP_TEMP_LEFTOVER;
                en.age_s = evmjit__st_age(st, e->name);
            } else if (pass == 2 && e->kind == EVMJIT__ST_OBJECT && evmjit__st_orphan(&l, e)) {
                en.kind = EVMJIT_STORE_ENTRY_ORPHAN;
                en.status = EVMJIT_SKIP_ORPHAN_OBJECT;
                en.age_s = evmjit__st_age(st, e->name);
            } else {
                continue;
            }
            err = visit(ctx, &en);
        }
    }
    evmjit__st_check_free(st, c);
    evmjit__st_list_free(st, &l);
    return err;
}

EVMJIT_API evmjit_error evmjit_store_gc(evmjit_store *st, uint64_t min_age_s,
                                        evmjit_store_gc_report *report) {
    evmjit_store_gc_report r;
    memset(&r, 0, sizeof r);
    if (report) *report = r;
    if (!st) return EVMJIT_ERR_INVALID_ARGUMENT;
    evmjit_error err = evmjit__st_check_dir(st);
    evmjit__st_list l;
    if (err == EVMJIT_OK) err = evmjit__st_list_dir(st, &l);
    if (err != EVMJIT_OK) return err;
    evmjit__st_check *c = evmjit__st_check_new(st);
    if (!c) {
        evmjit__st_list_free(st, &l);
        return EVMJIT_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < l.n; i++) {
        evmjit__st_ent *e = &l.v[i];
        if (e->kind != EVMJIT__ST_MANIFEST) continue;
        evmjit_store_skip k = evmjit__st_verify(st, e->name, NULL, -1, EVMJIT__ST_V_OBJECT | EVMJIT__ST_V_SYMBOL, c);
        evmjit__st_mark(&l, e, c);
        if (c->absent) continue;
        if (k == EVMJIT_SKIP_NONE || evmjit__st_foreign(k)) {
            r.kept++;
            continue;
        }
        evmjit__st_log(st, EVMJIT_LOG_INFO, "artifact store %s: gc removes %s: %s (%s)", st->path,
                       e->name, evmjit_store_skip_name(k), c->detail);
        /* only the file we checked (a publisher may have just replaced it) */
        evmjit_error x = evmjit__st_take(st, e->name, c, true);
        if (x == EVMJIT_OK) r.artifacts_removed++;
        else if (x != EVMJIT_ERR_NOT_FOUND) r.errors++;
        e->bad = false; /* its remaining objects are orphans now */
    }
    for (size_t i = 0; i < l.n; i++) {
        evmjit__st_ent *e = &l.v[i];
        bool temp = e->kind == EVMJIT__ST_TEMP;
        if (!temp && !(e->kind == EVMJIT__ST_OBJECT && evmjit__st_orphan(&l, e))) continue;
        if (evmjit__st_age(st, e->name) < min_age_s) continue;
        int x = evmjit__st_unlink(st, e->name);
        if (x && x != ENOENT) {
            r.errors++;
            continue;
        }
        if (temp) r.temps_removed++;
        else r.orphans_removed++;
        EVMJIT__ST_ADD(st, temp_removed, 1);
    }
    evmjit__st_check_free(st, c);
    evmjit__st_list_free(st, &l);
    if (evmjit__st_fsync_dir(st)) err = EVMJIT_ERR_IO;
    if (report) *report = r;
    return err;
}

/* ---- the runtime's table ---------------------------------------------------------------- */

static evmjit_error evmjit__st_table_load_all(void *user, evmjit_artifact_sink sink, void *ctx) {
    return evmjit_store_load_all((evmjit_store *)user, sink, ctx);
}
static evmjit_error evmjit__st_table_load(void *user, const evmjit_bytes32 *code_hash,
                                          evmjit_revision rev, evmjit_artifact *out) {
    return evmjit_store_load((evmjit_store *)user, code_hash, rev, out);
}
static evmjit_error evmjit__st_table_store(void *user, const evmjit_artifact_object *object) {
    return evmjit_store_publish((evmjit_store *)user, object);
}
static evmjit_error evmjit__st_table_clear(void *user) {
    return evmjit_store_clear((evmjit_store *)user);
}
static void evmjit__st_table_unload(void *user, const evmjit_artifact *artifact) {
    evmjit_store_unload((evmjit_store *)user, artifact);
}

/* ---- Runtime with its own directory store ------------------------------------------------- */
/* evmjit_runtime_create/destroy: the core above, plus the store that store_dir asks for (the
   store code comes after the cache's, so it is opened and closed here). */

EVMJIT_API evmjit_error evmjit_runtime_create(const evmjit_runtime_desc *desc,
                                             evmjit_runtime **out) {
    if (!desc || desc->store || !desc->store_dir) return evmjit__runtime_create(desc, out);
    if (!out) return EVMJIT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    evmjit_store_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.path = desc->store_dir;
    sd.create = true;
    sd.backend = desc->backend;
    sd.opt_level = desc->opt_level;
    sd.allocator = desc->allocator;
    sd.logger = desc->logger;
    evmjit_store *store = NULL;
    evmjit_error err = evmjit_store_open(&sd, &store);
    if (err != EVMJIT_OK) return err;
    evmjit_runtime_desc d = *desc;
    d.store = evmjit_store_table(store);
    if ((err = evmjit__runtime_create(&d, out)) != EVMJIT_OK) {
        evmjit_store_close(store);
        return err;
    }
    (*out)->owned_store = store;
    return EVMJIT_OK;
}

EVMJIT_API evmjit_error evmjit_runtime_destroy(evmjit_runtime *rt) {
    if (!rt) return EVMJIT_OK;
    evmjit_store *store = rt->owned_store;
    evmjit_error err = evmjit__runtime_destroy(rt);
    /* after the runtime: it unloads its artifacts first. On a timeout the runtime's threads
       may still use the store, so it is leaked with them. */
    if (err == EVMJIT_OK) evmjit_store_close(store);
    return err;
}

/* ---- Unloading ----------------------------------------------------------------------------- */
/* For a shared object that contains this implementation and may be dlclose'd (the EVMC
   module): the per-thread interpreter state and the cache's reader records are
   thread-specific storage whose destructors live in that object. Call this from its
   unload path (a destructor function) so threads that outlive it never call into unmapped
   code; the calling thread's state is freed, other threads' entries become unreachable. */
static inline void evmjit__delete_thread_keys(void) {
    evmjit_thread_cleanup();
    if (evmjit__thread_key_ok) tss_delete(evmjit__thread_key);
    if (evmjit__reader_key_ok) tss_delete(evmjit__reader_key);
}

#endif /* EVMJIT_CACHE_IMPLEMENTATION_DONE */
#endif /* EVMJIT_CACHE_IMPLEMENTATION */
