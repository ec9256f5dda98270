// kiln-cpu-gemm-to-runtime: 2-D f32 contractions on buffers -> calls of
// libkiln_rt's packed GEMM, kiln_sgemm (runtime/lib/gemm.cpp explains why the
// kernel lives there). Transposed operands become strides, so
// linalg.matmul_transpose_a/_b need no transposed copy; a zero fill of the
// output right before the contraction is folded into the call
// (accumulate = 0). Precondition: after bufferization and memory planning
// (the call hides its buffer uses from both).
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_CPUGEMMTORUNTIME
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kGemm = "kiln_sgemm";

/// void kiln_sgemm(i64 m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row,
///                 i32 accumulate); pointers travel as i64 (same registers).
func::FuncOp declareGemm(ModuleOp module) {
  if (auto f = module.lookupSymbol<func::FuncOp>(kGemm))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Type i64 = b.getI64Type();
  SmallVector<Type> args(11, i64);
  args.push_back(b.getI32Type());
  auto f = b.create<func::FuncOp>(module.getLoc(), kGemm,
                                  b.getFunctionType(args, {}));
  f.setPrivate();
  return f;
}

/// A strided 2-D view as (address of element (0,0), stride 0, stride 1), i64.
struct View {
  Value address, stride0, stride1;
};

View describe(OpBuilder &b, Location loc, Value memref) {
  auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, memref);
  auto toI64 = [&](Value v) {
    return b.create<arith::IndexCastOp>(loc, b.getI64Type(), v).getResult();
  };
  return {toI64(kiln::cpu::firstElementAddress(b, loc, memref, meta.getOffset())),
          toI64(meta.getStrides()[0]), toI64(meta.getStrides()[1])};
}

bool isF32Matrix(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getRank() == 2 && type.getElementType().isF32();
}

/// The output's columns must be contiguous (kiln_sgemm writes rows of n
/// consecutive floats); every buffer the pipeline creates is.
bool hasUnitInnerStride(Value v) {
  auto type = cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(getStridesAndOffset(type, strides, offset)) &&
         strides[1] == 1;
}

/// The linalg.fill of 0.0 into `out` right before `op`, if there is one.
linalg::FillOp zeroFillBefore(Operation *op, Value out) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (!fill || fill.getOutputs()[0] != out)
    return nullptr;
  FloatAttr value;
  if (!matchPattern(fill.getInputs()[0], m_Constant(&value)) ||
      !value.getValue().isZero())
    return nullptr;
  return fill;
}

/// Why `op` cannot become a call ("" when it can).
std::string whyLoops(linalg::LinalgOp op) {
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  Value out = op.getDpsInits()[0];
  if (!op.hasPureBufferSemantics())
    return "it is not on buffers";
  if (!isF32Matrix(lhs) || !isF32Matrix(rhs) || !isF32Matrix(out))
    return "kiln_sgemm takes 2-D f32 operands";
  if (!hasUnitInnerStride(out))
    return "its output's rows are not contiguous";
  // kiln_sgemm requires C to overlap neither A nor B (it writes C while it
  // still reads them); the loops of a linalg op accumulating into one of its
  // inputs have their own semantics, so such an op stays one.
  using kiln::cpu::rootBuffer;
  Value outRoot = rootBuffer(out);
  if (rootBuffer(lhs) == outRoot || rootBuffer(rhs) == outRoot)
    return "its output may overlap an input";
  if (!cast<MemRefType>(out.getType()).hasStaticShape() ||
      !cast<MemRefType>(lhs.getType()).hasStaticShape())
    return "its sizes are dynamic";
  return "";
}

/// The first op after `call` that is no pure index or view computation,
/// when it is an elementwise consumer that reads `out` again (a bias +
/// activation, an activation's backward mask): a pass over C that an
/// epilogue could have done while C was in registers.
Operation *unfusedConsumer(Operation *call, Value out) {
  Value root = kiln::cpu::rootBuffer(out);
  for (Operation *next = call->getNextNode(); next; next = next->getNextNode()) {
    if (isMemoryEffectFree(next))
      continue;
    bool reads = false;
    next->walk([&](linalg::GenericOp generic) {
      for (Value in : generic.getDpsInputs())
        reads |= kiln::cpu::rootBuffer(in) == root;
    });
    return reads ? next : nullptr;
  }
  return nullptr;
}

LogicalResult rewrite(linalg::LinalgOp op, func::FuncOp gemm, bool remarks) {
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  Value out = op.getDpsInits()[0];
  if (std::string why = whyLoops(op); !why.empty()) {
    if (remarks)
      op.emitRemark() << "gemm: " << op->getName().getStringRef()
                      << " stays a loop nest (the scalar path): " << why;
    return failure();
  }
  auto outType = cast<MemRefType>(out.getType());
  auto lhsType = cast<MemRefType>(lhs.getType());
  bool transA = isa<linalg::MatmulTransposeAOp>(op);
  bool transB = isa<linalg::MatmulTransposeBOp>(op);
  int64_t m = outType.getDimSize(0), n = outType.getDimSize(1);
  int64_t k = lhsType.getDimSize(transA ? 0 : 1);

  OpBuilder b(op);
  Location loc = op.getLoc();
  linalg::FillOp fill = zeroFillBefore(op, out);
  View a = describe(b, loc, lhs), bv = describe(b, loc, rhs),
       c = describe(b, loc, out);
  auto constant = [&](int64_t v) {
    return b.create<arith::ConstantIntOp>(loc, v, 64).getResult();
  };
  SmallVector<Value> args = {constant(m), constant(n), constant(k),
                             a.address,
                             transA ? a.stride1 : a.stride0,
                             transA ? a.stride0 : a.stride1,
                             bv.address,
                             transB ? bv.stride1 : bv.stride0,
                             transB ? bv.stride0 : bv.stride1,
                             c.address,
                             c.stride0,
                             b.create<arith::ConstantIntOp>(loc, fill ? 0 : 1, 32)};
  auto call = b.create<func::CallOp>(loc, gemm, args);
  if (remarks) {
    op.emitRemark() << "gemm: " << m << " x " << k << " x " << n << " ("
                    << (transA ? "A^T" : "A") << " " << (transB ? "B^T" : "B")
                    << ", transposes read through strides) calls kiln_sgemm, "
                    << (fill ? "the zero fill before it folded in (accumulate = 0)"
                             : "adding to what C holds (accumulate = 1: a "
                               "broadcast bias, or an earlier contribution)");
  }
  op->erase();
  if (fill)
    fill->erase();
  if (remarks)
    if (Operation *consumer = unfusedConsumer(call, out))
      consumer->emitRemark()
          << "gemm: not fused into the " << m << " x " << k << " x " << n
          << " GEMM before it: it reads the GEMM's result in a pass of its "
             "own (kiln_sgemm has no epilogue)";
  return success();
}

struct CPUGemmToRuntimePass
    : kiln::impl::CPUGemmToRuntimeBase<CPUGemmToRuntimePass> {
  using CPUGemmToRuntimeBase::CPUGemmToRuntimeBase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::MatmulOp, linalg::MatmulTransposeAOp,
              linalg::MatmulTransposeBOp>(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    func::FuncOp gemm = declareGemm(getOperation());
    for (linalg::LinalgOp op : ops)
      (void)rewrite(op, gemm, remarks); // the rest lowers to loops, as before
  }
};

} // namespace
