/* wip/store_decl.h - the directory artifact store: public declarations.
   Spliced verbatim into evmjit_cache.h's declaration section right after the code cache
   runtime's declarations (it uses evmjit_artifact, evmjit_artifact_object, evmjit_backend and
   evmjit_artifact_store). Until then it is included right after evmjit_cache.h (and
   wip/cache_decl.h). The manual text for "Artifact store layout" is the block below. */
#ifndef EVMJIT_STORE_DECL_H
#define EVMJIT_STORE_DECL_H

/* ============================================================================================
   The directory artifact store
   ============================================================================================

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
*/

#include <stdint.h>

/* The evmjit ABI version compiled code is built against: the evmjit_frame layout, the builtin
   indices and their signature. Part of every artifact key. */
#ifndef EVMJIT_ABI_VERSION
#define EVMJIT_ABI_VERSION 1
#endif

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

#endif /* EVMJIT_STORE_DECL_H */
