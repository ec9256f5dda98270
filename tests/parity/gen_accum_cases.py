"""Writes random parity models for gradient accumulation (issue 10 item 7):
a random Linear -> ReLU -> Linear model with an MSE or cross-entropy loss
(mean or sum: k backward calls of a mean loss add k means, as in torch),
trained by SGD (random momentum, dampening, nesterov, weight decay) or Adam
(random betas, eps, weight decay, amsgrad), some of them with
clip_grad_norm (torch clips the accumulated gradient). Each case trains
with K accumulate calls (K random in 1..4, a micro-batch each) per apply,
5 applies; the oracle does loss.backward() K times then step().

  gen_accum_cases.py --out DIR --count N --seed S

N cases per optimizer, then N // 2 clipping cases. Writes cases.cmake with
set(parity_steps_<name> 5), set(parity_accumulate_<name> K) and
set(parity_steps_rtol_<name> 1e-5).
Deterministic for a seed. Runs with any python3.

The batch size is random per case, not per micro-batch: a compiled model
has static shapes, so its micro-batches all have the model's batch size.
"""
import argparse
import os
import random

from case_files import mlp_model, random_loss, random_mlp_sizes, write_case, write_steps

STEPS = 5
# The tolerance for parameters and optimizer state after the steps
# (the parity suite's default is 1e-4 after 10 steps).
STEPS_RTOL = 1e-5


def log_uniform(rng, lo, hi):
    return 10 ** rng.uniform(lo, hi)


def sgd(rng):
    momentum = rng.choice([0.0, rng.uniform(0.5, 0.95)])
    nesterov = momentum > 0 and rng.random() < 0.3
    return {"lr": log_uniform(rng, -3, -1), "momentum": momentum,
            "dampening": 0.0 if nesterov else rng.choice([0.0, rng.uniform(0.0, 0.5)]),
            "weight_decay": rng.choice([0.0, log_uniform(rng, -4, -2)]),
            "nesterov": nesterov, "maximize": rng.random() < 0.2}


def adam(rng):
    return {"lr": log_uniform(rng, -4, -2),
            "betas": [rng.choice([0.9, rng.uniform(0.5, 0.95)]), rng.choice([0.999, rng.uniform(0.9, 0.9999)])],
            "eps": rng.choice([1e-8, log_uniform(rng, -8, -4)]),
            "weight_decay": rng.choice([0.0, log_uniform(rng, -4, -2)]),
            "amsgrad": rng.random() < 0.4, "maximize": rng.random() < 0.2}


OPTIMIZERS = {"SGD": sgd, "Adam": adam}


def case(rng, name, optimizer, clip):
    sizes = random_mlp_sizes(rng)
    loss, target = random_loss(rng, sizes[0], sizes[3], rng.random() < 0.5)
    model = mlp_model(name, sizes, loss, target, {"type": optimizer, "options": OPTIMIZERS[optimizer](rng)})
    if clip:
        # max_norm around the summed gradients' norm (about 1e-2..1 here), so
        # that most cases clip and some do not.
        model["training"]["clip_grad_norm"] = {
            "max_norm": log_uniform(rng, -2, 0), "norm_type": rng.choice([2.0, 1.0, "inf"]),
            "error_if_nonfinite": rng.random() < 0.5}
    return model, rng.randint(1, 4)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    lines = []
    rng = random.Random(f"accumulate-{a.seed}")
    kinds = [(o, False) for o in OPTIMIZERS for _ in range(a.count)]
    kinds += [(rng.choice(list(OPTIMIZERS)), True) for _ in range(a.count // 2)]
    for i, (optimizer, clip) in enumerate(kinds):
        name = f"accum_{optimizer.lower()}{'_clip' if clip else ''}_random_{a.seed}_{i}_basic"
        model, k = case(rng, name, optimizer, clip)
        write_case(a.out, name, model)
        lines.append(f"set(parity_steps_{name} {STEPS})")
        lines.append(f"set(parity_accumulate_{name} {k})")
        lines.append(f"set(parity_steps_rtol_{name} {STEPS_RTOL})")
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
