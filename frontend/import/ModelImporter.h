// Model file (JSON, docs/model-format.md) -> nn dialect.
//
// The importer links MLIR; the DSL library (frontend/src) does not. Every
// error names the file and the JSON path of the offending value (and the
// DSL source line when the file records one).
#ifndef KILN_FRONTEND_IMPORT_MODELIMPORTER_H
#define KILN_FRONTEND_IMPORT_MODELIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace kiln {

/// docs/coverage.md: every entry of the inventory (TSV: category, name),
/// marked supported exactly when the importer's registry dispatches it, then
/// the graph functions. Fails (returns false, `error` set) on a malformed
/// inventory.
bool coverageMarkdown(const std::string &inventoryTsv, std::string &out,
                      std::string &error);

/// docs/model-format.schema.json (`kilnc --print-schema`): the model file's
/// JSON Schema, with every layer, function, loss and optimizer the importer
/// dispatches and their options' types, defaults and checks.
std::string modelJsonSchema();

/// Imports `path`. With `train`, also builds the `loss` function from the
/// training section (an error if the file has none). Returns null after
/// emitting diagnostics on the context.
mlir::OwningOpRef<mlir::ModuleOp> importModelFile(mlir::MLIRContext *ctx,
                                                  const std::string &path,
                                                  bool train);

} // namespace kiln

#endif // KILN_FRONTEND_IMPORT_MODELIMPORTER_H
