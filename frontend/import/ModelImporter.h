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

/// One torch.nn / torch.optim entry Kiln knows, the registry from which
/// docs/coverage.md is generated.
struct LayerSupport {
  const char *torchName; // as in shared/spec/torch-nn-inventory.tsv
  const char *kind;      // layer, loss, optimizer, function
  const char *lowering;  // nn op(s) it maps to
};
const std::vector<LayerSupport> &supportedLayers();

/// Imports `path`. With `train`, also builds the `loss` function from the
/// training section (an error if the file has none). Returns null after
/// emitting diagnostics on the context.
mlir::OwningOpRef<mlir::ModuleOp> importModelFile(mlir::MLIRContext *ctx,
                                                  const std::string &path,
                                                  bool train);

} // namespace kiln

#endif // KILN_FRONTEND_IMPORT_MODELIMPORTER_H
