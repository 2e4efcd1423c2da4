// Triggers on the designer's canvas, in real headless chromium against `make run`'s server: drop a
// webhook trigger from the palette, add it, reveal its secret, listen for a test delivery (the test
// in workflows/tests/test_browser.py fires a correctly signed request while this waits), see the
// captured input and keep it as the sample input, see the delivery in the recent ones; add a
// schedule and read its cron in words and its next fire times (the server's answers). Also the canvas
// polish: a step dropped lands where it was dropped (on an empty canvas too), several selected steps
// are named in the panel, Shift-drag selects no text, and the monitor's minimap covers no node. Screenshots go to $ARTIFACTS.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, WORKFLOW_ID, EMPTY_WORKFLOW_ID, CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const WORKFLOW_ID = process.env.WORKFLOW_ID;
const EMPTY_WORKFLOW_ID = process.env.EMPTY_WORKFLOW_ID;
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

test("add a webhook, capture a signed test delivery, add a schedule and see its next fires", async () => {
  assert.ok(WORKFLOW_ID && EMPTY_WORKFLOW_ID, "WORKFLOW_ID and EMPTY_WORKFLOW_ID are set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0; // before signing in, /auth/me/ answers 401, as it should
  const pane = page.locator(".react-flow__pane");
  const transform = () => page.locator(".react-flow__viewport").evaluate((el) => getComputedStyle(el).transform);

  // On an empty canvas, the first step dropped lands where it was dropped: no fit to it, no 1.2x zoom.
  await page.goto(`/workflows/${EMPTY_WORKFLOW_ID}`);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  let paneBox = await pane.boundingBox();
  const emptyView = await transform();
  await page.getByTestId("palette-log").dragTo(pane, { targetPosition: { x: 300, y: 200 } });
  await page.getByTestId("node-log").waitFor();
  await page.waitForTimeout(400); // a fitView would animate; give it the time to show
  let box = await page.getByTestId("node-log").boundingBox();
  assert.ok(Math.abs(box.x + box.width / 2 - (paneBox.x + 300)) < 25, `dropped at x ${box.x + box.width / 2}`);
  assert.ok(Math.abs(box.y + box.height / 2 - (paneBox.y + 200)) < 25, `dropped at y ${box.y + box.height / 2}`);
  assert.equal(await transform(), emptyView);
  assert.match(emptyView, /^matrix\(1, 0, 0, 1,/);
  await page.keyboard.press("Control+z");
  await page.getByTestId("node-log").waitFor({ state: "detached" });

  await page.goto(`/workflows/${WORKFLOW_ID}`);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  await page.getByTestId("node-hello").waitFor();
  paneBox = await pane.boundingBox();

  // On a canvas with steps too, a dropped step lands where it was dropped, and the zoom stays.
  const zoomBefore = await transform();
  await page.getByTestId("palette-log").dragTo(pane, { targetPosition: { x: 620, y: 520 } });
  const dropped = page.getByTestId("node-log");
  await dropped.waitFor();
  await page.waitForTimeout(400);
  box = await dropped.boundingBox();
  assert.ok(Math.abs(box.x + box.width / 2 - (paneBox.x + 620)) < 25, `dropped at x ${box.x + box.width / 2}`);
  assert.ok(Math.abs(box.y + box.height / 2 - (paneBox.y + 520)) < 25, `dropped at y ${box.y + box.height / 2}`);
  assert.equal(await transform(), zoomBefore);
  await page.keyboard.press("Control+z");
  await page.getByTestId("node-log").waitFor({ state: "detached" });

  // A webhook trigger from the palette: a draft start node with its panel, then added.
  await page.getByTestId("palette-trigger-webhook").dragTo(pane, { targetPosition: { x: 120, y: 120 } });
  await page.getByTestId("trigger-node-new").waitFor();
  const panel = page.getByRole("complementary", { name: "Trigger editor" });
  await panel.getByLabel("Name", { exact: true }).fill("From the shop");
  await panel.getByTestId("trigger-save").click();
  const url = panel.getByTestId("webhook-url");
  await page.waitForFunction(() => document.querySelector('[data-testid="webhook-url"]')?.value.includes("/hooks/"));
  const hookUrl = await url.inputValue();
  assert.match(hookUrl, /^http:\/\/127\.0\.0\.1:\d+\/hooks\/[\w-]+\/$/);
  assert.equal(await page.locator('.react-flow__node[data-id^="trigger:"] [data-kind="webhook"]').count(), 1);

  // Its secret, revealed; the signing recipe carries the URL and the secret.
  await panel.getByTestId("reveal-secret").click();
  await page.waitForFunction(() => /^[0-9a-f]{64}$/.test(document.querySelector('[data-testid="webhook-secret"]')?.value ?? ""));
  const secret = await panel.getByTestId("webhook-secret").inputValue();
  const recipe = await panel.getByTestId("signing-recipe").textContent();
  assert.ok(recipe.includes(hookUrl) && recipe.includes(secret) && recipe.includes("openssl dgst -sha256 -hmac"), recipe);
  await panel.getByRole("tab", { name: "Python" }).click();
  assert.ok((await panel.getByTestId("signing-recipe").textContent()).includes("hmac.new(SECRET.encode()"));

  // Listen: the test (Python, httpx) sees the listening webhook and fires a signed delivery.
  await panel.getByTestId("listen-button").click();
  await panel.locator('[data-testid="listen-box"][data-listening="true"]').waitFor();
  await dismissToasts(page);
  await screenshot(page, "trigger-webhook-listening");
  const captured = panel.getByTestId("captured-input");
  await captured.waitFor({ timeout: 90_000 });
  const input = JSON.parse(await captured.textContent());
  assert.equal(input.name, "Ada");
  assert.equal(input._webhook.trigger_id.length, 36);
  assert.equal(await panel.getByTestId("captured-delivery").getAttribute("data-status"), "202");
  await panel.getByTestId("use-sample-input").click();
  await page.getByText("Kept as the sample input").first().waitFor();
  // The delivery in the recent ones, with the run it started.
  await panel.locator('[data-testid="deliveries"] li[data-accepted="true"]').first().waitFor({ timeout: 15_000 });
  await dismissToasts(page);
  await screenshot(page, "trigger-webhook-captured");

  // A schedule: its cron in words and its next fire times, in its timezone, from the server.
  await page.getByTestId("palette-trigger-schedule").click();
  await page.getByTestId("trigger-node-new").waitFor();
  await panel.getByTestId("schedule-cron").fill("30 2 * * 1-5");
  await panel.getByTestId("schedule-timezone").fill("Europe/Paris");
  await page.waitForFunction(() => document.querySelector('[data-testid="cron-description"]')?.textContent
    === "At 02:30, Monday through Friday");
  const fires = panel.locator('[data-testid="next-fires"] li');
  await page.locator('[data-testid="next-fires"][data-zone="Europe/Paris"]').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="next-fires"] li').length === 5);
  for (const text of await fires.allTextContents()) assert.match(text, /^(Mon|Tue|Wed|Thu|Fri) .*, 02:30 \(UTC\+0[12]:00\)/);
  // A bad cron: the server's reason, shown as it is typed.
  await panel.getByTestId("schedule-cron").fill("61 2 * * *");
  await panel.getByRole("alert").first().waitFor();
  await panel.getByTestId("schedule-cron").fill("30 2 * * 1-5");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="next-fires"] li').length === 5);
  await panel.getByTestId("trigger-save").click();
  await page.getByText("Schedule trigger added").first().waitFor();
  await page.locator('.react-flow__node[data-id^="trigger:"]:not([data-id="trigger:new"]) [data-kind="schedule"]').waitFor();
  await dismissToasts(page);
  await screenshot(page, "trigger-schedule");

  // Pause it from the panel.
  await panel.getByTestId("trigger-toggle").click();
  await page.locator('[data-kind="schedule"][data-enabled="false"]').waitFor();

  // Several steps selected: the panel says so (the whole graph in view first).
  await page.locator(".react-flow__controls-fitview").click();
  await page.waitForTimeout(300);
  await page.getByTestId("node-hello").click();
  await page.getByTestId("node-bye").click({ modifiers: ["Control"] });
  await page.getByTestId("selection-panel").getByText("2 steps selected").waitFor();
  // Shift-drag a selection box from the pane across the toolbar: no text gets selected.
  await page.getByRole("button", { name: "Clear selection" }).click();
  paneBox = await pane.boundingBox();
  const toolbar = await page.locator(".fp-toolbar").boundingBox();
  await page.keyboard.down("Shift");
  await page.mouse.move(paneBox.x + paneBox.width / 2, paneBox.y + paneBox.height - 8); // empty pane, left of the minimap
  await page.mouse.down();
  await page.mouse.move(toolbar.x + 5, toolbar.y + 5, { steps: 8 });
  await page.mouse.move(toolbar.x - 2, toolbar.y - 2, { steps: 2 });
  assert.equal(await page.locator(".react-flow__selection").count(), 1, "Shift-drag draws a selection box");
  await page.mouse.up();
  await page.keyboard.up("Shift");
  assert.equal(await page.evaluate(() => window.getSelection()?.toString() ?? ""), "");
  await dismissToasts(page);
  await screenshot(page, "designer-steps-selected");

  // The run the test delivery started, in the monitor: the minimap keeps clear of the last column.
  const runLink = page.locator('[data-testid="deliveries"] a').first();
  await page.getByTestId(`trigger-node-${input._webhook.trigger_id}`).click();
  const runHref = await runLink.getAttribute("href");
  await page.goto(runHref);
  const graph = page.getByTestId("monitor-graph");
  await graph.locator(".react-flow__node").nth(1).waitFor();
  await page.waitForTimeout(400);
  const minimap = await graph.locator(".react-flow__minimap").boundingBox();
  for (const node of await graph.locator(".react-flow__node").all()) {
    const b = await node.boundingBox();
    const overlaps = b.x < minimap.x + minimap.width && b.x + b.width > minimap.x && b.y < minimap.y + minimap.height && b.y + b.height > minimap.y;
    assert.ok(!overlaps, `a node (${JSON.stringify(b)}) lies under the minimap (${JSON.stringify(minimap)})`);
  }
  await screenshot(page, "monitor-webhook-run");

  // The bad cron's preview answered 400 on purpose; anything else logged is a problem.
  assert.deepEqual(problems.filter((p) => !p.includes("the server responded with a status of 400")), []);
});
