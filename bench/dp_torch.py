"""W1 or W2 under PyTorch DistributedDataParallel (gloo), the side of
bench/dp_workload.cpp: 2 processes on this machine, each at half the
workload's batch (W1: the MLP 784-512-512-10, SGD lr 0.01 momentum 0.9,
64; W2: LeNet-5, Adam lr 1e-3, 32), CrossEntropyLoss, a fixed random batch
per rank; 20 warm-up steps, 200 timed, each from a barrier. Prints rank
0's median and 10th-percentile step time. Run with /usr/bin/python3
(torch 1.13).
usage: dp_torch.py W1|W2 [--threads N]  (intra-op threads per process, default 1)"""
import os, sys, time
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def build(workload):
    nn = torch.nn
    if workload == "W1":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(),
                              nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
        return model, 64, lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10))
    return model, 32, lambda p: torch.optim.Adam(p, lr=1e-3)


def run(rank, world, threads, workload):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = "29533"
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, batch, make_opt = build(workload)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = make_opt(ddp.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(rank)
    x = torch.randn(batch, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    per = []
    for i in range(220):
        dist.barrier()
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(ddp(x), y).backward()
        opt.step()
        if i >= 20:
            per.append((time.perf_counter() - t0) * 1e3)
    per.sort()
    if rank == 0:
        med = per[len(per) // 2]
        print("%s, %d processes, DDP gloo: step %.3f ms median, %.3f ms p10; %.0f samples/s"
              % (workload, world, med, per[len(per) // 10], world * batch / (med / 1e3)))
    dist.destroy_process_group()


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("W1", "W2"):
        sys.exit(__doc__)
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    mp.spawn(run, args=(2, threads, sys.argv[1]), nprocs=2, join=True)
