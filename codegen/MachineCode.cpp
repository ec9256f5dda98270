// Host TargetMachine and object/assembly emission, in-process (no llc).
#include "codegen/Codegen.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace kiln;

std::unique_ptr<llvm::TargetMachine>
kiln::createCPUTargetMachine(llvm::StringRef cpu, int optLevel,
                             std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getDefaultTargetTriple();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpuName = cpu.str();
  llvm::SubtargetFeatures features;
  if (cpuName.empty() || cpuName == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    for (auto &f : llvm::sys::getHostCPUFeatures())
      features.AddFeature(f.first(), f.second);
  }
  auto level = optLevel <= 0   ? llvm::CodeGenOptLevel::None
               : optLevel == 1 ? llvm::CodeGenOptLevel::Less
               : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                               : llvm::CodeGenOptLevel::Aggressive;
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features.getString(), options, llvm::Reloc::PIC_,
      std::nullopt, level));
  if (!tm) {
    error = "cannot create a target machine for " + triple + " / " + cpuName;
    return nullptr;
  }
  std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(
      triple, cpuName, features.getString()));
  if (!sti || !sti->isCPUStringValid(cpuName)) {
    error = "unknown CPU '" + cpuName + "' for " + triple +
            " (try --mcpu=native, x86-64-v3, skylake-avx512, sapphirerapids)";
    return nullptr;
  }
  return tm;
}

bool kiln::emitMachineCode(llvm::Module &module, llvm::TargetMachine &tm,
                           FileKind kind, llvm::raw_pwrite_stream &os,
                           std::string &error) {
  llvm::legacy::PassManager pm;
  auto type = kind == FileKind::Object ? llvm::CodeGenFileType::ObjectFile
                                       : llvm::CodeGenFileType::AssemblyFile;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type)) {
    error = "the target cannot emit this file type";
    return false;
  }
  pm.run(module);
  return true;
}
