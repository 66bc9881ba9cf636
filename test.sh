#!/usr/bin/env bash
# evmjit's one test entry point (CI runs this). Installs missing Debian packages (as root) or
# prints the command to do so, builds, runs every test in a normal build, then the unit tests
# under AddressSanitizer+UndefinedBehaviorSanitizer and the concurrency tests under
# ThreadSanitizer. Ends with "N passed, M failed[, K skipped]"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")"

# ---- dependencies ---------------------------------------------------------------------------
# gcc/make build; llvm-19-dev is the compiler backend; the rest serve the tests and tools
# (README, "Dependencies"): python3-jsonschema checks the bench JSON against its schema,
# gnuplot-nox draws make bench-chart.
PACKAGES="gcc make libc6-dev llvm-19-dev libgmp-dev libsecp256k1-dev libjansson-dev libssl-dev
          python3-jsonschema gnuplot-nox"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "test.sh: installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq $missing >/dev/null || {
            echo "test.sh: apt-get install failed for:$missing"; exit 1; }
    else
        echo "test.sh: missing packages. Run:"
        echo "  sudo apt-get install -y$missing"
        exit 1
    fi
fi

# LLVM's IR verifier on every compilation of every test (the first tier skips it by default).
export EVMJIT_LLVM_VERIFY=1
export EVMJIT_FIXTURES="${EVMJIT_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
LOGDIR=build/logs
mkdir -p "$LOGDIR"

total_pass=0; total_fail=0; total_skip=0
# run_suite NAME COMMAND...: runs a test program, reads its closing "N passed, M failed[, K
# skipped]" line and adds it up. A program that dies without that line counts as one failure.
run_suite() {
    local name="$1"; shift
    local log="$LOGDIR/$name.log"
    "$@" >"$log" 2>&1
    local rc=$?
    local line
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL $name: exited $rc without a summary line (log: $log)"; tail -n 20 "$log"
        total_fail=$((total_fail + 1)); return
    fi
    local p f s
    p=$(echo "$line" | sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed.*/\2/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p'); s=${s:-0}
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
    if [ "$f" != 0 ]; then
        echo "FAIL $name: $line (exit $rc, log: $log)"; grep -E 'CHECK failed|FAIL|error' "$log" | head -n 20
    else
        echo "ok   $name: $line"
    fi
    grep -E '^SKIP' "$log" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/     /'
}

# ---- normal build ---------------------------------------------------------------------------
echo "== build (normal)"
make -j"$JOBS" all || { echo "0 passed, 1 failed"; exit 1; }
for t in build/tests/*; do
    [ -x "$t" ] && [ -f "$t" ] || continue
    run_suite "$(basename "$t")" "$t"
done
# The tool once more without the LLVM backend (the embedded/minimal build): the tool tests run
# its demo on the artifacts the LLVM build wrote.
echo "== build (without LLVM)"
if make -j"$JOBS" BUILD=build/nollvm LLVM_CONFIG= build/nollvm/evmjit >"$LOGDIR/nollvm-build.log" 2>&1; then
    export EVMJIT_TOOL_NOLLVM=build/nollvm/evmjit
else
    echo "FAIL build without LLVM (log: $LOGDIR/nollvm-build.log)"; tail -n 20 "$LOGDIR/nollvm-build.log"
    total_fail=$((total_fail + 1))
fi
[ -f tests/run_tool_tests.sh ] && run_suite tool_tests bash tests/run_tool_tests.sh

# ---- sanitizers -----------------------------------------------------------------------------
# Unit tests under ASan+UBSan; concurrency tests (tests/test_conc_*) under TSan.
echo "== build (address,undefined)"
if make -j"$JOBS" BUILD=build/asan SAN=address,undefined OPT="-O1 -g" tests >"$LOGDIR/asan-build.log" 2>&1; then
    for t in build/asan/tests/*; do
        [ -x "$t" ] && [ -f "$t" ] || continue
        case "$(basename "$t")" in test_conc_*) continue ;; esac
        EVMJIT_SANITIZER=1 run_suite "asan-$(basename "$t")" "$t"
    done
    # The whole state and VM suites under the sanitizers too (about 70 s on 2 cores).
    if make -j"$JOBS" BUILD=build/asan SAN=address,undefined OPT="-O1 -g" build/asan/evmjit >>"$LOGDIR/asan-build.log" 2>&1; then
        if [ -d "$EVMJIT_FIXTURES/state" ]; then
            run_suite asan-statetest build/asan/evmjit statetest "$EVMJIT_FIXTURES/state"
            run_suite asan-vmtest build/asan/evmjit vmtest "$EVMJIT_FIXTURES/vm/VMTests"
        else
            echo "SKIP asan-statetest: no fixtures at $EVMJIT_FIXTURES (set EVMJIT_FIXTURES)"; total_skip=$((total_skip + 1))
        fi
    else
        echo "FAIL asan build of build/asan/evmjit (log: $LOGDIR/asan-build.log)"; total_fail=$((total_fail + 1))
    fi
else
    echo "FAIL asan build (log: $LOGDIR/asan-build.log)"; tail -n 20 "$LOGDIR/asan-build.log"; total_fail=$((total_fail + 1))
fi
echo "== build (thread)"
conc=$(ls tests/test_conc_*.c 2>/dev/null | sed -E 's#tests/(.*)\.c#build/tsan/tests/\1#')
if [ -n "$conc" ]; then
    if make -j"$JOBS" BUILD=build/tsan SAN=thread OPT="-O1 -g" $conc >"$LOGDIR/tsan-build.log" 2>&1; then
        for t in $conc; do EVMJIT_SANITIZER=1 run_suite "tsan-$(basename "$t")" "$t"; done
    else
        echo "FAIL tsan build (log: $LOGDIR/tsan-build.log)"; tail -n 20 "$LOGDIR/tsan-build.log"; total_fail=$((total_fail + 1))
    fi
fi

if [ "$total_skip" != 0 ]; then
    echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
    echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" = 0 ]
