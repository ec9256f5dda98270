#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <chrono>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace {

/* Restores the pool size after each test so tests stay independent. */
class RuntimeParallelFor : public ::testing::Test {
protected:
  void SetUp() override { saved_ = kiln_get_num_threads(); }
  void TearDown() override { kiln_set_num_threads(saved_); }
  int saved_ = 1;
};

struct Coverage {
  std::vector<std::atomic<int>> hits;
  std::atomic<int> chunks{0};
  std::atomic<bool> bad_chunk{false};
  explicit Coverage(int64_t n) : hits(static_cast<size_t>(n)) {}
};

void cover(int64_t begin, int64_t end, void *ctx) {
  auto *c = static_cast<Coverage *>(ctx);
  if (begin >= end || begin < 0 || end > static_cast<int64_t>(c->hits.size()))
    c->bad_chunk = true;
  c->chunks++;
  for (int64_t i = begin; i < end; ++i)
    c->hits[static_cast<size_t>(i)]++;
}

void expect_covered_once(const Coverage &c) {
  for (size_t i = 0; i < c.hits.size(); ++i)
    ASSERT_EQ(c.hits[i].load(), 1) << "index " << i;
  EXPECT_FALSE(c.bad_chunk.load());
}

TEST_F(RuntimeParallelFor, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 4, 8}) {
    ASSERT_EQ(kiln_set_num_threads(threads), KILN_OK);
    ASSERT_EQ(kiln_get_num_threads(), threads);
    for (int64_t n : {0, 1, 2, 7, 8, 9, 1000, 100003}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " n " + std::to_string(n));
      Coverage c(n);
      kiln_parallel_for(n, cover, &c);
      expect_covered_once(c);
      // At most one contiguous chunk per thread, and all of them in use.
      EXPECT_EQ(c.chunks.load(), std::min<int64_t>(n, threads));
    }
  }
}

TEST_F(RuntimeParallelFor, NonPositiveCountDoesNothing) {
  int calls = 0;
  auto body = [](int64_t, int64_t, void *ctx) { ++*static_cast<int *>(ctx); };
  kiln_parallel_for(0, body, &calls);
  kiln_parallel_for(-5, body, &calls);
  EXPECT_EQ(calls, 0);
}

struct Nested {
  int64_t inner;
  std::vector<std::atomic<int>> hits;
};

void nested_outer(int64_t begin, int64_t end, void *ctx) {
  auto *n = static_cast<Nested *>(ctx);
  for (int64_t i = begin; i < end; ++i) {
    struct Inner {
      Nested *n;
      int64_t row;
    } inner{n, i};
    kiln_parallel_for(
        n->inner,
        [](int64_t b, int64_t e, void *c) {
          auto *in = static_cast<Inner *>(c);
          for (int64_t j = b; j < e; ++j)
            in->n->hits[static_cast<size_t>(in->row * in->n->inner + j)]++;
        },
        &inner);
  }
}

TEST_F(RuntimeParallelFor, NestedCallsRunInline) {
  for (int threads : {1, 4}) {
    ASSERT_EQ(kiln_set_num_threads(threads), KILN_OK);
    Nested n{100, std::vector<std::atomic<int>>(8 * 100)};
    kiln_parallel_for(8, nested_outer, &n);
    for (size_t i = 0; i < n.hits.size(); ++i)
      ASSERT_EQ(n.hits[i].load(), 1) << i;
  }
}

TEST_F(RuntimeParallelFor, ConcurrentCallersAreSerialised) {
  ASSERT_EQ(kiln_set_num_threads(4), KILN_OK);
  std::atomic<bool> failed{false};
  std::vector<std::thread> users;
  for (int u = 0; u < 4; ++u)
    users.emplace_back([&failed, u] {
      for (int iter = 0; iter < 200; ++iter) {
        Coverage c(97 + u);
        kiln_parallel_for(static_cast<int64_t>(c.hits.size()), cover, &c);
        for (auto &h : c.hits)
          if (h.load() != 1)
            failed = true;
      }
    });
  for (std::thread &t : users)
    t.join();
  EXPECT_FALSE(failed.load());
}

TEST_F(RuntimeParallelFor, ManySmallLoops) {
  // The pattern of a training step: thousands of short loops back to back.
  ASSERT_EQ(kiln_set_num_threads(3), KILN_OK);
  std::atomic<int64_t> sum{0};
  for (int iter = 0; iter < 20000; ++iter)
    kiln_parallel_for(
        16,
        [](int64_t b, int64_t e, void *ctx) {
          *static_cast<std::atomic<int64_t> *>(ctx) += e - b;
        },
        &sum);
  EXPECT_EQ(sum.load(), 20000 * 16);
}

double process_cpu_seconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval &t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

TEST_F(RuntimeParallelFor, IdleWorkersSleep) {
  ASSERT_EQ(kiln_set_num_threads(4), KILN_OK);
  Coverage c(1000);
  kiln_parallel_for(1000, cover, &c);
  std::this_thread::sleep_for(std::chrono::milliseconds(20)); // past the spin
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Three spinning workers would burn ~0.9 s of CPU here.
  EXPECT_LT(process_cpu_seconds() - before, 0.05);
}

TEST_F(RuntimeParallelFor, ResizeBetweenLoops) {
  for (int threads : {2, 5, 1, 3, 8, 2}) {
    ASSERT_EQ(kiln_set_num_threads(threads), KILN_OK);
    Coverage c(1000);
    kiln_parallel_for(1000, cover, &c);
    expect_covered_once(c);
  }
}

TEST_F(RuntimeParallelFor, SetNumThreadsValidates) {
  EXPECT_EQ(kiln_set_num_threads(0), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("kiln_set_num_threads"), std::string::npos);
  EXPECT_EQ(kiln_set_num_threads(-3), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_get_num_threads(), saved_);

  // Resizing from inside a loop would deadlock; it is refused instead.
  ASSERT_EQ(kiln_set_num_threads(2), KILN_OK);
  std::atomic<int> refused{0};
  kiln_parallel_for(
      2,
      [](int64_t, int64_t, void *ctx) {
        if (kiln_set_num_threads(3) == KILN_ERROR_INVALID_ARGUMENT)
          ++*static_cast<std::atomic<int> *>(ctx);
      },
      &refused);
  EXPECT_EQ(refused.load(), 2);
  EXPECT_EQ(kiln_get_num_threads(), 2);
}

TEST(RuntimeParallelForDeathTest, EnvironmentSetsThreadCount) {
  // "threadsafe" re-executes the binary for the child, so the child's pool is
  // created fresh and reads the variable.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  setenv("KILN_NUM_THREADS", "3", 1);
  EXPECT_EXIT(
      {
        Coverage c(10);
        kiln_parallel_for(10, cover, &c);
        bool ok = kiln_get_num_threads() == 3 && c.chunks.load() == 3;
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  unsetenv("KILN_NUM_THREADS");
}

// docs/reliability.md: a value that is not an integer in [1, 1024] cannot be
// reported (no call fails), so the pool takes the hardware's thread count,
// exactly as when the variable is unset.
TEST(RuntimeParallelForDeathTest, MalformedEnvironmentMeansHardwareDefault) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const unsigned hw = std::thread::hardware_concurrency();
  const int expected = hw == 0 ? 1 : static_cast<int>(std::min(hw, 1024u));
  for (const char *value : {"0", "-2", "3x", "", "1025", "99999999999999999999", "0x10"}) {
    setenv("KILN_NUM_THREADS", value, 1);
    EXPECT_EXIT(std::exit(kiln_get_num_threads() == expected ? 0 : 1),
                ::testing::ExitedWithCode(0), "")
        << "KILN_NUM_THREADS='" << value << "'";
  }
  unsetenv("KILN_NUM_THREADS");
}

TEST(RuntimeMemory, AlignedAndFreeable) {
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{1000}, size_t{1} << 20}) {
    void *p = kiln_alloc(bytes);
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << bytes;
    kiln_free(p);
  }
  kiln_free(nullptr);
  EXPECT_EQ(kiln_alloc(SIZE_MAX), nullptr);
  EXPECT_NE(std::string(kiln_last_error()).find("out of memory"), std::string::npos);
}

} // namespace
