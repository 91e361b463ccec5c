#pragma once
// Helpers for merc's explicit registries. Each registry is one visible table (a function returning
// a const std::vector<Entry>& built in that area's registry.cpp); entries have a `name` member.
// No static self-registration: the linker drops unreferenced objects from static libraries.

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "merc/core/error.h"

namespace merc {

template <class Entry>
std::vector<std::string> registry_names(const std::vector<Entry>& table) {
  std::vector<std::string> names;
  names.reserve(table.size());
  for (const auto& e : table) names.push_back(e.name);
  return names;
}

// The entry called `name`; otherwise UnknownNameError "unknown <kind> 'x'; valid: a, b, c".
template <class Entry>
const Entry& registry_find(const std::vector<Entry>& table, const std::string& name, const char* kind) {
  for (const auto& e : table)
    if (e.name == name) return e;
  throw UnknownNameError(
      fmt::format("unknown {} '{}'; valid {}s: {}", kind, name, kind, fmt::join(registry_names(table), ", ")));
}

// Throws merc::Error when two entries share a name (checked when a table is first built).
template <class Entry>
const std::vector<Entry>& registry_checked(const std::vector<Entry>& table, const char* kind) {
  for (size_t i = 0; i < table.size(); ++i)
    for (size_t j = i + 1; j < table.size(); ++j)
      if (table[i].name == table[j].name)
        throw Error(fmt::format("duplicate {} name '{}' in the registry", kind, table[i].name));
  return table;
}

}  // namespace merc
