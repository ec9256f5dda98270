"""kiln/prune.h against torch.nn.utils.prune (1.13): random pruned
parameters (1 to 4 dims, masks of ones or already partly pruned), random
sequences of l1_unstructured, ln_structured (n 1, 2, 3, 0.5, inf, -inf;
any dim, negative too), random_unstructured, random_structured,
global_unstructured (L1 or random), a BasePruningMethod of the test's own
(unstructured, structured or global) and remove, with amounts as counts
or fractions (some too large, which both must refuse), with or without
importance scores.

Each operation starts torch from the state Kiln had before it (the mask
through prune.custom_from_mask, so torch composes the new method with it
in a PruningContainer, as Kiln does) and must give Kiln's state after it:
the same mask exactly for the deterministic methods; for the random ones
(whose stream Kiln cannot replay) the same number of elements or channels
pruned, only where the old mask kept, whole channels for the structured
one. Needs /usr/bin/python3 (torch).

  check_prune.py --driver prune_driver --work DIR [--cases N] [--seed S]
"""
import argparse
import math
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import torch
import torch.nn.utils.prune as prune

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
from kiln_oracle import read_safetensors, write_safetensors  # noqa: E402


class Threshold(prune.BasePruningMethod):
    """The driver's custom method: keep what the default mask keeps where
    |t| <= 1."""
    PRUNING_TYPE = "unstructured"

    def __init__(self, pruning_type, dim=-1):
        self.PRUNING_TYPE = pruning_type
        self.dim = dim

    def compute_mask(self, t, default_mask):
        return default_mask * (t.abs() <= 1.0).to(default_mask.dtype)


def random_state(rng, gen, count):
    """count pruned parameters p<i>.weight: shapes, origs, masks, scores."""
    state = {}
    for i in range(count):
        shape = [rng.randint(1, 5) for _ in range(rng.randint(1, 4))]
        name = f"p{i}.weight"
        state[name + "_orig"] = torch.randn(*shape, generator=gen).numpy()
        mask = torch.ones(*shape)
        if rng.random() < 0.4:
            mask = (torch.rand(*shape, generator=gen) < 0.7).float()
        if rng.random() < 0.3 and len(shape) > 1:
            dim = rng.randrange(len(shape))
            idx = [slice(None)] * len(shape)
            idx[dim] = rng.randrange(shape[dim])
            mask[tuple(idx)] = 0
        state[name + "_mask"] = mask.numpy()
        state["scores/" + name] = torch.randn(*shape, generator=gen).numpy()
    return state


def amount_text(rng, size):
    """A count (sometimes too large) or a fraction."""
    if rng.random() < 0.5:
        return f"c{rng.randint(0, size + (1 if rng.random() < 0.15 else 0))}"
    return f"f{rng.choice([0.0, 1.0, 0.5, round(rng.random(), 3)])}"


def amount_value(text):
    return int(text[1:]) if text[0] == "c" else float(text[1:])


def random_op(rng, names, shapes):
    name = rng.choice(names)
    shape = shapes[name]
    rank = len(shape)
    numel = int(np.prod(shape))
    kind = rng.choice(["l1", "l1", "ln", "ln", "random", "rstruct", "global", "custom", "remove"])
    if kind in ("ln", "rstruct") and rank < 2:
        # torch 1.13 refuses a 1-D parameter pruned for the first time but
        # lets an already pruned one through its container's slicing (as
        # [1, n]); Kiln refuses both (kiln/prune.h).
        kind = "l1"
    scores = " scores" if rng.random() < 0.3 else ""
    if kind == "l1":
        return f"l1 {name} {amount_text(rng, numel)}{scores}"
    if kind in ("ln", "rstruct"):
        dim = rng.randrange(-rank, rank)
        amount = amount_text(rng, shape[dim])
        if kind == "rstruct":
            return f"rstruct {name} {amount} {dim} {rng.randrange(1 << 32)}"
        n = rng.choice(["1", "2", "3", "0.5", "inf", "-inf"])
        return f"ln {name} {amount} {n} {dim}{scores}"
    if kind == "random":
        return f"random {name} {amount_text(rng, numel)} {rng.randrange(1 << 32)}"
    if kind == "global":
        chosen = rng.sample(names, rng.randint(1, len(names)))
        total = sum(int(np.prod(shapes[n])) for n in chosen)
        method = rng.choice(["l1", "l1", "random"])
        return f"global {method} {amount_text(rng, total)} {rng.randrange(1 << 32)}{scores} " + " ".join(chosen)
    if kind == "custom":
        return f"custom {name} {rng.choice(['unstructured', 'structured', 'global'])} {rng.randrange(-rank, rank)}"
    return f"remove {name}"


def torch_state(state, names):
    """A module with a child p<i> per parameter, pruned with the given masks
    (custom_from_mask: torch then composes the next method with them)."""
    root = torch.nn.Module()
    for name in names:
        child = torch.nn.Module()
        child.weight = torch.nn.Parameter(torch.tensor(state[name + "_orig"]).clone())
        prune.custom_from_mask(child, "weight", torch.tensor(state[name + "_mask"]).clone())
        root.add_module(name.split(".")[0], child)
    return root


def run_torch(op, before, names, scores):
    """torch's state after `op` from `before`: {name_orig, name_mask} of the
    parameter(s) it touched, or an exception."""
    root = torch_state(before, names)
    words = op.split()
    kind = words[0]
    child = lambda n: getattr(root, n.split(".")[0])
    score = lambda n: torch.tensor(scores[n]) if "scores" in words else None
    if kind == "l1":
        prune.l1_unstructured(child(words[1]), "weight", amount=amount_value(words[2]),
                              importance_scores=score(words[1]))
        touched = [words[1]]
    elif kind == "ln":
        n = float(words[3])
        prune.ln_structured(child(words[1]), "weight", amount=amount_value(words[2]), n=n,
                            dim=int(words[4]), importance_scores=score(words[1]))
        touched = [words[1]]
    elif kind == "random":
        prune.random_unstructured(child(words[1]), "weight", amount=amount_value(words[2]))
        touched = [words[1]]
    elif kind == "rstruct":
        prune.random_structured(child(words[1]), "weight", amount=amount_value(words[2]),
                                dim=int(words[3]))
        touched = [words[1]]
    elif kind == "global":
        touched = [w for w in words[4:] if w != "scores"]
        method = prune.L1Unstructured if words[1] == "l1" else prune.RandomUnstructured
        importance = ({(child(n), "weight"): torch.tensor(scores[n]) for n in touched}
                      if "scores" in words else None)
        prune.global_unstructured([(child(n), "weight") for n in touched], pruning_method=method,
                                  importance_scores=importance, amount=amount_value(words[2]))
    elif kind == "custom":
        Threshold.apply(child(words[1]), "weight", words[2], int(words[3]))
        touched = [words[1]]
    elif kind == "remove":
        prune.remove(child(words[1]), "weight")
        c = child(words[1])
        return {words[1] + "_orig": c.weight.detach().numpy(),
                words[1] + "_mask": np.ones_like(c.weight.detach().numpy())}
    out = {}
    for n in touched:
        c = child(n)
        out[n + "_orig"] = c.weight_orig.detach().numpy()
        out[n + "_mask"] = c.weight_mask.detach().numpy()
    return out


def channels(mask, dim):
    """[channels of dim, rest]."""
    return np.moveaxis(mask, dim, 0).reshape(mask.shape[dim], -1)


def check_random(op, before, after, want):
    """Kiln's random pruning against torch's: only where the old mask kept,
    as many elements pruned as torch (over all the parameters of a global
    pruning, which spreads them at random), and for random_structured as
    many whole channels."""
    words = op.split()
    masks = [k for k in want if k.endswith("_mask")]
    for key in masks:
        if np.any((before[key] == 0) & (after[key] != 0)):
            return f"{key}: an element the old mask pruned came back"
    if words[0] == "rstruct":
        key = masks[0]
        dim = int(words[3]) % after[key].ndim
        old, got, ref = (channels(m, dim) for m in (before[key], after[key], want[key]))
        newly = lambda m: [c for c in range(m.shape[0]) if old[c].any() and not m[c].any()]
        if len(newly(got)) != len(newly(ref)):
            return f"{key}: {len(newly(got))} channels pruned, torch {len(newly(ref))}"
        for c in range(got.shape[0]):
            changed = (old[c] != 0) & (got[c] == 0)
            if changed.any() and got[c].any():
                return f"{key}: channel {c} pruned in part"
        return None
    zeros = lambda d: sum(np.count_nonzero(d[k] == 0) for k in masks)
    if zeros(after) != zeros(want):
        return f"{zeros(after)} zeros, torch {zeros(want)}"
    return None


def check_ties(op, before, after, want, names, scores):
    """Masks that differ from torch's only in which of equal scores they
    prune (torch's topk leaves that open; a removed pruning leaves zeros
    that tie): the same scores pruned, as a multiset (channel norms for
    ln_structured)."""
    words = op.split()
    masks = [k for k in want if k.endswith("_mask")]
    use_scores = "scores" in words

    def importance(key):
        n = key[:-5]
        return scores[n] if use_scores else before[n + "_orig"] * before[key]

    def pruned(result):
        values = []
        for key in masks:
            new = (before[key] != 0) & (result[key] == 0)
            if words[0] == "ln":
                dim = int(words[4]) % new.ndim
                norms = torch.norm(torch.tensor(np.moveaxis(importance(key), dim, 0)).reshape(
                    new.shape[dim], -1), p=float(words[3]), dim=1).numpy()
                values += [norms[c] for c in range(new.shape[dim]) if channels(new, dim)[c].any()]
            else:
                values += list(np.abs(importance(key)[new]))
        return sorted(values)

    if words[0] not in ("l1", "ln", "global") or pruned(after) != pruned(want):
        return False
    for key in masks:
        if np.any((before[key] == 0) & (after[key] != 0)):
            return False
    return all(np.array_equal(after[k], v) for k, v in want.items() if k.endswith("_orig"))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--driver", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--cases", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = random.Random(f"prune-{a.seed}")
    gen = torch.Generator().manual_seed(a.seed)
    failures, checked, refused, ties = 0, 0, 0, 0
    for case in range(a.cases):
        work = os.path.join(a.work, f"case{case}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        state = random_state(rng, gen, rng.randint(1, 3))
        names = sorted(k[:-5] for k in state if k.endswith("_orig"))
        shapes = {n: list(state[n + "_orig"].shape) for n in names}
        scores = {n: state["scores/" + n] for n in names}
        ops = [random_op(rng, names, shapes) for _ in range(rng.randint(1, 8))]
        write_safetensors(os.path.join(work, "state.safetensors"), state)
        with open(os.path.join(work, "ops.txt"), "w") as f:
            f.write("\n".join(ops) + "\n")
        subprocess.run([a.driver, os.path.join(work, "state.safetensors"),
                        os.path.join(work, "ops.txt"), work], check=True)
        before = {k: v for k, v in state.items() if not k.startswith("scores/")}
        for i, op in enumerate(ops):
            where = f"case {case} op {i} `{op}`"
            error_file = os.path.join(work, f"after{i}.error")
            try:
                want = run_torch(op, before, names, scores)
            except (ValueError, IndexError, TypeError, RuntimeError) as e:
                if not os.path.exists(error_file):
                    print(f"FAIL {where}: torch raised ({e}), Kiln did not")
                    failures += 1
                else:
                    refused += 1
                continue
            if os.path.exists(error_file):
                print(f"FAIL {where}: Kiln refused ({open(error_file).read().strip()}), torch did not")
                failures += 1
                continue
            after = read_safetensors(os.path.join(work, f"after{i}.safetensors"))
            if op.split()[0] in ("random", "rstruct") or op.startswith("global random"):
                problem = check_random(op, before, after, want)
            else:
                problem = next((f"{k}: differs from torch's (max |diff| "
                                f"{np.max(np.abs(after[k] - v))})"
                                for k, v in want.items() if not np.array_equal(after[k], v)), None)
                if problem and check_ties(op, before, after, want, names, scores):
                    problem, ties = None, ties + 1
            untouched = [k for k in before if k not in want and not np.array_equal(after[k], before[k])]
            if untouched:
                problem = problem or f"{untouched[0]} changed though the operation does not touch it"
            if problem:
                print(f"FAIL {where}: {problem}")
                failures += 1
            checked += 1
            before = after
    print(f"check_prune: {a.cases} cases, {checked} operations matched torch's ({ties} up to "
          f"which of equal scores), {refused} refused by both, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
