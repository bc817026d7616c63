#pragma once
// The benchmark process's resident memory, read from /proc (Linux).

#include <unistd.h>

#include <cstdint>
#include <cstdio>

namespace loyalty::bench {

inline int64_t ResidentBytes() {
  long pages = 0, resident = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr || std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  if (f != nullptr) std::fclose(f);
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

}  // namespace loyalty::bench
