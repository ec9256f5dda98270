// kiln-cpu-merge-parallel-loops: horizontal fusion of independent parallel
// loops, so that a run of them (the optimizer update of every parameter,
// the bias gradients beside an activation's backward) costs one launch on
// the pool instead of one each, and the small ops among them, which would
// run alone on the calling thread, run beside the big ones.
//
// Precondition: after bufferization and memory planning (temporaries are
// views of the workspace at constant byte offsets), before
// kiln-cpu-outline-parallel. Algorithm, per block of a function's body:
//  1. members: an scf.forall without results, with static bounds, whose
//     body is linalg ops and memory-effect-free ops (its tasks weigh the
//     linalg ops' iterations), or a linalg op on buffers with static sizes
//     (one task: the whole op);
//  2. runs: the members of a block between ops with memory effects that are
//     not members (memory-effect-free ops between members stay where they
//     are);
//  3. within a run, each member's level is one more than the highest level
//     of an earlier member it depends on (below); the members of a level
//     are independent of each other;
//  4. each level, in order, at the place of the run's last member: with at
//     least one scf.forall and two members, a private body
//     `@<parent>_tasks_<k>(begin, end, captures...)` over the level's
//     iterations laid end to end, called over (0, total); otherwise its
//     ops as they were. kiln-cpu-launch-parallel launches the body like an
//     outlined forall: the pool splits [0, total) into equal ranges of
//     iterations, and a range runs the tasks that start in it, so the
//     threads get equal work whatever the members' sizes (splitting by task
//     count would give one thread all the 784-wide rows).
// Dependence: two members depend on each other when one writes bytes the
// other reads or writes. An access lands on a root (a function argument,
// an allocation) and, through a memref.view at a constant offset, a byte
// range of it (the workspace). Distinct allocations never alias; distinct
// arguments of a kernel (a public function nothing in the module calls: the
// runtime's entry) do not when one is written, which the runtime ABI
// guarantees (docs/runtime-abi.md: no written argument aliases another);
// anything else is assumed to alias.
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cpu/Outlining.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include <limits>

namespace kiln {
#define GEN_PASS_DEF_CPUMERGEPARALLELLOOPS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

struct Access {
  kiln::cpu::Span span;
  bool write;
};

/// The memory `op` and every op nested in it read and write outside `op`;
/// std::nullopt when some effect is unknown. Unlike getEffectsRecursively,
/// this looks into every region: a linalg.generic reports only its
/// operands, while its body may load from other buffers (a gather, a
/// concatenation's backward).
std::optional<SmallVector<Access>> accessesOf(Operation *op) {
  SmallVector<MemoryEffects::EffectInstance> effects;
  WalkResult walk = op->walk([&](Operation *nested) {
    if (auto iface = dyn_cast<MemoryEffectOpInterface>(nested)) {
      iface.getEffects(effects);
      return WalkResult::advance();
    }
    return nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>()
               ? WalkResult::advance()
               : WalkResult::interrupt();
  });
  if (walk.wasInterrupted())
    return std::nullopt;
  SmallVector<Access> accesses;
  for (const MemoryEffects::EffectInstance &effect : effects) {
    Value value = effect.getValue();
    if (!value)
      return std::nullopt;
    kiln::cpu::Span span = kiln::cpu::spanOf(value);
    Operation *owner = span.root.getDefiningOp();
    if (!owner)
      owner = span.root.getParentBlock()->getParentOp();
    if (op->isAncestor(owner))
      continue; // memory of one task alone
    bool write = isa<MemoryEffects::Write>(effect.getEffect());
    if (!write && !isa<MemoryEffects::Read>(effect.getEffect()))
      return std::nullopt; // allocating or freeing memory from above
    accesses.push_back({span, write});
  }
  return accesses;
}

/// Step 1: a member of a merged launch.
struct Member {
  Operation *op;
  scf::ForallOp loop; // null: the whole op is one task
  int64_t tasks;
  int64_t weight; // iterations of one task
  SmallVector<Access> accesses;
};

std::optional<int64_t> iterations(linalg::LinalgOp op) {
  int64_t n = 1;
  for (int64_t range : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(range))
      return std::nullopt;
    n *= range;
  }
  return n;
}

std::optional<Member> asMember(Operation *op) {
  Member member{op, dyn_cast<scf::ForallOp>(op), 1, 0, {}};
  if (member.loop) {
    scf::ForallOp loop = member.loop;
    if (loop.getNumResults() != 0 || loop.getMapping())
      return std::nullopt;
    for (auto [lb, ub, step] :
         llvm::zip(loop.getMixedLowerBound(), loop.getMixedUpperBound(),
                   loop.getMixedStep())) {
      std::optional<int64_t> l = getConstantIntValue(lb);
      std::optional<int64_t> u = getConstantIntValue(ub);
      std::optional<int64_t> s = getConstantIntValue(step);
      if (!l || !u || !s || *s <= 0)
        return std::nullopt;
      member.tasks *= *u > *l ? llvm::divideCeil(*u - *l, *s) : 0;
    }
    for (Operation &inner : loop.getBody()->without_terminator()) {
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(inner)) {
        std::optional<int64_t> n = iterations(linalgOp);
        if (!n)
          return std::nullopt;
        member.weight += *n;
      } else if (inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner)) {
        return std::nullopt; // work the weight would not see
      }
    }
  } else {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp || !linalgOp.hasPureBufferSemantics())
      return std::nullopt;
    std::optional<int64_t> n = iterations(linalgOp);
    if (!n)
      return std::nullopt;
    member.weight = *n;
  }
  if (member.tasks <= 0 || member.weight <= 0)
    return std::nullopt;
  std::optional<SmallVector<Access>> accesses = accessesOf(op);
  if (!accesses)
    return std::nullopt;
  member.accesses = std::move(*accesses);
  return member;
}

bool independent(const Member &x, const Member &y, func::FuncOp kernel) {
  for (const Access &a : x.accesses)
    for (const Access &b : y.accesses)
      if ((a.write || b.write) && kiln::cpu::mayAlias(a.span, b.span, kernel))
        return false;
  return true;
}

/// Members that run in one launch: mutually independent.
struct Group {
  SmallVector<const Member *> members;

  unsigned loops() const {
    return llvm::count_if(members, [](const Member *m) { return m->loop; });
  }
  bool worthMerging() const { return loops() != 0 && members.size() >= 2; }
};

/// `for k in [clamp(ceil((begin - start) / weight)), clamp(ceil((end -
/// start) / weight))): task k of `m``, clamped to [0, m.tasks): the tasks
/// of `m` whose first iteration, `start + k * weight`, is in [begin, end).
void buildTasks(OpBuilder &b, Location loc, Member m, int64_t start,
                Value begin, Value end, IRMapping &map) {
  auto index = [&](int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v).getResult();
  };
  Value weight = index(m.weight), first = index(start);
  Value zero = index(0), tasks = index(m.tasks);
  auto firstTaskFrom = [&](Value at) -> Value {
    Value k = b.create<arith::CeilDivSIOp>(
        loc, b.create<arith::SubIOp>(loc, at, first), weight);
    return b.create<arith::MinSIOp>(loc, b.create<arith::MaxSIOp>(loc, k, zero),
                                    tasks);
  };
  auto loop = b.create<scf::ForOp>(loc, firstTaskFrom(begin), firstTaskFrom(end),
                                   index(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  if (!m.loop) {
    b.clone(*m.op, map);
    return;
  }
  IndexMath math{b, loc};
  delinearise(math, m.loop, loop.getInductionVar(), map);
  for (Operation &op : m.loop.getBody()->without_terminator())
    b.clone(op, map);
}

/// Step 4: the group's body and a call of it before `anchor`. False (IR
/// untouched) when a captured value cannot be passed.
bool merge(const Group &group, Operation *anchor, func::FuncOp parent,
           SymbolTable &symbols, unsigned index, bool remarks) {
  SetVector<Value> above;
  for (const Member *m : group.members) {
    for (Value operand : m->op->getOperands())
      above.insert(operand);
    for (Region &region : m->op->getRegions())
      getUsedValuesDefinedAbove(region, above);
  }
  std::optional<Captures> captures = classifyCaptures(above);
  if (!captures)
    return false;

  Operation *first = group.members.front()->op;
  func::FuncOp fn = declareParallelBody(
      first->getLoc(), parent, "tasks_" + std::to_string(index),
      captures->values, symbols);
  OpBuilder b(fn.getContext());
  IRMapping map;
  Block *entry = beginParallelBody(fn, *captures, map, b);
  int64_t start = 0;
  for (const Member *m : group.members) {
    buildTasks(b, m->op->getLoc(), *m, start, entry->getArgument(0),
               entry->getArgument(1), map);
    start += m->tasks * m->weight;
  }
  b.create<func::ReturnOp>(first->getLoc());

  if (remarks) {
    unsigned loops = group.loops();
    first->emitRemark() << "threads: " << loops << " parallel loop"
                        << (loops == 1 ? "" : "s") << " and "
                        << group.members.size() - loops
                        << " single-task op"
                        << (group.members.size() - loops == 1 ? "" : "s")
                        << " merged into one launch of " << start
                        << " iterations (" << fn.getSymName() << ")";
  }

  b.setInsertionPoint(anchor);
  Location loc = group.members.back()->op->getLoc();
  SmallVector<Value> operands = {b.create<arith::ConstantIndexOp>(loc, 0),
                                 b.create<arith::ConstantIndexOp>(loc, start)};
  operands.append(captures->values.begin(), captures->values.end());
  b.create<func::CallOp>(loc, fn, operands);
  for (const Member *m : group.members)
    m->op->erase();
  return true;
}

struct CPUMergeParallelLoopsPass
    : kiln::impl::CPUMergeParallelLoopsBase<CPUMergeParallelLoopsPass> {
  using CPUMergeParallelLoopsBase::CPUMergeParallelLoopsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (func::FuncOp parent : outliningParents(module)) {
      // The runtime's entry points: their written arguments alias nothing.
      func::FuncOp kernel =
          parent.isPublic() && SymbolTable::symbolKnownUseEmpty(parent, module)
              ? parent
              : func::FuncOp();
      unsigned index = 0;
      for (Block &block : parent.getBody())
        mergeIn(block, parent, kernel, symbols, index);
    }
  }

  /// Steps 2 and 3: the block's runs of members, each scheduled.
  void mergeIn(Block &block, func::FuncOp parent, func::FuncOp kernel,
               SymbolTable &symbols, unsigned &index) {
    SmallVector<SmallVector<Member>> runs(1);
    for (Operation &op : block) {
      if (std::optional<Member> member = asMember(&op))
        runs.back().push_back(std::move(*member));
      else if (!isMemoryEffectFree(&op) && !runs.back().empty())
        runs.emplace_back();
    }
    for (SmallVector<Member> &run : runs)
      if (run.size() >= 2)
        schedule(run, parent, kernel, symbols, index);
  }

  /// Step 3: each member's level is one more than the highest level of an
  /// earlier member it depends on (0 without one). Members of one level are
  /// independent of each other, and every dependence goes from a lower
  /// level to a higher one, so running the levels in order, each as one
  /// launch, keeps every dependence. They all run where the run's last
  /// member was: the ops between members have no memory effects, and
  /// members have no results.
  void schedule(ArrayRef<Member> run, func::FuncOp parent, func::FuncOp kernel,
                SymbolTable &symbols, unsigned &index) {
    SmallVector<Group> levels;
    SmallVector<unsigned> levelOf(run.size(), 0);
    for (auto [i, m] : llvm::enumerate(run)) {
      for (unsigned j = 0; j < i; ++j)
        if (levelOf[j] + 1 > levelOf[i] && !independent(run[j], m, kernel))
          levelOf[i] = levelOf[j] + 1;
      if (levelOf[i] >= levels.size())
        levels.resize(levelOf[i] + 1);
      levels[levelOf[i]].members.push_back(&m);
      if (remarks && m.loop && levelOf[i] != 0)
        m.op->emitRemark() << "threads: this parallel loop runs in launch "
                           << levelOf[i] + 1 << " of its run: it reads or "
                           << "writes memory that an earlier loop or op "
                           << "writes, or writes memory that one reads";
    }
    if (llvm::none_of(levels, [](const Group &g) { return g.worthMerging(); }))
      return;
    Operation *anchor = run.back().op->getNextNode();
    for (const Group &level : levels) {
      if (level.worthMerging() &&
          merge(level, anchor, parent, symbols, index, remarks)) {
        ++index;
        continue;
      }
      for (const Member *m : level.members)
        m->op->moveBefore(anchor);
    }
  }
};

} // namespace
