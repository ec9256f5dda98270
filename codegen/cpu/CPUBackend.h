// The host CPU backend, for the target table (codegen/Backend.cpp).
#ifndef KILN_CODEGEN_CPU_CPUBACKEND_H
#define KILN_CODEGEN_CPU_CPUBACKEND_H

#include "codegen/Backend.h"

namespace kiln {

std::unique_ptr<Backend> createCPUBackend(const BackendOptions &options);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_CPUBACKEND_H
