// The `padding` family of the inventory: nn.ZeroPad2d,
// nn.ConstantPad1d/2d/3d, nn.ReflectionPad1d/2d/3d and
// nn.ReplicationPad1d/2d/3d. Composites: torch's F.pad as nn.slice +
// nn.broadcast_to + nn.concat per padded dimension (padSeparable in Pad.h),
// so autodiff and the lowering see only existing ops.
#include "frontend/import/Pad.h"
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

using namespace mlir;

namespace kiln::import {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// The padded dimensions' (lo, hi) from torch's `padding` (left, right,
/// top, bottom, front, back: the last dimension's pair first), listed from
/// the first padded dimension on, as padSeparable takes them.
void padsOf(const std::vector<int64_t> &p, int rank, SmallVector<int64_t> &lo,
            SmallVector<int64_t> &hi) {
  for (int j = 0; j < rank; ++j) {
    int k = rank - 1 - j;
    lo.push_back(p[2 * k]);
    hi.push_back(p[2 * k + 1]);
  }
}

/// ConstantPad{D}d / ZeroPad2d: any input with at least D dimensions (torch's
/// F.pad(mode="constant")); a negative padding crops that side, as in torch.
///   y = value lo times | x | value hi times   per padded dimension
Value buildConstantPad(BuildContext &c, const std::vector<int64_t> &padding,
                       double value) {
  int rank = static_cast<int>(padding.size() / 2);
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  int64_t r = static_cast<int64_t>(shape.size());
  if (r < rank)
    c.fail("expected an input with at least " + str(rank) +
           " dimensions, got " + nn::shapeStr(shape));
  SmallVector<int64_t> lo, hi;
  padsOf(padding, rank, lo, hi);
  int64_t first = r - rank;
  for (int j = 0; j < rank; ++j) {
    int64_t dim = first + j, n = shape[dim];
    int64_t size = n + lo[j] + hi[j];
    if (size < 1)
      c.fail("padding (" + str(lo[j]) + ", " + str(hi[j]) + ") at dimension " +
             str(dim) + " of input " + nn::shapeStr(shape) +
             " leaves an empty dimension (size " + str(size) + ")");
    if (lo[j] < 0 || hi[j] < 0) {
      int64_t start = std::max<int64_t>(0, -lo[j]),
              end = n - std::max<int64_t>(0, -hi[j]);
      // Both sides cropped past each other (e.g. (-4, 2) on 3 elements).
      if (start >= end)
        c.fail("padding (" + str(lo[j]) + ", " + str(hi[j]) +
               ") at dimension " + str(dim) + " of input " +
               nn::shapeStr(shape) + " crops away every element");
      x = sliceDim(c, x, dim, start, end);
      lo[j] = std::max<int64_t>(0, lo[j]);
      hi[j] = std::max<int64_t>(0, hi[j]);
    }
  }
  return padSeparable(c, x, first, lo, hi, "constant", value);
}

/// ReflectionPad{D}d / ReplicationPad{D}d: a [N, C, *D] or unbatched
/// [C, *D] input, as torch's reflection_pad / replication_pad kernels take.
/// Negative padding (which torch 1.13 accepts as cropping) is refused.
Value buildModePad(BuildContext &c, int rank, const std::string &mode,
                   const std::string &layer) {
  const Options &o = c.options();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  int64_t r = static_cast<int64_t>(shape.size());
  if (r != rank + 1 && r != rank + 2)
    c.fail("expected a " + str(rank + 1) + "-D (unbatched) or " +
           str(rank + 2) + "-D (batched) input, got " + nn::shapeStr(shape));
  std::vector<int64_t> all = o.getInts("padding");
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i] < 0)
      c.failAt(o.pathOf("padding") + "[" + str(static_cast<int64_t>(i)) + "]",
               "negative padding " + str(all[i]) + " (cropping) is not supported by " +
                   layer + " in Kiln; crop with ConstantPad or narrow instead");
  SmallVector<int64_t> lo, hi;
  padsOf(all, rank, lo, hi);
  int64_t first = r - rank;
  for (int j = 0; j < rank; ++j) {
    int64_t dim = first + j, n = shape[dim];
    std::string pads = "padding (" + str(lo[j]) + ", " + str(hi[j]) +
                       ") at dimension " + str(dim) + " of input " +
                       nn::shapeStr(shape);
    if (mode == "reflect" && (lo[j] >= n || hi[j] >= n))
      c.fail(pads + " must be less than the input size " + str(n) +
             " (torch's reflection padding)");
    if (mode == "reflect" && std::max(lo[j], hi[j]) > kMaxReflectPadding)
      c.fail(pads + " is larger than Kiln supports for reflection (" +
             str(kMaxReflectPadding) +
             " per side: one slice per padded row, compile time grows with it)");
  }
  return padSeparable(c, x, first, lo, hi, mode);
}

json exampleInput(int rank) {
  json input = {2, 3};
  for (int i = 0; i < rank; ++i)
    input.push_back(5 - i);
  return input;
}

} // namespace

void registerPaddingFamily(Registry &r) {
  for (int rank : {1, 2, 3}) {
    std::string d = str(rank) + "d";
    // ZeroPad1d/3d are torch >= 2.1's (the parity oracle, torch 1.13,
    // checks them as ConstantPad{1,3}d with value 0).
    Entry zero{"nn.ZeroPad" + d, EntryKind::Layer,
               "nn.broadcast_to + nn.concat (nn.slice when cropping)"};
    zero.options = {intTupleOption("padding", 2 * rank)};
    zero.build = [](BuildContext &c) {
      return buildConstantPad(c, c.options().getInts("padding"), 0.0);
    };
    json zeroPadding = json::array();
    for (int i = 0; i < rank; ++i)
      zeroPadding.insert(zeroPadding.end(), {1, i});
    zero.example = {{"options", {{"padding", zeroPadding}}},
                    {"input", exampleInput(rank)}};
    r.add(std::move(zero));
    Entry constant{"nn.ConstantPad" + d, EntryKind::Layer,
                   "nn.broadcast_to + nn.concat (nn.slice when cropping)"};
    constant.options = {intTupleOption("padding", 2 * rank),
                        floatOption("value")};
    constant.build = [rank](BuildContext &c) {
      return buildConstantPad(c, c.options().getInts("padding"),
                              c.options().getFloat("value"));
    };
    constant.example = {{"options", {{"padding", 1}, {"value", 0.5}}},
                        {"input", exampleInput(rank)}};
    r.add(std::move(constant));

    for (auto [layer, mode, lowering] :
         {std::tuple<const char *, const char *, const char *>{
              "ReflectionPad", "reflect", "nn.slice + nn.concat (one slice per padded row)"},
          {"ReplicationPad", "replicate", "nn.slice + nn.broadcast_to + nn.concat"}}) {
      std::string name = std::string(layer) + d;
      Entry e{"nn." + name, EntryKind::Layer, lowering};
      e.options = {intTupleOption("padding", 2 * rank)};
      e.build = [rank, mode = std::string(mode), name](BuildContext &c) {
        return buildModePad(c, rank, mode, name);
      };
      e.example = {{"options", {{"padding", 1}}}, {"input", exampleInput(rank)}};
      r.add(std::move(e));
    }
  }

  // torch.constant_pad_nd(input, pad, value=0): F.pad's constant mode, the
  // functional form the DSL records (nn::functional::pad).
  Entry padNd{"constant_pad_nd", EntryKind::Function,
              "nn.broadcast_to + nn.concat (nn.slice when cropping)"};
  padNd.options = {intListOption("pad"), floatOption("value", 0.0)};
  padNd.build = [](BuildContext &c) {
    const Options &o = c.options();
    std::vector<int64_t> pad = o.getInts("pad");
    auto rank = static_cast<int64_t>(nn::shapeOf(c.operands()[0]).size());
    if (pad.size() % 2 != 0)
      c.failAt(o.pathOf("pad"), "padding length must be divisible by 2, got " +
                                    str(static_cast<int64_t>(pad.size())));
    if (static_cast<int64_t>(pad.size()) > 2 * rank)
      c.failAt(o.pathOf("pad"),
               "padding length " + str(static_cast<int64_t>(pad.size())) +
                   " is too large for an input of rank " + str(rank));
    return buildConstantPad(c, pad, o.getFloat("value"));
  };
  padNd.example = {{"options", {{"pad", {1, -1, 0, 2}}, {"value", 0.5}}},
                   {"input", {2, 3, 4}}};
  r.add(std::move(padNd));
}

} // namespace kiln::import
