#include "merc/data/readers/imer_pickle_fields.h"

#include "merc/core/error.h"

namespace merc::data {

using io::PyType;
using io::PyValue;

const PyValue& pickle_item(const PyValue& seq, size_t index) { return *seq.items().at(index); }

const PyValue& expect_dict(const PyValue& value, const std::string& source, const std::string& what) {
  if (!value.is_dict()) MERC_FORMAT_ERROR(source, "{}: expected a dict, got {}", what, value.type_name());
  return value;
}

const PyValue& dict_entry(const PyValue& dict, const PyValue& key, const std::string& source, const std::string& what) {
  const io::PyRef v = expect_dict(dict, source, what).get(key);
  if (!v) MERC_FORMAT_ERROR(source, "{}: no entry for {}", what, key_repr(key));
  return *v;
}

std::vector<io::PyRef> collection_items(const PyValue& value, const std::string& source, const std::string& what) {
  if (value.is_collection()) return value.items();
  if (value.type() == PyType::kNdArray && value.as_array().ndim() == 1) {
    const io::NdArray& a = value.as_array();
    if (a.dtype == io::DType::kObject) return a.objects;
    std::vector<io::PyRef> out;
    out.reserve(static_cast<size_t>(a.numel()));
    const bool is_float = a.dtype == io::DType::kFloat16 || a.dtype == io::DType::kFloat32 || a.dtype == io::DType::kFloat64;
    for (int64_t i = 0; i < a.numel(); ++i)
      out.push_back(is_float ? PyValue::floating(a.get_double(i)) : PyValue::integer(a.get_int64(i)));
    return out;
  }
  MERC_FORMAT_ERROR(source, "{}: expected a list, tuple or set, got {}", what, value.type_name());
}

std::vector<std::string> string_list(const PyValue& value, const std::string& source, const std::string& what) {
  std::vector<std::string> out;
  const auto items = collection_items(value, source, what);
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const PyValue& v = *items[i];
    if (v.type() == PyType::kStr) out.push_back(v.as_str());
    else if (v.type() == PyType::kBytes) out.push_back(io::key_to_string(v));
    else MERC_FORMAT_ERROR(source, "{}[{}]: expected str, got {}", what, i, v.type_name());
  }
  return out;
}

std::vector<int64_t> int_list(const PyValue& value, const std::string& source, const std::string& what) {
  std::vector<int64_t> out;
  const auto items = collection_items(value, source, what);
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      out.push_back(items[i]->as_int());
    } catch (const Error&) {
      MERC_FORMAT_ERROR(source, "{}[{}]: expected an integer, got {} {}", what, i, items[i]->type_name(),
                        items[i]->repr(40));
    }
  }
  return out;
}

std::vector<double> float_list(const PyValue& value, const std::string& source, const std::string& what) {
  std::vector<double> out;
  const auto items = collection_items(value, source, what);
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      out.push_back(items[i]->as_float());
    } catch (const Error&) {
      MERC_FORMAT_ERROR(source, "{}[{}]: expected a number, got {} {}", what, i, items[i]->type_name(),
                        items[i]->repr(40));
    }
  }
  return out;
}

std::vector<float> float_vector(const PyValue& value, const std::string& source, const std::string& what) {
  if (value.type() == PyType::kNdArray) {
    const io::NdArray& a = value.as_array();
    if (a.ndim() != 1 || a.dtype == io::DType::kObject)
      MERC_FORMAT_ERROR(source, "{}: expected a 1-D numeric array, got shape {} dtype {}", what, a.shape_string(),
                        io::dtype_descr(a.dtype));
    return a.to_float32();
  }
  const auto d = float_list(value, source, what);
  return std::vector<float>(d.begin(), d.end());
}

FeatureMatrix feature_matrix(const PyValue& value, const std::string& source, const std::string& what) {
  if (value.type() == PyType::kNdArray) {
    const io::NdArray& a = value.as_array();
    if (a.ndim() != 2 || a.dtype == io::DType::kObject)
      MERC_FORMAT_ERROR(source, "{}: expected a 2-D numeric array (utterances x dim), got shape {} dtype {}", what,
                        a.shape_string(), io::dtype_descr(a.dtype));
    FeatureMatrix m(a.shape[0], a.shape[1]);
    m.values = a.to_float32();
    return m;
  }
  const auto rows = collection_items(value, source, what);
  FeatureMatrix m;
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::vector<float> row = float_vector(*rows[r], source, fmt::format("{}[{}]", what, r));
    if (r == 0) m = FeatureMatrix(static_cast<int64_t>(rows.size()), static_cast<int64_t>(row.size()));
    if (static_cast<int64_t>(row.size()) != m.cols)
      MERC_FORMAT_ERROR(source, "{}[{}]: row has {} values but row 0 has {}", what, r, row.size(), m.cols);
    std::copy(row.begin(), row.end(), m.row(static_cast<int64_t>(r)));
  }
  return m;
}

std::string key_repr(const PyValue& key) {
  if (key.type() == PyType::kStr) return "'" + key.as_str() + "'";
  try {
    return io::key_to_string(key);
  } catch (const Error&) {
    return key.repr(60);
  }
}

}  // namespace merc::data
