// Trust: how the program treats each group of the protected attribute (offers, value, the churn
// model's hits, with alerts), which members allow what (consent coverage per purpose), and, for
// those who may read it, who did what (the audit trail) and whether its hash chain is intact.

import { ApiError } from "../api";
import { chart } from "../charts";
import { h, kpi, notice, section, table } from "../dom";
import { count, dateTime, minor, share, words } from "../format";
import type { Kpis } from "./overview";
import type { Page } from "./page";

interface Verification { ok: boolean; entries: number; first_broken: number | null; problem: string | null }
interface AuditEntry { seq: number; at: string; actor: string; role: string; action: string; target: string; member: string | null; reason: string | null; status: number }

interface Rate { value: number; ci_low: number; ci_high: number }
interface Comparison { difference: number; ci_low: number; ci_high: number }
interface Fairness {
  attribute: string; reference: string; members_with_attribute: number; alerted_groups: string[]; route_alerts_to_review: boolean;
  parity: { since: string; groups: { group: string; members: number; offered: Rate; offered_difference: Comparison;
    offered_ratio: { value: number | null }; value_per_member: number; value_ratio: number }[] };
  churn: { model: string | null; note?: string; cutoff?: string; threshold?: number;
    groups?: { group: string; threshold: number; true_positive_rate: Rate; false_positive_rate: Rate;
      equal_opportunity_difference: Comparison; equalized_odds_difference: number }[] };
  alerts: { group: string; metric: string; value: number; limit: number }[];
}

const interval = (r: Rate) => `${share(r.value)} (${share(r.ci_low)}–${share(r.ci_high)})`;
const points = (c: Comparison) => `${c.difference >= 0 ? "+" : ""}${(100 * c.difference).toFixed(1)} pts (${(100 * c.ci_low).toFixed(1)} to ${(100 * c.ci_high).toFixed(1)})`;

async function fairnessSection(ctx: Parameters<Page>[0], currency: string): Promise<HTMLElement> {
  let f: Fairness;
  try {
    f = await ctx.api.get<Fairness>("/v1/fairness");
  } catch (e) {
    // Without it the rest of the page still shows.
    return section("Fairness", notice((e as ApiError).status === 422
      ? "No protected attribute is configured (PUT /v1/fairness/settings, `loyalty fairness settings set`)."
      : `Fairness could not be read: ${(e as ApiError).message}`, (e as ApiError).status === 422 ? "info" : "error"));
  }
  const status = h("div", { "aria-live": "polite" });
  const check = async () => {
    status.replaceChildren();
    try {
      await ctx.api.post("/v1/fairness/check", {});
      await ctx.refresh();
    } catch (e) {
      status.appendChild(notice((e as ApiError).message, "error"));
    }
  };
  const alerted = new Set(f.alerted_groups);
  const badge = (group: string) => alerted.has(group) ? h("span", { class: "badge warn" }, "alert") : null;
  return section(`Fairness by ${words(f.attribute)}`,
    h("p", { class: "help" }, `${count(f.members_with_attribute)} members have a value; every group is compared with ${f.reference}. `,
      "An alert needs a difference past its threshold whose 95% interval excludes no difference",
      f.route_alerts_to_review ? "; an alerted group's offers then wait for a person." : "."),
    f.alerts.length
      ? h("ul", { class: "alerts", "data-testid": "fairness-alerts" }, f.alerts.map((a) =>
        h("li", {}, h("strong", {}, a.group), `: ${words(a.metric).toLowerCase()} ${a.value.toFixed(3)} beyond ${a.limit}`)))
      : h("p", { "data-testid": "fairness-alerts" }, "No alerts."),
    table(["Group", "Members", "Offered (95%)", "Δ vs reference", "Ratio", "Value per member"],
      f.parity.groups.map((g) => [h("span", {}, g.group, badge(g.group)), count(g.members), interval(g.offered),
        g.group === f.reference ? "reference" : points(g.offered_difference),
        g.offered_ratio.value === null ? "–" : g.offered_ratio.value.toFixed(2), minor(g.value_per_member, currency)]),
      `Offers made since ${dateTime(f.parity.since)}`),
    f.churn.groups
      ? table(["Group", "Threshold", "Leavers found (TPR)", "Stayers flagged (FPR)", "Equal opportunity Δ", "Equalized odds Δ"],
        f.churn.groups.map((g) => [g.group, String(g.threshold), interval(g.true_positive_rate), interval(g.false_positive_rate),
          g.group === f.reference ? "reference" : points(g.equal_opportunity_difference), g.equalized_odds_difference.toFixed(3)]),
        `Churn model ${f.churn.model} on the members it held out in training (features of ${dateTime(f.churn.cutoff)})`)
      : notice(f.churn.note ?? "No churn model yet."),
    ctx.api.can("manage_offers") ? h("button", { type: "button", onclick: check, "data-testid": "fairness-check" },
      "Check now (alerts start routing)") : null,
    status);
}

async function auditTrail(api: Parameters<Page>[0]["api"]): Promise<HTMLElement> {
  const [verification, trail] = await Promise.all([
    api.get<Verification>("/v1/audit/verify"),
    api.get<{ entries: AuditEntry[] }>("/v1/audit?limit=100"),
  ]);
  const status = verification.ok
    ? kpi("Audit chain", "Intact", `${count(verification.entries)} entries verified`, "audit-status")
    : kpi("Audit chain", "Broken", `at entry ${verification.first_broken}: ${verification.problem}`, "audit-status");
  return section("Audit trail",
    h("div", { class: "kpis" }, status),
    verification.ok ? null : notice("The audit trail was changed after it was written. Keep the store as it is and investigate.", "error"),
    table(["When", "Who", "Role", "Action", "Target", "Member", "Reason", "Status"],
      trail.entries.map((e) => [dateTime(e.at), e.actor, e.role, e.action, e.target, e.member ?? "–", e.reason ?? "–", String(e.status)]),
      "The 100 most recent entries"));
}

export const governancePage: Page = async (ctx) => {
  const { api } = ctx;
  const [kpis, liability] = await Promise.all([
    api.get<Kpis>("/v1/kpis?months=1"),
    api.get<{ value: { currency: string } }>("/v1/liability").catch(() => null),
  ]);
  // Every read happens before any chart is made: a chart draws on the next frame, and must be
  // in the page by then.
  const fairness = await fairnessSection(ctx, liability?.value.currency ?? "EUR");
  const audit = api.can("read_audit") ? await auditTrail(api) : notice("The audit trail is for administrators and auditors.");
  const purposes = Object.entries(kpis.consent);
  const consent = section("Consent coverage",
    h("p", { class: "help" }, `Of ${count(kpis.current.members)} members, those whose latest choice allows each use. `,
      "Decisions never market on a channel without its consent."),
    chart("Share of members who consent, per purpose", {
      tooltip: {}, grid: { left: 150, right: 40, top: 10, bottom: 30 },
      xAxis: { type: "value", max: 100, name: "%" },
      yAxis: { type: "category", inverse: true, data: purposes.map(([p]) => words(p)) },
      series: [{ type: "bar", data: purposes.map(([, c]) => Math.round((c.share ?? 0) * 1000) / 10) }],
    }, "chart-consent"),
    table(["Purpose", "Members", "Share"], purposes.map(([p, c]) => [words(p), count(c.members), share(c.share)])));
  return h("div", { class: "page" }, fairness, consent, audit);
};
