#pragma once
// Shared conversions from parsed pickles (merc/io/pickle.h) to dataset pieces, for every reader of
// this field's "dict per field" pickles: M3Net/MMGCN/MoED, GraphSmile, COSMIC, GCNet/MoMKE/ComP.
//
// Those files are positional tuples (or lists) of dicts keyed by dialogue id ("vid"):
// videoIDs[vid] = [utterance ids], videoLabels[vid] = [int], videoAudio[vid] = [L, D] array, ...,
// plus split iterables (trainVid, testVid: set / list / tuple of vids). The helpers here check
// the shape of each piece and turn it into plain C++ values. Every problem is a merc::FormatError
// that names the file and the field ("videoAudio", "trainVid") and, where it applies, the
// dialogue, so a user can find the defect in the source data.
//
// Ids: a dict key or split element is rendered as a string by io::key_to_string (str as is,
// bytes as latin-1, int as decimal). Dialogues are matched across fields by that string, so a
// MELD vid 12 (int) and "12" are the same dialogue.
//
// Detection helpers (the *_hint and is_* functions) never throw: format detection must be cheap
// and must survive any input.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/io/pickle.h"

namespace merc::data {

// ---- Positional tuples -------------------------------------------------------------------------

// The items of `root` when it is a tuple or list of exactly `names.size()` items. Otherwise a
// FormatError such as "expected a 9-tuple (videoIDs, videoSpeakers, ...), got a 7-list".
const std::vector<io::PyRef>& expect_tuple(const io::PyValue& root, const std::string& path,
                                           const std::vector<std::string_view>& names);

// Item `i` of a positional tuple, which must be a dict; otherwise a FormatError naming the item:
// "item 3 (videoText) should be a dict keyed by dialogue id, got list".
const io::PyValue& dict_item(const std::vector<io::PyRef>& items, size_t i, const std::string& path,
                             std::string_view name);

// ---- Dicts keyed by dialogue id ----------------------------------------------------------------

// A dict vid -> value indexed by the vid's string form, remembering which file and field it came
// from so lookups can report "<path>: videoAudio has no entry for dialogue 'Ses01F_impro01'".
// Keeps a pointer into the pickle tree: the tree must outlive the index.
class DictById {
 public:
  // Throws FormatError when `dict` is not a dict, a key cannot be rendered as an id, or two keys
  // render to the same id.
  DictById(const io::PyValue& dict, std::string path, std::string name);

  const io::PyValue* find(const std::string& id) const;  // nullptr when absent
  const io::PyValue& at(const std::string& id) const;    // FormatError when absent
  const std::vector<std::string>& ids() const { return ids_; }  // in the pickle's insertion order
  size_t size() const { return ids_.size(); }
  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }

 private:
  std::string path_;
  std::string name_;
  std::vector<std::string> ids_;
  std::unordered_map<std::string, const io::PyValue*> values_;
};

// ---- Values ------------------------------------------------------------------------------------

// Ids of a split iterable: set, frozenset, list, tuple, the keys of a dict, or a 1-D ndarray of
// ints / objects. Order is the pickle's (sets: insertion order as pickled; Python iterates a set
// of str in hash order, which depends on PYTHONHASHSEED, so Python may see another order).
std::vector<std::string> id_list(const io::PyValue& v, const std::string& path, std::string_view what);

// Integers from a list/tuple of int, bool or numpy integer scalars, or from a 1-D integer ndarray.
// Floats are rejected (a label list holding 2.0 is a different layout, see number_list).
std::vector<int64_t> int_list(const io::PyValue& v, const std::string& path, std::string_view what);

// Numbers from a list/tuple of int/float/bool/numpy numeric scalars or a 1-D numeric ndarray.
std::vector<double> number_list(const io::PyValue& v, const std::string& path, std::string_view what);

// Strings from a list/tuple (or 1-D object ndarray) of str or bytes (bytes read as latin-1);
// None becomes "".
std::vector<std::string> str_list(const io::PyValue& v, const std::string& path, std::string_view what);

// A (rows, cols) float32 matrix from a 2-D ndarray of any numeric dtype, or from a list/tuple (or
// 1-D object ndarray) whose rows are 1-D ndarrays or lists of numbers, all the same length. An
// empty list is 0 x 0. Anything else, ragged rows or non-finite sizes are FormatErrors.
FeatureMatrix matrix_from(const io::PyValue& v, const std::string& path, std::string_view what);

// Utterance ids of one dialogue from a videoIDs entry: str/bytes elements are used as they are,
// other elements (MELD stores utterance numbers 0..L-1) become "<dialogue_id>_<element>".
std::vector<std::string> utterance_ids(const io::PyValue& v, const std::string& dialogue_id,
                                       const std::string& path, std::string_view what);

// ---- Speakers ----------------------------------------------------------------------------------

enum class SpeakerEncoding {
  kMaleFemale,      // 'M' -> 0, 'F' -> 1 (M3Net/MMGCN/MoED/GraphSmile: [1,0] if x=='M'); others: error
  kFemaleMale,      // 'F' -> 0, 'M' -> 1 (GCNet/MoMKE/ComP speaker map); others: error
  kMaleElseOther,   // 'M' -> 0, any other string -> 1 (GraphSmile's rule, applied to MOSEI)
  kOneHot,          // one-hot vectors (MELD's 9 slots) -> index of the 1, name "slot<k>"
};

struct SpeakerCodes {
  std::vector<int64_t> index;     // per utterance
  std::vector<std::string> name;  // per utterance: the letter as stored, or "slot<k>"
  int64_t slots = 0;              // 2 for letters, vector width for one-hot
};

// Decodes one dialogue's speaker list. For kOneHot, `v` is a list of 1-D vectors or a 2-D array
// and every row must hold exactly one non-zero entry.
SpeakerCodes decode_speakers(const io::PyValue& v, SpeakerEncoding encoding, const std::string& path,
                             std::string_view what);

// ---- Splits ------------------------------------------------------------------------------------

struct SplitIds {
  std::string partition;          // "train", "valid", "test"
  std::string source;             // field name for messages, e.g. "trainVid"
  std::vector<std::string> ids;   // dialogue ids in the order they should be visited
};

// Builds a split scheme over `dialogue_index` (dialogue id -> index into Dataset::dialogues).
// FormatErrors: an id that is not a dialogue ("trainVid lists dialogue 'X' that videoIDs does not
// have"), an id listed twice in one partition, an id in two partitions. Dialogues in no partition
// are kept out of every partition and reported as ONE warning (with the count) in `warnings`.
SplitScheme split_from_ids(std::string scheme_name, const std::vector<SplitIds>& parts,
                           const std::unordered_map<std::string, int64_t>& dialogue_index,
                           const std::string& path, std::string_view dialogues_source,
                           std::vector<std::string>* warnings);

// ---- Sentiment datasets (CMU-MOSI / MOSEI style) -----------------------------------------------

// Binary label of a sentiment score: score >= 0 -> 1 (positive), else 0 (negative). Zero scores
// are labelled positive; the non-zero Acc-2 protocol drops them by score at evaluation time and
// the has-zero protocol counts them as positive, so both can be computed.
int64_t binary_label_from_score(double score);
// "CMU-MOSEI" / "CMU-MOSI" when `name` (a file name or path) mentions mosei / mosi, ignoring case;
// "" otherwise.
std::string cmu_dataset_name(std::string_view name);

// ---- Detection helpers (never throw) -----------------------------------------------------------

// The value of the first entry of a dict (nullptr when `v` is not a non-empty dict).
const io::PyValue* first_dict_value(const io::PyValue& v) noexcept;
// Column count of a matrix-like value (2-D ndarray, list of 1-D arrays/lists); -1 if not one or
// empty.
int64_t matrix_cols_hint(const io::PyValue& v) noexcept;
// True for Python int/bool or an integer/bool numpy scalar.
bool is_int_like(const io::PyValue& v) noexcept;
// True for Python float or a floating numpy scalar.
bool is_float_like(const io::PyValue& v) noexcept;
// True for str or bytes.
bool is_text_like(const io::PyValue& v) noexcept;
// The first element of a list/tuple/1-D ndarray entry, classified: 'i' int-like, 'f' float-like
// (a 1-element numeric array counts as the number it holds, as number_list reads it), 's'
// str/bytes, 'v' a vector (list or 1-D array), '?' other or empty. For a numeric ndarray entry
// the dtype decides ('i' or 'f'; 'v' when it is 2-D).
char first_element_kind(const io::PyValue& v) noexcept;

}  // namespace merc::data
