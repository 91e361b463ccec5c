#pragma once
// Typed configuration: every configurable component declares its fields ONCE, in a `visit`
// method that names each field with its default (the member initialiser) and a help line:
//
//   struct TrainConfig : ConfigStruct {
//     int64_t epochs = 30;
//     double lr = 1e-3;
//     void visit(FieldVisitor& v) override {
//       v.field("epochs", epochs, "number of training epochs");
//       v.field("lr", lr, "learning rate");
//     }
//   };
//
// From that one declaration come: reading YAML (unknown keys are errors listing the valid keys,
// wrong types name the key), `--set a.b=c` overrides, YAML/JSON writing, and help text. A config
// is a tree: `section()` nests another ConfigStruct under a key. A section may be polymorphic
// (the model section's fields depend on `model.name`): ConfigStruct::resolve_section lets the
// parent replace it before its keys are read.
//
// Layering (design.md): code defaults <- dataset preset <- model preset <- experiment file <-
// `--set`; each layer is a YAML map applied in order with apply_yaml(), so a later layer only
// overrides the keys it names.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace merc {

struct ConfigStruct;

// The kinds of fields a config may hold. One overload per kind; implementations (reader, writer,
// help) handle each.
class FieldVisitor {
 public:
  virtual ~FieldVisitor() = default;
  virtual void field(const char* name, bool& value, const char* help) = 0;
  virtual void field(const char* name, int64_t& value, const char* help) = 0;
  virtual void field(const char* name, double& value, const char* help) = 0;
  virtual void field(const char* name, std::string& value, const char* help) = 0;
  virtual void field(const char* name, std::vector<int64_t>& value, const char* help) = 0;
  virtual void field(const char* name, std::vector<double>& value, const char* help) = 0;
  virtual void field(const char* name, std::vector<std::string>& value, const char* help) = 0;
  // A nested struct under `name`. `sub` is a reference to the owner's pointer so that a
  // polymorphic section can be swapped by the owner (see ConfigStruct::resolve_section).
  virtual void section(const char* name, ConfigStruct& sub, const char* help) = 0;
};

struct ConfigStruct {
  virtual ~ConfigStruct() = default;
  // Declares every field. Must be a pure function of the object (the same keys in the same order
  // every call) except for polymorphic sections, which resolve_section may replace.
  virtual void visit(FieldVisitor& v) = 0;
  // Called by the YAML reader before it reads the keys of `node` into this struct; a struct with
  // a polymorphic section (e.g. the experiment's `model`, whose fields depend on `model.name`)
  // replaces that section here. `node` is the layer being applied. Default: nothing.
  virtual void resolve_sections(const YAML::Node& node);
};

// One leaf of a config tree, for help and listings: "train.lr", "double", "0.001", "learning rate".
struct ConfigFieldInfo {
  std::string key;
  std::string type;
  std::string value;  // current value, rendered as YAML flow text
  std::string help;
};

// Parses YAML text; a syntax error is a merc::FormatError naming `source`, line and column.
YAML::Node parse_yaml(const std::string& text, const std::string& source);
// Reads and parses a YAML file (missing file -> merc::FormatError naming it).
YAML::Node read_yaml_file(const std::string& path);

// Applies a YAML map to `config`. `source` names where the map came from (a file path, "--set")
// and prefixes every error. Unknown key -> merc::Error listing the valid keys at that level;
// wrong type -> merc::Error naming the key and the expected type.
void apply_yaml(ConfigStruct& config, const YAML::Node& node, const std::string& source);
// Reads a YAML file and applies it (missing file, YAML syntax error -> merc::FormatError).
void apply_yaml_file(ConfigStruct& config, const std::string& path);
// Parses YAML text and applies it.
void apply_yaml_text(ConfigStruct& config, const std::string& text, const std::string& source);

// `--set a.b=c`: the value is parsed as YAML (so lists are `[1,2]`, strings may be bare).
// Builds the nested map {a: {b: c}} and applies it like any other layer.
void apply_override(ConfigStruct& config, const std::string& assignment);
// Splits "a.b=c" into the YAML map it denotes; malformed (no '=', empty key) -> merc::Error.
YAML::Node override_to_yaml(const std::string& assignment);

// The whole tree as YAML text (block style, comments with the help lines when `with_help`).
std::string to_yaml_text(const ConfigStruct& config, bool with_help = false);
// The whole tree as a compact JSON object.
std::string to_json_text(const ConfigStruct& config);
// Every leaf with its dotted key, type, value and help.
std::vector<ConfigFieldInfo> describe(const ConfigStruct& config);
// Value of one dotted key as YAML flow text ("" -> merc::Error listing valid keys when unknown).
std::string get_value_text(const ConfigStruct& config, const std::string& dotted_key);

}  // namespace merc
