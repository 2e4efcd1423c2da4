// Approvals in the browser (headless chromium against `make run`'s server). The wrapper
// (workflows/tests/test_browser.py) has started three runs of a refund workflow, each waiting at its
// approval step: here run A is approved from the monitor's step panel, run B rejected (with a
// comment) from /approvals, and run C approved through its emailed link's page (GET shows, the
// button POSTs). The wrapper then checks on the server what was decided, by whom and why.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, RUN_A, RUN_B, LINK_URL, CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const { RUN_A, RUN_B, LINK_URL } = process.env;
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

test("approve from the monitor's step panel, reject from /approvals, approve by link", async () => {
  assert.ok(RUN_A && RUN_B && LINK_URL, "RUN_A, RUN_B and LINK_URL are set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0;

  // The monitor: the waiting step has an SVG icon (no glyph), and its panel says it awaits approval.
  await page.goto(`/executions/${RUN_A}`);
  const node = (key) => page.getByTestId(`monitor-node-${key}`);
  await node("approve").and(page.locator('[data-status="waiting"]')).waitFor({ timeout: 30_000 });
  assert.equal(await node("approve").locator(".monitor-node-icon svg").count(), 1, "the waiting icon is an SVG");
  assert.ok(!(await node("approve").locator(".monitor-node-icon").textContent()).includes("⏸"));
  // "Why isn't it running?": the run page says the run waits for an approval, and so does the step's panel.
  await page.getByTestId("why-panel").getByTestId("why-approve").getByText("Approval", { exact: true }).waitFor();
  await node("approve").click();
  const panel = page.getByTestId("step-panel");
  await panel.getByTestId("step-why").getByText("Approval", { exact: true }).waitFor();
  await panel.getByTestId("step-awaiting").getByText("Awaiting approval").waitFor();
  await panel.getByTestId("step-awaiting").getByText("Refund 40 EUR to Ada?").waitFor();
  assert.equal(await panel.getByText('"approval": true').count(), 0, "the parked output is not shown as approved");
  await panel.getByLabel(/Comment/).fill("Small amount, fine");
  await panel.getByRole("button", { name: "Approve" }).scrollIntoViewIfNeeded();
  await dismissToasts(page);
  await screenshot(page, "approval-monitor-waiting");
  await panel.getByRole("button", { name: "Approve" }).click();
  await node("approve").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await node("refund").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  assert.equal(await node("decline").getAttribute("data-status"), "skipped");
  await page.locator(".monitor-header .badge.status-completed").waitFor({ timeout: 15_000 });
  if (!(await panel.isVisible())) await node("approve").click();
  const decided = panel.getByTestId("step-decision");
  await decided.getByText("Approved").waitFor();
  await decided.getByText("“Small amount, fine”").waitFor();
  await decided.scrollIntoViewIfNeeded();
  await dismissToasts(page);
  await screenshot(page, "approval-monitor-approved");

  // The Approvals page, from the menu: run B (and C) wait there; B is rejected with a comment.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Approvals" }).click();
  await page.waitForURL("**/approvals");
  const card = page.getByTestId(`approval-${RUN_B}-approve`);
  await card.waitFor();
  await card.locator(".approval-message").getByText("Refund 990 EUR to Bob?").waitFor();
  await card.getByText("awaiting approval").waitFor();
  await card.getByText('"customer": "Bob"').waitFor();
  assert.equal(await page.getByTestId(`approval-${RUN_A}-approve`).count(), 0, "a decided step is not listed");
  await card.getByLabel(/Comment/).fill("Over the refund limit");
  await dismissToasts(page);
  await screenshot(page, "approvals-page");
  await card.getByRole("button", { name: "Reject" }).click();
  await card.waitFor({ state: "detached", timeout: 15_000 });
  await dismissToasts(page);
  await screenshot(page, "approvals-page-after-reject");

  // The emailed link: GET shows a confirmation page and decides nothing; the button decides.
  await page.goto(LINK_URL);
  await page.getByRole("heading", { name: "Approve this step?" }).waitFor();
  await screenshot(page, "approval-link-page");
  await page.getByRole("button", { name: "Approve" }).click();
  await page.getByRole("heading", { name: "Approved" }).waitFor();
  await screenshot(page, "approval-link-approved");
  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
  await page.goto(LINK_URL);  // a second use is refused (the page answers 409: chromium logs it)
  await page.getByRole("heading", { name: "Nothing to decide" }).waitFor();
  assert.ok(problems.every((p) => p.includes("409")), "only the refused link's 409");
  problems.length = 0;

  // With nothing left, the page says so.
  await page.goto("/approvals");
  await page.getByText("Nothing is waiting for you").waitFor({ timeout: 15_000 });
  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
});
