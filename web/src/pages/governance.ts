// Who did what: the audit trail and whether its hash chain is intact.

import { h, kpi, notice, section, table } from "../dom";
import { count, dateTime } from "../format";
import type { Page } from "./page";

interface Verification { ok: boolean; entries: number; first_broken: number | null; problem: string | null }
interface AuditEntry { seq: number; at: string; actor: string; role: string; action: string; target: string; member: string | null; reason: string | null; status: number }

export const governancePage: Page = async ({ api }) => {
  const [verification, trail] = await Promise.all([
    api.get<Verification>("/v1/audit/verify"),
    api.get<{ entries: AuditEntry[] }>("/v1/audit?limit=100"),
  ]);
  const status = verification.ok
    ? kpi("Audit chain", "Intact", `${count(verification.entries)} entries verified`, "audit-status")
    : kpi("Audit chain", "Broken", `at entry ${verification.first_broken}: ${verification.problem}`, "audit-status");
  return h("div", { class: "page" },
    section("Audit trail",
      h("div", { class: "kpis" }, status),
      verification.ok ? null : notice("The audit trail was changed after it was written. Keep the store as it is and investigate.", "error"),
      table(["When", "Who", "Role", "Action", "Target", "Member", "Reason", "Status"],
        trail.entries.map((e) => [dateTime(e.at), e.actor, e.role, e.action, e.target, e.member || "–", e.reason || "–", String(e.status)]),
        "The 100 most recent entries")));
};
