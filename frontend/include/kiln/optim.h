#pragma once

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kiln/options.h"

namespace kiln::nn {
class Module;
template <class Impl>
class ModuleHolder;
}  // namespace kiln::nn

namespace kiln::optim {

/// What a parameter group holds: a module of the model (all of its
/// parameters, as libtorch's module->parameters()) or one parameter by its
/// state_dict name ("fc.bias"). Modules are resolved when the model is
/// saved; they must be part of it.
class ParamRef {
 public:
  ParamRef(std::string name) : name_(std::move(name)) {}
  ParamRef(const char* name) : name_(name) {}
  template <class Impl>
  ParamRef(const nn::ModuleHolder<Impl>& module) : module_(module.ptr().get()) {}
  template <class M, class = std::enable_if_t<std::is_base_of_v<nn::Module, M>>>
  ParamRef(const std::shared_ptr<M>& module) : module_(module.get()) {}

  const nn::Module* module() const { return module_; }  ///< null for a name
  const std::string& name() const { return name_; }

 private:
  const nn::Module* module_ = nullptr;
  std::string name_;
};

/// One of torch's optimizer.param_groups (libtorch's OptimizerParamGroup):
/// its parameters, and its options, complete as libtorch's are, or none to
/// take the optimizer's. `optim::AdamW({optim::ParamGroup({net->backbone},
/// optim::AdamWOptions(1e-4)), optim::ParamGroup({net->head})},
/// optim::AdamWOptions(1e-3))`. The options are checked like the
/// optimizer's. Options of another optimizer make the group that
/// optimizer's (torch's user stepping two optimizers, e.g.
/// `optim::Adam({optim::ParamGroup({net->embedding},
/// optim::SparseAdamOptions(1e-2)), optim::ParamGroup({net->head})})`: the
/// model file's group `type`). As in torch, a parameter in no group is not
/// updated.
class ParamGroup {
 public:
  explicit ParamGroup(std::vector<ParamRef> params) : params_(std::move(params)) {}
  template <class Options>
  ParamGroup(std::vector<ParamRef> params, const Options& options)
      : params_(std::move(params)), options_(checked_option_list(options)), type_(options_type_of(options)) {}

  const std::vector<ParamRef>& params() const { return params_; }
  const std::optional<OptionList>& options() const { return options_; }
  /// The optimizer type its options belong to ("SGD"), "" without options.
  const std::string& options_type() const { return type_; }

 private:
  std::vector<ParamRef> params_;
  std::optional<OptionList> options_;
  std::string type_;
};

/// An optimizer for kiln::Training. Without parameter groups it applies to
/// every parameter of the model (so, unlike libtorch, it needs no
/// parameter list); with them, to the groups' parameters, each group with
/// its own options (torch's param_groups).
class Optimizer {
 public:
  virtual ~Optimizer();
  /// The model file's "type" ("SGD").
  virtual const char* type_name() const = 0;
  virtual OptionList option_list() const = 0;
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

 protected:
  /// Takes the groups (at least one).
  void set_param_groups(std::vector<ParamGroup> groups);

 private:
  std::vector<ParamGroup> groups_;
};

/// Options of torch.optim.SGD; lr is required like in libtorch.
struct SGDOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, momentum) = 0.0;
  KILN_ARG(double, dampening) = 0.0;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, nesterov) = false;
  KILN_ARG(bool, maximize) = false;
};

/// Stochastic gradient descent with torch.optim.SGD's semantics.
class SGD : public Optimizer {
 public:
  /// Validates like torch: lr, momentum and weight_decay are finite and
  /// >= 0, dampening finite, and nesterov requires momentum > 0 and
  /// dampening == 0. Throws Error otherwise.
  explicit SGD(const SGDOptions& options);
  /// Parameter groups; `defaults` for the groups without options.
  SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults);
  const char* type_name() const override { return "SGD"; }
  OptionList option_list() const override;
  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
};

/// Options of torch.optim.Adam (libtorch's AdamOptions): lr=1e-3,
/// betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=false; maximize as
/// in Python torch.
struct AdamOptions {
  AdamOptions(double lr = 1e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, amsgrad) = false;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.AdamW: AdamOptions' fields with weight_decay=1e-2 (decoupled).
struct AdamWOptions {
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 1e-2;
  KILN_ARG(bool, amsgrad) = false;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.Adamax (Python torch's defaults: lr=2e-3).
struct AdamaxOptions {
  AdamaxOptions(double lr = 2e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.NAdam (Python torch's defaults: lr=2e-3, momentum_decay=4e-3).
struct NAdamOptions {
  NAdamOptions(double lr = 2e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(double, momentum_decay) = 4e-3;
};

/// torch.optim.RAdam.
struct RAdamOptions {
  RAdamOptions(double lr = 1e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
};

/// torch.optim.Adagrad (libtorch's AdagradOptions).
struct AdagradOptions {
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, lr_decay) = 0.0;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(double, initial_accumulator_value) = 0.0;
  KILN_ARG(double, eps) = 1e-10;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.Adadelta.
struct AdadeltaOptions {
  AdadeltaOptions(double lr = 1.0) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, rho) = 0.9;
  KILN_ARG(double, eps) = 1e-6;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.RMSprop (libtorch's RMSpropOptions).
struct RMSpropOptions {
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, alpha) = 0.99;
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(double, momentum) = 0.0;
  KILN_ARG(bool, centered) = false;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.Rprop: etas = (etaminus, etaplus), step_sizes = (min, max).
struct RpropOptions {
  RpropOptions(double lr = 1e-2) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, etas) = {0.5, 1.2};
  KILN_ARG(std::vector<double>, step_sizes) = {1e-6, 50.0};
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.ASGD.
struct ASGDOptions {
  ASGDOptions(double lr = 1e-2) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, lambd) = 1e-4;
  KILN_ARG(double, alpha) = 0.75;
  KILN_ARG(double, t0) = 1e6;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.SparseAdam: Adam on the rows a sparse gradient has, for
/// the weights of Embedding / EmbeddingBag with sparse(true) only (kilnc
/// refuses it for a dense gradient, as torch); lr and eps must be > 0.
struct SparseAdamOptions {
  SparseAdamOptions(double lr = 1e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(bool, maximize) = false;
};

/// The optimizers other than SGD: torch's semantics (compiled by kilnc,
/// passes/optim/), the options written to the model file as given. Each
/// constructor validates like torch's (lr, eps, weight_decay >= 0, betas in
/// [0, 1), ...) and throws Error otherwise.
#define KILN_OPTIMIZER(Name)                                        \
  class Name : public Optimizer {                                   \
   public:                                                          \
    explicit Name(const Name##Options& options = Name##Options());  \
    Name(std::vector<ParamGroup> groups,                            \
         const Name##Options& defaults = Name##Options());          \
    const char* type_name() const override { return #Name; }        \
    OptionList option_list() const override;                       \
    const Name##Options& options() const { return options_; }       \
                                                                    \
   private:                                                         \
    Name##Options options_;                                         \
  };
KILN_OPTIMIZER(Adam)
KILN_OPTIMIZER(AdamW)
KILN_OPTIMIZER(Adamax)
KILN_OPTIMIZER(NAdam)
KILN_OPTIMIZER(RAdam)
KILN_OPTIMIZER(Adagrad)
KILN_OPTIMIZER(Adadelta)
KILN_OPTIMIZER(RMSprop)
KILN_OPTIMIZER(Rprop)
KILN_OPTIMIZER(ASGD)
KILN_OPTIMIZER(SparseAdam)
#undef KILN_OPTIMIZER

/// torch.optim.LBFGS (libtorch's LBFGSOptions). max_eval unset: torch's
/// max_iter * 5 / 4; line_search_fn unset or "strong_wolfe".
struct LBFGSOptions {
  LBFGSOptions(double lr = 1) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(int64_t, max_iter) = 20;
  KILN_ARG(std::optional<int64_t>, max_eval) = std::nullopt;
  KILN_ARG(double, tolerance_grad) = 1e-7;
  KILN_ARG(double, tolerance_change) = 1e-9;
  KILN_ARG(int64_t, history_size) = 100;
  KILN_ARG(std::optional<std::string>, line_search_fn) = std::nullopt;
};

/// torch.optim.LBFGS: each train_step is torch's step(closure), the
/// closure being the compiled loss and gradients (the runtime runs the
/// iterations and the line search). One parameter group only, as torch;
/// no gradient clipping or accumulation with it.
class LBFGS : public Optimizer {
 public:
  explicit LBFGS(const LBFGSOptions& options = LBFGSOptions());
  const char* type_name() const override { return "LBFGS"; }
  OptionList option_list() const override;
  const LBFGSOptions& options() const { return options_; }

 private:
  LBFGSOptions options_;
};

/// A parameter group's options, checked as the optimizer's constructor
/// checks them (ParamGroup's constructor), and the type they belong to.
#define KILN_GROUP_OPTIONS(Name)                                                   \
  inline OptionList checked_option_list(const Name##Options& o) { return Name(o).option_list(); } \
  inline std::string options_type_of(const Name##Options&) { return #Name; }
KILN_GROUP_OPTIONS(SGD)
KILN_GROUP_OPTIONS(Adam)
KILN_GROUP_OPTIONS(AdamW)
KILN_GROUP_OPTIONS(Adamax)
KILN_GROUP_OPTIONS(NAdam)
KILN_GROUP_OPTIONS(RAdam)
KILN_GROUP_OPTIONS(Adagrad)
KILN_GROUP_OPTIONS(Adadelta)
KILN_GROUP_OPTIONS(RMSprop)
KILN_GROUP_OPTIONS(Rprop)
KILN_GROUP_OPTIONS(ASGD)
KILN_GROUP_OPTIONS(SparseAdam)
#undef KILN_GROUP_OPTIONS

/// A learning-rate scheduler of torch.optim.lr_scheduler for the model
/// file's training section (Training::scheduler): torch's class name, its
/// options as given, and for ChainedScheduler / SequentialLR the schedulers
/// they combine. The runtime runs it (kiln/scheduler.h; the generated
/// header's <name>_scheduler_create builds it); kilnc checks it with JSON
/// paths. LambdaLR and MultiplicativeLR take a C function and are created
/// in C (kiln_scheduler_create_spec).
struct LRScheduler {
  std::string type;
  OptionList options;
  std::vector<LRScheduler> schedulers;
};

/// torch.optim.lr_scheduler.CyclicLR's options, torch's defaults
/// (cycle_momentum true: the optimizer needs a momentum or betas, and kilnc
/// then compiles it as a runtime value the scheduler sets).
struct CyclicLROptions {
  CyclicLROptions(double base_lr, double max_lr) : base_lr_(base_lr), max_lr_(max_lr) {}
  KILN_ARG(double, base_lr);
  KILN_ARG(double, max_lr);
  KILN_ARG(double, step_size_up) = 2000.0;
  /// Negative: torch's None (step_size_up).
  KILN_ARG(double, step_size_down) = -1.0;
  KILN_ARG(std::string, mode) = "triangular";
  KILN_ARG(double, gamma) = 1.0;
  KILN_ARG(bool, cycle_momentum) = true;
  KILN_ARG(double, base_momentum) = 0.8;
  KILN_ARG(double, max_momentum) = 0.9;
};

/// torch.optim.lr_scheduler.OneCycleLR's options (cycle_momentum as above).
struct OneCycleLROptions {
  OneCycleLROptions(double max_lr, int64_t total_steps) : max_lr_(max_lr), total_steps_(total_steps) {}
  KILN_ARG(double, max_lr);
  KILN_ARG(int64_t, total_steps);
  KILN_ARG(double, pct_start) = 0.3;
  KILN_ARG(std::string, anneal_strategy) = "cos";
  KILN_ARG(bool, cycle_momentum) = true;
  KILN_ARG(double, base_momentum) = 0.85;
  KILN_ARG(double, max_momentum) = 0.95;
  KILN_ARG(double, div_factor) = 25.0;
  KILN_ARG(double, final_div_factor) = 1e4;
  KILN_ARG(bool, three_phase) = false;
};

/// torch.optim.lr_scheduler.ReduceLROnPlateau's options.
struct ReduceLROnPlateauOptions {
  KILN_ARG(std::string, mode) = "min";
  KILN_ARG(double, factor) = 0.1;
  KILN_ARG(int64_t, patience) = 10;
  KILN_ARG(double, threshold) = 1e-4;
  KILN_ARG(std::string, threshold_mode) = "rel";
  KILN_ARG(int64_t, cooldown) = 0;
  KILN_ARG(double, min_lr) = 0.0;
  KILN_ARG(double, eps) = 1e-8;
};

/// torch's constructors, with torch's defaults.
LRScheduler StepLR(int64_t step_size, double gamma = 0.1);
LRScheduler MultiStepLR(std::vector<int64_t> milestones, double gamma = 0.1);
LRScheduler ConstantLR(double factor = 1.0 / 3, int64_t total_iters = 5);
LRScheduler LinearLR(double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);
LRScheduler ExponentialLR(double gamma);
LRScheduler CosineAnnealingLR(int64_t T_max, double eta_min = 0.0);
LRScheduler PolynomialLR(int64_t total_iters = 5, double power = 1.0);
LRScheduler CosineAnnealingWarmRestarts(int64_t T_0, int64_t T_mult = 1, double eta_min = 0.0);
LRScheduler CyclicLR(const CyclicLROptions& options);
LRScheduler OneCycleLR(const OneCycleLROptions& options);
LRScheduler ReduceLROnPlateau(const ReduceLROnPlateauOptions& options = ReduceLROnPlateauOptions());
LRScheduler ChainedScheduler(std::vector<LRScheduler> schedulers);
LRScheduler SequentialLR(std::vector<LRScheduler> schedulers, std::vector<int64_t> milestones);
/// torch.optim.swa_utils.SWALR (anneal_strategy "cos" or "linear"), usually
/// the last scheduler of a SequentialLR.
LRScheduler SWALR(double swa_lr, int64_t anneal_epochs = 10, std::string anneal_strategy = "cos");

}  // namespace kiln::optim
