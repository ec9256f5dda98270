// RUN: kilnc %S/Inputs/skip_init.json --emit=nn | FileCheck %s

// torch.nn.utils.skip_init: a module node's `skip_init: true` gives every
// parameter and buffer of its subtree #nn.init<empty> (the runtime's
// init_parameters leaves them): fc's, and the user module block's own
// gain, its weight-normed Linear's (g and v: no norm_of) and its batch
// norm's buffers, num_batches_tracked too. bn and head (skip_init false)
// keep torch's initializers.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "fc.weight", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "fc.bias", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.init = #nn.init<ones>, nn.name = "bn.weight", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "block.gain", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "block.proj.weight_g", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "block.proj.weight_v", nn.role = #nn.role<param>}
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "block.norm.weight", nn.role = #nn.role<param>}
// CHECK-SAME: nn.name = "head.weight"
// CHECK-NOT: nn.init = #nn.init<empty>, nn.name = "head
// CHECK-SAME: {nn.init = #nn.init<zeros>, nn.name = "bn.running_mean", nn.role = #nn.role<buffer>}
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "block.norm.running_mean", nn.role = #nn.role<buffer>}
// CHECK-SAME: {nn.init = #nn.init<empty>, nn.name = "block.norm.num_batches_tracked", nn.role = #nn.role<buffer>}
