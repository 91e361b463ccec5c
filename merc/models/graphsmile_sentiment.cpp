#include "merc/models/graphsmile_sentiment.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>

#include "merc/core/error.h"

namespace merc::models {

torch::Tensor node_sentiments(const data::DialogueBatch& batch, const torch::Tensor& positions, data::Task task,
                              const std::vector<int64_t>& sentiment_map) {
  const auto options = torch::TensorOptions().dtype(torch::kInt64).device(positions.device());
  if (task == data::Task::kRegression) {
    const torch::Tensor score = batch.score.reshape({-1}).index_select(0, positions);
    torch::Tensor s = torch::where(score < 0, torch::zeros_like(positions), torch::ones_like(positions));
    s = torch::where(score > 0, torch::full_like(positions, 2), s);
    return torch::where(torch::isnan(score), torch::full_like(positions, -1), s);
  }
  if (sentiment_map.empty()) return torch::full({positions.size(0)}, -1, options);
  const torch::Tensor label = batch.label.reshape({-1}).index_select(0, positions);
  const auto C = static_cast<int64_t>(sentiment_map.size());
  if (label.numel() > 0) {
    const int64_t hi = label.max().item<int64_t>();
    MERC_CHECK(hi < C, "graphsmile: label {} has no entry in sentiment_map ({} entries, one per class)", hi, C);
  }
  const torch::Tensor table = torch::tensor(sentiment_map, torch::kInt64).to(positions.device());
  const torch::Tensor known = label >= 0;
  return torch::where(known, table.index_select(0, label.clamp_min(0)), torch::full_like(label, -1));
}

torch::Tensor shift_targets(const torch::Tensor& sentiments, const torch::Tensor& first, const torch::Tensor& second) {
  const torch::Tensor a = sentiments.index_select(0, first), b = sentiments.index_select(0, second);
  const torch::Tensor differ = (a != b).to(torch::kInt64);
  return torch::where((a >= 0) & (b >= 0), differ, torch::full_like(differ, -1));
}

torch::Tensor masked_nll(const torch::Tensor& logits, const torch::Tensor& targets) {
  const torch::Tensor valid = targets >= 0;
  const torch::Tensor log_p = torch::log_softmax(logits, -1);
  const torch::Tensor picked = log_p.gather(1, targets.clamp_min(0).unsqueeze(1)).squeeze(1);
  const torch::Tensor count = valid.sum().clamp_min(1).to(logits.scalar_type());
  return -(picked * valid.to(logits.scalar_type())).sum() / count;
}

}  // namespace merc::models
