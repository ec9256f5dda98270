#include "codegen/cpu/BufferAddress.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <algorithm>

using namespace mlir;

Value kiln::cpu::rootBuffer(Value memref) {
  while (auto viewLike = memref.getDefiningOp<ViewLikeOpInterface>()) {
    if (isa<memref::ViewOp>(viewLike.getOperation()) ||
        !isa<BaseMemRefType>(viewLike.getViewSource().getType()))
      break;
    memref = viewLike.getViewSource();
  }
  return memref;
}

static std::optional<int64_t> byteSize(MemRefType type) {
  Type element = type.getElementType();
  if (!type.hasStaticShape() || !element.isIntOrFloat())
    return std::nullopt;
  return type.getNumElements() *
         static_cast<int64_t>(llvm::divideCeil(element.getIntOrFloatBitWidth(), 8));
}

kiln::cpu::Span kiln::cpu::spanOf(Value v) {
  Value root = rootBuffer(v);
  auto view = root.getDefiningOp<memref::ViewOp>();
  if (!view)
    return {root};
  std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
  std::optional<int64_t> bytes = byteSize(view.getType());
  if (shift && bytes)
    return {view.getSource(), *shift, *shift + *bytes};
  return {view.getSource()};
}

static bool isAllocation(Value root) {
  Operation *def = root.getDefiningOp();
  return def && isa<memref::AllocOp, memref::AllocaOp>(def);
}

bool kiln::cpu::mayAlias(const Span &a, const Span &b, func::FuncOp kernel) {
  if (a.root == b.root)
    return a.begin < b.end && b.begin < a.end;
  if (isAllocation(a.root) || isAllocation(b.root))
    return false;
  auto isKernelArgument = [&](Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    return kernel && arg && arg.getOwner() == &kernel.getBody().front();
  };
  return !(isKernelArgument(a.root) && isKernelArgument(b.root));
}

bool kiln::cpu::mayShareBytes(Value a, Value b, func::FuncOp kernel) {
  return mayAlias(spanOf(a), spanOf(b), kernel);
}

/// Taken from the root buffer and, through memref.view ops, from theirs plus
/// the byte shifts: `memref.expand-strided-metadata` rewrites an
/// extract_aligned_pointer_as_index of any view-like op into one of its
/// source, which is right for subviews, casts and reshapes but drops the
/// byte shift of a `memref.view` (how kiln-cpu-plan-memory places
/// temporaries in the workspace). Adding the shifts here keeps the address
/// right whatever that rewrite does.
Value kiln::cpu::alignedAddress(OpBuilder &b, Location loc, Value memref) {
  Value root = rootBuffer(memref);
  if (auto view = root.getDefiningOp<memref::ViewOp>())
    return b.create<arith::AddIOp>(
        loc, alignedAddress(b, loc, view.getSource()), view.getByteShift());
  return b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, root);
}

Value kiln::cpu::firstElementAddress(OpBuilder &b, Location loc, Value memref,
                                     Value offset) {
  // The offset is relative to memref's own aligned pointer, which
  // alignedAddress computes.
  Value aligned = alignedAddress(b, loc, memref);
  // An index is 64 bits here; an element below 8 bits (an i1) a byte.
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  unsigned bits = element.isIndex() ? 64 : element.getIntOrFloatBitWidth();
  Value size = b.create<arith::ConstantIndexOp>(loc, std::max(1u, bits / 8));
  Value bytes = b.create<arith::MulIOp>(loc, offset, size);
  return b.create<arith::AddIOp>(loc, aligned, bytes);
}

Value kiln::cpu::firstElementAddressI64(OpBuilder &b, Location loc, Value memref) {
  auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, memref);
  return b.create<arith::IndexCastOp>(loc, b.getI64Type(),
                                      firstElementAddress(b, loc, memref, meta.getOffset()));
}

func::FuncOp kiln::cpu::declareRuntimeFunction(ModuleOp module, StringRef name,
                                               TypeRange args) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto f = b.create<func::FuncOp>(module.getLoc(), name, b.getFunctionType(args, {}));
  f.setPrivate();
  return f;
}

linalg::FillOp kiln::cpu::zeroFillBefore(Operation *op, Value out) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (!fill || fill.getOutputs()[0] != out)
    return nullptr;
  FloatAttr value;
  if (!matchPattern(fill.getInputs()[0], m_Constant(&value)) || !value.getValue().isZero())
    return nullptr;
  return fill;
}

bool kiln::cpu::isF32Matrix(Value v, bool batched) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getRank() == (batched ? 3 : 2) &&
         type.getElementType().isF32();
}

bool kiln::cpu::hasUnitInnerStride(Value v) {
  auto type = cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(getStridesAndOffset(type, strides, offset)) &&
         strides.back() == 1;
}
