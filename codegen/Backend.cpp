#include "codegen/Backend.h"
#include "codegen/cpu/CPUBackend.h"
#include "codegen/cuda/CUDABackend.h"

using namespace kiln;

static const BackendEntry kBackends[] = {
    {"cpu", "the host CPU: tiled, vectorized loops on the runtime's thread pool",
     createCPUBackend},
    {"cuda", "NVIDIA GPUs (cuda[:sm_XX], default sm_90): PTX kernels and cuBLAS "
             "calls, launched by host code through libkiln_rt",
     createCUDABackend},
};

llvm::ArrayRef<BackendEntry> kiln::backends() { return kBackends; }

const BackendEntry *kiln::lookupBackend(llvm::StringRef name) {
  for (const BackendEntry &entry : kBackends)
    if (name == entry.name)
      return &entry;
  return nullptr;
}

std::string kiln::backendNames() {
  std::string names;
  for (const BackendEntry &entry : kBackends)
    names += (names.empty() ? "" : ", ") + std::string(entry.name);
  return names;
}
