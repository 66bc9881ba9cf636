/* `evmjit bench` (examples/bench.c): its JSON output, exit statuses and usage errors; and
   the exit statuses of `evmjit demo` (examples/demo.c) without the LLVM backend.

   test_bench FILE   check FILE, written by `evmjit bench --json FILE` over fixtures that must
                     all run correctly: a list of objects with the required keys and sane
                     values (tests/run_tool_tests.sh runs the command-line tool, then this).
   test_bench        run the bench in this process over small fixtures written to a temporary
                     directory (a revmc-style transaction list that succeeds, one that reverts,
                     a state test with a wrong post root, malformed JSON) and check the table's
                     verdicts through the JSON, then the usage errors. */
#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "examples/bench.h"
#include "examples/demo.h"

static bool is_positive_int(const json_t *j) {
    return json_is_integer(j) && json_integer_value(j) > 0;
}

static bool is_null_or_positive_int(const json_t *j) {
    return json_is_null(j) || is_positive_int(j);
}

/* compile_ns: null, or an object of phase -> nanoseconds (integers >= 0). */
static bool is_compile_times(const json_t *j) {
    if (json_is_null(j)) return true;
    if (!json_is_object(j)) return false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    }
    return true;
}

/* Check the shape of every row; rows whose status is "ok" must have a gas figure, at least
   5 runs and an interpreter time. Returns the parsed list (caller decrefs) or NULL. */
static json_t *check_json(const char *path, size_t want_rows) {
    json_error_t err;
    json_t *list = json_load_file(path, 0, &err);
    CHECKF(list != NULL, "%s: %s (line %d)", path, err.text, err.line);
    if (!list) return NULL;
    CHECKF(json_is_array(list), "%s: the top level is not a list", path);
    if (!json_is_array(list)) {
        json_decref(list);
        return NULL;
    }
    if (want_rows) CHECKF(json_array_size(list) == want_rows, "%zu rows", json_array_size(list));
    CHECK(json_array_size(list) > 0);
    static const char *const keys[] = {"name",          "gas_used",   "interp_ns",  "jit_ns",
                                       "aot_ns",        "compile_ns", "code_bytes", "aot_compile_ns",
                                       "aot_code_bytes", "status"};
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row) {
        CHECKF(json_is_object(row), "row %zu is not an object", i);
        if (!json_is_object(row)) continue;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            CHECKF(json_object_get(row, keys[k]) != NULL, "row %zu lacks %s", i, keys[k]);
        const char *name = json_string_value(json_object_get(row, "name"));
        const char *status = json_string_value(json_object_get(row, "status"));
        CHECKF(name && *name, "row %zu: name", i);
        CHECKF(status && *status, "row %zu: status", i);
        CHECKF(is_null_or_positive_int(json_object_get(row, "gas_used")), "row %zu: gas_used", i);
        CHECKF(is_null_or_positive_int(json_object_get(row, "interp_ns")), "row %zu: interp_ns", i);
        CHECKF(is_null_or_positive_int(json_object_get(row, "jit_ns")), "row %zu: jit_ns", i);
        CHECKF(is_null_or_positive_int(json_object_get(row, "aot_ns")), "row %zu: aot_ns", i);
        CHECKF(is_compile_times(json_object_get(row, "compile_ns")), "row %zu: compile_ns", i);
        CHECKF(is_compile_times(json_object_get(row, "aot_compile_ns")), "row %zu: aot_compile_ns", i);
        CHECKF(is_null_or_positive_int(json_object_get(row, "aot_code_bytes")),
               "row %zu: aot_code_bytes", i);
        CHECKF(is_null_or_positive_int(json_object_get(row, "code_bytes")), "row %zu: code_bytes",
               i);
        if (status && !strcmp(status, "ok")) {
            json_int_t gas = json_integer_value(json_object_get(row, "gas_used"));
            CHECKF(gas >= 21000, "row %zu (%s): gas_used %lld", i, name, (long long)gas);
            CHECKF(json_integer_value(json_object_get(row, "runs")) >= 5, "row %zu: runs", i);
            json_int_t ns = json_integer_value(json_object_get(row, "interp_ns"));
            CHECKF(ns > 0 && ns < 60 * 1000000000LL, "row %zu (%s): interp_ns %lld", i, name,
                   (long long)ns);
            /* a compiled mode that ran reports what compiling the contract took */
            bool failures = json_integer_value(json_object_get(row, "compile_failures")) > 0;
            if (!json_is_null(json_object_get(row, "jit_ns")) && !failures) {
                const json_t *t = json_object_get(row, "compile_ns");
                CHECKF(json_integer_value(json_object_get(t, "total")) > 0,
                       "row %zu (%s): JIT ran, but compile_ns.total is not positive", i, name);
                CHECKF(json_integer_value(json_object_get(t, "codegen")) > 0,
                       "row %zu (%s): compile_ns.codegen", i, name);
                CHECKF(is_positive_int(json_object_get(row, "code_bytes")), "row %zu (%s): code_bytes",
                       i, name);
                CHECKF(json_is_real(json_object_get(row, "jit_speedup")), "row %zu (%s): jit_speedup",
                       i, name);
            }
            if (!json_is_null(json_object_get(row, "aot_ns")) && !failures)
                CHECKF(json_integer_value(json_object_get(json_object_get(row, "aot_compile_ns"),
                                                          "link")) > 0,
                       "row %zu (%s): AOT ran, but aot_compile_ns.link is not positive", i, name);
        }
    }
    return list;
}

/* The row called `name`, or NULL. */
static const json_t *find_row(const json_t *list, const char *name) {
    size_t i;
    json_t *row;
    json_array_foreach((json_t *)list, i, row) {
        const char *n = json_string_value(json_object_get(row, "name"));
        if (n && !strcmp(n, name)) return row;
    }
    return NULL;
}

static const char *row_status(const json_t *list, const char *name) {
    const char *s = json_string_value(json_object_get(find_row(list, name), "status"));
    return s ? s : "(no such row)";
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECKF(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A revmc-style fixture: one contract at 0xcc..cc with `code`, called with no data. */
static void write_tx_list(const char *path, const char *name, const char *code) {
    char text[2048];
    snprintf(text, sizeof text,
             "{\"%s\": {\"env\": {\"currentBaseFee\": \"0x0\", \"currentCoinbase\": "
             "\"0x0000000000000000000000000000000000000000\", \"currentGasLimit\": "
             "\"0x7fffffffffffffff\", \"currentNumber\": \"0x1\", \"currentTimestamp\": \"0x1\"},"
             " \"pre\": {\"0x1111111111111111111111111111111111111111\": {\"balance\": "
             "\"0xffffffffffff\", \"code\": \"0x\", \"nonce\": \"0x0\", \"storage\": {}},"
             " \"0xcccccccccccccccccccccccccccccccccccccccc\": {\"balance\": \"0x0\", \"code\": "
             "\"%s\", \"nonce\": \"0x1\", \"storage\": {}}},"
             " \"transaction\": [{\"data\": \"0x\", \"gasLimit\": \"0x7fffffffffffffff\", "
             "\"gasPrice\": \"0x0\", \"nonce\": \"0x0\", \"sender\": "
             "\"0x1111111111111111111111111111111111111111\", \"to\": "
             "\"0xcccccccccccccccccccccccccccccccccccccccc\", \"value\": \"0x0\"}]}}\n",
             name, code);
    write_file(path, text);
}

/* A state test whose expected post root (0x00) is wrong. */
static void write_wrong_root(const char *path) {
    write_file(path,
               "{\"wrong_root\": {\"env\": {\"currentCoinbase\": "
               "\"0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba\", \"currentGasLimit\": "
               "\"0x05f5e100\", \"currentNumber\": \"0x01\", \"currentTimestamp\": \"0x03e8\","
               " \"currentDifficulty\": \"0x020000\", \"currentBaseFee\": \"0x0a\"},"
               " \"pre\": {\"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b\": {\"balance\": "
               "\"0x0de0b6b3a7640000\", \"nonce\": \"0x00\", \"code\": \"0x\", \"storage\": {}}},"
               " \"transaction\": {\"data\": [\"0x\"], \"gasLimit\": [\"0x0186a0\"], "
               "\"gasPrice\": \"0x0a\", \"nonce\": \"0x00\", \"to\": "
               "\"0x1000000000000000000000000000000000000000\", \"value\": [\"0x00\"], "
               "\"sender\": \"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b\"},"
               " \"post\": {\"Cancun\": [{\"hash\": \"0x00\", \"logs\": \"0x00\", \"indexes\": "
               "{\"data\": 0, \"gas\": 0, \"value\": 0}}]}}}\n");
}

static int run_bench(int argc, const char **argv) {
    char *args[16];
    for (int i = 0; i < argc && i < 16; i++) args[i] = (char *)(uintptr_t)argv[i];
    fflush(stdout);
    int rc = bench_main(argc, args);
    fflush(stdout);
    return rc;
}

static int run_demo(int argc, const char **argv) {
    char *args[16];
    for (int i = 0; i < argc && i < 16; i++) args[i] = (char *)(uintptr_t)argv[i];
    fflush(stdout);
    int rc = demo_main(argc, args);
    fflush(stdout);
    return rc;
}

static void in_process(void) {
    const char *tmp = getenv("TMPDIR");
    char dir[512], ok_dir[600], bad_dir[600], json[600], p[700];
    snprintf(dir, sizeof dir, "%s/evmjit-test-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(ok_dir, sizeof ok_dir, "%s/ok", dir);
    snprintf(bad_dir, sizeof bad_dir, "%s/bad", dir);
    snprintf(json, sizeof json, "%s/out.json", dir);
    CHECK(mkdir(ok_dir, 0700) == 0 && mkdir(bad_dir, 0700) == 0);

    /* PUSH1 1 PUSH1 0 SSTORE STOP: 21000 + 3 + 3 + 22100 (cold, zero to non-zero) gas, under
       Osaka with a gas limit far above EIP-7825's cap (as revmc's fixtures have) */
    snprintf(p, sizeof p, "%s/store.json", ok_dir);
    write_tx_list(p, "store", "0x600160005500");
    const char *ok_args[] = {"bench", "--min-time", "0", "--json", json, ok_dir};
    CHECK(run_bench(6, ok_args) == 0);
    json_t *list = check_json(json, 1);
    if (list) {
        const json_t *row = find_row(list, "store");
        CHECK(row != NULL);
        CHECK(json_integer_value(json_object_get(row, "gas_used")) == 43106);
        CHECK(!strcmp(row_status(list, "store"), "ok"));
        CHECK(json_integer_value(json_object_get(row, "runs")) >= 5);
        CHECK(!strcmp(json_string_value(json_object_get(row, "fork")), "Osaka"));
        json_decref(list);
    }
    /* --mode interp only, --filter, --name=value */
    unlink(json);
    const char *interp_args[] = {"bench", "--mode=interp", "--min-time=0", "--filter", "sto",
                                 "--json", json, ok_dir};
    CHECK(run_bench(8, interp_args) == 0);
    list = check_json(json, 1);
    if (list) {
        CHECK(json_is_null(json_object_get(find_row(list, "store"), "jit_ns")));
        json_decref(list);
    }

    /* failures are rows of the table (and the JSON), and make the exit status 1 */
    snprintf(p, sizeof p, "%s/revert.json", bad_dir);
    write_tx_list(p, "revert", "0x60006000fd"); /* REVERT(0, 0) */
    snprintf(p, sizeof p, "%s/wrong_root.json", bad_dir);
    write_wrong_root(p);
    snprintf(p, sizeof p, "%s/malformed.json", bad_dir);
    write_file(p, "{\"t\": {\"env\": {");
    snprintf(p, sizeof p, "%s/store.json", ok_dir);
    unlink(json);
    const char *bad_args[] = {"bench", "--min-time", "0", "--json", json, bad_dir, p};
    CHECK(run_bench(7, bad_args) == 1);
    list = check_json(json, 4);
    if (list) {
        CHECKF(strstr(row_status(list, "revert"), "FAIL interp: the transaction ended in revert"),
               "%s", row_status(list, "revert"));
        CHECKF(strstr(row_status(list, "wrong_root"), "FAIL interp: state root: expected"), "%s",
               row_status(list, "wrong_root"));
        CHECKF(strstr(row_status(list, "malformed.json"), "FAIL malformed JSON"), "%s",
               row_status(list, "malformed.json"));
        CHECK(!strcmp(row_status(list, "store"), "ok"));
        CHECK(json_is_null(json_object_get(find_row(list, "revert"), "interp_ns")));
        json_decref(list);
    }

    /* usage: --help is 0; a wrong option or value is 2; a missing path or a filter that
       matches nothing is 1 */
    const char *help[] = {"bench", "--help"};
    CHECK(run_bench(2, help) == 0);
    const char *unknown[] = {"bench", "--bogus", ok_dir};
    CHECK(run_bench(3, unknown) == 2);
    const char *mode[] = {"bench", "--mode", "fast", ok_dir};
    CHECK(run_bench(4, mode) == 2);
    const char *mode_list[] = {"bench", "--mode", "interp,", ok_dir};
    CHECK(run_bench(4, mode_list) == 2);
    const char *time[] = {"bench", "--min-time", "soon", ok_dir};
    CHECK(run_bench(4, time) == 2);
    const char *no_value[] = {"bench", "--json"};
    CHECK(run_bench(2, no_value) == 2);
    snprintf(p, sizeof p, "%s/nonexistent", dir);
    const char *missing[] = {"bench", "--min-time", "0", p};
    CHECK(run_bench(4, missing) == 1);
    const char *nothing[] = {"bench", "--filter", "no-such-benchmark", ok_dir};
    CHECK(run_bench(4, nothing) == 1);

    /* `evmjit demo` (examples/demo.c) over the same fixtures, without the LLVM backend (this
       test does not link it): interpreter only, no store to preload from and none made */
    char store[700];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(p, sizeof p, "%s/store.json", ok_dir);
    const char *demo_ok[] = {"demo", "--store", store, "--rounds", "3", p};
    CHECK(run_demo(6, demo_ok) == 0);
    struct stat st;
    CHECK(stat(store, &st) != 0); /* nothing to write: no directory made */
    const char *demo_bad[] = {"demo", "--store", store, "--rounds=2", bad_dir, p};
    CHECK(run_demo(6, demo_bad) == 1); /* the revert, the wrong root, the malformed file */
    const char *demo_help[] = {"demo", "--help"};
    CHECK(run_demo(2, demo_help) == 0);
    const char *demo_rounds[] = {"demo", "--rounds", "0", p};
    CHECK(run_demo(4, demo_rounds) == 2);
    const char *demo_threshold[] = {"demo", "--hot-threshold=many", p};
    CHECK(run_demo(3, demo_threshold) == 2);
    const char *demo_unknown[] = {"demo", "--bogus", p};
    CHECK(run_demo(3, demo_unknown) == 2);
    const char *demo_nothing[] = {"demo", "--filter", "no-such-benchmark", p};
    CHECK(run_demo(4, demo_nothing) == 1);

    snprintf(p, sizeof p, "%s/store.json", ok_dir);
    unlink(p);
    static const char *const bad_files[] = {"revert.json", "wrong_root.json", "malformed.json"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", bad_dir, bad_files[i]);
        unlink(p);
    }
    unlink(json);
    rmdir(ok_dir);
    rmdir(bad_dir);
    CHECK(rmdir(dir) == 0);
}

int main(int argc, char **argv) {
    if (argc == 2) {
        json_t *list = check_json(argv[1], 0);
        if (list) {
            size_t i;
            json_t *row;
            json_array_foreach(list, i, row) {
                const char *status = json_string_value(json_object_get(row, "status"));
                CHECKF(status && !strcmp(status, "ok"), "row %zu: status %s", i,
                       status ? status : "(none)");
            }
            json_decref(list);
        }
    } else {
        in_process();
    }
    evmjit_thread_cleanup();
    return check_summary();
}
