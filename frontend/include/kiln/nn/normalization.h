#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/module.h"

namespace kiln::nn {

/// Options of nn.BatchNorm{D}d(num_features, eps=1e-5, momentum=0.1,
/// affine=True, track_running_stats=True) with libtorch's names:
/// BatchNormOptions(32).eps(1e-3).momentum(std::nullopt) (None: a
/// cumulative moving average of the batch statistics).
struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT: implicit, like libtorch
  KILN_ARG(int64_t, num_features);
  KILN_ARG(double, eps) = 1e-5;
  KILN_ARG(std::optional<double>, momentum) = 0.1;
  KILN_ARG(bool, affine) = true;
  KILN_ARG(bool, track_running_stats) = true;
};
using BatchNorm1dOptions = BatchNormOptions;
using BatchNorm2dOptions = BatchNormOptions;
using BatchNorm3dOptions = BatchNormOptions;
using SyncBatchNormOptions = BatchNormOptions;

/// Options of nn.LazyBatchNorm{D}d(eps=1e-5, momentum=0.1, affine=True,
/// track_running_stats=True): num_features comes from the first input.
/// (libtorch has no lazy modules; the names follow BatchNormOptions.)
struct LazyBatchNormOptions {
  KILN_ARG(double, eps) = 1e-5;
  KILN_ARG(std::optional<double>, momentum) = 0.1;
  KILN_ARG(bool, affine) = true;
  KILN_ARG(bool, track_running_stats) = true;
};

/// Options of nn.InstanceNorm{D}d(num_features, eps=1e-5, momentum=0.1,
/// affine=False, track_running_stats=False) with libtorch's names. torch
/// 1.13's instance norm has no momentum=None.
struct InstanceNormOptions {
  InstanceNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
  KILN_ARG(int64_t, num_features);
  KILN_ARG(double, eps) = 1e-5;
  KILN_ARG(double, momentum) = 0.1;
  KILN_ARG(bool, affine) = false;
  KILN_ARG(bool, track_running_stats) = false;
};
using InstanceNorm1dOptions = InstanceNormOptions;
using InstanceNorm2dOptions = InstanceNormOptions;
using InstanceNorm3dOptions = InstanceNormOptions;

/// Options of nn.LazyInstanceNorm{D}d(eps=1e-5, momentum=0.1, affine=False,
/// track_running_stats=False).
struct LazyInstanceNormOptions {
  KILN_ARG(double, eps) = 1e-5;
  KILN_ARG(double, momentum) = 0.1;
  KILN_ARG(bool, affine) = false;
  KILN_ARG(bool, track_running_stats) = false;
};

/// What batch and instance norm share (torch's _NormBase): per-channel
/// weight (ones) and bias (zeros) when affine; the running statistics and
/// num_batches_tracked are buffers the compiler declares (state_dict names
/// "running_mean", "running_var", "num_batches_tracked").
class NormBaseImpl : public Module {
 public:
  /// Precondition: float32 input whose rank is one of `ranks` (or >= 2 when
  /// `ranks` is empty) with num_features channels in dimension 1 (dimension
  /// 0 of an unbatched instance-norm input); a lazy layer takes its
  /// num_features from the first call.
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  /// 0 for a lazy layer that has not been called yet.
  int64_t num_features() const { return num_features_; }

 protected:
  struct Config {
    std::string type;            // "BatchNorm2d", "LazyInstanceNorm1d"
    std::vector<size_t> ranks;   // accepted input ranks; empty: any >= 2
    size_t unbatched_rank = 0;   // instance norm: the rank without N
    int64_t num_features = 0;    // 0: lazy
    double eps = 1e-5;
    std::optional<double> momentum = 0.1;
    bool affine = true;
    bool track_running_stats = true;
  };
  explicit NormBaseImpl(Config config);

 private:
  void declare_parameters();
  Config config_;
  int64_t num_features_;
};

/// Batch normalisation over (N, *) per channel, like torch.nn.BatchNorm{D}d:
/// batch statistics in train mode (running statistics updated), running
/// statistics in eval mode when tracked. Input: 1d [N, C] or [N, C, L];
/// 2d [N, C, H, W]; 3d [N, C, D, H, W].
template <size_t D>
class BatchNormImpl : public NormBaseImpl {
 public:
  explicit BatchNormImpl(const BatchNormOptions& options)
      : NormBaseImpl(config_of(options)), options_(options) {}
  const BatchNormOptions& options() const { return options_; }

 private:
  static Config config_of(const BatchNormOptions& o) {
    Config c;
    c.type = "BatchNorm" + std::to_string(D) + "d";
    c.ranks = D == 1 ? std::vector<size_t>{2, 3} : std::vector<size_t>{D + 2};
    c.num_features = o.num_features();
    c.eps = o.eps();
    c.momentum = o.momentum();
    c.affine = o.affine();
    c.track_running_stats = o.track_running_stats();
    return c;
  }
  BatchNormOptions options_;
};

class BatchNorm1dImpl : public BatchNormImpl<1> {
 public:
  using BatchNormImpl<1>::BatchNormImpl;
};
KILN_MODULE(BatchNorm1d);
class BatchNorm2dImpl : public BatchNormImpl<2> {
 public:
  using BatchNormImpl<2>::BatchNormImpl;
};
KILN_MODULE(BatchNorm2d);
class BatchNorm3dImpl : public BatchNormImpl<3> {
 public:
  using BatchNormImpl<3>::BatchNormImpl;
};
KILN_MODULE(BatchNorm3d);

/// torch.nn.SyncBatchNorm in one process: batch norm over an [N, C, *]
/// input (libtorch has no SyncBatchNorm; Kiln's data parallelism is the
/// training section's).
class SyncBatchNormImpl : public NormBaseImpl {
 public:
  explicit SyncBatchNormImpl(const SyncBatchNormOptions& options);
  const SyncBatchNormOptions& options() const { return options_; }

 private:
  SyncBatchNormOptions options_;
};
KILN_MODULE(SyncBatchNorm);

/// torch.nn.LazyBatchNorm{D}d: BatchNorm{D}d whose num_features is the
/// channel count of its first input; the model file records that size.
template <size_t D>
class LazyBatchNormImpl : public NormBaseImpl {
 public:
  explicit LazyBatchNormImpl(const LazyBatchNormOptions& options = {})
      : NormBaseImpl(config_of(options)), options_(options) {}
  const LazyBatchNormOptions& options() const { return options_; }

 private:
  static Config config_of(const LazyBatchNormOptions& o) {
    Config c;
    c.type = "LazyBatchNorm" + std::to_string(D) + "d";
    c.ranks = D == 1 ? std::vector<size_t>{2, 3} : std::vector<size_t>{D + 2};
    c.eps = o.eps();
    c.momentum = o.momentum();
    c.affine = o.affine();
    c.track_running_stats = o.track_running_stats();
    return c;
  }
  LazyBatchNormOptions options_;
};
class LazyBatchNorm1dImpl : public LazyBatchNormImpl<1> {
 public:
  using LazyBatchNormImpl<1>::LazyBatchNormImpl;
};
KILN_MODULE(LazyBatchNorm1d);
class LazyBatchNorm2dImpl : public LazyBatchNormImpl<2> {
 public:
  using LazyBatchNormImpl<2>::LazyBatchNormImpl;
};
KILN_MODULE(LazyBatchNorm2d);
class LazyBatchNorm3dImpl : public LazyBatchNormImpl<3> {
 public:
  using LazyBatchNormImpl<3>::LazyBatchNormImpl;
};
KILN_MODULE(LazyBatchNorm3d);

/// Instance normalisation over the spatial dimensions of each (sample,
/// channel), like torch.nn.InstanceNorm{D}d. Input [N, C, *D] or unbatched
/// [C, *D]; running statistics (when tracked) are the batch average of the
/// instance statistics and are used in eval mode.
template <size_t D>
class InstanceNormImpl : public NormBaseImpl {
 public:
  explicit InstanceNormImpl(const InstanceNormOptions& options)
      : NormBaseImpl(config_of(options.num_features(), options.eps(), options.momentum(), options.affine(),
                               options.track_running_stats(), "InstanceNorm")),
        options_(options) {}
  const InstanceNormOptions& options() const { return options_; }

 protected:
  static Config config_of(int64_t num_features, double eps, double momentum, bool affine, bool tracking,
                          const std::string& type) {
    Config c;
    c.type = type + std::to_string(D) + "d";
    c.ranks = {D + 1, D + 2};
    c.unbatched_rank = D + 1;
    c.num_features = num_features;
    c.eps = eps;
    c.momentum = momentum;
    c.affine = affine;
    c.track_running_stats = tracking;
    return c;
  }

 private:
  InstanceNormOptions options_{1};
};
class InstanceNorm1dImpl : public InstanceNormImpl<1> {
 public:
  using InstanceNormImpl<1>::InstanceNormImpl;
};
KILN_MODULE(InstanceNorm1d);
class InstanceNorm2dImpl : public InstanceNormImpl<2> {
 public:
  using InstanceNormImpl<2>::InstanceNormImpl;
};
KILN_MODULE(InstanceNorm2d);
class InstanceNorm3dImpl : public InstanceNormImpl<3> {
 public:
  using InstanceNormImpl<3>::InstanceNormImpl;
};
KILN_MODULE(InstanceNorm3d);

/// torch.nn.LazyInstanceNorm{D}d: InstanceNorm{D}d whose num_features is
/// the channel count of its first input.
template <size_t D>
class LazyInstanceNormImpl : public NormBaseImpl {
 public:
  explicit LazyInstanceNormImpl(const LazyInstanceNormOptions& options = {})
      : NormBaseImpl(config_of(options)), options_(options) {}
  const LazyInstanceNormOptions& options() const { return options_; }

 private:
  static Config config_of(const LazyInstanceNormOptions& o) {
    Config c;
    c.type = "LazyInstanceNorm" + std::to_string(D) + "d";
    c.ranks = {D + 1, D + 2};
    c.unbatched_rank = D + 1;
    c.eps = o.eps();
    c.momentum = o.momentum();
    c.affine = o.affine();
    c.track_running_stats = o.track_running_stats();
    return c;
  }
  LazyInstanceNormOptions options_;
};
class LazyInstanceNorm1dImpl : public LazyInstanceNormImpl<1> {
 public:
  using LazyInstanceNormImpl<1>::LazyInstanceNormImpl;
};
KILN_MODULE(LazyInstanceNorm1d);
class LazyInstanceNorm2dImpl : public LazyInstanceNormImpl<2> {
 public:
  using LazyInstanceNormImpl<2>::LazyInstanceNormImpl;
};
KILN_MODULE(LazyInstanceNorm2d);
class LazyInstanceNorm3dImpl : public LazyInstanceNormImpl<3> {
 public:
  using LazyInstanceNormImpl<3>::LazyInstanceNormImpl;
};
KILN_MODULE(LazyInstanceNorm3d);

/// Options of nn.LayerNorm(normalized_shape, eps=1e-5,
/// elementwise_affine=True): LayerNormOptions({4, 5}).eps(1e-6).
struct LayerNormOptions {
  LayerNormOptions(std::vector<int64_t> normalized_shape)  // NOLINT
      : normalized_shape_(std::move(normalized_shape)) {}
  KILN_ARG(std::vector<int64_t>, normalized_shape);
  KILN_ARG(double, eps) = 1e-5;
  KILN_ARG(bool, elementwise_affine) = true;
};

/// Normalises over the trailing normalized_shape dimensions, like
/// torch.nn.LayerNorm. Parameters "weight" (ones) and "bias" (zeros) of
/// shape normalized_shape when elementwise_affine.
class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  /// Precondition: float32 input whose trailing dimensions equal
  /// normalized_shape.
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const LayerNormOptions& options() const { return options_; }

 private:
  LayerNormOptions options_;
};
KILN_MODULE(LayerNorm);

/// Options of nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True).
struct GroupNormOptions {
  GroupNormOptions(int64_t num_groups, int64_t num_channels)
      : num_groups_(num_groups), num_channels_(num_channels) {}
  KILN_ARG(int64_t, num_groups);
  KILN_ARG(int64_t, num_channels);
  KILN_ARG(double, eps) = 1e-5;
  KILN_ARG(bool, affine) = true;
};

/// Normalises each group of num_channels / num_groups channels of an
/// [N, C, *] input, like torch.nn.GroupNorm; per-channel "weight" and
/// "bias" when affine.
class GroupNormImpl : public Module {
 public:
  /// Throws Error when num_groups does not divide num_channels.
  explicit GroupNormImpl(const GroupNormOptions& options);
  GroupNormImpl(int64_t num_groups, int64_t num_channels)
      : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const GroupNormOptions& options() const { return options_; }

 private:
  GroupNormOptions options_;
};
KILN_MODULE(GroupNorm);

/// Options of nn.LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1.0).
struct LocalResponseNormOptions {
  LocalResponseNormOptions(int64_t size) : size_(size) {}  // NOLINT
  KILN_ARG(int64_t, size);
  KILN_ARG(double, alpha) = 1e-4;
  KILN_ARG(double, beta) = 0.75;
  KILN_ARG(double, k) = 1.0;
};

/// y = x / (k + alpha * avg of x^2 over `size` neighbouring channels)^beta,
/// like torch.nn.LocalResponseNorm. Input [N, C, *] with at least 3
/// dimensions.
class LocalResponseNormImpl : public Module {
 public:
  explicit LocalResponseNormImpl(const LocalResponseNormOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const LocalResponseNormOptions& options() const { return options_; }

 private:
  LocalResponseNormOptions options_;
};
KILN_MODULE(LocalResponseNorm);

namespace functional {

/// Options of F.layer_norm(input, normalized_shape, eps=1e-5): libtorch's
/// LayerNormFuncOptions without weight and bias (the functional forms take
/// no parameters here; nn::LayerNorm has them).
struct LayerNormFuncOptions {
  LayerNormFuncOptions(std::vector<int64_t> normalized_shape)  // NOLINT
      : normalized_shape_(std::move(normalized_shape)) {}
  KILN_ARG(std::vector<int64_t>, normalized_shape);
  KILN_ARG(double, eps) = 1e-5;
};

/// Options of F.group_norm(input, num_groups, eps=1e-5), without weight and
/// bias like LayerNormFuncOptions.
struct GroupNormFuncOptions {
  GroupNormFuncOptions(int64_t num_groups) : num_groups_(num_groups) {}  // NOLINT
  KILN_ARG(int64_t, num_groups);
  KILN_ARG(double, eps) = 1e-5;
};

/// libtorch's F::LocalResponseNormFuncOptions: the module's options.
using LocalResponseNormFuncOptions = LocalResponseNormOptions;

/// Options of F.batch_norm(input, running_mean, running_var, weight=None,
/// bias=None, training=False, momentum=0.1, eps=1e-5) with libtorch's
/// names. The statistics, weight and bias are traced values (the graph
/// function's inputs, in torch's order: a bias needs a weight here).
/// torch's in-place update of running_mean / running_var in training mode
/// is not made (they are values, not buffers; nn::BatchNorm* tracks them).
struct BatchNormFuncOptions {
  KILN_ARG(std::optional<Tensor>, weight) = std::nullopt;
  KILN_ARG(std::optional<Tensor>, bias) = std::nullopt;
  KILN_ARG(bool, training) = false;
  KILN_ARG(double, momentum) = 0.1;
  KILN_ARG(double, eps) = 1e-5;
};

/// Options of F.instance_norm(input, running_mean=None, running_var=None,
/// weight=None, bias=None, use_input_stats=True, momentum=0.1, eps=1e-5).
/// As BatchNormFuncOptions, the optional values are positional inputs: a
/// weight needs the running statistics, a bias the weight.
struct InstanceNormFuncOptions {
  KILN_ARG(std::optional<Tensor>, running_mean) = std::nullopt;
  KILN_ARG(std::optional<Tensor>, running_var) = std::nullopt;
  KILN_ARG(std::optional<Tensor>, weight) = std::nullopt;
  KILN_ARG(std::optional<Tensor>, bias) = std::nullopt;
  KILN_ARG(bool, use_input_stats) = true;
  KILN_ARG(double, momentum) = 0.1;
  KILN_ARG(double, eps) = 1e-5;
};

/// F.batch_norm of an [N, C, *] input with [C] statistics (graph function
/// "batch_norm"): batch statistics when training, else the running ones.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options = {}, SourceLoc loc = SourceLoc::current());
/// F.instance_norm of an [N, C, *] input (graph function "instance_norm"):
/// per-(n, c) statistics when use_input_stats, else the running ones.
Tensor instance_norm(const Tensor& input, const InstanceNormFuncOptions& options = {},
                     SourceLoc loc = SourceLoc::current());
/// torch.layer_norm over the trailing normalized_shape dimensions (graph
/// function "layer_norm"). Precondition as nn::LayerNorm's.
Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& options, SourceLoc loc = SourceLoc::current());
/// torch.group_norm of an [N, C, *] input, num_groups dividing C (graph
/// function "group_norm").
Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& options, SourceLoc loc = SourceLoc::current());
/// F.local_response_norm of an input with at least 3 dimensions (graph
/// function "local_response_norm").
Tensor local_response_norm(const Tensor& input, const LocalResponseNormFuncOptions& options,
                           SourceLoc loc = SourceLoc::current());

}  // namespace functional
}  // namespace kiln::nn
