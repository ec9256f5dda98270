"""Writes random parity models for the torch.optim optimizers other than
SGD (gen_sgd_cases.py): Adam, AdamW, Adamax, NAdam, RAdam, Adagrad, Adadelta,
RMSprop, Rprop and ASGD, each with random hyper-parameters over the ranges
users use (lr log-uniform over 1e-5..1 where the optimizer's step scales
with lr, every flag) on a random Linear -> ReLU -> Linear model with an MSE
or cross-entropy loss. The oracle compares the parameters, every state
tensor torch keeps per parameter (exp_avg, exp_avg_sq, sum, ...) and the
losses after the train steps. Besides, CLIP_CASES cases of gradient
clipping (clip_grad_norm_, clip_grad_value_) with a random optimizer, and
GROUP_CASES cases of parameter groups (torch's param_groups) with a random
optimizer and per-group options, SCHED_CASES of declared schedulers and
NADAM_CYCLE_CASES of NAdam under a OneCycleLR that cycles beta1 (NAdam's
mu_product state then depends on every past beta1).

  gen_optim_cases.py --out DIR --count N --seed S

N cases per optimizer, in the optimizers' order. Deterministic for a seed:
a case that once failed keeps failing until fixed. Runs with any python3.
"""
import argparse
import os
import random

from case_files import add_case, mlp_model, random_loss, random_mlp_sizes, write_steps


def log_uniform(rng, lo, hi):
    return 10 ** rng.uniform(lo, hi)


def maybe(rng, value, p=0.5):
    return value if rng.random() < p else 0.0


def betas(rng):
    return [rng.choice([0.9, rng.uniform(0.0, 0.99)]), rng.choice([0.999, rng.uniform(0.5, 0.9999)])]


# name -> (options(rng), lr range exponent): lr is drawn log-uniformly over
# 10^lo..10^hi (where the step size does not scale with lr, e.g. Rprop's
# growth, smaller ranges keep 10 steps well-conditioned).
OPTIMIZERS = {
    "Adam": lambda rng: {"betas": betas(rng), "eps": rng.choice([1e-8, log_uniform(rng, -8, -2)]),
                         "weight_decay": maybe(rng, log_uniform(rng, -5, -1)),
                         "amsgrad": rng.random() < 0.4, "maximize": rng.random() < 0.25},
    "AdamW": lambda rng: {"betas": betas(rng), "eps": rng.choice([1e-8, log_uniform(rng, -8, -2)]),
                          "weight_decay": rng.choice([1e-2, log_uniform(rng, -5, -1), 0.0]),
                          "amsgrad": rng.random() < 0.4, "maximize": rng.random() < 0.25},
    "Adamax": lambda rng: {"betas": betas(rng), "eps": rng.choice([1e-8, log_uniform(rng, -8, -2)]),
                           "weight_decay": maybe(rng, log_uniform(rng, -5, -1)),
                           "maximize": rng.random() < 0.25},
    "NAdam": lambda rng: {"betas": betas(rng), "eps": rng.choice([1e-8, log_uniform(rng, -8, -2)]),
                          "weight_decay": maybe(rng, log_uniform(rng, -5, -1)),
                          "momentum_decay": rng.choice([4e-3, log_uniform(rng, -4, 0), 0.0])},
    "RAdam": lambda rng: {"betas": betas(rng), "eps": rng.choice([1e-8, log_uniform(rng, -8, -2)]),
                          "weight_decay": maybe(rng, log_uniform(rng, -5, -1))},
    "Adagrad": lambda rng: {"lr_decay": maybe(rng, log_uniform(rng, -4, -1)),
                            "weight_decay": maybe(rng, log_uniform(rng, -5, -1)),
                            "initial_accumulator_value": maybe(rng, rng.uniform(0.0, 1.0)),
                            "eps": rng.choice([1e-10, log_uniform(rng, -10, -3)]),
                            "maximize": rng.random() < 0.25},
    "Adadelta": lambda rng: {"rho": rng.choice([0.9, rng.uniform(0.0, 1.0)]),
                             "eps": rng.choice([1e-6, log_uniform(rng, -8, -3)]),
                             "weight_decay": maybe(rng, log_uniform(rng, -5, -1)),
                             "maximize": rng.random() < 0.25},
    "RMSprop": lambda rng: {"alpha": rng.choice([0.99, rng.uniform(0.5, 0.999)]),
                            "eps": rng.choice([1e-8, log_uniform(rng, -8, -3)]),
                            "weight_decay": maybe(rng, log_uniform(rng, -5, -1)),
                            "momentum": maybe(rng, rng.uniform(0.1, 0.95)),
                            "centered": rng.random() < 0.5, "maximize": rng.random() < 0.25},
    "Rprop": lambda rng: {"etas": [rng.uniform(0.1, 0.9), rng.uniform(1.05, 2.0)],
                          "step_sizes": [rng.choice([1e-6, log_uniform(rng, -8, -4)]),
                                         rng.choice([50.0, rng.uniform(0.01, 1.0)])],
                          "maximize": rng.random() < 0.25},
    "ASGD": lambda rng: {"lambd": rng.choice([1e-4, log_uniform(rng, -5, -1)]),
                         "alpha": rng.choice([0.75, rng.uniform(0.1, 1.0)]),
                         "t0": rng.choice([1e6, float(rng.randint(0, 5))]),
                         "weight_decay": maybe(rng, log_uniform(rng, -5, -1)),
                         "maximize": rng.random() < 0.25},
}
# Adaptive methods take steps of about lr per coordinate whatever the
# gradient: above 0.1 ten steps of a small model wander far; Adadelta's lr
# is a multiplier of an already unit-free step (torch's default is 1).
LR_RANGE = {"Adadelta": (-2, 0.5), "Rprop": (-5, -1), "Adam": (-5, -1), "AdamW": (-5, -1),
            "Adamax": (-5, -1), "NAdam": (-5, 0), "RAdam": (-5, -1), "RMSprop": (-5, -1), "Adagrad": (-5, -0.5),
            "ASGD": (-5, -1)}


def case(rng, name, optimizer):
    sizes = random_mlp_sizes(rng)
    opts = OPTIMIZERS[optimizer](rng)
    lo, hi = LR_RANGE[optimizer]
    opts = {"lr": log_uniform(rng, lo, hi), **opts}
    loss, target = random_loss(rng, sizes[0], sizes[3], rng.random() < 0.5)
    model = mlp_model(name, sizes, loss, target, {"type": optimizer, "options": opts})
    # Steps of about lr per coordinate: from lr 0.3 on, five of them turn
    # float rounding into differences over rtol (NAdam at lr 0.96: 1.1e-4
    # after 5 steps, 0.1 of the tolerance after 3); Adadelta's lr is a
    # multiplier of a unit-free step and keeps five.
    lr = opts["lr"]
    return model, 10 if lr < 0.01 else 5 if lr < 0.3 or optimizer == "Adadelta" else 3


# Gradient-clipping cases per seed (their own generator, so the optimizer
# cases stay what they were): SGD (whose step scales with the gradient, so
# a missing or wrong clip shows in the parameters; Adam-likes undo a
# constant scale) or Adam, with clip_grad_norm (p = 2, 1, inf or a random p
# in 0.5..4; max_norm log-uniform over 1e-3..1, clip_value over 1e-4..0.03:
# the gradients of these models are about 1e-3..1, so that most cases clip and
# some do not) or clip_grad_value.
CLIP_CASES = 12


def clip_case(rng, name):
    sizes = random_mlp_sizes(rng)
    if rng.random() < 0.75:
        optimizer = "SGD"
        opts = {"lr": log_uniform(rng, -2.5, -1), "momentum": rng.choice([0.0, 0.9])}
    else:
        optimizer = "Adam"
        opts = {"lr": log_uniform(rng, -3, -1.5)}
    if rng.random() < 0.7:
        norm_type = rng.choice([2.0, 1.0, "inf", round(rng.uniform(0.5, 4.0), 3)])
        clip = {"clip_grad_norm": {"max_norm": log_uniform(rng, -3, 0), "norm_type": norm_type,
                                   "error_if_nonfinite": rng.random() < 0.5}}
    else:
        clip = {"clip_grad_value": {"clip_value": log_uniform(rng, -4, -1.5)}}
    loss, target = random_loss(rng, sizes[0], sizes[3], rng.random() < 0.5)
    model = mlp_model(name, sizes, loss, target, {"type": optimizer, "options": opts})
    model["training"].update(clip)
    return model, 10


# Parameter-group cases per seed (their own generator): every optimizer in
# turn, the model's four parameters split over two or three groups (now and
# then one) by parameter or module name, a third of the cases leaving one
# out of every group (torch does not update it), each group overriding a
# random subset of freshly drawn options (its own lr over the optimizer's
# range, weight decay, betas, amsgrad, momentum, ...), so that groups
# differ in their state tensors too.
GROUP_CASES = 12
SGD_GROUP_OPTIONS = lambda rng: {"momentum": rng.choice([0.0, 0.9, rng.uniform(0.1, 0.95)]),
                                 "weight_decay": maybe(rng, log_uniform(rng, -5, -1)),
                                 "maximize": rng.random() < 0.25}
LR_RANGE_SGD = (-3, -0.5)


def group_case(rng, name, optimizer):
    sizes = random_mlp_sizes(rng)
    draw = SGD_GROUP_OPTIONS if optimizer == "SGD" else OPTIMIZERS[optimizer]
    lo, hi = LR_RANGE_SGD if optimizer == "SGD" else LR_RANGE[optimizer]
    opts = {"lr": log_uniform(rng, lo, hi), **draw(rng)}
    # Parameters or whole modules ("0" = 0.weight and 0.bias), in random order.
    units = rng.choice([["0.weight", "0.bias", "2.weight", "2.bias"], ["0", "2"],
                        ["0", "2.weight", "2.bias"], ["0.weight", "0.bias", "2"]])
    rng.shuffle(units)
    if len(units) > 2 and rng.random() < 0.35:
        units = units[1:]  # one unit in no group: torch leaves it as it is
    count = 1 if rng.random() < 0.15 else rng.randint(2, min(3, len(units)))
    cuts = sorted(rng.sample(range(1, len(units)), count - 1))
    groups = []
    for a, b in zip([0] + cuts, cuts + [len(units)]):
        fresh = {"lr": log_uniform(rng, lo, hi), **draw(rng)}
        keys = [k for k in fresh if rng.random() < 0.5]
        groups.append({"params": units[a:b], "options": {k: fresh[k] for k in keys}})
    loss, target = random_loss(rng, sizes[0], sizes[3], rng.random() < 0.5)
    model = mlp_model(name, sizes, loss, target,
                      {"type": optimizer, "options": opts, "param_groups": groups})
    lr = max([opts["lr"]] + [g["options"].get("lr", 0.0) for g in groups])
    return model, 10 if lr < 0.01 else 5 if lr < 0.3 or optimizer == "Adadelta" else 3


# Scheduler cases per seed (their own generator): a declared
# training.scheduler stepped after every optimizer step on both sides (the
# driver's kiln_model_scheduler_step, torch's scheduler.step()), over one
# group or two, with SGD (momentum) or an Adam-like optimizer; the
# schedules are short enough to change the lr at several of the 10 steps.
# CyclicLR (with SGD or RMSprop, as torch 1.13 requires) and OneCycleLR
# mostly cycle the momentum (or beta1) too.
SCHED_CASES = 18


def random_scheduler(rng, kind, steps, cycle_momentum=False, peak=(-3, -2)):
    """`peak`: the exponent range of the peak lr CyclicLR and OneCycleLR
    reach (adaptive optimizers take steps of about lr per coordinate)."""
    if kind == "StepLR":
        return {"type": kind, "options": {"step_size": rng.randint(1, 3), "gamma": rng.uniform(0.3, 0.9)}}
    if kind == "MultiStepLR":
        return {"type": kind, "options": {"milestones": sorted(rng.sample(range(1, steps), 3)),
                                          "gamma": rng.uniform(0.3, 0.9)}}
    if kind == "ExponentialLR":
        return {"type": kind, "options": {"gamma": rng.uniform(0.7, 0.99)}}
    if kind == "CosineAnnealingLR":
        return {"type": kind, "options": {"T_max": rng.randint(2, 8), "eta_min": maybe(rng, 1e-4)}}
    if kind == "LinearLR":
        return {"type": kind, "options": {"start_factor": rng.uniform(0.1, 1.0), "end_factor": rng.uniform(0.2, 1.0),
                                          "total_iters": rng.randint(1, steps)}}
    if kind == "CosineAnnealingWarmRestarts":
        return {"type": kind, "options": {"T_0": rng.randint(1, 4), "T_mult": rng.randint(1, 2),
                                          "eta_min": maybe(rng, 1e-4)}}
    if kind == "CyclicLR":
        return {"type": kind, "options": {"base_lr": log_uniform(rng, peak[0] - 1, peak[0]),
                                          "max_lr": log_uniform(rng, *peak),
                                          "step_size_up": float(rng.randint(1, 4)),
                                          "mode": rng.choice(["triangular", "triangular2", "exp_range"]),
                                          "gamma": rng.uniform(0.8, 1.0), "cycle_momentum": cycle_momentum}}
    if kind == "OneCycleLR":
        return {"type": kind, "options": {"max_lr": log_uniform(rng, *peak), "total_steps": steps + rng.randint(1, 5),
                                          "pct_start": rng.uniform(0.1, 0.6),
                                          "anneal_strategy": rng.choice(["cos", "linear"]),
                                          "three_phase": rng.random() < 0.3,
                                          "cycle_momentum": cycle_momentum}}
    if kind == "SequentialLR":
        first = random_scheduler(rng, rng.choice(["LinearLR", "ExponentialLR"]), steps)
        second = random_scheduler(rng, rng.choice(["StepLR", "CosineAnnealingLR"]), steps)
        return {"type": kind, "options": {"milestones": [rng.randint(2, steps - 2)]}, "schedulers": [first, second]}
    raise ValueError(kind)


SCHEDULERS = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
              "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR",
              "CyclicLR", "OneCycleLR", "OneCycleLR", "CyclicLR", "OneCycleLR", "OneCycleLR",
              "CyclicLR", "OneCycleLR", "OneCycleLR"]


def sched_case(rng, name, kind):
    sizes = random_mlp_sizes(rng)
    optimizer = rng.choice(["SGD", "RMSprop"] if kind == "CyclicLR" else ["SGD", "Adam", "AdamW", "RMSprop"])
    if optimizer == "SGD":
        opts = {"lr": log_uniform(rng, -3, -1.5), "momentum": rng.choice([0.0, 0.9])}
    else:
        opts = {"lr": log_uniform(rng, -4, -2.5), **OPTIMIZERS[optimizer](rng)}
    opt = {"type": optimizer, "options": opts}
    if rng.random() < 0.5:
        opt["param_groups"] = [{"params": ["0"], "options": {"lr": opts["lr"] * rng.uniform(0.1, 3)}},
                               {"params": ["2"]}]
    loss, target = random_loss(rng, sizes[0], sizes[3], rng.random() < 0.5)
    model = mlp_model(name, sizes, loss, target, opt)
    # RMSprop's and Adam's steps are about lr per coordinate: at a peak lr of
    # 1e-2 ten steps of these small models turn rounding into 1e-2 relative
    # differences in a few elements with or without a scheduler (seed 0,
    # RMSprop under OneCycleLR), so their peaks stay at 1e-4..1e-3.
    peak = (-3, -2) if optimizer == "SGD" else (-4, -3)
    model["training"]["scheduler"] = random_scheduler(rng, kind, 10, rng.random() < 0.75, peak)
    return model, 10


# NAdam under OneCycleLR with cycle_momentum (torch 1.13 cycles betas[0];
# CyclicLR would need a `momentum`): mu_product *= mu_t with a different
# beta1 every step, so it is a state, compared after the steps like
# exp_avg. One group or two, random NAdam options and schedule.
NADAM_CYCLE_CASES = 6


def nadam_cycle_case(rng, name):
    sizes = random_mlp_sizes(rng)
    opts = {"lr": log_uniform(rng, -4, -2.5), **OPTIMIZERS["NAdam"](rng)}
    opt = {"type": "NAdam", "options": opts}
    if rng.random() < 0.5:
        opt["param_groups"] = [{"params": ["0"], "options": {"lr": opts["lr"] * rng.uniform(0.1, 3)}},
                               {"params": ["2"]}]
    loss, target = random_loss(rng, sizes[0], sizes[3], rng.random() < 0.5)
    model = mlp_model(name, sizes, loss, target, opt)
    scheduler = random_scheduler(rng, "OneCycleLR", 10, True, (-4, -3))
    scheduler["options"]["base_momentum"] = rng.uniform(0.5, 0.85)
    scheduler["options"]["max_momentum"] = rng.uniform(0.86, 0.99)
    model["training"]["scheduler"] = scheduler
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    lines = []
    for optimizer in OPTIMIZERS:
        # One generator per optimizer: adding an optimizer keeps the others' cases.
        rng = random.Random(f"{optimizer}-{a.seed}")
        for i in range(a.count):
            name = f"optim_{optimizer.lower()}_random_{a.seed}_{i}_basic"
            model, steps = case(rng, name, optimizer)
            add_case(a.out, lines, name, model, steps)
    rng = random.Random(f"clip-{a.seed}")
    for i in range(CLIP_CASES):
        name = f"optim_clip_random_{a.seed}_{i}_basic"
        model, steps = clip_case(rng, name)
        add_case(a.out, lines, name, model, steps)
    rng = random.Random(f"sched-{a.seed}")
    for i in range(SCHED_CASES):
        name = f"optim_sched_random_{a.seed}_{i}_basic"
        model, steps = sched_case(rng, name, SCHEDULERS[i % len(SCHEDULERS)])
        add_case(a.out, lines, name, model, steps)
    rng = random.Random(f"groups-{a.seed}")
    for i in range(GROUP_CASES):
        name = f"optim_groups_random_{a.seed}_{i}_basic"
        model, steps = group_case(rng, name, (["SGD"] + list(OPTIMIZERS))[i % (1 + len(OPTIMIZERS))])
        add_case(a.out, lines, name, model, steps)
    rng = random.Random(f"nadam-cycle-{a.seed}")
    for i in range(NADAM_CYCLE_CASES):
        name = f"optim_nadam_cycle_random_{a.seed}_{i}_basic"
        model, steps = nadam_cycle_case(rng, name)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
