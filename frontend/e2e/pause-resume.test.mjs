// Pause and resume in real headless chromium against `make run`'s server: a run waiting on its timer is
// paused from its page, then resumed from the executions list's selection. workflows/tests/test_browser.py
// checks on the server what the browser did.
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, RUN_ID, CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const { RUN_ID } = process.env;
let session;

before(async () => {
  session = await launch();
});

after(async () => {
  await session?.browser.close();
});

test("pause a run from its page, resume it from the list's selection", async () => {
  assert.ok(RUN_ID, "RUN_ID is set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0;  // the sign-in page's own 401 before signing in
  await page.goto(`/executions/${RUN_ID}`);
  await page.locator(".monitor-header .badge.status-running").waitFor();
  await page.getByRole("button", { name: "Pause" }).click();
  await page.locator(".monitor-header .badge.status-paused").waitFor({ timeout: 15_000 });
  await page.getByRole("button", { name: "Resume" }).waitFor();
  await screenshot(page, "run-paused");

  await page.goto("/executions");
  const row = page.getByTestId(`execution-row-${RUN_ID}`);
  await row.locator(".badge.status-paused").waitFor();
  await row.getByRole("checkbox").check();
  await page.getByRole("button", { name: "Resume selected" }).click();
  await row.locator(".badge.status-running").waitFor({ timeout: 15_000 });
  await screenshot(page, "run-resumed-from-list");

  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
});
