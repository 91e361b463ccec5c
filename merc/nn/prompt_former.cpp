#include "merc/nn/prompt_former.h"

#include <ostream>

namespace merc::nn {

namespace {
constexpr double kNormFloor = 1e-12;      // F.normalize's floor: only matters for all-zero vectors
constexpr double kMaskedRowTerm = -1e4;   // the reference's (1 - mask) * -10000.0
}  // namespace

torch::Tensor cosine_similarity_matrix(const torch::Tensor& a, const torch::Tensor& b) {
  const auto an = a / a.norm(2, 1, true).clamp_min(kNormFloor);
  const auto bn = b / b.norm(2, 1, true).clamp_min(kNormFloor);
  return torch::mm(an, bn.t());
}

PromptFormerImpl::PromptFormerImpl(PromptFormerOptions options_) : options(options_) { reset(); }

void PromptFormerImpl::reset() {
  TORCH_CHECK(options.seq_len() > 0 && options.dim() > 0 && options.num_prototypes() > 0 && options.prompt_dim() > 0,
              "PromptFormer: seq_len, dim, num_prototypes and prompt_dim must be positive");
  if (options.make_prototypes())
    proj_n = register_module("proj_n", GeluMlp(GeluMlpOptions(options.seq_len(), options.num_prototypes(),
                                                              options.num_prototypes())
                                                   .dropout(options.dropout())));
  proj_d = register_module(
      "proj_d",
      GeluMlp(GeluMlpOptions(options.dim(), options.prompt_dim(), options.prompt_dim()).dropout(options.dropout())));
  proj_prompt = register_module("proj_prompt", torch::nn::Linear(options.dim(), options.prompt_dim()));
}

void PromptFormerImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::PromptFormer(seq_len=" << options.seq_len() << ", dim=" << options.dim()
         << ", num_prototypes=" << options.num_prototypes() << ", prompt_dim=" << options.prompt_dim()
         << ", make_prototypes=" << options.make_prototypes() << ")";
}

torch::Tensor PromptFormerImpl::make_prototypes(const torch::Tensor& x) {
  TORCH_CHECK(proj_n, "PromptFormer: this former re-uses prototypes (make_prototypes = false)");
  TORCH_CHECK(x.dim() == 3 && x.size(1) == options.seq_len() && x.size(2) == options.dim(),
              "PromptFormer: expected x (B, ", options.seq_len(), ", ", options.dim(), "), got ", x.sizes());
  return proj_n(x.transpose(1, 2)).transpose(1, 2);  // (B, D, S) -> (B, D, K) -> (B, K, D)
}

torch::Tensor PromptFormerImpl::prompt(const torch::Tensor& x, const torch::Tensor& mask,
                                       const torch::Tensor& prototypes) {
  const int64_t B = x.size(0), S = x.size(1), D = options.dim();
  TORCH_CHECK(x.dim() == 3 && S == options.seq_len() && x.size(2) == D, "PromptFormer: expected x (B, ",
              options.seq_len(), ", ", D, "), got ", x.sizes());
  TORCH_CHECK(mask.dim() == 2 && mask.size(0) == B && mask.size(1) == S, "PromptFormer: expected mask (", B, ", ", S,
              "), got ", mask.sizes());
  TORCH_CHECK(prototypes.dim() == 3 && prototypes.size(0) == B && prototypes.size(2) == D,
              "PromptFormer: expected prototypes (", B, ", K, ", D, "), got ", prototypes.sizes());
  const auto flat_proto = prototypes.reshape({-1, D});                                // (B*K, D)
  auto sim = cosine_similarity_matrix(x.reshape({-1, D}), flat_proto);                // (B*S, B*K)
  if (options.row_mask_term()) {
    // Time-major read of the mask, one constant per row (see the header): no masking, only rounding.
    const auto rows = mask.transpose(0, 1).reshape({-1}).to(sim.scalar_type());     // (S*B)
    sim = sim + ((1.0 - rows) * kMaskedRowTerm).unsqueeze(1);
  }
  const auto attn = torch::softmax(sim, 1);
  const auto mixed = torch::mm(attn, flat_proto).reshape({B, S, D});
  return proj_d(mixed) + proj_prompt(x);
}

PromptFormerOutput PromptFormerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  PromptFormerOutput out;
  out.prototypes = make_prototypes(x);
  out.prompt = prompt(x, mask, out.prototypes);
  return out;
}

}  // namespace merc::nn
