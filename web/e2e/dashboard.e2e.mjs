// End-to-end: the dashboard in Debian's Chromium (headless, driven by playwright-core)
// against `loyalty demo --serve` on loopback. A manager signs in, sees the KPIs with data,
// opens a member and moves a what-if slider, approves an offer in the review queue and rolls
// a model back; an analyst sees no personal data. Screenshots land in LOYALTY_E2E_ARTIFACTS.
//
// Environment: LOYALTY_BIN (the loyalty binary), LOYALTY_E2E_ARTIFACTS (default
// e2e/artifacts), CHROMIUM (default /usr/bin/chromium). Exits non-zero on the first failure.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.LOYALTY_BIN ?? path.resolve(here, "../../build/release/bin/loyalty");
const artifacts = process.env.LOYALTY_E2E_ARTIFACTS ?? path.join(here, "artifacts");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
for (const [what, file] of [["the loyalty binary", bin], ["Chromium", browserPath], ["the dashboard build", path.resolve(here, "../dist/index.html")]]) {
  if (!existsSync(file)) {
    console.error(`e2e: ${what} is missing at ${file}; run scripts/setup`);
    process.exit(1);
  }
}
mkdirSync(artifacts, { recursive: true });

let failures = 0;
let passed = 0;
let failurePage;  // screenshotted when a step fails
async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    passed++;
    console.log(`[ OK ] ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures++;
    console.error(`[FAIL] ${name}: ${error.stack ?? error}`);
    if (consoleErrors.length) console.error(`console errors so far:\n${consoleErrors.join("\n")}`);
    await failurePage?.screenshot({ path: path.join(artifacts, "failure.png"), fullPage: true }).catch(() => {});
    throw error;
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

// The demo, served on a free port; resolves with the address and the keys it prints.
function startDemo(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["demo", "--dir", dir, "--serve", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the demo did not start serving in 600 s:\n${out}`));
    }, 600_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const address = out.match(/Dashboard: (http:\/\/\S+)/);
      const manager = out.match(/as maria \(manager\) with (lk_[0-9a-f]+)/);
      const analyst = out.match(/as sam \(analyst[^)]*\) with (lk_[0-9a-f]+)/);
      const admin = out.match(/as alex \(admin[^)]*\) with (lk_[0-9a-f]+)/);
      if (address && manager && analyst && admin) {
        clearTimeout(timer);
        resolve({ child, url: address[1], manager: manager[1], analyst: analyst[1], admin: admin[1] });
      }
    });
    child.stderr.on("data", (chunk) => { out += chunk; });
    child.on("exit", (code) => reject(new Error(`the demo exited with ${code} before serving:\n${out}`)));
  });
}

const dir = mkdtempSync(path.join(tmpdir(), "loyalty-e2e-"));
const consoleErrors = [];
let completed = false;
let demo;
let browser;
try {
  demo = await startDemo(dir);
  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  failurePage = page;
  page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  const kpiValue = async (testId) => (await page.locator(`[data-testid="${testId}"] .kpi-value`).innerText()).trim();

  await step("a wrong key is refused with a message", async () => {
    await page.goto(demo.url);
    await page.getByLabel("API key").fill("lk_" + "0".repeat(64));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    expect((await page.getByRole("alert").innerText()).includes("not valid"), "no refusal message");
    // The browser logs the refused request itself; every other console error fails the test.
    expect(consoleErrors.every((e) => e.includes("401")), `console errors:\n${consoleErrors.join("\n")}`);
    consoleErrors.length = 0;
  });

  await step("the manager signs in and the overview shows KPIs with data", async () => {
    await page.getByLabel("API key").fill(demo.manager);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-testid="kpi-active"]').waitFor({ timeout: 60_000 });
    expect((await page.getByTestId("signed-in-as").innerText()).includes("maria · manager"), "not signed in as maria");
    const active = await kpiValue("kpi-active");
    expect(/^[1-9][\d,]*$/.test(active), `active members is '${active}'`);
    const engagement = await kpiValue("kpi-engagement");
    expect(/%$/.test(engagement), `engagement rate is '${engagement}'`);
    expect(/%$/.test(await kpiValue("kpi-retention")), "retention has no value");
    await page.locator('[data-testid="chart-activity"][data-rendered="true"] canvas').waitFor();
    await page.locator('[data-testid="chart-revenue"][data-rendered="true"] canvas').waitFor();
    await page.screenshot({ path: path.join(artifacts, "overview.png"), fullPage: true });
  });

  await step("Member 360: scores with reasons, and a what-if slider changes the prediction", async () => {
    await page.getByRole("link", { name: "Member 360" }).click();
    await page.getByLabel("Member id").fill("m0000010");
    await page.getByRole("button", { name: "Open" }).click();
    await page.locator('[data-testid="member-churn"]').waitFor();
    const before = await kpiValue("member-churn");
    expect(/%$/.test(before), `churn risk is '${before}'`);
    expect(await page.locator("ul.reasons li").count() > 0, "no reasons shown");
    const slider = page.locator("#whatif-recency_days");
    await slider.fill("365");
    await page.locator('[data-testid="whatif-after"] .kpi-note', { hasText: /[+−]/ }).waitFor();
    const after = await kpiValue("whatif-after");
    expect(after !== before, `the prediction did not change (${before} -> ${after})`);
    await page.screenshot({ path: path.join(artifacts, "member.png"), fullPage: true });
    // ana gave her e-mail address: a manager sees it.
    await page.getByLabel("Member id").fill("ana");
    await page.getByRole("button", { name: "Open" }).click();
    await page.getByRole("table", { name: /Personal data/ }).waitFor();
    expect((await page.getByRole("table", { name: /Personal data/ }).innerText()).includes("@"), "no e-mail address shown");
  });

  await step("the review queue: approving an offer changes its state", async () => {
    await page.getByRole("link", { name: "Review queue" }).click();
    const first = page.locator('tr[data-testid^="review-"]').first();
    await first.waitFor();
    const key = (await first.getAttribute("data-testid")).slice("review-".length);
    expect((await page.getByTestId(`status-${key}`).innerText()) === "Pending", "first item is not pending");
    await page.getByTestId(`details-${key}`).click();
    await page.locator(".explanation").first().waitFor();
    expect((await page.locator(".explanation").first().innerText()).includes("propensity"), "no explanation");
    await page.screenshot({ path: path.join(artifacts, "reviews.png"), fullPage: true });
    await page.getByTestId(`approve-${key}`).click();
    await page.getByTestId(`review-${key}`).waitFor({ state: "detached" });
    await page.getByLabel("Status").selectOption("approved");
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByTestId(`status-${key}`).waitFor();
    expect((await page.getByTestId(`status-${key}`).innerText()) === "Approved", "the item is not approved");
  });

  await step("Predictions: rolling the churn model back changes the champion", async () => {
    await page.getByRole("link", { name: "Predictions" }).click();
    await page.getByTestId("rollback-churn").waitFor();
    const championRow = async () => (await page.getByTestId("champion-churn").locator("xpath=ancestor::tr").innerText()).split("\t")[0];
    const before = await championRow();
    await page.locator('[data-testid="chart-calibration"][data-rendered="true"] canvas').waitFor();
    await page.screenshot({ path: path.join(artifacts, "predictions.png"), fullPage: true });
    await page.getByTestId("rollback-churn").click();
    await page.getByText(/is the champion now/).waitFor();
    const after = await championRow();
    expect(after !== before, `the champion is still ${before}`);
  });

  await step("Offers, Governance, Finance and the keyboard", async () => {
    await page.getByRole("link", { name: "Offers & strategy" }).click();
    await page.getByRole("heading", { name: "Offer catalogue" }).waitFor();
    expect((await page.getByTestId("phase-current").innerText()).startsWith("Dynamic"), "the demo does not end in the dynamic phase");
    expect((await page.locator("main").innerText()).includes("Only an admin moves the program"), "the manager is offered phase controls");
    await page.getByRole("link", { name: "Governance" }).click();
    await page.locator('[data-testid="chart-consent"][data-rendered="true"] canvas').waitFor();
    await page.getByRole("heading", { name: "Fairness by Group" }).waitFor();
    const offered = await page.getByRole("table", { name: /Offers made since/ }).innerText();
    expect(/\bA\b/.test(offered) && /\bB\b/.test(offered), `no row per group: ${offered}`);
    expect(await page.getByRole("table", { name: /Churn model churn@/ }).count() === 1, "no churn error rates per group");
    await page.getByTestId("fairness-alerts").waitFor();
    expect((await page.locator("main").innerText()).includes("Marketing email"), "no consent coverage");
    await page.getByRole("link", { name: "Finance" }).click();
    await page.locator('[data-testid="chart-liability"][data-rendered="true"] canvas').waitFor();
    expect(/^[1-9][\d,]*$/.test(await kpiValue("kpi-outstanding")), "no outstanding points");
    await page.screenshot({ path: path.join(artifacts, "finance.png"), fullPage: true });
    // A link moves the focus to the new page; after a reload the skip link is the first stop.
    expect(await page.evaluate(() => document.activeElement?.id) === "main", "the focus did not move to the page");
    await page.reload();
    await page.locator('[data-testid="kpi-outstanding"]').waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent) === "Skip to content", "skip link is not first");
    const hash = await page.evaluate(() => location.hash);
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id) === "main", "the skip link did not reach the page");
    expect(await page.evaluate(() => location.hash) === hash, "the skip link changed the page");
  });

  await step("at tablet width the pages still fit", async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.getByRole("link", { name: "Overview" }).click();
    await page.locator('[data-testid="kpi-active"]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow <= 1, `the page is ${overflow}px wider than the screen`);
    await page.screenshot({ path: path.join(artifacts, "overview-tablet.png"), fullPage: true });
  });

  await step("the analyst sees no personal data and no review queue", async () => {
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").fill(demo.analyst);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-testid="kpi-active"]').waitFor();
    expect(await page.getByRole("link", { name: "Review queue" }).count() === 0, "the analyst sees the review queue");
    await page.goto(`${demo.url}#/members/ana`);
    await page.locator('[data-testid="member-points"]').waitFor();
    expect((await page.getByTestId("member-id").innerText()).includes("pseudonymous"), "no pseudonymous note");
    expect(await page.getByRole("table", { name: /Personal data/ }).count() === 0, "the analyst sees identifiers");
    const text = await page.locator("main").innerText();
    await page.screenshot({ path: path.join(artifacts, "member-analyst.png"), fullPage: true });
    expect(!/[\w.+-]+@[\w-]+\.[\w.]+/.test(text), `an e-mail address is on the analyst's page: ${text.match(/\S*@\S*/)}`);
    expect((await page.locator("main").innerText()).includes("your role does not see it"), "timeline not withheld");
    await page.screenshot({ path: path.join(artifacts, "member-analyst.png"), fullPage: true });
  });

  await step("the admin rolls the automation phase back with a reason", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").fill(demo.admin);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-testid="kpi-active"]').waitFor();
    await page.getByRole("link", { name: "Offers & strategy" }).click();
    await page.getByTestId("phase-current").waitFor();
    await page.getByRole("button", { name: "Roll back the last move" }).click();
    await page.getByRole("alert").waitFor();  // a reason is required
    await page.getByLabel("Reason").fill("bandits wait for the new season");
    await page.getByRole("button", { name: "Roll back the last move" }).click();
    await page.getByTestId("phase-current").filter({ hasText: "Limited" }).waitFor();
    const history = await page.getByRole("table", { name: "Latest changes" }).innerText();
    expect(history.includes("bandits wait for the new season"), "the rollback's reason is not in the history");
    await page.screenshot({ path: path.join(artifacts, "offers-automation.png"), fullPage: true });
  });

  await step("no console errors", async () => {
    expect(consoleErrors.length === 0, `console errors:\n${consoleErrors.join("\n")}`);
  });
  completed = true;
} catch (error) {
  if (failures === 0) console.error(`[FAIL] ${error.stack ?? error}`);  // outside a step
} finally {
  await browser?.close();
  demo?.child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failures} failed; screenshots in ${artifacts}`);
process.exit(completed && failures === 0 ? 0 : 1);
