// RUN: kilnc %S/../Inputs/tiny_mlp.json --remarks -o %t.o 2>&1 | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_mlp.json -o %t.o 2>&1 | FileCheck %s --check-prefix=QUIET --allow-empty

// kilnc --remarks: the optimization decisions at the model file's JSON
// paths (inlined and fused ops report their own paths, the optimizer
// update training.optimizer): elementwise ops
// fused or left unfused and why, per function a count, and loops left
// sequential and why. Without the flag kilnc prints nothing.
// CHECK-DAG: tiny_mlp.json: graph[1]: remark: fusion: linalg.generic (arith.cmpf) not fused into linalg.generic (arith.addf): it has 2 users, and fusing would compute it once per user
// CHECK-DAG: tiny_mlp.json: training.loss: remark: fusion: cross_entropy_loss and its backward computed as one op (softmax statistics once)
// CHECK-DAG: tiny_mlp.json: training.loss: remark: fusion: linalg.generic (math.log) not fused into linalg.generic (linalg.index): the user reads each of its values for several elements, and fusing would compute its math.log once per element
// CHECK-DAG: tiny_mlp.json: training.loss: remark: fusion: linalg.generic (arith.cmpi) fused into linalg.generic (arith.addf) (one loop nest, no temporary)
// CHECK-DAG: remark: fusion: @tiny_mlp__train_step: {{[0-9]+}} producers fused into their user, {{[0-9]+}} producer-user pairs left unfused (producer with several users, or costly and broadcast)
// Rows this small stay whole (kiln-cpu-fuse-row-reductions).
// CHECK-DAG: tiny_mlp.json: training.loss: remark: fusion: 2 row reduction(s) before this op left as loops of their own: all its rows fit one block of 4096 iterations
// CHECK-DAG: tiny_mlp.json: graph[1]: remark: threads: linalg.generic [4 x 16] (arith.maximumf) stays sequential: 64 iterations give no two equal blocks of loop 0 with at least 4096 each
// The loss and its backward, one op: both locations, printed once.
// CHECK-DAG: tiny_mlp.json: training.loss: remark: threads: linalg.generic [4 x 3] (linalg.index) stays sequential
// The SGD update (nn-build-train-step) is at the training section's optimizer.
// CHECK-DAG: tiny_mlp.json: training.optimizer: remark: threads: linalg.generic [16 x 8] (arith.mulf) stays sequential
// CHECK-NOT: loc(
// QUIET-NOT: remark
