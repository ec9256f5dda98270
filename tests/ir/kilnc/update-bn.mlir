// RUN: kilnc %S/../Inputs/tiny_batchnorm_update_bn.json --emit=nn | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_batchnorm_update_bn.json --emit=descriptor | FileCheck %s --check-prefix=DESC
// RUN: kilnc %S/../Inputs/tiny_batchnorm.json --emit=descriptor | FileCheck %s --check-prefix=OFF

// torch.optim.swa_utils.update_bn (training.update_bn: true): two train-mode
// forwards that return only
// the batch norm's next buffers (the layers after it are dead and gone).
// The first starts from update_bn's reset: running_mean 0 (the decayed
// term 0 * (1 - 1)), running_var 1, num_batches_tracked 0 + 1 = 1, factor
// 1 / 1; the other averages cumulatively, factor 1 / (num_batches_tracked
// + 1), whatever the layer's momentum.
// CHECK-LABEL: func.func @update_bn_first
// CHECK-DAG: %[[ONE:.+]] = arith.constant dense<1> : tensor<i64>
// CHECK-DAG: %[[ZEROS:.+]] = arith.constant dense<0.000000e+00> : tensor<8xf32>
// CHECK: nn.linear
// CHECK-NOT: nn.linear
// CHECK: %[[R:.+]], %[[MEAN:.+]], %{{.+}} = nn.batch_norm
// CHECK: nn.mul %[[ZEROS]]
// CHECK: return %{{.+}}, %{{.+}}, %[[ONE]] : tensor<8xf32>, tensor<8xf32>, tensor<i64>
// CHECK-LABEL: func.func @update_bn(
// CHECK: nn.linear
// CHECK-NOT: nn.linear
// CHECK: %[[N:.+]] = arith.addi %arg7
// CHECK: %[[NF:.+]] = arith.sitofp %[[N]]
// CHECK: nn.div %{{.+}}, %[[NF]]
// CHECK: return %{{.+}}, %{{.+}}, %[[N]] : tensor<8xf32>, tensor<8xf32>, tensor<i64>

// Train-mode kernels writing the buffers only.
// DESC: kernel update_bn_first train {{.+}}: 0.weight 1.weight 1.bias 3.weight 3.bias update(1.running_mean) update(1.running_var) update(1.num_batches_tracked) x workspace
// DESC: kernel update_bn train {{.+}}: {{.+}} update(1.running_mean) update(1.running_var) update(1.num_batches_tracked) x workspace

// Opt-in (training.update_bn: true): without it, no update_bn kernels.
// OFF-NOT: kernel update_bn
