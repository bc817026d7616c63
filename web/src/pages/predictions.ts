// The models: how they score the program now, how good they are, what drifted, and which
// version is the champion (promote and roll back for those who may).

import { ApiError } from "../api";
import { chart } from "../charts";
import { h, kpi, notice, section, table } from "../dom";
import { count, dateTime, money, number, share } from "../format";
import type { Page, PageContext } from "./page";

interface ModelVersion {
  kind: string; version: number; name: string; aliases: string[]; created_at: string; creator: string;
  metrics: Record<string, unknown>;
}
interface ScoresSummary {
  customers: number;
  churn: { high_risk: number; histogram: number[]; mean: number; model: string } | null;  // null before a model is trained
  clv: { currency: string; total: number; p10: number; p50: number; p90: number; p99: number; model: string } | null;
}
interface Drift { model: string; features: { name: string; psi: number; level: string }[]; score?: { level: string; psi: number } }
interface Calibration { count: number; mean_predicted: number; observed_rate: number }

function quality(model: ModelVersion): string {
  const m = model.metrics as Record<string, any>;
  if (m.model?.roc_auc !== undefined) return `ROC AUC ${number(m.model.roc_auc)} (rule ${number(m.baseline?.roc_auc)})`;
  if (m.backtest_liability_mape !== undefined) return `back-test liability error ${share(m.backtest_liability_mape)}`;
  if (m.holdout?.mape !== undefined) return `holdout error ${share(m.holdout.mape)}`;
  return "–";
}

function registry(ctx: PageContext, versions: ModelVersion[]): HTMLElement {
  const status = h("div", { "aria-live": "polite" });
  const act = async (kind: string, action: "promote" | "rollback", version?: number) => {
    status.replaceChildren();
    try {
      const body = action === "promote" ? { version } : {};
      const champion = await ctx.api.post<ModelVersion>(`/v1/models/${kind}/${action}`, body);
      await ctx.refresh();
      document.getElementById("registry-status")?.replaceChildren(
        notice(`${kind}: ${champion.name} is the champion now.`));
    } catch (e) {
      status.appendChild(notice((e as ApiError).message, "error"));
    }
  };
  const canManage = ctx.api.can("manage_models");
  const kinds = [...new Set(versions.map((v) => v.kind))];
  const rows = versions.map((v) => {
    const champion = v.aliases.includes("champion");
    const actions = !canManage ? "–" : champion
      ? (versions.filter((o) => o.kind === v.kind).length > 1
        ? h("button", { type: "button", "data-testid": `rollback-${v.kind}`, onclick: () => act(v.kind, "rollback") }, "Roll back")
        : "–")
      : h("button", { type: "button", "data-testid": `promote-${v.name}`, onclick: () => act(v.kind, "promote", v.version) }, "Promote");
    return [v.name, champion ? h("strong", { "data-testid": `champion-${v.kind}` }, "champion") : (v.aliases.join(", ") || "–"),
      dateTime(v.created_at), v.creator, quality(v), actions];
  });
  return section("Model versions",
    h("p", { class: "help" }, `${kinds.length} kinds, ${versions.length} versions. Promoting or rolling back changes which version scores members from the next request on; both are recorded.`),
    h("div", { id: "registry-status", "aria-live": "polite" }), status,
    table(["Version", "Alias", "Trained", "By", "Quality", ""], rows));
}

export const predictionsPage: Page = async (ctx) => {
  const { api } = ctx;
  const versions = await api.get<ModelVersion[]>("/v1/models");
  const [summary, drift] = await Promise.all([
    api.get<ScoresSummary>("/v1/scores/summary").catch((e: ApiError) => e),
    api.get<Drift>("/v1/models/churn/drift").catch((e: ApiError) => e),
  ]);
  const parts: (HTMLElement | null)[] = [];
  if (summary instanceof ApiError) {
    parts.push(notice(`Scores are not available: ${summary.message}`, "error"));
  } else if (!summary.churn || !summary.clv) {
    parts.push(notice("No churn or lifetime value model is trained yet: `loyalty models train` makes them, then the scores show here."));
  } else {
    const buckets = summary.churn.histogram.map((_, i) => `${i * 10}–${i * 10 + 10}%`);
    parts.push(section("Scores across the program",
      h("div", { class: "kpis" },
        kpi("Customers scored", count(summary.customers)),
        kpi("Mean churn risk", share(summary.churn.mean), summary.churn.model, "kpi-mean-churn"),
        kpi("High churn risk", count(summary.churn.high_risk), "above 50%"),
        kpi("Median 12-month value", money(summary.clv.p50, summary.clv.currency),
          `10% below ${money(summary.clv.p10, summary.clv.currency)}, 10% above ${money(summary.clv.p90, summary.clv.currency)} (${summary.clv.model})`)),
      h("div", { class: "grid2" },
        chart("Churn risk distribution: members per 10-point band", {
          tooltip: {}, grid: { left: 50, right: 10, top: 20, bottom: 40 },
          xAxis: { type: "category", data: buckets, name: "churn risk", nameLocation: "middle", nameGap: 28 },
          yAxis: { type: "value", name: "members" },
          series: [{ type: "bar", data: summary.churn.histogram }],
        }, "chart-churn-histogram"),
        chart("12-month customer value quantiles", {
          tooltip: {}, grid: { left: 60, right: 10, top: 20, bottom: 30 },
          xAxis: { type: "category", data: ["p10", "p50", "p90", "p99"] }, yAxis: { type: "value", name: summary.clv.currency },
          series: [{ type: "bar", data: [summary.clv.p10, summary.clv.p50, summary.clv.p90, summary.clv.p99].map((x) => Math.round(x * 100) / 100) }],
        }, "chart-clv"))));
  }
  const churn = versions.find((v) => v.kind === "churn" && v.aliases.includes("champion"));
  const calibration = (churn?.metrics as { calibration?: Calibration[] } | undefined)?.calibration;
  if (churn && calibration) {
    const m = churn.metrics as Record<string, any>;
    parts.push(section(`Churn model quality (${churn.name})`,
      h("div", { class: "kpis" },
        kpi("ROC AUC", number(m.model?.roc_auc), `held-out members; the RFM recency rule scores ${number(m.baseline?.roc_auc)}`, "kpi-auc"),
        kpi("Lift in the top decile", number(m.model?.lift_top_decile), "churn rate of the riskiest 10% over the average"),
        kpi("Brier score", number(m.model?.brier), "lower is better")),
      chart("Calibration: predicted churn against observed churn on held-out members", {
        tooltip: { trigger: "item" }, grid: { left: 60, right: 20, top: 20, bottom: 40 },
        xAxis: { type: "value", min: 0, max: 1, name: "predicted", nameLocation: "middle", nameGap: 26 },
        yAxis: { type: "value", min: 0, max: 1, name: "observed" },
        series: [
          { name: "perfect", type: "line", symbol: "none", lineStyle: { type: "dashed" }, data: [[0, 0], [1, 1]] },
          { name: "model", type: "scatter", symbolSize: (v: number[]) => 6 + Math.sqrt(v[2] ?? 1), data: calibration.map((c) => [c.mean_predicted, c.observed_rate, c.count]) },
        ],
      }, "chart-calibration")));
  }
  if (drift instanceof ApiError) {
    parts.push(notice(`Drift is not available: ${drift.message}`));
  } else {
    const top = drift.features.slice(0, 12);
    parts.push(section(`Feature drift since training (${drift.model})`,
      h("p", { class: "help" }, "Population stability index per feature: below 0.1 stable, 0.1 to 0.25 watch, above 0.25 act (retrain)."),
      chart("Population stability index of the most drifted features", {
        tooltip: {}, grid: { left: 170, right: 30, top: 10, bottom: 30 },
        xAxis: { type: "value", name: "PSI" }, yAxis: { type: "category", inverse: true, data: top.map((f) => f.name) },
        series: [{ type: "bar", data: top.map((f) => ({ value: Math.round(f.psi * 1000) / 1000, itemStyle: { color: f.level === "act" ? "#c0392b" : f.level === "watch" ? "#d9822b" : "#2e8540" } })) }],
      }, "chart-drift")));
  }
  parts.push(registry(ctx, versions));
  return h("div", { class: "page" }, ...parts);
};
