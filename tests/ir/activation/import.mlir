// RUN: kilnc %S/Inputs/activations.json --emit=nn --mode=train | FileCheck %s

// What the importer builds for the activations decomposed in
// frontend/import/Activation.cpp, Softmax.cpp and Rectifier.cpp: the branch
// conditions are the comparisons torch's backward kernels use at the kinks.

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[W:[a-zA-Z0-9_]+]]: tensor<4xf32> {nn.init = #nn.init<uniform 0.1, 0.1>, nn.name = "prelu.weight"
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: tensor<2x4x6xf32> {nn.name = "x"
// CHECK-DAG: %[[MEAN:.+]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK-DAG: %[[T:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>

// Hardswish: x < -3 ? 0 : x < 3 ? x (x + 3) / 6 : x.
// CHECK: %[[P3:.+]] = nn.add %[[X]], %{{.+}}
// CHECK: %[[MID:.+]] = nn.div %{{.+}}, %{{.+}}
// CHECK: %[[LOW:.+]] = nn.compare lt, %[[X]], %{{.+}}
// CHECK: %[[HIGH:.+]] = nn.compare lt, %[[X]], %{{.+}}
// CHECK: %[[INNER:.+]] = nn.where %[[HIGH]], %[[MID]], %[[X]]
// CHECK: %[[HSWISH:.+]] = nn.where %[[LOW]], %{{.+}}, %[[INNER]]

// Threshold(0.5, -2): x <= 0.5 ? -2 : x (gradient 0 at the threshold).
// CHECK: %[[TLE:.+]] = nn.compare le, %[[X]], %[[T]]
// CHECK: %[[THR:.+]] = nn.where %[[TLE]], %{{.+}}, %[[X]]

// ELU(0.5): the exp branch reads where(x > 0, 0, x), so a large x cannot
// make its (unused) gradient 0 * inf.
// CHECK: %[[POS:.+]] = nn.compare gt, %[[X]], %{{.+}}
// CHECK: %[[SAFE:.+]] = nn.where %[[POS]], %{{.+}}, %[[X]]
// CHECK: nn.exp %[[SAFE]]
// CHECK: %[[ELU:.+]] = nn.where %[[POS]], %[[X]], %{{.+}}

// Softplus(beta 2, threshold 10): linear where 2 x > 10.
// CHECK: %[[XB:.+]] = nn.mul %[[X]], %{{.+}}
// CHECK: %[[LIN:.+]] = nn.compare gt, %[[XB]], %{{.+}}
// CHECK: nn.log1p
// CHECK: %[[SP:.+]] = nn.where %[[LIN]], %[[X]], %{{.+}}

// LogSoftmax(dim -1): (x - max) - log(sum(exp(x - max))), the max detached
// (the result does not depend on it: no gradient flows through it).
// CHECK: %[[MAX:.+]] = nn.amax %[[X]] {dims = array<i64: 2>, keepdim} : (tensor<2x4x6xf32>) -> tensor<2x4x1xf32>
// CHECK: %[[STOP:.+]] = nn.detach %[[MAX]]
// CHECK: %[[SHIFT:.+]] = nn.sub %[[X]], %[[STOP]]
// CHECK: %[[SUM:.+]] = nn.sum %{{.+}} {dims = array<i64: 2>, keepdim}
// CHECK: %[[LOG:.+]] = nn.log %[[SUM]]
// CHECK: %[[LSM:.+]] = nn.sub %[[SHIFT]], %[[LOG]]

// GLU(dim 1): first half times the sigmoid of the second.
// CHECK: %[[A:.+]] = nn.slice %[[X]] {end = array<i64: 2, 2, 6>, start = array<i64: 0, 0, 0>, step = array<i64: 1, 1, 1>}
// CHECK: %[[B:.+]] = nn.slice %[[X]] {end = array<i64: 2, 4, 6>, start = array<i64: 0, 2, 0>, step = array<i64: 1, 1, 1>}
// CHECK: %[[SIG:.+]] = nn.sigmoid %[[B]]
// CHECK: %[[GLU:.+]] = nn.mul %[[A]], %[[SIG]]

// PReLU(4): the weight along dim 1; x > 0 is ELU's mask after CSE.
// CHECK: %[[WC:.+]] = nn.reshape %[[W]] : (tensor<4xf32>) -> tensor<4x1xf32>
// CHECK: %[[PNEG:.+]] = nn.mul %[[X]], %[[WC]]
// CHECK: %[[PRELU:.+]] = nn.where %[[POS]], %[[X]], %[[PNEG]]

// RReLU in eval mode: the mean slope (0.125 + 0.375) / 2.
// CHECK: nn.mul %[[X]], %[[MEAN]]
// CHECK: return %[[HSWISH]], %[[THR]], %[[ELU]], %[[SP]], %[[LSM]], %[[GLU]], %[[PRELU]], %{{.+}} :

// RReLU in train mode: slope lower + (upper - lower) u, u from the stream.
// CHECK-LABEL: func.func @forward_train(
// CHECK: %[[U:.+]] = nn.random_uniform
// CHECK: %[[SPAN:.+]] = nn.mul %[[U]], %{{.+}}
// CHECK: %[[SLOPE:.+]] = nn.add %{{.+}}, %[[SPAN]]
// CHECK: nn.mul %{{.+}}, %[[SLOPE]]
