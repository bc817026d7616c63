#include "text_cli.hpp"

#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "loyalty/models/churn.hpp"

namespace loyalty::cli {
namespace {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using Output = Result<std::pair<Json, std::string>>;

struct TextArgs {
  std::vector<std::string> labelled;
  int folds = 10;
  std::string actor = OperatorName();
  int epochs = models::SentimentTraining{}.epochs;
  std::vector<std::string> texts;
  std::string from;
  std::string to;
  std::string bucket = "week";
  int lift_folds = 5;
  int horizon_days = 60;
  std::string member;
};

Result<std::vector<models::LabelledText>> ReadLabelled(const std::vector<std::string>& files) {
  std::vector<models::LabelledText> all;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Fail(ErrorCode::kInvalidArgument, "--labeled: cannot open '" + path + "'");
    std::stringstream content;
    content << in.rdbuf();
    auto parsed = models::ParseLabelledTexts(content.str());
    if (!parsed) return core::Wrap(parsed.error(), path);
    all.insert(all.end(), std::make_move_iterator(parsed->begin()), std::make_move_iterator(parsed->end()));
  }
  return all;
}

std::string Percent(double v) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << 100 * v << "%";
  return out.str();
}

std::string ScoreLine(const std::string& text, const engine::ScoredText& scored) {
  std::ostringstream out;
  out << std::showpos << std::fixed << std::setprecision(2) << scored.sentiment.score << std::noshowpos << "  "
      << std::left << std::setw(8) << models::PolarityName(scored.sentiment.label) << "  ";
  std::string topics;
  for (const auto& match : scored.topics) topics += (topics.empty() ? "" : ",") + match.topic;
  out << std::setw(24) << (topics.empty() ? "-" : topics) << "  " << text;
  return out.str();
}

}  // namespace

void AddTextCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<TextArgs>();
  CLI::App* text = app.add_subcommand("text", "Sentiment and topics of what members write");
  text->require_subcommand(1);

  CLI::App* train = text->add_subcommand("train", "Train a fastText sentiment model on labelled texts and register it");
  train->add_option("--labeled", args->labelled, "File(s) of \"text<TAB>label\" lines (label 0/1, -1/0/1 or names)")
      ->required();
  train->add_option("--folds", args->folds, "Cross-validate first with this many folds (0: skip)")
      ->capture_default_str();
  train->add_option("--epochs", args->epochs, "Training epochs")->capture_default_str();
  train->add_option("--actor", args->actor, "Who trains (recorded as the creator)")->capture_default_str();
  train->callback([&options, &run, args] {
    run = Change(options, "text train", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto examples, ReadLabelled(args->labelled));
      models::SentimentTraining training;
      training.epochs = args->epochs;
      LOYALTY_ASSIGN_OR_RETURN(auto report,
                               context.platform().text().Train(examples, args->folds, args->actor, training));
      std::ostringstream out;
      out << "Trained " << report.version.name() << " on " << report.examples << " labelled texts";
      const bool champion = std::find(report.version.aliases.begin(), report.version.aliases.end(), "champion") !=
                            report.version.aliases.end();
      out << (champion ? " (champion: new texts are scored with it)\n"
                       : " (challenger: `loyalty models promote --kind sentiment --version " +
                             std::to_string(report.version.version) + "` to use it)\n");
      if (report.validation) {
        out << report.validation->folds << "-fold cross-validated accuracy " << Percent(report.validation->accuracy)
            << " (sd " << Percent(report.validation->accuracy_std)
            << " across folds); the built-in lexicon: " << Percent(report.validation->lexicon_accuracy) << "\n";
      }
      return std::pair{engine::ToJson(report), out.str()};
    });
  });

  CLI::App* score = text->add_subcommand("score", "Score texts (arguments, or one per line on standard input)");
  score->add_option("texts", args->texts, "Texts to score");
  score->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> Output {
      std::vector<std::string> texts = args->texts;
      if (texts.empty()) {
        for (std::string line; std::getline(std::cin, line);) {
          if (!line.empty()) texts.push_back(line);
        }
      }
      if (texts.empty()) return Fail(ErrorCode::kInvalidArgument, "give texts as arguments or one per line on stdin");
      Json results = Json::array();
      std::string lines;
      for (const std::string& one : texts) {
        LOYALTY_ASSIGN_OR_RETURN(auto scored, context.platform().text().Score(one));
        results.push_back(engine::ToJson(scored));
        results.back()["text"] = one;
        lines += ScoreLine(one, scored) + "\n";
      }
      return std::pair{Json{{"results", results}}, lines};
    });
  });

  CLI::App* lift = text->add_subcommand(
      "churn-lift", "What sentiment adds to the churn model (cross-validated ROC AUC with and without)");
  lift->add_option("--folds", args->lift_folds, "Cross-validation folds (2 to 20)")->capture_default_str();
  lift->add_option("--horizon-days", args->horizon_days, "Churned: no purchase within this many days")
      ->capture_default_str();
  lift->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> Output {
      engine::TrainOptions churn;
      churn.churn_horizon_days = args->horizon_days;
      LOYALTY_ASSIGN_OR_RETURN(auto ablation, context.platform().predictions().SentimentLift(churn, args->lift_folds));
      std::ostringstream out;
      out << std::fixed << std::setprecision(4) << "churn ROC AUC, " << ablation.folds << "-fold, " << ablation.rows
          << " customers:\n  with sentiment     " << ablation.with.roc_auc << "\n  without sentiment  "
          << ablation.without.roc_auc << "\n  gain " << std::showpos << ablation.auc_gain << " (95% CI "
          << ablation.ci_low << " to " << ablation.ci_high << ")";
      return std::pair{models::ToJson(ablation), out.str()};
    });
  });

  CLI::App* forget = text->add_subcommand("forget", "Erase a member's texts from the vault (their signals stay)");
  forget->add_option("--member", args->member, "Member id")->required();
  forget->callback([&options, &run, args] {
    run = Change(options, "text forget", [args](Context& context) -> Output {
      context.change().member = args->member;
      LOYALTY_ASSIGN_OR_RETURN(auto member, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(const int64_t erased, context.platform().text().Forget(member));
      return std::pair{Json{{"member", member.str()}, {"erased", erased}},
                       "erased " + std::to_string(erased) + " texts of " + member.str()};
    });
  });

  CLI::App* topics = text->add_subcommand("topics", "Texts, sentiment and topics by time bucket and segment");
  topics->add_option("--from", args->from, "Start (ISO 8601, inclusive)")->required();
  topics->add_option("--to", args->to, "End (ISO 8601, exclusive; default now)");
  topics->add_option("--bucket", args->bucket, "day, week or month")->capture_default_str();
  topics->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> Output {
      auto from = core::ParseTimestamp(args->from);
      if (!from) return core::Wrap(from.error(), "--from");
      core::Timestamp to = context.clock().Now();
      if (!args->to.empty()) {
        auto parsed = core::ParseTimestamp(args->to);
        if (!parsed) return core::Wrap(parsed.error(), "--to");
        to = *parsed;
      }
      LOYALTY_ASSIGN_OR_RETURN(auto report, context.platform().text().Topics(*from, to, args->bucket));
      std::ostringstream out;
      out << report.texts << " texts";
      for (const auto& [topic, count] : report.totals)
        out << (topic == report.totals.begin()->first ? ": " : ", ") << topic << " " << count;
      out << "\n";
      for (const auto& row : report.rows) {
        out << "  " << row.bucket << "  " << std::left << std::setw(12) << row.segment << std::right << std::setw(6)
            << row.texts << " texts  mean " << std::showpos << std::fixed << std::setprecision(2) << row.mean_sentiment
            << std::noshowpos << "  negative " << row.negative;
        for (const auto& [topic, count] : row.topics) out << "  " << topic << ":" << count;
        out << "\n";
      }
      return std::pair{engine::ToJson(report), out.str()};
    });
  });
}

}  // namespace loyalty::cli
