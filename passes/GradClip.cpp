// torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (1.13) as nn ops,
// operation for operation:
//   clip_grad_value_: g = clamp(g, -c, c)            (NaN stays NaN)
//   clip_grad_norm_:  n_k = norm(g_k, p) per gradient, total = norm(n, p)
//                     over the stacked n_k (max for p = inf), then
//                     coef = (1 / (total + 1e-6)) * max_norm (torch's
//                     float / Tensor is reciprocal() * float),
//                     g_k = g_k * min(coef, 1)
// with the p-norm (sum |x|^p)^(1/p), sqrt(sum x * x) for p = 2 and
// sum |x| for p = 1, as torch's norm kernels compute it.
#include "passes/GradClip.h"

#include "ir/FormatNumber.h"
#include "ir/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>

using namespace mlir;
using namespace kiln::nn;

namespace kiln {
namespace {

struct NormBuilder {
  OpBuilder &b;
  Location loc;
  double p;

  Value scalar(double v) {
    auto type = RankedTensorType::get({}, b.getF32Type());
    return b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(type, b.getF32FloatAttr(static_cast<float>(v))));
  }
  Value sumAll(Value x) {
    return b.create<SumOp>(loc, x, b.getDenseI64ArrayAttr({}), UnitAttr());
  }
  Value mul(Value x, Value y) { return b.create<MulOp>(loc, x, y); }
  Value add(Value x, Value y) { return b.create<AddOp>(loc, x, y); }

  /// |x|^p summed (the accumulation of torch's norm kernel).
  Value powerSum(Value x) {
    if (p == 2)
      return sumAll(mul(x, x));
    Value a = b.create<AbsOp>(loc, x);
    if (p == 1)
      return sumAll(a);
    return sumAll(b.create<PowOp>(loc, a, scalar(p)));
  }
  /// The final root of a power sum.
  Value root(Value s) {
    if (p == 2)
      return b.create<SqrtOp>(loc, s);
    if (p == 1)
      return s;
    return b.create<PowOp>(loc, s, scalar(1 / p));
  }
  Value norm(Value x) {
    if (std::isinf(p))
      return b.create<AmaxOp>(loc, b.create<AbsOp>(loc, x), b.getDenseI64ArrayAttr({}),
                              UnitAttr());
    return root(powerSum(x));
  }
  /// The norm of the stacked per-gradient norms.
  Value normOfNorms(ArrayRef<Value> norms) {
    if (std::isinf(p)) {
      Value m = norms[0];
      for (Value n : norms.drop_front())
        m = b.create<MaximumOp>(loc, m, n);
      return m;
    }
    // A one-element norm is not the identity for general p (pow rounds):
    // torch stacks even a single norm and takes its norm again.
    auto term = [&](Value n) -> Value {
      if (p == 2)
        return mul(n, n);
      if (p == 1)
        return b.create<AbsOp>(loc, n);
      return b.create<PowOp>(loc, b.create<AbsOp>(loc, n), scalar(p));
    };
    Value s = term(norms[0]);
    for (Value n : norms.drop_front())
      s = add(s, term(n));
    return root(s);
  }
};

std::optional<double> numberOf(DictionaryAttr d, StringRef key) {
  if (auto f = d.getAs<FloatAttr>(key))
    return f.getValueAsDouble();
  if (auto i = d.getAs<IntegerAttr>(key))
    return static_cast<double>(i.getInt());
  return std::nullopt;
}

} // namespace

FailureOr<ClippedGradients> clipGradients(OpBuilder &b, Location loc, ModuleOp module,
                                          ValueRange grads) {
  ClippedGradients out{SmallVector<Value>(grads), Value()};
  auto byValue = module->getAttrOfType<DictionaryAttr>("nn.clip_grad_value");
  auto byNorm = module->getAttrOfType<DictionaryAttr>("nn.clip_grad_norm");
  if (byValue && byNorm)
    return module.emitError("nn-build-train-step: nn.clip_grad_value and "
                            "nn.clip_grad_norm cannot both be given"),
           failure();
  if (grads.empty())
    return out; // torch returns early when no parameter has a gradient
  if (byValue) {
    std::optional<double> c = numberOf(byValue, "clip_value");
    if (!c || !(*c >= 0))
      return module.emitError("nn-build-train-step: nn.clip_grad_value needs a "
                              "clip_value >= 0"),
             failure();
    NormBuilder n{b, loc, 0};
    Value lo = n.scalar(-*c), hi = n.scalar(*c);
    for (Value &g : out.grads)
      g = b.create<MinimumOp>(loc, b.create<MaximumOp>(loc, g, lo), hi);
    return out;
  }
  if (!byNorm)
    return out;
  std::optional<double> maxNorm = numberOf(byNorm, "max_norm");
  double p = numberOf(byNorm, "norm_type").value_or(2);
  auto errorIf = byNorm.getAs<BoolAttr>("error_if_nonfinite");
  if (!maxNorm || !(*maxNorm > 0))
    return module.emitError("nn-build-train-step: nn.clip_grad_norm needs a max_norm > 0"),
           failure();
  if (!(p > 0))
    return module.emitError("nn-build-train-step: nn.clip_grad_norm: norm_type ")
               << formatExact(p) << " is not supported (a number > 0 or inf)",
           failure();
  NormBuilder n{b, loc, p};
  SmallVector<Value> norms;
  for (Value g : grads)
    norms.push_back(n.norm(g));
  Value total = n.normOfNorms(norms);
  Value reciprocal = b.create<DivOp>(loc, n.scalar(1), n.add(total, n.scalar(1e-6)));
  Value coef = b.create<MinimumOp>(loc, n.mul(reciprocal, n.scalar(*maxNorm)), n.scalar(1));
  for (Value &g : out.grads)
    g = n.mul(g, coef);
  if (errorIf && errorIf.getValue())
    out.checkedNorm = total;
  return out;
}

} // namespace kiln
