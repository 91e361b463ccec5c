#pragma once
// Token sequences of HRG-SSA's generative samples (method_reference.md §7.1; upstream reader.py
// encode_data, runner.py process_batch / predict).
//
// For target utterance t of a dialogue with window W the window nodes are j = max(0, t-W) .. t.
// Every utterance has token sequences in two roles:
//   current   item(t) = encode("<speaker>: <transcript>")                    (ends with EOS)
//             forecast = encode("<speaker>: undetermined & undetermined")
//   previous  item(j) = encode("<speaker>: <transcript>")[:-1] + encode(label sentence of j)[cut:]
//             forecast = encode("<speaker>: <emotion of j> & <sentiment of j>")
// where the label sentence (and the emotion/sentiment) of a previous turn are its gold labels in
// training and, at evaluation, the model's own prediction for that turn (merc's default) or the
// gold labels (the release's evaluation, which leaks test labels into the input: see
// docs/models/hrg_ssa.md). `cut` drops the sentence's fixed opening ("In the last round of the
// above dialogue, ..."), 11 tokens with t5-base's vocabulary (the release's resp[11:]).
// The history input of target t is item(j) for the previous window nodes in order, then item(t),
// keeping the last `max_history_tokens` tokens.
//
// Encoding goes through a function (text -> ids with EOS appended), so this file needs no
// tokenizer; the model passes T5Tokenizer::encode.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "merc/models/hrg_ssa_text.h"

namespace merc::models::hrg_ssa {

using Encode = std::function<std::vector<int64_t>(const std::string&)>;
using TokenIds = std::vector<int64_t>;

struct SampleOptions {
  int64_t window = 2;                 // W previous utterances (the release's -window_size)
  int64_t history_label_cut = 11;     // tokens of a label sentence dropped in a history item
  int64_t max_history_tokens = 512;   // t5-base's n_positions (the release truncates to it)
  bool emotion_first = true;
  SpeakerTemplate speaker_template = SpeakerTemplate::kNamed;
};

// What one utterance says and, where known, its labels as words.
struct TurnText {
  std::string speaker;     // the dataset's speaker name ("" = none)
  std::string transcript;  // "" where the text modality is missing
  std::string emotion;     // word, or kUndetermined when unknown
  std::string sentiment;   // word, or kUndetermined
};

// The token sequences of one utterance (see the header comment).
struct UtteranceTokens {
  TokenIds item_current, item_previous;
  TokenIds forecast_current, forecast_previous;
  TokenIds label_sentence;  // the whole sentence (the LM target when the turn is the target)
};

UtteranceTokens encode_utterance(const TurnText& turn, const SampleOptions& options, const Encode& encode);

// Window node indices of target t (oldest first, t last).
std::vector<int64_t> window_nodes(int64_t t, int64_t window);

// The history input of target t (see above) from the dialogue's utterance tokens.
TokenIds history_input(const std::vector<UtteranceTokens>& dialogue, int64_t t, const SampleOptions& options);

// The strings the model writes and reads about `turns` besides their transcripts: each labelled
// turn's target sentence and emotion forecast, and the "undetermined" forecast. A vocabulary trained
// from scratch (merc t5 init) learns from them with the training transcripts, so that the sentence
// template and the class words have pieces (e.g. CMU-MOSI's transcripts are upper case only).
std::vector<std::string> label_corpus(const std::vector<TurnText>& turns, const SampleOptions& options);

// The item of a previous turn whose label sentence was generated: encode(item)[:-1] +
// generated[cut:] (generated = the decoded ids without the decoder start token, ending with EOS or
// cut at max length: EOS is appended when missing, as the release does).
TokenIds item_with_generated_sentence(const TokenIds& item_current, const TokenIds& generated, int64_t cut,
                                      int64_t eos_id);

}  // namespace merc::models::hrg_ssa
