// What the program owes in points, and what part of it will never be redeemed.

import { chart } from "../charts";
import { h, kpi, section, table } from "../dom";
import { count, money, share } from "../format";
import type { Page } from "./page";

interface Band { mean: number; low: number; high: number }
interface Breakage {
  as_of: string;
  model: string;
  members: number;
  outstanding_points: number;
  outstanding_value: { amount: string; currency: string };
  breakage_share: Band;
  expected_breakage_value: { amount: string; currency: string };
  liability_points: (Band & { month: number })[];
  liability_value_at_horizon: { amount: string; currency: string };
  issued_points: Band;
  redeemed_points: Band;
  expired_points: Band;
}

export const financePage: Page = async ({ api }) => {
  const b = await api.get<Breakage>("/v1/points/breakage?months=12");
  const cur = b.outstanding_value.currency;
  const months = b.liability_points.map((p) => `+${p.month} mo`);
  const band = (p: Band) => Math.round(p.high - p.low);
  return h("div", { class: "page" },
    h("p", { class: "as-of" }, `As of ${b.as_of.slice(0, 10)} · ${b.model} · ${count(b.members)} members`),
    section("Points liability",
      h("div", { class: "kpis" },
        kpi("Outstanding points", count(b.outstanding_points), `worth ${money(b.outstanding_value.amount, cur)}`, "kpi-outstanding"),
        kpi("Expected breakage", share(b.breakage_share.mean),
          `of outstanding points never redeemed (${share(b.breakage_share.low)} to ${share(b.breakage_share.high)})`, "kpi-breakage"),
        kpi("Breakage value", money(b.expected_breakage_value.amount, cur), "released from the liability over time"),
        kpi("Liability in 12 months", money(b.liability_value_at_horizon.amount, cur), "expected, after earning, redeeming and expiry")),
      chart("Forecast of outstanding points over the next 12 months with a 90% band", {
        tooltip: { trigger: "axis" }, legend: {}, grid: { left: 70, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: months }, yAxis: { type: "value", name: "points", scale: true },
        series: [
          { name: "low", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, data: b.liability_points.map((p) => Math.round(p.low)) },
          { name: "90% band", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, areaStyle: { opacity: 0.25 }, data: b.liability_points.map(band) },
          { name: "Expected", type: "line", data: b.liability_points.map((p) => Math.round(p.mean)) },
        ],
      }, "chart-liability")),
    section("Next 12 months of points",
      table(["Flow", "Expected", "Low", "High"], [
        ["Issued", count(b.issued_points.mean), count(b.issued_points.low), count(b.issued_points.high)],
        ["Redeemed", count(b.redeemed_points.mean), count(b.redeemed_points.low), count(b.redeemed_points.high)],
        ["Expired", count(b.expired_points.mean), count(b.expired_points.low), count(b.expired_points.high)],
      ], "Simulated futures per member from the breakage model")));
};
