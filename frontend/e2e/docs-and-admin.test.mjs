// The app's menu leads to the API docs and (for staff) the admin, in headless chromium against
// `make run`'s server with every request to another host refused: Swagger UI and ReDoc must render
// from the server's own files. In the admin, a schedule trigger is added and its cron changed, and a
// credential added, through the real admin forms (the wrapper, workflows/tests/test_browser.py, then
// checks the celery-beat rows in the database). Prints "ADMIN-DONE {json}".
// Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, WORKFLOW_NAME, CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { BASE_URL, launch, login, screenshot } from "./browser.mjs";

const WORKFLOW_NAME = process.env.WORKFLOW_NAME;
const SERVER = new URL(BASE_URL).host;
const SECRET = "crm-secret-from-the-admin";
let session;
const outside = [];

before(async () => {
  session = await launch();
  // The docs and the admin open in new tabs: their errors count too.
  session.context.on("page", (tab) => {
    tab.on("pageerror", (error) => session.problems.push(`${tab.url()}: page error: ${error.message}`));
    tab.on("console", (message) => {
      if (message.type() === "error") session.problems.push(`${tab.url()}: console error: ${message.text()}`);
    });
  });
  // Offline: anything not asked of this server is refused (and recorded).
  await session.context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host === SERVER) return route.continue();
    outside.push(url.href);
    return route.abort();
  });
});

after(async () => {
  await session?.browser.close();
});

/** Pick `text` in a Django admin autocomplete (select2) field. */
async function autocomplete(page, field, text) {
  await page.locator(`.field-${field} .select2-selection`).click();
  await page.locator(".select2-search__field").fill(text);
  await page.locator(".select2-results__option", { hasText: text }).first().click();
}

test("the menu's API docs render offline, and the admin adds triggers and credentials", async () => {
  assert.ok(WORKFLOW_NAME, "WORKFLOW_NAME is set");
  const { context, page, problems } = session;
  await login(page);
  problems.length = 0;

  // The menu: API docs for everyone, Admin because this user is staff (the server's /auth/me/ says so).
  const more = page.getByRole("navigation", { name: "More" });
  await more.getByRole("link", { name: "Admin" }).waitFor();
  await screenshot(page, "menu-docs-admin");

  const [docs] = await Promise.all([context.waitForEvent("page"), more.getByRole("link", { name: "API docs" }).click()]);
  await docs.waitForURL("**/api/v1/docs/");
  await docs.locator(".opblock-summary-path", { hasText: "/api/v1/workflows/" }).first().waitFor();
  const operations = await docs.locator(".opblock").count();
  assert.ok(operations > 20, `Swagger UI lists the operations (${operations})`);
  await screenshot(docs, "api-docs-swagger");

  await docs.goto("/api/v1/redoc/");
  await docs.locator("h1", { hasText: "FlowPilot API" }).waitFor();
  await docs.getByText("/api/v1/workflows/", { exact: false }).first().waitFor({ state: "attached" });
  await screenshot(docs, "api-docs-redoc");
  await docs.close();

  const [admin] = await Promise.all([context.waitForEvent("page"), more.getByRole("link", { name: "Admin" }).click()]);
  await admin.waitForURL("**/admin/");
  await admin.getByRole("link", { name: "Triggers" }).first().waitFor();

  // A schedule, added through the admin's form: the workflow and the type are there to choose.
  await admin.goto("/admin/triggers/trigger/add/");
  await autocomplete(admin, "workflow", WORKFLOW_NAME);
  await admin.locator("#id_type").selectOption("schedule");
  await admin.locator("#id_name").fill("every morning");
  await admin.locator("#id_cron").fill("15 7 * * *");
  await admin.locator("#id_timezone").fill("Europe/Paris");
  await admin.locator("input[name=_save]").click();
  await admin.locator(".messagelist .success").waitFor();
  assert.doesNotMatch(await admin.content(), /Server Error/);

  // Changed: the cron moves (the wrapper checks that the beat's row moved with it).
  await admin.locator("#result_list tr", { hasText: "every morning" }).locator("th a").click();
  await admin.locator("#id_cron").waitFor();
  await admin.locator("#id_cron").fill("45 6 * * *");
  await admin.locator("input[name=_continue]").click();
  await admin.locator(".messagelist .success").waitFor();
  await admin.locator(".field-next_fire_times").waitFor();
  assert.match(await admin.locator(".field-beat_schedule").textContent(), /45 6 \* \* \*/);
  await screenshot(admin, "admin-schedule-trigger");

  // A bad cron is a form error, not a 500.
  await admin.locator("#id_cron").fill("61 * * * *");
  await admin.locator("input[name=_continue]").click();
  await admin.locator(".errorlist").first().waitFor();

  // A credential: its value goes in and is never shown again.
  await admin.goto("/admin/workflows/credential/add/");
  await autocomplete(admin, "owner", process.env.FP_USERNAME);
  await admin.locator("#id_name").fill("CRM_TOKEN");
  await admin.locator("#id_value").fill(SECRET);
  await admin.locator("input[name=_continue]").click();
  await admin.locator(".messagelist .success").waitFor();
  assert.equal(await admin.locator("#id_value").inputValue(), "");
  assert.ok(!(await admin.content()).includes(SECRET), "the value is not on the page");
  await screenshot(admin, "admin-credential");

  assert.deepEqual(outside, [], "no request left the server");
  // What the docs pages' Content-Security-Policy refused (without a request): ReDoc's footer logo
  // from cdn.redoc.ly, and nothing of this server's.
  const refused = problems.filter((p) => /violates the following Content Security Policy/.test(p));
  assert.ok(refused.every((p) => /the image 'https:\/\/cdn\.redoc\.ly\/[^']*' violates/.test(p)), refused.join("\n"));
  console.log(`refused by the docs' policy: ${JSON.stringify(refused)}`);
  assert.deepEqual(problems.filter((p) => !refused.includes(p)), []);
  console.log(`ADMIN-DONE ${JSON.stringify({ operations })}`);
});
