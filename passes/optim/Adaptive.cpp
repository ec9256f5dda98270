// Per-coordinate adaptive learning rates of torch.optim (1.13,
// single-tensor code): Adagrad, Adadelta, RMSprop.
#include "passes/OptimizerRules.h"

#include "ir/FormatNumber.h"

using namespace mlir;

namespace kiln::optim {
namespace {

std::string atLeastZero(const Hyper &h, std::initializer_list<std::pair<const char *, double>> keys) {
  for (auto [key, dflt] : keys) {
    double v = h.number(key, dflt);
    if (!(v >= 0))
      return std::string("Invalid ") + key + " value: " + formatExact(v);
  }
  return "";
}

/// Adagrad: sum += grad * grad; param -= clr * grad / (sqrt(sum) + eps)
/// with clr = lr / (1 + (t - 1) * lr_decay). torch fills `sum` with
/// initial_accumulator_value when the state is created; here the state
/// starts at zero like every state and the first step (step == 0) reads
/// initial_accumulator_value instead, which gives the same updates.
OptimizerRule adagradRule() {
  OptimizerRule r;
  r.name = "Adagrad";
  r.states = [](const Hyper &) -> std::vector<std::string> { return {"sum"}; };
  // torch's sparse path: the same update on the rows the gradient has
  // (rows it lacks would get + 0 and -clr * 0 / std), without weight decay.
  r.sparseGradients = [](const Hyper &h) -> std::string {
    if (h.number("weight_decay", 0) != 0)
      return "weight_decay option is not compatible with sparse gradients";
    return "";
  };
  r.check = [](const Hyper &h) {
    return atLeastZero(h, {{"lr_decay", 0}, {"weight_decay", 0},
                           {"initial_accumulator_value", 0}, {"eps", 1e-10}});
  };
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    double wd = h.number("weight_decay", 0), eps = h.number("eps", 1e-10);
    double initial = h.number("initial_accumulator_value", 0);
    bool maximize = h.flag("maximize", false);
    // clr = lr / (1 + (step - 1) * lr_decay) with torch's step = our step + 1.
    Value clr = a.div(s.lr, a.add(a.f64(1), a.mul(s.step, a.f64(h.number("lr_decay", 0)))));
    Value negClr = a.toF32(a.neg(clr));
    Value first = s.firstStep;
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = decayedGrad(e, x[0], x[1], maximize, wd);
      Value sum = e.select(first, e.f32(initial), x[2]);
      sum = e.add(sum, e.mul(e.mul(e.f32(1), g), g)); // addcmul_(grad, grad, value=1)
      Value std = e.add(e.sqrt(sum), e.f32(eps));
      return {e.add(x[0], e.div(e.mul(negClr, g), std)), sum};
    };
  };
  return r;
}

/// Adadelta: square_avg = rho * square_avg + (1 - rho) * grad^2;
/// delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * grad;
/// acc_delta = rho * acc_delta + (1 - rho) * delta^2; param -= lr * delta.
OptimizerRule adadeltaRule() {
  OptimizerRule r;
  r.name = "Adadelta";
  r.states = [](const Hyper &) -> std::vector<std::string> {
    return {"square_avg", "acc_delta"};
  };
  r.check = [](const Hyper &h) -> std::string {
    double rho = h.number("rho", 0.9);
    if (!(rho >= 0 && rho <= 1))
      return "Invalid rho value: " + formatExact(rho);
    return atLeastZero(h, {{"eps", 1e-6}, {"weight_decay", 0}});
  };
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    double rho = h.number("rho", 0.9), eps = h.number("eps", 1e-6);
    double wd = h.number("weight_decay", 0);
    bool maximize = h.flag("maximize", false);
    Value negLr = a.toF32(a.neg(s.lr));
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = decayedGrad(e, x[0], x[1], maximize, wd);
      Value sq = e.add(e.mul(x[2], e.f32(rho)), e.mul(e.mul(e.f32(1 - rho), g), g));
      Value std = e.sqrt(e.add(sq, e.f32(eps)));
      Value delta = e.mul(e.div(e.sqrt(e.add(x[3], e.f32(eps))), std), g);
      Value acc = e.add(e.mul(x[3], e.f32(rho)), e.mul(e.mul(e.f32(1 - rho), delta), delta));
      return {e.add(x[0], e.mul(negLr, delta)), sq, acc};
    };
  };
  return r;
}

/// RMSprop: square_avg = alpha * square_avg + (1 - alpha) * grad^2;
/// centered: grad_avg = alpha * grad_avg + (1 - alpha) * grad and
/// avg = sqrt(square_avg - grad_avg^2), else avg = sqrt(square_avg);
/// avg += eps; momentum: buf = momentum * buf + grad / avg,
/// param -= lr * buf; else param -= lr * grad / avg.
OptimizerRule rmspropRule() {
  OptimizerRule r;
  r.name = "RMSprop";
  // torch's state order: square_avg, momentum_buffer, grad_avg.
  // A cycled momentum keeps the buffer whatever the declared momentum: the
  // scheduler sets one before the first step, when torch creates it.
  r.states = [](const Hyper &h) {
    std::vector<std::string> states{"square_avg"};
    if (h.number("momentum", 0) > 0 || h.flag("cycle_momentum", false))
      states.push_back("momentum_buffer");
    if (h.flag("centered", false))
      states.push_back("grad_avg");
    return states;
  };
  r.check = [](const Hyper &h) {
    return atLeastZero(h, {{"eps", 1e-8}, {"momentum", 0}, {"weight_decay", 0}, {"alpha", 0.99}});
  };
  r.cycledMomentum = [](const Hyper &h) { return h.number("momentum", 0); };
  r.prepare = [](Arith &a, const Hyper &h, const StepScalars &s) -> UpdateBody {
    double alpha = h.number("alpha", 0.99), eps = h.number("eps", 1e-8);
    double wd = h.number("weight_decay", 0), momentum = h.number("momentum", 0);
    bool centered = h.flag("centered", false), maximize = h.flag("maximize", false);
    Value negLr = a.toF32(a.neg(s.lr));
    // A cycled momentum: the buffer path where it is > 0 (torch's `if
    // group['momentum'] > 0`), the plain one, buffer kept, where not.
    bool hasBuffer = momentum > 0 || s.momentum;
    Value m32 = s.momentum ? a.toF32(s.momentum) : a.f32(momentum);
    Value active = s.momentum ? a.gt(s.momentum, a.f64(0)) : Value();
    return [=](Arith &e, ValueRange x) -> SmallVector<Value> {
      Value g = decayedGrad(e, x[0], x[1], maximize, wd);
      unsigned next = 2;
      Value sq = e.add(e.mul(x[next++], e.f32(alpha)), e.mul(e.mul(e.f32(1 - alpha), g), g));
      Value buf = hasBuffer ? x[next++] : Value();
      Value gradAvg = centered ? x[next++] : Value();
      Value avg;
      if (centered) {
        gradAvg = e.add(e.mul(gradAvg, e.f32(alpha)), e.mul(e.f32(1 - alpha), g));
        // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        avg = e.sqrt(e.add(sq, e.mul(e.mul(e.f32(-1), gradAvg), gradAvg)));
      } else {
        avg = e.sqrt(sq);
      }
      avg = e.add(avg, e.f32(eps));
      SmallVector<Value> out;
      Value plain = e.add(x[0], e.div(e.mul(negLr, g), avg));
      if (hasBuffer) {
        // buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
        Value stepped = e.add(e.mul(buf, m32), e.div(e.mul(e.f32(1), g), avg));
        Value withBuffer = e.add(x[0], e.mul(negLr, stepped));
        out.push_back(active ? e.select(active, withBuffer, plain) : withBuffer);
        buf = active ? e.select(active, stepped, buf) : stepped;
      } else {
        out.push_back(plain);
      }
      out.push_back(sq);
      if (hasBuffer)
        out.push_back(buf);
      if (centered)
        out.push_back(gradAvg);
      return out;
    };
  };
  return r;
}

} // namespace

void registerAdaptiveFamily(std::map<std::string, OptimizerRule> &t) {
  for (OptimizerRule r : {adagradRule(), adadeltaRule(), rmspropRule()})
    t.emplace(r.name, std::move(r));
}

} // namespace kiln::optim
