// arca-bench: Arca's load generator. Starts arcad (or targets --address) and
// the baseline servers, runs the registered scenarios at a list of
// concurrency levels with requests driven asynchronously, and writes a JSON
// report and a Markdown summary. See docs/performance.md.

#include <malloc.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "arca/v1/kv.grpc.pb.h"
#include "bench/arca_bench/load_driver.h"
#include "bench/arca_bench/plan.h"
#include "bench/arca_bench/postgres_server.h"
#include "bench/arca_bench/proc_stats.h"
#include "bench/arca_bench/report.h"
#include "bench/arca_bench/scenario.h"
#include "bench/arca_bench/servers.h"
#include "grpcpp/grpcpp.h"
#include "kms/status_macros.h"

namespace arca::bench {
namespace {

// Set by SIGINT/SIGTERM: the run stops after the current step and stops
// its servers (a second signal kills at once; the servers die with it).
std::atomic<int> interrupted{0};  // the signal, once one came

extern "C" void OnInterrupt(int signo) {
  interrupted.store(signo);
  static constexpr char kMessage[] =
      "\narca-bench: interrupted; stopping the servers after this step\n";
  [[maybe_unused]] ssize_t n =
      write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
}

void CatchInterrupts() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// The exit status of a run stopped by a signal: 128 + its number.
int Interrupted() {
  std::cerr << "arca-bench: stopped; no report written\n";
  return 128 + interrupted.load();
}

// Fails before any server starts if `path` cannot be written; leaves no file
// behind that was not there.
absl::Status CheckWritable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory"));
  }
  const bool existed = std::filesystem::exists(path, ec);
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  std::fclose(f);
  if (!existed) std::filesystem::remove(path, ec);
  return absl::OkStatus();
}

struct Flags {
  bool quick = false;
  bool list = false;
  std::string scenarios;
  std::string concurrency;
  double duration_s = 0;
  double warmup_s = -1;
  int64_t ops = 0;
  int channels = 4;
  int keyspace = 1000;
  int repeat = 1;
  int memory_secrets = -1;
  std::string address;
  std::string arcad_path = ARCA_BENCH_ARCAD_PATH;
  std::string echo_server_path = ARCA_BENCH_ECHO_SERVER_PATH;
  std::string etcd_path = "/usr/bin/etcd";
  std::string postgres_bin_dir;
  std::string work_dir;
  std::string out = "arca-bench.json";
  std::string markdown;
};

// One scenario at one shape (payload size, items, response size).
struct Variant {
  ScenarioSpec spec;
  Shape shape;
  std::unique_ptr<Scenario> scenario;
  ServerHandle* server = nullptr;
};

std::string FirstLineWith(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

std::string AfterColon(const std::string& line) {
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return line;
  std::string v = line.substr(colon + 1);
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

nlohmann::json MachineInfo(const Flags& flags, const std::vector<int>& levels,
                           int argc, char** argv) {
  nlohmann::json m;
  m["cpu"] = AfterColon(FirstLineWith("/proc/cpuinfo", "model name"));
  m["cores"] = std::thread::hardware_concurrency();
  std::istringstream mem(
      AfterColon(FirstLineWith("/proc/meminfo", "MemTotal")));
  double kb = 0;
  mem >> kb;
  m["memory_gib"] = std::round(kb / 1024 / 1024 * 10) / 10;
  struct utsname u;
  if (uname(&u) == 0) m["kernel"] = absl::StrCat(u.sysname, " ", u.release);
  std::string os = FirstLineWith("/etc/os-release", "PRETTY_NAME=");
  if (!os.empty()) {
    os = os.substr(os.find('=') + 1);
    os.erase(std::remove(os.begin(), os.end(), '"'), os.end());
  }
  m["os"] = os;
  m["grpc_version"] = grpc::Version();
  m["etcd_version"] = EtcdVersion(flags.etcd_path);
  m["postgres_version"] = PostgresVersion(
      flags.postgres_bin_dir.empty() ? FindPostgresBinDir()
                                     : flags.postgres_bin_dir);
  m["load_average_1m_at_start"] = LoadAverage();
  m["started_at"] =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  std::vector<std::string> args(argv, argv + argc);
  m["command"] = absl::StrJoin(args, " ");
  m["quick"] = flags.quick;
  m["duration_s"] = flags.duration_s;
  m["warmup_s"] = flags.warmup_s;
  m["ops_per_step"] = flags.ops;
  m["channels"] = flags.channels;
  m["repeat"] = flags.repeat;
  m["keyspace"] = flags.keyspace;
  m["concurrency_levels"] = levels;
  m["work_dir"] = flags.work_dir;
  m["note"] =
      "load generator and servers share this machine; absolute figures vary "
      "with other load, ratios from the same run are what counts";
  return m;
}

// arcad's RSS idle and with `secrets` KV secrets stored, on a fresh arcad
// of its own so that the load steps do not blur it.
absl::StatusOr<MemoryFigures> MeasureMemory(const ServerOptions& options,
                                            int secrets, size_t value_bytes) {
  ASSIGN_OR_RETURN(ArcadInstance arcad, StartArcad(options, "arcad-memory"));
  const pid_t pid = arcad.server->pid;
  MemoryFigures m;
  m.measured = true;
  // Let start-up allocations settle (RocksDB opens, gRPC threads park).
  absl::SleepFor(absl::Seconds(1));
  ASSIGN_OR_RETURN(ProcSample idle, ReadProcSample(pid));
  m.idle_rss_mib = idle.rss_mib;
  m.secrets = secrets;
  m.value_bytes = value_bytes;
  if (secrets <= 0) return m;

  const std::string value = RandomValue(value_bytes, 5);
  std::vector<std::unique_ptr<v1::KvService::Stub>> stubs;
  for (auto& channel : arcad.server->channels) {
    stubs.push_back(v1::KvService::NewStub(channel));
  }
  using PutOp = UnaryOp<v1::KvPutRequest, v1::KvPutResponse>;
  constexpr int kInFlight = 64;
  std::vector<std::unique_ptr<PutOp>> ops;
  for (int i = 0; i < kInFlight; ++i) {
    auto* stub = stubs[i % stubs.size()].get();
    auto op = std::make_unique<PutOp>(
        [stub](grpc::ClientContext* c, const v1::KvPutRequest* req,
               v1::KvPutResponse* resp, DoneCallback done) {
          stub->async()->Put(c, req, resp, std::move(done));
        },
        nullptr,
        std::vector<std::pair<std::string, std::string>>{
            {"authorization", "Bearer " + arcad.root_token}});
    op->request().set_mount("kv");
    (*op->request().mutable_data())["value"] = value;
    ops.push_back(std::move(op));
  }
  std::vector<AsyncOp*> pool;
  for (auto& op : ops) pool.push_back(op.get());
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(RunOverOpPool(secrets, pool, [&](int op, int i) {
    ops[op]->request().set_path(absl::StrFormat("arca-bench/memory/%07d", i));
  }));
  m.load_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  absl::SleepFor(absl::Seconds(1));
  ASSIGN_OR_RETURN(ProcSample loaded, ReadProcSample(pid));
  m.loaded_rss_mib = loaded.rss_mib;
  m.loaded_peak_rss_mib = loaded.peak_rss_mib;
  return m;
}

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  void Show(const std::string& text) {
    if (!enabled_) return;
    std::fprintf(stderr, "\r%s\033[K", text.c_str());
    std::fflush(stderr);
  }
  void Clear() {
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool enabled_;
};

int Run(const Flags& flags_in, int argc, char** argv) {
  Flags flags = flags_in;
  if (flags.duration_s <= 0) flags.duration_s = flags.quick ? 0.3 : 5.0;
  if (flags.warmup_s < 0) flags.warmup_s = flags.quick ? 0.1 : 1.0;
  if (flags.memory_secrets < 0) flags.memory_secrets = flags.quick ? 0 : 100000;
  if (flags.concurrency.empty())
    flags.concurrency = flags.quick ? "1,16" : "1,4,16,64,256";
  if (flags.work_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    flags.work_dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  if (flags.markdown.empty()) {
    flags.markdown = flags.out;
    if (flags.markdown.size() > 5 &&
        flags.markdown.compare(flags.markdown.size() - 5, 5, ".json") == 0) {
      flags.markdown.resize(flags.markdown.size() - 5);
    }
    flags.markdown += ".md";
  }

  const std::vector<ScenarioSpec> registered = RegisteredScenarios();
  if (flags.list) {
    for (const auto& s : registered) {
      std::cout << absl::StrFormat("%-22s %s%s\n", s.name, s.description,
                                   s.is_baseline() ? " [baseline]" : "");
    }
    return 0;
  }

  std::vector<int> levels;
  for (absl::string_view part : absl::StrSplit(flags.concurrency, ',')) {
    int c = 0;
    if (!absl::SimpleAtoi(part, &c) || c < 1 || c > 10000) {
      std::cerr << "arca-bench: --concurrency wants a list of integers in "
                   "1..10000, e.g. 1,16,64\n";
      return 2;
    }
    if (std::find(levels.begin(), levels.end(), c) != levels.end()) {
      std::cerr << "arca-bench: --concurrency lists " << c << " twice\n";
      return 2;
    }
    levels.push_back(c);
  }
  std::vector<ScenarioSpec> selected;
  if (flags.scenarios.empty()) {
    selected = registered;
  } else {
    for (absl::string_view name : absl::StrSplit(flags.scenarios, ',')) {
      if (name.empty()) {
        std::cerr << "arca-bench: --scenarios has an empty name (a stray "
                     "comma?)\n";
        return 2;
      }
      const auto named = [&](const ScenarioSpec& s) { return s.name == name; };
      auto it = std::find_if(registered.begin(), registered.end(), named);
      if (it == registered.end()) {
        std::cerr << "arca-bench: unknown scenario '" << name
                  << "' (see --list)\n";
        return 2;
      }
      if (std::any_of(selected.begin(), selected.end(), named)) {
        std::cerr << "arca-bench: --scenarios lists " << name << " twice\n";
        return 2;
      }
      selected.push_back(*it);
    }
  }

  {
    std::error_code ec;
    const auto out = std::filesystem::weakly_canonical(flags.out, ec);
    const auto md = std::filesystem::weakly_canonical(flags.markdown, ec);
    if (flags.out == flags.markdown || (!out.empty() && out == md)) {
      std::cerr << "arca-bench: --out and --markdown name the same file\n";
      return 2;
    }
  }
  for (const std::string& path : {flags.out, flags.markdown}) {
    if (absl::Status st = CheckWritable(path); !st.ok()) {
      std::cerr << "arca-bench: " << st.message() << "\n";
      return 2;
    }
  }

  CatchInterrupts();
  const absl::Time run_start = absl::Now();
  ServerOptions server_options;
  server_options.arcad_path = flags.arcad_path;
  server_options.echo_server_path = flags.echo_server_path;
  server_options.etcd_path = flags.etcd_path;
  server_options.postgres_bin_dir = flags.postgres_bin_dir;
  server_options.external_arcad_address = flags.address;
  server_options.channels = flags.channels;
  auto work_dir = TempDir::New(flags.work_dir, "arca-bench-");
  if (!work_dir.ok()) {
    std::cerr << "arca-bench: " << work_dir.status().message() << "\n";
    return 1;
  }
  server_options.work_dir = (*work_dir)->path();
  // On any failure the servers' logs stay for a look.
  struct KeepLogsOnFailure {
    TempDir* dir;
    bool succeeded = false;
    ~KeepLogsOnFailure() {
      if (succeeded || interrupted.load() != 0) return;
      dir->Keep();
      std::cerr << "arca-bench: server logs kept in " << dir->path().string()
                << "\n";
    }
  } keep_logs{work_dir->get()};

  Report report;
  report.machine = MachineInfo(flags, levels, argc, argv);
  ProgressLine progress_line(isatty(STDERR_FILENO) == 1);

  // Memory first, on an arcad of its own.
  if (!flags.address.empty()) {
    report.memory.why_not =
        "arcad given with --address: its process is not ours";
  } else {
    progress_line.Show(absl::StrCat("memory: storing ", flags.memory_secrets,
                                    " secrets in a fresh arcad"));
    auto memory = MeasureMemory(server_options, flags.memory_secrets, 1024);
    if (!memory.ok()) {
      progress_line.Clear();
      if (interrupted.load() != 0) return Interrupted();
      std::cerr << "arca-bench: memory measurement failed: "
                << memory.status().message() << "\n";
      return 1;
    }
    report.memory = *memory;
  }
  if (interrupted.load() != 0) return Interrupted();

  Servers servers(server_options);
  std::vector<Variant> variants;
  for (auto& planned : PlanVariants(selected, registered)) {
    variants.push_back({std::move(planned.spec), planned.shape, nullptr});
  }
  // arcad first, so its token exists before the echo scenario copies it.
  std::stable_sort(variants.begin(), variants.end(),
                   [](const Variant& a, const Variant& b) {
                     return a.spec.server == ServerKind::kArcad &&
                            b.spec.server != ServerKind::kArcad;
                   });
  for (auto& v : variants) {
    if (interrupted.load() != 0) {
      progress_line.Clear();
      return Interrupted();
    }
    progress_line.Show(absl::StrCat("preparing ", v.spec.name));
    auto server = servers.Get(v.spec.server);
    if (!server.ok()) {
      progress_line.Clear();
      std::cerr << "arca-bench: cannot start the server of " << v.spec.name
                << ": " << server.status().message() << "\n";
      return 1;
    }
    v.server = *server;
    v.scenario = v.spec.factory();
    ScenarioContext context;
    if (v.spec.uses_postgres) {
      auto postgres = servers.Get(ServerKind::kPostgres);
      if (!postgres.ok()) {
        progress_line.Clear();
        std::cerr << "arca-bench: cannot start PostgreSQL for " << v.spec.name
                  << ": " << postgres.status().message() << "\n";
        return 1;
      }
      context.postgres = &servers.postgres();
    }
    context.channel =
        v.server->channels.empty() ? nullptr : v.server->channels[0];
    context.address = v.server->address;
    // Baselines get a stand-in of the token's length, so headers weigh the
    // same and the real token never reaches a server that is not arcad.
    context.token =
        v.spec.server == ServerKind::kArcad
            ? servers.token()
            : std::string(servers.token().empty() ? 48 : servers.token().size(),
                          'x');
    context.payload_bytes = v.shape.payload_bytes;
    context.items = v.shape.items;
    context.response_bytes = v.shape.response_bytes;
    context.keyspace = flags.keyspace;
    if (absl::Status st = v.scenario->Prepare(context); !st.ok()) {
      progress_line.Clear();
      // A service this arcad does not serve (UNIMPLEMENTED) is reported as
      // not run rather than failing the whole run; any other error fails it.
      if (absl::IsUnimplemented(st)) {
        std::cerr << "arca-bench: " << v.spec.name
                  << " not run: " << st.message() << "\n";
        report.not_run.push_back(
            {v.spec.name, absl::StrCat("not served by this arcad: ",
                                       st.message())});
        v.scenario.reset();
        continue;
      }
      std::cerr << "arca-bench: preparing " << v.spec.name
                << " failed: " << st.message() << "\n";
      return 1;
    }
  }
  const auto is_arca = [](const Variant& v) { return !v.spec.is_baseline(); };
  const bool chose_arca = std::any_of(variants.begin(), variants.end(), is_arca);
  std::erase_if(variants, [](const Variant& v) { return !v.scenario; });
  if (chose_arca && std::none_of(variants.begin(), variants.end(), is_arca)) {
    progress_line.Clear();
    std::cerr << "arca-bench: "
              << (flags.address.empty() ? "arcad" : flags.address)
              << " serves none of the chosen Arca scenarios (is it arcad?)\n";
    return 1;
  }
  if (interrupted.load() != 0) return Interrupted();
  // Scenario order for the report: as registered (Arca first), then size.
  std::stable_sort(variants.begin(), variants.end(),
                   [&](const Variant& a, const Variant& b) {
                     if (a.spec.name != b.spec.name) {
                       if (a.spec.is_baseline() != b.spec.is_baseline()) {
                         return !a.spec.is_baseline();
                       }
                       return a.spec.name < b.spec.name;
                     }
                     return a.shape < b.shape;
                   });

  // Concurrency is the outer loop and each round runs every scenario once, so
  // a scenario and its baseline at one level run seconds apart, under the
  // same background load; --repeat rounds are summed into one entry.
  std::vector<std::vector<ResultEntry>> by_variant(variants.size());
  const size_t total_steps = levels.size() * variants.size() * flags.repeat;
  size_t step_number = 0;
  for (int level : levels) {
    for (int round = 0; round < flags.repeat; ++round) {
      for (size_t vi = 0; vi < variants.size(); ++vi) {
        Variant& v = variants[vi];
        ++step_number;
        if (interrupted.load() != 0) {
          progress_line.Clear();
          return Interrupted();
        }
        StepOptions options;
        options.concurrency = level;
        options.warmup = absl::Seconds(flags.warmup_s);
        options.duration = absl::Seconds(flags.duration_s);
        options.ops = flags.ops;

        ResultEntry entry;
        entry.scenario = v.spec.name;
        entry.shape = v.shape;
        if (!v.spec.is_baseline()) {
          entry.baseline_shape = v.spec.BaselineShapeAt(v.shape.payload_bytes);
          entry.rpc_floor = v.spec.rpc_floor;
          entry.rpc_floor_shape = v.spec.RpcFloorShapeAt(v.shape.payload_bytes);
        }
        entry.reports_bytes = v.spec.reports_bytes;
        entry.concurrency = level;
        entry.server = v.server->name;
        entry.baseline = v.spec.baseline;
        entry.ratio_of_bytes = v.spec.ratio_of_bytes;

        // CPU is sampled over the measured window only: the first tick after
        // the warmup opens it (ticks come every 50 ms), the step's end closes
        // it.
        const pid_t pid = v.server->pid;
        auto sample_server = [&] {
          return v.server->cpu_includes_children
                     ? ReadProcSampleWithChildren(pid)
                     : ReadProcSample(pid);
        };
        if (pid > 0) entry.peak_rss_is_per_step = ResetPeakRss(pid).ok();
        std::optional<ProcSample> server_before;
        std::optional<ProcSample> self_before;
        std::optional<absl::Time> window_start;
        auto open_window = [&] {
          if (pid > 0) {
            if (auto s = sample_server(); s.ok()) server_before = *s;
          }
          if (auto s = ReadProcSample(getpid()); s.ok()) self_before = *s;
          window_start = absl::Now();
        };
        if (flags.warmup_s <= 0) open_window();

        StepProgress progress;
        const absl::Time step_start = absl::Now();
        absl::Time last_shown = absl::InfinitePast();
        auto tick = [&] {
          const absl::Time now = absl::Now();
          const double elapsed = absl::ToDoubleSeconds(now - step_start);
          if (!window_start.has_value() && elapsed >= flags.warmup_s)
            open_window();
          if (now - last_shown < absl::Milliseconds(250)) return;
          last_shown = now;
          const double window = std::max(1e-3, elapsed - flags.warmup_s);
          progress_line.Show(absl::StrFormat(
              "[%d/%d] %s %s c=%d  %.1fs  %.0f ops/s  errors %d", step_number,
              total_steps, v.spec.name, v.shape.Label(),
              level, elapsed,
              elapsed > flags.warmup_s ? progress.ops.load() / window : 0.0,
              progress.errors.load()));
        };
        entry.step =
            v.spec.server == ServerKind::kInProcess
                ? RunInProcessStep(*v.scenario, options, progress, tick)
                : RunAsyncStep(*v.scenario, v.server->channels, options,
                               progress, tick);

        if (window_start.has_value()) {
          const double window_s =
              absl::ToDoubleSeconds(absl::Now() - *window_start);
          entry.cpu_window_ops = entry.ops_per_s() * window_s;
          if (server_before.has_value()) {
            if (auto after = sample_server(); after.ok()) {
              entry.server_cpu_s =
                  after->cpu_seconds - server_before->cpu_seconds;
              entry.server_peak_rss_mib = after->peak_rss_mib;
            } else {
              progress_line.Clear();
              std::cerr << "arca-bench: no figures for " << v.server->name
                        << ": " << after.status().message() << "\n";
            }
          }
          if (self_before.has_value()) {
            if (auto after = ReadProcSample(getpid()); after.ok()) {
              entry.client_cpu_s =
                  after->cpu_seconds - self_before->cpu_seconds;
            }
          }
        }
        progress_line.Clear();
        std::cerr << absl::StrFormat(
            "%-20s %s c=%-4d %9.0f ops/s  p50 %7.3f ms  p99 %7.3f ms  errors "
            "%d\n",
            entry.scenario, entry.shape.Label(), level,
            entry.ops_per_s(), entry.step.latency.PercentileMs(0.5),
            entry.step.latency.PercentileMs(0.99), entry.step.errors);
        if (!entry.step.first_error.empty()) {
          std::cerr << "  first error: " << entry.step.first_error << "\n";
        }
        if (round == 0) {
          by_variant[vi].push_back(std::move(entry));
        } else {
          by_variant[vi].back().Add(entry);
        }
      }
    }
  }
  for (auto& entries : by_variant) {
    for (auto& e : entries) {
      e.ComputeCpuPerOp();
      report.results.push_back(std::move(e));
    }
  }
  ComputeRatios(report.results);
  report.machine["load_average_1m_at_end"] = LoadAverage();
  report.machine["run_seconds"] =
      std::round(absl::ToDoubleSeconds(absl::Now() - run_start) * 10) / 10;

  // The summary goes to stdout first, so a file that cannot be written
  // after all (a full disk) loses no figures.
  const std::string markdown = ToMarkdown(report);
  std::cout << markdown << std::flush;
  for (const auto& [path, text] :
       {std::pair<std::string, std::string>{flags.out,
                                            ToJson(report).dump(2) + "\n"},
        {flags.markdown, markdown}}) {
    std::ofstream file(path);
    file << text;
    file.flush();
    if (!file) {
      std::cerr << "arca-bench: cannot write " << path << ": "
                << std::strerror(errno) << "\n";
      return 1;
    }
  }
  std::cerr << "arca-bench: report in " << flags.out << " and "
            << flags.markdown << "\n";

  int64_t errors = 0;
  for (const auto& r : report.results) errors += r.step.errors;
  if (errors > 0) {
    std::cerr << "arca-bench: " << errors << " requests failed\n";
    return 1;
  }
  keep_logs.succeeded = true;
  return 0;
}

}  // namespace
}  // namespace arca::bench

int main(int argc, char** argv) {
  // gRPC's receive and send buffers of a batch call are megabytes; glibc
  // would hand them back to the kernel after every call and fault them in
  // again on the next (a sixth of the client's CPU under transit-batch).
  // Keep them: the load generator shares the cores with the server.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  arca::bench::Flags flags;
  const CLI::Validator non_empty(
      [](std::string& s) {
        return s.empty() ? std::string("must not be empty") : std::string();
      },
      "NONEMPTY");
  // NaN, infinities and negatives would measure nonsense without an error.
  const auto seconds_from = [](double min) {
    return CLI::Validator(
        [min](std::string& s) {
          double v = 0;
          if (!absl::SimpleAtod(s, &v) || !std::isfinite(v) || v < min) {
            return absl::StrCat("wants a finite number of seconds >= ", min);
          }
          return std::string();
        },
        "SECONDS");
  };
  CLI::App app{
      "arca-bench: Arca's load generator, with baselines in the same run"};
  app.add_flag("--quick", flags.quick,
               "Short smoke run (0.3 s steps at concurrency 1,16; no 100k-secret "
               "memory load): under a minute on 2 cores");
  app.add_flag("--list", flags.list, "List the scenarios and exit");
  app.add_option("--scenarios", flags.scenarios,
                 "Comma-separated scenario names (default: all, see --list); "
                 "each brings its baseline")
      ->check(non_empty);
  app.add_option("--concurrency", flags.concurrency,
                 "Comma-separated requests in flight per step (default "
                 "1,4,16,64,256; --quick 1,16)")
      ->check(non_empty);
  app.add_option("--duration", flags.duration_s,
                 "Measured seconds per step (default 5; --quick 0.3)")
      ->check(seconds_from(0.05));
  app.add_option(
      "--warmup", flags.warmup_s,
      "Unmeasured seconds before each step (default 1; --quick 0.1)")
      ->check(seconds_from(0));
  app.add_option("--ops", flags.ops,
                 "Measure this many requests per step instead of --duration")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--repeat", flags.repeat,
                 "Rounds of every step, interleaved and summed (evens out "
                 "bursts of other load on a shared machine)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--channels", flags.channels,
                 "gRPC channels (connections) per server")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--keyspace", flags.keyspace, "Distinct keys per scenario")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--memory-secrets", flags.memory_secrets,
                 "Secrets stored in a fresh arcad to measure its RSS "
                 "(default 100000; --quick 0)")
      ->check(CLI::Range(0, 10000000));
  app.add_option("--address", flags.address,
                 "Target this arcad instead of starting one (token from "
                 "ARCA_TOKEN or ~/.arca-token)")
      ->check(non_empty);
  app.add_option("--arcad", flags.arcad_path, "arcad binary")
      ->capture_default_str();
  app.add_option("--echo-server", flags.echo_server_path, "echo_server binary")
      ->capture_default_str();
  app.add_option("--etcd", flags.etcd_path, "etcd binary")
      ->capture_default_str();
  app.add_option("--postgres-bin-dir", flags.postgres_bin_dir,
                 "PostgreSQL's bin dir with initdb, postgres and pg_isready "
                 "(default: the newest /usr/lib/postgresql/*/bin)");
  app.add_option("--work-dir", flags.work_dir,
                 "Parent of the data dirs of arcad and etcd (default $TMPDIR "
                 "or /tmp); must exist")
      ->check(CLI::ExistingDirectory);
  app.add_option("--out", flags.out, "JSON report")
      ->capture_default_str()
      ->check(non_empty);
  app.add_option("--markdown", flags.markdown,
                 "Markdown summary (default: --out with .md)")
      ->check(non_empty);
  CLI11_PARSE(app, argc, argv);
  return arca::bench::Run(flags, argc, argv);
}
