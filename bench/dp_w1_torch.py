"""W1 under PyTorch DistributedDataParallel (gloo), the side of bench/dp_w1.cpp:
2 processes on this machine, batch 64 each, the MLP 784-512-512-10 with
CrossEntropyLoss and SGD lr 0.01 momentum 0.9, a fixed random batch per
rank; 20 warm-up steps, 200 timed, each from a barrier. Prints rank 0's
median and 10th-percentile step time. Run with /usr/bin/python3 (torch 1.13).
  --threads N: intra-op threads per process (default 1)"""
import os, sys, time
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def run(rank, world, threads):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = "29533"
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(rank)
    x = torch.randn(64, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (64,), generator=g)
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
        print("%d processes, DDP gloo: step %.3f ms median, %.3f ms p10; %.0f samples/s"
              % (world, med, per[len(per) // 10], world * 64 / (med / 1e3)))
    dist.destroy_process_group()


if __name__ == "__main__":
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    mp.spawn(run, args=(2, threads), nprocs=2, join=True)
