// Shape rules of torch ops, written once: the DSL's tracer (frontend/src,
// no MLIR) and the nn ops' inferReturnTypes (ir/) both call these, so a
// model the DSL accepts is a model the compiler accepts, with the same
// words in the error. Standard library only.
#ifndef KILN_IR_SHAPERULES_H
#define KILN_IR_SHAPERULES_H

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace kiln::shape_rules {

using Shape = std::vector<int64_t>;

/// A result shape, or why there is none (`error` non-empty).
struct Inferred {
  Shape shape;
  std::string error;
  bool ok() const { return error.empty(); }
};

inline Inferred failure(std::string why) { return {{}, std::move(why)}; }

/// "[2, 3]".
inline std::string str(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// torch broadcasting: aligned at the end, a missing or size-1 dimension
/// stretches.
inline Inferred broadcast(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return failure("shapes " + str(a) + " and " + str(b) +
                     " cannot be broadcast (dimension " + std::to_string(i) +
                     " of the result: " + std::to_string(da) + " vs " +
                     std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return {out, ""};
}

/// torch.flatten: dims start..end (negative counts from the end) merged; a
/// scalar counts as rank 1 and flattens to [1].
inline Inferred flatten(const Shape &in, int64_t startDim, int64_t endDim) {
  int64_t rank = static_cast<int64_t>(in.size());
  int64_t bound = std::max<int64_t>(rank, 1);
  int64_t start = startDim < 0 ? startDim + bound : startDim;
  int64_t end = endDim < 0 ? endDim + bound : endDim;
  for (auto [d, n, name] : {std::tuple(startDim, start, "start_dim"),
                            std::tuple(endDim, end, "end_dim")})
    if (n < 0 || n >= bound)
      return failure(std::string(name) + " " + std::to_string(d) +
                     " is out of range for an input of shape " + str(in) +
                     " (rank " + std::to_string(rank) + ")");
  if (start > end)
    return failure("start_dim " + std::to_string(startDim) +
                   " comes after end_dim " + std::to_string(endDim) +
                   " for an input of shape " + str(in));
  if (rank == 0)
    return {{1}, ""};
  Shape out(in.begin(), in.begin() + start);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i)
    merged *= in[i];
  out.push_back(merged);
  out.insert(out.end(), in.begin() + end + 1, in.end());
  return {out, ""};
}

/// F.linear: [..., in] -> [..., out].
inline Inferred linear(const Shape &input, int64_t inFeatures,
                       int64_t outFeatures) {
  if (input.empty() || input.back() != inFeatures)
    return failure("expected an input of shape [*, " +
                   std::to_string(inFeatures) +
                   "] (last dimension = in_features), got " + str(input));
  Shape out = input;
  out.back() = outFeatures;
  return {out, ""};
}

/// `dims` in [0, rank), sorted; an empty list means every dimension.
/// Negative dims count from the end; out of range or repeated is an error.
inline Inferred normaliseDims(const Shape &in, const std::vector<int64_t> &dims) {
  int64_t rank = static_cast<int64_t>(in.size());
  Shape out;
  for (int64_t d = 0; d < rank && dims.empty(); ++d)
    out.push_back(d);
  for (int64_t d : dims) {
    int64_t n = d < 0 ? d + rank : d;
    if (n < 0 || n >= std::max<int64_t>(rank, 1) ||
        std::find(out.begin(), out.end(), n) != out.end())
      return failure("dimension " + std::to_string(d) +
                     " is out of range or repeated for an input of shape " +
                     str(in));
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return {out, ""};
}

/// torch.sum / torch.mean over `dims`: reduced dims dropped, or kept as 1.
inline Inferred reduce(const Shape &in, const std::vector<int64_t> &dims,
                       bool keepdim) {
  Inferred d = normaliseDims(in, dims);
  if (!d.ok())
    return d;
  Shape out;
  for (int64_t i = 0, e = in.size(); i < e; ++i) {
    bool reduced = std::find(d.shape.begin(), d.shape.end(), i) != d.shape.end();
    if (!reduced)
      out.push_back(in[i]);
    else if (keepdim)
      out.push_back(1);
  }
  return {out, ""};
}

/// torch.permute: result dim i is input dim dims[i].
inline Inferred permute(const Shape &in, const std::vector<int64_t> &dims) {
  if (dims.size() != in.size())
    return failure(std::to_string(dims.size()) + " dims for an input of shape " +
                   str(in) + " (a permutation names every dimension once)");
  Inferred d = normaliseDims(in, dims);
  if (!d.ok())
    return d;
  Shape out;
  int64_t rank = in.size();
  for (int64_t dim : dims)
    out.push_back(in[dim < 0 ? dim + rank : dim]);
  return {out, ""};
}

/// Per-dimension bounds of a strided slice: dimension i keeps the indices
/// start[i], start[i] + step[i], ... below end[i].
struct SliceBounds {
  Shape start, end, step;
  std::string error;
  bool ok() const { return error.empty(); }
};

/// nn.slice: 0 <= start <= end <= size and step >= 1 in every dimension
/// (bounds are normalised: no negative indices, no clamping); dimension i
/// keeps ceil((end - start) / step) elements.
inline Inferred slice(const Shape &in, const SliceBounds &b) {
  size_t rank = in.size();
  if (b.start.size() != rank || b.end.size() != rank || b.step.size() != rank)
    return failure("start, end and step need one value per dimension of " +
                   str(in) + " (got " + std::to_string(b.start.size()) + ", " +
                   std::to_string(b.end.size()) + " and " +
                   std::to_string(b.step.size()) + ")");
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (b.step[i] < 1)
      return failure("step " + std::to_string(b.step[i]) + " of dimension " +
                     std::to_string(i) + " must be at least 1");
    if (b.start[i] < 0 || b.start[i] > b.end[i] || b.end[i] > in[i])
      return failure("dimension " + std::to_string(i) + " of " + str(in) +
                     " cannot be sliced from " + std::to_string(b.start[i]) +
                     " to " + std::to_string(b.end[i]) +
                     " (need 0 <= start <= end <= " + std::to_string(in[i]) +
                     ")");
    out[i] = (b.end[i] - b.start[i] + b.step[i] - 1) / b.step[i];
  }
  return {out, ""};
}

/// torch.narrow(input, dim, start, length) as slice bounds: [start,
/// start + length) of `dim`, every other dimension whole. Negative `dim` and
/// `start` count from the end, as in torch.
inline SliceBounds narrow(const Shape &in, int64_t dim, int64_t start,
                          int64_t length) {
  SliceBounds b{Shape(in.size(), 0), in, Shape(in.size(), 1), ""};
  int64_t rank = static_cast<int64_t>(in.size());
  int64_t d = dim < 0 ? dim + rank : dim;
  if (rank == 0 || d < 0 || d >= rank) {
    b.error = "dim " + std::to_string(dim) +
              " is out of range for an input of shape " + str(in);
    return b;
  }
  int64_t s = start < 0 ? start + in[d] : start;
  if (s < 0 || length < 0 || s + length > in[d]) {
    b.error = "start " + std::to_string(start) + " and length " +
              std::to_string(length) + " do not fit in dimension " +
              std::to_string(dim) + " of " + str(in) + " (size " +
              std::to_string(in[d]) + ")";
    return b;
  }
  b.start[d] = s;
  b.end[d] = s + length;
  return b;
}

/// torch.cat: tensors of one rank (at least 1) and equal sizes except in
/// `dim` (negative counts from the end), joined along `dim`.
inline Inferred concat(const std::vector<Shape> &ins, int64_t dim) {
  if (ins.empty())
    return failure("expected at least one tensor");
  const Shape &first = ins.front();
  if (first.empty())
    return failure("zero-dimensional tensors cannot be concatenated");
  Inferred d = normaliseDims(first, {dim});
  if (!d.ok())
    return d;
  size_t n = static_cast<size_t>(d.shape[0]);
  Shape out = first;
  for (size_t k = 1; k < ins.size(); ++k) {
    const Shape &s = ins[k];
    bool same = s.size() == first.size();
    for (size_t i = 0; same && i < s.size(); ++i)
      same = i == n || s[i] == first[i];
    if (!same)
      return failure("tensor " + std::to_string(k) + " of shape " + str(s) +
                     " does not match tensor 0 of shape " + str(first) +
                     " outside dimension " + std::to_string(dim));
    out[n] += s[n];
  }
  return {out, ""};
}

/// Geometry of a convolution over `stride.size()` spatial dimensions
/// (torch.nn.Conv1d/2d/3d): padding per side (`padLow` before, `padHigh`
/// after each dimension; torch's symmetric int padding has both equal).
struct ConvGeometry {
  Shape stride, padLow, padHigh, dilation;
  int64_t groups = 1;
};

/// torch's padding="same" for one dimension: dilation * (kernel - 1) in
/// total, the odd element after (at::native::_convolution_mode).
inline std::pair<int64_t, int64_t> convSamePadding(int64_t kernel,
                                                   int64_t dilation) {
  int64_t total = dilation * (kernel - 1);
  return {total / 2, total - total / 2};
}

/// F.pad(input, mode) of an [N, C, *spatial] input by (lo[i], hi[i]) per
/// spatial dimension i, for a convolution's padding_mode: "zeros" and
/// "replicate" take any padding, "reflect" less than the size, "circular"
/// at most the size (torch's F.pad rules).
inline Inferred padSpatial(const Shape &input, const Shape &lo, const Shape &hi,
                           const std::string &mode) {
  Shape out = input;
  for (size_t i = 0; i < lo.size() && i + 2 < input.size(); ++i) {
    int64_t n = input[i + 2];
    std::string pads = "padding (" + std::to_string(lo[i]) + ", " +
                       std::to_string(hi[i]) + ") of spatial dimension " +
                       std::to_string(i);
    if (mode == "reflect" && (lo[i] >= n || hi[i] >= n))
      return failure("padding_mode \"reflect\": " + pads +
                     " must be less than the input size " + std::to_string(n) +
                     " (input " + str(input) + ")");
    if (mode == "circular" && (lo[i] > n || hi[i] > n))
      return failure("padding_mode \"circular\": " + pads +
                     " wraps around the input size " + std::to_string(n) +
                     " more than once (input " + str(input) + ")");
    out[i + 2] = n + lo[i] + hi[i];
  }
  return {out, ""};
}

/// F.conv{1,2,3}d: input [N, C, *in], weight [F, C / groups, *kernel] ->
/// [N, F, *out] with out = (in + lo + hi - dilation * (kernel - 1) - 1) /
/// stride + 1 (floor) per spatial dimension.
inline Inferred conv(const Shape &input, const Shape &weight,
                     const ConvGeometry &g) {
  size_t rank = input.size();
  if (rank < 3)
    return failure("expected an input of shape [N, C, *spatial] (rank >= 3), got " +
                   str(input));
  size_t r = rank - 2;
  if (weight.size() != rank)
    return failure("weight " + str(weight) + " must have the input's rank " +
                   std::to_string(rank) + " ([out_channels, in_channels / groups, *kernel])");
  if (g.stride.size() != r || g.padLow.size() != r || g.padHigh.size() != r ||
      g.dilation.size() != r)
    return failure("stride, padding and dilation need one value per spatial "
                   "dimension of " + str(input) + " (" + std::to_string(r) + ")");
  if (g.groups < 1)
    return failure("groups must be at least 1, got " + std::to_string(g.groups));
  int64_t channels = input[1], filters = weight[0];
  if (channels % g.groups != 0 || filters % g.groups != 0)
    return failure("groups " + std::to_string(g.groups) +
                   " must divide the input channels " + std::to_string(channels) +
                   " and the output channels " + std::to_string(filters));
  if (weight[1] * g.groups != channels)
    return failure("weight " + str(weight) + " expects " +
                   std::to_string(weight[1] * g.groups) +
                   " input channels (groups " + std::to_string(g.groups) +
                   ") but the input " + str(input) + " has " +
                   std::to_string(channels));
  Shape out{input[0], filters};
  for (size_t i = 0; i < r; ++i) {
    int64_t k = weight[i + 2], in = input[i + 2];
    if (g.stride[i] < 1 || g.dilation[i] < 1)
      return failure("stride and dilation must be at least 1 (dimension " +
                     std::to_string(i) + ": stride " + std::to_string(g.stride[i]) +
                     ", dilation " + std::to_string(g.dilation[i]) + ")");
    if (g.padLow[i] < 0 || g.padHigh[i] < 0)
      return failure("padding must not be negative (dimension " +
                     std::to_string(i) + ")");
    if (k < 1)
      return failure("kernel sizes must be at least 1, weight " + str(weight));
    int64_t padded = in + g.padLow[i] + g.padHigh[i];
    int64_t span = g.dilation[i] * (k - 1) + 1;
    if (span > padded)
      return failure("kernel size " + std::to_string(k) + " (dilated: " +
                     std::to_string(span) + ") of spatial dimension " +
                     std::to_string(i) + " is larger than the padded input size " +
                     std::to_string(padded) + " (input " + str(input) + ")");
    out.push_back((padded - span) / g.stride[i] + 1);
  }
  return {out, ""};
}

} // namespace kiln::shape_rules

#endif // KILN_IR_SHAPERULES_H
