// torch.save reader on files written by Debian's python3-torch 1.13
// (tests/fixtures/make_torch_checkpoint_fixtures.py): both container formats, every dtype, views
// sharing a storage, nested and prefixed state_dicts, and hostile files.

#include "merc/io/torch_checkpoint.h"

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc::io {
namespace {

std::string torch_fixture(const std::string& name) { return std::string(MERC_FIXTURE_DIR) + "/torch/" + name; }

const CheckpointTensor& ckpt_tensor_named(const std::vector<CheckpointTensor>& v, const std::string& name) {
  for (const auto& t : v)
    if (t.name == name) return t;
  throw Error("no tensor " + name);
}

template <class T>
std::vector<T> ckpt_values(const CheckpointTensor& t) {
  std::vector<T> out(t.bytes.size() / sizeof(T));
  std::memcpy(out.data(), t.bytes.data(), t.bytes.size());
  return out;
}

// The script's base(12, float32).reshape(3, 4): m[i][j] = (4 i + j) * 0.5 - 1.
float ckpt_m_at(int i, int j) { return static_cast<float>(4 * i + j) * 0.5f - 1.0f; }

void expect_ckpt_views(const std::vector<CheckpointTensor>& sd) {
  const auto& m = ckpt_tensor_named(sd, "m");
  EXPECT_EQ(m.shape, (std::vector<int64_t>{3, 4}));
  std::vector<float> mv = ckpt_values<float>(m);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(mv[4 * i + j], ckpt_m_at(i, j));
  // Transposed view of the same storage: materialised in its own C order.
  const auto& mt = ckpt_tensor_named(sd, "mt");
  EXPECT_EQ(mt.shape, (std::vector<int64_t>{4, 3}));
  std::vector<float> tv = ckpt_values<float>(mt);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(tv[3 * i + j], ckpt_m_at(j, i));
  // m[1:, 2:]: offset 6, stride (4, 1).
  EXPECT_EQ(ckpt_values<float>(ckpt_tensor_named(sd, "slice")), (std::vector<float>{ckpt_m_at(1, 2), ckpt_m_at(1, 3), ckpt_m_at(2, 2), ckpt_m_at(2, 3)}));
  EXPECT_EQ(ckpt_values<float>(ckpt_tensor_named(sd, "row")), (std::vector<float>{ckpt_m_at(2, 0), ckpt_m_at(2, 1), ckpt_m_at(2, 2), ckpt_m_at(2, 3)}));
  const auto& scalar = ckpt_tensor_named(sd, "scalar");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(ckpt_values<float>(scalar), std::vector<float>{3.5f});
  EXPECT_EQ(ckpt_tensor_named(sd, "empty").shape, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(ckpt_tensor_named(sd, "empty").bytes.size(), 0u);
  // One tensor per dtype, base(6) reshaped (2, 3).
  EXPECT_EQ(ckpt_values<double>(ckpt_tensor_named(sd, "f64")), (std::vector<double>{-1, -0.5, 0, 0.5, 1, 1.5}));
  EXPECT_EQ(ckpt_values<int64_t>(ckpt_tensor_named(sd, "i64")), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ckpt_values<int32_t>(ckpt_tensor_named(sd, "i32")), (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ckpt_values<int16_t>(ckpt_tensor_named(sd, "i16")), (std::vector<int16_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ckpt_values<int8_t>(ckpt_tensor_named(sd, "i8")), (std::vector<int8_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ckpt_values<uint8_t>(ckpt_tensor_named(sd, "u8")), (std::vector<uint8_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ckpt_values<uint8_t>(ckpt_tensor_named(sd, "b")), (std::vector<uint8_t>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(ckpt_tensor_named(sd, "b").dtype, TorchDType::kBool);
  // IEEE half of -1, -0.5, 0, 0.5, 1, 1.5 and the same values in bfloat16 (upper half of float32).
  EXPECT_EQ(ckpt_values<uint16_t>(ckpt_tensor_named(sd, "f16")),
            (std::vector<uint16_t>{0xBC00, 0xB800, 0x0000, 0x3800, 0x3C00, 0x3E00}));
  EXPECT_EQ(ckpt_values<uint16_t>(ckpt_tensor_named(sd, "bf16")),
            (std::vector<uint16_t>{0xBF80, 0xBF00, 0x0000, 0x3F00, 0x3F80, 0x3FC0}));
  EXPECT_EQ(ckpt_tensor_named(sd, "bf16").dtype, TorchDType::kBFloat16);
}

TEST(TorchCheckpoint, ZipFormatViewsAndDtypes) {
  const TorchCheckpoint c = read_torch_checkpoint(torch_fixture("views_zip.pth"));
  EXPECT_EQ(c.format, TorchFileFormat::kZip);
  const auto sd = extract_state_dict(c);
  ASSERT_EQ(sd.size(), 15u);
  EXPECT_EQ(sd[0].name, "m");  // file order
  expect_ckpt_views(sd);
}

TEST(TorchCheckpoint, LegacyFormatGivesTheSameTensors) {
  const TorchCheckpoint c = read_torch_checkpoint(torch_fixture("views_legacy.pth"));
  EXPECT_EQ(c.format, TorchFileFormat::kLegacy);
  expect_ckpt_views(extract_state_dict(c));
}

TEST(TorchCheckpoint, TopFolderIsWhateverTheFileWasSavedAs) {
  expect_ckpt_views(extract_state_dict(read_torch_checkpoint(torch_fixture("renamed_top.pth"))));
}

TEST(TorchCheckpoint, FindsNestedStateDictAndHonoursKeyPath) {
  const TorchCheckpoint c = read_torch_checkpoint(torch_fixture("nested.pth"));
  EXPECT_EQ(state_dict_candidates(c), std::vector<std::string>{"state_dict"});
  const auto sd = extract_state_dict(c);
  std::vector<std::string> names;
  for (const auto& t : sd) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                             "1.running_var", "1.num_batches_tracked"}));
  EXPECT_EQ(ckpt_tensor_named(sd, "0.weight").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ckpt_tensor_named(sd, "1.num_batches_tracked").dtype, TorchDType::kInt64);
  StateDictOptions o;
  o.key_path = "state_dict";
  EXPECT_EQ(extract_state_dict(c, o).size(), 7u);
  o.key_path = "nope";
  EXPECT_THAT([&] { extract_state_dict(c, o); },
              testing::ThrowsMessage<FormatError>(testing::HasSubstr("no key 'nope'")));
}

TEST(TorchCheckpoint, OptimizerStateIsNotACandidate) {
  // {'model': sd, 'optimizer': opt.state_dict()}: the optimizer's per-parameter state is keyed by
  // ints, so the model's dict is the only state_dict.
  const TorchCheckpoint c = read_torch_checkpoint(torch_fixture("with_optimizer.pth"));
  EXPECT_EQ(state_dict_candidates(c), std::vector<std::string>{"model"});
  EXPECT_EQ(extract_state_dict(c).size(), 7u);
}

TEST(TorchCheckpoint, AmbiguousCheckpointListsTheCandidates) {
  const TorchCheckpoint c = read_torch_checkpoint(torch_fixture("ambiguous.pth"));
  EXPECT_THAT([&] { extract_state_dict(c); },
              testing::ThrowsMessage<FormatError>(testing::AllOf(testing::HasSubstr("'model', 'ema'"),
                                                                 testing::HasSubstr("--state-dict-key"))));
  StateDictOptions o;
  o.key_path = "ema";
  EXPECT_EQ(extract_state_dict(c, o).size(), 7u);
}

TEST(TorchCheckpoint, StripsTheDataParallelPrefix) {
  const TorchCheckpoint c = read_torch_checkpoint(torch_fixture("ddp_prefix.pth"));
  EXPECT_EQ(extract_state_dict(c).front().name, "0.weight");
  StateDictOptions keep;
  keep.strip_module_prefix = false;
  EXPECT_EQ(extract_state_dict(c, keep).front().name, "module.0.weight");
  // The same weights as the unprefixed file.
  const auto a = extract_state_dict(c);
  const auto b = extract_state_dict(read_torch_checkpoint(torch_fixture("module_sd.pth")));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].bytes, b[i].bytes) << a[i].name;
}

TEST(TorchCheckpoint, ReadsParameters) {
  const TorchCheckpoint c = read_torch_checkpoint(torch_fixture("parameter.pth"));
  EXPECT_TRUE(c.root->get("w")->as_torch_tensor().parameter);
  EXPECT_EQ(ckpt_values<float>(extract_state_dict(c).front()), (std::vector<float>{-1, -0.5, 0, 0.5}));
}

void expect_ckpt_error(const std::string& file, const std::vector<std::string>& parts) {
  try {
    const TorchCheckpoint c = read_torch_checkpoint(torch_fixture(file));
    extract_state_dict(c);
    ADD_FAILURE() << file << ": no error";
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_THAT(msg, testing::HasSubstr(file)) << "the message names the file";
    for (const auto& p : parts) EXPECT_THAT(msg, testing::HasSubstr(p)) << file;
  }
}

TEST(TorchCheckpoint, RefusesAWholePickledModuleNamingItsClass) {
  expect_ckpt_error("whole_module.pth", {"torch.nn.modules.container.Sequential", "model.state_dict()"});
}

TEST(TorchCheckpoint, HostileAndBrokenFilesAreClearErrors) {
  expect_ckpt_error("truncated.pth", {});
  expect_ckpt_error("truncated_legacy.pth", {"truncated legacy checkpoint"});
  expect_ckpt_error("short_storage.pth", {"data/0", "needs 48 bytes"});
  expect_ckpt_error("no_storage.pth", {"storage '0' is referenced", "data/0"});
  expect_ckpt_error("bad_crc.pth", {"data/0"});
  expect_ckpt_error("bad_stride.pth", {"tensor 'w'", "reaches element 45", "4 elements"});
  expect_ckpt_error("plain.pkl", {"plain pickle"});
}

TEST(TorchCheckpoint, ForbiddenGlobalsStayForbiddenWithTorchEnabled) {
  // os.system through REDUCE: protocol 2, GLOBAL 'os system', then a call.
  using namespace std::string_literals;
  const std::string evil = "\x80\x02" "cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03."s;
  PickleOptions o;
  o.torch = true;
  EXPECT_THAT([&] { parse_pickle(evil, "evil.pkl", o); },
              testing::ThrowsMessage<FormatError>(testing::HasSubstr("forbidden global os.system")));
  // Without the torch option, torch's rebuild functions are not allowed either.
  const std::string rebuild = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\nq\x00."s;
  EXPECT_THROW(parse_pickle(rebuild, "t.pkl"), FormatError);
  EXPECT_NO_THROW(parse_pickle(rebuild, "t.pkl", o));
}

}  // namespace
}  // namespace merc::io
