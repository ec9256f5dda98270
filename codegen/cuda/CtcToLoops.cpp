// kiln-cuda-ctc-to-loops: the CTC loss's runtime routines (nn.library_call
// @kiln_ctc_loss_forward / _backward on buffers) as GPU kernels: one block
// per sample for the recursions, its threads over the extended labels with
// a barrier per time step; one thread per element for the fill and the
// gradient (Passes.td says why).
//
// The numerics are those of the CPU routines (runtime/lib/ctc.cpp), which
// follow torch 1.13's CPU kernel: the same recursions in the same order,
// log(exp(a - m) + exp(b - m) + exp(c - m)) + m with m the largest term (0
// when all are -inf), the same accumulation of alpha * beta per label and
// the same gradient formula. Preconditions: the call verified
// (NNLibraryOps.cpp: 7 parameters, element counts); the runtime's index
// check keeps labels in [0, C), input lengths in [1, T] and target lengths
// in [0, S] (nn.ctc_loss's index bounds). Concatenated lengths that add up
// to more than S (which the value check refuses after the call) read
// clamped labels and give NaN: never an access outside a buffer.
#include "codegen/cuda/Passes.h"
#include "ir/NNDialect.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

namespace kiln {
#define GEN_PASS_DEF_CUDACTCTOLOOPS
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// One call's operands and sizes, and the loads, index math and loops that
/// its recursions share; everything is built at `b`'s insertion point.
///
/// alpha and beta are scratch [T, columns]: sample i's extended labels
/// (2 tl + 1 of them) start at column base(i). Padded targets give each
/// sample 2 S + 1 columns; concatenated ones give sample i
/// 2 offset(i) + i, where offset(i) is the sum of the earlier target
/// lengths, so the whole batch needs 2 S + N columns, not N (2 S + 1).
struct Ctc {
  OpBuilder &b;
  Location loc;
  int64_t t, n, c, s, blank;
  bool zeroInfinity, concatenated;
  Value logProbs, targets, inputLengths, targetLengths;

  Ctc(OpBuilder &b, kiln::nn::LibraryCallOp call) : b(b), loc(call.getLoc()) {
    ArrayRef<int64_t> p = call.getParams();
    t = p[0], n = p[1], c = p[2], s = p[3], blank = p[4];
    zeroInfinity = p[5] != 0, concatenated = p[6] != 0;
    logProbs = call.getInputs()[0], targets = call.getInputs()[1];
    inputLengths = call.getInputs()[2], targetLengths = call.getInputs()[3];
  }

  int64_t columns() const { return concatenated ? 2 * s + n : n * (2 * s + 1); }

  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value f32(float v) { return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v)); }
  Value negInf() { return f32(-std::numeric_limits<float>::infinity()); }
  Value add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubIOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulIOp>(loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return b.create<arith::CmpIOp>(loc, p, x, y);
  }
  Value select(Value cond, Value x, Value y) {
    return b.create<arith::SelectOp>(loc, cond, x, y);
  }

  /// The indices of row-major element `flat` of a buffer of static shape.
  SmallVector<Value> indices(Value buffer, Value flat) {
    ArrayRef<int64_t> shape = cast<MemRefType>(buffer.getType()).getShape();
    SmallVector<Value> at(shape.size());
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      Value size = index(shape[d]);
      at[d] = d == 0 ? flat : b.create<arith::RemUIOp>(loc, flat, size).getResult();
      if (d > 0)
        flat = b.create<arith::DivUIOp>(loc, flat, size);
    }
    return at;
  }
  Value load(Value buffer, Value flat) {
    return b.create<memref::LoadOp>(loc, buffer, indices(buffer, flat));
  }
  void store(Value v, Value buffer, Value flat) {
    b.create<memref::StoreOp>(loc, v, buffer, indices(buffer, flat));
  }

  /// An i64 element (a length, a label) as an index.
  Value loadIndex(Value buffer, Value flat) {
    return b.create<arith::IndexCastOp>(loc, b.getIndexType(), load(buffer, flat));
  }
  /// log_probs[time, sample, label].
  Value logProb(Value time, Value sample, Value label) {
    return load(logProbs, add(mul(add(mul(time, index(n)), sample), index(c)), label));
  }
  /// Scratch element (time, column).
  Value at(Value time, Value column) { return add(mul(time, index(columns())), column); }

  /// Where sample i's labels start in targets: i S padded, the sum of the
  /// earlier target lengths concatenated.
  Value labelOffset(Value sample) {
    if (!concatenated)
      return mul(sample, index(s));
    auto loop = b.create<scf::ForOp>(
        loc, index(0), sample, index(1), ValueRange{index(0)},
        [&](OpBuilder &nested, Location l, Value j, ValueRange sum) {
          Value length = nested.create<arith::IndexCastOp>(
              l, nested.getIndexType(), nested.create<memref::LoadOp>(l, targetLengths, j));
          nested.create<scf::YieldOp>(l, ValueRange{nested.create<arith::AddIOp>(l, sum[0], length)});
        });
    return loop.getResult(0);
  }
  /// The extended label l'(s): the blank at even s, else the label at
  /// offset + s / 2, read at the last label where that is past the targets.
  Value label(Value offset, Value position) {
    int64_t size = concatenated ? s : n * s;
    Value at = add(offset, b.create<arith::DivUIOp>(loc, position, index(2)));
    at = b.create<arith::MinUIOp>(loc, at, index(size - 1));
    Value odd = cmp(arith::CmpIPredicate::eq,
                    b.create<arith::RemUIOp>(loc, position, index(2)), index(1));
    return select(odd, loadIndex(targets, at), index(blank));
  }

  /// log(exp(x) + exp(y) [+ exp(z)]) as torch writes it.
  Value logSumExp(ValueRange terms) {
    Value m = terms[0];
    for (Value v : terms.drop_front())
      m = b.create<arith::MaximumFOp>(loc, m, v);
    m = select(b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, m, negInf()), f32(0), m);
    Value sum;
    for (Value v : terms) {
      Value e = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, v, m));
      sum = sum ? b.create<arith::AddFOp>(loc, sum, e).getResult() : e;
    }
    return b.create<arith::AddFOp>(loc, b.create<math::LogOp>(loc, sum), m);
  }
  Value isInf(Value v) {
    Value inf = f32(std::numeric_limits<float>::infinity());
    return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ,
                                   b.create<math::AbsFOp>(loc, v), inf);
  }

  /// `body(i)` over [from, to) in a sequential loop.
  template <typename Body> void loop(Value from, Value to, Body body) {
    auto op = b.create<scf::ForOp>(loc, from, to, index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(op.getBody()->getTerminator());
    body(op.getInductionVar());
  }
  /// `then()` where `cond` holds, `otherwise()` elsewhere.
  template <typename Then, typename Else>
  void ifElse(Value cond, Then then, Else otherwise) {
    auto op = b.create<scf::IfOp>(loc, cond, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(op.thenBlock()->getTerminator());
    then();
    b.setInsertionPoint(op.elseBlock()->getTerminator());
    otherwise();
  }
  /// `body(i)` for every i in [0, count) in parallel (one GPU thread each).
  template <typename Body> void parallel(int64_t count, Body body) {
    auto op = b.create<scf::ParallelOp>(loc, ValueRange{index(0)}, ValueRange{index(count)},
                                        ValueRange{index(1)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(op.getBody()->getTerminator());
    body(op.getInductionVars()[0]);
  }

  /// One sample's lengths and where its labels and columns start.
  struct Sample {
    Value i, inputLength, targetLength, width, offset, base;
    /// The columns fit the scratch (always, unless concatenated lengths
    /// add up to more than S).
    Value fits;
  };
  Sample sample(Value i) {
    Sample x;
    x.i = i;
    x.inputLength = loadIndex(inputLengths, i);
    x.targetLength = loadIndex(targetLengths, i);
    x.width = add(mul(x.targetLength, index(2)), index(1));
    x.offset = labelOffset(i);
    x.base = concatenated ? add(mul(x.offset, index(2)), i) : mul(i, index(2 * s + 1));
    x.fits = cmp(arith::CmpIPredicate::ule, add(x.base, x.width), index(columns()));
    return x;
  }

  /// One step of a recursion over time (alpha forward, beta backward):
  /// vars[to, pos] = log(exp(vars[from, pos]) + exp(vars[from, near]) +
  /// exp(vars[from, far])) + lp[to, l], the second term where `hasNear`,
  /// the third where `hasFar` and l'(far) != l (a repeated label cannot be
  /// skipped); `near` and `far` are in range either way. Returns the value.
  Value step(const Sample &x, Value vars, Value from, Value to, Value pos, Value l,
             Value hasNear, Value near, Value hasFar, Value far) {
    Value v1 = load(vars, at(from, add(x.base, pos)));
    Value v2 = select(hasNear, load(vars, at(from, add(x.base, near))), negInf());
    hasFar = b.create<arith::AndIOp>(
        loc, hasFar, cmp(arith::CmpIPredicate::ne, label(x.offset, far), l));
    Value v3 = select(hasFar, load(vars, at(from, add(x.base, far))), negInf());
    Value v = b.create<arith::AddFOp>(loc, logSumExp({v1, v2, v3}), logProb(to, x.i, l));
    store(v, vars, at(to, add(x.base, pos)));
    return v;
  }

  Value scratch(ArrayRef<int64_t> shape) {
    return b.create<memref::AllocOp>(loc, MemRefType::get(shape, b.getF32Type()));
  }
  void release(Value buffer) { b.create<memref::DeallocOp>(loc, buffer); }

  /// Threads per sample block: the extended labels (2 S + 1) rounded up
  /// to whole warps, at most 256 (more labels: each thread takes every
  /// 256th).
  int64_t threads() const {
    return std::clamp<int64_t>(llvm::alignTo(2 * s + 1, 32), 32, 256);
  }

  /// A kernel of one block per sample: `body(sample, thread)` builds its
  /// body, whose barriers are at its top level or at the top level of a
  /// time loop (kiln-cuda-emulate-on-cpu's barrier loops).
  template <typename Body> void perSampleBlock(Body body) {
    Value one = index(1);
    auto launch = b.create<gpu::LaunchOp>(loc, index(n), one, one, index(threads()), one, one);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    body(launch.getBlockIds().x, launch.getThreadIds().x);
    b.create<gpu::TerminatorOp>(loc);
  }
  void barrier() { b.create<gpu::BarrierOp>(loc); }
  /// `body(time)` for time in [from, to): constant bounds, the same for
  /// every thread, so its body may hold barriers.
  template <typename Body> void timeLoop(int64_t from, int64_t to, Body body) {
    loop(index(from), index(to), body);
  }
  /// `body(position)` for this thread's positions of [0, count): thread,
  /// thread + threads(), ...
  template <typename Body> void positions(Value thread, Value count, Body body) {
    auto op = b.create<scf::ForOp>(loc, thread, count, index(threads()));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(op.getBody()->getTerminator());
    body(op.getInductionVar());
  }
  /// `then()` where `cond` holds.
  template <typename Then> void when(Value cond, Then then) {
    auto op = b.create<scf::IfOp>(loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(op.thenBlock()->getTerminator());
    then();
  }
  Value both(Value x, Value y) { return b.create<arith::AndIOp>(loc, x, y); }

  /// alpha of sample `i` (eq. 6 of Graves et al.) into its columns of
  /// `alpha`, a block's threads over the extended labels, a barrier after
  /// each time step; a time step past the sample's input length does
  /// nothing. Each phase reads the sample's lengths itself (a value
  /// computed in one phase is not used in another).
  void alphaRecursion(Value i, Value thread, Value alpha) {
    Value zero = index(0), one = index(1);
    {
      Sample x = sample(i);
      when(x.fits, [&] {
        positions(thread, x.width, [&](Value pos) {
          Value isFirst = cmp(arith::CmpIPredicate::eq, pos, zero);
          Value isSecond = both(cmp(arith::CmpIPredicate::eq, pos, one),
                                cmp(arith::CmpIPredicate::sgt, x.targetLength, zero));
          Value l = select(isFirst, index(blank), label(x.offset, one));
          Value set = b.create<arith::OrIOp>(loc, isFirst, isSecond);
          store(select(set, logProb(zero, x.i, l), negInf()), alpha, at(zero, add(x.base, pos)));
        });
      });
    }
    barrier();
    timeLoop(1, t, [&](Value time) {
      Sample x = sample(i);
      when(both(x.fits, cmp(arith::CmpIPredicate::ult, time, x.inputLength)), [&] {
        Value prev = sub(time, one);
        positions(thread, x.width, [&](Value pos) {
          Value hasLeft = cmp(arith::CmpIPredicate::ugt, pos, zero);
          Value hasSkip = cmp(arith::CmpIPredicate::ugt, pos, one);
          step(x, alpha, prev, time, pos, label(x.offset, pos), hasLeft,
               select(hasLeft, sub(pos, one), zero), hasSkip,
               select(hasSkip, sub(pos, index(2)), zero));
        });
      });
      barrier();
    });
  }

  /// The negative log-likelihood of `x` from its finished alpha.
  Value likelihood(const Sample &x, Value alpha) {
    Value one = index(1), zero = index(0);
    Value last = sub(x.inputLength, one);
    Value end = mul(x.targetLength, index(2));
    Value hasLabels = cmp(arith::CmpIPredicate::sgt, x.targetLength, zero);
    Value l1 = load(alpha, at(last, add(x.base, end)));
    Value l2 = load(alpha, at(last, add(x.base, select(hasLabels, sub(end, one), end))));
    Value logLikelihood = select(hasLabels, logSumExp({l1, l2}), l1);
    return b.create<arith::NegFOp>(loc, logLikelihood);
  }

  /// out[i] = body(x) by thread 0 where the sample's columns fit the
  /// scratch, NaN where they do not.
  template <typename Body> void perSampleResult(Value i, Value thread, Value out, Body body) {
    Sample x = sample(i);
    when(cmp(arith::CmpIPredicate::eq, thread, index(0)), [&] {
      ifElse(
          x.fits, [&] { store(body(x), out, i); },
          [&] { store(f32(std::numeric_limits<float>::quiet_NaN()), out, i); });
    });
  }

  /// beta of sample `i` into its columns of `beta` (its threads over the
  /// extended labels, a barrier after each time step, from il - 1 down),
  /// then log(sum of alpha beta) per (time, label) into lcab [T, N, C]
  /// (filled with -inf before): one thread per time step, over the
  /// positions from 2 tl down to 0 as torch adds them.
  void betaRecursion(Value i, Value thread, Value alpha, Value beta, Value lcab) {
    Value zero = index(0), one = index(1);
    auto lcabAt = [&](const Sample &x, Value time, Value l) {
      return add(mul(add(mul(time, index(n)), x.i), index(c)), l);
    };
    {
      Sample x = sample(i);
      when(x.fits, [&] {
        Value last = sub(x.inputLength, one);
        Value end = mul(x.targetLength, index(2));
        positions(thread, x.width, [&](Value pos) {
          Value isEnd = cmp(arith::CmpIPredicate::eq, pos, end);
          Value isLabel = both(cmp(arith::CmpIPredicate::eq, add(pos, one), end),
                               cmp(arith::CmpIPredicate::sgt, x.targetLength, zero));
          Value l = select(isEnd, index(blank), label(x.offset, pos));
          Value p = logProb(last, x.i, l);
          store(select(b.create<arith::OrIOp>(loc, isEnd, isLabel), p, negInf()), beta,
                at(last, add(x.base, pos)));
        });
      });
    }
    barrier();
    // Time il - 2 - k for k in [0, T - 1): nothing where that is below 0.
    timeLoop(0, t - 1, [&](Value k) {
      Sample x = sample(i);
      Value last = sub(x.inputLength, one);
      when(both(x.fits, cmp(arith::CmpIPredicate::ult, k, last)), [&] {
        Value time = sub(sub(last, one), k);
        Value next = add(time, one);
        Value end = mul(x.targetLength, index(2));
        positions(thread, x.width, [&](Value j) {
          Value pos = sub(end, j);
          Value l = label(x.offset, pos);
          Value hasRight = cmp(arith::CmpIPredicate::ult, pos, end);
          Value hasSkip = cmp(arith::CmpIPredicate::ult, add(pos, one), end);
          step(x, beta, next, time, pos, l, hasRight, select(hasRight, add(pos, one), pos), hasSkip,
               select(hasSkip, add(pos, index(2)), pos));
        });
      });
      barrier();
    });
    Sample x = sample(i);
    when(x.fits, [&] {
      Value last = sub(x.inputLength, one);
      Value end = mul(x.targetLength, index(2));
      positions(thread, x.inputLength, [&](Value time) {
        ifElse(
            cmp(arith::CmpIPredicate::eq, time, last),
            [&] {
              // The last time step: the two entries set, not added (the
              // label's overwrites the blank's when it is the blank, as in
              // torch).
              Value pBlank = logProb(last, x.i, index(blank));
              store(b.create<arith::AddFOp>(loc, load(alpha, at(last, add(x.base, end))), pBlank),
                    lcab, lcabAt(x, last, index(blank)));
              when(cmp(arith::CmpIPredicate::sgt, x.targetLength, zero), [&] {
                Value pos = sub(end, one);
                Value l = label(x.offset, pos);
                store(b.create<arith::AddFOp>(loc, load(alpha, at(last, add(x.base, pos))),
                                              logProb(last, x.i, l)),
                      lcab, lcabAt(x, last, l));
              });
            },
            [&] {
              loop(zero, x.width, [&](Value j) {
                Value pos = sub(end, j);
                Value l = label(x.offset, pos);
                Value term = b.create<arith::AddFOp>(loc, load(alpha, at(time, add(x.base, pos))),
                                                     load(beta, at(time, add(x.base, pos))));
                Value acc = load(lcab, lcabAt(x, time, l));
                Value empty = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, acc, negInf());
                store(select(empty, term, logSumExp({acc, term})), lcab, lcabAt(x, time, l));
              });
            });
      });
    });
  }

  /// loss[i] = the negative log-likelihood of sample i (0 where it is
  /// infinite and zero_infinity).
  void emitForward(Value loss) {
    Value alpha = scratch({t, columns()});
    perSampleBlock([&](Value i, Value thread) {
      alphaRecursion(i, thread, alpha);
      perSampleResult(i, thread, loss, [&](const Sample &x) {
        Value nll = likelihood(x, alpha);
        return zeroInfinity ? select(isInf(nll), f32(0), nll) : nll;
      });
    });
    release(alpha);
  }

  /// grad[t, i, :] = (exp(lp) - exp(lcab + nll - lp)) grad_loss[i] for t <
  /// il, 0 elsewhere and for a sample whose loss zero_infinity zeroed.
  void emitBackward(Value gradLoss, Value grad) {
    Value alpha = scratch({t, columns()}), beta = scratch({t, columns()});
    Value lcab = scratch({t, n, c}), nlls = scratch({n});
    parallel(t * n * c, [&](Value e) { store(negInf(), lcab, e); });
    perSampleBlock([&](Value i, Value thread) {
      alphaRecursion(i, thread, alpha);
      perSampleResult(i, thread, nlls, [&](const Sample &x) { return likelihood(x, alpha); });
      barrier();
      betaRecursion(i, thread, alpha, beta, lcab);
    });
    parallel(t * n * c, [&](Value e) {
      Value time = b.create<arith::DivUIOp>(loc, e, index(n * c));
      Value i = b.create<arith::RemUIOp>(loc, b.create<arith::DivUIOp>(loc, e, index(c)), index(n));
      Value nll = load(nlls, i);
      Value p = load(logProbs, e);
      Value collected = load(lcab, e);
      Value term = b.create<arith::SubFOp>(loc, b.create<arith::AddFOp>(loc, collected, nll), p);
      Value v = b.create<arith::SubFOp>(loc, b.create<math::ExpOp>(loc, p),
                                        b.create<math::ExpOp>(loc, term));
      v = b.create<arith::MulFOp>(loc, v, load(gradLoss, i));
      Value valid = cmp(arith::CmpIPredicate::ult, time, loadIndex(inputLengths, i));
      if (zeroInfinity)
        valid = b.create<arith::AndIOp>(
            loc, valid, b.create<arith::XOrIOp>(loc, isInf(nll),
                                                b.create<arith::ConstantIntOp>(loc, 1, 1)));
      store(select(valid, v, f32(0)), grad, e);
    });
    for (Value buffer : {alpha, beta, lcab, nlls})
      release(buffer);
  }
};

struct CUDACtcToLoopsPass : kiln::impl::CUDACtcToLoopsBase<CUDACtcToLoopsPass> {
  void runOnOperation() override {
    SmallVector<kiln::nn::LibraryCallOp> calls;
    getOperation().walk([&](kiln::nn::LibraryCallOp call) {
      if (call.getCallee().starts_with("kiln_ctc_loss_"))
        calls.push_back(call);
    });
    for (kiln::nn::LibraryCallOp call : calls) {
      if (!call.getResults().empty()) {
        call.emitError("kiln-cuda-ctc-to-loops: expected the call on buffers (after bufferization)");
        return signalPassFailure();
      }
      OpBuilder b(call);
      Ctc ctc(b, call);
      if (call.getCallee() == "kiln_ctc_loss_forward")
        ctc.emitForward(call.getOutputs()[0]);
      else
        ctc.emitBackward(call.getInputs()[4], call.getOutputs()[0]);
      call.erase();
    }
  }
};

} // namespace
