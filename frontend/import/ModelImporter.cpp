#include "frontend/import/ModelImporter.h"
#include "frontend/import/GradClip.h"
#include "frontend/import/ParamGroups.h"
#include "frontend/import/Scheduler.h"

#include "frontend/import/ImportCalls.h"
#include "frontend/import/Limits.h"
#include "frontend/import/ModuleParameters.h"
#include "frontend/import/Reparametrize.h"
#include "frontend/import/Registry.h"
#include "ir/ArgSignature.h"
#include "ir/NNBuilders.h"
#include "ir/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

using namespace mlir;
using json = nlohmann::json;
using kiln::import::ImportError;

namespace kiln {
namespace {

using import::BuildContext;
using import::Call;
using import::Entry;
using import::EntryKind;
using import::fail;
using import::BatchNormUpdate;
using import::FunctionState;
using import::ImportError;
using import::Init;
using import::Leaf;
using import::LeafDecl;
using import::Options;
using import::Param;

const json &member(const json &obj, const std::string &path,
                   const std::string &key) {
  if (!obj.is_object())
    fail(path, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end())
    fail(path, "missing required field '" + key + "'");
  return *it;
}

std::string stringAt(const json &obj, const std::string &path,
                     const std::string &key) {
  const json &v = member(obj, path, key);
  if (!v.is_string())
    fail(path + "." + key, "expected a string");
  return v.get<std::string>();
}

/// `options` of a node: absent means none.
const json &optionsOf(const json &node) {
  static const json none;
  auto it = node.find("options");
  return it == node.end() ? none : *it;
}

/// Fails at `path` when `problem` (from Limits.h) is not empty.
void check(const std::string &problem, const std::string &path,
           const std::string &what, const std::string &name) {
  if (!problem.empty())
    fail(path, what + " " + import::quotedName(name) + " " + problem);
}

/// torch's xavier_uniform_ of a parameter of `shape` (two or more
/// dimensions): U(+-sqrt(6 / (fan_in + fan_out))), fan_in = shape[1] *
/// receptive field, fan_out = shape[0] * receptive field.
import::Init xavierUniform(const std::vector<int64_t> &shape) {
  double receptive = 1;
  for (size_t d = 2; d < shape.size(); ++d)
    receptive *= static_cast<double>(shape[d]);
  double fanIn = static_cast<double>(shape[1]) * receptive,
         fanOut = static_cast<double>(shape[0]) * receptive;
  double bound = std::sqrt(6.0 / (fanIn + fanOut));
  return import::Init::uniform(-bound, bound);
}

struct TensorDecl {
  std::string name;
  std::vector<int64_t> shape;
  bool isInt64 = false;
};

TensorDecl tensorDecl(const json &v, const std::string &path) {
  TensorDecl t;
  t.name = stringAt(v, path, "name");
  // Inputs and the target name arguments of the generated C API.
  check(import::cIdentifierProblem(t.name), path + ".name", "tensor name", t.name);
  t.shape = import::shapeAt(member(v, path, "shape"), path + ".shape");
  std::string dtype = stringAt(v, path, "dtype");
  if (dtype != "float32" && dtype != "int64")
    fail(path + ".dtype", "unsupported dtype '" + dtype +
                              "' (supported: float32, int64)");
  t.isInt64 = dtype == "int64";
  return t;
}

/// Builds the nn module for one model file.
class Importer {
public:
  Importer(MLIRContext *ctx, std::string file) : ctx(ctx), file(std::move(file)) {}

  OwningOpRef<ModuleOp> run(const json &root, bool train) {
    readHeader(root);
    walkModule(member(root, "$", "module"), "module", "");
    const json &graph = member(root, "$", "graph");
    if (!graph.is_array())
      fail("graph", "expected an array of nodes");
    const json &outs = member(root, "$", "outputs");
    if (!outs.is_array() || outs.empty())
      fail("outputs", "expected a non-empty array of value names");

    const json *training = nullptr;
    if (train) {
      if (!root.contains("training"))
        fail("training", "--mode=train needs a \"training\" section (loss "
                         "and optimizer); use --mode=inference otherwise");
      training = &root["training"];
      import::checkKnownKeys(*training, "training",
                             {"loss", "target", "optimizer", "clip_grad_norm", "clip_grad_value",
                              "scheduler", "update_bn", "frozen"});
    }

    OpBuilder b(ctx);
    OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc());
    module->getOperation()->setAttr("nn.model_name", b.getStringAttr(name));
    b.setInsertionPointToEnd(module->getBody());

    // A model whose layers ask for the mode (dropout, batch norm) gets an
    // eval-mode `forward` and, when it can be trained, a train-mode
    // `forward_train`; the loss is always built in train mode, as torch
    // trains. An inference compile can never enter train mode, so its one
    // forward serves both.
    auto [forward, modeDependent] =
        buildFunction(b, "forward", graph, outs, nullptr, /*trainMode=*/false);
    if (training && modeDependent) {
      forward->setAttr("nn.mode", b.getStringAttr("eval"));
      auto trainForward =
          buildFunction(b, "forward_train", graph, outs, nullptr, true).first;
      trainForward->setAttr("nn.mode", b.getStringAttr("train"));
    }
    if (training && wantsUpdateBn(*training) && !(modeDependent && buildUpdateBn(b, graph, outs)))
      fail("training.update_bn", "the model has no BatchNorm that tracks running statistics: "
                                 "torch's update_bn would change nothing");
    if (training) {
      auto loss = buildFunction(b, "loss", graph, outs, training, true).first;
      markFrozen(b, loss, *training);
      if (modeDependent)
        loss->setAttr("nn.mode", b.getStringAttr("train"));
      module->getOperation()->setAttr(
          "nn.optimizer",
          optimizerAttr(b, member(*training, "training", "optimizer")));
      import::addGradClip(b, *module, *training);
      import::addScheduler(b, *module, *training);
    }
    return module;
  }

private:
  Location fileLoc() { return FileLineColLoc::get(ctx, file, 1, 1); }
  Location loc(const std::string &jsonPath, const std::string &source = "") {
    std::string label = jsonPath;
    if (!source.empty())
      label += " (traced at " + source + ")";
    return NameLoc::get(StringAttr::get(ctx, label), fileLoc());
  }

  void readHeader(const json &root) {
    if (!root.is_object())
      fail("$", "the model file must hold a JSON object");
    if (!root.contains("format") || root["format"] != "kiln-model")
      fail("format", "expected \"format\": \"kiln-model\"");
    const json &version = member(root, "$", "version");
    if (!version.is_number_integer() || version.get<int64_t>() != 1)
      fail("version", "unsupported version (this kilnc reads version 1)");
    name = stringAt(root, "$", "name");
    check(import::cIdentifierProblem(name), "name", "model name", name);
    // <name>_create etc. must not collide with the runtime's kiln_* API.
    if (name == "kiln" || name.rfind("kiln_", 0) == 0)
      fail("name", "model name " + import::quotedName(name) +
                       " is reserved: 'kiln' and 'kiln_*' are the runtime's prefix");
    const json &ins = member(root, "$", "inputs");
    if (!ins.is_array() || ins.empty())
      fail("inputs", "expected a non-empty array of inputs");
    for (size_t i = 0; i < ins.size(); ++i) {
      std::string path = "inputs[" + std::to_string(i) + "]";
      inputs.push_back(tensorDecl(ins[i], path));
      for (size_t j = 0; j < i; ++j)
        if (inputs[j].name == inputs[i].name)
          fail(path + ".name", "duplicate input name " + import::quotedName(inputs[i].name));
    }
  }

  const Entry &lookup(EntryKind kind, const std::string &type,
                      const std::string &path, const char *what) {
    if (const Entry *e = import::registry().lookup(kind, type))
      return *e;
    fail(path, std::string("unknown ") + what + " '" + type + "' (supported: " +
                   import::registry().supportedNames(kind) + ")");
  }

  void walkModule(const json &node, const std::string &jsonPath,
                  const std::string &prefix, int depth = 0) {
    std::string type = stringAt(node, jsonPath, "type");
    // A container or user module: children, its own parameters, or both.
    if (node.contains("children") ||
        ((node.contains("parameters") || node.contains("buffers")) && !node.contains("options"))) {
      // A misspelt key would otherwise be ignored.
      import::checkKnownKeys(node, jsonPath,
                             {"name", "type", "children", "parameters", "buffers", "skip_init"});
      if (depth >= import::kMaxModuleDepth)
        fail(jsonPath, "modules nest deeper than " +
                           std::to_string(import::kMaxModuleDepth) + " levels");
      size_t firstParam = params.size(), firstBuffer = buffers.size();
      // Its own parameters first, then its children's: torch's state_dict
      // order.
      std::set<std::string> own =
          import::declareModuleParameters(node, jsonPath, prefix, params);
      import::declareModuleBuffers(node, jsonPath, prefix, buffers, own);
      if (node.contains("children"))
        walkChildren(node["children"], jsonPath, prefix, depth + 1, std::move(own));
      const Entry *container = import::registry().lookup(EntryKind::Container, type);
      if (container && container->xavierMatrices)
        for (size_t i = firstParam; i < params.size(); ++i)
          if (params[i].shape.size() >= 2 && params[i].init.kind != import::Init::NormOf)
            params[i].init = xavierUniform(params[i].shape);
      skipInit(node, jsonPath, firstParam, firstBuffer);
      return;
    }
    import::checkKnownKeys(node, jsonPath, {"name", "type", "options", "parameters", "buffers",
                                            "reparametrize", "skip_init"});
    size_t firstParam = params.size(), firstBuffer = buffers.size();
    for (const char *key : {"parameters", "buffers"})
      if (node.contains(key))
        fail(jsonPath + "." + key,
             std::string("a built-in layer's ") + key + " follow from its type and options; only "
             "containers and user-defined modules (nodes with \"children\") declare " + key);
    const Entry &entry = lookup(EntryKind::Layer, type, jsonPath + ".type",
                                "layer type");
    if (entry.kind == EntryKind::Container)
      return; // an empty container
    Leaf leaf{&entry, jsonPath,
              import::parseOptions(entry, optionsOf(node), jsonPath + ".options"),
              {}, {}};
    if (entry.declare) {
      LeafDecl decl(leaf, params, buffers, prefix);
      entry.declare(decl);
    }
    import::declareReparametrizations(node, jsonPath, prefix, leaf, params, buffers);
    skipInit(node, jsonPath, firstParam, firstBuffer);
    leaves.emplace(prefix, std::move(leaf));
  }

  /// torch.nn.utils.skip_init(module_cls, ...): a node's `skip_init: true`
  /// leaves every parameter and buffer of its subtree (those declared from
  /// `firstParam` / `firstBuffer` on) for the runtime not to initialize.
  void skipInit(const json &node, const std::string &jsonPath, size_t firstParam,
                size_t firstBuffer) {
    auto it = node.find("skip_init");
    if (it == node.end())
      return;
    if (!it->is_boolean())
      fail(jsonPath + ".skip_init", "expected true or false");
    if (!it->get<bool>())
      return;
    for (size_t i = firstParam; i < params.size(); ++i)
      params[i].init = import::Init{import::Init::Empty};
    for (size_t i = firstBuffer; i < buffers.size(); ++i)
      buffers[i].init = import::Init{import::Init::Empty};
  }

  /// `params`: the parent's own parameter names, which a child may not
  /// take (one state_dict key each).
  void walkChildren(const json &children, const std::string &jsonPath,
                    const std::string &prefix, int depth, std::set<std::string> params) {
    if (!children.is_array())
      fail(jsonPath + ".children", "expected an array of modules");
    std::set<std::string> siblings;
    for (size_t i = 0; i < children.size(); ++i) {
      std::string childPath = jsonPath + ".children[" + std::to_string(i) + "]";
      std::string childName = stringAt(children[i], childPath, "name");
      // Module names become state_dict key parts (`fc1.weight`).
      check(import::moduleNameProblem(childName), childPath + ".name", "module name",
            childName);
      if (!siblings.insert(childName).second)
        fail(childPath + ".name", "duplicate module name " +
                                      import::quotedName(childName) + " among siblings");
      if (params.count(childName))
        fail(childPath + ".name", "module name " + import::quotedName(childName) +
                                      " is also a parameter of its parent (one state_dict "
                                      "key each)");
      walkModule(children[i], childPath,
                 prefix.empty() ? childName : prefix + "." + childName, depth);
    }
  }

  nn::InitAttr initAttr(const Init &init) {
    return cast<nn::InitAttr>(init.attr(ctx));
  }

  Type tensorType(const TensorDecl &t) {
    Type element = t.isInt64 ? Type(IntegerType::get(ctx, 64))
                             : Type(Float32Type::get(ctx));
    return RankedTensorType::get(t.shape, element);
  }

  /// Arguments of `forward` / `loss`: params, buffers, inputs, then the
  /// target.
  ArgSignature signature(OpBuilder &b, const std::optional<TensorDecl> &target) {
    ArgSignature sig;
    for (const Param &p : params)
      sig.add(b, RankedTensorType::get(p.shape, b.getF32Type()), p.name,
              nn::TensorRole::param, initAttr(p.init));
    for (const Param &p : buffers)
      sig.add(b, tensorType({p.name, p.shape, p.isInt64}), p.name,
              nn::TensorRole::buffer, initAttr(p.init));
    // An int64 input feeds only index inputs (checked per call in invoke);
    // the runtime checks its values against what those ops accept.
    for (const TensorDecl &in : inputs)
      sig.add(b, tensorType(in), in.name, nn::TensorRole::input);
    if (target)
      sig.add(b, tensorType(*target), target->name, nn::TensorRole::target);
    return sig;
  }

  /// training.update_bn (default false): whether to compile update_bn's
  /// kernels. Opt-in because they are two more forwards to compile (a
  /// third more kilnc time for W3's ResNet, measured) that a model without
  /// SWA never runs.
  bool wantsUpdateBn(const json &training) {
    auto it = training.find("update_bn");
    if (it == training.end())
      return false;
    if (!it->is_boolean())
      fail("training.update_bn", "expected true or false");
    return it->get<bool>();
  }

  /// torch.optim.swa_utils.update_bn's kernels: `update_bn_first` and
  /// `update_bn`, train-mode forwards returning only next buffers (and
  /// value checks), batch norms averaging cumulatively from update_bn's
  /// reset (BatchNormUpdate). False (and none) when no batch norm tracks
  /// statistics.
  bool buildUpdateBn(OpBuilder &b, const json &graph, const json &outs) {
    for (auto [fnName, update] : {std::pair{"update_bn_first", BatchNormUpdate::first},
                                  std::pair{"update_bn", BatchNormUpdate::later}}) {
      FunctionState state;
      func::FuncOp fn =
          buildFunction(b, fnName, graph, outs, nullptr, /*trainMode=*/true, update, &state)
              .first;
      if (!state.hasUpdatedBatchNorm) {
        fn.erase();
        return false;
      }
      fn->setAttr("nn.mode", b.getStringAttr("train"));
    }
    return true;
  }

  /// Builds `fnName` from the graph in train or eval mode; also says
  /// whether any layer asked for the mode. With `update` (update_bn's
  /// functions) it returns no outputs, only next buffers and checks;
  /// `stateOut`, when given, receives the function's state.
  std::pair<func::FuncOp, bool> buildFunction(OpBuilder &b, StringRef fnName,
                                              const json &graph,
                                              const json &outs,
                                              const json *training,
                                              bool trainMode,
                                              BatchNormUpdate update = BatchNormUpdate::none,
                                              FunctionState *stateOut = nullptr) {
    std::optional<TensorDecl> target;
    if (training && training->contains("target"))
      target = trainingTarget(*training);
    ArgSignature sig = signature(b, target);
    auto fn = b.create<func::FuncOp>(loc(fnName.str()), fnName,
                                     b.getFunctionType(sig.types, {}));
    fn.setAllArgAttrs(sig.attrs);
    Block *body = fn.addEntryBlock();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body);

    FunctionState local;
    FunctionState &state = stateOut ? *stateOut : local;
    state.training = trainMode;
    state.tracksSparseGradients = training != nullptr;
    state.batchNormUpdate = update;
    state.body = body;
    Value targetArg = target ? body->getArguments().back() : Value();
    std::map<std::string, Value> values = bindArguments(state);
    for (size_t n = 0; n < graph.size(); ++n)
      buildNode(b, graph[n], "graph[" + std::to_string(n) + "]", state, values);

    SmallVector<Value> results = outputValues(outs, values);
    if (update != BatchNormUpdate::none)
      results.clear(); // update_bn keeps the buffers only
    if (training) {
      results.assign({buildLoss(b, member(*training, "training", "loss"), outs, results,
                                targetArg, target ? target->name : "", values, state)});
      fn->setAttr("nn.differentiate", b.getUnitAttr());
      fn->setAttr("nn.loss", b.getUnitAttr());
    }
    finish(b, fn, sig, state, results);
    return {fn, state.modeQueried};
  }

  /// training.frozen (torch's requires_grad_(False)): the loss function's
  /// parameters named there, or under a module path named there, get
  /// nn.frozen, so nn-autodiff computes no gradient for them (and
  /// nn-build-train-step leaves them alone, as torch's optimizers skip a
  /// grad of None). Every entry must match a parameter.
  void markFrozen(OpBuilder &b, func::FuncOp loss, const json &training) {
    auto it = training.find("frozen");
    if (it == training.end())
      return;
    if (!it->is_array())
      fail("training.frozen", "expected an array of parameter keys or module paths");
    for (size_t k = 0; k < it->size(); ++k) {
      std::string path = "training.frozen[" + std::to_string(k) + "]";
      if (!(*it)[k].is_string())
        fail(path, "expected a parameter's state_dict key or a module's path");
      std::string key = (*it)[k].get<std::string>();
      bool found = false;
      for (size_t i = 0; i < params.size(); ++i)
        if (params[i].name == key || params[i].name.rfind(key + ".", 0) == 0) {
          loss.setArgAttr(i, "nn.frozen", b.getUnitAttr());
          found = true;
        }
      if (!found)
        fail(path, import::quotedName(key) + " is no parameter and no module with parameters");
    }
  }

  /// training.target, named unlike every input.
  TensorDecl trainingTarget(const json &training) {
    TensorDecl target = tensorDecl(member(training, "training", "target"), "training.target");
    for (const TensorDecl &in : inputs)
      if (in.name == target.name)
        fail("training.target.name", "the target is named like the input " +
                                         import::quotedName(in.name) +
                                         " (names of the generated API must differ)");
    return target;
  }

  /// Buffers' current values and the inputs' graph values (arguments after
  /// the parameters, in signature order).
  std::map<std::string, Value> bindArguments(FunctionState &state) {
    for (size_t i = 0; i < buffers.size(); ++i)
      state.bufferValues[buffers[i].name] = state.body->getArgument(params.size() + i);
    size_t firstInput = params.size() + buffers.size();
    std::map<std::string, Value> values;
    for (size_t i = 0; i < inputs.size(); ++i)
      values.emplace(inputs[i].name, state.body->getArgument(firstInput + i));
    return values;
  }

  /// Returns `results`, then the buffers a train-mode call set (declaration
  /// order, each marked nn.next with the buffer it updates); appends the rng
  /// argument when the graph drew random numbers.
  void finish(OpBuilder &b, func::FuncOp fn, ArgSignature &sig,
              FunctionState &state, SmallVector<Value> &results) {
    SmallVector<StringRef> next;
    for (const Param &p : buffers)
      if (state.updatedBuffers.count(p.name)) {
        results.push_back(state.bufferValues[p.name]);
        next.push_back(p.name);
      }
    // The loss's value checks, after the next buffers (autodiff and
    // nn-build-train-step pass both through in order).
    for (const auto &check : state.checks)
      results.push_back(check.second);
    // Then the rows of the parameters whose gradient is sparse in torch
    // (nn-build-train-step takes them out of the gradients kernel).
    SmallVector<std::pair<StringRef, Value>> sparse = sparseRows(b, fn, state);
    for (const auto &rows : sparse)
      results.push_back(rows.second);
    if (state.rng) {
      // The random state is the last argument; the runtime passes the
      // instance's kiln_rng_state and advances it by what one call draws.
      sig.add(b, state.rng.getType(), "rng", nn::TensorRole::rng);
      fn->setAttr("nn.rng_counters", b.getI64IntegerAttr(state.rngCounters));
    }
    b.create<func::ReturnOp>(fn.getLoc(), results);
    fn.setFunctionType(b.getFunctionType(sig.types, ValueRange(results).getTypes()));
    // After the type: one attribute dictionary per argument, the rng's too
    // (setAllArgAttrs asserts the count; without assertions a longer list
    // was stored and only matched once the type caught up).
    if (state.rng)
      fn.setAllArgAttrs(sig.attrs);
    unsigned firstNext = results.size() - next.size() - state.checks.size();
    for (auto [k, name] : llvm::enumerate(next))
      fn.setResultAttr(firstNext + k, "nn.next", b.getStringAttr(name));
    unsigned firstCheck = results.size() - state.checks.size() - sparse.size();
    for (auto [k, check] : llvm::enumerate(state.checks))
      fn.setResultAttr(firstCheck + k, "nn.check", b.getStringAttr(check.first));
    unsigned firstSparse = results.size() - sparse.size();
    for (auto [k, rows] : llvm::enumerate(sparse))
      fn.setResultAttr(firstSparse + k, "nn.sparse_rows", b.getStringAttr(rows.first));
  }

  /// Per parameter of `fn` whose gradient is sparse in torch: its name and
  /// the sum of its lookups' rows. A parameter counts only when it is read
  /// by sparse lookups alone; one also read otherwise (a tied weight) has a
  /// dense gradient in torch (sparse + dense accumulate to dense).
  SmallVector<std::pair<StringRef, Value>> sparseRows(OpBuilder &b, func::FuncOp fn,
                                                      FunctionState &state) {
    SmallVector<std::pair<StringRef, Value>> out;
    std::set<Operation *> sparseReaders;
    for (const auto &r : state.sparseRows)
      sparseReaders.insert(r.readers.begin(), r.readers.end());
    for (const auto &r : state.sparseRows) {
      auto arg = dyn_cast<BlockArgument>(r.weight);
      if (!arg || arg.getOwner() != state.body ||
          roleOf(fn, arg.getArgNumber()) != nn::TensorRole::param)
        continue;
      bool onlySparse = llvm::all_of(arg.getUsers(), [&](Operation *user) {
        return sparseReaders.count(user) > 0;
      });
      if (!onlySparse)
        continue;
      auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "nn.name");
      auto known = llvm::find_if(out, [&](auto &entry) { return entry.first == name.getValue(); });
      if (known == out.end())
        out.push_back({name.getValue(), r.rows});
      else
        known->second = b.create<nn::AddOp>(fn.getLoc(), known->second, r.rows);
    }
    return out;
  }

  /// Whether `v` is a function argument, or reshapes (or detach) of one: values whose
  /// buffer would alias the caller's input, which an output must not.
  static bool isInputView(Value v) {
    while (Operation *def = v.getDefiningOp()) {
      if (!isa<nn::ReshapeOp, nn::FlattenOp, nn::DetachOp>(def))
        return false;
      v = def->getOperand(0);
    }
    return true;
  }

  SmallVector<Value> outputValues(const json &outs,
                                  const std::map<std::string, Value> &values) {
    SmallVector<Value> results;
    for (size_t i = 0; i < outs.size(); ++i) {
      std::string path = "outputs[" + std::to_string(i) + "]";
      if (!outs[i].is_string())
        fail(path, "expected a value name");
      auto it = values.find(outs[i].get<std::string>());
      if (it == values.end())
        fail(path, "unknown value " + import::quotedName(outs[i].get<std::string>()));
      if (isInputView(it->second))
        fail(path, "output " + import::quotedName(it->first) +
                       " is a model input, a parameter or a reshaped view of one (in this "
                       "mode); "
                       "Kiln's outputs must be computed by the graph (not supported yet)");
      // float32 values and int64 indices (argmax, max-pool indices); a
      // bool mask has no dtype in the C API.
      Type element = cast<RankedTensorType>(it->second.getType()).getElementType();
      if (element.isInteger(1))
        fail(path, "output " + import::quotedName(it->first) +
                       " is a bool mask (a comparison's result); Kiln's model outputs are "
                       "float32 or int64 (make it float32 with where or masked_fill)");
      if (llvm::is_contained(results, it->second))
        fail(path, "value " + import::quotedName(it->first) +
                       " is listed twice (or is the same value as an earlier output)");
      results.push_back(it->second);
    }
    return results;
  }

  SmallVector<Value> nodeOperands(const json &ins, const std::string &path,
                                  const std::map<std::string, Value> &values) {
    SmallVector<Value> operands;
    for (size_t i = 0; i < ins.size(); ++i) {
      std::string ip = path + ".inputs[" + std::to_string(i) + "]";
      if (!ins[i].is_string())
        fail(ip, "expected a value name");
      auto it = values.find(ins[i].get<std::string>());
      if (it == values.end())
        fail(ip, "unknown value " + import::quotedName(ins[i].get<std::string>()) +
                     " (values must be defined before use)");
      operands.push_back(it->second);
    }
    return operands;
  }

  void buildNode(OpBuilder &b, const json &node, const std::string &path,
                 FunctionState &fn, std::map<std::string, Value> &values) {
    if (!node.is_object())
      fail(path, "expected a node object");
    // One kind of node, and only its keys (a misspelt key would be ignored).
    int kinds = node.contains("module") + node.contains("function") + node.contains("parameter");
    if (kinds > 1)
      fail(path, "a node is one of \"module\", \"function\" and \"parameter\", not several");
    if (node.contains("module"))
      import::checkKnownKeys(node, path, {"module", "method", "options", "inputs", "outputs", "loc"});
    else if (node.contains("function"))
      import::checkKnownKeys(node, path, {"function", "options", "inputs", "outputs", "loc"});
    else if (node.contains("parameter"))
      import::checkKnownKeys(node, path, {"parameter", "inputs", "outputs", "loc"});
    std::string source = node.contains("loc") && node["loc"].is_string()
                             ? node["loc"].get<std::string>()
                             : "";
    const json &ins = member(node, path, "inputs");
    const json &outs = member(node, path, "outputs");
    if (!ins.is_array() || !outs.is_array() || outs.empty())
      fail(path, "a node needs an 'inputs' array and an 'outputs' array of "
                 "at least one value name");
    SmallVector<Value> operands = nodeOperands(ins, path, values);
    std::string traced = source.empty() ? "" : " (traced at " + source + ")";

    SmallVector<Value> results;
    if (node.contains("module")) {
      std::string modName = stringAt(node, path, "module");
      auto it = leaves.find(modName);
      if (it == leaves.end())
        fail(path + ".module", "unknown module " + import::quotedName(modName) +
                                   "' (graph nodes call leaf modules by "
                                   "dotted path, e.g. \"0\" or \"fc1\")");
      const Leaf &leaf = it->second;
      Call call(fn, b, loc(path, source), leaf.options, operands, path,
                "module '" + modName + "' (" +
                    import::modelTypeName(*leaf.entry) + ", " + leaf.jsonPath +
                    ")" + traced);
      for (auto &[local, index] : leaf.params)
        call.params[local] = fn.body->getArgument(index);
      for (auto &[local, index] : leaf.buffers)
        call.buffers[local] = buffers[index].name;
      for (const import::Reparam &r : leaf.reparams)
        call.params[r.local] = import::reparametrized(call, r);
      const Entry *entry = leaf.entry;
      if (node.contains("method") && stringAt(node, path, "method") != "forward") {
        std::string method = stringAt(node, path, "method");
        auto m = entry->methods.find(method);
        if (m == entry->methods.end()) {
          std::string known = "forward";
          for (const auto &[name, _] : entry->methods)
            known += ", " + name;
          fail(path + ".method", import::modelTypeName(*entry) + " has no method " +
                                     import::quotedName(method) + " (supported: " + known + ")");
        }
        entry = m->second.get();
      }
      if (!entry->callOptions.empty())
        call.callOpts = import::parseOptions(entry->callOptions,
                                             import::modelTypeName(*entry) + "'s forward",
                                             optionsOf(node), path + ".options");
      else if (node.contains("options"))
        fail(path + ".options", import::modelTypeName(*entry) +
                                    " takes no forward arguments besides its inputs (its "
                                    "constructor options belong in the module tree)");
      results = invoke(*entry, call, path);
    } else if (node.contains("function")) {
      std::string fnName = stringAt(node, path, "function");
      const Entry &entry =
          lookup(EntryKind::Function, fnName, path + ".function", "function");
      Options options =
          import::parseOptions(entry, optionsOf(node), path + ".options");
      Call call(fn, b, loc(path, source), options, operands, path,
                "function '" + fnName + "'" + traced);
      results = invoke(entry, call, path);
    } else if (node.contains("parameter")) {
      results = {parameterValue(node, path, fn, ins)};
    } else {
      fail(path, "a node needs \"module\", \"function\" or \"parameter\"");
    }
    if (outs.size() != results.size())
      fail(path + ".outputs", "this call gives " + std::to_string(results.size()) +
                                  " value(s), but " + std::to_string(outs.size()) +
                                  " output name(s) are listed");
    for (size_t i = 0; i < outs.size(); ++i) {
      std::string op = path + ".outputs[" + std::to_string(i) + "]";
      std::string outName = outs[i].is_string() ? outs[i].get<std::string>() : "";
      if (outName.empty())
        fail(op, "expected a value name");
      check(import::valueNameProblem(outName), op, "value name", outName);
      if (!values.emplace(outName, results[i]).second)
        fail(op, "value " + import::quotedName(outName) + " is defined twice");
    }
  }

  /// A `parameter` node: the value of the parameter named by its state_dict
  /// key (a module's own parameter, or a layer's: weight tying), read
  /// where the graph reads it (torch.fx's get_attr).
  Value parameterValue(const json &node, const std::string &path, FunctionState &fn,
                       const json &ins) {
    std::string key = stringAt(node, path, "parameter");
    if (!ins.empty())
      fail(path + ".inputs", "a parameter node reads no values (\"inputs\": [])");
    for (size_t i = 0; i < params.size(); ++i)
      if (params[i].name == key)
        return fn.body->getArgument(i);
    // A buffer (get_attr reads either): its value at this point of the
    // function (a train-mode batch norm may have updated it already).
    auto buffer = fn.bufferValues.find(key);
    if (buffer != fn.bufferValues.end())
      return buffer->second;
    fail(path + ".parameter", "unknown parameter or buffer " + import::quotedName(key) +
                                  " (a state_dict key such as \"pos_embedding\" or "
                                  "\"encoder.weight\")");
  }

  /// The values of one call: the entry's inputs checked (float32; int64 at
  /// indexInputs, bool at maskInputs), then its build.
  SmallVector<Value> invoke(const Entry &entry, Call &call,
                            const std::string &path) {
    unsigned given = call.operands().size();
    unsigned least = entry.numInputs - entry.numOptionalInputs;
    if (given < least || given > entry.numInputs)
      fail(path + ".inputs", import::modelTypeName(entry) + " takes " +
                                 (least == entry.numInputs
                                      ? std::to_string(entry.numInputs)
                                      : std::to_string(least) +
                                            (entry.numInputs - least == 1 ? " or " : " to ") +
                                            std::to_string(entry.numInputs)) +
                                 " input(s), got " + std::to_string(given));
    for (unsigned i = 0; i < given; ++i) {
      Type type = cast<RankedTensorType>(call.operands()[i].getType()).getElementType();
      bool index = llvm::is_contained(entry.indexInputs, i),
           mask = llvm::is_contained(entry.maskInputs, i);
      if (llvm::is_contained(entry.indexOrFloatInputs, i)) {
        if (!type.isInteger(64) && !type.isF32())
          fail(path + ".inputs[" + std::to_string(i) + "]",
               "expected an int64 value (a packed sequence's lengths) or a float32 value");
        continue;
      }
      if (llvm::is_contained(entry.maskOrFloatInputs, i)) {
        if (!type.isInteger(1) && !type.isF32())
          fail(path + ".inputs[" + std::to_string(i) + "]",
               "expected a bool mask (the result of a comparison such as gt or eq) or a "
               "float32 value");
        continue;
      }
      if (index ? !type.isInteger(64) : mask ? !type.isInteger(1) : !type.isF32())
        fail(path + ".inputs[" + std::to_string(i) + "]",
             index  ? "expected an int64 value (indices)"
             : mask ? "expected a bool mask (the result of a comparison such as gt or eq)"
             : type.isInteger(1)
                 ? "expected a float32 value, got a bool mask (masks feed where and masked_fill)"
             : type.isInteger(64)
                 ? "expected a float32 value, got an int64 value (indices feed only index "
                   "inputs: Embedding's input, index_select's and gather's index, "
                   "MaxUnpool's indices)"
                 : "expected a float32 value");
    }
    if (entry.buildOutputs)
      return entry.buildOutputs(call);
    return {entry.build(call)};
  }

  /// The loss's operands: the values training.loss.inputs names (model
  /// outputs, the target and model inputs, in torch's argument order), by
  /// default the first `count - 1` model outputs, then the target (the other
  /// outputs are the model's only; files from before `inputs` train on the
  /// first). A model input serves losses of several targets (CTCLoss's
  /// lengths): the caller passes it with the batch.
  SmallVector<Value> lossOperands(const json &loss, const json &outs,
                                  ArrayRef<Value> outputs, Value target,
                                  const std::string &targetName, unsigned count,
                                  const std::map<std::string, Value> &values) {
    if (!loss.contains("inputs")) {
      if (!target)
        fail("training.loss",
             "without training.loss.inputs the loss takes its first model outputs and the "
             "target, but training has no \"target\" (declare one, or name the loss's "
             "inputs in training.loss.inputs)");
      if (outputs.size() < count - 1)
        fail("outputs", "the loss takes " + std::to_string(count) +
                            " inputs: " + std::to_string(count - 1) +
                            " model outputs and the target, but the model has " +
                            std::to_string(outputs.size()) +
                            " output(s) (name the inputs in training.loss.inputs)");
      SmallVector<Value> operands(outputs.begin(), outputs.begin() + (count - 1));
      for (size_t k = 0; k + 1 < count; ++k)
        requireFloatLossInput(operands[k], outs[k].get<std::string>(),
                              "outputs[" + std::to_string(k) + "]");
      operands.push_back(target);
      return operands;
    }
    const json &names = loss["inputs"];
    if (!names.is_array() || names.empty())
      fail("training.loss.inputs",
           "expected a non-empty array of model output names and the target's name");
    SmallVector<Value> operands;
    for (size_t i = 0; i < names.size(); ++i) {
      std::string path = "training.loss.inputs[" + std::to_string(i) + "]";
      if (!names[i].is_string())
        fail(path, "expected a model output's name or the target's name");
      std::string name = names[i].get<std::string>();
      Value v = target && name == targetName ? target : Value();
      for (size_t k = 0; k < outs.size() && !v; ++k)
        if (outs[k] == name) {
          v = outputs[k];
          requireFloatLossInput(v, name, path);
        }
      for (size_t k = 0; k < inputs.size() && !v; ++k)
        if (inputs[k].name == name)
          v = values.at(name);
      if (!v)
        fail(path, "unknown loss input " + import::quotedName(name) +
                       " (a loss takes model outputs, listed in \"outputs\", " +
                       (target ? "the target " + import::quotedName(targetName)
                               : std::string("the target (training has none)")) +
                       " and model inputs)");
      operands.push_back(v);
    }
    return operands;
  }

  /// training.loss {"output": <name>}: a loss of one's own, computed in the
  /// graph, is the model output `name`, a float32 scalar, differentiated as
  /// it is (torch's `loss = model(x, t); loss.backward()`).
  Value outputLoss(const json &loss, const json &outs, ArrayRef<Value> outputs) {
    import::checkKnownKeys(loss, "training.loss", {"output"}, "key");
    const json &name = loss["output"];
    if (!name.is_string())
      fail("training.loss.output", "expected the name of a model output");
    for (size_t k = 0; k < outs.size(); ++k)
      if (outs[k] == name) {
        auto type = cast<RankedTensorType>(outputs[k].getType());
        if (type.getRank() != 0 || !type.getElementType().isF32())
          fail("training.loss.output", "the loss output " + import::quotedName(name) +
                                           " must be a float32 scalar, got " +
                                           nn::shapeStr(type.getShape()) +
                                           (type.getElementType().isF32() ? "" : " int64"));
        return outputs[k];
      }
    fail("training.loss.output", "unknown model output " + import::quotedName(name) +
                                     " (listed in \"outputs\")");
  }

  /// A model output a loss reads is float32: an int64 output (argmax,
  /// indices) has no gradient and no loss takes one.
  static void requireFloatLossInput(Value v, const std::string &name, const std::string &path) {
    if (!cast<RankedTensorType>(v.getType()).getElementType().isF32())
      fail(path, "the loss cannot take the model output " + import::quotedName(name) +
                     ": it is an int64 value (argmax, indices), which has no gradient "
                     "(name the loss's inputs in training.loss.inputs)");
  }

  Value buildLoss(OpBuilder &b, const json &loss, const json &outs,
                  ArrayRef<Value> outputs, Value target,
                  const std::string &targetName,
                  const std::map<std::string, Value> &values, FunctionState &fn) {
    if (loss.is_object() && loss.contains("output"))
      return outputLoss(loss, outs, outputs);
    std::string type = stringAt(loss, "training.loss", "type");
    const Entry &entry =
        lookup(EntryKind::Loss, type, "training.loss.type", "loss");
    std::string optPath = "training.loss.options";
    Options options = import::parseOptions(entry, optionsOf(loss), optPath);
    SmallVector<Value> operands =
        lossOperands(loss, outs, outputs, target, targetName, entry.numInputs, values);
    if (operands.size() != entry.numInputs)
      fail("training.loss.inputs",
           type + " takes " + std::to_string(entry.numInputs) +
               " inputs (model outputs, the target and model inputs, in torch's order), got " +
               std::to_string(operands.size()));
    Call call(fn, b, loc("training.loss"), options, operands, "training.loss", "");
    Value result = entry.build(call);
    // Training needs one number to differentiate.
    if (cast<RankedTensorType>(result.getType()).getRank() != 0)
      fail(optPath + ".reduction",
           "reduction \"none\" gives one loss per sample, but training needs "
           "a scalar loss (use \"mean\" or \"sum\")");
    return result;
  }

  DictionaryAttr optimizerAttr(OpBuilder &b, const json &opt) {
    std::string type = stringAt(opt, "training.optimizer", "type");
    const Entry &entry = lookup(EntryKind::Optimizer, type,
                                "training.optimizer.type", "optimizer");
    std::vector<std::string> paramNames;
    for (const Param &p : params)
      paramNames.push_back(p.name);
    return import::optimizerAttribute(b, entry, opt, paramNames);
  }

  MLIRContext *ctx;
  std::string file, name;
  std::vector<TensorDecl> inputs;
  std::vector<Param> params, buffers;
  std::map<std::string, Leaf> leaves;
};

/// 1-based line and column of byte `offset` in `text`.
std::pair<size_t, size_t> lineColumn(const std::string &text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

} // namespace

OwningOpRef<ModuleOp> importModelFile(MLIRContext *ctx, const std::string &path,
                                      bool train) {
  ctx->loadDialect<nn::NNDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(ctx, path, 0, 0);
  // A FIFO or device would block or never end: only regular files, of a
  // bounded size, are read.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 &&
      (!S_ISREG(st.st_mode) || st.st_size > import::kMaxModelFileBytes)) {
    emitError(fileLoc) << (S_ISREG(st.st_mode)
                               ? "model file is larger than 256 MiB"
                               : "model file is not a regular file");
    return nullptr;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    emitError(fileLoc) << "cannot open model file: " << std::strerror(errno);
    return nullptr;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  json root;
  try {
    root = json::parse(text);
  } catch (const json::out_of_range &e) {
    // A number that overflows a double (1e400).
    emitError(fileLoc) << "malformed JSON: " << e.what();
    return nullptr;
  } catch (const json::parse_error &e) {
    auto [line, col] = lineColumn(text, e.byte == 0 ? 0 : e.byte - 1);
    std::string what = e.what();
    size_t colon = what.find("syntax error");
    emitError(FileLineColLoc::get(ctx, path, line, col))
        << "malformed JSON: "
        << (colon == std::string::npos ? what : what.substr(colon));
    return nullptr;
  }
  try {
    OwningOpRef<ModuleOp> module = Importer(ctx, path).run(root, train);
    if (failed(verify(*module)))
      return nullptr;
    return module;
  } catch (const ImportError &e) {
    emitError(NameLoc::get(StringAttr::get(ctx, e.path), fileLoc)) << e.message;
    return nullptr;
  } catch (const json::exception &e) {
    emitError(fileLoc) << "invalid model file: " << e.what();
    return nullptr;
  }
}

} // namespace kiln
