// Issue 17's "debug with real data", in real headless chromium against `make run`'s server: a run
// failed at its second step (its expression names a field the first step's output lacks). Open the
// failed run, "Open in designer", see each step's recorded data pinned on the canvas, fix the failing
// step's config, test it against the first step's recorded output, resume the run with the fix and
// watch it complete in the monitor. Screenshots go to $ARTIFACTS.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, RUN_ID (the failed run), CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const RUN_ID = process.env.RUN_ID;
const FIXED = "{{ steps.order.output.result.total * 2 }}";
let session;

before(async () => {
  session = await launch();
});

after(async () => {
  await session?.browser.close();
});

async function dismissToasts(page) {
  for (const toast of await page.locator(".toast").all()) await toast.click().catch(() => {});
}

test("open a failed run in the designer, fix, test on real data, resume, complete", async () => {
  assert.ok(RUN_ID, "RUN_ID is set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0;

  // The failed run in the monitor.
  await page.goto(`/executions/${RUN_ID}`);
  await page.locator(".monitor-header .badge.status-failed").waitFor();
  await page.getByTestId("monitor-node-invoice").and(page.locator('[data-status="failed"]')).waitFor();

  // Open in designer: the run's data is pinned on the canvas.
  await page.getByRole("link", { name: "Open in designer" }).click();
  await page.waitForURL(new RegExp(`/workflows/[0-9a-f-]{36}\\?execution=${RUN_ID}$`));
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  const bar = page.getByRole("status", { name: "Run opened in the designer" });
  await bar.getByText("its recorded data is pinned on the steps").waitFor();
  const orderPin = page.getByTestId("pin-order");
  await orderPin.waitFor();
  assert.match(await orderPin.textContent(), /"total":30/, "the first step's recorded output is on its node");
  assert.match(await page.getByTestId("pin-invoice").textContent(), /input only/, "the failed step pinned its input only");

  // The first step's panel shows its recorded output.
  await page.getByTestId("node-order").click();
  const editor = page.getByRole("complementary", { name: "Step editor" });
  const pinnedOutput = editor.getByRole("region", { name: "Pinned data" }).getByLabel("Pinned output");
  assert.deepEqual(JSON.parse(await pinnedOutput.inputValue()), { result: { id: 42, total: 30 } });
  await dismissToasts(page);
  await screenshot(page, "designer-run-pinned");

  // The failing step: Test starts from the run's input and the first step's recorded output.
  await page.getByTestId("node-invoice").click();
  const testInput = editor.getByLabel("Sample input");
  assert.deepEqual(JSON.parse(await testInput.inputValue()), { order: { id: 42, total: 30, note: "rush" } });
  assert.equal(await editor.getByTestId("pinned-upstream").textContent(), "order");
  const upstream = JSON.parse(await editor.getByLabel("Upstream outputs").inputValue());
  assert.deepEqual(upstream, { order: { output: { result: { id: 42, total: 30 } } } });
  await editor.getByRole("button", { name: "Test step" }).click();
  await editor.getByText(/totl/).first().waitFor(); // the run's error, again, on the real data

  // Fix its config and test again: 30 * 2 from the recorded output.
  const source = editor.getByLabel("Source", { exact: true });
  await source.fill(FIXED);
  await source.press("Escape");
  await editor.getByRole("button", { name: "Test step" }).click();
  const result = editor.getByLabel("Test result");
  await result.locator(".badge").first().waitFor();
  assert.equal(await result.locator(".badge").first().textContent(), "completed");
  assert.deepEqual(JSON.parse(await result.locator("pre.fp-pre").first().textContent()), { result: 60 });

  // The sample input is kept when another step is selected and this one again.
  await page.getByTestId("node-order").click();
  await page.getByTestId("node-invoice").click();
  assert.deepEqual(JSON.parse(await editor.getByLabel("Sample input").inputValue()), { order: { id: 42, total: 30, note: "rush" } });
  await dismissToasts(page);
  await screenshot(page, "designer-run-tested");

  // Resume the run with the fix (this run only), then watch it in the monitor. Needs the server's
  // retry with overrides (issue 17's edit and resume): the last part of this test.
  console.log("RESUME-START");
  await bar.getByRole("button", { name: "Resume run with this fix" }).click();
  await page.waitForURL(new RegExp(`/executions/${RUN_ID}$`));
  await page.getByTestId("monitor-node-invoice").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await page.locator(".monitor-header .badge.status-completed").waitFor({ timeout: 15_000 });
  await dismissToasts(page);
  await screenshot(page, "monitor-resumed");

  // The first Test answered 400 (the broken config does not render): the browser logs that request.
  const unexpected = problems.filter((p) => !p.includes("WebSocket") && !/status of 400/.test(p));
  assert.deepEqual(unexpected, [], "no page errors");
});
