#ifndef ARCA_BENCH_ARCA_BENCH_POSTGRES_SERVER_H_
#define ARCA_BENCH_ARCA_BENCH_POSTGRES_SERVER_H_

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/arca_bench/scenario.h"
#include "bench/arca_bench/servers.h"

namespace arca::bench {

// The newest /usr/lib/postgresql/<major>/bin holding `postgres`, or "".
std::string FindPostgresBinDir();

// "15.14" from `postgres --version`; "" if it cannot be run.
std::string PostgresVersion(const std::string& bin_dir);

// Starts a PostgreSQL of the bench's own, like etcd: initdb into a new data
// dir under `options.work_dir` (on the same disk as arcad's), a superuser
// with a random password that logs in over loopback TCP with
// scram-sha-256, default durability (every commit is fsynced), stopped with
// a fast shutdown when the handle is destroyed. When the bench runs as root
// initdb and postgres run as the `postgres` user (PostgreSQL refuses root);
// the work dir is then made traversable (0711) so that user reaches its
// data dir. Fills `info` with how to log in.
absl::StatusOr<std::unique_ptr<ServerHandle>> StartPostgres(
    const ServerOptions& options, PostgresInfo* info);

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_POSTGRES_SERVER_H_
