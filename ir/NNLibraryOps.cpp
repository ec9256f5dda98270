// nn.library_call (NNLibraryOps.td): the verifier, which knows each routine's
// operands (a call with raw pointers must never see operands of the wrong
// size: that would be an out-of-bounds access in the runtime, not an error),
// memory effects on buffers, and bufferization (destination-passing style:
// each output's buffer is the result's).
#include "ir/NNBuilders.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"

using namespace mlir;
using namespace kiln::nn;

namespace {

/// The values of a convolution geometry (kiln/runtime.h,
/// KILN_CONV_GEOMETRY_SIZE): N, C, F, then in, out, kernel, stride,
/// padding, dilation for three spatial dims, then groups.
constexpr int64_t kConvGeometrySize = 22;

/// A routine's operands: `minInputs..maxInputs` inputs (the optional ones
/// last), one output; operand i's element type is i64 where bit i of
/// `i64Operands` is set (inputs first, then the output), f32 otherwise.
struct Routine {
  llvm::StringLiteral name;
  unsigned minInputs, maxInputs;
  unsigned i64Operands;
};

constexpr Routine kRoutines[] = {
    {"kiln_sconv_forward", 2, 3, 0},
    {"kiln_sconv_backward_input", 2, 2, 0},
    {"kiln_sconv_backward_weight", 2, 2, 0},
    // log_probs, targets, input_lengths, target_lengths -> loss
    {"kiln_ctc_loss_forward", 4, 4, 0b1110},
    // log_probs, targets, input_lengths, target_lengths, grad_loss -> grad
    {"kiln_ctc_loss_backward", 5, 5, 0b01110},
    // gradients of the data-parallel group, flat -> their average
    {"kiln_all_reduce_mean", 1, 1, 0},
    // per-process sums (a synchronised batch norm's), flat -> the group's
    {"kiln_all_reduce_sum", 1, 1, 0},
    // -> [1]: the group's size
    {"kiln_world_size", 0, 0, 0},
    // a bucket, flat -> its in-flight buffer (the average started)
    {"kiln_all_reduce_start", 1, 1, 0},
    // -> the bucket's average (waits for it)
    {"kiln_all_reduce_wait", 0, 0, 0},
};

int64_t numElements(Value v) { return cast<ShapedType>(v.getType()).getNumElements(); }

/// Every operand has the element count the geometry implies. That is all
/// the runtime needs to stay in bounds: it reads the input only at positions
/// inside it and treats the rest as zero padding.
LogicalResult verifyConvOperands(LibraryCallOp op) {
  ArrayRef<int64_t> g = op.getParams();
  if (g.size() != kConvGeometrySize)
    return op.emitOpError("a convolution geometry has ")
           << kConvGeometrySize << " values, got " << g.size();
  for (int64_t i = 0; i < kConvGeometrySize; ++i) {
    bool padding = i >= 15 && i < 18;
    if (g[i] < (padding ? 0 : 1))
      return op.emitOpError("convolution geometry value ")
             << i << " is " << g[i] << ", must be >= " << (padding ? 0 : 1);
  }
  int64_t n = g[0], c = g[1], f = g[2], groups = g[21];
  // The runtime splits both channel counts into groups: a remainder would
  // make it read past the weight.
  if (c % groups != 0 || f % groups != 0)
    return op.emitOpError("convolution groups ")
           << groups << " must divide the input channels " << c
           << " and the output channels " << f;
  int64_t in = g[3] * g[4] * g[5], out = g[6] * g[7] * g[8],
          kernel = g[9] * g[10] * g[11];
  int64_t x = n * c * in, w = f * (c / groups) * kernel, y = n * f * out;
  StringRef callee = op.getCallee();
  SmallVector<int64_t> want;
  if (callee == "kiln_sconv_forward")
    want = {x, w, f, y};
  else if (callee == "kiln_sconv_backward_input")
    want = {y, w, x};
  else
    want = {x, y, w};
  SmallVector<Value> operands(op.getInputs());
  operands.append(op.getOutputs().begin(), op.getOutputs().end());
  if (callee == "kiln_sconv_forward" && op.getInputs().size() == 2)
    want.erase(want.begin() + 2); // no bias
  for (auto [i, v] : llvm::enumerate(operands))
    if (numElements(v) != want[i])
      return op.emitOpError("operand ")
             << i << " has " << numElements(v)
             << " elements, the convolution geometry needs " << want[i];
  return success();
}

/// KILN_CTC_PARAMS_SIZE values (T, N, C, S, blank, zero_infinity,
/// concatenated) and the element counts they imply: the routines index
/// log_probs with the labels and lengths, whose ranges the runtime checks
/// against the same sizes.
LogicalResult verifyCtcOperands(LibraryCallOp op) {
  ArrayRef<int64_t> p = op.getParams();
  if (p.size() != 7)
    return op.emitOpError("CTC parameters are 7 values, got ") << p.size();
  for (int64_t i = 0; i < 4; ++i)
    if (p[i] < 1)
      return op.emitOpError("CTC size ") << i << " is " << p[i] << ", must be >= 1";
  if (p[4] < 0 || p[4] >= p[2])
    return op.emitOpError("CTC blank ") << p[4] << " must be in [0, " << p[2] << ")";
  if (p[5] != 0 && p[5] != 1)
    return op.emitOpError("CTC zero_infinity must be 0 or 1, got ") << p[5];
  if (p[6] != 0 && p[6] != 1)
    return op.emitOpError("CTC concatenated must be 0 or 1, got ") << p[6];
  int64_t t = p[0], n = p[1], c = p[2], s = p[3];
  SmallVector<int64_t> want = {t * n * c, p[6] ? s : n * s, n, n};
  if (op.getCallee() == "kiln_ctc_loss_backward")
    want.append({n, t * n * c});
  else
    want.push_back(n);
  SmallVector<Value> operands(op.getInputs());
  operands.append(op.getOutputs().begin(), op.getOutputs().end());
  for (auto [i, v] : llvm::enumerate(operands))
    if (numElements(v) != want[i])
      return op.emitOpError("operand ")
             << i << " has " << numElements(v)
             << " elements, the CTC parameters need " << want[i];
  return success();
}

/// [n]: both operands hold n floats.
LogicalResult verifyAllReduceOperands(LibraryCallOp op) {
  ArrayRef<int64_t> p = op.getParams();
  if (p.size() != 1 || p[0] < 1)
    return op.emitOpError("an all-reduce takes one parameter, the element count (>= 1)");
  for (Value v : {op.getInputs()[0], op.getOutputs()[0]})
    if (numElements(v) != p[0])
      return op.emitOpError("operand has ")
             << numElements(v) << " elements, the all-reduce " << p[0];
  return success();
}

} // namespace

LogicalResult LibraryCallOp::verify() {
  const Routine *routine = nullptr;
  for (const Routine &r : kRoutines)
    if (r.name == getCallee())
      routine = &r;
  if (!routine)
    return emitOpError("unknown runtime routine '") << getCallee() << "'";
  unsigned inputs = getInputs().size();
  if (inputs < routine->minInputs || inputs > routine->maxInputs)
    return emitOpError("'") << getCallee() << "' takes " << routine->minInputs
                            << (routine->maxInputs > routine->minInputs
                                    ? " or " + std::to_string(routine->maxInputs)
                                    : std::string())
                            << " inputs, got " << inputs;
  if (getOutputs().size() != 1)
    return emitOpError("'") << getCallee() << "' writes 1 output, got "
                            << getOutputs().size();
  bool tensors = isa<RankedTensorType>(getOutputs()[0].getType());
  SmallVector<Value> operands(getInputs());
  operands.append(getOutputs().begin(), getOutputs().end());
  for (auto [i, v] : llvm::enumerate(operands)) {
    bool i64 = (routine->i64Operands >> i) & 1;
    auto type = dyn_cast<ShapedType>(v.getType());
    if (!type || !type.hasStaticShape() ||
        !(i64 ? type.getElementType().isInteger(64) : type.getElementType().isF32()))
      return emitOpError("operand ")
             << i << " must be a statically shaped " << (i64 ? "i64" : "f32")
             << " tensor or buffer, got " << v.getType();
    if (isa<RankedTensorType>(type) != tensors)
      return emitOpError("operands must be all tensors or all buffers");
  }
  if (tensors) {
    if (getResults().size() != 1 ||
        getResults()[0].getType() != getOutputs()[0].getType())
      return emitOpError("on tensors, the result must have the output's type");
  } else if (!getResults().empty()) {
    return emitOpError("on buffers, the call has no results");
  }
  if (getCallee().starts_with("kiln_ctc_"))
    return verifyCtcOperands(*this);
  if (getCallee() == "kiln_all_reduce_mean" || getCallee() == "kiln_all_reduce_sum")
    return verifyAllReduceOperands(*this);
  if (getCallee() == "kiln_all_reduce_start" || getCallee() == "kiln_all_reduce_wait") {
    ArrayRef<int64_t> p = getParams();
    if (p.size() != 2 || p[0] < 1 || p[1] < 0)
      return emitOpError("'") << getCallee() << "' takes [element count >= 1, bucket >= 0]";
    for (Value v : getOperands())
      if (numElements(v) != p[0])
        return emitOpError("operand has ")
               << numElements(v) << " elements, the bucket " << p[0];
    return success();
  }
  if (getCallee() == "kiln_world_size") {
    if (getParams().size() != 1 || getParams()[0] != 1 || numElements(getOutputs()[0]) != 1)
      return emitOpError("'kiln_world_size' takes the parameter [1] and writes 1 element");
    return success();
  }
  return verifyConvOperands(*this);
}

void LibraryCallOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : getInputsMutable())
    if (isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  for (OpOperand &operand : getOutputsMutable())
    if (isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
}

bool LibraryCallOp::bufferizesToMemoryRead(
    OpOperand &operand, const bufferization::AnalysisState &) {
  // Outputs are overwritten whole, except the in-flight buffer of a
  // bucket's all-reduce, which the wait completes in place (a read: it
  // must stay the start's buffer, kiln-cpu-library-calls-to-runtime
  // checks that it does).
  return !isDpsInit(&operand) || getCallee() == "kiln_all_reduce_wait";
}

bool LibraryCallOp::bufferizesToMemoryWrite(
    OpOperand &operand, const bufferization::AnalysisState &) {
  return isDpsInit(&operand);
}

bufferization::AliasingValueList LibraryCallOp::getAliasingValues(
    OpOperand &operand, const bufferization::AnalysisState &) {
  if (!isDpsInit(&operand))
    return {};
  return {{getTiedOpResult(&operand), bufferization::BufferRelation::Equivalent}};
}

/// `buffer` itself when contiguous, else a contiguous copy (the runtime
/// takes dense tensors; a slice's view is strided).
static FailureOr<Value>
contiguous(RewriterBase &rewriter, Location loc, Value buffer, bool copyIn,
           const bufferization::BufferizationOptions &options) {
  auto type = cast<MemRefType>(buffer.getType());
  if (memref::isStaticShapeAndContiguousRowMajor(type))
    return buffer;
  auto dense = MemRefType::get(type.getShape(), type.getElementType());
  FailureOr<Value> copy = options.createAlloc(rewriter, loc, dense, {});
  if (failed(copy) ||
      (copyIn && failed(options.createMemCpy(rewriter, loc, buffer, *copy))))
    return failure();
  return *copy;
}

LogicalResult
LibraryCallOp::bufferize(RewriterBase &rewriter,
                         const bufferization::BufferizationOptions &options) {
  Location loc = getLoc();
  rewriter.setInsertionPoint(getOperation());
  SmallVector<Value> inputs, outputs, dense;
  for (Value v : getInputs()) {
    FailureOr<Value> buffer = bufferization::getBuffer(rewriter, v, options);
    if (failed(buffer) ||
        failed(buffer = contiguous(rewriter, loc, *buffer, true, options)))
      return failure();
    inputs.push_back(*buffer);
  }
  for (Value v : getOutputs()) {
    FailureOr<Value> buffer = bufferization::getBuffer(rewriter, v, options);
    if (failed(buffer))
      return failure();
    outputs.push_back(*buffer);
    // Outputs are written whole: a strided one gets a dense stand-in,
    // copied into it after the call.
    FailureOr<Value> stand = contiguous(rewriter, loc, *buffer, false, options);
    if (failed(stand))
      return failure();
    dense.push_back(*stand);
  }
  rewriter.create<LibraryCallOp>(loc, TypeRange(), getCalleeAttr(),
                                 getParamsAttr(), inputs, dense);
  for (auto [stand, out] : llvm::zip(dense, outputs))
    if (stand != out && failed(options.createMemCpy(rewriter, loc, stand, out)))
      return failure();
  bufferization::replaceOpWithBufferizedValues(rewriter, getOperation(),
                                               outputs);
  return success();
}
