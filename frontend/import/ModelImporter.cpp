#include "frontend/import/ModelImporter.h"

#include "ir/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

using namespace mlir;
using json = nlohmann::json;

namespace kiln {

const std::vector<LayerSupport> &supportedLayers() {
  static const std::vector<LayerSupport> registry = {
      {"Linear", "layer", "nn.linear"},
      {"ReLU", "layer", "nn.relu"},
      {"Flatten", "layer", "nn.flatten"},
      {"Identity", "layer", "(no op)"},
      {"Sequential", "container", "(graph structure)"},
      {"ModuleList", "container", "(graph structure)"},
      {"CrossEntropyLoss", "loss", "nn.cross_entropy_loss"},
      {"MSELoss", "loss", "nn.mse_loss"},
      {"SGD", "optimizer", "nn.sgd_update"},
  };
  return registry;
}

namespace {

/// Thrown inside the importer only; turned into one diagnostic at the top.
struct ImportError {
  std::string path; // JSON path, e.g. graph[2].inputs[0]
  std::string message;
};

[[noreturn]] void fail(const std::string &path, const std::string &message) {
  throw ImportError{path, message};
}

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

int64_t intOption(const json &opts, const std::string &path,
                  const std::string &key, std::optional<int64_t> dflt = {}) {
  if (!opts.contains(key)) {
    if (dflt)
      return *dflt;
    fail(path, "missing option '" + key + "'");
  }
  const json &v = opts[key];
  if (!v.is_number_integer())
    fail(path + "." + key, "expected an integer");
  return v.get<int64_t>();
}

double numberOption(const json &opts, const std::string &path,
                    const std::string &key, double dflt) {
  if (!opts.contains(key))
    return dflt;
  const json &v = opts[key];
  if (!v.is_number())
    fail(path + "." + key, "expected a number");
  return v.get<double>();
}

bool boolOption(const json &opts, const std::string &path,
                const std::string &key, bool dflt) {
  if (!opts.contains(key))
    return dflt;
  const json &v = opts[key];
  if (!v.is_boolean())
    fail(path + "." + key, "expected true or false");
  return v.get<bool>();
}

std::string shapeStr(ArrayRef<int64_t> s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

bool isCIdentifier(const std::string &s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

struct TensorDecl {
  std::string name;
  std::vector<int64_t> shape;
  bool isInt64 = false;
};

TensorDecl tensorDecl(const json &v, const std::string &path) {
  TensorDecl t;
  t.name = stringAt(v, path, "name");
  const json &shape = member(v, path, "shape");
  if (!shape.is_array())
    fail(path + ".shape", "expected an array of dimension sizes");
  for (size_t i = 0; i < shape.size(); ++i) {
    if (!shape[i].is_number_integer() || shape[i].get<int64_t>() <= 0)
      fail(path + ".shape[" + std::to_string(i) + "]",
           "dimension sizes must be positive integers (shapes are static)");
    t.shape.push_back(shape[i].get<int64_t>());
  }
  std::string dtype = stringAt(v, path, "dtype");
  if (dtype != "float32" && dtype != "int64")
    fail(path + ".dtype", "unsupported dtype '" + dtype +
                              "' (supported: float32, int64)");
  t.isInt64 = dtype == "int64";
  return t;
}

struct Leaf {
  std::string type, jsonPath;
  json options;
  std::vector<int> paramArgs; // indices into the parameter list
};

struct Param {
  std::string name;
  std::vector<int64_t> shape;
  std::string init;
};

/// Builds the nn module for one model file.
class Importer {
public:
  Importer(MLIRContext *ctx, std::string file) : ctx(ctx), file(std::move(file)) {}

  OwningOpRef<ModuleOp> run(const json &root, bool train) {
    if (!root.is_object())
      fail("$", "the model file must hold a JSON object");
    if (!root.contains("format") || root["format"] != "kiln-model")
      fail("format", "expected \"format\": \"kiln-model\"");
    const json &version = member(root, "$", "version");
    if (!version.is_number_integer() || version.get<int64_t>() != 1)
      fail("version", "unsupported version (this kilnc reads version 1)");
    name = stringAt(root, "$", "name");
    if (!isCIdentifier(name))
      fail("name", "model name '" + name +
                       "' must be a C identifier (it prefixes the generated "
                       "C functions)");
    const json &ins = member(root, "$", "inputs");
    if (!ins.is_array() || ins.empty())
      fail("inputs", "expected a non-empty array of inputs");
    for (size_t i = 0; i < ins.size(); ++i)
      inputs.push_back(tensorDecl(ins[i], "inputs[" + std::to_string(i) + "]"));
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
    }

    OpBuilder b(ctx);
    OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc());
    module->getOperation()->setAttr("nn.model_name", b.getStringAttr(name));
    b.setInsertionPointToEnd(module->getBody());

    buildFunction(b, *module, "forward", graph, outs, nullptr);
    if (training) {
      buildFunction(b, *module, "loss", graph, outs, training);
      module->getOperation()->setAttr(
          "nn.optimizer", optimizerAttr(b, member(*training, "training",
                                                  "optimizer")));
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

  void walkModule(const json &node, const std::string &jsonPath,
                  const std::string &prefix) {
    std::string type = stringAt(node, jsonPath, "type");
    json options = node.contains("options") ? node["options"] : json::object();
    if (!options.is_object())
      fail(jsonPath + ".options", "expected an object");
    if (node.contains("children")) {
      const json &children = node["children"];
      if (!children.is_array())
        fail(jsonPath + ".children", "expected an array of modules");
      for (size_t i = 0; i < children.size(); ++i) {
        std::string childPath = jsonPath + ".children[" + std::to_string(i) + "]";
        std::string childName = stringAt(children[i], childPath, "name");
        if (childName.empty() || childName.find('.') != std::string::npos)
          fail(childPath + ".name", "module names must be non-empty and "
                                    "contain no '.'");
        walkModule(children[i], childPath,
                   prefix.empty() ? childName : prefix + "." + childName);
      }
      return;
    }
    if (type == "Sequential" || type == "ModuleList" || type == "Module")
      return; // an empty container
    Leaf leaf{type, jsonPath, options, {}};
    if (type == "Linear") {
      int64_t in = intOption(options, jsonPath + ".options", "in_features");
      int64_t out = intOption(options, jsonPath + ".options", "out_features");
      if (in <= 0 || out <= 0)
        fail(jsonPath + ".options", "Linear needs positive in_features and "
                                    "out_features");
      // torch: kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(in), 1/sqrt(in)),
      // and the bias uses the same bound.
      std::ostringstream init;
      init.precision(9);
      double bound = 1.0 / std::sqrt(static_cast<double>(in));
      init << "uniform " << -bound << " " << bound;
      // A root-level layer's parameters are plain `weight`, as in torch.
      std::string at = prefix.empty() ? "" : prefix + ".";
      leaf.paramArgs.push_back(addParam(at + "weight", {out, in}, init.str()));
      if (boolOption(options, jsonPath + ".options", "bias", true))
        leaf.paramArgs.push_back(addParam(at + "bias", {out}, init.str()));
    } else if (type == "ReLU" || type == "Flatten" || type == "Identity") {
      if (type == "ReLU" && boolOption(options, jsonPath + ".options", "inplace", false))
        ; // in-place is meaningless with value semantics
    } else {
      std::string known;
      for (auto &l : supportedLayers())
        if (std::string(l.kind) == "layer")
          known += (known.empty() ? "" : ", ") + std::string(l.torchName);
      fail(jsonPath + ".type",
           "unknown layer type '" + type + "' (supported: " + known + ")");
    }
    leaves[prefix] = leaf;
  }

  int addParam(const std::string &name, std::vector<int64_t> shape,
               const std::string &init) {
    params.push_back({name, std::move(shape), init});
    return params.size() - 1;
  }

  static RankedTensorType f32(MLIRContext *ctx, ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, Float32Type::get(ctx));
  }
  static ArrayRef<int64_t> shapeOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }

  void buildFunction(OpBuilder &b, ModuleOp module, StringRef fnName,
                     const json &graph, const json &outs,
                     const json *training) {
    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    auto addArg = [&](Type t, StringRef argName, StringRef role,
                      StringRef init) {
      argTypes.push_back(t);
      SmallVector<NamedAttribute> attrs{
          b.getNamedAttr("nn.name", b.getStringAttr(argName)),
          b.getNamedAttr("nn.role", b.getStringAttr(role))};
      if (!init.empty())
        attrs.push_back(b.getNamedAttr("nn.init", b.getStringAttr(init)));
      argAttrs.push_back(b.getDictionaryAttr(attrs));
    };
    auto tensorType = [&](const TensorDecl &t) -> Type {
      return RankedTensorType::get(t.shape, t.isInt64
                                                ? Type(b.getI64Type())
                                                : Type(b.getF32Type()));
    };
    for (const Param &p : params)
      addArg(f32(ctx, p.shape), p.name, "param", p.init);
    for (const TensorDecl &in : inputs) {
      if (in.isInt64)
        fail("inputs", "input '" + in.name + "' is int64: only float32 model "
                                             "inputs are supported yet");
      addArg(tensorType(in), in.name, "input", "");
    }
    std::optional<TensorDecl> target;
    if (training) {
      target = tensorDecl(member(*training, "training", "target"),
                          "training.target");
      addArg(tensorType(*target), target->name, "target", "");
    }

    auto fn = b.create<func::FuncOp>(loc(fnName.str()), fnName,
                                     b.getFunctionType(argTypes, {}));
    fn.setAllArgAttrs(argAttrs);
    Block *body = fn.addEntryBlock();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body);

    std::map<std::string, Value> values;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!values.emplace(inputs[i].name, body->getArgument(params.size() + i)).second)
        fail("inputs[" + std::to_string(i) + "]",
             "duplicate input name '" + inputs[i].name + "'");
    }
    for (size_t n = 0; n < graph.size(); ++n)
      buildNode(b, graph[n], "graph[" + std::to_string(n) + "]", body, values);

    SmallVector<Value> results;
    for (size_t i = 0; i < outs.size(); ++i) {
      std::string path = "outputs[" + std::to_string(i) + "]";
      if (!outs[i].is_string())
        fail(path, "expected a value name");
      auto it = values.find(outs[i].get<std::string>());
      if (it == values.end())
        fail(path, "unknown value '" + outs[i].get<std::string>() + "'");
      results.push_back(it->second);
    }
    if (training) {
      Value loss = buildLoss(b, member(*training, "training", "loss"),
                             results.front(), body->getArguments().back(),
                             *target);
      results.assign({loss});
      fn->setAttr("nn.differentiate", b.getUnitAttr());
      fn->setAttr("nn.loss", b.getUnitAttr());
    }
    b.create<func::ReturnOp>(loc(fnName.str()), results);
    SmallVector<Type> resultTypes;
    for (Value v : results)
      resultTypes.push_back(v.getType());
    fn.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  }

  void buildNode(OpBuilder &b, const json &node, const std::string &path,
                 Block *body, std::map<std::string, Value> &values) {
    if (!node.is_object())
      fail(path, "expected a node object");
    std::string source =
        node.contains("loc") && node["loc"].is_string() ? node["loc"].get<std::string>() : "";
    Location l = loc(path, source);
    const json &ins = member(node, path, "inputs");
    const json &outs = member(node, path, "outputs");
    if (!ins.is_array() || !outs.is_array() || outs.size() != 1)
      fail(path, "a node needs an 'inputs' array and exactly one output");
    SmallVector<Value> operands;
    for (size_t i = 0; i < ins.size(); ++i) {
      std::string ip = path + ".inputs[" + std::to_string(i) + "]";
      if (!ins[i].is_string())
        fail(ip, "expected a value name");
      auto it = values.find(ins[i].get<std::string>());
      if (it == values.end())
        fail(ip, "unknown value '" + ins[i].get<std::string>() +
                     "' (values must be defined before use)");
      operands.push_back(it->second);
    }
    auto arity = [&](size_t n, const std::string &what) {
      if (operands.size() != n)
        fail(path + ".inputs", what + " takes " + std::to_string(n) +
                                   " input(s), got " +
                                   std::to_string(operands.size()));
    };
    auto where = [&](const std::string &what) {
      return what + (source.empty() ? "" : " (traced at " + source + ")");
    };
    auto floatOperands = [&]() {
      for (Value v : operands)
        if (!cast<RankedTensorType>(v.getType()).getElementType().isF32())
          fail(path + ".inputs", "expected float32 values");
    };

    Value result;
    if (node.contains("module")) {
      std::string modName = stringAt(node, path, "module");
      auto it = leaves.find(modName);
      if (it == leaves.end())
        fail(path + ".module", "unknown module '" + modName +
                                   "' (graph nodes call leaf modules by "
                                   "dotted path, e.g. \"0\" or \"fc1\")");
      const Leaf &leaf = it->second;
      arity(1, leaf.type);
      floatOperands();
      Value x = operands[0];
      if (leaf.type == "Linear") {
        Value w = body->getArgument(leaf.paramArgs[0]);
        Value bias = leaf.paramArgs.size() > 1
                         ? Value(body->getArgument(leaf.paramArgs[1]))
                         : Value();
        auto xs = shapeOf(x);
        int64_t in = shapeOf(w)[1];
        if (xs.empty() || xs.back() != in)
          fail(path, where("module '" + modName + "' (Linear, " +
                           leaf.jsonPath + ") expects " + std::to_string(in) +
                           " input features but its input '" +
                           ins[0].get<std::string>() + "' has shape " +
                           shapeStr(xs)));
        SmallVector<int64_t> out(xs);
        out.back() = shapeOf(w)[0];
        result = b.create<nn::LinearOp>(l, f32(ctx, out), x, w, bias);
      } else if (leaf.type == "ReLU") {
        result = b.create<nn::ReluOp>(l, x);
      } else if (leaf.type == "Flatten") {
        result = flatten(b, l, x, leaf.options, leaf.jsonPath + ".options", path);
      } else { // Identity
        result = x;
      }
    } else if (node.contains("function")) {
      std::string fn = stringAt(node, path, "function");
      json options = node.contains("options") ? node["options"] : json::object();
      floatOperands();
      if (fn == "relu") {
        arity(1, "relu");
        result = b.create<nn::ReluOp>(l, operands[0]);
      } else if (fn == "flatten") {
        arity(1, "flatten");
        result = flatten(b, l, operands[0], options, path + ".options", path);
      } else if (fn == "add" || fn == "mul" || fn == "sub") {
        arity(2, fn);
        auto shape = nn::broadcastShapes(shapeOf(operands[0]), shapeOf(operands[1]));
        if (!shape)
          fail(path, where(fn + ": shapes " + shapeStr(shapeOf(operands[0])) +
                           " and " + shapeStr(shapeOf(operands[1])) +
                           " do not broadcast"));
        auto type = f32(ctx, *shape);
        if (fn == "add")
          result = b.create<nn::AddOp>(l, type, operands[0], operands[1]);
        else if (fn == "sub")
          result = b.create<nn::SubOp>(l, type, operands[0], operands[1]);
        else
          result = b.create<nn::MulOp>(l, type, operands[0], operands[1]);
      } else {
        fail(path + ".function", "unknown function '" + fn +
                                     "' (supported: relu, flatten, add, sub, mul)");
      }
    } else {
      fail(path, "a node needs \"module\" or \"function\"");
    }
    std::string outName = outs[0].is_string() ? outs[0].get<std::string>() : "";
    if (outName.empty())
      fail(path + ".outputs[0]", "expected a value name");
    if (!values.emplace(outName, result).second)
      fail(path + ".outputs[0]", "value '" + outName + "' is defined twice");
  }

  Value flatten(OpBuilder &b, Location l, Value x, const json &options,
                const std::string &optPath, const std::string &nodePath) {
    int64_t start = intOption(options, optPath, "start_dim", 1);
    int64_t end = intOption(options, optPath, "end_dim", -1);
    auto xs = shapeOf(x);
    int64_t rank = std::max<int64_t>(xs.size(), 1);
    int64_t s = start < 0 ? start + rank : start, e = end < 0 ? end + rank : end;
    if (s < 0 || e >= rank || s > e)
      fail(nodePath, "flatten(start_dim=" + std::to_string(start) +
                         ", end_dim=" + std::to_string(end) +
                         ") does not fit input shape " + shapeStr(xs));
    SmallVector<int64_t> out(xs.begin(), xs.begin() + s);
    int64_t merged = 1;
    for (int64_t i = s; i <= e; ++i)
      merged *= xs[i];
    out.push_back(merged);
    out.append(xs.begin() + e + 1, xs.end());
    return b.create<nn::FlattenOp>(l, f32(ctx, out), x, b.getI64IntegerAttr(start),
                                   b.getI64IntegerAttr(end));
  }

  static std::string reductionOf(const json &opts, const std::string &path) {
    std::string r = opts.contains("reduction") && opts["reduction"].is_string()
                        ? opts["reduction"].get<std::string>()
                        : "mean";
    if (!nn::isValidReduction(r))
      fail(path + ".reduction", "reduction must be \"mean\", \"sum\" or "
                                "\"none\", got \"" + r + "\"");
    return r;
  }

  Value buildLoss(OpBuilder &b, const json &loss, Value output, Value target,
                  const TensorDecl &targetDecl) {
    std::string type = stringAt(loss, "training.loss", "type");
    json opts = loss.contains("options") ? loss["options"] : json::object();
    std::string optPath = "training.loss.options";
    Location l = loc("training.loss");
    auto out = shapeOf(output);
    std::string reduction = reductionOf(opts, optPath);
    // Only the training entry points use the loss, and they need a scalar.
    if (reduction == "none")
      fail(optPath + ".reduction",
           "reduction \"none\" gives one loss per sample, but training needs "
           "a scalar loss (use \"mean\" or \"sum\")");
    if (type == "CrossEntropyLoss") {
      if (out.size() != 2)
        fail("training.loss", "CrossEntropyLoss needs [N, C] logits, the "
                              "model output has shape " + shapeStr(out));
      if (!targetDecl.isInt64 || targetDecl.shape.size() != 1 ||
          targetDecl.shape[0] != out[0])
        fail("training.target", "CrossEntropyLoss needs int64 class indices "
                                "of shape [" + std::to_string(out[0]) +
                                    "] (probability targets are not supported yet)");
      double smoothing = numberOption(opts, optPath, "label_smoothing", 0.0);
      if (smoothing < 0 || smoothing > 1)
        fail(optPath + ".label_smoothing", "must be in [0, 1]");
      if (opts.contains("weight") && !opts["weight"].is_null())
        fail(optPath + ".weight", "class weights are not supported yet");
      auto type = reduction == "none" ? f32(ctx, {out[0]}) : f32(ctx, {});
      return b.create<nn::CrossEntropyLossOp>(
          l, type, output, target, b.getStringAttr(reduction),
          b.getF32FloatAttr(smoothing),
          b.getI64IntegerAttr(intOption(opts, optPath, "ignore_index", -100)));
    }
    if (type == "MSELoss") {
      if (targetDecl.isInt64 || ArrayRef<int64_t>(targetDecl.shape) != out)
        fail("training.target", "MSELoss needs a float32 target of the "
                                "output's shape " + shapeStr(out));
      auto type = reduction == "none" ? f32(ctx, out) : f32(ctx, {});
      return b.create<nn::MseLossOp>(l, type, output, target,
                                     b.getStringAttr(reduction));
    }
    fail("training.loss.type", "unknown loss '" + type +
                                   "' (supported: CrossEntropyLoss, MSELoss)");
  }

  DictionaryAttr optimizerAttr(OpBuilder &b, const json &opt) {
    std::string type = stringAt(opt, "training.optimizer", "type");
    if (type != "SGD")
      fail("training.optimizer.type",
           "unknown optimizer '" + type + "' (supported: SGD)");
    json o = opt.contains("options") ? opt["options"] : json::object();
    std::string p = "training.optimizer.options";
    double lr = numberOption(o, p, "lr", -1);
    if (!o.contains("lr"))
      fail(p, "SGD needs 'lr'");
    double momentum = numberOption(o, p, "momentum", 0);
    double dampening = numberOption(o, p, "dampening", 0);
    double wd = numberOption(o, p, "weight_decay", 0);
    bool nesterov = boolOption(o, p, "nesterov", false);
    if (lr < 0)
      fail(p + ".lr", "invalid learning rate (must be >= 0)");
    if (momentum < 0)
      fail(p + ".momentum", "invalid momentum value (must be >= 0)");
    if (wd < 0)
      fail(p + ".weight_decay", "invalid weight_decay value (must be >= 0)");
    if (nesterov && (momentum <= 0 || dampening != 0))
      fail(p + ".nesterov", "Nesterov momentum requires a momentum and zero dampening");
    return b.getDictionaryAttr({
        b.getNamedAttr("type", b.getStringAttr("SGD")),
        b.getNamedAttr("lr", b.getF64FloatAttr(lr)),
        b.getNamedAttr("momentum", b.getF64FloatAttr(momentum)),
        b.getNamedAttr("dampening", b.getF64FloatAttr(dampening)),
        b.getNamedAttr("weight_decay", b.getF64FloatAttr(wd)),
        b.getNamedAttr("nesterov", b.getBoolAttr(nesterov)),
        b.getNamedAttr("maximize", b.getBoolAttr(boolOption(o, p, "maximize", false))),
    });
  }

  MLIRContext *ctx;
  std::string file, name;
  std::vector<TensorDecl> inputs;
  std::vector<Param> params;
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
  std::ifstream in(path, std::ios::binary);
  Location fileLoc = FileLineColLoc::get(ctx, path, 0, 0);
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
