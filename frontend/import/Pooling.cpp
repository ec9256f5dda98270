// The `pooling` family of the inventory: nn.MaxPool1d/2d/3d,
// nn.AvgPool1d/2d/3d, nn.AdaptiveMaxPool1d/2d/3d, nn.AdaptiveAvgPool1d/2d/3d,
// nn.LPPool1d/2d and nn.MaxUnpool1d/2d/3d. Max pooling is nn.max_pool (a
// dedicated op with its argmax, the layer's second output with
// return_indices); average pooling is nn.sum_pool divided by a
// per-position constant (torch's divisor rules, computed here at compile
// time); LP pooling is torch's formula over an average pool of x^p;
// MaxUnpool is nn.max_unpool.
#include "frontend/import/Pool.h"

#include "ir/NNBuilders.h"
#include "ir/PoolShapeRules.h"

using namespace mlir;
namespace rules = kiln::shape_rules;

namespace kiln::import {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// torch's fixed windows from the options: stride None is the kernel size;
/// `padding` / `dilation` are absent for the layers without them.
rules::PoolGeometry geometryOf(BuildContext &c, int rank) {
  const Options &o = c.options();
  auto has = [&](const char *name) { return o.raw().contains(name); };
  rules::PoolGeometry g;
  // An int option (LPPool1d) or a tuple.
  g.kernel = o.raw().at("kernel_size").is_array()
                 ? o.getInts("kernel_size")
                 : rules::Shape(rank, o.getInt("kernel_size"));
  g.stride = o.isNone("stride") ? g.kernel : o.getInts("stride");
  g.padding = has("padding") ? o.getInts("padding") : rules::Shape(rank, 0);
  g.dilation = has("dilation") ? o.getInts("dilation") : rules::Shape(rank, 1);
  g.ceilMode = o.getBool("ceil_mode");
  // torch's rule, checked here so that the error names the option.
  for (int i = 0; i < rank; ++i)
    if (g.padding[i] > g.kernel[i] / 2)
      c.failAt(o.pathOf("padding") + "[" + str(i) + "]",
               "pad should be at most half of kernel size, but got pad=" +
                   str(g.padding[i]) + " and kernel_size=" + str(g.kernel[i]));
  return g;
}

/// The window attributes of nn.max_pool / nn.sum_pool, fixed or adaptive.
struct WindowAttrs {
  DenseI64ArrayAttr kernel, stride, padding, dilation;
  UnitAttr ceilMode;
  DenseI64ArrayAttr outputSize;
};

WindowAttrs fixedWindows(OpBuilder &b, const rules::PoolGeometry &g) {
  return {b.getDenseI64ArrayAttr(g.kernel), b.getDenseI64ArrayAttr(g.stride),
          b.getDenseI64ArrayAttr(g.padding), b.getDenseI64ArrayAttr(g.dilation),
          g.ceilMode ? b.getUnitAttr() : UnitAttr(), DenseI64ArrayAttr()};
}

WindowAttrs adaptiveWindows(OpBuilder &b, const rules::Shape &outputSize) {
  return {{}, {}, {}, {}, UnitAttr(), b.getDenseI64ArrayAttr(outputSize)};
}

/// The max pool's values, and its int64 indices when `withIndices`.
SmallVector<Value> maxPool(BuildContext &c, Value x, const WindowAttrs &w,
                           bool withIndices) {
  Value values = c.create<nn::MaxPoolOp>(x, w.kernel, w.stride, w.padding,
                                         w.dilation, w.ceilMode, w.outputSize);
  if (!withIndices)
    return {values};
  return {values, values.getDefiningOp()->getResult(1)};
}

Value sumPool(BuildContext &c, Value x, const WindowAttrs &w) {
  return c.create<nn::SumPoolOp>(x, w.kernel, w.stride, w.padding, w.dilation,
                                 w.ceilMode, w.outputSize);
}

/// y / divisor, the divisor a constant [*out] tensor (one value per output
/// position, shared by every (n, c) plane).
Value divideBy(BuildContext &c, Value y, ArrayRef<double> divisor) {
  OpBuilder &b = c.builder();
  auto type = RankedTensorType::get(nn::shapeOf(y).drop_front(2), b.getF32Type());
  SmallVector<float> values(divisor.begin(), divisor.end());
  Value d = b.create<arith::ConstantOp>(
      c.loc(), DenseElementsAttr::get(type, ArrayRef<float>(values)));
  return nn::binary<nn::DivOp>(b, c.loc(), y, d);
}

/// Per output position, the product over dimensions of a per-dimension
/// count (row-major over `out`): torch's divisors are such products.
std::vector<double> productOf(const rules::Shape &out,
                              const std::function<int64_t(size_t, int64_t)> &count) {
  std::vector<double> all{1.0};
  for (size_t d = 0; d < out.size(); ++d) {
    std::vector<double> next;
    for (double v : all)
      for (int64_t o = 0; o < out[d]; ++o)
        next.push_back(v * static_cast<double>(count(d, o)));
    all = std::move(next);
  }
  return all;
}

/// torch's avg_pool divisor for window o of dimension d: the window clipped
/// to the padded input (count_include_pad) or to the input.
int64_t avgCount(const rules::PoolGeometry &g, int64_t in, size_t d, int64_t o,
                 bool includePad) {
  int64_t start = o * g.stride[d] - g.padding[d];
  int64_t end = std::min(start + g.kernel[d], in + g.padding[d]);
  if (includePad)
    return end - start;
  return std::min(end, in) - std::max<int64_t>(start, 0);
}

/// Average pooling of batched x: the window sums over each position's
/// divisor (divisorOverride 0: none).
Value avgPool(BuildContext &c, Value x, const rules::PoolGeometry &g,
              bool includePad, int64_t divisorOverride) {
  Value sum = sumPool(c, x, fixedWindows(c.builder(), g));
  if (divisorOverride != 0)
    return nn::binary<nn::DivOp>(
        c.builder(), c.loc(), sum,
        nn::scalarConstant(c.builder(), c.loc(), double(divisorOverride)));
  auto in = nn::shapeOf(x).drop_front(2);
  rules::Shape out(nn::shapeOf(sum).drop_front(2));
  return divideBy(c, sum, productOf(out, [&](size_t d, int64_t o) {
                    return avgCount(g, in[d], d, o, includePad);
                  }));
}

/// Whether the (layer's) return_indices option asks for the indices; the
/// functional forms have no such option.
bool returnIndices(const Options &o) {
  return o.raw().contains("return_indices") && o.getBool("return_indices");
}

/// MaxPool{D}d: the values, then the int64 indices when `withIndices`
/// (return_indices, or the *_with_indices function).
SmallVector<Value> buildMaxPool(BuildContext &c, int rank, bool withIndices) {
  bool unbatched;
  Value x = batchedInput(c, rank, unbatched);
  rules::PoolGeometry g = geometryOf(c, rank);
  SmallVector<Value> y = maxPool(c, x, fixedWindows(c.builder(), g), withIndices);
  for (Value &v : y)
    v = unbatch(c, v, unbatched);
  return y;
}

/// torch's adaptive output_size: a None element keeps that input size
/// (2-d and 3-d; torch 1.13's 1-d forms take ints only).
rules::Shape adaptiveOutputSize(BuildContext &c, ArrayRef<int64_t> input) {
  rules::Shape out;
  auto spatial = input.drop_front(2);
  auto given = c.options().getOptionalInts("output_size");
  for (size_t i = 0; i < given.size(); ++i)
    out.push_back(given[i] ? *given[i] : spatial[i]);
  return out;
}

/// AdaptiveMaxPool{D}d: as buildMaxPool over the adaptive windows.
SmallVector<Value> buildAdaptiveMax(BuildContext &c, int rank, bool withIndices) {
  bool unbatched;
  Value x = batchedInput(c, rank, unbatched);
  WindowAttrs w = adaptiveWindows(c.builder(), adaptiveOutputSize(c, nn::shapeOf(x)));
  SmallVector<Value> y = maxPool(c, x, w, withIndices);
  for (Value &v : y)
    v = unbatch(c, v, unbatched);
  return y;
}

/// MaxUnpool{D}d(input, indices) / F.max_unpool{D}d(..., output_size) on
/// [N, C, *D] or unbatched [C, *D], as torch 1.13's _unpool_output_size: the default result size
/// is (in - 1) * stride - 2 * padding + kernel_size per dimension; the
/// function's output_size (D values, or D + 2 whose first two are ignored)
/// replaces it when each lies strictly within stride of the default.
Value buildMaxUnpool(BuildContext &c, int rank) {
  const Options &o = c.options();
  Value x = c.operands()[0], indices = c.operands()[1];
  if (nn::shapeOf(indices) != nn::shapeOf(x))
    c.fail("indices " + nn::shapeStr(nn::shapeOf(indices)) +
           " must have the input's shape " + nn::shapeStr(nn::shapeOf(x)));
  bool unbatched;
  x = batchedInput(c, rank, unbatched);
  if (unbatched)
    indices = batchOf(c, indices);
  auto shape = nn::shapeOf(x);
  std::vector<int64_t> kernel = o.getInts("kernel_size");
  std::vector<int64_t> stride = o.isNone("stride") ? kernel : o.getInts("stride");
  std::vector<int64_t> padding = o.getInts("padding");
  std::vector<int64_t> given;
  if (o.raw().contains("output_size") && !o.isNone("output_size")) {
    given = o.getInts("output_size");
    if (static_cast<int>(given.size()) == rank + 2)
      given.erase(given.begin(), given.begin() + 2);
    if (static_cast<int>(given.size()) != rank)
      c.failAt(o.pathOf("output_size"),
               "output_size should be a sequence containing " + str(rank) + " or " +
                   str(rank + 2) + " elements, but it has a length of " +
                   str(static_cast<int64_t>(o.getInts("output_size").size())));
  }
  SmallVector<int64_t> out{shape[0], shape[1]};
  for (int i = 0; i < rank; ++i) {
    int64_t n = (shape[i + 2] - 1) * stride[i] - 2 * padding[i] + kernel[i];
    if (!given.empty()) {
      if (!(n - stride[i] < given[i] && given[i] < n + stride[i]))
        c.failAt(o.pathOf("output_size"),
                 "invalid output_size " + nn::shapeStr(given) + " (dim " + str(i) +
                     " must be between " + str(n - stride[i]) + " and " +
                     str(n + stride[i]) + ", exclusive)");
      n = given[i];
    }
    if (n < 1)
      c.fail("the output size " + str(n) + " of dimension " + str(i + 2) +
             " ((in - 1) * stride - 2 * padding + kernel_size) must be >= 1");
    out.push_back(n);
  }
  return unbatch(c, c.create<nn::MaxUnpoolOp>(
                        nn::f32Tensor(c.builder().getContext(), out), x, indices),
                 unbatched);
}

Value buildAvgPool(BuildContext &c, int rank) {
  const Options &o = c.options();
  int64_t divisor = 0;
  if (o.raw().contains("divisor_override") && !o.isNone("divisor_override")) {
    divisor = o.getInt("divisor_override");
    if (divisor == 0)
      c.failAt(o.pathOf("divisor_override"), "divisor must be not zero");
  }
  bool unbatched;
  Value x = batchedInput(c, rank, unbatched);
  rules::PoolGeometry g = geometryOf(c, rank);
  if (rank == 3) {
    // torch 1.13's avg_pool3d (pool3d_shape_check with check_input_size)
    // refuses an input smaller than the kernel in any dimension, padding or
    // not (avg_pool1d / 2d do not; found by the parity sweep of seed 7).
    auto in = nn::shapeOf(x).drop_front(2);
    if (in[0] < g.kernel[0] || in[1] < g.kernel[1] || in[2] < g.kernel[2])
      c.fail("input image (T: " + std::to_string(in[0]) + " H: " + std::to_string(in[1]) +
             " W: " + std::to_string(in[2]) + ") smaller than kernel size (kT: " +
             std::to_string(g.kernel[0]) + " kH: " + std::to_string(g.kernel[1]) +
             " kW: " + std::to_string(g.kernel[2]) + ")");
  }
  // Shape errors (a kernel larger than the padded input) before the divisor.
  Value y = avgPool(c, x, g, o.getBool("count_include_pad"), divisor);
  return unbatch(c, y, unbatched);
}

Value buildAdaptiveAvg(BuildContext &c, int rank) {
  bool unbatched;
  Value x = batchedInput(c, rank, unbatched);
  rules::Shape out = adaptiveOutputSize(c, nn::shapeOf(x));
  WindowAttrs w = adaptiveWindows(c.builder(), out);
  auto in = nn::shapeOf(x).drop_front(2);
  Value sum = sumPool(c, x, w);
  Value y = divideBy(c, sum, productOf(out, [&](size_t d, int64_t i) {
                       return rules::adaptiveEnd(i, in[d], out[d]) -
                              rules::adaptiveStart(i, in[d], out[d]);
                     }));
  return unbatch(c, y, unbatched);
}

/// torch 1.13's lp_pool{1,2}d:
///   out = avg_pool(x^p, kernel_size, stride, 0, ceil_mode)
///   y = (sign(out) * relu(|out|) * prod(kernel_size))^(1/p)
Value buildLpPool(BuildContext &c, int rank) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  Location loc = c.loc();
  double p = o.getFloat("norm_type");
  if (p == 0)
    c.failAt(o.pathOf("norm_type"), "norm_type 0 has no LP norm (1/p)");
  bool unbatched;
  Value x = batchedInput(c, rank, unbatched);
  rules::PoolGeometry g = geometryOf(c, rank);
  Value powered = nn::binary<nn::PowOp>(b, loc, x, nn::scalarConstant(b, loc, p));
  Value out = avgPool(c, powered, g, /*includePad=*/true, 0);
  Value sign = c.create<nn::SignOp>(out);
  Value mag = c.create<nn::ReluOp>(c.create<nn::AbsOp>(out));
  double kernel = 1;
  for (int64_t k : g.kernel)
    kernel *= static_cast<double>(k);
  Value y = nn::binary<nn::MulOp>(b, loc, nn::binary<nn::MulOp>(b, loc, sign, mag),
                                  nn::scalarConstant(b, loc, kernel));
  y = nn::binary<nn::PowOp>(b, loc, y, nn::scalarConstant(b, loc, 1.0 / p));
  return unbatch(c, y, unbatched);
}

json exampleInput(int rank) {
  json input = {2, 3};
  for (int i = 0; i < rank; ++i)
    input.push_back(6 - i);
  return input;
}

} // namespace

/// The functional forms F.max_pool{D}d, F.avg_pool{D}d,
/// F.adaptive_{avg,max}_pool{D}d and F.lp_pool{1,2}d: each layer's entry
/// as a graph function (same options, same build) without return_indices.
/// (The oracle calls torch.<name>, or F.<name> where torch has none.)
static void registerPoolingFunctions(Registry &r) {
  std::vector<Entry> functions;
  for (const Entry &layer : r.entries()) {
    static const std::pair<const char *, const char *> names[] = {
        {"nn.MaxPool", "max_pool"},
        {"nn.AvgPool", "avg_pool"},
        {"nn.AdaptiveAvgPool", "adaptive_avg_pool"},
        {"nn.AdaptiveMaxPool", "adaptive_max_pool"},
        {"nn.LPPool", "lp_pool"}};
    for (auto [prefix, function] : names) {
      std::string p = prefix;
      const std::string &t = layer.torchName;
      // "nn.MaxPool2d" -> "max_pool2d" (the suffix after the prefix is "2d").
      if (t.size() != p.size() + 2 || t.compare(0, p.size(), p) != 0)
        continue;
      Entry f{function + t.substr(p.size()), EntryKind::Function, layer.lowering};
      for (const OptionSpec &s : layer.options)
        if (s.name != "return_indices")
          f.options.push_back(s);
      f.build = layer.build;
      f.buildOutputs = layer.buildOutputs;
      f.example = layer.example;
      functions.push_back(std::move(f));
    }
  }
  // F.max_pool{D}d_with_indices, F.adaptive_max_pool{D}d_with_indices: the
  // values and the int64 indices, a graph function with two outputs.
  for (int rank : {1, 2, 3})
    for (bool adaptive : {false, true}) {
      std::string d = std::to_string(rank) + "d";
      const Entry *layer = r.find((adaptive ? "nn.AdaptiveMaxPool" : "nn.MaxPool") + d);
      Entry f{(adaptive ? "adaptive_max_pool" : "max_pool") + d + "_with_indices",
              EntryKind::Function, layer->lowering};
      for (const OptionSpec &s : layer->options)
        if (s.name != "return_indices")
          f.options.push_back(s);
      f.buildOutputs = [rank, adaptive](BuildContext &c) {
        return adaptive ? buildAdaptiveMax(c, rank, true)
                        : buildMaxPool(c, rank, true);
      };
      f.example = layer->example;
      f.example["outputs"] = 2;
      functions.push_back(std::move(f));
    }
  // F.max_unpool{D}d(input, indices, kernel_size, stride, padding,
  // output_size): the layer's options and torch's output_size argument
  // (also what the DSL records for MaxUnpool{D}d's forward with output_size).
  for (int rank : {1, 2, 3}) {
    std::string d = std::to_string(rank) + "d";
    const Entry *layer = r.find("nn.MaxUnpool" + d);
    Entry f{"max_unpool" + d, EntryKind::Function, layer->lowering};
    f.options = layer->options;
    f.options.push_back(intListOption("output_size").atLeast(1).orNone());
    f.numInputs = 2;
    f.indexInputs = {1};
    f.build = layer->build;
    f.example = layer->example;
    functions.push_back(std::move(f));
  }
  for (Entry &f : functions)
    r.add(std::move(f));
}

void registerPoolingFamily(Registry &r) {
  for (int rank : {1, 2, 3}) {
    std::string d = str(rank) + "d";
    auto kernel = [&] { return intTupleOption("kernel_size", rank).atLeast(1); };
    auto stride = [&] { return intTupleOption("stride", rank).atLeast(1).orNone(); };
    auto padding = [&] { return intTupleOption("padding", rank, 0).atLeast(0); };

    Entry maxPool{"nn.MaxPool" + d, EntryKind::Layer, "nn.max_pool"};
    maxPool.options = {kernel(), stride(), padding(),
                       intTupleOption("dilation", rank, 1).atLeast(1),
                       boolOption("return_indices", false),
                       boolOption("ceil_mode", false)};
    maxPool.buildOutputs = [rank](BuildContext &c) {
      return buildMaxPool(c, rank, returnIndices(c.options()));
    };
    maxPool.example = {{"options", {{"kernel_size", 2}, {"stride", nullptr}}},
                       {"input", exampleInput(rank)}};
    r.add(std::move(maxPool));

    Entry avgPool{"nn.AvgPool" + d, EntryKind::Layer,
                  "nn.sum_pool / divisor (constant)"};
    avgPool.options = {kernel(), stride(), padding(),
                       boolOption("ceil_mode", false),
                       boolOption("count_include_pad", true)};
    // torch 1.13's AvgPool1d has no divisor_override.
    if (rank > 1)
      avgPool.options.push_back(intOption("divisor_override").orNone());
    avgPool.build = [rank](BuildContext &c) { return buildAvgPool(c, rank); };
    avgPool.example = {{"options", {{"kernel_size", 3}, {"stride", 2},
                                    {"padding", 1}}},
                       {"input", exampleInput(rank)}};
    if (rank > 1)
      avgPool.example["options"]["divisor_override"] = nullptr;
    r.add(std::move(avgPool));

    Entry adaptiveMax{"nn.AdaptiveMaxPool" + d, EntryKind::Layer,
                      "nn.max_pool (adaptive windows)"};
    // torch 1.13's 2-d and 3-d adaptive pools take None for "this input's
    // size"; the 1-d ones only ints.
    auto outputSize = [&] {
      OptionSpec s = intTupleOption("output_size", rank).atLeast(1);
      return rank > 1 ? s.orNoneElements() : s;
    };
    adaptiveMax.options = {outputSize(), boolOption("return_indices", false)};
    adaptiveMax.buildOutputs = [rank](BuildContext &c) {
      return buildAdaptiveMax(c, rank, returnIndices(c.options()));
    };
    adaptiveMax.example = {{"options", {{"output_size", 4}}},
                           {"input", exampleInput(rank)}};
    r.add(std::move(adaptiveMax));

    Entry adaptiveAvg{"nn.AdaptiveAvgPool" + d, EntryKind::Layer,
                      "nn.sum_pool (adaptive windows) / window sizes"};
    adaptiveAvg.options = {outputSize()};
    adaptiveAvg.build = [rank](BuildContext &c) {
      return buildAdaptiveAvg(c, rank);
    };
    adaptiveAvg.example = {{"options", {{"output_size", 4}}},
                           {"input", exampleInput(rank)}};
    r.add(std::move(adaptiveAvg));

    Entry unpool{"nn.MaxUnpool" + d, EntryKind::Layer, "nn.max_unpool"};
    unpool.options = {kernel(), stride(), padding()};
    unpool.numInputs = 2;
    unpool.indexInputs = {1};
    unpool.build = [rank](BuildContext &c) { return buildMaxUnpool(c, rank); };
    unpool.example = {{"options", {{"kernel_size", 2}, {"stride", nullptr}}},
                      {"input", exampleInput(rank)}};
    r.add(std::move(unpool));

    // torch 1.13 has LPPool1d and LPPool2d.
    if (rank < 3) {
      Entry lp{"nn.LPPool" + d, EntryKind::Layer,
               "nn.pow + nn.sum_pool / divisor + nn.pow"};
      // torch 1.13's lp_pool1d multiplies by kernel_size itself: only an
      // int works there.
      lp.options = {floatOption("norm_type"),
                    rank == 1 ? intOption("kernel_size").atLeast(1) : kernel(),
                    stride(), boolOption("ceil_mode", false)};
      lp.build = [rank](BuildContext &c) { return buildLpPool(c, rank); };
      lp.example = {{"options", {{"norm_type", 2.0}, {"kernel_size", 2},
                                 {"stride", nullptr}}},
                    {"input", exampleInput(rank)}};
      r.add(std::move(lp));
    }
  }
  registerPoolingFunctions(r);
}

} // namespace kiln::import
