"""kiln_averaged_model (kiln/swa.h) against torch.optim.swa_utils.AveragedModel
(1.13): random small models (Linear, BatchNorm1d with its running statistics
and i64 num_batches_tracked), random sequences of 1..12 state_dicts fed to
update_parameters, equal averaging or the EMA lambda
`decay * a + (1 - decay) * p`, use_buffers on or off, half of the runs
resumed from the saved averaged model. The averaged model's file must hold
torch's state_dict() (module.<name>, n_averaged) and the model after
kiln_averaged_model_store torch's swa_model.module.state_dict(), to rel 1e-6
(they are computed with the same f32 operations; the report says how many
tensors are bit-identical). Needs /usr/bin/python3 (torch).

  check_swa.py --driver swa_driver --work DIR [--cases N] [--seed S]
"""
import argparse
import os
import random
import subprocess
import sys

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
from kiln_oracle import read_safetensors, write_safetensors  # noqa: E402


def random_model(rng):
    layers, width = [], rng.randint(1, 6)
    for _ in range(rng.randint(1, 3)):
        out = rng.randint(1, 6)
        layers.append(torch.nn.Linear(width, out, bias=rng.random() < 0.7))
        if rng.random() < 0.5:
            layers.append(torch.nn.BatchNorm1d(out))
        width = out
    return torch.nn.Sequential(*layers)


def randomize(model, gen):
    """A new random state_dict, as training would leave it."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.dtype == torch.int64:
                t.copy_(torch.randint(0, 1000, t.shape, generator=gen))
            elif "running_var" in name:
                t.copy_(torch.rand(t.shape, generator=gen) + 0.1)
            else:
                t.copy_(torch.randn(t.shape, generator=gen))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--driver", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--cases", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rng = random.Random(f"swa-{a.seed}")
    gen = torch.Generator().manual_seed(a.seed)
    failures = 0
    for case in range(a.cases):
        model = random_model(rng)
        ema = rng.random() < 0.5
        decay = rng.choice([0.9, 0.99, rng.uniform(0.0, 1.0)]) if ema else 0.0
        use_buffers = rng.random() < 0.5
        steps = rng.randint(1, 12)
        resume_at = rng.randint(1, steps - 1) if case % 2 and steps > 1 else 0
        avg_fn = (lambda avg, cur, n: decay * avg + (1 - decay) * cur) if ema else None
        sequence = {}
        randomize(model, gen)
        swa = AveragedModel(model, avg_fn=avg_fn, use_buffers=use_buffers)
        for t in range(steps):
            if t:
                randomize(model, gen)
            for name, v in model.state_dict().items():
                sequence[f"step{t}/{name}"] = v.numpy().copy()
            swa.update_parameters(model)
        seq_path = os.path.join(a.work, f"case{case}.safetensors")
        out_path = os.path.join(a.work, f"case{case}.averaged.safetensors")
        stored_path = os.path.join(a.work, f"case{case}.stored.safetensors")
        write_safetensors(seq_path, sequence)
        desc = (f"case {case}: {'EMA decay %.4g' % decay if ema else 'equal'}, use_buffers "
                f"{int(use_buffers)}, {steps} updates, resume_at {resume_at}, "
                f"{len(model.state_dict())} tensors")
        run = subprocess.run([a.driver, seq_path, str(int(ema)), repr(decay), str(int(use_buffers)),
                              str(resume_at), out_path, stored_path], capture_output=True, text=True)
        if run.returncode:
            print(f"FAIL {desc}: driver: {run.stderr.strip()}")
            failures += 1
            continue
        problems, exact, total = [], 0, 0
        for path, want in ((out_path, swa.state_dict()), (stored_path, swa.module.state_dict())):
            got = read_safetensors(path)
            if list(got) != list(want):
                problems.append(f"{os.path.basename(path)}: tensors {list(got)}, torch {list(want)}")
                continue
            for name, w in want.items():
                w, g = w.numpy(), got[name]
                total += 1
                if g.dtype != w.dtype or g.shape != w.shape:
                    problems.append(f"{name}: {g.dtype}{g.shape} vs torch {w.dtype}{w.shape}")
                elif np.array_equal(g, w):
                    exact += 1
                elif not np.allclose(g, w, rtol=1e-6, atol=1e-7):
                    i = int(np.argmax(np.abs(g.astype(np.float64) - w)))
                    problems.append(f"{name}: element {i} {g.ravel()[i]!r} vs torch {w.ravel()[i]!r}")
        if problems:
            print(f"FAIL {desc}: " + "; ".join(problems))
            failures += 1
        else:
            print(f"ok   {desc}: {exact}/{total} tensors bit-identical")
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
