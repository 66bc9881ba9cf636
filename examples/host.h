/* host.h - an in-memory Ethereum state and host for evmjit: the 16 host functions, nested
   calls and creates, precompiles, and whole transactions (for state tests and tools).

   The host owns a world state (accounts with balance, nonce, code, storage), the EIP-2929
   warm sets, EIP-1153 transient storage, the logs of the current transaction and a journal.
   host->call runs nested frames by calling evmjit_execute with the runtime the host was
   created with, so it follows the EVMC split (shared/EVMC_ABI.md): the VM does the gas of a
   frame, depth and balance checks, the 63/64 rule and EIP-7702 delegation resolution; the
   host does value transfer, nonces, new addresses, code deposit, snapshots, precompiles,
   transaction-level warm-up, intrinsic gas and the refund cap.

   Typical use (see examples/statetest.c):
       host_state *h = host_create(EVMJIT_CANCUN, NULL);
       host_account *a = host_put_account(h, &addr, balance, nonce, code, code_size);
       host_put_storage(h, a, &key, &value);
       host_tx_result r;
       host_transact(h, &block, &tx, &r);      // validates, executes, finalises
       evmjit_bytes32 root = host_state_root(h), logs = host_logs_hash(h);
       host_destroy(h);

   One host is used by one thread at a time (nested frames run on the calling thread). All
   memory is freed by host_destroy; allocation failure aborts (tool code). */
#ifndef EVMJIT_EXAMPLES_HOST_H
#define EVMJIT_EXAMPLES_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evmjit_cache.h"

/* ---- state ----------------------------------------------------------------------------- */

/* One storage slot. `original` is the value at the start of the transaction (EIP-2200). */
typedef struct host_slot {
    evmjit_bytes32 key;
    evmjit_bytes32 value;
    evmjit_bytes32 original;
    bool used; /* the hash-table entry is occupied */
    bool warm; /* EIP-2929: accessed in this transaction */
} host_slot;

/* Open-addressing table of slots (power-of-two capacity, linear probing). */
typedef struct host_slots {
    host_slot *slots;
    size_t cap;
    size_t count;
} host_slots;

typedef struct host_account {
    evmjit_address address;
    evmjit_word balance;
    uint64_t nonce;
    const uint8_t *code; /* owned by the host's code pool */
    size_t code_size;
    evmjit_bytes32 code_hash; /* keccak of code (of "" when empty) */
    host_slots storage;
    host_slots transient; /* EIP-1153, cleared at the end of every transaction */
    bool exists;     /* part of the state; false: only a placeholder for warm/touch flags */
    bool warm;       /* EIP-2929 */
    bool touched;    /* EIP-161: deleted at the end of the tx if empty (Spurious Dragon+) */
    bool destructed; /* SELFDESTRUCT: deleted at the end of the tx */
    bool created;    /* created in this transaction (EIP-6780) */
} host_account;

typedef struct host_log {
    evmjit_address address;
    uint8_t *data;
    size_t data_size;
    evmjit_bytes32 topics[4];
    size_t topics_count;
} host_log;

typedef struct host_journal_entry host_journal_entry; /* internal */

typedef struct host_state {
    evmjit_revision rev;
    evmjit_runtime *runtime; /* handed to every nested evmjit_execute (NULL: interpret) */
    /* When set, every frame runs through this EVMC VM (vm->execute) instead of evmjit_execute:
       the host then acts as a plain EVMC host, e.g. for libevmjit.so loaded with dlopen. */
    evmjit_vm *vm;
    evmjit_tx_context tx;    /* what get_tx_context returns */

    host_account **table; /* address -> account, open addressing */
    size_t table_cap;
    size_t account_count;

    host_journal_entry *journal;
    size_t journal_size, journal_cap;

    host_log *logs;
    size_t log_count, log_cap;

    uint8_t **code_pool; /* every code buffer the host allocated; freed by host_destroy */
    size_t code_pool_size, code_pool_cap;

    evmjit_bytes32 *blob_hashes; /* owned copy behind tx.blob_hashes */

    /* VM-test mode (legacy VMTests): CALL and CREATE are not executed; they are counted in
       `callcreates` and succeed with all gas returned and no output. */
    bool vm_test;
    size_t callcreates;

    /* Do not apply EIP-7825's transaction gas cap (2^24, Osaka): for fixtures written for a
       VM that runs transactions without it (bench/revmc). */
    bool no_tx_gas_cap;

    /* Set when a frame reached a precompile this build does not implement (bn254, KZG,
       BLS, P256VERIFY): the results are meaningless and the caller reports a skip. */
    unsigned unsupported_precompile;

    /* Frames of code run so far (the transaction's own and every nested call or create):
       one evmjit_execute each, so with a runtime one lookup each (`evmjit demo` compares it
       with the runtime's hits to tell native executions from interpreted ones). */
    uint64_t frames;

    /* Nanoseconds the last host_transact spent in the transaction's message call: the
       EVM's execution with every host call and nested frame it makes, without the
       transaction's envelope (fee arithmetic, nonce, refunds, coinbase), which is the
       test host's work and the same for every execution mode. 0 when the transaction was
       rejected before its call. */
    uint64_t call_ns;
} host_state;

/* Create an empty state for revision `rev`; nested frames use `runtime` (may be NULL). */
host_state *host_create(evmjit_revision rev, evmjit_runtime *runtime);
void host_destroy(host_state *h);

/* The 16 host functions; the context argument is the host_state pointer. */
const evmjit_host_interface *host_interface(void);
static inline evmjit_host_context *host_context(host_state *h) {
    return (evmjit_host_context *)(void *)h;
}

/* Run one frame of `code` for `msg` the way the host runs nested frames (through h->vm when
   set, else evmjit_execute with h->runtime). The caller releases the result. */
evmjit_result host_execute_code(host_state *h, const evmjit_message *msg, const uint8_t *code,
                                size_t code_size);

/* The account at `address`, or NULL when the host has never seen it. Check ->exists. */
host_account *host_find(host_state *h, const evmjit_address *address);
/* Add (or replace) an existing account, for loading a pre-state. The code is copied. */
host_account *host_put_account(host_state *h, const evmjit_address *address,
                               const evmjit_bytes32 *balance, uint64_t nonce,
                               const uint8_t *code, size_t code_size);
/* host_put_account for a caller that knows the keccak-256 of the code (`code_hash`): loading
   a decoded pre-state again and again (one fresh host per vector or benchmark run) then does
   not hash the code every time. */
host_account *host_put_account_hashed(host_state *h, const evmjit_address *address,
                                      const evmjit_bytes32 *balance, uint64_t nonce,
                                      const uint8_t *code, size_t code_size,
                                      const evmjit_bytes32 *code_hash);
/* Set a storage slot of a pre-state account (value and original; zero values are skipped). */
void host_put_storage(host_state *h, host_account *a, const evmjit_bytes32 *key,
                      const evmjit_bytes32 *value);
/* The slot `key` of `a`, or NULL when it was never written or read. */
host_slot *host_find_slot(host_slots *s, const evmjit_bytes32 *key);

/* End the transaction: delete self-destructed accounts and (Spurious Dragon+) touched empty
   ones, clear warm flags, transient storage and the journal, make current storage values
   the originals. host_transact calls it; a caller that runs frames directly calls it. */
void host_finalize_tx(host_state *h);

/* Secure-trie root over RLP([nonce, balance, storage root, code hash]) of every account. */
evmjit_bytes32 host_state_root(host_state *h);
/* keccak-256 of the RLP list of the logs [address, [topics...], data]. */
evmjit_bytes32 host_logs_hash(const host_state *h);

/* ---- transactions ---------------------------------------------------------------------- */

typedef struct host_block {
    evmjit_address coinbase;
    int64_t number;
    int64_t timestamp;
    int64_t gas_limit;
    evmjit_bytes32 difficulty;
    evmjit_bytes32 prev_randao; /* used from Paris when has_prev_randao */
    bool has_prev_randao;
    evmjit_bytes32 base_fee; /* London+ */
    evmjit_bytes32 chain_id;
    uint64_t excess_blob_gas;      /* Cancun+ */
    uint64_t max_blobs;            /* per block; 0: the fork's default */
    uint64_t blob_update_fraction; /* 0: the fork's default */
} host_block;

typedef enum host_tx_type {
    HOST_TX_LEGACY = 0,
    HOST_TX_ACCESS_LIST = 1, /* EIP-2930 */
    HOST_TX_DYNAMIC_FEE = 2, /* EIP-1559 */
    HOST_TX_BLOB = 3,        /* EIP-4844 */
    HOST_TX_SET_CODE = 4     /* EIP-7702 */
} host_tx_type;

typedef struct host_access_entry {
    evmjit_address address;
    const evmjit_bytes32 *keys;
    size_t key_count;
} host_access_entry;

typedef struct host_authorization {
    evmjit_bytes32 chain_id;
    evmjit_address address;
    evmjit_bytes32 nonce;
    evmjit_bytes32 y_parity;
    evmjit_bytes32 r, s;
} host_authorization;

/* Numbers are 256-bit big-endian as the fixtures give them, so out-of-range values can be
   rejected the way clients reject them. */
typedef struct host_tx {
    host_tx_type type;
    evmjit_address sender;
    bool create; /* no recipient: contract creation */
    evmjit_address to;
    const uint8_t *data;
    size_t data_size;
    evmjit_bytes32 gas_limit;
    evmjit_bytes32 value;
    evmjit_bytes32 nonce;
    evmjit_bytes32 gas_price;                /* legacy and access-list transactions */
    evmjit_bytes32 max_fee_per_gas;          /* type 2+ */
    evmjit_bytes32 max_priority_fee_per_gas; /* type 2+ */
    evmjit_bytes32 max_fee_per_blob_gas;     /* type 3 */
    const evmjit_bytes32 *blob_hashes;
    size_t blob_count;
    const host_access_entry *access_list;
    size_t access_count;
    const host_authorization *authorizations;
    size_t authorization_count;
} host_tx;

typedef struct host_tx_result {
    bool valid;      /* false: the transaction was rejected and the state is unchanged */
    char error[160]; /* why it was rejected */
    evmjit_status_code status;
    int64_t gas_used; /* after refunds (and the EIP-7623 floor) */
    int64_t gas_refund;
    uint8_t *output; /* malloc'd copy of the top frame's output; the caller frees it */
    size_t output_size;
} host_tx_result;

/* Validate and execute one transaction against the state, then finalise it (fees, refunds,
   deletions). On rejection r->valid is false, r->error says why and the state is untouched.
   Clears the logs of any previous transaction first. */
void host_transact(host_state *h, const host_block *block, const host_tx *tx,
                   host_tx_result *r);

/* The intrinsic gas of `tx` under `rev`; *floor receives the EIP-7623 floor (Prague+, else
   0). */
uint64_t host_intrinsic_gas(evmjit_revision rev, const host_tx *tx, uint64_t *floor);

/* ---- small helpers shared with the runners --------------------------------------------- */

/* Parse a fork name as the fixtures spell it ("Cancun", "ConstantinopleFix", "EIP150"...);
   false when unknown. */
bool host_revision_from_name(const char *name, evmjit_revision *rev);
const char *host_revision_name(evmjit_revision rev);

#endif
