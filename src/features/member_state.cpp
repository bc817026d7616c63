#include "loyalty/features/member_state.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <sstream>

#include "loyalty/core/money.hpp"

namespace loyalty::features {

using events::EventType;

namespace {

constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;
constexpr int32_t kRetainedDays = 365;
constexpr int32_t kTextDays = 90;  // sentiment windows reach back this far
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

constexpr std::array<std::string_view, 8> kPurposes = {
    "marketing_email", "marketing_sms", "marketing_push", "marketing_in_app",
    "personalization", "profiling",     "analytics",      "third_party_sharing"};

int32_t DayOf(int64_t ms) {
  // Floor division: days before 1970 are negative.
  return static_cast<int32_t>(ms >= 0 ? ms / kDayMs : -((-ms + kDayMs - 1) / kDayMs));
}

template <typename T>
void SaturatingAdd(T& counter, uint64_t amount) {
  const uint64_t sum = static_cast<uint64_t>(counter) + amount;
  counter = static_cast<T>(std::min<uint64_t>(sum, std::numeric_limits<T>::max()));
}

// (a - b) / (a + b) of two daily rates: -1 (stopped) .. 0 (steady) .. +1 (new); NaN when both are 0.
double Trend(double recent, double recent_days, double before, double before_days) {
  const double a = recent / recent_days;
  const double b = before / before_days;
  return (a + b) == 0 ? kNaN : (a - b) / (a + b);
}

// Stored events were validated at ingestion; optional fields may still be null or absent.
std::string TextOr(const core::Json& object, std::string_view key, std::string_view fallback) {
  const auto it = object.find(key);
  return (it != object.end() && it->is_string()) ? it->get<std::string>() : std::string(fallback);
}

int64_t IntOr(const core::Json& object, std::string_view key, int64_t fallback) {
  const auto it = object.find(key);
  return (it != object.end() && it->is_number_integer()) ? it->get<int64_t>() : fallback;
}

double Ratio(double numerator, double denominator) { return denominator == 0 ? kNaN : numerator / denominator; }

}  // namespace

std::span<const std::string_view> ConsentPurposes() { return kPurposes; }

std::string_view FeatureName(Feature feature) {
  static constexpr std::array<std::string_view, kFeatureCount> kNames = {
#define LOYALTY_FEATURE_NAME(name) #name,
      LOYALTY_FEATURES(LOYALTY_FEATURE_NAME)
#undef LOYALTY_FEATURE_NAME
  };
  return kNames[static_cast<size_t>(feature)];
}

std::optional<Feature> FeatureByName(std::string_view name) {
  for (size_t i = 0; i < kFeatureCount; ++i) {
    if (FeatureName(static_cast<Feature>(i)) == name) return static_cast<Feature>(i);
  }
  return std::nullopt;
}

namespace {

std::string Rounded(double v, int digits = 0) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

std::string Trend(std::string_view what, double v) {
  const std::string name(what);
  if (v > 0.1) return name + " rising";
  if (v < -0.1) return name + " falling";
  return name + " steady";
}

}  // namespace

std::string FeatureInWords(std::string_view name, double v) {
  const auto feature = FeatureByName(name);
  if (!feature) return std::string(name) + " = " + (std::isnan(v) ? std::string("missing") : Rounded(v, 2));
  using F = Feature;
  const std::string n = Rounded(v);
  const bool one = n == "1";
  auto count = [&](std::string_view singular, std::string_view plural) {
    return n + " " + std::string(one ? singular : plural);
  };
  const std::string pct = Rounded(100 * v) + "%";
  if (std::isnan(v)) {
    switch (*feature) {
      case F::recency_days: return "never purchased";
      case F::days_since_redemption: return "never redeemed";
      case F::last_review_rating: return "no review written";
      case F::sentiment_last:
      case F::sentiment_mean_90d: return "nothing written to us lately";
      default: {
        std::string words(name);
        std::replace(words.begin(), words.end(), '_', ' ');
        return words + " unknown";
      }
    }
  }
  switch (*feature) {
    case F::tenure_days: return "member for " + count("day", "days");
    case F::recency_days: return "no purchase in " + count("day", "days");
    case F::frequency: return count("purchase", "purchases") + " in all";
    case F::monetary: return "spent " + n + " in all";
    case F::frequency_30d: return count("purchase", "purchases") + " in the last 30 days";
    case F::frequency_90d: return count("purchase", "purchases") + " in the last 90 days";
    case F::frequency_365d: return count("purchase", "purchases") + " in the last year";
    case F::monetary_30d: return "spent " + n + " in the last 30 days";
    case F::monetary_90d: return "spent " + n + " in the last 90 days";
    case F::monetary_365d: return "spent " + n + " in the last year";
    case F::avg_basket: return "average basket " + n;
    case F::interpurchase_mean_days: return "buys every " + n + " days on average";
    case F::interpurchase_std_days: return "gaps between purchases vary by " + n + " days";
    case F::visits_30d: return count("visit", "visits") + " in the last 30 days";
    case F::visits_trend: return Trend("visits", v);
    case F::logins_30d: return count("login", "logins") + " in the last 30 days";
    case F::logins_trend: return Trend("logins", v);
    case F::basket_30d: return "average basket " + n + " in the last 30 days";
    case F::basket_trend: return Trend("basket size", v);
    case F::email_response_rate_30d: return "clicks " + pct + " of e-mails opened";
    case F::email_response_trend: return Trend("e-mail response", v);
    case F::cart_abandons_30d: return count("abandoned cart", "abandoned carts") + " in the last 30 days";
    case F::category_count_365d: return "buys in " + count("category", "categories");
    case F::top_category_share_365d: return pct + " of spend in one category";
    case F::category_shift: return "category mix shifted by " + pct;
    case F::points_balance: return n + " points unspent";
    case F::days_since_redemption: return "no redemption in " + count("day", "days");
    case F::open_tickets: return count("open service ticket", "open service tickets");
    case F::last_review_rating: return "last review rated " + n + " of 5";
    case F::returns: return count("return", "returns");
    case F::return_rate: return "returns " + pct + " of purchases";
    case F::offer_response_rate: return "accepts " + pct + " of offers";
    case F::days_since_last_event: return "no visit in " + count("day", "days");
    case F::sentiment_last: return std::string(v <= -0.3 ? "last text negative" : v >= 0.3 ? "last text positive" : "last text neutral") + " (" + Rounded(v, 2) + ")";
    case F::sentiment_mean_90d: return std::string(v <= -0.3 ? "negative" : v >= 0.3 ? "positive" : "mixed") + " tone over 90 days (" + Rounded(v, 2) + ")";
    case F::sentiment_trend: return v <= -0.1 ? "tone souring" : v >= 0.1 ? "tone improving" : "tone steady";
    case F::kCount: break;
  }
  return std::string(name) + " = " + Rounded(v, 2);
}

core::Json ToJson(const FeatureVector& features) {
  core::Json out = core::Json::object();
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const double v = features.values[i];
    out[std::string(FeatureName(static_cast<Feature>(i)))] = std::isnan(v) ? core::Json(nullptr) : core::Json(v);
  }
  out["top_category"] = features.top_category.empty() ? core::Json(nullptr) : core::Json(features.top_category);
  out["consents"] = features.consents;
  return out;
}

MemberState::Day* MemberState::DayRecord(int32_t day) {
  if (newest_day_ != INT32_MIN && day <= newest_day_ - kRetainedDays) return nullptr;  // older than the windows
  // Events arrive mostly in time order: search from the back.
  auto it = std::lower_bound(days_.begin(), days_.end(), day, [](const Day& d, int32_t v) { return d.day < v; });
  if (it == days_.end() || it->day != day) it = days_.insert(it, Day{.day = day});
  return &*it;
}

void MemberState::AddCategorySpend(int32_t day, uint16_t category, uint32_t spend) {
  if (newest_day_ != INT32_MIN && day <= newest_day_ - kRetainedDays) return;
  auto it = std::lower_bound(categories_.begin(), categories_.end(), std::pair{day, category},
                             [](const CategoryDay& d, std::pair<int32_t, uint16_t> v) {
                               return std::pair{d.day, d.category} < v;
                             });
  if (it == categories_.end() || it->day != day || it->category != category) {
    it = categories_.insert(it, CategoryDay{.day = day, .category = category});
  }
  SaturatingAdd(it->spend, spend);
}

void MemberState::Trim() {
  const int32_t oldest = newest_day_ - kRetainedDays;
  auto day_end = std::find_if(days_.begin(), days_.end(), [&](const Day& d) { return d.day > oldest; });
  days_.erase(days_.begin(), day_end);
  auto cat_end = std::find_if(categories_.begin(), categories_.end(), [&](const CategoryDay& d) { return d.day > oldest; });
  categories_.erase(categories_.begin(), cat_end);
  auto text_end = std::find_if(texts_.begin(), texts_.end(), [&](const TextDay& d) { return d.day > newest_day_ - kTextDays; });
  texts_.erase(texts_.begin(), text_end);
}

void MemberState::Apply(const events::Event& event, std::string_view currency, const CategoryInterner& intern) {
  const int64_t ms = core::ToUnixMillis(event.at);
  const int32_t day = DayOf(ms);
  first_event_ms_ = std::min(first_event_ms_, ms);
  last_event_ms_ = std::max(last_event_ms_, ms);
  if (day > newest_day_) {
    newest_day_ = day;
    if ((!days_.empty() && days_.front().day <= newest_day_ - kRetainedDays) ||
        (!texts_.empty() && texts_.front().day <= newest_day_ - kTextDays)) {
      Trim();
    }
  }
  const core::Json& props = event.properties;
  auto engaged = [&] {
    if (Day* d = DayRecord(day)) d->engaged = 1;
  };
  if (events::CarriesText(event.type)) AddSentiment(props, ms, day);
  switch (event.type) {
    case EventType::kPurchase: {
      int64_t spend = 0;
      std::map<uint16_t, int64_t> by_category;
      const std::string line_currency = TextOr(props, "currency", currency);
      const bool counts = line_currency == currency;
      static const core::Json kNoLines = core::Json::array();
      const auto lines_it = props.find("lines");
      const core::Json& lines = (lines_it != props.end() && lines_it->is_array()) ? *lines_it : kNoLines;
      for (const auto& line : lines) {
        if (!counts) break;
        auto price = core::Money::Parse(TextOr(line, "unit_price", ""), line_currency);
        if (!price) continue;
        const auto amount = core::CheckedMultiply(price->minor_units(), IntOr(line, "quantity", 0));
        if (!amount || *amount < 0) continue;
        spend += *amount;
        const auto category = line.find("category");
        std::string_view name;  // a view of the event's own string: no copy per line
        if (category != line.end() && category->is_string()) name = category->get_ref<const std::string&>();
        by_category[intern(name.empty() ? "uncategorised" : name)] += *amount;
      }
      if (purchases_ > 0 && ms > last_purchase_ms_) {
        const double gap = static_cast<double>(ms - last_purchase_ms_) / kDayMs;
        ++gaps_;
        const double delta = gap - gap_mean_;
        gap_mean_ += delta / gaps_;
        gap_m2_ += delta * (gap - gap_mean_);
      }
      ++purchases_;
      last_purchase_ms_ = std::max(last_purchase_ms_, ms);
      spend_minor_ += spend;
      // Distinct purchase days, counted as events arrive in time order. A late purchase before
      // the first day moves the first day; one between the first and last day is taken to fall
      // on a day already counted.
      if (day < first_purchase_day_) {
        if (first_purchase_day_ != INT32_MAX) ++purchase_days_;
        first_purchase_day_ = day;
        first_day_spend_minor_ = spend;
        if (purchase_days_ == 0) purchase_days_ = 1;
      } else if (day == first_purchase_day_) {
        first_day_spend_minor_ += spend;
      } else if (day > last_purchase_day_) {
        ++purchase_days_;
      }
      last_purchase_day_ = std::max(last_purchase_day_, day);
      if (Day* d = DayRecord(day)) {
        SaturatingAdd(d->purchases, 1);
        SaturatingAdd(d->spend, static_cast<uint64_t>(spend));
        d->engaged = 1;
      }
      for (const auto& [category, amount] : by_category) {
        AddCategorySpend(day, category, static_cast<uint32_t>(std::min<int64_t>(amount, UINT32_MAX)));
      }
      break;
    }
    case EventType::kReturn:
      ++returns_;
      break;
    case EventType::kLogin:
      if (Day* d = DayRecord(day)) {
        SaturatingAdd(d->logins, 1);
        d->engaged = 1;
      }
      break;
    case EventType::kAppOpen:
    case EventType::kProductView:
    case EventType::kSearch:
    case EventType::kCartAdd:
      engaged();
      break;
    case EventType::kCartAbandon:
      if (Day* d = DayRecord(day)) SaturatingAdd(d->cart_abandons, 1);
      break;
    case EventType::kEmailOpen:
      if (Day* d = DayRecord(day)) SaturatingAdd(d->email_opens, 1);
      break;
    case EventType::kEmailClick:
      if (Day* d = DayRecord(day)) SaturatingAdd(d->email_clicks, 1);
      break;
    case EventType::kOfferImpression:
      ++offer_impressions_;
      break;
    case EventType::kOfferResponse:
      if (TextOr(props, "response", "") == "accepted") ++offer_accepts_;
      break;
    case EventType::kRedemption:
      last_redemption_ms_ = std::max(last_redemption_ms_, ms);
      break;
    case EventType::kServiceTicketOpened:
      open_tickets_ = static_cast<int16_t>(std::min(open_tickets_ + 1, 1000));
      break;
    case EventType::kServiceTicketClosed:
      open_tickets_ = static_cast<int16_t>(std::max(open_tickets_ - 1, 0));
      break;
    case EventType::kReview:
      last_rating_ = static_cast<int8_t>(std::clamp<int64_t>(IntOr(props, "rating", 0), 0, 5));
      break;
    case EventType::kMessage:
      engaged();
      break;
    case EventType::kConsentChanged: {
      const std::string purpose = TextOr(props, "purpose", "");
      const auto granted_it = props.find("granted");
      const bool granted = granted_it != props.end() && granted_it->is_boolean() && granted_it->get<bool>();
      for (size_t i = 0; i < kPurposes.size(); ++i) {
        if (kPurposes[i] != purpose) continue;
        const auto bit = static_cast<uint8_t>(1u << i);
        consents_granted_ = granted ? (consents_granted_ | bit) : (consents_granted_ & ~bit);
      }
      break;
    }
  }
}

FeatureVector MemberState::Compute(core::Timestamp at, const CategoryNamer& name, double minor_per_unit) const {
  FeatureVector f;
  f.values.fill(kNaN);
  const int64_t now_ms = core::ToUnixMillis(at);
  const int32_t today = DayOf(now_ms);
  auto days_since = [&](int64_t ms) {
    return ms == INT64_MIN || ms == INT64_MAX ? kNaN : static_cast<double>(now_ms - ms) / kDayMs;
  };
  f[Feature::tenure_days] = days_since(first_event_ms_);
  f[Feature::days_since_last_event] = days_since(last_event_ms_);
  f[Feature::recency_days] = purchases_ > 0 ? days_since(last_purchase_ms_) : kNaN;
  f[Feature::frequency] = purchases_;
  f[Feature::monetary] = static_cast<double>(spend_minor_) / minor_per_unit;
  f[Feature::avg_basket] = Ratio(static_cast<double>(spend_minor_) / minor_per_unit, purchases_);
  f[Feature::interpurchase_mean_days] = gaps_ > 0 ? gap_mean_ : kNaN;
  f[Feature::interpurchase_std_days] = gaps_ > 1 ? std::sqrt(gap_m2_ / (gaps_ - 1)) : kNaN;
  f[Feature::days_since_redemption] = days_since(last_redemption_ms_);
  f[Feature::open_tickets] = open_tickets_;
  f[Feature::last_review_rating] = last_rating_ > 0 ? last_rating_ : kNaN;
  f[Feature::returns] = returns_;
  f[Feature::return_rate] = Ratio(returns_, purchases_);
  f[Feature::offer_response_rate] = Ratio(offer_accepts_, offer_impressions_);
  f[Feature::sentiment_last] = last_sentiment_ms_ == INT64_MIN ? kNaN : last_sentiment_;
  double recent_sum = 0, recent_n = 0, text_sum = 0, text_n = 0;
  for (const TextDay& d : texts_) {
    const int32_t age = today - d.day;
    if (age < 0 || age >= kTextDays) continue;
    text_sum += d.score_sum;
    text_n += d.texts;
    if (age < 30) {
      recent_sum += d.score_sum;
      recent_n += d.texts;
    }
  }
  f[Feature::sentiment_mean_90d] = Ratio(text_sum, text_n);
  f[Feature::sentiment_trend] = (recent_n > 0 && text_n > recent_n)
                                    ? recent_sum / recent_n - (text_sum - recent_sum) / (text_n - recent_n)
                                    : kNaN;

  // Windows end today (inclusive): "last 30 days" are today and the 29 days before.
  struct Window {
    double purchases = 0, spend = 0, visits = 0, logins = 0, opens = 0, clicks = 0, abandons = 0;
  };
  Window w30, w90, w365, prior60;
  for (const Day& d : days_) {
    const int32_t age = today - d.day;
    if (age < 0 || age >= kRetainedDays) continue;
    auto add = [&](Window& w) {
      w.purchases += d.purchases;
      w.spend += d.spend / minor_per_unit;
      w.visits += d.engaged;
      w.logins += d.logins;
      w.opens += d.email_opens;
      w.clicks += d.email_clicks;
      w.abandons += d.cart_abandons;
    };
    add(w365);
    if (age < 90) add(w90);
    if (age < 30) add(w30);
    if (age >= 30 && age < 90) add(prior60);
  }
  f[Feature::frequency_30d] = w30.purchases;
  f[Feature::frequency_90d] = w90.purchases;
  f[Feature::frequency_365d] = w365.purchases;
  f[Feature::monetary_30d] = w30.spend;
  f[Feature::monetary_90d] = w90.spend;
  f[Feature::monetary_365d] = w365.spend;
  f[Feature::visits_30d] = w30.visits;
  f[Feature::visits_trend] = Trend(w30.visits, 30, prior60.visits, 60);
  f[Feature::logins_30d] = w30.logins;
  f[Feature::logins_trend] = Trend(w30.logins, 30, prior60.logins, 60);
  const double basket_recent = Ratio(w30.spend, w30.purchases);
  const double basket_before = Ratio(prior60.spend, prior60.purchases);
  f[Feature::basket_30d] = basket_recent;
  f[Feature::basket_trend] = (std::isnan(basket_recent) || std::isnan(basket_before))
                                 ? kNaN
                                 : Trend(basket_recent, 1, basket_before, 1);
  const double response_recent = Ratio(w30.clicks, w30.opens);
  const double response_before = Ratio(prior60.clicks, prior60.opens);
  f[Feature::email_response_rate_30d] = response_recent;
  f[Feature::email_response_trend] =
      (std::isnan(response_recent) || std::isnan(response_before)) ? kNaN : response_recent - response_before;
  f[Feature::cart_abandons_30d] = w30.abandons;

  // Category mix over the year, and how the last 90 days' mix differs from the rest of it.
  std::map<uint16_t, std::pair<double, double>> mix;  // category -> (last 90 days, days 91-365)
  double recent_total = 0, older_total = 0;
  for (const CategoryDay& c : categories_) {
    const int32_t age = today - c.day;
    if (age < 0 || age >= kRetainedDays) continue;
    auto& [recent, older] = mix[c.category];
    (age < 90 ? recent : older) += c.spend;
    (age < 90 ? recent_total : older_total) += c.spend;
  }
  f[Feature::category_count_365d] = static_cast<double>(mix.size());
  if (recent_total + older_total > 0) {
    uint16_t top = 0;
    double top_spend = -1, shift = 0;
    for (const auto& [category, spend] : mix) {
      const double total = spend.first + spend.second;
      if (total > top_spend) {
        top_spend = total;
        top = category;
      }
      if (recent_total > 0 && older_total > 0) shift += std::abs(spend.first / recent_total - spend.second / older_total);
    }
    f.top_category = name(top);
    f[Feature::top_category_share_365d] = top_spend / (recent_total + older_total);
    f[Feature::category_shift] = (recent_total > 0 && older_total > 0) ? shift / 2 : kNaN;
  }
  for (size_t i = 0; i < kPurposes.size(); ++i) {
    if (consents_granted_ & (1u << i)) f.consents.emplace_back(kPurposes[i]);
  }
  std::sort(f.consents.begin(), f.consents.end());
  return f;
}

std::optional<MemberState::PurchaseDays> MemberState::purchase_days() const {
  if (purchase_days_ == 0) return std::nullopt;
  return PurchaseDays{first_purchase_day_, last_purchase_day_, purchase_days_, spend_minor_, first_day_spend_minor_};
}

void MemberState::AddSentiment(const core::Json& props, int64_t ms, int32_t day) {
  const auto sentiment = props.find("sentiment");
  if (sentiment == props.end() || !sentiment->is_object()) return;
  const auto score_it = sentiment->find("score");
  if (score_it == sentiment->end() || !score_it->is_number()) return;
  const auto score = static_cast<float>(std::clamp(score_it->get<double>(), -1.0, 1.0));
  if (ms >= last_sentiment_ms_) {
    last_sentiment_ms_ = ms;
    last_sentiment_ = score;
  }
  if (day <= newest_day_ - kTextDays) return;
  auto at = std::lower_bound(texts_.begin(), texts_.end(), day, [](const TextDay& d, int32_t v) { return d.day < v; });
  if (at == texts_.end() || at->day != day) at = texts_.insert(at, TextDay{day, 0, 0});
  if (at->texts == UINT16_MAX) return;
  at->score_sum += score;
  ++at->texts;
}

size_t MemberState::MemoryBytes() const {
  return sizeof(MemberState) + days_.capacity() * sizeof(Day) + categories_.capacity() * sizeof(CategoryDay) +
         texts_.capacity() * sizeof(TextDay);
}

}  // namespace loyalty::features
