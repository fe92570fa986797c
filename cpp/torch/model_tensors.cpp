// Hands the named parameters and buffers of a TorchScript module to Rust, so that the
// native evaluator (src/native/) takes its weights from the same .pth file that
// the TorchScript path runs. tch exposes parameters but not buffers (the descriptor
// statistics and energy biases are buffers).

#include <torch/script.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

extern "C" {
typedef void (*llzo_dp_tensor_sink)(void *ctx, const char *name, const double *data,
                                    const int64_t *shape, size_t ndim);

int llzo_dp_module_tensors(const char *path, llzo_dp_tensor_sink sink, void *ctx, char *message,
                           size_t capacity) {
  try {
    torch::jit::Module module = torch::jit::load(path, torch::kCPU);
    auto emit = [&](const std::string &name, const at::Tensor &value) {
      at::Tensor t = value.detach().to(torch::kCPU).to(torch::kDouble).contiguous();
      std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
      sink(ctx, name.c_str(), t.numel() ? t.data_ptr<double>() : nullptr, shape.data(), shape.size());
    };
    for (const auto &p : module.named_parameters(true)) emit(p.name, p.value);
    for (const auto &b : module.named_buffers(true)) emit(b.name, b.value);
    return 0;
  } catch (const std::exception &e) {
    std::snprintf(message, capacity, "%s", e.what());
    return 1;
  }
}
}
