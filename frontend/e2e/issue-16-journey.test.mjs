// Issue 16's "Done means", as one journey through the UI only, in real headless chromium (Debian's,
// through playwright-core) against `make run`'s server: create a credential on /credentials; draw
// signup -> welcome email -> CRM (HTTP) -> approval -> Slack in the designer, the Slack credential
// picked; add a webhook trigger on the canvas and listen for a test delivery (the Python side,
// workflows/tests/test_browser.py, fires it signed while this waits) and keep it as the sample input;
// add a schedule and read its next fires; run; the CRM answers 500: read its body in the monitor's
// step panel; fix the URL in the designer (a new version); retry on the latest version; approve the
// approval step from the step panel; the run completes; export the workflow and import it from the
// list. A screenshot of each screen: $ARTIFACTS/journey-NN-*.png. The Python side checks the server.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, RECEIVER_URL (a local HTTP server: /status/500?body=
// answers 500 with that body, /slack like Slack, anything else 200), CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { ARTIFACTS, closed, launch, login, screenshot } from "./browser.mjs";

const RECEIVER = process.env.RECEIVER_URL;
const WORKFLOW = "Signup to Slack (journey)";
const CREDENTIAL = "slack_signups";
const CRM_DOWN = "the CRM is down: no such endpoint /v1/contacts";
let session;

before(async () => {
  session = await launch();
});

after(async () => {
  await session?.browser.close();
});

// The helpers of designer-to-monitor.test.mjs, credentials.test.mjs and workflow-management.test.mjs.
async function dismissToasts(page) {
  for (const toast of await page.locator(".toast").all()) await toast.click().catch(() => {});
}

async function shot(page, name) {
  await dismissToasts(page);
  await screenshot(page, `journey-${name}`);
}

async function dropStep(page, type, x, y) {
  await page.getByTestId(`palette-${type}`).dragTo(page.locator(".react-flow__pane"), { targetPosition: { x, y } });
  await page.getByTestId(`node-${type}`).waitFor();
}

function editor(page) {
  return page.getByRole("complementary", { name: "Step editor" });
}

async function field(page, label, value) {
  await editor(page).getByLabel(label, { exact: true }).fill(value);
}

/** Select a node, then set its key (the new node's id) and its name in the editor. */
async function renameStep(page, from, to, name) {
  await page.getByTestId(`node-${from}`).click();
  const key = editor(page).getByLabel("Key", { exact: true });
  await key.fill(to);
  await key.blur();
  await page.getByTestId(`node-${to}`).waitFor();
  await field(page, "Name", name);
}

/** Drag from the source's first source handle (an approval's first is "approved") to the target. */
async function connect(page, source, target) {
  const from = page.locator(`.react-flow__node[data-id="${source}"] .react-flow__handle.source`).first();
  const to = page.locator(`.react-flow__node[data-id="${target}"] .react-flow__handle.target`).first();
  await from.dragTo(to);
  await page.locator(`.react-flow__edge[data-id^="${source}"][data-id$="->${target}"], [data-testid^="rf__edge-${source}"][data-testid$="->${target}"]`)
    .first().waitFor({ state: "attached" });
}

async function openMenu(page, name) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).click();
}

test("issue 16's journey: credential, draw, webhook, schedule, run, fail, fix, retry on latest, approve, export, import", async () => {
  assert.ok(RECEIVER, "RECEIVER_URL is set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0; // before signing in, /auth/me/ answers 401, as it should

  // 1. A credential, on /credentials (from the menu): the Slack webhook URL, write-only.
  await openMenu(page, "Credentials");
  await page.waitForURL("**/credentials");
  await page.getByRole("button", { name: "New credential" }).click();
  const dialog = page.getByRole("dialog", { name: "New credential" });
  await dialog.getByLabel("Name", { exact: true }).fill(CREDENTIAL);
  await dialog.getByLabel("Value", { exact: true }).fill(`${RECEIVER}/slack`);
  await dialog.getByRole("button", { name: "Create credential" }).click();
  await closed(dialog, problems);
  await page.getByTestId(`credential-${CREDENTIAL}`).waitFor();
  assert.ok(!(await page.content()).includes(`${RECEIVER}/slack`), "the value is never shown");
  await shot(page, "01-credentials");

  // 2. A new workflow, drawn: signup -> welcome email -> CRM -> approval -> Slack.
  await openMenu(page, "Workflows");
  await page.getByRole("button", { name: "New workflow" }).first().click();
  await page.getByLabel("Name", { exact: true }).fill(WORKFLOW);
  await page.getByRole("button", { name: "Create and open" }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  const workflowPath = new URL(page.url()).pathname;
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  await dropStep(page, "log", 40, 120);
  await dropStep(page, "send_email", 200, 280);
  await dropStep(page, "http_request", 360, 120);
  await dropStep(page, "approval", 520, 280);
  await dropStep(page, "slack", 680, 120);

  await renameStep(page, "log", "signup", "New signup");
  await field(page, "Message", "New signup: {{ input.name }} <{{ input.email }}>");
  await renameStep(page, "send_email", "welcome_email", "Welcome email");
  await field(page, "To", "{{ input.email }}");
  await field(page, "Subject", "Welcome aboard, {{ input.name }}!");
  await field(page, "Body (text)", "Hi {{ input.name }}, thanks for signing up.");
  await renameStep(page, "http_request", "crm", "Create CRM entry");
  await field(page, "URL", `${RECEIVER}/status/500?body=${encodeURIComponent(CRM_DOWN)}`);
  await page.getByText("Advanced: retries, timeout, condition").click();
  await field(page, "Max retries", "0");
  await renameStep(page, "approval", "review", "Sales review");
  await field(page, "What to approve", "Announce {{ input.name }} on Slack?");
  await renameStep(page, "slack", "notify_slack", "Notify Slack");
  const picker = editor(page).getByLabel("Credential holding the webhook URL", { exact: true });
  assert.equal(await picker.evaluate((el) => el.tagName), "SELECT", "the credential field is a picker");
  await picker.selectOption(CREDENTIAL);
  await field(page, "Text", "New signup: {{ input.name }} ({{ input.email }})");

  await connect(page, "signup", "welcome_email");
  await connect(page, "welcome_email", "crm");
  await connect(page, "crm", "review");
  await connect(page, "review", "notify_slack");
  await page.getByRole("button", { name: "Auto-layout" }).click();
  await page.locator('.fp-canvas[data-checked="true"]').waitFor({ timeout: 10_000 });
  for (const key of ["signup", "welcome_email", "crm", "review", "notify_slack"]) {
    assert.notEqual(await page.getByTestId(`node-${key}`).getAttribute("data-invalid"), "true", `${key} is valid`);
    assert.notEqual(await page.getByTestId(`node-${key}`).getAttribute("data-warning"), "true", `${key} has no warning`);
  }
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText(/Saved/).first().waitFor();
  await page.getByTestId("node-notify_slack").click();
  await shot(page, "02-designer");

  // 3. A webhook trigger on the canvas: added, listening; the Python side fires a signed delivery.
  await page.getByTestId("palette-trigger-webhook").click();
  await page.getByTestId("trigger-node-new").waitFor();
  const panel = page.getByRole("complementary", { name: "Trigger editor" });
  await panel.getByLabel("Name", { exact: true }).fill("Signup form");
  await panel.getByTestId("trigger-save").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="webhook-url"]')?.value.includes("/hooks/"));
  await panel.getByTestId("listen-button").click();
  await panel.locator('[data-testid="listen-box"][data-listening="true"]').waitFor();
  await shot(page, "03-webhook-listening");
  const captured = panel.getByTestId("captured-input");
  await captured.waitFor({ timeout: 90_000 });
  const input = JSON.parse(await captured.textContent());
  assert.equal(input.name, "Ada");
  assert.equal(input.email, "ada@example.com");
  // A draft does not run (the delivery is answered 409 and captured all the same).
  assert.equal(await panel.getByTestId("captured-delivery").getAttribute("data-status"), "409");
  await panel.getByTestId("use-sample-input").click();
  await page.getByText("Kept as the sample input").first().waitFor();
  await panel.locator('[data-testid="deliveries"] li').first().waitFor({ timeout: 15_000 });
  await shot(page, "04-webhook-captured");

  // 4. A schedule: its cron in words and its next fire times (the server's answers); then paused.
  await page.getByTestId("palette-trigger-schedule").click();
  await page.getByTestId("trigger-node-new").waitFor();
  await panel.getByTestId("schedule-cron").fill("0 9 * * 1");
  await panel.getByTestId("schedule-timezone").fill("Europe/Paris");
  await page.waitForFunction(() => /^At 09:00, .*Monday$/.test(document.querySelector('[data-testid="cron-description"]')?.textContent ?? ""));
  await page.locator('[data-testid="next-fires"][data-zone="Europe/Paris"]').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="next-fires"] li').length === 5);
  for (const text of await panel.locator('[data-testid="next-fires"] li').allTextContents()) {
    assert.match(text, /^Mon .*, 09:00 \(UTC\+0[12]:00\)/);
  }
  await panel.getByTestId("trigger-save").click();
  await page.getByText("Schedule trigger added").first().waitFor();
  await page.locator('.react-flow__node[data-id^="trigger:"]:not([data-id="trigger:new"]) [data-kind="schedule"]').waitFor();
  await page.locator(".react-flow__controls-fitview").click();
  await page.waitForTimeout(300);
  // The schedule, added by a click, stands below the webhook, not on it.
  const [hookBox, scheduleBox] = await Promise.all(["webhook", "schedule"].map((kind) =>
    page.locator(`.react-flow__node[data-id^="trigger:"]:has([data-kind="${kind}"])`).boundingBox()));
  assert.ok(scheduleBox.y >= hookBox.y + hookBox.height, `the schedule (${JSON.stringify(scheduleBox)}) overlaps the webhook (${JSON.stringify(hookBox)})`);
  await shot(page, "05-schedule");
  await panel.getByTestId("trigger-toggle").click();
  await page.locator('[data-kind="schedule"][data-enabled="false"]').waitFor();

  // 5. Run, with the captured delivery as the input (the dialog activates the draft first).
  await page.getByRole("button", { name: "Run", exact: true }).click();
  const runInput = page.getByLabel("Input (JSON)");
  assert.equal(JSON.parse(await runInput.inputValue()).name, "Ada", "the run starts from the sample input");
  await page.getByRole("dialog").getByRole("button", { name: /run$/i }).click();
  await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);
  const runUrl = page.url();
  const node = (key) => page.getByTestId(`monitor-node-${key}`);
  await node("welcome_email").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await node("crm").and(page.locator('[data-status="failed"]')).waitFor({ timeout: 30_000 });
  assert.equal(await node("notify_slack").getAttribute("data-status"), "pending");

  // 6. The CRM's answer in full, in the step panel.
  await node("crm").click();
  const stepPanel = page.getByTestId("step-panel");
  assert.equal((await stepPanel.getByTestId("error-status").textContent()).trim(), "500");
  assert.equal((await stepPanel.getByTestId("error-body").textContent()).trim(), CRM_DOWN);
  await stepPanel.getByTestId("error-body").scrollIntoViewIfNeeded();
  await shot(page, "06-monitor-error-body");

  // 7. Fix the URL in the designer: saving the active workflow publishes a new version.
  await page.goto(workflowPath);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  await page.getByTestId("node-crm").click();
  await field(page, "URL", `${RECEIVER}/v2/contacts`);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("All changes saved").waitFor();
  await shot(page, "07-designer-fixed");

  // 8. Retry on the latest version.
  await page.goto(runUrl);
  await node("crm").and(page.locator('[data-status="failed"]')).waitFor();
  await page.getByRole("button", { name: /^Retry/ }).first().click();
  const retry = page.getByRole("dialog");
  await retry.getByText("A newer version of the workflow exists").waitFor();
  const onLatest = retry.getByLabel(/^Retry on the latest version \(v\d+\)$/);
  assert.equal(await onLatest.isChecked(), true);
  await shot(page, "08-retry-on-latest");
  await retry.getByRole("button", { name: "Retry", exact: true }).click();
  await node("crm").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });

  // 9. The approval waits; approved from the step panel, with a comment; the run completes.
  await node("review").and(page.locator('[data-status="waiting"]')).waitFor({ timeout: 30_000 });
  await node("review").click();
  await stepPanel.getByTestId("step-awaiting").getByText("Announce Ada on Slack?").waitFor();
  await stepPanel.getByLabel(/Comment/).fill("Looks like a real customer");
  await stepPanel.getByRole("button", { name: "Approve" }).scrollIntoViewIfNeeded();
  await shot(page, "09-approval-waiting");
  await stepPanel.getByRole("button", { name: "Approve" }).click();
  await node("notify_slack").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await page.locator(".monitor-header .badge.status-completed").waitFor({ timeout: 15_000 });
  await node("crm").click();
  await stepPanel.getByTestId("attempt-version").waitFor();
  assert.match((await stepPanel.getByTestId("attempt-version").textContent()).trim(), /^· ran on v\d+$/);
  await shot(page, "10-monitor-completed");

  // 10. Export from the list's Manage menu, import it back from the list.
  await openMenu(page, "Workflows");
  await page.waitForURL("**/workflows");
  const row = page.locator("tr", { has: page.getByRole("link", { name: WORKFLOW, exact: true }) }).first();
  await row.locator(".fp-menu > summary").click();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("menuitem", { name: "Export JSON" }).click(),
  ]);
  const exported = path.join(ARTIFACTS, "journey-export.json");
  await download.saveAs(exported);
  const document = JSON.parse(readFileSync(exported, "utf8"));
  assert.equal(document.flowpilot_export, 1);
  assert.equal(document.workflow.name, WORKFLOW);
  await page.keyboard.press("Escape");
  await page.goto("/workflows");
  await page.getByTestId("import-file").setInputFiles(exported);
  await page.waitForURL((url) => /\/workflows\/[0-9a-f-]{36}$/.test(url.pathname) && url.pathname !== workflowPath);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  assert.equal(await page.getByLabel("Workflow name").inputValue(), WORKFLOW);
  await page.getByTestId("node-review").waitFor();
  await shot(page, "11-imported");

  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
});
