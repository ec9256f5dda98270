// torch.nn.utils.clip_grad_norm_ and clip_grad_value_ as options of the
// compiled train step (applied between backward and the optimizer update
// by nn-build-train-step), registered as training options so that the
// coverage report reads them off the registry. The checks here carry JSON paths; the pass
// repeats them for hand-written IR.
#include "frontend/import/GradClip.h"

#include "ir/FormatNumber.h"
#include "ir/LbfgsOptions.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace kiln::import {

static const json &object(const json &training, const std::string &key,
                          std::initializer_list<const char *> known) {
  const json &c = training.at(key);
  checkKnownKeys(c, "training." + key, known, "option");
  return c;
}

static double number(const json &c, const std::string &path, const char *key) {
  auto it = c.find(key);
  if (it == c.end())
    fail(path, std::string("missing required field '") + key + "'");
  if (!it->is_number())
    fail(path + "." + key, "expected a number");
  return it->get<double>();
}

/// Clipping sits between the backward and the compiled update; LBFGS's
/// step (the runtime's) re-evaluates the gradients itself and has none.
static void refuseWithLbfgs(ModuleOp module, const std::string &path) {
  if (nn::isLbfgs(module->getAttrOfType<DictionaryAttr>("nn.optimizer")))
    fail(path, "gradient clipping is not supported with LBFGS: its step re-evaluates the "
               "loss and gradients itself, with no point between backward and update");
}

/// training.clip_grad_norm {max_norm, norm_type, error_if_nonfinite}.
static void clipByNorm(OpBuilder &b, ModuleOp module, const json &training) {
  if (training.contains("clip_grad_norm")) {
    const std::string path = "training.clip_grad_norm";
    refuseWithLbfgs(module, path);
    const json &c = object(training, "clip_grad_norm",
                           {"max_norm", "norm_type", "error_if_nonfinite"});
    double maxNorm = number(c, path, "max_norm");
    if (!(maxNorm > 0))
      fail(path + ".max_norm", "must be > 0, got " + formatExact(maxNorm));
    double p = 2;
    if (auto it = c.find("norm_type"); it != c.end()) {
      if (it->is_string() && it->get<std::string>() == "inf")
        p = std::numeric_limits<double>::infinity();
      else if (it->is_number())
        p = it->get<double>();
      else
        fail(path + ".norm_type", "expected a number or \"inf\"");
      if (!(p > 0))
        fail(path + ".norm_type", "norm_type " + formatExact(p) +
                                      " is not supported (a number > 0 or \"inf\")");
    }
    bool errorIfNonfinite = false;
    if (auto it = c.find("error_if_nonfinite"); it != c.end()) {
      if (!it->is_boolean())
        fail(path + ".error_if_nonfinite", "expected true or false");
      errorIfNonfinite = it->get<bool>();
    }
    module->setAttr("nn.clip_grad_norm",
                    b.getDictionaryAttr({
                        b.getNamedAttr("max_norm", b.getF64FloatAttr(maxNorm)),
                        b.getNamedAttr("norm_type", b.getF64FloatAttr(p)),
                        b.getNamedAttr("error_if_nonfinite", b.getBoolAttr(errorIfNonfinite)),
                    }));
  }
}

/// training.clip_grad_value {clip_value}.
static void clipByValue(OpBuilder &b, ModuleOp module, const json &training) {
  if (training.contains("clip_grad_norm") && training.contains("clip_grad_value"))
    fail("training.clip_grad_value",
         "clip_grad_norm and clip_grad_value cannot both be given (choose one)");
  if (training.contains("clip_grad_value")) {
    const std::string path = "training.clip_grad_value";
    refuseWithLbfgs(module, path);
    const json &c = object(training, "clip_grad_value", {"clip_value"});
    double v = number(c, path, "clip_value");
    if (!(v >= 0))
      fail(path + ".clip_value", "must be >= 0, got " + formatExact(v));
    module->setAttr("nn.clip_grad_value",
                    b.getDictionaryAttr({b.getNamedAttr("clip_value", b.getF64FloatAttr(v))}));
  }
}

void registerGradClipFamily(Registry &r) {
  auto add = [&](const char *name, const char *key, const char *attr, json options,
                 const char *lowering,
                 std::function<void(OpBuilder &, ModuleOp, const json &)> build) {
    Entry e{name, EntryKind::TrainingOption, lowering};
    e.example = {{"training", {{key, std::move(options)}}}, {"attr", attr}};
    e.buildTrainingOption = std::move(build);
    r.add(std::move(e));
  };
  const char *byNorm = "nn-build-train-step: every gradient scaled by "
                       "min(1, max_norm / (total norm + 1e-6)) before the update";
  add("clip_grad_norm_", "clip_grad_norm", "nn.clip_grad_norm", {{"max_norm", 1.0}}, byNorm,
      clipByNorm);
  // torch's deprecated spelling of clip_grad_norm_: the same training key.
  add("clip_grad_norm", "clip_grad_norm", "nn.clip_grad_norm", {{"max_norm", 1.0}}, byNorm,
      nullptr);
  add("clip_grad_value_", "clip_grad_value", "nn.clip_grad_value", {{"clip_value", 0.5}},
      "nn-build-train-step: every gradient clamped to [-clip_value, clip_value] before "
      "the update",
      clipByValue);
}

void addGradClip(OpBuilder &b, ModuleOp module, const json &training) {
  if (!training.is_object())
    return; // the caller reports a malformed training section
  for (const Entry &e : registry().entries())
    if (e.kind == EntryKind::TrainingOption && e.buildTrainingOption)
      e.buildTrainingOption(b, module, training);
}

} // namespace kiln::import
