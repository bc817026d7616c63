// The dashboard shell: sign-in, navigation by role, and one page at a time (hash routes, so
// a link or a reload lands on the same page).

import "./style.css";
import { Api, ApiError } from "./api";
import { disposeCharts } from "./charts";
import { clear, h, notice } from "./dom";
import { financePage } from "./pages/finance";
import { governancePage } from "./pages/governance";
import { memberPage } from "./pages/member";
import { offersPage } from "./pages/offers";
import { overviewPage } from "./pages/overview";
import { predictionsPage } from "./pages/predictions";
import { reviewsPage } from "./pages/reviews";
import type { Page } from "./pages/page";

interface Entry {
  path: string;
  title: string;
  permission: string;
  page: Page;
}

const pages: Entry[] = [
  { path: "overview", title: "Overview", permission: "read_aggregates", page: overviewPage },
  { path: "predictions", title: "Predictions", permission: "read_aggregates", page: predictionsPage },
  { path: "members", title: "Member 360", permission: "read_member", page: memberPage },
  { path: "reviews", title: "Review queue", permission: "review", page: reviewsPage },
  { path: "offers", title: "Offers & strategy", permission: "read_aggregates", page: offersPage },
  { path: "governance", title: "Governance", permission: "read_aggregates", page: governancePage },
  { path: "finance", title: "Finance", permission: "read_aggregates", page: financePage },
];

const api = new Api();
const app = document.getElementById("app")!;

function route(): { entry: Entry | undefined; params: string[] } {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const allowed = pages.filter((p) => api.can(p.permission));
  const entry = allowed.find((p) => p.path === parts[0]) ?? allowed[0];
  return { entry, params: entry && entry.path === parts[0] ? parts.slice(1) : [] };
}

export function navigate(...parts: string[]): void {
  location.hash = "#/" + parts.map(encodeURIComponent).join("/");
}

function signInForm(message?: string): HTMLElement {
  const input = h("input", { id: "key", name: "key", type: "password", autocomplete: "off",
    placeholder: "lk_…", "aria-describedby": "key-help" });
  const error = h("div", { "aria-live": "assertive" }, message ? notice(message, "error") : null);
  const form = h("form", { class: "signin card", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Loyalty"),
    h("label", { for: "key" }, "API key"),
    input,
    h("p", { id: "key-help", class: "help" }, "Your key was shown once when it was issued (`loyalty demo --serve` prints one; ",
      "`loyalty access key issue --user NAME` makes one). It is kept in this tab only. ",
      "Leave it empty for a server that runs without keys."),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(error);
    try {
      await api.signIn(input.value.trim() || null);
      render();
    } catch (e) {
      const refused = e instanceof ApiError && e.status === 401;
      error.appendChild(notice(!refused ? String((e as Error).message)
        : input.value.trim() ? "That key is not valid (unknown, revoked, or its user is disabled)."
          : "This server asks for an API key.", "error"));
    }
  });
  return h("main", { id: "main", class: "signin-page" }, form);
}

async function render(moveFocus = false): Promise<void> {
  disposeCharts(app);
  clear(app);
  if (!api.signedIn) {
    app.appendChild(signInForm());
    (document.getElementById("key") as HTMLInputElement).focus();
    return;
  }
  const { entry, params } = route();
  const session = api.session!;
  const nav = h("nav", { "aria-label": "Pages" },
    h("ul", {}, pages.filter((p) => api.can(p.permission)).map((p) =>
      h("li", {}, h("a", { href: `#/${p.path}`, "aria-current": p === entry ? "page" : null }, p.title)))));
  const who = h("div", { class: "who" },
    h("span", { "data-testid": "signed-in-as" }, `${session.user ?? "local operator"} · ${session.role}`),
    h("button", { type: "button", class: "link", onclick: () => { api.signOut(); location.hash = ""; render(); } }, "Sign out"));
  const main = h("main", { id: "main", tabindex: "-1", "aria-busy": "true" });
  app.append(h("header", { class: "top" }, h("a", { class: "brand", href: "#/overview" }, "Loyalty"), nav, who), main);
  if (!entry) {
    main.appendChild(notice("Your role has no dashboard pages. Ask an administrator for a manager, analyst or auditor key."));
    main.setAttribute("aria-busy", "false");
    return;
  }
  document.title = `${entry.title} · Loyalty`;
  main.appendChild(h("h1", {}, entry.title));
  try {
    main.appendChild(await entry.page({ api, params, navigate, refresh: render }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      api.signOut();
      clear(app);
      app.appendChild(signInForm("Your key stopped working (revoked or disabled); sign in again."));
      return;
    }
    main.appendChild(notice(`Could not load this page: ${(e as Error).message}`, "error"));
  }
  main.setAttribute("aria-busy", "false");
  // After following a link, a screen reader starts at the new page, not at the top bar.
  if (moveFocus) main.focus();
}

window.addEventListener("hashchange", () => void render(true));
// The skip link moves the focus, not the route (the page's routes live in the hash too).
document.querySelector<HTMLAnchorElement>("a.skip")?.addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main")?.focus();
});
void api.resume().then(() => render());
