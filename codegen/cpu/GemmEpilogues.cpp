// Matching what kiln-cpu-gemm-to-runtime folds into kiln_sgemm_fused
// (GemmEpilogues.h). The ops are on buffers, after memory planning, so
// every check is about which bytes an op reads and writes
// (kiln::cpu::mayShareBytes: the planner lets buffers whose lifetimes were
// disjoint share bytes, and folding an op into the call moves accesses past
// others), and the forms matched are the
// ones the pipeline produces: a linalg.generic as the nn lowering makes
// it, or the scf.forall of blocks that kiln-cpu-tile-and-vectorize made of
// it (each iteration the generic on subviews of one block).
#include "codegen/cpu/GemmEpilogues.h"
#include "codegen/cpu/BufferAddress.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using kiln::cpu::ColumnSum;
using kiln::cpu::ElementwiseEpilogue;
using kiln::cpu::GemmActivation;

namespace {

/// How many ops with memory effects the search for an epilogue's op or a
/// bias gradient looks past (each must be able to run before the GEMM).
constexpr int kLookahead = 8;

bool isConstantIndex(OpFoldResult value, int64_t expected) {
  std::optional<int64_t> v = getConstantIntValue(value);
  return v && *v == expected;
}

bool isConstantFloat(Value v, bool (*test)(const APFloat &)) {
  FloatAttr attr;
  return v && matchPattern(v, m_Constant(&attr)) && test(attr.getValue());
}
bool isPositiveZero(const APFloat &v) { return v.isPosZero(); }
bool isAnyZero(const APFloat &v) { return v.isZero(); }

/// A memref of contiguous f32: a vector the GEMM call reads or adds to.
bool isContiguousF32Vector(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return type && type.getRank() == 1 && type.getElementType().isF32() &&
         succeeded(getStridesAndOffset(type, strides, offset)) &&
         strides[0] == 1;
}

/// The op after `op` that is no pure index or view computation.
Operation *nextEffect(Operation *op) {
  Operation *next = op->getNextNode();
  while (next && isMemoryEffectFree(next))
    next = next->getNextNode();
  return next;
}

/// The linalg ops on buffers that `op` is (itself), or runs (an scf.forall
/// whose body is only views, index computations and such ops); empty when
/// `op` is anything else.
SmallVector<linalg::LinalgOp> linalgOpsOf(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return linalgOp.hasPureBufferSemantics()
               ? SmallVector<linalg::LinalgOp>{linalgOp}
               : SmallVector<linalg::LinalgOp>{};
  auto forall = dyn_cast<scf::ForallOp>(op);
  if (!forall || !forall.getOutputs().empty())
    return {};
  SmallVector<linalg::LinalgOp> ops;
  for (Operation &inner : forall.getBody()->without_terminator()) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(inner);
    if (linalgOp && linalgOp.hasPureBufferSemantics())
      ops.push_back(linalgOp);
    else if (!isMemoryEffectFree(&inner))
      return {};
  }
  return ops;
}

/// Whether `op` may run before the contraction `gemm` instead of right
/// after it (the call then moves past it): linalg ops on buffers (the zero
/// fills, copies, other contractions and reductions that bufferization and
/// autodiff put between a GEMM and its epilogue's op) that touch none of
/// the contraction's output and write none of its inputs or `bias`.
bool mayRunBefore(Operation *op, linalg::LinalgOp gemm, Value bias) {
  SmallVector<linalg::LinalgOp> ops = linalgOpsOf(op);
  if (ops.empty())
    return false;
  // By bytes, not by root buffer: the planner may have put a buffer first
  // written after the GEMM into bytes the GEMM reads (their lifetimes were
  // disjoint), and the call moves the GEMM after that write.
  auto kernel = gemm->getParentOfType<func::FuncOp>();
  Value out = gemm.getDpsInits()[0];
  SmallVector<Value> read = {gemm.getDpsInputs()[0], gemm.getDpsInputs()[1]};
  if (bias)
    read.push_back(bias);
  auto overlaps = [&](Value a, Value b) { return kiln::cpu::mayShareBytes(a, b, kernel); };
  for (linalg::LinalgOp linalgOp : ops) {
    for (Value input : linalgOp.getDpsInputs())
      if (isa<MemRefType>(input.getType()) && overlaps(input, out))
        return false;
    for (Value init : linalgOp.getDpsInits())
      if (overlaps(init, out) ||
          llvm::any_of(read, [&](Value r) { return overlaps(init, r); }))
        return false;
  }
  return true;
}

/// The activation a generic computes from the contraction's output, as the
/// nn lowering writes it, with identity maps and parallel loops only:
///   ReLU:          yield arith.maximumf(in, +0.0) of its one input;
///   ReLU backward: yield arith.select(arith.cmpf ogt (gate, 0), grad, +0.0)
///                  (threshold_backward at 0) of its two inputs.
/// Sets `output` to the input the contraction must have written (the ReLU's
/// input, the gradient) and `gate` to the other input (backward only).
GemmActivation activationOf(linalg::GenericOp generic, Value &output,
                            Value &gate) {
  if (generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return GemmActivation::None;
  Block &body = generic.getRegion().front();
  Value yielded = body.getTerminator()->getOperand(0);
  auto input = [&](Value v) -> std::optional<unsigned> {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != &body ||
        arg.getArgNumber() >= generic.getNumDpsInputs())
      return std::nullopt;
    return arg.getArgNumber();
  };
  size_t ops = std::distance(body.without_terminator().begin(),
                             body.without_terminator().end());
  if (auto max = yielded.getDefiningOp<arith::MaximumFOp>();
      max && ops == 1 && generic.getNumDpsInputs() == 1) {
    // +0 only: maximumf(x, -0) would keep a -0 that relu() turns into +0.
    std::optional<unsigned> in = input(max.getLhs());
    Value zero = max.getRhs();
    if (!in) {
      in = input(max.getRhs());
      zero = max.getLhs();
    }
    if (!in || !isConstantFloat(zero, isPositiveZero))
      return GemmActivation::None;
    output = generic.getDpsInputs()[*in];
    return GemmActivation::Relu;
  }
  auto select = yielded.getDefiningOp<arith::SelectOp>();
  if (!select || ops != 2 || generic.getNumDpsInputs() != 2)
    return GemmActivation::None;
  auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
  std::optional<unsigned> grad = input(select.getTrueValue());
  std::optional<unsigned> gated = cmp ? input(cmp.getLhs()) : std::nullopt;
  if (!cmp || cmp.getPredicate() != arith::CmpFPredicate::OGT || !grad ||
      !gated || *grad == *gated || !isConstantFloat(cmp.getRhs(), isAnyZero) ||
      !isConstantFloat(select.getFalseValue(), isPositiveZero))
    return GemmActivation::None;
  output = generic.getDpsInputs()[*grad];
  gate = generic.getDpsInputs()[*gated];
  return GemmActivation::ReluBackward;
}

/// When `op` is the scf.forall of blocks that kiln-cpu-tile-and-vectorize
/// makes of a loop of `extent` iterations: the forall (1-D, no shared
/// outputs, from 0 to `extent` by a step dividing it, its body subviews and
/// one linalg.generic, which `generic` is set to) and its step.
std::optional<int64_t> blockLoop(Operation *op, int64_t extent,
                                 scf::ForallOp &forall,
                                 linalg::GenericOp &generic) {
  forall = dyn_cast<scf::ForallOp>(op);
  if (!forall || forall.getRank() != 1 || !forall.getOutputs().empty())
    return std::nullopt;
  std::optional<int64_t> step = getConstantIntValue(forall.getMixedStep()[0]);
  if (!step || *step <= 0 || extent % *step != 0 ||
      !isConstantIndex(forall.getMixedLowerBound()[0], 0) ||
      !isConstantIndex(forall.getMixedUpperBound()[0], extent))
    return std::nullopt;
  generic = nullptr;
  for (Operation &inner : forall.getBody()->without_terminator()) {
    if (isa<memref::SubViewOp>(inner))
      continue;
    if (generic || !isa<linalg::GenericOp>(inner))
      return std::nullopt;
    generic = cast<linalg::GenericOp>(inner);
  }
  if (!generic)
    return std::nullopt;
  return step;
}

/// When `subview` is rows [iv, iv + rows) of all `cols` columns of its
/// source, with unit strides: the source, else null.
Value rowBlockSource(memref::SubViewOp subview, Value iv, int64_t rows,
                     int64_t cols) {
  SmallVector<OpFoldResult> offsets = subview.getMixedOffsets();
  SmallVector<OpFoldResult> sizes = subview.getMixedSizes();
  SmallVector<OpFoldResult> strides = subview.getMixedStrides();
  if (offsets.size() != 2 ||
      llvm::dyn_cast_if_present<Value>(offsets[0]) != iv ||
      !isConstantIndex(offsets[1], 0) || !isConstantIndex(sizes[0], rows) ||
      !isConstantIndex(sizes[1], cols) || !isConstantIndex(strides[0], 1) ||
      !isConstantIndex(strides[1], 1))
    return nullptr;
  return subview.getSource();
}

/// The elementwise epilogue `op` is, over all of `out` (M x N): a generic
/// whose activationOf() reads `out`, or an scf.forall of row blocks (1-D,
/// from 0 to M by a step s dividing M) whose body is subviews of rows
/// [iv, iv + s) of whole buffers, that generic on them, and the terminator.
std::optional<ElementwiseEpilogue> epilogueOf(Operation *op, Value out) {
  auto shape = cast<MemRefType>(out.getType()).getShape();
  auto match = [&](linalg::GenericOp generic,
                   llvm::function_ref<Value(Value)> whole)
      -> std::optional<ElementwiseEpilogue> {
    if (!generic.hasPureBufferSemantics())
      return std::nullopt;
    Value output, gate;
    GemmActivation activation = activationOf(generic, output, gate);
    if (activation == GemmActivation::None || whole(output) != out)
      return std::nullopt;
    ElementwiseEpilogue epilogue{op, activation,
                                 whole(generic.getDpsInits()[0]),
                                 gate ? whole(gate) : Value()};
    if (!epilogue.result || (gate && !epilogue.gate))
      return std::nullopt;
    return epilogue;
  };
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return match(generic, [](Value v) { return v; });
  scf::ForallOp forall;
  linalg::GenericOp generic;
  std::optional<int64_t> step = blockLoop(op, shape[0], forall, generic);
  if (!step)
    return std::nullopt;
  Block *body = forall.getBody();
  Value iv = forall.getInductionVar(0);
  return match(generic, [&](Value v) -> Value {
    auto subview = v.getDefiningOp<memref::SubViewOp>();
    if (!subview || subview->getBlock() != body)
      return nullptr;
    return rowBlockSource(subview, iv, *step, shape[1]);
  });
}

/// A column sum as a bias gradient lowers: sums[j] += rows[i, j] over i,
/// i.e. maps (d0, d1) -> (d0, d1) and (d0, d1) -> (d1), iterators
/// [reduction, parallel], a body yielding arith.addf of the element and the
/// accumulator.
bool isColumnSum(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      generic.getNumLoops() != 2)
    return false;
  MLIRContext *ctx = generic.getContext();
  AffineMap element = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap column = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<utils::IteratorType> iterators =
      generic.getIteratorTypesArray();
  if (generic.getIndexingMapsArray() !=
          SmallVector<AffineMap>{element, column} ||
      iterators[0] != utils::IteratorType::reduction ||
      iterators[1] != utils::IteratorType::parallel)
    return false;
  Block &body = generic.getRegion().front();
  if (!llvm::hasSingleElement(body.without_terminator()))
    return false;
  auto add = dyn_cast<arith::AddFOp>(body.front());
  if (!add || body.getTerminator()->getOperand(0) != add.getResult())
    return false;
  Value in = body.getArgument(0), acc = body.getArgument(1);
  return (add.getLhs() == in && add.getRhs() == acc) ||
         (add.getLhs() == acc && add.getRhs() == in);
}

/// The column sum `op` is: a linalg.generic reading exactly `rows`, or the
/// scf.forall of column blocks that kiln-cpu-tile-and-vectorize makes of
/// one (each iteration the sums of columns [iv, iv + s) of all rows into
/// the same elements of one buffer, s dividing M).
std::optional<ColumnSum> columnSumOf(Operation *op, Value rows) {
  auto shape = cast<MemRefType>(rows.getType()).getShape();
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    if (!generic.hasPureBufferSemantics() || !isColumnSum(generic) ||
        generic.getDpsInputs()[0] != rows)
      return std::nullopt;
    return ColumnSum{op, generic.getDpsInits()[0]};
  }
  scf::ForallOp forall;
  linalg::GenericOp generic;
  std::optional<int64_t> step = blockLoop(op, shape[1], forall, generic);
  if (!step || !generic.hasPureBufferSemantics() || !isColumnSum(generic))
    return std::nullopt;
  Block *body = forall.getBody();
  auto input = generic.getDpsInputs()[0].getDefiningOp<memref::SubViewOp>();
  auto output = generic.getDpsInits()[0].getDefiningOp<memref::SubViewOp>();
  if (!input || !output || input->getBlock() != body ||
      output->getBlock() != body || input.getSource() != rows)
    return std::nullopt;
  Value iv = forall.getInductionVar(0);
  SmallVector<OpFoldResult> inOffsets = input.getMixedOffsets(),
                            inSizes = input.getMixedSizes(),
                            inStrides = input.getMixedStrides();
  if (inOffsets.size() != 2 || !isConstantIndex(inOffsets[0], 0) ||
      llvm::dyn_cast_if_present<Value>(inOffsets[1]) != iv ||
      !isConstantIndex(inSizes[0], shape[0]) ||
      !isConstantIndex(inSizes[1], *step) ||
      !isConstantIndex(inStrides[0], 1) || !isConstantIndex(inStrides[1], 1))
    return std::nullopt;
  SmallVector<OpFoldResult> outOffsets = output.getMixedOffsets(),
                            outSizes = output.getMixedSizes(),
                            outStrides = output.getMixedStrides();
  if (outOffsets.size() != 1 ||
      llvm::dyn_cast_if_present<Value>(outOffsets[0]) != iv ||
      !isConstantIndex(outSizes[0], *step) ||
      !isConstantIndex(outStrides[0], 1))
    return std::nullopt;
  return ColumnSum{op, output.getSource()};
}

/// The first of the next kLookahead ops with memory effects after the
/// contraction `op` that `match` recognises, when every op before it may run
/// before the contraction (the call will stand at the match).
template <typename T>
std::optional<T> findAfter(linalg::LinalgOp op, Value bias,
                           llvm::function_ref<std::optional<T>(Operation *)> match) {
  Operation *next = op;
  for (int ops = 0; ops < kLookahead; ++ops) {
    next = nextEffect(next);
    if (!next)
      return std::nullopt;
    if (std::optional<T> found = match(next))
      return found;
    if (!mayRunBefore(next, op, bias))
      return std::nullopt;
  }
  return std::nullopt;
}

/// Why the epilogue's buffers keep it a pass of its own ("" when they do
/// not): see elementwiseEpilogueAfter.
std::string whyNotFolded(const ElementwiseEpilogue &epilogue,
                         linalg::LinalgOp op, Value bias) {
  Value out = op.getDpsInits()[0];
  auto sameShape = [&](Value v) {
    return kiln::cpu::isF32Matrix(v) && kiln::cpu::hasUnitInnerStride(v) &&
           cast<MemRefType>(v.getType()).getShape() ==
               cast<MemRefType>(out.getType()).getShape();
  };
  Value result = epilogue.result;
  if (!sameShape(result) || (epilogue.gate && !sameShape(epilogue.gate)))
    return "its buffers are not contiguous-row buffers of the GEMM's shape";
  // By bytes (see mayRunBefore): the result is written, and the gate read,
  // inside the call, while the GEMM still reads its operands.
  auto kernel = op->getParentOfType<func::FuncOp>();
  auto overlaps = [&](Value a, Value b) { return kiln::cpu::mayShareBytes(a, b, kernel); };
  if (overlaps(result, op.getDpsInputs()[0]) || overlaps(result, op.getDpsInputs()[1]) ||
      (bias && overlaps(result, bias)))
    return "its result may overlap an operand of the GEMM";
  if (result != out && overlaps(result, out))
    return "its result may overlap part of the GEMM's output";
  if (epilogue.gate && (overlaps(epilogue.gate, out) ||
                        (result != out && overlaps(epilogue.gate, result))))
    return "its gate may overlap what the GEMM writes";
  return "";
}

} // namespace

linalg::BroadcastOp kiln::cpu::biasBroadcastBefore(Operation *op, Value out) {
  auto broadcast = dyn_cast_or_null<linalg::BroadcastOp>(op->getPrevNode());
  if (!broadcast || broadcast.getInit() != out ||
      !broadcast.hasPureBufferSemantics() ||
      broadcast.getDimensions() != ArrayRef<int64_t>{0})
    return nullptr;
  Value bias = broadcast.getInput();
  if (!isContiguousF32Vector(bias) ||
      !cast<MemRefType>(bias.getType()).hasStaticShape())
    return nullptr;
  if (kiln::cpu::mayShareBytes(bias, out, op->getParentOfType<func::FuncOp>()))
    return nullptr;
  return broadcast;
}

std::optional<ElementwiseEpilogue>
kiln::cpu::elementwiseEpilogueAfter(linalg::LinalgOp op, Value bias,
                                    std::string &whyNot) {
  Value out = op.getDpsInits()[0];
  std::optional<ElementwiseEpilogue> epilogue = findAfter<ElementwiseEpilogue>(
      op, bias, [&](Operation *next) { return epilogueOf(next, out); });
  if (!epilogue)
    return std::nullopt;
  whyNot = whyNotFolded(*epilogue, op, bias);
  return whyNot.empty() ? epilogue : std::nullopt;
}

std::optional<ColumnSum> kiln::cpu::biasGradientAfter(linalg::LinalgOp op,
                                                      std::string &whyNot) {
  if (!isa<linalg::MatmulTransposeAOp>(op))
    return std::nullopt;
  Value lhs = op.getDpsInputs()[0];
  std::optional<ColumnSum> sum = findAfter<ColumnSum>(
      op, Value(), [&](Operation *next) { return columnSumOf(next, lhs); });
  if (!sum)
    return std::nullopt;
  // By bytes (see mayRunBefore): the call adds the sums up while the GEMM
  // reads its operands.
  auto kernel = op->getParentOfType<func::FuncOp>();
  auto overlaps = [&](Value a, Value b) { return kiln::cpu::mayShareBytes(a, b, kernel); };
  if (!isContiguousF32Vector(sum->sums))
    whyNot = "its sums are not contiguous f32";
  else if (overlaps(sum->sums, lhs) || overlaps(sum->sums, op.getDpsInputs()[1]) ||
           overlaps(sum->sums, op.getDpsInits()[0]))
    whyNot = "its sums may overlap an operand of the GEMM";
  return whyNot.empty() ? sum : std::nullopt;
}
