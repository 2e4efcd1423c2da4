// Big graphs in the browser (issue 19), not timed: a workflow made through the API without positions
// opens in the designer and lays out (Auto-layout) without an error; a live run's count reaches its end
// on screen. Environment (each part runs when its variable is set): CHAIN_ID (a 2,500-step chain),
// DAG_ID (a 1,000-step DAG), LIVE_EXECUTION_ID with LIVE_STEPS (a run just started); BASE_URL,
// FP_USERNAME, FP_PASSWORD, CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const nodePositions = (page) => page.evaluate(() => [...document.querySelectorAll(".fp-canvas .react-flow__node")]
  .slice(0, 50).map((node) => node.style.transform).join("|"));

/** Opens the workflow, waits for it drawn, presses Auto-layout and waits until the nodes stop moving. */
async function openAndLayOut(page, problems, workflowId, steps, name) {
  await page.goto(`/workflows/${workflowId}`);
  // Drawn, or the page's error (a layout that overflows the stack ends here: say so at once).
  await page.waitForFunction(() => document.querySelector('.fp-canvas[data-ready="true"]')
    || document.body.innerText.includes("Unexpected Application Error"), null, { timeout: 240_000, polling: 200 });
  assert.doesNotMatch((await page.locator("body").innerText()).replace(/\s+/g, " ").slice(0, 300), /Unexpected Application Error/);
  await page.waitForFunction(() => [...document.querySelectorAll(".fp-canvas .react-flow__node")]
    .some((node) => getComputedStyle(node).visibility !== "hidden"), null, { timeout: 240_000 });
  assert.equal(await page.locator(".fp-canvas").getAttribute("data-node-count"), String(steps));
  assert.doesNotMatch(await page.locator("body").innerText(), /Unexpected Application Error|Maximum call stack/);

  await page.getByRole("button", { name: "Auto-layout" }).click();
  let last = "";
  let stableSince = Date.now();
  const deadline = Date.now() + 240_000;
  while (Date.now() - stableSince < 2_000) {
    assert.ok(Date.now() < deadline, "the nodes kept moving for 4 minutes after Auto-layout");
    const now = await nodePositions(page);
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    }
    await page.waitForTimeout(200);
  }
  await screenshot(page, name);
  assert.doesNotMatch(await page.locator("body").innerText(), /Unexpected Application Error|Maximum call stack/);
  assert.deepEqual(problems.filter((p) => /call stack|layout/i.test(p)), []);
  assert.equal(await page.locator(".fp-canvas").getAttribute("data-node-count"), String(steps));
}

test("a 2,500-step chain opens in the designer and lays out", { skip: !process.env.CHAIN_ID, timeout: 600_000 }, async () => {
  const { browser, page, problems } = await launch();
  try {
    page.setDefaultTimeout(120_000);
    await login(page);
    await openAndLayOut(page, problems, process.env.CHAIN_ID, 2500, "big-chain-2500");
  } finally {
    await browser.close();
  }
});

test("a 1,000-step DAG opens in the designer and lays out", { skip: !process.env.DAG_ID, timeout: 600_000 }, async () => {
  const { browser, page, problems } = await launch();
  try {
    page.setDefaultTimeout(120_000);
    await login(page);
    await openAndLayOut(page, problems, process.env.DAG_ID, 1000, "big-dag-1000");
  } finally {
    await browser.close();
  }
});

test("a live run's count reaches its end on screen", { skip: !process.env.LIVE_EXECUTION_ID, timeout: 600_000 }, async () => {
  const { browser, page } = await launch();
  const steps = Number(process.env.LIVE_STEPS);
  try {
    await login(page);
    await page.goto(`/executions/${process.env.LIVE_EXECUTION_ID}`);
    await page.locator('[data-testid="live-indicator"]').waitFor({ timeout: 60_000 });
    // The header's count of this run's steps (0 / 0 while its version loads).
    const header = page.getByText(new RegExp(`\\d+ / ${steps} done`));
    await header.waitFor({ timeout: 60_000 });
    // Counts seen on the way: the screen moves while the run does (it does not jump from the start to the end).
    const seen = new Set();
    const deadline = Date.now() + 300_000;
    for (;;) {
      const text = await header.textContent();
      const done = Number(text.match(/(\d+) \/ (\d+) done/)[1]);
      assert.equal(Number(text.match(/(\d+) \/ (\d+) done/)[2]), steps);
      seen.add(done);
      if (done === steps) break;
      assert.ok(Date.now() < deadline, `the screen stayed at ${text} for 5 minutes`);
      await page.waitForTimeout(100);
    }
    // Fitted, the whole graph is in view: the last step is drawn, in its final colour.
    await page.getByTestId(`monitor-node-s${steps - 1}`).and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
    await screenshot(page, "live-200");
    console.log(`LIVE-COUNTS ${JSON.stringify([...seen].sort((a, b) => a - b))}`);
  } finally {
    await browser.close();
  }
});
