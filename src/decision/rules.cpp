#include "loyalty/decision/rules.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace loyalty::decision {

namespace {

enum class Tok { kEnd, kIdent, kNumber, kString, kTrue, kFalse, kAnd, kOr, kNot, kIn, kLParen, kRParen, kComma, kCmp };

struct Token {
  Tok kind = Tok::kEnd;
  size_t position = 0;  // 0-based
  std::string_view text;
  double number = 0;
  std::string string;
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '.'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// Recursive descent over the token stream; every recursion passes through Nest(), which
// bounds the depth.
class RuleParser {
 public:
  explicit RuleParser(std::string_view text) : text_(text) {}

  RuleParse Run() {
    RuleParse out;
    if (text_.size() > kMaxRuleBytes) {
      out.position = kMaxRuleBytes + 1;
      out.error = "the rule is longer than " + std::to_string(kMaxRuleBytes) + " bytes";
      return out;
    }
    rule_.text_ = std::string(text_);
    if (!Next()) return Failure();
    if (token_.kind == Tok::kEnd) {
      out.rule = std::move(rule_);
      return out;
    }
    if (!ParseOr()) return Failure();
    if (token_.kind != Tok::kEnd) {
      Error(token_.position, "unexpected '" + std::string(token_.text) + "': join conditions with 'and' or 'or'");
      return Failure();
    }
    Finish();
    out.rule = std::move(rule_);
    return out;
  }

 private:
  using Op = Rule::Op;

  RuleParse Failure() const {
    RuleParse out;
    out.position = error_position_ + 1;
    out.error = error_;
    return out;
  }

  bool Error(size_t position, std::string message) {
    if (error_.empty()) {
      error_position_ = position;
      error_ = std::move(message);
    }
    return false;
  }

  bool Next() {
    size_t i = pos_;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) ++i;
    token_ = Token{};
    token_.position = i;
    if (i >= text_.size()) {
      pos_ = i;
      token_.kind = Tok::kEnd;
      token_.text = "end of rule";
      return true;
    }
    const char c = text_[i];
    size_t end = i + 1;
    if (IsIdentStart(c)) {
      while (end < text_.size() && IsIdentChar(text_[end])) ++end;
      token_.text = text_.substr(i, end - i);
      if (token_.text.size() > 64) return Error(i, "a fact name has at most 64 characters");
      token_.kind = token_.text == "and"     ? Tok::kAnd
                    : token_.text == "or"    ? Tok::kOr
                    : token_.text == "not"   ? Tok::kNot
                    : token_.text == "in"    ? Tok::kIn
                    : token_.text == "true"  ? Tok::kTrue
                    : token_.text == "false" ? Tok::kFalse
                                             : Tok::kIdent;
    } else if (IsDigit(c) || ((c == '-' || c == '.') && i + 1 < text_.size() && (IsDigit(text_[i + 1]) || text_[i + 1] == '.'))) {
      while (end < text_.size() && (IsDigit(text_[end]) || text_[end] == '.' || text_[end] == 'e' || text_[end] == 'E' ||
                                    ((text_[end] == '-' || text_[end] == '+') && (text_[end - 1] == 'e' || text_[end - 1] == 'E')))) {
        ++end;
      }
      token_.text = text_.substr(i, end - i);
      const char* first = text_.data() + i;
      const char* last = text_.data() + end;
      auto [ptr, ec] = std::from_chars(first, last, token_.number);
      if (ec != std::errc() || ptr != last || !std::isfinite(token_.number)) {
        return Error(i, "'" + std::string(token_.text) + "' is not a number");
      }
      token_.kind = Tok::kNumber;
    } else if (c == '"' || c == '\'') {
      std::string value;
      bool closed = false;
      while (end < text_.size()) {
        char d = text_[end++];
        if (d == c) {
          closed = true;
          break;
        }
        if (d == '\\' && end < text_.size()) d = text_[end++];
        value.push_back(d);
      }
      if (!closed) return Error(i, "the quoted text has no closing " + std::string(1, c));
      if (value.size() > 256) return Error(i, "quoted text has at most 256 characters");
      token_.kind = Tok::kString;
      token_.text = text_.substr(i, end - i);
      token_.string = std::move(value);
    } else if (c == '(' || c == ')' || c == ',') {
      token_.kind = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
      token_.text = text_.substr(i, 1);
    } else if (c == '<' || c == '>' || c == '=' || c == '!') {
      if (end < text_.size() && text_[end] == '=') ++end;
      token_.text = text_.substr(i, end - i);
      if (token_.text == "=" || token_.text == "!") {
        return Error(i, "'" + std::string(token_.text) + "' is not an operator: use == or != (or 'not')");
      }
      token_.kind = Tok::kCmp;
    } else {
      return Error(i, "unexpected character '" + std::string(1, c) + "'");
    }
    pos_ = end;
    return true;
  }

  bool Nest() {
    if (++depth_ > kMaxRuleDepth) return Error(token_.position, "the rule nests deeper than " + std::to_string(kMaxRuleDepth) + " levels");
    return true;
  }

  bool AddNode(Rule::Node node, uint16_t& index) {
    if (rule_.nodes_.size() >= kMaxRuleNodes) return Error(token_.position, "the rule has too many conditions");
    index = static_cast<uint16_t>(rule_.nodes_.size());
    rule_.nodes_.push_back(node);
    return true;
  }

  bool AddOperand(Rule::Operand operand, uint16_t& index) {
    if (rule_.operands_.size() >= kMaxRuleNodes) return Error(token_.position, "the rule has too many values");
    index = static_cast<uint16_t>(rule_.operands_.size());
    rule_.operands_.push_back(std::move(operand));
    return true;
  }

  // The node index of the last parsed expression is in last_.
  bool ParseOr() {
    if (!Nest()) return false;
    if (!ParseAnd()) return false;
    while (token_.kind == Tok::kOr) {
      const uint16_t left = last_;
      if (!Next() || !ParseAnd()) return false;
      if (!AddNode({Op::kOr, left, last_, 0}, last_)) return false;
    }
    --depth_;
    return true;
  }

  bool ParseAnd() {
    if (!ParseNot()) return false;
    while (token_.kind == Tok::kAnd) {
      const uint16_t left = last_;
      if (!Next() || !ParseNot()) return false;
      if (!AddNode({Op::kAnd, left, last_, 0}, last_)) return false;
    }
    return true;
  }

  bool ParseNot() {
    if (token_.kind == Tok::kNot) {
      if (!Nest() || !Next() || !ParseNot()) return false;
      --depth_;
      return AddNode({Op::kNot, last_, 0, 0}, last_);
    }
    return ParseCondition();
  }

  bool ParseOperand(Rule::Operand& operand, std::string_view after) {
    switch (token_.kind) {
      case Tok::kIdent:
        operand.is_fact = true;
        operand.fact = InternName(token_.text);
        break;
      case Tok::kNumber: operand.literal = token_.number; break;
      case Tok::kString: operand.literal = token_.string; break;
      case Tok::kTrue: operand.literal = true; break;
      case Tok::kFalse: operand.literal = false; break;
      default:
        return Error(token_.position, after.empty() ? "expected a condition, found " + Describe()
                                                    : "expected a value after '" + std::string(after) + "', found " + Describe());
    }
    return Next();
  }

  std::string Describe() const {
    return token_.kind == Tok::kEnd ? std::string("the end of the rule") : "'" + std::string(token_.text) + "'";
  }

  bool ParseCondition() {
    if (token_.kind == Tok::kLParen) {
      const size_t open = token_.position;
      if (!Next() || !ParseOr()) return false;
      if (token_.kind != Tok::kRParen) return Error(open, "this '(' is not closed");
      return Next();
    }
    const size_t start = token_.position;
    Rule::Operand left;
    if (!ParseOperand(left, "")) return false;
    if (token_.kind == Tok::kCmp) {
      const std::string op_text(token_.text);
      const Op op = op_text == "<"    ? Op::kLess
                    : op_text == "<=" ? Op::kLessEq
                    : op_text == ">"  ? Op::kGreater
                    : op_text == ">=" ? Op::kGreaterEq
                    : op_text == "==" ? Op::kEq
                                      : Op::kNotEq;
      if (!Next()) return false;
      Rule::Operand right;
      if (!ParseOperand(right, op_text)) return false;
      if (!left.is_fact && !right.is_fact) return Error(start, "a comparison needs a fact on one side");
      uint16_t a = 0, b = 0;
      if (!AddOperand(std::move(left), a) || !AddOperand(std::move(right), b)) return false;
      return AddNode({op, a, b, 0}, last_);
    }
    if (token_.kind == Tok::kIn) {
      if (!left.is_fact) return Error(start, "'in' needs a fact on its left");
      if (!Next()) return false;
      if (token_.kind != Tok::kLParen) return Error(token_.position, "expected '(' after 'in', found " + Describe());
      uint16_t first = 0;
      if (!AddOperand(std::move(left), first)) return false;
      uint16_t count = 0;
      if (!Next()) return false;
      while (true) {
        Rule::Operand item;
        if (token_.kind == Tok::kIdent) return Error(token_.position, "the list after 'in' holds values, not facts");
        if (!ParseOperand(item, count == 0 ? "(" : ",")) return false;
        uint16_t ignored = 0;
        if (!AddOperand(std::move(item), ignored)) return false;
        ++count;
        if (token_.kind == Tok::kRParen) break;
        if (token_.kind != Tok::kComma) return Error(token_.position, "expected ',' or ')' in the list, found " + Describe());
        if (!Next()) return false;
      }
      if (!Next()) return false;
      return AddNode({Op::kIn, first, 0, count}, last_);
    }
    if (!left.is_fact) return Error(start, "a value alone is not a condition: compare it with a fact");
    uint16_t a = 0;
    if (!AddOperand(std::move(left), a)) return false;
    return AddNode({Op::kTruthy, a, 0, 0}, last_);
  }

  uint16_t InternName(std::string_view name) {
    for (size_t i = 0; i < rule_.names_.size(); ++i) {
      if (rule_.names_[i] == name) return static_cast<uint16_t>(i);
    }
    rule_.names_.emplace_back(name);
    return static_cast<uint16_t>(rule_.names_.size() - 1);
  }

  // Sorts the fact names and renumbers the operands that refer to them.
  void Finish() {
    std::vector<std::string> sorted = rule_.names_;
    std::sort(sorted.begin(), sorted.end());
    std::vector<uint16_t> remap(rule_.names_.size());
    for (size_t i = 0; i < rule_.names_.size(); ++i) {
      remap[i] = static_cast<uint16_t>(std::lower_bound(sorted.begin(), sorted.end(), rule_.names_[i]) - sorted.begin());
    }
    for (auto& operand : rule_.operands_) {
      if (operand.is_fact) operand.fact = remap[operand.fact];
    }
    rule_.names_ = std::move(sorted);
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token token_;
  int depth_ = 0;
  uint16_t last_ = 0;
  size_t error_position_ = 0;
  std::string error_;
  Rule rule_;
};

RuleParse ParseRule(std::string_view text) { return RuleParser(text).Run(); }

const FactValue* Rule::Resolve(const Operand& operand, const Facts& facts) const {
  if (!operand.is_fact) return &operand.literal;
  return facts.Find(names_[operand.fact]);
}

namespace {

bool Truthy(const FactValue* value) {
  if (value == nullptr) return false;
  if (const double* d = std::get_if<double>(value)) return *d != 0 && !std::isnan(*d);
  if (const bool* b = std::get_if<bool>(value)) return *b;
  if (const std::string* s = std::get_if<std::string>(value)) return !s->empty();
  return false;
}

bool Equal(const FactValue* a, const FactValue* b) {
  if (a == nullptr || b == nullptr || a->index() != b->index() || std::holds_alternative<std::monostate>(*a)) return false;
  return *a == *b;
}

}  // namespace

bool Rule::Eval(uint16_t index, const Facts& facts) const {
  const Node& node = nodes_[index];
  switch (node.op) {
    case Op::kOr: return Eval(node.left, facts) || Eval(node.right, facts);
    case Op::kAnd: return Eval(node.left, facts) && Eval(node.right, facts);
    case Op::kNot: return !Eval(node.left, facts);
    case Op::kTruthy: return Truthy(Resolve(operands_[node.left], facts));
    case Op::kEq: return Equal(Resolve(operands_[node.left], facts), Resolve(operands_[node.right], facts));
    case Op::kNotEq: {
      const FactValue* a = Resolve(operands_[node.left], facts);
      const FactValue* b = Resolve(operands_[node.right], facts);
      // Unknown facts compare false either way: "tier != 'gold'" does not hold for a member
      // whose tier is unknown.
      if (a == nullptr || b == nullptr || std::holds_alternative<std::monostate>(*a) ||
          std::holds_alternative<std::monostate>(*b) || a->index() != b->index()) {
        return false;
      }
      return *a != *b;
    }
    case Op::kIn: {
      const FactValue* value = Resolve(operands_[node.left], facts);
      for (uint16_t i = 1; i <= node.count; ++i) {
        if (Equal(value, &operands_[node.left + i].literal)) return true;
      }
      return false;
    }
    case Op::kLess:
    case Op::kLessEq:
    case Op::kGreater:
    case Op::kGreaterEq: {
      const FactValue* a = Resolve(operands_[node.left], facts);
      const FactValue* b = Resolve(operands_[node.right], facts);
      const double* x = a ? std::get_if<double>(a) : nullptr;
      const double* y = b ? std::get_if<double>(b) : nullptr;
      if (x == nullptr || y == nullptr) return false;  // NaN compares false below, too
      switch (node.op) {
        case Op::kLess: return *x < *y;
        case Op::kLessEq: return *x <= *y;
        case Op::kGreater: return *x > *y;
        default: return *x >= *y;
      }
    }
  }
  return false;
}

bool Rule::Evaluate(const Facts& facts) const {
  if (nodes_.empty()) return true;
  return Eval(static_cast<uint16_t>(nodes_.size() - 1), facts);
}

}  // namespace loyalty::decision
