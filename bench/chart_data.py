#!/usr/bin/env python3
"""chart_data.py BENCH_JSON: the speedups of `evmjit bench --json` as tab-separated columns
for bench/chart.gp (`make bench-chart`): benchmark name, JIT speedup, AOT speedup over the
interpreter ("?" where a mode has no figure: not run, or failed). Standard library only."""
import json
import sys


def cell(v):
    return "?" if v is None else f"{v:.4g}"


def main():
    if len(sys.argv) != 2:
        print("usage: chart_data.py BENCH_JSON", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        rows = json.load(f)
    print("# name\tjit_speedup\taot_speedup")
    for r in rows:
        name = r["name"].replace("\t", " ").replace('"', "'")
        print(f'"{name}"\t{cell(r.get("jit_speedup"))}\t{cell(r.get("aot_speedup"))}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
