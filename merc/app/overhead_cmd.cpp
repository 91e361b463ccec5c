#include "merc/app/overhead_cmd.h"

#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "merc/app/run_dir.h"
#include "merc/app/run_predictions.h"
#include "merc/core/error.h"
#include "merc/data/missing_protocol.h"
#include "merc/train/evaluate.h"
#include "merc/train/run_data.h"
#include "merc/train/trainer.h"

namespace merc::app {

namespace overhead_cmd_detail {

using nlohmann::ordered_json;

// One B = 1 batch per dialogue, collated and masked as `merc eval` would (evaluate.h: the run's
// mask seed, fixed or per-batch redraw, the protocol only from protocol.from_stage on).
std::vector<analysis::OverheadInput> dialogue_inputs(const std::vector<const data::Dialogue*>& dialogues,
                                                     const data::DatasetInfo& info, const train::EvalOptions& o,
                                                     const torch::Device& device) {
  const bool fixed = o.fixed_masks && data::ProtocolSpec::parse(o.protocol).name != "imder";
  const uint64_t seed = fixed ? o.seed : train::evaluation_stream_seed(o.seed, o.epoch, o.partition);
  auto protocol = data::make_missing_protocol(o.protocol, seed, fixed ? data::RedrawMode::kFixed
                                                                      : data::RedrawMode::kPerBatch);
  std::vector<analysis::OverheadInput> inputs;
  const auto n = static_cast<int64_t>(dialogues.size());
  for (int64_t i = 0; i < n; ++i) {
    data::DialogueBatch batch = data::collate({dialogues[static_cast<size_t>(i)]}, info);
    const torch::Tensor keep = protocol->draw(batch, data::BatchPosition{0, i, n});
    if (o.stage >= o.protocol_from_stage) data::apply_missing(batch, keep);
    analysis::OverheadInput in;
    in.utterances = batch.utterance_mask.sum().item<int64_t>();
    in.batch = batch.to(device);
    inputs.push_back(std::move(in));
  }
  return inputs;
}

ordered_json latency_json(const analysis::LatencyStats& s) {
  return {{"samples", s.samples}, {"median_ms", s.median_ms}, {"p95_ms", s.p95_ms},
          {"mean_ms", s.mean_ms}, {"min_ms", s.min_ms},       {"max_ms", s.max_ms}};
}

std::string mib(int64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0)); }

// 1234567 -> "1.23 M"; the unit follows (MAC, FLOP).
std::string si(double v) {
  if (v >= 1e9) return fmt::format("{:.3g} G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.3g} M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.3g} k", v / 1e3);
  return fmt::format("{:.3g} ", v);
}

}  // namespace overhead_cmd_detail

OverheadResult measure_run_overhead(const EvalArgs& args) {
  MERC_CHECK(args.protocols.size() <= 1, "--overhead measures one protocol; got {} --protocol options",
             args.protocols.size());
  OverheadResult r;
  r.run_dir = args.run;
  LoadedRun run = load_run(args.run, args.threads, args.device);
  train::ExperimentConfig& config = run.config;
  r.model = config.model->name;
  r.stage = run.stage;
  const torch::Device device = train::resolve_device(config.train.device);
  analysis::OverheadSettings settings;
  settings.warmup = args.overhead_warmup;
  settings.repeats = args.overhead_repeats;
  settings.device = device;
  const models::ForwardContext ctx{run.epoch - 1, run.stage, 0};
  if (args.overhead_dummy) {
    analysis::OverheadInput in;
    in.batch = analysis::dummy_batch(run.dims, kOverheadDummyLength, config.train.seed).to(device);
    in.utterances = kOverheadDummyLength;
    r.partition = "dummy";
    r.protocol = "complete";
    r.report = analysis::measure_overhead(*run.model, {in}, ctx, settings);
    return r;
  }
  if (!args.data.empty()) config.data.path = args.data;
  if (!args.split.empty()) config.data.split = args.split;
  const data::Dataset ds = load_experiment_dataset(config.data, run_featurizer_path(args.run), "");
  const train::RunData rd = train::select_partitions(ds, config, /*require_valid=*/false);
  const models::ModelDims dims = models::model_dims(ds.info, config.model->modalities, rd.task);
  MERC_CHECK(dims == run.dims, "the dataset gives model dims '{}' but the run was trained with '{}'", dims.describe(),
             run.dims.describe());
  std::vector<const data::Dialogue*> part = pick_partition(rd, args.run, args.partition);
  if (args.overhead_dialogues > 0 && static_cast<int64_t>(part.size()) > args.overhead_dialogues)
    part.resize(static_cast<size_t>(args.overhead_dialogues));
  train::EvalOptions o = train::evaluation_options(config, device);
  o.protocol = args.protocols.empty() ? config.protocol.test : args.protocols.front();
  o.partition = args.partition;
  o.epoch = ctx.epoch;
  o.stage = ctx.stage;
  r.dataset = ds.info.name;
  r.split = rd.scheme.name;
  r.partition = args.partition;
  r.protocol = o.protocol;
  r.report = analysis::measure_overhead(*run.model, overhead_cmd_detail::dialogue_inputs(part, ds.info, o, device),
                                        ctx, settings);
  return r;
}

nlohmann::ordered_json overhead_json(const OverheadResult& r) {
  using overhead_cmd_detail::latency_json;
  using overhead_cmd_detail::ordered_json;
  const analysis::OverheadReport& o = r.report;
  ordered_json per_op = ordered_json::object();
  for (const auto& [name, op] : o.flops.per_op)
    per_op[name] = {{"calls", op.calls}, {"macs", op.macs}, {"elementwise_flops", op.elementwise_flops}};
  ordered_json uncounted = ordered_json::object();
  for (const auto& [name, calls] : o.flops.uncounted) uncounted[name] = calls;
  return {
      {"run", r.run_dir},
      {"model", r.model},
      {"dataset", r.dataset},
      {"split", r.split},
      {"partition", r.partition},
      {"protocol", r.protocol},
      {"stage", r.stage},
      {"settings",
       {{"device", o.device},
        {"threads", o.threads},
        {"warmup", o.warmup},
        {"repeats", o.repeats},
        {"batch_size", o.batch_size},
        {"max_length", o.max_length},
        {"dialogues", o.dialogues},
        {"utterances", o.utterances}}},
      {"parameters",
       {{"total", o.params.total}, {"trainable", o.params.trainable}, {"frozen", o.params.frozen()},
        {"buffers", o.params.buffers}}},
      {"latency", {{"per_dialogue", latency_json(o.per_dialogue)}, {"per_utterance", latency_json(o.per_utterance)}}},
      {"memory",
       {{"source", o.memory.source},
        {"baseline_bytes", o.memory.baseline_bytes},
        {"peak_bytes", o.memory.peak_bytes},
        {"growth_bytes", o.memory.growth_bytes()},
        {"peak_reset", o.memory.peak_reset}}},
      {"flops",
       {{"convention", "macs = multiply-accumulates of matrix products and convolutions (fvcore's 'flop'); "
                       "matmul_flops = 2 * macs (torch profiler); elementwise_flops = 1 per output element of "
                       "elementwise/activation/softmax/norm ops (per input element for reductions)"},
        {"macs", o.flops.macs},
        {"matmul_flops", o.flops.matmul_flops()},
        {"elementwise_flops", o.flops.elementwise_flops},
        {"total_flops", o.flops.total_flops()},
        {"macs_per_utterance", o.macs_per_utterance()},
        {"flops_per_utterance", o.flops_per_utterance()},
        {"per_op", per_op},
        {"uncounted", uncounted}}},
  };
}

std::string overhead_text(const OverheadResult& r) {
  using overhead_cmd_detail::mib;
  using overhead_cmd_detail::si;
  const analysis::OverheadReport& o = r.report;
  std::string s = fmt::format("overhead of {} ({})\n", r.model, r.run_dir);
  s += r.partition == "dummy"
           ? fmt::format("input: MoED's dummy dialogue, B=1, T={}, random features, complete modalities\n",
                         o.max_length)
           : fmt::format("input: {} {} partition of split {}, {} dialogues ({} utterances), one per forward "
                         "(B=1, T<={}), protocol {}\n",
                         r.dataset, r.partition, r.split, o.dialogues, o.utterances, o.max_length, r.protocol);
  s += fmt::format("settings: device {}, {} threads, {} warm-up forwards, {} timed repeats\n\n", o.device, o.threads,
                   o.warmup, o.repeats);
  s += fmt::format("{:<22}{:>16}{:>16}\n", "", "median", "p95");
  s += fmt::format("{:<22}{:>13.3f} ms{:>13.3f} ms\n", "latency / dialogue", o.per_dialogue.median_ms,
                   o.per_dialogue.p95_ms);
  s += fmt::format("{:<22}{:>13.4f} ms{:>13.4f} ms\n\n", "latency / utterance", o.per_utterance.median_ms,
                   o.per_utterance.p95_ms);
  s += fmt::format("{:<22}{} total, {} trainable, {} frozen ({} buffer elements)\n", "parameters", o.params.total,
                   o.params.trainable, o.params.frozen(), o.params.buffers);
  s += o.memory.source == "process_rss"
           ? fmt::format("{:<22}+{} over {} (process RSS: VmHWM after{} minus VmRSS before)\n", "peak memory",
                         mib(o.memory.growth_bytes()), mib(o.memory.baseline_bytes),
                         o.memory.peak_reset ? "" : " (not reset: the process's lifetime peak)")
           : fmt::format("{:<22}{} peak allocated ({} before; CUDA caching allocator)\n", "peak memory",
                         mib(o.memory.peak_bytes), mib(o.memory.baseline_bytes));
  s += fmt::format("{:<22}{}MAC = {}FLOP (2 per multiply-add) + {}FLOP elementwise = {}FLOP\n", "compute / utterance",
                   si(o.macs_per_utterance()), si(2.0 * o.macs_per_utterance()),
                   si(o.flops_per_utterance() - 2.0 * o.macs_per_utterance()), si(o.flops_per_utterance()));
  return s;
}

int run_eval_overhead(const EvalArgs& args, std::ostream& out) {
  const OverheadResult r = measure_run_overhead(args);
  if (args.json) out << overhead_json(r).dump(2) << "\n";
  else out << overhead_text(r);
  return 0;
}

}  // namespace merc::app
