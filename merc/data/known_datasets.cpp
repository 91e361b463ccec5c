#include "merc/data/known_datasets.h"

#include "merc/core/registry.h"

namespace merc::data {

const std::vector<KnownDataset>& known_datasets() {
  static const std::vector<KnownDataset> table = registry_checked(
      std::vector<KnownDataset>{
          {"mosi", "CMU-MOSI, 93 videos / 2199 utterances, text 100 + audio 73 + visual 100 (Poria et al. 2017 "
                   "features); embedded as merc's default dataset",
           "merc (embedded), mosi-poria, bclstm-2way, gcnet-labels, mmsa", "regression (+ binary labels)",
           "standard (52/10/31 videos), poria (62/31)", "mosi"},
          {"mosi_poria", "CMU-MOSI on the bc-LSTM split (62 train / 31 test videos), 10% of train carved for validation",
           "merc (embedded), mosi-poria", "classification (binary)", "poria", "mosi_poria"},
          {"mosei", "CMU-MOSEI sentiment (GCNet / MMSA / GraphSmile pickles)", "gcnet-labels, mmsa, graphsmile-mosei7",
           "regression or 7-class", "given", ""},
          {"iemocap", "IEMOCAP 4/6 emotions (M3Net, GraphSmile, GCNet pickles); 5-fold leave-one-session-out with "
                      "data.loso", "m3net-iemocap, graphsmile-iemocap, graphsmile-iemocap4, gcnet-labels",
           "classification", "given, loso-1..loso-5", ""},
          {"meld", "MELD (Friends), 7 emotions; transcripts (meld-csv) are featurized on the fly; M3Net/GraphSmile "
                   "pickles carry features", "meld-csv, cosmic-text-meld, m3net-meld, graphsmile-meld",
           "classification", "given (train/dev[/test])", "meld"},
          {"emorynlp", "EmoryNLP (Friends), 7 emotions; transcripts featurized on the fly", "emorynlp-csv, cosmic-emorynlp",
           "classification", "given (train/dev[/test])", ""},
          {"dailydialog", "DailyDialog, 7 emotions; transcripts featurized on the fly", "dailydialog", "classification",
           "given (train/validation[/test])", ""},
      },
      "dataset");
  return table;
}

const KnownDataset& find_known_dataset(const std::string& name) {
  return registry_find(known_datasets(), name, "dataset");
}

}  // namespace merc::data
