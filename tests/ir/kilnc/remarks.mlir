// RUN: kilnc %S/../Inputs/tiny_mlp.json --remarks -o %t.o 2>&1 | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_mlp.json -o %t.o 2>&1 | FileCheck %s --check-prefix=QUIET --allow-empty

// kilnc --remarks: the optimization decisions at the model file's JSON
// paths (inlined and fused ops report their own paths, the optimizer
// update training.optimizer): elementwise ops
// fused or left unfused and why, per function a count, and loops left
// sequential and why. Without the flag kilnc prints nothing.
// CHECK-DAG: tiny_mlp.json: graph[1]: remark: fusion: linalg.generic (arith.cmpf) not fused into linalg.generic (arith.addf): it has 2 users, and fusing would compute it once per user
// CHECK-DAG: tiny_mlp.json: training.loss: remark: fusion: linalg.generic (arith.divf) fused into linalg.generic (arith.subf) (one loop nest, no temporary)
// CHECK-DAG: remark: fusion: @tiny_mlp__train_step: {{[0-9]+}} producers fused into their user, {{[0-9]+}} producer-user pairs left unfused (producer with several users)
// CHECK-DAG: tiny_mlp.json: graph[1]: remark: threads: linalg.generic [4 x 16] (arith.maximumf) stays sequential: 64 iterations give no two equal blocks of loop 0 with at least 4096 each
// CHECK-DAG: tiny_mlp.json: training.loss + graph[2]: remark: threads:
// The SGD update (nn-build-train-step) is at the training section's optimizer.
// CHECK-DAG: tiny_mlp.json: training.optimizer: remark: threads: linalg.generic [16 x 8] (arith.mulf) stays sequential
// CHECK-NOT: loc(
// QUIET-NOT: remark
