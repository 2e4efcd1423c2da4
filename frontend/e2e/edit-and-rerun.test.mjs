// Edit and resume, then rerun from here, in real headless chromium against `make run`'s server: a run
// whose CRM step answered 500 is resumed with its CRM config corrected for this run only (the
// workflow is not changed), then re-opened from its first step, then rerun from its CRM step in bulk
// from the executions list (selected, dry-run preview, rerun). workflows/tests/test_browser.py
// checks on the server what the browser did.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, RUN_ID, WORKFLOW_ID, RECEIVER_URL, CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const { RUN_ID, WORKFLOW_ID, RECEIVER_URL } = process.env;
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

test("edit the failed step's config and resume; rerun from the first step", async () => {
  assert.ok(RUN_ID && RECEIVER_URL, "RUN_ID and RECEIVER_URL are set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0;  // the sign-in page's own 401 before signing in
  await page.goto(`/executions/${RUN_ID}`);
  const node = (key) => page.getByTestId(`monitor-node-${key}`);
  await node("crm").and(page.locator('[data-status="failed"]')).waitFor();

  await page.getByRole("button", { name: "Edit and resume" }).click();
  const dialog = page.getByRole("dialog");
  const config = dialog.getByLabel(/Config of crm/);
  const current = JSON.parse(await config.inputValue());
  assert.match(current.url, /\/status\/500/, "the dialog shows the config the step failed with");
  await config.fill(JSON.stringify({ ...current, url: `${RECEIVER_URL}/v2/contacts` }, null, 2));
  await screenshot(page, "edit-and-resume-dialog");
  await dialog.getByRole("button", { name: "Resume with these values" }).click();
  await node("crm").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await page.getByTestId("monitor-node-edited-crm").waitFor();
  await page.getByTestId("header-edited").waitFor();
  await node("crm").click();
  await page.getByTestId("step-override").getByText("/v2/contacts").waitFor();

  await node("welcome").click();
  await page.getByTestId("step-panel").getByRole("button", { name: "Rerun from here" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Rerun from here" }).click();
  await page.getByTestId("monitor-node-attempts-welcome").getByText("×2").waitFor({ timeout: 30_000 });
  await page.getByTestId("monitor-node-attempts-crm").getByText("×3").waitFor({ timeout: 30_000 });
  await page.locator(".monitor-header .badge.status-completed").waitFor({ timeout: 30_000 });
  await dismissToasts(page);
  await screenshot(page, "rerun-from-here");

  // Bulk: select the run in the list, choose the step, see the dry run's count, rerun.
  await page.goto(`/executions?workflow=${WORKFLOW_ID}`);
  await page.getByTestId(`execution-row-${RUN_ID}`).getByLabel("Select").check();
  await page.getByRole("button", { name: "Rerun from step… (1)" }).click();
  const bulk = page.getByRole("dialog");
  await bulk.getByLabel("From step").selectOption("crm");
  await bulk.getByTestId("bulk-rerun-preview").getByText("1 execution will rerun from crm").waitFor();
  await screenshot(page, "bulk-rerun-preview");
  await bulk.getByRole("button", { name: "Rerun 1" }).click();
  await page.locator(".toast").getByText("Rerun 1 execution.").waitFor();

  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
});
