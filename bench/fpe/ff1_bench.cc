// FF1 / FF3-1 throughput on the tokenization hot case: 16 decimal digits
// (a card number) with an 8-byte tweak (FF3-1 uses its fixed 7 bytes).
// Run: ff1_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kms/fpe/ff1.h"
#include "kms/fpe/ff3_1.h"
#include "kms/secret_bytes.h"

namespace arca::kms::fpe {
namespace {

const std::vector<uint16_t> kPan = {4, 1, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 1, 1, 1, 1};

SecretBytes BenchKey(size_t size) {
  std::string k(size, '\0');
  for (size_t i = 0; i < size; ++i) k[i] = static_cast<char>(i * 37 + 11);
  return SecretBytes::CopyFrom(k);
}

template <typename Cipher>
std::unique_ptr<Cipher> Make(size_t key_size, uint32_t radix) {
  auto c = Cipher::New(BenchKey(key_size), radix);
  if (!c.ok()) std::abort();
  return std::move(*c);
}

// Each iteration feeds the previous output back, so the work cannot be
// hoisted and every call sees a fresh input.
void BM_Ff1Encrypt16Digits(benchmark::State& state) {
  auto ff1 = Make<Ff1>(static_cast<size_t>(state.range(0)), 10);
  const std::string tweak = "tweak-08";
  std::vector<uint16_t> x = kPan;
  for (auto _ : state) {
    auto ct = ff1->Encrypt(x, tweak);
    if (!ct.ok()) state.SkipWithError("encrypt failed");
    x = std::move(*ct);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ff1Encrypt16Digits)->Arg(16)->Arg(32);

void BM_Ff1Decrypt16Digits(benchmark::State& state) {
  auto ff1 = Make<Ff1>(static_cast<size_t>(state.range(0)), 10);
  const std::string tweak = "tweak-08";
  std::vector<uint16_t> x = kPan;
  for (auto _ : state) {
    auto pt = ff1->Decrypt(x, tweak);
    if (!pt.ok()) state.SkipWithError("decrypt failed");
    x = std::move(*pt);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ff1Decrypt16Digits)->Arg(16)->Arg(32);

// The allocation-free form, in place.
void BM_Ff1EncryptTo16DigitsInPlace(benchmark::State& state) {
  auto ff1 = Make<Ff1>(32, 10);
  const std::string tweak = "tweak-08";
  std::vector<uint16_t> x = kPan;
  for (auto _ : state) {
    if (!ff1->EncryptTo(x, tweak, x).ok()) state.SkipWithError("failed");
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ff1EncryptTo16DigitsInPlace);

// Longer inputs: 128-bit path (radix 36, 19 numerals) and bignum path
// (radix 10, 200 digits).
void BM_Ff1EncryptLong(benchmark::State& state) {
  const uint32_t radix = static_cast<uint32_t>(state.range(0));
  const size_t n = static_cast<size_t>(state.range(1));
  auto ff1 = Make<Ff1>(32, radix);
  std::vector<uint16_t> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<uint16_t>(i % radix);
  for (auto _ : state) {
    if (!ff1->EncryptTo(x, "tweak-08", x).ok()) state.SkipWithError("failed");
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ff1EncryptLong)->Args({36, 19})->Args({10, 200});

void BM_Ff3_1Encrypt16Digits(benchmark::State& state) {
  auto ff3 = Make<Ff3_1>(static_cast<size_t>(state.range(0)), 10);
  const std::string tweak = "tweak07";
  std::vector<uint16_t> x = kPan;
  for (auto _ : state) {
    auto ct = ff3->Encrypt(x, tweak);
    if (!ct.ok()) state.SkipWithError("encrypt failed");
    x = std::move(*ct);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ff3_1Encrypt16Digits)->Arg(16)->Arg(32);

void BM_Ff3_1Decrypt16Digits(benchmark::State& state) {
  auto ff3 = Make<Ff3_1>(16, 10);
  const std::string tweak = "tweak07";
  std::vector<uint16_t> x = kPan;
  for (auto _ : state) {
    auto pt = ff3->Decrypt(x, tweak);
    if (!pt.ok()) state.SkipWithError("decrypt failed");
    x = std::move(*pt);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ff3_1Decrypt16Digits);

}  // namespace
}  // namespace arca::kms::fpe

BENCHMARK_MAIN();
