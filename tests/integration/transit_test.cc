// The transit engine end to end: a real arcad with RocksDB on disk, driven
// through the real `arca` CLI and the client library (arca::Client,
// arca::EnvelopeEncryptor).

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "arca/v1/transit.pb.h"
#include "client/client.h"
#include "client/envelope_encryptor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"

namespace arca::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class TransitTest : public ::testing::Test {
 protected:
  TransitTest() : arcad_(dir_.path() / "data", dir_.path()) {}

  void SetUp() override {
    ASSERT_TRUE(arcad_.Start());
    CliResult init = Cli({"operator", "init", "--key-shares", "1",
                          "--key-threshold", "1", "--format", "json"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto j = nlohmann::json::parse(init.out);
    share_ = j["keys_base64"][0];
    root_token_ = j["root_token"];
    Unseal();
  }

  void Unseal() {
    CliResult r = Cli({"operator", "unseal"}, share_ + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ClientOptions options;
    options.address = arcad_.address();
    options.token = root_token_;
    options.token_from_environment = false;
    auto client = Client::New(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  void Restart() {
    arcad_.Kill(SIGKILL);
    ASSERT_TRUE(arcad_.Start());
    Unseal();
  }

  CliResult Cli(std::vector<std::string> args, const std::string& in = "",
                const std::string& token = "") {
    std::map<std::string, std::string> env = {{"ARCA_ADDR", arcad_.address()}};
    const std::string& t = token.empty() ? root_token_ : token;
    if (!t.empty()) env["ARCA_TOKEN"] = t;
    return RunCli(args, in, env);
  }

  // Encrypt through the CLI; returns the ciphertext line without newline.
  std::string CliEncrypt(const std::string& key, const std::string& plaintext,
                         std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"transit", "encrypt", key};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = Cli(args, plaintext);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return std::string(absl::StripTrailingAsciiWhitespace(r.out));
  }

  void CreateKey(const std::string& name, std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"transit", "create", name};
    args.insert(args.end(), flags.begin(), flags.end());
    CliResult r = Cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  v1::TransitEncryptResponse Encrypt(const std::string& key,
                                     const std::string& plaintext,
                                     const std::string& context = "",
                                     const std::string& aad = "") {
    v1::TransitEncryptRequest req;
    req.set_name(key);
    req.set_plaintext(plaintext);
    req.set_context(context);
    req.set_associated_data(aad);
    auto resp = client_->TransitEncrypt(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : v1::TransitEncryptResponse();
  }

  absl::StatusOr<v1::TransitDecryptResponse> Decrypt(
      const std::string& key, const std::string& ciphertext,
      const std::string& context = "", const std::string& aad = "") {
    v1::TransitDecryptRequest req;
    req.set_name(key);
    req.set_ciphertext(ciphertext);
    req.set_context(context);
    req.set_associated_data(aad);
    return client_->TransitDecrypt(req);
  }

  TempDir dir_;
  Arcad arcad_;
  std::string share_;
  std::string root_token_;
  std::unique_ptr<Client> client_;
};

std::string B64(const std::string& s) { return absl::Base64Escape(s); }

// --- rotation, min_decryption_version, rewrap -------------------------------

TEST_F(TransitTest,
       RotatedKeyDecryptsOldCiphertextsUntilPolicyThenRewrapMoves) {
  CreateKey("orders");
  const std::string aad = B64("loan-42");
  const std::string plain_v1 = CliEncrypt("orders", "account 1234");
  const std::string aad_v1 =
      CliEncrypt("orders", "account 5678", {"--aad", aad});
  ASSERT_THAT(plain_v1, StartsWith("arca:v1:"));
  ASSERT_THAT(aad_v1, StartsWith("arca:v1:"));

  ASSERT_EQ(Cli({"transit", "rotate", "orders"}).exit_code, 0);
  // Old ciphertexts still decrypt after rotation.
  CliResult old = Cli({"transit", "decrypt", "orders"}, plain_v1);
  ASSERT_EQ(old.exit_code, 0) << old.err;
  EXPECT_EQ(old.out, "account 1234");

  // Rewrap moves both to v2, the AAD one only with its AAD.
  CliResult rw = Cli({"transit", "rewrap", "orders"}, plain_v1);
  ASSERT_EQ(rw.exit_code, 0) << rw.err;
  const std::string plain_v2(absl::StripTrailingAsciiWhitespace(rw.out));
  EXPECT_THAT(plain_v2, StartsWith("arca:v2:"));
  CliResult rw_no_aad = Cli({"transit", "rewrap", "orders"}, aad_v1);
  EXPECT_EQ(rw_no_aad.exit_code, 1);
  EXPECT_THAT(rw_no_aad.err,
              StartsWith("INVALID_ARGUMENT: ciphertext authentication failed"));
  CliResult rw_aad = Cli({"transit", "rewrap", "orders", "--aad", aad}, aad_v1);
  ASSERT_EQ(rw_aad.exit_code, 0) << rw_aad.err;
  const std::string aad_v2(absl::StripTrailingAsciiWhitespace(rw_aad.out));
  EXPECT_THAT(aad_v2, StartsWith("arca:v2:"));

  // The operator sees v1 was still in use before raising the minimum.
  CliResult show = Cli({"transit", "show", "orders", "--format", "json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto key = nlohmann::json::parse(show.out);
  EXPECT_GE(std::stoull(key["versions"][0]["decryptions"].get<std::string>()),
            3u);
  EXPECT_NE(key["versions"][0]["last_used_unix_ms"].get<std::string>(), "0");

  ASSERT_EQ(
      Cli({"transit", "config", "orders", "--min-decryption-version", "2"})
          .exit_code,
      0);
  CliResult refused = Cli({"transit", "decrypt", "orders"}, plain_v1);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err,
            "INVALID_ARGUMENT: ciphertext version is disallowed by policy\n");
  CliResult d2 = Cli({"transit", "decrypt", "orders"}, plain_v2);
  ASSERT_EQ(d2.exit_code, 0) << d2.err;
  EXPECT_EQ(d2.out, "account 1234");
  CliResult d2aad = Cli({"transit", "decrypt", "orders", "--aad", aad}, aad_v2);
  ASSERT_EQ(d2aad.exit_code, 0) << d2aad.err;
  EXPECT_EQ(d2aad.out, "account 5678");
}

// --- batches
// ------------------------------------------------------------------

TEST_F(TransitTest, BatchOfThousandWithThreeBadItemsGivesResultsInOrder) {
  CreateKey("bulk");
  v1::TransitBatchRequest enc;
  enc.set_name("bulk");
  for (int i = 0; i < 1000; ++i) {
    auto* item = enc.add_items();
    item->set_input(absl::StrCat("record-", i));
    item->set_reference(absl::StrCat("ref-", i));
  }
  auto encrypted = client_->TransitBatchEncrypt(enc);
  ASSERT_TRUE(encrypted.ok()) << encrypted.status();
  ASSERT_EQ(encrypted->results_size(), 1000);

  const std::set<int> bad = {3, 500, 998};
  v1::TransitBatchRequest dec;
  dec.set_name("bulk");
  std::string cli_input;
  for (int i = 0; i < 1000; ++i) {
    const auto& r = encrypted->results(i);
    ASSERT_EQ(r.error_code(), 0) << r.error();
    EXPECT_EQ(r.reference(), absl::StrCat("ref-", i));
    std::string ct = r.output();
    if (bad.contains(i))
      ct = i == 3 ? "arca:v1:%%%" : "arca:v9:" + ct.substr(8);
    auto* item = dec.add_items();
    item->set_input(ct);
    item->set_reference(absl::StrCat("ref-", i));
    cli_input += ct + "\n";
  }
  auto decrypted = client_->TransitBatchDecrypt(dec);
  ASSERT_TRUE(decrypted.ok()) << decrypted.status();
  ASSERT_EQ(decrypted->results_size(), 1000);
  int ok = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto& r = decrypted->results(i);
    EXPECT_EQ(r.reference(), absl::StrCat("ref-", i));
    if (bad.contains(i)) {
      EXPECT_EQ(r.error_code(),
                static_cast<int>(absl::StatusCode::kInvalidArgument));
      EXPECT_TRUE(r.output().empty());
    } else {
      EXPECT_EQ(r.error_code(), 0) << r.error();
      EXPECT_EQ(r.output(), absl::StrCat("record-", i));
      ++ok;
    }
  }
  EXPECT_EQ(ok, 997);

  // The same through the CLI: one line per item, errors in place.
  CliResult cli = Cli({"transit", "decrypt", "bulk", "--batch"}, cli_input);
  EXPECT_EQ(cli.exit_code, 1);  // some items failed
  std::vector<std::string> lines = absl::StrSplit(cli.out, '\n');
  ASSERT_EQ(lines.size(), 1001u);  // trailing newline
  for (int i = 0; i < 1000; ++i) {
    if (bad.contains(i)) {
      EXPECT_THAT(lines[i], StartsWith("error: INVALID_ARGUMENT: ")) << i;
    } else {
      EXPECT_EQ(lines[i], B64(absl::StrCat("record-", i))) << i;
    }
  }
}

TEST_F(TransitTest, EmptyPlaintextRoundTripsSingleAndBatch) {
  CreateKey("empty");
  const std::string ct = CliEncrypt("empty", "");
  ASSERT_THAT(ct, StartsWith("arca:v1:"));
  CliResult d = Cli({"transit", "decrypt", "empty"}, ct);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, "");

  // Batch: an empty line is an empty plaintext.
  CliResult be = Cli({"transit", "encrypt", "empty", "--batch"}, "\n\n");
  ASSERT_EQ(be.exit_code, 0) << be.err;
  std::vector<std::string> cts = absl::StrSplit(be.out, '\n');
  ASSERT_EQ(cts.size(), 3u);
  CliResult bd = Cli({"transit", "decrypt", "empty", "--batch"},
                     cts[0] + "\n" + cts[1] + "\n");
  ASSERT_EQ(bd.exit_code, 0) << bd.err;
  EXPECT_EQ(bd.out, "\n\n");

  v1::TransitBatchRequest req;
  req.set_name("empty");
  req.add_items();
  auto enc = client_->TransitBatchEncrypt(req);
  ASSERT_TRUE(enc.ok()) << enc.status();
  req.mutable_items(0)->set_input(enc->results(0).output());
  auto dec = client_->TransitBatchDecrypt(req);
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_EQ(dec->results(0).error_code(), 0);
  EXPECT_EQ(dec->results(0).output(), "");
}

TEST_F(TransitTest, ConvergentKeyEqualForSameContextDifferentForOther) {
  CreateKey("conv", {"--derived", "--convergent"});
  const std::string c1 = B64("tenant-1"), c2 = B64("tenant-2");
  const std::string a = CliEncrypt("conv", "ssn 123", {"--context", c1});
  const std::string b = CliEncrypt("conv", "ssn 123", {"--context", c1});
  const std::string c = CliEncrypt("conv", "ssn 123", {"--context", c2});
  const std::string d = CliEncrypt("conv", "ssn 124", {"--context", c1});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  CliResult back = Cli({"transit", "decrypt", "conv", "--context", c2}, c);
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, "ssn 123");
}

// --- the error table: one row per test
// ----------------------------------------

TEST_F(TransitTest, MalformedPrefixOrBase64IsInvalidArgument) {
  CreateKey("k");
  for (const std::string bad : {"vault:v1:AAAA", "arca:1:AAAA",
                                "arca:v1:not base64!", "arca:v01:AAAA"}) {
    auto r = Decrypt("k", bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("ciphertext is malformed"));
  }
  CliResult cli = Cli({"transit", "decrypt", "k"}, "arca:v1:%%%");
  EXPECT_EQ(cli.err, "INVALID_ARGUMENT: ciphertext is malformed\n");
}

TEST_F(TransitTest, VersionAboveLatestIsTooNew) {
  CreateKey("k");
  std::string ct = Encrypt("k", "x").ciphertext();
  ct.replace(0, 8, "arca:v7:");
  auto r = Decrypt("k", ct);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  CliResult cli = Cli({"transit", "decrypt", "k"}, ct);
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_EQ(cli.err, "INVALID_ARGUMENT: ciphertext version is too new\n");
}

TEST_F(TransitTest, VersionBelowMinDecryptionVersionIsDisallowed) {
  CreateKey("k");
  const std::string ct = Encrypt("k", "x").ciphertext();
  v1::TransitRotateKeyRequest rot;
  rot.set_name("k");
  ASSERT_TRUE(client_->TransitRotateKey(rot).ok());
  v1::TransitConfigureKeyRequest cfg;
  cfg.set_name("k");
  cfg.set_min_decryption_version(2);
  ASSERT_TRUE(client_->TransitConfigureKey(cfg).ok());
  auto r = Decrypt("k", ct);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "ciphertext version is disallowed by policy");
}

TEST_F(TransitTest, WrongContextOrAssociatedDataFailsAuthentication) {
  CreateKey("derived", {"--derived"});
  const std::string ct =
      Encrypt("derived", "pii", "ctx-a", "aad-a").ciphertext();
  ASSERT_TRUE(Decrypt("derived", ct, "ctx-a", "aad-a").ok());
  for (auto [context, aad] : std::vector<std::pair<std::string, std::string>>{
           {"ctx-b", "aad-a"}, {"ctx-a", "aad-b"}, {"ctx-a", ""}}) {
    auto r = Decrypt("derived", ct, context, aad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "ciphertext authentication failed");
  }
}

TEST_F(TransitTest, CallerSuppliedNonceIsRefused) {
  CreateKey("k");
  // No request message has a nonce field ...
  const auto* file = v1::TransitEncryptRequest::descriptor()->file();
  for (int i = 0; i < file->message_type_count(); ++i) {
    const auto* m = file->message_type(i);
    for (int f = 0; f < m->field_count(); ++f) {
      EXPECT_EQ(m->field(f)->name().find("nonce"), std::string::npos)
          << m->full_name();
    }
  }
  // ... and one smuggled in as an unknown field is refused, not ignored.
  v1::TransitEncryptRequest req;
  req.set_name("k");
  req.set_plaintext("x");
  req.GetReflection()->MutableUnknownFields(&req)->AddLengthDelimited(
      15, std::string(12, 'n'));
  auto r = client_->TransitEncrypt(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("nonce"));
  // The CLI has no way to pass one either.
  EXPECT_EQ(Cli({"transit", "encrypt", "k", "--nonce", "AAAA"}, "x").exit_code,
            1);
}

TEST_F(TransitTest, DerivedKeyWithoutContextIsInvalidArgument) {
  CreateKey("derived", {"--derived"});
  v1::TransitEncryptRequest req;
  req.set_name("derived");
  req.set_plaintext("x");
  auto r = client_->TransitEncrypt(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "context is required for derived keys");
}

TEST_F(TransitTest, MissingKeyIsNotFoundUnlessCreatedOnEncrypt) {
  auto r = Decrypt("ghost", "arca:v1:AAAA");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  CliResult show = Cli({"transit", "show", "ghost"});
  EXPECT_EQ(show.exit_code, 2);
  EXPECT_THAT(show.err, StartsWith("NOT_FOUND: "));

  // The root token may create, so encrypt creates the key ...
  EXPECT_THAT(CliEncrypt("auto", "x"), StartsWith("arca:v1:"));
  // ... until the mount option turns that off.
  v1::TuneMountRequest tune;
  tune.set_path("transit");
  tune.set_transit_create_on_encrypt(false);
  ASSERT_TRUE(client_->TuneMount(tune).ok());
  v1::TransitEncryptRequest req;
  req.set_name("auto2");
  req.set_plaintext("x");
  EXPECT_EQ(client_->TransitEncrypt(req).status().code(),
            absl::StatusCode::kNotFound);
  // The option is in the mount table: it survives a restart.
  Restart();
  EXPECT_EQ(client_->TransitEncrypt(req).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(client_
                  ->TransitEncrypt([] {
                    v1::TransitEncryptRequest e;
                    e.set_name("auto");
                    e.set_plaintext("x");
                    return e;
                  }())
                  .ok());
  // The CLI turns it back on.
  CliResult tuned = Cli({"transit", "tune", "--create-on-encrypt", "true"});
  ASSERT_EQ(tuned.exit_code, 0) << tuned.err;
  EXPECT_TRUE(client_->TransitEncrypt(req).ok());
}

// --- key management
// -------------------------------------------------------------

TEST_F(TransitTest, EncryptCreatesAMissingKeyOnlyWithCreateOnItsKeyPath) {
  ASSERT_EQ(Cli({"policy", "write", "enc-only", "-"},
                R"({"path": {"transit/encrypt/*": {"capabilities": ["update"]}}})")
                .exit_code,
            0);
  ASSERT_EQ(Cli({"policy", "write", "enc-create", "-"},
                R"({"path": {"transit/encrypt/*": {"capabilities": ["update"]},
                             "transit/keys/*": {"capabilities": ["create"]}}})")
                .exit_code,
            0);
  auto token_for = [&](const std::string& policy) {
    CliResult t = Cli({"token", "create", "--policy", policy, "--format",
                       "json"});
    EXPECT_EQ(t.exit_code, 0) << t.err;
    return nlohmann::json::parse(t.out)["token"].get<std::string>();
  };
  const std::string enc_only = token_for("enc-only");
  const std::string enc_create = token_for("enc-create");

  CliResult refused = Cli({"transit", "encrypt", "fresh"}, "x", enc_only);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, StartsWith("NOT_FOUND: "));
  EXPECT_EQ(Cli({"transit", "show", "fresh"}).exit_code, 2);  // not created

  CliResult created = Cli({"transit", "encrypt", "fresh"}, "x", enc_create);
  EXPECT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, StartsWith("arca:v1:"));
  EXPECT_EQ(Cli({"transit", "show", "fresh"}).exit_code, 0);
  // Without update on transit/decrypt/<key> the same token cannot decrypt.
  CliResult dec = Cli({"transit", "decrypt", "fresh"}, created.out, enc_create);
  EXPECT_THAT(dec.err, StartsWith("PERMISSION_DENIED: "));
}

TEST_F(TransitTest, KeyListTrimDeleteAndExportFollowKeyConfig) {
  CreateKey("a", {"--type", "xchacha20-poly1305"});
  CreateKey("b", {"--exportable"});
  CliResult list = Cli({"transit", "list", "--format", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out, "{\"keys\":[\"a\",\"b\"]}\n");

  // XChaCha20-Poly1305 round-trips through the CLI too.
  const std::string ct = CliEncrypt("a", "x");
  EXPECT_EQ(Cli({"transit", "decrypt", "a"}, ct).out, "x");

  // Trim removes versions below min_decryption_version.
  for (int i = 0; i < 2; ++i) Cli({"transit", "rotate", "a"});
  ASSERT_EQ(Cli({"transit", "config", "a", "--min-decryption-version", "3"})
                .exit_code,
            0);
  CliResult trim = Cli({"transit", "trim", "a", "--format", "json"});
  ASSERT_EQ(trim.exit_code, 0) << trim.err;
  auto trimmed = nlohmann::json::parse(trim.out);
  EXPECT_EQ(trimmed["min_available_version"], 3);
  EXPECT_EQ(trimmed["versions"].size(), 1u);

  // Delete needs deletion_allowed.
  CliResult refused = Cli({"transit", "delete", "a"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, StartsWith("FAILED_PRECONDITION: "));
  ASSERT_EQ(Cli({"transit", "config", "a", "--deletion-allowed"}).exit_code, 0);
  ASSERT_EQ(Cli({"transit", "delete", "a"}).exit_code, 0);
  EXPECT_EQ(Cli({"transit", "show", "a"}).exit_code, 2);

  // Export only for exportable keys.
  v1::TransitExportKeyRequest exp;
  exp.set_name("b");
  exp.set_kind("encryption-key");
  auto exported = client_->TransitExportKey(exp);
  ASSERT_TRUE(exported.ok()) << exported.status();
  ASSERT_EQ(exported->keys().size(), 1u);
  EXPECT_EQ(exported->keys().at(1).size(), 32u);
  CreateKey("c");
  exp.set_name("c");
  EXPECT_EQ(client_->TransitExportKey(exp).status().code(),
            absl::StatusCode::kFailedPrecondition);
  exp.set_kind("everything");
  EXPECT_EQ(client_->TransitExportKey(exp).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- HMAC, signatures, data keys
// ----------------------------------------------

TEST_F(TransitTest, HmacSignAndDatakeyThroughCli) {
  CreateKey("mac", {"--type", "hmac"});
  CliResult h = Cli({"transit", "hmac", "mac"}, "message");
  ASSERT_EQ(h.exit_code, 0) << h.err;
  const std::string tag(absl::StripTrailingAsciiWhitespace(h.out));
  EXPECT_EQ(Cli({"transit", "verify", "mac", "--hmac", tag}, "message").out,
            "valid\n");
  EXPECT_EQ(
      Cli({"transit", "verify", "mac", "--hmac", tag}, "messagE").exit_code, 1);

  CreateKey("signer", {"--type", "ed25519"});
  CliResult s = Cli({"transit", "sign", "signer"}, "doc");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const std::string sig(absl::StripTrailingAsciiWhitespace(s.out));
  EXPECT_EQ(
      Cli({"transit", "verify", "signer", "--signature", sig}, "doc").exit_code,
      0);
  EXPECT_EQ(
      Cli({"transit", "verify", "signer", "--signature", sig}, "dog").exit_code,
      1);

  CreateKey("wrap");
  CliResult dk =
      Cli({"transit", "datakey", "wrap", "--bits", "512", "--format", "json"});
  ASSERT_EQ(dk.exit_code, 0) << dk.err;
  auto j = nlohmann::json::parse(dk.out);
  std::string plaintext;
  ASSERT_TRUE(
      absl::Base64Unescape(j["plaintext"].get<std::string>(), &plaintext));
  EXPECT_EQ(plaintext.size(), 64u);
  // The wrapped key is an ordinary transit ciphertext of the plaintext key.
  auto unwrapped = Decrypt("wrap", j["ciphertext"]);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_EQ(unwrapped->plaintext(), plaintext);
  CliResult wrapped =
      Cli({"transit", "datakey", "wrap", "--wrapped", "--format", "json"});
  ASSERT_EQ(wrapped.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(wrapped.out)["plaintext"], "");
}

// --- envelope files
// ------------------------------------------------------------

void WriteFile(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary) << data;
}

TEST_F(TransitTest, EnvelopeFileOf200MiBRoundTripsInConstantMemory) {
  CreateKey("files");
  const fs::path in = dir_.path() / "big.bin";
  {
    std::ofstream out(in, std::ios::binary);
    std::string block(1 << 20, '\0');
    for (int mb = 0; mb < 200; ++mb) {
      for (size_t i = 0; i < block.size(); i += 8) {
        const uint64_t v = (uint64_t{static_cast<uint32_t>(mb)} << 32) | i;
        std::memcpy(&block[i], &v, 8);
      }
      out.write(block.data(), block.size());
    }
  }
  const fs::path env = dir_.path() / "big.env";
  const fs::path back = dir_.path() / "big.out";
  CliResult e =
      Cli({"transit", "encrypt-file", "files", in.string(), env.string()});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  std::cout << "encrypt-file 200 MiB: peak RSS " << e.max_rss_kib << " KiB\n";
  EXPECT_LT(e.max_rss_kib, 64 * 1024);
  CliResult d = Cli({"transit", "decrypt-file", env.string(), back.string()});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  std::cout << "decrypt-file 200 MiB: peak RSS " << d.max_rss_kib << " KiB\n";
  EXPECT_LT(d.max_rss_kib, 64 * 1024);
  ASSERT_EQ(fs::file_size(back), fs::file_size(in));
  EXPECT_TRUE(ReadFile(back) == ReadFile(in));
}

// Offset of chunk 0 in an envelope (see client/envelope_encryptor.h).
size_t FirstChunkOffset(const std::string& env) {
  size_t at = 8;
  const size_t name_len =
      (static_cast<uint8_t>(env[at]) << 8) | static_cast<uint8_t>(env[at + 1]);
  at += 2 + name_len + 4;
  size_t wrapped_len = 0;
  for (int i = 0; i < 4; ++i) {
    wrapped_len = (wrapped_len << 8) | static_cast<uint8_t>(env[at + i]);
  }
  return at + 4 + wrapped_len + 4 + 16;
}

TEST_F(TransitTest, TamperedEnvelopeFilesFailWithClearErrorAndNoOutput) {
  CreateKey("files");
  std::string data;
  for (int i = 0; i < 300'000; ++i) data.push_back(static_cast<char>(i * 7));
  const fs::path in = dir_.path() / "in.bin";
  const fs::path env = dir_.path() / "in.env";
  WriteFile(in, data);
  ASSERT_EQ(Cli({"transit", "encrypt-file", "files", in.string(), env.string()})
                .exit_code,
            0);
  const std::string good = ReadFile(env);
  const size_t first = FirstChunkOffset(good);
  const size_t frame = 5 + 65536 + 16;
  ASSERT_GT(good.size(), first + 4 * frame);

  std::string truncated_mid = good.substr(0, good.size() - 1000);
  std::string truncated_at_chunk = good.substr(0, first + 2 * frame);
  std::string swapped = good;
  std::swap_ranges(swapped.begin() + first, swapped.begin() + first + frame,
                   swapped.begin() + first + frame);
  std::string flipped = good;
  flipped[first + frame + 1000] ^= 0x01;
  std::string flipped_header = good;
  flipped_header[first - 3] ^= 0x01;  // the salt

  const fs::path out = dir_.path() / "out.bin";
  for (const auto& [name, bytes] :
       std::vector<std::pair<std::string, std::string>>{
           {"truncated mid-chunk", truncated_mid},
           {"truncated at a chunk boundary", truncated_at_chunk},
           {"chunks swapped", swapped},
           {"bit flipped", flipped},
           {"header bit flipped", flipped_header}}) {
    const fs::path bad = dir_.path() / "bad.env";
    WriteFile(bad, bytes);
    CliResult r = Cli({"transit", "decrypt-file", bad.string(), out.string()});
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_THAT(r.err, StartsWith("INVALID_ARGUMENT: envelope")) << name;
    EXPECT_FALSE(fs::exists(out)) << name;
  }
  ASSERT_EQ(
      Cli({"transit", "decrypt-file", env.string(), out.string()}).exit_code,
      0);
  EXPECT_EQ(ReadFile(out), data);
}

TEST_F(TransitTest, EnvelopeEncryptorReusesDataKeyForNMessages) {
  CreateKey("env");
  EnvelopeOptions options;
  options.key_name = "env";
  options.max_messages_per_data_key = 3;
  auto envelope = EnvelopeEncryptor::New(client_.get(), options);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  std::vector<std::string> sealed;
  for (int i = 0; i < 7; ++i) {
    auto e = (*envelope)->EncryptString(absl::StrCat("message ", i));
    ASSERT_TRUE(e.ok()) << e.status();
    sealed.push_back(*e);
  }
  // Seven messages, three per data key: three data keys were made, each an
  // encryption under the transit key.
  v1::TransitReadKeyRequest read;
  read.set_name("env");
  auto key = client_->TransitReadKey(read);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->versions(0).encryptions(), 3u);
  // A fresh encryptor (no cached key) decrypts through the server.
  auto other = EnvelopeEncryptor::New(client_.get(), options);
  ASSERT_TRUE(other.ok());
  for (int i = 0; i < 7; ++i) {
    auto d = (*other)->DecryptString(sealed[i]);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(*d, absl::StrCat("message ", i));
  }
}

// --- durability
// -----------------------------------------------------------------

TEST_F(TransitTest, EncryptionCountersNeverGoBackwardsAfterKill9) {
  CreateKey("hot");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Cli({"transit", "rotate", "hot"}).exit_code, 0);
  }
  // Some traffic on every version, chosen per request.
  for (uint32_t v = 1; v <= 4; ++v) {
    v1::TransitEncryptRequest req;
    req.set_name("hot");
    req.set_plaintext("x");
    req.set_key_version(v);
    ASSERT_TRUE(client_->TransitEncrypt(req).ok());
  }

  std::atomic<bool> stop = false;
  std::atomic<uint64_t> acknowledged = 0;
  std::thread traffic([&] {
    v1::TransitBatchRequest batch;
    batch.set_name("hot");
    for (int i = 0; i < 200; ++i) batch.add_items()->set_input("payload");
    while (!stop) {
      auto r = client_->TransitBatchEncrypt(batch);
      if (r.ok()) acknowledged += r->results_size();
    }
  });
  while (acknowledged < 2000)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  v1::TransitReadKeyRequest read;
  read.set_name("hot");
  auto before = client_->TransitReadKey(read);
  ASSERT_TRUE(before.ok()) << before.status();
  arcad_.Kill(SIGKILL);  // while the batches keep coming
  stop = true;
  traffic.join();
  const uint64_t acked = acknowledged;

  ASSERT_TRUE(arcad_.Start());
  Unseal();
  auto after = client_->TransitReadKey(read);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->versions_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_GE(after->versions(i).encryptions(),
              before->versions(i).encryptions())
        << "version " << i + 1;
    EXPECT_GE(after->versions(i).encryptions(), 1u);
  }
  EXPECT_GE(after->versions(3).encryptions(), acked);
  // And it keeps counting up from there.
  Encrypt("hot", "more");
  auto later = client_->TransitReadKey(read);
  ASSERT_TRUE(later.ok());
  EXPECT_GT(later->versions(3).encryptions(), after->versions(3).encryptions());
}

TEST_F(TransitTest, CanaryPlaintextNeverInLogOrDataDirInClear) {
  const std::string canary = "CANARY-7f3a9c-loan-document-plaintext";
  CreateKey("k");
  const std::string ct = CliEncrypt("k", canary);
  ASSERT_EQ(Cli({"transit", "decrypt", "k"}, ct).out, canary);
  Encrypt("k", canary, "", "aad");
  CliResult batch =
      Cli({"transit", "encrypt", "k", "--batch"}, B64(canary) + "\n");
  ASSERT_EQ(batch.exit_code, 0);
  const fs::path in = dir_.path() / "canary.txt";
  const fs::path env = dir_.path() / "canary.env";
  WriteFile(in, canary);
  ASSERT_EQ(Cli({"transit", "encrypt-file", "k", in.string(), env.string()})
                .exit_code,
            0);
  EXPECT_EQ(ReadFile(env).find(canary), std::string::npos);
  ASSERT_EQ(Cli({"operator", "seal"}).exit_code, 0);
  arcad_.Kill(SIGTERM);
  EXPECT_FALSE(TreeContains(dir_.path() / "data", canary));
  EXPECT_FALSE(TreeContains(dir_.path() / "data", B64(canary)));
  EXPECT_EQ(arcad_.Log().find(canary), std::string::npos);
}

}  // namespace
}  // namespace arca::testing
