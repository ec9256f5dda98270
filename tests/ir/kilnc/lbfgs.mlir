// RUN: kilnc %S/../Inputs/tiny_lbfgs.json --emit=nn | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_lbfgs.json --emit=descriptor | FileCheck %s --check-prefix=DESC

// training.optimizer LBFGS: the importer writes torch's options (max_eval
// None as an absent key); no train_step is built: the runtime's LBFGS
// driver calls the gradients kernel as its closure.
// CHECK: nn.optimizer = {history_size = 4 : i64, line_search_fn = "strong_wolfe", lr = 5.000000e-01 : f64, max_iter = 20 : i64, tolerance_change = 1.000000e-09 : f64, tolerance_grad = 9.9999999999999995E-8 : f64, type = "LBFGS"}
// CHECK-NOT: func.func @train_step

// The driver's arguments (max_eval = 20 * 5 // 4) and torch's state under
// the first parameter's name: N = 5*7 + 7 + 7*3 + 3 = 66 elements, history 4.
// DESC: optimizer lbfgs max_iter 20 max_eval 25 tolerance_grad 1e-07 tolerance_change 1e-09 history_size 4 line_search strong_wolfe
// DESC: tensor {{[0-9]+}} step step i64 [] zeros
// DESC-NEXT: tensor {{[0-9]+}} lr lr f32 [] constant 0.5
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.d f32 [66] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.t f32 [] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.old_dirs f32 [4, 66] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.old_stps f32 [4, 66] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.ro f32 [4] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.num_old f32 [] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.H_diag f32 [] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.prev_flat_grad f32 [66] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.prev_loss f32 [] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.n_iter f32 [] zeros
// DESC-NEXT: tensor {{[0-9]+}} state fc1.weight.func_evals f32 [] zeros
// DESC: kernel gradients any tiny_lbfgs__gradients:
// DESC-NOT: kernel train_step
