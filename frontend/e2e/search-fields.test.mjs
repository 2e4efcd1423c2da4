// Search by business data in real headless chromium against `make run`'s server: a search field
// added in the workflow's settings (a template reading a secret refused by the server, its message
// shown next to the field; then a good one), runs found by their value with the executions list's
// search filter, and the run's search values on its page, each a link to the runs sharing it.
// workflows/tests/test_browser.py checks on the server what the browser did.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, WORKFLOW_ID (an active workflow "Patients" with
// no search fields), CHROMIUM, ARTIFACTS.
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

test("declare a search field, find the runs of +91123, see a run's values", async () => {
  assert.ok(WORKFLOW_ID, "WORKFLOW_ID is set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0;

  // Settings: a search field reading a secret is refused by the server, next to the field.
  await page.goto("/workflows");
  const row = page.locator("tr", { has: page.getByRole("link", { name: "Patients", exact: true }) }).first();
  await row.locator(".fp-menu > summary").click();
  await page.getByRole("menuitem", { name: "Settings…" }).click();
  const settings = page.getByRole("dialog");
  await settings.getByRole("button", { name: "Add a search field" }).click();
  await settings.getByLabel("Search field 1 name").fill("phone");
  await settings.getByLabel("Search field 1 template").fill("{{ secrets.TOKEN }}");
  await settings.getByRole("button", { name: "Save settings" }).click();
  await settings.locator(".field-error").first().waitFor();
  assert.match(await settings.locator(".field-error").first().textContent(), /never secrets/);
  await screenshot(page, "search-field-refused");
  const refused = problems.findIndex((p) => p.includes("status of 400 (Bad Request)"));
  assert.notEqual(refused, -1);
  problems.splice(refused, 1);
  await settings.getByLabel("Search field 1 template").fill("{{ input.phone }}");
  await settings.getByRole("button", { name: "Save settings" }).click();
  await settings.waitFor({ state: "detached" });

  // Three runs, as the app's own client starts them (the session and its CSRF token).
  const ids = await page.evaluate(async (id) => {
    const csrf = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)[1];
    const started = {};
    for (const phone of ["+91123", "+91456", "+91123"]) {
      const response = await fetch(`/api/v1/workflows/${id}/run/`, {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ input_data: { phone } }),
      });
      const body = await response.json();
      (started[phone] ??= []).push(body.id);
    }
    return started;
  }, WORKFLOW_ID);

  // The executions list, filtered by the search field's value: the two runs of +91123 only.
  await page.goto("/executions");
  const filters = page.getByRole("search", { name: "Filter executions" });
  await filters.getByLabel("Search field", { exact: true }).fill("phone");
  await filters.getByLabel("Value (exact)").fill("+91123");
  await filters.getByRole("button", { name: "Search", exact: true }).click();
  await page.waitForURL((url) => url.searchParams.get("search.phone") === "+91123");
  const rows = page.locator(".monitor-table tbody tr");
  await page.getByTestId(`execution-row-${ids["+91456"][0]}`).waitFor({ state: "detached" });
  await page.getByTestId(`execution-row-${ids["+91123"][0]}`).waitFor();
  assert.equal(await rows.count(), 2);
  await screenshot(page, "executions-search-filter");

  // A run's page shows its search values; the value links back to the runs sharing it.
  await page.getByTestId(`execution-row-${ids["+91456"][0]}`).waitFor({ state: "detached" });
  await page.goto(`/executions/${ids["+91456"][0]}`);
  const value = page.locator(".monitor-meta-search .monitor-search-value");
  await value.waitFor();
  assert.equal((await value.textContent()).replace(/\s+/g, " ").trim(), "phone +91456");
  await screenshot(page, "run-search-values");
  await value.click();
  await page.waitForURL((url) => url.pathname === "/executions" && url.searchParams.get("search.phone") === "+91456");
  await page.getByTestId(`execution-row-${ids["+91456"][0]}`).waitFor();
  assert.equal(await rows.count(), 1);
  assert.equal(await filters.getByLabel("Value (exact)").inputValue(), "+91456");

  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
});
