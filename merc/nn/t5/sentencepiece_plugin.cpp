// The module libmerc_sentencepiece.so: the only code linked with Debian's libsentencepiece (see
// sentencepiece_backend.h for why). Built as a separate CMake MODULE target, not part of merc_lib;
// exports one C function. Nothing here throws across the boundary.

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "merc/nn/t5/sentencepiece_backend.h"

namespace merc::nn::t5::sentencepiece_plugin_detail {

bool report(const sentencepiece::util::Status& status, std::string* error) {
  if (!status.ok()) *error = status.ToString();
  return status.ok();
}

class Model : public SentencePieceModel {
 public:
  int piece_count() const override { return sp.GetPieceSize(); }
  int pad_id() const override { return sp.pad_id(); }
  int eos_id() const override { return sp.eos_id(); }
  int unk_id() const override { return sp.unk_id(); }
  int piece_to_id(std::string_view piece) const override { return sp.PieceToId(piece); }
  std::string id_to_piece(int id) const override { return sp.IdToPiece(id); }
  bool encode(std::string_view text, std::vector<int>* ids, std::string* error) const override {
    return report(sp.Encode(text, ids), error);
  }
  bool encode(std::string_view text, std::vector<std::string>* pieces, std::string* error) const override {
    return report(sp.Encode(text, pieces), error);
  }
  bool decode(const std::vector<std::string>& pieces, std::string* text, std::string* error) const override {
    return report(sp.Decode(pieces, text), error);
  }

  sentencepiece::SentencePieceProcessor sp;
};

SentencePieceModel* load(const std::string& path, std::string* error) {
  auto model = std::make_unique<Model>();
  if (!report(model->sp.Load(path), error)) return nullptr;
  return model.release();
}

// Hands SentencePiece the sentences one by one (no temporary file).
class SentenceList : public sentencepiece::SentenceIterator {
 public:
  explicit SentenceList(const std::vector<std::string>& sentences) : sentences_(sentences) {}
  bool done() const override { return next_ >= sentences_.size(); }
  void Next() override { ++next_; }
  const std::string& value() const override { return sentences_[next_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& sentences_;
  size_t next_ = 0;
};

bool train(const std::unordered_map<std::string, std::string>& arguments, unsigned seed,
           const std::vector<std::string>& sentences, std::string* model, std::string* error) {
  sentencepiece::SetRandomGeneratorSeed(seed);
  SentenceList list(sentences);
  try {  // SentencePiece reports through Status; this guards allocation failures
    return report(sentencepiece::SentencePieceTrainer::Train(arguments, &list, model), error);
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

}  // namespace merc::nn::t5::sentencepiece_plugin_detail

extern "C" __attribute__((visibility("default"))) const merc::nn::t5::SentencePiecePluginApi*
merc_sentencepiece_plugin() {
  namespace d = merc::nn::t5::sentencepiece_plugin_detail;
  static const merc::nn::t5::SentencePiecePluginApi api{merc::nn::t5::kSentencePiecePluginAbi, &d::load, &d::train};
  return &api;
}
