"""ctest runner for E2E.mlp_fashion_mnist_losses (run with /usr/bin/python3).

  run_e2e.py --model fashion_mlp.json --app EXE --work DIR [--steps 20]

PyTorch side (kiln_oracle.py make-e2e): initialise the model, take the first
steps x 32 Fashion-MNIST training images, train one SGD step per batch and
record the losses and final parameters. Kiln side: the linked app trains from
the same parameters on the same batches. The loss sequences must agree within
rtol 1e-4 (atol 1e-6); final parameters are compared with the same figures.
Exit 77 (skip) without torch or without the data set.
"""
import argparse
import importlib.util
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "..", "parity", "kiln_oracle.py")
DATA = "/usr/share/datasets/fashion-mnist"


def run(cmd):
    print("+ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(p.stdout)
    return p.returncode


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--app", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if importlib.util.find_spec("torch") is None:
        print("SKIP: torch is not importable with " + sys.executable)
        return 77
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print("SKIP: no Fashion-MNIST under " + DATA)
        return 77
    os.makedirs(a.work, exist_ok=True)
    actual = os.path.join(a.work, "actual.safetensors")
    if os.path.exists(actual):
        os.remove(actual)
    if run([sys.executable, ORACLE, "make-e2e", "--model", a.model, "--seed", str(a.seed),
            "--out", a.work, "--steps", str(a.steps), "--data-dir", DATA]):
        return 1
    if run([a.app, os.path.join(a.work, "init.safetensors"),
            os.path.join(a.work, "data.safetensors"), actual]):
        print("FAIL: the Kiln app failed")
        return 1
    return 1 if run([sys.executable, ORACLE, "compare",
                     "--reference", os.path.join(a.work, "reference.safetensors"),
                     "--actual", actual, "--rtol", "1e-4", "--atol", "1e-6"]) else 0


if __name__ == "__main__":
    sys.exit(main())
