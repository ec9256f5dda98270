// The `lr-scheduler` family of the inventory: torch.optim.lr_scheduler
// declared in the model file's training section,
//   "scheduler": {"type": "SequentialLR", "options": {"milestones": [5]},
//                 "schedulers": [{"type": "LinearLR", ...}, {...}]}
// Schedules run in the runtime (kiln/scheduler.h, docs/design.md
// "Learning-rate schedules"), so the importer only checks the declaration
// (torch's constructor checks, with JSON paths) and records it as the
// module attribute nn.scheduler {kind, args, children} in the runtime's
// argument order; the generated header's <prefix>_scheduler_create builds
// it. LambdaLR and MultiplicativeLR take a function, which a model file
// cannot hold: they are created in C (kiln_scheduler_create_spec).
#include "frontend/import/Scheduler.h"

#include "ir/FormatNumber.h"

#include <kiln/scheduler.h>

#include <cmath>

using namespace mlir;

namespace kiln::import {

namespace {

using Args = std::pair<int32_t, std::vector<double>>;

OptionSpec verbose() { return boolOption("verbose", false).noEffect(); }

std::vector<double> ints(const Options &o, const std::string &name) {
  std::vector<double> out;
  for (int64_t v : o.getInts(name))
    out.push_back(static_cast<double>(v));
  return out;
}

/// Milestones in increasing order (torch's documented precondition; a
/// SequentialLR with unordered milestones switches schedulers at random).
std::vector<double> increasing(const Options &o, const std::string &name) {
  std::vector<double> m = ints(o, name);
  for (size_t i = 1; i < m.size(); ++i)
    if (!(m[i] > m[i - 1]))
      fail(o.pathOf(name) + "[" + std::to_string(i) + "]",
           "milestones must be increasing, got " + formatExact(m[i - 1]) + " then " +
               formatExact(m[i]));
  return m;
}

/// Whether a scheduler node sets the optimizer's momentum (or beta1) every
/// step: CyclicLR's and OneCycleLR's cycle_momentum (their args 7 and 4,
/// kiln/scheduler.h).
bool cyclesMomentum(int32_t kind, const std::vector<double> &args) {
  return (kind == KILN_SCHEDULER_CYCLIC && args[7] != 0) ||
         (kind == KILN_SCHEDULER_ONE_CYCLE && args[4] != 0);
}

/// With cycle_momentum the compiled step reads each group's momentum (SGD,
/// RMSprop) or beta1 (the Adam family) from a runtime scalar that the
/// scheduler sets: marks nn.optimizer (and each group) with cycle_momentum.
/// torch 1.13 refuses what it cannot cycle: CyclicLR needs a `momentum`
/// (SGD, RMSprop), OneCycleLR a `momentum` or `betas` (NAdam too: its
/// mu_product is a scalar state of the compiled step).
/// `path` is the cycle_momentum of the first cycling node, `needsMomentum`
/// whether a CyclicLR cycles.
void markCycledMomentum(OpBuilder &b, ModuleOp module, const std::string &path,
                        bool needsMomentum) {
  auto dict = module->getAttrOfType<DictionaryAttr>("nn.optimizer");
  // The optimizer and those of groups with their own type (several torch
  // optimizers, each with this scheduler).
  std::vector<std::string> names;
  auto addType = [&](DictionaryAttr d) {
    if (auto type = d ? d.getAs<StringAttr>("type") : StringAttr())
      names.push_back(type.getValue().str());
  };
  addType(dict);
  if (auto groups = dict ? dict.getAs<ArrayAttr>("param_groups") : ArrayAttr())
    for (Attribute g : groups)
      addType(dyn_cast<DictionaryAttr>(g));
  if (names.empty())
    names.push_back("?");
  for (const std::string &name : names) {
    const bool hasMomentum = name == "SGD" || name == "RMSprop";
    const bool hasBetas = name == "Adam" || name == "AdamW" || name == "Adamax" ||
                          name == "RAdam" || name == "NAdam" || name == "SparseAdam";
    if (!hasMomentum && (needsMomentum || !hasBetas))
      fail(path, "optimizer must support momentum with `cycle_momentum` option enabled (" +
                     name +
                     (needsMomentum ? " has no momentum, which CyclicLR cycles)"
                                    : " has neither momentum nor betas)"));
  }
  auto mark = [&](DictionaryAttr d) {
    NamedAttrList attrs(d);
    attrs.set("cycle_momentum", b.getBoolAttr(true));
    return attrs.getDictionary(b.getContext());
  };
  NamedAttrList top(mark(dict));
  if (auto groups = dict.getAs<ArrayAttr>("param_groups")) {
    SmallVector<Attribute> marked;
    for (Attribute g : groups)
      marked.push_back(mark(cast<DictionaryAttr>(g)));
    top.set("param_groups", b.getArrayAttr(marked));
  }
  module->setAttr("nn.optimizer", top.getDictionary(b.getContext()));
}

void add(Registry &r, const char *name, std::vector<OptionSpec> options, json example,
         SchedulerBuild build, const char *module = "optim.lr_scheduler.") {
  Entry e{std::string(module) + name, EntryKind::Scheduler, "kiln_scheduler (runtime)"};
  options.push_back(verbose());
  e.options = std::move(options);
  e.example = {{"options", std::move(example)}};
  e.buildScheduler = std::move(build);
  r.add(std::move(e));
}

bool combines(int32_t kind) {
  return kind == KILN_SCHEDULER_CHAINED || kind == KILN_SCHEDULER_SEQUENTIAL;
}

/// What cycles momentum: the cycle_momentum path of the first node that
/// does, and whether a CyclicLR does.
struct Cycling {
  std::string path;
  bool cyclic = false;
};

Attribute schedulerAttr(OpBuilder &b, const json &node, const std::string &path, int depth,
                        Cycling &cycling) {
  if (!node.is_object())
    fail(path, "expected an object {\"type\", \"options\"}");
  for (auto it = node.begin(); it != node.end(); ++it)
    if (it.key() != "type" && it.key() != "options" && it.key() != "schedulers")
      fail(path + "." + it.key(), "unknown key '" + it.key() +
                                      "' (a scheduler has type, options and, for "
                                      "ChainedScheduler and SequentialLR, schedulers)");
  auto type = node.find("type");
  if (type == node.end() || !type->is_string())
    fail(path + ".type", "expected the scheduler's type as a string");
  const std::string name = type->get<std::string>();
  if (name == "LambdaLR" || name == "MultiplicativeLR")
    fail(path + ".type", name + " takes a Python function, which a model file cannot hold: "
                                "create it in C with kiln_scheduler_create_spec and a "
                                "kiln_scheduler_fn");
  const Entry *entry = registry().lookup(EntryKind::Scheduler, name);
  if (!entry)
    fail(path + ".type", "unknown scheduler '" + name + "' (supported: " +
                             registry().supportedNames(EntryKind::Scheduler) + ")");
  auto given = node.find("options");
  Options options = parseOptions(*entry, given == node.end() ? json() : *given, path + ".options");
  auto [kind, args] = entry->buildScheduler(options);
  if (cyclesMomentum(kind, args)) {
    if (cycling.path.empty())
      cycling.path = path + ".options.cycle_momentum";
    cycling.cyclic |= kind == KILN_SCHEDULER_CYCLIC;
  }

  SmallVector<Attribute> children;
  auto kids = node.find("schedulers");
  if (!combines(kind) && kids != node.end())
    fail(path + ".schedulers", name + " combines no schedulers");
  if (combines(kind)) {
    if (kids == node.end() || !kids->is_array() || kids->empty())
      fail(path + ".schedulers", name + " needs a non-empty array of schedulers");
    if (depth >= 8)
      fail(path + ".schedulers", "schedulers nest deeper than 8 levels");
    if (kind == KILN_SCHEDULER_SEQUENTIAL && kids->size() != args.size() + 1)
      fail(path + ".options.milestones",
           "SequentialLR expects one milestone fewer than schedulers, got " +
               std::to_string(args.size()) + " milestones and " +
               std::to_string(kids->size()) + " schedulers");
    for (size_t i = 0; i < kids->size(); ++i) {
      const std::string at = path + ".schedulers[" + std::to_string(i) + "]";
      const json &kid = (*kids)[i];
      if (kid.is_object() && kid.contains("type") && kid["type"].is_string()) {
        const std::string k = kid["type"].get<std::string>();
        if (k == "ReduceLROnPlateau")
          fail(at + ".type", "ReduceLROnPlateau cannot be combined (its step needs a metric)");
        if (kind == KILN_SCHEDULER_SEQUENTIAL && (k == "ChainedScheduler" || k == "SequentialLR"))
          fail(at + ".type", "SequentialLR cannot contain " + k + " (torch cannot rewind it)");
      }
      children.push_back(schedulerAttr(b, kid, at, depth + 1, cycling));
    }
  }
  return b.getDictionaryAttr({
      b.getNamedAttr("kind", b.getI32IntegerAttr(kind)),
      b.getNamedAttr("args", b.getDenseF64ArrayAttr(args)),
      b.getNamedAttr("children", b.getArrayAttr(children)),
  });
}

} // namespace

void addScheduler(OpBuilder &b, ModuleOp module, const json &training) {
  if (!training.is_object() || !training.contains("scheduler"))
    return;
  Cycling cycling;
  module->setAttr("nn.scheduler",
                  schedulerAttr(b, training["scheduler"], "training.scheduler", 0, cycling));
  if (!cycling.path.empty())
    markCycledMomentum(b, module, cycling.path, cycling.cyclic);
}

void registerSchedulerFamily(Registry &r) {
  add(r, "StepLR", {intOption("step_size").atLeast(1), floatOption("gamma", 0.1)},
      {{"step_size", 30}}, [](const Options &o) -> Args {
        return {KILN_SCHEDULER_STEP, {static_cast<double>(o.getInt("step_size")), o.getFloat("gamma")}};
      });
  add(r, "MultiStepLR",
      {intListOption("milestones").atLeast(0), floatOption("gamma", 0.1)},
      {{"milestones", {30, 80}}}, [](const Options &o) -> Args {
        std::vector<double> a{o.getFloat("gamma")};
        for (double m : increasing(o, "milestones"))
          a.push_back(m);
        return {KILN_SCHEDULER_MULTI_STEP, a};
      });
  add(r, "ConstantLR",
      {floatOption("factor", 1.0 / 3).inRange(0, 1), intOption("total_iters", 5).atLeast(0)},
      json::object(), [](const Options &o) -> Args {
        if (!(o.getFloat("factor") > 0))
          fail(o.pathOf("factor"), "must be > 0 (torch divides by it at total_iters)");
        return {KILN_SCHEDULER_CONSTANT,
                {o.getFloat("factor"), static_cast<double>(o.getInt("total_iters"))}};
      });
  add(r, "LinearLR",
      {floatOption("start_factor", 1.0 / 3).inRange(0, 1), floatOption("end_factor", 1.0).inRange(0, 1),
       intOption("total_iters", 5).atLeast(0)},
      json::object(), [](const Options &o) -> Args {
        if (!(o.getFloat("start_factor") > 0))
          fail(o.pathOf("start_factor"), "must be in (0, 1], got 0");
        return {KILN_SCHEDULER_LINEAR,
                {o.getFloat("start_factor"), o.getFloat("end_factor"),
                 static_cast<double>(o.getInt("total_iters"))}};
      });
  add(r, "ExponentialLR", {floatOption("gamma")}, {{"gamma", 0.95}},
      [](const Options &o) -> Args { return {KILN_SCHEDULER_EXPONENTIAL, {o.getFloat("gamma")}}; });
  add(r, "CosineAnnealingLR", {intOption("T_max").atLeast(1), floatOption("eta_min", 0.0)},
      {{"T_max", 50}}, [](const Options &o) -> Args {
        return {KILN_SCHEDULER_COSINE_ANNEALING,
                {static_cast<double>(o.getInt("T_max")), o.getFloat("eta_min")}};
      });
  add(r, "PolynomialLR", {intOption("total_iters", 5).atLeast(0), floatOption("power", 1.0)},
      json::object(), [](const Options &o) -> Args {
        return {KILN_SCHEDULER_POLYNOMIAL,
                {static_cast<double>(o.getInt("total_iters")), o.getFloat("power")}};
      });
  add(r, "CosineAnnealingWarmRestarts",
      {intOption("T_0").atLeast(1), intOption("T_mult", 1).atLeast(1), floatOption("eta_min", 0.0)},
      {{"T_0", 10}}, [](const Options &o) -> Args {
        return {KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS,
                {static_cast<double>(o.getInt("T_0")), static_cast<double>(o.getInt("T_mult")),
                 o.getFloat("eta_min")}};
      });
  add(r, "CyclicLR",
      {floatOption("base_lr").atLeast(0), floatOption("max_lr").atLeast(0),
       floatOption("step_size_up", 2000.0), floatOption("step_size_down").orNone(),
       choiceOption("mode", "triangular", {"triangular", "triangular2", "exp_range"}),
       floatOption("gamma", 1.0),
       choiceOption("scale_mode", "cycle", {"cycle", "iterations"}).noEffect(),
       boolOption("cycle_momentum", true), floatOption("base_momentum", 0.8),
       floatOption("max_momentum", 0.9)},
      {{"base_lr", 0.001}, {"max_lr", 0.1}, {"cycle_momentum", false}},
      [](const Options &o) -> Args {
        const double up = o.getFloat("step_size_up");
        if (!(up > 0))
          fail(o.pathOf("step_size_up"), "must be > 0, got " + formatExact(up));
        const double down = o.isNone("step_size_down") ? up : o.getFloat("step_size_down");
        if (!(down >= 0))
          fail(o.pathOf("step_size_down"), "must be >= 0, got " + formatExact(down));
        const std::string mode = o.getString("mode");
        const double m = mode == "triangular" ? 0 : mode == "triangular2" ? 1 : 2;
        return {KILN_SCHEDULER_CYCLIC,
                {o.getFloat("base_lr"), o.getFloat("max_lr"), up, down, m, o.getFloat("gamma"), 0,
                 o.getBool("cycle_momentum") ? 1.0 : 0.0, o.getFloat("base_momentum"),
                 o.getFloat("max_momentum")}};
      });
  add(r, "OneCycleLR",
      {floatOption("max_lr").atLeast(0), intOption("total_steps").orNone(),
       intOption("epochs").orNone(), intOption("steps_per_epoch").orNone(),
       floatOption("pct_start", 0.3).inRange(0, 1),
       choiceOption("anneal_strategy", "cos", {"cos", "linear"}),
       boolOption("cycle_momentum", true), floatOption("base_momentum", 0.85),
       floatOption("max_momentum", 0.95), floatOption("div_factor", 25.0),
       floatOption("final_div_factor", 1e4), boolOption("three_phase", false)},
      {{"max_lr", 0.1}, {"total_steps", 100}, {"cycle_momentum", false}},
      [](const Options &o) -> Args {
        double total = 0;
        if (!o.isNone("total_steps")) {
          if (o.getInt("total_steps") <= 0)
            fail(o.pathOf("total_steps"), "Expected positive integer total_steps, got " +
                                              std::to_string(o.getInt("total_steps")));
          total = static_cast<double>(o.getInt("total_steps"));
        } else {
          if (o.isNone("epochs") || o.isNone("steps_per_epoch"))
            fail(o.pathOf("total_steps"),
                 "You must define either total_steps OR (epochs AND steps_per_epoch)");
          for (const char *k : {"epochs", "steps_per_epoch"})
            if (o.getInt(k) <= 0)
              fail(o.pathOf(k), std::string("Expected positive integer ") + k + ", got " +
                                    std::to_string(o.getInt(k)));
          total = static_cast<double>(o.getInt("epochs")) *
                  static_cast<double>(o.getInt("steps_per_epoch"));
        }
        for (const char *k : {"div_factor", "final_div_factor"})
          if (!(o.getFloat(k) > 0))
            fail(o.pathOf(k), "must be > 0, got " + formatExact(o.getFloat(k)));
        return {KILN_SCHEDULER_ONE_CYCLE,
                {o.getFloat("max_lr"), total, o.getFloat("pct_start"),
                 o.getString("anneal_strategy") == "cos" ? 0.0 : 1.0,
                 o.getBool("cycle_momentum") ? 1.0 : 0.0,
                 o.getFloat("base_momentum"), o.getFloat("max_momentum"), o.getFloat("div_factor"),
                 o.getFloat("final_div_factor"), o.getBool("three_phase") ? 1.0 : 0.0}};
      });
  add(r, "ReduceLROnPlateau",
      {choiceOption("mode", "min", {"min", "max"}), floatOption("factor", 0.1),
       intOption("patience", 10).atLeast(0), floatOption("threshold", 1e-4),
       choiceOption("threshold_mode", "rel", {"rel", "abs"}), intOption("cooldown", 0).atLeast(0),
       floatOption("min_lr", 0.0).atLeast(0), floatOption("eps", 1e-8).atLeast(0)},
      json::object(), [](const Options &o) -> Args {
        if (!(o.getFloat("factor") < 1))
          fail(o.pathOf("factor"), "Factor should be < 1.0, got " + formatExact(o.getFloat("factor")));
        return {KILN_SCHEDULER_REDUCE_ON_PLATEAU,
                {o.getString("mode") == "min" ? 0.0 : 1.0, o.getFloat("factor"),
                 static_cast<double>(o.getInt("patience")), o.getFloat("threshold"),
                 o.getString("threshold_mode") == "rel" ? 0.0 : 1.0,
                 static_cast<double>(o.getInt("cooldown")), o.getFloat("min_lr"),
                 o.getFloat("eps")}};
      });
  add(r, "ChainedScheduler", {}, json::object(),
      [](const Options &) -> Args { return {KILN_SCHEDULER_CHAINED, {}}; });
  add(r, "SequentialLR", {intListOption("milestones").atLeast(1)}, {{"milestones", {5}}},
      [](const Options &o) -> Args {
        return {KILN_SCHEDULER_SEQUENTIAL, increasing(o, "milestones")};
      });
  // Usually after another schedule: SequentialLR [..., SWALR] (one
  // parameter group, so swa_lr is one number).
  add(
      r, "SWALR",
      {floatOption("swa_lr"), intOption("anneal_epochs", 10).atLeast(0),
       choiceOption("anneal_strategy", "cos", {"cos", "linear"})},
      {{"swa_lr", 0.05}}, [](const Options &o) -> Args {
        return {KILN_SCHEDULER_SWA,
                {o.getFloat("swa_lr"), static_cast<double>(o.getInt("anneal_epochs")),
                 o.getString("anneal_strategy") == "cos" ? 0.0 : 1.0}};
      },
      "optim.swa_utils.");
  // AveragedModel averages a model instance's parameters between steps:
  // a runtime helper (kiln/swa.h), not part of the model file.
  r.add(Entry{"optim.swa_utils.AveragedModel", EntryKind::Runtime,
              "kiln_averaged_model (runtime, kiln/swa.h)"});
  // LambdaLR and MultiplicativeLR take a function, which a model file cannot
  // hold (schedulerAttr refuses them with that reason): the runtime builds
  // them from a C kiln_scheduler_fn (checked against torch with the
  // functions of tests/sched/check_schedulers.py).
  for (const char *name : {"LambdaLR", "MultiplicativeLR"})
    r.add(Entry{std::string("optim.lr_scheduler.") + name, EntryKind::Runtime,
                "kiln_scheduler (runtime, kiln/scheduler.h: kiln_scheduler_create_spec with a "
                "kiln_scheduler_fn as lr_lambda; C API only)"});
}

} // namespace kiln::import
