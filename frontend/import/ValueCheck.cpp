// The value checks a loss asks for (BuildContext::checkValues): where the
// first failing element is and what it holds, computed with primitive nn ops
// beside the loss so that the runtime can refuse the call naming them
// (KILN_ROLE_CHECK, runtime/lib/model.cpp). Not differentiated: autodiff
// passes the loss function's extra results through.
#include "frontend/import/Activation.h"
#include "frontend/import/Constants.h"
#include "frontend/import/ImportCalls.h"

#include "ir/NNBuilders.h"

using namespace mlir;

namespace kiln::import {

Value firstViolation(BuildContext &c, Value x, Value violating) {
  OpBuilder &b = c.builder();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t numel = type.getNumElements();
  Value positions = iota(c, type.getShape(), numel);
  Ew m{c};
  Value none = m.k(static_cast<double>(numel));
  DenseI64ArrayAttr all = b.getDenseI64ArrayAttr({});
  // The smallest failing position (numel when none fails): -amax(-pos).
  Value position = m.where(m.cmp(nn::ComparePredicate::gt, violating, m.k(0.5)), positions, none);
  Value first = m.neg(c.create<nn::AmaxOp>(m.neg(position), all, UnitAttr()));
  Value index = m.where(m.cmp(nn::ComparePredicate::eq, first, none), m.k(-1), first);
  Value value = c.create<nn::SumOp>(
      m.where(m.cmp(nn::ComparePredicate::eq, positions, first), x, m.k(0)), all, UnitAttr());
  auto one = nn::f32Tensor(b.getContext(), {1});
  return c.create<nn::ConcatOp>(
      ValueRange{nn::reshapeTo(b, c.loc(), index, one), nn::reshapeTo(b, c.loc(), value, one)},
      int64_t{0});
}

} // namespace kiln::import
