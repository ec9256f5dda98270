// RUN: kilnc %S/Inputs/reparam.json --emit=nn | FileCheck %s

// torch.nn.utils' re-parametrizations (frontend/import/Reparametrize.cpp),
// in a train compile: the replaced parameter goes, its replacements come
// after the layer's others (torch's order), and the layer reads the
// re-parametrized weight at each call.
// weight_norm(conv, dim=0): g [4, 1, 1, 1] starts as the norm of v (its
// index, 2, among the parameters) over every dim but 0; w = v * (g / norm).
// weight_norm(fc1, dim=None): one g over all of v [6, 36].
// spectral_norm(fc2): u [5] and v [6] buffers start as unit normal vectors;
// in train mode one power iteration on the detached weight updates them
// (results after the output), and sigma = u . (W v) divides the weight.
// prune(fc2.bias): orig * mask, the mask a buffer of ones.
// In eval mode no power iteration: sigma from the stored u and v.
// CHECK-LABEL: func.func @forward(
// CHECK-NOT: nn.detach
// CHECK: %[[EWV:.+]] = nn.linear %[[EV:arg[0-9]+]], %[[EORIG:arg[0-9]+]] : (tensor<6xf32>, tensor<5x6xf32>)
// CHECK: nn.mul %[[EU:arg[0-9]+]], %[[EWV]]
// CHECK: return %{{[0-9]+}} : tensor<2x5xf32>

// CHECK-LABEL: func.func @forward_train(
// CHECK-SAME: %[[CB:[a-z0-9]+]]: tensor<4xf32> {{{.*}}nn.name = "conv.bias"
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<4x1x1x1xf32> {nn.init = #nn.init<norm_of 2.0, 0.0>, nn.name = "conv.weight_g"
// CHECK-SAME: %[[V:[a-z0-9]+]]: tensor<4x3x2x2xf32> {nn.init = #nn.init<uniform {{.+}}>, nn.name = "conv.weight_v"
// CHECK-SAME: nn.name = "fc1.bias"
// CHECK-SAME: tensor<f32> {nn.init = #nn.init<norm_of 5.0, -1.0>, nn.name = "fc1.weight_g"
// CHECK-SAME: nn.name = "fc1.weight_v"
// CHECK-SAME: %[[ORIG:[a-z0-9]+]]: tensor<5x6xf32> {{{.*}}nn.name = "fc2.weight_orig"
// CHECK-SAME: %[[BORIG:[a-z0-9]+]]: tensor<5xf32> {{{.*}}nn.name = "fc2.bias_orig"
// CHECK-SAME: %[[U:[a-z0-9]+]]: tensor<5xf32> {nn.init = #nn.init<unit_normal 1.0e-12>, nn.name = "fc2.weight_u", nn.role = #nn.role<buffer>}
// CHECK-SAME: %[[SV:[a-z0-9]+]]: tensor<6xf32> {nn.init = #nn.init<unit_normal 1.0e-12>, nn.name = "fc2.weight_v", nn.role = #nn.role<buffer>}
// CHECK-SAME: %[[MASK:[a-z0-9]+]]: tensor<5xf32> {nn.init = #nn.init<ones>, nn.name = "fc2.bias_mask", nn.role = #nn.role<buffer>}
// CHECK: %[[SQ:.+]] = nn.mul %[[V]], %[[V]]
// CHECK: %[[SUM:.+]] = nn.sum %[[SQ]] {dims = array<i64: 1, 2, 3>, keepdim}
// CHECK: %[[NORM:.+]] = nn.sqrt %[[SUM]]
// CHECK: %[[SCALE:.+]] = nn.div %[[G]], %[[NORM]]
// CHECK: %[[W:.+]] = nn.mul %[[V]], %[[SCALE]]
// CHECK: nn.conv %{{.+}}, %[[W]], %[[CB]]
// CHECK: nn.sum %{{.+}} {dims = array<i64: 0, 1>} : (tensor<6x36xf32>) -> tensor<f32>
// CHECK: %[[FIXED:.+]] = nn.detach %[[ORIG]]
// CHECK: %[[WT:.+]] = nn.permute %[[FIXED]] {dims = array<i64: 1, 0>}
// CHECK: nn.linear %[[U]], %[[WT]]
// CHECK: %[[NEWV:[0-9]+]] = nn.div
// CHECK: nn.linear %[[NEWV]], %[[FIXED]]
// CHECK: %[[NEWU:[0-9]+]] = nn.div
// CHECK: %[[WV:.+]] = nn.linear %[[NEWV]], %[[ORIG]]
// CHECK: %[[UWV:.+]] = nn.mul %[[NEWU]], %[[WV]]
// CHECK: %[[SIGMA:.+]] = nn.sum %[[UWV]] {dims = array<i64: 0>}
// CHECK: %[[SN:.+]] = nn.div %[[ORIG]], %[[SIGMA]]
// CHECK: %[[BIAS:.+]] = nn.mul %[[BORIG]], %[[MASK]]
// CHECK: %[[Y:.+]] = nn.linear %{{.+}}, %[[SN]], %[[BIAS]]
// CHECK: return %[[Y]], %[[NEWU]], %[[NEWV]]
