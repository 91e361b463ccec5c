#include "merc/data/readers/registry.h"

#include <fstream>

#include "merc/core/error.h"
#include "merc/data/readers/bclstm_2way.h"
#include "merc/data/readers/cosmic.h"
#include "merc/data/readers/dailydialog.h"
#include "merc/data/readers/emorynlp_csv.h"
#include "merc/data/readers/feature_folders.h"
#include "merc/data/readers/gcnet_labels.h"
#include "merc/data/readers/graph_pickle.h"
#include "merc/data/readers/meld_csv.h"
#include "merc/data/readers/merc_native.h"
#include "merc/data/readers/mmsa.h"
#include "merc/data/readers/mosi_poria.h"

namespace merc::data {

const std::vector<FormatReader>& format_readers() {
  // Order matters for detection: the first row whose detect() accepts the input wins, so more
  // specific layouts come before more general ones.
  // The graph ERC pickle rows below are mutually exclusive (arity, element types, identifying
  // dims), so their relative order does not matter.
  static const std::vector<FormatReader> kReaders = {
      // merc's own file first: its sniff reads only the header.
      {"merc", "merc native dataset file (.safetensors, safetensors-compatible)", detect_merc_native,
       read_merc_native},
      // Feature datasets read from directories.
      {"mosi-poria",
       "CMU-MOSI directory: Poria et al. feature CSVs (text 100, audio 73, video 100) + transcripts.csv + GCNet "
       "label pickle; splits 'standard' (52/10/31 videos) and 'poria' (62/31)",
       detect_mosi_poria, read_mosi_poria},
      // Feature pickles.
      {"bclstm-2way",
       "bc-LSTM 2way pickle (soujanyaporia/multimodal-sentiment-analysis {text,audio,video}_2way.pickle): one "
       "modality, videos padded to maxlen, binary labels, train/test",
       detect_bclstm_2way, read_bclstm_2way},
      // IMER label pickles, MMSA and COSMIC (gcnet_labels.h, mmsa.h, cosmic.h). cosmic-emorynlp has
      // the same arity as m3net-iemocap-roberta but one-hot speakers; it is listed first.
      {"gcnet-labels",
       "GCNet/MoMKE/ComP label pickle: list of 6 (IEMOCAP 4/6-way) or 7 (CMU-MOSI/MOSEI); features from "
       "per-utterance folders via --features MODALITY=DIR",
       detect_gcnet_labels, read_gcnet_labels},
      {"mmsa", "MMSA aligned_50.pkl / unaligned_50.pkl (RoHyDR): {train, valid, test} dicts of [N, T, D] arrays",
       detect_mmsa, read_mmsa},
      {"cosmic-emorynlp",
       "COSMIC emorynlp_features_roberta.pkl: list of 10 with 4 RoBERTa layers (stored as text [L, 4096])",
       detect_cosmic_emorynlp, read_cosmic_emorynlp},
      {"cosmic-text-iemocap", "COSMIC iemocap.pkl: list of 6 (speakers M/F, labels, sentences, train/test/valid ids)",
       detect_cosmic_text_iemocap, read_cosmic_text_iemocap},
      {"cosmic-text-meld", "COSMIC meld.pkl: list of 7 (one-hot speakers, emotion, sentiment, sentences, ids)",
       detect_cosmic_text_meld, read_cosmic_text_meld},
      {"cosmic-text-emorynlp", "COSMIC emorynlp.pkl: list of 6 (one-hot speakers, labels, sentences, ids)",
       detect_cosmic_text_emorynlp, read_cosmic_text_emorynlp},
      // Graph ERC feature pickles (graph_pickle.h).
      {"m3net-iemocap", "M3Net/MMGCN/MoED IEMOCAP_features.pkl: 9-tuple, textCNN 100 / IS10 1582 / denseface 342, 6 classes",
       detect_m3net_iemocap, read_m3net_iemocap},
      {"m3net-iemocap-roberta", "COSMIC iemocap_features_roberta.pkl (used by M3Net/MoED): 10-tuple, RoBERTa 4x1024 text; "
       "audio/visual/split from IEMOCAP_features.pkl when it sits beside it",
       detect_m3net_iemocap_roberta, read_m3net_iemocap_roberta},
      {"m3net-meld", "M3Net/MMGCN/MoED MELD_features_raw1.pkl: 10-tuple, text 600 / audio 300 / denseface 342, 7 classes, 9 speaker slots",
       detect_m3net_meld, read_m3net_meld},
      {"m3net-meld-roberta", "COSMIC meld_features_roberta.pkl (used by M3Net/MoED): 11-tuple, RoBERTa 4x1024 text; "
       "audio/visual/split from MELD_features_raw1.pkl when it sits beside it",
       detect_m3net_meld_roberta, read_m3net_meld_roberta},
      {"graphsmile-iemocap", "GraphSmile IEMOCAP pickle: 12-tuple, text 4x1024 / audio 1582 / visual 342, 6 classes",
       detect_graphsmile_iemocap, read_graphsmile_iemocap},
      {"graphsmile-iemocap4", "GraphSmile IEMOCAP4 pickle: 9-tuple, text 1024 / audio 100 / visual 512, 4 classes",
       detect_graphsmile_iemocap4, read_graphsmile_iemocap4},
      {"graphsmile-meld", "GraphSmile MELD pickle: 14-tuple, text 4x1024 / audio 300 / visual 342, 7 classes",
       detect_graphsmile_meld, read_graphsmile_meld},
      {"graphsmile-mosei7", "GraphSmile CMUMOSEI7 / MoED cmumosei_multi_regression_features.pkl: 9-tuple, float "
       "sentiment binned into 7 classes (score kept)",
       detect_graphsmile_mosei7, read_graphsmile_mosei7},
      // Transcript-only conversation datasets (no features; text, speakers, labels).
      {"meld-csv",
       "MELD official tables {train,dev,test}_sent_emo.csv (declare-lab/MELD): a directory or one table",
       detect_meld_csv, read_meld_csv},
      {"emorynlp-csv",
       "EmoryNLP tables emorynlp_{train,dev,test}_final.csv (declare-lab/MELD data/emorynlp): a "
       "directory or one table",
       detect_emorynlp_csv, read_emorynlp_csv},
      {"dailydialog",
       "DailyDialog text release: {train,validation,test}/dialogues_<split>.txt + "
       "dialogues_emotion_<split>.txt, or the flat dialogues_text.txt + dialogues_emotion.txt",
       detect_dailydialog, read_dailydialog},
  };
  return kReaders;
}

const FormatReader& find_format_reader(std::string_view name) {
  std::string valid;
  for (const auto& r : format_readers()) {
    if (r.name == name) return r;
    valid += (valid.empty() ? "" : ", ") + r.name;
  }
  throw UnknownNameError(fmt::format("unknown dataset format '{}'; valid formats: {}", name, valid));
}

namespace {
bool looks_like_pickle(const std::filesystem::path& path) {
  const auto ext = path.extension().string();
  // A safetensors file starts with its little-endian header length, whose first byte can be 0x80.
  if (ext == ".safetensors") return false;
  if (ext == ".pkl" || ext == ".pickle" || ext == ".p") return true;
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  return in.get(c) && static_cast<unsigned char>(c) == 0x80;  // PROTO opcode (protocol >= 2)
}
}  // namespace

Probe make_probe(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw_format_error(path.string(), "no such file or directory");
  Probe probe;
  probe.path = path;
  probe.is_directory = std::filesystem::is_directory(path, ec);
  if (!probe.is_directory && looks_like_pickle(path)) probe.pickle = io::load_pickle_file(path.string());
  return probe;
}

const FormatReader& detect_format(const Probe& probe) {
  std::string valid;
  for (const auto& r : format_readers()) {
    if (r.detect(probe)) return r;
    valid += (valid.empty() ? "" : ", ") + r.name;
  }
  throw_format_error(probe.path.string(),
                     "not a recognised dataset layout (pass --format NAME; formats: " + valid + ")");
}

Dataset read_dataset(const std::filesystem::path& path, const ReadOptions& options, std::string* format_used) {
  const Probe probe = make_probe(path);
  const FormatReader& reader = options.format.empty() ? detect_format(probe) : find_format_reader(options.format);
  Dataset ds;
  try {
    ds = reader.read(probe, options);
  } catch (const FormatError&) {
    throw;
  } catch (const std::exception& e) {
    // A reader that let a lower-level error through (a PyValue type check, a std:: container
    // error) still gets the file named, and the reader that was reading it.
    throw_format_error(path.string(), fmt::format("{} (while reading as '{}')", e.what(), reader.name));
  }
  if (ds.info.source_format.empty()) ds.info.source_format = reader.name;
  if (!options.semantic_dir.empty()) load_semantic_folder(ds, options.semantic_dir);
  ds.validate(path.string());
  if (format_used) *format_used = reader.name;
  return ds;
}

}  // namespace merc::data
