// The host CPU backend, for the target table (codegen/Backend.cpp).
#ifndef KILN_CODEGEN_CPU_CPUBACKEND_H
#define KILN_CODEGEN_CPU_CPUBACKEND_H

#include "codegen/Backend.h"

namespace kiln {

/// Fails for an architecture suffix (--target=cpu:x): the CPU is --mcpu.
std::unique_ptr<Backend> createCPUBackend(const BackendOptions &options,
                                          std::string &error);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_CPUBACKEND_H
