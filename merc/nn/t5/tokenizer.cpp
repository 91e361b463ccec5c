#include "merc/nn/t5/tokenizer.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"
#include "merc/io/binary_file.h"

namespace merc::nn::t5 {

namespace fs = std::filesystem;

namespace tokenizer_detail {

// Python's str.strip() set, restricted to ASCII: Hugging Face strips the text next to a special
// token with lstrip()/rstrip(); the non-ASCII spaces that differ are normalised by SentencePiece.
constexpr std::string_view kSpaces = " \t\n\r\f\v";

std::string_view strip_left(std::string_view s) {
  const size_t b = s.find_first_not_of(kSpaces);
  return b == std::string_view::npos ? std::string_view() : s.substr(b);
}

std::string_view strip_right(std::string_view s) {
  const size_t e = s.find_last_not_of(kSpaces);
  return e == std::string_view::npos ? std::string_view() : s.substr(0, e + 1);
}

std::string sentinel(int64_t n) { return "<extra_id_" + std::to_string(n) + ">"; }

// n of "<extra_id_n>" (digits only), or -1.
int64_t sentinel_number(std::string_view token) {
  constexpr std::string_view kPrefix = "<extra_id_";
  if (token.size() <= kPrefix.size() + 1 || token.substr(0, kPrefix.size()) != kPrefix || token.back() != '>') {
    return -1;
  }
  const std::string_view digits = token.substr(kPrefix.size(), token.size() - kPrefix.size() - 1);
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoll(std::string(digits));
}

// tokenization_utils_base.py clean_up_tokenization: spaces before punctuation and English
// contractions, replaced in this order.
std::string clean_up_tokenization(std::string s) {
  static const std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
      out.append(s, pos, hit - pos).append(to);
    }
    s = out.append(s, pos, std::string::npos);
  }
  return s;
}

nlohmann::json read_json(const fs::path& path) {
  try {
    return nlohmann::json::parse(io::read_file_bytes(path.string()));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path.string(), std::string("malformed JSON: ") + e.what());
  }
}

// "additional_special_tokens" of special_tokens_map.json / tokenizer_config.json: strings, or
// objects with "content" (AddedToken as newer transformers write it).
std::vector<std::string> additional_special_tokens(const nlohmann::json& j, const fs::path& path) {
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains("additional_special_tokens")) return out;
  for (const auto& t : j.at("additional_special_tokens")) {
    if (t.is_string()) {
      out.push_back(t.get<std::string>());
    } else if (t.is_object() && t.contains("content") && t.at("content").is_string()) {
      out.push_back(t.at("content").get<std::string>());
    } else {
      MERC_FORMAT_ERROR(path.string(), "additional_special_tokens holds {}, expected strings", t.dump());
    }
  }
  return out;
}

void check_ok(bool ok, const std::string& error, const std::string& what) {
  MERC_CHECK(ok, "SentencePiece could not {}: {}", what, error);
}

}  // namespace tokenizer_detail

T5Tokenizer::T5Tokenizer(const fs::path& path, int64_t extra_ids) {
  const bool folder = fs::is_directory(path);
  model_path_ = (folder ? path / "spiece.model" : path).string();
  sp_ = load_sentencepiece_model(model_path_);
  pad_id_ = sp_->pad_id();
  eos_id_ = sp_->eos_id();
  unk_id_ = sp_->unk_id();
  if (pad_id_ < 0 || eos_id_ < 0 || unk_id_ < 0) {
    MERC_FORMAT_ERROR(model_path_, "SentencePiece model without pad, eos and unk pieces (ids {}, {}, {}); "
                                   "T5 needs all three", pad_id_, eos_id_, unk_id_);
  }
  extra_ids_ = extra_ids >= 0 ? extra_ids : kDefaultExtraIds;
  if (folder && extra_ids < 0 && fs::exists(path / "tokenizer_config.json")) {
    const nlohmann::json config = tokenizer_detail::read_json(path / "tokenizer_config.json");
    if (config.is_object() && config.contains("extra_ids")) {
      MERC_CHECK(config.at("extra_ids").is_number_integer() && config.at("extra_ids").get<int64_t>() >= 0,
                 "{}: extra_ids must be a non-negative integer, got {}", (path / "tokenizer_config.json").string(),
                 config.at("extra_ids").dump());
      extra_ids_ = config.at("extra_ids").get<int64_t>();
    }
  }
  for (const int64_t id : {pad_id_, eos_id_, unk_id_}) add_token(sp_->id_to_piece(static_cast<int>(id)), true);
  for (int64_t n = 0; n < extra_ids_; ++n) add_token(tokenizer_detail::sentinel(n), true);
  if (folder) load_folder_files(path);
}

void T5Tokenizer::load_folder_files(const fs::path& folder) {
  // added_tokens.json first (it fixes the ids), then the special-token lists mark which are special
  // and add what is still missing, as Hugging Face's from_pretrained does.
  std::vector<std::string> special;
  for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
    if (!fs::exists(folder / name)) continue;
    const auto listed = tokenizer_detail::additional_special_tokens(tokenizer_detail::read_json(folder / name),
                                                                    folder / name);
    special.insert(special.end(), listed.begin(), listed.end());
  }
  if (const fs::path file = folder / "added_tokens.json"; fs::exists(file)) {
    const nlohmann::json j = tokenizer_detail::read_json(file);
    if (!j.is_object()) MERC_FORMAT_ERROR(file.string(), "expected an object {{token: id}}, got {}", j.type_name());
    std::vector<std::pair<int64_t, std::string>> by_id;
    for (const auto& [token, id] : j.items()) {
      if (!id.is_number_integer()) {
        MERC_FORMAT_ERROR(file.string(), "id of '{}' is {}, expected an integer", token, id.dump());
      }
      by_id.emplace_back(id.get<int64_t>(), token);
    }
    std::sort(by_id.begin(), by_id.end());
    for (const auto& [id, token] : by_id) {
      const std::optional<int64_t> known = find(token);
      if (known && *known == id) continue;  // a piece or sentinel listed with its own id
      if (known || id != size()) {
        MERC_FORMAT_ERROR(file.string(), "token '{}' has id {}, but the next free id is {}{}", token, id, size(),
                          known ? fmt::format(" and the vocabulary already has it as {}", *known) : "");
      }
      add_token(token, std::find(special.begin(), special.end(), token) != special.end());
    }
  }
  add_special_tokens(special);
}

void T5Tokenizer::add_token(const std::string& token, bool special) {
  MERC_CHECK(!token.empty(), "cannot add an empty token to the T5 tokenizer");
  const std::optional<int64_t> known = find(token);
  int64_t id = known.value_or(size());
  if (!known) {
    added_.push_back(token);
    added_ids_.emplace(token, id);
  }
  if (special) special_ids_.insert(id);
  auto& bucket = no_split_[token.front()];
  if (std::find(bucket.begin(), bucket.end(), token) != bucket.end()) return;
  bucket.push_back(token);
  std::stable_sort(bucket.begin(), bucket.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

int64_t T5Tokenizer::add_special_tokens(const std::vector<std::string>& tokens) {
  const int64_t before = size();
  for (const auto& t : tokens) add_token(t, true);
  return size() - before;
}

int64_t T5Tokenizer::piece_count() const { return sp_->piece_count(); }
int64_t T5Tokenizer::vocab_size() const { return piece_count() + extra_ids_; }
int64_t T5Tokenizer::size() const { return vocab_size() + static_cast<int64_t>(added_.size()); }

int64_t T5Tokenizer::extra_id(int64_t n) const {
  MERC_CHECK(n >= 0 && n < extra_ids_, "T5 sentinel <extra_id_{}> does not exist (this tokenizer has {})", n,
             extra_ids_);
  return vocab_size() - 1 - n;
}

std::optional<int64_t> T5Tokenizer::find(std::string_view token) const {
  if (const auto it = added_ids_.find(std::string(token)); it != added_ids_.end()) return it->second;
  const int64_t n = tokenizer_detail::sentinel_number(token);
  if (n >= 0 && n < extra_ids_ && token == tokenizer_detail::sentinel(n)) return vocab_size() - 1 - n;
  const int64_t id = sp_->piece_to_id(token);
  if (id != unk_id_ || token == sp_->id_to_piece(static_cast<int>(unk_id_))) return id;
  return std::nullopt;
}

bool T5Tokenizer::contains(std::string_view token) const { return find(token).has_value(); }

int64_t T5Tokenizer::token_to_id(std::string_view token) const {
  const std::optional<int64_t> id = find(token);
  MERC_CHECK(id.has_value(), "unknown T5 token '{}': not a piece of {}, a sentinel <extra_id_0..{}> or an added "
             "token", token, model_path_, extra_ids_ - 1);
  return *id;
}

std::string T5Tokenizer::id_to_token(int64_t id) const {
  MERC_CHECK(id >= 0 && id < size(), "T5 token id {} is outside the vocabulary [0, {})", id, size());
  if (id < piece_count()) return sp_->id_to_piece(static_cast<int>(id));
  if (id < vocab_size()) return tokenizer_detail::sentinel(vocab_size() - 1 - id);
  return added_[static_cast<size_t>(id - vocab_size())];
}

bool T5Tokenizer::is_special(int64_t id) const {
  return special_ids_.count(id) > 0 || (id >= piece_count() && id < vocab_size());
}

std::vector<T5Tokenizer::Segment> T5Tokenizer::split(std::string_view text) const {
  std::vector<Segment> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    const auto bucket = no_split_.find(text[i]);
    const std::string* hit = nullptr;
    if (bucket != no_split_.end()) {
      for (const auto& t : bucket->second) {
        if (text.compare(i, t.size(), t) == 0) {
          hit = &t;
          break;
        }
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    out.push_back({text.substr(start, i - start), false});
    out.push_back({text.substr(i, hit->size()), true});
    i += hit->size();
    start = i;
  }
  out.push_back({text.substr(start), false});
  // Plain text alternates with tokens (out[0], out[2], ... are text): strip next to each token.
  for (size_t k = 1; k < out.size(); k += 2) {
    out[k - 1].text = tokenizer_detail::strip_right(out[k - 1].text);
    out[k + 1].text = tokenizer_detail::strip_left(out[k + 1].text);
  }
  return out;
}

std::vector<std::string> T5Tokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> pieces;
  for (const Segment& s : split(text)) {
    if (s.text.empty()) continue;
    if (s.is_token) {
      pieces.emplace_back(s.text);
    } else {
      std::vector<std::string> p;
      std::string error;
      tokenizer_detail::check_ok(sp_->encode(s.text, &p, &error), error, "encode text");
      pieces.insert(pieces.end(), p.begin(), p.end());
    }
  }
  return pieces;
}

std::vector<int64_t> T5Tokenizer::encode(std::string_view text, bool add_eos) const {
  std::vector<int64_t> ids;
  for (const Segment& s : split(text)) {
    if (s.text.empty()) continue;
    if (s.is_token) {
      ids.push_back(*find(s.text));
    } else {
      std::vector<int> p;
      std::string error;
      tokenizer_detail::check_ok(sp_->encode(s.text, &p, &error), error, "encode text");
      ids.insert(ids.end(), p.begin(), p.end());
    }
  }
  // Hugging Face's _add_eos_if_not_present: text that already ends with "</s>" gets no second EOS.
  if (add_eos && (ids.empty() || ids.back() != eos_id_)) ids.push_back(eos_id_);
  return ids;
}

// T5Tokenizer.convert_tokens_to_string for ids below vocab_size(): special tokens verbatim (a space
// before the first of a group), the pieces between them through SentencePiece, ends stripped.
std::string T5Tokenizer::decode_run(const std::vector<int64_t>& ids) const {
  std::string out;
  std::vector<std::string> pieces;
  bool prev_special = false;
  const auto flush = [&] {
    std::string text, error;
    tokenizer_detail::check_ok(sp_->decode(pieces, &text, &error), error, "decode pieces");
    pieces.clear();
    return text;
  };
  for (const int64_t id : ids) {
    if (is_special(id)) {
      if (!prev_special) out += ' ';
      out += flush() + id_to_token(id);
      prev_special = true;
    } else {
      pieces.push_back(id_to_token(id));
      prev_special = false;
    }
  }
  out += flush();
  return std::string(tokenizer_detail::strip_right(tokenizer_detail::strip_left(out)));
}

std::string T5Tokenizer::decode(const std::vector<int64_t>& ids, const DecodeOptions& options) const {
  // PreTrainedTokenizer._decode: added tokens stand alone, runs of the rest decode together, the
  // parts are joined with single spaces (spaces_between_special_tokens).
  std::vector<std::string> parts;
  std::vector<int64_t> run;
  for (const int64_t id : ids) {
    MERC_CHECK(id >= 0 && id < size(), "cannot decode T5 token id {}: outside the vocabulary [0, {})", id, size());
    if (options.stop_at_eos && id == eos_id_) break;
    if ((options.skip_pad && id == pad_id_) || (options.skip_special_tokens && is_special(id))) continue;
    if (id < vocab_size()) {
      run.push_back(id);
      continue;
    }
    if (!run.empty()) parts.push_back(decode_run(run));
    run.clear();
    parts.push_back(added_[static_cast<size_t>(id - vocab_size())]);
  }
  if (!run.empty()) parts.push_back(decode_run(run));
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) text += (i ? " " : "") + parts[i];
  return options.clean_up_tokenization_spaces ? tokenizer_detail::clean_up_tokenization(std::move(text)) : text;
}

TokenBatch T5Tokenizer::encode_batch(const std::vector<std::string>& texts, const BatchEncodeOptions& options) const {
  MERC_CHECK(options.max_length >= 0, "T5 batch max_length must be >= 0 (0 = no limit), got {}", options.max_length);
  MERC_CHECK(!options.pad_to_max_length || options.max_length > 0, "T5 batch pad_to_max_length needs a max_length");
  std::vector<std::vector<int64_t>> rows;
  int64_t longest = 0;
  for (const auto& text : texts) {
    std::vector<int64_t> ids = encode(text, options.add_eos);
    const auto limit = static_cast<size_t>(options.max_length);
    if (options.max_length > 0 && ids.size() > limit) {
      // The EOS stays last; the body loses its end (kRight) or its beginning (kLeft).
      const bool keep_eos = options.add_eos && ids.back() == eos_id_;
      if (keep_eos) ids.pop_back();
      const size_t body = limit - (keep_eos ? 1 : 0);
      if (options.truncation_side == TruncationSide::kRight) {
        ids.resize(body);
      } else {
        ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(body));
      }
      if (keep_eos) ids.push_back(eos_id_);
    }
    longest = std::max(longest, static_cast<int64_t>(ids.size()));
    rows.push_back(std::move(ids));
  }
  const int64_t length = options.pad_to_max_length ? options.max_length : longest;
  const auto batch = static_cast<int64_t>(rows.size());
  TokenBatch out{torch::full({batch, length}, pad_id_, torch::kLong), torch::zeros({batch, length}, torch::kLong)};
  for (int64_t b = 0; b < batch; ++b) {
    const auto n = static_cast<int64_t>(rows[static_cast<size_t>(b)].size());
    if (n == 0) continue;
    out.input_ids[b].narrow(0, 0, n).copy_(torch::tensor(rows[static_cast<size_t>(b)], torch::kLong));
    out.attention_mask[b].narrow(0, 0, n).fill_(1);
  }
  return out;
}

}  // namespace merc::nn::t5
