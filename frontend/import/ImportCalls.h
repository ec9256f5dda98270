// The registry's two interfaces as the importer implements them: LayerDecl
// (LeafDecl: what a leaf module declares while the module tree is read) and
// BuildContext (Call: one call of an entry while a function is built), with
// the state one entry function's calls share (FunctionState). Internal to
// frontend/import/ModelImporter.cpp.
#ifndef KILN_FRONTEND_IMPORT_IMPORTCALLS_H
#define KILN_FRONTEND_IMPORT_IMPORTCALLS_H

#include "frontend/import/Limits.h"
#include "frontend/import/Registry.h"
#include "ir/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace kiln::import {

// Internal header: the MLIR names the importer's classes use.
using mlir::Block;
using mlir::Location;
using mlir::OpBuilder;
using mlir::RankedTensorType;
using mlir::Value;
using mlir::ValueRange;

/// A layer parameter that one of torch's nn.utils re-parametrizes: the
/// layer reads `local` ("weight") computed at each call from the parameters
/// and buffers that replace it (Reparametrize.h).
struct Reparam {
  enum Kind { Prune, WeightNorm, SpectralNorm } kind;
  std::string local;
  /// torch.nn.utils.parametrizations' form (register_parametrization):
  /// `parametrizations.<p>.original*` names; spectral_norm's power method
  /// updates u before v, and normalizes a 1-D parameter instead.
  bool parametrization = false;
  int64_t dim = 0;        // weight_norm: the kept dim (-1: none); spectral_norm: the output dim
  int64_t iterations = 1; // spectral_norm's n_power_iterations
  double eps = 1e-12;     // spectral_norm
};

/// A leaf module of the tree: a registry entry with its checked options and
/// the indices of its parameters in the function arguments.
struct Leaf {
  const Entry *entry;
  std::string jsonPath;
  Options options;
  std::vector<std::pair<std::string, int>> params; // local name -> index
  std::vector<std::pair<std::string, int>> buffers; // local name -> index
  std::vector<Reparam> reparams;
};

/// A parameter or buffer: a state_dict entry.
struct Param {
  std::string name;
  std::vector<int64_t> shape;
  Init init;
  bool isInt64 = false; // buffers only (num_batches_tracked)
};

/// A leaf's parameter and buffer declarations, named `<module path>.<name>`.
class LeafDecl : public LayerDecl {
public:
  LeafDecl(Leaf &leaf, std::vector<Param> &params, std::vector<Param> &buffers,
           std::string prefix)
      : leaf(leaf), params(params), buffers(buffers), prefix(std::move(prefix)) {}
  const Options &options() const override { return leaf.options; }
  void addParameter(const std::string &name, std::vector<int64_t> shape,
                    Init init) override {
    checkShape(name, shape);
    // A root-level layer's parameters are plain `weight`, as in torch.
    params.push_back({qualified(name), std::move(shape), init});
    leaf.params.push_back({name, static_cast<int>(params.size() - 1)});
  }
  void addBuffer(const std::string &name, std::vector<int64_t> shape, Init init,
                 bool isInt64) override {
    checkShape(name, shape);
    buffers.push_back({qualified(name), std::move(shape), init, isInt64});
    leaf.buffers.push_back({name, static_cast<int>(buffers.size() - 1)});
  }

private:
  /// The options decide the shape: a bad one is the options' fault.
  void checkShape(const std::string &name, const std::vector<int64_t> &shape) {
    std::string problem = shapeProblem(shape);
    if (!problem.empty())
      fail(leaf.jsonPath + ".options", "the options make parameter or buffer '" + name +
                                           "' too large: its shape " + problem);
  }

  std::string qualified(const std::string &name) const {
    return prefix.empty() ? name : prefix + "." + name;
  }

  Leaf &leaf;
  std::vector<Param> &params, &buffers;
  std::string prefix;
};

/// What the calls of one entry function share: the mode it is built for,
/// whether a layer asked for it, and its random stream (the `rng` argument,
/// added on first use, and the counters drawn so far).
struct FunctionState {
  bool training = false;
  bool modeQueried = false;
  Block *body = nullptr;
  Value rng;
  int64_t rngCounters = 0;
  /// Buffers by state_dict name: the current value (the argument until a
  /// train-mode call sets it) and whether it was set.
  std::map<std::string, Value> bufferValues;
  std::set<std::string> updatedBuffers;
  /// The function's value checks (BuildContext::checkValues): name and
  /// [first failing index, its value], in call order.
  std::vector<std::pair<std::string, Value>> checks;
  /// update_bn's functions (BuildContext::batchNormUpdate), and whether a
  /// batch norm asked.
  BatchNormUpdate batchNormUpdate = BatchNormUpdate::none;
  bool hasUpdatedBatchNorm = false;
  /// The loss function only: sparse gradients' rows
  /// (BuildContext::sparseGradientRows), in call order.
  bool tracksSparseGradients = false;
  struct SparseRows {
    Value weight, rows;
    llvm::SmallVector<mlir::Operation *> readers;
  };
  std::vector<SparseRows> sparseRows;
};

/// [first flat index where `violating` > 0.5 (-1: none), x there] as f32
/// [2] (ValueCheck.cpp). Indices are exact up to 2^24 elements.
Value firstViolation(BuildContext &c, Value x, Value violating);

/// One call of a registry entry: a graph node or the loss.
class Call : public BuildContext {
public:
  Call(FunctionState &fn, OpBuilder &b, Location l, const Options &options,
       ValueRange operands, std::string path, std::string what)
      : fn(fn), b(b), l(l), opts(options), ops(operands), path(std::move(path)),
        what(std::move(what)) {}

  /// Parameters of the called leaf: local name -> block argument.
  std::map<std::string, Value> params;
  /// Buffers of the called leaf: local name -> state_dict name.
  std::map<std::string, std::string> buffers;

  /// A module node's forward arguments (Entry::callOptions).
  Options callOpts{json::object(), ""};

  OpBuilder &builder() override { return b; }
  Location loc() override { return l; }
  const Options &options() const override { return opts; }
  const Options &callOptions() const override { return callOpts; }
  ValueRange operands() override { return ops; }
  Value parameter(const std::string &name) override {
    auto it = params.find(name);
    return it == params.end() ? Value() : it->second;
  }
  Value buffer(const std::string &name) override {
    auto it = buffers.find(name);
    return it == buffers.end() ? Value() : fn.bufferValues.at(it->second);
  }
  void setBuffer(const std::string &name, Value next) override {
    auto it = buffers.find(name);
    if (it == buffers.end())
      fail("internal error: no buffer '" + name + "'");
    if (!fn.training)
      fail("internal error: buffer '" + name + "' set outside train mode");
    if (next.getType() != fn.bufferValues.at(it->second).getType())
      fail("internal error: buffer '" + name + "' set to a value of another type");
    fn.bufferValues[it->second] = next;
    fn.updatedBuffers.insert(it->second);
  }
  bool training() override {
    fn.modeQueried = true;
    return fn.training;
  }
  void checkValues(const std::string &name, Value x, Value violating) override {
    // One tensor per check site: a repeat in the same function gets a
    // suffix (the same in every function built from the graph).
    int repeats = 0;
    for (const auto &check : fn.checks)
      repeats += check.first == name ||
                 llvm::StringRef(check.first).starts_with(name + ".");
    fn.checks.push_back({repeats ? name + "." + std::to_string(repeats) : name,
                         firstViolation(*this, x, violating)});
  }
  BatchNormUpdate batchNormUpdate() override {
    fn.hasUpdatedBatchNorm = true;
    return fn.batchNormUpdate;
  }
  bool bufferWasSet(const std::string &name) override {
    auto it = buffers.find(name);
    return it != buffers.end() && fn.updatedBuffers.count(it->second) > 0;
  }
  bool tracksSparseGradients() override { return fn.tracksSparseGradients; }
  void sparseGradientRows(Value weight, Value rows,
                          llvm::ArrayRef<mlir::Operation *> readers) override {
    if (fn.tracksSparseGradients)
      fn.sparseRows.push_back({weight, rows, llvm::to_vector(readers)});
  }
  Value randomUniform(llvm::ArrayRef<int64_t> shape) override {
    if (!fn.rng)
      fn.rng = fn.body->addArgument(
          RankedTensorType::get({2}, b.getI64Type()), l);
    int64_t numel = 1;
    for (int64_t d : shape)
      numel *= d;
    if (numel > INT64_MAX / 2 - fn.rngCounters)
      fail("draws more random numbers than one step can (2^62)");
    auto op = b.create<nn::RandomUniformOp>(
        l, RankedTensorType::get(shape, b.getF32Type()), fn.rng,
        b.getI64IntegerAttr(fn.rngCounters));
    fn.rngCounters += numel;
    return op.getResult();
  }
  [[noreturn]] void fail(const std::string &message) override {
    import::fail(path, what.empty() ? message : what + ": " + message);
  }
  [[noreturn]] void failAt(const std::string &at,
                           const std::string &message) override {
    import::fail(at, message);
  }

private:
  FunctionState &fn;
  OpBuilder &b;
  Location l;
  const Options &opts;
  ValueRange ops;
  std::string path, what;
};

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_IMPORTCALLS_H
