#include "merc/core/config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "merc/core/error.h"

namespace merc {

void ConfigStruct::resolve_sections(const YAML::Node&) {}

namespace {

std::string join_key(const std::string& prefix, const char* name) {
  return prefix.empty() ? std::string(name) : prefix + "." + name;
}

const char* yaml_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "an undefined node";
  }
}

// Splits "1, 2,3" for list fields given as one scalar (so `--set x=1,2,3` works unquoted).
std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty() || !out.empty()) out.push_back(cur);
  return out;
}

template <class T>
T parse_scalar(const std::string& text, const std::string& source, const std::string& key,
               const char* type) {
  try {
    const YAML::Node n = YAML::Load(text.empty() ? std::string("''") : text);
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw Error(fmt::format("{}: {}: expected {}, got '{}'", source, key, type, text));
  }
}

// ---------------------------------------------------------------- reading
class YamlReader final : public FieldVisitor {
 public:
  YamlReader(const YAML::Node& node, std::string source, std::string prefix)
      : node_(node), source_(std::move(source)), prefix_(std::move(prefix)) {}

  void field(const char* name, bool& v, const char*) override { read_scalar(name, v, "true or false"); }
  void field(const char* name, int64_t& v, const char*) override { read_scalar(name, v, "an integer"); }
  void field(const char* name, double& v, const char*) override { read_scalar(name, v, "a number"); }
  void field(const char* name, std::string& v, const char*) override {
    YAML::Node n = take(name);
    if (!n) return;
    if (n.IsNull()) {
      v.clear();
      return;
    }
    if (!n.IsScalar())
      throw Error(fmt::format("{}: {}: expected a string, got {}", source_, key(name), yaml_kind(n)));
    v = n.Scalar();
  }
  void field(const char* name, std::vector<int64_t>& v, const char*) override { read_list(name, v, "an integer"); }
  void field(const char* name, std::vector<double>& v, const char*) override { read_list(name, v, "a number"); }
  void field(const char* name, std::vector<std::string>& v, const char*) override {
    read_list(name, v, "a string");
  }
  void section(const char* name, ConfigStruct& sub, const char*) override {
    YAML::Node n = take(name);
    if (!n || n.IsNull()) return;
    if (!n.IsMap())
      throw Error(fmt::format("{}: {}: expected a map of keys, got {}", source_, key(name), yaml_kind(n)));
    sub.resolve_sections(n);
    YamlReader inner(n, source_, key(name));
    sub.visit(inner);
    inner.finish();
  }

  // Every key in the node must have been consumed by a field.
  void finish() const {
    for (const auto& kv : node_) {
      const std::string k = kv.first.as<std::string>();
      if (!seen_.count(k)) {
        throw Error(fmt::format("{}: unknown key '{}'; valid keys{}: {}", source_, key(k.c_str()),
                                prefix_.empty() ? "" : " in '" + prefix_ + "'",
                                fmt::join(valid_, ", ")));
      }
    }
  }

 private:
  std::string key(const char* name) const { return join_key(prefix_, name); }

  YAML::Node take(const char* name) {
    valid_.push_back(name);
    YAML::Node n = node_[name];
    if (n) seen_.insert(name);
    return n;
  }

  template <class T>
  void read_scalar(const char* name, T& v, const char* type) {
    YAML::Node n = take(name);
    if (!n) return;
    if (!n.IsScalar())
      throw Error(fmt::format("{}: {}: expected {}, got {}", source_, key(name), type, yaml_kind(n)));
    try {
      v = n.as<T>();
    } catch (const YAML::Exception&) {
      throw Error(fmt::format("{}: {}: expected {}, got '{}'", source_, key(name), type, n.Scalar()));
    }
    if constexpr (std::is_same_v<T, double>) {
      if (!std::isfinite(v))
        throw Error(fmt::format("{}: {}: expected a finite number, got '{}'", source_, key(name), n.Scalar()));
    }
  }

  template <class T>
  void read_list(const char* name, std::vector<T>& v, const char* type) {
    YAML::Node n = take(name);
    if (!n) return;
    std::vector<T> out;
    if (n.IsNull()) {
      v.clear();
      return;
    }
    if (n.IsScalar()) {
      for (const std::string& part : split_commas(n.Scalar())) {
        if constexpr (std::is_same_v<T, std::string>) {
          out.push_back(part);
        } else {
          out.push_back(parse_scalar<T>(part, source_, key(name), type));
        }
      }
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        if (!item.IsScalar())
          throw Error(fmt::format("{}: {}: expected a list of {}, got an item that is {}", source_,
                                  key(name), type, yaml_kind(item)));
        try {
          out.push_back(item.as<T>());
        } catch (const YAML::Exception&) {
          throw Error(fmt::format("{}: {}: expected a list of {}, got item '{}'", source_, key(name),
                                  type, item.Scalar()));
        }
      }
    } else {
      throw Error(fmt::format("{}: {}: expected a list of {}, got {}", source_, key(name), type, yaml_kind(n)));
    }
    v = std::move(out);
  }

  const YAML::Node& node_;
  std::string source_;
  std::string prefix_;
  std::set<std::string> seen_;
  std::vector<std::string> valid_;
};

// ---------------------------------------------------------------- writing / describing
std::string flow(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

std::string format_double(double d) {
  // Shortest text that reads back to the same double, so a saved config reloads bit-exactly.
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

class Describer final : public FieldVisitor {
 public:
  explicit Describer(std::string prefix) : prefix_(std::move(prefix)) {}
  std::vector<ConfigFieldInfo> out;

  void field(const char* name, bool& v, const char* help) override { add(name, "bool", v ? "true" : "false", help); }
  void field(const char* name, int64_t& v, const char* help) override { add(name, "int", std::to_string(v), help); }
  void field(const char* name, double& v, const char* help) override { add(name, "float", format_double(v), help); }
  void field(const char* name, std::string& v, const char* help) override {
    YAML::Node n(v);
    add(name, "string", v.empty() ? "''" : flow(n), help);
  }
  void field(const char* name, std::vector<int64_t>& v, const char* help) override {
    add(name, "list of int", fmt::format("[{}]", fmt::join(v, ", ")), help);
  }
  void field(const char* name, std::vector<double>& v, const char* help) override {
    std::vector<std::string> parts;
    for (double d : v) parts.push_back(format_double(d));
    add(name, "list of float", fmt::format("[{}]", fmt::join(parts, ", ")), help);
  }
  void field(const char* name, std::vector<std::string>& v, const char* help) override {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const auto& s : v) n.push_back(s);
    add(name, "list of string", flow(n), help);
  }
  void section(const char* name, ConfigStruct& sub, const char*) override {
    Describer inner(join_key(prefix_, name));
    sub.visit(inner);
    out.insert(out.end(), inner.out.begin(), inner.out.end());
  }

 private:
  void add(const char* name, const char* type, std::string value, const char* help) {
    out.push_back({join_key(prefix_, name), type, std::move(value), help});
  }
  std::string prefix_;
};

class YamlWriter final : public FieldVisitor {
 public:
  YamlWriter(YAML::Emitter& e, bool with_help) : e_(e), with_help_(with_help) {}
  void field(const char* name, bool& v, const char* help) override { emit(name, help) << v; }
  void field(const char* name, int64_t& v, const char* help) override { emit(name, help) << v; }
  void field(const char* name, double& v, const char* help) override {
    emit(name, help) << format_double(v);
  }
  void field(const char* name, std::string& v, const char* help) override {
    // Quote strings so that e.g. "1" or "true" stay strings when read back.
    emit(name, help) << YAML::DoubleQuoted << v;
  }
  void field(const char* name, std::vector<int64_t>& v, const char* help) override {
    emit(name, help) << YAML::Flow << v;
  }
  void field(const char* name, std::vector<double>& v, const char* help) override {
    auto& e = emit(name, help);
    e << YAML::Flow << YAML::BeginSeq;
    for (double d : v) e << format_double(d);
    e << YAML::EndSeq;
  }
  void field(const char* name, std::vector<std::string>& v, const char* help) override {
    auto& e = emit(name, help);
    e << YAML::Flow << YAML::BeginSeq;
    for (const auto& s : v) e << YAML::DoubleQuoted << s;
    e << YAML::EndSeq;
  }
  void section(const char* name, ConfigStruct& sub, const char* help) override {
    emit(name, help) << YAML::BeginMap;
    sub.visit(*this);
    e_ << YAML::EndMap;
  }

 private:
  YAML::Emitter& emit(const char* name, const char* help) {
    if (with_help_ && help && *help) e_ << YAML::Comment(help) << YAML::Newline;
    e_ << YAML::Key << name << YAML::Value;
    return e_;
  }
  YAML::Emitter& e_;
  bool with_help_;
};

class JsonWriter final : public FieldVisitor {
 public:
  explicit JsonWriter(nlohmann::ordered_json& j) : j_(j) {}
  void field(const char* name, bool& v, const char*) override { j_[name] = v; }
  void field(const char* name, int64_t& v, const char*) override { j_[name] = v; }
  void field(const char* name, double& v, const char*) override { j_[name] = v; }
  void field(const char* name, std::string& v, const char*) override { j_[name] = v; }
  void field(const char* name, std::vector<int64_t>& v, const char*) override { j_[name] = v; }
  void field(const char* name, std::vector<double>& v, const char*) override { j_[name] = v; }
  void field(const char* name, std::vector<std::string>& v, const char*) override { j_[name] = v; }
  void section(const char* name, ConfigStruct& sub, const char*) override {
    nlohmann::ordered_json inner = nlohmann::ordered_json::object();
    JsonWriter w(inner);
    sub.visit(w);
    j_[name] = std::move(inner);
  }

 private:
  nlohmann::ordered_json& j_;
};

// Visiting is non-const by design (one visit method serves reading and writing); writers never
// modify, so casting const away for them is safe.
ConfigStruct& mut(const ConfigStruct& c) { return const_cast<ConfigStruct&>(c); }

}  // namespace

void apply_yaml(ConfigStruct& config, const YAML::Node& node, const std::string& source) {
  if (!node || node.IsNull()) return;
  if (!node.IsMap()) throw Error(fmt::format("{}: expected a map of keys at the top level, got {}", source, yaml_kind(node)));
  config.resolve_sections(node);
  YamlReader reader(node, source, "");
  config.visit(reader);
  reader.finish();
}

YAML::Node parse_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw FormatError(source, fmt::format("YAML syntax error at line {}, column {}: {}", e.mark.line + 1,
                                          e.mark.column + 1, e.msg));
  }
}

YAML::Node read_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw FormatError(path, "cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_yaml(ss.str(), path);
}

void apply_yaml_text(ConfigStruct& config, const std::string& text, const std::string& source) {
  apply_yaml(config, parse_yaml(text, source), source);
}

void apply_yaml_file(ConfigStruct& config, const std::string& path) { apply_yaml(config, read_yaml_file(path), path); }

YAML::Node override_to_yaml(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(fmt::format("--set '{}': expected KEY=VALUE with a dotted key, e.g. train.lr=0.001", assignment));
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  YAML::Node leaf;
  try {
    leaf = value.empty() ? YAML::Node(YAML::NodeType::Null) : YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("--set '{}': cannot parse the value: {}", assignment, e.msg));
  }
  // A value that YAML reads as a map (e.g. "a: b") is almost certainly a typo; keep it a string.
  if (leaf.IsMap()) leaf = YAML::Node(value);
  std::vector<std::string> parts;
  std::string cur;
  for (char c : key) {
    if (c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  for (const auto& p : parts)
    if (p.empty()) throw Error(fmt::format("--set '{}': empty component in key '{}'", assignment, key));
  YAML::Node node = leaf;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    YAML::Node parent(YAML::NodeType::Map);
    parent[*it] = node;
    node = parent;
  }
  return node;
}

void apply_override(ConfigStruct& config, const std::string& assignment) {
  apply_yaml(config, override_to_yaml(assignment), "--set " + assignment);
}

std::string to_yaml_text(const ConfigStruct& config, bool with_help) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  YamlWriter w(e, with_help);
  mut(config).visit(w);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

std::string to_json_text(const ConfigStruct& config) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonWriter w(j);
  mut(config).visit(w);
  return j.dump();
}

std::vector<ConfigFieldInfo> describe(const ConfigStruct& config) {
  Describer d("");
  mut(config).visit(d);
  return std::move(d.out);
}

std::string get_value_text(const ConfigStruct& config, const std::string& dotted_key) {
  std::vector<std::string> keys;
  for (const auto& f : describe(config)) {
    if (f.key == dotted_key) return f.value;
    keys.push_back(f.key);
  }
  throw UnknownNameError(fmt::format("unknown config key '{}'; valid keys: {}", dotted_key, fmt::join(keys, ", ")));
}

}  // namespace merc
