#include "merc/nn/graph/block_layout.h"

#include <c10/util/Exception.h>

#include "merc/nn/graph/node_batch.h"

namespace merc::nn {

BlockLayout make_block_layout(const torch::Tensor& lengths, int64_t num_blocks) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.scalar_type() == torch::kInt64,
              "make_block_layout: expected int64 lengths (B), got ", lengths.scalar_type(), " ", lengths.sizes());
  TORCH_CHECK(num_blocks >= 1, "make_block_layout: expected at least one block, got ", num_blocks);
  const torch::Tensor len = lengths.to(torch::kCPU).contiguous();
  BlockLayout layout;
  layout.num_blocks = num_blocks;
  const int64_t* p = len.data_ptr<int64_t>();
  for (int64_t b = 0; b < len.size(0); ++b) {
    TORCH_CHECK(p[b] >= 0, "make_block_layout: dialogue ", b, " has negative length ", p[b]);
    layout.lengths.push_back(p[b]);
    layout.offsets.push_back(layout.num_utterances);
    layout.num_utterances += p[b];
  }
  return layout;
}

namespace {
torch::Tensor layout_index_tensor(std::vector<int64_t>&& v, torch::Device device) {
  auto t = torch::empty({static_cast<int64_t>(v.size())}, torch::kInt64);
  if (!v.empty()) std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());
  return t.to(device);
}
}  // namespace

torch::Tensor block_gather_index(const BlockLayout& layout, torch::Device device) {
  std::vector<int64_t> index;
  index.reserve(static_cast<size_t>(layout.num_nodes()));
  for (int64_t b = 0; b < layout.num_dialogues(); ++b)
    for (int64_t k = 0; k < layout.num_blocks; ++k)
      for (int64_t t = 0; t < layout.lengths[b]; ++t) index.push_back(k * layout.num_utterances + layout.offsets[b] + t);
  return layout_index_tensor(std::move(index), device);
}

torch::Tensor interleave_blocks(const std::vector<torch::Tensor>& blocks, const BlockLayout& layout) {
  TORCH_CHECK(static_cast<int64_t>(blocks.size()) == layout.num_blocks, "interleave_blocks: expected ",
              layout.num_blocks, " blocks, got ", blocks.size());
  for (const auto& b : blocks)
    TORCH_CHECK(b.dim() == 2 && b.size(0) == layout.num_utterances, "interleave_blocks: expected blocks (",
                layout.num_utterances, ", D), got ", b.sizes());
  return torch::cat(blocks, 0).index_select(0, block_gather_index(layout, blocks.front().device()));
}

torch::Tensor block_node_index(const BlockLayout& layout, int64_t k, torch::Device device) {
  TORCH_CHECK(k >= 0 && k < layout.num_blocks, "block_node_index: block ", k, " out of [0, ", layout.num_blocks, ")");
  std::vector<int64_t> index;
  index.reserve(static_cast<size_t>(layout.num_utterances));
  for (int64_t b = 0; b < layout.num_dialogues(); ++b)
    for (int64_t t = 0; t < layout.lengths[b]; ++t) index.push_back(layout.node(b, k, t));
  return layout_index_tensor(std::move(index), device);
}

torch::Tensor block_rows(const torch::Tensor& nodes, const BlockLayout& layout, int64_t k) {
  TORCH_CHECK(nodes.dim() == 2 && nodes.size(0) == layout.num_nodes(), "block_rows: expected (", layout.num_nodes(),
              ", D), got ", nodes.sizes());
  return nodes.index_select(0, block_node_index(layout, k, nodes.device()));
}

torch::Tensor padded_blocks_to_nodes(const std::vector<torch::Tensor>& padded, const torch::Tensor& positions,
                                     const BlockLayout& layout) {
  std::vector<torch::Tensor> blocks;
  blocks.reserve(padded.size());
  for (const auto& p : padded) blocks.push_back(to_nodes(p, positions));
  return interleave_blocks(blocks, layout);
}

}  // namespace merc::nn
