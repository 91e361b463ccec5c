#include "merc/models/upstream/name_table.h"

#include <fmt/format.h>

namespace merc::models::upstream {

void NameTable::copy(const std::string& upstream_key, const std::string& merc_name) {
  rules.push_back(NameRule{{upstream_key}, {merc_name}, {}, {}, ""});
}

void NameTable::linear(const std::string& up, const std::string& merc, bool bias) {
  // torch.nn.Linear and torch::nn::Linear both store weight as (out, in): no transpose.
  copy(up + ".weight", merc + ".weight");
  if (bias) copy(up + ".bias", merc + ".bias");
}

void NameTable::batch_norm(const std::string& up, const std::string& merc) {
  for (const char* n : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"})
    copy(up + "." + n, merc + "." + n);
}

void NameTable::layer_norm(const std::string& up, const std::string& merc) {
  copy(up + ".weight", merc + ".weight");
  copy(up + ".bias", merc + ".bias");
}

void NameTable::rnn(const std::string& up, const std::string& merc, int64_t num_layers, bool bidirectional) {
  for (int64_t k = 0; k < num_layers; ++k)
    for (int dir = 0; dir < (bidirectional ? 2 : 1); ++dir) {
      const std::string suffix = fmt::format("_l{}{}", k, dir ? "_reverse" : "");
      for (const char* n : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"})
        copy(up + "." + n + suffix, merc + "." + n + suffix);
    }
}

void NameTable::ignore(const std::string& key, const std::string& why) {
  ignored.push_back(IgnoredKey{key, false, why});
}

void NameTable::ignore_prefix(const std::string& prefix, const std::string& why) {
  ignored.push_back(IgnoredKey{prefix, true, why});
}

void NameTable::only_in_merc(const std::string& name, const std::string& why, bool prefix) {
  merc_only.push_back(MercOnly{name, prefix, why});
}

}  // namespace merc::models::upstream
