#pragma once
// Eligibility rules: a small, safe language over a member's facts (features, scores, segment,
// tier, consents) and the decision's context, e.g.
//
//   churn_risk > 0.6 and days_since_redemption > 30 and not open_ticket
//   segment in ("at_risk", "hibernating") or (tier == "gold" and channel != "sms")
//
// Grammar: `or`, `and`, `not`, parentheses; comparisons `< <= > >= == !=` between a fact and
// a number, a quoted string, true or false (either side may be the fact); `fact in (v, ...)`;
// a fact alone tests that it is set and true (a non-zero number, a non-empty string).
// Keywords are lower case. An empty rule matches everyone.
//
// Safety: parsing bounds the text (4,096 bytes), the nesting (32 levels) and the node count
// (512), so evaluation is a bounded walk that cannot loop, recurse deeply or allocate. A fact
// that is missing or of another type makes its comparison false (and `not` of it true).
//
// This header depends on the standard library only (the fuzzer builds it with clang alone).
// Rule is an immutable value: safe to share between threads.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace loyalty::decision {

// A fact's value: unknown, a number, a flag or a word.
using FactValue = std::variant<std::monostate, double, bool, std::string>;

// The facts a rule reads, by name. Not thread-safe for writing; reading is.
class Facts {
 public:
  void Set(std::string name, FactValue value) { values_[std::move(name)] = std::move(value); }
  // nullptr when the fact is not set.
  const FactValue* Find(std::string_view name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, FactValue, std::less<>>& all() const { return values_; }

 private:
  std::map<std::string, FactValue, std::less<>> values_;
};

inline constexpr size_t kMaxRuleBytes = 4096;
inline constexpr int kMaxRuleDepth = 32;
inline constexpr size_t kMaxRuleNodes = 512;

class Rule {
 public:
  // Matches everyone.
  Rule() = default;

  bool Evaluate(const Facts& facts) const;
  // The facts the rule reads, sorted, each once.
  const std::vector<std::string>& facts() const { return names_; }
  const std::string& text() const { return text_; }
  bool empty() const { return nodes_.empty(); }

 private:
  friend class RuleParser;
  enum class Op : uint8_t { kOr, kAnd, kNot, kTruthy, kLess, kLessEq, kGreater, kGreaterEq, kEq, kNotEq, kIn };
  struct Operand {
    bool is_fact = false;
    uint16_t fact = 0;  // index into names_ when is_fact
    FactValue literal;
  };
  struct Node {
    Op op = Op::kTruthy;
    uint16_t left = 0;   // child node (kOr, kAnd, kNot) or first operand (comparisons, kIn, kTruthy)
    uint16_t right = 0;  // child node (kOr, kAnd) or second operand (comparisons)
    uint16_t count = 0;  // kIn: the operands left+1 .. left+count are the list
  };
  bool Eval(uint16_t node, const Facts& facts) const;
  const FactValue* Resolve(const Operand& operand, const Facts& facts) const;

  std::string text_;
  std::vector<Node> nodes_;  // root last
  std::vector<Operand> operands_;
  std::vector<std::string> names_;
};

struct RuleParse {
  std::optional<Rule> rule;  // set on success
  size_t position = 0;       // 1-based byte offset of the problem
  std::string error;         // e.g. "expected a value after '>'"
};

RuleParse ParseRule(std::string_view text);

}  // namespace loyalty::decision
