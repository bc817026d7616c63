// The program at a glance: who is active, what they are worth, what is at risk, and what
// waits for a person.

import { chart } from "../charts";
import { h, kpi, section } from "../dom";
import { count, money, share } from "../format";
import type { Page } from "./page";

interface ScoresSummary {
  as_of: string;
  customers: number;
  churn: { high_risk: number; histogram: number[]; mean: number; model: string } | null;  // null before a model is trained
  clv: { currency: string; total: number; p50: number; p90: number; model: string } | null;
}
interface Segments { segments: Record<string, number>; members_without_purchases: number }
interface Liability { outstanding: number; members_with_points: number; value: { amount: string; currency: string } }
export interface Kpis {
  as_of: string;
  currency: string;
  months: { month: string; engaged_members: number; buyers: number; revenue: number;
    revenue_per_active_member: number | null; redeemers: number; redemption_rate: number | null;
    retention_rate: number | null; offers_made: number; offers_accepted: number; offer_response_rate: number | null }[];
  current: { members: number; active_members: number; engagement_rate: number | null; redemption_rate: number | null;
    offer_response_rate: number | null; revenue_per_member: number | null; retention_rate: number | null };
  consent: Record<string, { members: number; share: number | null }>;
  holdout: { treated_members: number; holdout_members: number; revenue_per_treated: number | null;
    revenue_per_holdout: number | null; incremental_revenue: { mean: number; ci_low: number; ci_high: number } | null };
}

export const overviewPage: Page = async ({ api }) => {
  const [kpis, scores, segments, liability] = await Promise.all([
    api.get<Kpis>("/v1/kpis"),
    api.get<ScoresSummary>("/v1/scores/summary").catch(() => null),
    api.get<Segments>("/v1/segments"),
    api.get<Liability>("/v1/liability"),
  ]);
  const c = kpis.current;
  const cur = kpis.currency;
  const months = kpis.months.map((m) => m.month);
  const incremental = kpis.holdout.incremental_revenue;

  const leading = section("Leading indicators",
    h("div", { class: "kpis" },
      kpi("Active members", count(c.active_members), `bought in the last 90 days, of ${count(c.members)}`, "kpi-active"),
      kpi("Engagement rate", share(c.engagement_rate), "members with any visit, login or purchase in 30 days", "kpi-engagement"),
      kpi("Offer response rate", share(c.offer_response_rate), "offers shown in 30 days that were accepted", "kpi-response"),
      kpi("Redemption rate", share(c.redemption_rate), "active members who redeemed in 90 days", "kpi-redemption")),
    chart("Active and engaged members per month", {
      tooltip: { trigger: "axis" }, legend: {}, grid: { left: 50, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: months }, yAxis: { type: "value" },
      series: [
        { name: "Active (bought)", type: "line", data: kpis.months.map((m) => m.buyers) },
        { name: "Engaged (any activity)", type: "line", data: kpis.months.map((m) => m.engaged_members) },
        { name: "Redeemed", type: "bar", data: kpis.months.map((m) => m.redeemers) },
      ],
    }, "chart-activity"));

  const lagging = section("Lagging indicators",
    h("div", { class: "kpis" },
      kpi("Revenue per member", money(c.revenue_per_member, cur), "last 12 months, members who bought", "kpi-revenue"),
      kpi("Retention", share(c.retention_rate), "buyers of the quarter before who bought again this quarter", "kpi-retention"),
      kpi("Incremental revenue", incremental ? money(incremental.mean, cur) : "–",
        incremental ? `per treated member against the holdout (95%: ${money(incremental.ci_low, cur)} to ${money(incremental.ci_high, cur)})`
          : "no decisions with a holdout yet", "kpi-incremental")),
    chart("Revenue and revenue per active member per month", {
      tooltip: { trigger: "axis" }, legend: {}, grid: { left: 60, right: 60, top: 40, bottom: 30 },
      xAxis: { type: "category", data: months },
      yAxis: [{ type: "value", name: cur }, { type: "value", name: "per member" }],
      series: [
        { name: "Revenue", type: "bar", data: kpis.months.map((m) => Math.round(m.revenue)) },
        { name: "Per active member", type: "line", yAxisIndex: 1, data: kpis.months.map((m) => m.revenue_per_active_member === null ? null : Math.round(m.revenue_per_active_member * 100) / 100) },
      ],
    }, "chart-revenue"));

  const risk = section("Risk and value",
    h("div", { class: "kpis" },
      scores?.churn ? kpi("High churn risk", count(scores.churn.high_risk), `members above 50% (${scores.churn.model})`, "kpi-churn")
        : kpi("High churn risk", "–", "no churn model trained yet (loyalty models train)"),
      scores?.clv ? kpi("12-month value", money(scores.clv.total, scores.clv.currency), `expected from ${count(scores.customers)} customers (${scores.clv.model})`)
        : kpi("12-month value", "–", "no lifetime value model trained yet"),
      kpi("Points outstanding", count(liability.outstanding), `worth ${money(liability.value.amount, liability.value.currency)}, held by ${count(liability.members_with_points)} members`)),
    chart("Members per RFM segment", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["40%", "70%"], data: Object.entries(segments.segments).map(([name, value]) => ({ name, value })) }],
    }, "chart-segments"));
  return h("div", { class: "page" }, h("p", { class: "as-of" }, `As of ${kpis.as_of.slice(0, 10)}`), leading, lagging, risk);
};
