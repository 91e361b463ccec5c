#include "merc/train/checkpoint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "merc/core/error.h"

namespace merc::train {
namespace {

models::ModelDims iemocap_like_dims() {
  models::ModelDims d;
  d.input_dims = {100, 73, 0};
  d.use = {true, true, false};
  d.task = data::Task::kClassification;
  d.num_classes = 6;
  d.num_speakers = 2;
  return d;
}

TEST(CheckpointDims, JsonRoundTripWithAndWithoutSemanticDim) {
  models::ModelDims d = iemocap_like_dims();
  EXPECT_EQ(nlohmann::json::parse(dims_to_json(d))["semantic_dim"], 0);
  EXPECT_TRUE(dims_from_json(dims_to_json(d), "run/checkpoint.pt") == d);
  d.semantic_dim = 384;
  EXPECT_EQ(nlohmann::json::parse(dims_to_json(d))["semantic_dim"], 384);
  const models::ModelDims back = dims_from_json(dims_to_json(d), "run/checkpoint.pt");
  EXPECT_EQ(back.semantic_dim, 384);
  EXPECT_TRUE(back == d);
}

// Run directories written before semantic vectors existed have no "semantic_dim": they had none.
TEST(CheckpointDims, OlderDimsWithoutSemanticDimStillLoad) {
  nlohmann::json old = nlohmann::json::parse(dims_to_json(iemocap_like_dims()));
  old.erase("semantic_dim");
  const models::ModelDims d = dims_from_json(old.dump(), "old/checkpoint.pt");
  EXPECT_EQ(d.semantic_dim, 0);
  EXPECT_TRUE(d == iemocap_like_dims());

  old["semantic_dim"] = -1;
  try {
    dims_from_json(old.dump(), "bad/checkpoint.pt");
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), "bad/checkpoint.pt");
    EXPECT_NE(std::string(e.what()).find("semantic_dim -1 is negative"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace merc::train
