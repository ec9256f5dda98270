#include "codegen/Backend.h"
#include "codegen/cpu/CPUBackend.h"

using namespace kiln;

static const BackendEntry kBackends[] = {
    {"cpu", "the host CPU: tiled, vectorized loops on the runtime's thread pool",
     createCPUBackend},
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
