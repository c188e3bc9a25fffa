#include "bench/arca_bench/report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace arca::bench {
namespace {

using nlohmann::json;

double Round(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

// Every figure is rounded: sums of /proc ticks print as 0.19999999999999998
// otherwise.
json RoundedOrNull(const std::optional<double>& v, int digits) {
  return v.has_value() ? json(Round(*v, digits)) : json(nullptr);
}

// The performance targets of issue 4 that compare two entries.
struct RatioTarget {
  std::string scenario;
  int concurrency;
  size_t payload_bytes;  // 0: any
  double min_ratio;
  double max_p99_ratio;  // 0: no latency target
  std::string text;
};

const std::vector<RatioTarget>& RatioTargets() {
  static const auto* targets = new std::vector<RatioTarget>{
      {"kv-get", 64, 0, 2.0, 0,
       "kv-get at 64 in flight >= 2.0 x etcd Range ops/s"},
      {"kv-put", 64, 0, 1.0, 0,
       "kv-put (synced) at 64 in flight >= 1.0 x etcd Put ops/s"},
      {"transit-encrypt", 64, 1024, 0.70, 3.0,
       "transit-encrypt 1 KiB at 64 in flight >= 0.70 x echo-floor ops/s, "
       "p99 <= 3 x echo-floor p99"},
      {"transit-batch", 64, 0, 0.50, 0,
       "transit-batch at 64 in flight >= 0.50 x aead-floor bytes/s"},
      {"db-creds", 64, 0, 0.80, 0,
       "db-creds at 64 in flight >= 0.80 x pg-floor"},
  };
  return *targets;
}

json Targets(const Report& report) {
  json out = json::array();
  for (const auto& t : RatioTargets()) {
    json j = {{"target", t.text}, {"required_ratio", t.min_ratio}};
    const ResultEntry* found = nullptr;
    for (const auto& r : report.results) {
      if (r.scenario == t.scenario && r.concurrency == t.concurrency &&
          (t.payload_bytes == 0 || r.shape.payload_bytes == t.payload_bytes)) {
        found = &r;
      }
    }
    if (found == nullptr || !found->ratio.has_value()) {
      bool scenario_ran = false;
      bool level_ran = false;
      for (const auto& r : report.results) {
        scenario_ran = scenario_ran || r.scenario == t.scenario;
        level_ran = level_ran || r.concurrency == t.concurrency;
      }
      j["measured"] = nullptr;
      j["met"] = nullptr;
      j["note"] = !level_ran ? absl::StrCat("not run: no step at ",
                                            t.concurrency, " in flight")
                  : !scenario_ran ? "not run: scenario not selected"
                                  : "not run: its baseline did not run";
    } else {
      j["measured"] = Round(*found->ratio, 3);
      bool met = *found->ratio >= t.min_ratio;
      if (t.max_p99_ratio > 0 && found->baseline_p99_ms.has_value() &&
          *found->baseline_p99_ms > 0) {
        const double p99_ratio =
            found->step.latency.PercentileMs(0.99) / *found->baseline_p99_ms;
        j["p99_ratio"] = Round(p99_ratio, 3);
        j["max_p99_ratio"] = t.max_p99_ratio;
        met = met && p99_ratio <= t.max_p99_ratio;
      }
      j["met"] = met;
    }
    out.push_back(j);
  }
  const MemoryFigures& m = report.memory;
  json idle = {{"target", "arcad idle RSS <= 40 MiB"}, {"limit_mib", 40}};
  json loaded = {{"target", "arcad RSS with 100,000 KV secrets <= 150 MiB"},
                 {"limit_mib", 150}};
  if (m.measured) {
    idle["measured_mib"] = Round(m.idle_rss_mib, 1);
    idle["met"] = m.idle_rss_mib <= 40;
    if (m.secrets > 0) {
      loaded["measured_mib"] = Round(m.loaded_rss_mib, 1);
      loaded["secrets"] = m.secrets;
      loaded["met"] =
          m.secrets >= 100000 ? json(m.loaded_rss_mib <= 150) : json(nullptr);
    } else {
      loaded["met"] = nullptr;
      loaded["note"] = "no secrets stored in this run (--memory-secrets 0)";
    }
  } else {
    idle["met"] = nullptr;
    loaded["met"] = nullptr;
    idle["note"] = loaded["note"] = m.why_not;
  }
  out.push_back(idle);
  out.push_back(loaded);
  return out;
}

std::string Fmt(double v, int digits) {
  return absl::StrFormat("%.*f", digits, v);
}

std::string FmtOpt(const std::optional<double>& v, int digits) {
  return v.has_value() ? Fmt(*v, digits) : "–";
}

std::string Size(size_t bytes) {
  return Shape{.payload_bytes = bytes}.Label();
}

}  // namespace

double ResultEntry::ops_per_s() const {
  return step.seconds > 0 ? static_cast<double>(step.ops) / step.seconds : 0;
}

double ResultEntry::bytes_per_s() const {
  return ops_per_s() * static_cast<double>(shape.payload_bytes) *
         static_cast<double>(shape.items);
}

void ResultEntry::Add(const ResultEntry& round) {
  step.ops += round.step.ops;
  step.errors += round.step.errors;
  if (step.first_error.empty()) step.first_error = round.step.first_error;
  step.seconds += round.step.seconds;
  step.latency.Merge(round.step.latency);
  if (server_cpu_s.has_value() && round.server_cpu_s.has_value()) {
    *server_cpu_s += *round.server_cpu_s;
  } else {
    server_cpu_s.reset();
  }
  if (round.server_peak_rss_mib.has_value()) {
    server_peak_rss_mib =
        std::max(server_peak_rss_mib.value_or(0), *round.server_peak_rss_mib);
  }
  peak_rss_is_per_step = peak_rss_is_per_step && round.peak_rss_is_per_step;
  client_cpu_s += round.client_cpu_s;
  cpu_window_ops += round.cpu_window_ops;
}

void ResultEntry::ComputeCpuPerOp() {
  if (cpu_window_ops <= 0) return;
  if (server_cpu_s.has_value()) {
    server_cpu_us_per_op = *server_cpu_s / cpu_window_ops * 1e6;
  }
  client_cpu_us_per_op = client_cpu_s / cpu_window_ops * 1e6;
}

void ComputeRatios(std::vector<ResultEntry>& results) {
  for (auto& r : results) {
    if (r.baseline.empty()) continue;
    for (const auto& b : results) {
      if (b.scenario != r.baseline || b.shape != r.baseline_shape ||
          b.concurrency != r.concurrency) {
        continue;
      }
      r.baseline_ops_per_s = b.ops_per_s();
      r.baseline_bytes_per_s = b.bytes_per_s();
      r.baseline_p99_ms = b.step.latency.PercentileMs(0.99);
      const double base = r.ratio_of_bytes ? b.bytes_per_s() : b.ops_per_s();
      const double mine = r.ratio_of_bytes ? r.bytes_per_s() : r.ops_per_s();
      if (base > 0) r.ratio = mine / base;
    }
  }
  for (auto& r : results) {
    if (r.rpc_floor.empty()) continue;
    for (const auto& f : results) {
      if (f.scenario != r.rpc_floor || f.shape != r.rpc_floor_shape ||
          f.concurrency != r.concurrency) {
        continue;
      }
      r.rpc_floor_ops_per_s = f.ops_per_s();
      r.rpc_floor_bytes_per_s = f.bytes_per_s();
      if (f.ops_per_s() > 0) r.rpc_floor_ratio = r.ops_per_s() / f.ops_per_s();
      if (r.baseline_bytes_per_s.has_value() && *r.baseline_bytes_per_s > 0) {
        r.rpc_floor_vs_baseline = f.bytes_per_s() / *r.baseline_bytes_per_s;
      }
    }
  }
}

json ToJson(const Report& report) {
  json results = json::array();
  for (const auto& r : report.results) {
    json j;
    j["scenario"] = r.scenario;
    j["payload_bytes"] = r.shape.payload_bytes;
    j["items_per_op"] = r.shape.items;
    if (r.shape.response_bytes > 0) {
      j["response_bytes"] = r.shape.response_bytes;
    }
    j["concurrency"] = r.concurrency;
    j["ops"] = r.step.ops;
    j["duration_s"] = Round(r.step.seconds, 3);
    j["ops_per_s"] = Round(r.ops_per_s(), 1);
    j["bytes_per_s"] =
        r.reports_bytes ? json(Round(r.bytes_per_s(), 0)) : json(nullptr);
    j["p50_ms"] = Round(r.step.latency.PercentileMs(0.50), 4);
    j["p95_ms"] = Round(r.step.latency.PercentileMs(0.95), 4);
    j["p99_ms"] = Round(r.step.latency.PercentileMs(0.99), 4);
    j["p999_ms"] = Round(r.step.latency.PercentileMs(0.999), 4);
    j["mean_ms"] = Round(r.step.latency.MeanMs(), 4);
    j["errors"] = r.step.errors;
    if (!r.step.first_error.empty()) j["first_error"] = r.step.first_error;
    j["server"] = r.server;
    j["server_cpu_s"] = RoundedOrNull(r.server_cpu_s, 3);
    j["server_cpu_us_per_op"] = RoundedOrNull(r.server_cpu_us_per_op, 1);
    j["server_peak_rss_mib"] = RoundedOrNull(r.server_peak_rss_mib, 1);
    j["server_peak_rss_scope"] =
        r.peak_rss_is_per_step ? "step" : "since start";
    j["client_cpu_s"] = Round(r.client_cpu_s, 3);
    j["client_cpu_us_per_op"] = RoundedOrNull(r.client_cpu_us_per_op, 1);
    j["baseline"] = r.baseline.empty() ? json(nullptr) : json(r.baseline);
    j["baseline_ops_per_s"] = RoundedOrNull(r.baseline_ops_per_s, 1);
    j["ratio_of"] = r.baseline.empty()
                        ? json(nullptr)
                        : json(r.ratio_of_bytes ? "bytes_per_s" : "ops_per_s");
    j["ratio"] = RoundedOrNull(r.ratio, 3);
    if (!r.rpc_floor.empty()) {
      j["rpc_floor"] = r.rpc_floor;
      j["rpc_floor_payload_bytes"] = r.rpc_floor_shape.payload_bytes;
      j["rpc_floor_items_per_op"] = r.rpc_floor_shape.items;
      j["rpc_floor_response_bytes"] = r.rpc_floor_shape.response_bytes;
      j["rpc_floor_ops_per_s"] = RoundedOrNull(r.rpc_floor_ops_per_s, 1);
      j["rpc_floor_bytes_per_s"] = RoundedOrNull(r.rpc_floor_bytes_per_s, 0);
      j["rpc_floor_ratio"] = RoundedOrNull(r.rpc_floor_ratio, 3);
      j["rpc_floor_vs_baseline"] = RoundedOrNull(r.rpc_floor_vs_baseline, 3);
    }
    results.push_back(j);
  }
  json memory;
  const MemoryFigures& m = report.memory;
  if (m.measured) {
    memory = {
        {"idle_rss_mib", Round(m.idle_rss_mib, 1)},
        {"secrets", m.secrets},
        {"value_bytes", m.value_bytes},
        {"loaded_rss_mib",
         m.secrets > 0 ? json(Round(m.loaded_rss_mib, 1)) : json(nullptr)},
        {"loaded_peak_rss_mib",
         m.secrets > 0 ? json(Round(m.loaded_peak_rss_mib, 1)) : json(nullptr)},
        {"load_seconds", Round(m.load_seconds, 1)}};
  } else {
    memory = {{"measured", false}, {"why", m.why_not}};
  }
  json not_run = json::array();
  for (const auto& [name, why] : report.not_run) {
    not_run.push_back({{"scenario", name}, {"why", why}});
  }
  return {{"machine", report.machine},
          {"results", results},
          {"not_run", not_run},
          {"memory", memory},
          {"targets", Targets(report)}};
}

std::string ToMarkdown(const Report& report) {
  std::string md;
  absl::StrAppend(
      &md,
      "| scenario | payload | in flight | ops/s | MiB/s | p50 ms | p95 ms | "
      "p99 ms | p99.9 ms | errors | server CPU µs/op | server peak RSS MiB | "
      "baseline | ratio |\n",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
      "\n");
  for (const auto& r : report.results) {
    absl::StrAppend(
        &md, "| ", r.scenario, " | ", r.shape.Label(), " | ",
        r.concurrency, " | ", Fmt(r.ops_per_s(), 0), " | ",
        r.reports_bytes ? Fmt(r.bytes_per_s() / (1024.0 * 1024.0), 1) : "–",
        " | ", Fmt(r.step.latency.PercentileMs(0.50), 3), " | ",
        Fmt(r.step.latency.PercentileMs(0.95), 3), " | ",
        Fmt(r.step.latency.PercentileMs(0.99), 3), " | ",
        Fmt(r.step.latency.PercentileMs(0.999), 3), " | ", r.step.errors, " | ",
        FmtOpt(r.server_cpu_us_per_op, 1), " | ",
        FmtOpt(r.server_peak_rss_mib, 1), " | ",
        r.baseline.empty() ? "–" : r.baseline, " | ", FmtOpt(r.ratio, 2),
        " |\n");
  }
  bool floor_header = false;
  for (const auto& r : report.results) {
    if (r.rpc_floor.empty()) continue;
    if (!floor_header) {
      floor_header = true;
      absl::StrAppend(
          &md,
          "\nRPC floor at the exact shape (informational; the ratios above "
          "are unchanged). \"floor / baseline\" is the floor's bytes/s over "
          "the baseline's: the most of the ratio the transport alone "
          "leaves.\n\n",
          "| scenario | payload | in flight | RPC floor | floor shape | floor "
          "calls/s | floor MiB/s | ratio to floor | baseline | floor / "
          "baseline |\n",
          "|---|---:|---:|---|---:|---:|---:|---:|---|---:|\n");
    }
    absl::StrAppend(
        &md, "| ", r.scenario, " | ", r.shape.Label(), " | ", r.concurrency,
        " | ", r.rpc_floor, " | ", r.rpc_floor_shape.Label(), " | ",
        FmtOpt(r.rpc_floor_ops_per_s, 0), " | ",
        r.rpc_floor_bytes_per_s.has_value()
            ? Fmt(*r.rpc_floor_bytes_per_s / (1024.0 * 1024.0), 1)
            : "–",
        " | ", FmtOpt(r.rpc_floor_ratio, 2), " | ",
        r.baseline.empty() ? "–" : r.baseline, " | ",
        FmtOpt(r.rpc_floor_vs_baseline, 2), " |\n");
  }
  for (const auto& [name, why] : report.not_run) {
    absl::StrAppend(&md, "\n", name, " not run: ", why, ".\n");
  }
  const MemoryFigures& m = report.memory;
  absl::StrAppend(&md, "\n");
  if (m.measured) {
    absl::StrAppend(&md, "arcad idle RSS: ", Fmt(m.idle_rss_mib, 1), " MiB");
    if (m.secrets > 0) {
      absl::StrAppend(&md, "; with ", m.secrets, " secrets of ",
                      Size(m.value_bytes), ": ", Fmt(m.loaded_rss_mib, 1),
                      " MiB (peak ", Fmt(m.loaded_peak_rss_mib, 1),
                      " MiB, stored in ", Fmt(m.load_seconds, 1), " s)");
    }
    absl::StrAppend(&md, ".\n");
  } else {
    absl::StrAppend(&md, "arcad memory not measured: ", m.why_not, ".\n");
  }
  absl::StrAppend(&md, "\n| target | measured | met |\n|---|---:|---|\n");
  for (const auto& t : Targets(report)) {
    std::string measured = "not run";
    if (t.contains("measured") && !t["measured"].is_null()) {
      measured = absl::StrCat(Fmt(t["measured"].get<double>(), 2), " x");
      if (t.contains("p99_ratio")) {
        absl::StrAppend(&measured, ", p99 ",
                        Fmt(t["p99_ratio"].get<double>(), 2), " x");
      }
    } else if (t.contains("measured_mib")) {
      measured = absl::StrCat(Fmt(t["measured_mib"].get<double>(), 1), " MiB");
    }
    std::string met =
        t["met"].is_null() ? "–" : (t["met"].get<bool>() ? "yes" : "NO");
    absl::StrAppend(&md, "| ", t["target"].get<std::string>(), " | ", measured,
                    " | ", met, " |\n");
  }
  return md;
}

}  // namespace arca::bench
