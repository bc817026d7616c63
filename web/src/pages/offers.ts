// The offer catalogue with its rules and spend, the contact policy, the strategy in force
// (with its one-step rollback) and the experiments with their results.

import { ApiError } from "../api";
import { h, kpi, notice, section, table } from "../dom";
import { count, minor, number, share, words } from "../format";
import type { Page, PageContext } from "./page";

interface Offer { id: string; name: string; kind: string; channels: string[]; eligibility: string; active: boolean;
  budget_minor: number | null; review_when: string; marketing: boolean; points: number; discount_minor: number }
interface Budgets { offer_budgets_minor: Record<string, number>; offers_committed_minor: Record<string, number>;
  program_budget_minor: number | null; program_committed_minor: number }
interface Policy { max_per_day: number; max_per_week: number; max_per_channel_per_day: number; quiet_start_hour: number; quiet_end_hour: number;
  holdout_percent: number; review_cost_minor: number; escalate_cost_minor: number; review_expiry_hours: number; attribution_days: number }
interface Strategy { strategy: string; fallback: string; share_percent: number }
interface Comparison { difference: number; ci_low: number; ci_high: number; p_value: number }
interface ArmResult { arm: string; strategy: string; members: number; response_rate: number; revenue_per_member_minor: number;
  response_rate_vs_control?: Comparison; revenue_vs_control_cuped?: Comparison }
interface Experiment { id: string; name: string; status: string; traffic_percent: number; arms: { name: string }[] }

function strategyCard(ctx: PageContext, strategy: Strategy): HTMLElement {
  const status = h("div", { "aria-live": "polite" });
  const rollback = async () => {
    status.replaceChildren();
    try {
      await ctx.api.post("/v1/decisions/strategy/rollback", {});
      await ctx.refresh();
    } catch (e) {
      status.appendChild(notice((e as ApiError).message, "error"));
    }
  };
  return section("Strategy",
    h("div", { class: "kpis" },
      kpi("In force", words(strategy.strategy), `for ${number(strategy.share_percent)}% of members; the rest get ${strategy.fallback}`, "strategy")),
    ctx.api.can("manage_offers") ? h("button", { type: "button", onclick: rollback }, "Roll back to the previous strategy") : null,
    status);
}

export const offersPage: Page = async (ctx) => {
  const { api } = ctx;
  const [offers, budgets, policy, strategy, experiments, liability] = await Promise.all([
    api.get<{ offers: Offer[] }>("/v1/offers"),
    api.get<Budgets>("/v1/decisions/budgets"),
    api.get<Policy>("/v1/decisions/policy"),
    api.get<Strategy>("/v1/decisions/strategy"),
    api.get<{ experiments: Experiment[] }>("/v1/experiments"),
    api.get<{ value: { currency: string } }>("/v1/liability").catch(() => null),
  ]);
  const cur = liability?.value.currency ?? "EUR";
  const results = await Promise.all(experiments.experiments.map((e) =>
    api.get<{ results: ArmResult[] }>(`/v1/experiments/${encodeURIComponent(e.id)}/results`).catch(() => null)));

  const catalogue = section("Offer catalogue",
    table(["Offer", "Kind", "Channels", "Who is eligible", "Spent", "Budget", "Goes to review when", "Active"],
      offers.offers.map((o) => [
        h("span", {}, h("strong", {}, o.name), h("br", {}), h("code", {}, o.id)),
        words(o.kind), o.channels.join(", "), h("code", {}, o.eligibility || "everyone"),
        minor(budgets.offers_committed_minor[o.id] ?? 0, cur),
        o.budget_minor === null ? "no limit" : minor(o.budget_minor, cur),
        o.review_when ? h("code", {}, o.review_when) : "cost rule only",
        o.active ? "yes" : "no"])));

  const contact = section("Contact policy and budget",
    h("div", { class: "kpis" },
      kpi("Program spend", minor(budgets.program_committed_minor, cur),
        budgets.program_budget_minor === null ? "no program budget set" : `of ${minor(budgets.program_budget_minor, cur)}`),
      kpi("Contacts per member", `${policy.max_per_day} a day, ${policy.max_per_week} a week`, `${policy.max_per_channel_per_day} per channel a day`),
      kpi("Quiet hours", `${policy.quiet_start_hour}:00–${policy.quiet_end_hour}:00`, "in the member's time zone"),
      kpi("Holdout", share(policy.holdout_percent / 100), "of members get no marketing, to measure lift"),
      kpi("Human review", `from ${minor(policy.review_cost_minor, cur)}`,
        `escalated from ${minor(policy.escalate_cost_minor, cur)}; expires after ${policy.review_expiry_hours} h`)));

  const experimentCards = experiments.experiments.length
    ? experiments.experiments.map((e, i) => section(`Experiment ${e.name || e.id} (${e.status})`,
      results[i] ? table(["Arm", "Strategy", "Members", "Response rate", "Δ vs control (95%)", "Revenue per member", "Δ revenue, CUPED (95%)"],
        results[i]!.results.map((a) => [a.arm, a.strategy, count(a.members), share(a.response_rate),
          a.response_rate_vs_control ? `${share(a.response_rate_vs_control.difference)} (${share(a.response_rate_vs_control.ci_low)} to ${share(a.response_rate_vs_control.ci_high)})` : "control",
          minor(a.revenue_per_member_minor, cur),
          a.revenue_vs_control_cuped ? `${minor(a.revenue_vs_control_cuped.difference, cur)} (${minor(a.revenue_vs_control_cuped.ci_low, cur)} to ${minor(a.revenue_vs_control_cuped.ci_high, cur)})` : "control"]))
        : notice("Results are not available.")))
    : [section("Experiments", notice("No experiments yet. Start one with `loyalty experiments create` or POST /v1/experiments."))];

  return h("div", { class: "page" }, strategyCard(ctx, strategy), catalogue, contact, ...experimentCards);
};
