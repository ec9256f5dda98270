#!/usr/bin/env python3
"""Prepares the GPU check of the CUDA target (issue 12) on this machine, for
a GPU machine that has the NVIDIA driver, CUDA and python3 with numpy but
no LLVM/MLIR and not the test oracle's torch: everything it runs is built
here, and every reference is made here.

  scripts/gpu_prepare.py [--build build] [--out build/gpu-check]
                         [--target cuda] [--max-mib 56] [--every N]
  scripts/gpu_prepare.py --bench [--build build] [--out build/gpu-bench]
                         [--shared ../shared]

Writes OUT/ (then carry it to the GPU machine and run
`scripts/gpu-check.sh OUT` there):
  bin/runtime_unit_tests, bin/model_cuda_tests   the device layer's and the
                                                 CUDA model's gtest suites
  cases/<name>/driver                            the parity driver linked with
                                                 `kilnc --target=cuda` of <name>
  cases/<name>/{init,batch,reference}.safetensors  torch's side, made here
  manifest.tsv                                   name, then run_case.py
                                                 parity arguments
  skipped.tsv                                    cases kilnc refuses for the
                                                 target, with its message

--bench writes the benchmark and training bundle instead (run it there with
`scripts/gpu-bench.sh OUT`): bench/workload.cpp built against the
`--target=cuda` objects of W1 to W5, examples/common's Fashion-MNIST
trainer against the CUDA MLP with the dataset beside it, and the
workload definitions of ../shared/bench for bench/torch_workload_cuda.py.

The cases are this build's parity tests (ctest -L parity; run them once
first so that their references exist), every N-th (about 60 spread over
all families by default), until OUT reaches --max-mib (the device tool
carries 64 MiB). --emulate compiles with kilnc --emulate-gpu instead: CPU
objects that run the CUDA lowering as loops, for `gpu-check.sh OUT --no-gpu`
here (no size limit needed: --max-mib 1e6). --target cpu prepares the same
with CPU objects: a dry run of scripts/gpu-check.sh's parity loop here
(scripts/gpu-check.sh OUT --no-gpu). --filter takes the cases whose name
matches a regular expression (one family, or the composite networks).
--kilnc-flag adds a kilnc flag to
every case: with --target cpu --kilnc-flag=--data-parallel it checks the
data-parallel lowering (buckets, kiln-produce-into-slices) of every
training case against torch, one process.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GLUE = """#include "{name}.h"
const kiln_model_metadata *const kiln_parity_metadata = &{name}__metadata;
const char kiln_parity_name[] = "{name}";
const uint64_t kiln_parity_arena_bytes = {upper}_ARENA_BYTES;
#if {upper}_HAS_SCHEDULER
kiln_status (*const kiln_parity_scheduler_create)(kiln_scheduler **) = {name}_scheduler_create;
#else
kiln_status (*const kiln_parity_scheduler_create)(kiln_scheduler **) = 0;
#endif
"""


def parity_tests(build):
    """(name, run_case.py parity arguments) of every parity test of the build."""
    out = subprocess.run(["ctest", "--test-dir", build, "-N", "-V", "-R", r"^Parity\."],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    tests = []
    for line in out.splitlines():
        m = re.match(r"\s*\d+: Test command: (.*)$", line)
        if not m:
            continue
        argv = shlex.split(m.group(1))
        if len(argv) < 3 or not argv[1].endswith("run_case.py") or argv[2] != "parity":
            continue
        args = argv[3:]
        opts = dict(zip(args[0::2], args[1::2]))
        name = os.path.basename(opts["--work"])
        if name.endswith(("_cuda_emulated", "_data_parallel")):
            continue  # a variant of a case with other kilnc flags: the same case again
        tests.append((name, args))
    return tests


def size_of(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


WORKLOADS = [  # bench/CMakeLists.txt's: executable, model file, workload, GFLOP formula
    ("w1_mlp", "examples/mlp/mlp.kiln/mlp.json", "W1", "2*B*(784*512+512*512+512*10)/1e9"),
    ("w2_lenet", "bench/lenet_w2.kiln/lenet_w2.json", "W2",
     "2*B*(6*28*28*25+16*10*10*6*25+400*120+120*84+84*10)/1e9"),
    ("w3_resnet", "bench/resnet_w3.kiln/resnet_w3.json", "W3",
     "2*B*(1024*32*3*9+4*1024*32*32*9+256*(64*32*9+64*64*9+64*32)+64*10)/1e9"),
    ("w4_transformer", "bench/tx_w4.kiln/tx_w4.json", "W4",
     "(2*(2*B*128*(256*3*256+256*256+2*256*1024)+2*2*B*128*128*256)+2*B*256*10)/1e9"),
    ("w5_lstm", "bench/lstm_w5.kiln/lstm_w5.json", "W5",
     "(2*B*32*(64+256)*4*256+2*B*256*10)/1e9"),
]
DATASET = "/usr/share/datasets/fashion-mnist"


def compile_model(kilnc, json_path, target, out_dir, mode="train"):
    """kilnc's object and header for `json_path` in out_dir; its name."""
    name = os.path.splitext(os.path.basename(json_path))[0]
    r = run([kilnc, json_path, "--target=" + target, "--mode=" + mode,
             "-o", os.path.join(out_dir, name + ".o")])
    if r.returncode != 0:
        sys.exit(f"gpu_prepare: kilnc {json_path}:\n{r.stdout}")
    return name


def link(out, objects_and_flags):
    for cmd in objects_and_flags:
        r = run(cmd)
        if r.returncode != 0:
            sys.exit(f"gpu_prepare: {' '.join(cmd)}\n{r.stdout}")
    run(["strip", out])


def prepare_bench(a, build, out, kilnc, runtime):
    """The benchmark and training bundle (--bench)."""
    tmp = os.path.join(out, "tmp")
    os.makedirs(tmp)
    include = os.path.join(ROOT, "runtime", "include")
    for exe, rel, workload, gflop in WORKLOADS:
        json_path = os.path.join(build, rel)
        if not os.path.exists(json_path):
            sys.exit(f"gpu_prepare: {json_path} is missing: build first")
        name = compile_model(kilnc, json_path, a.target, tmp)
        target = os.path.join(out, exe + "_" + a.target)
        link(target, [["clang++-19", "-O2", "-std=c++17", "-I", tmp, "-I", include,
                       f"-DKILN_PREFIX={name}", f"-DKILN_PREFIX_UPPER={name.upper()}",
                       f'-DKILN_HEADER="{name}.h"', f"-DKILN_WORKLOAD={workload}",
                       f"-DKILN_GFLOP_FWD={gflop}",
                       os.path.join(ROOT, "bench", "workload.cpp"),
                       os.path.join(tmp, name + ".o"), runtime, "-ldl", "-lpthread",
                       "-o", target]])
    # The trainer of examples/mlp (train_fashion_mnist) on the CUDA MLP.
    name = compile_model(kilnc, os.path.join(build, WORKLOADS[0][1]), a.target, tmp)
    target = os.path.join(out, "train_fashion_mnist_" + a.target)
    common = os.path.join(ROOT, "examples", "common")
    link(target, [["clang++-19", "-O2", "-std=c++17", "-I", tmp, "-I", include, "-I", common,
                   f"-DKILN_PREFIX={name}", f"-DKILN_PREFIX_UPPER={name.upper()}",
                   f'-DKILN_HEADER="{name}.h"', "-DKILN_EXAMPLE_EPOCHS=3",
                   '-DKILN_EXAMPLE_TITLE="the Kiln-compiled MLP 784-512-512-10 on CUDA '
                   '(CrossEntropyLoss, SGD lr 0.01 momentum 0.9)"',
                   os.path.join(common, "train_classifier.cpp"),
                   os.path.join(common, "idx_reader.cpp"),
                   os.path.join(tmp, name + ".o"), runtime, "-ldl", "-lpthread",
                   "-o", target]])
    shutil.rmtree(tmp)
    os.makedirs(os.path.join(out, "data"))
    for f in os.listdir(DATASET):
        shutil.copy(os.path.join(DATASET, f), os.path.join(out, "data"))
    os.makedirs(os.path.join(out, "shared_bench"))
    for f in ("workloads.py", "common.py"):
        shutil.copy(os.path.join(a.shared, "bench", f), os.path.join(out, "shared_bench"))
    # The CPU build's accuracy, which the GPU run must reach within a point.
    cpu_trainer = os.path.join(build, "bin", "train_fashion_mnist")
    r = run([cpu_trainer, "--epochs", "3", "--seed", "0"])
    with open(os.path.join(out, "cpu_reference.txt"), "w") as f:
        f.write("\n".join(l for l in r.stdout.splitlines() if l.startswith("epoch ")) + "\n")
    if r.returncode != 0:
        sys.exit(f"gpu_prepare: {cpu_trainer} failed:\n{r.stdout}")
    print(f"gpu_prepare: benchmarks and trainer for --target={a.target} in {out} "
          f"({size_of(out) / (1 << 20):.1f} MiB)")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--out", default=None)
    p.add_argument("--target", default="cuda")
    p.add_argument("--max-mib", type=float, default=56)
    p.add_argument("--emulate", action="store_true",
                   help="kilnc --emulate-gpu: the CUDA lowering as CPU loops in CPU objects, "
                        "so that gpu-check.sh --no-gpu tests it against torch here")
    p.add_argument("--bench", action="store_true",
                   help="the benchmark and training bundle instead of the test bundle")
    p.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"),
                   help="the team's shared/ (bench/workloads.py)")
    p.add_argument("--kilnc-flag", action="append", default=[], metavar="FLAG",
                   help="one more kilnc flag for every case (repeatable), e.g. "
                        "--kilnc-flag=--data-parallel --kilnc-flag=--bucket-bytes=4096: a "
                        "data-parallel build alone must train like the plain build, so the "
                        "same references apply; cases kilnc refuses are skipped")
    p.add_argument("--every", type=int, default=0,
                   help="keep every N-th parity test (default: spread about 60 over all "
                        "families, what fits 56 MiB)")
    p.add_argument("--filter", default=None, metavar="REGEX",
                   help="only the parity tests whose case name matches REGEX (re.search), "
                        "before --every: e.g. --filter '^composite_' --every 1")
    a = p.parse_args()
    build = os.path.abspath(a.build)
    out = os.path.abspath(a.out or os.path.join(build, "gpu-bench" if a.bench else "gpu-check"))
    kilnc = os.path.join(build, "bin", "kilnc")
    driver_obj = os.path.join(build, "tests", "parity", "CMakeFiles", "kiln_parity_driver.dir",
                              "parity_driver.cpp.o")
    runtime = os.path.join(build, "lib", "libkiln_rt.a")
    for need in (kilnc, driver_obj, runtime):
        if not os.path.exists(need):
            sys.exit(f"gpu_prepare: {need} is missing: build first (ninja -C {build})")
    shutil.rmtree(out, ignore_errors=True)
    if a.bench:
        os.makedirs(out)
        return prepare_bench(a, build, out, kilnc, runtime)
    os.makedirs(os.path.join(out, "bin"))
    os.makedirs(os.path.join(out, "cases"))

    for exe in ("runtime_unit_tests", "model_cuda_tests"):
        src = os.path.join(build, "bin", exe)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(out, "bin", exe))
            run(["strip", os.path.join(out, "bin", exe)])

    budget = a.max_mib * (1 << 20)
    tests = parity_tests(build)
    if a.filter:
        tests = [t for t in tests if re.search(a.filter, t[0])]
    tests = tests[:: a.every or max(1, len(tests) // 60)]
    manifest, skipped = [], []
    for name, args in tests:
        opts = dict(zip(args[0::2], args[1::2]))
        work = opts["--work"]
        if not all(os.path.exists(os.path.join(work, f + ".safetensors"))
                   for f in ("init", "batch", "reference")):
            skipped.append((name, "no reference in " + work + " (run ctest -L parity first)"))
            continue
        case = os.path.join(out, "cases", name)
        os.makedirs(case)
        obj = os.path.join(case, name + ".o")
        r = run([kilnc, opts["--model"], "--target=" + a.target,
                 "--mode=" + opts.get("--mode", "train"), "-o", obj]
                + (["--emulate-gpu"] if a.emulate else []) + a.kilnc_flag)
        if r.returncode != 0:
            msg = next((l for l in r.stdout.splitlines() if "error" in l), r.stdout.strip())
            skipped.append((name, msg.strip()))
            shutil.rmtree(case)
            continue
        glue = os.path.join(case, "glue.c")
        with open(glue, "w") as f:
            f.write(GLUE.format(name=name, upper=name.upper()))
        driver = os.path.join(case, "driver")
        steps = [["clang-19", "-O2", "-c", glue, "-I", case, "-I",
                  os.path.join(ROOT, "runtime", "include"), "-o", glue + ".o"],
                 ["clang++-19", driver_obj, glue + ".o", obj, runtime, "-ldl", "-lpthread",
                  "-o", driver],
                 ["strip", driver]]
        for cmd in steps:
            r = run(cmd)
            if r.returncode != 0:
                sys.exit(f"gpu_prepare: {name}: {' '.join(cmd)}\n{r.stdout}")
        for f in (glue, glue + ".o", obj, os.path.join(case, name + ".h")):
            os.remove(f)
        for f in ("init", "batch", "reference"):
            shutil.copy(os.path.join(work, f + ".safetensors"), case)
        if size_of(out) > budget:
            shutil.rmtree(case)
            skipped.append((name, f"over the {a.max_mib:g} MiB budget"))
            break
        rest = []
        i = 0
        while i < len(args):
            if args[i] in ("--model", "--driver", "--work"):
                i += 2
                continue
            rest.append(args[i])
            i += 1
        manifest.append((name, rest))
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        for name, rest in manifest:
            f.write("\t".join([name, *rest]) + "\n")
    with open(os.path.join(out, "skipped.tsv"), "w") as f:
        for name, why in skipped:
            f.write(f"{name}\t{why}\n")
    print(f"gpu_prepare: {len(manifest)} parity cases for --target={a.target} in {out} "
          f"({size_of(out) / (1 << 20):.1f} MiB), {len(skipped)} skipped (skipped.tsv)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
