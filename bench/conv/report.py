"""Joins conv_bench's and conv_torch.py's RESULT lines into one markdown table.

usage: report.py <kiln output> <torch output> <threads> [<kernels output>]
Kiln's per-op figures are derived from whole-model calls (what the C API
exposes): wgrad = grad_1 - fwd (includes the MSE loss and the bias
gradient), dgrad = grad_2 - 2 grad_1 (the <shape>_2 model: one more forward,
weight gradient and the input gradient; one loss less), and, given
conv_kernels' output, measured alone (the runtime routines themselves).
PyTorch's are shown both derived the same way and measured alone
(aten.convolution_backward). GFLOP/s are of the ops alone where measured.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def results(path):
    with open(path) as f:
        return [line.split()[1:] for line in f if line.startswith("RESULT ")]


def main():
    kiln_file, torch_file, threads = sys.argv[1:4]
    kiln = {name: (float(fwd), float(grad)) for name, fwd, grad in results(kiln_file)}
    alone = {}
    if len(sys.argv) > 4:
        with open(sys.argv[4]) as f:
            for line in f:
                if line.startswith("KERNEL "):
                    name, fwd, dgrad, wgrad = line.split()[1:]
                    alone[name] = {"forward": float(fwd), "input grad": float(dgrad),
                                   "weight grad": float(wgrad)}
    with open(os.path.join(HERE, "shapes.def")) as f:
        shapes = {m.group(1): [int(v) for v in m.group(2).split(",")]
                  for m in re.finditer(r"^SHAPE\((\w+),([^)]*)\)", f.read(), re.M)}
    print("Threads: %s (Kiln KILN_NUM_THREADS / conv_bench --threads, PyTorch "
          "torch.set_num_threads). ms per call, median; GFLOP/s of the "
          "convolution alone (2 N F (C / groups) K^2 OH OW per op)." % threads)
    print()
    print("| shape | op | Kiln ms (derived) | Kiln ms (alone) | PyTorch ms (derived) "
          "| PyTorch ms (alone) | Kiln GFLOP/s | PyTorch GFLOP/s (alone) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, fwd, g1, g2, dgrad, wgrad in results(torch_file):
        n, c, f, h, w, k, s, p, g = shapes[name]
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        gflop = 2.0 * n * f * (c // g) * k * k * oh * ow / 1e9
        label = "%s N%d C%d->%d %dx%d k%d s%d p%d%s" % (
            name, n, c, f, h, w, k, s, p, " g%d" % g if g > 1 else "")
        kf, kg1 = kiln.get(name + "_1", (None, None))
        kg2 = kiln.get(name + "_2", (None, None))[1]
        tf, tg1 = float(fwd), float(g1)
        tg2 = None if g2 == "-" else float(g2)
        rows = [("forward", kf, tf, tf),
                ("weight grad", kg1 - kf if kf else None, tg1 - tf, float(wgrad)),
                ("input grad", kg2 - 2 * kg1 if kg2 else None,
                 tg2 - 2 * tg1 if tg2 else None, float(dgrad))]
        for op, km, tder, talone in rows:
            fmt = lambda v: "-" if v is None else "%.2f" % v
            rate = lambda v: "-" if v is None or v <= 0 else "%.0f" % (gflop / v * 1e3)
            kalone = alone.get(name, {}).get(op)
            print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, op, fmt(km), fmt(kalone), fmt(tder), fmt(talone),
                rate(km if kalone is None else kalone), rate(talone)))


if __name__ == "__main__":
    main()
