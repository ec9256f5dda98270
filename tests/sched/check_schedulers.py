"""The runtime's learning-rate schedulers against torch.optim.lr_scheduler
(1.13): for random constructor arguments of each scheduler (fixed seed),
the lr after construction and after each of 300 steps must equal torch's
get_last_lr() to rel 1e-6 (abs 1e-12), uninterrupted and resumed from the
saved state at a random step. Needs /usr/bin/python3 (torch).

  check_schedulers.py --driver kiln_sched_driver [--cases N] [--seed S]
"""
import argparse
import math
import random
import subprocess
import sys

import torch

STEPS = 300
KIND = {"StepLR": 0, "MultiStepLR": 1, "ConstantLR": 2, "LinearLR": 3,
        "ExponentialLR": 4, "CosineAnnealingLR": 5}


def draw(rng, name):
    """(torch kwargs, the driver's argument list) for one random case."""
    if name == "StepLR":
        step_size, gamma = rng.randint(1, 60), rng.uniform(0.1, 1.0)
        return {"step_size": step_size, "gamma": gamma}, [step_size, gamma]
    if name == "MultiStepLR":
        milestones = sorted(rng.randint(0, STEPS) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.3:
            milestones.append(milestones[-1])  # a repeated milestone counts twice
        gamma = rng.uniform(0.05, 1.0)
        return {"milestones": milestones, "gamma": gamma}, [gamma] + milestones
    if name == "ConstantLR":
        factor, total = rng.uniform(0.01, 1.0), rng.randint(0, 200)
        return {"factor": factor, "total_iters": total}, [factor, total]
    if name == "LinearLR":
        start, end, total = rng.uniform(0.01, 1.0), rng.uniform(0.0, 1.0), rng.randint(0, 200)
        return {"start_factor": start, "end_factor": end, "total_iters": total}, [start, end, total]
    if name == "ExponentialLR":
        gamma = rng.uniform(0.9, 1.0)
        return {"gamma": gamma}, [gamma]
    if name == "CosineAnnealingLR":
        t_max, eta_min = rng.randint(1, 120), rng.choice([0.0, 10 ** rng.uniform(-6, -3)])
        return {"T_max": t_max, "eta_min": eta_min}, [t_max, eta_min]
    raise ValueError(name)


def torch_lrs(name, base_lr, kwargs):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(STEPS):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--driver", required=True)
    p.add_argument("--cases", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    failures = 0
    for name, kind in KIND.items():
        rng = random.Random(f"{name}-{a.seed}")
        for i in range(a.cases):
            kwargs, args = draw(rng, name)
            base_lr = 10 ** rng.uniform(-5, 0)
            resume_at = rng.randint(1, STEPS - 1) if i % 2 else 0
            want = torch_lrs(name, base_lr, kwargs)
            out = subprocess.run([a.driver, str(kind), repr(base_lr), str(STEPS), str(resume_at)]
                                 + [repr(float(v)) for v in args],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(f"FAIL {name} {kwargs}: driver failed: {out.stderr.strip()}")
                failures += 1
                continue
            got = [float(line) for line in out.stdout.split()]
            bad = [(t, g, w) for t, (g, w) in enumerate(zip(got, want))
                   if not math.isclose(g, w, rel_tol=1e-6, abs_tol=1e-12)]
            if len(got) != len(want) or bad:
                t, g, w = bad[0] if bad else (len(got), None, None)
                print(f"FAIL {name} {kwargs} base_lr {base_lr} resume_at {resume_at}: "
                      f"epoch {t}: kiln {g}, torch {w}")
                failures += 1
            else:
                print(f"ok   {name} {kwargs} base_lr {base_lr:.3g} resume_at {resume_at}")
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
