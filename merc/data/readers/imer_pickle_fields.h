#pragma once
// Checked access to the fields of the IMER / MMSA / COSMIC pickles (merc/io/pickle.h trees).
// Every accessor takes the source file and a short description of the field so that a wrong type
// or a missing entry becomes a merc::FormatError such as
//   "IEMOCAP_features_raw_4way.pkl: videoLabels['Ses01F_impro01']: expected a list, got dict".
// PyValue's own accessors throw plain merc::Error without the file; these wrap them.

#include <string>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/io/pickle.h"

namespace merc::data {

// Item `index` of a tuple/list root whose expected size was already checked.
const io::PyValue& pickle_item(const io::PyValue& seq, size_t index);

// `value` must be a dict; `what` names it in the message.
const io::PyValue& expect_dict(const io::PyValue& value, const std::string& source, const std::string& what);

// dict[key]; FormatError "<what>: no entry for '<key>'" when absent.
const io::PyValue& dict_entry(const io::PyValue& dict, const io::PyValue& key, const std::string& source,
                              const std::string& what);

// Elements of a list/tuple/set/frozenset (or a 1-D object/numeric ndarray, as numpy id arrays are).
std::vector<io::PyRef> collection_items(const io::PyValue& value, const std::string& source,
                                        const std::string& what);

// A sequence of str (Python 2 str already decoded by the pickle reader, bytes as latin-1).
std::vector<std::string> string_list(const io::PyValue& value, const std::string& source, const std::string& what);
// A sequence of integers (Python int/bool or integer numpy scalars).
std::vector<int64_t> int_list(const io::PyValue& value, const std::string& source, const std::string& what);
// A sequence of numbers (Python int/float or numeric numpy scalars), or a 1-D numeric ndarray.
std::vector<double> float_list(const io::PyValue& value, const std::string& source, const std::string& what);

// A numeric vector: 1-D ndarray, or a list of numbers / numpy scalars.
std::vector<float> float_vector(const io::PyValue& value, const std::string& source, const std::string& what);

// (rows, cols) float32 matrix from a 2-D ndarray or a list of 1-D vectors (COSMIC stores each
// dialogue's RoBERTa features as a Python list of 1024-d arrays). Ragged rows are an error.
FeatureMatrix feature_matrix(const io::PyValue& value, const std::string& source, const std::string& what);

// Python's repr of a dict key for messages: 'Ses01F_impro01' or 17.
std::string key_repr(const io::PyValue& key);

}  // namespace merc::data
