#ifndef ARCA_BENCH_ARCA_BENCH_REPORT_H_
#define ARCA_BENCH_ARCA_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/arca_bench/load_driver.h"
#include "bench/arca_bench/scenario.h"
#include "nlohmann/json.hpp"

namespace arca::bench {

// One scenario at one payload size and concurrency.
struct ResultEntry {
  std::string scenario;
  Shape shape;           // payload size, items per op, echo response size
  Shape baseline_shape;  // the baseline entry this one is compared with
  bool reports_bytes = true;
  int concurrency = 0;
  StepResult step;
  std::string server;  // which process served it
  // CPU of the server and of arca-bench itself over the measured window,
  // in all and per successful request.
  std::optional<double> server_cpu_s;
  std::optional<double> server_cpu_us_per_op;
  std::optional<double> server_peak_rss_mib;
  bool peak_rss_is_per_step =
      false;  // false: the peak since the server started
  double client_cpu_s = 0;
  std::optional<double> client_cpu_us_per_op;
  std::string baseline;  // "" for baselines
  bool ratio_of_bytes = false;
  // Filled by ComputeRatios.
  std::optional<double> baseline_ops_per_s;
  std::optional<double> baseline_bytes_per_s;
  std::optional<double> baseline_p99_ms;
  std::optional<double> ratio;
  // The informational RPC floor at this entry's exact shape (ScenarioSpec::
  // rpc_floor), which never changes `ratio`. Filled by ComputeRatios:
  // rpc_floor_ratio is this entry's ops/s over the floor's, and
  // rpc_floor_vs_baseline the floor's bytes/s over the baseline's, the most
  // of `ratio` the transport alone leaves.
  std::string rpc_floor;  // "" for none
  Shape rpc_floor_shape;
  std::optional<double> rpc_floor_ops_per_s;
  std::optional<double> rpc_floor_bytes_per_s;
  std::optional<double> rpc_floor_ratio;
  std::optional<double> rpc_floor_vs_baseline;

  // Requests completed while the CPU figures were being taken.
  double cpu_window_ops = 0;

  double ops_per_s() const;
  double bytes_per_s() const;
  // Adds another round of the same step (--repeat).
  void Add(const ResultEntry& round);
  // Fills the *_cpu_us_per_op fields from the totals.
  void ComputeCpuPerOp();
};

// arcad's memory, measured on a fresh arcad of its own.
struct MemoryFigures {
  bool measured = false;
  std::string why_not;      // when not measured
  double idle_rss_mib = 0;  // initialized and unsealed, before any request
  int secrets = 0;
  size_t value_bytes = 0;
  double loaded_rss_mib = 0;       // VmRSS once `secrets` secrets are stored
  double loaded_peak_rss_mib = 0;  // VmHWM over the whole load
  double load_seconds = 0;
};

// Everything one run produces. The JSON is the report contract of issue 4:
// {"machine": {...}, "results": [{"scenario", "concurrency", "ops_per_s",
// "p50_ms", "p99_ms", "errors", "baseline", "baseline_ops_per_s", "ratio",
// ...}, ...]} with one entry per scenario, payload size and concurrency
// (baselines are entries of their own, with null baseline fields), plus
// "memory" and "targets".
struct Report {
  nlohmann::json machine;
  std::vector<ResultEntry> results;
  MemoryFigures memory;
  // Scenarios selected but not run, with why (e.g. the service is not
  // served by this arcad).
  std::vector<std::pair<std::string, std::string>> not_run;
};

// Fills each entry's baseline fields from the entry of its baseline at the
// entry's baseline_shape and the same concurrency, and its rpc_floor fields
// likewise.
void ComputeRatios(std::vector<ResultEntry>& results);

nlohmann::json ToJson(const Report& report);
// A Markdown summary: the results table, the memory figures and the targets.
std::string ToMarkdown(const Report& report);

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_REPORT_H_
