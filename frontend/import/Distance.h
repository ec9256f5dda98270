// The distances of Distance.cpp over explicit operands, for the losses
// built on them (TripletMarginLoss, TripletMarginWithDistanceLoss).
#ifndef KILN_FRONTEND_IMPORT_DISTANCE_H
#define KILN_FRONTEND_IMPORT_DISTANCE_H

#include "frontend/import/Registry.h"

namespace kiln::import {

/// torch 1.13's cosine_similarity(x1, x2, dim, eps); fails the call on
/// shapes torch refuses.
mlir::Value cosineSimilarity(BuildContext &c, mlir::Value x1, mlir::Value x2,
                             int64_t dim, double eps);
/// torch 1.13's pairwise_distance(x1, x2, p, eps, keepdim) over the last
/// dimension; fails the call on shapes torch refuses.
mlir::Value pairwiseDistance(BuildContext &c, mlir::Value x1, mlir::Value x2,
                             double p, double eps, bool keepdim);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_DISTANCE_H
