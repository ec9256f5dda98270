# lit configuration for the IR tests: nn dialect round-trips and verifier
# errors, the Kiln passes (kiln-opt) and the kilnc driver.
import os

import lit.formats

config.name = "Kiln IR"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".json"]
# Model files under Inputs/ are test inputs, not tests.
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = getattr(config, "kiln_obj_root", None) or config.test_source_root

for tool, directory in [
    ("kiln-opt", config.kiln_tools_dir),
    ("kilnc", config.kiln_tools_dir),
    ("FileCheck", config.llvm_tools_dir),
    ("not", config.llvm_tools_dir),
    ("count", config.llvm_tools_dir),
]:
    path = os.path.join(directory, tool)
    # Word boundaries so `kiln-opt` is not replaced inside a path or flag.
    config.substitutions.append((r"(?<![\w/.-])" + tool + r"(?![\w.-])", path))

# The CUDA toolkit's PTX assembler, when CMake found one.
if getattr(config, "ptxas", ""):
    config.available_features.add("ptxas")
    config.substitutions.append((r"(?<![\w/.-])ptxas(?![\w.-])", config.ptxas))

config.environment["PATH"] = os.pathsep.join(
    [config.kiln_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
)
