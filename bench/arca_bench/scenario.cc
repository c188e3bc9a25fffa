#include "bench/arca_bench/scenario.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/status.h"

namespace arca::bench {
namespace {

std::vector<ScenarioSpec>& Registry() {
  static auto* registry = new std::vector<ScenarioSpec>();
  return *registry;
}

std::string SizeLabel(size_t bytes) {
  if (bytes >= 1024 && bytes % 1024 == 0)
    return absl::StrCat(bytes / 1024, " KiB");
  return absl::StrCat(bytes, " B");
}

}  // namespace

std::string PostgresInfo::ConnectionString() const {
  return absl::StrCat("host=", host, " port=", port, " dbname=", database);
}

std::string Shape::Label() const {
  std::string label = SizeLabel(payload_bytes);
  if (items > 1) label = absl::StrCat(items, " x ", label);
  if (response_bytes > 0) {
    absl::StrAppend(&label, " -> ", SizeLabel(response_bytes));
  }
  return label;
}

void RegisterScenario(ScenarioSpec spec) {
  for (const auto& s : Registry()) {
    if (s.name == spec.name) {
      std::fprintf(stderr, "arca-bench: scenario %s registered twice\n",
                   spec.name.c_str());
      std::abort();
    }
  }
  Registry().push_back(std::move(spec));
}

std::vector<ScenarioSpec> RegisteredScenarios() {
  std::vector<ScenarioSpec> specs = Registry();
  std::sort(specs.begin(), specs.end(),
            [](const ScenarioSpec& a, const ScenarioSpec& b) {
              if (a.is_baseline() != b.is_baseline()) return !a.is_baseline();
              return a.name < b.name;
            });
  return specs;
}

absl::Status RunPipelined(int count, int in_flight,
                          std::function<void(int, DoneCallback)> issue) {
  absl::Mutex mu;
  int next = 0;
  int outstanding = 0;
  absl::Status first_error;
  // A completion hands its slot to the next index in the same critical
  // section, so `outstanding` reaches 0 only when everything is done.
  std::function<void(int)> send = [&](int i) {
    issue(i, [&, i](const grpc::Status& status) {
      int following = -1;
      {
        absl::MutexLock lock(&mu);
        if (!status.ok() && first_error.ok()) {
          absl::Status s = FromGrpcStatus(status);
          first_error = absl::Status(
              s.code(), absl::StrCat("request ", i, ": ", s.message()));
        }
        if (next < count && first_error.ok()) {
          following = next++;
        } else {
          --outstanding;
        }
      }
      if (following >= 0) send(following);
    });
  };
  std::vector<int> initial;
  {
    absl::MutexLock lock(&mu);
    while (next < count && outstanding < std::max(1, in_flight)) {
      initial.push_back(next++);
      ++outstanding;
    }
  }
  for (int i : initial) send(i);
  absl::MutexLock lock(&mu);
  auto all_done = [&]() { return outstanding == 0; };
  mu.Await(absl::Condition(&all_done));
  return first_error;
}

absl::Status RunOverOpPool(int count, const std::vector<AsyncOp*>& ops,
                           const std::function<void(int op, int i)>& prepare) {
  absl::Mutex mu;
  std::vector<int> idle;
  for (int k = static_cast<int>(ops.size()) - 1; k >= 0; --k) idle.push_back(k);
  return RunPipelined(
      count, static_cast<int>(ops.size()), [&](int i, DoneCallback done) {
        int op;
        {
          absl::MutexLock lock(&mu);
          op = idle.back();
          idle.pop_back();
        }
        prepare(op, i);
        ops[op]->Start(
            [&, op, done = std::move(done)](const grpc::Status& status) {
              {
                absl::MutexLock lock(&mu);
                idle.push_back(op);
              }
              done(status);
            });
      });
}

absl::Status StatusFromGrpc(const grpc::Status& status,
                            const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

std::string RandomValue(size_t size, uint64_t seed) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937_64 rng(seed);
  std::string value(size, 'A');
  for (auto& c : value) c = kAlphabet[rng() % 64];
  return value;
}

}  // namespace arca::bench
