// RUN: kiln-opt %s -split-input-file | kiln-opt -split-input-file | FileCheck %s
// RUN: kiln-opt %s -split-input-file --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// The argument contract's typed attributes round-trip, numbers exactly
// (a '.' is added where shortest round-trip text has none: 1e-05 -> 1.0e-05).
// CHECK-LABEL: func.func @contract
// CHECK-SAME: {nn.init = #nn.init<uniform -0.35355339059327373, 0.35355339059327373>, nn.name = "w", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.init = #nn.init<normal 1.0e-05, 2.0>, nn.name = "v", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.init = #nn.init<ones>, nn.name = "bn.running_var", nn.role = #nn.role<buffer>}
// CHECK-SAME: {nn.name = "rng", nn.role = #nn.role<rng>}
// CHECK-SAME: {nn.init = #nn.init<constant 1.0e-05>, nn.name = "param_groups.1.lr", nn.role = #nn.role<lr>}
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "fc.weight", nn.role = #nn.role<param>}
// GENERIC: #nn.init<uniform -0.35355339059327373, 0.35355339059327373>
func.func @contract(%w: tensor<4xf32> {nn.name = "w", nn.role = #nn.role<param>, nn.init = #nn.init<uniform -0.35355339059327373, 0.35355339059327373>},
                    %v: tensor<4xf32> {nn.name = "v", nn.role = #nn.role<param>, nn.init = #nn.init<normal 1.0e-5, 2.0>},
                    %b: tensor<4xf32> {nn.name = "bn.running_var", nn.role = #nn.role<buffer>, nn.init = #nn.init<ones>},
                    %r: tensor<2xi64> {nn.name = "rng", nn.role = #nn.role<rng>},
                    %lr: tensor<f32> {nn.name = "param_groups.1.lr", nn.role = #nn.role<lr>, nn.init = #nn.init<constant 1.0e-5>},
                    %s: tensor<4xf32> {nn.name = "fc.weight", nn.role = #nn.role<param>, nn.init = #nn.init<empty>}) {
  return
}
