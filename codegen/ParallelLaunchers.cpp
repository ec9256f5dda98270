#include "codegen/Codegen.h"

void kiln::addParallelLaunchers(llvm::Module &) {}
