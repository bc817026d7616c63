// libFuzzer target for the eligibility rule language: any bytes must parse to a rule or to an
// error with a position inside the text, and any parsed rule must evaluate against facts of
// every type without crashing, looping or leaking. Run with scripts/fuzz.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "loyalty/decision/rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using loyalty::decision::Facts;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = loyalty::decision::ParseRule(text);
  if (!parsed.rule) {
    if (parsed.error.empty() || parsed.position == 0 || parsed.position > std::max(size, loyalty::decision::kMaxRuleBytes) + 1) {
      __builtin_trap();
    }
    return 0;
  }
  // The same names as numbers, flags, words and unknown: every comparison path runs.
  Facts numbers, flags, words;
  for (const auto& name : parsed.rule->facts()) {
    numbers.Set(name, static_cast<double>(name.size()) - 3.5);
    flags.Set(name, name.size() % 2 == 0);
    words.Set(name, name);
  }
  const bool a = parsed.rule->Evaluate(numbers);
  const bool b = parsed.rule->Evaluate(flags);
  const bool c = parsed.rule->Evaluate(words);
  const bool d = parsed.rule->Evaluate(Facts());
  // Evaluation is deterministic.
  if (a != parsed.rule->Evaluate(numbers) || b != parsed.rule->Evaluate(flags) || c != parsed.rule->Evaluate(words) ||
      d != parsed.rule->Evaluate(Facts())) {
    __builtin_trap();
  }
  return 0;
}
