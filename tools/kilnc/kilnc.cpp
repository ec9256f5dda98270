// kilnc: model file -> object file + C header.
//
//   import (JSON -> nn) -> training pipeline (autodiff, train step)
//   -> nn -> linalg (target independent) -> the --target backend's pipeline
//   -> LLVM IR / assembly / object (codegen/Backend.h) + C header.
#include "codegen/Backend.h"
#include "codegen/InPlaceUpdates.h"
#include "codegen/Wrappers.h"
#include "frontend/import/ModelImporter.h"
#include "ir/NNDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <fstream>
#include <sstream>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory kilncCategory("kilnc options");

static cl::opt<std::string> inputFile(cl::Positional,
                                      cl::desc("<model.json>"),
                                      cl::cat(kilncCategory));
static cl::opt<std::string> printCoverage(
    "print-coverage",
    cl::desc("Print docs/coverage.md from the importer's registry against "
             "the given torch.nn inventory (TSV: category, name) and exit"),
    cl::value_desc("inventory.tsv"), cl::cat(kilncCategory));
static cl::opt<bool> printSchema(
    "print-schema",
    cl::desc("Print the model file's JSON Schema (docs/model-format.schema.json) "
             "with every layer, function, loss and optimizer the importer "
             "accepts, and exit"),
    cl::cat(kilncCategory));
static cl::opt<std::string>
    outputFile("o",
               cl::desc("Output file (default: <model>.o for --emit=obj, "
                        "stdout otherwise). With --emit=obj the C header is "
                        "written beside it as <output>.h"),
               cl::value_desc("file"), cl::cat(kilncCategory));

enum class Emit { NN, Linalg, LLVMDialect, Descriptor, LLVM, Asm, PTX, Obj };
static cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::Obj),
    cl::values(clEnumValN(Emit::NN, "nn", "nn dialect after autodiff and train-step assembly"),
               clEnumValN(Emit::Linalg, "linalg", "linalg on tensors"),
               clEnumValN(Emit::LLVMDialect, "llvm-dialect",
                          "MLIR after the target's codegen pipeline (LLVM dialect)"),
               clEnumValN(Emit::Descriptor, "descriptor", "the model metadata as text"),
               clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR with the model metadata"),
               clEnumValN(Emit::Asm, "asm", "assembly for the target (the host's, for cuda)"),
               clEnumValN(Emit::PTX, "ptx", "the GPU kernels' PTX (--target=cuda)"),
               clEnumValN(Emit::Obj, "obj", "object file + C header (default)")),
    cl::cat(kilncCategory));

enum class Mode { Auto, Inference, Train };
static cl::opt<Mode> mode(
    "mode",
    cl::desc("Entry points to compile (default: train when the model file "
             "has a training section, inference otherwise)"),
    cl::init(Mode::Auto),
    cl::values(clEnumValN(Mode::Inference, "inference", "forward only"),
               clEnumValN(Mode::Train, "train",
                          "forward, gradients and train_step")),
    cl::cat(kilncCategory));

/// --target's help, from the target table (codegen/Backend.cpp).
static const std::string &targetHelp() {
  static const std::string help = [] {
    std::string text = "Target to compile for, <name>[:<arch>] (default: cpu):";
    for (const kiln::BackendEntry &entry : kiln::backends())
      text += std::string("\n  ") + entry.name + " - " + entry.description;
    return text;
  }();
  return help;
}
static cl::opt<std::string> target("target", cl::desc(targetHelp()),
                                   cl::value_desc("name"), cl::init("cpu"),
                                   cl::cat(kilncCategory));
static cl::opt<bool> emulateGPU(
    "emulate-gpu",
    cl::desc("With --target=cuda: run the GPU kernels as sequential CPU loops and the "
             "GEMMs on the CPU runtime, in a CPU object (kiln-cuda-emulate-on-cpu): tests "
             "the CUDA lowering against torch where there is no GPU; slow"),
    cl::Hidden, cl::init(false), cl::cat(kilncCategory));
static cl::opt<unsigned> optLevel("O", cl::desc("Optimization level 0-3 (default 3)"),
                                  cl::Prefix, cl::init(3),
                                  cl::cat(kilncCategory));
static cl::opt<std::string>
    mcpu("mcpu", cl::desc("Target CPU (default: the host CPU and its features)"),
         cl::init("native"), cl::cat(kilncCategory));
static cl::opt<bool> printIRAfterAll("print-ir-after-all",
                                     cl::desc("Print the IR after every pass (stderr)"),
                                     cl::cat(kilncCategory));
static cl::opt<std::string>
    dumpDir("dump-dir",
            cl::desc("Write every stage's IR to files in this directory"),
            cl::value_desc("dir"), cl::cat(kilncCategory));
static cl::opt<bool> timing("timing", cl::desc("Report the time of every pass"),
                            cl::cat(kilncCategory));
static cl::opt<bool> remarks(
    "remarks",
    cl::desc("Report optimization decisions on stderr, at the model file's JSON paths: "
             "elementwise ops fused or left unfused and why, loops left sequential and why, "
             "parallel loops merged into one launch, each contraction's GEMM call (or why it stays "
             "loops), what was folded into it and the op after it left unfused"),
    cl::cat(kilncCategory));

static cl::opt<bool> inPlaceUpdates(
    "in-place-updates",
    cl::desc("Update parameters, optimizer state, step, buffers and grad sums where they "
             "live (default true); a call that a value check or error_if_nonfinite refuses "
             "keeps the old values. =false writes next values beside the current ones, "
             "double-buffered by the runtime (for comparison)"),
    cl::init(true), cl::cat(kilncCategory));

static cl::opt<bool> gemmEpilogues(
    "gemm-epilogues",
    cl::desc("Fold a Linear's bias and ReLU, the ReLU mask of an input gradient and the "
             "bias gradient of a weight gradient into the GEMM calls (default true; "
             "kiln_sgemm_fused, docs/runtime-abi.md). =false leaves them passes of their "
             "own (for comparison)"),
    cl::init(true), cl::cat(kilncCategory));

static cl::opt<bool> dataParallel(
    "data-parallel",
    cl::desc("Average the gradients over the processes of the communicator attached to "
             "an instance (kiln/comm.h: MPI; kiln/comm_nccl.h: NCCL) inside train_step and "
             "apply, before clipping and the update, as torch's DistributedDataParallel "
             "(sparse gradients too; LBFGS: the runtime's driver averages each closure's "
             "loss and gradients); alone, an instance trains as without the flag. Recorded "
             "in the metadata: "
             "the runtime refuses to attach a communicator of several processes to a "
             "build without it (docs/distributed.md)"),
    cl::cat(kilncCategory));

static cl::opt<uint64_t> bucketBytes(
    "bucket-bytes",
    cl::desc("With --data-parallel: bytes of each gradient bucket after the first (default "
             "26214400, DDP's 25 MiB); the first holds at most min(1 MiB, this). Each "
             "bucket's all-reduce starts when its last gradient is computed"),
    cl::init(0), cl::cat(kilncCategory));

static cl::opt<bool> memoryReport(
    "memory-report",
    cl::desc("Report memory on stderr: what one instance allocates (the header's "
             "<PREFIX>_ARENA_BYTES, by part) and each kernel's workspace plan (its "
             "peak, at the model file's JSON path, and its largest buffers)"),
    cl::cat(kilncCategory));

namespace {

/// Where a diagnostic is: the model file and a JSON path in it, or a
/// file:line:col, or failing both MLIR's printed location.
struct Where {
  std::string file; // empty when unknown
  std::vector<std::string> paths;
  std::string text() const {
    std::string joined;
    for (const std::string &p : paths)
      joined += (joined.empty() ? "" : " + ") + p;
    return file.empty() ? joined : joined.empty() ? file : file + ": " + joined;
  }
};

/// After inlining an op's location is a call site (the op's own path, where
/// the function it came from was called), after fusion a fused list: the
/// op's own paths are what a user finds in the model file.
Where describeLocation(Location loc) {
  if (auto call = dyn_cast<CallSiteLoc>(loc))
    return describeLocation(call.getCallee());
  Where where;
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location part : fused.getLocations()) {
      Where w = describeLocation(part);
      if (where.file.empty())
        where.file = w.file;
      for (std::string &p : w.paths)
        if (llvm::find(where.paths, p) == where.paths.end())
          where.paths.push_back(std::move(p));
    }
  } else if (auto name = dyn_cast<NameLoc>(loc)) {
    if (auto file = dyn_cast<FileLineColLoc>(name.getChildLoc()))
      where.file = file.getFilename().str();
    where.paths.push_back(name.getName().str());
  } else if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    where.file = file.getFilename().str();
    if (file.getLine() > 0)
      where.file += ":" + std::to_string(file.getLine()) + ":" + std::to_string(file.getColumn());
  } else {
    llvm::raw_string_ostream os(where.file);
    loc.print(os);
  }
  return where;
}

/// Prints diagnostics as `file: json.path: error: message` for model-file
/// locations and `file:line:col: error: message` otherwise.
void printDiagnostic(Diagnostic &diag) {
  std::string where = describeLocation(diag.getLocation()).text();
  const char *severity = diag.getSeverity() == DiagnosticSeverity::Error     ? "error"
                         : diag.getSeverity() == DiagnosticSeverity::Warning ? "warning"
                         : diag.getSeverity() == DiagnosticSeverity::Remark  ? "remark"
                                                                             : "note";
  llvm::errs() << where << ": " << severity << ": " << diag.str() << "\n";
  for (Diagnostic &note : diag.getNotes())
    printDiagnostic(note);
}

/// docs/coverage.md from the importer's registry (kiln::coverageMarkdown).
int printCoverageTable(const std::string &inventoryPath) {
  std::ifstream in(inventoryPath, std::ios::binary);
  if (!in) {
    llvm::errs() << "kilnc: error: cannot read '" << inventoryPath << "'\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string out, error;
  if (!kiln::coverageMarkdown(text.str(), out, error)) {
    llvm::errs() << "kilnc: error: " << inventoryPath << ": " << error << "\n";
    return 1;
  }
  llvm::outs() << out;
  return 0;
}

/// The --target backend with the command line's settings; null after
/// reporting an unknown target or a bad -O.
std::unique_ptr<kiln::Backend> createBackend() {
  auto [name, arch] = llvm::StringRef(target).split(':');
  const kiln::BackendEntry *entry = kiln::lookupBackend(name);
  if (!entry) {
    llvm::errs() << "kilnc: error: --target=" << target
                 << " is not supported yet (targets: " << kiln::backendNames()
                 << ")\n";
    return nullptr;
  }
  if (optLevel > 3) {
    llvm::errs() << "kilnc: error: -O" << optLevel << ": levels are 0 to 3\n";
    return nullptr;
  }
  kiln::BackendOptions options;
  options.cpu = mcpu;
  options.optLevel = optLevel;
  options.remarks = remarks;
  options.memoryReport = memoryReport;
  options.gemmEpilogues = gemmEpilogues;
  options.arch = arch.str();
  options.emulateGPU = emulateGPU;
  std::string err;
  std::unique_ptr<kiln::Backend> backend = entry->create(options, err);
  if (!backend)
    llvm::errs() << "kilnc: error: --target=" << target << ": " << err << "\n";
  return backend;
}

class Driver {
public:
  Driver(MLIRContext &ctx, const kiln::Backend &backend)
      : ctx(ctx), backend(backend) {}

  int run() {
    if (!dumpDir.empty())
      if (auto ec = llvm::sys::fs::create_directories(dumpDir))
        return error("cannot create --dump-dir '" + dumpDir + "': " + ec.message());

    bool train = mode == Mode::Train ||
                 (mode == Mode::Auto && fileHasTrainingSection());
    OwningOpRef<ModuleOp> module = kiln::importModelFile(&ctx, inputFile, train);
    if (!module)
      return 1;
    dump("01-imported.mlir", *module);

    if (bucketBytes.getNumOccurrences() && !dataParallel)
      return error("--bucket-bytes needs --data-parallel");
    if (bucketBytes.getNumOccurrences() && bucketBytes == 0)
      return error("--bucket-bytes must be at least 1");
    if (dataParallel && !train)
      return error("--data-parallel needs a training build (--mode=train, or a model "
                   "file with a training section)");
    if (train) {
      if (dataParallel)
        (*module)->setAttr("nn.data_parallel", UnitAttr::get(&ctx));
      PassManager pm(&ctx);
      configure(pm);
      kiln::buildTrainingPipeline(pm);
      if (failed(pm.run(*module)))
        return 1;
      if (auto loss = module->lookupSymbol<func::FuncOp>("loss"))
        loss.erase();
    }
    dump("02-nn.mlir", *module);
    if (emit == Emit::NN)
      return print(*module);

    auto model = kiln::readModelInterface(*module);
    if (failed(model))
      return 1;
    model->device = backend.device();
    if (inPlaceUpdates)
      kiln::planInPlaceUpdates(*model);
    renameKernels(*module, model->name);
    if (failed(kiln::markInPlaceResults(*module, *model)))
      return 1;

    PassManager toLinalg(&ctx);
    configure(toLinalg);
    kiln::buildLowerToLinalgPipeline(toLinalg, remarks, static_cast<int64_t>(bucketBytes),
                                     backend.convolutions());
    if (failed(toLinalg.run(*module)))
      return 1;
    dump("03-linalg.mlir", *module);
    if (emit == Emit::Linalg)
      return print(*module);

    PassManager codegen(&ctx);
    configure(codegen);
    backend.buildPipeline(codegen);
    if (failed(codegen.run(*module)))
      return 1;
    dump("04-llvm-dialect.mlir", *module);
    if (emit == Emit::LLVMDialect)
      return print(*module);
    model->workspaceBytes = kiln::workspaceBytes(*module);
    if (memoryReport)
      printArena(*model);
    if (emit == Emit::Descriptor)
      return writeOutput([&](llvm::raw_ostream &os) { os << model->descriptor(); });

    if (!dumpDir.empty()) {
      dumpArtifact(kiln::Artifact::LLVMIR, "05-" + model->name + ".ll", *module, *model);
      dumpArtifact(kiln::Artifact::Assembly, "06-" + model->name + ".s", *module, *model);
      dumpArtifact(kiln::Artifact::DeviceCode, "07-" + model->name + ".ptx", *module, *model);
    }
    if (emit == Emit::LLVM)
      return writeArtifact(kiln::Artifact::LLVMIR, *module, *model);
    if (emit == Emit::Asm)
      return writeArtifact(kiln::Artifact::Assembly, *module, *model);
    if (emit == Emit::PTX)
      return writeArtifact(kiln::Artifact::DeviceCode, *module, *model);
    return writeObjectAndHeader(*module, *model);
  }

private:
  /// --memory-report's summary: the instance's arena by part (kiln/arena.h).
  static void printArena(const kiln::ModelInterface &model) {
    llvm::errs() << "memory of one '" << model.name << "' instance (" << model.name
                 << "_create, kiln/arena.h):\n";
    for (const auto &[what, bytes] : model.arenaParts())
      llvm::errs() << llvm::format("  %-12s %14llu bytes\n", what.c_str(),
                                   static_cast<unsigned long long>(bytes));
    std::string upper = model.name;
    for (char &c : upper)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    llvm::errs() << llvm::format("  %-12s %14llu bytes (%s_ARENA_BYTES)\n", static_cast<const char *>("total"),
                                 static_cast<unsigned long long>(model.arenaBytes()),
                                 upper.c_str());
    llvm::errs() << "  (inputs, targets and outputs are the caller's)\n";
  }

  int error(const std::string &message) {
    llvm::errs() << "kilnc: error: " << message << "\n";
    return 1;
  }

  bool fileHasTrainingSection() {
    // Peek only at regular files; the importer reports anything else.
    if (!llvm::sys::fs::is_regular_file(inputFile.getValue()))
      return false;
    std::ifstream in(inputFile);
    auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    return j.is_object() && j.contains("training");
  }

  void configure(PassManager &pm) {
    if (printIRAfterAll) {
      ctx.disableMultithreading();
      pm.enableIRPrinting([](Pass *, Operation *) { return false; },
                          [](Pass *, Operation *) { return true; },
                          /*printModuleScope=*/true);
    }
    if (timing)
      pm.enableTiming();
  }

  static void renameKernels(ModuleOp module, const std::string &prefix) {
    // The nn.* argument attributes were read into the ModelInterface;
    // LLVM translation has no meaning for them.
    auto rename = [&](StringRef from, StringRef kernel) {
      if (auto f = module.lookupSymbol<func::FuncOp>(from)) {
        f.setSymName(kiln::kernelSymbol(prefix, kernel));
        f.removeArgAttrsAttr();
        f.removeResAttrsAttr();
      }
    };
    rename("forward", "forward");
    rename("forward_train", "forward_train");
    rename("loss_grad", "gradients");
    rename("train_step", "train_step");
    rename("accumulate", "accumulate");
    rename("apply", "apply");
    rename("update_bn_first", "update_bn_first");
    rename("update_bn", "update_bn");
  }

  void dump(const std::string &file, ModuleOp module) {
    if (dumpDir.empty())
      return;
    writeText(dumpDir + "/" + file,
              [&](llvm::raw_ostream &os) { module.print(os); });
  }

  void writeText(const std::string &path,
                 llvm::function_ref<void(llvm::raw_ostream &)> body) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      llvm::errs() << "kilnc: warning: cannot write '" << path
                   << "': " << ec.message() << "\n";
      return;
    }
    body(os);
  }

  /// --dump-dir's copy of an artifact, when the target can write it.
  void dumpArtifact(kiln::Artifact artifact, const std::string &file,
                    ModuleOp module, const kiln::ModelInterface &model) {
    if (!backend.supports(artifact))
      return;
    llvm::SmallString<0> text;
    llvm::raw_svector_ostream os(text);
    std::string err;
    if (backend.emit(module, model, artifact, os, err))
      writeText(dumpDir + "/" + file, [&](llvm::raw_ostream &out) { out << text; });
  }

  /// --emit=llvm|asm: the artifact to -o (stdout by default).
  int writeArtifact(kiln::Artifact artifact, ModuleOp module,
                    const kiln::ModelInterface &model) {
    if (!backend.supports(artifact))
      return error(std::string("--emit=") +
                   (artifact == kiln::Artifact::LLVMIR     ? "llvm"
                    : artifact == kiln::Artifact::Assembly ? "asm"
                                                           : "ptx") +
                   " is not supported by --target=" + target);
    std::string out = outputFile.empty() ? std::string("-") : outputFile.getValue();
    std::error_code ec;
    llvm::ToolOutputFile file(out, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return error("cannot write '" + out + "': " + ec.message());
    std::string err;
    if (!backend.emit(module, model, artifact, file.os(), err))
      return error(err);
    file.keep();
    return 0;
  }

  int print(ModuleOp module) {
    return writeOutput([&](llvm::raw_ostream &os) { module.print(os); });
  }

  int writeOutput(llvm::function_ref<void(llvm::raw_ostream &)> body) {
    std::string out = outputFile.empty() ? std::string("-") : outputFile.getValue();
    std::error_code ec;
    llvm::ToolOutputFile file(out, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return error("cannot write '" + out + "': " + ec.message());
    body(file.os());
    file.keep();
    return 0;
  }

  int writeObjectAndHeader(ModuleOp module, const kiln::ModelInterface &model) {
    std::string out = outputFile;
    if (out.empty()) {
      llvm::SmallString<128> p(llvm::sys::path::filename(inputFile));
      llvm::sys::path::replace_extension(p, ".o");
      out = p.str().str();
    }
    llvm::SmallString<128> header(out);
    llvm::sys::path::replace_extension(header, ".h");
    std::error_code ec;
    // ToolOutputFile removes a partial file unless keep() is reached.
    llvm::ToolOutputFile obj(out, ec, llvm::sys::fs::OF_None);
    if (ec)
      return error("cannot write '" + out + "': " + ec.message());
    std::string err;
    if (!backend.emit(module, model, kiln::Artifact::Object, obj.os(), err))
      return error(err);
    llvm::ToolOutputFile h(header, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return error("cannot write '" + header.str().str() + "': " + ec.message());
    h.os() << model.header();
    obj.keep();
    h.keep();
    if (!dumpDir.empty())
      writeText(dumpDir + "/" + model.name + ".h",
                [&](llvm::raw_ostream &os) { os << model.header(); });
    return 0;
  }

  MLIRContext &ctx;
  const kiln::Backend &backend;
};

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(kilncCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "kilnc: compile a Kiln model file (JSON) into an object file and a C "
      "header\n\n"
      "  kilnc mlp.json -o mlp.o          writes mlp.o and mlp.h\n"
      "  kilnc mlp.json --emit=nn         prints the nn dialect after autodiff\n");

  if (!printCoverage.empty())
    return printCoverageTable(printCoverage);
  if (printSchema) {
    llvm::outs() << kiln::modelJsonSchema();
    return 0;
  }
  if (inputFile.empty()) {
    llvm::errs() << "kilnc: error: no model file given (see --help)\n";
    return 1;
  }

  std::unique_ptr<kiln::Backend> backend = createBackend();
  if (!backend)
    return 1;

  // The target-independent stages' dialects; the backend adds its own.
  DialectRegistry registry;
  registry.insert<kiln::nn::NNDialect, func::FuncDialect, arith::ArithDialect,
                  linalg::LinalgDialect, tensor::TensorDialect,
                  math::MathDialect>();
  backend->registerDialects(registry);
  MLIRContext ctx(registry);
  // Users read diagnostics against their model file, not against IR dumps.
  ctx.printOpOnDiagnostic(false);
  ctx.getDiagEngine().registerHandler([](Diagnostic &diag) {
    printDiagnostic(diag);
    return success();
  });
  return Driver(ctx, *backend).run();
}
