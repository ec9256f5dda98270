/* kiln/data_parallel.h: torch.nn.DataParallel's use over the NCCL path.
 * Replica r is an instance on devices[r], attached to rank r of an NCCL
 * group made in this process (one thread per rank: NCCL's group creation
 * and every collective are collective calls, so the replicas' calls run
 * side by side). */
#include <kiln/comm_nccl.h>
#include <kiln/data_parallel.h>

#include "error.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace kiln::rt;

struct kiln_data_parallel {
  std::vector<kiln_model *> replicas;
  std::vector<kiln_comm *> comms;
  /* Per input, target, output: the bytes of one replica's part. */
  std::vector<size_t> input_bytes, output_bytes;
  size_t target_bytes = 0;
  mutable std::string last_error;

  ~kiln_data_parallel() {
    for (kiln_model *m : replicas)
      kiln_model_destroy(m);
    for (kiln_comm *c : comms)
      kiln_comm_destroy(c);
  }
};

namespace {

size_t tensor_bytes(const kiln_tensor_info &t) {
  size_t n = 1;
  for (int32_t d = 0; d < t.rank; ++d)
    n *= static_cast<size_t>(t.shape[d]);
  return n * (t.dtype == KILN_F32 ? 4 : 8);
}

kiln_status record(const kiln_data_parallel *dp, const Error &e) {
  if (dp && e)
    dp->last_error = e.message;
  return set_thread_error(e);
}

/* `call(r)` for every replica, each on a thread of its own (the replicas'
 * collectives meet), and the first failure by replica order. */
template <typename Call>
Error on_every_replica(size_t count, const char *what, Call call) {
  std::vector<Error> errors(count);
  std::vector<std::thread> threads;
  for (size_t r = 0; r < count; ++r)
    threads.emplace_back([&, r] { errors[r] = call(static_cast<int>(r)); });
  for (std::thread &t : threads)
    t.join();
  for (size_t r = 0; r < count; ++r)
    if (errors[r])
      return fail(errors[r].status,
                  std::string(what) + ": replica " + std::to_string(r) + ": " + errors[r].message);
  return {};
}

Error status_error(kiln_status s, const kiln_model *m) {
  if (s == KILN_OK)
    return {};
  return fail(s, m ? kiln_model_last_error(m) : kiln_last_error());
}

/* Replica r's part of a host batch whose parts are `bytes` long. */
const void *part(const void *base, size_t bytes, int r) {
  return static_cast<const char *>(base) + bytes * static_cast<size_t>(r);
}

} // namespace

extern "C" {

kiln_status kiln_data_parallel_create(const kiln_model_metadata *metadata, int num_devices,
                                      const int *devices, uint64_t seed,
                                      double timeout_seconds, kiln_data_parallel **out) {
  KILN_API_GUARD_BEGIN
  const std::string function = "kiln_data_parallel_create";
  if (!out)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, function + ": out is NULL");
  *out = nullptr;
  if (!metadata || !devices || num_devices < 1)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            function + ": metadata, devices or num_devices (" +
                                std::to_string(num_devices) + ") missing");
  for (int i = 0; i < num_devices; ++i)
    for (int j = 0; j < i; ++j)
      if (devices[i] == devices[j])
        return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                                function + ": device " + std::to_string(devices[i]) +
                                    " twice (one replica per GPU: NCCL allows no more)");
  if (metadata->device != KILN_DEVICE_CUDA)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            function + ": the model is not compiled for CUDA (kilnc "
                                       "--target=cuda --data-parallel)");
  auto dp = std::make_unique<kiln_data_parallel>();
  const size_t n = static_cast<size_t>(num_devices);
  dp->replicas.assign(n, nullptr);
  dp->comms.assign(n, nullptr);
  for (size_t r = 0; r < n; ++r)
    if (kiln_status s = kiln_model_create_on_device(metadata, devices[r], &dp->replicas[r]))
      return set_thread_error(s, function + ": replica " + std::to_string(r) + ": " +
                                     kiln_last_error());
  // The metadata is valid now (create read it): its flags say how it was
  // compiled, before any NCCL group is joined.
  if (n > 1 && !(metadata->flags & KILN_MODEL_DATA_PARALLEL))
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            function + ": the model was compiled without --data-parallel, so "
                                       "its replicas would train apart (kilnc --target=cuda "
                                       "--data-parallel)");
  for (int32_t t = 0; t < metadata->num_tensors; ++t) {
    const kiln_tensor_info &info = metadata->tensors[t];
    if (info.role == KILN_ROLE_INPUT)
      dp->input_bytes.push_back(tensor_bytes(info));
    else if (info.role == KILN_ROLE_OUTPUT)
      dp->output_bytes.push_back(tensor_bytes(info));
    else if (info.role == KILN_ROLE_TARGET)
      dp->target_bytes = tensor_bytes(info);
  }
  if (kiln_status s = kiln_model_init_parameters(dp->replicas[0], seed))
    return set_thread_error(s, function + ": " + kiln_model_last_error(dp->replicas[0]));
  kiln_nccl_id id;
  if (kiln_status s = kiln_nccl_id_create(&id))
    return set_thread_error(s, function + ": " + kiln_last_error());
  // Joining the group and attaching (rank 0's parameters and buffers to
  // every replica) are collective: one thread per replica.
  Error e = on_every_replica(n, function.c_str(), [&](int r) {
    if (kiln_status s = kiln_comm_create_nccl(&id, r, num_devices, devices[r], timeout_seconds,
                                              &dp->comms[r]))
      return status_error(s, nullptr);
    return status_error(kiln_model_attach_comm(dp->replicas[r], dp->comms[r]),
                        dp->replicas[r]);
  });
  if (e)
    return set_thread_error(e);
  *out = dp.release();
  return KILN_OK;
  KILN_API_GUARD_END(set_thread_error)
}

void kiln_data_parallel_destroy(kiln_data_parallel *dp) { delete dp; }

int kiln_data_parallel_num_replicas(const kiln_data_parallel *dp) {
  return dp ? static_cast<int>(dp->replicas.size()) : 0;
}

kiln_model *kiln_data_parallel_replica(kiln_data_parallel *dp, int index) {
  if (!dp || index < 0 || static_cast<size_t>(index) >= dp->replicas.size())
    return nullptr;
  return dp->replicas[static_cast<size_t>(index)];
}

kiln_status kiln_data_parallel_sync(kiln_data_parallel *dp) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_data_parallel_sync";
  if (!dp)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, std::string(function) + ": dp is NULL");
  if (dp->replicas.size() == 1)
    return KILN_OK;
  // Through a checkpoint file: it holds exactly the state a replica has.
  const char *tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/kiln-data-parallel-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0)
    return record(dp, fail(KILN_ERROR_IO, std::string(function) + ": cannot make a file in " +
                                              path));
  close(fd);
  Error e = status_error(kiln_model_save_checkpoint(dp->replicas[0], path.c_str()),
                         dp->replicas[0]);
  for (size_t r = 1; r < dp->replicas.size() && !e; ++r)
    e = status_error(kiln_model_load_checkpoint(dp->replicas[r], path.c_str()),
                     dp->replicas[r]);
  std::remove(path.c_str());
  return record(dp, e ? fail(e.status, std::string(function) + ": " + e.message) : e);
  KILN_API_GUARD_END(set_thread_error)
}

kiln_status kiln_data_parallel_train_step(kiln_data_parallel *dp, const void *const *inputs,
                                          const void *target, float *loss) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_data_parallel_train_step";
  if (!dp || !inputs || !loss)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            std::string(function) + ": dp, inputs or loss is NULL");
  const size_t n = dp->replicas.size();
  std::vector<float> losses(n, 0);
  Error e = on_every_replica(n, function, [&](int r) {
    std::vector<const void *> mine(dp->input_bytes.size());
    for (size_t i = 0; i < mine.size(); ++i)
      mine[i] = inputs[i] ? part(inputs[i], dp->input_bytes[i], r) : nullptr;
    const void *t = target ? part(target, dp->target_bytes, r) : nullptr;
    kiln_model *m = dp->replicas[static_cast<size_t>(r)];
    return status_error(kiln_model_train_step(m, mine.data(), t, &losses[static_cast<size_t>(r)]),
                        m);
  });
  if (e)
    return record(dp, e);
  double sum = 0;
  for (float l : losses)
    sum += l;
  *loss = static_cast<float>(sum / static_cast<double>(n));
  return KILN_OK;
  KILN_API_GUARD_END(set_thread_error)
}

kiln_status kiln_data_parallel_forward(kiln_data_parallel *dp, const void *const *inputs,
                                       void *const *outputs) {
  KILN_API_GUARD_BEGIN
  const char *function = "kiln_data_parallel_forward";
  if (!dp || !inputs || !outputs)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            std::string(function) + ": dp, inputs or outputs is NULL");
  Error e = on_every_replica(dp->replicas.size(), function, [&](int r) {
    std::vector<const void *> mine(dp->input_bytes.size());
    for (size_t i = 0; i < mine.size(); ++i)
      mine[i] = inputs[i] ? part(inputs[i], dp->input_bytes[i], r) : nullptr;
    std::vector<void *> theirs(dp->output_bytes.size());
    for (size_t o = 0; o < theirs.size(); ++o)
      theirs[o] = outputs[o] ? const_cast<void *>(part(outputs[o], dp->output_bytes[o], r))
                             : nullptr;
    kiln_model *m = dp->replicas[static_cast<size_t>(r)];
    return status_error(kiln_model_forward(m, mine.data(), theirs.data()), m);
  });
  return record(dp, e);
  KILN_API_GUARD_END(set_thread_error)
}

const char *kiln_data_parallel_last_error(const kiln_data_parallel *dp) {
  return dp ? dp->last_error.c_str() : kiln_last_error();
}

} // extern "C"
