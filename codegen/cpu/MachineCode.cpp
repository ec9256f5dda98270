// Host TargetMachine, translation to LLVM IR with the model metadata, and
// object/assembly emission, in-process (no llc).
#include "codegen/Wrappers.h"
#include "codegen/cpu/CPUCodegen.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Transforms/IPO/MergeFunctions.h"
#include "llvm/Support/CommandLine.h"

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

std::unique_ptr<llvm::Module>
kiln::translateAndWrap(mlir::ModuleOp module, const ModelInterface &model,
                       llvm::LLVMContext &ctx, llvm::TargetMachine &tm,
                       int optLevel, std::string &error) {
  mlir::DialectRegistry registry;
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> m =
      mlir::translateModuleToLLVMIR(module, ctx, model.name);
  if (!m) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  // One workspace serves every kernel (an instance runs one at a time).
  ModelInterface withWorkspace = model;
  withWorkspace.workspaceBytes = workspaceBytes(module);
  if (!emitModelMetadata(*m, withWorkspace, error))
    return nullptr;

  // Let IR-level passes and the backend use the full vector width the
  // target has (LLVM otherwise prefers 256-bit vectors on AVX-512 parts).
  bool avx512 = tm.getTargetFeatureString().contains("+avx512f");
  for (llvm::Function &f : *m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    f.addFnAttr("target-features", tm.getTargetFeatureString());
    if (avx512) {
      f.addFnAttr("prefer-vector-width", "512");
      f.addFnAttr("min-legal-vector-width", "512");
    }
  }
  if (llvm::verifyModule(*m, &llvm::errs())) {
    error = "the translated LLVM IR does not verify";
    return nullptr;
  }
  optimizeModule(*m, tm, optLevel);
  return m;
}

void kiln::optimizeModule(llvm::Module &module, llvm::TargetMachine &tm,
                          int optLevel) {
  if (optLevel <= 0)
    return;
  // LLVM's default pipeline, with full unrolling capped at 4 iterations
  // (LoopUnrollPass's -unroll-full-max-count, unless the command line sets
  // it). The compiled loops are elementwise passes and reductions (the GEMMs
  // are the runtime's, the MLIR vector code is unrolled already), and full
  // unrolling of their static trip counts (a 784-wide row: 49 vectors, times
  // the row block) multiplied the code: W3's object 1.06 MB -> 0.55 MB, and
  // kilnc's W1 / W3 times fell by 3-5x / 1.6x with the train steps no
  // slower. Small windows (2 x 2 pooling, LeNet) still unroll: disabling
  // unrolling altogether cost W2's train step 10 %. Measurements:
  // docs/performance.md, "Compile time".
  // LoopUnrollPass reads the option only when it occurred, so it is given
  // as if on the command line.
  llvm::cl::Option *cap = llvm::cl::getRegisteredOptions().lookup("unroll-full-max-count");
  if (cap && cap->getNumOccurrences() == 0)
    cap->addOccurrence(0, "unroll-full-max-count", "4");
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopInterleaving = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 1   ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  // Identical functions merged before the pipeline optimizes each one: a
  // recurrent layer unrolled over T steps outlines the same parallel loops
  // T times (W5's LSTM, 32 steps: 536 functions, 386k lines of IR, of which
  // MergeFunctions leaves 107k), so this cut kilnc's W5 time from 22-25 to
  // 10-11 s and its object from 2.7 to 0.7 MB. The task thunks are
  // unnamed_addr (LaunchParallel.cpp): a duplicate goes, not kept as a thunk.
  llvm::ModulePassManager merge;
  merge.addPass(llvm::MergeFunctionsPass());
  merge.run(module, mam);
  pb.buildPerModuleDefaultPipeline(level).run(module, mam);
}

bool kiln::emitHostArtifact(mlir::ModuleOp module, const ModelInterface &model,
                            Artifact artifact, llvm::StringRef cpu, int optLevel,
                            llvm::raw_pwrite_stream &os, std::string &error) {
  if (artifact == Artifact::DeviceCode) {
    error = "device code is not host code";
    return false;
  }
  auto tm = createCPUTargetMachine(cpu, optLevel, error);
  if (!tm)
    return false;
  llvm::LLVMContext ctx;
  auto m = translateAndWrap(module, model, ctx, *tm, optLevel, error);
  if (!m)
    return false;
  if (artifact == Artifact::LLVMIR) {
    m->print(os, nullptr);
    return true;
  }
  return emitMachineCode(*m, *tm,
                         artifact == Artifact::Object ? FileKind::Object : FileKind::Assembly,
                         os, error);
}
