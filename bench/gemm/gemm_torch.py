#!/usr/bin/python3
"""PyTorch's side of the GEMM benchmark: torch.mm on the shapes of shapes.def
with the same layouts (transposed operands as transposed views, as torch's
own linear and backward pass them to BLAS). Prints RESULT lines like
gemm_bench. usage: gemm_torch.py <shapes.def> --threads T [--quick]"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shapes")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for line in open(args.shapes):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, m, k, n, layout = line.split()
        m, k, n = int(m), int(k), int(n)
        a = torch.rand(k, m).t() if layout[0] == "t" else torch.rand(m, k)
        b = torch.rand(n, k).t() if layout[1] == "t" else torch.rand(k, n)
        out = torch.empty(m, n)
        flop = 2.0 * m * n * k
        reps = min(max(int(2e9 / flop), 3), 20 if args.quick else 200)
        torch.mm(a, b, out=out)
        times = []
        for _ in range(3 if args.quick else 9):
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b, out=out)
            times.append((time.perf_counter() - t0) * 1e3 / reps)
        times.sort()
        med = times[len(times) // 2]
        print(f"RESULT {name} {m} {k} {n} {layout} {med:.4f} {times[0]:.4f} "
              f"{times[-1]:.4f} {flop / med / 1e6:.1f}", flush=True)


if __name__ == "__main__":
    main()
