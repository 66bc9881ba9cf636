#!/usr/bin/env python3
"""results_table.py BENCH_JSON FIRST_TIER_JSON [FIRST_TIER_JSON...]: the README's results
table (Markdown) from `evmjit bench --json BENCH_JSON` (all modes; JIT converged after
upgrades) and `evmjit bench --first-tier --mode interp,jit --json FIRST_TIER_JSON` (the first
tier alone), then the figures the LLVM backend's targets are judged by. With several first-tier
runs, a contract's compile time is its median over them (the first gives everything else):
compile times on a shared machine move far more from run to run than execution times.
Standard library only."""
import json
import math
import statistics
import sys

MAIN_SET = ("blake2b_huff", "blake2b_shifts", "sha1_divs", "sha1_shifts", "snailtracer",
            "structarray_alloc", "swap_math", "weierstrudel")


def ns(v):
    if v is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if v >= scale:
            return f"{v / scale:.2f} {unit}"
    return f"{v:.0f} ns"


def size(v):
    if not v:
        return "-"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if v >= scale:
            return f"{v / scale:.1f} {unit}"
    return f"{v} B"


def x(v):
    return "-" if v is None else f"{v:.2f}x"


def geomean(values):
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def main():
    if len(sys.argv) < 3:
        print("usage: results_table.py BENCH_JSON FIRST_TIER_JSON [FIRST_TIER_JSON...]", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        rows = json.load(f)
    firsts = []
    for path in sys.argv[2:]:
        with open(path) as f:
            firsts.append({r["name"]: r for r in json.load(f)})
    first = firsts[0]

    def compile_total(name):
        runs = [f[name]["compile_ns"]["total"] for f in firsts if f.get(name, {}).get("compiled_codes")]
        return statistics.median(runs) if runs else None

    print("| benchmark | gas used | interpreter | JIT | speedup | first tier | speedup | AOT | speedup "
          "| compile (first tier) | native code (first tier) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        f1 = first.get(r["name"], {})
        compiled = compile_total(r["name"]) if f1.get("compiled_codes") else None
        compile_cell = ns(compiled) if compiled else ("not compiled¹" if f1.get("compile_failures") else "-")
        print(f"| {r['name']} | {r['gas_used']:,} | {ns(r.get('interp_ns'))} | {ns(r.get('jit_ns'))} "
              f"| {x(r.get('jit_speedup'))} | {ns(f1.get('jit_ns'))} | {x(f1.get('jit_speedup'))} "
              f"| {ns(r.get('aot_ns'))} | {x(r.get('aot_speedup'))} | {compile_cell} "
              f"| {size(f1.get('code_bytes')) if compiled else '-'} |")
    print(f"| **geometric mean** | | | | **{x(geomean(r.get('jit_speedup') for r in rows))}** | | "
          f"**{x(geomean(f.get('jit_speedup') for f in first.values()))}** | | "
          f"**{x(geomean(r.get('aot_speedup') for r in rows))}** | | |")
    print()
    main_rows = [r for r in rows if "evm-benchmarks" in r.get("file", "") and r["name"].split("/")[0] in MAIN_SET]
    print(f"main set: JIT {x(geomean(r.get('jit_speedup') for r in main_rows))} over {len(main_rows)} rows, "
          f"first tier {x(geomean(first.get(r['name'], {}).get('jit_speedup') for r in main_rows))}")
    revmc = [r for r in first.values() if "revmc" in r.get("file", "") and r.get("compiled_codes")]
    if revmc:
        totals = [compile_total(r["name"]) for r in revmc]
        print(f"revmc: median first compile {ns(statistics.median(totals))}, max {ns(max(totals))} "
              f"(per contract, the median of {len(firsts)} run{'s' if len(firsts) > 1 else ''}), "
              f"first tier {x(geomean(r.get('jit_speedup') for r in revmc))} over {len(revmc)} fixtures")
    for name in ("erc20_transfer", "uniswap_v2_pair", "seaport"):
        r = next((r for r in rows if r["name"] == name), None)
        if r:
            print(f"{name}: JIT {x(r.get('jit_speedup'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
