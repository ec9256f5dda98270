"""Merges the RESULT lines of several processes of one benchmark into one
(bench/run.sh): each process times 9 runs and reports their median, min and
max; the merged line has the median of the processes' medians, the least
min and the greatest max, `processes`, `timed_runs` (9 per process) and
`last_two_pct`, how far apart the last two processes' medians are (the
larger of inference and train step, in % of the smaller).

  merge_runs.py OUT IN...      (exit 0; prints last_two_pct)
  merge_runs.py --agree PCT IN...   (exit 0 when the last two agree within PCT %)
"""
import json
import statistics
import sys

from report import result  # the RESULT line of a benchmark's output

TIMES = ("infer_ms", "train_ms")


def last_two_pct(results):
    if len(results) < 2:
        return float("inf")
    a, b = results[-2], results[-1]
    return max(abs(a[k] - b[k]) / min(a[k], b[k]) * 100 for k in TIMES)


def main(argv):
    if argv[0] == "--agree":
        pct, paths = float(argv[1]), argv[2:]
        return 0 if last_two_pct([result(p) for p in paths]) <= pct else 1
    out, paths = argv[0], argv[1:]
    results = [result(p) for p in paths]
    merged = dict(results[-1])  # sizes, RSS, losses: the last process's
    for k in TIMES:
        merged[k] = statistics.median(r[k] for r in results)
        merged[k + "_min"] = min(r[k + "_min"] for r in results)
        merged[k + "_max"] = max(r[k + "_max"] for r in results)
    for k, gflop in (("infer", 1), ("train", 3)):
        merged[k + "_gflops"] = gflop * merged["gflop_fwd"] / (merged[k + "_ms"] * 1e-3)
    merged["rss_peak_mib"] = max(r["rss_peak_mib"] for r in results)
    merged["processes"] = len(results)
    merged["timed_runs"] = 9 * len(results)
    merged["last_two_pct"] = last_two_pct(results)
    with open(out, "w") as f:
        f.write("RESULT " + json.dumps(merged) + "\n")
    print(f"{out}: median of {len(results)} processes, last two {merged['last_two_pct']:.1f} % apart")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
