"""The runtime's learning-rate schedulers against torch.optim.lr_scheduler
(1.13) and torch.optim.swa_utils.SWALR: for random constructor arguments of
every scheduler, and random
ChainedScheduler / SequentialLR combinations of them (fixed seeds), the lr
(and the momentum CyclicLR / OneCycleLR cycle) after construction and after
each of 300 steps must equal torch's optimizer.param_groups to rel 1e-6
(abs 1e-12), uninterrupted and resumed from the saved state at a random
step; a third of the cases have two or three parameter groups, each with
its own lr (kiln_scheduler_create_groups). CosineAnnealingWarmRestarts is also stepped with fractional epochs,
ReduceLROnPlateau is fed a random metric with plateaus. Needs
/usr/bin/python3 (torch).

  check_schedulers.py --driver kiln_sched_driver [--cases N] [--seed S]
"""
import argparse
import math
import random
import subprocess
import sys
import warnings

import torch
from torch.optim import lr_scheduler as L
from torch.optim import swa_utils

STEPS = 300
KIND = {"StepLR": 0, "MultiStepLR": 1, "ConstantLR": 2, "LinearLR": 3,
        "ExponentialLR": 4, "CosineAnnealingLR": 5, "PolynomialLR": 6,
        "CosineAnnealingWarmRestarts": 7, "CyclicLR": 8, "OneCycleLR": 9,
        "ReduceLROnPlateau": 10, "LambdaLR": 11, "MultiplicativeLR": 12,
        "ChainedScheduler": 13, "SequentialLR": 14, "SWALR": 15}
# The driver's callbacks (sched_driver.cpp kFns), index 1..3, parameter p.
FNS = [None,
       lambda p: (lambda x: p ** x),
       lambda p: (lambda x: 1 / (1 + p * x)),
       lambda p: (lambda x: 1 + p * math.sin(x))]
# What may sit in a ChainedScheduler / SequentialLR (torch steps them
# without a metric; OneCycleLR would run past total_steps in a long chain).
COMBINABLE = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
              "CosineAnnealingLR", "PolynomialLR", "CosineAnnealingWarmRestarts",
              "CyclicLR", "LambdaLR", "MultiplicativeLR", "SWALR"]


class Spec:
    """One scheduler: torch's class and kwargs, the driver's args, an
    optional callback (fn index, p) and children."""

    def __init__(self, name, kwargs, args, fn=None, children=(), milestones=None):
        self.name, self.kwargs, self.args = name, kwargs, args
        self.fn, self.children, self.milestones = fn, list(children), milestones

    def tokens(self):
        fn, p = self.fn or (0, 0.0)
        out = [KIND[self.name], len(self.args)] + [repr(float(a)) for a in self.args]
        out += [fn, repr(float(p)), len(self.children)]
        for c in self.children:
            out += c.tokens()
        return out

    def build(self, opt):
        if self.name == "ChainedScheduler":
            return L.ChainedScheduler([c.build(opt) for c in self.children])
        if self.name == "SequentialLR":
            kids = [c.build(opt) for c in self.children]
            return L.SequentialLR(opt, kids, milestones=self.milestones)
        kwargs = dict(self.kwargs)
        if self.fn:
            key = "scale_fn" if self.name == "CyclicLR" else "lr_lambda"
            kwargs[key] = FNS[self.fn[0]](self.fn[1])
        return getattr(swa_utils if self.name == "SWALR" else L, self.name)(opt, **kwargs)

    def __repr__(self):
        if self.children:
            return f"{self.name}({self.milestones or ''} {self.children})"
        return f"{self.name}({self.kwargs}{' fn%s' % (self.fn,) if self.fn else ''})"


def draw(rng, name, steps=STEPS):
    """A random Spec of `name`."""
    if name == "StepLR":
        step_size, gamma = rng.randint(1, 60), rng.uniform(0.1, 1.0)
        return Spec(name, {"step_size": step_size, "gamma": gamma}, [step_size, gamma])
    if name == "MultiStepLR":
        milestones = sorted(rng.randint(0, steps) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.3:
            milestones.append(milestones[-1])  # a repeated milestone counts twice
        gamma = rng.uniform(0.05, 1.0)
        return Spec(name, {"milestones": milestones, "gamma": gamma}, [gamma] + milestones)
    if name == "ConstantLR":
        factor, total = rng.uniform(0.01, 1.0), rng.randint(0, 200)
        return Spec(name, {"factor": factor, "total_iters": total}, [factor, total])
    if name == "LinearLR":
        start, end, total = rng.uniform(0.01, 1.0), rng.uniform(0.0, 1.0), rng.randint(1, 200)
        return Spec(name, {"start_factor": start, "end_factor": end, "total_iters": total},
                    [start, end, total])
    if name == "ExponentialLR":
        gamma = rng.uniform(0.9, 1.0)
        return Spec(name, {"gamma": gamma}, [gamma])
    if name == "CosineAnnealingLR":
        t_max, eta_min = rng.randint(1, 120), rng.choice([0.0, 10 ** rng.uniform(-6, -3)])
        return Spec(name, {"T_max": t_max, "eta_min": eta_min}, [t_max, eta_min])
    if name == "PolynomialLR":
        total, power = rng.randint(1, 250), rng.uniform(0.3, 3.0)
        return Spec(name, {"total_iters": total, "power": power}, [total, power])
    if name == "CosineAnnealingWarmRestarts":
        t_0, t_mult = rng.randint(1, 50), rng.choice([1, 1, 2, 3])
        eta_min = rng.choice([0.0, 10 ** rng.uniform(-6, -3)])
        return Spec(name, {"T_0": t_0, "T_mult": t_mult, "eta_min": eta_min},
                    [t_0, t_mult, eta_min])
    if name == "CyclicLR":
        base_lr = 10 ** rng.uniform(-5, -2)
        max_lr = base_lr * rng.uniform(1.0, 100.0)
        up = rng.randint(1, 80)
        down = rng.choice([None, rng.randint(0, 80)])
        mode = rng.choice(["triangular", "triangular2", "exp_range"])
        gamma = rng.uniform(0.98, 1.0)
        cycle = rng.random() < 0.6
        base_m, max_m = rng.uniform(0.5, 0.85), rng.uniform(0.85, 0.99)
        fn, scale_mode = None, rng.choice(["cycle", "iterations"])
        if rng.random() < 0.3:
            fn = (rng.choice([1, 2, 3]), rng.uniform(0.0, 0.1))
            if fn[0] == 1:
                fn = (1, rng.uniform(0.9, 1.0))
        kwargs = {"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up,
                  "step_size_down": down, "mode": mode, "gamma": gamma,
                  "cycle_momentum": cycle, "base_momentum": base_m, "max_momentum": max_m}
        if fn:
            kwargs["scale_mode"] = scale_mode
        args = [base_lr, max_lr, up, up if down is None else down,
                ["triangular", "triangular2", "exp_range"].index(mode), gamma,
                ["cycle", "iterations"].index(scale_mode) if fn else 0,
                int(cycle), base_m, max_m]
        return Spec(name, kwargs, args, fn=fn)
    if name == "OneCycleLR":
        max_lr = 10 ** rng.uniform(-4, 0)
        total = rng.choice([steps, rng.randint(steps, 2 * steps)])
        pct = rng.uniform(0.05, 0.45)
        anneal = rng.choice(["cos", "linear"])
        cycle = rng.random() < 0.6
        base_m, max_m = rng.uniform(0.5, 0.85), rng.uniform(0.85, 0.99)
        div, final_div = rng.uniform(2, 50), 10 ** rng.uniform(1, 5)
        three = rng.random() < 0.5
        kwargs = {"max_lr": max_lr, "total_steps": total, "pct_start": pct,
                  "anneal_strategy": anneal, "cycle_momentum": cycle, "base_momentum": base_m,
                  "max_momentum": max_m, "div_factor": div, "final_div_factor": final_div,
                  "three_phase": three}
        args = [max_lr, total, pct, ["cos", "linear"].index(anneal), int(cycle), base_m, max_m,
                div, final_div, int(three)]
        return Spec(name, kwargs, args)
    if name == "ReduceLROnPlateau":
        mode, tmode = rng.choice(["min", "max"]), rng.choice(["rel", "abs"])
        factor, patience = rng.uniform(0.05, 0.9), rng.randint(0, 8)
        threshold = rng.choice([1e-4, rng.uniform(0, 0.05)])
        cooldown, min_lr = rng.randint(0, 5), rng.choice([0.0, 10 ** rng.uniform(-7, -4)])
        eps = rng.choice([1e-8, 10 ** rng.uniform(-9, -5)])
        kwargs = {"mode": mode, "factor": factor, "patience": patience, "threshold": threshold,
                  "threshold_mode": tmode, "cooldown": cooldown, "min_lr": min_lr, "eps": eps}
        args = [["min", "max"].index(mode), factor, patience, threshold,
                ["rel", "abs"].index(tmode), cooldown, min_lr, eps]
        return Spec(name, kwargs, args)
    if name == "SWALR":
        swa_lr, epochs = 10 ** rng.uniform(-5, -1), rng.choice([0, 1, rng.randint(2, 120)])
        strategy = rng.choice(["cos", "linear"])
        return Spec(name, {"swa_lr": swa_lr, "anneal_epochs": epochs, "anneal_strategy": strategy},
                    [swa_lr, epochs, ["cos", "linear"].index(strategy)])
    if name == "SWA schedule":
        # SWA as users write it: a schedule, then SWALR from a milestone on.
        milestone = rng.randint(1, steps - 1)
        first = draw(rng, rng.choice([k for k in COMBINABLE if k != "SWALR"]))
        return Spec("SequentialLR", {}, [milestone], children=[first, draw(rng, "SWALR")],
                    milestones=[milestone])
    if name in ("LambdaLR", "MultiplicativeLR"):
        fn = rng.choice([(1, rng.uniform(0.97, 1.0)), (2, rng.uniform(0.0, 0.1)),
                         (3, rng.uniform(0.0, 0.05))])
        return Spec(name, {}, [], fn=fn)
    if name == "ChainedScheduler":
        kids = [draw(rng, rng.choice(COMBINABLE)) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            kids.append(draw(rng, "SequentialLR"))
        rng.shuffle(kids)
        return Spec(name, {}, [], children=kids)
    if name == "SequentialLR":
        n = rng.randint(1, 4)
        milestones = sorted(rng.sample(range(1, steps), n - 1))
        kids = [draw(rng, rng.choice(COMBINABLE)) for _ in range(n)]
        return Spec(name, {}, milestones, children=kids, milestones=milestones)
    raise ValueError(name)


def commands(rng, spec):
    """The driver's commands for one run: plain steps, except fractional
    epochs for some CosineAnnealingWarmRestarts runs and a metric for
    ReduceLROnPlateau."""
    if spec.name == "ReduceLROnPlateau":
        out, metric = [], rng.uniform(0.5, 2.0)
        for _ in range(STEPS):
            r = rng.random()
            if r < 0.4:
                metric *= rng.uniform(0.9, 1.1)
            elif r < 0.5:
                metric += rng.choice([-1, 1]) * 1e-5
            out.append(("m", metric))
        return out
    if spec.name == "CosineAnnealingWarmRestarts" and rng.random() < 0.6:
        iters, out = rng.randint(1, 7), []
        for i in range(STEPS):
            if rng.random() < 0.15:
                out.append(("s", None))  # interleaved, as torch's docstring allows
            else:
                out.append(("e", i // iters + (i % iters) / iters))
        return out
    return [("s", None)] * STEPS


def torch_run(spec, base_lrs, cmds):
    """Per step: every group's lr, then the first group's momentum."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in base_lrs]
    opt = torch.optim.SGD(groups, lr=base_lrs[0], momentum=0.9)
    sched = spec.build(opt)

    def now():
        return tuple(g["lr"] for g in opt.param_groups) + (opt.param_groups[0]["momentum"],)
    out = [now()]
    for c, v in cmds:
        opt.step()
        if c == "s":
            sched.step()
        else:
            sched.step(v)
        out.append(now())
    return out


def cycles_momentum(spec):
    if spec.name in ("CyclicLR", "OneCycleLR"):
        return bool(spec.kwargs["cycle_momentum"])
    return any(cycles_momentum(c) for c in spec.children)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--driver", required=True)
    p.add_argument("--cases", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    warnings.simplefilter("ignore")
    failures = 0
    for name in list(KIND) + ["SWA schedule"]:
        rng = random.Random(f"{name}-{a.seed}")
        for i in range(a.cases):
            spec = draw(rng, name)
            base_lr = 10 ** rng.uniform(-5, 0)
            cmds = commands(rng, spec)
            resume_at = rng.randint(1, STEPS - 1) if i % 2 else 0
            # Parameter groups from a generator of their own: the one-group
            # cases stay what they were.
            grng = random.Random(f"groups-{name}-{a.seed}-{i}")
            base_lrs = [base_lr] + [10 ** grng.uniform(-5, 0)
                                    for _ in range(grng.choice([0, 0, 1, 2]))]
            want = torch_run(spec, base_lrs, cmds)
            text = " ".join(str(t) for t in [len(base_lrs)] + [repr(lr) for lr in base_lrs] +
                            [resume_at] + spec.tokens())
            text += "\n" + " ".join(c if v is None else f"{c} {v!r}" for c, v in cmds) + "\n"
            out = subprocess.run([a.driver], input=text, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"FAIL {spec}: driver failed: {out.stderr.strip()}")
                failures += 1
                continue
            got = [tuple(float(x) for x in line.split()) for line in out.stdout.splitlines()]
            cycled = cycles_momentum(spec)
            bad = []
            for t, (g, w) in enumerate(zip(got, want)):
                ok = len(g) == len(w) and all(
                    math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-12) for x, y in zip(g[:-1], w[:-1]))
                if cycled:
                    ok = ok and math.isclose(g[-1], w[-1], rel_tol=1e-6, abs_tol=1e-12)
                if not ok:
                    bad.append((t, g, w))
            if len(got) != len(want) or bad:
                t, g, w = bad[0] if bad else (len(got), None, None)
                print(f"FAIL {spec} base_lrs {base_lrs} resume_at {resume_at}: "
                      f"epoch {t}: kiln {g}, torch {w}")
                failures += 1
            else:
                print(f"ok   {spec} base_lrs {[float(f'{lr:.3g}') for lr in base_lrs]} resume_at {resume_at}")
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
