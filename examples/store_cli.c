/* examples/store_cli.c - the artifact store commands of the evmjit tool:

     evmjit aot --store DIR [--fork NAME]... [--opt 0..3] [--timeout SECONDS] FILE...
         precompile every contract found in FILEs (state tests, VM tests, any JSON fixture:
         every "code" value; or a raw hex file) for each fork (default Cancun) into the store
     evmjit store ls DIR        list artifacts, temporary files and orphans
     evmjit store verify DIR    re-check every artifact (manifest, length, keccak-256, symbol);
                                exits 1 if any is bad
     evmjit store gc DIR [--min-age SECONDS]
                                remove temporary leftovers and orphans older than the age
                                (default 600 s) and artifacts that fail verification

   `aot` needs the LLVM backend (evmjit_llvm.c linked into the tool; statetest_llvm_backend()
   finds it): without it `aot` says so. */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "evmjit_cache.h"
#include "host.h"
#include "statetest.h"



int store_cli_main(int argc, char **argv);

static void store_usage(FILE *out) {
    fprintf(out,
            "usage: evmjit store ls DIR\n"
            "       evmjit store verify DIR\n"
            "       evmjit store gc DIR [--min-age SECONDS]\n"
            "An artifact store is a directory of compiled contracts (a shared object and a\n"
            "manifest each) that runtimes preload and share.\n"
            "  ls      list every artifact (this build's, other profiles', bad ones), temporary\n"
            "          files and orphans\n"
            "  verify  re-check every artifact (manifest, length, keccak-256, symbol); exit\n"
            "          status 1 if any is bad\n"
            "  gc      remove artifacts that fail verification, and temporary files and\n"
            "          orphans older than --min-age SECONDS (default 600)\n"
            "  --help  this text (also: evmjit store ls --help, ...)\n"
            "Exit status: 0, 1 when something is bad (verify) or could not be removed (gc),\n"
            "2 on a usage error or a store that cannot be opened.\n");
}

static void aot_usage(FILE *out) {
    fprintf(out,
            "usage: evmjit aot --store DIR [--fork NAME]... [--opt 0..3] [--timeout SECONDS] FILE...\n"
            "Compile every contract found in FILEs (state tests, VM tests, any JSON fixture:\n"
            "every \"code\" value; or a raw hex file; directories are searched for *.json)\n"
            "ahead of time, with the LLVM backend, into the artifact store DIR (created if\n"
            "absent), for each fork. Contracts the store already holds are not compiled again.\n"
            "  --store DIR        the artifact store (required)\n"
            "  --fork NAME        a fork to compile for (repeatable; default Cancun)\n"
            "  --opt 0..3         optimisation level (default 2)\n"
            "  --timeout SECONDS  give up waiting for the compilations after this long\n"
            "                     (default 3600)\n"
            "  --help             this text\n"
            "Exit status: 0, 1 when a compilation or an input failed, 2 on a usage error or\n"
            "without the LLVM backend.\n");
}

/* A one-line error and the usage; returns 2. */
static int cli_usage_error(bool aot, const char *what, const char *arg) {
    fprintf(stderr, "evmjit %s: %s%s%s\n", aot ? "aot" : "store", what, arg ? " " : "",
            arg ? arg : "");
    if (aot) aot_usage(stderr);
    else store_usage(stderr);
    return 2;
}

/* Opens DIR (never creates it) with the LLVM backend's profile when there is one, so `ls`
   can tell this build's artifacts from others. */
static evmjit_store *cli_open(const char *dir, bool create, int opt_level) {
    evmjit_store_desc d;
    memset(&d, 0, sizeof d);
    d.path = dir;
    d.create = create;
    d.backend = statetest_llvm_backend();
    d.opt_level = opt_level;
    d.logger.log = statetest_log;
    evmjit_store *st = NULL;
    evmjit_error err = evmjit_store_open(&d, &st);
    if (err != EVMJIT_OK) {
        fprintf(stderr, "evmjit: cannot open the store %s: %s\n", dir, evmjit_error_name(err));
        return NULL;
    }
    return st;
}

/* ---- ls, verify ----------------------------------------------------------------------------- */

typedef struct cli_tally {
    bool verbose_bad; /* verify: print only what is wrong */
    long artifacts, valid, bad, foreign, temps, orphans;
} cli_tally;

static evmjit_error cli_visit(void *ctx, const evmjit_store_entry *e) {
    cli_tally *t = (cli_tally *)ctx;
    const evmjit_store_manifest *m = e->manifest;
    bool bad = e->kind == EVMJIT_STORE_ENTRY_ARTIFACT && e->status != EVMJIT_SKIP_NONE;
    if (e->kind == EVMJIT_STORE_ENTRY_ARTIFACT) {
        t->artifacts++;
        if (bad) t->bad++;
        else if (e->ours) t->valid++;
        else t->foreign++;
    }
    if (e->kind == EVMJIT_STORE_ENTRY_TEMP) t->temps++;
    if (e->kind == EVMJIT_STORE_ENTRY_ORPHAN) t->orphans++;
    if (t->verbose_bad && !bad) return EVMJIT_OK;
    const char *what = e->kind == EVMJIT_STORE_ENTRY_TEMP     ? "temp"
                       : e->kind == EVMJIT_STORE_ENTRY_ORPHAN ? "orphan"
                       : bad                                  ? "BAD"
                       : e->ours                              ? "ok"
                                                              : "foreign";
    if (m) {
        printf("%-7s 0x%02x%02x%02x%02x.. %-9s %s %s O%d %8llu B %6llus  %.40s\n", what,
               m->code_hash.bytes[0], m->code_hash.bytes[1], m->code_hash.bytes[2],
               m->code_hash.bytes[3], host_revision_name(m->rev), m->backend,
               m->compiler_version, m->opt_level, (unsigned long long)m->object_size,
               (unsigned long long)e->age_s, m->target);
    } else {
        printf("%-7s %-48s %6llus\n", what, e->file, (unsigned long long)e->age_s);
    }
    if (bad) printf("        %s: %s (%s)\n", e->file, evmjit_store_skip_name(e->status), e->detail);
    return EVMJIT_OK;
}

static int cli_ls_verify(const char *dir, bool verify) {
    evmjit_store *st = cli_open(dir, false, 0);
    if (!st) return 2;
    cli_tally t;
    memset(&t, 0, sizeof t);
    t.verbose_bad = verify;
    evmjit_error err = evmjit_store_iterate(st, verify ? EVMJIT_STORE_CHECK_SYMBOL : 0, cli_visit, &t);
    evmjit_store_close(st);
    if (err != EVMJIT_OK) {
        fprintf(stderr, "evmjit: %s: %s\n", dir, evmjit_error_name(err));
        return 2;
    }
    printf("%ld artifacts: %ld of this build, %ld of other profiles, %ld bad; %ld temporary "
           "files, %ld orphans\n", t.artifacts, t.valid, t.foreign, t.bad, t.temps, t.orphans);
    return verify && t.bad ? 1 : 0;
}

static int cli_gc(const char *dir, uint64_t min_age) {
    evmjit_store *st = cli_open(dir, false, 0);
    if (!st) return 2;
    evmjit_store_gc_report r;
    evmjit_error err = evmjit_store_gc(st, min_age, &r);
    evmjit_store_close(st);
    printf("gc: removed %llu bad artifacts, %llu temporary files, %llu orphans; kept %llu "
           "artifacts; %llu errors\n", (unsigned long long)r.artifacts_removed,
           (unsigned long long)r.temps_removed, (unsigned long long)r.orphans_removed,
           (unsigned long long)r.kept, (unsigned long long)r.errors);
    if (err != EVMJIT_OK) fprintf(stderr, "evmjit: %s: %s\n", dir, evmjit_error_name(err));
    return err != EVMJIT_OK || r.errors ? 1 : 0;
}

static bool cli_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return false;
    *out = v;
    return true;
}

/* ---- aot ------------------------------------------------------------------------------------ */

typedef struct cli_code {
    evmjit_bytes32 hash;
    uint8_t *bytes;
    size_t size;
} cli_code;

typedef struct cli_codes {
    cli_code *v;
    size_t n, cap;
} cli_codes;

/* Adds a code unless it is there already (linear: fixture sets hold thousands, not millions). */
static bool cli_add(cli_codes *c, const uint8_t *bytes, size_t size) {
    evmjit_bytes32 h = evmjit_keccak256(bytes, size);
    for (size_t i = 0; i < c->n; i++)
        if (!memcmp(c->v[i].hash.bytes, h.bytes, 32)) return true;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cli_code *v = (cli_code *)realloc(c->v, cap * sizeof *v);
        if (!v) return false;
        c->v = v;
        c->cap = cap;
    }
    uint8_t *copy = (uint8_t *)malloc(size);
    if (!copy) return false;
    memcpy(copy, bytes, size);
    c->v[c->n].hash = h;
    c->v[c->n].bytes = copy;
    c->v[c->n].size = size;
    c->n++;
    return true;
}

static int cli_hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Hex (optional 0x, whitespace ignored) to bytes (malloc). */
static bool cli_unhex(const char *s, size_t len, uint8_t **out, size_t *size) {
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
    if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) i += 2;
    uint8_t *b = (uint8_t *)malloc(len / 2 + 1);
    size_t n = 0;
    int hi = -1;
    if (!b) return false;
    for (; i < len; i++) {
        if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') continue;
        int v = cli_hexval(s[i]);
        if (v < 0) {
            free(b);
            return false;
        }
        if (hi < 0) hi = v;
        else b[n++] = (uint8_t)(hi << 4 | v), hi = -1;
    }
    if (hi >= 0) {
        free(b);
        return false;
    }
    *out = b;
    *size = n;
    return true;
}

/* Every non-empty "code" string anywhere in a JSON document (pre-states, VM tests). */
static void cli_walk(json_t *j, cli_codes *c, long *bad) {
    if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            if (!strcmp(key, "code") && json_is_string(v)) {
                uint8_t *b = NULL;
                size_t n = 0;
                if (!cli_unhex(json_string_value(v), json_string_length(v), &b, &n)) (*bad)++;
                else if (n && !cli_add(c, b, n)) (*bad)++;
                free(b);
            } else {
                cli_walk(v, c, bad);
            }
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) cli_walk(v, c, bad);
    }
}

/* A JSON fixture, or a raw hex file. Returns false if the file cannot be read at all. */
static bool cli_collect(const char *path, cli_codes *c, long *bad) {
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (j) {
        cli_walk(j, c, bad);
        json_decref(j);
        return true;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (int ch; (ch = fgetc(f)) != EOF;) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 4096;
            char *t = (char *)realloc(text, cap);
            if (!t) break;
            text = t;
        }
        text[len++] = (char)ch;
    }
    fclose(f);
    uint8_t *b = NULL;
    size_t n = 0;
    if (text && cli_unhex(text, len, &b, &n) && n) {
        if (!cli_add(c, b, n)) (*bad)++;
    } else {
        fprintf(stderr, "evmjit: %s: neither JSON (%s) nor hex\n", path, e.text);
        (*bad)++;
    }
    free(b);
    free(text);
    return true;
}

static struct {
    atomic_long done, compiled, from_store, failed;
} cli_aot;

static void cli_on_compilation(const evmjit_compilation_info *info, void *user) {
    (void)user;
    if (!info->success) atomic_fetch_add(&cli_aot.failed, 1);
    else if (info->from_store) atomic_fetch_add(&cli_aot.from_store, 1);
    else atomic_fetch_add(&cli_aot.compiled, 1);
    atomic_fetch_add(&cli_aot.done, 1);
}

static void cli_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The progress line: rewritten in place on a terminal, else one line now and then. */
static void cli_progress(size_t total, long resident, long skipped, bool end) {
    static time_t last;
    bool tty = isatty(2);
    if (!end && !tty) {
        if (time(NULL) < last + 5) return;
        last = time(NULL);
    }
    fprintf(stderr, "%saot: %ld/%zu done (compiled %ld, from the store %ld, already stored %ld, "
                    "failed %ld, not eligible %ld)%s",
            tty ? "\r" : "", atomic_load(&cli_aot.done) + resident + skipped, total, atomic_load(&cli_aot.compiled),
            atomic_load(&cli_aot.from_store), resident, atomic_load(&cli_aot.failed), skipped,
            end || !tty ? "\n" : "");
}

/* A path: a file, or a directory searched recursively for *.json. */
static void cli_collect_path(const char *path, cli_codes *c, long *bad, int depth) {
    DIR *d = depth < 32 ? opendir(path) : NULL;
    if (!d) {
        if (!cli_collect(path, c, bad)) {
            fprintf(stderr, "evmjit: cannot read %s: %s\n", path, strerror(errno));
            (*bad)++;
        }
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat s;
        if (stat(sub, &s) != 0) continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(s.st_mode)) cli_collect_path(sub, c, bad, depth + 1);
        else if (n > 5 && !strcmp(e->d_name + n - 5, ".json")) cli_collect(sub, c, bad);
    }
    closedir(d);
}

static int cli_aot_main(int argc, char **argv) {
    const char *dir = NULL;
    evmjit_revision revs[32];
    int nrev = 0, i = 2;
    uint64_t opt = 2, timeout_s = 3600;
    bool opt_given = false;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            aot_usage(stdout);
            return 0;
        }
        bool known = !strcmp(a, "--store") || !strcmp(a, "--fork") || !strcmp(a, "--opt") ||
                     !strcmp(a, "--timeout");
        if (!known) return cli_usage_error(true, "unknown option", a);
        if (!val) return cli_usage_error(true, a, "needs a value");
        i++;
        if (!strcmp(a, "--store")) {
            dir = val;
        } else if (!strcmp(a, "--fork")) {
            if (nrev == 32) return cli_usage_error(true, "more than 32 --fork", NULL);
            if (!host_revision_from_name(val, &revs[nrev]))
                return cli_usage_error(true, "unknown fork name", val);
            nrev++;
        } else if (!strcmp(a, "--opt")) {
            if (!cli_u64(val, &opt) || opt > 3) return cli_usage_error(true, "--opt: not 0..3:", val);
            opt_given = true;
        } else if (!cli_u64(val, &timeout_s)) {
            return cli_usage_error(true, "--timeout: not a number of seconds:", val);
        }
    }
    if (!dir) return cli_usage_error(true, "needs --store DIR", NULL);
    if (i >= argc) return cli_usage_error(true, "needs at least one FILE", NULL);
    const evmjit_backend *be = statetest_llvm_backend();
    if (!be || !be->compile_aot) {
        fprintf(stderr, "evmjit aot: needs the LLVM backend, and this evmjit was built without it "
                        "(install llvm-19-dev and link evmjit_llvm.c into the tool)\n");
        return 2;
    }
    if (!nrev) revs[nrev++] = EVMJIT_CANCUN;
    cli_codes codes;
    memset(&codes, 0, sizeof codes);
    long bad_input = 0;
    for (; i < argc; i++) cli_collect_path(argv[i], &codes, &bad_input, 0);
    int level = opt_given ? EVMJIT_O0 + (int)opt : 0;
    evmjit_store *st = cli_open(dir, true, level);
    if (!st) return 2;
    evmjit_runtime_desc d;
    memset(&d, 0, sizeof d);
    d.backend = be;
    d.store = evmjit_store_table(st);
    d.mode = EVMJIT_MODE_AOT;
    d.opt_level = level;
    d.enabled = true;
    d.hot_threshold = EVMJIT_OFF; /* lookups below only ask; they never trigger compilation */
    d.logger.log = statetest_log;
    d.on_compilation = cli_on_compilation;
    evmjit_runtime *rt = NULL;
    evmjit_error err = evmjit_runtime_create(&d, &rt); /* preloads what the store has */
    if (err != EVMJIT_OK) {
        fprintf(stderr, "evmjit aot: cannot create the runtime: %s\n", evmjit_error_name(err));
        evmjit_store_close(st);
        return 2;
    }
    size_t total = codes.n * (size_t)nrev;
    long resident = 0, skipped = 0, refused = 0;
    uint64_t last = 0;
    for (size_t k = 0; k < codes.n; k++) {
        for (int r = 0; r < nrev; r++) {
            const cli_code *c = &codes.v[k];
            evmjit_program *p = NULL;
            evmjit_lookup_outcome o = evmjit_lookup(rt, &c->hash, c->bytes, c->size, revs[r], &p);
            if (o == EVMJIT_LOOKUP_HIT) {
                evmjit_lookup_release(rt, p);
                resident++;
                continue;
            }
            if (o == EVMJIT_LOOKUP_INELIGIBLE) {
                skipped++;
                continue;
            }
            for (int tries = 0; tries < 60000; tries++) { /* BUSY: the queue drains */
                err = evmjit_prepare_aot(rt, &c->hash, c->bytes, c->size, revs[r]);
                if (err != EVMJIT_ERR_BUSY) break;
                cli_sleep_ms(10);
            }
            if (err == EVMJIT_ERR_INELIGIBLE) skipped++;
            else if (err != EVMJIT_OK) refused++;
            uint64_t now = (uint64_t)time(NULL);
            if (now != last) cli_progress(total, resident, skipped, false), last = now;
        }
    }
    /* wait for every job: the runtime has none pending once all requests were handled */
    uint64_t waited_ms = 0;
    for (;; waited_ms += 200) {
        evmjit_runtime_stats s;
        evmjit_runtime_sync(rt, 1000);
        evmjit_runtime_get_stats(rt, &s);
        if (!s.pending_jobs && !s.queued_commands) break;
        if (waited_ms >= timeout_s * 1000) {
            fprintf(stderr, "\nevmjit aot: gave up after %llu s (--timeout)\n", (unsigned long long)timeout_s);
            refused++;
            break;
        }
        cli_progress(total, resident, skipped, false);
        cli_sleep_ms(200);
    }
    cli_progress(total, resident, skipped, true);
    evmjit_runtime_destroy(rt);
    evmjit_store_stats ss;
    evmjit_store_get_stats(st, &ss);
    evmjit_store_close(st);
    printf("aot: %zu codes x %d forks into %s: %llu artifacts written, %ld failed, %ld bad inputs\n",
           codes.n, nrev, dir, (unsigned long long)ss.stored,
           atomic_load(&cli_aot.failed) + refused, bad_input);
    for (size_t k = 0; k < codes.n; k++) free(codes.v[k].bytes);
    free(codes.v);
    return atomic_load(&cli_aot.failed) + refused + bad_input ? 1 : 0;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

/* `evmjit aot ...` and `evmjit store ...`: argv[1] is the command. Returns the exit status. */
int store_cli_main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "aot")) return cli_aot_main(argc, argv);
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            store_usage(stdout);
            return 0;
        }
    if (argc < 3) return cli_usage_error(false, "needs a subcommand: ls, verify or gc", NULL);
    const char *cmd = argv[2];
    bool gc = !strcmp(cmd, "gc");
    if (!gc && strcmp(cmd, "ls") && strcmp(cmd, "verify"))
        return cli_usage_error(false, "unknown subcommand", cmd);
    const char *dir = NULL;
    uint64_t age = 600;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (gc && (!strcmp(a, "--min-age") || !strncmp(a, "--min-age=", 10))) {
            const char *val = a[9] == '=' ? a + 10 : i + 1 < argc ? argv[++i] : NULL;
            if (!val) return cli_usage_error(false, "--min-age needs a value", NULL);
            if (!cli_u64(val, &age))
                return cli_usage_error(false, "--min-age: not a number of seconds:", val);
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error(false, "unknown option", a);
        } else if (dir) {
            return cli_usage_error(false, "takes one DIR; extra argument", a);
        } else {
            dir = a;
        }
    }
    if (!dir) return cli_usage_error(false, "needs a store DIR", NULL);
    if (gc) return cli_gc(dir, age);
    return cli_ls_verify(dir, !strcmp(cmd, "verify"));
}
