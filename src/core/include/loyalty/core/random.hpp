#pragma once
// Small pieces of randomness shared by the simulator and the models' simulations.

#include <cstdint>
#include <random>

namespace loyalty::core {

// splitmix64: turns consecutive numbers (member indexes, draw numbers) into decorrelated seeds.
inline uint64_t MixSeed(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// xoshiro256**: a small, fast generator for the draws made per decision (not for secrets).
// Seeding costs four splitmix steps, against 312 words for std::mt19937_64.
class FastRng {
 public:
  using result_type = uint64_t;
  explicit FastRng(uint64_t seed) {
    for (auto& word : state_) word = seed = MixSeed(seed);
  }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

// A Beta(a, b) draw as the ratio of two Gamma draws (0 when both underflow).
template <typename Rng>
double BetaDraw(Rng& rng, double a, double b) {
  const double x = std::gamma_distribution<double>(a, 1.0)(rng);
  const double y = std::gamma_distribution<double>(b, 1.0)(rng);
  return x + y > 0 ? x / (x + y) : 0.0;
}

}  // namespace loyalty::core
