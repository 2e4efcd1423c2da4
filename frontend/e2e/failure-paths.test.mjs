// A failure path drawn in real headless chromium against `make run`'s server: an edge dragged from
// the CRM step's red "failed" handle to the review step (red, dashed, "on failure"), saved, run
// from the Run dialog; the CRM answers 500, and the monitor shows the review taken, the welcome
// skipped and the run "completed · 1 handled failure". workflows/tests/test_browser.py checks on
// the server what the browser did.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, WORKFLOW_ID (a draft "Signup with review": crm ->
// welcome, and review on its own), CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const { WORKFLOW_ID } = process.env;
let session;

before(async () => {
  session = await launch();
});

after(async () => {
  await session?.browser.close();
});

test("draw an on-failure edge, run, see the handled failure in the monitor", async () => {
  assert.ok(WORKFLOW_ID, "WORKFLOW_ID is set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0;

  await page.goto(`/workflows/${WORKFLOW_ID}`);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  const failed = page.locator('.react-flow__node[data-id="crm"] .react-flow__handle.source.fp-handle-failed');
  const target = page.locator('.react-flow__node[data-id="review"] .react-flow__handle.target');
  await failed.dragTo(target);
  const edge = page.locator('[data-testid="rf__edge-crm:failed->review"]');
  await edge.waitFor({ state: "attached" });
  assert.match(await edge.getAttribute("class"), /fp-edge-failure/);
  assert.equal((await edge.locator(".react-flow__edge-text").textContent()).trim(), "on failure");

  await page.locator('.fp-canvas[data-checked="true"]').waitFor({ timeout: 10_000 });
  for (const key of ["crm", "welcome", "review"]) {
    assert.notEqual(await page.getByTestId(`node-${key}`).getAttribute("data-invalid"), "true", `${key} is valid`);
  }
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText(/Saved/).first().waitFor();
  await screenshot(page, "designer-failure-path");

  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.getByLabel("Input (JSON)").fill(JSON.stringify({ email: "ada@example.com" }));
  await page.getByRole("dialog").getByRole("button", { name: /run$/i }).click();
  await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);

  const badge = page.getByTestId("handled-failures");
  await badge.waitFor({ timeout: 30_000 });
  await page.locator(".monitor-header .badge.status-completed").waitFor({ timeout: 30_000 });
  assert.equal((await badge.textContent()).trim(), "completed · 1 handled failure");
  const node = (key) => page.getByTestId(`monitor-node-${key}`);
  assert.equal(await node("crm").getAttribute("data-status"), "failed");
  assert.equal(await node("welcome").getAttribute("data-status"), "skipped");
  assert.equal(await node("review").getAttribute("data-status"), "completed");
  const drawn = page.locator('.monitor-graph [data-testid="rf__edge-crm:failed->review"]');
  await drawn.waitFor({ state: "attached" });
  assert.match(await drawn.getAttribute("class"), /fp-edge-failure/);
  await screenshot(page, "monitor-handled-failure");
  assert.deepEqual(problems, []);
});
