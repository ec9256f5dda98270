"""ctest runner for the parity and bad-input tests (run with /usr/bin/python3).

  run_case.py parity --model M.json --driver EXE --work DIR [--mode train|inference]
                     [--seed S] [--accumulate K] [--cycle K] [--update-bn K] [--steps-rtol R] [-- extra make-case args]
      make-case (PyTorch) -> driver (Kiln) -> compare with the issue's tolerances:
      forward outputs, loss, every parameter gradient: rtol 1e-5, atol 1e-6;
      parameters, optimizer states, losses after 10 train steps: rtol 1e-4, atol 1e-6
      (Rprop's `prev`, a gradient after the steps: rtol 1e-3);
      each parameter's update (after - init) against torch's: rtol 1e-3 plus
      the float32 rounding of `steps` additions (compare-updates).
      --accumulate K: each step is K accumulate calls (K micro-batches) and
      one apply, against torch's backward() K times then step(); the grad
      sums after one more round are compared too (<param>.grad_sum).
      --cycle K: train step s on batch s % K of K batches, on both sides.
      --update-bn K: then update_bn over K batches (the buffers compared are its).
      --reuse-reference: compare against the reference already in DIR, made
      elsewhere (a GPU machine without the oracle's torch: scripts/gpu-check.sh).
  run_case.py dropout-stats --model M.json --driver EXE --work DIR
      a dropout_stats_* model's Kiln output checked on its own: values, one
      mask decision per noise group, keep rate within 4 sigma, AlphaDropout's
      mean and variance (see dropout_statistics).
  run_case.py bad-weights --model M.json --driver EXE --work DIR --kind KIND [--tensor NAME]
      the driver must fail to load a broken parameters file, exit non-zero
      without crashing, and name the file and the tensor concerned.
  run_case.py references --list FILE
      the make-case step of many parity tests in one process (a ctest
      fixture per group of tests, so torch is imported once per group):
      each line of FILE is one test's parity arguments but --driver,
      tab-separated; the tests reuse what it made.
  run_case.py bad-kilnc --kilnc KILNC --model BAD.json --work DIR --expect REGEX...
      kilnc must exit non-zero without crashing, say "error", and print
      something matching every REGEX (the JSON path of the fault).

Exit 77 (ctest SKIP_RETURN_CODE) when torch is not importable.
"""
import argparse
import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kiln_oracle  # noqa: E402  (in-process: torch is imported once per test)

FORWARD_RTOL, FORWARD_ATOL = 1e-5, 1e-6  # outputs, loss, gradients
STEPS_RTOL, STEPS_ATOL = 1e-4, 1e-6      # after 10 train steps
FORWARD_NAMES = r"^output\.|^loss$|\.grad$"
# Gradients taken after the steps (Rprop keeps the last one as `prev`): at
# parameters that carry the steps' tolerance themselves, and a gradient can
# cancel (a sum of terms of both signs), so they get ten times as much.
LATE_GRAD_NAMES, LATE_GRAD_RTOL = r"\.prev$", 1e-3
# The instance's random stream seed, driver and oracle alike: both 32-bit
# halves of Philox's key are non-zero.
RNG_SEED = "0x243F6A8885A308D3"


def need_torch():
    if importlib.util.find_spec("torch") is None:
        print("SKIP: torch is not importable with " + sys.executable)
        sys.exit(77)


def run(cmd, check=True, timeout=None):
    print("+ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", timeout=timeout)
    sys.stdout.write(p.stdout)
    sys.stdout.flush()
    # Under scripts/build-and-test.sh --sanitize any report is a failure,
    # also from a run that was expected to fail.
    if "Sanitizer" in p.stdout or "runtime error:" in p.stdout:
        print(f"FAIL: sanitizer report from {os.path.basename(cmd[0])}")
        sys.exit(1)
    if check and p.returncode != 0:
        print(f"FAIL: exit status {p.returncode} from {os.path.basename(cmd[0])}")
        sys.exit(1)
    return p


def oracle(*args, check=True):
    """kiln_oracle.py ARGS in this process; returns (status, stdout)."""
    print("+ kiln_oracle.py " + " ".join(args), flush=True)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = kiln_oracle.main(list(args))
    sys.stdout.write(buf.getvalue())
    sys.stdout.flush()
    if check and rc:
        print(f"FAIL: kiln_oracle.py {args[0]} exited {rc}")
        sys.exit(1)
    return rc, buf.getvalue()


def make_case(model, work, *args):
    """make-case unless work/ holds a reference made by the same oracle, model
    and arguments (the reference is deterministic: re-runs skip torch)."""
    stamp = os.path.join(work, "case.stamp")
    key = "\n".join([os.path.abspath(model), *args,
                     str(os.path.getmtime(model)), str(os.path.getmtime(kiln_oracle.__file__))])
    if os.path.exists(stamp) and open(stamp).read() == key:
        print(f"(reusing the reference in {work})")
        return
    if os.path.exists(stamp):
        os.remove(stamp)
    oracle("make-case", "--model", model, "--out", work, *args)
    with open(stamp, "w") as f:
        f.write(key)


def make_parity_case(a, extra):
    """The PyTorch side of a parity test: make-case into a.work (or reuse)."""
    os.makedirs(a.work, exist_ok=True)
    make_case(a.model, a.work, "--seed", str(a.seed), "--mode", a.mode, "--steps", str(a.steps),
              "--rng-seed", RNG_SEED, *batch_arguments(a), *extra)


def batch_arguments(a):
    """--accumulate K / --cycle K, for make-case and the driver alike."""
    out = ["--accumulate", str(a.accumulate)] if a.accumulate else []
    out += ["--update-bn", str(a.update_bn)] if a.update_bn else []
    return out + (["--cycle", str(a.cycle)] if a.cycle else [])


def cmd_parity(a, extra):
    if a.reuse_reference:
        # The reference was made elsewhere (scripts/gpu_prepare.py, on the
        # machine with the test oracle's torch): compare only (numpy).
        for f in ("init", "batch", "reference"):
            if not os.path.exists(os.path.join(a.work, f + ".safetensors")):
                print(f"FAIL: --reuse-reference: no {f}.safetensors in {a.work}")
                return 1
    else:
        need_torch()
        make_parity_case(a, extra)
    actual = os.path.join(a.work, "actual.safetensors")
    if os.path.exists(actual):
        os.remove(actual)
    run([a.driver, "--init", os.path.join(a.work, "init.safetensors"),
         "--batch", os.path.join(a.work, "batch.safetensors"),
         "--out", actual, "--steps", str(a.steps), "--rng-seed", RNG_SEED, *batch_arguments(a)])
    rc, _ = oracle("compare", "--reference", os.path.join(a.work, "reference.safetensors"),
                   "--actual", actual, "--rtol", str(a.steps_rtol), "--atol", str(STEPS_ATOL),
                   "--tol", FORWARD_NAMES, str(a.forward_rtol), str(FORWARD_ATOL),
                   "--tol", LATE_GRAD_NAMES, str(LATE_GRAD_RTOL), str(STEPS_ATOL), check=False)
    if a.mode == "train":
        # The parameters' tolerance can hide a small update (a learning rate
        # silently rounded to 0 once passed it): compare the updates too.
        rc_update, _ = oracle("compare-updates", "--init", os.path.join(a.work, "init.safetensors"),
                              "--reference", os.path.join(a.work, "reference.safetensors"),
                              "--actual", actual, "--steps", str(a.steps), check=False)
        rc = rc or rc_update
    return rc


def dropout_statistics(doc, x, d):
    """Problems with Kiln's dropout output `d` of input `x` (the model's
    layer "0"): every element is x scaled by the kept value or
    the dropped one (x * 1/(1 - p) or 0; AlphaDropout: a x + alpha' a p or
    alpha' a p - alpha' a), one decision per noise group (per channel for
    the feature layers, as torch shapes the noise), the keep rate within 4
    sigma of 1 - p, and for AlphaDropout on standard normal input the mean
    within 4 sigma of 0 and the variance of 1."""
    import numpy as np
    layer = doc["module"]["children"][0]
    kind, p = layer["type"], layer["options"]["p"]
    x, d = x.astype(np.float64), d.astype(np.float64)
    k = kiln_oracle._noise_dims(kind, x.ndim)
    groups = int(np.prod(x.shape[:k]))
    problems = []
    if "Alpha" in kind:
        alpha = 1.7580993408473766
        a = 1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
        kept_value, dropped_value = a * x + alpha * a * p, np.full_like(x, alpha * a * p - alpha * a)
    else:
        kept_value, dropped_value = x / (1 - p), np.zeros_like(x)
    tol = lambda v: 1e-5 * np.abs(v) + 1e-6
    kept = np.abs(d - kept_value) <= tol(kept_value)
    dropped = np.abs(d - dropped_value) <= tol(dropped_value)
    if not np.all(kept | dropped):
        i = int(np.argmax(~(kept | dropped)))
        problems.append(f"element {i}: {d.ravel()[i]!r} is neither the kept {kept_value.ravel()[i]!r} "
                        f"nor the dropped {dropped_value.ravel()[i]!r} value")
        return problems
    mask = kept.reshape(groups, -1)
    mixed = int(np.sum(mask.any(axis=1) & ~mask.all(axis=1)))
    if mixed:
        problems.append(f"{mixed} of {groups} noise groups (the leading {k} dimensions) mix kept and dropped elements")
    rate = float(np.mean(mask[:, 0]))
    sigma = np.sqrt(p * (1 - p) / groups)
    print(f"{kind} p={p}: keep rate {rate:.4f} over {groups} groups (expected {1 - p:.4f}, 4 sigma {4 * sigma:.4f})")
    if abs(rate - (1 - p)) > 4 * sigma:
        problems.append(f"keep rate {rate} is more than 4 sigma from {1 - p}")
    if kind == "AlphaDropout":
        n = d.size
        mean, var = float(np.mean(d)), float(np.var(d))
        mean_sigma, var_sigma = np.std(d) / np.sqrt(n), np.std((d - mean) ** 2) / np.sqrt(n)
        print(f"  output mean {mean:.4f} (4 sigma {4 * mean_sigma:.4f}), variance {var:.4f} (4 sigma {4 * var_sigma:.4f})")
        if abs(mean) > 4 * mean_sigma:
            problems.append(f"mean {mean} of the output is more than 4 sigma from 0")
        if abs(var - 1) > 4 * var_sigma:
            problems.append(f"variance {var} of the output is more than 4 sigma from 1")
    return problems


def cmd_dropout_stats(a, extra):
    """The parity run's Kiln output of a dropout_stats_* model, checked on its
    own (dropout_statistics): independent of the oracle's mirror of the
    random stream."""
    import json
    need_torch()
    os.makedirs(a.work, exist_ok=True)
    make_case(a.model, a.work, "--seed", "0", "--steps", "1", "--rng-seed", RNG_SEED)
    actual = os.path.join(a.work, "actual.safetensors")
    if os.path.exists(actual):
        os.remove(actual)
    run([a.driver, "--init", os.path.join(a.work, "init.safetensors"),
         "--batch", os.path.join(a.work, "batch.safetensors"),
         "--out", actual, "--steps", "1", "--rng-seed", RNG_SEED])
    batch = kiln_oracle.read_safetensors(os.path.join(a.work, "batch.safetensors"))
    out = kiln_oracle.read_safetensors(actual)
    with open(a.model) as f:
        doc = json.load(f)
    # The models feed the layer -x (torch.neg: an output must be computed,
    # and the eval-mode dropout is the identity).
    return report(dropout_statistics(doc, -batch["input.0"], out["output.1"]))


def cmd_bad_weights(a, extra):
    need_torch()
    os.makedirs(a.work, exist_ok=True)
    make_case(a.model, a.work, "--seed", "0", "--steps", "1")
    init = os.path.join(a.work, "init.safetensors")
    bad = os.path.join(a.work, f"bad_{a.kind}.safetensors")
    if a.kind == "missing_file":
        tensor = None
        if os.path.exists(bad):
            os.remove(bad)
    else:
        tensor = oracle("make-bad-weights", "--init", init, "--out", bad, "--kind", a.kind,
                        *(["--tensor", a.tensor] if a.tensor else []))[1].strip().splitlines()[-1]
    p = run([a.driver, "--load-only", bad], check=False)
    problems = []
    if p.returncode == 0:
        problems.append("driver accepted the broken file")
    elif p.returncode < 0 or p.returncode >= 128:
        problems.append(f"driver crashed (status {p.returncode})")
    if os.path.basename(bad) not in p.stdout:
        problems.append(f"message does not name the file {os.path.basename(bad)}")
    # A truncated file cannot always be attributed to one tensor.
    if tensor and a.kind != "truncated" and tensor not in p.stdout:
        problems.append(f"message does not name the tensor {tensor!r}")
    return report(problems)


def cmd_bad_kilnc(a, extra):
    os.makedirs(a.work, exist_ok=True)
    out = os.path.join(a.work, "bad.o")
    header = os.path.join(a.work, "bad.h")
    for f in (out, header):
        if os.path.exists(f):
            os.remove(f)
    problems = []
    try:
        p = run([a.kilnc, a.model, "-o", out] + a.kilnc_arg, check=False, timeout=60)
    except subprocess.TimeoutExpired:
        return report(["kilnc hung (no answer within 60 s)"])
    if p.returncode == 0:
        problems.append("kilnc accepted the model")
    elif p.returncode < 0 or p.returncode >= 128:
        problems.append(f"kilnc crashed (status {p.returncode})")
    if not re.search(r"error", p.stdout, re.IGNORECASE):
        problems.append("no 'error' in kilnc's message")
    # A rejected model generates nothing (no object, no header to include).
    for f in (out, header):
        if os.path.exists(f):
            problems.append(f"kilnc left {f} behind after failing")
    for rx in a.expect:
        if not re.search(rx, p.stdout):
            problems.append(f"kilnc's message does not match {rx!r}")
    return report(problems)


def report(problems):
    for pr in problems:
        print("FAIL: " + pr)
    if not problems:
        print("OK")
    return 1 if problems else 0


def split_extra(argv):
    """(own arguments, make-case arguments): those after a `--`."""
    if "--" not in argv:
        return argv, []
    i = argv.index("--")
    return argv[:i], argv[i + 1:]


def cmd_references(a, extra):
    """Makes the PyTorch references of many parity tests in this one process
    (torch is imported once, not once per test): each line of a.list is one
    test's `parity` arguments but --driver, tab-separated. The tests then
    reuse them (make_case's stamp). Only a cache: a case that fails here is
    reported and left to its own test, which fails with its own message."""
    need_torch()
    failed = 0
    with open(a.list) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    for line in lines:
        argv, extra_args = split_extra([arg for arg in line.split("\t") if arg])
        case = parser().parse_args(["parity", "--driver", "-", *argv])
        try:
            make_parity_case(case, extra_args)
        except (SystemExit, Exception) as e:  # noqa: BLE001 (left to the test)
            failed += 1
            print(f"WARNING: no reference for {case.model}: {e!r}; its test makes it")
    print(f"{len(lines) - failed} of {len(lines)} references made or reused")
    return 0


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("parity")
    c.add_argument("--model", required=True)
    c.add_argument("--driver", required=True)
    c.add_argument("--work", required=True)
    c.add_argument("--mode", choices=["train", "inference"], default="train")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--steps", type=int, default=10)
    c.add_argument("--accumulate", type=int, default=0,
                   help="train by gradient accumulation over this many micro-batches per step")
    c.add_argument("--cycle", type=int, default=0,
                   help="train step s on batch s %% K of this many batches")
    c.add_argument("--update-bn", type=int, default=0,
                   help="after the steps, torch.optim.swa_utils.update_bn over this many batches")
    c.add_argument("--forward-rtol", type=float, default=FORWARD_RTOL,
                   help="outputs, loss and gradients (a case whose gradient is a "
                        "difference of nearly equal terms, CTCLoss's, documents why it needs more)")
    c.add_argument("--steps-rtol", type=float, default=STEPS_RTOL,
                   help="rtol for what the steps produce (default %(default)s)")
    c.add_argument("--reuse-reference", action="store_true",
                   help="use the init, batch and reference files already in --work "
                        "(no torch needed; --model is then only a label)")
    c = sub.add_parser("dropout-stats")
    c.add_argument("--model", required=True)
    c.add_argument("--driver", required=True)
    c.add_argument("--work", required=True)
    c = sub.add_parser("bad-weights")
    c.add_argument("--model", required=True)
    c.add_argument("--driver", required=True)
    c.add_argument("--work", required=True)
    c.add_argument("--kind", required=True, choices=["missing_file", "truncated", "missing_tensor",
                                                     "wrong_shape", "wrong_dtype", "extra_tensor"])
    c.add_argument("--tensor", default=None, help="the tensor to break (default: the file's last)")
    c = sub.add_parser("bad-kilnc")
    c.add_argument("--kilnc", required=True)
    c.add_argument("--model", required=True)
    c.add_argument("--work", required=True)
    c.add_argument("--expect", action="append", default=[])
    c.add_argument("--kilnc-arg", action="append", default=[])
    c = sub.add_parser("references")
    c.add_argument("--list", required=True,
                   help="one parity test's arguments but --driver per line, tab-separated")
    return p


def main():
    argv, extra = split_extra(sys.argv[1:])
    a = parser().parse_args(argv)
    return {"parity": cmd_parity, "dropout-stats": cmd_dropout_stats, "bad-weights": cmd_bad_weights,
            "bad-kilnc": cmd_bad_kilnc, "references": cmd_references}[a.cmd](a, extra)


if __name__ == "__main__":
    sys.exit(main())
