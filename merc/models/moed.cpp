#include "merc/models/moed.h"

#include <algorithm>

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/edge_propagate.h"
#include "merc/nn/graph/node_batch.h"

namespace merc::models {

void MoedConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  visit_encoder_fields(v, encoder);
  v.field("graph_hidden_dim", graph_hidden_dim, "width of both graphs (fc1/fc2 output; the reference's graph_hidden_size)");
  v.field("modals", modals,
          "letter order of the published --modals (a, v, l), used only by the directed_edge letter quirk; '' = avl "
          "order of the used modalities (which modalities are used is model.modalities)");
  v.field("num_L", num_L, "EIGNN layers (--num_L)");
  v.field("num_K", num_K, "ECGNN layers (--num_K)");
  v.field("window_spk", window_spk, "EIGNN: earlier same-speaker utterances each utterance sends to (-1 = all)");
  v.field("window_spk_f", window_spk_f, "EIGNN: later same-speaker utterances each utterance sends to (-1 = all)");
  v.field("window_dir", window_dir, "ECGNN: temporal window, gap checked on the later-to-earlier permutation (-1 = all)");
  v.field("window_dir_f", window_dir_f, "ECGNN: temporal window on the earlier-to-later permutation (-1 = all)");
  v.field("epsilon", epsilon, "ECGNN: weight of the initial features h^0 added after every layer");
  v.field("epsilon2", epsilon2, "EIGNN: weight of the initial features g^0 added after every layer");
  v.field("use_speaker", use_speaker, "letters b/c/d/e add the speaker embedding to ECGNN l/a/v/u, f/g/h/i to EIGNN's");
  v.field("multimodal_node", multimodal_node, "graphs with the u block: both, ECG or EIG");
  v.field("graph_type", graph_type, "graphs whose u rows form the output: both, ECG or EIG");
  v.field("directed_edge", directed_edge, "modalities with a directed edge to u (letters a, v, l; '' = none)");
  v.field("single_edge", single_edge,
          "'' = reference duplicates; 'intra' = intra-utterance edges once; 'inter' = directional temporal windows");
  v.field("fusion_row_quirk", fusion_row_quirk,
          "quirk switch: true (reference) = with multimodal_node ECG/EIG/'' each dialogue's u rows are read from the "
          "start of the batch; false = its own u rows ('' : both graphs' modality rows)");
  v.field("speaker_in_place", speaker_in_place,
          "quirk switch: true (reference) = letters b/c/d/e also reach EIGNN (in-place addition); false = they do not");
  v.field("skip_first_sender", skip_first_sender,
          "quirk switch: true (reference) = each speaker's first utterance sends no EIGNN speaker edge");
  v.field("temporal_duplicates", temporal_duplicates,
          "quirk switch: true (reference) = ECGNN temporal edges counted m(g) times; false = once");
  v.field("directed_edge_letter_quirk", directed_edge_letter_quirk,
          "quirk switch: true (reference) = partial directed_edge letters select the block at their position in modals");
}

MoedGraphOptions MoedConfig::graph_options() const {
  MoedGraphOptions o;
  o.window_spk = window_spk;
  o.window_spk_f = window_spk_f;
  o.window_dir = window_dir;
  o.window_dir_f = window_dir_f;
  o.directed_edge = directed_edge;
  o.single_edge = single_edge;
  o.skip_first_sender = skip_first_sender;
  o.temporal_duplicates = temporal_duplicates;
  return o;
}

namespace {
char moed_modality_letter(data::Modality m) {
  return m == data::Modality::kText ? 'l' : (m == data::Modality::kAudio ? 'a' : 'v');
}
bool moed_has(const std::string& s, char c) { return s.find(c) != std::string::npos; }
// Speaker letters for block k (a modality, or u when k == M) of ECGNN / EIGNN.
char moed_ecg_letter(const std::vector<data::Modality>& used, int64_t k) {
  if (k == static_cast<int64_t>(used.size())) return 'e';
  return "bcd"[static_cast<int>(used[static_cast<size_t>(k)])];
}
char moed_eig_letter(const std::vector<data::Modality>& used, int64_t k) {
  if (k == static_cast<int64_t>(used.size())) return 'i';
  return "fgh"[static_cast<int>(used[static_cast<size_t>(k)])];
}
}  // namespace

MoedModel::MoedModel(const MoedConfig& config, const ModelDims& dims) : Model("moed"), config_(config), dims_(dims) {
  check_dims(dims, "moed");
  const auto& c = config;
  MERC_CHECK(c.graph_hidden_dim > 0 && c.num_L >= 0 && c.num_K >= 0,
             "moed: graph_hidden_dim must be positive and num_L, num_K >= 0, got {}, {}, {}", c.graph_hidden_dim, c.num_L,
             c.num_K);
  MERC_CHECK(c.multimodal_node == "both" || c.multimodal_node == "ECG" || c.multimodal_node == "EIG" ||
                 c.multimodal_node.empty(),
             "moed: multimodal_node must be both, ECG, EIG or '' (none), got '{}'", c.multimodal_node);
  MERC_CHECK(c.graph_type == "both" || c.graph_type == "ECG" || c.graph_type == "EIG",
             "moed: graph_type must be both, ECG or EIG, got '{}'", c.graph_type);
  MERC_CHECK(c.window_spk >= -1 && c.window_spk_f >= -1 && c.window_dir >= -1 && c.window_dir_f >= -1,
             "moed: windows must be >= -1 (-1 = unbounded), got window_spk {}, window_spk_f {}, window_dir {}, "
             "window_dir_f {}",
             c.window_spk, c.window_spk_f, c.window_dir, c.window_dir_f);
  for (size_t i = 0; i < c.directed_edge.size(); ++i)
    MERC_CHECK(c.directed_edge.find(c.directed_edge[i], i + 1) == std::string::npos,
               "moed: directed_edge letters must be distinct, got '{}'", c.directed_edge);
  MERC_CHECK(c.single_edge.empty() || c.single_edge == "intra" || c.single_edge == "inter",
             "moed: single_edge must be '', 'intra' or 'inter', got '{}'", c.single_edge);
  for (char ch : c.use_speaker)
    MERC_CHECK(ch >= 'b' && ch <= 'i', "moed: use_speaker letters must be in b..i, got '{}'", c.use_speaker);
  u_in_ecg_ = c.multimodal_node == "both" || c.multimodal_node == "ECG";
  u_in_eig_ = c.multimodal_node == "both" || c.multimodal_node == "EIG";
  MERC_CHECK(c.graph_type == "both" || (c.graph_type == "ECG" ? u_in_ecg_ : u_in_eig_),
             "moed: graph_type {} reads that graph's u rows, but multimodal_node {} builds u only in the other graph",
             c.graph_type, c.multimodal_node);

  encoder_ = register_module("encoder", M3netEncoder(c.encoder, dims, "moed"));
  const auto& used = encoder_->modalities;
  M_ = static_cast<int64_t>(used.size());
  // modals order: the published --modals letters (a, v, l) restricted to the used modalities.
  std::string order = c.modals;
  if (order.empty())
    for (char ch : std::string("avl"))
      for (auto m : used)
        if (moed_modality_letter(m) == ch) order += ch;
  std::string want, got = order;
  for (auto m : used) want += moed_modality_letter(m);
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  MERC_CHECK(want == got, "moed: modals '{}' must list exactly the used modalities' letters (a, v, l), i.e. '{}' in any order",
             c.modals, want);
  sources_ = moed_directed_sources(c.directed_edge, order, used, c.directed_edge_letter_quirk);

  const int64_t Dg = c.encoder.hidden_dim, H = c.graph_hidden_dim;
  linear_u_ = register_module("linear_u", torch::nn::Linear(M_ * Dg, Dg));
  speaker_embedding_ = register_module("speaker_embedding", torch::nn::Embedding(dims.num_speakers, Dg));
  fc1_ = register_module("fc1", torch::nn::Linear(Dg, H));
  fc2_ = register_module("fc2", torch::nn::Linear(Dg, H));
  for (int64_t k = 0; k < c.num_K; ++k)
    ecg_convs_.push_back(register_module("ecg_conv" + std::to_string(k + 1), nn::GatedEdgeConv(H)));
  if (c.graph_type != "both")
    head_dim_ = H;
  else if (c.multimodal_node == "both")
    head_dim_ = 2 * H;
  else if (!c.multimodal_node.empty() || c.fusion_row_quirk)
    head_dim_ = (M_ + 1) * H;
  else
    head_dim_ = 2 * M_ * H;
  smax_fc_ = register_module("smax_fc", torch::nn::Linear(head_dim_, dims.output_dim()));
}

MoedModel::Graphs MoedModel::build_graphs(const data::DialogueBatch& batch) const {
  Graphs g;
  const auto o = config_.graph_options();
  g.ecg_layout = nn::make_block_layout(batch.lengths, M_ + (u_in_ecg_ ? 1 : 0));
  g.eig_layout = nn::make_block_layout(batch.lengths, M_ + (u_in_eig_ ? 1 : 0));
  g.ecg = moed_ecgnn_edges(g.ecg_layout, M_, u_in_ecg_, sources_, o);
  g.eig = moed_eignn_edges(g.eig_layout, M_, u_in_eig_, sources_, batch.speaker, o);
  return g;
}

ModelOutput MoedModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "moed");
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  const auto& used = encoder_->modalities;
  // 1. Encoders and the multimodal node, then per-block node matrices (N, D_g).
  std::vector<torch::Tensor> h = encoder_(batch);
  const torch::Tensor u = linear_u_(torch::cat(h, 2));
  const torch::Tensor positions = nn::node_positions(batch.lengths, T);
  std::vector<torch::Tensor> blocks;
  for (const auto& hm : h) blocks.push_back(nn::to_nodes(hm, positions));
  blocks.push_back(nn::to_nodes(u, positions));
  const torch::Tensor spk = speaker_embedding_(batch.speaker.reshape({-1}).index_select(0, positions));

  // 2. Speaker embedding per graph and block (in-place quirk: ECGNN letters reach EIGNN too).
  const std::string& letters = config_.use_speaker;
  std::vector<torch::Tensor> ecg_blocks, eig_blocks;
  for (int64_t k = 0; k <= M_; ++k) {
    const bool is_u = k == M_;
    const int ecg = moed_has(letters, moed_ecg_letter(used, k)) ? 1 : 0;
    const int eig = (moed_has(letters, moed_eig_letter(used, k)) ? 1 : 0) + (config_.speaker_in_place ? ecg : 0);
    const auto& x = blocks[static_cast<size_t>(k)];
    if (!is_u || u_in_ecg_) ecg_blocks.push_back(ecg > 0 ? x + spk : x);
    if (!is_u || u_in_eig_) eig_blocks.push_back(eig > 0 ? x + static_cast<double>(eig) * spk : x);
  }

  // 3-4. The two graphs.
  const Graphs g = build_graphs(batch);
  const auto device = spk.device();
  const nn::EdgeIndex ecg_index = nn::make_edge_index(g.ecg.to_tensor(device), g.ecg_layout.num_nodes());
  const nn::EdgeIndex eig_index = nn::make_edge_index(g.eig.to_tensor(device), g.eig_layout.num_nodes());
  const auto dtype = spk.scalar_type();

  const torch::Tensor h0 = fc2_(nn::interleave_blocks(ecg_blocks, g.ecg_layout));
  torch::Tensor hc = h0;
  if (!ecg_convs_.empty()) {
    const torch::Tensor norm = nn::symmetric_degree_norm(ecg_index, nn::DegreeKind::kOut, dtype);
    for (auto& conv : ecg_convs_) hc = conv(hc, ecg_index, norm) + config_.epsilon * h0;
  }
  const torch::Tensor g0 = fc1_(nn::interleave_blocks(eig_blocks, g.eig_layout));
  torch::Tensor hi = g0;
  if (config_.num_L > 0) {
    const torch::Tensor norm = nn::symmetric_degree_norm(eig_index, nn::DegreeKind::kIn, dtype);
    for (int64_t l = 0; l < config_.num_L; ++l) hi = nn::norm_conv(hi, eig_index, norm) + config_.epsilon2 * g0;
  }

  // 5. Fusion on the u rows.
  torch::Tensor z;
  if (config_.graph_type == "EIG") {
    z = nn::block_rows(hi, g.eig_layout, M_);
  } else if (config_.graph_type == "ECG") {
    z = nn::block_rows(hc, g.ecg_layout, M_);
  } else if (config_.multimodal_node == "both") {
    z = torch::cat({nn::block_rows(hi, g.eig_layout, M_), nn::block_rows(hc, g.ecg_layout, M_)}, 1);
  } else {
    // u only in one graph (ECG / EIG), or in none (''): the other graph's modality rows, then the
    // "u" rows of the u graph (EIGNN for '').
    const bool u_ecg = config_.multimodal_node == "ECG";
    const auto& other = u_ecg ? hi : hc;
    const auto& other_layout = u_ecg ? g.eig_layout : g.ecg_layout;
    const auto& ug = u_ecg ? hc : hi;
    const auto& u_layout = u_ecg ? g.ecg_layout : g.eig_layout;
    std::vector<torch::Tensor> parts;
    for (int64_t k = 0; k < M_; ++k) parts.push_back(nn::block_rows(other, other_layout, k));
    if (!config_.fusion_row_quirk) {
      if (u_layout.num_blocks > M_) {
        parts.push_back(nn::block_rows(ug, u_layout, M_));
      } else {  // no u anywhere: both graphs' modality rows
        for (int64_t k = 0; k < M_; ++k) parts.push_back(nn::block_rows(ug, u_layout, k));
      }
    } else {
      // utils.py create_multimodal_feature never advances through the u graph: dialogue b reads
      // its rows [M L_b, (M + 1) L_b) counted from the START of the batch.
      std::vector<int64_t> rows;
      for (int64_t b = 0; b < u_layout.num_dialogues(); ++b)
        for (int64_t t = 0; t < u_layout.lengths[static_cast<size_t>(b)]; ++t)
          rows.push_back(M_ * u_layout.lengths[static_cast<size_t>(b)] + t);
      for (int64_t r : rows)
        MERC_CHECK(r < u_layout.num_nodes(),
                   "moed: fusion_row_quirk reads row {} of a {}-node graph (the reference code fails here too); set "
                   "model.fusion_row_quirk=false",
                   r, u_layout.num_nodes());
      auto idx = torch::empty({static_cast<int64_t>(rows.size())}, torch::kInt64);
      std::copy(rows.begin(), rows.end(), idx.data_ptr<int64_t>());
      parts.push_back(ug.index_select(0, idx.to(ug.device())));
    }
    z = torch::cat(parts, 1);
  }

  // 6. Head.
  ModelOutput out;
  out.logits = nn::to_padded(smax_fc_(z), positions, B, T);
  out.features["fused"] = nn::to_padded(z, positions, B, T);
  return out;
}

}  // namespace merc::models
