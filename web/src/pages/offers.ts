// The automation phase (admins move it and roll it back), the offer catalogue with its rules
// and spend, the contact policy with the risk thresholds, the strategy in force (with its
// one-step rollback) and the experiments with their results.

import { ApiError } from "../api";
import { h, kpi, notice, section, table } from "../dom";
import { count, dateTime, minor, number, share, words } from "../format";
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
interface Experiment { id: string; name: string; status: string; paused?: boolean; traffic_percent: number; arms: { name: string }[] }
interface Guardrails { every_days: number; min_auc: number; max_auc_drop: number; max_brier_rise: number }
interface Automation {
  phase: string; strategies: Record<string, string>; effective: Record<string, string>; retraining: Guardrails;
  risk_thresholds: { review_cost_minor: number; escalate_cost_minor: number; review_points: number | null; escalate_points: number | null;
    review_member_clv_minor: number | null; review_uncertainty: number | null; tier_change_risk: string };
  phases: { name: string; meaning: string }[]; rollback_available: boolean;
  history: { at: string; actor: string; action: string; phase: string; strategies: Record<string, string>; reason: string }[];
}

function automationCard(ctx: PageContext, a: Automation, cur: string): HTMLElement {
  const status = h("div", { "aria-live": "polite" });
  const change = async (path: string, body: unknown, method: "put" | "post") => {
    status.replaceChildren();
    try {
      await (method === "put" ? ctx.api.put(path, body) : ctx.api.post(path, body));
      await ctx.refresh();
    } catch (e) {
      status.appendChild(notice((e as ApiError).message, "error"));
    }
  };
  const current = a.phases.findIndex((p) => p.name === a.phase);
  const ladder = h("ol", { class: "phases", "aria-label": "Automation phases, from the most human to the most automatic" },
    a.phases.map((p, i) => h("li", { class: i === current ? "phase current" : i < current ? "phase passed" : "phase",
      "aria-current": i === current ? "step" : null, "data-testid": i === current ? "phase-current" : null },
    h("strong", {}, words(p.name)), h("span", {}, p.meaning))));
  const own = Object.entries(a.strategies);
  const t = a.risk_thresholds;
  const risk = [
    `cost from ${minor(t.review_cost_minor, cur)} (review) and ${minor(t.escalate_cost_minor, cur)} (escalate)`,
    t.review_points !== null ? `points from ${count(t.review_points)}${t.escalate_points !== null ? ` / ${count(t.escalate_points)}` : ""}` : null,
    t.review_member_clv_minor !== null ? `members worth ${minor(t.review_member_clv_minor, cur)} or more` : null,
    t.review_uncertainty !== null ? `response estimates unsure beyond ${number(t.review_uncertainty)} (sd / mean)` : null,
    `a tier change is ${t.tier_change_risk} risk`,
  ].filter((x): x is string => x !== null);

  let controls: HTMLElement | null = null;
  if (ctx.api.can("set_automation")) {
    const phase = h("select", { id: "automation-phase" }, a.phases.map((p) => h("option", { value: p.name, selected: p.name === a.phase }, words(p.name))));
    const reason = h("input", { id: "automation-reason", type: "text", maxlength: 500, required: true, placeholder: "why, for the audit trail" });
    const needReason = () => {
      if (reason.value.trim()) return true;
      status.replaceChildren(notice("Say why the phase changes: the reason is kept with the change.", "error"));
      reason.focus();
      return false;
    };
    controls = h("form", { class: "inline-form", onsubmit: (e: Event) => {
      e.preventDefault();
      if (needReason()) void change("/v1/automation", { ...a, phase: phase.value, reason: reason.value.trim(), effective: undefined,
        risk_thresholds: undefined, phases: undefined, history: undefined, rollback_available: undefined }, "put");
    } },
    h("label", { for: "automation-phase" }, "Move to"), phase,
    h("label", { for: "automation-reason" }, "Reason"), reason,
    h("button", { type: "submit", class: "primary" }, "Move"),
    h("button", { type: "button", disabled: !a.rollback_available, onclick: () => {
      if (needReason()) void change("/v1/automation/rollback", { reason: reason.value.trim() }, "post");
    } }, "Roll back the last move"));
  }

  return section("Automation phase",
    ladder,
    own.length ? h("p", {}, "Strategies with a phase of their own: ", own.map(([s, p]) => `${s} ${p}`).join(", ")) : null,
    h("p", { class: "kpi-note" }, "Risk: an offer is medium or high risk by ", risk.join("; "), ". ",
      a.phase === "continuous"
        ? `Churn retrains every ${a.retraining.every_days} days and replaces the champion only with ROC AUC ≥ ${number(a.retraining.min_auc)}, at most ${number(a.retraining.max_auc_drop)} below it, and Brier at most ${number(a.retraining.max_brier_rise)} above it.`
        : ""),
    controls ?? h("p", { class: "kpi-note" }, "Only an admin moves the program between phases."),
    status,
    a.history.length
      ? table(["When", "Change", "Phase", "By", "Reason"], a.history.map((c) => [dateTime(c.at), c.action, words(c.phase), c.actor, c.reason]),
        "Latest changes")
      : notice("The program has never moved: it starts in the limited phase."));
}

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
      kpi("In force", strategy.strategy === "ai" ? "AI" : words(strategy.strategy), `for ${number(strategy.share_percent)}% of members; the rest get ${strategy.fallback}`, "strategy")),
    ctx.api.can("manage_offers") ? h("button", { type: "button", onclick: rollback }, "Roll back to the previous strategy") : null,
    status);
}

export const offersPage: Page = async (ctx) => {
  const { api } = ctx;
  const [automation, offers, budgets, policy, strategy, experiments, liability] = await Promise.all([
    api.get<Automation>("/v1/automation"),
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
        o.review_when ? h("code", {}, o.review_when) : "risk thresholds only",
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
    ? experiments.experiments.map((e, i) => section(`Experiment ${e.name || e.id} (${e.paused ? "paused below the expanded phase" : e.status})`,
      results[i] ? table(["Arm", "Strategy", "Members", "Response rate", "Δ vs control (95%)", "Revenue per member", "Δ revenue, CUPED (95%)"],
        results[i]!.results.map((a) => [a.arm, a.strategy, count(a.members), share(a.response_rate),
          a.response_rate_vs_control ? `${share(a.response_rate_vs_control.difference)} (${share(a.response_rate_vs_control.ci_low)} to ${share(a.response_rate_vs_control.ci_high)})` : "control",
          minor(a.revenue_per_member_minor, cur),
          a.revenue_vs_control_cuped ? `${minor(a.revenue_vs_control_cuped.difference, cur)} (${minor(a.revenue_vs_control_cuped.ci_low, cur)} to ${minor(a.revenue_vs_control_cuped.ci_high, cur)})` : "control"]))
        : notice("Results are not available.")))
    : [section("Experiments", notice("No experiments yet. Start one with `loyalty experiments create` or POST /v1/experiments."))];

  return h("div", { class: "page" }, automationCard(ctx, automation, cur), strategyCard(ctx, strategy), catalogue, contact, ...experimentCards);
};
