// Credentials in the browser (issue 16), in real headless chromium against `make run`'s server:
// create a credential on /credentials (reached from the menu), then in the designer add an HTTP step
// (which starts without the example's host or credential) and pick it in the step's Authentication,
// add a Slack step and create its credential with the picker's "Create new…", see a step naming a
// missing credential marked with the server's warning, save, and find on /credentials which workflow
// uses each credential and the delete refused, naming the workflow. workflows/tests/test_browser.py
// checks what was saved over the API. Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const WORKFLOW = "Credentials journey (browser test)";
let session;

before(async () => {
  session = await launch();
});

after(async () => {
  await session?.browser.close();
});

async function dropStep(page, type, x, y) {
  await page.getByTestId(`palette-${type}`).dragTo(page.locator(".react-flow__pane"), { targetPosition: { x, y } });
  await page.getByTestId(`node-${type}`).waitFor();
}

async function dismissToasts(page) {
  for (const toast of await page.locator(".toast").all()) await toast.click().catch(() => {});
}

/** Fill the credential dialog (opened from the page or a picker) and create it. */
async function createInDialog(page, name, value) {
  const dialog = page.getByRole("dialog", { name: "New credential" });
  await dialog.waitFor();
  await dialog.getByLabel("Name", { exact: true }).fill(name);
  await dialog.getByLabel("Value", { exact: true }).fill(value);
  await dialog.getByRole("button", { name: "Create credential" }).click();
  await dialog.waitFor({ state: "detached" });
}

test("create a credential, pick it in a step, create one from the picker, see a missing one, delete refused", async () => {
  const { page, problems } = session;
  await login(page);
  problems.length = 0; // before signing in, /auth/me/ answers 401, as it should

  // The Credentials page, from the menu.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Credentials" }).click();
  await page.waitForURL("**/credentials");
  await page.getByRole("heading", { name: "Credentials" }).waitFor();
  await page.getByRole("button", { name: "New credential" }).click();
  await createInDialog(page, "crm_token", "crm-secret-token-123");
  const row = page.getByTestId("credential-crm_token");
  await row.waitFor();
  assert.match(await row.textContent(), /No workflow/);
  assert.ok(!(await page.content()).includes("crm-secret-token-123"), "the value is never shown");

  // A new workflow; an HTTP step starts from its schema's defaults: no example host, no credential.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workflows" }).click();
  await page.getByRole("button", { name: "New workflow" }).first().click();
  await page.getByLabel("Name", { exact: true }).fill(WORKFLOW);
  await page.getByRole("button", { name: "Create and open" }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  const editor = page.getByRole("complementary", { name: "Step editor" });

  await dropStep(page, "http_request", 80, 140);
  assert.equal(await editor.getByLabel("URL", { exact: true }).inputValue(), "");
  const picker = editor.getByLabel("Credential", { exact: true });
  assert.equal(await picker.evaluate((el) => el.tagName), "SELECT");
  assert.equal(await picker.inputValue(), "", "no credential pre-filled");
  await editor.getByLabel("URL", { exact: true }).fill("https://crm.invalid/api/contacts");
  await editor.getByLabel("Type", { exact: true }).selectOption("bearer");
  await picker.selectOption("crm_token");
  await editor.locator('[data-field="config.auth"]').scrollIntoViewIfNeeded();
  await dismissToasts(page);
  await screenshot(page, "designer-credential-picker");

  // A Slack step: its credential created from the picker ("Create new…"), then picked.
  await dropStep(page, "slack", 360, 260);
  const slackPicker = editor.getByLabel("Credential holding the webhook URL", { exact: true });
  await slackPicker.selectOption({ label: "Create new…" });
  await createInDialog(page, "slack_hook", "https://hooks.slack.invalid/services/T0/B0/XYZ");
  await page.waitForFunction(() => document.querySelector('[data-field="config.credential"] select')?.value === "slack_hook");
  await editor.getByLabel("Text", { exact: true }).fill("New signup: {{ input.email }}");

  // A step naming a credential that does not exist: the server's validate check warns on the node.
  await dropStep(page, "log", 620, 140);
  await editor.getByLabel("Message", { exact: true }).fill("token {{ secrets.MISSING_TOKEN }}");
  const note = page.getByTestId("node-log");
  await page.locator('[data-testid="node-log"][data-warning="true"]').waitFor({ timeout: 10_000 });
  assert.match(await note.getAttribute("title"), /no credential named 'MISSING_TOKEN'/);
  assert.equal(await note.getAttribute("data-invalid"), "false", "a warning, not an error: the draft can be saved");
  await editor.locator('[data-field="config.message"] .field-warning').waitFor();
  for (const key of ["http_request", "slack"]) {
    assert.equal(await page.getByTestId(`node-${key}`).getAttribute("data-warning"), "false", `${key} names existing credentials`);
    assert.equal(await page.getByTestId(`node-${key}`).getAttribute("data-invalid"), "false", `${key} is valid`);
  }
  await page.getByRole("button", { name: "1 warning" }).waitFor();
  await page.getByRole("button", { name: "Auto-layout" }).click();
  await dismissToasts(page);
  await screenshot(page, "designer-missing-credential");

  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText(/Saved as a draft.*1 warning shown on the steps/).first().waitFor();
  await page.locator('[data-testid="node-log"][data-warning="true"]').waitFor(); // still shown after the save

  // Back on /credentials: which workflow uses each, and the delete refused naming it.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Credentials" }).click();
  await page.waitForURL("**/credentials");
  await page.getByTestId("credential-crm_token").getByRole("link", { name: WORKFLOW }).waitFor();
  await page.getByTestId("credential-slack_hook").getByRole("link", { name: WORKFLOW }).waitFor();
  await dismissToasts(page);
  await screenshot(page, "credentials");
  await page.getByRole("button", { name: "Delete crm_token" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  const refusal = page.getByRole("dialog").getByRole("alert");
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /crm_token.*is used by 1 workflow: 'Credentials journey \(browser test\)'/);
  await screenshot(page, "credentials-delete-refused");
  await page.getByRole("dialog").getByRole("button", { name: /Cancel/ }).click();

  // Replacing the value: write-only, the page never shows it.
  await page.getByRole("button", { name: "Replace the value of slack_hook" }).click();
  const replace = page.getByRole("dialog", { name: "Replace the value of slack_hook" });
  assert.equal(await replace.getByLabel("New value", { exact: true }).inputValue(), "");
  await replace.getByLabel("New value", { exact: true }).fill("https://hooks.slack.invalid/services/T0/B0/NEW");
  await replace.getByRole("button", { name: "Replace value" }).click();
  await replace.waitFor({ state: "detached" });
  await page.getByText("Replaced the value of slack_hook.").first().waitFor();

  assert.deepEqual(problems.filter((p) => !p.includes("409")), [], "no page errors");
});
