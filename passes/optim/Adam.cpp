// The Adam family of torch.optim (1.13, single-tensor code): Adam, AdamW,
// Adamax, NAdam, RAdam. They share the first moment
//   exp_avg = exp_avg * beta1 + (1 - beta1) * grad
// and (not Adamax) the second, exp_avg_sq = exp_avg_sq * beta2 +
// (1 - beta2) * grad * grad; the bias corrections 1 - beta^t are Python
// floats in torch, so they are computed here in f64 once per step and
// rounded to f32 where torch hands them to a float32 kernel.
#include "passes/OptimizerRules.h"

#include "ir/FormatNumber.h"


using namespace mlir;

namespace kiln::optim {
namespace {

struct Betas {
  double beta1, beta2;
  explicit Betas(const Hyper &h)
      : beta1(h.pairElement("betas", 0, 0.9)), beta2(h.pairElement("betas", 1, 0.999)) {}
};

/// torch's checks shared by the family (lr is checked by every optimizer's
/// importer entry and nn-build-train-step).
std::string checkCommon(const Hyper &h) {
  Betas betas(h);
  double eps = h.number("eps", 1e-8), wd = h.number("weight_decay", 0);
  if (!(eps >= 0))
    return "Invalid epsilon value: " + formatExact(eps);
  if (!(betas.beta1 >= 0 && betas.beta1 < 1))
    return "Invalid beta parameter at index 0: " + formatExact(betas.beta1);
  if (!(betas.beta2 >= 0 && betas.beta2 < 1))
    return "Invalid beta parameter at index 1: " + formatExact(betas.beta2);
  if (!(wd >= 0))
    return "Invalid weight_decay value: " + formatExact(wd);
  return "";
}

/// beta1 as the prologue sees it: the cycled momentum (a scheduler's,
/// f64) or the hyper-parameter; with beta1 and 1 - beta1 rounded to f32
/// as torch hands them to the kernel.
struct Beta1 {
  Value f64, f32, oneMinusF32;
  Beta1(Arith &a, const StepScalars &s, double beta1)
      : f64(s.momentum ? s.momentum : a.f64(beta1)), f32(a.toF32(f64)),
        oneMinusF32(a.toF32(a.sub(a.f64(1), f64))) {}
};

/// exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
Value firstMoment(Arith &a, Value expAvg, Value grad, const Beta1 &beta1) {
  return a.add(a.mul(expAvg, beta1.f32), a.mul(beta1.oneMinusF32, grad));
}

/// What CyclicLR / OneCycleLR cycle in this family: betas[0].
double cycledBeta1(const Hyper &h) { return h.pairElement("betas", 0, 0.9); }

/// exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
Value secondMoment(Arith &a, Value expAvgSq, Value grad, double beta2) {
  return a.add(a.mul(expAvgSq, a.f32(beta2)), a.mul(a.mul(a.f32(1 - beta2), grad), grad));
}

/// 1 - beta ** t for t = step + 1, in f64.
Value biasCorrection(Arith &a, const StepScalars &s, Value beta) {
  Value t = a.add(s.step, a.f64(1));
  return a.sub(a.f64(1), a.pow(beta, t));
}
Value biasCorrection(Arith &a, const StepScalars &s, double beta) {
  return biasCorrection(a, s, a.f64(beta));
}

/// Adam and AdamW (decoupled = true: the weight decay scales the parameter
/// by 1 - lr * weight_decay before the update instead of joining the
/// gradient).
OptimizerRule adamRule(std::string name, bool decoupled, double defaultWd) {
  OptimizerRule r;
  r.name = name;
  r.states = [](const Hyper &h) -> std::vector<std::string> {
    if (h.flag("amsgrad", false))
      return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
  };
  r.check = checkCommon;
  r.cycledMomentum = cycledBeta1;
  r.prepare = [decoupled, defaultWd](Arith &a, const Hyper &h,
                                     const StepScalars &s) -> UpdateBody {
    Betas betas(h);
    Beta1 beta1(a, s, betas.beta1);
    double eps = h.number("eps", 1e-8), wd = h.number("weight_decay", defaultWd);
    bool amsgrad = h.flag("amsgrad", false), maximize = h.flag("maximize", false);
    // step_size = lr / bias_correction1; denom = sqrt(v) / sqrt(bc2) + eps;
    // param.addcdiv_(exp_avg, denom, value=-step_size).
    Value negStepSize =
        a.toF32(a.neg(a.div(s.lr, biasCorrection(a, s, beta1.f64))));
    Value bc2Sqrt = a.toF32(a.sqrt(biasCorrection(a, s, betas.beta2)));
    Value decay = decoupled ? a.toF32(a.sub(a.f64(1), a.mul(s.lr, a.f64(wd)))) : Value();
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value p = x[0];
      Value g = decayedGrad(e, p, x[1], maximize, decoupled ? 0 : wd);
      if (decoupled)
        p = e.mul(p, decay);
      Value m = firstMoment(e, x[2], g, beta1);
      Value v = secondMoment(e, x[3], g, betas.beta2);
      Value vMax = amsgrad ? e.max(x[4], v) : v;
      Value denom = e.add(e.div(e.sqrt(vMax), bc2Sqrt), e.f32(eps));
      Value newP = e.add(p, e.div(e.mul(negStepSize, m), denom));
      if (amsgrad)
        return {newP, m, v, vMax};
      return {newP, m, v};
    };
  };
  return r;
}

/// Adamax: exp_inf = max(exp_inf * beta2, |grad| + eps);
/// param.addcdiv_(exp_avg, exp_inf, value=-lr / bias_correction1).
OptimizerRule adamaxRule() {
  OptimizerRule r;
  r.name = "Adamax";
  r.states = [](const Hyper &) -> std::vector<std::string> { return {"exp_avg", "exp_inf"}; };
  r.check = checkCommon;
  r.cycledMomentum = cycledBeta1;
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    Betas betas(h);
    Beta1 beta1(a, s, betas.beta1);
    double eps = h.number("eps", 1e-8), wd = h.number("weight_decay", 0);
    bool maximize = h.flag("maximize", false);
    Value negClr = a.toF32(a.neg(a.div(s.lr, biasCorrection(a, s, beta1.f64))));
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = decayedGrad(e, x[0], x[1], maximize, wd);
      Value m = firstMoment(e, x[2], g, beta1);
      Value u = e.max(e.mul(x[3], e.f32(betas.beta2)), e.add(e.abs(g), e.f32(eps)));
      return {e.add(x[0], e.div(e.mul(negClr, m), u)), m, u};
    };
  };
  return r;
}

/// RAdam: the rectified update when the variance is tractable
/// (rho_t > 5), momentum SGD with bias correction before.
OptimizerRule radamRule() {
  OptimizerRule r;
  r.name = "RAdam";
  r.states = [](const Hyper &) -> std::vector<std::string> { return {"exp_avg", "exp_avg_sq"}; };
  r.check = checkCommon;
  r.cycledMomentum = cycledBeta1;
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    Betas betas(h);
    Beta1 beta1(a, s, betas.beta1);
    double eps = h.number("eps", 1e-8), wd = h.number("weight_decay", 0);
    Value t = a.add(s.step, a.f64(1));
    Value bc1 = biasCorrection(a, s, beta1.f64);
    Value bc2 = biasCorrection(a, s, betas.beta2);
    // rho_inf = 2 / (1 - beta2) - 1
    // rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
    double rhoInf = 2 / (1 - betas.beta2) - 1;
    Value rhoT = a.sub(a.f64(rhoInf),
                       a.div(a.mul(a.mul(a.f64(2), t), a.pow(a.f64(betas.beta2), t)), bc2));
    Value rectified = a.gt(rhoT, a.f64(5));
    // rect = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
    // left to right as torch; NaN where not rectified, and unused there.
    Value rect = a.sqrt(a.div(a.mul(a.mul(a.sub(rhoT, a.f64(4)), a.sub(rhoT, a.f64(2))),
                                    a.f64(rhoInf)),
                              a.mul(a.f64((rhoInf - 4) * (rhoInf - 2)), rhoT)));
    Value rect32 = a.toF32(rect), bc1f = a.toF32(bc1), bc2Sqrt = a.toF32(a.sqrt(bc2));
    Value lr32 = a.toF32(s.lr);
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = decayedGrad(e, x[0], x[1], false, wd);
      Value m = firstMoment(e, x[2], g, beta1);
      Value v = secondMoment(e, x[3], g, betas.beta2);
      Value corrected = e.mul(e.div(m, bc1f), lr32); // bias_corrected_exp_avg * lr
      Value adaptive = e.div(bc2Sqrt, e.add(e.sqrt(v), e.f32(eps)));
      Value step = e.select(rectified, e.mul(e.mul(corrected, adaptive), rect32), corrected);
      return {e.add(x[0], e.mul(e.f32(-1), step)), m, v};
    };
  };
  return r;
}

/// NAdam's momentum cache mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * psi)), f64
/// (beta1: the hyper-parameter or the cycled value, f64).
Value momentumCache(Arith &a, Value t, Value beta1, double psi) {
  return a.mul(beta1,
               a.sub(a.f64(1), a.mul(a.f64(0.5), a.pow(a.f64(0.96), a.mul(t, a.f64(psi))))));
}

/// NAdam (torch 1.13): with t = step + 1, mu = mu_t, mu_next = mu_{t+1},
///   mu_product *= mu   (its float32 state, so mu is rounded to f32)
///   denom = sqrt(exp_avg_sq / (1 - beta2 ** t)) + eps
///   param += (-lr * (1 - mu) / (1 - mu_product)) * grad / denom
///   param += (-lr * mu_next / (1 - mu_product * mu * mu_next)) * exp_avg / denom
/// (two addcdiv_ in that order; the second denominator multiplies mu in
/// again, as torch 1.13 does). mu_product is a scalar state, not a function
/// of the step: a CyclicLR / OneCycleLR that cycles beta1 changes every
/// later factor.
OptimizerRule nadamRule() {
  OptimizerRule r;
  r.name = "NAdam";
  r.states = [](const Hyper &) -> std::vector<std::string> { return {"exp_avg", "exp_avg_sq"}; };
  r.scalarStates = [](const Hyper &) -> std::vector<ScalarState> { return {{"mu_product", 1.0}}; };
  r.check = [](const Hyper &h) -> std::string {
    if (std::string problem = checkCommon(h); !problem.empty())
      return problem;
    double psi = h.number("momentum_decay", 4e-3);
    if (!(psi >= 0))
      return "Invalid momentum_decay value: " + formatExact(psi);
    return "";
  };
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    Betas betas(h);
    double eps = h.number("eps", 1e-8), wd = h.number("weight_decay", 0);
    double psi = h.number("momentum_decay", 4e-3);
    Beta1 beta1(a, s, betas.beta1);
    Value t = a.add(s.step, a.f64(1));
    Value bc2 = a.toF32(biasCorrection(a, s, betas.beta2));
    Value mu = momentumCache(a, t, beta1.f64, psi);
    Value muNext = momentumCache(a, a.add(t, a.f64(1)), beta1.f64, psi);
    Value product = a.mul(s.scalarStates[0], a.toF32(mu));
    s.newScalarStates->push_back(product);
    // mu_product * mu * mu_next: float32 tensor arithmetic in torch.
    Value productNext = a.mul(a.mul(product, a.toF32(mu)), a.toF32(muNext));
    Value negLr = a.neg(s.lr);
    Value gradScale = a.toF32(
        a.div(a.mul(negLr, a.sub(a.f64(1), mu)), a.sub(a.f64(1), a.toF64(product))));
    Value avgScale =
        a.toF32(a.div(a.mul(negLr, muNext), a.sub(a.f64(1), a.toF64(productNext))));
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = decayedGrad(e, x[0], x[1], false, wd);
      Value m = firstMoment(e, x[2], g, beta1);
      Value v = secondMoment(e, x[3], g, betas.beta2);
      Value denom = e.add(e.sqrt(e.div(v, bc2)), e.f32(eps));
      Value p = e.add(x[0], e.div(e.mul(gradScale, g), denom));
      p = e.add(p, e.div(e.mul(avgScale, m), denom));
      return {p, m, v};
    };
  };
  r.cycledMomentum = cycledBeta1;
  return r;
}

} // namespace

/// SparseAdam: Adam's moments and update on the rows a sparse gradient has
/// (nn.optimizer_update's `rows`), written as torch 1.13's sparse_adam
/// does, through the update values rather than beta * old:
///   dm = (g - m) * (1 - beta1); m += dm;  dv = (g * g - v) * (1 - beta2); v += dv
///   p += -step_size * ((dm + m_old) / (sqrt(dv + v_old) + eps))
/// with step_size = lr * sqrt(bias_correction2) / bias_correction1 in f64.
/// No weight decay, no amsgrad; lr and eps must be > 0.
OptimizerRule sparseAdamRule() {
  OptimizerRule r;
  r.name = "SparseAdam";
  r.lazyRows = true;
  r.states = [](const Hyper &) -> std::vector<std::string> { return {"exp_avg", "exp_avg_sq"}; };
  r.check = [](const Hyper &h) -> std::string {
    double eps = h.number("eps", 1e-8);
    if (!(eps > 0))
      return "Invalid epsilon value: " + formatExact(eps);
    return checkCommon(h);
  };
  r.cycledMomentum = cycledBeta1;
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    Betas betas(h);
    Beta1 beta1(a, s, betas.beta1);
    double eps = h.number("eps", 1e-8);
    bool maximize = h.flag("maximize", false);
    Value stepSize = a.div(a.mul(s.lr, a.sqrt(biasCorrection(a, s, betas.beta2))),
                           biasCorrection(a, s, beta1.f64));
    Value negStepSize = a.toF32(a.neg(stepSize));
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = maximize ? e.neg(x[1]) : x[1];
      Value dm = e.mul(e.sub(g, x[2]), beta1.oneMinusF32);
      Value dv = e.mul(e.sub(e.mul(g, g), x[3]), e.f32(1 - betas.beta2));
      Value m = e.add(x[2], dm), v = e.add(x[3], dv);
      Value denom = e.add(e.sqrt(e.add(dv, x[3])), e.f32(eps));
      Value newP = e.add(x[0], e.mul(negStepSize, e.div(e.add(dm, x[2]), denom)));
      return {newP, m, v};
    };
  };
  return r;
}

void registerAdamFamily(std::map<std::string, OptimizerRule> &t) {
  for (OptimizerRule r : {adamRule("Adam", false, 0), adamRule("AdamW", true, 1e-2),
                          adamaxRule(), nadamRule(), radamRule(), sparseAdamRule()})
    t.emplace(r.name, std::move(r));
}

} // namespace kiln::optim
