#pragma once
// SentencePiece behind a plugin boundary.
//
// Why a plugin: Debian's libsentencepiece carries its own, older copy of protobuf-lite and exports
// its symbols (google::protobuf::*). Linked into a program that also loads LibTorch's libprotobuf
// (3.21), one copy's symbols replace the other's and the process crashes in libprotobuf's static
// initialisation before main() (or, in the other link order, SentencePiece runs on a protobuf
// runtime of another version). So SentencePiece is only linked into the module
// libmerc_sentencepiece.so (merc/nn/t5/sentencepiece_plugin.cpp), which merc loads with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND): the module and SentencePiece resolve their symbols among
// themselves first and add none to the program's global scope, so each protobuf copy serves its own
// users. Only standard-library types cross the boundary (one libstdc++ serves both sides).
//
// The module is found through $MERC_SENTENCEPIECE_PLUGIN, else the path it was built at, else next
// to the running executable.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace merc::nn::t5 {

// A loaded SentencePiece model (sentencepiece::SentencePieceProcessor). Thread-safe for
// concurrent const calls, as the processor is. Failures return false and set `error`.
class SentencePieceModel {
 public:
  virtual ~SentencePieceModel() = default;
  virtual int piece_count() const = 0;
  virtual int pad_id() const = 0;  // -1 when the model has none
  virtual int eos_id() const = 0;
  virtual int unk_id() const = 0;
  virtual int piece_to_id(std::string_view piece) const = 0;  // unk_id() when unknown
  virtual std::string id_to_piece(int id) const = 0;
  virtual bool encode(std::string_view text, std::vector<int>* ids, std::string* error) const = 0;
  virtual bool encode(std::string_view text, std::vector<std::string>* pieces, std::string* error) const = 0;
  virtual bool decode(const std::vector<std::string>& pieces, std::string* text, std::string* error) const = 0;
};

// The module's entry points, returned by its one exported C function.
struct SentencePiecePluginApi {
  int abi_version;  // kSentencePiecePluginAbi of the module's build
  // nullptr and `error` set when the file cannot be read as a model.
  SentencePieceModel* (*load)(const std::string& path, std::string* error);
  // SentencePieceTrainer::Train(arguments, sentences) after SetRandomGeneratorSeed(seed); the
  // serialized model into `model`.
  bool (*train)(const std::unordered_map<std::string, std::string>& arguments, unsigned seed,
                const std::vector<std::string>& sentences, std::string* model, std::string* error);
};

inline constexpr int kSentencePiecePluginAbi = 1;
inline constexpr const char* kSentencePiecePluginEntry = "merc_sentencepiece_plugin";

// The loaded module's entry points (loaded once per process). Throws merc::Error naming the paths
// tried when the module cannot be loaded.
const SentencePiecePluginApi& sentencepiece_plugin();

// Loads a model file; throws merc::FormatError naming `path` when it is missing or not a model.
std::shared_ptr<const SentencePieceModel> load_sentencepiece_model(const std::string& path);

}  // namespace merc::nn::t5
