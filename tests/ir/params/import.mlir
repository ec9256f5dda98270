// RUN: kilnc %S/Inputs/own_params.json --emit=nn | FileCheck %s

// A module's own parameters (frontend/import/ModuleParameters.cpp): the
// root's `pos` and scalar `scale` come before its children's (torch's
// state_dict order: a module's own parameters, then each child's), a
// ParameterList's entry is `plist.0`, and each starts as its `init` says
// (kept exactly: no rounding through text). A `parameter` node reads the
// parameter's argument where the graph uses it: `fc.weight` feeds both
// its Linear and F.linear (weight tying), `plist.0` is F.linear's bias.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[POS:.+]]: tensor<4x8xf32> {nn.init = #nn.init<normal 0.0, 0.02>, nn.name = "pos", nn.role = #nn.role<param>}
// CHECK-SAME: %[[SCALE:.+]]: tensor<f32> {nn.init = #nn.init<constant 0.5>, nn.name = "scale", nn.role = #nn.role<param>}
// CHECK-SAME: %[[W:.+]]: tensor<8x8xf32> {{{.*}}nn.name = "fc.weight"
// CHECK-SAME: %[[B:.+]]: tensor<8xf32> {{{.*}}nn.name = "fc.bias"
// CHECK-SAME: %[[P0:.+]]: tensor<8xf32> {nn.init = #nn.init<uniform -0.1, 0.1>, nn.name = "plist.0", nn.role = #nn.role<param>}
// CHECK-SAME: %[[X:.+]]: tensor<3x4x8xf32> {nn.name = "x", nn.role = #nn.role<input>}
// CHECK: %[[H0:.+]] = nn.add %[[X]], %[[POS]]
// CHECK: %[[H1:.+]] = nn.linear %[[H0]], %[[W]], %[[B]]
// CHECK: %[[H2:.+]] = nn.linear %[[H1]], %[[W]], %[[P0]]
// CHECK: nn.mul %[[H2]], %[[SCALE]]
