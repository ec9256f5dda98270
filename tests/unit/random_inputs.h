// Random model inputs for the compiled-model tests (model_*_test.cpp).
#ifndef KILN_TESTS_UNIT_RANDOM_INPUTS_H
#define KILN_TESTS_UNIT_RANDOM_INPUTS_H

#include <cstddef>
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

#endif // KILN_TESTS_UNIT_RANDOM_INPUTS_H
