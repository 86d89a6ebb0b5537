#!/usr/bin/env python3
"""Compares two JSON outputs of tradebot figure by figure, timing fields aside (.ci/cross-arch).

Numbers are compared by their text as serde_json printed it (shortest round-trip form), so two
files agree only when every float is bit-identical; -0.0 and 0.0 differ. Exit 1 on a difference,
printing the first few paths that differ.
"""
import json
import sys

# Keys whose values measure the run (wall-clock time, rates, when it ran), not its results.
TIMING = {
    "elapsed_s",
    "evals_per_s",
    "ga_s",
    "evaluating_s",
    "checkpoint_s",
    "started_ns",
    "finished_ns",
    "wall_s",
    "generated_utc",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        # Keep each number's text: comparing text is comparing bits for serde_json's output.
        return json.load(f, parse_float=lambda s: ("float", s), parse_int=lambda s: ("int", s))


def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key in TIMING:
                continue
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'the first' if key in a else 'the second'}")
            else:
                diff(a[key], b[key], f"{path}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items against {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        show = lambda v: v[1] if isinstance(v, tuple) else json.dumps(v)
        out.append(f"{path}: {show(a)} against {show(b)}")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: json_same.py A.json B.json")
    first, second = sys.argv[1:]
    try:
        a, b = load(first), load(second)
    except (OSError, ValueError) as e:
        print(f"cross-arch: FAIL: {e}", file=sys.stderr)
        return 1
    out = []
    diff(a, b, "$", out)
    name = first.rsplit("/", 1)[-1]
    if out:
        print(f"cross-arch: FAIL: {name}: {len(out)} difference(s) between {first} and {second}:", file=sys.stderr)
        for line in out[:20]:
            print(f"    {line}", file=sys.stderr)
        return 1
    print(f"cross-arch: {name}: identical", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
