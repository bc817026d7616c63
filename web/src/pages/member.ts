// One member, whole: profile (personal data only for roles that may read it), points and
// tier, scores with the reasons in plain words, what to offer next, and what-if sliders that
// re-score the member with changed behaviour.

import { ApiError } from "../api";
import { h, kpi, notice, section, table } from "../dom";
import { count, dateTime, minor, money, number, share, words } from "../format";
import type { Page, PageContext } from "./page";

interface Contribution { feature: string; value: number | null; effect: number; words: string }
interface ChurnExplanation { model: string; probability: number; base_probability: number; top_contributions: Contribution[] }
interface Interval { estimate: number; low: number; high: number }
interface Scores {
  member: string; as_of: string; segment: string | null;
  churn: ChurnExplanation | null;
  clv: { currency: string; model: string; value: Interval; expected_purchases: Interval; probability_alive: Interval } | null;
  next_purchase: { median_days: number; low_days: number; high_days: number; probability_within_30_days: number } | null;
  micro_segment: { description: string } | null;
  unavailable: string[];
}
interface Features { features: Record<string, number | string | string[] | null>; rfm: { segment: string } | null }
interface Balance { available: number; pending: number; total: number }
interface Tier { tier: string; next_tier: string | null; needed_for_next: number | null; qualifying: number }
interface Decision { offers: { offer: string; kind: string; channel: string; expected_value_minor: number; response_probability: number; routing: string; send_at: string }[];
  explanation: { excluded: Record<string, string[]> }; holdout: boolean; strategy: string }
interface Event { at: string; type: string; channel: string; properties: Record<string, unknown> }
interface Profile { identifiers: { kind: string; value: string }[]; merged_profiles: string[] }

// The what-if sliders: features a manager can move, with their range and step.
const SLIDERS: { feature: string; label: string; min: number; max: number; step: number }[] = [
  { feature: "recency_days", label: "Days since last purchase", min: 0, max: 365, step: 1 },
  { feature: "visits_30d", label: "Visits in the last 30 days", min: 0, max: 30, step: 1 },
  { feature: "frequency_90d", label: "Purchases in the last 90 days", min: 0, max: 20, step: 1 },
  { feature: "open_tickets", label: "Open service tickets", min: 0, max: 5, step: 1 },
  { feature: "sentiment_last", label: "Tone of the last message (−1 to 1)", min: -1, max: 1, step: 0.05 },
];

function reasons(churn: ChurnExplanation): HTMLElement {
  return h("ul", { class: "reasons" }, churn.top_contributions.map((c) =>
    h("li", { class: c.effect >= 0 ? "up" : "down" }, c.words)));
}

function whatIf(ctx: PageContext, member: string, churn: ChurnExplanation, features: Features): HTMLElement {
  const result = h("div", { class: "whatif-result", "aria-live": "polite", "data-testid": "whatif-result" },
    kpi("Churn risk now", share(churn.probability), churn.model),
    kpi("With these changes", share(churn.probability), "move a slider", "whatif-after"));
  const changed: Record<string, number> = {};
  let pending: number | undefined;
  const rescore = () => {
    window.clearTimeout(pending);
    pending = window.setTimeout(async () => {
      try {
        const answer = await ctx.api.post<{ before: ChurnExplanation; after: ChurnExplanation }>(
          `/v1/members/${encodeURIComponent(member)}/what-if`, { features: changed });
        const delta = answer.after.probability - answer.before.probability;
        result.replaceChildren(
          kpi("Churn risk now", share(answer.before.probability), churn.model),
          kpi("With these changes", share(answer.after.probability), `${delta >= 0 ? "+" : "−"}${share(Math.abs(delta))}`, "whatif-after"),
          h("div", { class: "whatif-reasons" }, h("h3", {}, "Why, with these changes"), reasons(answer.after)));
      } catch (e) {
        result.replaceChildren(notice((e as ApiError).message, "error"));
      }
    }, 150);
  };
  const sliders = SLIDERS.map((s) => {
    const current = features.features[s.feature];
    const start = typeof current === "number" ? Math.min(s.max, Math.max(s.min, current)) : s.min;
    const id = `whatif-${s.feature}`;
    const output = h("output", { for: id }, number(start));
    const input = h("input", { id, type: "range", min: s.min, max: s.max, step: s.step, value: start,
      "data-feature": s.feature, "aria-valuetext": String(start) });
    input.addEventListener("input", () => {
      const value = Number(input.value);
      changed[s.feature] = value;
      output.textContent = number(value);
      input.setAttribute("aria-valuetext", String(value));
      rescore();
    });
    return h("div", { class: "slider" }, h("label", { for: id }, s.label), input, output);
  });
  return section("What if", h("p", { class: "help" }, "Move a slider to re-score this member as if their behaviour changed. Nothing is stored."),
    h("div", { class: "whatif" }, h("div", { class: "sliders" }, sliders), result));
}

function search(ctx: PageContext, current?: string): HTMLElement {
  const input = h("input", { id: "member-id", name: "member", required: true, value: current ?? "", placeholder: "m0000010, ana, …" });
  const form = h("form", { class: "search", role: "search" },
    h("label", { for: "member-id" }, "Member id"), input, h("button", { type: "submit", class: "primary" }, "Open"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) ctx.navigate("members", input.value.trim());
  });
  return form;
}

export const memberPage: Page = async (ctx) => {
  const { api } = ctx;
  const member = ctx.params[0];
  if (!member) {
    return h("div", { class: "page" }, search(ctx),
      h("p", { class: "help" }, "Open a member by id to see their points, scores, the reasons behind them and what to offer next."));
  }
  const id = encodeURIComponent(member);
  let balance: Balance;
  try {
    balance = await api.get<Balance>(`/v1/members/${id}/balance`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return h("div", { class: "page" }, search(ctx, member), notice(`No member '${member}'.`, "error"));
    throw e;
  }
  const pii = api.can("read_pii");
  const [tier, scores, features, recs, decision, profile, events, liability] = await Promise.all([
    api.get<Tier>(`/v1/members/${id}/tier`),
    api.get<Scores>(`/v1/members/${id}/scores`).catch((e: ApiError) => e),
    api.get<Features>(`/v1/members/${id}/features`).catch(() => null),
    api.get<{ items: { sku: string; score: number }[] }>(`/v1/members/${id}/recommendations?n=5`).catch(() => null),
    api.can("decide") ? api.post<Decision>("/v1/decisions", { member, dry_run: true }).catch(() => null) : Promise.resolve(null),
    pii ? api.get<Profile>(`/v1/members/${id}`).catch(() => null) : Promise.resolve(null),
    pii ? api.get<Event[]>(`/v1/members/${id}/events?limit=20`).catch(() => null) : Promise.resolve(null),
    api.get<{ value: { currency: string } }>("/v1/liability").catch(() => null),
  ]);
  const currency = liability?.value.currency ?? (scores instanceof ApiError ? null : scores.clv?.currency ?? null);

  const header = section("Profile",
    h("div", { class: "kpis" },
      kpi("Member", member, pii ? "" : "pseudonymous id (your role sees no personal data)", "member-id"),
      kpi("Points", count(balance.available), balance.pending ? `${count(balance.pending)} pending` : "available", "member-points"),
      kpi("Tier", tier.tier, tier.next_tier ? `${count(tier.needed_for_next)} more for ${tier.next_tier}` : "top tier"),
      kpi("Segment", features?.rfm?.segment ?? "–", scores instanceof ApiError ? "" : scores.micro_segment?.description ?? "")),
    profile && profile.identifiers.length
      ? table(["Identifier", "Value"], profile.identifiers.map((i) => [words(i.kind), i.value]), "Personal data (read access is audited)")
      : null);

  const parts: (HTMLElement | null)[] = [search(ctx, member), header];
  if (scores instanceof ApiError) {
    parts.push(notice(`Scores are not available: ${scores.message}`, "error"));
  } else {
    const clv = scores.clv;
    const next = scores.next_purchase;
    parts.push(section("Scores",
      h("div", { class: "kpis" },
        scores.churn ? kpi("Churn risk", share(scores.churn.probability), `program average ${share(scores.churn.base_probability)} · ${scores.churn.model}`, "member-churn") : null,
        clv ? kpi("12-month value", money(clv.value.estimate, clv.currency), `${money(clv.value.low, clv.currency)} to ${money(clv.value.high, clv.currency)} · ${clv.model}`) : null,
        next ? kpi("Next purchase", `in ~${count(next.median_days)} days`, `${share(next.probability_within_30_days)} chance within 30 days`) : null),
      scores.churn ? h("div", {}, h("h3", {}, "What drives the churn risk"), reasons(scores.churn)) : null,
      scores.unavailable.length ? notice(`Not scored: ${scores.unavailable.join(", ")}`) : null));
    if (scores.churn && features) parts.push(whatIf(ctx, member, scores.churn, features));
  }
  if (decision) {
    const excluded = Object.entries(decision.explanation.excluded ?? {}).map(([why, offers]) => `${offers.join(", ")}: ${why}`);
    parts.push(section("Next best action",
      decision.holdout ? notice("This member is in the holdout group: no marketing, to measure the program's lift.") : null,
      decision.offers.length
        ? table(["Offer", "Kind", "Channel", "Send at", "Response chance", "Expected value", "Routing"],
          decision.offers.map((o) => [o.offer, words(o.kind), o.channel, dateTime(o.send_at), share(o.response_probability), currency ? minor(o.expected_value_minor, currency) : number(o.expected_value_minor / 100), o.routing]),
          `Preview under the ${decision.strategy} strategy (nothing sent or reserved)`)
        : notice("No offer for this member now."),
      excluded.length ? h("ul", { class: "help" }, excluded.map((e) => h("li", {}, e))) : null));
  }
  if (recs && recs.items.length) {
    parts.push(section("Recommended products", table(["Product", "Score"], recs.items.map((r) => [r.sku, number(r.score)]))));
  }
  if (events) {
    parts.push(section("Recent events", table(["When", "Event", "Channel"], events.map((e) => [dateTime(e.at), words(e.type), e.channel]))));
  } else if (!pii) {
    parts.push(notice("The event timeline holds personal data; your role does not see it."));
  }
  return h("div", { class: "page" }, ...parts);
};
