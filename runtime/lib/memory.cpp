#include "error.h"

#include <cstdlib>
#include <string>

namespace {
constexpr size_t kAlignment = 64; // one cache line; the widest vector (AVX-512)

void note_out_of_memory(size_t bytes) {
  try {
    kiln::rt::set_thread_error(KILN_ERROR_OUT_OF_MEMORY,
                               "kiln_alloc: out of memory allocating " +
                                   std::to_string(bytes) + " bytes");
  } catch (...) {
    // Building the message itself failed; the NULL return still says it.
  }
}
} // namespace

/* Sizes are rounded up to a multiple of the alignment (aligned_alloc requires
 * it) and 0 gets one line, so every successful call returns a distinct
 * pointer that kiln_free accepts. On failure: NULL and kiln_last_error(). */
extern "C" void *kiln_alloc(size_t bytes) {
  if (bytes > SIZE_MAX - kAlignment) {
    note_out_of_memory(bytes);
    return nullptr;
  }
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0)
    rounded = kAlignment;
  void *ptr = std::aligned_alloc(kAlignment, rounded);
  if (!ptr)
    note_out_of_memory(bytes);
  return ptr;
}

extern "C" void kiln_free(void *ptr) { std::free(ptr); }
