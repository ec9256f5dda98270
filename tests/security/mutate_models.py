"""Mutation test of kilnc against hostile model files (issue 7).

  mutate_models.py --kilnc KILNC --work DIR [--count 2000] [--seed 0]
                   [--codegen 40] MODEL.json...

Makes --count mutants of the given model files (deleted and duplicated keys,
numbers made huge, negative, fractional or strings, truncated text, deep
nesting, unicode and control characters in names, swapped types) and runs
`kilnc --emit=nn` on each, then full code generation on --codegen of the
accepted ones. Every run must end within its time limit with status 0 or 1
and, on failure, an "error" message: no signal, no abort, no LLVM crash
report, no hang. Failing mutants are kept in DIR for reproduction.
Deterministic for a seed: a failure found here is a regression test.
"""
import argparse
import concurrent.futures
import copy
import json
import os
import random
import subprocess
import sys

HUGE = [2**31, 2**53 + 1, 2**62, 2**63, 2**64, -2**63, 10**30, 1e308, 1e-320, -1, 0, 0.5, -0.0]
NAMES = ["", " ", "a b", "x\n", "\t", "é", "名前", "a" * 5000, "x*/", "kiln_model", "0", ".", "..", "a.b",
         "\u0000", "\\", "\"", "$(rm)", "../../etc"]


def paths(doc, prefix=()):
    """Every (container, key) position in a JSON document."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((doc, k))
            out.extend(paths(v))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((doc, i))
            out.extend(paths(v))
    return out


def mutate(doc, text, rng):
    """One mutant as text."""
    kind = rng.choice(["delete", "number", "string", "type", "duplicate", "truncate",
                       "deep", "name", "name", "number"])
    if kind == "truncate":
        return text[: rng.randrange(len(text))]
    if kind == "deep":
        depth = rng.choice([100, 1000, 20000])
        return '{"format": "kiln-model", "version": 1, "name": "m", "module": ' + \
            '{"type": "Sequential", "name": "a", "children": [' * depth + ']}' * depth + "}"
    d = copy.deepcopy(doc)
    spots = paths(d)
    if not spots:
        return text
    parent, key = rng.choice(spots)
    value = parent[key]
    if kind == "delete":
        del parent[key]
    elif kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        parent[key] = rng.choice(HUGE + [value * -1, value + 0.5, str(value)])
    elif kind == "string" and isinstance(value, str):
        parent[key] = rng.choice([value * 3, value + "\u202e", value.upper(), 17, None, [value]])
    elif kind == "type":
        parent[key] = rng.choice([None, True, [], {}, "x", 3, -1.5])
    elif kind == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(value))
    elif kind == "name":
        named = [(p, k) for p, k in spots if k == "name" or (isinstance(p, list) and isinstance(p[k], str))]
        if named:
            p, k = rng.choice(named)
            p[k] = rng.choice(NAMES)
    else:
        parent[key] = rng.choice(HUGE + NAMES)
    return json.dumps(d, ensure_ascii=rng.random() < 0.5)


def run_kilnc(kilnc, path, args, limit):
    try:
        p = subprocess.run([kilnc, path] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=limit)
    except subprocess.TimeoutExpired:
        return "hang", b""
    out = p.stdout
    sanitizer = b"Sanitizer" in out or b"runtime error:" in out
    if p.returncode < 0 or p.returncode >= 128 or b"PLEASE submit" in out or b"Stack dump" in out \
            or sanitizer:
        return f"crash (status {p.returncode})", out
    if p.returncode not in (0, 1):
        return f"status {p.returncode}", out
    if p.returncode == 1 and b"error" not in out.lower():
        return "failed without an error message", out
    return ("accepted" if p.returncode == 0 else "rejected"), out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kilnc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--codegen", type=int, default=40)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rng = random.Random(a.seed)
    sources = [(json.load(open(m)), open(m).read()) for m in a.models]
    jobs = []
    for i in range(a.count):
        doc, text = rng.choice(sources)
        path = os.path.join(a.work, f"mutant_{i}.json")
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(mutate(doc, text, rng))
        jobs.append(path)

    # Page the (possibly sanitizer-instrumented, several hundred MiB) kilnc
    # in before any run is timed: a cold first start under a loaded CI
    # machine once took longer than the limit and read as a hang.
    subprocess.run([a.kilnc, "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    emit_nn = ["--emit=nn", "-o", os.devnull]
    counts, failures, accepted = {}, [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda p: (p, run_kilnc(a.kilnc, p, emit_nn, 20)), jobs))
    # The limit is wall time on a machine that runs other tests at once; a
    # run that exceeded it is retried alone with ten times the limit before
    # it counts as a hang, so only a run that really does not end fails.
    for i, (path, (verdict, out)) in enumerate(results):
        if verdict == "hang":
            results[i] = (path, run_kilnc(a.kilnc, path, emit_nn, 200))
            print(f"note: {path} exceeded 20 s among parallel runs; alone: {results[i][1][0]}")
    for path, (verdict, out) in results:
        counts[verdict] = counts.get(verdict, 0) + 1
        if verdict == "accepted":
            accepted.append(path)
        elif verdict != "rejected":
            failures.append((path, verdict, out))
    # Full code generation on a sample of what the importer accepted.
    for path in rng.sample(accepted, min(a.codegen, len(accepted))):
        verdict, out = run_kilnc(a.kilnc, path, ["-o", path + ".o"], 120)
        counts["codegen " + verdict] = counts.get("codegen " + verdict, 0) + 1
        if verdict not in ("accepted", "rejected"):
            failures.append((path, "codegen " + verdict, out))
    print(f"{a.count} mutants (seed {a.seed}): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for path, verdict, out in failures[:20]:
        print(f"FAIL {verdict}: {path}\n  " + out.decode("utf-8", "replace")[-600:].replace("\n", "\n  "))
    # Keep only the failing mutants.
    keep = {p for p, _, _ in failures}
    for p in jobs:
        if p not in keep:
            for f in (p, p + ".o", p[:-5] + ".h", p + ".h"):
                if os.path.exists(f):
                    os.remove(f)
    print("FAIL" if failures else "OK (0 crashes, 0 hangs)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
