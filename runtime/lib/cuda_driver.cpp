#include "cuda_driver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace kiln::rt::cuda {
namespace {

const char kDriverLibrary[] = "libcuda.so.1";

/* __FILE__ without its directories, for messages. */
const char *base_name(const char *path) {
  const char *slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

std::string dl_error() {
  const char *message = dlerror();
  return message ? message : "unknown dlopen error";
}

/* Resolves `name` into `*slot`; false (and the name in *missing) when the
 * library lacks it. */
template <typename Fn>
bool resolve(void *library, const char *name, Fn *slot, std::string *missing) {
  void *symbol = dlsym(library, name);
  if (!symbol) {
    if (missing->empty())
      *missing = name;
    return false;
  }
  *slot = reinterpret_cast<Fn>(symbol);
  return true;
}

struct DriverLoad {
  Driver driver{};
  Error error;
};

/* Loads libcuda.so.1 and calls cuInit. The library stays loaded for the
 * life of the process (drivers do not support being unloaded). */
DriverLoad load_driver_once() {
  DriverLoad load;
  void *library = dlopen(kDriverLibrary, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    load.error = fail(KILN_ERROR_UNSUPPORTED,
                      std::string("CUDA driver ") + kDriverLibrary + " not found: " + dl_error());
    return load;
  }
  Driver &d = load.driver;
  std::string missing;
#define KILN_RESOLVE(fn) resolve(library, #fn, &d.fn, &missing)
  KILN_RESOLVE(cuInit);
  KILN_RESOLVE(cuDriverGetVersion);
  KILN_RESOLVE(cuGetErrorName);
  KILN_RESOLVE(cuGetErrorString);
  KILN_RESOLVE(cuDeviceGetCount);
  KILN_RESOLVE(cuDeviceGet);
  KILN_RESOLVE(cuDeviceGetName);
  KILN_RESOLVE(cuDeviceGetAttribute);
  KILN_RESOLVE(cuDeviceTotalMem_v2);
  KILN_RESOLVE(cuDevicePrimaryCtxRetain);
  KILN_RESOLVE(cuDevicePrimaryCtxRelease_v2);
  KILN_RESOLVE(cuCtxPushCurrent_v2);
  KILN_RESOLVE(cuCtxPopCurrent_v2);
  KILN_RESOLVE(cuStreamCreate);
  KILN_RESOLVE(cuStreamDestroy_v2);
  KILN_RESOLVE(cuStreamSynchronize);
  KILN_RESOLVE(cuStreamWaitEvent);
  KILN_RESOLVE(cuStreamQuery);
  KILN_RESOLVE(cuEventCreate);
  KILN_RESOLVE(cuEventDestroy_v2);
  KILN_RESOLVE(cuEventRecord);
  KILN_RESOLVE(cuMemAlloc_v2);
  KILN_RESOLVE(cuMemFree_v2);
  KILN_RESOLVE(cuMemsetD8Async);
  KILN_RESOLVE(cuMemcpyHtoDAsync_v2);
  KILN_RESOLVE(cuMemcpyDtoHAsync_v2);
  KILN_RESOLVE(cuMemcpyDtoDAsync_v2);
  KILN_RESOLVE(cuModuleLoadDataEx);
  KILN_RESOLVE(cuModuleUnload);
  KILN_RESOLVE(cuModuleGetFunction);
  KILN_RESOLVE(cuLaunchKernel);
#undef KILN_RESOLVE
  if (!missing.empty()) {
    load.error = fail(KILN_ERROR_UNSUPPORTED, std::string("CUDA driver ") + kDriverLibrary +
                                                  " lacks " + missing + " (driver too old)");
    return load;
  }
  CUresult result = d.cuInit(0);
  if (result == CUDA_ERROR_NO_DEVICE) {
    load.error = check(d, result, "cuInit", __FILE__, __LINE__);
    load.error.status = KILN_ERROR_UNSUPPORTED;
    load.error.message = "no CUDA device: " + load.error.message;
  } else if (result != CUDA_SUCCESS) {
    load.error = check(d, result, "cuInit", __FILE__, __LINE__);
    load.error.status = KILN_ERROR_UNSUPPORTED;
    load.error.message = "CUDA driver " + std::string(kDriverLibrary) +
                         " failed to initialise: " + load.error.message;
  }
  return load;
}

struct CublasLoad {
  Cublas cublas{};
  Error error;
};

CublasLoad load_cublas_once() {
  CublasLoad load;
  std::string tried;
  void *library = nullptr;
  const char *env = std::getenv("KILN_CUBLAS_PATH");
  const char *names[] = {env && *env ? env : nullptr, "libcublas.so.13", "libcublas.so"};
  for (const char *name : names) {
    if (!name)
      continue;
    library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library)
      break;
    tried += (tried.empty() ? "" : "; ") + dl_error();
  }
  if (!library) {
    load.error = fail(KILN_ERROR_UNSUPPORTED,
                      "cuBLAS not found (set KILN_CUBLAS_PATH to libcublas.so): " + tried);
    return load;
  }
  Cublas &c = load.cublas;
  std::string missing;
#define KILN_RESOLVE(fn) resolve(library, #fn, &c.fn, &missing)
  KILN_RESOLVE(cublasCreate_v2);
  KILN_RESOLVE(cublasDestroy_v2);
  KILN_RESOLVE(cublasSetStream_v2);
  KILN_RESOLVE(cublasSetMathMode);
  KILN_RESOLVE(cublasSgemm_v2);
  KILN_RESOLVE(cublasSgemmStridedBatched);
  if (!missing.empty()) {
    load.error = fail(KILN_ERROR_UNSUPPORTED, "cuBLAS lacks " + missing + " (too old)");
    return load;
  }
  // Optional: status names in messages (cuBLAS 11.4+).
  KILN_RESOLVE(cublasGetStatusName);
  KILN_RESOLVE(cublasGetStatusString);
#undef KILN_RESOLVE
  return load;
}

kiln_status status_of(CUresult result) {
  switch (result) {
  case CUDA_ERROR_OUT_OF_MEMORY:
    return KILN_ERROR_OUT_OF_MEMORY;
  case CUDA_ERROR_INVALID_IMAGE:
  case CUDA_ERROR_INVALID_PTX:
  case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
  case CUDA_ERROR_NO_BINARY_FOR_GPU:
    return KILN_ERROR_FORMAT;
  case CUDA_ERROR_INVALID_VALUE:
  case CUDA_ERROR_INVALID_DEVICE:
  case CUDA_ERROR_NOT_FOUND:
    return KILN_ERROR_INVALID_ARGUMENT;
  case CUDA_ERROR_NO_DEVICE:
    return KILN_ERROR_UNSUPPORTED;
  default:
    return KILN_ERROR_DEVICE;
  }
}

} // namespace

Error load_driver(const Driver **driver) {
  static const DriverLoad load = load_driver_once(); // thread-safe, once
  *driver = load.error ? nullptr : &load.driver;
  return load.error;
}

Error load_cublas(const Cublas **cublas) {
  static const CublasLoad load = load_cublas_once();
  *cublas = load.error ? nullptr : &load.cublas;
  return load.error;
}

Error check(const Driver &driver, CUresult result, const char *call, const char *file,
            int line) {
  if (result == CUDA_SUCCESS)
    return Error{};
  const char *name = nullptr, *description = nullptr;
  if (driver.cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    name = nullptr;
  if (driver.cuGetErrorString(result, &description) != CUDA_SUCCESS || !description)
    description = nullptr;
  // The toolkit's stub libcuda (a build machine's, found instead of a
  // driver) names no error: say what it is.
  if (!name && result == CUDA_ERROR_STUB_LIBRARY) {
    name = "CUDA_ERROR_STUB_LIBRARY";
    description = "the CUDA toolkit's stub libcuda was loaded, not a driver";
  }
  if (!name)
    name = "unknown CUDA error";
  if (!description)
    description = "no description";
  return fail(status_of(result), std::string(call) + " (" + base_name(file) + ":" +
                                     std::to_string(line) + "): " + name + " " +
                                     std::to_string(result) + " (" + description + ")");
}

Error check_cublas(const Cublas &cublas, cublasStatus_t status, const char *call,
                   const char *file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS)
    return Error{};
  const char *name = cublas.cublasGetStatusName ? cublas.cublasGetStatusName(status) : nullptr;
  const char *description =
      cublas.cublasGetStatusString ? cublas.cublasGetStatusString(status) : nullptr;
  std::string message = std::string(call) + " (" + base_name(file) + ":" +
                        std::to_string(line) + "): " + (name ? name : "cuBLAS status") +
                        " " + std::to_string(status);
  if (description)
    message += std::string(" (") + description + ")";
  kiln_status kind = status == CUBLAS_STATUS_ALLOC_FAILED     ? KILN_ERROR_OUT_OF_MEMORY
                     : status == CUBLAS_STATUS_INVALID_VALUE ? KILN_ERROR_INVALID_ARGUMENT
                                                             : KILN_ERROR_DEVICE;
  return fail(kind, std::move(message));
}

} // namespace kiln::rt::cuda
