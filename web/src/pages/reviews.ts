// The review queue: offers the engine routed to a person. Each shows why it was chosen and
// how sure the engine was; a manager approves, rejects with a reason, makes it smaller, makes
// another offer instead, or escalates it, one at a time or a reviewed group at once.

import { ApiError } from "../api";
import { append, h, kpi, notice, section } from "../dom";
import { count, dateTime, minor, number, share, words } from "../format";
import type { Page, PageContext } from "./page";

interface Item {
  decision: string; rank: number; member: string; offer: string; level: string; status: string; channel: string;
  cost_minor: number; expected_value_minor: number; response_probability: number; propensity: number;
  risk: string | null; risk_reasons: string[]; at: string; expires_at: string; strategy: string; verdicts: { action: string; reviewer: string; reason: string | null; at: string }[];
}
interface Explanation {
  candidates: { offer: string; outcome: string; response_probability: number; expected_value_minor: number }[];
  churn_probability: number | null; clv_minor: number | null; facts: Record<string, unknown>;
  excluded: Record<string, string[]>; models: Record<string, string>; segment: string;
}
interface Queue { items: Item[]; matched: number; counts: Record<string, number>; groups: { offer: string; level: string; open: number; cost_minor: number }[] }
interface Stats { acceptance_rate: number | null; override_rate: number | null; approved: number; rejected: number; modified: number; overridden: number; escalations: number; expired: number }

const REASONS = ["too_costly", "wrong_offer", "wrong_member", "bad_timing", "policy", "other"];

function reasonSelect(id: string): HTMLSelectElement {
  return h("select", { id, name: "reason" }, REASONS.map((r) => h("option", { value: r }, words(r))));
}

function explanationView(item: Item, e: Explanation, currency: string): HTMLElement {
  return h("div", { class: "explanation" },
    h("p", {}, `Chosen by the ${item.strategy} strategy with probability ${share(item.propensity)} (the bandit's propensity); `,
      `response chance ${share(item.response_probability)}. Member: segment ${e.segment}`,
      e.churn_probability !== null ? `, churn risk ${share(e.churn_probability)}` : "",
      e.clv_minor !== null ? `, 12-month value ${minor(e.clv_minor, currency)}` : "", "."),
    h("h4", {}, "Offers considered"),
    h("ul", {}, e.candidates.map((c) => h("li", {}, `${c.offer}: ${c.outcome}, response chance ${share(c.response_probability)}, expected value ${minor(c.expected_value_minor, currency)}`))),
    Object.keys(e.excluded ?? {}).length
      ? h("div", {}, h("h4", {}, "Left out"), h("ul", {}, Object.entries(e.excluded).map(([why, offers]) => h("li", {}, `${offers.join(", ")}: ${why}`))))
      : null,
    h("p", { class: "help" }, "Facts: ", Object.entries(e.facts ?? {}).map(([k, v]) => `${k} = ${typeof v === "number" ? number(v) : String(v)}`).join(", "),
      ". Models: ", Object.values(e.models ?? {}).join(", ") || "none", "."));
}

function itemRow(ctx: PageContext, item: Item, currency: string, selected: Set<string>, onDone: () => void): HTMLElement[] {
  const key = `${item.decision}/${item.rank}`;
  const open = item.status === "pending" || item.status === "escalated";
  const detail = h("tr", { class: "detail", hidden: true }, h("td", { colspan: 10 }));
  const status = h("div", { "aria-live": "polite" });
  const act = async (body: Record<string, unknown>) => {
    status.replaceChildren();
    try {
      await ctx.api.post(`/v1/reviews/${encodeURIComponent(item.decision)}/${item.rank}`, body);
      onDone();
    } catch (e) {
      status.appendChild(notice((e as ApiError).message, "error"));
    }
  };
  const what = `${item.offer} for ${item.member}`;
  const toggle = h("button", { type: "button", class: "link", "aria-expanded": "false", "aria-label": `Details of ${what}`,
    "data-testid": `details-${key}` }, "Details");
  toggle.addEventListener("click", async () => {
    const showing = !detail.hidden;
    detail.hidden = showing;
    toggle.setAttribute("aria-expanded", String(!showing));
    if (showing || detail.dataset.loaded) return;
    const cell = detail.firstElementChild as HTMLElement;
    try {
      const full = await ctx.api.get<Item & { explanation: Explanation }>(`/v1/reviews/${encodeURIComponent(item.decision)}/${item.rank}`);
      const reason = reasonSelect(`reason-${key}`);
      const comment = h("input", { id: `comment-${key}`, type: "text", maxlength: 1000, placeholder: "optional" });
      // The smaller cost in the currency's units (the API takes minor units).
      const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
      const unit = 10 ** digits;
      const cost = h("input", { id: `cost-${key}`, type: "number", min: 0, step: 1 / unit, value: Math.floor(item.cost_minor / 2) / unit });
      // Another offer instead: one the decision considered for this member.
      const others = [...new Set(full.explanation.candidates.map((c) => c.offer).filter((o) => o !== item.offer))];
      const instead = h("select", { id: `instead-${key}` }, others.map((o) => h("option", { value: o }, o)));
      cell.replaceChildren();
      append(cell, [explanationView(item, full.explanation, currency),
        open ? h("div", { class: "actions" },
          h("label", { for: `reason-${key}` }, "Reason"), reason,
          h("label", { for: `comment-${key}` }, "Comment"), comment,
          h("button", { type: "button", onclick: () => act({ action: "reject", reason: reason.value, comment: comment.value }) }, "Reject"),
          h("label", { for: `cost-${key}` }, `Smaller cost (${currency})`), cost,
          h("button", { type: "button", onclick: () => act({ action: "modify", reason: reason.value, comment: comment.value, cost_minor: Math.round(Number(cost.value) * unit) }) }, "Modify"),
          others.length ? h("label", { for: `instead-${key}` }, "Instead") : null, others.length ? instead : null,
          others.length
            ? h("button", { type: "button", "data-testid": `override-${key}`, onclick: () => act({ action: "override", offer: instead.value, reason: reason.value, comment: comment.value }) }, "Override")
            : null,
          item.level !== "escalate" && item.status !== "escalated"
            ? h("button", { type: "button", onclick: () => act({ action: "escalate", reason: reason.value, comment: comment.value }) }, "Escalate")
            : null) : null,
        full.verdicts.length ? h("p", { class: "help" }, "Verdicts: ", full.verdicts.map((v) => `${v.action} by ${v.reviewer} (${dateTime(v.at)}${v.reason ? ", " + words(v.reason) : ""})`).join("; ")) : null,
        status]);
      detail.dataset.loaded = "true";
    } catch (e) {
      cell.replaceChildren(notice((e as ApiError).message, "error"));
    }
  });
  const box = h("input", { type: "checkbox", "aria-label": `Select ${what}`, disabled: !open });
  box.addEventListener("change", () => (box.checked ? selected.add(key) : selected.delete(key)));
  const row = h("tr", { "data-testid": `review-${key}` },
    h("td", {}, box),
    h("td", {}, h("a", { href: `#/members/${encodeURIComponent(item.member)}` }, item.member)),
    h("td", {}, item.offer, item.level === "escalate" ? h("span", { class: "badge warn" }, "escalated") : null),
    h("td", { "data-testid": `risk-${key}` }, item.risk ? words(item.risk) : "–",
      item.risk_reasons.length ? h("span", { class: "kpi-note" }, ` (${item.risk_reasons.map((r) => words(r).toLowerCase()).join(", ")})`) : null),
    h("td", { class: "num" }, minor(item.cost_minor, currency)),
    h("td", { class: "num" }, minor(item.expected_value_minor, currency)),
    h("td", { class: "num" }, share(item.response_probability)),
    h("td", {}, dateTime(item.expires_at)),
    h("td", { "data-testid": `status-${key}` }, words(item.status)),
    h("td", {}, open ? h("button", { type: "button", class: "primary", "aria-label": `Approve ${what}`, "data-testid": `approve-${key}`, onclick: () => act({ action: "approve" }) }, "Approve") : null, toggle));
  return [row, detail];
}

export const reviewsPage: Page = async (ctx) => {
  const { api } = ctx;
  const query = new URLSearchParams(ctx.params[0] ?? "");
  const status = query.get("status") ?? "open";
  const sort = query.get("sort") ?? "value";
  const [queue, stats, liability] = await Promise.all([
    api.get<Queue>(`/v1/reviews?status=${status}&sort=${sort}&limit=50`),
    api.get<Stats>("/v1/reviews/stats"),
    api.get<{ value: { currency: string } }>("/v1/liability").catch(() => null),
  ]);
  const currency = liability?.value.currency ?? "EUR";
  const selected = new Set<string>();
  const reload = () => void ctx.refresh();

  const filters = h("form", { class: "filters", "aria-label": "Filter the queue" },
    h("label", { for: "f-status" }, "Status"),
    h("select", { id: "f-status" }, ["open", "pending", "escalated", "approved", "rejected", "modified", "overridden", "expired", "all"].map((s) =>
      h("option", { value: s, selected: s === status }, words(s)))),
    h("label", { for: "f-sort" }, "Sort by"),
    h("select", { id: "f-sort" }, [["value", "Expected value"], ["expiry", "Expiry"], ["risk", "Risk"]].map(([v, t]) =>
      h("option", { value: v, selected: v === sort }, t))),
    h("button", { type: "submit" }, "Show"));
  // Applied on submit, not on change: arrowing through a list must not reload the page.
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const s = (document.getElementById("f-status") as HTMLSelectElement).value;
    const o = (document.getElementById("f-sort") as HTMLSelectElement).value;
    ctx.navigate("reviews", `status=${s}&sort=${o}`);
  });

  const bulkStatus = h("div", { "aria-live": "polite" });
  const bulkReason = reasonSelect("bulk-reason");
  const bulk = async (action: string) => {
    bulkStatus.replaceChildren();
    if (!selected.size) {
      bulkStatus.appendChild(notice("Select the offers first (the boxes on the left).", "error"));
      return;
    }
    const items = [...selected].map((k) => ({ decision: k.split("/")[0], rank: Number(k.split("/")[1]) }));
    try {
      await api.post("/v1/reviews/bulk", action === "approve" ? { action, items } : { action, reason: bulkReason.value, items });
      reload();
    } catch (e) {
      bulkStatus.appendChild(notice((e as ApiError).message, "error"));
    }
  };

  const rows = queue.items.flatMap((item) => itemRow(ctx, item, currency, selected, reload));
  return h("div", { class: "page" },
    section("How reviews go",
      h("div", { class: "kpis" },
        kpi("Waiting", count((queue.counts.pending ?? 0) + (queue.counts.escalated ?? 0)), "pending and escalated", "kpi-waiting"),
        kpi("Acceptance rate", share(stats.acceptance_rate), `${count(stats.approved)} approved, ${count(stats.rejected)} rejected, ${count(stats.modified)} modified`),
        kpi("Override rate", share(stats.override_rate), `rejected, modified or overridden (${count(stats.overridden)} replaced by another offer)`),
        kpi("Expired", count(stats.expired), "no one decided in time")),
      queue.groups.length ? h("p", { class: "help" }, "Open by offer: ",
        queue.groups.map((g) => `${g.offer} (${g.level}) ${count(g.open)}, ${minor(g.cost_minor, currency)} at stake`).join("; ")) : null),
    section("Offers",
      filters,
      h("div", { class: "bulk" },
        h("button", { type: "button", class: "primary", "data-testid": "bulk-approve", onclick: () => bulk("approve") }, "Approve selected"),
        h("label", { for: "bulk-reason" }, "Reason"), bulkReason,
        h("button", { type: "button", onclick: () => bulk("reject") }, "Reject selected"),
        bulkStatus),
      queue.items.length
        ? h("div", { class: "table-wrap" }, h("table", {},
          h("caption", {}, `${count(queue.matched)} offers (${words(status)}), the first ${queue.items.length} shown`),
          h("thead", {}, h("tr", {}, ["", "Member", "Offer", "Risk", "Cost", "Expected value", "Response chance", "Expires", "Status", ""].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
        : notice("Nothing here: no offers with this status.")));
};
