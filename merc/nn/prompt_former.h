#pragma once
// PromptFormer: ComP's prompt generator (He, Zhu, Zhang, AAAI 2026, "Cross-modal Prompting for
// Balanced Incomplete Multi-modal Emotion Recognition", §"Progressive Prompt Generation";
// public code WenjueHE/2026-AAAI-ComP ComP/model.py, PromptFormer / PromptFormer_2).
//
// For one modality's features x (B, S, D) padded to the FIXED length S = seq_len:
//
//   prototypes  Pi = Mlp_n(x^T)^T                    Mlp_n: Linear(S -> K) -> GELU -> Dropout ->
//                                                    Linear(K -> K) -> Dropout, over the TIME axis
//                                                    -> (B, K, D)
//   similarity  Z  = cos(x_r, Pi_c)                  every token r of the batch (B*S rows) against
//                                                    every prototype c of EVERY dialogue (B*K columns)
//               Z  = Z + (1 - m_r) * (-1e4)           row term, see below
//   attention   A  = softmax over the B*K columns
//   prompt         = Mlp_d(A Pi) + Linear(D -> P)(x)  Mlp_d: Linear(D -> P) -> GELU -> Dropout ->
//                                                    Linear(P -> P) -> Dropout; -> (B, S, P)
//
// Round 1 (PromptFormer) makes the prototypes from its input; round 2 (PromptFormer_2) re-uses
// round 1's prototypes with its own Mlp_d and Linear (make_prototypes = false: the reference also
// builds an Mlp_n in PromptFormer_2 that its forward never calls; merc does not build it).
//
// Reproduced quirks (method_reference.md §5.2):
//  * Prototypes are a Linear over the time axis, so S must equal seq_len: callers pad every batch.
//  * The similarity compares with the prototypes of all dialogues in the batch, not only the
//    token's own dialogue.
//  * The "mask" term adds one constant to a whole row, which softmax ignores: it does NOT mask. It
//    is also read in time-major order (row b*S + t receives the mask of flat index b*S + t of the
//    (S, B) transposed mask) as in the reference. Its only effect is float32 rounding: a row that
//    received -1e4 has its cosines rounded to the float spacing near 1e4 (2^-10). row_mask_term
//    = false drops the term (no rounding).
//  * Cosines divide by the norms; merc clamps a norm at 1e-12 (the reference divides by 0 for an
//    all-zero vector, giving NaN).

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/nn/gelu_mlp.h"

namespace merc::nn {

struct PromptFormerOptions {
  PromptFormerOptions(int64_t seq_len, int64_t dim) : seq_len_(seq_len), dim_(dim) {}
  TORCH_ARG(int64_t, seq_len);             // S: the fixed padded length
  TORCH_ARG(int64_t, dim);                 // D: feature width
  TORCH_ARG(int64_t, num_prototypes) = 10;  // K (hard-coded 10 in the reference)
  TORCH_ARG(int64_t, prompt_dim) = 16;     // P (hard-coded 16 in the reference)
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(bool, make_prototypes) = true;  // false: round 2, prototypes come from round 1
  TORCH_ARG(bool, row_mask_term) = true;    // reproduce the row-constant -1e4 term
};

struct PromptFormerOutput {
  torch::Tensor prompt;      // (B, S, P)
  torch::Tensor prototypes;  // (B, K, D)
};

class PromptFormerImpl : public torch::nn::Cloneable<PromptFormerImpl> {
 public:
  explicit PromptFormerImpl(PromptFormerOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  // Round 1: x (B, S, D), mask (B, S) bool (the modality's availability) -> prompt and prototypes.
  // Requires make_prototypes.
  PromptFormerOutput forward(const torch::Tensor& x, const torch::Tensor& mask);
  // (B, S, D) -> (B, K, D). Requires make_prototypes.
  torch::Tensor make_prototypes(const torch::Tensor& x);
  // The prompt of x (B, S, D) against prototypes (B, K, D) -> (B, S, P).
  torch::Tensor prompt(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& prototypes);

  PromptFormerOptions options;
  GeluMlp proj_n{nullptr};  // time axis S -> K -> K (absent when !make_prototypes)
  GeluMlp proj_d{nullptr};  // D -> P -> P
  torch::nn::Linear proj_prompt{nullptr};  // D -> P
};
TORCH_MODULE(PromptFormer);

// Rows of `a` (N, D) against rows of `b` (M, D): (N, M) cosine similarities, norms clamped at 1e-12.
torch::Tensor cosine_similarity_matrix(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace merc::nn
