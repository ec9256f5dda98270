// RUN: kilnc %S/../Inputs/tiny_groups.json --emit=nn | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_groups.json --emit=descriptor | FileCheck %s --check-prefix=DESC

// training.optimizer.param_groups: a module name ("0") stands for all of its
// parameters, each group's options are the optimizer's overridden by its
// own; "2.bias" is in no group. The declared OneCycleLR cycles the momentum
// (torch's default), so every group is marked cycle_momentum.
// CHECK: nn.optimizer = {{{.*}}param_groups = [{cycle_momentum = true, {{.*}}lr = 1.000000e-02 : f64, {{.*}}params = ["0.weight", "0.bias"], type = "SGD", weight_decay = 0.000000e+00 : f64}, {cycle_momentum = true, {{.*}}lr = 1.000000e-01 : f64, {{.*}}params = ["2.weight"], type = "SGD", weight_decay = 5.000000e-04 : f64}]

// One lr and one cycled momentum per group, after the step; 2.bias keeps
// its value and has no momentum buffer.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: nn.name = "0.weight.momentum_buffer"
// CHECK-SAME: nn.name = "0.bias.momentum_buffer"
// CHECK-SAME: nn.name = "2.weight.momentum_buffer"
// CHECK-NOT: nn.name = "2.bias.momentum_buffer"
// CHECK-SAME: %[[LR0:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 0.01>, nn.name = "lr", nn.role = #nn.role<lr>}
// CHECK-SAME: %[[LR1:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 0.1>, nn.name = "param_groups.1.lr", nn.role = #nn.role<lr>}
// CHECK-SAME: %[[M0:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 0.9>, nn.name = "momentum", nn.role = #nn.role<momentum>}
// CHECK-SAME: %[[M1:[^:]+]]: tensor<f32> {nn.init = #nn.init<constant 0.9>, nn.name = "param_groups.1.momentum", nn.role = #nn.role<momentum>}
// CHECK: nn.sgd_update {{.+}} lr %[[LR0]], step %{{[^ ]+}} cycled_momentum %[[M0]]
// CHECK: nn.sgd_update {{.+}} lr %[[LR0]], step %{{[^ ]+}} cycled_momentum %[[M0]]
// CHECK: nn.sgd_update {{.+}} lr %[[LR1]], step %{{[^ ]+}} cycled_momentum %[[M1]] {momentum = 9.000000e-01 : f64, weight_decay = 5.000000e-04 : f64}
// CHECK-NEXT: arith.addi
// CHECK-NEXT: return

// DESC: tensor {{[0-9]+}} lr lr f32 [] constant 0.01
// DESC: tensor {{[0-9]+}} lr param_groups.1.lr f32 [] constant 0.1
// DESC: tensor {{[0-9]+}} momentum momentum f32 [] constant 0.9
// DESC: tensor {{[0-9]+}} momentum param_groups.1.momentum f32 [] constant 0.9
