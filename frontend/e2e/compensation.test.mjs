// Compensation in real headless chromium against `make run`'s server (docs/adr/0035): the step form's
// "Compensate with" sets the booking step's compensation, the designer draws the dashed violet
// "compensate" link and marks the compensation step; saved and run, the payment fails for good and
// the monitor shows the run failed and "compensated", the compensation step marked and in the
// timeline's "Compensation" lane. workflows/tests/test_browser.py checks on the server what the
// browser did.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, WORKFLOW_ID (a draft "Trip": book -> pay, which
// fails, and cancel_booking on its own), CHROMIUM, ARTIFACTS.
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

test("set a compensation in the step form, see its link, run, see the compensation phase", async () => {
  assert.ok(WORKFLOW_ID, "WORKFLOW_ID is set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0;

  await page.goto(`/workflows/${WORKFLOW_ID}`);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  await page.getByTestId("node-book").click();
  const editor = page.getByRole("complementary", { name: "Step editor" });
  await editor.getByText(/^Advanced:/).click();
  await editor.getByLabel("Compensate with").selectOption("cancel_booking");

  const link = page.locator('[data-testid="rf__edge-book~compensate->cancel_booking"]');
  await link.waitFor({ state: "attached" });
  assert.match(await link.getAttribute("class"), /fp-edge-compensation/);
  assert.equal((await link.locator(".react-flow__edge-text").textContent()).trim(), "compensate");
  await page.getByTestId("compensation-cancel_booking").waitFor();

  await page.locator('.fp-canvas[data-checked="true"]').waitFor({ timeout: 10_000 });
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText(/Saved/).first().waitFor();
  await screenshot(page, "designer-compensation");

  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.getByLabel("Input (JSON)").fill(JSON.stringify({ trip: "t-1" }));
  await page.getByRole("dialog").getByRole("button", { name: /run$/i }).click();
  await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);

  const phase = page.getByTestId("execution-phase");
  await page.locator(".monitor-header .badge.status-failed").waitFor({ timeout: 30_000 });
  await phase.waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="execution-phase"]')?.textContent?.trim() === "compensated",
    null, { timeout: 30_000 });
  const node = (key) => page.getByTestId(`monitor-node-${key}`);
  assert.equal(await node("book").getAttribute("data-status"), "completed");
  assert.equal(await node("pay").getAttribute("data-status"), "failed");
  assert.equal(await node("cancel_booking").getAttribute("data-status"), "completed");
  await page.getByTestId("monitor-node-compensation-cancel_booking").waitFor();
  const drawn = page.locator('.monitor-graph [data-testid="rf__edge-book~compensate->cancel_booking"]');
  await drawn.waitFor({ state: "attached" });
  assert.match(await drawn.getAttribute("class"), /fp-edge-compensation/);
  await page.getByTestId("timeline-compensation").waitFor();
  await page.getByTestId("timeline-row-cancel_booking").waitFor();
  await screenshot(page, "monitor-compensation");
  assert.deepEqual(problems, []);
});
