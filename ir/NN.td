// Every op of the nn dialect, by family: each NN<Family>Ops.td has its
// shape inference, verifiers, gradients or decompositions in
// NN<Family>Ops.cpp.
include "NNAttrs.td"
include "NNLinearOps.td"
include "NNConvOps.td"
include "NNPoolOps.td"
include "NNNormOps.td"
include "NNActivationOps.td"
include "NNElementwiseOps.td"
include "NNTensorOps.td"
include "NNIndexOps.td"
include "NNLossOps.td"
include "NNOptimizerOps.td"
include "NNRandomOps.td"
include "NNLibraryOps.td"
include "NNDistributedOps.td"
