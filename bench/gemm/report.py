"""Joins gemm_bench's and gemm_torch.py's RESULT lines into one markdown table.

usage: report.py <kiln output> <torch output> <threads> <torch BLAS label>
RESULT <name> <M> <K> <N> <layout> <median ms> <min ms> <max ms> <GFLOP/s>
"""
import sys


def results(path):
    with open(path) as f:
        return {line.split()[1]: line.split()[2:] for line in f
                if line.startswith("RESULT ")}


def main():
    kiln_file, torch_file, threads, blas = sys.argv[1:5]
    kiln, torch = results(kiln_file), results(torch_file)
    print("Threads: %s both sides (KILN_NUM_THREADS, torch.set_num_threads); "
          "PyTorch on %s. ms per GEMM, median (min-max) of the rounds; "
          "GFLOP/s = 2 M N K / median." % (threads, blas))
    print()
    print("| shape | M x K x N | layout | Kiln ms | PyTorch ms | Kiln GFLOP/s "
          "| PyTorch GFLOP/s | Kiln / PyTorch time |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name, k in kiln.items():
        m, kk, n, layout, med, lo, hi, rate = k
        t = torch.get(name)
        tcell = "%s (%s-%s)" % (t[4], t[5], t[6]) if t else "-"
        trate = t[7] if t else "-"
        ratio = "%.2f" % (float(med) / float(t[4])) if t else "-"
        print("| %s | %s x %s x %s | %s | %s (%s-%s) | %s | %s | %s | %s |" %
              (name, m, kk, n, layout, med, lo, hi, tcell, rate, trate, ratio))


if __name__ == "__main__":
    main()
