/* wip/store_impl.h - the directory artifact store: implementation.
   Spliced verbatim into evmjit_cache.h's implementation section right after the code cache
   runtime (it uses evmjit__alloc/evmjit__calloc/evmjit__free, evmjit__now_ns, the C11
   threads names (mtx_t, call_once: the TSan shim) and EVMJIT__PRINTF). Until then it
   is included after wip/cache_impl.h. POSIX: open/openat, fsync, renameat/linkat, dlopen. */
#ifdef EVMJIT_CACHE_IMPLEMENTATION
#ifndef EVMJIT_STORE_IMPLEMENTATION_DONE
#define EVMJIT_STORE_IMPLEMENTATION_DONE

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
#include <time.h>
#include <unistd.h>
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

#endif /* EVMJIT_STORE_IMPLEMENTATION_DONE */
#endif /* EVMJIT_CACHE_IMPLEMENTATION */
