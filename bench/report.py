"""Writes one workload's section of docs/performance.md from RESULT lines.

The section sits between `<!-- bench:W1 begin -->` and `<!-- bench:W1 end -->`;
it is replaced in place, so each workload keeps its latest measurement and the
text around the sections is left alone. Called by bench/run.sh.
"""
import argparse
import datetime
import json
import math
import os
import re
import subprocess

HEADER = """# Performance

Kiln-compiled models against PyTorch 1.13.1 eager (Debian's build, fp32 GEMM
through OpenBLAS), measured side by side in one invocation of `bench/run.sh`
on the same machine. The machines are shared and noisy: compare numbers from
the same run only. Each process times 9 runs (each >= 0.25 s of back-to-back
calls) after 10 warm-up calls; Kiln and PyTorch at its best run in alternating
processes, at least three each and until a side's last two medians agree
within 5 %, and the table shows the median of their medians, per batch, with
the spread over all their runs; the PyTorch side is
`shared/bench/workloads.py`, the Kiln side `bench/<workload>*.cpp`, timed the
same way. GFLOP/s count the GEMMs and convolutions only (train step = 3 x
forward).
"""

TITLES = {
    "W1": "MLP 784-512-512-10, batch 128, CrossEntropy, SGD lr 0.01 momentum 0.9",
    "W2": "LeNet-5, batch 64 x 1x28x28, CrossEntropy, Adam lr 1e-3",
    "W3": "small ResNet, batch 32 x 3x32x32, CrossEntropy, SGD lr 0.01 momentum 0.9 weight_decay 5e-4",
    "W4": "2 x TransformerEncoderLayer (d 256, 4 heads, ff 1024), batch 8 x 128 x 256, CrossEntropy, AdamW lr 1e-3",
    "W5": "LSTM 64 -> 256, last hidden -> Linear 256 -> 10, batch 32 x 32 x 64, CrossEntropy, RMSprop",
}


def result(path):
    with open(path) as f:
        for line in f:
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
    raise SystemExit(f"report.py: no RESULT line in {path}")


def machine():
    try:
        info = dict(l.split(":", 1) for l in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines() if ":" in l)
    except OSError:
        return "(lscpu unavailable)"
    g = lambda k: info.get(k, "?").strip()  # noqa: E731
    flags = g("Flags").split()
    isa = "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2")
    return (f"{g('Model name')} ({g('Vendor ID')}, family {g('CPU family')} model {g('Model')}), "
            f"{g('CPU(s)')} CPUs, {isa}")


def blas(r):
    """The BLAS a PyTorch run used, from common.blas_info()'s fields."""
    if "openblas_core" in r:
        return f"OpenBLAS, core {r['openblas_core']}, {r.get('openblas_threads', '?')} threads"
    real = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    return f"no OpenBLAS: {real}" + (" = Debian's reference BLAS" if "/blas/" in real else "")


def ms(v):
    return f"{v:.3f}"


def section(a):
    k, tb, ti = result(a.kiln), result(a.torch_best), result(a.torch_installed)
    rows = [
        (f"Kiln, {k['threads']} threads", k),
        ("PyTorch eager, best: `OMP_WAIT_POLICY=PASSIVE`, "
         + ("`OPENBLAS_CORETYPE` unset" if a.best_coretype == "(unset)"
            else f"`OPENBLAS_CORETYPE={a.best_coretype}`")
         + f" ({blas(tb)})", tb),
        (f"PyTorch eager, as installed: environment unchanged, `OPENBLAS_CORETYPE={a.env_coretype}` "
         f"({blas(ti)})", ti),
    ]
    if a.torch_openblas_env:
        te = result(a.torch_openblas_env)
        rows.append((f"PyTorch eager, environment unchanged (`OPENBLAS_CORETYPE={a.env_coretype}`, "
                     f"no `OMP_WAIT_POLICY`) but OpenBLAS on `LD_LIBRARY_PATH` ({blas(te)})", te))
    if a.torch_own_optimizer:
        rows.append(("PyTorch eager, best configuration, with the workload's own optimizer "
                     "(not comparable: another optimizer)", result(a.torch_own_optimizer)))
    today = datetime.date.today().isoformat()
    out = [f"## {a.workload}: {TITLES[a.workload]}" if a.workload in TITLES else f"## {a.workload}", ""]
    out.append(f"Measured {today} with `{a.command}` (threads {a.threads}) on: {machine()}.")
    out.append("")
    out.append("| | inference ms/batch | train step ms/batch | train step GFLOP/s | peak RSS MiB |")
    out.append("|---|---:|---:|---:|---:|")
    for name, r in rows:
        out.append(f"| {name} | {ms(r['infer_ms'])} ({ms(r['infer_ms_min'])}–{ms(r['infer_ms_max'])}) "
                   f"| {ms(r['train_ms'])} ({ms(r['train_ms_min'])}–{ms(r['train_ms_max'])}) "
                   f"| {r['train_gflops']:.1f} | {r['rss_peak_mib']:.0f} |")
    for name, t in (("best", tb), ("as installed", ti)):
        out.append(f"| **Kiln / PyTorch {name}** (time ratio, < 1: Kiln faster) "
                   f"| **{k['infer_ms'] / t['infer_ms']:.2f}** | **{k['train_ms'] / t['train_ms']:.2f}** "
                   f"| | {k['rss_peak_mib'] / t['rss_peak_mib']:.2f} |")
    out.append("")
    spread = ", ".join(f"{name}: {r['processes']} processes ({r['timed_runs']} timed runs), "
                       f"the last two {r['last_two_pct']:.1f} % apart"
                       for name, r in (("Kiln", k), ("PyTorch best", tb)) if "processes" in r)
    out.append(f"Median (min–max over all timed runs; {spread or '9 runs'}). "
               f"Train step = one `{a.model}_train_step` (Kiln) / "
               "zero_grad + forward + loss + backward + step (PyTorch), fixed random batch. "
               f"Train GFLOP/s = 3 x {k['gflop_fwd'] * 1e3:.1f} MFLOP / step time. Peak RSS is "
               "`ru_maxrss` of the whole process (Kiln: a C++ binary; PyTorch: the Python "
               f"interpreter with torch imported, {tb['rss_import_mib']:.0f} MiB before building the model).")
    out.append("")
    cs = a.compile_s
    out.append(f"kilnc compile time (`kilnc {a.model}.json -o {a.model}.o --mode=train`, median of 3): "
               + (f"{cs:.2f} s." if not math.isnan(cs) else f"not measured (kilnc or {a.model}.json not found)."))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    for f in ("workload", "kiln", "torch-best", "torch-installed", "command", "out", "env-coretype"):
        ap.add_argument("--" + f, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--best-coretype", default="(unset)")
    ap.add_argument("--torch-openblas-env")
    ap.add_argument("--torch-own-optimizer")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--compile-s", type=float, default=float("nan"))
    a = ap.parse_args()
    begin, end = f"<!-- bench:{a.workload} begin -->", f"<!-- bench:{a.workload} end -->"
    block = f"{begin}\n{section(a)}{end}\n"
    text = open(a.out).read() if os.path.exists(a.out) else HEADER
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end) + "\n?", lambda _: block, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
