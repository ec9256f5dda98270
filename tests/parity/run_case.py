"""ctest runner for the parity and bad-input tests (run with /usr/bin/python3).

  run_case.py parity --model M.json --driver EXE --work DIR [--mode train|inference]
                     [--seed S] [-- extra make-case args]
      make-case (PyTorch) -> driver (Kiln) -> compare with the issue's tolerances:
      forward outputs, loss, every parameter gradient: rtol 1e-5, atol 1e-6;
      parameters, momentum buffers, losses after 10 train steps: rtol 1e-4, atol 1e-6;
      each parameter's update (after - init) against torch's: rtol 1e-3 plus
      the float32 rounding of `steps` additions (compare-updates).
  run_case.py bad-weights --model M.json --driver EXE --work DIR --kind KIND [--tensor NAME]
      the driver must fail to load a broken parameters file, exit non-zero
      without crashing, and name the file and the tensor concerned.
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


def cmd_parity(a, extra):
    need_torch()
    os.makedirs(a.work, exist_ok=True)
    make_case(a.model, a.work, "--seed", str(a.seed), "--mode", a.mode, "--steps", str(a.steps),
              "--rng-seed", RNG_SEED, *extra)
    actual = os.path.join(a.work, "actual.safetensors")
    if os.path.exists(actual):
        os.remove(actual)
    run([a.driver, "--init", os.path.join(a.work, "init.safetensors"),
         "--batch", os.path.join(a.work, "batch.safetensors"),
         "--out", actual, "--steps", str(a.steps), "--rng-seed", RNG_SEED])
    rc, _ = oracle("compare", "--reference", os.path.join(a.work, "reference.safetensors"),
                   "--actual", actual, "--rtol", str(STEPS_RTOL), "--atol", str(STEPS_ATOL),
                   "--tol", FORWARD_NAMES, str(FORWARD_RTOL), str(FORWARD_ATOL), check=False)
    if a.mode == "train":
        # The parameters' tolerance can hide a small update (a learning rate
        # silently rounded to 0 once passed it): compare the updates too.
        rc_update, _ = oracle("compare-updates", "--init", os.path.join(a.work, "init.safetensors"),
                              "--reference", os.path.join(a.work, "reference.safetensors"),
                              "--actual", actual, "--steps", str(a.steps), check=False)
        rc = rc or rc_update
    return rc


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


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("parity")
    c.add_argument("--model", required=True)
    c.add_argument("--driver", required=True)
    c.add_argument("--work", required=True)
    c.add_argument("--mode", choices=["train", "inference"], default="train")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--steps", type=int, default=10)
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
    a = p.parse_args(argv)
    return {"parity": cmd_parity, "bad-weights": cmd_bad_weights, "bad-kilnc": cmd_bad_kilnc}[a.cmd](a, extra)


if __name__ == "__main__":
    sys.exit(main())
