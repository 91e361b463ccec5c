#include "merc/models/model.h"

#include <gtest/gtest.h>

namespace merc::models {
namespace {

// Semantic vectors (DatasetInfo::semantic_dim) are part of the dims a run is checked against.
TEST(ModelDims, SemanticDimComesFromTheDatasetAndIsPartOfDescribeAndEquality) {
  data::DatasetInfo info;
  info.name = "t";
  info.class_names = {"a", "b"};
  info.num_speakers = 2;
  info.modality_dims = {100, 73, 0};
  const ModelDims plain = model_dims(info, {}, data::Task::kClassification);
  EXPECT_EQ(plain.semantic_dim, 0);
  EXPECT_EQ(plain.describe(), "text 100 + audio 73 -> 2 classes, 2 speakers");
  EXPECT_EQ(plain.class_names, (std::vector<std::string>{"a", "b"}));  // for label words (HRG-SSA)

  info.semantic_dim = 384;
  const ModelDims sem = model_dims(info, {}, data::Task::kClassification);
  EXPECT_EQ(sem.semantic_dim, 384);
  EXPECT_EQ(sem.describe(), "text 100 + audio 73 + semantic 384 -> 2 classes, 2 speakers");
  EXPECT_FALSE(sem == plain);
  ModelDims other = sem;
  EXPECT_TRUE(other == sem);
  other.semantic_dim = 768;
  EXPECT_FALSE(other == sem);
  // model.modalities picks modalities only; the semantic vectors stay available.
  EXPECT_EQ(model_dims(info, {"t"}, data::Task::kClassification).describe(),
            "text 100 + semantic 384 -> 2 classes, 2 speakers");
}

}  // namespace
}  // namespace merc::models
