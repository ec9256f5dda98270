// RUN: kilnc %S/../Inputs/tiny_batchnorm.json --emit=descriptor | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_batchnorm.json -o %t.o && FileCheck %s --check-prefix=HEADER < %t.h

// BatchNorm1d's buffers are state_dict tensors (running statistics f32,
// num_batches_tracked i64) after the parameters; every train-mode kernel
// writes their next values, the eval forward only reads them.
// CHECK: tensor 5 buffer 1.running_mean f32 [8] zeros
// CHECK-NEXT: tensor 6 buffer 1.running_var f32 [8] ones
// CHECK-NEXT: tensor 7 buffer 1.num_batches_tracked i64 [] zeros
// CHECK: kernel forward eval tiny_bn__forward: {{.*}} 1.running_mean 1.running_var 1.num_batches_tracked x output0 workspace{{$}}
// CHECK-NEXT: kernel forward train tiny_bn__forward_train: {{.*}} update(1.running_mean) update(1.running_var) update(1.num_batches_tracked) x output0 workspace{{$}}
// CHECK-NEXT: kernel gradients train tiny_bn__gradients: {{.*}} update(1.running_mean) update(1.running_var) update(1.num_batches_tracked) x target loss {{.*}} grad(3.bias) workspace{{$}}
// CHECK-NEXT: kernel train_step train tiny_bn__train_step: {{.*}} update(step) lr update(1.running_mean) update(1.running_var) update(1.num_batches_tracked) x target loss grad(0.weight) {{.*}} grad(3.bias) workspace{{$}}

// HEADER: #define TINY_BN_NUM_BUFFERS 3
// HEADER: buffer 2: 1.num_batches_tracked []
