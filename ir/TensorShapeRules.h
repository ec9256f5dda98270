// Shape rules of the tensor functions a DSL forward calls between layers
// (torch.reshape, squeeze, unsqueeze, transpose, Python slicing, split,
// chunk, stack, matmul, index_select, masked_fill): shared by the DSL's
// tracer and the importer's decompositions (frontend/import/TensorOps.cpp),
// so both accept the same models with the same words. Messages follow
// torch's where torch has one. Kiln's shapes are static and never empty: a
// call that would give a zero-sized dimension is an error here, where torch
// would return an empty tensor. Standard library only.
#ifndef KILN_IR_TENSORSHAPERULES_H
#define KILN_IR_TENSORSHAPERULES_H

#include "ir/ShapeRules.h"

#include <optional>

namespace kiln::shape_rules {

/// torch's message for a dim outside [-rank, rank) (a scalar counts as
/// rank 1).
inline std::string dimOutOfRange(int64_t dim, int64_t rank) {
  int64_t r = std::max<int64_t>(rank, 1);
  return "Dimension out of range (expected to be in range of [" +
         std::to_string(-r) + ", " + std::to_string(r - 1) + "], but got " +
         std::to_string(dim) + ")";
}

/// `dim` in [0, rank) (negative counts from the end), or nullopt.
inline std::optional<int64_t> wrapDim(int64_t dim, int64_t rank) {
  int64_t n = dim < 0 ? dim + rank : dim;
  if (n < 0 || n >= rank)
    return std::nullopt;
  return n;
}

inline int64_t numel(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

/// torch.reshape / Tensor.view: the same elements in `shape`, at most one
/// size -1 (inferred).
inline Inferred reshape(const Shape &in, const Shape &shape) {
  int64_t total = numel(in), known = 1;
  std::optional<size_t> inferred;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred)
        return failure("shape " + str(shape) + ": only one dimension can be inferred");
      inferred = i;
    } else if (shape[i] < 0) {
      return failure("shape " + str(shape) + ": invalid shape dimension " +
                     std::to_string(shape[i]));
    } else {
      known *= shape[i];
    }
  }
  Shape out = shape;
  if (inferred && known != 0 && total % known == 0)
    out[*inferred] = total / known;
  if (numel(out) != total || (inferred && known == 0))
    return failure("shape '" + str(shape) + "' is invalid for input of size " +
                   std::to_string(total) + " (shape " + str(in) + ")");
  return {out, ""};
}

/// torch.squeeze: without `dim` every size-1 dimension removed; with it,
/// that dimension if its size is 1 (otherwise the shape is unchanged).
inline Inferred squeeze(const Shape &in, std::optional<int64_t> dim) {
  int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> only;
  if (dim) {
    only = wrapDim(*dim, std::max<int64_t>(rank, 1));
    if (!only)
      return failure(dimOutOfRange(*dim, rank));
  }
  Shape out;
  for (int64_t i = 0; i < rank; ++i)
    if (in[i] != 1 || (only && *only != i))
      out.push_back(in[i]);
  return {out, ""};
}

/// torch.unsqueeze: a size-1 dimension inserted at `dim` of the result
/// (in [-rank - 1, rank]).
inline Inferred unsqueeze(const Shape &in, int64_t dim) {
  int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> d = wrapDim(dim, rank + 1);
  if (!d)
    return failure(dimOutOfRange(dim, rank + 1));
  Shape out = in;
  out.insert(out.begin() + *d, 1);
  return {out, ""};
}

/// torch.transpose(input, dim0, dim1) as a permutation (in `shape`).
inline Inferred transposeDims(const Shape &in, int64_t dim0, int64_t dim1) {
  int64_t rank = static_cast<int64_t>(in.size());
  Shape perm;
  for (int64_t i = 0; i < rank; ++i)
    perm.push_back(i);
  std::optional<int64_t> a = wrapDim(dim0, std::max<int64_t>(rank, 1)),
                         b = wrapDim(dim1, std::max<int64_t>(rank, 1));
  if (!a || !b)
    return failure(dimOutOfRange(a ? dim1 : dim0, rank));
  if (rank > 0)
    std::swap(perm[*a], perm[*b]);
  return {perm, ""};
}

/// Python's x[..., start:end:step] on `dim` (libtorch's Tensor::slice):
/// missing bounds are the ends, negative ones count from the end, and
/// bounds past either end are clamped, as Python does.
inline SliceBounds pythonSlice(const Shape &in, int64_t dim,
                               std::optional<int64_t> start,
                               std::optional<int64_t> end, int64_t step) {
  SliceBounds b{Shape(in.size(), 0), in, Shape(in.size(), 1), ""};
  int64_t rank = static_cast<int64_t>(in.size());
  if (rank == 0) {
    b.error = "slice() cannot be applied to a 0-dim tensor";
    return b;
  }
  std::optional<int64_t> d = wrapDim(dim, rank);
  if (!d) {
    b.error = dimOutOfRange(dim, rank);
    return b;
  }
  if (step < 1) {
    b.error = "slice step must be positive, got " + std::to_string(step);
    return b;
  }
  int64_t size = in[*d];
  auto clampIndex = [&](int64_t i) {
    if (i < 0)
      i += size;
    return std::min(std::max<int64_t>(i, 0), size);
  };
  int64_t s = start ? clampIndex(*start) : 0;
  int64_t e = end ? clampIndex(*end) : size;
  if (e <= s) {
    b.error = "slice [" + (start ? std::to_string(*start) : "") + ":" +
              (end ? std::to_string(*end) : "") + "] of dimension " +
              std::to_string(dim) + " of " + str(in) +
              " is empty (Kiln's shapes are static and never empty)";
    return b;
  }
  b.start[*d] = s;
  b.end[*d] = e;
  b.step[*d] = step;
  return b;
}

/// The sizes of the pieces torch.split gives along `dim`: pieces of `size`
/// (the last one smaller), or the given `sections`, which must add up to
/// the dimension's size.
inline Inferred splitSizes(const Shape &in, int64_t dim,
                           std::optional<int64_t> size, const Shape &sections) {
  int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> d = wrapDim(dim, rank);
  if (!d)
    return failure(rank == 0 ? std::string("split expects at least a 1-dimensional tensor")
                             : dimOutOfRange(dim, rank));
  int64_t n = in[*d];
  Shape pieces;
  if (size) {
    if (*size < 1)
      return failure("split_size must be at least 1, got " + std::to_string(*size));
    for (int64_t at = 0; at < n; at += *size)
      pieces.push_back(std::min(*size, n - at));
    return {pieces, ""};
  }
  int64_t total = 0;
  for (int64_t s : sections) {
    if (s < 1)
      return failure("split_size_or_sections " + str(sections) +
                     ": every section needs at least one element "
                     "(Kiln's shapes are never empty)");
    total += s;
  }
  if (sections.empty() || total != n)
    return failure("split_with_sizes expects split_sizes to sum exactly to " +
                   std::to_string(n) + " (input tensor's size at dimension " +
                   std::to_string(dim) + "), but got split_sizes=" + str(sections));
  return {sections, ""};
}

/// torch.chunk: ceil(size / chunks) elements per piece, so possibly fewer
/// than `chunks` pieces.
inline Inferred chunkSizes(const Shape &in, int64_t chunks, int64_t dim) {
  if (chunks < 1)
    return failure("chunk expects `chunks` to be greater than 0, got: " +
                   std::to_string(chunks));
  int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> d = wrapDim(dim, rank);
  if (!d)
    return failure(rank == 0 ? std::string("chunk expects at least a 1-dimensional tensor")
                             : dimOutOfRange(dim, rank));
  int64_t size = (in[*d] + chunks - 1) / chunks;
  return splitSizes(in, dim, size, {});
}

/// torch.stack: tensors of one shape joined along a new dimension `dim`
/// (in [-rank - 1, rank]).
inline Inferred stack(const std::vector<Shape> &ins, int64_t dim) {
  if (ins.empty())
    return failure("stack expects a non-empty TensorList");
  for (size_t k = 1; k < ins.size(); ++k)
    if (ins[k] != ins[0])
      return failure("stack expects each tensor to be equal size, but got " +
                     str(ins[0]) + " at entry 0 and " + str(ins[k]) +
                     " at entry " + std::to_string(k));
  Inferred out = unsqueeze(ins[0], dim);
  if (out.ok())
    out.shape[*wrapDim(dim, ins[0].size() + 1)] = ins.size();
  return out;
}

/// torch.matmul: 1-D operands are a row (lhs) or a column (rhs) whose added
/// dimension the result drops; dimensions before the last two broadcast.
inline Inferred matmul(const Shape &a, const Shape &b) {
  if (a.empty() || b.empty())
    return failure("both arguments to matmul need to be at least 1D, but they are " +
                   std::to_string(a.size()) + "D and " + std::to_string(b.size()) + "D");
  int64_t k = a.back(), kb = b.size() == 1 ? b[0] : b[b.size() - 2];
  if (k != kb)
    return failure("matmul: shapes " + str(a) + " and " + str(b) +
                   " cannot be multiplied (inner dimensions " + std::to_string(k) +
                   " and " + std::to_string(kb) + " differ)");
  Shape batchA(a.begin(), a.end() - std::min<size_t>(a.size(), 2));
  Shape batchB(b.begin(), b.end() - std::min<size_t>(b.size(), 2));
  Inferred out = broadcast(batchA, batchB);
  if (!out.ok())
    return failure("matmul: batch dimensions of " + str(a) + " and " + str(b) +
                   " cannot be broadcast: " + out.error);
  if (a.size() >= 2)
    out.shape.push_back(a[a.size() - 2]);
  if (b.size() >= 2)
    out.shape.push_back(b.back());
  return out;
}

/// torch.index_select(input, dim, index): `dim` keeps the elements at
/// `index` (each in [0, size)), in that order, repeats allowed.
inline Inferred indexSelect(const Shape &in, int64_t dim, const Shape &index) {
  int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> d = wrapDim(dim, rank);
  if (!d)
    return failure(rank == 0 ? std::string("index_select of a 0-dim tensor is not supported")
                             : dimOutOfRange(dim, rank));
  if (index.empty())
    return failure("index is empty (Kiln's shapes are never empty)");
  for (int64_t i : index)
    if (i < 0 || i >= in[*d])
      return failure("index " + std::to_string(i) + " is out of range for dimension " +
                     std::to_string(dim) + " of " + str(in) + " (size " +
                     std::to_string(in[*d]) + "): index out of range in self");
  Shape out = in;
  out[*d] = index.size();
  return {out, ""};
}

/// torch.index_select with an int64 index tensor (0-d or 1-d; its values
/// are checked where they are known: by the runtime for a model input).
inline Inferred indexSelectTensor(const Shape &in, int64_t dim, const Shape &index) {
  int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> d = wrapDim(dim, rank);
  if (!d)
    return failure(rank == 0 ? std::string("index_select of a 0-dim tensor is not supported")
                             : dimOutOfRange(dim, rank));
  if (index.size() > 1)
    return failure("index_select(): Index is supposed to be a vector (got an index of shape " +
                   str(index) + ")");
  Shape out = in;
  out[*d] = index.empty() ? 1 : index[0];
  return {out, ""};
}

/// torch.gather: an index of the input's rank, at most the input's size in
/// every dimension but `dim`; the result has the index's shape.
inline Inferred gather(const Shape &in, int64_t dim, const Shape &index) {
  int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> d = wrapDim(dim, std::max<int64_t>(rank, 1));
  if (!d)
    return failure(dimOutOfRange(dim, rank));
  if (rank == 0)
    return failure("gather of a 0-dim tensor is not supported");
  if (index.size() != in.size())
    return failure("Index tensor must have the same number of dimensions as input tensor "
                   "(index " + str(index) + ", input " + str(in) + ")");
  for (int64_t i = 0; i < rank; ++i)
    if (i != *d && index[i] > in[i])
      return failure("Size does not match at dimension " + std::to_string(i) +
                     " expected index " + str(index) + " to be smaller than self " +
                     str(in) + " apart from dimension " + std::to_string(*d));
  return {index, ""};
}

/// Tensor.masked_fill: the mask broadcasts to the input's shape; the result
/// has the input's shape.
inline Inferred maskedFill(const Shape &in, const Shape &mask) {
  Inferred b = broadcast(in, mask);
  if (!b.ok() || b.shape != in)
    return failure("the mask of shape " + str(mask) +
                   " does not broadcast to the input's shape " + str(in));
  return {in, ""};
}

/// torch.argmax's result shape: `dim` reduced (dropped, or kept as 1), or
/// without a dim the flattened input's index ([] , or all ones with
/// keepdim). A scalar counts as rank 1 for `dim` (0 and -1). torch refuses
/// an empty reduction ("cannot perform reduction function argmax on a
/// tensor with no elements"); Kiln's shapes are never empty.
inline Inferred argmax(const Shape &in, std::optional<int64_t> dim, bool keepdim) {
  const int64_t rank = static_cast<int64_t>(in.size());
  if (!dim)
    return {keepdim ? Shape(in.size(), 1) : Shape{}, ""};
  std::optional<int64_t> d = wrapDim(*dim, std::max<int64_t>(rank, 1));
  if (!d)
    return failure(dimOutOfRange(*dim, rank));
  if (rank == 0)
    return {Shape{}, ""};
  Shape out;
  for (int64_t i = 0; i < rank; ++i)
    if (i != *d)
      out.push_back(in[i]);
    else if (keepdim)
      out.push_back(1);
  return {out, ""};
}

} // namespace kiln::shape_rules

#endif // KILN_IR_TENSORSHAPERULES_H
