#pragma once

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kiln/module.h"
#include "kiln/nn/loss.h"
#include "kiln/optim.h"
#include "kiln/trace.h"

namespace kiln {

/// The model file's optional "training" section: a loss (or loss_output),
/// its target when it takes one, and an optimizer.
/// `Training().loss(nn::CrossEntropyLoss()).target(input("target", {128}, kInt64))
///            .optimizer(optim::SGD(optim::SGDOptions(0.01).momentum(0.9)))`
class Training {
 public:
  template <class Impl>
  Training& loss(const nn::ModuleHolder<Impl>& loss) {
    static_assert(std::is_base_of_v<nn::Loss, Impl>, "Training::loss needs a loss (CrossEntropyLoss, MSELoss)");
    loss_ = loss.ptr();
    return *this;
  }
  /// A loss of one's own, computed in forward: forward's output `index`
  /// (a float32 scalar) is the loss, differentiated as it is (the model
  /// file's "loss": {"output": ...}; no loss module, no target).
  Training& loss_output(int index) {
    loss_output_ = index;
    return *this;
  }
  /// The target the loss compares the output with (a kiln::input()).
  /// Optional for a loss of model outputs only (the triplet losses with
  /// loss_inputs, loss_output): the model then has no target.
  Training& target(Tensor target) {
    target_ = std::move(target);
    return *this;
  }
  /// The loss's inputs in torch's argument order: indices of forward's
  /// outputs, kTarget for the target and model_input(i) for the model's
  /// i-th input (MarginRankingLoss: {0, 1, Training::kTarget};
  /// GaussianNLLLoss: {0, Training::kTarget, 1}; CTCLoss: {0,
  /// Training::kTarget, Training::model_input(1), Training::model_input(2)},
  /// the lengths being int64 inputs passed with each batch). By default the
  /// first outputs, as many as the loss takes besides the target, then the
  /// target; forward then returns exactly those.
  static constexpr int kTarget = -1;
  static constexpr int model_input(int i) { return -2 - i; }
  Training& loss_inputs(std::vector<int> inputs) {
    loss_inputs_ = std::move(inputs);
    return *this;
  }
  template <class O>
  Training& optimizer(const O& optimizer) {
    static_assert(std::is_base_of_v<optim::Optimizer, O>, "Training::optimizer needs an optimizer (optim::SGD)");
    optimizer_ = std::make_shared<O>(optimizer);
    return *this;
  }

  /// torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type,
  /// error_if_nonfinite) between backward and the update; norm_type is a
  /// number > 0 or INFINITY. Checked when the model is saved. One clipping
  /// per step: this and clip_grad_value replace each other.
  Training& clip_grad_norm(double max_norm, double norm_type = 2.0, bool error_if_nonfinite = false) {
    clip_ = Clip{true, max_norm, norm_type, error_if_nonfinite};
    return *this;
  }
  /// torch.nn.utils.clip_grad_value_(params, clip_value).
  Training& clip_grad_value(double clip_value) {
    clip_ = Clip{false, clip_value, 0, false};
    return *this;
  }

  /// A learning-rate scheduler (optim::StepLR(30), optim::SequentialLR(...)),
  /// written as training.scheduler; the runtime runs it and the generated
  /// header's <name>_scheduler_create builds it (kiln/scheduler.h).
  Training& scheduler(optim::LRScheduler scheduler) {
    scheduler_ = std::move(scheduler);
    return *this;
  }
  /// Compile torch.optim.swa_utils.update_bn's kernels (training.update_bn;
  /// the generated <name>_update_bn). The model needs a BatchNorm that
  /// tracks running statistics.
  Training& update_bn(bool enabled = true) {
    update_bn_ = enabled;
    return *this;
  }
  bool wants_update_bn() const { return update_bn_; }
  /// Frozen parameters, torch's requires_grad_(False) (fine-tuning a
  /// pretrained backbone): each entry a parameter's state_dict key or a
  /// module's path (all its parameters). Written as training.frozen; kilnc
  /// computes no gradient for them and the optimizer leaves them alone, as
  /// torch's does (grad None).
  Training& frozen(std::vector<std::string> keys) {
    frozen_ = std::move(keys);
    return *this;
  }
  const std::vector<std::string>& frozen() const { return frozen_; }

  /// The gradient clipping, if any: by norm (value = max_norm) or by value.
  struct Clip {
    bool by_norm;
    double value, norm_type;
    bool error_if_nonfinite;
  };
  const std::shared_ptr<const nn::Loss>& loss() const { return loss_; }
  const Tensor& target() const { return target_; }
  const std::optional<int>& loss_output() const { return loss_output_; }
  const std::vector<int>& loss_inputs() const { return loss_inputs_; }
  const std::shared_ptr<const optim::Optimizer>& optimizer() const { return optimizer_; }
  const std::optional<Clip>& clip() const { return clip_; }
  const std::optional<optim::LRScheduler>& scheduler() const { return scheduler_; }

 private:
  std::shared_ptr<const nn::Loss> loss_;
  Tensor target_;
  std::optional<int> loss_output_;
  std::vector<int> loss_inputs_;
  std::shared_ptr<const optim::Optimizer> optimizer_;
  std::optional<Clip> clip_;
  std::optional<optim::LRScheduler> scheduler_;
  bool update_bn_ = false;
  std::vector<std::string> frozen_;
};

namespace detail {

template <class T>
struct IsTensorTuple : std::false_type {};
template <class... T>
struct IsTensorTuple<std::tuple<T...>> : std::conjunction<std::is_same<T, Tensor>...> {};
template <class A, class B>
struct IsTensorTuple<std::pair<A, B>> : std::conjunction<std::is_same<A, Tensor>, std::is_same<B, Tensor>> {};

template <class R>
std::vector<Tensor> as_outputs(R&& result) {
  using T = std::decay_t<R>;
  if constexpr (std::is_same_v<T, Tensor>) {
    return {std::forward<R>(result)};
  } else if constexpr (std::is_same_v<T, std::vector<Tensor>>) {
    return std::forward<R>(result);
  } else {
    static_assert(IsTensorTuple<T>::value,
                  "forward must return a Tensor, a std::vector<Tensor> or a tuple of Tensors");
    return std::apply([](auto&&... t) { return std::vector<Tensor>{t...}; }, std::forward<R>(result));
  }
}

template <class M, class Seq, class = void>
struct CanForwardN : std::false_type {};
template <class M, size_t... I>
struct CanForwardN<M, std::index_sequence<I...>,
                   std::void_t<decltype(std::declval<M&>().forward(
                       (static_cast<void>(I), std::declval<const Tensor&>())...))>> : std::true_type {};

template <class M, size_t... I>
std::vector<Tensor> forward_n(M& m, const std::vector<Tensor>& in, SourceLoc loc, std::index_sequence<I...>) {
  return as_outputs(call_forward(m, loc, in[I]...));
}

/// Runs m.forward on the bound inputs (1 to 5 tensors).
template <class M>
std::vector<Tensor> run_forward(M& m, const std::vector<Tensor>& in, SourceLoc loc) {
  std::vector<Tensor> out;
  bool called = false;
  auto try_n = [&](auto seq) {
    using Seq = decltype(seq);
    if constexpr (CanForwardN<M, Seq>::value) {
      if (in.size() == Seq::size()) {
        out = forward_n(m, in, loc, seq);
        called = true;
      }
    }
  };
  try_n(std::make_index_sequence<1>());
  try_n(std::make_index_sequence<2>());
  try_n(std::make_index_sequence<3>());
  try_n(std::make_index_sequence<4>());
  try_n(std::make_index_sequence<5>());
  if (!called) {
    fail(loc, "the model's forward does not take " + std::to_string(in.size()) +
                  " tensor(s); pass one kiln::input() per forward argument");
  }
  return out;
}

/// The module a holder (e.g. Sequential) or a shared_ptr points to.
template <class Impl>
Impl& root_module(const nn::ModuleHolder<Impl>& model) {
  if (model.is_empty()) fail("save_model: the model is empty (a holder constructed with nullptr)");
  return *model;
}
template <class Impl>
Impl& root_module(const std::shared_ptr<Impl>& model) {
  static_assert(std::is_base_of_v<nn::Module, Impl>, "save_model needs a kiln::nn::Module");
  if (!model) fail("save_model: the model is a null pointer");
  return *model;
}

std::set<std::string> reserved_names(const std::vector<Tensor>& inputs,
                                     const std::optional<Training>& training);
std::string serialize_model(const Trace& trace, const nn::Module& root, const std::vector<Tensor>& outputs,
                            const std::optional<Training>& training, const std::string& name,
                            SourceLoc loc);
std::string default_model_name(const std::string& path);
void validate_model_name(const std::string& name, SourceLoc loc);
/// Writes `contents` to a temporary file next to `path` and renames it over
/// `path`, so readers never see a partial file. Throws Error on failure.
void write_file_atomic(const std::string& path, const std::string& contents, SourceLoc loc);

}  // namespace detail

/// Traces `model` on `inputs` and returns the model file's text (JSON, see
/// docs/model-format.md). `name` must be a C identifier: it prefixes the
/// generated C API. Throws Error on any invalid model.
template <class M>
std::string model_json(const M& model, const std::vector<Tensor>& inputs, const std::string& name,
                       const std::optional<Training>& training = std::nullopt,
                       SourceLoc loc = SourceLoc::current()) {
  detail::validate_model_name(name, loc);
  auto& root = detail::root_module(model);
  detail::Trace trace(root, detail::reserved_names(inputs, training), loc);
  std::vector<Tensor> bound;
  for (const Tensor& in : inputs) bound.push_back(trace.bind_input(in, loc));
  std::vector<Tensor> outputs = detail::run_forward(root, bound, loc);
  return detail::serialize_model(trace, root, outputs, training, name, loc);
}

/// Traces `model` on `inputs` and writes the model file to `path` atomically.
/// The model's name is `name`, or by default the file stem of `path`
/// ("out/mlp.json" -> "mlp"). Without `training` the model is inference-only.
template <class M>
void save_model(const M& model, const std::vector<Tensor>& inputs, const std::string& path,
                const std::optional<Training>& training = std::nullopt, const std::string& name = "",
                SourceLoc loc = SourceLoc::current()) {
  std::string model_name = name.empty() ? detail::default_model_name(path) : name;
  detail::write_file_atomic(path, model_json(model, inputs, model_name, training, loc), loc);
}

}  // namespace kiln
