#pragma once
// Precompiled header for the library and the tests. Torch dominates compile time (~20 s per
// translation unit on 2 cores); precompiling it once makes every TU pay it once per target.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
