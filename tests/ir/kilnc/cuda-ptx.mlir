// kilnc --target=cuda: the training step's kernels as PTX that the CUDA
// toolkit's assembler accepts, for the architectures CI checks, and an
// object that carries it beside the host code.
// REQUIRES: ptxas

// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cuda:sm_80 --emit=ptx -o %t.sm80.ptx
// RUN: ptxas -arch=sm_80 %t.sm80.ptx -o %t.sm80.cubin
// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cuda --emit=ptx -o %t.sm90.ptx
// RUN: ptxas -arch=sm_90 %t.sm90.ptx -o %t.sm90.cubin
// RUN: FileCheck %s --input-file=%t.sm90.ptx
// CHECK: .version 8.0
// CHECK: .target sm_90
// CHECK: .address_size 64
// CHECK: .visible .entry tiny_mlp__forward_kernel(

// Math functions come from libdevice, linked in: nothing is left external.
// RUN: kilnc %S/../Inputs/tiny_dropout.json --target=cuda --emit=ptx -o %t.dropout.ptx
// RUN: ptxas -arch=sm_90 %t.dropout.ptx -o %t.dropout.cubin
// RUN: FileCheck %s --check-prefix=NOEXTERN --input-file=%t.dropout.ptx
// NOEXTERN-NOT: .extern

// The LBFGS model: the gradients kernel's closure on the GPU, the runtime's driver
// on host copies (runtime/lib/lbfgs.cpp); no train_step kernel.
// RUN: kilnc %S/../Inputs/tiny_lbfgs.json --target=cuda --emit=ptx -o %t.lbfgs.ptx
// RUN: ptxas -arch=sm_90 %t.lbfgs.ptx -o %t.lbfgs.cubin
// RUN: FileCheck %s --check-prefix=LBFGS --input-file=%t.lbfgs.ptx
// LBFGS: .visible .entry tiny_lbfgs__gradients_kernel
// LBFGS-NOT: train_step

// The CTC loss, a runtime routine on the CPU, is kernels on the GPU
// (kiln-cuda-ctc-to-loops): no runtime call is left for it, and its PTX
// assembles.
// RUN: kilnc %S/../../parity/models/ctc_lengths_basic.json --target=cuda --emit=ptx -o %t.ctc.ptx
// RUN: ptxas -arch=sm_90 %t.ctc.ptx -o %t.ctc.cubin
// RUN: kilnc %S/../../parity/models/ctc_lengths_basic.json --target=cuda --emit=llvm | FileCheck %s --check-prefix=CTC
// CTC-NOT: kiln_ctc_loss
// CTC: call void @kiln_cuda_launch
// CTC-NOT: kiln_ctc_loss

// Data parallel: the gradient buckets' all-reduces are host calls of the
// runtime's CUDA collectives between the kernels, and the PTX assembles.
// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cuda --data-parallel --emit=llvm | FileCheck %s --check-prefix=DP
// DP: call void @kiln_cuda_all_reduce_start(
// DP: call void @kiln_cuda_all_reduce_wait(
// DP-NOT: @kiln_all_reduce
// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cuda --data-parallel --emit=ptx -o %t.dp.ptx
// RUN: ptxas -arch=sm_90 %t.dp.ptx -o %t.dp.cubin

// The host side: GEMMs and launches are runtime calls; the kernels are in
// the metadata as a fatbin (magic 0xBA55ED50: ptxas and fatbinary ran at
// compile time), 64-byte aligned.
// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cuda --emit=llvm | FileCheck %s --check-prefix=HOST
// HOST-DAG: @tiny_mlp__metadata.device_code = private unnamed_addr constant [{{[0-9]+}} x i8] c"P\EDU\BA{{.*}}, align 64
// HOST-DAG: declare void @kiln_cuda_sgemm(i32, i32, i64, i64, i64, i64, i64, i64, i64, float, i64, i64, i64, i64, i64, i64)
// HOST-DAG: declare void @kiln_cuda_launch(i32, i64, i64, i64, i32)

// Convolutions are loops on the GPU (the CPU's are runtime routines).
// RUN: kilnc %S/../Inputs/tiny_conv.json --target=cuda --emit=llvm | FileCheck %s --check-prefix=CONV
// CONV-NOT: kiln_sconv
// CONV: declare void @kiln_cuda_launch

// A CUDA object's header also offers creation on a given GPU; a CPU
// object's does not.
// RUN: kilnc %S/../Inputs/tiny_mlp.json --target=cuda -o %t.cuda.o
// RUN: FileCheck %s --check-prefix=HEADER --input-file=%t.cuda.h
// HEADER: static inline kiln_status tiny_mlp_create(tiny_mlp_model **out) {
// HEADER: static inline kiln_status tiny_mlp_create_on_device(int device, tiny_mlp_model **out) {
// HEADER-NEXT:   kiln_model *model = NULL;
// HEADER-NEXT:   kiln_status status = kiln_model_create_on_device(&tiny_mlp__metadata, device, out ? &model : NULL);
// HEADER: static inline kiln_status tiny_mlp_forward_device(tiny_mlp_model *model, const void *const *inputs, void *const *outputs, void *stream) {
// HEADER-NEXT:   return kiln_model_forward_device((kiln_model *)model, inputs, outputs, stream);
// HEADER: static inline kiln_status tiny_mlp_gradients_device(tiny_mlp_model *model, const void *const *inputs, const void *target, float *loss, void *stream) {
// HEADER: static inline kiln_status tiny_mlp_train_step_device(tiny_mlp_model *model, const void *const *inputs, const void *target, float *loss, void *stream) {
// HEADER-NEXT:   return kiln_model_train_step_device((kiln_model *)model, inputs, target, loss, stream);
// RUN: kilnc %S/../Inputs/tiny_mlp.json -o %t.cpu.o
// RUN: FileCheck %s --check-prefix=CPUHEADER --input-file=%t.cpu.h
// CPUHEADER-NOT: _create_on_device
// CPUHEADER-NOT: _device(

// Wide rows (kiln-cuda-block-reductions): a block per row reduces in
// shared memory behind barriers, for sm_80 and sm_90.
// RUN: kilnc %S/../../parity/models/rows_wide_norm_logsoftmax_basic.json --target=cuda:sm_80 --emit=ptx -o %t.rows80.ptx
// RUN: ptxas -arch=sm_80 %t.rows80.ptx -o %t.rows80.cubin
// RUN: kilnc %S/../../parity/models/rows_wide_norm_logsoftmax_basic.json --target=cuda --emit=ptx -o %t.rows.ptx
// RUN: ptxas -arch=sm_90 %t.rows.ptx -o %t.rows.cubin
// RUN: FileCheck %s --check-prefix=ROWS --input-file=%t.rows.ptx
// ROWS: .shared .align 4 .b8 {{.+}}[1024];
// ROWS: st.shared.f32
// ROWS: bar.sync 0;
// ROWS: ld.shared.f32
