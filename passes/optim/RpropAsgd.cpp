// torch.optim.Rprop and torch.optim.ASGD (1.13, single-tensor code): the
// two optimizers whose torch state holds more than moments (Rprop's
// per-element step sizes, ASGD's scalar eta and mu, which depend on the
// step count only and are recomputed from it here).
#include "passes/OptimizerRules.h"

#include "ir/FormatNumber.h"

using namespace mlir;

namespace kiln::optim {
namespace {

/// Rprop: the sign of grad * prev picks a factor (etaplus, etaminus or 1)
/// for the per-element step size, clamped to step_sizes; where the sign
/// flipped the gradient counts as zero; param -= sign(grad) * step_size.
/// torch fills step_size with lr when the state is created; here it starts
/// at zero and the first step reads lr instead.
OptimizerRule rpropRule() {
  OptimizerRule r;
  r.name = "Rprop";
  r.states = [](const Hyper &) -> std::vector<std::string> { return {"prev", "step_size"}; };
  r.check = [](const Hyper &h) -> std::string {
    double minus = h.pairElement("etas", 0, 0.5), plus = h.pairElement("etas", 1, 1.2);
    if (!(0 < minus && minus < 1 && 1 < plus))
      return "Invalid eta values: " + formatExact(minus) + ", " + formatExact(plus);
    return "";
  };
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    double minus = h.pairElement("etas", 0, 0.5), plus = h.pairElement("etas", 1, 1.2);
    double lo = h.pairElement("step_sizes", 0, 1e-6), hi = h.pairElement("step_sizes", 1, 50);
    bool maximize = h.flag("maximize", false);
    Value lr32 = a.toF32(s.lr), first = s.firstStep;
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = maximize ? e.neg(x[1]) : x[1];
      Value sign = e.sign(e.mul(g, x[2]));
      Value zero = e.f32(0);
      Value factor = e.select(e.gt(sign, zero), e.f32(plus),
                              e.select(e.lt(sign, zero), e.f32(minus), e.f32(1)));
      Value stepSize = e.select(first, lr32, x[3]);
      // step_size.mul_(sign).clamp_(min, max): clamp_ is min(max(x, lo), hi).
      stepSize = e.min(e.max(e.mul(stepSize, factor), e.f32(lo)), e.f32(hi));
      g = e.select(e.eq(factor, e.f32(minus)), zero, g);
      Value newP = e.add(x[0], e.mul(e.mul(e.f32(-1), e.sign(g)), stepSize));
      return {newP, g, stepSize};
    };
  };
  return r;
}

/// ASGD at torch's step t = step + 1: eta and mu are the values torch
/// stored at the end of step t - 1 (float32 tensors: rounded to f32),
///   eta = lr / (1 + lambd * lr * (t - 1)) ** alpha   (lr at t == 1)
///   mu  = 1 / max(1, (t - 1) - t0)                   (1 at t == 1)
/// then param = param * (1 - lambd * eta) - eta * grad and the average
/// ax = ax + (param - ax) * mu, or ax = param when mu == 1. torch computes
/// eta with the learning rate of step t - 1; here it is this step's, which
/// differs only while a scheduler changes lr.
OptimizerRule asgdRule() {
  OptimizerRule r;
  r.name = "ASGD";
  r.states = [](const Hyper &) -> std::vector<std::string> { return {"ax"}; };
  r.check = [](const Hyper &h) -> std::string {
    double wd = h.number("weight_decay", 0);
    if (!(wd >= 0))
      return "Invalid weight_decay value: " + formatExact(wd);
    return "";
  };
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    double lambd = h.number("lambd", 1e-4), alpha = h.number("alpha", 0.75);
    double t0 = h.number("t0", 1e6), wd = h.number("weight_decay", 0);
    bool maximize = h.flag("maximize", false);
    // s.step = t - 1.
    Value later = a.div(s.lr, a.pow(a.add(a.f64(1), a.mul(a.mul(a.f64(lambd), s.lr), s.step)),
                                    a.f64(alpha)));
    Value eta32 = a.select(s.firstStep, a.toF32(s.lr), a.toF32(later));
    Value eta = a.toF64(eta32);
    Value mu32 = a.select(s.firstStep, a.f32(1),
                          a.toF32(a.div(a.f64(1), a.max(a.f64(1), a.sub(s.step, a.f64(t0))))));
    Value averaging = a.ne(mu32, a.f32(1));
    Value shrink = a.toF32(a.sub(a.f64(1), a.mul(a.f64(lambd), eta)));
    Value negEta = a.toF32(a.neg(eta));
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = decayedGrad(e, x[0], x[1], maximize, wd);
      Value p = e.mul(x[0], shrink);
      p = e.add(p, e.mul(negEta, g));
      Value ax = e.select(averaging, e.add(x[2], e.mul(e.sub(p, x[2]), mu32)), p);
      return {p, ax};
    };
  };
  return r;
}

} // namespace

void registerRpropAndAsgd(std::map<std::string, OptimizerRule> &t) {
  for (OptimizerRule r : {rpropRule(), asgdRule()})
    t.emplace(r.name, std::move(r));
}

} // namespace kiln::optim
