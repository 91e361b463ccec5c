#pragma once
// The strings HRG-SSA's generative variant reads and writes (method_reference.md §7.1, §7.3;
// upstream jicoder-nwpu/HRG-SSA preprocess.py get_label, reader.py encode_data, runner.py predict).
//
//   utterance item   "<speaker>: <transcript>"
//   target sentence  "In the last round of the above dialogue, the speaker <S>'s emotion is
//                     <bos_emotion> <emotion> <eos_emotion>, and the sentiment is <bos_sentiment>
//                     <sentiment> <eos_sentiment>."   (emotion_first; IEMOCAP: "the <male|female>
//                     speaker's ..."; without emotion_first the sentiment clause comes first)
//   emotion forecast "<speaker>: <emotion> & <sentiment>"   ("undetermined & undetermined" for a
//                     turn whose label the model may not see)
// and the parse of a generated sentence back to a class: the word after <bos_emotion>. An output
// without it, or with a word that is no class's, is unparseable (nullopt), and merc counts it wrong.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace merc::models::hrg_ssa {

// The tokens the release adds to the T5 tokenizer, in its order (reader.py init_tokenizer).
const std::vector<std::string>& special_tokens();
inline constexpr const char* kBosEmotion = "<bos_emotion>";
inline constexpr const char* kEosEmotion = "<eos_emotion>";
inline constexpr const char* kBosSentiment = "<bos_sentiment>";
inline constexpr const char* kEosSentiment = "<eos_sentiment>";
inline constexpr const char* kUndetermined = "undetermined";

// Per class, the words the sentences use.
struct LabelWords {
  std::vector<std::string> emotion;    // C words, distinct, no spaces
  std::vector<std::string> sentiment;  // C words: negative / neutral / positive / undetermined
};

// emotion: `emotion_words` when given (C entries), else the class names lower-cased with spaces
// replaced by '_'; sentiment: sentiment_map (C entries, 0 negative, 1 neutral, 2 positive, -1
// undetermined, GraphSmile's convention) or, when empty, "undetermined" for every class. Wrong
// sizes, duplicate or empty words, map values outside [-1, 2] -> merc::Error naming the config key.
LabelWords make_label_words(const std::vector<std::string>& class_names, const std::vector<std::string>& emotion_words,
                            const std::vector<int64_t>& sentiment_map);

// How the target sentence names the speaker.
enum class SpeakerTemplate {
  kNamed,   // "the speaker Joey's" (MELD)
  kGender,  // "the male speaker's" (IEMOCAP: M -> male, F -> female; other names as they are)
};
// "named" / "gender"; anything else -> merc::Error listing both.
SpeakerTemplate parse_speaker_template(const std::string& name);

// A speaker name for the strings: the dataset's name, or "speaker" when it has none (CMU-MOSI).
std::string speaker_word(const std::string& speaker_name);

std::string utterance_item(const std::string& speaker_name, const std::string& transcript);
std::string target_sentence(const std::string& speaker_name, const std::string& emotion, const std::string& sentiment,
                            bool emotion_first, SpeakerTemplate speaker_template);
std::string emotion_forecast(const std::string& speaker_name, const std::string& emotion,
                             const std::string& sentiment);

// The class whose emotion word follows <bos_emotion> in a decoded sentence (words split on white
// space; the word may be glued to the marker, "<bos_emotion>joy", as SentencePiece decoding can
// leave it); nullopt when there is no marker or the word is no class's.
std::optional<int64_t> parse_emotion(const std::string& decoded, const LabelWords& words);

}  // namespace merc::models::hrg_ssa
