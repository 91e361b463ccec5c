#pragma once
// THE table of datasets merc knows by name: what each is, which format(s) hold it, its task and
// default split, and the dataset preset (configs/datasets/<preset>.yaml) that sets it up. Data
// facts used by models still come from the loaded file's DatasetInfo; this table is for people
// (`merc list datasets`) and for presets.

#include <string>
#include <vector>

namespace merc::data {

struct KnownDataset {
  std::string name;         // "mosi", "meld", ...
  std::string description;  // one line
  std::string formats;      // readers that produce it, e.g. "mosi-poria, merc"
  std::string task;         // classification | regression
  std::string splits;       // split schemes the readers give
  std::string preset;       // configs/datasets/<preset>.yaml ("" = none)
};

const std::vector<KnownDataset>& known_datasets();
const KnownDataset& find_known_dataset(const std::string& name);  // UnknownNameError lists names

}  // namespace merc::data
