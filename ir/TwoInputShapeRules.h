// Shape rules of the two-input layers nn.Bilinear, nn.CosineSimilarity and
// nn.PairwiseDistance, shared like ShapeRules.h by the DSL's tracer and the
// importer. Standard library only.
#ifndef KILN_IR_TWOINPUTSHAPERULES_H
#define KILN_IR_TWOINPUTSHAPERULES_H

#include "ir/ShapeRules.h"

namespace kiln::shape_rules {

/// F.bilinear: input1 [*, in1] and input2 [*, in2] with the same leading
/// dimensions, weight [out, in1, in2] -> [*, out].
inline Inferred bilinear(const Shape &x1, const Shape &x2, const Shape &weight) {
  if (x1.empty() || x1.size() != x2.size())
    return failure("input dimensions do not match: got " + str(x1) + " and " +
                   str(x2) + " (both [*, features] with the same rank)");
  for (size_t i = 0; i + 1 < x1.size(); ++i)
    if (x1[i] != x2[i])
      return failure("input batch dimensions do not match: got " + str(x1) +
                     " and " + str(x2));
  if (weight.size() != 3)
    return failure("weight " + str(weight) + " must be [out, in1, in2]");
  if (x1.back() != weight[1])
    return failure("input1 " + str(x1) + " has " + std::to_string(x1.back()) +
                   " features but in1_features is " + std::to_string(weight[1]));
  if (x2.back() != weight[2])
    return failure("input2 " + str(x2) + " has " + std::to_string(x2.back()) +
                   " features but in2_features is " + std::to_string(weight[2]));
  Shape out = x1;
  out.back() = weight[0];
  return {out, ""};
}

/// F.cosine_similarity(x1, x2, dim): the inputs broadcast; `dim` (negative
/// counts from the end) of the broadcast shape is reduced.
inline Inferred cosineSimilarity(const Shape &x1, const Shape &x2, int64_t dim) {
  Inferred b = broadcast(x1, x2);
  if (!b.ok())
    return b;
  return reduce(b.shape, {dim}, false);
}

/// F.pairwise_distance(x1, x2, keepdim): the inputs broadcast (at least one
/// dimension); the last dimension of the broadcast shape is reduced.
inline Inferred pairwiseDistance(const Shape &x1, const Shape &x2, bool keepdim) {
  if (x1.empty() && x2.empty())
    return failure("expected inputs with at least one dimension, got " + str(x1) +
                   " and " + str(x2));
  Inferred b = broadcast(x1, x2);
  if (!b.ok())
    return b;
  return reduce(b.shape, {-1}, keepdim);
}

} // namespace kiln::shape_rules

#endif // KILN_IR_TWOINPUTSHAPERULES_H
