#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kms/random.h"
#include "kms/secret_bytes.h"
#include "server/audit/broker.h"
#include "server/audit/chain.h"
#include "server/audit/entry.h"
#include "server/audit/file_device.h"

namespace arca::audit {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Complete lines, without their '\n'.
std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& path,
                const std::vector<std::string>& lines) {
  std::string data;
  for (const std::string& l : lines) data += l + "\n";
  WriteFile(path, data);
}

Entry MakeEntry(int i) {
  Entry e;
  e.kind = i % 2 == 0 ? Entry::Kind::kRequest : Entry::Kind::kResponse;
  e.time = absl::FromUnixSeconds(1700000000 + i);
  e.request_id = absl::StrCat("req-", i);
  e.operation = "kv.get";
  e.path = absl::StrCat("kv/data/app/", i);
  e.token_accessor = "acc-1234";
  e.decision = Decision{true, "app-readers"};
  e.status = "OK";
  e.remote_address = "10.0.0.7:51234";
  e.payload["version"] = Field::Clear(absl::StrCat(i));
  return e;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arca-audit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/audit.log";
    salt_ = kms::RandomSecret(kSaltSize);
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  std::unique_ptr<FileDevice> OpenDevice() {
    auto d = FileDevice::Open(FileDeviceOptions{path_}, salt_);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? std::move(d).value() : nullptr;
  }

  // A file with a start marker and `n` entries: n + 1 lines.
  void WriteEntries(int n) {
    auto d = OpenDevice();
    ASSERT_NE(d, nullptr);
    for (int i = 0; i < n; ++i) ASSERT_TRUE(d->Log(MakeEntry(i)).ok());
  }

  std::string dir_;
  std::string path_;
  kms::SecretBytes salt_;
};

// ---- Sensitive values ----

TEST_F(AuditTest, SensitiveValuesAppearOnlyAsHmacsAndHashForAuditFindsThem) {
  const std::string canary = "canary-secret-Zq81xV0p";
  const std::string token = "arca.service.Qk3h7T0kP9sLw2aX";
  auto d = OpenDevice();
  ASSERT_NE(d, nullptr);
  Entry e = MakeEntry(1);
  e.payload["value"] = Field::Sensitive(canary);
  e.payload["token"] = Field::Sensitive(token);
  e.payload["mount"] = Field::Clear("kv-visible-mount");
  ASSERT_TRUE(d->Log(e).ok());

  const std::string file = ReadFile(path_);
  EXPECT_EQ(file.find(canary), std::string::npos);
  EXPECT_EQ(file.find(token), std::string::npos);
  EXPECT_EQ(file.find("canary-secret"), std::string::npos);
  EXPECT_NE(file.find("kv-visible-mount"), std::string::npos);

  const std::string canary_hash = HashForAudit(salt_, canary);
  const std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].find(canary_hash), std::string::npos);
  ASSERT_NE(lines[1].find(canary_hash), std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(j["data"]["value"], canary_hash);
  EXPECT_EQ(j["data"]["token"], HashForAudit(salt_, token));
  EXPECT_EQ(j["data"]["mount"], "kv-visible-mount");
}

TEST_F(AuditTest, HashForAuditIsPrefixedHexKeyedBySalt) {
  const std::string h = HashForAudit(salt_, "value");
  ASSERT_EQ(h.size(), kHashPrefix.size() + 64);
  EXPECT_EQ(h.substr(0, kHashPrefix.size()), kHashPrefix);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef", kHashPrefix.size()),
            std::string::npos);
  EXPECT_EQ(h, HashForAudit(salt_, "value"));
  EXPECT_NE(h, HashForAudit(salt_, "valuf"));
  EXPECT_NE(h, HashForAudit(kms::RandomSecret(kSaltSize), "value"));
}

TEST_F(AuditTest, NonSensitiveMembersAreWrittenInClear) {
  WriteEntries(2);
  const std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 3u);
  const nlohmann::json start = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(start["type"], kChainStartType);
  const nlohmann::json j = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(j["type"], "response");
  EXPECT_EQ(j["time"], "2023-11-14T22:13:21Z");
  EXPECT_EQ(j["request_id"], "req-1");
  EXPECT_EQ(j["operation"], "kv.get");
  EXPECT_EQ(j["path"], "kv/data/app/1");
  EXPECT_EQ(j["accessor"], "acc-1234");
  EXPECT_EQ(j["auth"]["allowed"], true);
  EXPECT_EQ(j["auth"]["policy"], "app-readers");
  EXPECT_EQ(j["status"], "OK");
  EXPECT_EQ(j["remote_address"], "10.0.0.7:51234");
  EXPECT_EQ(j["data"]["version"], "1");
  EXPECT_EQ(j["seq"], 3);
}

TEST_F(AuditTest, NewFileIsCreatedOwnerOnly) {
  WriteEntries(1);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuditTest, SaltOfWrongSizeIsRejected) {
  auto d = FileDevice::Open(FileDeviceOptions{path_}, kms::RandomSecret(16));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Verify(path_, kms::RandomSecret(16)).ok);
}

// ---- Chain verification ----

TEST_F(AuditTest, CleanFileVerifies) {
  WriteEntries(10);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.lines, 11u);
  EXPECT_EQ(r.first_bad_line, 0u);
  EXPECT_EQ(r.head.seq, 11u);
}

TEST_F(AuditTest, VerifyingWithAnotherSaltFailsAtLineOne) {
  WriteEntries(3);
  const VerifyResult r = Verify(path_, kms::RandomSecret(kSaltSize));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 1u);
}

TEST_F(AuditTest, DeletingOneLineFailsAtItsPosition) {
  WriteEntries(10);
  std::vector<std::string> lines = ReadLines(path_);
  lines.erase(lines.begin() + 4);  // line 5
  WriteLines(path_, lines);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 5u) << r.reason;
  EXPECT_EQ(r.lines, 4u);
}

TEST_F(AuditTest, DeletingLinesFromTheHeadFailsAtLineOne) {
  WriteEntries(10);
  std::vector<std::string> lines = ReadLines(path_);
  lines.erase(lines.begin(), lines.begin() + 3);
  WriteLines(path_, lines);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 1u) << r.reason;
}

TEST_F(AuditTest, EditingOneByteOfOneLineFailsAtThatLine) {
  WriteEntries(10);
  std::vector<std::string> lines = ReadLines(path_);
  const size_t pos = lines[5].find("kv/data/app/");
  ASSERT_NE(pos, std::string::npos);
  lines[5][pos] = 'K';  // line 6
  WriteLines(path_, lines);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 6u) << r.reason;
}

TEST_F(AuditTest, EditingTheHmacMemberFailsAtThatLine) {
  WriteEntries(5);
  std::vector<std::string> lines = ReadLines(path_);
  char& c = lines[2][lines[2].size() - 3];  // last hex digit of "hmac"
  c = c == '0' ? '1' : '0';
  WriteLines(path_, lines);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 3u) << r.reason;
}

TEST_F(AuditTest, SwappingTwoLinesFailsAtTheFirstOfThem) {
  WriteEntries(10);
  std::vector<std::string> lines = ReadLines(path_);
  std::swap(lines[3], lines[6]);  // lines 4 and 7
  WriteLines(path_, lines);
  VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 4u) << r.reason;

  std::swap(lines[3], lines[6]);  // restore
  std::swap(lines[7], lines[8]);  // lines 8 and 9
  WriteLines(path_, lines);
  r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 8u) << r.reason;
}

TEST_F(AuditTest, InsertingAForgedLineFailsAtIt) {
  WriteEntries(10);
  std::vector<std::string> lines = ReadLines(path_);
  // A well-formed line chained to line 4, sealed without the device key.
  auto other_key = DeriveChainKey(kms::RandomSecret(kSaltSize));
  ASSERT_TRUE(other_key.ok());
  auto line4 = CheckLine(*DeriveChainKey(salt_), lines[3]);
  ASSERT_TRUE(line4.ok()) << line4.status();
  ChainHead next;
  std::string forged = SealLine(*other_key, ChainHead{4, line4->hmac_hex},
                                EntryToJson(MakeEntry(99), salt_), &next);
  forged.pop_back();                        // '\n'
  lines.insert(lines.begin() + 4, forged);  // becomes line 5
  WriteLines(path_, lines);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 5u) << r.reason;
}

TEST_F(AuditTest, ReplayingAGenuineLineFailsAtTheCopy) {
  WriteEntries(10);
  std::vector<std::string> lines = ReadLines(path_);
  lines.insert(lines.begin() + 7, lines[2]);  // copy of line 3 as line 8
  WriteLines(path_, lines);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 8u) << r.reason;
}

TEST_F(AuditTest, TruncatingTheLastLineFailsAtIt) {
  WriteEntries(10);
  std::string data = ReadFile(path_);
  data.resize(data.size() - 20);
  WriteFile(path_, data);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 11u) << r.reason;
  EXPECT_EQ(r.lines, 10u);
}

TEST_F(AuditTest, MissingFinalNewlineFailsAtTheLastLine) {
  WriteEntries(4);
  std::string data = ReadFile(path_);
  data.pop_back();
  WriteFile(path_, data);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 5u) << r.reason;
}

TEST_F(AuditTest, RemovingWholeLastLinesIsDetectedAgainstTheDeviceHead) {
  auto d = OpenDevice();
  ASSERT_NE(d, nullptr);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(d->Log(MakeEntry(i)).ok());
  const ChainHead head = d->Head();
  EXPECT_EQ(head.seq, 7u);
  VerifyResult r = Verify(path_, salt_, head);
  ASSERT_TRUE(r.ok) << r.reason;

  std::vector<std::string> lines = ReadLines(path_);
  lines.resize(5);  // lines 6 and 7 gone
  WriteLines(path_, lines);
  // The chain alone cannot see a clean cut at the end...
  EXPECT_TRUE(Verify(path_, salt_).ok);
  // ...the device's head can.
  r = Verify(path_, salt_, head);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 6u) << r.reason;
}

TEST_F(AuditTest, EmptyFileDoesNotVerify) {
  WriteFile(path_, "");
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 1u);
}

TEST_F(AuditTest, MissingFileDoesNotVerify) {
  const VerifyResult r = Verify(dir_ + "/nope.log", salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 0u);
  EXPECT_FALSE(r.reason.empty());
}

TEST_F(AuditTest, IncrementalVerifierAgreesWithWholeFileForAnyChunking) {
  WriteEntries(6);
  std::vector<std::string> lines = ReadLines(path_);
  std::swap(lines[4], lines[5]);
  std::string data;
  for (const std::string& l : lines) data += l + "\n";
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}}) {
    auto v = ChainVerifier::Create(salt_);
    ASSERT_TRUE(v.ok());
    for (size_t i = 0; i < data.size(); i += chunk) {
      v->Update(std::string_view(data).substr(i, chunk));
    }
    const VerifyResult r = v->Finish();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_bad_line, 5u) << "chunk " << chunk << ": " << r.reason;
    EXPECT_EQ(r.lines, 4u);
  }
}

// A caller who can have any value hashed as "sensitive" must not get a
// valid line MAC out of it: field hashes and line MACs use different keys.
TEST_F(AuditTest, FieldHashCannotBeReplayedAsALineHmac) {
  auto d = OpenDevice();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->Log(MakeEntry(0)).ok());
  const ChainHead head = d->Head();
  // The body the attacker wants to plant as the next line.
  const std::string members = EntryToJson(MakeEntry(42), salt_);
  const std::string body =
      absl::StrCat("{\"seq\":", head.seq + 1, ",\"prev\":\"", head.hmac_hex,
                   "\",", members.substr(1));
  Entry carrier = MakeEntry(1);
  carrier.payload["value"] = Field::Sensitive(body);
  ASSERT_TRUE(d->Log(carrier).ok());

  // Replace the carrier line with the forged line, using the hash as MAC.
  std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 3u);
  const std::string hash =
      nlohmann::json::parse(lines[2])["data"]["value"].get<std::string>();
  ASSERT_EQ(hash, HashForAudit(salt_, body));
  lines[2] = body.substr(0, body.size() - 1) + ",\"hmac\":\"" +
             hash.substr(kHashPrefix.size()) + "\"}";
  WriteLines(path_, lines);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 3u) << r.reason;
}

// ---- Restart ----

TEST_F(AuditTest, RestartResumesTheChainAndTheWholeFileVerifies) {
  WriteEntries(5);
  WriteEntries(5);
  WriteEntries(0);  // open and close without logging writes nothing
  const std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 11u);
  for (const std::string& l : lines) {
    EXPECT_EQ(l.find(kChainRestartType), std::string::npos);
  }
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.lines, 11u);
  EXPECT_EQ(r.head.seq, 11u);
}

TEST_F(AuditTest, PartialTailStartsANewSegmentWithAMarker) {
  WriteEntries(3);
  // A torn write: part of a line, no newline.
  WriteFile(path_, ReadFile(path_) + "{\"seq\":5,\"prev\":\"00");
  WriteEntries(2);
  const std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[4], "{\"seq\":5,\"prev\":\"00");
  // The torn line is reported, not hidden.
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 5u) << r.reason;

  // Lines 6.. are a fresh, intact segment opened by an explicit marker.
  auto key = DeriveChainKey(salt_);
  ASSERT_TRUE(key.ok());
  auto marker = CheckLine(*key, lines[5]);
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(marker->type, kChainRestartType);
  EXPECT_EQ(marker->seq, 1u);
  EXPECT_EQ(marker->prev_hex, ZeroHmacHex());
  std::string prev = marker->hmac_hex;
  for (size_t i = 6; i < lines.size(); ++i) {
    auto l = CheckLine(*key, lines[i]);
    ASSERT_TRUE(l.ok()) << l.status();
    EXPECT_EQ(l->seq, i - 4);
    EXPECT_EQ(l->prev_hex, prev);
    prev = l->hmac_hex;
  }
}

TEST_F(AuditTest, TamperedLastLineIsNotContinuedAfterRestart) {
  WriteEntries(3);
  std::vector<std::string> lines = ReadLines(path_);
  const size_t pos = lines[3].find("req-2");
  ASSERT_NE(pos, std::string::npos);
  lines[3][pos + 4] = '9';
  WriteLines(path_, lines);
  WriteEntries(1);
  lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 6u);
  const nlohmann::json marker = nlohmann::json::parse(lines[4]);
  EXPECT_EQ(marker["type"], kChainRestartType);
  EXPECT_EQ(marker["seq"], 1);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 4u) << r.reason;
}

// ---- Concurrency ----

TEST_F(AuditTest, ConcurrentLoggingWritesEveryEntryExactlyOnce) {
  auto d = OpenDevice();
  ASSERT_NE(d, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Entry e = MakeEntry(i);
        e.request_id = absl::StrCat("t", t, "-", i);
        if (!d->Log(e).ok()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);

  const VerifyResult r = Verify(path_, salt_, d->Head());
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.lines, uint64_t{kThreads * kPerThread + 1});
  std::map<std::string, int> seen;
  for (const std::string& l : ReadLines(path_)) {
    const nlohmann::json j = nlohmann::json::parse(l);
    if (j["type"] != kChainStartType) ++seen[j["request_id"]];
  }
  EXPECT_EQ(seen.size(), size_t{kThreads * kPerThread});
  for (const auto& [id, count] : seen) EXPECT_EQ(count, 1) << id;
}

// ---- Fail closed ----

TEST_F(AuditTest, DiskFullIsUnavailable) {
  auto d = FileDevice::Open(FileDeviceOptions{"/dev/full"}, salt_);
  ASSERT_TRUE(d.ok()) << d.status();
  const absl::Status s = (*d)->Log(MakeEntry(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("write"), absl::string_view::npos) << s;
  // Still failing, never silently OK, on the next entry.
  EXPECT_EQ((*d)->Log(MakeEntry(2)).code(), absl::StatusCode::kUnavailable);
}

// Opens `path` as an unprivileged user (root ignores file modes) and exits
// 0 iff Open returned UNAVAILABLE, printing the message for the matcher.
// Exits 0 if Open fails with INVALID_ARGUMENT (the path cannot be opened).
[[noreturn]] void OpenAsUnprivilegedAndExit(const std::string& path,
                                            const kms::SecretBytes& salt) {
  if (geteuid() == 0) {
    const struct passwd* nobody = getpwnam("nobody");
    const uid_t uid = nobody != nullptr ? nobody->pw_uid : 65534;
    const gid_t gid = nobody != nullptr ? nobody->pw_gid : 65534;
    if (setgid(gid) != 0 || setuid(uid) != 0) _exit(10);
  }
  auto d = FileDevice::Open(FileDeviceOptions{path}, salt);
  if (d.ok()) _exit(11);
  const std::string msg(d.status().message());
  fprintf(stderr, "%s\n", msg.c_str());
  _exit(d.status().code() == absl::StatusCode::kInvalidArgument ? 0 : 12);
}

// RLIMIT_FSIZE makes write() stop part-way through a line, like a disk
// filling up: the caller gets UNAVAILABLE and the next write must not chain
// onto the torn line.
TEST_F(AuditTest, PartialWriteIsUnavailableAndIsNeverContinued) {
  auto d = OpenDevice();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->Log(MakeEntry(0)).ok());
  ASSERT_TRUE(d->Log(MakeEntry(1)).ok());
  const size_t size = ReadFile(path_).size();

  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = size + 100;
  sighandler_t old_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const absl::Status s = d->Log(MakeEntry(2));
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  signal(SIGXFSZ, old_handler);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  ASSERT_EQ(ReadFile(path_).size(), size + 100);

  ASSERT_TRUE(d->Log(MakeEntry(3)).ok());
  const std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[3].size(), 100u);
  const VerifyResult r = Verify(path_, salt_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 4u) << r.reason;
  auto key = DeriveChainKey(salt_);
  ASSERT_TRUE(key.ok());
  auto marker = CheckLine(*key, lines[4]);
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(marker->type, kChainRestartType);
  auto entry = CheckLine(*key, lines[5]);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->seq, 2u);
  EXPECT_EQ(entry->prev_hex, marker->hmac_hex);
  EXPECT_NE(lines[5].find("req-3"), std::string::npos);
}

TEST_F(AuditTest, ReadOnlyFileIsInvalidArgument) {
  WriteEntries(1);
  ASSERT_EQ(chmod(path_.c_str(), 0444), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  EXPECT_EXIT(OpenAsUnprivilegedAndExit(path_, salt_),
              ::testing::ExitedWithCode(0), "open failed: Permission denied");
}

TEST_F(AuditTest, FileInReadOnlyDirectoryIsInvalidArgument) {
  ASSERT_EQ(chmod(dir_.c_str(), 0555), 0);
  EXPECT_EXIT(OpenAsUnprivilegedAndExit(path_, salt_),
              ::testing::ExitedWithCode(0), "open failed: Permission denied");
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
}

TEST_F(AuditTest, DirectoryPathIsInvalidArgument) {
  auto d = FileDevice::Open(FileDeviceOptions{dir_}, salt_);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("Is a directory"), absl::string_view::npos)
      << d.status();
}

TEST_F(AuditTest, MissingDirectoryIsInvalidArgument) {
  auto d = FileDevice::Open(FileDeviceOptions{dir_ + "/no/such/audit.log"}, salt_);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("open failed: No such file or directory"),
            absl::string_view::npos)
      << d.status();
}

TEST_F(AuditTest, PathThroughAFileIsInvalidArgument) {
  WriteEntries(1);
  auto d = FileDevice::Open(FileDeviceOptions{path_ + "/audit.log"}, salt_);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("Not a directory"), absl::string_view::npos)
      << d.status();
}

TEST_F(AuditTest, ReopenIntoAMissingDirectoryIsUnavailable) {
  const std::string sub = dir_ + "/sub";
  ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
  auto d = FileDevice::Open(FileDeviceOptions{sub + "/audit.log"}, salt_);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(std::system(("rm -rf '" + sub + "'").c_str()), 0);
  // An enabled device that can no longer write: fail closed, not bad input.
  EXPECT_EQ((*d)->Reopen().code(), absl::StatusCode::kUnavailable);
}

TEST_F(AuditTest, RemovedFileIsUnavailableUntilReopened) {
  auto d = OpenDevice();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->Log(MakeEntry(0)).ok());
  ASSERT_EQ(unlink(path_.c_str()), 0);
  const absl::Status s = d->Log(MakeEntry(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("removed"), absl::string_view::npos) << s;

  ASSERT_TRUE(d->Reopen().ok());
  ASSERT_TRUE(d->Log(MakeEntry(2)).ok());
  const VerifyResult r = Verify(path_, salt_, d->Head());
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.lines, 2u);
}

TEST_F(AuditTest, ReplacedFileIsUnavailable) {
  auto d = OpenDevice();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->Log(MakeEntry(0)).ok());
  ASSERT_EQ(rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  WriteFile(path_, "");
  EXPECT_EQ(d->Log(MakeEntry(1)).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReadFile(path_), "");
}

TEST_F(AuditTest, SecondDeviceOnTheSameFileIsRefused) {
  auto d1 = OpenDevice();
  ASSERT_NE(d1, nullptr);
  auto d2 = FileDevice::Open(FileDeviceOptions{path_}, salt_);
  EXPECT_EQ(d2.status().code(), absl::StatusCode::kUnavailable);
}

// ---- Broker ----

class FakeDevice : public Device {
 public:
  explicit FakeDevice(absl::Status result) : result_(std::move(result)) {}
  absl::Status Log(const Entry& entry) override {
    ++calls;
    return result_;
  }
  int calls = 0;

 private:
  absl::Status result_;
};

TEST_F(AuditTest, BrokerWithNoDevicesIsANoOp) {
  Broker broker;
  EXPECT_TRUE(broker.Log(MakeEntry(1)).ok());
  EXPECT_TRUE(broker.List().empty());
}

TEST_F(AuditTest, BrokerSucceedsIfOneOfTwoDevicesWrites) {
  Broker broker;
  auto bad = std::make_shared<FakeDevice>(absl::UnavailableError("disk full"));
  std::shared_ptr<FileDevice> good = OpenDevice();
  ASSERT_NE(good, nullptr);
  ASSERT_TRUE(broker.Enable("bad", bad).ok());
  ASSERT_TRUE(broker.Enable("file", good).ok());
  EXPECT_TRUE(broker.Log(MakeEntry(7)).ok());
  EXPECT_EQ(bad->calls, 1);
  EXPECT_NE(ReadFile(path_).find("req-7"), std::string::npos);
}

TEST_F(AuditTest, BrokerFailsWhenEveryDeviceFails) {
  Broker broker;
  auto bad1 = std::make_shared<FakeDevice>(absl::UnavailableError("full"));
  ASSERT_TRUE(broker.Enable("bad1", bad1).ok());
  auto full = FileDevice::Open(FileDeviceOptions{"/dev/full"}, salt_);
  ASSERT_TRUE(full.ok());
  ASSERT_TRUE(broker.Enable("full", std::move(full).value()).ok());
  const absl::Status s = broker.Log(MakeEntry(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("bad1"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("full"), absl::string_view::npos) << s;
}

TEST_F(AuditTest, BrokerNamesAreUniqueAndDisabledDevicesGetNothing) {
  Broker broker;
  auto a = std::make_shared<FakeDevice>(absl::OkStatus());
  ASSERT_TRUE(broker.Enable("a", a).ok());
  EXPECT_EQ(broker.Enable("a", a).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(broker.Enable("", a).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(broker.Disable("zzz").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(broker.List(), std::vector<std::string>{"a"});
  ASSERT_TRUE(broker.Log(MakeEntry(1)).ok());
  ASSERT_TRUE(broker.Disable("a").ok());
  ASSERT_TRUE(broker.Log(MakeEntry(2)).ok());
  EXPECT_EQ(a->calls, 1);
}

}  // namespace
}  // namespace arca::audit
