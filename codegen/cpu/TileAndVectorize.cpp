// CPU schedules for contractions, written in the transform dialect and
// applied by two passes (before and after bufferization).
#include "codegen/cpu/GenericRows.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Bufferization/TransformOps/BufferizationTransformOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/TransformOps/DialectExtension.h"
#include "mlir/Dialect/MemRef/TransformOps/MemRefTransformOps.h"
#include "mlir/Dialect/SCF/TransformOps/SCFTransformOps.h"
#include "mlir/Dialect/Tensor/TransformOps/TensorTransformOps.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/Dialect/Vector/TransformOps/VectorTransformOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Affine/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/SubsetInsertionOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/SCF/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/TensorTilingInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/SubsetInsertionOpInterfaceImpl.h"

namespace kiln {
#define GEN_PASS_DEF_CPUTILEANDVECTORIZE
#define GEN_PASS_DEF_CPULOWERVECTORS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

void kiln::registerCPUDialects(DialectRegistry &registry) {
  registry.insert<transform::TransformDialect>();
  linalg::registerTransformDialectExtension(registry);
  scf::registerTransformDialectExtension(registry);
  tensor::registerTransformDialectExtension(registry);
  memref::registerTransformDialectExtension(registry);
  vector::registerTransformDialectExtension(registry);
  // Tiling and vectorization go through these interfaces.
  linalg::registerTilingInterfaceExternalModels(registry);
  linalg::registerValueBoundsOpInterfaceExternalModels(registry);
  linalg::registerSubsetOpInterfaceExternalModels(registry);
  tensor::registerTilingInterfaceExternalModels(registry);
  tensor::registerValueBoundsOpInterfaceExternalModels(registry);
  tensor::registerSubsetOpInterfaceExternalModels(registry);
  affine::registerValueBoundsOpInterfaceExternalModels(registry);
  arith::registerValueBoundsOpInterfaceExternalModels(registry);
  scf::registerValueBoundsOpInterfaceExternalModels(registry);
}

namespace {

// Subviews are folded into the transfers first: hoisting does not see
// through memref.subview (toolchain notes: ~80% speed without it).
constexpr const char *kFoldSchedule = R"mlir(
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %funcs = transform.structured.match ops{["func.func"]} in %root
      : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs {
      transform.apply_patterns.memref.fold_memref_alias_ops
      transform.apply_patterns.vector.reduction_to_contract
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.yield
  }
}
)mlir";

// After loop-invariant code motion: keep the accumulators in registers
// across the K loop, then contraction -> outer products -> FMAs.
constexpr const char *kLowerSchedule = R"mlir(
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %funcs = transform.structured.match ops{["func.func"]} in %root
      : (!transform.any_op) -> !transform.any_op
    %hoisted = transform.structured.hoist_redundant_vector_transfers %funcs
      : (!transform.any_op) -> !transform.any_op
    %funcs2 = transform.structured.match ops{["func.func"]} in %root
      : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs2 {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_outerproduct
      transform.apply_patterns.vector.lower_broadcast
      transform.apply_patterns.vector.lower_transpose
      transform.apply_patterns.vector.lower_multi_reduction lowering_strategy = "innerparallel"
      transform.apply_patterns.vector.lower_shape_cast
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.yield
  }
}
)mlir";

LogicalResult applySchedule(ModuleOp payload, const char *schedule) {
  OwningOpRef<ModuleOp> script =
      parseSourceString<ModuleOp>(schedule, payload.getContext());
  if (!script)
    return payload.emitError("internal error: malformed CPU schedule");
  Operation *entry = transform::detail::findTransformEntryPoint(
      payload, *script, "__transform_main");
  if (!entry)
    return payload.emitError("internal error: schedule has no entry point");
  return transform::applyTransformNamedSequence(
      payload, entry, *script, transform::TransformOptions());
}

/// Largest multiple of `unit` that divides `size` and is <= `cap`; 0 when
/// `unit` does not divide `size`.
int64_t divisibleTile(int64_t size, int64_t unit, int64_t cap) {
  if (size % unit != 0)
    return 0;
  for (int64_t t = (std::min(cap, size) / unit) * unit; t >= unit; t -= unit)
    if (size % t == 0)
      return t;
  return unit;
}

/// Register-tile rows: 8, or all of a small M that 8 does not divide (the
/// 10 x 512 weight gradient of a 10-class head); 0 = leave to the scalar
/// path. Degenerate widths stay scalar: with M = 1 or N = 1 (a 1-output
/// Linear) the contraction lowering in MLIR 19 did not terminate (kilnc
/// grew to 24 GB in 5 minutes on residual_add_mul_basic); 4 rows and 5
/// columns are the smallest sizes tested.
int64_t registerRows(int64_t m) {
  if (m % 8 == 0)
    return 8;
  return m >= 4 && m <= 16 ? m : 0;
}

/// Register-tile columns (the vector length): two 16-lane vectors, one, or
/// all of a small N that 16 does not divide (a 10-class logits layer: one
/// 10-lane vector, which LLVM widens to 16 lanes). 0 = scalar path.
int64_t registerColumns(int64_t n) {
  if (n % 32 == 0)
    return 32;
  if (n % 16 == 0)
    return 16;
  return n >= 5 && n <= 32 ? n : 0;
}

/// Reduction blocks for long contractions (the weight gradient of a
/// convolution as a GEMM: K = N * OH * OW, 10^5): without them every 8 x 32
/// register tile streams all of K from memory. The largest divisor of K in
/// [64, 512] when K > 2048, else 0 (no block: the MLP's K <= 784 keeps its
/// schedule).
int64_t reductionBlock(int64_t k) {
  if (k <= 2048)
    return 0;
  for (int64_t t = 512; t >= 64; --t)
    if (k % t == 0)
      return t;
  return 0;
}

/// K of a matmul-like op (its third loop), or 0 when not static.
int64_t reductionSize(Operation *op) {
  SmallVector<int64_t> ranges = cast<linalg::LinalgOp>(op).getStaticLoopRanges();
  return ranges.size() == 3 && !ShapedType::isDynamic(ranges[2]) ? ranges[2] : 0;
}

/// Splits a contraction whose M or N the register tiles do not divide into
/// a main part they divide and a narrow remainder (linalg::splitOp along
/// that loop: two ops on static slices), so that only the remainder can
/// fall to the scalar path. Without it the whole op did: LeNet's second
/// convolution has C*K = 150 columns in its input- and weight-gradient
/// GEMMs, and those two scalar GEMMs were most of W2's train step.
/// Columns split at a multiple of 16, rows at a multiple of 8; a remainder
/// of 5..15 columns or 4..7 rows is then a register tile of its own.
SmallVector<linalg::LinalgOp> splitForRegisterTiles(IRRewriter &rewriter,
                                                   linalg::LinalgOp op) {
  SmallVector<linalg::LinalgOp> parts{op};
  // Loop 0 is M, loop 1 is N for matmul and matmul_transpose_a alike.
  auto splitAll = [&](unsigned loop, int64_t unit,
                      function_ref<int64_t(int64_t)> registerTile) {
    SmallVector<linalg::LinalgOp> next;
    for (linalg::LinalgOp part : parts) {
      int64_t size = part.getStaticLoopRanges()[loop];
      if (ShapedType::isDynamic(size) || registerTile(size) != 0 ||
          size < unit) {
        next.push_back(part);
        continue;
      }
      rewriter.setInsertionPoint(part);
      auto [main, rest] = linalg::splitOp(
          rewriter, cast<TilingInterface>(part.getOperation()), loop,
          rewriter.getIndexAttr(size - size % unit));
      next.push_back(cast<linalg::LinalgOp>(main.getOperation()));
      next.push_back(cast<linalg::LinalgOp>(rest.getOperation()));
    }
    parts = std::move(next);
  };
  splitAll(1, 16, registerColumns);
  splitAll(0, 8, registerRows);
  return parts;
}

/// Tiles `op` with `sizes` (0 = untiled dim); returns the tiled op.
FailureOr<Operation *> tile(IRRewriter &rewriter, Operation *op,
                            ArrayRef<int64_t> sizes,
                            scf::SCFTilingOptions::LoopType loops) {
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(op->getContext(), sizes));
  options.setLoopType(loops);
  rewriter.setInsertionPoint(op);
  auto result =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(op), options);
  if (failed(result))
    return failure();
  rewriter.replaceOp(op, result->replacements);
  return result->tiledOps.back();
}

/// 2-D transposes (the W^T copies of nn.linear) whose sides are multiples
/// of 16: thread tiles of up to 128 x 128, then 16 x 16 blocks read as 16
/// rows, transposed in registers (vector.transpose -> shuffles) and written
/// as 16 rows, instead of a strided gather per element. Others stay scalar.
LogicalResult tileTranspose(IRRewriter &rewriter, linalg::TransposeOp op) {
  auto type = cast<ShapedType>(op->getResult(0).getType());
  if (type.getRank() != 2 || !type.hasStaticShape())
    return success();
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  int64_t tr = divisibleTile(rows, 16, 128), tc = divisibleTile(cols, 16, 128);
  if (tr == 0 || tc == 0)
    return success();
  auto threadTile = tile(rewriter, op, {tr, tc},
                         scf::SCFTilingOptions::LoopType::ForallOp);
  if (failed(threadTile))
    return failure();
  auto block = tile(rewriter, *threadTile, {16, 16},
                    scf::SCFTilingOptions::LoopType::ForOp);
  if (failed(block))
    return failure();
  return linalg::vectorize(rewriter, *block);
}

bool insideFusedRowLoop(Operation *op) {
  for (Operation *p = op->getParentOp(); p; p = p->getParentOp())
    if (p->hasAttr(kFusedRowLoopAttr))
      return true;
  return false;
}

/// linalg.generic ops with a parallel loop (bias + ReLU, ReLU masks, the
/// SGD update, but also max/sum pooling and its backward, the bias
/// gradients' and batch norm's reductions): an scf.forall over blocks of
/// the outermost parallel loop that indexes every output, each block at
/// least kGenericGrain iterations, when that gives two or more tasks. The
/// body stays a linalg.generic (LLVM vectorizes its inner loop).
LogicalResult threadGeneric(IRRewriter &rewriter, linalg::GenericOp op, bool remarks) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  auto sequential = [&](const llvm::Twine &why) {
    if (remarks) {
      InFlightDiagnostic d = op.emitRemark() << "threads: linalg.generic [";
      llvm::interleave(ranges, [&](int64_t r) { d << (ShapedType::isDynamic(r) ? "?" : std::to_string(r)); },
                       [&] { d << " x "; });
      d << "]";
      for (Operation &inner : op.getBody()->without_terminator()) {
        d << " (" << inner.getName().getStringRef() << ")";
        break;
      }
      d << " stays sequential: " << why;
    }
    return success();
  };
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return sequential("its sizes are dynamic");
  std::optional<unsigned> loop = outermostOutputLoop(op);
  if (!loop)
    return sequential("no parallel loop indexes every output (a full reduction)");
  int64_t rows = ranges[*loop];
  int64_t rowIterations = 1;
  for (auto [i, r] : llvm::enumerate(ranges))
    if (i != *loop)
      rowIterations *= r;
  int64_t block = threadBlockRows(rows, rowIterations);
  if (block == 0)
    return sequential(llvm::Twine(rows * rowIterations) + " iterations give no two equal blocks of loop " +
                      llvm::Twine(*loop) + " with at least " + llvm::Twine(kGenericGrain) +
                      " each (a task must outweigh waking a pool thread)");
  SmallVector<int64_t> sizes(ranges.size(), 0);
  sizes[*loop] = block;
  if (failed(tile(rewriter, op, sizes,
                  scf::SCFTilingOptions::LoopType::ForallOp)))
    return failure();
  return success();
}

// Schedule per contraction C[M,N] += A B:
//   0. an M or N that no register tile divides is split into a main part
//      and a narrow remainder (splitForRegisterTiles); each part follows:
//   1. scf.forall over thread tiles of at most 64 x 128 (one task each);
//   1b. for K > 2048, scf.for over K blocks of 64..512 (reductionBlock);
//   2. scf.for over register tiles 8 x 32 x 1 (8 rows x two 16-lane
//      vectors = 16 accumulators) or 8 x 16 x 1 when N is not a multiple of
//      32; a small M or N that these do not divide is taken whole
//      (registerRows, registerColumns); K innermost so the accumulators
//      stay in registers;
//   3. vectorize the register tile.
// Remainders that still do not fit (1..4 columns, 1..3 rows) are left to
// the scalar path rather than masked (masked contractions did not lower
// cleanly in MLIR 19).
struct CPUTileAndVectorizePass
    : kiln::impl::CPUTileAndVectorizeBase<CPUTileAndVectorizePass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> contractions;
    SmallVector<linalg::TransposeOp> transposes;
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::LinalgOp op) {
      // The ops of a fused row loop (kiln-cpu-fuse-row-reductions) are
      // tiled already: that loop is their thread split.
      if (auto g = dyn_cast<linalg::GenericOp>(op.getOperation()))
        if (g.getNumParallelLoops() > 0 && !insideFusedRowLoop(g))
          generics.push_back(g);
      if (tileContractions &&
          isa<linalg::MatmulOp, linalg::MatmulTransposeAOp>(op))
        contractions.push_back(op);
      if (auto t = dyn_cast<linalg::TransposeOp>(op.getOperation()))
        transposes.push_back(t);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::TransposeOp op : transposes)
      if (failed(tileTranspose(rewriter, op)))
        return signalPassFailure();
    for (linalg::GenericOp op : generics)
      if (failed(threadGeneric(rewriter, op, remarks)))
        return signalPassFailure();
    SmallVector<linalg::LinalgOp> parts;
    for (linalg::LinalgOp op : contractions)
      llvm::append_range(parts, splitForRegisterTiles(rewriter, op));
    for (linalg::LinalgOp op : parts) {
      auto type = cast<RankedTensorType>(op->getResult(0).getType());
      int64_t m = type.getDimSize(0), n = type.getDimSize(1);
      int64_t rm = registerRows(m), rn = registerColumns(n);
      if (rm == 0 || rn == 0)
        continue;
      int64_t tm = divisibleTile(m, rm, 64), tn = divisibleTile(n, rn, 128);
      auto threadTile = tile(rewriter, op, {tm, tn},
                             scf::SCFTilingOptions::LoopType::ForallOp);
      if (failed(threadTile))
        return signalPassFailure();
      if (int64_t tk = reductionBlock(reductionSize(*threadTile))) {
        threadTile = tile(rewriter, *threadTile, {0, 0, tk},
                          scf::SCFTilingOptions::LoopType::ForOp);
        if (failed(threadTile))
          return signalPassFailure();
      }
      auto registerTile = tile(rewriter, *threadTile, {rm, rn, 1},
                               scf::SCFTilingOptions::LoopType::ForOp);
      if (failed(registerTile) ||
          failed(linalg::vectorize(rewriter, *registerTile)))
        return signalPassFailure();
    }
    // Vectorization yields broadcast reads + mulf + multi_reduction; fold
    // them into vector.contract, which lowers to outer products (FMAs).
    RewritePatternSet patterns(&getContext());
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, &getContext());
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

struct CPULowerVectorsPass
    : kiln::impl::CPULowerVectorsBase<CPULowerVectorsPass> {
  void runOnOperation() override {
    if (failed(applySchedule(getOperation(), kFoldSchedule)))
      return signalPassFailure();
    getOperation().walk(
        [](LoopLikeOpInterface loop) { moveLoopInvariantCode(loop); });
    if (failed(applySchedule(getOperation(), kLowerSchedule)))
      signalPassFailure();
  }
};

} // namespace
