// `loyalty clv fit` and `loyalty churn fit` run as a user would.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "cli/cli_fixture.hpp"
#include "support/shared_data.hpp"

namespace loyalty::cli {
namespace {

class ModelsCliTest : public CliTest {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path) << content;
    return path.string();
  }
};

TEST_F(ModelsCliTest, ClvFitReproducesCdnowFromACsv) {
  SKIP_WITHOUT_SHARED_DATA("cdnow/CDNOW_sample.txt");
  // The 1/10 sample has no header; write it as the CSV the command documents.
  std::ifstream in(testing::SharedData("cdnow/CDNOW_sample.txt"));
  std::ofstream csv(dir_ / "cdnow.csv");
  csv << "customer_id,date,cds,amount\n";
  std::string master, id, date, cds, dollars;
  while (in >> master >> id >> date >> cds >> dollars) csv << id << "," << date << "," << cds << "," << dollars << "\n";
  csv.close();
  auto out = LoyaltyJson("clv fit --transactions " + (dir_ / "cdnow.csv").string() +
                         " --calibration-end 1997-09-30 --holdout-end 1998-06-30");
  EXPECT_EQ(out["customers"], 2357);
  const auto& bg = out["bgnbd"];
  EXPECT_EQ(bg["converged"], true);
  EXPECT_NEAR(bg["params"]["r"].get<double>(), 0.243, 0.0005);
  EXPECT_NEAR(bg["params"]["alpha"].get<double>(), 4.414, 0.0005);
  EXPECT_NEAR(bg["params"]["a"].get<double>(), 0.793, 0.0005);
  EXPECT_NEAR(bg["params"]["b"].get<double>(), 2.426, 0.0005);
  EXPECT_GT(bg["std_errors"]["alpha"].get<double>(), 0);
  EXPECT_NEAR(bg["log_likelihood"].get<double>(), -9582.4, 0.05);
  const auto& gg = out["gamma_gamma"];
  EXPECT_NEAR(gg["params"]["p"].get<double>(), 6.25, 0.005);
  EXPECT_NEAR(gg["params"]["q"].get<double>(), 3.74, 0.005);
  EXPECT_NEAR(gg["params"]["gamma"].get<double>(), 15.44, 0.005);
  const auto& holdout = out["holdout"];
  EXPECT_EQ(holdout["actual_total"], 1882);
  ASSERT_EQ(holdout["groups"].size(), 8u);
  EXPECT_EQ(holdout["groups"][0]["frequency"], "0");
  EXPECT_EQ(holdout["groups"][0]["customers"], 1411);

  // Days as the time unit: the same customers, alpha in days.
  auto daily = LoyaltyJson("clv fit --transactions " + (dir_ / "cdnow.csv").string() +
                           " --calibration-end 1997-09-30 --time-unit day");
  EXPECT_NEAR(daily["bgnbd"]["params"]["alpha"].get<double>() / 7, 4.414, 0.01);
  EXPECT_FALSE(daily.contains("holdout"));
}

TEST_F(ModelsCliTest, ClvFitRejectsBadFilesWithLineAndColumn) {
  const auto bad_date = Write("bad.csv", "customer_id,date,amount\nc1,2024-01-01,5\nc1,2024-02-30,5\n");
  ExpectOneLineError(Loyalty("clv fit --transactions " + bad_date + " --calibration-end 2024-06-30"), 2,
                     "line 3, column 2 (date)");
  const auto no_amount = Write("no_amount.csv", "customer_id,date\nc1,2024-01-01\n");
  ExpectOneLineError(Loyalty("clv fit --transactions " + no_amount + " --calibration-end 2024-06-30"), 2,
                     "needs an amount column");
  ExpectOneLineError(Loyalty("clv fit --transactions " + (dir_ / "missing.csv").string() + " --calibration-end 2024-06-30"),
                     2, "cannot open");
  const auto ok = Write("ok.csv", "customer_id,date,amount\nc1,2024-01-01,5\nc1,2024-01-09,5\nc2,2024-01-03,4\n");
  ExpectOneLineError(Loyalty("clv fit --transactions " + ok + " --calibration-end 2024-13-30"), 2, "--calibration-end");
  ExpectOneLineError(Loyalty("clv fit --transactions " + ok + " --calibration-end 2023-12-30"), 2,
                     "no customer made a first purchase");
  ExpectOneLineError(Loyalty("clv fit --transactions " + ok + " --calibration-end 2024-06-30 --holdout-end 2024-01-01"),
                     2, "holdout end must come after");
}

TEST_F(ModelsCliTest, ChurnFitCrossValidatesTheTelcoTable) {
  SKIP_WITHOUT_SHARED_DATA("telco_churn/Telco-Customer-Churn.csv");
  auto out = LoyaltyJson("churn fit --csv " + testing::SharedData("telco_churn/Telco-Customer-Churn.csv").string() +
                         " --label Churn --positive Yes --id customerID --folds 5");
  EXPECT_EQ(out["rows"], 7043);
  EXPECT_GE(out["metrics"]["roc_auc"].get<double>(), 0.84);
  for (const char* key : {"pr_auc", "log_loss", "brier"}) EXPECT_TRUE(out["metrics"].contains(key)) << key;
  ASSERT_FALSE(out["top_features"].empty());
  EXPECT_EQ(out["top_features"][0]["feature"], "Contract");
  EXPECT_EQ(out["per_fold"].size(), 5u);
}

TEST_F(ModelsCliTest, ChurnFitRejectsBadTables) {
  const auto ragged = Write("ragged.csv", "a,y\r\n1,1\r\n2\r\n3,0\r\n");
  ExpectOneLineError(Loyalty("churn fit --csv " + ragged + " --label y --positive 1"), 2,
                     "line 3: 1 columns, the header has 2");
  const auto ok = Write("ok.csv", "a,y\n1,1\n2,0\n3,1\n4,0\n");
  ExpectOneLineError(Loyalty("churn fit --csv " + ok + " --label churn --positive 1"), 2, "no column named 'churn'");
  ExpectOneLineError(Loyalty("churn fit --csv " + ok + " --label y --positive yes"), 2, "check --positive");
  ExpectOneLineError(Loyalty("churn fit --csv " + ok + " --label y --positive 1 --folds 9"), 2,
                     "--folds must be between 2 and the number of rows");
  CliRun missing = Loyalty("churn fit --csv " + ok);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("--label"), std::string::npos) << missing.err;
}

TEST_F(ModelsCliTest, TrainScoreAndManageModelsOnTheProgram) {
  ExpectOneLineError(Loyalty("--now 2026-01-01 train --model churn"), 5, "not enough history to train churn");
  ExpectOneLineError(Loyalty("models rollback --kind churn"), 3, "no churn model has been trained");
  ExpectOneLineError(Loyalty("breakage"), 3, "loyalty train --model breakage");
  ASSERT_EQ(Loyalty("simulate --members 600 --seed 3 --start 2025-01-01 --out " + (dir_ / "sim").string()).exit_code, 0);
  ASSERT_EQ(Loyalty("import members " + (dir_ / "sim" / "members.csv").string()).exit_code, 0);
  ASSERT_EQ(Loyalty("import events " + (dir_ / "sim" / "events.ndjson").string()).exit_code, 0);
  auto trained = LoyaltyJson("--now 2026-01-01 train");
  EXPECT_EQ(trained["churn"]["model_version"], "churn@1");
  EXPECT_EQ(trained["clv"]["model_version"], "clv@1");
  EXPECT_GT(trained["churn"]["model"]["roc_auc"].get<double>(), 0.6);
  EXPECT_EQ(trained["breakage"]["model_version"], "breakage@1");
  EXPECT_EQ(trained["kept"]["kept"].size(), 2u);  // churn and clv predictions kept for later checking
  const CliRun accuracy = Loyalty("--now 2026-01-01 models accuracy --kind churn");
  ASSERT_EQ(accuracy.exit_code, 0) << accuracy.err;
  EXPECT_NE(accuracy.out.find("checkable from 2026-03-02"), std::string::npos) << accuracy.out;
  const CliRun back = Loyalty("--now 2026-01-01 models keep --at 2025-10-01");
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_NE(LoyaltyJson("--now 2026-01-01 models accuracy --kind churn")["snapshots"][0]["matured"], false);
  ExpectOneLineError(Loyalty("--now 2026-01-01 models keep --at 2027-01-01"), 2, "not later");
  const CliRun breakage = Loyalty("--now 2026-01-01 breakage --months 3 --draws 20");
  ASSERT_EQ(breakage.exit_code, 0) << breakage.err;
  EXPECT_NE(breakage.out.find("will never be redeemed"), std::string::npos) << breakage.out;
  EXPECT_NE(breakage.out.find("\n    3  "), std::string::npos) << breakage.out;
  ExpectOneLineError(Loyalty("--now 2026-01-01 breakage --months 0"), 2, "horizon must be 1 to 120 months");
  const CliRun text = Loyalty("--now 2026-01-01 train --model churn --seed 9 --actor analyst");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("churn@2"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("for the recency rule"), std::string::npos) << text.out;

  auto list = LoyaltyJson("models list --kind churn");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["aliases"][0], "challenger");
  EXPECT_EQ(LoyaltyJson("models promote --kind churn --version 2")["name"], "churn@2");
  EXPECT_EQ(LoyaltyJson("models rollback --kind churn")["name"], "churn@1");
  ExpectOneLineError(Loyalty("models promote --kind churn --version 7"), 3, "no model churn@7");

  // Scores of a customer (the first member the simulation shows buying), in words.
  std::string member;
  std::ifstream events(dir_ / "sim" / "events.ndjson");
  for (std::string line; member.empty() && std::getline(events, line);) {
    const auto event = core::ParseJson(line);
    if (event && (*event)["type"] == "purchase") member = (*event)["member"];
  }
  ASSERT_FALSE(member.empty());
  const CliRun scores = Loyalty("--now 2026-01-01 scores --member " + member);
  EXPECT_NE(scores.out.find("churn risk"), std::string::npos) << scores.out;
  EXPECT_NE(scores.out.find("CLV over 12 months"), std::string::npos) << scores.out;
  EXPECT_NE(scores.out.find("next purchase in about"), std::string::npos) << scores.out;
  auto what_if = LoyaltyJson("--now 2026-01-01 what-if --member " + member + " --set recency_days=1 --set visits_30d=5");
  EXPECT_EQ(what_if["overrides"]["recency_days"], 1.0);
  ExpectOneLineError(Loyalty("--now 2026-01-01 what-if --member " + member + " --set recency_days"), 2, "feature=value");
  ExpectOneLineError(Loyalty("--now 2026-01-01 what-if --member " + member + " --set mood=3"), 2, "'mood' is not a feature");
}

// The continuous phase: a timer's `models retrain --when-due` does nothing before the phase
// or before the schedule; in it, a retrained churn model is compared with the champion on the
// same held-out members and promoted only when every guardrail holds; each run is audited.
TEST_F(ModelsCliTest, TheContinuousPhaseRetrainsOnScheduleAndPromotesOnlyPastItsGuardrails) {
  ASSERT_EQ(Loyalty("simulate --members 600 --seed 3 --start 2025-01-01 --out " + (dir_ / "sim").string()).exit_code, 0);
  ASSERT_EQ(Loyalty("import members " + (dir_ / "sim" / "members.csv").string()).exit_code, 0);
  ASSERT_EQ(Loyalty("import events " + (dir_ / "sim" / "events.ndjson").string()).exit_code, 0);

  const CliRun early = Loyalty("--now 2026-01-01 models retrain --when-due");
  ASSERT_EQ(early.exit_code, 0) << early.err;
  EXPECT_NE(early.out.find("runs in the continuous phase; the program is in 'limited'"), std::string::npos) << early.out;
  EXPECT_TRUE(LoyaltyJson("models list --kind churn").empty());

  ExpectOneLineError(Loyalty("automation set --phase continuous"), 106, "--reason is required");
  const CliRun moved = Loyalty("--now 2026-01-01 automation set --phase continuous --reason \"retrain weekly\" --actor maria");
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_NE(moved.out.find("phase continuous"), std::string::npos) << moved.out;
  const auto first = LoyaltyJson("--now 2026-01-01 models retrain --when-due");
  EXPECT_EQ(first["model_version"], "churn@1");
  EXPECT_TRUE(first["promoted"].get<bool>());  // the first of its kind is the champion already
  EXPECT_EQ(LoyaltyJson("--now 2026-01-03 models retrain --when-due")["retrained"], false);  // not due for a week

  // A guardrail no model can pass: the retrained model stays the challenger.
  ASSERT_EQ(Loyalty("automation set --phase continuous --min-auc 1 --reason strict").exit_code, 0);
  const auto strict = LoyaltyJson("--now 2026-01-09 models retrain --when-due");
  EXPECT_EQ(strict["model_version"], "churn@2");
  EXPECT_FALSE(strict["promoted"].get<bool>());
  EXPECT_NE(strict["held_back"].get<std::string>().find("a guardrail failed"), std::string::npos);
  std::set<std::string> checks;
  for (const auto& c : strict["checks"]) checks.insert(c["check"].get<std::string>());
  EXPECT_EQ(checks, (std::set<std::string>{"min_auc", "beats_recency_rule", "max_auc_drop", "max_brier_rise"}));
  EXPECT_EQ(strict["report"]["champion_on_holdout"]["version"], "churn@1");
  EXPECT_EQ(LoyaltyJson("models list --kind churn")[0]["aliases"][0], "champion");

  // Lenient guardrails: promoted exactly when every check passes.
  ASSERT_EQ(Loyalty("automation set --phase continuous --min-auc 0.5 --max-auc-drop 0.5 --max-brier-rise 0.25 --reason lenient")
                .exit_code,
            0);
  const auto lenient = LoyaltyJson("--now 2026-01-17 models retrain --when-due");
  bool passed = true;
  for (const auto& c : lenient["checks"]) passed = passed && c["passed"].get<bool>();
  EXPECT_EQ(lenient["promoted"].get<bool>(), passed) << lenient["checks"].dump();
  // One rollback undoes the lenient move only: the strict guardrail holds a manual run back.
  ASSERT_EQ(Loyalty("automation rollback --reason \"back to people\"").exit_code, 0);
  const auto manual = LoyaltyJson("--now 2026-01-17 models retrain --actor maria");
  EXPECT_FALSE(manual["promoted"].get<bool>());
  EXPECT_EQ(manual["phase"], "continuous");
  EXPECT_NE(manual["held_back"].get<std::string>().find("a guardrail failed"), std::string::npos);
  ASSERT_EQ(Loyalty("automation rollback --reason again").exit_code, 0);
  ASSERT_EQ(Loyalty("automation rollback --reason \"to the start\"").exit_code, 0);
  EXPECT_EQ(LoyaltyJson("automation show")["phase"], "limited");
  // Outside the continuous phase a person promotes, whatever the checks say.
  const auto held = LoyaltyJson("--now 2026-01-17 models retrain");
  EXPECT_FALSE(held["promoted"].get<bool>());
  bool held_passed = true;
  for (const auto& c : held["checks"]) held_passed = held_passed && c["passed"].get<bool>();
  EXPECT_NE(held["held_back"].get<std::string>().find(held_passed ? "promotion waits for a person" : "a guardrail failed"),
            std::string::npos)
      << held.dump();
  ExpectOneLineError(Loyalty("automation rollback --reason more"), 4, "no automation move is left");

  // Moves and retraining runs are in the audit trail.
  const auto audit = LoyaltyJson("audit list --limit 100");
  int moves = 0, refused_moves = 0, retrains = 0;
  for (const auto& e : audit) {
    if (e["action"].get<std::string>().starts_with("automation ")) ++(e["status"] == 200 ? moves : refused_moves);
    if (e["action"] == "models retrain") ++retrains;
  }
  EXPECT_EQ(moves, 6);
  EXPECT_EQ(refused_moves, 1);  // the rollback with nothing left to roll back
  EXPECT_EQ(retrains, 5);
  const auto by_maria = LoyaltyJson("audit list --actor maria");
  ASSERT_EQ(by_maria.size(), 2u);  // her phase move and her retraining run
  EXPECT_EQ(by_maria[0]["action"], "models retrain");
}

}  // namespace
}  // namespace loyalty::cli
