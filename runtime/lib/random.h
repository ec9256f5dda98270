#ifndef KILN_RUNTIME_LIB_RANDOM_H
#define KILN_RUNTIME_LIB_RANDOM_H

#include "metadata.h"

#include <cstdint>

namespace kiln::rt {

/* xoshiro256** seeded through splitmix64. Streams are keyed by (seed, domain,
 * index) so each tensor's values depend only on the seed and its own position
 * in the metadata: adding a parameter does not shift the others. */
class Rng {
public:
  Rng(uint64_t seed, uint64_t domain, uint64_t index);
  uint64_t next();
  /* Uniform in [0, 1) with 53 random bits. */
  double uniform01();

private:
  uint64_t s_[4];
};

enum : uint64_t { kParameterStream = 0, kStateStream = 1, kBufferStream = 2 };

/* Fills dst[0, n) from init: uniform in [LO, HI) (as f32), normal by
 * Box–Muller, or constant. */
void fill_init(const Init &init, Rng &rng, float *dst, int64_t n);

} // namespace kiln::rt

#endif
