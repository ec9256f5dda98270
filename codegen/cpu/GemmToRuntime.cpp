// kiln-cpu-gemm-to-runtime: 2-D f32 contractions on buffers -> calls of
// libkiln_rt's packed GEMM, kiln_sgemm (runtime/lib/gemm.cpp explains why the
// kernel lives there); batched ones (linalg.batch_matmul and its transposed
// forms) -> kiln_sgemm_batched. Transposed operands become strides, so
// linalg.matmul_transpose_a/_b need no transposed copy; a zero fill of the
// output right before the contraction is folded into the call
// (accumulate = 0). What kiln_sgemm_fused can compute along with it (a
// bias broadcast before, a ReLU or ReLU backward mask after, a weight
// gradient's bias gradient; GemmEpilogues.h finds them) is folded into a
// call of that instead. Precondition: after bufferization and memory
// planning (the call hides its buffer uses from both).
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cpu/GemmEpilogues.h"
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
constexpr llvm::StringLiteral kGemmFused = "kiln_sgemm_fused";
constexpr llvm::StringLiteral kGemmBatched = "kiln_sgemm_batched";

/// void kiln_sgemm(i64 m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row,
///                 i32 accumulate); pointers travel as i64 (same registers).
func::FuncOp declareGemm(ModuleOp module) {
  Builder b(module.getContext());
  SmallVector<Type> args(11, b.getI64Type());
  args.push_back(b.getI32Type());
  return kiln::cpu::declareRuntimeFunction(module, kGemm, args);
}

/// void kiln_sgemm_fused(kiln_sgemm's arguments, i64 bias, i32 activation,
///                       i64 act, i64 act_row, i64 gate, i64 gate_row,
///                       i64 a_sums).
func::FuncOp declareGemmFused(ModuleOp module) {
  Builder b(module.getContext());
  Type i64 = b.getI64Type(), i32 = b.getI32Type();
  SmallVector<Type> args(11, i64);
  args.append({i32, i64, i32, i64, i64, i64, i64, i64});
  return kiln::cpu::declareRuntimeFunction(module, kGemmFused, args);
}

/// void kiln_sgemm_batched(i64 batch, m, n, k, a, a_batch, a_row, a_col, b,
///                         b_batch, b_row, b_col, c, c_batch, c_row,
///                         i32 accumulate).
func::FuncOp declareGemmBatched(ModuleOp module) {
  Builder b(module.getContext());
  SmallVector<Type> args(15, b.getI64Type());
  args.push_back(b.getI32Type());
  return kiln::cpu::declareRuntimeFunction(module, kGemmBatched, args);
}

/// A strided 2-D view as (address of element (0,0), stride 0, stride 1), i64.
struct View {
  Value address, stride0, stride1;
};

/// The same for a batch of matrices (rank 3): its batch stride as well.
struct BatchView {
  Value address, batch, stride0, stride1;
};

BatchView describeAny(OpBuilder &b, Location loc, Value memref) {
  auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, memref);
  auto toI64 = [&](Value v) {
    return b.create<arith::IndexCastOp>(loc, b.getI64Type(), v).getResult();
  };
  auto strides = meta.getStrides();
  size_t rank = strides.size();
  return {toI64(kiln::cpu::firstElementAddress(b, loc, memref, meta.getOffset())),
          rank == 3 ? toI64(strides[0]) : Value(), toI64(strides[rank - 2]),
          toI64(strides[rank - 1])};
}

View describe(OpBuilder &b, Location loc, Value memref) {
  BatchView v = describeAny(b, loc, memref);
  return {v.address, v.stride0, v.stride1};
}

/// Why `op` cannot become a call ("" when it can).
std::string whyLoops(linalg::LinalgOp op, bool batched) {
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  Value out = op.getDpsInits()[0];
  if (!op.hasPureBufferSemantics())
    return "it is not on buffers";
  using kiln::cpu::hasUnitInnerStride;
  using kiln::cpu::isF32Matrix;
  if (!isF32Matrix(lhs, batched) || !isF32Matrix(rhs, batched) ||
      !isF32Matrix(out, batched))
    return batched ? "kiln_sgemm_batched takes 3-D f32 operands"
                   : "kiln_sgemm takes 2-D f32 operands";
  if (!hasUnitInnerStride(out))
    return "its output's rows are not contiguous";
  // kiln_sgemm requires C to overlap neither A nor B (it writes C while it
  // still reads them); the loops of a linalg op accumulating into one of its
  // inputs have their own semantics, so such an op stays one.
  auto kernel = op->getParentOfType<func::FuncOp>();
  if (kiln::cpu::mayShareBytes(lhs, out, kernel) || kiln::cpu::mayShareBytes(rhs, out, kernel))
    return "its output may overlap an input";
  if (!cast<MemRefType>(out.getType()).hasStaticShape() ||
      !cast<MemRefType>(lhs.getType()).hasStaticShape())
    return "its sizes are dynamic";
  return "";
}

/// The first op after `call` that is no pure index or view computation
/// (nor `replaced`, the contraction it replaces, about to be erased),
/// when it is an elementwise consumer that reads `out` again (a bias +
/// activation, an activation's backward mask): a pass over C that an
/// epilogue could have done while C was in registers.
Operation *unfusedConsumer(Operation *call, Value out, Operation *replaced) {
  Value root = kiln::cpu::rootBuffer(out);
  for (Operation *next = call->getNextNode(); next; next = next->getNextNode()) {
    if (isMemoryEffectFree(next) || next == replaced)
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

/// Whether `op` can become a call; when not, and with `remarks`, says why
/// (the op stays a loop nest).
bool callable(linalg::LinalgOp op, bool batched, bool remarks) {
  std::string why = whyLoops(op, batched);
  if (!why.empty() && remarks)
    op.emitRemark() << "gemm: " << op->getName().getStringRef()
                    << " stays a loop nest (the scalar path): " << why;
  return why.empty();
}

struct Callees {
  ModuleOp module;
  func::FuncOp gemm, fused, batched; // declared on first use
  func::FuncOp getGemm() { return gemm ? gemm : gemm = declareGemm(module); }
  func::FuncOp getBatched() {
    return batched ? batched : batched = declareGemmBatched(module);
  }
  func::FuncOp getFused() {
    return fused ? fused : fused = declareGemmFused(module);
  }
};

LogicalResult rewrite(linalg::LinalgOp op, Callees &callees, bool epilogues,
                      bool remarks) {
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  Value out = op.getDpsInits()[0];
  if (!callable(op, /*batched=*/false, remarks))
    return failure();
  auto outType = cast<MemRefType>(out.getType());
  auto lhsType = cast<MemRefType>(lhs.getType());
  bool transA = isa<linalg::MatmulTransposeAOp>(op);
  bool transB = isa<linalg::MatmulTransposeBOp>(op);
  int64_t m = outType.getDimSize(0), n = outType.getDimSize(1);
  int64_t k = lhsType.getDimSize(transA ? 0 : 1);

  linalg::FillOp fill = kiln::cpu::zeroFillBefore(op, out);
  linalg::BroadcastOp bias =
      epilogues && !fill ? kiln::cpu::biasBroadcastBefore(op, out) : nullptr;
  std::string epilogueWhyNot, sumsWhyNot;
  std::optional<kiln::cpu::ElementwiseEpilogue> epilogue =
      epilogues ? kiln::cpu::elementwiseEpilogueAfter(
                      op, bias ? bias.getInput() : Value(), epilogueWhyNot)
                : std::nullopt;
  std::optional<kiln::cpu::ColumnSum> sums =
      epilogues && !epilogue ? kiln::cpu::biasGradientAfter(op, sumsWhyNot)
                             : std::nullopt;
  using kiln::cpu::GemmActivation;
  bool backward =
      epilogue && epilogue->activation == GemmActivation::ReluBackward;

  // The call stands where the last op it takes over stood: the epilogue's
  // op or the bias gradient's sum (their buffers may be defined only after
  // the contraction; the ops in between may run before it).
  OpBuilder b(epilogue ? epilogue->op
              : sums   ? sums->op
                       : op.getOperation());
  Location loc = op.getLoc();
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
                             b.create<arith::ConstantIntOp>(
                                 loc, fill || bias ? 0 : 1, 32)};
  bool fused = bias || epilogue || sums;
  if (fused) {
    args.push_back(bias ? kiln::cpu::firstElementAddressI64(b, loc, bias.getInput()) : constant(0));
    args.push_back(b.create<arith::ConstantIntOp>(
        loc,
        static_cast<int32_t>(epilogue ? epilogue->activation
                                      : GemmActivation::None),
        32));
    if (epilogue) {
      View act = describe(b, loc, epilogue->result);
      args.append({act.address, act.stride0});
    } else {
      args.append({constant(0), constant(0)});
    }
    if (backward) {
      View gate = describe(b, loc, epilogue->gate);
      args.append({gate.address, gate.stride0});
    } else {
      args.append({constant(0), constant(0)});
    }
    args.push_back(sums ? kiln::cpu::firstElementAddressI64(b, loc, sums->sums) : constant(0));
  }
  auto call = b.create<func::CallOp>(
      loc, fused ? callees.getFused() : callees.getGemm(), args);
  if (remarks) {
    InFlightDiagnostic remark = op.emitRemark();
    remark << "gemm: " << m << " x " << k << " x " << n << " ("
           << (transA ? "A^T" : "A") << " " << (transB ? "B^T" : "B")
           << ", transposes read through strides) calls "
           << (fused ? kGemmFused : kGemm) << ", ";
    if (fill)
      remark << "the zero fill before it folded in (accumulate = 0)";
    else if (bias)
      remark << "the bias broadcast before it folded in (added in the "
                "epilogue, accumulate = 0)";
    else
      remark << "adding to what C holds (accumulate = 1: a broadcast bias, "
                "or an earlier contribution)";
    if (epilogue)
      remark << (backward ? "; the ReLU backward mask after it applied in "
                            "the epilogue"
                          : "; the ReLU after it computed in the epilogue");
    if (sums)
      remark << "; the column sums of A (the bias gradient) added up in the "
                "same call";
  }
  if (sums && remarks)
    sums->op->emitRemark() << "gemm: fused into the " << m << " x " << k
                           << " x " << n
                           << " GEMM before it (summed while the GEMM reads "
                              "the same operand)";
  else if (remarks && !sumsWhyNot.empty())
    op.emitRemark() << "gemm: the bias gradient after it stays a pass of "
                       "its own: "
                    << sumsWhyNot;
  if (epilogue && remarks)
    epilogue->op->emitRemark() << "gemm: fused into the epilogue of the " << m
                           << " x " << k << " x " << n
                           << " GEMM before it (written while each tile is "
                              "in registers)";
  // The op right after the call that reads its result again, left unfused:
  // why (or, when the epilogue's op found further on could not be folded
  // and is not that op, why not at the contraction).
  Operation *consumer =
      remarks && !epilogue ? unfusedConsumer(call, out, op) : nullptr;
  if (consumer)
    consumer->emitRemark()
        << "gemm: not fused into the " << m << " x " << k << " x " << n
        << " GEMM before it: it reads the GEMM's result in a pass of its own ("
        << (!epilogues ? "epilogues are off"
            : !epilogueWhyNot.empty()
                ? epilogueWhyNot
                : "the GEMM's epilogue computes a bias, a ReLU and a ReLU "
                  "backward mask only")
        << ")";
  else if (remarks && !epilogueWhyNot.empty())
    op.emitRemark() << "gemm: the elementwise op after it that reads its "
                       "result stays a pass of its own: "
                    << epilogueWhyNot;
  op->erase();
  if (fill)
    fill->erase();
  if (bias)
    bias->erase();
  if (epilogue)
    epilogue->op->erase();
  if (sums)
    sums->op->erase();
  return success();
}

/// A batched contraction (linalg.batch_matmul and its transposed forms) ->
/// one kiln_sgemm_batched call; a zero fill right before it folds in as
/// for kiln_sgemm. No epilogues: the batched products (attention's scores
/// and weighted values, torch.matmul's batched form) have none to fold.
LogicalResult rewriteBatched(linalg::LinalgOp op, Callees &callees,
                             bool remarks) {
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  Value out = op.getDpsInits()[0];
  if (!callable(op, /*batched=*/true, remarks))
    return failure();
  auto outType = cast<MemRefType>(out.getType());
  bool transA = isa<linalg::BatchMatmulTransposeAOp>(op);
  bool transB = isa<linalg::BatchMatmulTransposeBOp>(op);
  int64_t items = outType.getDimSize(0), m = outType.getDimSize(1),
          n = outType.getDimSize(2);
  int64_t k = cast<MemRefType>(lhs.getType()).getDimSize(transA ? 1 : 2);
  linalg::FillOp fill = kiln::cpu::zeroFillBefore(op, out);
  OpBuilder b(op);
  Location loc = op.getLoc();
  BatchView a = describeAny(b, loc, lhs), bv = describeAny(b, loc, rhs),
            c = describeAny(b, loc, out);
  auto constant = [&](int64_t v) {
    return b.create<arith::ConstantIntOp>(loc, v, 64).getResult();
  };
  SmallVector<Value> args = {
      constant(items), constant(m), constant(n), constant(k),
      a.address, a.batch, transA ? a.stride1 : a.stride0,
      transA ? a.stride0 : a.stride1,
      bv.address, bv.batch, transB ? bv.stride1 : bv.stride0,
      transB ? bv.stride0 : bv.stride1,
      c.address, c.batch, c.stride0,
      b.create<arith::ConstantIntOp>(loc, fill ? 0 : 1, 32)};
  b.create<func::CallOp>(loc, callees.getBatched(), args);
  if (remarks)
    op.emitRemark() << "gemm: " << items << " x (" << m << " x " << k << " x "
                    << n << ") (" << (transA ? "A^T" : "A") << " "
                    << (transB ? "B^T" : "B")
                    << ", transposes read through strides) calls "
                    << kGemmBatched << ", "
                    << (fill ? "the zero fill before it folded in (accumulate = 0)"
                             : "adding to what C holds (accumulate = 1)");
  op->erase();
  if (fill)
    fill->erase();
  return success();
}

struct CPUGemmToRuntimePass
    : kiln::impl::CPUGemmToRuntimeBase<CPUGemmToRuntimePass> {
  using CPUGemmToRuntimeBase::CPUGemmToRuntimeBase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops, batched;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::MatmulOp, linalg::MatmulTransposeAOp,
              linalg::MatmulTransposeBOp>(op))
        ops.push_back(op);
      if (isa<linalg::BatchMatmulOp, linalg::BatchMatmulTransposeAOp,
              linalg::BatchMatmulTransposeBOp>(op))
        batched.push_back(op);
    });
    Callees callees{getOperation(), nullptr, nullptr, nullptr};
    for (linalg::LinalgOp op : ops)
      (void)rewrite(op, callees, epilogues, remarks); // the rest: loops
    for (linalg::LinalgOp op : batched)
      (void)rewriteBatched(op, callees, remarks);
  }
};

} // namespace
