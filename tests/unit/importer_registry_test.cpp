// The registry is what the importer dispatches on: every entry must import
// from its own example through the real importer, and docs/coverage.md must
// mark supported exactly the entries the importer dispatches.
#include "frontend/import/ModelImporter.h"
#include "frontend/import/Registry.h"
#include "ir/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

using json = nlohmann::json;
using kiln::import::Entry;
using kiln::import::EntryKind;

namespace {

json tensor(const std::string &name, const json &shape, const char *dtype) {
  return {{"name", name}, {"shape", shape}, {"dtype", dtype}};
}

/// A model that uses `e` once, built from its example.
json modelUsing(const Entry &e) {
  json ex = e.example;
  // A whole model of the entry's own (CTCLoss: int64 targets and lengths).
  if (ex.contains("model"))
    return ex["model"];
  json opts = ex.contains("options") ? ex["options"] : json::object();
  json model = {{"format", "kiln-model"}, {"version", 1}, {"name", "m"}};
  json input = ex.contains("input") ? ex["input"] : json({2, 4});
  json x = tensor("x", input, "float32");
  model["inputs"] = json::array({x});
  json leaf = {{"name", "0"}, {"type", "Identity"}, {"options", json::object()}};
  // Layers and functions read `h = neg(x)`, a computed value: a model
  // whose output is its input (or a reshape of it) is rejected.
  json node = {{"inputs", {"h"}}, {"outputs", {"y"}}};
  // Several values (indices, split pieces): y is the first.
  for (int i = 1; i < ex.value("outputs", 1); ++i)
    node["outputs"].push_back("y_" + std::to_string(i));
  if (e.kind == EntryKind::Layer) {
    leaf = {{"name", "0"}, {"type", kiln::import::modelTypeName(e)}, {"options", opts}};
    node["module"] = "0";
    // Two-input layers (Bilinear, CosineSimilarity) read h twice; the
    // optional trailing inputs are left out.
    node["inputs"] = json::array();
    for (unsigned i = 0; i < e.numInputs - e.numOptionalInputs; ++i)
      node["inputs"].push_back("h");
  } else if (e.kind == EntryKind::Function) {
    node["function"] = kiln::import::modelTypeName(e);
    node["options"] = opts;
    node["inputs"] = json::array();
    // The required inputs (the optional trailing ones left out).
    for (unsigned i = 0; i < e.numInputs - e.numOptionalInputs; ++i)
      node["inputs"].push_back("h");
  } else {
    node["module"] = "0";
  }
  json children = json::array({leaf});
  json neg = {{"function", "neg"}, {"options", json::object()}, {"inputs", {"x"}}, {"outputs", {"h"}}};
  model["graph"] = json::array({neg});
  if (ex.contains("index")) {
    // int64 index inputs (Embedding's, gather's) are a model input of the
    // example's "index" shape, all zeros at run time.
    model["inputs"].push_back(tensor("xi", ex["index"], "int64"));
    for (unsigned i : e.indexInputs)
      if (i < node["inputs"].size()) // optional index inputs are left out
        node["inputs"][i] = "xi";
  } else if (!e.indexInputs.empty() && e.numOptionalInputs == 0) {
    // int64 inputs (MaxUnpool's indices) come from a max pool of h with
    // return_indices: kernel 1, so they have h's shape.
    std::string pool = "MaxPool" + std::to_string(input.size() - 2) + "d";
    children.push_back({{"name", "p"}, {"type", pool},
                        {"options", {{"kernel_size", 1}, {"stride", nullptr}, {"return_indices", true}}}});
    model["graph"].push_back({{"module", "p"}, {"inputs", {"h"}}, {"outputs", {"hv", "hi"}}});
    node["inputs"] = {"h", "hi"};
  }
  if (!e.maskInputs.empty()) {
    // Bool mask inputs (where's condition) come from a comparison of h.
    model["graph"].push_back({{"function", "gt"}, {"options", {{"other", 0.0}}},
                              {"inputs", {"h"}}, {"outputs", {"hm"}}});
    for (unsigned i : e.maskInputs)
      node["inputs"][i] = "hm";
  }
  model["module"] = {{"type", "Sequential"}, {"children", children}};
  model["graph"].push_back(node);
  model["outputs"] = {"y"};
  if (e.givesMask) {
    // A mask is never a model output: select with it.
    model["graph"].push_back({{"function", "where"}, {"options", json::object()},
                              {"inputs", {"y", "h", "x"}}, {"outputs", {"ym"}}});
    model["outputs"] = {"ym"};
  }
  if (ex.contains("inputs")) {
    // Several inputs of their own shapes (MarginRankingLoss's input1,
    // input2, target): model inputs x<i>, read as h<i> = neg(x<i>); a loss
    // takes them as model outputs, except its target (target_index).
    int targetIndex = ex.value("target_index", -1);
    model["inputs"] = json::array();
    model["graph"] = json::array();
    json names = json::array(), outputs = json::array();
    for (size_t i = 0; i < ex["inputs"].size(); ++i) {
      std::string xi = "x" + std::to_string(i), hi = "h" + std::to_string(i);
      if (static_cast<int>(i) == targetIndex) {
        names.push_back("t");
        continue;
      }
      model["inputs"].push_back(tensor(xi, ex["inputs"][i], "float32"));
      model["graph"].push_back({{"function", "neg"}, {"options", json::object()},
                                {"inputs", {xi}}, {"outputs", {hi}}});
      names.push_back(hi);
      outputs.push_back(hi);
    }
    if (e.kind == EntryKind::Loss) {
      model["module"] = {{"type", "Sequential"}, {"children", json::array()}};
      model["outputs"] = outputs;
      json target = tensor("t", ex["inputs"][std::max(targetIndex, 0)], "float32");
      model["training"] = {
          {"loss", {{"type", kiln::import::modelTypeName(e)}, {"options", opts}, {"inputs", names}}},
          {"target", target},
          {"optimizer", {{"type", "SGD"}, {"options", {{"lr", 0.1}}}}}};
      return model;
    }
    // A function: every input a model input of its shape (the target too).
    if (targetIndex >= 0) {
      std::string xi = "x" + std::to_string(targetIndex), hi = "h" + std::to_string(targetIndex);
      model["inputs"].push_back(tensor(xi, ex["inputs"][targetIndex], "float32"));
      model["graph"].push_back({{"function", "neg"}, {"options", json::object()},
                                {"inputs", {xi}}, {"outputs", {hi}}});
      names[targetIndex] = hi;
    }
    model["module"] = {{"type", "Sequential"}, {"children", json::array()}};
    model["graph"].push_back({{"function", kiln::import::modelTypeName(e)}, {"options", opts},
                              {"inputs", names}, {"outputs", {"y"}}});
    model["outputs"] = {"y"};
    return model;
  }
  if (e.kind == EntryKind::Loss || e.kind == EntryKind::Optimizer ||
      e.kind == EntryKind::Scheduler || e.kind == EntryKind::TrainingOption) {
    json loss = {{"type", "MSELoss"}, {"options", json::object()}};
    json target = tensor("t", input, "float32");
    json optimizer = {{"type", "SGD"}, {"options", {{"lr", 0.1}}}};
    if (e.kind == EntryKind::Loss) {
      loss = {{"type", kiln::import::modelTypeName(e)}, {"options", opts}};
      target = tensor("t", ex["target"]["shape"], ex["target"]["dtype"].get<std::string>().c_str());
    } else if (e.kind == EntryKind::Optimizer) {
      optimizer = {{"type", kiln::import::modelTypeName(e)}, {"options", opts}};
    }
    model["training"] = {{"loss", loss}, {"target", target}, {"optimizer", optimizer}};
    if (e.kind == EntryKind::Scheduler) {
      json sched = {{"type", kiln::import::modelTypeName(e)}, {"options", opts}};
      // ChainedScheduler and SequentialLR (milestones [5]) combine two.
      if (e.torchName == "optim.lr_scheduler.ChainedScheduler" ||
          e.torchName == "optim.lr_scheduler.SequentialLR")
        sched["schedulers"] = {{{"type", "LinearLR"}, {"options", json::object()}},
                               {{"type", "StepLR"}, {"options", {{"step_size", 3}}}}};
      model["training"]["scheduler"] = sched;
    }
    if (e.kind == EntryKind::TrainingOption)
      model["training"].update(ex["training"]);
  }
  return model;
}

std::string writeTemp(const json &doc, const std::string &tag) {
  std::string path = ::testing::TempDir() + "registry_" + tag + ".json";
  std::ofstream(path) << doc.dump(2);
  return path;
}

bool containsOp(mlir::ModuleOp module, llvm::StringRef name) {
  bool found = false;
  module.walk([&](mlir::Operation *op) {
    found |= op->getName().getStringRef() == name;
  });
  return found;
}

TEST(ImporterRegistry, EveryEntryImportsFromItsExample) {
  for (const Entry &e : kiln::import::registry().entries()) {
    // Runtime utilities have no model-file form; their torch parity is
    // their own ctest (AveragedModel: Schedulers.swa_torch_parity).
    if (e.kind == EntryKind::Container || e.kind == EntryKind::Runtime ||
        e.kind == EntryKind::Reparametrization)
      continue;
    SCOPED_TRACE(e.torchName);
    mlir::MLIRContext ctx;
    std::string diagnostics;
    mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    std::string tag = e.torchName;
    for (char &c : tag)
      c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    bool train = e.kind == EntryKind::Loss || e.kind == EntryKind::Optimizer ||
                 e.kind == EntryKind::Scheduler || e.kind == EntryKind::TrainingOption;
    json doc = modelUsing(e);
    auto module = kiln::importModelFile(&ctx, writeTemp(doc, tag), train);
    ASSERT_TRUE(module) << diagnostics;
    // "nn.gelu (decomposed)": the op is the first word.
    std::string op = e.lowering.substr(0, e.lowering.find_first_of(" ,"));
    bool found = containsOp(*module, op);
    auto forward = module->lookupSymbol<mlir::func::FuncOp>("forward");
    ASSERT_TRUE(forward);
    auto out = mlir::cast<mlir::RankedTensorType>(forward.getResultTypes()[0]);
    if (!train && out.getElementType().isF32()) {
      // Layers and functions trained too (MSE against a target of the
      // output's shape): a mode-dependent layer (Dropout) shows its
      // train-mode ops only there. An int64 output (argmax) trains nothing.
      doc["training"] = {{"loss", {{"type", "MSELoss"}, {"options", json::object()}}},
                         {"target", tensor("t", out.getShape(), "float32")},
                         {"optimizer", {{"type", "SGD"}, {"options", {{"lr", 0.1}}}}}};
      auto trained = kiln::importModelFile(&ctx, writeTemp(doc, tag + "_train"), true);
      ASSERT_TRUE(trained) << diagnostics;
      found |= containsOp(*trained, op);
    }
    if (llvm::StringRef(op).starts_with("nn.") && e.kind != EntryKind::Optimizer)
      EXPECT_TRUE(found) << "no " << op;
    if (e.kind == EntryKind::Optimizer)
      EXPECT_TRUE((*module)->hasAttr("nn.optimizer"));
    if (e.kind == EntryKind::Scheduler)
      EXPECT_TRUE((*module)->hasAttr("nn.scheduler"));
    if (e.kind == EntryKind::TrainingOption)
      EXPECT_TRUE((*module)->hasAttr(e.example["attr"].get<std::string>()));
  }
}

TEST(ImporterRegistry, UnknownOptionIsRejectedWithItsPath) {
  const Entry *linear = kiln::import::registry().find("nn.Linear");
  ASSERT_NE(linear, nullptr);
  json doc = modelUsing(*linear);
  doc["module"]["children"][0]["options"]["bais"] = true;
  mlir::MLIRContext ctx;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    diagnostics += d.str();
    return mlir::success();
  });
  EXPECT_FALSE(kiln::importModelFile(&ctx, writeTemp(doc, "bais"), false));
  EXPECT_NE(diagnostics.find("unknown option 'bais' for Linear"), std::string::npos)
      << diagnostics;
}

std::string trim(const std::string &s) {
  size_t first = s.find_first_not_of(' ');
  if (first == std::string::npos)
    return "";
  return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Every row of docs/coverage.md says "yes" exactly when the registry
/// dispatches that name (and the row count matches the inventory).
TEST(ImporterRegistry, CoverageDocumentTellsTheTruth) {
  std::string doc = readFile(KILN_SOURCE_DIR "/docs/coverage.md");
  std::string inventory = readFile(KILN_SOURCE_DIR "/docs/torch-nn-inventory.tsv");
  ASSERT_FALSE(doc.empty());
  std::istringstream rows(doc);
  std::string line;
  int yes = 0, checked = 0;
  while (std::getline(rows, line)) {
    // | category | name | yes/no | ...
    if (line.rfind("| ", 0) != 0 || line.find("| category |") == 0)
      continue;
    std::vector<std::string> cells;
    std::stringstream cs(line.substr(2));
    for (std::string cell; std::getline(cs, cell, '|');)
      cells.push_back(trim(cell));
    if (cells.size() < 3 || (cells[2] != "yes" && cells[2] != "no"))
      continue;
    const Entry *e = kiln::import::registry().find(cells[1]);
    bool dispatched = e && kiln::import::coversInventory(*e);
    EXPECT_EQ(cells[2] == "yes", dispatched) << cells[1];
    yes += cells[2] == "yes";
    ++checked;
  }
  int inventoryRows = -1; // minus the header
  for (char c : inventory)
    inventoryRows += c == '\n';
  EXPECT_EQ(checked, inventoryRows);
  int dispatchable = 0;
  for (const Entry &e : kiln::import::registry().entries())
    dispatchable += kiln::import::coversInventory(e) &&
                    inventory.find("\t" + e.torchName + "\n") != std::string::npos;
  EXPECT_EQ(yes, dispatchable);
  EXPECT_NE(doc.find("Supported: " + std::to_string(yes) + " of "), std::string::npos);
}

} // namespace
