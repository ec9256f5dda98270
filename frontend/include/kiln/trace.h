#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/error.h"
#include "kiln/options.h"
#include "kiln/tensor.h"

namespace kiln {
namespace nn {
class Module;
}

namespace detail {

/// [A-Za-z_][A-Za-z0-9_]*: names that end up in the generated C API.
bool is_c_identifier(const std::string& s);

/// One entry of the model file's "graph": a leaf module (by dotted path) or
/// a function applied to values.
struct GraphNode {
  std::string module;    ///< dotted path of a leaf module, or "" for a function
  std::string parameter; ///< a `parameter` node: the parameter's state_dict key
  std::string function;  ///< "relu", "flatten", "add", "mul", or "" for a module
  std::string method;    ///< a module's method other than forward ("log_prob"), or ""
  OptionList options;    ///< function options; a module's forward arguments besides
                         ///< its inputs (its constructor options are in the tree)
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  SourceLoc loc;
};

/// Records the graph while kiln::save_model runs a model's forward. There is
/// no data: each leaf call checks shapes and appends a node. The trace is
/// the calling thread's active trace from construction to destruction, so
/// layers find it without it being passed around; traces do not nest.
class Trace {
 public:
  /// Starts tracing the module tree under `root`. `reserved` are names the
  /// generated value names must avoid (the inputs' and the target's).
  /// Throws when a trace is already active on this thread, or when one module
  /// instance is registered at two paths.
  Trace(const nn::Module& root, std::set<std::string> reserved, SourceLoc loc);
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  /// The active trace; throws (naming `what` and `loc`) when there is none,
  /// i.e. when forward is called outside kiln::save_model.
  static Trace& active(const std::string& what, SourceLoc loc);

  /// The active trace, or nullptr outside kiln::save_model.
  static Trace* current();

  /// The value of the parameter `ref` names (a handle of shape `shape`): the
  /// `parameter` node reading it, recorded at its first use in this trace
  /// (located where it was registered). Throws when its module is not in
  /// the tree.
  const std::string& parameter_value(const ParamRef& ref, const Shape& shape);

  /// Binds a kiln::input() to this trace (validates its name and shape).
  Tensor bind_input(const Tensor& declared, SourceLoc loc);
  /// Throws unless `t` is a value of this trace.
  void check_value(const Tensor& t, const std::string& what, SourceLoc loc) const;
  /// The dotted path of `m` from the root; throws when `m` is not in the tree.
  const std::string& path_of(const nn::Module& m, SourceLoc loc) const;
  /// Appends `node` with one fresh output value of the given shape and dtype.
  Tensor record(GraphNode node, Shape shape, Dtype dtype);
  /// Appends `node` with one fresh output value per (shape, dtype), in order
  /// (MaxPool with indices: values, then int64 indices).
  std::vector<Tensor> record(GraphNode node, const std::vector<std::pair<Shape, Dtype>>& outputs);

  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const std::vector<Tensor>& inputs() const { return inputs_; }

 private:
  std::string fresh_name();

  uint64_t id_;
  std::set<std::string> reserved_;
  uint64_t counter_ = 0;
  std::unordered_map<const nn::Module*, std::string> paths_;
  std::vector<Tensor> inputs_;
  std::vector<GraphNode> nodes_;
  std::map<std::pair<const nn::Module*, std::string>, std::string> parameter_values_;
  Trace* previous_;
};

}  // namespace detail
}  // namespace kiln
