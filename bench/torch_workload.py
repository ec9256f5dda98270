"""Runs one workload of shared/bench/workloads.py unchanged, except that with
--optimizer-as-kiln the optimizer is replaced by the one the Kiln side
compiles where Kiln lacks the workload's own (none at present: W2's Adam
compiles since the optimizers of passes/optim/ landed). bench/run.sh labels
such rows.

usage: /usr/bin/python3 torch_workload.py <shared/bench dir> W<n> THREADS [--optimizer-as-kiln]
"""
import os
import runpy
import sys

# What Kiln compiles instead of a workload's optimizer (empty: the same one).
KILN_OPTIMIZER = {}


def main():
    if len(sys.argv) not in (4, 5) or (len(sys.argv) == 5 and sys.argv[4] != "--optimizer-as-kiln"):
        sys.exit(__doc__)
    shared, workload, threads = sys.argv[1:4]
    if len(sys.argv) == 5 and workload in KILN_OPTIMIZER:
        import torch
        adam = torch.optim.Adam

        def sgd_instead(params, lr=None, **_):
            return torch.optim.SGD(params, lr=0.01, momentum=0.9)
        if workload == "W2":
            torch.optim.Adam = sgd_instead
        del adam
    sys.path.insert(0, shared)
    sys.argv = [os.path.join(shared, "workloads.py"), workload, threads]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
