// kiln-cuda-split-reductions: a sum with few outputs and long loops as
// partial sums in parallel, then their sum (Passes.td says why).
#include "codegen/cuda/Passes.h"
#include "codegen/cuda/ReductionLoops.h"

#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_CUDASPLITREDUCTIONS
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Outputs at or above this count keep a GPU busy without splitting.
constexpr int64_t kEnoughThreads = 4096;
/// Reductions shorter than this are cheap in one thread.
constexpr int64_t kLongReduction = 4096;
constexpr int64_t kMaxSplit = 256;

struct Split {
  unsigned parallel = 0; // leading parallel loops
  unsigned dim = 0;      // the reduction loop that is split
  int64_t factor = 1;    // into this many parallel chunks
};

/// The result of `map` that is loop `d` alone, if `d` appears only there;
/// -1 when `d` does not appear; -2 when it appears in another expression.
int plainResult(AffineMap map, unsigned d) {
  int found = -1;
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    if (!e.isFunctionOfDim(d))
      continue;
    auto dim = dyn_cast<AffineDimExpr>(e);
    if (!dim || found != -1)
      return -2;
    found = static_cast<int>(i);
  }
  return found;
}

/// Every input that depends on loop `d` has it as a plain result, and one
/// does (which gives the split loops their sizes).
bool indexedPlainly(linalg::GenericOp op, unsigned d) {
  bool some = false;
  for (OpOperand *in : op.getDpsInputOperands()) {
    int r = plainResult(op.getMatchingIndexingMap(in), d);
    if (r == -2)
      return false;
    some |= r >= 0 && isa<RankedTensorType>(in->get().getType());
  }
  return some;
}

/// Whether `op` is a sum this pass takes (one f32 output whose body adds
/// into the accumulator once, parallel loops first, static sizes), and how
/// to split it.
std::optional<Split> plan(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1)
    return std::nullopt;
  auto outType = dyn_cast<RankedTensorType>(op.getDpsInits()[0].getType());
  if (!outType || !outType.getElementType().isF32())
    return std::nullopt;
  std::optional<kiln::cuda::ReductionLoops> loops = kiln::cuda::reductionLoops(op);
  if (!loops)
    return std::nullopt;
  Split s;
  s.parallel = loops->parallel;
  ArrayRef<int64_t> ranges = loops->ranges;
  const int64_t outputs = loops->outputs, length = loops->length;
  if (outputs >= kEnoughThreads || length < kLongReduction)
    return std::nullopt;
  // The body: yield addf(x, acc) (either order), acc used there only.
  Block &body = op.getRegion().front();
  BlockArgument acc = body.getArguments().back();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add || !acc.hasOneUse() || (add.getLhs() != acc && add.getRhs() != acc))
    return std::nullopt;
  // The output depends on the parallel loops only.
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  for (unsigned d = s.parallel; d < ranges.size(); ++d)
    if (outMap.isFunctionOfDim(d))
      return std::nullopt;
  // The outermost reduction loop that inputs index plainly (a result of
  // their maps is that loop alone, so the input can be reshaped to chunks)
  // in as many chunks as it divides into, up to what fills the GPU.
  int64_t want = std::min<int64_t>(kMaxSplit, llvm::divideCeil(kEnoughThreads, outputs));
  for (unsigned d = s.parallel; d < ranges.size(); ++d) {
    if (!indexedPlainly(op, d))
      continue;
    for (int64_t f = std::min(want, ranges[d] / 2); f >= 2; --f)
      if (ranges[d] % f == 0) {
        s.dim = d;
        s.factor = f;
        return s;
      }
  }
  return std::nullopt;
}

struct CUDASplitReductionsPass
    : kiln::impl::CUDASplitReductionsBase<CUDASplitReductionsPass> {
  using CUDASplitReductionsBase::CUDASplitReductionsBase;

  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, Split>> work;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Split> s = plan(op))
        work.push_back({op, *s});
    });
    for (auto [op, s] : work)
      split(op, s);
  }

  /// partial[out..., c] = sum over the chunk c of the split loop (and the
  /// other reductions), in parallel over (out, c); then out = init + the
  /// sum over c of partial.
  void split(linalg::GenericOp op, const Split &s) {
    MLIRContext *ctx = op.getContext();
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    unsigned rank = ranges.size();
    int64_t chunk = ranges[s.dim] / s.factor;

    // Old loop d -> the new loops' expression: the chunk loop c is new loop
    // `s.parallel`, every later loop moves up by one.
    SmallVector<AffineExpr> replace;
    for (unsigned d = 0; d < rank; ++d) {
      if (d < s.parallel)
        replace.push_back(getAffineDimExpr(d, ctx));
      else if (d == s.dim)
        replace.push_back(getAffineDimExpr(s.parallel, ctx) * chunk +
                          getAffineDimExpr(d + 1, ctx));
      else
        replace.push_back(getAffineDimExpr(d + 1, ctx));
    }
    auto remap = [&](AffineMap map) {
      return map.replaceDimsAndSymbols(replace, {}, rank + 1, map.getNumSymbols());
    };

    // The partial sums: [output shape..., factor], zero.
    auto outType = cast<RankedTensorType>(op.getDpsInits()[0].getType());
    SmallVector<int64_t> partialShape(outType.getShape());
    partialShape.push_back(s.factor);
    Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
    Value empty = b.create<tensor::EmptyOp>(loc, partialShape, outType.getElementType());
    Value partialInit = b.create<linalg::FillOp>(loc, zero, empty).getResult(0);

    // Inputs that the split loop indexes: that dimension reshaped to
    // [factor, chunk], read at (c, the loop's new index).
    SmallVector<AffineMap> maps;
    SmallVector<Value> inputs;
    for (OpOperand *in : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(in);
      int r = plainResult(map, s.dim);
      if (r < 0) {
        maps.push_back(remap(map));
        inputs.push_back(in->get());
        continue;
      }
      auto type = cast<RankedTensorType>(in->get().getType());
      SmallVector<int64_t> shape;
      SmallVector<ReassociationIndices> groups;
      SmallVector<AffineExpr> results;
      for (auto [i, e] : llvm::enumerate(map.getResults())) {
        if (static_cast<int>(i) == r) {
          groups.push_back({int64_t(shape.size()), int64_t(shape.size()) + 1});
          shape.append({s.factor, chunk});
          results.append({getAffineDimExpr(s.parallel, ctx), getAffineDimExpr(s.dim + 1, ctx)});
        } else {
          groups.push_back({int64_t(shape.size())});
          shape.push_back(type.getDimSize(i));
          results.push_back(e.replaceDimsAndSymbols(replace, {}));
        }
      }
      auto expandedType = RankedTensorType::get(shape, type.getElementType());
      inputs.push_back(b.create<tensor::ExpandShapeOp>(loc, expandedType, in->get(), groups));
      maps.push_back(AffineMap::get(rank + 1, map.getNumSymbols(), results, ctx));
    }
    AffineMap outMap = remap(op.getMatchingIndexingMap(op.getDpsInitOperand(0)));
    SmallVector<AffineExpr> partialResults(outMap.getResults());
    partialResults.push_back(getAffineDimExpr(s.parallel, ctx));
    maps.push_back(AffineMap::get(rank + 1, 0, partialResults, ctx));
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    iterators.insert(iterators.begin() + s.parallel, utils::IteratorType::parallel);
    auto partial = b.create<linalg::GenericOp>(
        loc, TypeRange{partialInit.getType()}, inputs, ValueRange{partialInit},
        maps, iterators);
    // The same body; linalg.index of an old loop becomes its expression.
    IRMapping mapping;
    Region &region = partial.getRegion();
    op.getRegion().cloneInto(&region, mapping);
    SmallVector<linalg::IndexOp> indices;
    region.walk([&](linalg::IndexOp index) { indices.push_back(index); });
    for (linalg::IndexOp index : indices) {
      OpBuilder ib(index);
      unsigned d = index.getDim();
      Value v;
      if (d < s.parallel) {
        v = ib.create<linalg::IndexOp>(loc, d);
      } else if (d == s.dim) {
        Value c = ib.create<linalg::IndexOp>(loc, s.parallel);
        Value inner = ib.create<linalg::IndexOp>(loc, d + 1);
        Value size = ib.create<arith::ConstantIndexOp>(loc, chunk);
        v = ib.create<arith::AddIOp>(loc, ib.create<arith::MulIOp>(loc, c, size), inner);
      } else {
        v = ib.create<linalg::IndexOp>(loc, d + 1);
      }
      index.replaceAllUsesWith(v);
      index.erase();
    }

    // out = init + sum over c of partial[..., c].
    unsigned outRank = outType.getRank();
    AffineMap all = AffineMap::getMultiDimIdentityMap(outRank + 1, ctx);
    AffineMap outs = AffineMap::getMultiDimIdentityMap(outRank + 1, ctx).dropResult(outRank);
    SmallVector<utils::IteratorType> finalIterators(outRank, utils::IteratorType::parallel);
    finalIterators.push_back(utils::IteratorType::reduction);
    auto total = b.create<linalg::GenericOp>(
        loc, TypeRange{outType}, ValueRange{partial.getResult(0)},
        ValueRange{op.getDpsInits()[0]}, ArrayRef<AffineMap>{all, outs}, finalIterators,
        [](OpBuilder &nb, Location nloc, ValueRange args) {
          Value sum = nb.create<arith::AddFOp>(nloc, args[0], args[1]);
          nb.create<linalg::YieldOp>(nloc, sum);
        });
    if (remarks)
      op.emitRemark() << "reduction split for the GPU: " << s.factor << " partial sums of "
                      << chunk << " along loop " << s.dim << ", then their sum";
    op.getResult(0).replaceAllUsesWith(total.getResult(0));
    op.erase();
  }
};

} // namespace
