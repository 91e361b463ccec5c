#include "merc/models/model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/error.h"

namespace merc::models {

int64_t ModelDims::num_used() const {
  int64_t n = 0;
  for (bool u : use) n += u;
  return n;
}

bool ModelDims::operator==(const ModelDims& o) const {
  return input_dims == o.input_dims && use == o.use && task == o.task && num_classes == o.num_classes &&
         num_speakers == o.num_speakers && semantic_dim == o.semantic_dim;
}

std::string ModelDims::describe() const {
  std::vector<std::string> parts;
  for (data::Modality m : data::kAllModalities)
    if (use[data::index_of(m)]) parts.push_back(fmt::format("{} {}", data::modality_name(m), input_dims[data::index_of(m)]));
  if (semantic_dim > 0) parts.push_back(fmt::format("semantic {}", semantic_dim));
  const std::string out = task == data::Task::kRegression ? "1 score" : fmt::format("{} classes", num_classes);
  return fmt::format("{} -> {}, {} speakers", fmt::join(parts, " + "), out, num_speakers);
}

namespace {
data::Modality parse_modality(const std::string& s) {
  if (s == "text" || s == "t") return data::Modality::kText;
  if (s == "audio" || s == "a") return data::Modality::kAudio;
  if (s == "visual" || s == "v") return data::Modality::kVisual;
  throw UnknownNameError(fmt::format("unknown modality '{}'; valid: text, audio, visual (or t, a, v)", s));
}
}  // namespace

ModelDims model_dims(const data::DatasetInfo& info, const std::vector<std::string>& modalities, data::Task task) {
  ModelDims d;
  d.task = task;
  d.num_speakers = std::max<int64_t>(1, info.num_speakers);
  for (data::Modality m : data::kAllModalities) d.input_dims[data::index_of(m)] = info.modality_dims[data::index_of(m)];
  d.semantic_dim = info.semantic_dim;
  d.class_names = info.class_names;
  if (modalities.empty()) {
    for (data::Modality m : data::kAllModalities) d.use[data::index_of(m)] = d.input_dims[data::index_of(m)] > 0;
  } else {
    for (const std::string& name : modalities) {
      const data::Modality m = parse_modality(name);
      MERC_CHECK(d.input_dims[data::index_of(m)] > 0, "model.modalities asks for {} but dataset '{}' has no {} features",
                 data::modality_name(m), info.name, data::modality_name(m));
      d.use[data::index_of(m)] = true;
    }
  }
  MERC_CHECK(d.num_used() > 0, "dataset '{}' has no feature modality a model could read", info.name);
  if (task == data::Task::kClassification) {
    d.num_classes = static_cast<int64_t>(info.class_names.size());
    MERC_CHECK(d.num_classes >= 2, "dataset '{}' has {} class names; classification needs at least 2", info.name,
               d.num_classes);
  }
  return d;
}

void ModelConfig::visit(FieldVisitor& v) {
  v.field("name", name, "model name (see `merc list models`)");
  v.field("modalities", modalities, "modalities the model reads: [text, audio, visual] or letters; empty = all the dataset has");
}

std::vector<ParamGroup> Model::parameter_groups(int) { return {ParamGroup{"all", parameters(), 1.0}}; }

}  // namespace merc::models
