// Random model inputs for the compiled-model tests (model_*_test.cpp).
#ifndef KILN_TESTS_UNIT_RANDOM_INPUTS_H
#define KILN_TESTS_UNIT_RANDOM_INPUTS_H

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

/* n samples of N(0, 1) from a generator seeded with `seed`. */
inline std::vector<float> normal_floats(size_t n, unsigned seed) {
  std::vector<float> x(n);
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal;
  for (float &v : x)
    v = normal(gen);
  return x;
}

/* One batch of a classifier with one input: x_numel samples of N(0, 1),
 * then `rows` class indices uniform in [0, classes), drawn in that order
 * from one generator seeded with `seed`; inputs() is the pointer array a
 * train step takes. */
struct ClassificationBatch {
  std::vector<float> x;
  std::vector<int64_t> target;
  ClassificationBatch(size_t x_numel, size_t rows, int64_t classes,
                      unsigned seed)
      : x(x_numel), target(rows) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<int64_t> cls(0, classes - 1);
    for (float &v : x)
      v = normal(gen);
    for (int64_t &v : target)
      v = cls(gen);
  }
  const void *const *inputs() {
    ptr[0] = x.data();
    return ptr;
  }

private:
  const void *ptr[1];
};

#endif // KILN_TESTS_UNIT_RANDOM_INPUTS_H
