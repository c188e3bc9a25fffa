#include "server/audit/chain.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kms/mac.h"
#include "server/audit/entry.h"

namespace arca::audit {
namespace {

constexpr std::string_view kChainKeyInfo = "arca audit chain v1";
constexpr size_t kHexMacSize = 64;
constexpr std::string_view kHmacMemberOpen = ",\"hmac\":\"";
constexpr std::string_view kHmacMemberClose = "\"}";
// `,"hmac":"` + 64 hex + `"}`
constexpr size_t kHmacSuffixSize =
    kHmacMemberOpen.size() + kHexMacSize + kHmacMemberClose.size();

std::string Hex(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<kms::SecretBytes> DeriveChainKey(const kms::SecretBytes& salt) {
  if (salt.size() != kSaltSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit salt must be ", kSaltSize, " bytes"));
  }
  return kms::HkdfSha256(salt, "", kChainKeyInfo, 32);
}

const std::string& ZeroHmacHex() {
  static const std::string* const zero = new std::string(kHexMacSize, '0');
  return *zero;
}

std::string SealLine(const kms::SecretBytes& chain_key, const ChainHead& head,
                     std::string_view members_json, ChainHead* next) {
  const uint64_t seq = head.seq + 1;
  const std::string& prev =
      head.hmac_hex.empty() ? ZeroHmacHex() : head.hmac_hex;
  // members_json is "{...}": splice its members after seq and prev.
  std::string body = absl::StrCat("{\"seq\":", seq, ",\"prev\":\"", prev, "\"");
  if (members_json.size() > 2) {
    body += ',';
    body.append(members_json.data() + 1, members_json.size() - 1);
  } else {
    body += '}';
  }
  const std::string mac = Hex(kms::HmacSha256(chain_key, body));
  std::string line = body.substr(0, body.size() - 1);
  line.append(kHmacMemberOpen);
  line += mac;
  line.append(kHmacMemberClose);
  line += '\n';
  next->seq = seq;
  next->hmac_hex = mac;
  return line;
}

absl::StatusOr<CheckedLine> CheckLine(const kms::SecretBytes& chain_key,
                                      std::string_view line) {
  if (line.size() < kHmacSuffixSize + 2 ||
      line.substr(line.size() - kHmacSuffixSize, kHmacMemberOpen.size()) !=
          kHmacMemberOpen ||
      line.substr(line.size() - kHmacMemberClose.size()) != kHmacMemberClose) {
    return absl::DataLossError("no trailing \"hmac\" member");
  }
  const std::string_view mac_hex = line.substr(
      line.size() - kHmacMemberClose.size() - kHexMacSize, kHexMacSize);
  if (!IsLowerHex(mac_hex)) {
    return absl::DataLossError("\"hmac\" is not 64 lowercase hex digits");
  }
  std::string body(line.substr(0, line.size() - kHmacSuffixSize));
  body += '}';
  const std::string tag =
      absl::HexStringToBytes(absl::string_view(mac_hex.data(), mac_hex.size()));
  if (!kms::HmacSha256Verify(chain_key, body, tag)) {
    return absl::DataLossError(
        "hmac does not match: the line was edited, forged, or written with "
        "another salt");
  }
  // The MAC holds, so the body is ours; still parse defensively.
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError("not a JSON object");
  }
  auto seq = j.find("seq");
  auto prev = j.find("prev");
  auto type = j.find("type");
  if (seq == j.end() || !seq->is_number_unsigned() || prev == j.end() ||
      !prev->is_string() || type == j.end() || !type->is_string()) {
    return absl::DataLossError("missing \"seq\", \"prev\" or \"type\"");
  }
  CheckedLine out;
  out.seq = seq->get<uint64_t>();
  out.prev_hex = prev->get<std::string>();
  out.type = type->get<std::string>();
  out.hmac_hex = std::string(mac_hex);
  if (out.prev_hex.size() != kHexMacSize || !IsLowerHex(out.prev_hex)) {
    return absl::DataLossError("\"prev\" is not 64 lowercase hex digits");
  }
  return out;
}

absl::StatusOr<ChainVerifier> ChainVerifier::Create(
    const kms::SecretBytes& salt) {
  auto key = DeriveChainKey(salt);
  if (!key.ok()) return key.status();
  return ChainVerifier(std::move(key).value());
}

ChainVerifier::ChainVerifier(kms::SecretBytes chain_key)
    : chain_key_(std::move(chain_key)) {
  result_.head.hmac_hex = ZeroHmacHex();
}

void ChainVerifier::Fail(uint64_t line, std::string reason) {
  failed_ = true;
  result_.ok = false;
  result_.first_bad_line = line;
  result_.reason = std::move(reason);
  pending_.clear();
}

void ChainVerifier::Update(std::string_view data) {
  while (!failed_ && !data.empty()) {
    const size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      if (pending_.size() + data.size() > kMaxLineSize) {
        Fail(result_.lines + 1,
             absl::StrCat("line ", result_.lines + 1, " is longer than ",
                          kMaxLineSize, " bytes"));
        return;
      }
      pending_.append(data.data(), data.size());
      return;
    }
    if (pending_.empty()) {
      ProcessLine(data.substr(0, nl));
    } else {
      pending_.append(data.data(), nl);
      std::string line = std::move(pending_);
      pending_.clear();
      ProcessLine(line);
    }
    data.remove_prefix(nl + 1);
  }
}

void ChainVerifier::ProcessLine(std::string_view line) {
  const uint64_t n = result_.lines + 1;
  if (line.size() > kMaxLineSize) {
    Fail(n,
         absl::StrCat("line ", n, " is longer than ", kMaxLineSize, " bytes"));
    return;
  }
  auto checked = CheckLine(chain_key_, line);
  if (!checked.ok()) {
    const absl::string_view msg = checked.status().message();
    Fail(n, absl::StrCat("line ", n, ": ", msg));
    return;
  }
  const ChainHead& head = result_.head;
  if (n == 1) {
    if (checked->type != kChainStartType || checked->seq != 1 ||
        checked->prev_hex != ZeroHmacHex()) {
      Fail(1,
           "line 1 is not the start of a chain: lines were removed from the "
           "head of the file, or this is not an audit file");
      return;
    }
  } else if (checked->type == kChainStartType) {
    Fail(n, absl::StrCat("line ", n,
                         " starts a second chain: files were concatenated or "
                         "earlier lines replaced"));
    return;
  } else if (checked->type == kChainRestartType) {
    Fail(n, absl::StrCat("line ", n,
                         " restarts the chain: when the file was reopened its "
                         "last line (line ",
                         n - 1, ") did not verify"));
    return;
  } else if (checked->seq != head.seq + 1) {
    Fail(n, absl::StrCat("line ", n, ": expected seq ", head.seq + 1,
                         ", found ", checked->seq,
                         checked->seq > head.seq + 1
                             ? ": a line is missing or out of order"
                             : ": a line is out of order or repeated"));
    return;
  } else if (checked->prev_hex != head.hmac_hex) {
    Fail(n, absl::StrCat("line ", n,
                         ": \"prev\" does not match the hmac of "
                         "line ",
                         n - 1, ": a line was inserted, removed or moved"));
    return;
  }
  result_.lines = n;
  result_.head.seq = checked->seq;
  result_.head.hmac_hex = std::move(checked->hmac_hex);
}

VerifyResult ChainVerifier::Finish(
    const std::optional<ChainHead>& expected_head) {
  if (!failed_ && !pending_.empty()) {
    const uint64_t n = result_.lines + 1;
    Fail(n, absl::StrCat("line ", n,
                         " is truncated (no newline at the end of the file)"));
  }
  if (!failed_ && result_.lines == 0) {
    Fail(1, "the file is empty: no chain start line");
  }
  if (!failed_ && expected_head.has_value()) {
    const ChainHead& want = *expected_head;
    if (result_.head.seq < want.seq) {
      Fail(result_.lines + 1,
           absl::StrCat("the file ends at seq ", result_.head.seq,
                        " but the device has written up to seq ", want.seq,
                        ": lines were removed from the end"));
    } else if (result_.head.seq != want.seq ||
               result_.head.hmac_hex != want.hmac_hex) {
      Fail(result_.lines,
           absl::StrCat("line ", result_.lines,
                        " is not the line the device wrote last"));
    }
  }
  if (!failed_) {
    result_.ok = true;
    result_.reason.clear();
  }
  return result_;
}

VerifyResult Verify(const std::string& path, const kms::SecretBytes& salt,
                    const std::optional<ChainHead>& expected_head) {
  VerifyResult result;
  auto verifier = ChainVerifier::Create(salt);
  if (!verifier.ok()) {
    result.reason = std::string(verifier.status().message());
    return result;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result.reason =
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno));
    return result;
  }
  std::string buf(64 << 10, '\0');
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      result.reason =
          absl::StrCat("cannot read ", path, ": ", std::strerror(errno));
      ::close(fd);
      return result;
    }
    if (n == 0) break;
    verifier->Update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return verifier->Finish(expected_head);
}

}  // namespace arca::audit
