// Data-driven ledger scenarios: each file in scenarios/ is a program, a timeline of commands
// and the results they must produce. A behaviour case is a text file, not code.
//
// Format, one command per line ('#' starts a comment):
//   program            followed by TOML lines up to "end": the [program] section
//   at TIME            move the clock (it never moves by itself)
//   member ID          create a member
//   reward ID POINTS [STOCK]
//   earn M ORDER SKU:CATEGORY:QTY:PRICE...   bonus M N   adjust M N   redeem M REWARD [QTY]
//   redeem-points M N  return M ORDER [SKU:QTY...]   expire   tiers [M]
//   balance M          tier M   liability
// A command may take key=K (default: a key unique to the line) and end with expectations:
//   => field value ...     fields of the result's JSON ("balance 20", "tier Gold")
//   => error CODE          the command must fail with this error code name
// After every command the ledger's invariants are verified.

#include <fstream>
#include <sstream>

#include "ledger_fixture.hpp"
#include "loyalty/core/config.hpp"
#include "loyalty/ledger/json.hpp"

namespace loyalty::ledger::testing {
namespace {

using core::Json;

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Parses "SKU:CATEGORY:QTY:PRICE" in EUR.
OrderLine Line(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string p; std::getline(in, p, ':');) parts.push_back(p);
  if (parts.size() != 4) throw std::runtime_error("bad order line " + text);
  return {parts[0], parts[1], std::stoll(parts[2]), Eur(parts[3])};
}

class Scenario {
 public:
  explicit Scenario(std::filesystem::path file) : file_(std::move(file)) {}

  void Run() {
    std::ifstream in(file_);
    ASSERT_TRUE(in) << file_;
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      auto words = Words(line);
      if (words.empty()) continue;
      const std::string where = file_.filename().string() + ":" + std::to_string(line_no);
      if (words[0] == "program") {
        std::string toml = "[program]\n";
        while (std::getline(in, line) && line != "end") {
          ++line_no;
          toml += line + "\n";
        }
        ++line_no;
        auto config = core::ParseTomlConfig(toml, where);
        ASSERT_TRUE(config) << config.error().message;
        auto program = ParseProgramConfig((*config)["program"]);
        ASSERT_TRUE(program) << where << ": " << program.error().message;
        program_ = *program;
        continue;
      }
      if (!ledger_) Open(where);
      ASSERT_NO_FATAL_FAILURE(Execute(words, where, line_no));
      auto report = ledger_->VerifyInvariants();
      ASSERT_TRUE(report && report->ok) << where << ": invariants broken after this line";
    }
  }

 private:
  void Open(const std::string& where) {
    auto db = store_.Open();
    ASSERT_TRUE(db) << where << ": " << db.error().message;
    db_ = std::move(*db);
    auto ledger = Ledger::Open(*db_, program_, clock_);
    ASSERT_TRUE(ledger) << where << ": " << ledger.error().message;
    ledger_ = std::move(*ledger);
  }

  template <typename R>
  static Result<Json> AsJson(const Result<R>& r) {
    if (!r) return std::unexpected(r.error());
    return Json(*r);
  }

  Result<Json> Dispatch(const std::vector<std::string>& a, const core::IdempotencyKey& key) {
    const std::string& cmd = a[0];
    auto arg = [&](size_t i) -> const std::string& {
      if (i >= a.size()) throw std::runtime_error(cmd + " needs more arguments");
      return a[i];
    };
    if (cmd == "at") {
      clock_.Set(At(arg(1)));
      return Json::object();
    }
    if (cmd == "member") {
      LOYALTY_TRY(ledger_->CreateMember(Member(arg(1))));
      return Json::object();
    }
    if (cmd == "reward") {
      std::optional<int64_t> stock;
      if (a.size() > 3) stock = std::stoll(a[3]);
      LOYALTY_TRY(ledger_->UpsertReward({RewardRef(arg(1)), arg(1), core::Points(std::stoll(arg(2))), stock}));
      return Json::object();
    }
    if (cmd == "earn") {
      EarnCommand c{key, Member(arg(1)), Order(arg(2)), {}, std::nullopt};
      for (size_t i = 3; i < a.size(); ++i) c.lines.push_back(Line(a[i]));
      return AsJson(ledger_->Earn(c));
    }
    if (cmd == "bonus") return AsJson(ledger_->Bonus({key, Member(arg(1)), core::Points(std::stoll(arg(2))), "scenario", "test"}));
    if (cmd == "adjust") return AsJson(ledger_->Adjust({key, Member(arg(1)), core::Points(std::stoll(arg(2))), "scenario", "test"}));
    if (cmd == "redeem") {
      return AsJson(ledger_->RedeemReward({key, Member(arg(1)), RewardRef(arg(2)), a.size() > 3 ? std::stoll(a[3]) : 1}));
    }
    if (cmd == "redeem-points") return AsJson(ledger_->RedeemPoints({key, Member(arg(1)), core::Points(std::stoll(arg(2)))}));
    if (cmd == "return") {
      ReturnCommand c{key, Member(arg(1)), Order(arg(2)), {}};
      for (size_t i = 3; i < a.size(); ++i) {
        const size_t colon = a[i].rfind(':');
        c.lines.push_back({a[i].substr(0, colon), std::stoll(a[i].substr(colon + 1))});
      }
      return AsJson(ledger_->Return(c));
    }
    if (cmd == "expire") return AsJson(ledger_->Expire({key}));
    if (cmd == "tiers") {
      std::optional<core::MemberId> member;
      if (a.size() > 1) member = Member(a[1]);
      return AsJson(ledger_->EvaluateTiers({key, member}));
    }
    if (cmd == "balance") return AsJson(ledger_->GetBalance(Member(arg(1))));
    if (cmd == "tier") return AsJson(ledger_->GetTier(Member(arg(1))));
    if (cmd == "liability") return AsJson(ledger_->GetLiability());
    throw std::runtime_error("unknown scenario command '" + cmd + "'");
  }

  void Execute(std::vector<std::string> words, const std::string& where, int line_no) {
    std::vector<std::string> expect;
    if (auto arrow = std::find(words.begin(), words.end(), "=>"); arrow != words.end()) {
      expect.assign(arrow + 1, words.end());
      words.erase(arrow, words.end());
    }
    core::IdempotencyKey key = Key("line-" + std::to_string(line_no));
    std::erase_if(words, [&](const std::string& w) {
      if (w.rfind("key=", 0) != 0) return false;
      key = Key(w.substr(4));
      return true;
    });
    Result<Json> result = [&]() -> Result<Json> {
      try {
        return Dispatch(words, key);
      } catch (const std::exception& e) {
        ADD_FAILURE() << where << ": " << e.what();
        return Json::object();
      }
    }();
    if (!expect.empty() && expect[0] == "error") {
      ASSERT_FALSE(result) << where << ": expected error " << expect.at(1) << ", got " << result->dump();
      EXPECT_EQ(core::ErrorCodeName(result.error().code), expect.at(1)) << where << ": " << result.error().message;
      return;
    }
    ASSERT_TRUE(result) << where << ": " << result.error().message;
    ASSERT_EQ(expect.size() % 2, 0u) << where << ": expectations come in field/value pairs";
    for (size_t i = 0; i < expect.size(); i += 2) {
      const std::string& field = expect[i];
      ASSERT_TRUE(result->contains(field)) << where << ": no field '" << field << "' in " << result->dump();
      const Json& got = (*result)[field];
      const std::string text = got.is_string() ? got.get<std::string>() : got.dump();
      EXPECT_EQ(text, expect[i + 1]) << where << ": field '" << field << "' in " << result->dump();
    }
  }

  std::filesystem::path file_;
  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{At("2026-01-01")};
  ProgramConfig program_ = DefaultProgramConfig();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Ledger> ledger_;
};

class ScenarioTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(ScenarioTest, RunsAsWritten) { Scenario(GetParam()).Run(); }

std::vector<std::filesystem::path> ScenarioFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(LOYALTY_SCENARIO_DIR)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

INSTANTIATE_TEST_SUITE_P(Ledger, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()),
                         [](const auto& param_info) {
                           std::string name = param_info.param.stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace loyalty::ledger::testing
