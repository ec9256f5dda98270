// nn.InstanceNorm1d/2d/3d and nn.LazyInstanceNorm1d/2d/3d: normalisation
// of each (sample, channel) over its spatial dimensions: nn.batch_norm of
// the [1, N * C, *] view (Norm.h's normalizeOver), as torch's instance_norm.
#include "frontend/import/Norm.h"

using namespace mlir;

namespace kiln::import {
namespace {

/// InstanceNorm{D}d on an [N, C, *D] or unbatched [C, *D] input, as torch
/// 1.13's _InstanceNorm.forward and at::instance_norm (batch norm of the
/// input viewed as [1, N * C, *D] with the running statistics repeated N
/// times, then averaged over N):
///   instance statistics when training or not tracking (use_input_stats):
///     mean, biased var over *D per (n, c); torch refuses prod(*D) == 1;
///   train mode with tracking also updates the buffers (num_batches_tracked
///   stays as it is: instance_norm never counts):
///     running_mean = (1 - m) * running_mean + m * mean_n(mean)
///     running_var  = (1 - m) * running_var + m * mean_n(var * L / (L - 1))
///   eval mode with tracking: mean, var = running_mean, running_var
///   y = (x - mean) * rsqrt(var + eps) * weight + bias
Value buildInstanceNorm(BuildContext &c, size_t spatial, const std::string &name) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  Location loc = c.loc();
  Value x = c.operands()[0];
  SmallVector<int64_t> original(nn::shapeOf(x));
  size_t rank = original.size();
  if (rank != spatial + 1 && rank != spatial + 2)
    c.fail("expected " + normStr(static_cast<int64_t>(spatial + 1)) + "D (unbatched) or " +
           normStr(static_cast<int64_t>(spatial + 2)) + "D (batched) input to " + name +
           ", got " + normStr(static_cast<int64_t>(rank)) + "D input " +
           nn::shapeStr(original));
  SmallVector<int64_t> shape(original);
  if (rank == spatial + 1) {
    shape.insert(shape.begin(), 1);
    x = nn::reshapeTo(b, loc, x, nn::f32Tensor(b.getContext(), shape));
    rank = shape.size();
  }
  int64_t channels = o.getInt("num_features");
  // torch 1.13 only warns when a layer without weight and running
  // statistics sees another channel count; Kiln refuses it like the rest.
  if (shape[1] != channels)
    c.fail("input " + nn::shapeStr(original) + " has " + normStr(shape[1]) +
           " channels, but num_features is " + normStr(channels));
  bool tracking = o.getBool("track_running_stats");
  bool training = c.training();
  double eps = o.getFloat("eps");
  Value y;
  if (!training && tracking) {
    y = normalizeWith(c, x, channelView(c, c.buffer("running_mean"), rank),
                      channelView(c, c.buffer("running_var"), rank), eps);
  } else {
    int64_t n = 1;
    SmallVector<int64_t> dims;
    for (size_t d = 2; d < rank; ++d) {
      dims.push_back(static_cast<int64_t>(d));
      n *= shape[d];
    }
    if (n < 2)
      c.fail("expected more than 1 spatial element when using instance statistics "
             "(train mode, or track_running_stats=False), got input of shape " +
             nn::shapeStr(original));
    Value mean, var;
    y = normalizeOver(c, x, dims, eps, &mean, &var);
    if (training && tracking) {
      // [N, C, 1, ...] -> [C]: the batch average of the instance statistics.
      SmallVector<int64_t> batchDim{0};
      updateRunningStats(c, meanKeep(c, mean, batchDim), meanKeep(c, var, batchDim), n,
                         nn::scalarConstant(b, loc, o.getFloat("momentum")), channels);
    }
  }
  y = affinePerChannel(c, y, rank);
  return nn::reshapeTo(b, loc, y, nn::f32Tensor(b.getContext(), original));
}

/// F.instance_norm(input, running_mean=None, running_var=None, weight=None,
/// bias=None, use_input_stats=True, momentum=0.1, eps=1e-5) on [N, C, *]:
/// the inputs are positional as torch's (running statistics, then weight
/// and bias); instance statistics when use_input_stats, else the running
/// statistics. As for F.batch_norm, torch's in-place update of the
/// running-statistics inputs is not made (values, not buffers).
Value buildInstanceNormFunction(BuildContext &c) {
  const Options &o = c.options();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  size_t rank = shape.size();
  if (rank < 2)
    c.fail("expected an input of at least 2 dimensions (N, C, *), got " + nn::shapeStr(shape));
  if (c.operands().size() == 2)
    c.fail("running_mean (input 1) needs running_var (input 2)");
  int64_t channels = shape[1];
  Value mean = channelOperand(c, 1, "running_mean", channels);
  Value var = channelOperand(c, 2, "running_var", channels);
  Value weight = channelOperand(c, 3, "weight", channels);
  Value bias = channelOperand(c, 4, "bias", channels);
  double eps = o.getFloat("eps");
  Value y;
  if (o.getBool("use_input_stats")) {
    int64_t n = 1;
    SmallVector<int64_t> dims;
    for (size_t d = 2; d < rank; ++d) {
      dims.push_back(static_cast<int64_t>(d));
      n *= shape[d];
    }
    if (n < 2)
      c.fail("expected more than 1 spatial element when using input statistics, got input of shape " +
             nn::shapeStr(shape));
    y = normalizeOver(c, x, dims, eps);
  } else {
    if (!mean)
      c.failAt(o.pathOf("use_input_stats"),
               "use_input_stats=False needs running_mean and running_var (inputs 1 and 2)");
    y = normalizeWith(c, x, channelView(c, mean, rank), channelView(c, var, rank), eps);
  }
  return affineOperands(c, y, rank, weight, bias);
}

void declareInstanceNorm(LayerDecl &decl, const std::string &layer) {
  const Options &o = decl.options();
  declareNormBase(decl, numFeatures(o, layer), o.getBool("affine"),
                  o.getBool("track_running_stats"));
}

/// torch's defaults differ from batch norm's: affine and tracking off.
/// momentum=None is not an option: torch 1.13's instance_norm needs a number.
std::vector<OptionSpec> instanceNormOptions(bool lazy) {
  return {intOption("num_features").atLeast(lazy ? 0 : 1),
          floatOption("eps", 1e-5),
          floatOption("momentum", 0.1).inRange(0, 1),
          boolOption("affine", false),
          boolOption("track_running_stats", false)};
}

} // namespace

void registerInstanceNormEntries(Registry &r) {
  const std::string ops = "nn.batch_norm";
  for (size_t spatial : {1, 2, 3}) {
    std::string name = "InstanceNorm" + normStr(static_cast<int64_t>(spatial)) + "d";
    json input = {2, 4};
    for (size_t d = 0; d < spatial; ++d)
      input.push_back(static_cast<int64_t>(5 - d));
    for (bool lazy : {false, true}) {
      std::string torchName = std::string(lazy ? "nn.Lazy" : "nn.") + name;
      Entry e{torchName, EntryKind::Layer,
              lazy ? ops + " (as " + name +
                         "; num_features resolved from the first input at trace time)"
                   : ops + " (of the [1, N * C, *] view; buffers updated in train mode when "
                           "tracking; eval mode elementwise with the running statistics)"};
      e.options = instanceNormOptions(lazy);
      e.declare = [lazy, name](LayerDecl &d) { declareInstanceNorm(d, (lazy ? "Lazy" : "") + name); };
      e.build = [spatial, name](BuildContext &c) { return buildInstanceNorm(c, spatial, name); };
      e.example = {{"options", {{"num_features", 4}}}, {"input", input}};
      r.add(std::move(e));
    }
  }

  Entry fn{"instance_norm", EntryKind::Function,
           ops + " (use_input_stats; else elementwise with [running_mean, running_var[, "
                 "weight[, bias]]] inputs)"};
  // momentum only shapes torch's in-place update of the running-statistics
  // inputs, which Kiln does not make (values, not buffers).
  fn.options = {boolOption("use_input_stats", true),
                floatOption("momentum", 0.1).inRange(0, 1).noEffect(),
                floatOption("eps", 1e-5)};
  fn.numInputs = 5;
  fn.numOptionalInputs = 4;
  fn.build = buildInstanceNormFunction;
  fn.example = {{"options", json::object()}, {"input", {2, 4, 5}}};
  r.add(std::move(fn));
}

} // namespace kiln::import
