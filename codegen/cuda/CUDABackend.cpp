// NVIDIA GPUs behind the codegen/Backend.h interface: the pipeline of
// CUDAPipeline.cpp, then the host code as an object for the host CPU
// (codegen/cpu/MachineCode.cpp) with the kernels' PTX and names in the
// model metadata (device_code, device_kernels), which kiln_model_create
// loads once per instance.
#include "codegen/cuda/CUDABackend.h"
#include "codegen/cpu/CPUCodegen.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cuda/CUDACodegen.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/Extensions/AllExtensions.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

extern "C" {
void LLVMInitializeNVPTXTargetInfo();
void LLVMInitializeNVPTXTargetMC();
}

using namespace mlir;
using namespace kiln;

namespace {

constexpr const char *kTriple = "nvptx64-nvidia-cuda";
constexpr const char *kDefaultArch = "sm_90";

/// Whether LLVM's NVPTX target emits `arch`; else `error` lists those it does.
bool checkArch(const std::string &arch, std::string &error) {
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTargetMC();
  std::string lookupError;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(kTriple, lookupError);
  if (!target) {
    error = "this kilnc's LLVM has no NVPTX target: " + lookupError;
    return false;
  }
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(kTriple, "sm_20", ""));
  // PTX ISA 8.0 (CUDAPipeline.cpp) has no target below sm_50.
  auto supported = [](llvm::StringRef name) {
    unsigned number = 0;
    return name.consume_front("sm_") && !name.take_while(llvm::isDigit).getAsInteger(10, number) &&
           number >= 50;
  };
  if (sti && sti->isCPUStringValid(arch) && supported(arch))
    return true;
  std::string known;
  if (sti)
    for (const llvm::SubtargetSubTypeKV &kv : sti->getAllProcessorDescriptions())
      if (supported(kv.Key))
        known += (known.empty() ? "" : ", ") + std::string(kv.Key);
  error = "no PTX for '" + arch + "': kilnc emits PTX ISA 8.0 through LLVM 19's NVPTX "
          "target, for " + known +
          " (PTX for sm_90 also runs on newer GPUs, JIT-compiled by the driver)";
  return false;
}

constexpr const char *kLibdevice = "nvvm/libdevice/libdevice.10.bc";

/// Where kilnc looks for the CUDA toolkit, in order.
std::vector<std::string> toolkitCandidates() {
  std::vector<std::string> dirs;
  for (const char *var : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *dir = std::getenv(var); dir && *dir)
      dirs.push_back(dir);
  dirs.push_back("/usr/local/cuda");
  return dirs;
}

/// The first candidate toolkit with libdevice, or "". MLIR's serializer
/// would look at the environment only, and silently link nothing without
/// it (lit and CI run with a reduced environment).
std::string findToolkit() {
  for (const std::string &dir : toolkitCandidates()) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, kLibdevice);
    if (llvm::sys::fs::exists(path))
      return dir;
  }
  return "";
}

/// A CUDA toolkit program (ptxas, fatbinary) from the toolkit candidates'
/// bin/, then PATH; "" when there is none.
std::string findToolkitProgram(llvm::StringRef name) {
  for (const std::string &dir : toolkitCandidates()) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "bin", name);
    if (llvm::sys::fs::can_execute(path))
      return path.str().str();
  }
  if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(name))
    return *found;
  return "";
}

/// A temporary file that is removed with this object.
struct TempFile {
  llvm::SmallString<128> path;
  explicit TempFile(llvm::StringRef suffix) {
    if (llvm::sys::fs::createTemporaryFile("kilnc-cuda", suffix, path))
      path.clear();
  }
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

/// Runs `program` with `args`; false with `error` holding its messages.
bool runTool(const std::string &program, llvm::ArrayRef<std::string> args, std::string &error) {
  TempFile log(".log");
  std::vector<llvm::StringRef> argv = {program};
  for (const std::string &a : args)
    argv.push_back(a);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log.path),
                                                llvm::StringRef(log.path)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(program, argv, std::nullopt, redirects, 0, 0, &execError);
  if (rc == 0)
    return true;
  auto text = llvm::MemoryBuffer::getFile(log.path);
  error = llvm::sys::path::filename(program).str() + " failed" +
          (execError.empty() ? "" : " (" + execError + ")") + ": " +
          (text ? (*text)->getBuffer().trim().str() : std::string("no output"));
  return false;
}

/// With the toolkit's ptxas and fatbinary: a fatbin holding a cubin for
/// `arch` (no JIT when the instance loads it, and ptxas has checked the
/// PTX at compile time) and the PTX itself (what newer GPUs JIT-compile).
/// Without them: false and no error; the object then carries PTX only.
bool packFatbin(const std::string &ptx, const std::string &arch, std::string &fatbin,
                std::string &error) {
  std::string ptxas = findToolkitProgram("ptxas");
  std::string fatbinary = findToolkitProgram("fatbinary");
  if (ptxas.empty() || fatbinary.empty())
    return false;
  TempFile ptxFile(".ptx"), cubinFile(".cubin"), fatbinFile(".fatbin");
  if (ptxFile.path.empty() || cubinFile.path.empty() || fatbinFile.path.empty()) {
    error = "cannot create temporary files for ptxas";
    return false;
  }
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(ptxFile.path, ec);
    if (ec) {
      error = "cannot write " + ptxFile.path.str().str() + ": " + ec.message();
      return false;
    }
    out << ptx;
  }
  std::string sm = llvm::StringRef(arch).drop_front(3).str(); // "sm_90a" -> "90a"
  if (!runTool(ptxas, {"-arch=" + arch, "-O3", ptxFile.path.str().str(), "-o",
                       cubinFile.path.str().str()},
               error) ||
      !runTool(fatbinary, {"-64", "--create=" + fatbinFile.path.str().str(),
                           "--image3=kind=elf,sm=" + sm + ",file=" + cubinFile.path.str().str(),
                           "--image3=kind=ptx,sm=" + sm + ",file=" + ptxFile.path.str().str()},
               error)) {
    error = "the CUDA toolkit rejected the kernels' PTX: " + error;
    return false;
  }
  auto bytes = llvm::MemoryBuffer::getFile(fatbinFile.path, /*IsText=*/false);
  if (!bytes) {
    error = "cannot read the fatbin fatbinary wrote: " + bytes.getError().message();
    return false;
  }
  fatbin = (*bytes)->getBuffer().str();
  return true;
}

class CUDABackend : public Backend {
public:
  CUDABackend(const BackendOptions &options, std::string arch)
      : options(options), arch(std::move(arch)) {}

  void registerDialects(DialectRegistry &registry) const override {
    registry.insert<memref::MemRefDialect, scf::SCFDialect,
                    bufferization::BufferizationDialect, LLVM::LLVMDialect,
                    affine::AffineDialect, cf::ControlFlowDialect,
                    gpu::GPUDialect, NVVM::NVVMDialect, math::MathDialect>();
    arith::registerBufferizableOpInterfaceExternalModels(registry);
    scf::registerBufferizableOpInterfaceExternalModels(registry);
    linalg::registerBufferizableOpInterfaceExternalModels(registry);
    tensor::registerBufferizableOpInterfaceExternalModels(registry);
    bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
    func::registerAllExtensions(registry);
    // The kernels' conversion to NVVM and their serialization to PTX.
    registerConvertFuncToLLVMInterface(registry);
    arith::registerConvertArithToLLVMInterface(registry);
    cf::registerConvertControlFlowToLLVMInterface(registry);
    index::registerConvertIndexToLLVMInterface(registry);
    registerConvertMathToLLVMInterface(registry);
    registerConvertMemRefToLLVMInterface(registry);
    registerConvertNVVMToLLVMInterface(registry);
    NVVM::registerNVVMTargetInterfaceExternalModels(registry);
    registerBuiltinDialectTranslation(registry);
    registerLLVMDialectTranslation(registry);
    registerGPUDialectTranslation(registry);
    registerNVVMDialectTranslation(registry);
  }

  void registerPasses() const override { registerKilnCUDAPasses(); }

  void buildPipeline(OpPassManager &pm) const override {
    CUDACodegenOptions codegen;
    codegen.arch = arch;
    codegen.optLevel = options.optLevel;
    codegen.remarks = options.remarks;
    codegen.memoryReport = options.memoryReport;
    codegen.toolkitPath = findToolkit();
    codegen.emulate = options.emulateGPU;
    buildCUDACodegenPipeline(pm, codegen);
  }

  /// Convolutions as im2col + batched matmuls, which become cuBLAS calls,
  /// between gathers, which become kernels (passes/LowerConvGemm.cpp).
  ConvLowering convolutions() const override { return ConvLowering::Gemm; }

  /// Emulated, the kernels are CPU loops: a CPU model.
  kiln_device_kind device() const override {
    return options.emulateGPU ? KILN_DEVICE_CPU : KILN_DEVICE_CUDA;
  }

  bool supports(Artifact artifact) const override {
    return !options.emulateGPU || artifact != Artifact::DeviceCode;
  }

  bool emit(ModuleOp module, const ModelInterface &model, Artifact artifact,
            llvm::raw_pwrite_stream &os, std::string &error) const override {
    if (options.emulateGPU)
      return emitEmulated(module, model, artifact, os, error);
    ModelInterface withCode = model;
    withCode.device = KILN_DEVICE_CUDA;
    if (!readDeviceCode(module, withCode, error))
      return false;
    if (artifact == Artifact::DeviceCode) {
      os << withCode.deviceCode;
      return true;
    }
    // The object carries a fatbin (cubin + PTX) where the toolkit is there.
    if (!withCode.deviceCode.empty()) {
      std::string fatbin;
      if (packFatbin(withCode.deviceCode, arch, fatbin, error))
        withCode.deviceCode = std::move(fatbin);
      else if (!error.empty())
        return false;
    }
    // The host module: what translates to LLVM IR without the GPU dialect.
    OwningOpRef<ModuleOp> host = module.clone();
    if (auto binary = host->lookupSymbol<gpu::BinaryOp>(kCUDAKernelModule))
      binary.erase();
    (*host)->removeAttr(kCUDAKernelsAttr);
    (*host)->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());

    return emitHostArtifact(*host, withCode, artifact, options.cpu, options.optLevel, os,
                            error);
  }

private:
  /// --emulate-gpu: a CPU object, as the CPU backend writes one.
  bool emitEmulated(ModuleOp module, const ModelInterface &model, Artifact artifact,
                    llvm::raw_pwrite_stream &os, std::string &error) const {
    ModelInterface cpu = model;
    cpu.device = KILN_DEVICE_CPU;
    return emitHostArtifact(module, cpu, artifact, options.cpu, options.optLevel, os, error);
  }

  /// The PTX of `gpu.binary @kiln_kernels` and the kernel names of the
  /// module's kiln.cuda.kernels (none for a model without kernels).
  static bool readDeviceCode(ModuleOp module, ModelInterface &model,
                             std::string &error) {
    model.deviceCode.clear();
    model.deviceKernels.clear();
    if (auto names = module->getAttrOfType<ArrayAttr>(kCUDAKernelsAttr))
      for (Attribute name : names)
        model.deviceKernels.push_back(cast<StringAttr>(name).str());
    auto binary = module.lookupSymbol<gpu::BinaryOp>(kCUDAKernelModule);
    if (!binary)
      return model.deviceKernels.empty() ||
             (error = "the CUDA pipeline left no gpu.binary @kiln_kernels", false);
    if (binary.getObjects().size() != 1) {
      error = "gpu.binary @kiln_kernels should hold one object";
      return false;
    }
    auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
    if (object.getFormat() != gpu::CompilationTarget::Assembly) {
      error = "gpu.binary @kiln_kernels does not hold PTX";
      return false;
    }
    // The serializer NUL-terminates the text; the metadata's string adds
    // its own terminator.
    model.deviceCode = object.getObject().getValue().rtrim('\0').str();
    // A math function (expf, logf, tanhf, ...) that libdevice did not
    // define would fail only when the driver loads the module.
    size_t ext = model.deviceCode.find(".extern .func");
    if (ext != std::string::npos) {
      llvm::StringRef line = llvm::StringRef(model.deviceCode).substr(ext).split('\n').first;
      std::string looked;
      for (const std::string &dir : toolkitCandidates())
        looked += (looked.empty() ? "" : ", ") + dir + "/" + kLibdevice;
      error = "the GPU kernels call a function that is not defined (" + line.trim().str() +
              "): math functions come from the CUDA toolkit's libdevice, which kilnc "
              "looked for at " + looked + "; install the toolkit or set CUDA_HOME";
      return false;
    }
    return true;
  }

  BackendOptions options;
  std::string arch;
};

} // namespace

std::unique_ptr<Backend> kiln::createCUDABackend(const BackendOptions &options,
                                                 std::string &error) {
  std::string arch = options.arch.empty() ? kDefaultArch : options.arch;
  if (!checkArch(arch, error))
    return nullptr;
  return std::make_unique<CUDABackend>(options, arch);
}
