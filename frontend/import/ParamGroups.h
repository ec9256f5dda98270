// Parameter groups (torch's optimizer.param_groups) declared in the model
// file's training.optimizer.
#ifndef KILN_FRONTEND_IMPORT_PARAMGROUPS_H
#define KILN_FRONTEND_IMPORT_PARAMGROUPS_H

#include "frontend/import/Registry.h"

namespace kiln::import {

/// `optimizer`'s nn.optimizer dictionary: the optimizer `entry` built from
/// training.optimizer.options, plus, when the file has
/// training.optimizer.param_groups, `param_groups`: per group its complete
/// hyper-parameters (the optimizer's options overridden by the group's
/// `options`, checked like them) and `params`, the parameter names its
/// `params` entries resolve to (a parameter's name, or a module's, meaning
/// all of its parameters). Fails with a JSON path on an unknown key, a name
/// that matches no parameter, or a parameter in two groups (torch's
/// "some parameters appear in more than one parameter group").
mlir::DictionaryAttr optimizerAttribute(mlir::OpBuilder &b, const Entry &entry,
                                        const json &optimizer,
                                        const std::vector<std::string> &paramNames);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_PARAMGROUPS_H
