// RUN: kiln-opt %s --kiln-cpu-launch-parallel --split-input-file --verify-diagnostics | FileCheck %s

// The call over [begin, end) becomes kiln_parallel_for(end - begin, thunk,
// ctx) with ctx = {begin, captures...} allocated once in the entry block;
// the thunk reloads the captures and calls the body over [begin+b, begin+e).

// The thunk is placed right after the body.
// CHECK-LABEL: llvm.func internal unnamed_addr @body_thunk
// CHECK-SAME:      (%[[B:.+]]: i64, %[[E:.+]]: i64, %[[C:.+]]: !llvm.ptr)
// CHECK:         %[[OFF:.+]] = llvm.load %{{.+}} : !llvm.ptr -> i64
// CHECK:         %[[PTR:.+]] = llvm.load %{{.+}} : !llvm.ptr -> !llvm.ptr
// CHECK:         %[[SC:.+]] = llvm.load %{{.+}} : !llvm.ptr -> f32
// CHECK:         %[[LO:.+]] = llvm.add %[[OFF]], %[[B]]
// CHECK:         %[[HI:.+]] = llvm.add %[[OFF]], %[[E]]
// CHECK:         llvm.call @body(%[[LO]], %[[HI]], %[[PTR]], %[[SC]])

// CHECK-LABEL: llvm.func @caller
// CHECK-SAME:      (%[[P:.+]]: !llvm.ptr, %[[S:.+]]: f32, %[[BEGIN:.+]]: i64)
// CHECK:         %[[ONE:.+]] = llvm.mlir.constant(1 : i64) : i64
// CHECK:         %[[CTX:.+]] = llvm.alloca %[[ONE]] x !llvm.struct<(i64, ptr, f32)>
// CHECK:         llvm.br ^[[LOOP:.+]]
// CHECK:       ^[[LOOP]]:
// CHECK:         %[[F0:.+]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK:         llvm.store %[[BEGIN]], %[[F0]] : i64, !llvm.ptr
// CHECK:         %[[F1:.+]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK:         llvm.store %[[P]], %[[F1]] : !llvm.ptr, !llvm.ptr
// CHECK:         %[[F2:.+]] = llvm.getelementptr %[[CTX]][0, 2]
// CHECK:         llvm.store %[[S]], %[[F2]] : f32, !llvm.ptr
// CHECK:         %[[N:.+]] = llvm.sub %{{.+}}, %[[BEGIN]] : i64
// CHECK:         %[[FN:.+]] = llvm.mlir.addressof @body_thunk : !llvm.ptr
// CHECK:         llvm.call @kiln_parallel_for(%[[N]], %[[FN]], %[[CTX]]) : (i64, !llvm.ptr, !llvm.ptr) -> ()
// CHECK-NOT:     llvm.call @body(

// CHECK: llvm.func @kiln_parallel_for(i64, !llvm.ptr, !llvm.ptr)
llvm.func internal @body(%b: i64, %e: i64, %p: !llvm.ptr, %s: f32) attributes {kiln.parallel_body} {
  llvm.return
}
llvm.func @caller(%p: !llvm.ptr, %s: f32, %begin: i64) {
  %end = llvm.mlir.constant(16 : i64) : i64
  llvm.br ^loop
^loop:
  llvm.call @body(%begin, %end, %p, %s) : (i64, i64, !llvm.ptr, f32) -> ()
  llvm.return
}

// -----

// Calls of unmarked functions are left alone.

// CHECK-LABEL: llvm.func @plain_caller
// CHECK:         llvm.call @plain(
// CHECK-NOT:     kiln_parallel_for
llvm.func @plain(%b: i64, %e: i64)
llvm.func @plain_caller(%b: i64, %e: i64) {
  llvm.call @plain(%b, %e) : (i64, i64) -> ()
  llvm.return
}

// -----

llvm.func @bad_body(%b: i32) attributes {kiln.parallel_body}
llvm.func @bad_caller(%b: i32) {
  // expected-error @+1 {{a parallel body takes (i64 begin, i64 end, captures...) and returns nothing}}
  llvm.call @bad_body(%b) : (i32) -> ()
  llvm.return
}
