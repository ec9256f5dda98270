// The metadata writer (codegen/Wrappers.cpp) against the C structs of
// <kiln/runtime.h>: the LLVM layout matches the C layout, and every number
// reads back bit-exactly, both from the LLVM constant and through the
// #nn.init attribute that carries initializer bounds through the IR. The host
// CPU's TargetMachine supplies the data layout.
#include "codegen/Wrappers.h"
#include "codegen/cpu/CPUCodegen.h"
#include "ir/FormatNumber.h"
#include "ir/NNDialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/GlobalVariable.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>

namespace {

uint64_t bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

/* Doubles over many magnitudes: 1e-5..1 (learning rates, bounds), huge,
 * subnormal, negative zero. */
std::vector<double> interesting_doubles(size_t n) {
  std::mt19937_64 gen(20240611);
  std::vector<double> out = {0.1, 2.5e-4, 1e-5, -0.0, 5e-324,
                             std::numeric_limits<double>::denorm_min() * 12345,
                             std::numeric_limits<double>::max(), 1.0 / 3};
  std::uniform_real_distribution<double> exponent(-320, 300), mantissa(-1, 1);
  while (out.size() < n) {
    double m = mantissa(gen), e = exponent(gen);
    double magnitude = std::ldexp(1.0, static_cast<int>(e / 0.30103)); // ~10^e
    out.push_back(std::isfinite(m * magnitude) ? m * magnitude : m);
  }
  return out;
}

kiln::ModelInterface model_with(const std::vector<double> &values) {
  kiln::ModelInterface m;
  m.name = "rt";
  m.trainable = true;
  m.lr = values[0];
  m.workspaceBytes = 4096;
  for (size_t i = 1; i + 1 < values.size(); i += 2) {
    kiln::TensorSpec t;
    t.name = "p" + std::to_string(i);
    t.dtype = "f32";
    t.shape = {static_cast<int64_t>(i), 3};
    t.role = KILN_ROLE_PARAMETER;
    t.init.kind = i % 4 == 1 ? KILN_INIT_UNIFORM : KILN_INIT_NORMAL;
    t.init.args[0] = values[i];
    t.init.args[1] = values[i + 1];
    m.tensors.push_back(t);
  }
  kiln::KernelSpec k{KILN_ENTRY_FORWARD, KILN_MODE_ANY, "rt__forward", {}, 0, 0, {}, {}};
  for (size_t i = 0; i < m.tensors.size(); ++i)
    k.args.push_back({KILN_ARG_TENSOR, static_cast<int>(i)});
  k.args.push_back({KILN_ARG_WORKSPACE, -1});
  m.kernels.push_back(k);
  return m;
}

struct Emitted {
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> module;
  llvm::GlobalVariable *metadata = nullptr;
};

void emit(const kiln::ModelInterface &m, Emitted &out) {
  std::string error;
  auto tm = kiln::createCPUTargetMachine("", 0, error);
  ASSERT_TRUE(tm) << error;
  out.module = std::make_unique<llvm::Module>("rt", out.ctx);
  out.module->setDataLayout(tm->createDataLayout());
  auto *ptr = llvm::PointerType::getUnqual(out.ctx);
  std::vector<llvm::Type *> params(m.kernels[0].args.size(), ptr);
  llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(out.ctx), params, false),
                         llvm::GlobalValue::ExternalLinkage, "rt__forward", *out.module);
  out.metadata = kiln::emitModelMetadata(*out.module, m, error);
  ASSERT_NE(out.metadata, nullptr) << error;
}

llvm::Constant *field(llvm::Constant *c, unsigned i) { return c->getAggregateElement(i); }

llvm::Constant *pointee(llvm::Constant *pointer) {
  return llvm::cast<llvm::GlobalVariable>(pointer)->getInitializer();
}

double as_double(llvm::Constant *c) {
  return llvm::cast<llvm::ConstantFP>(c)->getValueAPF().convertToDouble();
}

TEST(CodegenMetadata, LayoutMatchesRuntimeHeader) {
  Emitted e;
  emit(model_with({0.5, 1, 2}), e);
  const llvm::DataLayout &dl = e.module->getDataLayout();
  auto *meta = llvm::cast<llvm::StructType>(e.metadata->getValueType());
  const llvm::StructLayout *l = dl.getStructLayout(meta);
  EXPECT_EQ(l->getSizeInBytes(), sizeof(kiln_model_metadata));
  EXPECT_EQ(l->getElementOffset(2), offsetof(kiln_model_metadata, name));
  EXPECT_EQ(l->getElementOffset(3), offsetof(kiln_model_metadata, device));
  EXPECT_EQ(l->getElementOffset(5), offsetof(kiln_model_metadata, tensors));
  EXPECT_EQ(l->getElementOffset(7), offsetof(kiln_model_metadata, kernels));
  EXPECT_EQ(l->getElementOffset(8), offsetof(kiln_model_metadata, lr));
  EXPECT_EQ(l->getElementOffset(9), offsetof(kiln_model_metadata, workspace_bytes));
  auto *tensors = llvm::cast<llvm::GlobalVariable>(field(e.metadata->getInitializer(), 5));
  auto *tensor = llvm::cast<llvm::StructType>(
      llvm::cast<llvm::ArrayType>(tensors->getValueType())->getElementType());
  const llvm::StructLayout *t = dl.getStructLayout(tensor);
  EXPECT_EQ(t->getSizeInBytes(), sizeof(kiln_tensor_info));
  EXPECT_EQ(t->getElementOffset(4), offsetof(kiln_tensor_info, shape));
  EXPECT_EQ(t->getElementOffset(5), offsetof(kiln_tensor_info, init));
  EXPECT_EQ(t->getElementOffset(6), offsetof(kiln_tensor_info, range));
  const llvm::StructLayout *r =
      dl.getStructLayout(llvm::cast<llvm::StructType>(tensor->getElementType(6)));
  EXPECT_EQ(r->getSizeInBytes(), sizeof(kiln_index_range));
  EXPECT_EQ(r->getElementOffset(2), offsetof(kiln_index_range, lo));
  EXPECT_EQ(r->getElementOffset(4), offsetof(kiln_index_range, ignore));
  auto *kernels = llvm::cast<llvm::GlobalVariable>(field(e.metadata->getInitializer(), 7));
  auto *kernel = llvm::cast<llvm::StructType>(
      llvm::cast<llvm::ArrayType>(kernels->getValueType())->getElementType());
  EXPECT_EQ(dl.getStructLayout(kernel)->getSizeInBytes(), sizeof(kiln_kernel_info));
  EXPECT_EQ(dl.getStructLayout(kernel)->getElementOffset(4), offsetof(kiln_kernel_info, args));
  EXPECT_EQ(dl.getStructLayout(kernel)->getElementOffset(5),
            offsetof(kiln_kernel_info, rng_counters));
  EXPECT_EQ(uint64_t(llvm::cast<llvm::ConstantInt>(field(e.metadata->getInitializer(), 1))
                         ->getZExtValue()),
            sizeof(kiln_model_metadata));
  // The device is the backend's (ModelInterface::device).
  EXPECT_EQ(llvm::cast<llvm::ConstantInt>(field(e.metadata->getInitializer(), 3))->getZExtValue(),
            uint64_t(KILN_DEVICE_CPU));
}

// Class-index bounds reach the object as written, extremes included; a
// tensor without them gets an all-zero (unchecked) range.
TEST(CodegenMetadata, IndexRangesAreWritten) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  const kiln::nn::IndexBounds cases[] = {{0, 10, -100}, {0, 1, std::nullopt},
                                         {-big - 1, big, big}};
  for (const kiln::nn::IndexBounds &b : cases) {
    kiln::ModelInterface m = model_with({0.5, -1, 1});
    kiln::TensorSpec target;
    target.name = "t";
    target.dtype = "i64";
    target.shape = {4};
    target.role = KILN_ROLE_TARGET;
    target.indexBounds = b;
    m.tensors.push_back(target);
    Emitted e;
    emit(m, e);
    llvm::Constant *tensors = pointee(field(e.metadata->getInitializer(), 5));
    auto value = [&](int tensor, unsigned f) {
      return llvm::cast<llvm::ConstantInt>(field(field(field(tensors, tensor), 6), f))
          ->getSExtValue();
    };
    EXPECT_EQ(value(1, 0), 1);
    EXPECT_EQ(value(1, 1), b.ignore ? 1 : 0);
    EXPECT_EQ(value(1, 2), b.lo);
    EXPECT_EQ(value(1, 3), b.hi);
    EXPECT_EQ(value(1, 4), b.ignore.value_or(0));
    for (unsigned f = 0; f < 5; ++f)
      EXPECT_EQ(value(0, f), 0) << "field " << f << " of an unchecked tensor";
  }
}

// A tensor used by two indexing ops accepts what both accept: the
// intersection of the intervals, and an ignore value only where the other
// op accepts it too.
TEST(CodegenMetadata, IndexBoundsIntersect) {
  using kiln::nn::IndexBounds;
  auto same = [](const IndexBounds &a, const IndexBounds &b) {
    return a.lo == b.lo && a.hi == b.hi && a.ignore == b.ignore;
  };
  EXPECT_TRUE(same(IndexBounds{0, 10, -100}.intersect({0, 5, -100}), {0, 5, -100}));
  EXPECT_TRUE(same(IndexBounds{0, 10, -100}.intersect({0, 5, std::nullopt}), {0, 5, std::nullopt}));
  EXPECT_TRUE(same(IndexBounds{0, 10, 7}.intersect({0, 5, std::nullopt}), {0, 5, std::nullopt}));
  EXPECT_TRUE(same(IndexBounds{0, 10, -100}.intersect({-200, 5, std::nullopt}), {0, 5, -100}));
  EXPECT_TRUE(same(IndexBounds{0, 10, 3}.intersect({0, 5, -1}), {0, 5, std::nullopt}));
  EXPECT_TRUE(same(IndexBounds{0, 3, std::nullopt}.intersect({5, 9, 1}), {5, 5, 1}));
  // Brute force over small ranges: accepts(v) of the intersection never
  // exceeds both sides' (it may drop a second ignore value: stricter).
  for (int64_t lo1 = -2; lo1 < 3; ++lo1)
    for (int64_t hi1 = lo1; hi1 < 4; ++hi1)
      for (int64_t lo2 = -2; lo2 < 3; ++lo2)
        for (int64_t hi2 = lo2; hi2 < 4; ++hi2)
          for (int64_t ig : {-3, 0, 5}) {
            IndexBounds a{lo1, hi1, ig}, b{lo2, hi2, std::nullopt};
            IndexBounds both = a.intersect(b);
            for (int64_t v = -4; v < 7; ++v)
              EXPECT_EQ(both.accepts(v), a.accepts(v) && b.accepts(v))
                  << v << " in [" << lo1 << "," << hi1 << ")|" << ig << " and [" << lo2
                  << "," << hi2 << ")";
          }
}

TEST(CodegenMetadata, DoublesRoundTripBitExactly) {
  const std::vector<double> values = interesting_doubles(401);
  Emitted e;
  emit(model_with(values), e);
  llvm::Constant *meta = e.metadata->getInitializer();
  EXPECT_EQ(bits(as_double(field(meta, 8))), bits(values[0])) << values[0];
  llvm::Constant *tensors = pointee(field(meta, 5));
  size_t checked = 0;
  for (size_t i = 1; i + 1 < values.size(); i += 2) {
    llvm::Constant *init = field(field(tensors, static_cast<unsigned>(i / 2)), 5);
    for (unsigned j = 0; j < 2; ++j) {
      double back = as_double(field(field(init, 1), j));
      EXPECT_EQ(bits(back), bits(values[i + j])) << values[i + j];
      ++checked;
    }
  }
  EXPECT_EQ(checked, values.size() - 1);
}

TEST(CodegenMetadata, InitAttrRoundTripsBitExactly) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<kiln::nn::NNDialect>();
  for (double v : interesting_doubles(2000)) {
    if (!std::isfinite(v))
      continue;
    auto attr = kiln::nn::InitAttr::get(&ctx, kiln::nn::InitKind::normal, v, std::fabs(v));
    std::string text;
    llvm::raw_string_ostream os(text);
    mlir::Attribute(attr).print(os);
    auto back = llvm::dyn_cast_or_null<kiln::nn::InitAttr>(mlir::parseAttribute(os.str(), &ctx));
    ASSERT_TRUE(back) << text;
    kiln::InitSpec init = kiln::initSpecOf(back);
    EXPECT_EQ(init.kind, KILN_INIT_NORMAL);
    EXPECT_EQ(bits(init.args[0]), bits(v)) << text;
    EXPECT_EQ(bits(init.args[1]), bits(std::fabs(v))) << text;
  }
  EXPECT_EQ(kiln::initSpecOf({}).kind, KILN_INIT_ZEROS);
  auto ones = mlir::parseAttribute("#nn.init<ones>", &ctx);
  ASSERT_TRUE(ones);
  EXPECT_EQ(kiln::initSpecOf(llvm::cast<kiln::nn::InitAttr>(ones)).kind, KILN_INIT_ONES);
  mlir::ScopedDiagnosticHandler quiet(&ctx, [](mlir::Diagnostic &) { return mlir::success(); });
  for (const char *bad : {"#nn.init<>", "#nn.init<uniform 1>", "#nn.init<normal 0, x>",
                          "#nn.init<uniform 0, inf>", "#nn.init<gauss 0, 1>",
                          "#nn.init<zeros 1>", "#nn.init<uniform 2, 1>", "#nn.init<normal 0, -1>"})
    EXPECT_FALSE(mlir::parseAttribute(bad, &ctx)) << bad;
}

TEST(CodegenMetadata, KernelArgumentCountMustMatch) {
  kiln::ModelInterface m = model_with({0.5, 1, 2});
  Emitted e;
  emit(m, e);
  m.kernels[0].args.pop_back();
  llvm::Module other("rt", e.ctx);
  auto *ptr = llvm::PointerType::getUnqual(e.ctx);
  llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(e.ctx), {ptr, ptr}, false),
                         llvm::GlobalValue::ExternalLinkage, "rt__forward", other);
  std::string error;
  EXPECT_EQ(kiln::emitModelMetadata(other, m, error), nullptr);
  EXPECT_EQ(error, "kernel 'rt__forward' takes 2 arguments, the metadata lists 1");
}

} // namespace

// Second line of defence behind the importer's name checks (issue 7): a
// hostile name that reached the header writer could not close a comment or
// start a line of C.
// A model whose name starts with "const" once made every forwarder cast to
// `const kiln_model *`, and the header did not compile.
TEST(CodegenMetadata, HeaderCastsFollowTheParameterNotTheModelName) {
  for (const char *name : {"constant_pad", "const", "rt"}) {
    kiln::ModelInterface m = model_with({0.5, 1, 2});
    m.name = name;
    const std::string header = m.header(), p = name;
    EXPECT_NE(header.find("kiln_model_init_parameters((kiln_model *)model"), std::string::npos)
        << header;
    EXPECT_NE(header.find("kiln_model_get_step((const kiln_model *)model"), std::string::npos)
        << header;
    EXPECT_EQ(header.find("kiln_model_destroy((const kiln_model *)"), std::string::npos) << p;
  }
}

TEST(CodegenMetadata, HeaderCommentsNeverCarryHostileNames) {
  kiln::ModelInterface m = model_with({0.5, 1, 2});
  const std::string payload = "x*/\nstatic int pwn = __builtin_printf(\"INJECTED\");\n/*";
  m.tensors[0].name = payload;
  kiln::TensorSpec in;
  in.name = payload;
  in.dtype = "f32";
  in.shape = {2};
  in.role = KILN_ROLE_INPUT;
  m.tensors.push_back(in);
  std::string header = m.header();
  EXPECT_EQ(header.find("*/\nstatic int"), std::string::npos) << header;
  EXPECT_EQ(header.find("__builtin_printf(\""), std::string::npos) << header;
  EXPECT_NE(header.find("x???static?int?pwn"), std::string::npos) << header;
}
