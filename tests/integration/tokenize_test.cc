// Tokenization end to end: a real arcad with RocksDB on disk, driven through
// the client library (bulk traffic, batch RPCs) and the real `arca` CLI.
// Decode has its own resource path (tokenize/decode/<role>), so a token may
// encode without being able to decode.

#include <signal.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"

namespace arca::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int LuhnSum(std::string_view s) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = s.size(); i > 0; --i) {
    int d = s[i - 1] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10;
}
bool Luhn(std::string_view s) { return LuhnSum(s) == 0; }

// `n` distinct Luhn-valid 16-digit PANs.
std::vector<std::string> GeneratePans(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<std::string> seen;
  std::vector<std::string> out;
  while (out.size() < n) {
    std::string s = "4";
    for (int i = 0; i < 14; ++i) s.push_back('0' + rng() % 10);
    for (char d = '0'; d <= '9'; ++d) {
      if (Luhn(s + d)) {
        s.push_back(d);
        break;
      }
    }
    if (seen.insert(s).second) out.push_back(s);
  }
  return out;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines = absl::StrSplit(s, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

class TokenizeTest : public ::testing::Test {
 protected:
  TokenizeTest() : arcad_(dir_.path() / "data", dir_.path()) {}

  void SetUp() override {
    ASSERT_TRUE(arcad_.Start());
    CliResult r = Cli({"operator", "init", "--key-shares", "1",
                       "--key-threshold", "1", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    root_token_ = j["root_token"];
    r = Cli({"operator", "unseal"}, std::string(j["keys_base64"][0]) + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ClientOptions o;
    o.address = arcad_.address();
    o.token = root_token_;
    o.token_from_environment = false;
    o.deadline = absl::Seconds(120);
    auto client = Client::New(o);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  CliResult Cli(std::vector<std::string> args, const std::string& in = "",
                const std::string& token = "") {
    std::map<std::string, std::string> env = {{"ARCA_ADDR", arcad_.address()}};
    const std::string& t = token.empty() ? root_token_ : token;
    if (!t.empty()) env["ARCA_TOKEN"] = t;
    return RunCli(args, in, env);
  }

  // Creates transformation `name` and a role of the same name through the CLI.
  void CreateWithRole(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> cmd = {"tokenize", "transformation", "create",
                                    name};
    cmd.insert(cmd.end(), args.begin(), args.end());
    CliResult r = Cli(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Cli({"tokenize", "role", "create", name, "--transformation", name});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Encodes `values` in batches of 10,000 through the client library.
  std::vector<std::string> EncodeAll(const std::string& t,
                                     const std::vector<std::string>& values) {
    std::vector<std::string> tokens;
    for (size_t at = 0; at < values.size(); at += 10'000) {
      v1::TokenizeBatchEncodeRequest req;
      req.set_role(t);
      req.set_transformation(t);
      for (size_t i = at; i < std::min(values.size(), at + 10'000); ++i) {
        req.add_items()->set_value(values[i]);
      }
      auto r = client_->TokenizeBatchEncode(req);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) return {};
      for (const auto& res : r->results()) {
        EXPECT_EQ(res.code(), 0) << res.error();
        tokens.push_back(res.token());
      }
    }
    return tokens;
  }

  std::vector<std::string> DecodeAll(const std::string& t,
                                     const std::vector<std::string>& tokens) {
    std::vector<std::string> values;
    for (size_t at = 0; at < tokens.size(); at += 10'000) {
      v1::TokenizeBatchDecodeRequest req;
      req.set_role(t);
      req.set_transformation(t);
      for (size_t i = at; i < std::min(tokens.size(), at + 10'000); ++i) {
        req.add_items()->set_value(tokens[i]);
      }
      auto r = client_->TokenizeBatchDecode(req);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) return {};
      for (const auto& res : r->results()) {
        EXPECT_EQ(res.code(), 0) << res.error();
        values.push_back(res.value());
      }
    }
    return values;
  }

  // 100,000 PANs through `t`: every one round-trips, keeps its first 6 and
  // last 4 digits; `check` sees each (pan, token) pair.
  template <typename Check>
  void HundredThousandPans(const std::string& t, Check check) {
    const std::vector<std::string> pans = GeneratePans(100'000, 42);
    const std::vector<std::string> tokens = EncodeAll(t, pans);
    ASSERT_EQ(tokens.size(), pans.size());
    const std::vector<std::string> back = DecodeAll(t, tokens);
    ASSERT_EQ(back.size(), pans.size());
    size_t bad = 0;
    for (size_t i = 0; i < pans.size(); ++i) {
      const std::string& p = pans[i];
      const std::string& tok = tokens[i];
      if (back[i] != p || tok.size() != 16 || tok.substr(0, 6) != p.substr(0, 6) ||
          tok.substr(12) != p.substr(12) || !check(p, tok)) {
        ++bad;
      }
    }
    EXPECT_EQ(bad, 0u);
  }

  TempDir dir_;
  Arcad arcad_;
  std::string root_token_;
  std::unique_ptr<Client> client_;
};

TEST_F(TokenizeTest, HundredThousandPansWithLuhnInvalidateRoundTripAndFailLuhn) {
  CreateWithRole("cards", {"--type", "fpe", "--template", "pan", "--luhn",
                           "invalidate"});
  HundredThousandPans("cards", [](const std::string&, const std::string& tok) {
    return !Luhn(tok);
  });
}

TEST_F(TokenizeTest, HundredThousandPansWithLuhnPreserveRoundTripAndPassLuhn) {
  CreateWithRole("cards", {"--type", "fpe", "--template", "pan", "--luhn",
                           "preserve"});
  // Luhn-valid PANs give Luhn-valid tokens. (A token may equal its PAN:
  // the 6 transformed digits hold only 10^5 Luhn-valid choices, so about
  // one PAN in 10^5 is a fixed point of the cycle-walked permutation.)
  HundredThousandPans("cards", [](const std::string&, const std::string& tok) {
    return Luhn(tok);
  });
}

TEST_F(TokenizeTest, CliStreamsSsnsKeepingDashesAndReportsItemErrorsInPlace) {
  CreateWithRole("ssn", {"--type", "fpe", "--template", "ssn"});
  const std::string secret_bad = "987-65-432";  // one digit short
  CliResult enc = Cli({"tokenize", "encode", "ssn", "--transformation", "ssn"},
                      "123-45-6789\n" + secret_bad + "\n078-05-1120\n");
  EXPECT_EQ(enc.exit_code, 1);  // one line failed
  const auto lines = SplitLines(enc.out);
  ASSERT_EQ(lines.size(), 3u) << enc.out;
  EXPECT_EQ(lines[1],
            "error: INVALID_ARGUMENT: value does not match template ssn");
  EXPECT_THAT(enc.out + enc.err, Not(HasSubstr(secret_bad)));
  for (int i : {0, 2}) {
    ASSERT_EQ(lines[i].size(), 11u);
    EXPECT_EQ(lines[i][3], '-');
    EXPECT_EQ(lines[i][6], '-');
  }
  CliResult dec = Cli({"tokenize", "decode", "ssn", "--transformation", "ssn"},
                      lines[0] + "\n" + lines[2] + "\n");
  EXPECT_EQ(dec.exit_code, 0) << dec.err;
  EXPECT_EQ(dec.out, "123-45-6789\n078-05-1120\n");
}

TEST_F(TokenizeTest, DecodeWithoutTheDecodeCapabilityIsPermissionDenied) {
  CreateWithRole("vault", {"--type", "tokenization", "--template", "pan"});
  ASSERT_EQ(Cli({"policy", "write", "encoder", "-"},
                R"({"path": {"tokenize/encode/vault": {"capabilities": ["update"]}}})")
                .exit_code,
            0);
  CliResult t = Cli({"token", "create", "--policy", "encoder", "--format",
                     "json"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::string encoder = nlohmann::json::parse(t.out)["token"];
  const std::string pan = GeneratePans(1, 11)[0];

  CliResult enc = Cli({"tokenize", "encode", "vault", "--transformation",
                       "vault"},
                      pan + "\n", encoder);
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  const std::string token = SplitLines(enc.out).at(0);

  CliResult dec = Cli({"tokenize", "decode", "vault", "--transformation",
                       "vault"},
                      token + "\n", encoder);
  EXPECT_NE(dec.exit_code, 0);
  EXPECT_THAT(dec.out + dec.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(dec.out + dec.err, Not(HasSubstr(pan)));
  // The root token still decodes it: the refusal was the policy's.
  CliResult root = Cli({"tokenize", "decode", "vault", "--transformation",
                        "vault"},
                       token + "\n");
  EXPECT_EQ(root.out, pan + "\n");
}

TEST_F(TokenizeTest, ConvergentVaultedTransformationGivesEqualTokens) {
  CreateWithRole("vault", {"--type", "tokenization", "--template", "pan",
                           "--convergent"});
  const auto pans = GeneratePans(2, 7);
  CliResult r = Cli({"tokenize", "encode", "vault", "--transformation", "vault"},
                    pans[0] + "\n" + pans[1] + "\n" + pans[0] + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto tokens = SplitLines(r.out);
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0], tokens[2]);
  EXPECT_NE(tokens[0], tokens[1]);
  EXPECT_NE(tokens[0], pans[0]);
  CliResult d = Cli({"tokenize", "decode", "vault", "--transformation", "vault"},
                    tokens[0] + "\n" + tokens[1] + "\n");
  EXPECT_EQ(d.out, pans[0] + "\n" + pans[1] + "\n");
  const std::string unseen = GeneratePans(1, 8)[0];
  CliResult l = Cli({"tokenize", "lookup", "vault", "--transformation", "vault"},
                    pans[1] + "\n" + unseen + "\n");
  EXPECT_EQ(l.exit_code, 1);
  EXPECT_EQ(l.out, tokens[1] + "\nerror: NOT_FOUND: token not found\n");
}

TEST_F(TokenizeTest, ConcurrentEncodesOfTenThousandDistinctValuesNeverCollide) {
  CreateWithRole("vault", {"--type", "tokenization", "--template", "pan"});
  const auto pans = GeneratePans(10'000, 99);
  constexpr int kThreads = 8;
  constexpr size_t kPerBatch = 125;
  std::vector<std::string> tokens(pans.size());
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        const size_t at = next.fetch_add(kPerBatch);
        if (at >= pans.size()) return;
        v1::TokenizeBatchEncodeRequest req;
        req.set_role("vault");
        req.set_transformation("vault");
        const size_t end = std::min(pans.size(), at + kPerBatch);
        for (size_t i = at; i < end; ++i) req.add_items()->set_value(pans[i]);
        auto r = client_->TokenizeBatchEncode(req);
        if (!r.ok() || r->results_size() != static_cast<int>(end - at)) {
          ++failures;
          return;
        }
        for (size_t i = at; i < end; ++i) {
          const auto& res = r->results(static_cast<int>(i - at));
          if (res.code() != 0) ++failures;
          tokens[i] = res.token();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(),
            pans.size());
  EXPECT_EQ(DecodeAll("vault", tokens), pans);
}

TEST_F(TokenizeTest, TokensFromBeforeARotationStillDecode) {
  CreateWithRole("gen", {"--type", "fpe", "--template", "pan",
                         "--tweak-source", "generated"});
  CreateWithRole("vault", {"--type", "tokenization", "--template", "pan"});
  CreateWithRole("fixed", {"--type", "fpe", "--template", "pan"});
  const auto pans = GeneratePans(3, 5);
  std::map<std::string, std::string> before;
  for (const std::string t : {"gen", "vault", "fixed"}) {
    CliResult r = Cli({"tokenize", "encode", t, "--transformation", t},
                      pans[0] + "\n" + pans[1] + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    before[t] = r.out;
    r = Cli({"tokenize", "transformation", "rotate", t, "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["latest_version"], 2);
  }
  // Generated tweaks and vaulted records carry their version.
  for (const std::string t : {"gen", "vault"}) {
    CliResult d = Cli({"tokenize", "decode", t, "--transformation", t},
                      before[t]);
    EXPECT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(d.out, pans[0] + "\n" + pans[1] + "\n") << t;
  }
  // An internal tweak cannot: the caller passes the version encode reported.
  CliResult d = Cli({"tokenize", "decode", "fixed", "--transformation",
                     "fixed", "--key-version", "1"},
                    before["fixed"]);
  EXPECT_EQ(d.out, pans[0] + "\n" + pans[1] + "\n");
  CliResult now = Cli({"tokenize", "encode", "fixed", "--transformation",
                       "fixed", "--format", "json"},
                      pans[0] + "\n");
  EXPECT_EQ(nlohmann::json::parse(now.out)["key_version"], 2);
}

TEST_F(TokenizeTest, CanaryPanNeverAppearsInLogsOrDataDir) {
  CreateWithRole("fpe", {"--type", "fpe", "--template", "pan", "--luhn",
                         "invalidate"});
  CreateWithRole("vault", {"--type", "tokenization", "--template", "pan",
                           "--convergent"});
  const std::string canary = "4929187320641234";  // fails Luhn
  const std::string valid_canary = GeneratePans(1, 1234)[0];
  for (const std::string& pan : {canary, valid_canary}) {
    for (const std::string t : {"fpe", "vault"}) {
      CliResult r = Cli({"tokenize", "encode", t, "--transformation", t},
                        pan + "\n" + pan + "-x\n");
      EXPECT_THAT(r.out + r.err, Not(HasSubstr(pan)));
      const auto lines = SplitLines(r.out);
      ASSERT_EQ(lines.size(), 2u);
      if (lines[0].rfind("error:", 0) != 0) {
        CliResult d = Cli({"tokenize", "decode", t, "--transformation", t},
                          lines[0] + "\n");
        EXPECT_EQ(d.out, pan + "\n");
      }
      CliResult v = Cli({"tokenize", "validate", t, "--transformation", t},
                        pan + "\n");
      EXPECT_EQ(v.exit_code, 0) << v.err;
    }
  }
  arcad_.Kill(SIGTERM);
  for (const std::string& pan : {canary, valid_canary}) {
    EXPECT_THAT(arcad_.Log(), Not(HasSubstr(pan)));
    EXPECT_FALSE(TreeContains(dir_.path() / "data", pan));
  }
}

TEST_F(TokenizeTest, UnknownRoleAndUnboundTransformationAreClearErrors) {
  CreateWithRole("ssn", {"--type", "fpe", "--template", "ssn"});
  CliResult r = Cli({"tokenize", "encode", "nobody", "--transformation", "ssn"},
                    "123-45-6789\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  ASSERT_EQ(Cli({"tokenize", "transformation", "create", "other", "--type",
                 "masking", "--template", "ssn"})
                .exit_code,
            0);
  r = Cli({"tokenize", "encode", "ssn", "--transformation", "other"},
          "123-45-6789\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(r.err, Not(HasSubstr("123-45-6789")));
}

}  // namespace
}  // namespace arca::testing
