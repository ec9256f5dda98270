// The indexing family (NNIndexOps.td): nn.gather's shape inference, index
// bounds and gradient, the verifier of its adjoint nn.gather_backward, and
// nn.argmax's shape inference.
#include "ir/NNBuilders.h"
#include "ir/TensorShapeRules.h"

using namespace mlir;
using namespace kiln::nn;
namespace rules = kiln::shape_rules;

/// dim must already be in [0, rank): the importer wraps negative dims.
static std::string gatherProblem(ArrayRef<int64_t> input, ArrayRef<int64_t> index,
                                 int64_t dim) {
  if (dim < 0 || dim >= static_cast<int64_t>(input.size()))
    return "dim " + std::to_string(dim) + " is not a dimension of " + shapeStr(input);
  return rules::gather(rules::Shape(input.begin(), input.end()), dim,
                       rules::Shape(index.begin(), index.end()))
      .error;
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                         ValueRange operands, DictionaryAttr attrs,
                                         OpaqueProperties props, RegionRange regions,
                                         SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  std::string why = gatherProblem(shapeOf(a.getInput()), shapeOf(a.getIndex()), a.getDim());
  if (!why.empty())
    return emitOptionalError(loc, "nn.gather: ", why);
  types.push_back(f32Tensor(ctx, shapeOf(a.getIndex())));
  return success();
}

LogicalResult GatherBackwardOp::verify() {
  if (getGradOutput().getType().getShape() != getIndex().getType().getShape())
    return emitOpError("grad_output ")
           << shapeStr(getGradOutput().getType().getShape())
           << " must have the index's shape " << shapeStr(getIndex().getType().getShape());
  std::string why = gatherProblem(getType().getShape(), getIndex().getType().getShape(), getDim());
  if (!why.empty())
    return emitOpError(why);
  return success();
}

bool GatherOp::isDifferentiableOperand(unsigned index) {
  return index == getInputMutable().getOperandNumber();
}

// torch's gather reads input[.., v, ..] for v in [0, input.shape[dim]).
std::optional<IndexBounds> GatherOp::getIndexBounds(unsigned index) {
  if (index != getIndexMutable().getOperandNumber())
    return std::nullopt;
  return IndexBounds{0, getInput().getType().getDimSize(getDim()), std::nullopt};
}

std::optional<IndexBounds> GatherBackwardOp::getIndexBounds(unsigned index) {
  if (index != getIndexMutable().getOperandNumber())
    return std::nullopt;
  return IndexBounds{0, getType().getDimSize(getDim()), std::nullopt};
}

// y = gather(x, i):  dx = scatter_add(zeros_like(x), i, dy).
LogicalResult GatherOp::buildGradient(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needGrad,
                                      SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(2, Value());
  if (needGrad[0])
    operandGrads[0] = b.create<GatherBackwardOp>(getLoc(), getInput().getType(),
                                                 resultGrads[0], getIndex(), getDimAttr());
  return success();
}

LogicalResult ArgmaxOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                         ValueRange operands, DictionaryAttr attrs,
                                         OpaqueProperties props, RegionRange regions,
                                         SmallVectorImpl<Type> &types) {
  Adaptor a(operands, attrs, props, regions);
  ArrayRef<int64_t> in = shapeOf(a.getInput());
  std::optional<int64_t> dim;
  if (auto d = a.getDimAttr())
    dim = d.getInt();
  rules::Inferred r = rules::argmax(rules::Shape(in.begin(), in.end()), dim,
                                    static_cast<bool>(a.getKeepdimAttr()));
  if (!r.ok())
    return emitOptionalError(loc, "nn.argmax: ", r.error);
  types.push_back(RankedTensorType::get(r.shape, IntegerType::get(ctx, 64)));
  return success();
}
