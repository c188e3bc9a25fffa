#include "bench/arca_bench/plan.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

namespace arca::bench {

std::vector<PlannedVariant> PlanVariants(
    const std::vector<ScenarioSpec>& chosen,
    const std::vector<ScenarioSpec>& registered) {
  // A ratio needs its baseline: bring each chosen scenario's, chosen or not.
  std::vector<ScenarioSpec> selected = chosen;
  for (const auto& s : chosen) {
    if (s.baseline.empty()) continue;
    const auto named = [&](const ScenarioSpec& r) {
      return r.name == s.baseline;
    };
    if (std::any_of(selected.begin(), selected.end(), named)) continue;
    auto it = std::find_if(registered.begin(), registered.end(), named);
    if (it != registered.end()) selected.push_back(*it);
  }
  std::vector<PlannedVariant> variants;
  std::set<Shape> all_shapes;
  for (const auto& s : selected) {
    for (size_t size : s.payload_sizes) all_shapes.insert({size, 1, 0});
  }
  if (all_shapes.empty()) all_shapes.insert({1024, 1, 0});
  // rpc-floor shapes by floor name, kept apart from the baseline shapes so a
  // selected floor still runs at the sizes it ran at without them.
  std::map<std::string, std::set<Shape>> floor_shapes;
  for (const auto& s : selected) {
    if (s.rpc_floor.empty()) continue;
    for (size_t size : s.payload_sizes)
      floor_shapes[s.rpc_floor].insert(s.RpcFloorShapeAt(size));
  }
  for (const auto& s : selected) {
    if (!s.is_baseline()) {
      for (size_t size : s.payload_sizes)
        variants.push_back({s, s.ShapeAt(size)});
      continue;
    }
    std::set<Shape> shapes;
    for (const auto& dependent : selected) {
      if (dependent.baseline == s.name) {
        for (size_t size : dependent.payload_sizes)
          shapes.insert(dependent.BaselineShapeAt(size));
      }
    }
    if (shapes.empty()) shapes = all_shapes;
    if (auto it = floor_shapes.find(s.name); it != floor_shapes.end()) {
      shapes.insert(it->second.begin(), it->second.end());
      floor_shapes.erase(it);
    }
    for (const Shape& shape : shapes) variants.push_back({s, shape});
  }
  // Floors that were not selected themselves.
  for (const auto& floor : floor_shapes) {
    auto it = std::find_if(
        registered.begin(), registered.end(),
        [&](const ScenarioSpec& r) { return r.name == floor.first; });
    if (it == registered.end()) continue;
    for (const Shape& shape : floor.second) variants.push_back({*it, shape});
  }
  return variants;
}

}  // namespace arca::bench
