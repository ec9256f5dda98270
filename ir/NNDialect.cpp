#include "ir/NNBuilders.h"
#include "ir/ShapeRules.h"

#include "ir/FormatNumber.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Transforms/InliningUtils.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln::nn;

#include "ir/NNDialect.cpp.inc"
#include "ir/NNInterfaces.cpp.inc"
#include "ir/NNEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "ir/NNAttrs.cpp.inc"

namespace {
/// nn ops are pure and region-free: always legal to inline (the train step
/// inlines the gradient function into itself).
struct NNInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void NNDialect::initialize() {
  addInterfaces<NNInlinerInterface>();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ir/NNAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "ir/NNOps.cpp.inc"
      >();
}

/// How many numbers follow the kind: uniform and normal 2, constant 1.
static int argumentCount(InitKind kind) {
  return kind == InitKind::uniform || kind == InitKind::normal || kind == InitKind::norm_of ? 2
         : kind == InitKind::constant || kind == InitKind::unit_normal                      ? 1
                                                                                            : 0;
}

/// Shortest round-trip text as an MLIR float literal, which needs a '.'
/// ("1e-05" lexes as the integer 1): "1.0e-05", "2.0", "-0.25".
static std::string floatLiteral(double v) {
  std::string s = kiln::formatExact(v);
  if (s.find('.') == std::string::npos) {
    size_t e = s.find('e');
    s.insert(e == std::string::npos ? s.size() : e, ".0");
  }
  return s;
}

/// `<zeros>`, `<ones>`, `<uniform LO, HI>`, `<normal MEAN, STD>`,
/// `<constant V>`; numbers in shortest round-trip form.
void InitAttr::print(AsmPrinter &p) const {
  p << "<" << stringifyInitKind(getKind());
  int count = argumentCount(getKind());
  if (count >= 1)
    p << " " << floatLiteral(getA().convertToDouble());
  if (count == 2)
    p << ", " << floatLiteral(getB().convertToDouble());
  p << ">";
}

Attribute InitAttr::parse(AsmParser &parser, Type) {
  StringRef word;
  SMLoc at = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&word))
    return {};
  std::optional<InitKind> kind = symbolizeInitKind(word);
  if (!kind)
    return parser.emitError(at, "unknown initializer '")
               << word << "' (zeros, ones, uniform, normal, constant, norm_of, unit_normal, empty)",
           Attribute();
  double a = 0, b = 0;
  int count = argumentCount(*kind);
  if (count >= 1 && parser.parseFloat(a))
    return {};
  if (count == 2 && (parser.parseComma() || parser.parseFloat(b)))
    return {};
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(at); }, parser.getContext(),
                    *kind, llvm::APFloat(a), llvm::APFloat(b));
}

LogicalResult InitAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               InitKind kind, llvm::APFloat a, llvm::APFloat b) {
  double lo = a.convertToDouble(), hi = b.convertToDouble();
  if (!std::isfinite(lo) || !std::isfinite(hi))
    return emitError() << "initializer arguments must be finite";
  if (argumentCount(kind) == 0 && (lo != 0 || hi != 0))
    return emitError() << stringifyInitKind(kind) << " takes no arguments";
  if (argumentCount(kind) == 1 && hi != 0)
    return emitError() << stringifyInitKind(kind) << " takes one argument";
  if (kind == InitKind::uniform && lo > hi)
    return emitError() << "uniform initializer needs lo <= hi, got " << formatExact(lo)
                       << " > " << formatExact(hi);
  if (kind == InitKind::normal && hi < 0)
    return emitError() << "normal initializer needs std >= 0, got " << formatExact(hi);
  if (kind == InitKind::norm_of && (lo != std::floor(lo) || lo < 0 || hi != std::floor(hi) || hi < -1))
    return emitError() << "norm_of needs a parameter index >= 0 and a dimension >= -1, got "
                       << formatExact(lo) << ", " << formatExact(hi);
  if (kind == InitKind::unit_normal && !(lo > 0))
    return emitError() << "unit_normal needs eps > 0, got " << formatExact(lo);
  return success();
}

std::optional<SmallVector<int64_t>>
kiln::nn::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  shape_rules::Inferred r = shape_rules::broadcast(a.vec(), b.vec());
  if (!r.ok())
    return std::nullopt;
  return SmallVector<int64_t>(r.shape.begin(), r.shape.end());
}

bool kiln::nn::isBroadcastableTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  auto b = broadcastShapes(from, to);
  return b && ArrayRef<int64_t>(*b) == to;
}

#define GET_OP_CLASSES
#include "ir/NNOps.cpp.inc"
