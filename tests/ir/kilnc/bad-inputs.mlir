// Model-file errors name the file and the JSON path (or line:col for JSON
// syntax errors) and exit non-zero.

// RUN: not kilnc %S/../Inputs/bad_malformed.json --emit=nn 2>&1 | FileCheck %s --check-prefix=MALFORMED
// MALFORMED: bad_malformed.json:5:44: error: malformed JSON: syntax error while parsing object key - unexpected ','; expected string literal

// RUN: not kilnc %S/../Inputs/bad_unknown_layer.json --emit=nn 2>&1 | FileCheck %s --check-prefix=LAYER
// LAYER: bad_unknown_layer.json: module.children[1].type: error: unknown layer type 'Swish' (supported: Linear, {{.+}}, Flatten{{.*}})

// RUN: not kilnc %S/../Inputs/bad_linear_mismatch.json --emit=nn 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: bad_linear_mismatch.json: graph[2]: error: module '2' (Linear, module.children[2]): nn.linear: expected an input of shape [*, 32] (last dimension = in_features), got [4, 16]

// RUN: not kilnc %S/../Inputs/bad_unknown_value.json --emit=nn 2>&1 | FileCheck %s --check-prefix=VALUE
// VALUE: bad_unknown_value.json: graph[1].inputs[0]: error: unknown value "v7" (values must be defined before use)

// RUN: not kilnc %S/../Inputs/bad_no_training.json --mode=train --emit=nn 2>&1 | FileCheck %s --check-prefix=TRAIN
// TRAIN: bad_no_training.json: training: error: --mode=train needs a "training" section (loss and optimizer); use --mode=inference otherwise
// Without --mode the same file compiles for inference.
// RUN: kilnc %S/../Inputs/bad_no_training.json --emit=nn | FileCheck %s --check-prefix=AUTO
// AUTO-LABEL: func.func @forward
// AUTO-NOT: func.func @train_step

// RUN: not kilnc %S/../Inputs/bad_model_name.json --emit=nn 2>&1 | FileCheck %s --check-prefix=NAME
// NAME: bad_model_name.json: name: error: model name "tiny-mlp!" must consist of letters, digits and '_' (a C identifier)

// RUN: not kilnc %S/../Inputs/bad_optimizer.json --emit=nn 2>&1 | FileCheck %s --check-prefix=OPTIM
// OPTIM: bad_optimizer.json: training.optimizer.type: error: unknown optimizer 'Nadam' (supported: SGD, Adam, AdamW, Adamax, NAdam, RAdam, SparseAdam, Adagrad, Adadelta, RMSprop, Rprop, ASGD, LBFGS)

// RUN: not kilnc %S/../Inputs/does_not_exist.json --emit=nn 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: does_not_exist.json{{.*}}error: cannot open model file: No such file or directory
