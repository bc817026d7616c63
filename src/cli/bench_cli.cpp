#include "bench_cli.hpp"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <random>
#include <sstream>
#include <thread>

#include "loyalty/core/random.hpp"
#include "loyalty/decision/decider.hpp"
#include "loyalty/models/sentiment.hpp"
#include "loyalty/models/topics.hpp"

namespace loyalty::cli {

namespace {

using core::Json;
using decision::FactValue;
using Clock = std::chrono::steady_clock;

constexpr std::array<const char*, 8> kKinds = {"bonus_points", "points_multiplier", "discount", "free_reward",
                                               "product_recommendation", "content_message", "service_recovery",
                                               "tier_nudge"};
constexpr std::array<const char*, 6> kSegments = {"Champions", "Loyal", "At Risk", "Hibernating", "Prospect", "Potential"};
constexpr std::array<const char*, 3> kTiers = {"member", "silver", "gold"};

// Fifty offers of every kind with rules of the usual shapes.
std::vector<decision::Offer> BenchOffers() {
  const std::array<const char*, 10> rules = {
      "",
      "churn_risk > 0.6 and days_since_redemption > 30 and not open_ticket",
      "segment in ('At Risk', 'Hibernating')",
      "tier == 'gold' or monetary_365d > 500",
      "recency_days <= 30 and frequency >= 5",
      "open_ticket",
      "consent.marketing_push and logins_30d >= 3",
      "not (segment == 'Prospect') and avg_basket > 20",
      "churn_risk < 0.3 and tier != 'member'",
      "cart_abandons_30d > 0 or email_response_rate_30d > 0.2"};
  const std::array<std::vector<const char*>, 4> channels = {
      std::vector<const char*>{"email"}, {"push", "in_app"}, {"email", "sms"}, {"pos", "web", "email"}};
  std::vector<decision::Offer> offers;
  for (int i = 0; i < 50; ++i) {
    Json doc{{"id", "offer-" + std::to_string(i)},
             {"kind", kKinds[static_cast<size_t>(i) % kKinds.size()]},
             {"channels", channels[static_cast<size_t>(i) % channels.size()]},
             {"eligibility", rules[static_cast<size_t>(i) % rules.size()]},
             {"points", 100 * (i % 5)},
             {"discount_minor", 200 * (i % 3)},
             {"message_cost_minor", 1 + i % 4},
             {"priority", 0.5 + (i % 7) / 4.0},
             {"prior_response_rate", 0.02 + (i % 9) / 50.0},
             {"max_per_member_per_week", 2}};
    offers.push_back(*decision::ParseOffer(doc, {}));
  }
  return offers;
}

decision::MemberView BenchMember(uint64_t index) {
  std::mt19937_64 rng(core::MixSeed(index));
  std::uniform_real_distribution<double> u(0, 1);
  decision::MemberView v;
  v.member = "m" + std::to_string(index);
  v.segment = kSegments[index % kSegments.size()];
  v.churn_probability = u(rng);
  v.clv_minor = 5000 + 50000 * u(rng);
  v.basket_minor = 1000 + 9000 * u(rng);
  v.basket_points = v.basket_minor / 100;
  v.open_ticket = u(rng) < 0.05;
  v.consents = {"marketing_email", "marketing_push", "personalization"};
  v.channel_affinity = {u(rng), 0.05, u(rng), u(rng), u(rng), u(rng)};
  v.facts.Set("churn_risk", v.churn_probability);
  v.facts.Set("days_since_redemption", 100 * u(rng));
  v.facts.Set("open_ticket", v.open_ticket);
  v.facts.Set("segment", std::string(v.segment));
  v.facts.Set("tier", std::string(kTiers[index % kTiers.size()]));
  v.facts.Set("monetary_365d", 1000 * u(rng));
  v.facts.Set("recency_days", 120 * u(rng));
  v.facts.Set("frequency", std::floor(20 * u(rng)));
  v.facts.Set("consent.marketing_push", true);
  v.facts.Set("logins_30d", std::floor(10 * u(rng)));
  v.facts.Set("avg_basket", v.basket_minor / 100);
  v.facts.Set("cart_abandons_30d", std::floor(3 * u(rng)));
  v.facts.Set("email_response_rate_30d", u(rng) * 0.5);
  return v;
}

// The naive arbitration a first version would write: every rule, then the best posterior
// mean times the lever. No sampling, caps, budgets, channel, send time or explanation.
size_t NaiveDecide(const std::vector<decision::Offer>& offers, const decision::MemberView& member,
                   decision::BetaArms& arms) {
  size_t best = offers.size();
  double best_score = 0;
  for (size_t i = 0; i < offers.size(); ++i) {
    if (!offers[i].rule.Evaluate(member.facts)) continue;
    const double score = arms.Posterior(offers[i].id + "|" + member.segment, offers[i].prior_response_rate).Mean() *
                         offers[i].priority;
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size())))];
}

struct Args {
  int decisions = 20000;
  int64_t batch_members = 1000000;
  int threads = 2;
  int texts = 200000;
  int rounds = 3;
};

Json RunDecideBench(const Args& args) {
  const auto offers = BenchOffers();
  decision::ContactPolicy policy;
  policy.holdout_percent = 5;
  policy.quiet_start_hour = policy.quiet_end_hour = 0;
  const core::Timestamp at = *core::ParseTimestamp("2026-06-01T12:00:00Z");

  // In process: one thread, a different member each call, latency per call.
  decision::Decider decider(1);
  decider.Configure(offers, policy);
  for (size_t i = 0; i < offers.size(); ++i) {
    for (const char* segment : kSegments) decider.arms().Record(offers[i].id + "|" + segment, 200, static_cast<int64_t>(5 + i % 30));
  }
  std::vector<decision::MemberView> members;
  for (int i = 0; i < 10000; ++i) members.push_back(BenchMember(static_cast<uint64_t>(i)));
  std::vector<double> naive_us, full_us, explain_us;
  size_t sink = 0;
  for (int i = 0; i < args.decisions; ++i) {
    const auto& m = members[static_cast<size_t>(i) % members.size()];
    auto t0 = Clock::now();
    sink += NaiveDecide(offers, m, decider.arms());
    auto t1 = Clock::now();
    const auto d = decider.Decide(m, {.at = at + std::chrono::seconds(i)}, decision::Strategy::kAi);
    auto t2 = Clock::now();
    const std::string logged = core::Dump(decision::ToJson(d));
    auto t3 = Clock::now();
    sink += d.offers.size() + logged.size();
    naive_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    full_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    explain_us.push_back(std::chrono::duration<double, std::micro>(t3 - t1).count());
  }

  // Batch: a million members over `threads` threads, each decision reserving caps and budget.
  decision::Decider batch(2);
  batch.Configure(offers, policy);
  auto run_batch = [&](bool naive) {
    std::atomic<int64_t> made{0};
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < args.threads; ++t) {
      workers.emplace_back([&, t] {
        int64_t local = 0;
        for (int64_t i = t; i < args.batch_members; i += args.threads) {
          const auto m = BenchMember(static_cast<uint64_t>(i));
          if (naive) {
            local += NaiveDecide(offers, m, batch.arms()) < offers.size() ? 1 : 0;
          } else {
            local += static_cast<int64_t>(batch.Decide(m, {.at = at}, decision::Strategy::kAi).offers.size());
          }
        }
        made += local;
      });
    }
    for (auto& w : workers) w.join();
    return std::pair{std::chrono::duration<double>(Clock::now() - start).count(), made.load()};
  };
  const auto [naive_s, naive_made] = run_batch(true);
  const auto [batch_s, batch_made] = run_batch(false);
  const double members_d = static_cast<double>(args.batch_members);
  return Json{
      {"in_process",
       {{"offers", offers.size()},
        {"decisions", args.decisions},
        {"p50_us", Percentile(full_us, 0.50)},
        {"p99_us", Percentile(full_us, 0.99)},
        {"p99_with_json_us", Percentile(explain_us, 0.99)},
        {"naive_p50_us", Percentile(naive_us, 0.50)},
        {"naive_p99_us", Percentile(naive_us, 0.99)},
        {"p99_ratio_to_naive", Percentile(full_us, 0.99) / std::max(1e-9, Percentile(naive_us, 0.99))},
        {"target_p99_us", 250},
        {"checksum", sink % 1000}}},
      {"batch",
       {{"members", args.batch_members},
        {"threads", args.threads},
        {"decisions_per_s", members_d / batch_s},
        {"offers_made", batch_made},
        {"naive_decisions_per_s", members_d / naive_s},
        {"ratio_to_naive", naive_s / batch_s},
        {"seconds", batch_s},
        {"naive_made", naive_made}}}};
}

// Short texts of the kinds members write (6 to 16 words), built from fragments.
std::vector<std::string> BenchTexts(size_t n, uint64_t seed) {
  const std::array<const char*, 12> openings = {
      "my parcel arrived late and", "the staff at the store were", "love the rewards program but",
      "the app logs me out and", "I was charged twice and", "great quality and",
      "the refund has still not arrived and", "fast delivery,", "not happy with the service,",
      "points from my last purchase are missing and", "exactly as described,", "the checkout queue was"};
  const std::array<const char*, 12> endings = {
      "the box was damaged", "really friendly and helpful", "nobody answers the phone", "I will buy again",
      "this is the third time", "thanks for sorting it out", "very disappointed", "would recommend to friends",
      "please fix it", "it works perfectly now", "terrible experience overall", "the voucher did not apply"};
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(std::string(openings[rng() % openings.size()]) + " " + endings[rng() % endings.size()]);
  }
  return out;
}

template <typename F>
double TextsPerSecond(const std::vector<std::string>& texts, F&& score) {
  double sink = 0;
  const auto start = Clock::now();
  for (const std::string& text : texts) sink += score(text);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (sink == 12345.678) std::printf(" ");  // keeps the work observable
  return static_cast<double>(texts.size()) / seconds;
}

core::Result<Json> RunTextBench(size_t n) {
  const std::vector<std::string> texts = BenchTexts(n, 7);
  // A fastText model trained on labelled texts of the same shapes (the labels from the lexicon:
  // the model's accuracy is not what is measured here, its speed is).
  const models::LexiconSentiment lexicon;
  std::vector<models::LabelledText> labelled;
  for (const std::string& text : BenchTexts(3000, 11)) {
    const auto polarity = lexicon.Score(text).label;
    labelled.push_back({text, polarity == models::Polarity::kNeutral ? models::Polarity::kPositive : polarity});
  }
  LOYALTY_ASSIGN_OR_RETURN(auto fasttext, models::FastTextSentiment::Train(labelled));
  const double tokens = TextsPerSecond(texts, [](const std::string& t) { return models::TextTokens(t).size(); });
  const double by_lexicon = TextsPerSecond(texts, [&](const std::string& t) { return lexicon.Score(t).score; });
  const double by_fasttext = TextsPerSecond(texts, [&](const std::string& t) { return fasttext->Score(t).score; });
  const double topics = TextsPerSecond(texts, [](const std::string& t) { return models::ExtractTopics(t).size(); });
  const double full = TextsPerSecond(texts, [&](const std::string& t) {
    return fasttext->Score(t).score + static_cast<double>(models::ExtractTopics(t).size());
  });
  return Json{{"texts", n},
              {"one_thread", true},
              {"tokenise_per_s", tokens},
              {"lexicon_per_s", by_lexicon},
              {"fasttext_per_s", by_fasttext},
              {"topics_per_s", topics},
              {"fasttext_and_topics_per_s", full},
              {"lexicon_ratio_to_tokenise", by_lexicon / tokens},
              {"fasttext_ratio_to_tokenise", by_fasttext / tokens},
              {"fasttext_and_topics_ratio_to_tokenise", full / tokens}};
}

// The program indicators over the data dir's event log: one full computation against a bare
// replay of the same log (the floor: reading and parsing every event), and the kept answer.
core::Result<Json> RunKpiBench(Context& context, int rounds) {
  engine::Platform& platform = context.platform();
  LOYALTY_ASSIGN_OR_RETURN(const int64_t events, platform.event_log().Count());
  std::vector<double> replay_s, compute_s, cached_s;
  for (int round = 0; round < rounds; ++round) {
    int64_t seen = 0;
    auto start = Clock::now();
    LOYALTY_TRY(platform.event_log().ReplayAll(context.clock().Now(), [&seen](const events::Event&) { ++seen; }));
    replay_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    // A fresh object each round: nothing kept from the round before.
    engine::ProgramKpis kpis(platform.event_log(), platform.decisions().log(), platform.identity(), context.clock(),
                             platform.ledger().config().currency);
    start = Clock::now();
    LOYALTY_TRY(kpis.Compute(12));
    compute_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    start = Clock::now();
    LOYALTY_TRY(kpis.Compute(12));
    cached_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    if (seen == -1) std::printf(" ");  // keeps the replay observable
  }
  const auto best = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  return Json{{"events", events},
              {"rounds", rounds},
              {"replay_s", best(replay_s)},
              {"kpis_s", best(compute_s)},
              {"kpis_cached_s", best(cached_s)},
              {"kpis_ratio_to_replay", best(compute_s) / best(replay_s)},
              {"events_per_s", static_cast<double>(events) / best(compute_s)}};
}

}  // namespace

void AddBenchCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<Args>();
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks (figures for BENCHMARKS.md)");
  bench->require_subcommand(1);
  CLI::App* decide = bench->add_subcommand("decide", "Decision latency with 50 offers, and batch decisions per second");
  decide->add_option("--decisions", args->decisions, "In-process decisions to time")->capture_default_str()->check(CLI::Range(100, 10000000));
  decide->add_option("--members", args->batch_members, "Members in the batch run")->capture_default_str()->check(CLI::Range(int64_t{1000}, int64_t{100000000}));
  decide->add_option("--threads", args->threads, "Threads in the batch run")->capture_default_str()->check(CLI::Range(1, 64));
  decide->callback([&options, &run, args] {
    run = [&options, args] {
      const Json r = RunDecideBench(*args);
      const Json& p = r["in_process"];
      const Json& b = r["batch"];
      std::ostringstream text;
      text << std::fixed << std::setprecision(1) << "in process, " << p["offers"] << " offers, " << p["decisions"]
           << " decisions (one thread):\n"
           << "  decide (AI, Thompson, caps, budgets, explanation)  p50 " << p["p50_us"].get<double>() << " us  p99 "
           << p["p99_us"].get<double>() << " us (target < 250)\n"
           << "  ... plus the explanation as JSON                    p99 " << p["p99_with_json_us"].get<double>() << " us\n"
           << "  naive baseline (rules + best mean)                  p50 " << p["naive_p50_us"].get<double>() << " us  p99 "
           << p["naive_p99_us"].get<double>() << " us;  ratio p99 " << std::setprecision(2)
           << p["p99_ratio_to_naive"].get<double>() << "\n"
           << std::setprecision(0) << "batch, " << b["members"] << " members, " << b["threads"] << " threads: "
           << b["decisions_per_s"].get<double>() << " decisions/s (naive " << b["naive_decisions_per_s"].get<double>()
           << "/s, ratio " << std::setprecision(2) << 1.0 / b["ratio_to_naive"].get<double>() << ")";
      return PrintResult(options, r, text.str());
    };
  });
  CLI::App* kpis = bench->add_subcommand("kpis", "Program indicators over the data dir's event log, against a bare replay");
  kpis->add_option("--rounds", args->rounds, "Measurements (the best is kept)")->capture_default_str()->check(CLI::Range(1, 100));
  kpis->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> core::Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(Json r, RunKpiBench(c, args->rounds));
      std::ostringstream out;
      out << std::fixed << std::setprecision(3) << r["events"] << " events, best of " << r["rounds"] << ":\n"
          << "  replay the event log (baseline)  " << r["replay_s"].get<double>() << " s\n"
          << "  program indicators, 12 months    " << r["kpis_s"].get<double>() << " s (ratio to replay "
          << std::setprecision(2) << r["kpis_ratio_to_replay"].get<double>() << ")\n"
          << std::setprecision(3) << "  the kept answer                  " << r["kpis_cached_s"].get<double>() << " s";
      return std::pair{r, out.str()};
    });
  });
  CLI::App* text = bench->add_subcommand("text", "Short texts scored per second on one core (sentiment and topics)");
  text->add_option("--texts", args->texts, "Texts per measurement")->capture_default_str()->check(CLI::Range(1000, 10000000));
  text->callback([&options, &run, args] {
    run = [&options, args] {
      auto r = RunTextBench(static_cast<size_t>(args->texts));
      if (!r) return PrintError(r.error());
      std::ostringstream out;
      out << std::fixed << std::setprecision(0) << (*r)["texts"] << " short texts, one thread (texts/s):\n"
          << "  tokenise only (baseline)      " << (*r)["tokenise_per_s"].get<double>() << "\n"
          << "  lexicon sentiment             " << (*r)["lexicon_per_s"].get<double>() << "\n"
          << "  fastText sentiment            " << (*r)["fasttext_per_s"].get<double>() << " (target >= 100000)\n"
          << "  topics                        " << (*r)["topics_per_s"].get<double>() << "\n"
          << "  fastText sentiment + topics   " << (*r)["fasttext_and_topics_per_s"].get<double>() << std::setprecision(2)
          << " (ratio to tokenise " << (*r)["fasttext_and_topics_ratio_to_tokenise"].get<double>() << ")";
      return PrintResult(options, *r, out.str());
    };
  });
}

}  // namespace loyalty::cli
