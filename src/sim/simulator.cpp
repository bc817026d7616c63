#include "loyalty/sim/simulator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <utility>
#include <vector>

#include "loyalty/core/json.hpp"
#include "loyalty/core/random.hpp"

namespace loyalty::sim {

using core::ErrorCode;
using core::Fail;
using core::Json;

namespace {

constexpr std::array<const char*, 6> kCategories = {"apparel", "shoes", "electronics", "home", "beauty", "grocery"};
constexpr std::array<const char*, 3> kChannels = {"pos", "app", "web"};
constexpr std::array<const char*, 6> kComplaints = {
    "my parcel arrived late and the box was damaged", "the app logs me out every time I open it",
    "I was charged twice for one order",               "the refund has still not arrived",
    "staff at the store were unhelpful about the exchange", "points from my last purchase are missing"};
constexpr std::array<const char*, 4> kPraise = {"great quality, will buy again", "fast delivery and friendly staff",
                                                "exactly as described", "love the rewards program"};
// Messages in the two tones a contented and a discontented member write in.
constexpr std::array<const char*, 8> kWarmMessages = {
    "thanks for the quick help, really appreciated", "love the new app, so easy to use",
    "great offer this week, happy with my order", "the staff were friendly and helpful as always",
    "just wanted to say the delivery was fast", "my voucher worked perfectly, thank you",
    "excellent service, will recommend you", "nice to see the rewards adding up"};
constexpr std::array<const char*, 8> kColdMessages = {
    "still waiting for an answer, very disappointed", "the app is useless, it keeps crashing",
    "prices went up again, not worth it anymore", "nobody replied to my complaint, terrible",
    "thinking of leaving, the service got worse", "the voucher did not work and support was unhelpful",
    "disappointed with the quality lately", "why is everything so slow, annoying"};
constexpr int64_t kMsPerDay = 24LL * 60 * 60 * 1000;

using core::BetaDraw;
using core::MixSeed;

std::string MoneyText(int64_t minor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(minor / 100), static_cast<long long>(minor % 100));
  return buf;
}

struct Member {
  std::string id;
  double rate = 0;          // purchases per day while alive
  double dropout = 0;       // chance of leaving after each purchase
  double mean_spend = 0;    // in currency units
  double engagement = 0;    // app opens per purchase
  double responsiveness = 0;  // chance of accepting an offer seen
  double incident_rate = 0;   // service tickets per purchase
  bool protected_group = false;
  bool consent_email = false;
  bool consent_sms = false;
  bool consent_push = false;
  size_t favourite_category = 0;
  size_t channel = 0;
  int64_t joined_day = 0;
};

// Collects one member's events and writes them in time order.
class Writer {
 public:
  explicit Writer(std::ofstream& events) : out_(events) {}

  void Emit(const Member& m, int64_t& seq, const char* type, int64_t at_ms, const char* channel, Json props) {
    Json event = {{"id", m.id + "-" + std::to_string(seq++)},
                  {"type", type},
                  {"at", core::FormatTimestamp(core::FromUnixMillis(at_ms))},
                  {"member", m.id},
                  {"channel", channel},
                  {"properties", std::move(props)}};
    pending_.emplace_back(at_ms, core::Dump(event));
  }

  void FlushMember() {
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [at, line] : pending_) out_ << line << '\n';
    count_ += static_cast<int64_t>(pending_.size());
    pending_.clear();
  }

  int64_t count() const { return count_; }

 private:
  std::ofstream& out_;
  std::vector<std::pair<int64_t, std::string>> pending_;
  int64_t count_ = 0;
};

}  // namespace

core::Status ValidateSimConfig(const SimConfig& c) {
  if (c.members < 1 || c.members > 100'000'000) return Fail(ErrorCode::kInvalidArgument, "--members must be 1 to 100000000");
  if (c.days < 1 || c.days > 3650) return Fail(ErrorCode::kInvalidArgument, "--days must be 1 to 3650");
  for (double v : {c.r, c.alpha, c.a, c.b, c.p, c.q, c.gamma}) {
    if (!(v > 0)) return Fail(ErrorCode::kInvalidArgument, "distribution parameters must be positive");
  }
  if (c.redeem_block < 1 || !(c.redeem_a > 0) || !(c.redeem_b > 0)) {
    return Fail(ErrorCode::kInvalidArgument, "the redemption block must be at least 1 point and its shape parameters positive");
  }
  if (c.protected_share < 0 || c.protected_share > 1 || c.historical_bias < 0 || c.historical_bias > 1) {
    return Fail(ErrorCode::kInvalidArgument, "protected share and historical bias must be between 0 and 1");
  }
  if (!(c.offer_retention >= 0 && c.offer_retention < 1)) {
    return Fail(ErrorCode::kInvalidArgument, "--offer-retention must be from 0 to below 1");
  }
  return {};
}

core::Result<SimCounts> Simulate(const SimConfig& config, const std::filesystem::path& dir,
                                 const std::function<void(int64_t)>& progress) {
  LOYALTY_TRY(ValidateSimConfig(config));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kInvalidArgument, "cannot create '" + dir.string() + "': " + ec.message());
  std::ofstream members_out(dir / "members.csv"), events_out(dir / "events.ndjson"), truth_out(dir / "ground_truth.csv");
  if (!members_out || !events_out || !truth_out) {
    return Fail(ErrorCode::kInvalidArgument, "cannot write into '" + dir.string() + "'");
  }
  members_out << "member_id,email,joined_at,group\n";
  truth_out << "member_id,group,purchase_rate_per_day,dropout_probability,mean_spend,responsiveness,"
               "consent_email,consent_sms,consent_push,purchases,alive_at_end,dropped_out_at,"
               "redeem_propensity,base_points_earned,points_redeemed\n";

  Writer writer(events_out);
  SimCounts counts;
  const int64_t start_ms = core::ToUnixMillis(config.start);
  const int64_t end_ms = start_ms + config.days * kMsPerDay;
  char id_buf[32];

  for (int64_t index = 0; index < config.members; ++index) {
    std::mt19937_64 rng(MixSeed(config.seed ^ MixSeed(static_cast<uint64_t>(index))));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    Member m;
    std::snprintf(id_buf, sizeof id_buf, "m%07lld", static_cast<long long>(index));
    m.id = id_buf;
    m.rate = std::gamma_distribution<double>(config.r, 1.0 / config.alpha)(rng);
    m.dropout = BetaDraw(rng, config.a, config.b);
    m.mean_spend = std::gamma_distribution<double>(config.q, config.gamma)(rng);
    m.engagement = std::gamma_distribution<double>(2.0, 1.5)(rng);
    m.responsiveness = BetaDraw(rng, 1.5, 6.0);
    m.incident_rate = BetaDraw(rng, 1.0, 15.0);
    m.protected_group = unit(rng) < config.protected_share;
    m.consent_email = unit(rng) < 0.7;
    m.consent_sms = unit(rng) < 0.35;
    m.consent_push = unit(rng) < 0.5;
    m.favourite_category = static_cast<size_t>(unit(rng) * kCategories.size()) % kCategories.size();
    m.channel = static_cast<size_t>(unit(rng) * kChannels.size()) % kChannels.size();
    m.joined_day = static_cast<int64_t>(unit(rng) * config.days * 0.5);  // joined in the first half

    const int64_t joined_ms = start_ms + m.joined_day * kMsPerDay + static_cast<int64_t>(unit(rng) * kMsPerDay);
    members_out << m.id << ',' << m.id << "@example.com," << core::FormatTimestamp(core::FromUnixMillis(joined_ms))
                << ',' << (m.protected_group ? 'B' : 'A') << '\n';

    // Redemption draws come from a stream of their own, so adding them left every other draw
    // (and the programs simulated before) unchanged.
    std::mt19937_64 redeem_rng(MixSeed(config.seed ^ MixSeed(static_cast<uint64_t>(index) ^ 0x5eed5eed5eedULL)));
    const double redeem_propensity = BetaDraw(redeem_rng, config.redeem_a, config.redeem_b);
    int64_t base_points = 0, points_held = 0, points_redeemed = 0;
    // Messages too: their tone is warm with a chance that falls as the dropout chance rises
    // (even odds at the population's mean dropout).
    std::mt19937_64 text_rng(MixSeed(config.seed ^ MixSeed(static_cast<uint64_t>(index) ^ 0x7e7e7e7e7e7eULL)));
    const double mean_dropout = config.a / (config.a + config.b);
    const double warm_chance = 1.0 / (1.0 + std::pow(m.dropout / mean_dropout, 1.5));

    int64_t seq = 0;
    const char* home_channel = kChannels[m.channel];
    writer.Emit(m, seq, "consent_changed", joined_ms, "app", {{"purpose", "marketing_email"}, {"granted", m.consent_email}});
    writer.Emit(m, seq, "consent_changed", joined_ms, "app", {{"purpose", "marketing_sms"}, {"granted", m.consent_sms}});
    writer.Emit(m, seq, "consent_changed", joined_ms, "app", {{"purpose", "marketing_push"}, {"granted", m.consent_push}});

    // Purchases arrive as a Poisson process while the member is alive; after each, the
    // member may drop out for good.
    int64_t purchases = 0;
    int64_t dropped_at = -1;
    double kept = 1.0;  // what accepted offers left of the member's chance of leaving
    double t = static_cast<double>(joined_ms);
    std::exponential_distribution<double> gap(m.rate / static_cast<double>(kMsPerDay));
    while (true) {
      t += gap(rng);
      if (t >= static_cast<double>(end_ms)) break;
      const auto at = static_cast<int64_t>(t);
      // Browsing before the purchase.
      const int opens = std::poisson_distribution<int>(m.engagement)(rng);
      for (int i = 0; i < opens; ++i) {
        const int64_t before = at - static_cast<int64_t>(unit(rng) * 3 * kMsPerDay);
        if (before > joined_ms) writer.Emit(m, seq, "app_open", before, "app", Json::object());
      }
      const size_t category = unit(rng) < 0.6 ? m.favourite_category
                                              : static_cast<size_t>(unit(rng) * kCategories.size()) % kCategories.size();
      const std::string sku = std::string(kCategories[category]).substr(0, 3) + "-" +
                              std::to_string(static_cast<int>(unit(rng) * 50));
      writer.Emit(m, seq, "product_view", at - 60000, home_channel, {{"sku", sku}, {"category", kCategories[category]}});
      const double value = std::gamma_distribution<double>(config.p, m.mean_spend / config.p)(rng);
      const int64_t minor = std::max<int64_t>(100, std::llround(value * 100));
      const std::string order = m.id + "-o" + std::to_string(purchases);
      writer.Emit(m, seq, "purchase", at, home_channel,
                  {{"order", order},
                   {"lines", {{{"sku", sku}, {"category", kCategories[category]}, {"quantity", 1},
                               {"unit_price", MoneyText(minor)}}}}});
      ++purchases;
      ++counts.purchases;
      // Points as the default program gives them before tier multipliers (so the member holds
      // at least this many); whole blocks are redeemed at the till a minute later.
      base_points += minor / 100;
      points_held += minor / 100;
      if (points_held >= config.redeem_block && at + 60000 < end_ms &&
          std::uniform_real_distribution<double>(0, 1)(redeem_rng) < redeem_propensity) {
        const int64_t spend = points_held / config.redeem_block * config.redeem_block;
        points_held -= spend;
        points_redeemed += spend;
        ++counts.redemptions;
        writer.Emit(m, seq, "redemption", at + 60000, home_channel, {{"points", spend}, {"reward", "voucher"}});
      }
      // Offers: the protected group historically saw fewer of them.
      const double shown = 0.3 * (m.protected_group ? 1.0 - config.historical_bias : 1.0);
      if (unit(rng) < shown) {
        const int64_t when = at + static_cast<int64_t>(unit(rng) * 2 * kMsPerDay);
        if (when < end_ms) {
          writer.Emit(m, seq, "offer_impression", when, "email", {{"offer", "double-points"}});
          if (unit(rng) < m.responsiveness) {
            writer.Emit(m, seq, "offer_response", when + 3600000, "email",
                        {{"offer", "double-points"}, {"response", "accepted"}});
            kept *= 1.0 - config.offer_retention;
          }
        }
      }
      // Service incidents and reviews; an unhappy member is likelier to leave.
      bool unhappy = false;
      if (unit(rng) < m.incident_rate) {
        const int64_t when = at + static_cast<int64_t>(unit(rng) * 5 * kMsPerDay);
        if (when < end_ms) {
          const std::string ticket = m.id + "-t" + std::to_string(seq);
          writer.Emit(m, seq, "service_ticket_opened", when, "call_center",
                      {{"ticket", ticket}, {"text", kComplaints[static_cast<size_t>(unit(rng) * kComplaints.size()) % kComplaints.size()]}});
          unhappy = true;
        }
      }
      if (unit(rng) < 0.15) {
        const int64_t when = at + static_cast<int64_t>(unit(rng) * 7 * kMsPerDay);
        if (when < end_ms) {
          const int rating = unhappy ? 1 + static_cast<int>(unit(rng) * 2) : 4 + static_cast<int>(unit(rng) * 2);
          writer.Emit(m, seq, "review", when, "web",
                      {{"rating", std::min(rating, 5)},
                       {"text", unhappy ? "not happy with the service" : kPraise[static_cast<size_t>(unit(rng) * kPraise.size()) % kPraise.size()]}});
        }
      }
      const double leave = std::min(1.0, m.dropout * kept * (unhappy ? 1.5 : 1.0));
      const bool leaving = unit(rng) < leave;
      // Who is about to leave often says so first; the rest write now and then, in their tone.
      const double write = leaving ? config.farewell_rate : config.message_rate;
      if (std::uniform_real_distribution<double>(0, 1)(text_rng) < write) {
        const int64_t when = at + static_cast<int64_t>(std::uniform_real_distribution<double>(0, 10)(text_rng) * kMsPerDay);
        const bool warm = !leaving && std::uniform_real_distribution<double>(0, 1)(text_rng) < warm_chance;
        const auto& pool = warm ? kWarmMessages : kColdMessages;
        if (when < end_ms) {
          writer.Emit(m, seq, "message", when, "app", {{"text", pool[text_rng() % pool.size()]}});
        }
      }
      if (leaving) {
        dropped_at = at;
        break;
      }
    }
    writer.FlushMember();
    truth_out << m.id << ',' << (m.protected_group ? 'B' : 'A') << ',' << m.rate << ',' << m.dropout << ','
              << m.mean_spend << ',' << m.responsiveness << ',' << m.consent_email << ',' << m.consent_sms << ','
              << m.consent_push << ',' << purchases << ',' << (dropped_at < 0 ? 1 : 0) << ','
              << (dropped_at < 0 ? std::string() : core::FormatTimestamp(core::FromUnixMillis(dropped_at))) << ','
              << redeem_propensity << ',' << base_points << ',' << points_redeemed << '\n';
    ++counts.members;
    if (progress && (index + 1) % 10000 == 0) progress(index + 1);
  }
  counts.events = writer.count();
  members_out.flush();
  events_out.flush();
  truth_out.flush();
  if (!members_out || !events_out || !truth_out) {
    return Fail(ErrorCode::kUnavailable, "writing into '" + dir.string() + "' failed (disk full?)");
  }
  return counts;
}

}  // namespace loyalty::sim
