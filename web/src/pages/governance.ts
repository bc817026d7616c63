// Trust: which members allow what (consent coverage per purpose), and, for those who may read
// it, who did what (the audit trail) and whether its hash chain is intact.

import { chart } from "../charts";
import { h, kpi, notice, section, table } from "../dom";
import { count, dateTime, share, words } from "../format";
import type { Kpis } from "./overview";
import type { Page } from "./page";

interface Verification { ok: boolean; entries: number; first_broken: number | null; problem: string | null }
interface AuditEntry { seq: number; at: string; actor: string; role: string; action: string; target: string; member: string | null; reason: string | null; status: number }

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

export const governancePage: Page = async ({ api }) => {
  const kpis = await api.get<Kpis>("/v1/kpis?months=1");
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
  return h("div", { class: "page" }, consent,
    api.can("read_audit") ? await auditTrail(api) : notice("The audit trail is for administrators and auditors."));
};
