// Managing a workflow and retrying a failed run on the latest version, in real headless chromium
// against `make run`'s server: the settings dialog (a value the server refuses, then good ones),
// duplicate and delete the copy, export from the designer and import from the list, read a failed
// HTTP step's response body in the monitor's step panel, fix the URL in the designer, retry the run
// on the latest version. workflows/tests/test_browser.py checks on the server what the browser did.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, WORKFLOW_ID, RUN_ID (a run whose CRM step answered
// 500), RECEIVER_URL, CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { ARTIFACTS, launch, login, screenshot } from "./browser.mjs";

const { WORKFLOW_ID, RUN_ID, RECEIVER_URL } = process.env;
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

/** The list's row of the workflow named `name` (exactly), and its Manage menu opened. */
async function manageInList(page, name) {
  await page.goto("/workflows");
  const row = page.locator("tr", { has: page.getByRole("link", { name, exact: true }) }).first();
  await row.locator(".fp-menu > summary").click();
  return row;
}

test("settings, duplicate, delete, export, import; the error's body; retry on the latest version", async () => {
  assert.ok(WORKFLOW_ID && RUN_ID && RECEIVER_URL, "WORKFLOW_ID, RUN_ID and RECEIVER_URL are set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0; // before signing in, /auth/me/ answers 401, as it should

  // Settings: the server refuses 0 concurrent runs, and says so next to the field.
  await manageInList(page, "CRM sync");
  await page.getByRole("menuitem", { name: "Settings…" }).click();
  const settings = page.getByRole("dialog");
  await settings.getByLabel("Description").fill("Sync new users to the CRM");
  await settings.getByLabel("Retries", { exact: true }).fill("2");
  await settings.getByLabel("Max concurrent runs").fill("0");
  await settings.getByRole("button", { name: "Save settings" }).click();
  await settings.locator(".field-error").first().waitFor();
  assert.match(await settings.locator(".field-error").first().textContent(), /greater than or equal to 1/);
  await screenshot(page, "manage-settings-refused");
  // The refused save is a 400, which chromium logs as a failed resource: expected, once.
  const refused = problems.findIndex((p) => p.includes("status of 400 (Bad Request)"));
  assert.notEqual(refused, -1);
  problems.splice(refused, 1);
  await settings.getByLabel("Max concurrent runs").fill("5");
  await settings.getByRole("button", { name: "Save settings" }).click();
  await settings.waitFor({ state: "detached" });
  await page.getByText("Sync new users to the CRM").first().waitFor();
  await dismissToasts(page);
  await screenshot(page, "manage-list");

  // Duplicate from the list: the copy opens in the designer, a draft.
  await manageInList(page, "CRM sync");
  await page.getByRole("menuitem", { name: "Duplicate" }).click();
  await page.waitForURL((url) => /\/workflows\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(WORKFLOW_ID));
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  assert.equal(await page.getByLabel("Workflow name").inputValue(), "CRM sync (copy)");
  await page.getByTestId("node-crm").waitFor();
  await dismissToasts(page);
  await screenshot(page, "manage-duplicate");

  // Delete the copy from the designer: back to the list, without it.
  await page.locator(".fp-designer-header .fp-menu > summary").click();
  await page.getByRole("menuitem", { name: "Delete…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete", exact: true }).click();
  await page.waitForURL("**/workflows");
  await page.getByRole("link", { name: "CRM sync", exact: true }).first().waitFor();
  await page.getByRole("link", { name: "CRM sync (copy)", exact: true }).waitFor({ state: "detached" });

  // Export from the designer: the JSON document, downloaded.
  await page.goto(`/workflows/${WORKFLOW_ID}`);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  await page.locator(".fp-designer-header .fp-menu > summary").click();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("menuitem", { name: "Export JSON" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "crm-sync.json");
  const exported = path.join(ARTIFACTS, "crm-sync.json");
  await download.saveAs(exported);
  const document = JSON.parse(readFileSync(exported, "utf8"));
  assert.equal(document.flowpilot_export, 1);
  assert.equal(document.workflow.description, "Sync new users to the CRM");

  // Import it from the list: a new workflow, opened in the designer.
  await page.goto("/workflows");
  await page.getByTestId("import-file").setInputFiles(exported);
  await page.waitForURL((url) => /\/workflows\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(WORKFLOW_ID));
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  assert.equal(await page.getByLabel("Workflow name").inputValue(), "CRM sync");
  await page.getByTestId("node-crm").waitFor();
  await dismissToasts(page);
  await screenshot(page, "manage-imported");

  // The failed run: the CRM's answer in full in the step panel.
  await page.goto(`/executions/${RUN_ID}`);
  const node = (key) => page.getByTestId(`monitor-node-${key}`);
  await node("crm").and(page.locator('[data-status="failed"]')).waitFor();
  await node("crm").click();
  const panel = page.getByTestId("step-panel");
  assert.equal((await panel.getByTestId("error-status").textContent()).trim(), "500");
  assert.equal((await panel.getByTestId("error-body").textContent()).trim(), "the CRM is down: no such endpoint /v1/contacts");
  await dismissToasts(page);
  await screenshot(page, "monitor-error-body");

  // Fix the URL in the designer and save: the active workflow publishes a new version.
  await page.goto(`/workflows/${WORKFLOW_ID}`);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  await page.getByTestId("node-crm").click();
  await page.getByRole("complementary", { name: "Step editor" }).getByLabel("URL", { exact: true }).fill(`${RECEIVER_URL}/v2/contacts`);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("All changes saved").waitFor();
  const latest = await page.evaluate(async (id) => (await (await fetch(`/api/v1/workflows/${id}/`)).json()).version, WORKFLOW_ID);
  assert.ok(latest >= 2, `a new version was published (v${latest})`);

  // Retry: the dialog says a newer version exists and offers it (chosen), or the run's own.
  await page.goto(`/executions/${RUN_ID}`);
  await node("crm").and(page.locator('[data-status="failed"]')).waitFor();
  await page.getByRole("button", { name: /^Retry/ }).first().click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("A newer version of the workflow exists").waitFor();
  const onRun = dialog.getByLabel("Retry on v1 (the run's version)");
  const onLatest = dialog.getByLabel(`Retry on the latest version (v${latest})`);
  assert.equal(await onLatest.isChecked(), true);
  assert.equal(await onRun.isChecked(), false);
  await screenshot(page, "retry-version-dialog");
  await dialog.getByRole("button", { name: "Retry", exact: true }).click();
  await node("crm").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
  await page.locator(".monitor-header .badge.status-completed").waitFor({ timeout: 30_000 });
  await node("crm").click();
  await panel.getByTestId("attempt-version").waitFor();
  assert.equal((await panel.getByTestId("attempt-version").textContent()).trim(), `· ran on v${latest}`);
  await panel.getByTestId("attempt-1").click();
  assert.equal((await panel.getByTestId("attempt-version").textContent()).trim(), "· ran on v1");
  await panel.getByTestId("attempt-2").click();
  await dismissToasts(page);
  await screenshot(page, "monitor-retried-on-latest");

  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
});
