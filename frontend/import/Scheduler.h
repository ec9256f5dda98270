// Learning-rate schedulers declared in the model file's training section.
#ifndef KILN_FRONTEND_IMPORT_SCHEDULER_H
#define KILN_FRONTEND_IMPORT_SCHEDULER_H

#include "frontend/import/Registry.h"

#include "mlir/IR/BuiltinOps.h"

namespace kiln::import {

/// Reads training.scheduler ({type, options[, schedulers]}, recursively for
/// ChainedScheduler and SequentialLR) into the module attribute
/// nn.scheduler {kind: i32, args: array<f64>, children: [...]} in the
/// runtime's terms (kiln/scheduler.h). Fails with the JSON path of a bad
/// value; an absent key adds nothing.
void addScheduler(mlir::OpBuilder &b, mlir::ModuleOp module, const json &training);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_SCHEDULER_H
