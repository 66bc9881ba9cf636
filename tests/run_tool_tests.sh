#!/usr/bin/env bash
# Conformance through the command-line tool (test.sh runs this after the unit tests):
#   build/evmjit statetest  $EVMJIT_FIXTURES/state                    (GeneralStateTests, Osaka)
#   build/evmjit vmtest     $EVMJIT_FIXTURES/vm/VMTests               (legacy VM tests)
#   build/evmjit statetest  $EVMJIT_FIXTURES/bench/evm-benchmarks     (London post states)
#   build/evmjit bench      two small bench fixtures, its JSON checked by build/tests/test_bench
#                           and against tests/bench.schema.json; make bench-chart on it
#   build/evmjit demo       twice on one small fixture and one store (the second preloads)
#   build/evmjit bench-cache, and --help and a wrong option for every command
#   build/prewarm           a short synthetic block without and with prewarm (and --no-jit)
#   the state and VM tests again through build/libevmjit.so (--evmc) in interpreter, jit and
#   tiered modes; a fifth of the state tests and all VM tests in aot mode
# plus bad-input checks: malformed JSON, an odd-length hex string and an unknown fork name must
# each be reported as a failure (exit status 1), never crash the tool.
# Ends with the summed "N passed, M failed[, K skipped]"; exits 1 on any failure.
set -u
cd "$(dirname "$0")/.."
TOOL="${EVMJIT_TOOL:-build/evmjit}"
FIX="${EVMJIT_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
MODE="${EVMJIT_MODE:-interp}"
SKIPLIST=tests/statetest_skip.txt

pass=0; fail=0; skip=0

if [ ! -x "$TOOL" ]; then
    echo "FAIL $TOOL is missing: build it with make"
    echo "0 passed, 1 failed"
    exit 1
fi

# run_suite NAME ARGS...: run the tool, add up its closing line. A run without that line, or
# one killed by a signal, counts as one failure.
run_suite() {
    local name="$1"; shift
    local log
    log=$(mktemp)
    local start=$SECONDS
    "$TOOL" "$@" >"$log" 2>&1
    local rc=$?
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ] || [ "$rc" -gt 1 ]; then
        echo "FAIL $name: exit status $rc, no summary line"; tail -n 20 "$log"
        fail=$((fail + 1)); rm -f "$log"; return
    fi
    local p f s
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p'); s=${s:-0}
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    if [ "$f" != 0 ]; then
        echo "FAIL $name: $line ($((SECONDS - start)) s)"
        grep -E '^FAIL' "$log" | head -n 30
    else
        echo "ok   $name: $line ($((SECONDS - start)) s)"
    fi
    grep -E '^SKIP' "$log" | sed -E 's/^SKIP [^:]*: [^:]*: //' | sort | uniq -c | sort -rn | head -n 5 |
        sed 's/^/     SKIP reason: /'
    rm -f "$log"
}

skip_list_args=()
[ -f "$SKIPLIST" ] && skip_list_args=(--skip-list "$SKIPLIST")

# ---- conformance ------------------------------------------------------------------------------
if [ -d "$FIX/state" ]; then
    run_suite "state tests" statetest --mode "$MODE" "${skip_list_args[@]}" "$FIX/state"
else
    echo "SKIP: state tests: fixtures not found at $FIX/state (set EVMJIT_FIXTURES)"
    skip=$((skip + 1))
fi
if [ -d "$FIX/vm/VMTests" ]; then
    run_suite "VM tests" vmtest --mode "$MODE" "${skip_list_args[@]}" "$FIX/vm/VMTests"
else
    echo "SKIP: VM tests: fixtures not found at $FIX/vm/VMTests (set EVMJIT_FIXTURES)"
    skip=$((skip + 1))
fi
if [ -d "$FIX/bench/evm-benchmarks" ]; then
    run_suite "evm-benchmarks" statetest --mode "$MODE" "$FIX/bench/evm-benchmarks"
else
    echo "SKIP: evm-benchmarks: fixtures not found at $FIX/bench/evm-benchmarks (set EVMJIT_FIXTURES)"
    skip=$((skip + 1))
fi

# ---- through the EVMC module ----------------------------------------------------------------
# The tool acts as a plain EVMC host (--evmc: every frame runs through vm->execute of the
# dlopen'ed module) and must give the same results in each mode. jit compiles every frame
# before it runs (blocking); tiered is the default: interpret until hot, compile in the
# background. Compiled modes need the LLVM backend in the module.
MODULE="$(dirname "$TOOL")/libevmjit.so"
if [ ! -f "$MODULE" ]; then
    echo "FAIL EVMC module: $MODULE is missing: build it with make"
    fail=$((fail + 1))
elif [ -d "$FIX/state" ]; then
    run_suite "state tests via libevmjit.so, interpreter" statetest --evmc "$MODULE" \
        --evmc-option mode=interpreter "${skip_list_args[@]}" "$FIX/state"
    if "$TOOL" statetest --evmc "$MODULE" --evmc-option mode=jit "$FIX/state/osaka" >/dev/null 2>&1; then
        run_suite "state tests via libevmjit.so, jit" statetest --evmc "$MODULE" \
            --evmc-option mode=jit --evmc-option blocking=1 "${skip_list_args[@]}" "$FIX/state"
        run_suite "VM tests via libevmjit.so, jit" vmtest --evmc "$MODULE" \
            --evmc-option mode=jit --evmc-option blocking=1 "$FIX/vm/VMTests"
        # jit above runs the default level's first compilation of every code: the baseline
        # tier. Level 3 compiles every code on the full tier (what a hot program is upgraded to).
        run_suite "state tests via libevmjit.so, jit, opt_level 3 (full tier)" statetest --evmc "$MODULE" \
            --evmc-option mode=jit --evmc-option blocking=1 --evmc-option opt_level=3 \
            "${skip_list_args[@]}" "$FIX/state"
        run_suite "VM tests via libevmjit.so, jit, opt_level 3 (full tier)" vmtest --evmc "$MODULE" \
            --evmc-option mode=jit --evmc-option blocking=1 --evmc-option opt_level=3 "$FIX/vm/VMTests"
        run_suite "state tests via libevmjit.so, tiered" statetest --evmc "$MODULE" \
            --evmc-option mode=tiered "${skip_list_args[@]}" "$FIX/state"
        # aot with a store, twice: the second process must find every program preloaded
        # (EVMJIT_STATS: no compilation, no miss) and still pass.
        store_dir=$(mktemp -d)
        aot_args=(statetest --evmc "$MODULE" --evmc-option mode=aot --evmc-option blocking=1
                  --evmc-option "store=$store_dir/store" "$FIX/state/GeneralStateTests/stExample")
        run_suite "stExample via libevmjit.so, aot (compiles, persists)" "${aot_args[@]}"
        second=$(EVMJIT_STATS=1 "$TOOL" "${aot_args[@]}" 2>&1); rc=$?
        if [ "$rc" = 0 ] && echo "$second" | grep -q 'misses 0, .* compiled 0, failed 0'; then
            echo "ok   aot restart: a second process ran stExample from the preloaded store"
            pass=$((pass + 1))
        else
            echo "FAIL aot restart: exit status $rc, expected no miss and no compilation:"
            echo "$second" | tail -n 3
            fail=$((fail + 1))
        fi
        rm -rf "$store_dir"
    else
        echo "SKIP: EVMC module jit/tiered: this build has no LLVM backend (see make llvm-status)"
        skip=$((skip + 1))
    fi
else
    echo "SKIP: EVMC module: fixtures not found at $FIX/state (set EVMJIT_FIXTURES)"
    skip=$((skip + 1))
fi

# ---- AOT through the tool -----------------------------------------------------------------------
# --mode aot compiles every frame into a shared object (linked with cc) before it runs. Linking
# dominates, so the state tests run one deterministic fifth of the files (--shard 0/5: by a
# hash of the file name); the legacy VM tests run whole.
if [ -d "$FIX/state" ] && [ -d "$FIX/vm/VMTests" ]; then
    if "$TOOL" statetest --mode aot "$FIX/state/osaka" >/dev/null 2>&1; then
        run_suite "state tests, aot, shard 0/5" statetest --mode aot --shard 0/5 "${skip_list_args[@]}" "$FIX/state"
        run_suite "VM tests, aot" vmtest --mode aot "$FIX/vm/VMTests"
    else
        echo "SKIP: aot mode: this build has no LLVM backend (see make llvm-status)"
        skip=$((skip + 1))
    fi
    # the five shards split the VM tests exactly
    total=0
    for k in 0 1 2 3 4; do
        n=$("$TOOL" vmtest --shard "$k/5" "$FIX/vm/VMTests" 2>&1 | sed -nE 's/^([0-9]+) passed, 0 failed$/\1/p')
        total=$((total + ${n:-0}))
    done
    whole=$("$TOOL" vmtest "$FIX/vm/VMTests" 2>&1 | sed -nE 's/^([0-9]+) passed, 0 failed$/\1/p')
    if [ -n "$whole" ] && [ "$total" = "$whole" ]; then
        echo "ok   --shard: five shards of the VM tests add up to the $whole tests"
        pass=$((pass + 1))
    else
        echo "FAIL --shard: five shards of the VM tests give $total tests, the whole run ${whole:-?}"
        fail=$((fail + 1))
    fi
fi
# check NAME STATUS [DETAILS...]: one check passed (STATUS 0) or failed (then DETAILS show).
check() {
    local name="$1" status="$2"; shift 2
    if [ "$status" = 0 ]; then
        echo "ok   $name"; pass=$((pass + 1))
    else
        echo "FAIL $name"; [ $# -gt 0 ] && printf '%s\n' "$@" | tail -n 15
        fail=$((fail + 1))
    fi
}
# field TEXT KEY: the value of KEY in the "demo: key=value ..." line of TEXT
field() { echo "$1" | sed -nE "s/^demo: (.* )?$2=([0-9]+)( .*)?$/\2/p" | tail -n 1; }

# ---- bench ------------------------------------------------------------------------------------
# One short run over two small fixtures (a state test, whose post root the bench checks, and a
# revmc transaction list): exit status 0, a table with the compile columns and the phase table,
# and a JSON list with the required keys and sane values (build/tests/test_bench FILE checks
# it) that passes the schema tests/bench.schema.json (Debian's python3-jsonschema), which a
# broken copy must fail. Then make bench-chart draws it (gnuplot).
CHECKER="$(dirname "$TOOL")/tests/test_bench"
PY="${EVMJIT_PYTHON:-/usr/bin/python3}"
[ -x "$PY" ] || PY=python3
bench_fixtures=("$FIX/bench/evm-benchmarks/JUMPDEST_n0.json" "$FIX/bench/revmc/counter.json")
if [ ! -f "${bench_fixtures[0]}" ] || [ ! -f "${bench_fixtures[1]}" ]; then
    echo "SKIP: bench: fixtures not found at $FIX/bench (set EVMJIT_FIXTURES)"
    skip=$((skip + 1))
elif [ ! -x "$CHECKER" ]; then
    echo "FAIL bench: $CHECKER is missing: build it with make"
    fail=$((fail + 1))
else
    bench_dir=$(mktemp -d)
    bench_json="$bench_dir/bench.json"
    out=$("$TOOL" bench --min-time 0 --json "$bench_json" "${bench_fixtures[@]}" 2>&1); rc=$?
    check_out=$("$CHECKER" "$bench_json" 2>&1); check_rc=$?
    if [ "$rc" = 0 ] && [ "$check_rc" = 0 ] && echo "$out" | grep -q '^geometric mean.* 2 ok, 0 failed$'; then
        echo "ok   bench: 2 fixtures timed, JSON checked ($(echo "$check_out" | tail -n 1))"
        pass=$((pass + 1))
    else
        echo "FAIL bench: exit status $rc, JSON check exit status $check_rc, output:"
        echo "$out" | tail -n 8; echo "$check_out" | tail -n 8
        fail=$((fail + 1))
    fi
    if echo "$out" | grep -q '^n/a: jit'; then
        echo "SKIP: bench compile columns: this build has no LLVM backend"; skip=$((skip + 1))
    else
        # --first-tier: upgrades off, so the provisional program stays and nothing may wait
        # for it (the settling loop would take its full 60 s)
        t0=$SECONDS
        ft_out=$("$TOOL" bench --first-tier --mode jit --min-time 0 "${bench_fixtures[1]}" 2>&1); ft_rc=$?
        [ "$ft_rc" = 0 ] && [ $((SECONDS - t0)) -lt 30 ] && echo "$ft_out" | grep -qE '^counter .* ok$'
        check "bench --first-tier: times the first tier without waiting for upgrades" $? \
            "exit status $ft_rc after $((SECONDS - t0)) s" "$ft_out"
        echo "$out" | grep -qE '^benchmark .* compile +code +status$' &&
            echo "$out" | grep -q '^compilation by phase' &&
            echo "$out" | grep -qE '^counter +1 +[0-9.]+ [num]?s .* [0-9.]+ (B|KiB)'
        check "bench: compile time and code size columns, phase table" $? "$out"
    fi
    if ! "$PY" -c 'import jsonschema' 2>/dev/null; then
        echo "SKIP: bench schema: $PY has no jsonschema module (Debian's python3-jsonschema; test.sh installs it)"
        skip=$((skip + 1))
    else
        schema_out=$("$PY" tests/check_json_schema.py tests/bench.schema.json "$bench_json" 2>&1)
        check "bench: JSON passes tests/bench.schema.json" $? "$schema_out"
        # the schema must catch a broken document: a number for a status, a string for a time
        sed -E 's/"status": "ok"/"status": 7/; s/"interp_ns": ([0-9]+)/"interp_ns": "\1"/' \
            "$bench_json" >"$bench_dir/broken.json"
        schema_out=$("$PY" tests/check_json_schema.py tests/bench.schema.json "$bench_dir/broken.json" 2>&1)
        schema_rc=$?
        [ "$schema_rc" = 1 ] && echo "$schema_out" | grep -q 'status: 7 is not of type' &&
            echo "$schema_out" | grep -q "interp_ns: '[0-9]*' is not of type"
        check "bench: the schema rejects a broken JSON" $? "exit status $schema_rc" "$schema_out"
    fi
    if ! command -v gnuplot >/dev/null 2>&1; then
        echo "SKIP: bench-chart: no gnuplot (Debian's gnuplot-nox; test.sh installs it)"; skip=$((skip + 1))
    elif [ "$TOOL" != build/evmjit ]; then
        echo "SKIP: bench-chart: make targets are checked with build/evmjit only"; skip=$((skip + 1))
    else
        chart_out=$(make --no-print-directory bench-chart BENCH_JSON="$bench_json" \
                        BENCH_CHART="$bench_dir/chart.png" 2>&1); chart_rc=$?
        [ "$chart_rc" = 0 ] && [ "$(head -c 8 "$bench_dir/chart.png" 2>/dev/null | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
        check "bench-chart: make bench-chart draws a PNG from the JSON" $? "exit status $chart_rc" "$chart_out"
    fi
    rm -rf "$bench_dir"
fi

# ---- prewarm example --------------------------------------------------------------------------
# build/prewarm on a short block over two small fixtures, with the build's backend and with
# --no-jit: exit status 0, both runs reported, every transaction with the interpreter's result;
# with a backend the prewarm session ran (its report accounts for all 40 transactions), without
# one it is refused and the figures are the interpreter's.
PREWARM="$(dirname "$TOOL")/prewarm"
pw_fixtures=("$FIX/bench/revmc/fibonacci-calldata.json" "$FIX/bench/revmc/factorial.json")
if [ ! -f "${pw_fixtures[0]}" ] || [ ! -f "${pw_fixtures[1]}" ]; then
    echo "SKIP: prewarm example: fixtures not found at $FIX/bench (set EVMJIT_FIXTURES)"
    skip=$((skip + 1))
elif [ ! -x "$PREWARM" ]; then
    echo "FAIL prewarm example: $PREWARM is missing: build it with make"
    fail=$((fail + 1))
else
    for variant in backend no-jit; do
        args=(--txs 40 --workers 2)
        [ "$variant" = no-jit ] && args+=(--no-jit)
        out=$("$PREWARM" "${args[@]}" "${pw_fixtures[@]}" 2>&1); rc=$?
        ok=1
        [ "$rc" = 0 ] || ok=0
        echo "$out" | grep -q '^without prewarm: .* frames native' || ok=0
        echo "$out" | grep -q '^with prewarm: .* frames native' || ok=0
        echo "$out" | grep -q '^results: 80 of 80 transactions gave the interpreter' || ok=0
        if echo "$out" | grep -q '^backend: none'; then
            echo "$out" | grep -q '^with prewarm: .*prewarm unavailable' || ok=0
        else
            # run + skipped + not run == 40, and no callback failed
            echo "$out" | grep -Eq '^prewarm report: +[0-9]+ transactions run' || ok=0
            sum=$(echo "$out" | sed -nE 's/^prewarm report: +([0-9]+) transactions run, ([0-9]+) skipped, ([0-9]+) not run, 0 errors.*/\1 + \2 + \3/p')
            [ -n "$sum" ] && [ "$((sum))" = 40 ] || ok=0
        fi
        if [ "$ok" = 1 ]; then
            echo "ok   prewarm example ($variant): $(echo "$out" | grep '^with prewarm:' | sed 's/  */ /g')"
            pass=$((pass + 1))
        else
            echo "FAIL prewarm example ($variant): exit status $rc, output:"; echo "$out" | tail -n 8
            fail=$((fail + 1))
        fi
    done
fi

# ---- demo -------------------------------------------------------------------------------------
# The tiered runtime on one small fixture, twice on one store, 12 rounds each. With LLVM: the
# first run interprets until the contract is hot (8 executions), compiles it in the background
# and writes the artifact; the second preloads it and runs native from round 1, compiling
# nothing; --fresh starts cold again; a tool without LLVM ($EVMJIT_TOOL_NOLLVM) preloads the
# same artifact and runs native. The store directory gets mode 0755 under any umask; one that
# others can write is refused (and the demo goes on without it). Without LLVM: interpreter
# only, saying so.
demo_fix="$FIX/bench/revmc/fibonacci-calldata.json"
if [ ! -f "$demo_fix" ]; then
    echo "SKIP: demo: fixtures not found at $FIX/bench (set EVMJIT_FIXTURES)"; skip=$((skip + 1))
else
    demo_dir=$(mktemp -d)
    store="$demo_dir/store"
    out1=$(umask 077; "$TOOL" demo --store "$store" --rounds 12 "$demo_fix" 2>&1); rc1=$?
    if [ "$(field "$out1" llvm)" = 1 ]; then
        [ "$rc1" = 0 ] && [ "$(field "$out1" executions)" = 12 ] && [ "$(field "$out1" failed_rows)" = 0 ] &&
            [ "$(field "$out1" compiled)" = 1 ] && [ "$(field "$out1" stored)" = 1 ] &&
            [ "$(field "$out1" preloaded)" = 0 ] && [ "$(field "$out1" interpreted)" -ge 8 ] &&
            [ "$(stat -c %a "$store")" = 755 ] &&
            echo "$out1" | grep -qE '^fibonacci-calldata +[0-9]+ +[0-9]+ +0 +[-0-9]+ +[0-9.]+ [mun]?s +written'
        check "demo, first run: interpreted until hot, compiled in the background, written to the store (mode 755 under umask 077)" $? "exit status $rc1" "$out1"
        out2=$("$TOOL" demo --store "$store" --rounds 12 "$demo_fix" 2>&1); rc2=$?
        [ "$rc2" = 0 ] && [ "$(field "$out2" preloaded)" -ge 1 ] && [ "$(field "$out2" native)" = 12 ] &&
            [ "$(field "$out2" interpreted)" = 0 ] && [ "$(field "$out2" compiled)" = 0 ] &&
            [ "$(field "$out2" stored)" = 0 ] && [ "$(field "$out2" failed_rows)" = 0 ] &&
            echo "$out2" | grep -qE '^fibonacci-calldata +0 +12 +0 +1 +- +preloaded .*x +ok$'
        check "demo, second run: the program is preloaded from the store and runs native from round 1" $? "exit status $rc2" "$out2"
        out3=$("$TOOL" demo --store "$store" --rounds 12 --fresh "$demo_fix" 2>&1); rc3=$?
        [ "$rc3" = 0 ] && [ "$(field "$out3" preloaded)" = 0 ] && [ "$(field "$out3" compiled)" = 1 ] &&
            [ "$(field "$out3" stored)" = 1 ]
        check "demo --fresh: the store is emptied first, the contract compiled again" $? "exit status $rc3" "$out3"
        if [ -n "${EVMJIT_TOOL_NOLLVM:-}" ]; then
            outn=$("$EVMJIT_TOOL_NOLLVM" demo --store "$store" --rounds 4 "$demo_fix" 2>&1); rcn=$?
            [ "$rcn" = 0 ] && [ "$(field "$outn" llvm)" = 0 ] && [ "$(field "$outn" preloaded)" -ge 1 ] &&
                [ "$(field "$outn" native)" = 4 ] && echo "$outn" | grep -q 'built without the LLVM backend'
            check "demo without LLVM: says so, and runs the stored program native" $? "exit status $rcn" "$outn"
        else
            echo "SKIP: demo without LLVM: set EVMJIT_TOOL_NOLLVM to a tool built without it (test.sh does)"
            skip=$((skip + 1))
        fi
    else
        [ "$rc1" = 0 ] && [ "$(field "$out1" llvm)" = 0 ] && [ "$(field "$out1" interpreted)" = 12 ] &&
            echo "$out1" | grep -q 'built without the LLVM backend'
        check "demo without LLVM: interpreter only, saying so" $? "exit status $rc1" "$out1"
    fi
    mkdir "$demo_dir/open" && chmod 777 "$demo_dir/open"
    outu=$("$TOOL" demo --store "$demo_dir/open" --rounds 2 "$demo_fix" 2>&1); rcu=$?
    [ "$rcu" = 0 ] && echo "$outu" | grep -qE "^  store +none: cannot open .*open \(untrusted" &&
        [ "$(field "$outu" stored)" = 0 ] && [ -z "$(ls -A "$demo_dir/open")" ]
    check "demo: a store directory that others can write is refused" $? "exit status $rcu" "$outu"
    if [ "$TOOL" = build/evmjit ]; then
        outm=$(make --no-print-directory demo DEMO_ARGS="--store $demo_dir/make --rounds 2 $demo_fix" 2>&1); rcm=$?
        [ "$rcm" = 0 ] && [ "$(field "$outm" executions)" = 2 ]
        check "make demo runs build/evmjit demo" $? "exit status $rcm" "$outm"
    fi
    rm -rf "$demo_dir"
fi

# ---- bench-cache ------------------------------------------------------------------------------
# The cache microbenchmarks, with a preload of 20 artifacts when the tool has LLVM: exit status
# 0 and the machine-readable last line with every figure.
outc=$("$TOOL" bench-cache --artifacts 20 2>&1); rcc=$?
last=$(echo "$outc" | tail -n 1)
want_preload=0; echo "$outc" | grep -q '^preload: .*skipped' || want_preload=20
[ "$rcc" = 0 ] && echo "$last" | grep -qE '^lookup_hit_ns=[0-9.]+ lookup_miss_ns=[0-9.]+ hit_2t_speedup=[0-9.]+ push_ns=[0-9.]+ drain_ns=[0-9.]+ preload_artifacts=[0-9]+ preload_us_per_artifact=-?[0-9.]+$' &&
    echo "$last" | grep -q " preload_artifacts=$want_preload " &&
    { [ "$want_preload" = 0 ] || echo "$last" | grep -qE 'preload_us_per_artifact=[0-9]*[1-9][0-9]*\.'; }
check "bench-cache: figures and the machine-readable line (preload of $want_preload artifacts)" $? "exit status $rcc" "$outc"

# ---- --help and wrong options -----------------------------------------------------------------
# Every command: --help prints its usage on stdout and exits 0; a wrong option gets a one-line
# error naming it, then the usage, on stderr, and exit status 2.
for cmd in "" demo bench bench-cache statetest vmtest aot store "store ls" "store verify" "store gc" keccak; do
    read -r -a words <<<"$cmd"
    first="${words[0]:-}"
    title="${cmd:-(no command)}"
    help_out=$("$TOOL" "${words[@]}" --help 2>/dev/null); help_rc=$?
    [ "$help_rc" = 0 ] && echo "$help_out" | head -n 1 | grep -q "^usage: evmjit $first"
    check "--help: evmjit $title" $? "exit status $help_rc" "$help_out"
    bad_err=$("$TOOL" "${words[@]}" --no-such-option 2>&1 >/dev/null); bad_rc=$?
    [ "$bad_rc" = 2 ] && echo "$bad_err" | head -n 1 | grep -q "^evmjit.*--no-such-option" &&
        echo "$bad_err" | sed -n 2p | grep -q "^usage: evmjit $first"
    check "wrong option: evmjit $title" $? "exit status $bad_rc" "$bad_err"
done

# ---- bad input --------------------------------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
good_test() { # a minimal valid state test; $1 replaces the code, $2 the fork name
    cat <<EOF
{"t": {"env": {"currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
               "currentGasLimit": "0x05f5e100", "currentNumber": "0x01",
               "currentTimestamp": "0x03e8", "currentDifficulty": "0x020000",
               "currentBaseFee": "0x0a"},
       "pre": {"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b":
                   {"balance": "0x0de0b6b3a7640000", "nonce": "0x00", "code": "0x", "storage": {}},
               "0x1000000000000000000000000000000000000000":
                   {"balance": "0x00", "nonce": "0x00", "code": "$1", "storage": {}}},
       "transaction": {"data": ["0x"], "gasLimit": ["0x0186a0"], "gasPrice": "0x0a",
                       "nonce": "0x00", "to": "0x1000000000000000000000000000000000000000",
                       "value": ["0x00"], "sender": "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b",
                       "secretKey": "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8"},
       "post": {"$2": [{"hash": "0x00", "logs": "0x00", "indexes": {"data": 0, "gas": 0, "value": 0}}]}}}
EOF
}
printf '{"t": {"env": {' >"$tmp/malformed.json"
good_test "0x6001600" "Cancun" >"$tmp/oddhex.json"
good_test "0x00" "NoSuchFork" >"$tmp/unknownfork.json"
# check_bad NAME FILE PATTERN: the tool must exit with status 1 and print PATTERN
check_bad() {
    local out rc
    out=$("$TOOL" statetest "$2" 2>&1); rc=$?
    if [ "$rc" = 1 ] && echo "$out" | grep -q "$3"; then
        echo "ok   bad input: $1 reported"
        pass=$((pass + 1))
    else
        echo "FAIL bad input: $1: exit status $rc (want 1), output:"; echo "$out" | head -n 5
        fail=$((fail + 1))
    fi
}
check_bad "malformed JSON" "$tmp/malformed.json" "malformed JSON"
check_bad "odd-length hex" "$tmp/oddhex.json" "odd-length hex"
check_bad "unknown fork" "$tmp/unknownfork.json" "unknown fork name 'NoSuchFork'"
# all three in one run: each is one failure, the run goes on to the end
out=$("$TOOL" statetest "$tmp" 2>&1); rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q '^0 passed, 3 failed$'; then
    echo "ok   bad input: a directory of broken files is reported file by file"
    pass=$((pass + 1))
else
    echo "FAIL bad input: directory run: exit status $rc, output:"; echo "$out" | tail -n 5
    fail=$((fail + 1))
fi
# a vector that reaches an unimplemented precompile (bn254 add at 0x06, called with all gas)
# is skipped with the reason, not failed
mkdir "$tmp/pre"
good_test "0x6000600060006000600060065af100" "Cancun" >"$tmp/pre/bn254.json"
out=$("$TOOL" statetest "$tmp/pre" 2>&1); rc=$?
if [ "$rc" = 0 ] && echo "$out" | grep -q '^0 passed, 0 failed, 1 skipped$' &&
   echo "$out" | grep -q 'bn254 add precompile.*not implemented'; then
    echo "ok   unimplemented precompile: vector skipped with the reason"
    pass=$((pass + 1))
else
    echo "FAIL unimplemented precompile: exit status $rc, output:"; echo "$out" | tail -n 5
    fail=$((fail + 1))
fi
# the run fails when a vector fails (a wrong expected root)
good_test "0x00" "Cancun" >"$tmp/pre/bn254.json"
out=$("$TOOL" statetest "$tmp/pre" 2>&1); rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q '^0 passed, 1 failed$' && echo "$out" | grep -q 'state root: expected'; then
    echo "ok   wrong root: reported with both roots"
    pass=$((pass + 1))
else
    echo "FAIL wrong root: exit status $rc, output:"; echo "$out" | tail -n 5
    fail=$((fail + 1))
fi

if [ "$skip" != 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
