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

// A Beta(a, b) draw as the ratio of two Gamma draws (0 when both underflow).
inline double BetaDraw(std::mt19937_64& rng, double a, double b) {
  const double x = std::gamma_distribution<double>(a, 1.0)(rng);
  const double y = std::gamma_distribution<double>(b, 1.0)(rng);
  return x + y > 0 ? x / (x + y) : 0.0;
}

}  // namespace loyalty::core
