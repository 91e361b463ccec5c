#include "merc/models/hrg_ssa_text.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "merc/core/error.h"

namespace merc::models::hrg_ssa {

const std::vector<std::string>& special_tokens() {
  static const std::vector<std::string> tokens = {
      "<bos_emotion>", "<eos_emotion>", "<bos_sentiment>", "<eos_sentiment>", "<bos_audio>",
      "<eos_audio>",   "<bos_video>",   "<eos_video>",     "<eos_status>",    "<bos_resp>"};
  return tokens;
}

namespace text_detail {

std::string as_word(const std::string& name) {
  std::string w = name;
  for (char& c : w)
    c = std::isspace(static_cast<unsigned char>(c)) ? '_'
                                                    : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return w;
}

const char* sentiment_word(int64_t code) {
  switch (code) {
    case 0:
      return "negative";
    case 1:
      return "neutral";
    case 2:
      return "positive";
    default:
      return kUndetermined;
  }
}

}  // namespace text_detail

LabelWords make_label_words(const std::vector<std::string>& class_names, const std::vector<std::string>& emotion_words,
                            const std::vector<int64_t>& sentiment_map) {
  const size_t c = class_names.size();
  MERC_CHECK(c >= 2, "hrg_ssa: the dataset has {} class names; label sentences need at least 2", c);
  MERC_CHECK(emotion_words.empty() || emotion_words.size() == c,
             "model.emotion_words has {} entries but the dataset has {} classes", emotion_words.size(), c);
  MERC_CHECK(sentiment_map.empty() || sentiment_map.size() == c,
             "model.sentiment_map has {} entries but the dataset has {} classes", sentiment_map.size(), c);
  LabelWords words;
  std::set<std::string> seen;
  for (size_t k = 0; k < c; ++k) {
    const std::string w = emotion_words.empty() ? text_detail::as_word(class_names[k]) : emotion_words[k];
    MERC_CHECK(!w.empty() && w.find_first_of(" \t\n") == std::string::npos,
               "model.emotion_words: class {} ('{}') needs one non-empty word, got '{}'", k, class_names[k], w);
    MERC_CHECK(seen.insert(w).second, "model.emotion_words: '{}' names two classes", w);
    words.emotion.push_back(w);
    const int64_t s = sentiment_map.empty() ? -1 : sentiment_map[k];
    MERC_CHECK(s >= -1 && s <= 2, "model.sentiment_map[{}] = {}; expected -1 (none), 0, 1 or 2", k, s);
    words.sentiment.emplace_back(text_detail::sentiment_word(s));
  }
  return words;
}

SpeakerTemplate parse_speaker_template(const std::string& name) {
  if (name == "named") return SpeakerTemplate::kNamed;
  if (name == "gender") return SpeakerTemplate::kGender;
  throw Error("model.speaker_template '" + name + "' is not one of: named, gender");
}

std::string speaker_word(const std::string& speaker_name) { return speaker_name.empty() ? "speaker" : speaker_name; }

std::string utterance_item(const std::string& speaker_name, const std::string& transcript) {
  return speaker_word(speaker_name) + ": " + transcript;
}

std::string target_sentence(const std::string& speaker_name, const std::string& emotion, const std::string& sentiment,
                            bool emotion_first, SpeakerTemplate speaker_template) {
  std::string who;
  if (speaker_template == SpeakerTemplate::kGender) {
    const std::string gender = speaker_name == "M"   ? "male"
                               : speaker_name == "F" ? "female"
                                                     : speaker_word(speaker_name);
    who = "the " + gender + " speaker's";
  } else {
    who = "the speaker " + speaker_word(speaker_name) + "'s";
  }
  const std::string emo = std::string("emotion is ") + kBosEmotion + " " + emotion + " " + kEosEmotion;
  const std::string sen = std::string("sentiment is ") + kBosSentiment + " " + sentiment + " " + kEosSentiment;
  const std::string head = "In the last round of the above dialogue, " + who + " ";
  return emotion_first ? head + emo + ", and the " + sen + "." : head + sen + ", and the " + emo + ".";
}

std::string emotion_forecast(const std::string& speaker_name, const std::string& emotion,
                             const std::string& sentiment) {
  return speaker_word(speaker_name) + ": " + emotion + " & " + sentiment;
}

std::optional<int64_t> parse_emotion(const std::string& decoded, const LabelWords& words) {
  const size_t at = decoded.find(kBosEmotion);
  if (at == std::string::npos) return std::nullopt;
  std::istringstream rest(decoded.substr(at + std::string(kBosEmotion).size()));
  std::string word;
  if (!(rest >> word)) return std::nullopt;
  const size_t marker = word.find('<');  // "joy<eos_emotion>": decoding may glue the closing marker
  if (marker != std::string::npos) word = word.substr(0, marker);
  const auto it = std::find(words.emotion.begin(), words.emotion.end(), word);
  if (it == words.emotion.end()) return std::nullopt;
  return static_cast<int64_t>(it - words.emotion.begin());
}

}  // namespace merc::models::hrg_ssa
