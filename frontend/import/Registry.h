// The one table of torch.nn / torch.optim entries the importer dispatches on.
//
// Each entry names a torch type ("nn.Linear", "optim.SGD") or a graph
// function ("relu"), declares its constructor options with types, defaults
// and checks, and says how to build it. The same table drives the importer's
// option parsing (with JSON-path errors), the "supported: ..." messages,
// `kilnc --print-coverage` (docs/coverage.md) and `kilnc --print-schema`
// (docs/model-format.schema.json).
// Families register their entries in their own files
// (frontend/import/<Family>.cpp); adding a layer edits no switch.
#ifndef KILN_FRONTEND_IMPORT_REGISTRY_H
#define KILN_FRONTEND_IMPORT_REGISTRY_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln::import {

using json = nlohmann::json;

/// Thrown inside the importer only; turned into one diagnostic at the top.
struct ImportError {
  std::string path; // JSON path, e.g. graph[2].inputs[0]
  std::string message;
};
[[noreturn]] void fail(const std::string &path, const std::string &message);
/// Fails unless `object` is a JSON object whose keys are all in `known`:
/// "expected an object" at `path`, or "unknown <noun> '<key>'" at
/// `path.<key>`.
void checkKnownKeys(const json &object, const std::string &path,
                    std::initializer_list<const char *> known, const char *noun = "key");

/// TrainingOption: a key of the model file's training section that changes
/// the compiled train step (clip_grad_norm: torch.nn.utils.clip_grad_norm_).
/// Runtime: a utility of the runtime's C API, not of the model file
/// (AveragedModel, kiln/swa.h): listed for coverage only.
/// Reparametrization: a torch.nn.utils hook on a layer's parameter, a leaf
/// node's `reparametrize` entry (Reparametrize.h).
enum class EntryKind {
  Layer, Container, Loss, Optimizer, Function, Scheduler, TrainingOption, Runtime,
  Reparametrization
};
const char *kindName(EntryKind kind);

enum class OptionType { Bool, Int, Float, String, IntTuple, IntList, FloatTuple, FloatList };

/// One constructor option, as torch names it.
struct OptionSpec {
  std::string name;
  OptionType type = OptionType::Int;
  json defaultValue;                 // null: the option is required
  std::optional<double> min, max;    // Int, Float, IntTuple elements
  std::vector<std::string> choices;  // String; IntTuple: strings also accepted
  int tupleSize = 0;                 // IntTuple, FloatTuple: one or this many values
  bool ignored = false;              // accepted for torch compatibility only
  bool nullable = false;             // JSON null (torch's None) also accepted
  bool noneElements = false;         // IntTuple: elements may be null (None)
  bool infinite = false;             // Float: the strings "inf" / "-inf" too

  OptionSpec &atLeast(double v) { return min = v, *this; }
  OptionSpec &inRange(double lo, double hi) { return min = lo, max = hi, *this; }
  /// Accepted and checked, but changes nothing here (`inplace` under value
  /// semantics).
  OptionSpec &noEffect() { return ignored = true, *this; }
  /// Also accepts null, torch's None (BatchNorm's momentum=None); the build
  /// function asks Options::isNone. Without a default, an omitted option is
  /// None (MaxPool's stride=None).
  OptionSpec &orNone() { return nullable = true, *this; }
  /// IntTuple elements may be null (AdaptiveAvgPool2d's output_size=(None,
  /// 7): keep that input size); read with Options::getOptionalInts.
  OptionSpec &orNoneElements() { return noneElements = true, *this; }
  /// Float: also accepts the strings "inf" and "-inf", torch's
  /// float('inf'), which JSON cannot write as a number (PairwiseDistance's
  /// p); getFloat returns +-infinity.
  OptionSpec &orInfinite() { return infinite = true, *this; }
};

OptionSpec boolOption(std::string name, std::optional<bool> dflt = {});
OptionSpec intOption(std::string name, std::optional<int64_t> dflt = {});
OptionSpec floatOption(std::string name, std::optional<double> dflt = {});
OptionSpec choiceOption(std::string name, std::string dflt,
                        std::vector<std::string> choices);
/// An int or a tuple of `size` ints (Conv2d's kernel_size=3 or (3, 5)).
OptionSpec intTupleOption(std::string name, int size,
                          std::optional<int64_t> dflt = {});

/// A number or a tuple of `size` numbers (FractionalMaxPool2d's
/// output_ratio=0.5 or (0.5, 0.7)).
OptionSpec floatTupleOption(std::string name, int size);
/// The same with a default of dflt.size() numbers (Adam's betas=(0.9, 0.999)).
OptionSpec floatTupleOption(std::string name, std::vector<double> dflt);

/// An int or an array of any number of ints (torch.sum's dim).
OptionSpec intListOption(std::string name, std::optional<std::vector<int64_t>> dflt = {});

/// A number or an array of any number of numbers (Upsample's scale_factor).
OptionSpec floatListOption(std::string name);

/// Options after validation against the specs: every declared option is
/// present (defaults filled in), every value has its declared type.
class Options {
public:
  Options(json values, std::string path) : values(std::move(values)), path(std::move(path)) {}
  bool getBool(const std::string &name) const;
  int64_t getInt(const std::string &name) const;
  double getFloat(const std::string &name) const;
  std::string getString(const std::string &name) const;
  /// IntTuple options (expanded to their tuple size) and IntList options.
  std::vector<int64_t> getInts(const std::string &name) const;
  /// IntTuple options whose elements may be null (OptionSpec::orNoneElements).
  std::vector<std::optional<int64_t>> getOptionalInts(const std::string &name) const;
  /// FloatTuple options (expanded to their tuple size) and FloatList
  /// options (one number as a list of one).
  std::vector<double> getFloats(const std::string &name) const;
  /// Whether a nullable option (OptionSpec::orNone) is null.
  bool isNone(const std::string &name) const { return values.at(name).is_null(); }
  /// JSON path of an option, for messages.
  std::string pathOf(const std::string &name) const { return path + "." + name; }
  const json &raw() const { return values; }

private:
  json values;
  std::string path;
};

/// How a parameter starts (torch's default initializers, already reduced to
/// numbers). `attr()` is the `nn.init` argument attribute (#nn.init<...>,
/// f64 arguments).
struct Init {
  /// NormOf: a = a parameter's index, b = the kept dim (-1: none);
  /// UnitNormal: a = eps (ir/NNAttrs.td's norm_of, unit_normal).
  /// Empty: torch.nn.utils.skip_init (the runtime leaves the tensor as it is).
  enum Kind { Zeros, Ones, Uniform, Normal, Constant, NormOf, UnitNormal, Empty } kind = Zeros;
  double a = 0, b = 0;
  static Init uniform(double lo, double hi) { return {Uniform, lo, hi}; }
  static Init normal(double mean, double std) { return {Normal, mean, std}; }
  static Init constant(double value) { return {Constant, value, 0}; }
  mlir::Attribute attr(mlir::MLIRContext *ctx) const;
};

/// What a layer declares when the module tree is read: its parameters and
/// buffers, in torch's state_dict order.
class LayerDecl {
public:
  virtual ~LayerDecl() = default;
  virtual const Options &options() const = 0;
  /// Adds parameter `name` (its state_dict key is `<module path>.<name>`).
  virtual void addParameter(const std::string &name,
                            std::vector<int64_t> shape, Init init) = 0;
  /// Adds buffer `name`: non-trainable state_dict entry (batch norm's
  /// running statistics; `num_batches_tracked` is int64), saved and loaded
  /// with the parameters. A train-mode build may give it a next value
  /// (BuildContext::setBuffer).
  virtual void addBuffer(const std::string &name, std::vector<int64_t> shape,
                         Init init, bool isInt64 = false) = 0;
};

/// How a function runs torch's _BatchNorm layers that track running
/// statistics (BuildContext::batchNormUpdate): as the layer says (`none`),
/// or as in torch.optim.swa_utils.update_bn's passes, train-mode forwards
/// in which they average cumulatively (momentum None); `first`, the first
/// batch's, also starts from update_bn's reset (running_mean 0,
/// running_var 1, num_batches_tracked 0).
enum class BatchNormUpdate { none, first, later };

/// Everything a build function needs to emit ops for one call of an entry.
class BuildContext {
public:
  virtual ~BuildContext() = default;
  virtual mlir::OpBuilder &builder() = 0;
  virtual mlir::Location loc() = 0;
  virtual const Options &options() const = 0;
  /// The call's forward arguments (Entry::callOptions, defaults filled in);
  /// empty for functions and losses, whose options() hold them.
  virtual const Options &callOptions() const = 0;
  /// The call's inputs (a layer's input, a function's operands; for a loss:
  /// the model output, then the target).
  virtual mlir::ValueRange operands() = 0;
  /// The layer's parameters in declaration order, with their names
  /// (`weight`, `bias`); absent ones are not listed.
  virtual mlir::Value parameter(const std::string &name) = 0;
  /// The current value of the layer's buffer `name` in this function: its
  /// argument, or what an earlier call of the same module set it to.
  virtual mlir::Value buffer(const std::string &name) = 0;
  /// Gives buffer `name` a new value (train mode only, like torch's
  /// in-place running-statistics update): later calls of the module see it,
  /// and the function returns it as the buffer's next value (nn.next).
  virtual void setBuffer(const std::string &name, mlir::Value next) = 0;
  /// Whether the function being built is the train-mode one (torch's
  /// `module.training`). Asking makes the model mode-dependent: the importer
  /// then builds a train-mode and an eval-mode forward (two kernels that
  /// kiln_model_set_training selects); a model whose layers never ask gets
  /// one forward for both modes.
  virtual bool training() = 0;
  /// Uniform [0, 1) f32 samples of `shape` from the model instance's random
  /// stream (nn.random_uniform). Each call draws fresh counters, so two
  /// dropout layers never share samples; the runtime advances the stream
  /// after every kernel call, so two steps never share them either.
  virtual mlir::Value randomUniform(llvm::ArrayRef<int64_t> shape) = 0;
  /// A value check torch makes and raises on (BCELoss: probabilities in
  /// [0, 1]; EmbeddingBag: offsets start at 0 and never decrease):
  /// `violating` is 1.0 where an element of `x` (same shape) fails it, 0.0
  /// elsewhere. The function being built then also returns the first
  /// failing element's flat index (-1: none) and value, marked
  /// `nn.check = name` (`name.<k>` for the k-th repeat in one function),
  /// and the runtime refuses the call before anything it wrote becomes
  /// current (KILN_ROLE_CHECK). `name` is `<torch class>.<what>`; the
  /// runtime's message for it is in runtime/lib/model.cpp.
  virtual void checkValues(const std::string &name, mlir::Value x,
                           mlir::Value violating) = 0;
  /// See BatchNormUpdate. Asked by a batch norm that tracks statistics,
  /// which records that the function has one.
  virtual BatchNormUpdate batchNormUpdate() = 0;
  /// Whether buffer `name` got a value earlier in this function
  /// (setBuffer), e.g. a batch norm called twice.
  virtual bool bufferWasSet(const std::string &name) = 0;
  /// Whether the function being built is the loss function, whose
  /// sparse gradients' rows nn-build-train-step needs (sparseGradientRows).
  virtual bool tracksSparseGradients() = 0;
  /// torch's gradient of `weight` is sparse here (Embedding / EmbeddingBag
  /// with sparse=True): its entries are the rows where `rows` ([num rows,
  /// 1] f32, counts) is > 0, and `readers` are the ops this lookup reads
  /// `weight` with. When `weight` is a parameter that nothing else reads,
  /// the loss function also returns the rows (summed over its lookups),
  /// marked `nn.sparse_rows = <parameter name>`, for optimizers that update
  /// those rows only (SparseAdam) and those that refuse sparse gradients.
  virtual void sparseGradientRows(mlir::Value weight, mlir::Value rows,
                                  llvm::ArrayRef<mlir::Operation *> readers) = 0;
  /// Fails at the call's JSON path, naming the module or function.
  [[noreturn]] virtual void fail(const std::string &message) = 0;
  /// Fails at another JSON path (e.g. training.target).
  [[noreturn]] virtual void failAt(const std::string &path,
                                   const std::string &message) = 0;

  /// Creates `Op` (result types inferred) at the call's location. For an op
  /// with InferTypeOpInterface a failed inference (a shape mismatch) becomes
  /// this call's error, never the abort of ODS's inferring builder.
  template <typename Op, typename... Args>
  mlir::Value create(Args &&...args) {
    mlir::OperationState state(loc(), Op::getOperationName());
    if constexpr (Op::template hasTrait<mlir::InferTypeOpInterface::Trait>()) {
      // ODS's builder with separate arguments asserts the number of result
      // types (builds with assertions): it gets placeholders, replaced by
      // the inferred types.
      llvm::SmallVector<mlir::Type, 4> placeholders(fixedResultCount<Op>(),
                                                    builder().getNoneType());
      Op::build(builder(), state, mlir::TypeRange(placeholders), std::forward<Args>(args)...);
      state.types.clear();
      inferResultTypes(state, &Op::inferReturnTypes);
    } else {
      Op::build(builder(), state, std::forward<Args>(args)...);
    }
    return builder().create(state)->getResult(0);
  }

private:
  /// The number of results of an op with a fixed number of them (0 for
  /// variadic results, whose builder asserts nothing).
  template <typename Op>
  static constexpr unsigned fixedResultCount() {
    if constexpr (Op::template hasTrait<mlir::OpTrait::OneResult>())
      return 1;
    else
      return nResults<Op>(std::make_index_sequence<8>());
  }
  /// N in 2..9 where Op has OpTrait::NResults<N>, else 0.
  template <typename Op, size_t... I>
  static constexpr unsigned nResults(std::index_sequence<I...>) {
    return ((Op::template hasTrait<mlir::OpTrait::NResults<I + 2>::template Impl>()
                 ? unsigned(I + 2)
                 : 0u) +
            ...);
  }
  using InferFn = llvm::LogicalResult (*)(
      mlir::MLIRContext *, std::optional<mlir::Location>, mlir::ValueRange,
      mlir::DictionaryAttr, mlir::OpaqueProperties, mlir::RegionRange,
      llvm::SmallVectorImpl<mlir::Type> &);
  /// Adds the inferred result types to `state`; fails the call with the
  /// op's own message when inference fails.
  void inferResultTypes(mlir::OperationState &state, InferFn infer);
};

/// The optimizer's hyper-parameters as the `nn.optimizer` module attribute
/// that nn-build-train-step reads.
using OptimizerBuild = std::function<mlir::DictionaryAttr(
    mlir::OpBuilder &, const Options &)>;

/// A learning-rate scheduler's options as the runtime's arguments
/// (kiln/scheduler.h: kiln_scheduler_kind and its argument list).
using SchedulerBuild = std::function<std::pair<int32_t, std::vector<double>>(const Options &)>;

struct Entry {
  Entry(std::string torchName, EntryKind kind, std::string lowering)
      : torchName(std::move(torchName)), kind(kind),
        lowering(std::move(lowering)) {}

  std::string torchName;  // "nn.Linear", "optim.SGD", or a function "relu"
  EntryKind kind;
  std::string lowering;   // what it becomes: "nn.linear", "(graph structure)"
  std::vector<OptionSpec> options;
  unsigned numInputs = 1; // graph operands (layers, functions)
  /// How many of the last inputs a call may leave out (FractionalMaxPool's
  /// samples); the build function sees only those given.
  unsigned numOptionalInputs = 0;
  std::function<void(LayerDecl &)> declare;          // layers with parameters
  std::function<mlir::Value(BuildContext &)> build;  // layers, functions, losses
  /// Layers whose call can give more than one value (MaxPool with
  /// return_indices: values and int64 indices): set instead of `build`;
  /// the graph node names one output per returned value.
  std::function<llvm::SmallVector<mlir::Value>(BuildContext &)> buildOutputs;
  /// Inputs (by position) that are int64 index tensors (MaxUnpool's
  /// indices, Embedding's input); the others are float32.
  std::vector<unsigned> indexInputs;
  /// Inputs (by position) that are bool masks, a comparison's result
  /// (torch.where's condition, masked_fill's mask); the others are float32.
  std::vector<unsigned> maskInputs;
  /// Inputs (by position) that may be either a bool mask or float32
  /// (MultiheadAttention's attn_mask and key_padding_mask: a bool mask
  /// blocks where true, a float one is added to the scores).
  std::vector<unsigned> maskOrFloatInputs;
  /// Inputs (by position) that may be either int64 or float32 (RNN's
  /// second input: a packed sequence's lengths, or h_0); the build function
  /// tells them apart.
  std::vector<unsigned> indexOrFloatInputs;
  /// Graph functions that are themselves torch.nn entries under a name of
  /// torch.nn.utils' top level (fuse_conv_bn_weights): they count for
  /// coverage as the nn.-prefixed ones (nn.utils.rnn.*) do.
  bool torchNnUtility = false;
  /// Whether the call gives a bool mask (gt, eq, ...): it can feed only a
  /// mask input and is never a model output.
  bool givesMask = false;
  /// Layers: forward arguments that are not tensors (MultiheadAttention's
  /// need_weights), given in the module node's `options`; the build
  /// function reads them with BuildContext::callOptions. A layer without
  /// any refuses a node's options.
  std::vector<OptionSpec> callOptions;
  /// Containers that re-draw their subtree's matrices: every parameter of
  /// two or more dimensions starts xavier_uniform_ (nn.Transformer's
  /// _reset_parameters), whatever its layer declared.
  bool xavierMatrices = false;
  /// Methods a graph node may call on the layer besides forward
  /// (`"method": "log_prob"`): each an entry of its own (inputs, build)
  /// that sees the layer's options and parameters.
  std::map<std::string, std::shared_ptr<const Entry>> methods;
  OptimizerBuild buildOptimizer;                     // optimizers
  /// Optimizers that torch refuses parameter groups for (LBFGS).
  bool refusesParamGroups = false;
  /// Optimizer options torch reads from the constructor only, not from a
  /// parameter group (Adagrad's initial_accumulator_value fills every
  /// group's state in __init__): a group's own value has no effect.
  std::vector<std::string> constructorOnlyOptions;
  SchedulerBuild buildScheduler;                     // lr schedulers
  /// Training options: reads training.<its key> when present (the whole
  /// training section, for checks across keys) into module attributes.
  /// Unset for an alias (torch's deprecated clip_grad_norm), which the
  /// entry it names implements.
  std::function<void(mlir::OpBuilder &, mlir::ModuleOp, const json &training)>
      buildTrainingOption;
  /// A minimal use for tests and docs: options that make it valid and the
  /// shape of its input (for losses: the model output), e.g.
  /// {"options": {"in_features": 4, "out_features": 3}, "input": [2, 4]};
  /// "outputs": the number of values when a call gives more than one.
  json example;
};

class Registry {
public:
  void add(Entry entry);
  /// The entry for a model-file type of `kind` ("Linear" -> "nn.Linear",
  /// "SGD" -> "optim.SGD"), or null.
  const Entry *lookup(EntryKind kind, const std::string &modelType) const;
  /// The entry for a full torch name or function name, or null.
  const Entry *find(const std::string &torchName) const;
  const std::vector<Entry> &entries() const { return all; }
  /// "Linear, ReLU, ..." for messages: the model-file names of `kind`.
  std::string supportedNames(EntryKind kind) const;

private:
  std::vector<Entry> all;
};

/// The registry, built once from every family's registration function.
const Registry &registry();

/// Whether `entry` stands for a torch.nn / torch.optim inventory entry of
/// its torch name: every kind but graph functions, and those graph
/// functions that torch.nn itself names (nn.utils.rnn.pad_sequence,
/// fuse_conv_bn_weights: Entry::torchNnUtility; not relu, which stands in
/// for no inventory entry).
bool coversInventory(const Entry &entry);

/// The model-file type name of an entry ("nn.Linear" -> "Linear").
std::string modelTypeName(const Entry &entry);

/// Checks `given` (a JSON object or null) against `entry`'s option specs:
/// unknown options, wrong types and failed checks are errors at `path`.
Options parseOptions(const Entry &entry, const json &given,
                     const std::string &path);
/// The same against other specs (a layer's call options); `what` names
/// them in messages ("MultiheadAttention's forward").
Options parseOptions(const std::vector<OptionSpec> &specs, const std::string &what,
                     const json &given, const std::string &path);

/// The registry as JSON rows (kilnc --print-schema).
json schemaOf(const Registry &registry);

// Family registration, one function per file.
void registerLinearFamily(Registry &registry);
void registerAttentionFamily(Registry &registry);
void registerTransformerFamily(Registry &registry);
void registerRecurrentFamily(Registry &registry);
void registerPackedSequenceFamily(Registry &registry);
void registerConvFamily(Registry &registry);
void registerConvTransposeFamily(Registry &registry);
void registerFoldFamily(Registry &registry);
void registerActivationFamily(Registry &registry);
void registerDropoutFamily(Registry &registry);
void registerNormalizationFamily(Registry &registry);
void registerPaddingFamily(Registry &registry);
void registerPoolingFamily(Registry &registry);
void registerFractionalPoolFamily(Registry &registry);
void registerUtilityFamily(Registry &registry);
void registerVisionFamily(Registry &registry);
void registerDistanceFamily(Registry &registry);
void registerSparseFamily(Registry &registry);
void registerLossFamily(Registry &registry);
void registerOptimizerFamily(Registry &registry);
void registerSchedulerFamily(Registry &registry);
void registerGradClipFamily(Registry &registry);
void registerReparametrizationFamily(Registry &registry);
void registerFusionFamily(Registry &registry);
void registerElementwiseFunctions(Registry &registry);
void registerTensorFunctions(Registry &registry);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_REGISTRY_H
