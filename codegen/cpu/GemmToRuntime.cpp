// kiln-cpu-gemm-to-runtime: 2-D f32 contractions on buffers -> calls of
// libkiln_rt's packed GEMM, kiln_sgemm (runtime/lib/gemm.cpp explains why the
// kernel lives there). Transposed operands become strides, so
// linalg.matmul_transpose_a/_b need no transposed copy; a zero fill of the
// output right before the contraction is folded into the call
// (accumulate = 0). A bias broadcast into the output right before and a
// ReLU right after become the epilogue of kiln_sgemm_fused (bias added and
// ReLU written while each tile is in registers). Precondition: after
// bufferization and memory planning (the call hides its buffer uses from
// both).
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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
/// kiln/runtime.h's KILN_GEMM_NONE and KILN_GEMM_RELU.
constexpr int32_t kNoActivation = 0, kRelu = 1;

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

/// void kiln_sgemm_fused(kiln_sgemm's arguments, i64 bias, i32 activation,
///                       i64 act, i64 act_row, i64 a_sums).
func::FuncOp declareGemmFused(ModuleOp module) {
  if (auto f = module.lookupSymbol<func::FuncOp>(kGemmFused))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Type i64 = b.getI64Type(), i32 = b.getI32Type();
  SmallVector<Type> args(11, i64);
  args.append({i32, i64, i32, i64, i64, i64});
  auto f = b.create<func::FuncOp>(module.getLoc(), kGemmFused,
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

/// The linalg.broadcast of a bias vector along the rows of `out` right
/// before `op` (a linear layer's bias, which the contraction then adds to),
/// when the call can add the bias itself: N contiguous f32 that do not
/// overlap `out`.
linalg::BroadcastOp biasBroadcastBefore(Operation *op, Value out) {
  auto broadcast = dyn_cast_or_null<linalg::BroadcastOp>(op->getPrevNode());
  if (!broadcast || broadcast.getInit() != out ||
      !broadcast.hasPureBufferSemantics() ||
      broadcast.getDimensions() != ArrayRef<int64_t>{0})
    return nullptr;
  auto bias = dyn_cast<MemRefType>(broadcast.getInput().getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!bias || bias.getRank() != 1 || !bias.getElementType().isF32() ||
      !bias.hasStaticShape() ||
      failed(getStridesAndOffset(bias, strides, offset)) || strides[0] != 1)
    return nullptr;
  using kiln::cpu::rootBuffer;
  if (rootBuffer(broadcast.getInput()) == rootBuffer(out))
    return nullptr;
  return broadcast;
}

/// A ReLU as the ReLU layer lowers: one input, identity maps, all parallel,
/// and a body that yields arith.maximumf(in, +0.0).
bool isRelu(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return false;
  Block &body = generic.getRegion().front();
  if (!llvm::hasSingleElement(body.without_terminator()))
    return false;
  auto max = dyn_cast<arith::MaximumFOp>(body.front());
  if (!max || body.getTerminator()->getOperand(0) != max.getResult())
    return false;
  Value in = body.getArgument(0);
  Value other = max.getLhs() == in ? max.getRhs()
                : max.getRhs() == in ? max.getLhs()
                                     : Value();
  FloatAttr zero;
  // +0 only: maximumf(-0, x) would keep a -0 that relu() turns into +0.
  return other && matchPattern(other, m_Constant(&zero)) &&
         zero.getValue().isPosZero();
}

bool isConstantIndex(OpFoldResult value, int64_t expected) {
  std::optional<int64_t> v = getConstantIntValue(value);
  return v && *v == expected;
}

/// When `subview` is rows [iv, iv + rows) of all `cols` columns of its
/// source, with unit strides: the source, else null.
Value rowBlockSource(memref::SubViewOp subview, Value iv, int64_t rows,
                     int64_t cols) {
  SmallVector<OpFoldResult> offsets = subview.getMixedOffsets();
  SmallVector<OpFoldResult> sizes = subview.getMixedSizes();
  SmallVector<OpFoldResult> strides = subview.getMixedStrides();
  if (offsets.size() != 2 || llvm::dyn_cast_if_present<Value>(offsets[0]) != iv ||
      !isConstantIndex(offsets[1], 0) || !isConstantIndex(sizes[0], rows) ||
      !isConstantIndex(sizes[1], cols) || !isConstantIndex(strides[0], 1) ||
      !isConstantIndex(strides[1], 1))
    return nullptr;
  return subview.getSource();
}

/// A ReLU of all of `out` into a buffer of the same shape, as an op that
/// the GEMM's epilogue can replace.
struct ReluConsumer {
  Operation *op = nullptr; // the generic, or the scf.forall around it
  Value result;            // the whole buffer it writes
};

/// The ReLU op `op` is, reading exactly `out` (an M x N buffer): a
/// linalg.generic, or the scf.forall of row blocks that
/// kiln-cpu-tile-and-vectorize makes of one (each iteration a ReLU of rows
/// [iv, iv + s) of `out` into the same rows of one buffer, s dividing M).
std::optional<ReluConsumer> reluOf(Operation *op, Value out) {
  auto shape = cast<MemRefType>(out.getType()).getShape();
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    if (!generic.hasPureBufferSemantics() || !isRelu(generic) ||
        generic.getDpsInputs()[0] != out)
      return std::nullopt;
    return ReluConsumer{op, generic.getDpsInits()[0]};
  }
  auto forall = dyn_cast<scf::ForallOp>(op);
  if (!forall || forall.getRank() != 1 || !forall.getOutputs().empty())
    return std::nullopt;
  std::optional<int64_t> step = getConstantIntValue(forall.getMixedStep()[0]);
  if (!step || *step <= 0 || shape[0] % *step != 0 ||
      !isConstantIndex(forall.getMixedLowerBound()[0], 0) ||
      !isConstantIndex(forall.getMixedUpperBound()[0], shape[0]))
    return std::nullopt;
  // The body: two subviews, the ReLU, the terminator.
  Block *body = forall.getBody();
  if (body->getOperations().size() != 4)
    return std::nullopt;
  auto generic = dyn_cast<linalg::GenericOp>(*std::next(body->begin(), 2));
  if (!generic || !generic.hasPureBufferSemantics() || !isRelu(generic))
    return std::nullopt;
  auto input = generic.getDpsInputs()[0].getDefiningOp<memref::SubViewOp>();
  auto output = generic.getDpsInits()[0].getDefiningOp<memref::SubViewOp>();
  if (!input || !output || input->getBlock() != body ||
      output->getBlock() != body)
    return std::nullopt;
  Value iv = forall.getInductionVar(0);
  if (rowBlockSource(input, iv, *step, shape[1]) != out)
    return std::nullopt;
  Value result = rowBlockSource(output, iv, *step, shape[1]);
  if (!result)
    return std::nullopt;
  return ReluConsumer{op, result};
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
  AffineMap column =
      AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<utils::IteratorType> iterators =
      generic.getIteratorTypesArray();
  if (generic.getIndexingMapsArray() != SmallVector<AffineMap>{element, column} ||
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

/// A column sum of all of `rows` (a K x M buffer) into M floats.
struct ColumnSum {
  Operation *op = nullptr; // the generic, or the scf.forall around it
  Value sums;              // the M floats it adds to
};

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
  auto forall = dyn_cast<scf::ForallOp>(op);
  if (!forall || forall.getRank() != 1 || !forall.getOutputs().empty())
    return std::nullopt;
  std::optional<int64_t> step = getConstantIntValue(forall.getMixedStep()[0]);
  if (!step || *step <= 0 || shape[1] % *step != 0 ||
      !isConstantIndex(forall.getMixedLowerBound()[0], 0) ||
      !isConstantIndex(forall.getMixedUpperBound()[0], shape[1]))
    return std::nullopt;
  Block *body = forall.getBody();
  if (body->getOperations().size() != 4)
    return std::nullopt;
  auto generic = dyn_cast<linalg::GenericOp>(*std::next(body->begin(), 2));
  if (!generic || !generic.hasPureBufferSemantics() || !isColumnSum(generic))
    return std::nullopt;
  auto input = generic.getDpsInputs()[0].getDefiningOp<memref::SubViewOp>();
  auto output = generic.getDpsInits()[0].getDefiningOp<memref::SubViewOp>();
  if (!input || !output || input->getBlock() != body ||
      output->getBlock() != body || input.getSource() != rows)
    return std::nullopt;
  Value iv = forall.getInductionVar(0);
  auto columns = [&](SmallVector<OpFoldResult> values, int64_t first) {
    return llvm::dyn_cast_if_present<Value>(values[1]) == iv &&
           isConstantIndex(values[0], first);
  };
  SmallVector<OpFoldResult> inOffsets = input.getMixedOffsets(),
                            inSizes = input.getMixedSizes(),
                            inStrides = input.getMixedStrides();
  if (inOffsets.size() != 2 || !columns(inOffsets, 0) ||
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

/// The first op after `op` that is no pure index or view computation.
Operation *nextEffect(Operation *op) {
  Operation *next = op->getNextNode();
  while (next && isMemoryEffectFree(next))
    next = next->getNextNode();
  return next;
}

/// The ReLU right after the contraction `op` that its call can compute in
/// the epilogue, or why not ("" with nullopt: there is no ReLU after it).
/// Its result must be a contiguous-row M x N f32 buffer that overlaps
/// neither operand nor the bias, and is C itself or does not overlap it:
/// the call writes it while other tasks still read A, B and the bias.
std::optional<ReluConsumer> reluAfter(linalg::LinalgOp op, Value bias,
                                      std::string &whyNot) {
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  Value out = op.getDpsInits()[0];
  Operation *next = nextEffect(op);
  std::optional<ReluConsumer> relu =
      next ? reluOf(next, out) : std::optional<ReluConsumer>();
  if (!relu)
    return std::nullopt;
  using kiln::cpu::rootBuffer;
  Value result = relu->result, root = rootBuffer(result);
  if (!isF32Matrix(result) || !hasUnitInnerStride(result) ||
      cast<MemRefType>(result.getType()).getShape() !=
          cast<MemRefType>(out.getType()).getShape())
    whyNot = "its result is not a contiguous-row buffer of the GEMM's shape";
  else if (root == rootBuffer(lhs) || root == rootBuffer(rhs) ||
           (bias && root == rootBuffer(bias)))
    whyNot = "its result may overlap an operand of the GEMM";
  else if (root == rootBuffer(out) && result != out)
    whyNot = "its result may overlap part of the GEMM's output";
  return whyNot.empty() ? relu : std::nullopt;
}

/// Whether `op` may run before the contraction `gemm` instead of right
/// after it: a zero fill or a copy on buffers (what bufferization puts
/// between a weight gradient and its bias gradient) that writes none of
/// the contraction's buffers and does not read its output.
bool mayRunBefore(Operation *op, linalg::LinalgOp gemm) {
  if (!isa<linalg::FillOp, linalg::CopyOp>(op))
    return false;
  auto linalgOp = cast<linalg::LinalgOp>(op);
  if (!linalgOp.hasPureBufferSemantics())
    return false;
  using kiln::cpu::rootBuffer;
  Value out = rootBuffer(gemm.getDpsInits()[0]);
  for (Value init : linalgOp.getDpsInits())
    if (Value root = rootBuffer(init);
        root == out || root == rootBuffer(gemm.getDpsInputs()[0]) ||
        root == rootBuffer(gemm.getDpsInputs()[1]))
      return false;
  for (Value input : linalgOp.getDpsInputs())
    if (isa<MemRefType>(input.getType()) && rootBuffer(input) == out)
      return false;
  return true;
}

/// The bias gradient of the weight gradient `op` (dY^T X: A = dY read
/// transposed), which its call can add up while it reads dY: the column
/// sum of exactly dY into M contiguous floats that overlap no operand,
/// found among the next few ops with memory effects when those before it
/// may run before the contraction (the call then stands at the sum). Sets
/// `whyNot` when there is a sum that cannot be folded.
std::optional<ColumnSum> biasGradientAfter(linalg::LinalgOp op,
                                           std::string &whyNot) {
  if (!isa<linalg::MatmulTransposeAOp>(op))
    return std::nullopt;
  Value lhs = op.getDpsInputs()[0];
  Operation *next = op;
  for (int ops = 0; ops < 4; ++ops) {
    next = nextEffect(next);
    if (!next)
      return std::nullopt;
    if (std::optional<ColumnSum> sum = columnSumOf(next, lhs)) {
      auto type = dyn_cast<MemRefType>(sum->sums.getType());
      SmallVector<int64_t> strides;
      int64_t offset;
      using kiln::cpu::rootBuffer;
      Value root = rootBuffer(sum->sums);
      if (!type || type.getRank() != 1 || !type.getElementType().isF32() ||
          failed(getStridesAndOffset(type, strides, offset)) ||
          strides[0] != 1)
        whyNot = "its sums are not contiguous f32";
      else if (root == rootBuffer(lhs) ||
               root == rootBuffer(op.getDpsInputs()[1]) ||
               root == rootBuffer(op.getDpsInits()[0]))
        whyNot = "its sums may overlap an operand of the GEMM";
      return whyNot.empty() ? sum : std::nullopt;
    }
    if (!mayRunBefore(next, op))
      return std::nullopt;
  }
  return std::nullopt;
}

struct Callees {
  ModuleOp module;
  func::FuncOp gemm, fused; // declared on first use
  func::FuncOp getGemm() { return gemm ? gemm : gemm = declareGemm(module); }
  func::FuncOp getFused() {
    return fused ? fused : fused = declareGemmFused(module);
  }
};

LogicalResult rewrite(linalg::LinalgOp op, Callees &callees, bool epilogues,
                      bool remarks) {
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

  linalg::FillOp fill = zeroFillBefore(op, out);
  linalg::BroadcastOp bias =
      epilogues && !fill ? biasBroadcastBefore(op, out) : nullptr;
  std::string reluWhyNot, sumsWhyNot;
  std::optional<ReluConsumer> relu =
      epilogues ? reluAfter(op, bias ? bias.getInput() : Value(), reluWhyNot)
                : std::nullopt;
  std::optional<ColumnSum> sums = epilogues && !relu
                                      ? biasGradientAfter(op, sumsWhyNot)
                                      : std::nullopt;

  // With a ReLU the call stands where the ReLU stood: its result buffer may
  // be defined (a memref.view) only after the contraction, and the ops in
  // between have no memory effects. With a bias gradient it stands where
  // the sum stood, after the ops that may run before it (its zero fill).
  OpBuilder b(relu    ? relu->op
              : sums ? sums->op
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
  bool fused = bias || relu || sums;
  if (fused) {
    Value biasAddress = constant(0);
    if (bias) {
      auto meta =
          b.create<memref::ExtractStridedMetadataOp>(loc, bias.getInput());
      biasAddress = b.create<arith::IndexCastOp>(
          loc, b.getI64Type(),
          kiln::cpu::firstElementAddress(b, loc, bias.getInput(),
                                         meta.getOffset()));
    }
    args.push_back(biasAddress);
    args.push_back(b.create<arith::ConstantIntOp>(
        loc, relu ? kRelu : kNoActivation, 32));
    if (relu) {
      View act = describe(b, loc, relu->result);
      args.append({act.address, act.stride0});
    } else {
      args.append({constant(0), constant(0)});
    }
    if (sums) {
      auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, sums->sums);
      args.push_back(b.create<arith::IndexCastOp>(
          loc, b.getI64Type(),
          kiln::cpu::firstElementAddress(b, loc, sums->sums,
                                         meta.getOffset())));
    } else {
      args.push_back(constant(0));
    }
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
    if (relu)
      remark << "; the ReLU after it computed in the epilogue";
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
  if (relu && remarks)
    relu->op->emitRemark() << "gemm: fused into the epilogue of the " << m
                           << " x " << k << " x " << n
                           << " GEMM before it (written while each tile is "
                              "in registers)";
  op->erase();
  if (fill)
    fill->erase();
  if (bias)
    bias->erase();
  if (relu)
    relu->op->erase();
  if (sums)
    sums->op->erase();
  if (remarks && !relu)
    if (Operation *consumer = unfusedConsumer(call, out))
      consumer->emitRemark()
          << "gemm: not fused into the " << m << " x " << k << " x " << n
          << " GEMM before it: it reads the GEMM's result in a pass of its "
             "own ("
          << (!epilogues ? "epilogues are off"
              : !reluWhyNot.empty()
                  ? reluWhyNot
                  : "the GEMM's epilogue computes a bias and a ReLU only")
          << ")";
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
    Callees callees{getOperation(), nullptr, nullptr};
    for (linalg::LinalgOp op : ops)
      (void)rewrite(op, callees, epilogues, remarks); // the rest: loops
  }
};

} // namespace
