// libFuzzer target: JWT verification and JWKS parsing take untrusted input.
// Build: cmake -DARCA_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...; run
// build/tests/fuzz/jwt_fuzzer -max_total_time=60.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/auth/jwt.h"

namespace {

// A fixed P-256 key (public only) so that parsing reaches the signature
// check; the fuzzer mostly explores the parser and claim checks.
constexpr char kJwks[] =
    R"({"keys":[{"kty":"EC","crv":"P-256","kid":"k",)"
    R"("x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const arca::auth::JwtKeySet* keys = [] {
    auto set = arca::auth::JwtKeySet::FromJwks(kJwks);
    if (!set.ok()) __builtin_trap();  // the harness itself is broken
    return new arca::auth::JwtKeySet(*set);
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  arca::auth::JwtVerifyOptions options;
  options.issuer = "i";
  options.audience = "a";
  (void)arca::auth::VerifyJwt(input, *keys, options);
  (void)arca::auth::JwtKeySet::FromJwks(input);
  (void)arca::auth::JwtKeySet::FromPem(input);
  (void)arca::auth::DecodeBase64Url(input);
  return 0;
}
