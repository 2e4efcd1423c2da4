// The first-contact journey, in real headless chromium against `make run`'s server: sign in, draw
// "signup -> welcome email -> CRM (HTTP) -> Slack" from the palette, configure the nodes through
// their forms, save, run, watch the nodes turn green over the WebSocket, see the CRM step fail,
// retry it and see the run complete. Screenshots go to $ARTIFACTS.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, RECEIVER_URL (a local HTTP receiver whose
// /flaky/crm answers 500 once), CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const RECEIVER = process.env.RECEIVER_URL;
let session;

before(async () => {
  session = await launch();
});

after(async () => {
  await session?.browser.close();
});

/** Drag a step type from the palette onto the canvas at (x, y) of the pane. */
async function dropStep(page, type, x, y) {
  const pane = page.locator(".react-flow__pane");
  await page.getByTestId(`palette-${type}`).dragTo(pane, { targetPosition: { x, y } });
}

/** Select a node, then set its key (the new node's id) and its name in the editor. */
async function renameStep(page, from, to, name) {
  await page.getByTestId(`node-${from}`).click();
  const key = page.getByLabel("Key", { exact: true });
  await key.fill(to);
  await key.blur();
  await page.getByTestId(`node-${to}`).waitFor();
  await field(page, "Name", name);
}

/** Toasts go by themselves after a few seconds; a screenshot should not wait for them. */
async function dismissToasts(page) {
  for (const toast of await page.locator(".toast").all()) await toast.click().catch(() => {});
}

async function connect(page, source, target) {
  const from = page.locator(`.react-flow__node[data-id="${source}"] .react-flow__handle.source`).first();
  const to = page.locator(`.react-flow__node[data-id="${target}"] .react-flow__handle.target`).first();
  await from.dragTo(to);
  await page.locator(`.react-flow__edge[data-id="${source}->${target}"], [data-testid="rf__edge-${source}->${target}"]`)
    .first().waitFor({ state: "attached" });
}

async function field(page, label, value) {
  const input = page.getByRole("complementary", { name: "Step editor" }).getByLabel(label, { exact: true });
  await input.fill(value);
}

test("draw, configure, save, run live, fail, retry, complete", async () => {
  assert.ok(RECEIVER, "RECEIVER_URL is set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0; // before signing in, /auth/me/ answers 401, as it should

  await page.getByRole("button", { name: "New workflow" }).first().click();
  await page.getByLabel("Name", { exact: true }).fill("Signup journey (browser test)");
  await page.getByRole("button", { name: "Create and open" }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();

  // Four steps from the palette, dropped left to right.
  await dropStep(page, "log", 40, 120);
  await page.getByTestId("node-log").waitFor();
  await dropStep(page, "send_email", 200, 260);
  await page.getByTestId("node-send_email").waitFor();
  await dropStep(page, "http_request", 360, 120);
  await page.getByTestId("node-http_request").waitFor();
  await dropStep(page, "slack", 480, 300);
  await page.getByTestId("node-slack").waitFor();

  await renameStep(page, "log", "signup", "New signup");
  await field(page, "Message", "New signup: {{ input.name }} <{{ input.email }}>");

  // Try the step alone, before any run exists.
  const editor = page.getByRole("complementary", { name: "Step editor" });
  await editor.getByText("Test this step").click();
  await editor.getByLabel("Sample input").fill(JSON.stringify({ name: "Ada", email: "ada@example.com" }));
  await editor.getByRole("button", { name: "Test step" }).click();
  const result = editor.getByLabel("Test result");
  await result.getByText("New signup: Ada <ada@example.com>").first().waitFor();
  assert.equal(await result.locator(".badge").first().textContent(), "completed");
  await renameStep(page, "send_email", "welcome_email", "Welcome email");
  await field(page, "To", "{{ input.email }}");
  await field(page, "Subject", "Welcome aboard, {{ input.name }}!");
  await field(page, "Body (text)", "Hi {{ input.name }}, thanks for signing up.");
  await renameStep(page, "http_request", "crm", "Create CRM entry");
  await field(page, "URL", `${RECEIVER}/flaky/crm?fail=1`);
  await page.getByText("Advanced: retries, timeout, condition").click();
  await field(page, "Max retries", "0");
  await renameStep(page, "slack", "notify_slack", "Notify Slack");
  // A credential field is a picker of the user's credentials (the schema marks it): pick it.
  await page.getByRole("complementary", { name: "Step editor" }).getByLabel("Credential holding the webhook URL", { exact: true })
    .selectOption("SLACK_WEBHOOK_URL");
  await field(page, "Text", "New signup: {{ input.name }} ({{ input.email }})");

  await connect(page, "signup", "welcome_email");
  await connect(page, "welcome_email", "crm");
  await connect(page, "crm", "notify_slack");
  await page.getByRole("button", { name: "Auto-layout" }).click();

  // The problems shown are the server's (POST /api/v1/workflows/validate/): wait for its answer
  // about this graph, then every step is valid.
  await page.locator('.fp-canvas[data-checked="true"]').waitFor({ timeout: 10_000 });
  for (const key of ["signup", "welcome_email", "crm", "notify_slack"]) {
    assert.notEqual(await page.getByTestId(`node-${key}`).getAttribute("data-invalid"), "true", `${key} is valid`);
  }
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText(/Saved/).first().waitFor();
  await page.getByTestId("node-welcome_email").click();
  await dismissToasts(page);
  await screenshot(page, "designer");

  // Run: the dialog activates the draft first.
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.getByLabel("Input (JSON)").fill(JSON.stringify({ name: "Ada", email: "ada@example.com" }));
  await page.getByRole("dialog").getByRole("button", { name: /run$/i }).click();
  await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);

  // Live over the WebSocket: the socket is open and carries the transitions.
  const frames = [];
  page.on("websocket", (ws) => ws.on("framereceived", (frame) => frames.push(frame.payload)));
  await page.locator('[data-testid="live-indicator"]').waitFor();
  const node = (key) => page.getByTestId(`monitor-node-${key}`);
  await node("signup").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await node("welcome_email").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await node("crm").and(page.locator('[data-status="failed"]')).waitFor({ timeout: 30_000 });
  assert.equal(await node("notify_slack").getAttribute("data-status"), "pending");

  // The failing node shows its error.
  await node("crm").click();
  const panel = page.getByTestId("step-panel");
  await panel.getByText(/500/).first().waitFor();
  await dismissToasts(page);
  await screenshot(page, "monitor-failed");

  // Retry: the CRM answers this time, and the run completes live.
  const framesBeforeRetry = frames.length;
  await page.getByRole("button", { name: /^Retry/ }).first().click();
  await page.getByRole("dialog").getByRole("button", { name: "Retry" }).click();
  await node("crm").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await node("notify_slack").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  assert.equal(await node("crm").getAttribute("data-attempts"), "2");
  const liveEvents = frames.slice(framesBeforeRetry).filter((payload) => String(payload).includes('"events"'));
  assert.ok(liveEvents.length > 0, "the retry's transitions arrived over the WebSocket");
  assert.ok(liveEvents.some((payload) => String(payload).includes("notify_slack")));
  await page.locator(".monitor-header .badge.status-completed").waitFor({ timeout: 15_000 });
  await dismissToasts(page);
  await screenshot(page, "monitor");

  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
});
