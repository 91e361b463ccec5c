#include "merc/core/config.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "merc/core/error.h"

namespace merc {
namespace {

struct InnerConfig : ConfigStruct {
  int64_t hidden = 64;
  std::vector<double> rates = {0.1, 0.2};
  void visit(FieldVisitor& v) override {
    v.field("hidden", hidden, "hidden size");
    v.field("rates", rates, "missing rates");
  }
};

struct OuterConfig : ConfigStruct {
  bool flag = false;
  double lr = 1e-3;
  std::string name = "adam";
  std::vector<std::string> names;
  std::vector<int64_t> seeds = {1};
  InnerConfig inner;
  void visit(FieldVisitor& v) override {
    v.field("flag", flag, "a flag");
    v.field("lr", lr, "learning rate");
    v.field("name", name, "a name");
    v.field("names", names, "names");
    v.field("seeds", seeds, "seeds");
    v.section("inner", inner, "nested");
  }
};

// Expects `fn` to throw merc::Error whose message contains every string in `parts`.
template <class Fn>
void expect_error(Fn fn, std::initializer_list<const char*> parts) {
  try {
    fn();
    FAIL() << "no error";
  } catch (const Error& e) {
    for (const char* p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Config, LayersOverrideOnlyTheKeysTheyName) {
  OuterConfig c;
  apply_yaml_text(c, "lr: 0.01\ninner: {hidden: 8}\n", "layer1");
  apply_yaml_text(c, "name: sgd\n", "layer2");
  EXPECT_DOUBLE_EQ(c.lr, 0.01);
  EXPECT_EQ(c.inner.hidden, 8);
  EXPECT_EQ(c.name, "sgd");
  EXPECT_EQ(c.inner.rates, (std::vector<double>{0.1, 0.2}));  // untouched default
  EXPECT_FALSE(c.flag);
}

TEST(Config, UnknownKeyListsValidKeysAtThatLevel) {
  OuterConfig c;
  expect_error([&] { apply_yaml_text(c, "inner: {hiden: 3}\n", "exp.yaml"); },
               {"exp.yaml", "unknown key 'inner.hiden'", "hidden, rates"});
  expect_error([&] { apply_yaml_text(c, "lrr: 3\n", "exp.yaml"); }, {"unknown key 'lrr'", "flag, lr, name"});
}

TEST(Config, WrongTypesNameTheKey) {
  OuterConfig c;
  expect_error([&] { apply_yaml_text(c, "inner: {hidden: 1.5}\n", "f"); }, {"inner.hidden", "an integer", "1.5"});
  expect_error([&] { apply_yaml_text(c, "lr: fast\n", "f"); }, {"lr", "a number", "fast"});
  expect_error([&] { apply_yaml_text(c, "lr: .nan\n", "f"); }, {"lr", "finite"});
  expect_error([&] { apply_yaml_text(c, "flag: maybe\n", "f"); }, {"flag", "true or false"});
  expect_error([&] { apply_yaml_text(c, "inner: 3\n", "f"); }, {"inner", "map"});
  expect_error([&] { apply_yaml_text(c, "name: [a, b]\n", "f"); }, {"name", "string", "list"});
  expect_error([&] { apply_yaml_text(c, "seeds: [1, x]\n", "f"); }, {"seeds", "x"});
  expect_error([&] { apply_yaml_text(c, "- 1\n- 2\n", "f"); }, {"f", "map"});
}

TEST(Config, SyntaxErrorIsAFormatErrorWithLine) {
  OuterConfig c;
  try {
    apply_yaml_text(c, "lr: 1\ninner: {hidden: [\n", "bad.yaml");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), "bad.yaml");
    EXPECT_NE(std::string(e.what()).find("line"), std::string::npos);
  }
  EXPECT_THROW(apply_yaml_file(c, "/nonexistent/x.yaml"), FormatError);
}

TEST(Config, SetOverridesParseAsYaml) {
  OuterConfig c;
  apply_override(c, "inner.hidden=16");
  apply_override(c, "lr=2e-4");
  apply_override(c, "flag=true");
  apply_override(c, "names=[a, b]");
  apply_override(c, "seeds=1,2,3");  // comma list without brackets
  apply_override(c, "inner.rates=0.5");
  apply_override(c, "name=random:0.3");  // "a: b" would be a map; "a:b" is a plain string
  EXPECT_EQ(c.inner.hidden, 16);
  EXPECT_DOUBLE_EQ(c.lr, 2e-4);
  EXPECT_TRUE(c.flag);
  EXPECT_EQ(c.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.seeds, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(c.inner.rates, (std::vector<double>{0.5}));
  EXPECT_EQ(c.name, "random:0.3");
  expect_error([&] { apply_override(c, "noequals"); }, {"KEY=VALUE"});
  expect_error([&] { apply_override(c, "inner..hidden=3"); }, {"empty component"});
  expect_error([&] { apply_override(c, "inner.nope=3"); }, {"--set inner.nope=3", "unknown key 'inner.nope'"});
}

TEST(Config, YamlRoundTripIsExact) {
  OuterConfig c;
  c.lr = 0.1 + 0.2;  // not representable in short decimal: must still round-trip bit-exactly
  c.name = "true";   // a string that YAML would read as a bool unless quoted
  c.names = {"1", "x y"};
  c.inner.rates = {1.0 / 3.0};
  const std::string text = to_yaml_text(c);
  OuterConfig d;
  apply_yaml_text(d, text, "roundtrip");
  EXPECT_EQ(d.lr, c.lr);
  EXPECT_EQ(d.name, "true");
  EXPECT_EQ(d.names, c.names);
  EXPECT_EQ(d.inner.rates, c.inner.rates);
  EXPECT_EQ(to_yaml_text(d), text);
}

TEST(Config, DescribeAndJsonCoverEveryLeaf) {
  OuterConfig c;
  const auto fields = describe(c);
  ASSERT_EQ(fields.size(), 7u);
  EXPECT_EQ(fields[5].key, "inner.hidden");
  EXPECT_EQ(fields[5].type, "int");
  EXPECT_EQ(fields[5].value, "64");
  EXPECT_EQ(fields[5].help, "hidden size");
  EXPECT_EQ(get_value_text(c, "inner.rates"), "[0.1, 0.2]");
  EXPECT_THROW(get_value_text(c, "inner.x"), UnknownNameError);
  EXPECT_EQ(to_json_text(c),
            R"({"flag":false,"lr":0.001,"name":"adam","names":[],"seeds":[1],"inner":{"hidden":64,"rates":[0.1,0.2]}})");
  const std::string with_help = to_yaml_text(c, true);
  EXPECT_NE(with_help.find("# learning rate"), std::string::npos);
}

}  // namespace
}  // namespace merc
