// The monitoring dashboard with real numbers, in headless chromium against `make run`'s server: the
// wrapper (monitoring/tests/test_dashboard_browser.py) has run WORKFLOW_ID EXPECT_RUNS times, EXPECT_FAILED
// of them failing with one error; here the dashboard must show those figures, drill down to the
// workflow's steps and its failed runs, an alert rule is created through /alerts (with a webhook to
// RECEIVER_URL, and a test sent), and "Retry these" retries the error group: the failure rate falls to 0%.
// Prints one line "DASHBOARD-FIGURES {json}" with what the page showed. Screenshots go to $ARTIFACTS.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, WORKFLOW_ID, EXPECT_RUNS, EXPECT_FAILED, RECEIVER_URL,
// CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const WORKFLOW_ID = process.env.WORKFLOW_ID;
const RUNS = Number(process.env.EXPECT_RUNS ?? 10);
const FAILED = Number(process.env.EXPECT_FAILED ?? 3);
const RATE = `${Math.round((FAILED / RUNS) * 100)}%`;
const RECEIVER = process.env.RECEIVER_URL;
let session;

before(async () => {
  session = await launch();
});

after(async () => {
  await session?.browser.close();
});

const kpi = (page, id) => page.getByTestId(id).locator(".dash-kpi-value");

async function dismissToasts(page) {
  for (const toast of await page.locator(".toast").all()) await toast.click().catch(() => {});
}

test("the dashboard shows the real figures, drills down, alerts, and retries the error group", async () => {
  assert.ok(WORKFLOW_ID && RECEIVER, "WORKFLOW_ID and RECEIVER_URL are set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0;
  const figures = {};

  // The top bar leads there; the default window is 24 hours.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
  await page.waitForURL("**/dashboard");
  await assertText(kpi(page, "kpi-runs"), String(RUNS));
  figures.runs = await kpi(page, "kpi-runs").textContent();
  figures.failure_rate = await kpi(page, "kpi-failure-rate").textContent();
  figures.failure_note = await page.getByTestId("kpi-failure-rate").locator(".dash-kpi-note").textContent();
  figures.p95 = await kpi(page, "kpi-p95").textContent();
  assert.equal(figures.failure_rate, RATE);
  assert.equal(figures.failure_note, `${FAILED} failed of ${RUNS}`);
  assert.match(figures.p95, /\d+(\.\d+)? (ms|s)$/);

  // The window is in the URL; the last hour holds the same runs.
  await page.getByRole("group", { name: "Window" }).getByRole("button", { name: "1h" }).click();
  await page.waitForURL(/\/dashboard\?window=1h$/);
  await assertText(kpi(page, "kpi-runs"), String(RUNS));

  const row = page.getByTestId(`wf-row-${WORKFLOW_ID}`);
  figures.workflow = {
    name: await row.locator(".dash-name").textContent(),
    runs: await row.locator("[data-col=runs]").textContent(),
    failures: await row.locator("[data-col=failures]").textContent(),
    failure_rate: await row.locator("[data-col=failure-rate]").textContent(),
  };
  assert.deepEqual(figures.workflow, { name: "Patient registration", runs: String(RUNS), failures: String(FAILED), failure_rate: RATE });

  // One error group: every failure has the same message, numbers aside.
  const errors = page.getByRole("table", { name: "Top errors" });
  const group = errors.locator("tbody tr");
  assert.equal(await group.count(), 1);
  figures.error = {
    message: (await group.locator(".dash-error-message").textContent()).trim(),
    count: await group.locator("[data-col=count]").textContent(),
    runs: await group.locator("[data-col=runs]").textContent(),
    steps: (await group.locator(".dash-steps-hit").textContent()).trim(),
  };
  assert.match(figures.error.message, /flaky failure on attempt 1/);
  assert.equal(figures.error.count, String(FAILED));
  assert.equal(figures.error.runs, String(FAILED));
  assert.match(figures.error.steps, new RegExp(`Patient registration · register ×${FAILED}`));

  const throughput = page.getByTestId("throughput");
  assert.match(await throughput.locator("figcaption").textContent(), new RegExp(`Completed ${RUNS - FAILED}.*Failed ${FAILED}`));
  figures.throughput_columns = await throughput.locator("rect.dash-col-failed, rect.dash-col-completed").count();
  assert.ok(figures.throughput_columns >= 1);
  await dismissToasts(page);
  await screenshot(page, "dashboard");
  // The bar charts of failure rate and p95 per workflow and per step, below the fold (.page scrolls).
  await page.locator(".dash-charts").scrollIntoViewIfNeeded();
  assert.match(await page.getByRole("region", { name: "Failure rate by workflow" }).textContent(), new RegExp(`Patient registration${RATE}`));
  assert.match(await page.getByRole("region", { name: "Failure rate by step (all workflows)" }).textContent(), new RegExp(`Patient registration · register${RATE}`));
  await screenshot(page, "dashboard-charts");
  await page.locator(".page").evaluate((element) => element.scrollTo(0, 0));

  // Drill down: the workflow's steps, then its failed runs in the executions list.
  await row.click();
  await page.waitForURL(new RegExp(`workflow=${WORKFLOW_ID}`));
  const step = page.getByTestId("step-row-register");
  await assertText(step.locator("td").nth(1), String(RUNS));
  assert.equal(await step.locator("td").nth(2).textContent(), String(FAILED));
  assert.match(await step.textContent(), new RegExp(RATE));
  await screenshot(page, "dashboard-workflow");
  await page.getByRole("link", { name: "Failed runs of this workflow" }).click();
  await page.waitForURL(new RegExp(`/executions\\?status=failed&workflow=${WORKFLOW_ID}$`));
  await page.locator("[data-testid^=execution-row-]").first().waitFor();
  await expectCount(page.locator("[data-testid^=execution-row-]"), FAILED);

  // An alert rule through the UI, with a webhook to the receiver, and a test notification.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click();
  await page.waitForURL("**/alerts");
  await page.getByRole("button", { name: "New rule" }).click();
  const dialog = page.getByRole("dialog", { name: "New alert rule" });
  await dialog.getByLabel("Name").fill("Patient registrations failing");
  await dialog.getByLabel("Workflow").selectOption({ label: "Patient registration" });
  await dialog.getByLabel("Threshold (%)").fill("20");
  await dialog.getByLabel("Window (minutes)").fill("60");
  await dialog.getByLabel("Minimum runs").fill("5");
  await dialog.getByRole("button", { name: "+ Webhook (JSON POST)" }).click();
  await dialog.getByLabel("Channel 1 URL from").selectOption("url");
  await dialog.getByLabel("Channel 1 URL", { exact: true }).fill(`${RECEIVER}/alerts`);
  await dialog.getByRole("button", { name: "Create rule" }).click();
  await dialog.waitFor({ state: "detached" });
  const rule = page.locator("[data-testid^=rule-]").filter({ hasText: "Patient registrations failing" });
  await rule.waitFor();
  assert.match(await rule.textContent(), /failure rate > 20% over 60 min \(min 5 runs\)/);
  assert.match(await rule.textContent(), /Patient registration/);
  await rule.getByRole("button", { name: "Send test" }).click();
  await page.locator(".toast").filter({ hasText: "Test sent to" }).waitFor();
  await rule.getByRole("button", { name: "History" }).click();
  await page.getByText("No incidents yet").waitFor();
  await screenshot(page, "alerts");

  // Retry the error group: the dry run's count in the confirmation, then the runs pass (the step
  // fails on its first attempt only), and the dashboard follows live to no failure.
  await page.goto("/dashboard?window=1h");
  await page.getByRole("table", { name: "Top errors" }).getByRole("button", { name: "Retry these" }).click();
  const confirm = page.getByRole("dialog");
  await confirm.getByText(`Retry ${FAILED} failed runs?`).waitFor();
  await confirm.getByRole("button", { name: `Retry ${FAILED} runs` }).click();
  await page.locator(".toast").filter({ hasText: `Retried ${FAILED} runs with this error.` }).waitFor();
  await assertText(kpi(page, "kpi-failure-rate"), "0%", 30_000);
  await assertText(kpi(page, "kpi-runs"), String(RUNS), 30_000); // the retried runs counted once they end
  figures.after_retry = {
    runs: await kpi(page, "kpi-runs").textContent(),
    failure_rate: await kpi(page, "kpi-failure-rate").textContent(),
  };
  assert.equal(figures.after_retry.runs, String(RUNS));
  // The failed attempts stay in the window's history; no run is left failed with that error.
  await page.getByRole("table", { name: "Top errors" }).getByRole("button", { name: "Retry these" }).click();
  await page.getByRole("dialog").getByText("Nothing to retry").waitFor();
  await page.getByRole("dialog").getByRole("button", { name: "Close" }).click();
  await dismissToasts(page);
  await screenshot(page, "dashboard-after-retry");

  assert.deepEqual(problems, []);
  console.log(`DASHBOARD-FIGURES ${JSON.stringify(figures)}`);
});

/** Wait until the locator's text is `expected` (the dashboard refetches as runs end). */
async function assertText(locator, expected, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let text = null;
  while (Date.now() < deadline) {
    text = await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null);
    if (text?.trim() === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(text?.trim(), expected);
}

async function expectCount(locator, expected, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let count = -1;
  while (Date.now() < deadline) {
    count = await locator.count();
    if (count === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(count, expected);
}
