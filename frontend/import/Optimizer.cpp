// The `optimizer` family of the inventory. An optimizer entry turns its
// options into the `nn.optimizer` module attribute (hyper-parameters as
// written: numbers as f64, flags as bools, pairs as arrays) that
// nn-build-train-step implements: SGD with nn.sgd_update, the others with
// nn.optimizer_update and their rules in passes/optim/. The checks here are
// torch's constructor checks, with JSON paths; nn-build-train-step repeats
// them for hand-written IR.
#include "frontend/import/Registry.h"

#include "ir/FormatNumber.h"
#include "ir/NNDialect.h"

using namespace mlir;

namespace kiln::import {

static DictionaryAttr sgd(OpBuilder &b, const Options &o) {
  bool nesterov = o.getBool("nesterov");
  std::string problem =
      nn::checkSgdOptions(o.getFloat("momentum"), o.getFloat("dampening"),
                          o.getFloat("weight_decay"), nesterov);
  if (!problem.empty())
    fail(o.pathOf("nesterov"), "SGD: " + problem);
  return b.getDictionaryAttr({
      b.getNamedAttr("type", b.getStringAttr("SGD")),
      b.getNamedAttr("lr", b.getF64FloatAttr(o.getFloat("lr"))),
      b.getNamedAttr("momentum", b.getF64FloatAttr(o.getFloat("momentum"))),
      b.getNamedAttr("dampening", b.getF64FloatAttr(o.getFloat("dampening"))),
      b.getNamedAttr("weight_decay",
                     b.getF64FloatAttr(o.getFloat("weight_decay"))),
      b.getNamedAttr("nesterov", b.getBoolAttr(nesterov)),
      b.getNamedAttr("maximize", b.getBoolAttr(o.getBool("maximize"))),
  });
}

/// Every option that changes the numbers, as an attribute; the options
/// torch has for its own execution strategy (foreach, capturable, ...) are
/// left out.
static DictionaryAttr hyperParameters(OpBuilder &b, const std::string &type,
                                      const std::vector<OptionSpec> &specs,
                                      const Options &o) {
  SmallVector<NamedAttribute> attrs{b.getNamedAttr("type", b.getStringAttr(type))};
  for (const OptionSpec &s : specs) {
    if (s.ignored)
      continue;
    Attribute value;
    switch (s.type) {
    case OptionType::Bool:
      value = b.getBoolAttr(o.getBool(s.name));
      break;
    case OptionType::Float:
      value = b.getF64FloatAttr(o.getFloat(s.name));
      break;
    case OptionType::FloatTuple: {
      SmallVector<Attribute> items;
      for (double v : o.getFloats(s.name))
        items.push_back(b.getF64FloatAttr(v));
      value = b.getArrayAttr(items);
      break;
    }
    default:
      fail(o.pathOf(s.name), "internal error: optimizer option of an unexpected kind");
    }
    attrs.push_back(b.getNamedAttr(s.name, value));
  }
  return b.getDictionaryAttr(attrs);
}

/// torch's `0.0 <= betas[i] < 1.0`.
static void checkBetas(const Options &o) {
  std::vector<double> betas = o.getFloats("betas");
  for (size_t i = 0; i < betas.size(); ++i)
    if (!(betas[i] >= 0 && betas[i] < 1))
      fail(o.pathOf("betas") + "[" + std::to_string(i) + "]",
           "Invalid beta parameter at index " + std::to_string(i) + ": " +
               formatExact(betas[i]) + " (must be in [0, 1))");
}

/// Accepted for torch compatibility; they choose torch's implementation
/// strategy, not the numbers.
static std::vector<OptionSpec> strategyOptions(std::initializer_list<const char *> names) {
  std::vector<OptionSpec> specs;
  for (const char *n : names)
    specs.push_back(boolOption(n, false).noEffect());
  return specs;
}

static void addOptimizer(Registry &r, const char *name, const char *lowersTo,
                         std::vector<OptionSpec> options,
                         std::function<void(const Options &)> check = {},
                         std::vector<std::string> constructorOnly = {}) {
  Entry e{name, EntryKind::Optimizer, lowersTo};
  e.options = options;
  e.constructorOnlyOptions = std::move(constructorOnly);
  std::string type = e.torchName.substr(e.torchName.find('.') + 1); // "Adam"
  e.buildOptimizer = [type, options, check](OpBuilder &b, const Options &o) -> DictionaryAttr {
    if (check)
      check(o);
    return hyperParameters(b, type, options, o);
  };
  e.example = {{"options", json::object()}};
  r.add(std::move(e));
}

template <typename... T>
static std::vector<OptionSpec> concat(std::vector<OptionSpec> a, T... rest) {
  (a.insert(a.end(), rest.begin(), rest.end()), ...);
  return a;
}

/// torch.optim.LBFGS(lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
/// tolerance_change=1e-9, history_size=100, line_search_fn=None). No
/// compiled update: the runtime runs torch's algorithm around the
/// gradients kernel (ir/LbfgsOptions.h). max_eval None is written as an
/// absent key (torch's max_iter * 5 // 4 then).
static DictionaryAttr lbfgs(OpBuilder &b, const Options &o) {
  SmallVector<NamedAttribute> attrs{
      b.getNamedAttr("type", b.getStringAttr("LBFGS")),
      b.getNamedAttr("lr", b.getF64FloatAttr(o.getFloat("lr"))),
      b.getNamedAttr("max_iter", b.getI64IntegerAttr(o.getInt("max_iter"))),
      b.getNamedAttr("tolerance_grad", b.getF64FloatAttr(o.getFloat("tolerance_grad"))),
      b.getNamedAttr("tolerance_change", b.getF64FloatAttr(o.getFloat("tolerance_change"))),
      b.getNamedAttr("history_size", b.getI64IntegerAttr(o.getInt("history_size")))};
  if (!o.isNone("max_eval"))
    attrs.push_back(b.getNamedAttr("max_eval", b.getI64IntegerAttr(o.getInt("max_eval"))));
  if (!o.isNone("line_search_fn"))
    attrs.push_back(
        b.getNamedAttr("line_search_fn", b.getStringAttr(o.getString("line_search_fn"))));
  return b.getDictionaryAttr(attrs);
}

void registerOptimizerFamily(Registry &r) {
  // torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0,
  // nesterov=False, maximize=False); lr is required in the model file.
  Entry e{"optim.SGD", EntryKind::Optimizer, "nn.sgd_update"};
  e.options = {floatOption("lr").atLeast(0), floatOption("momentum", 0.0).atLeast(0),
               floatOption("dampening", 0.0), floatOption("weight_decay", 0.0).atLeast(0),
               boolOption("nesterov", false), boolOption("maximize", false)};
  e.buildOptimizer = sgd;
  e.example = {{"options", {{"lr", 0.01}}}};
  r.add(std::move(e));

  const std::vector<double> betas{0.9, 0.999};
  // Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
  // *, foreach, maximize=False, capturable, differentiable, fused)
  addOptimizer(r, "optim.Adam", "nn.optimizer_update (Adam)",
               concat({floatOption("lr", 1e-3).atLeast(0), floatTupleOption("betas", betas),
                       floatOption("eps", 1e-8).atLeast(0),
                       floatOption("weight_decay", 0.0).atLeast(0),
                       boolOption("amsgrad", false), boolOption("maximize", false)},
                      strategyOptions({"foreach", "capturable", "differentiable", "fused"})),
               checkBetas);
  addOptimizer(r, "optim.AdamW", "nn.optimizer_update (AdamW)",
               concat({floatOption("lr", 1e-3).atLeast(0), floatTupleOption("betas", betas),
                       floatOption("eps", 1e-8).atLeast(0),
                       floatOption("weight_decay", 1e-2).atLeast(0),
                       boolOption("amsgrad", false), boolOption("maximize", false)},
                      strategyOptions({"foreach", "capturable"})),
               checkBetas);
  addOptimizer(r, "optim.Adamax", "nn.optimizer_update (Adamax)",
               concat({floatOption("lr", 2e-3).atLeast(0), floatTupleOption("betas", betas),
                       floatOption("eps", 1e-8).atLeast(0),
                       floatOption("weight_decay", 0.0).atLeast(0),
                       boolOption("maximize", false)},
                      strategyOptions({"foreach"})),
               checkBetas);
  // NAdam(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
  // momentum_decay=4e-3, foreach=None)
  addOptimizer(r, "optim.NAdam", "nn.optimizer_update (NAdam)",
               concat({floatOption("lr", 2e-3).atLeast(0), floatTupleOption("betas", betas),
                       floatOption("eps", 1e-8).atLeast(0),
                       floatOption("weight_decay", 0.0).atLeast(0),
                       floatOption("momentum_decay", 4e-3).atLeast(0)},
                      strategyOptions({"foreach"})),
               checkBetas);
  addOptimizer(r, "optim.RAdam", "nn.optimizer_update (RAdam)",
               concat({floatOption("lr", 1e-3).atLeast(0), floatTupleOption("betas", betas),
                       floatOption("eps", 1e-8).atLeast(0),
                       floatOption("weight_decay", 0.0).atLeast(0)},
                      strategyOptions({"foreach"})),
               checkBetas);
  // SparseAdam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False): for
  // the weights of Embedding / EmbeddingBag with sparse=True only (their
  // gradients' rows reach the update as nn.optimizer_update's `rows`).
  addOptimizer(r, "optim.SparseAdam", "nn.optimizer_update (SparseAdam) with the touched rows",
               {floatOption("lr", 1e-3), floatTupleOption("betas", betas),
                floatOption("eps", 1e-8), boolOption("maximize", false)},
               [](const Options &o) {
                 for (const char *key : {"lr", "eps"})
                   if (!(o.getFloat(key) > 0))
                     fail(o.pathOf(key), std::string("Invalid ") +
                                             (key[0] == 'l' ? "learning rate" : "epsilon value") +
                                             ": " + formatExact(o.getFloat(key)) +
                                             " (SparseAdam needs it > 0)");
                 checkBetas(o);
               });
  addOptimizer(r, "optim.Adagrad", "nn.optimizer_update (Adagrad)",
               concat({floatOption("lr", 1e-2).atLeast(0), floatOption("lr_decay", 0.0).atLeast(0),
                       floatOption("weight_decay", 0.0).atLeast(0),
                       floatOption("initial_accumulator_value", 0.0).atLeast(0),
                       floatOption("eps", 1e-10).atLeast(0), boolOption("maximize", false)},
                      strategyOptions({"foreach"})),
               {},
               // torch 1.13's Adagrad.__init__ fills every group's `sum`
               // with the constructor's value (a group's own is ignored;
               // found by the parity sweep of seed 2026).
               {"initial_accumulator_value"});
  addOptimizer(r, "optim.Adadelta", "nn.optimizer_update (Adadelta)",
               concat({floatOption("lr", 1.0).atLeast(0), floatOption("rho", 0.9).inRange(0, 1),
                       floatOption("eps", 1e-6).atLeast(0),
                       floatOption("weight_decay", 0.0).atLeast(0), boolOption("maximize", false)},
                      strategyOptions({"foreach"})));
  addOptimizer(r, "optim.RMSprop", "nn.optimizer_update (RMSprop)",
               concat({floatOption("lr", 1e-2).atLeast(0), floatOption("alpha", 0.99).atLeast(0),
                       floatOption("eps", 1e-8).atLeast(0),
                       floatOption("weight_decay", 0.0).atLeast(0),
                       floatOption("momentum", 0.0).atLeast(0), boolOption("centered", false),
                       boolOption("maximize", false)},
                      strategyOptions({"foreach", "differentiable"})));
  addOptimizer(r, "optim.Rprop", "nn.optimizer_update (Rprop)",
               concat({floatOption("lr", 1e-2).atLeast(0), floatTupleOption("etas", {0.5, 1.2}),
                       floatTupleOption("step_sizes", {1e-6, 50}), boolOption("maximize", false)},
                      strategyOptions({"foreach"})),
               [](const Options &o) {
                 std::vector<double> etas = o.getFloats("etas");
                 if (!(0 < etas[0] && etas[0] < 1 && 1 < etas[1]))
                   fail(o.pathOf("etas"), "Invalid eta values: " + formatExact(etas[0]) +
                                              ", " + formatExact(etas[1]) +
                                              " (need 0 < etaminus < 1 < etaplus)");
               });
  addOptimizer(r, "optim.ASGD", "nn.optimizer_update (ASGD)",
               concat({floatOption("lr", 1e-2).atLeast(0), floatOption("lambd", 1e-4),
                       floatOption("alpha", 0.75), floatOption("t0", 1e6),
                       floatOption("weight_decay", 0.0).atLeast(0), boolOption("maximize", false)},
                      strategyOptions({"foreach"})));

  {
    Entry e{"optim.LBFGS", EntryKind::Optimizer,
            "the runtime's LBFGS driver around the gradients kernel (its closure)"};
    // Integers below 2^31, as the runtime's metadata check wants them; a
    // tolerance may be anything but NaN (negative: never met).
    OptionSpec lineSearch = choiceOption("line_search_fn", "strong_wolfe", {"strong_wolfe"});
    lineSearch.defaultValue = nullptr;
    e.options = {floatOption("lr", 1.0).atLeast(0),
                 intOption("max_iter", 20).inRange(0, 2147483647),
                 intOption("max_eval").inRange(0, 2147483647).orNone(),
                 floatOption("tolerance_grad", 1e-7).orInfinite(),
                 floatOption("tolerance_change", 1e-9).orInfinite(),
                 intOption("history_size", 100).inRange(1, 2147483647),
                 lineSearch.orNone()};
    e.buildOptimizer = lbfgs;
    e.refusesParamGroups = true;
    e.example = {{"options", json::object()}};
    r.add(std::move(e));
  }
}

} // namespace kiln::import
