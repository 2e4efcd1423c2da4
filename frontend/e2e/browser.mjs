// Shared set-up of the browser tests: Debian's chromium through playwright-core (never a
// downloaded browser), a signed-in page, screenshots into the artifacts folder.
import { mkdirSync } from "node:fs";
import path from "node:path";

import { chromium } from "playwright-core";

export const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8000";
export const ARTIFACTS = process.env.ARTIFACTS ?? path.resolve("test-results");

export async function launch({ baseURL = BASE_URL } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  // FP_CPU_THROTTLE=4: the page's CPU four times slower, as on a loaded CI machine (to reproduce a race).
  const throttle = Number(process.env.FP_CPU_THROTTLE ?? 1);
  if (throttle > 1) await (await context.newCDPSession(page)).send("Emulation.setCPUThrottlingRate", { rate: throttle });
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // A failed resource load's text does not say which: its location is the resource's address.
    if (message.type() === "error") problems.push(`console error: ${message.text()} at ${message.location().url || "?"}`);
  });
  return { browser, context, page, problems };
}

export async function login(page, username = process.env.FP_USERNAME, password = process.env.FP_PASSWORD) {
  await page.goto("/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/workflows");
}

export async function screenshot(page, name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Wait for a dialog to close after its submit; when it stays open, fail saying what it shows: its
 * text (the server's refusal, a "Saving…" still pending), its fields' values and the browser's own
 * validation messages, and the page's console errors. */
export async function closed(dialog, problems = [], timeout = 30_000) {
  try {
    await dialog.waitFor({ state: "detached", timeout });
  } catch (error) {
    const shown = await dialog.evaluate((node) => ({
      text: node.innerText,
      fields: [...node.querySelectorAll("input, select, textarea")].map((input) => ({
        id: input.id, filled: input.value !== "", valid: input.checkValidity(), message: input.validationMessage })),
    })).catch((reason) => ({ gone: String(reason) }));
    throw new Error(`${error.message}\nthe dialog shows: ${JSON.stringify(shown)}\nproblems: ${JSON.stringify(problems)}`);
  }
}
