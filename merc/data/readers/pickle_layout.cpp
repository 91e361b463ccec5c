#include "merc/data/readers/pickle_layout.h"

#include <cmath>
#include <unordered_set>
#include <utility>

#include "merc/core/error.h"

namespace merc::data {

using io::DType;
using io::is_float_dtype;
using io::is_integer_dtype;
using io::PyType;
using io::PyValue;

namespace {

// Elements of a list/tuple, or of a 1-D object ndarray; nullptr for anything else.
const std::vector<io::PyRef>* sequence_items(const PyValue& v) {
  if (v.is_sequence()) return &v.items();
  if (v.type() == PyType::kNdArray) {
    const auto& a = v.as_array();
    if (a.dtype == DType::kObject && a.ndim() == 1) return &a.objects;
  }
  return nullptr;
}

std::string describe(const PyValue& v) {
  if (v.type() == PyType::kNdArray) {
    const auto& a = v.as_array();
    return fmt::format("numpy.ndarray {} {}", io::dtype_descr(a.dtype), a.shape_string());
  }
  return v.type_name();
}

}  // namespace

// ---- Positional tuples -------------------------------------------------------------------------

const std::vector<io::PyRef>& expect_tuple(const PyValue& root, const std::string& path,
                                           const std::vector<std::string_view>& names) {
  std::string list;
  for (size_t i = 0; i < names.size() && i < 4; ++i) list += (i ? ", " : "") + std::string(names[i]);
  if (names.size() > 4) list += ", ...";
  if (!root.is_sequence())
    MERC_FORMAT_ERROR(path, "expected a {}-tuple ({}), got {}", names.size(), list, describe(root));
  if (root.size() != names.size())
    MERC_FORMAT_ERROR(path, "expected a {}-tuple ({}), got a {}-{}", names.size(), list, root.size(),
                      root.type_name());
  return root.items();
}

const PyValue& dict_item(const std::vector<io::PyRef>& items, size_t i, const std::string& path,
                         std::string_view name) {
  if (i >= items.size() || !items[i])
    MERC_FORMAT_ERROR(path, "item {} ({}) is missing", i, name);
  const PyValue& v = *items[i];
  if (!v.is_dict())
    MERC_FORMAT_ERROR(path, "item {} ({}) should be a dict keyed by dialogue id, got {}", i, name, describe(v));
  return v;
}

// ---- DictById ----------------------------------------------------------------------------------

DictById::DictById(const PyValue& dict, std::string path, std::string name)
    : path_(std::move(path)), name_(std::move(name)) {
  if (!dict.is_dict()) MERC_FORMAT_ERROR(path_, "{} should be a dict keyed by dialogue id, got {}", name_, describe(dict));
  ids_.reserve(dict.size());
  values_.reserve(dict.size());
  for (const auto& [k, v] : dict.dict_items()) {
    std::string id;
    try {
      id = io::key_to_string(*k);
    } catch (const Error&) {
      MERC_FORMAT_ERROR(path_, "{} has a key of type {} that is not a dialogue id", name_, k->type_name());
    }
    if (!values_.emplace(id, v.get()).second)
      MERC_FORMAT_ERROR(path_, "{} has two keys that both read as dialogue id '{}'", name_, id);
    ids_.push_back(std::move(id));
  }
}

const PyValue* DictById::find(const std::string& id) const {
  auto it = values_.find(id);
  return it == values_.end() ? nullptr : it->second;
}

const PyValue& DictById::at(const std::string& id) const {
  const PyValue* v = find(id);
  if (!v) MERC_FORMAT_ERROR(path_, "{} has no entry for dialogue '{}'", name_, id);
  return *v;
}

// ---- Values ------------------------------------------------------------------------------------

std::vector<std::string> id_list(const PyValue& v, const std::string& path, std::string_view what) {
  std::vector<std::string> out;
  auto add = [&](const PyValue& k) {
    try {
      out.push_back(io::key_to_string(k));
    } catch (const Error&) {
      MERC_FORMAT_ERROR(path, "{} holds a {} that is not a dialogue id", what, k.type_name());
    }
  };
  if (v.is_collection()) {
    for (const auto& e : v.items()) add(*e);
  } else if (v.is_dict()) {
    for (const auto& kv : v.dict_items()) add(*kv.first);
  } else if (v.type() == PyType::kNdArray && v.as_array().ndim() == 1) {
    const auto& a = v.as_array();
    if (a.dtype == DType::kObject) {
      for (const auto& e : a.objects) add(*e);
    } else if (is_integer_dtype(a.dtype)) {
      for (int64_t i = 0; i < a.numel(); ++i) out.push_back(std::to_string(a.get_int64(i)));
    } else {
      MERC_FORMAT_ERROR(path, "{} is an array of {} values, not dialogue ids", what, io::dtype_descr(a.dtype));
    }
  } else {
    MERC_FORMAT_ERROR(path, "{} should be a set or list of dialogue ids, got {}", what, describe(v));
  }
  return out;
}

std::vector<int64_t> int_list(const PyValue& v, const std::string& path, std::string_view what) {
  std::vector<int64_t> out;
  if (v.type() == PyType::kNdArray && v.as_array().dtype != DType::kObject) {
    const auto& a = v.as_array();
    if (a.ndim() != 1 || !is_integer_dtype(a.dtype))
      MERC_FORMAT_ERROR(path, "{} should be a 1-D integer array, got {}", what, describe(v));
    return a.to_int64();
  }
  const auto* items = sequence_items(v);
  if (!items) MERC_FORMAT_ERROR(path, "{} should be a list of integers, got {}", what, describe(v));
  out.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const PyValue& e = *(*items)[i];
    if (!is_int_like(e))
      MERC_FORMAT_ERROR(path, "{}[{}] should be an integer, got {} {}", what, i, e.type_name(), e.repr(40));
    out.push_back(e.as_int());
  }
  return out;
}

std::vector<double> number_list(const PyValue& v, const std::string& path, std::string_view what) {
  if (v.type() == PyType::kNdArray && v.as_array().dtype != DType::kObject) {
    const auto& a = v.as_array();
    if (a.ndim() != 1) MERC_FORMAT_ERROR(path, "{} should be a 1-D array, got {}", what, describe(v));
    return a.to_float64();
  }
  const auto* items = sequence_items(v);
  if (!items) MERC_FORMAT_ERROR(path, "{} should be a list of numbers, got {}", what, describe(v));
  std::vector<double> out;
  out.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const PyValue& e = *(*items)[i];
    // A 1-element array (e.g. MOSEI scores stored as [[s]]) is one number too.
    if (e.type() == PyType::kNdArray && e.as_array().dtype != DType::kObject && e.as_array().numel() == 1) {
      out.push_back(e.as_array().get_double(0));
      continue;
    }
    if (!is_int_like(e) && !is_float_like(e))
      MERC_FORMAT_ERROR(path, "{}[{}] should be a number, got {} {}", what, i, e.type_name(), e.repr(40));
    out.push_back(e.as_float());
  }
  return out;
}

std::vector<std::string> str_list(const PyValue& v, const std::string& path, std::string_view what) {
  const auto* items = sequence_items(v);
  if (!items) MERC_FORMAT_ERROR(path, "{} should be a list of strings, got {}", what, describe(v));
  std::vector<std::string> out;
  out.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const PyValue& e = *(*items)[i];
    if (e.is_none()) out.emplace_back();
    else if (is_text_like(e)) out.push_back(io::key_to_string(e));
    else MERC_FORMAT_ERROR(path, "{}[{}] should be a string, got {}", what, i, e.type_name());
  }
  return out;
}

FeatureMatrix matrix_from(const PyValue& v, const std::string& path, std::string_view what) {
  if (v.type() == PyType::kNdArray && v.as_array().dtype != DType::kObject) {
    const auto& a = v.as_array();
    if (a.ndim() != 2 || !(is_float_dtype(a.dtype) || is_integer_dtype(a.dtype)))
      MERC_FORMAT_ERROR(path, "{} should be a 2-D numeric array (utterances x dim), got {}", what, describe(v));
    FeatureMatrix m;
    m.rows = a.shape[0];
    m.cols = a.shape[1];
    m.values = a.to_float32();
    if (m.rows == 0) m.cols = 0;  // an empty dialogue carries no dimension
    return m;
  }
  const auto* rows = sequence_items(v);
  if (!rows) MERC_FORMAT_ERROR(path, "{} should be a 2-D array or a list of vectors, got {}", what, describe(v));
  FeatureMatrix m;
  if (rows->empty()) return m;
  m.rows = static_cast<int64_t>(rows->size());
  for (size_t r = 0; r < rows->size(); ++r) {
    const PyValue& row = *(*rows)[r];
    std::vector<double> vals;
    if (row.type() == PyType::kNdArray && row.as_array().dtype != DType::kObject) {
      const auto& a = row.as_array();
      // A (1, D) row is accepted as D values: some extractors keep a leading batch axis.
      if (!(a.ndim() == 1 || (a.ndim() == 2 && a.shape[0] == 1)))
        MERC_FORMAT_ERROR(path, "{} row {} should be a vector, got {}", what, r, describe(row));
      vals = a.to_float64();
    } else if (row.is_sequence()) {
      vals = number_list(row, path, fmt::format("{} row {}", what, r));
    } else {
      MERC_FORMAT_ERROR(path, "{} row {} should be a vector, got {}", what, r, describe(row));
    }
    if (r == 0) {
      m.cols = static_cast<int64_t>(vals.size());
      m.values.reserve(static_cast<size_t>(m.rows * m.cols));
    } else if (static_cast<int64_t>(vals.size()) != m.cols) {
      MERC_FORMAT_ERROR(path, "{} row {} has {} values but row 0 has {}", what, r, vals.size(), m.cols);
    }
    for (double x : vals) m.values.push_back(static_cast<float>(x));
  }
  if (m.cols == 0) m.rows = 0;
  return m;
}

std::vector<std::string> utterance_ids(const PyValue& v, const std::string& dialogue_id, const std::string& path,
                                       std::string_view what) {
  const PyValue* arr = (v.type() == PyType::kNdArray && v.as_array().dtype != DType::kObject) ? &v : nullptr;
  std::vector<std::string> out;
  if (arr) {  // e.g. numpy array of utterance numbers
    for (int64_t k : int_list(v, path, what)) out.push_back(dialogue_id + "_" + std::to_string(k));
    return out;
  }
  const auto* items = sequence_items(v);
  if (!items) MERC_FORMAT_ERROR(path, "{} should be a list of utterance ids, got {}", what, describe(v));
  for (size_t i = 0; i < items->size(); ++i) {
    const PyValue& e = *(*items)[i];
    if (is_text_like(e)) {
      out.push_back(io::key_to_string(e));
    } else if (is_int_like(e)) {
      out.push_back(dialogue_id + "_" + std::to_string(e.as_int()));
    } else {
      MERC_FORMAT_ERROR(path, "{}[{}] should be an utterance id (str or int), got {}", what, i, e.type_name());
    }
  }
  return out;
}

// ---- Speakers ----------------------------------------------------------------------------------

SpeakerCodes decode_speakers(const PyValue& v, SpeakerEncoding encoding, const std::string& path,
                             std::string_view what) {
  SpeakerCodes out;
  if (encoding == SpeakerEncoding::kOneHot) {
    const FeatureMatrix m = matrix_from(v, path, what);
    out.slots = m.cols;
    for (int64_t r = 0; r < m.rows; ++r) {
      int64_t hot = -1;
      for (int64_t j = 0; j < m.cols; ++j) {
        const float x = m.row(r)[j];
        if (x == 0.0f) continue;
        if (hot >= 0 || x != 1.0f)
          MERC_FORMAT_ERROR(path, "{}[{}] is not a one-hot speaker vector", what, r);
        hot = j;
      }
      if (hot < 0) MERC_FORMAT_ERROR(path, "{}[{}] is an all-zero speaker vector", what, r);
      out.index.push_back(hot);
      out.name.push_back("slot" + std::to_string(hot));
    }
    return out;
  }
  out.slots = 2;
  out.name = str_list(v, path, what);
  for (size_t i = 0; i < out.name.size(); ++i) {
    const std::string& s = out.name[i];
    int64_t idx = -1;
    switch (encoding) {
      case SpeakerEncoding::kMaleFemale: idx = s == "M" ? 0 : s == "F" ? 1 : -1; break;
      case SpeakerEncoding::kFemaleMale: idx = s == "F" ? 0 : s == "M" ? 1 : -1; break;
      case SpeakerEncoding::kMaleElseOther: idx = s == "M" ? 0 : 1; break;
      case SpeakerEncoding::kOneHot: break;
    }
    if (idx < 0) MERC_FORMAT_ERROR(path, "{}[{}] is speaker '{}', expected 'M' or 'F'", what, i, s);
    out.index.push_back(idx);
  }
  return out;
}

// ---- Splits ------------------------------------------------------------------------------------

SplitScheme split_from_ids(std::string scheme_name, const std::vector<SplitIds>& parts,
                           const std::unordered_map<std::string, int64_t>& dialogue_index,
                           const std::string& path, std::string_view dialogues_source,
                           std::vector<std::string>* warnings) {
  SplitScheme scheme;
  scheme.name = std::move(scheme_name);
  std::unordered_map<int64_t, const SplitIds*> owner;
  for (const auto& part : parts) {
    Partition p;
    p.name = part.partition;
    for (const auto& id : part.ids) {
      auto it = dialogue_index.find(id);
      if (it == dialogue_index.end())
        MERC_FORMAT_ERROR(path, "{} lists dialogue '{}' that {} does not have", part.source, id, dialogues_source);
      auto [o, fresh] = owner.emplace(it->second, &part);
      if (!fresh) {
        if (o->second == &part) MERC_FORMAT_ERROR(path, "{} lists dialogue '{}' twice", part.source, id);
        MERC_FORMAT_ERROR(path, "dialogue '{}' is in both {} and {}", id, o->second->source, part.source);
      }
      p.dialogues.push_back(it->second);
    }
    scheme.partitions.push_back(std::move(p));
  }
  const size_t unassigned = dialogue_index.size() - owner.size();
  if (unassigned > 0 && warnings) {
    std::string sources;
    for (const auto& part : parts) sources += (sources.empty() ? "" : "/") + part.source;
    warnings->push_back(fmt::format("{}: {} of {} dialogues in {} are in no split ({}); they are left out of every partition",
                                    path, unassigned, dialogue_index.size(), dialogues_source, sources));
  }
  return scheme;
}

// ---- Detection helpers -------------------------------------------------------------------------

const PyValue* first_dict_value(const PyValue& v) noexcept {
  if (!v.is_dict()) return nullptr;
  try {
    const auto& items = v.dict_items();
    if (items.empty() || !items.front().second) return nullptr;
    return items.front().second.get();
  } catch (...) {
    return nullptr;
  }
}

namespace {
// Columns of one matrix row (1-D numeric array, (1, D) array or list), -1 if not a row.
int64_t row_cols_hint(const PyValue& row) {
  if (row.type() == PyType::kNdArray && row.as_array().dtype != DType::kObject) {
    const auto& a = row.as_array();
    if (a.ndim() == 1) return a.shape[0];
    if (a.ndim() == 2 && a.shape[0] == 1) return a.shape[1];
    return -1;
  }
  if (row.is_sequence()) return static_cast<int64_t>(row.size());
  return -1;
}
}  // namespace

int64_t matrix_cols_hint(const PyValue& v) noexcept {
  try {
    if (v.type() == PyType::kNdArray) {
      const auto& a = v.as_array();
      if (a.dtype != DType::kObject) return a.ndim() == 2 && a.shape[0] > 0 ? a.shape[1] : -1;
      if (a.ndim() != 1 || a.objects.empty() || !a.objects.front()) return -1;
      return row_cols_hint(*a.objects.front());
    }
    if (!v.is_sequence() || v.size() == 0 || !v.items().front()) return -1;
    return row_cols_hint(*v.items().front());
  } catch (...) {
    return -1;
  }
}

bool is_int_like(const PyValue& v) noexcept {
  if (v.type() == PyType::kInt || v.type() == PyType::kBool) return true;
  try {
    return v.type() == PyType::kNumpyScalar && is_integer_dtype(v.as_array().dtype);
  } catch (...) {
    return false;
  }
}

bool is_float_like(const PyValue& v) noexcept {
  if (v.type() == PyType::kFloat) return true;
  try {
    return v.type() == PyType::kNumpyScalar && is_float_dtype(v.as_array().dtype);
  } catch (...) {
    return false;
  }
}

bool is_text_like(const PyValue& v) noexcept { return v.type() == PyType::kStr || v.type() == PyType::kBytes; }

char first_element_kind(const PyValue& v) noexcept {
  try {
    const PyValue* first = nullptr;
    if (v.type() == PyType::kNdArray) {
      const auto& a = v.as_array();
      if (a.dtype == DType::kObject) {
        if (a.objects.empty() || !a.objects.front()) return '?';
        first = a.objects.front().get();
      } else {
        if (a.numel() == 0) return '?';
        if (a.ndim() >= 2) return 'v';
        return is_float_dtype(a.dtype) ? 'f' : is_integer_dtype(a.dtype) ? 'i' : '?';
      }
    } else if (v.is_sequence() && v.size() > 0) {
      first = v.items().front().get();
    }
    if (!first) return '?';
    if (is_int_like(*first)) return 'i';
    if (is_float_like(*first)) return 'f';
    if (is_text_like(*first)) return 's';
    if (first->type() == PyType::kNdArray && first->as_array().dtype != DType::kObject &&
        first->as_array().numel() == 1) {
      // A 1-element array standing for one number (number_list accepts it as one).
      return is_float_dtype(first->as_array().dtype) ? 'f' : 'i';
    }
    if (first->is_sequence() || (first->type() == PyType::kNdArray && first->as_array().ndim() == 1)) return 'v';
    return '?';
  } catch (...) {
    return '?';
  }
}

int64_t binary_label_from_score(double score) { return score >= 0.0 ? 1 : 0; }

std::string cmu_dataset_name(std::string_view name) {
  std::string s(name);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s.find("mosei") != std::string::npos) return "CMU-MOSEI";
  if (s.find("mosi") != std::string::npos) return "CMU-MOSI";
  return "";
}

}  // namespace merc::data
