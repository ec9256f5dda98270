// Every op of the nn dialect, by family.
include "NNOps.td"
include "NNLossOps.td"
include "NNOptimizerOps.td"
include "NNElementwiseOps.td"
include "NNTensorOps.td"
include "NNActivationOps.td"
