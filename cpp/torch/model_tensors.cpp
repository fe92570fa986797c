// The named parameters and buffers of a TorchScript module, for the native evaluator
// (src/model/native/), which takes its weights from the same .pth file that the TorchScript
// path runs. tch exposes parameters but not buffers (the descriptor statistics and energy
// biases are buffers). Values arrive as float64; `dtype` says what the module holds, so that
// the loader can tell a float64 model from a float32 one whatever its definition says.

#include "extensions.h"
#include "llzo_dp/src/ffi/torch.rs.h"

#include <torch/script.h>

#include <string>

rust::Vec<llzo_dp::torch_ext::NamedTensor> llzo_dp::torch_ext::module_tensors(rust::Str path) {
  torch::jit::Module module = torch::jit::load(std::string(path), torch::kCPU);
  rust::Vec<NamedTensor> out;
  auto emit = [&](const std::string &name, const at::Tensor &value) {
    at::Tensor t = value.detach().to(torch::kCPU).to(torch::kDouble).contiguous();
    NamedTensor nt;
    nt.name = name;
    nt.dtype = std::string(c10::toString(value.scalar_type()));
    for (int64_t s : t.sizes()) nt.shape.push_back(s);
    const double *data = t.numel() ? t.data_ptr<double>() : nullptr;
    nt.values.reserve(t.numel());
    for (int64_t k = 0; k < t.numel(); k++) nt.values.push_back(data[k]);
    out.push_back(std::move(nt));
  };
  for (const auto &p : module.named_parameters(true)) emit(p.name, p.value);
  for (const auto &b : module.named_buffers(true)) emit(b.name, b.value);
  return out;
}
