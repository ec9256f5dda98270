// nn.FractionalMaxPool2d/3d and F.fractional_max_pool2d/3d(_with_indices):
// nn.fractional_max_pool, whose windows are placed by one uniform sample per
// (n, c) plane and spatial dimension. The samples are the call's optional
// second input (torch's `_random_samples`, [N, C, r], N = 1 for an
// unbatched input) or, without it, a draw from the instance's stream
// (BuildContext::randomUniform) in either mode, as torch draws in eval mode
// too. Kiln's stream is not torch's (docs/design.md, "Random numbers").
#include "frontend/import/Pool.h"

#include "ir/PoolShapeRules.h"

using namespace mlir;
namespace rules = kiln::shape_rules;

namespace kiln::import {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// torch's output size: `output_size`, or int(in * output_ratio) per
/// dimension; exactly one of them is given (FractionalMaxPool{r}d's
/// constructor checks, at their option's path).
rules::Shape outputSizeOf(BuildContext &c, int rank, ArrayRef<int64_t> in) {
  const Options &o = c.options();
  bool hasSize = !o.isNone("output_size"), hasRatio = !o.isNone("output_ratio");
  if (!hasSize && !hasRatio)
    c.failAt(o.pathOf("output_size"),
             "FractionalMaxPool" + str(rank) +
                 "d requires specifying either an output size, or a pooling "
                 "ratio (output_size or output_ratio)");
  if (hasSize && hasRatio)
    c.failAt(o.pathOf("output_ratio"),
             "only one of output_size and output_ratio may be specified");
  if (hasSize)
    return o.getInts("output_size");
  std::vector<double> ratio = o.getFloats("output_ratio");
  rules::Shape out;
  for (int i = 0; i < rank; ++i) {
    if (!(ratio[i] > 0 && ratio[i] < 1))
      c.failAt(o.pathOf("output_ratio") + "[" + str(i) + "]",
               "output_ratio must be between 0 and 1 (exclusive), got " +
                   std::to_string(ratio[i]));
    // Python's int(input.size(d) * ratio): a double product, truncated.
    out.push_back(static_cast<int64_t>(static_cast<double>(in[i]) * ratio[i]));
    if (out.back() < 1)
      c.failAt(o.pathOf("output_ratio") + "[" + str(i) + "]",
               "gives the output size int(" + str(in[i]) + " * " +
                   std::to_string(ratio[i]) + ") = 0; it must be >= 1");
  }
  return out;
}

/// The values, then the int64 indices when `withIndices`.
SmallVector<Value> buildFractional(BuildContext &c, int rank, bool withIndices) {
  const Options &o = c.options();
  bool unbatched;
  Value x = batchedInput(c, rank, unbatched);
  auto shape = nn::shapeOf(x);
  auto in = shape.drop_front(2);
  rules::Shape kernel = o.getInts("kernel_size");
  rules::Shape out = outputSizeOf(c, rank, in);
  // torch 1.13's checks: out + k - 1 <= in in 2-d, < in in 3-d.
  for (int i = 0; i < rank; ++i) {
    int64_t need = out[i] + kernel[i] - 1 + (rank == 3 ? 1 : 0);
    if (need > in[i]) {
      std::string dim = rules::spatialName(i, rank);
      c.fail("fractional_max_pool" + str(rank) + "d(): pool " + dim + " " +
             str(kernel[i]) + " too large relative to input " + dim + " " +
             str(in[i]) + " (output size " + str(out[i]) + " + kernel_size - 1 " +
             (rank == 3 ? "must be less than" : "must be at most") +
             " the input size)");
    }
  }
  Value samples = c.operands().size() > 1
                      ? c.operands()[1]
                      : c.randomUniform({shape[0], shape[1], rank});
  OpBuilder &b = c.builder();
  Value values = c.create<nn::FractionalMaxPoolOp>(
      x, samples, b.getDenseI64ArrayAttr(kernel), b.getDenseI64ArrayAttr(out));
  Value indices = values.getDefiningOp()->getResult(1);
  values = unbatch(c, values, unbatched);
  if (!withIndices)
    return {values};
  return {values, unbatch(c, indices, unbatched)};
}

json exampleInput(int rank) {
  json input = {2, 3};
  for (int i = 0; i < rank; ++i)
    input.push_back(7 - i);
  return input;
}

} // namespace

void registerFractionalPoolFamily(Registry &r) {
  for (int rank : {2, 3}) {
    std::string d = str(rank) + "d";
    std::string lowering = "nn.fractional_max_pool (samples: the second input, "
                           "or nn.random_uniform)";
    auto options = [rank] {
      return std::vector<OptionSpec>{
          intTupleOption("kernel_size", rank).atLeast(1),
          intTupleOption("output_size", rank).atLeast(1).orNone(),
          floatTupleOption("output_ratio", rank).orNone(),
          boolOption("return_indices", false)};
    };
    json example = {{"options", {{"kernel_size", 2}, {"output_size", 3}}},
                    {"input", exampleInput(rank)}};

    Entry layer{"nn.FractionalMaxPool" + d, EntryKind::Layer, lowering};
    layer.options = options();
    layer.numInputs = 2;
    layer.numOptionalInputs = 1;
    layer.buildOutputs = [rank](BuildContext &c) {
      return buildFractional(c, rank, c.options().getBool("return_indices"));
    };
    layer.example = example;
    r.add(std::move(layer));

    // F.fractional_max_pool{r}d(input, kernel_size, output_size,
    // output_ratio, return_indices, _random_samples): the layer's options;
    // the samples, when given, are the second input.
    Entry function{"fractional_max_pool" + d, EntryKind::Function, lowering};
    function.options = options();
    function.numInputs = 2;
    function.numOptionalInputs = 1;
    function.buildOutputs = [rank](BuildContext &c) {
      return buildFractional(c, rank, c.options().getBool("return_indices"));
    };
    function.example = example;
    r.add(std::move(function));

    // F.fractional_max_pool{r}d_with_indices: always both values.
    Entry withIndices{"fractional_max_pool" + d + "_with_indices",
                      EntryKind::Function, lowering};
    for (const OptionSpec &s : options())
      if (s.name != "return_indices")
        withIndices.options.push_back(s);
    withIndices.numInputs = 2;
    withIndices.numOptionalInputs = 1;
    withIndices.buildOutputs = [rank](BuildContext &c) {
      return buildFractional(c, rank, true);
    };
    withIndices.example = example;
    withIndices.example["outputs"] = 2;
    r.add(std::move(withIndices));
  }
}

} // namespace kiln::import
