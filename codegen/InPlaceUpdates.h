// Which kernels update tensors in place (KILN_ARG_TENSOR_UPDATE) instead of
// writing the next value beside the current one (KILN_ARG_TENSOR_NEXT), and
// how kilnc tells the backend so. An ABI decision, so it is made on the
// ModelInterface, once, for every backend; docs/design.md "In-place
// updates".
#ifndef KILN_CODEGEN_INPLACEUPDATES_H
#define KILN_CODEGEN_INPLACEUPDATES_H

#include "codegen/ModelInterface.h"

namespace kiln {

/// Every next value a kernel writes of a tensor it also reads (parameters,
/// optimizer state, step, buffers, grad sums, rows sums) becomes an in-place
/// update. Rewrites the kernels' argument lists and records
/// KernelSpec::inPlace, and KernelSpec::guards: in a kernel the runtime may
/// refuse after it ran (a value check, KILN_ROLE_CHECK, or clip_grad_norm's
/// error_if_nonfinite, KILN_ROLE_GRAD_NORM) a refused call must leave every
/// tensor as it was, so the kernel itself keeps the old values when a check
/// fails (kiln-guard-in-place-results).
void planInPlaceUpdates(ModelInterface &model);

/// Marks each in-place result on its kernel function (by KernelSpec::symbol)
/// as `kiln.in_place = <argument> : i64`, and each guard result as
/// `kiln.guard = "check" | "norm"`, which the pipeline implements
/// (kiln-guard-in-place-results, kiln-in-place-results). Fails with a
/// diagnostic when a function does not match its table entry.
mlir::LogicalResult markInPlaceResults(mlir::ModuleOp module, const ModelInterface &model);

} // namespace kiln

#endif // KILN_CODEGEN_INPLACEUPDATES_H
