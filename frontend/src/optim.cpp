#include "kiln/optim.h"

#include <cmath>
#include <string>

#include "ir/FormatNumber.h"
#include "kiln/error.h"

namespace kiln::optim {

Optimizer::~Optimizer() = default;

void Optimizer::set_param_groups(std::vector<ParamGroup> groups) {
  if (groups.empty()) detail::fail(std::string(type_name()) + ": no parameter groups (pass at least one ParamGroup)");
  groups_ = std::move(groups);
}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults) : SGD(defaults) {
  set_param_groups(std::move(groups));
}

SGD::SGD(const SGDOptions& o) : options_(o) {
  auto check = [](bool ok, const std::string& what) {
    if (!ok) detail::fail("SGD: " + what);
  };
  // The model file is JSON, which has no NaN or infinity.
  check(std::isfinite(o.lr()) && o.lr() >= 0, "invalid learning rate " + formatExact(o.lr()) + " (must be >= 0)");
  check(std::isfinite(o.momentum()) && o.momentum() >= 0,
        "invalid momentum " + formatExact(o.momentum()) + " (must be >= 0)");
  check(std::isfinite(o.dampening()), "invalid dampening " + formatExact(o.dampening()));
  check(std::isfinite(o.weight_decay()) && o.weight_decay() >= 0,
        "invalid weight_decay " + formatExact(o.weight_decay()) + " (must be >= 0)");
  check(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0),
        "nesterov momentum requires a momentum > 0 and zero dampening (got momentum " +
            formatExact(o.momentum()) + ", dampening " + formatExact(o.dampening()) + ")");
}

OptionList SGD::option_list() const {
  return {{"lr", options_.lr()},
          {"momentum", options_.momentum()},
          {"dampening", options_.dampening()},
          {"weight_decay", options_.weight_decay()},
          {"nesterov", options_.nesterov()},
          {"maximize", options_.maximize()}};
}

namespace {

void check(const char* optimizer, bool ok, const std::string& what) {
  if (!ok) detail::fail(std::string(optimizer) + ": " + what);
}

void atLeastZero(const char* optimizer, const char* name, double v) {
  check(optimizer, std::isfinite(v) && v >= 0, std::string("invalid ") + name + " " + formatExact(v) + " (must be >= 0)");
}

void checkBetas(const char* optimizer, const std::vector<double>& betas) {
  check(optimizer, betas.size() == 2, "betas must be a pair");
  for (size_t i = 0; i < betas.size(); ++i)
    check(optimizer, betas[i] >= 0 && betas[i] < 1,
          "invalid beta parameter at index " + std::to_string(i) + ": " + formatExact(betas[i]) + " (must be in [0, 1))");
}

template <typename O>
void checkAdamLike(const char* optimizer, const O& o) {
  atLeastZero(optimizer, "learning rate", o.lr());
  atLeastZero(optimizer, "eps", o.eps());
  atLeastZero(optimizer, "weight_decay", o.weight_decay());
  checkBetas(optimizer, o.betas());
}

}  // namespace

Adam::Adam(const AdamOptions& o) : options_(o) { checkAdamLike("Adam", o); }
Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults) : Adam(defaults) {
  set_param_groups(std::move(groups));
}
OptionList Adam::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"betas", o.betas()}, {"eps", o.eps()}, {"weight_decay", o.weight_decay()},
          {"amsgrad", o.amsgrad()}, {"maximize", o.maximize()}};
}

AdamW::AdamW(const AdamWOptions& o) : options_(o) { checkAdamLike("AdamW", o); }
AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults) : AdamW(defaults) {
  set_param_groups(std::move(groups));
}
OptionList AdamW::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"betas", o.betas()}, {"eps", o.eps()}, {"weight_decay", o.weight_decay()},
          {"amsgrad", o.amsgrad()}, {"maximize", o.maximize()}};
}

Adamax::Adamax(const AdamaxOptions& o) : options_(o) { checkAdamLike("Adamax", o); }
Adamax::Adamax(std::vector<ParamGroup> groups, const AdamaxOptions& defaults) : Adamax(defaults) {
  set_param_groups(std::move(groups));
}
OptionList Adamax::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"betas", o.betas()}, {"eps", o.eps()}, {"weight_decay", o.weight_decay()},
          {"maximize", o.maximize()}};
}

NAdam::NAdam(const NAdamOptions& o) : options_(o) {
  checkAdamLike("NAdam", o);
  atLeastZero("NAdam", "momentum_decay", o.momentum_decay());
}
NAdam::NAdam(std::vector<ParamGroup> groups, const NAdamOptions& defaults) : NAdam(defaults) {
  set_param_groups(std::move(groups));
}
OptionList NAdam::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"betas", o.betas()}, {"eps", o.eps()}, {"weight_decay", o.weight_decay()},
          {"momentum_decay", o.momentum_decay()}};
}

RAdam::RAdam(const RAdamOptions& o) : options_(o) { checkAdamLike("RAdam", o); }
RAdam::RAdam(std::vector<ParamGroup> groups, const RAdamOptions& defaults) : RAdam(defaults) {
  set_param_groups(std::move(groups));
}
OptionList RAdam::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"betas", o.betas()}, {"eps", o.eps()}, {"weight_decay", o.weight_decay()}};
}

Adagrad::Adagrad(const AdagradOptions& o) : options_(o) {
  atLeastZero("Adagrad", "learning rate", o.lr());
  atLeastZero("Adagrad", "lr_decay", o.lr_decay());
  atLeastZero("Adagrad", "weight_decay", o.weight_decay());
  atLeastZero("Adagrad", "initial_accumulator_value", o.initial_accumulator_value());
  atLeastZero("Adagrad", "eps", o.eps());
}
Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& defaults) : Adagrad(defaults) {
  set_param_groups(std::move(groups));
}
OptionList Adagrad::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"lr_decay", o.lr_decay()}, {"weight_decay", o.weight_decay()},
          {"initial_accumulator_value", o.initial_accumulator_value()}, {"eps", o.eps()},
          {"maximize", o.maximize()}};
}

Adadelta::Adadelta(const AdadeltaOptions& o) : options_(o) {
  atLeastZero("Adadelta", "learning rate", o.lr());
  check("Adadelta", o.rho() >= 0 && o.rho() <= 1, "invalid rho " + formatExact(o.rho()) + " (must be in [0, 1])");
  atLeastZero("Adadelta", "eps", o.eps());
  atLeastZero("Adadelta", "weight_decay", o.weight_decay());
}
Adadelta::Adadelta(std::vector<ParamGroup> groups, const AdadeltaOptions& defaults) : Adadelta(defaults) {
  set_param_groups(std::move(groups));
}
OptionList Adadelta::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"rho", o.rho()}, {"eps", o.eps()}, {"weight_decay", o.weight_decay()},
          {"maximize", o.maximize()}};
}

RMSprop::RMSprop(const RMSpropOptions& o) : options_(o) {
  atLeastZero("RMSprop", "learning rate", o.lr());
  atLeastZero("RMSprop", "alpha", o.alpha());
  atLeastZero("RMSprop", "eps", o.eps());
  atLeastZero("RMSprop", "weight_decay", o.weight_decay());
  atLeastZero("RMSprop", "momentum", o.momentum());
}
RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& defaults) : RMSprop(defaults) {
  set_param_groups(std::move(groups));
}
OptionList RMSprop::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"alpha", o.alpha()}, {"eps", o.eps()}, {"weight_decay", o.weight_decay()},
          {"momentum", o.momentum()}, {"centered", o.centered()}, {"maximize", o.maximize()}};
}

Rprop::Rprop(const RpropOptions& o) : options_(o) {
  atLeastZero("Rprop", "learning rate", o.lr());
  check("Rprop", o.etas().size() == 2 && o.step_sizes().size() == 2, "etas and step_sizes must be pairs");
  check("Rprop", 0 < o.etas()[0] && o.etas()[0] < 1 && 1 < o.etas()[1],
        "invalid eta values " + formatExact(o.etas()[0]) + ", " + formatExact(o.etas()[1]) +
            " (need 0 < etaminus < 1 < etaplus)");
}
Rprop::Rprop(std::vector<ParamGroup> groups, const RpropOptions& defaults) : Rprop(defaults) {
  set_param_groups(std::move(groups));
}
OptionList Rprop::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"etas", o.etas()}, {"step_sizes", o.step_sizes()}, {"maximize", o.maximize()}};
}

ASGD::ASGD(const ASGDOptions& o) : options_(o) {
  atLeastZero("ASGD", "learning rate", o.lr());
  atLeastZero("ASGD", "weight_decay", o.weight_decay());
  check("ASGD", std::isfinite(o.lambd()) && std::isfinite(o.alpha()) && std::isfinite(o.t0()),
        "lambd, alpha and t0 must be finite");
}
ASGD::ASGD(std::vector<ParamGroup> groups, const ASGDOptions& defaults) : ASGD(defaults) {
  set_param_groups(std::move(groups));
}
OptionList ASGD::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"lambd", o.lambd()}, {"alpha", o.alpha()}, {"t0", o.t0()},
          {"weight_decay", o.weight_decay()}, {"maximize", o.maximize()}};
}

LBFGS::LBFGS(const LBFGSOptions& o) : options_(o) {
  atLeastZero("LBFGS", "learning rate", o.lr());
  check("LBFGS", o.max_iter() >= 0, "invalid max_iter " + std::to_string(o.max_iter()) + " (must be >= 0)");
  check("LBFGS", !o.max_eval() || *o.max_eval() >= 0,
        "invalid max_eval " + std::to_string(o.max_eval().value_or(0)) + " (must be >= 0)");
  check("LBFGS", o.history_size() >= 1,
        "invalid history_size " + std::to_string(o.history_size()) + " (must be >= 1)");
  // JSON has no NaN: a tolerance may be infinite ("inf" in the model file),
  // never NaN.
  check("LBFGS", !std::isnan(o.tolerance_grad()) && !std::isnan(o.tolerance_change()),
        "tolerance_grad and tolerance_change must not be NaN");
  check("LBFGS", !o.line_search_fn() || *o.line_search_fn() == "strong_wolfe",
        "only 'strong_wolfe' is supported as line_search_fn");
}

OptionList LBFGS::option_list() const {
  const auto& o = options_;
  auto number = [](double v) -> OptionValue {
    if (std::isinf(v)) return std::string(v > 0 ? "inf" : "-inf");
    return v;
  };
  OptionValue max_eval = nullptr, line_search = nullptr;
  if (o.max_eval()) max_eval = *o.max_eval();
  if (o.line_search_fn()) line_search = *o.line_search_fn();
  return {{"lr", o.lr()},
          {"max_iter", o.max_iter()},
          {"max_eval", max_eval},
          {"tolerance_grad", number(o.tolerance_grad())},
          {"tolerance_change", number(o.tolerance_change())},
          {"history_size", o.history_size()},
          {"line_search_fn", line_search}};
}

// Learning-rate schedulers: the options as torch names them; kilnc checks
// the values (frontend/import/Scheduler.cpp).
LRScheduler StepLR(int64_t step_size, double gamma) {
  return {"StepLR", {{"step_size", step_size}, {"gamma", gamma}}, {}};
}
LRScheduler MultiStepLR(std::vector<int64_t> milestones, double gamma) {
  return {"MultiStepLR", {{"milestones", std::move(milestones)}, {"gamma", gamma}}, {}};
}
LRScheduler ConstantLR(double factor, int64_t total_iters) {
  return {"ConstantLR", {{"factor", factor}, {"total_iters", total_iters}}, {}};
}
LRScheduler LinearLR(double start_factor, double end_factor, int64_t total_iters) {
  return {"LinearLR",
          {{"start_factor", start_factor}, {"end_factor", end_factor}, {"total_iters", total_iters}},
          {}};
}
LRScheduler ExponentialLR(double gamma) { return {"ExponentialLR", {{"gamma", gamma}}, {}}; }
LRScheduler CosineAnnealingLR(int64_t T_max, double eta_min) {
  return {"CosineAnnealingLR", {{"T_max", T_max}, {"eta_min", eta_min}}, {}};
}
LRScheduler PolynomialLR(int64_t total_iters, double power) {
  return {"PolynomialLR", {{"total_iters", total_iters}, {"power", power}}, {}};
}
LRScheduler CosineAnnealingWarmRestarts(int64_t T_0, int64_t T_mult, double eta_min) {
  return {"CosineAnnealingWarmRestarts", {{"T_0", T_0}, {"T_mult", T_mult}, {"eta_min", eta_min}}, {}};
}
LRScheduler CyclicLR(const CyclicLROptions& o) {
  OptionValue down = nullptr;
  if (o.step_size_down() >= 0) down = o.step_size_down();
  return {"CyclicLR",
          {{"base_lr", o.base_lr()},
           {"max_lr", o.max_lr()},
           {"step_size_up", o.step_size_up()},
           {"step_size_down", down},
           {"mode", o.mode()},
           {"gamma", o.gamma()},
           {"cycle_momentum", o.cycle_momentum()},
           {"base_momentum", o.base_momentum()},
           {"max_momentum", o.max_momentum()}},
          {}};
}
LRScheduler OneCycleLR(const OneCycleLROptions& o) {
  return {"OneCycleLR",
          {{"max_lr", o.max_lr()},
           {"total_steps", o.total_steps()},
           {"epochs", nullptr},  // torch's alternative to total_steps
           {"steps_per_epoch", nullptr},
           {"pct_start", o.pct_start()},
           {"anneal_strategy", o.anneal_strategy()},
           {"cycle_momentum", o.cycle_momentum()},
           {"base_momentum", o.base_momentum()},
           {"max_momentum", o.max_momentum()},
           {"div_factor", o.div_factor()},
           {"final_div_factor", o.final_div_factor()},
           {"three_phase", o.three_phase()}},
          {}};
}
LRScheduler ReduceLROnPlateau(const ReduceLROnPlateauOptions& o) {
  return {"ReduceLROnPlateau",
          {{"mode", o.mode()},
           {"factor", o.factor()},
           {"patience", o.patience()},
           {"threshold", o.threshold()},
           {"threshold_mode", o.threshold_mode()},
           {"cooldown", o.cooldown()},
           {"min_lr", o.min_lr()},
           {"eps", o.eps()}},
          {}};
}
LRScheduler ChainedScheduler(std::vector<LRScheduler> schedulers) {
  return {"ChainedScheduler", {}, std::move(schedulers)};
}
LRScheduler SequentialLR(std::vector<LRScheduler> schedulers, std::vector<int64_t> milestones) {
  return {"SequentialLR", {{"milestones", std::move(milestones)}}, std::move(schedulers)};
}
LRScheduler SWALR(double swa_lr, int64_t anneal_epochs, std::string anneal_strategy) {
  return {"SWALR",
          {{"swa_lr", swa_lr}, {"anneal_epochs", anneal_epochs},
           {"anneal_strategy", std::move(anneal_strategy)}},
          {}};
}


SparseAdam::SparseAdam(const SparseAdamOptions& o) : options_(o) {
  check("SparseAdam", std::isfinite(o.lr()) && o.lr() > 0,
        "invalid learning rate " + formatExact(o.lr()) + " (must be > 0)");
  check("SparseAdam", std::isfinite(o.eps()) && o.eps() > 0,
        "invalid epsilon value " + formatExact(o.eps()) + " (must be > 0)");
  checkBetas("SparseAdam", o.betas());
}
SparseAdam::SparseAdam(std::vector<ParamGroup> groups, const SparseAdamOptions& defaults)
    : SparseAdam(defaults) {
  set_param_groups(std::move(groups));
}
OptionList SparseAdam::option_list() const {
  const auto& o = options_;
  return {{"lr", o.lr()}, {"betas", o.betas()}, {"eps", o.eps()}, {"maximize", o.maximize()}};
}

}  // namespace kiln::optim
