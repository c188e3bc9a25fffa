#ifndef ARCA_BENCH_ARCA_BENCH_PLAN_H_
#define ARCA_BENCH_ARCA_BENCH_PLAN_H_

// Which scenarios arca-bench runs at which shapes, apart from main.cc so that
// tests can check the plan without starting servers.

#include <vector>

#include "bench/arca_bench/scenario.h"

namespace arca::bench {

// One scenario at one shape.
struct PlannedVariant {
  ScenarioSpec spec;
  Shape shape;
};

// The variants of a run: each selected Arca scenario at its payload sizes;
// each selected scenario's baseline (from `registered`, selected or not) at
// the shapes the scenarios that compare with it ask for (a baseline selected
// with none: the single-item sizes of every selected scenario, else 1 KiB);
// and each selected scenario's rpc_floor (likewise) at that scenario's
// shapes.
std::vector<PlannedVariant> PlanVariants(
    const std::vector<ScenarioSpec>& selected,
    const std::vector<ScenarioSpec>& registered);

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_PLAN_H_
