#include "merc/train/evaluate.h"

#include <cmath>

#include <nlohmann/json.hpp>
#include <torch/nn/functional/activation.h>
#include <torch/utils.h>

#include "merc/core/error.h"
#include "merc/data/missing_protocol.h"
#include "merc/data/splits.h"
#include "merc/models/model_inputs.h"

namespace merc::train {

std::vector<std::vector<const data::Dialogue*>> make_batches(const std::vector<const data::Dialogue*>& dialogues,
                                                             int64_t batch_size) {
  MERC_CHECK(batch_size >= 1, "batch size must be >= 1, got {}", batch_size);
  std::vector<std::vector<const data::Dialogue*>> out;
  for (size_t i = 0; i < dialogues.size(); i += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(dialogues.size(), i + static_cast<size_t>(batch_size));
    out.emplace_back(dialogues.begin() + static_cast<std::ptrdiff_t>(i), dialogues.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

uint64_t evaluation_stream_seed(uint64_t seed, int64_t epoch, const std::string& partition) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (const unsigned char c : partition) h = (h ^ c) * 0x100000001b3ULL;
  // The first output of a SplitMix64 stream started at x is splitmix64's finaliser of x.
  const auto mix = [](uint64_t x) { return data::SplitRng(x).next(); };
  // Chained, not XORed side by side: f(seed) ^ f(epoch) would give (1, epoch 2) the stream of (2, epoch 1).
  return mix(mix(mix(seed) + static_cast<uint64_t>(epoch)) ^ h);
}

EvalOptions evaluation_options(const ExperimentConfig& config, const torch::Device& device) {
  EvalOptions o;
  o.protocol = config.protocol.test;
  o.seed = config.protocol_seed() + 1;
  o.fixed_masks = config.protocol.test_redraw == "fixed";
  o.batch_size = config.train.batch_size;
  o.device = device;
  o.protocol_from_stage = config.protocol.from_stage;
  return o;
}

nlohmann::ordered_json metrics_to_json(const metrics::MetricValues& values) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, value] : values)
    j[name] = std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
  return j;
}

metrics::MetricValues metrics_from_json(const nlohmann::ordered_json& object) {
  MERC_CHECK(object.is_object(), "metrics: expected a JSON object, got {}", object.type_name());
  metrics::MetricValues out;
  for (auto it = object.begin(); it != object.end(); ++it) {
    MERC_CHECK(it.value().is_number() || it.value().is_null(), "metric '{}': expected a number or null, got {}",
               it.key(), it.value().type_name());
    out.set(it.key(), it.value().is_number() ? it.value().get<double>() : NAN);
  }
  return out;
}

EvalResult evaluate(models::Model& model, const std::vector<const data::Dialogue*>& dialogues,
                    const data::DatasetInfo& info, const models::ModelDims& dims, const TaskLoss& loss,
                    const EvalOptions& options) {
  MERC_CHECK(!dialogues.empty(), "nothing to evaluate: the partition has no dialogues");
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  // imder is a schedule over batch positions and has no per-dialogue form; its stream is re-seeded
  // for every evaluation, which makes it just as repeatable.
  const bool fixed = options.fixed_masks && data::ProtocolSpec::parse(options.protocol).name != "imder";
  const int64_t mask_epoch = options.mask_epoch >= 0 ? options.mask_epoch : options.epoch;
  const uint64_t seed = fixed ? options.seed : evaluation_stream_seed(options.seed, mask_epoch, options.partition);
  auto protocol = data::make_missing_protocol(options.protocol, seed,
                                              fixed ? data::RedrawMode::kFixed : data::RedrawMode::kPerBatch);
  metrics::MetricAccumulator acc(dims.task, dims.num_classes);
  EvalResult result;
  double loss_sum = 0.0;
  const auto batches = make_batches(dialogues, options.batch_size);
  std::vector<torch::Tensor> input_rows, fused_rows;
  bool has_fused = true;
  bool has_abstain = false;
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    data::DialogueBatch batch = data::collate(batches[bi], info);
    const torch::Tensor keep =
        protocol->draw(batch, data::BatchPosition{0, static_cast<int64_t>(bi), static_cast<int64_t>(batches.size())});
    if (options.stage >= options.protocol_from_stage) data::apply_missing(batch, keep);
    const data::DialogueBatch dev = batch.to(options.device);
    const models::ModelOutput out = model.forward(dev, models::ForwardContext{options.epoch, options.stage, 0});
    const torch::Tensor output = out.logits.to(torch::kCPU).to(torch::kFloat);
    const int64_t n = data::target_mask(batch, dims.task).sum().item<int64_t>();
    if (n > 0) loss_sum += loss.compute(output, batch).item<double>() * static_cast<double>(n);
    result.utterances += n;
    // A generative model marks the utterances it could not answer (unparseable sentences): wrong.
    const auto abstain_it = out.features.find("abstain");
    const torch::Tensor abstain =
        abstain_it != out.features.end() ? abstain_it->second.to(torch::kCPU) : torch::Tensor();
    has_abstain = has_abstain || abstain.defined();
    if (n > 0) acc.add(output, batch.label, batch.score, batch.utterance_mask, abstain);
    if (options.keep_features) {
      // Real utterances of a batch-major (B, T) layout, flattened b-major: the prediction order.
      const torch::Tensor real = batch.utterance_mask.reshape({-1});
      auto rows = [&](const torch::Tensor& x) {
        return x.to(torch::kCPU).to(torch::kFloat).reshape({-1, x.size(-1)}).index({real});
      };
      input_rows.push_back(rows(models::fused_input(batch, dims)));
      const auto f = out.features.find("fused");
      has_fused = has_fused && f != out.features.end() && f->second.defined();
      if (has_fused) fused_rows.push_back(rows(f->second));
    }
    if (options.keep_predictions) {
      const torch::Tensor probs = dims.task == data::Task::kClassification
                                      ? torch::softmax(output, -1).contiguous()
                                      : output.contiguous();
      const auto p = probs.accessor<float, 3>();
      for (size_t b = 0; b < batches[bi].size(); ++b) {
        const data::Dialogue& d = *batches[bi][b];
        for (int64_t t = 0; t < d.length(); ++t) {
          const data::Utterance& u = d.utterances[static_cast<size_t>(t)];
          UtterancePrediction pr;
          pr.dialogue_id = d.id;
          pr.utterance_idx = t;
          pr.speaker = u.speaker_name.empty() ? std::to_string(u.speaker) : u.speaker_name;
          pr.speaker_slot = u.speaker;
          pr.label = u.label;
          pr.score = u.score;
          if (dims.task == data::Task::kClassification) {
            int64_t best = 0;
            for (int64_t c = 0; c < probs.size(2); ++c) {
              pr.probabilities.push_back(p[static_cast<int64_t>(b)][t][c]);
              if (p[static_cast<int64_t>(b)][t][c] > p[static_cast<int64_t>(b)][t][best]) best = c;
            }
            pr.pred_class = best;
            pr.pred_score = p[static_cast<int64_t>(b)][t][best];
            if (abstain.defined() && abstain[static_cast<int64_t>(b)][t].item<bool>()) {
              pr.pred_class = metrics::kNoPrediction;  // no class could be read from the output
              pr.pred_score = 0.0f;
            }
          } else {
            pr.pred_score = p[static_cast<int64_t>(b)][t][0];
          }
          result.predictions.push_back(std::move(pr));
        }
      }
    }
  }
  if (options.keep_features) {
    result.inputs = torch::cat(input_rows, 0);
    if (has_fused) result.fused = torch::cat(fused_rows, 0);
  }
  if (result.utterances == 0 && !options.require_targets) {
    if (was_training) model.train();
    return result;
  }
  MERC_CHECK(result.utterances > 0, "nothing to evaluate: no utterance has a {} target",
             dims.task == data::Task::kClassification ? "class" : "score");
  result.loss = loss_sum / static_cast<double>(result.utterances);
  result.metrics = acc.compute();
  // Models that can abstain report how often they did (percent of the evaluated utterances).
  if (has_abstain && dims.task == data::Task::kClassification)
    result.metrics.set("unparsed", 100.0 * static_cast<double>(acc.abstentions()) / static_cast<double>(acc.size()));
  if (was_training) model.train();
  return result;
}

}  // namespace merc::train
