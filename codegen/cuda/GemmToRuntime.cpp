// kiln-cuda-gemm-to-runtime: f32 matmuls on buffers -> kiln_cuda_sgemm
// calls, which the runtime queues through cuBLAS (Passes.td has the
// signature). Precondition: after bufferization and memory planning (the
// call hides its buffer uses from both).
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cuda/Passes.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAGEMMTORUNTIME
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kSgemm = "kiln_cuda_sgemm";

func::FuncOp declareSgemm(ModuleOp module) {
  Builder b(module.getContext());
  Type i32 = b.getI32Type(), i64 = b.getI64Type(), f32 = b.getF32Type();
  SmallVector<Type> args = {i32, i32, i64, i64, i64, i64, i64, i64,
                            i64, f32, i64, i64, i64, i64, i64, i64};
  return kiln::cpu::declareRuntimeFunction(module, kSgemm, args);
}

/// Which operand is stored transposed, read off the op's name.
struct Contraction {
  bool batched = false, transA = false, transB = false;
};

std::optional<Contraction> classify(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::optional<Contraction>>(op)
      .Case([](linalg::MatmulOp) { return Contraction{false, false, false}; })
      .Case([](linalg::MatmulTransposeAOp) { return Contraction{false, true, false}; })
      .Case([](linalg::MatmulTransposeBOp) { return Contraction{false, false, true}; })
      .Case([](linalg::BatchMatmulOp) { return Contraction{true, false, false}; })
      .Case([](linalg::BatchMatmulTransposeAOp) { return Contraction{true, true, false}; })
      .Case([](linalg::BatchMatmulTransposeBOp) { return Contraction{true, false, true}; })
      .Default([](Operation *) { return std::nullopt; });
}

/// Static strides of an f32 memref of `rank` whose last dimension is
/// contiguous; none otherwise.
std::optional<SmallVector<int64_t>> rowStrides(Value v, int64_t rank) {
  auto type = dyn_cast<MemRefType>(v.getType());
  if (!type || type.getRank() != rank || !type.getElementType().isF32() ||
      !type.hasStaticShape())
    return std::nullopt;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(getStridesAndOffset(type, strides, offset)) || strides.back() != 1 ||
      llvm::any_of(strides, ShapedType::isDynamic))
    return std::nullopt;
  return strides;
}

struct CUDAGemmToRuntimePass
    : kiln::impl::CUDAGemmToRuntimeBase<CUDAGemmToRuntimePass> {
  using CUDAGemmToRuntimeBase::CUDAGemmToRuntimeBase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (classify(op) && op.hasPureBufferSemantics())
        ops.push_back(op);
    });
    for (linalg::LinalgOp op : ops)
      rewrite(op, *classify(op));
  }

  void rewrite(linalg::LinalgOp op, Contraction kind) {
    int64_t rank = kind.batched ? 3 : 2;
    Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
    Value c = op.getDpsInits()[0];
    auto sa = rowStrides(a, rank), sb = rowStrides(b, rank), sc = rowStrides(c, rank);
    if (!sa || !sb || !sc) {
      if (remarks)
        op.emitRemark() << "gemm: " << op->getName().getStringRef()
                        << " stays GPU loops: an operand is not f32 with static shape "
                           "and contiguous rows (what cuBLAS takes)";
      return;
    }
    auto shape = [](Value v) { return cast<MemRefType>(v.getType()).getShape(); };
    ArrayRef<int64_t> cShape = shape(c), aShape = shape(a);
    int64_t m = cShape[rank - 2], n = cShape[rank - 1];
    int64_t k = kind.transA ? aShape[rank - 2] : aShape[rank - 1];
    int64_t batch = kind.batched ? cShape[0] : 1;

    OpBuilder builder(op);
    Location loc = op.getLoc();
    auto i32 = [&](int64_t v) {
      return builder.create<arith::ConstantIntOp>(loc, v, 32).getResult();
    };
    auto i64 = [&](int64_t v) {
      return builder.create<arith::ConstantIntOp>(loc, v, 64).getResult();
    };
    auto address = [&](Value v) {
      return kiln::cpu::firstElementAddressI64(builder, loc, v);
    };
    float beta = 1;
    if (linalg::FillOp fill = kiln::cpu::zeroFillBefore(op, c)) {
      fill.erase();
      beta = 0;
    }
    Value betaValue = builder.create<arith::ConstantOp>(
        loc, builder.getF32FloatAttr(beta));
    int64_t ld = rank - 2; // the leading dimension's stride index
    SmallVector<Value> args = {
        i32(kind.transA), i32(kind.transB), i64(m), i64(n), i64(k),
        address(a), i64((*sa)[ld]), address(b), i64((*sb)[ld]), betaValue,
        address(c), i64((*sc)[ld]), i64(batch),
        i64(kind.batched ? (*sa)[0] : 0), i64(kind.batched ? (*sb)[0] : 0),
        i64(kind.batched ? (*sc)[0] : 0)};
    builder.create<func::CallOp>(loc, declareSgemm(getOperation()), args);
    if (remarks) {
      InFlightDiagnostic d = op.emitRemark();
      d << "gemm: " << op->getName().getStringRef() << " -> cuBLAS (kiln_cuda_sgemm), "
        << m << " x " << n << " x " << k;
      if (batch > 1)
        d << ", " << batch << " batches";
      d << (beta == 0 ? ", the zero fill folded in (beta 0)" : ", accumulating (beta 1)");
    }
    op.erase();
  }
};

} // namespace
