#ifndef ARCA_BENCH_ARCA_BENCH_PROC_STATS_H_
#define ARCA_BENCH_ARCA_BENCH_PROC_STATS_H_

#include <sys/types.h>

#include "absl/status/statusor.h"

namespace arca::bench {

// What /proc says about one process at one moment.
struct ProcSample {
  double cpu_seconds = 0;   // utime + stime from /proc/<pid>/stat
  double rss_mib = 0;       // VmRSS from /proc/<pid>/status
  double peak_rss_mib = 0;  // VmHWM: peak since start or the last ResetPeakRss
};

// Reads /proc/<pid>/stat and /proc/<pid>/status.
absl::StatusOr<ProcSample> ReadProcSample(pid_t pid);

// ReadProcSample of `pid`, with the CPU of its living children added
// (/proc/<pid>/task/*/children): PostgreSQL serves each connection from a
// backend process of its own, whose CPU the postmaster's figures leave out.
// RSS figures stay the parent's.
absl::StatusOr<ProcSample> ReadProcSampleWithChildren(pid_t pid);

// Resets the process's VmHWM to its current RSS (writes "5" to
// /proc/<pid>/clear_refs, Linux >= 4.0), so the next sample's peak covers one
// step only. Fails without ptrace-level access to the process; callers then
// report the peak since start.
absl::Status ResetPeakRss(pid_t pid);

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_PROC_STATS_H_
