"""One workload of shared/bench/workloads.py in PyTorch CUDA eager, timed
side by side with a Kiln --target=cuda build (scripts/gpu-bench.sh).

The models, inputs and optimizers are workloads.py's own: its source up to
where it starts timing on the CPU is executed unchanged, then the model
moves to the GPU. Two ways to feed it, both reported:
  resident:  inputs and targets already on the GPU, nothing read back (the
             best case for eager);
  from_host: each call copies the batch from host memory and reads the
             logits (inference) or the loss (train step) back, which is what
             a Kiln call with host pointers does (docs/runtime-abi.md, "CUDA
             models").
TF32 is off (Kiln's GEMMs are fp32). Timing: warm-up, then the median over
9 runs of k back-to-back calls (k so that a run lasts >= 0.25 s),
synchronised before and after each run. Prints one `RESULT {json}` line.

usage: python3 torch_workload_cuda.py <dir with workloads.py, common.py> W<n> [cpu]
(cpu: a dry run of this script where there is no GPU.)
"""
import json
import os
import sys
import time


def load_build(shared):
    """workloads.py's definitions and build(), without its CPU timing."""
    sys.path.insert(0, shared)
    path = os.path.join(shared, "workloads.py")
    source = open(path).read()
    cut = source.index("m, x, y, make_opt, gflop_fwd = build(name)")
    scope = {"__name__": "workloads_cuda", "__file__": path}
    argv = sys.argv
    sys.argv = [path, "W1", "0"]  # name and threads its prologue reads
    try:
        exec(compile(source[:cut], path, "exec"), scope)
    finally:
        sys.argv = argv
    return scope["build"]


def bench(fn, sync, warmup=10, runs=9, min_run_s=0.25):
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    one = max(time.perf_counter() - t0, 1e-7)
    k = max(1, min(10000, int(min_run_s / one)))
    per = []
    for _ in range(runs):
        sync()
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        sync()
        per.append((time.perf_counter() - t0) / k)
    per.sort()
    return per[len(per) // 2], per[0], per[-1]


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[3:] not in ([], ["cpu"]):
        sys.exit(__doc__)
    shared, name = sys.argv[1], sys.argv[2]
    on_gpu = len(sys.argv) == 3
    build = load_build(shared)
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda" if on_gpu else "cpu")
    torch.manual_seed(0)
    m, x_host, y_host, make_opt, gflop = build(name)
    m = m.to(dev)
    crit = torch.nn.CrossEntropyLoss()
    opt = make_opt(m.parameters())
    x_dev, y_dev = x_host.to(dev), y_host.to(dev)
    x_pinned = x_host.pin_memory() if on_gpu else x_host
    y_pinned = y_host.pin_memory() if on_gpu else y_host
    sync = torch.cuda.synchronize if on_gpu else (lambda: None)
    result = {"kind": "workload_cuda", "model": name,
              "device": torch.cuda.get_device_name(0) if on_gpu else "cpu (dry run)",
              "torch": torch.__version__, "gflop_fwd": gflop}

    m.eval()

    def infer_resident():
        with torch.no_grad():
            return m(x_dev)

    def infer_from_host():
        with torch.no_grad():
            return m(x_pinned.to(dev, non_blocking=True)).cpu()

    m.train()

    def train_resident():
        opt.zero_grad()
        loss = crit(m(x_dev), y_dev)
        loss.backward()
        opt.step()
        return loss

    def train_from_host():
        opt.zero_grad()
        loss = crit(m(x_pinned.to(dev, non_blocking=True)), y_pinned.to(dev, non_blocking=True))
        loss.backward()
        opt.step()
        return loss.item()

    m.eval()
    for key, fn in (("infer_resident", infer_resident), ("infer_from_host", infer_from_host)):
        t = bench(fn, sync)
        result.update({key + "_ms": t[0] * 1e3, key + "_ms_min": t[1] * 1e3})
    m.train()
    for key, fn in (("train_resident", train_resident), ("train_from_host", train_from_host)):
        t = bench(fn, sync)
        result.update({key + "_ms": t[0] * 1e3, key + "_ms_min": t[1] * 1e3})
    if on_gpu:
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
