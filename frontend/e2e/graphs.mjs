// Big workflows for the browser benchmark and the big-graph browser test, made through the API without
// positions (as a generated or code-drawn workflow arrives), and the server they run against: the
// given BASE_URL, or `make run` started here on a free port with a var/ of its own (as the browser tests'
// `embedded` fixture starts it: the API, the worker and the scheduler in one process).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** What each step does: a log line, or (`sleepSeconds`) the test functions' `sleep` (a `python` step:
 * the server must load workflows.tests.functions, as startServer's does), to make a run last. */
const work = (sleepSeconds) => (sleepSeconds
  ? { task_type: "python", config: { function: "sleep", kwargs: { seconds: sleepSeconds } } }
  : { task_type: "log", config: { message: "s" } });

/** A layered DAG `width` wide: step i depends on up to two steps of the layer before (~2 edges per step). */
export function dagSteps(count, width = 20, sleepSeconds = 0) {
  return Array.from({ length: count }, (_, i) => {
    const layer = Math.floor(i / width);
    const column = i % width;
    const above = (layer - 1) * width;
    const depends = layer === 0 ? [] : [...new Set([above + column, above + ((column + 1) % width)])]
      .filter((j) => j < i).map((j) => `s${j}`);
    return { key: `s${i}`, ...work(sleepSeconds), depends_on: depends };
  });
}

/** A chain: step i depends on step i - 1. */
export function chainSteps(count) {
  return Array.from({ length: count }, (_, i) => (
    { key: `s${i}`, task_type: "log", config: { message: "s" }, depends_on: i ? [`s${i - 1}`] : [] }));
}

export function shapeSteps(shape, count, sleepSeconds = 0) {
  return shape === "chain" ? chainSteps(count) : dagSteps(count, 20, sleepSeconds);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server: BASE_URL (with FP_USERNAME, FP_PASSWORD, FP_TOKEN) when given, else `make run` started here. */
export async function startServer({ log = console.error } = {}) {
  if (process.env.BASE_URL) {
    return { base: process.env.BASE_URL, username: process.env.FP_USERNAME, password: process.env.FP_PASSWORD,
             token: process.env.FP_TOKEN, stop: async () => {} };
  }
  const port = await freePort();
  const varDir = mkdtempSync(path.join(tmpdir(), "flowpilot-bench-"));
  const env = { ...process.env, FLOWPILOT_VAR_DIR: varDir, PORT: String(port),
                // 10,000 steps of JSON are more than the default 1 MiB body.
                FLOWPILOT_MAX_REQUEST_BYTES: String(16 * 1024 * 1024),
                // The test functions (`sleep`), as the browser tests' server loads them.
                FLOWPILOT_STEP_MODULES: "workflows.tests.functions" };
  for (const name of ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BASE_URL"]) delete env[name];
  log(`starting make run on port ${port} (var: ${varDir})`);
  const child = spawn("make", ["--no-print-directory", "run"], { cwd: ROOT, env, detached: true,
                                                                  stdio: ["ignore", "ignore", "ignore"] });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try { process.kill(-child.pid, "SIGTERM"); } catch { /* gone */ }
    for (let i = 0; i < 30 && child.exitCode === null; i += 1) await sleep(500);
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ }
  };
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`make run exited (${child.exitCode}); see ${varDir}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("make run did not serve /health within 300 s");
    }
    await sleep(500);
  }
  const credentials = Object.fromEntries(readFileSync(path.join(varDir, "admin-credentials.txt"), "utf8")
    .split("\n").filter(Boolean).map((line) => line.split(": ", 2)));
  return { base, username: credentials.username, password: credentials.password, token: credentials["api token"], stop };
}

/** A tiny API client (token auth). */
export function apiClient(base, token) {
  const call = async (method, url, body) => {
    const response = await fetch(`${base}/api/v1/${url}`, {
      method, headers: { Authorization: `Token ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
  return { get: (url) => call("GET", url), post: (url, body) => call("POST", url, body ?? {}) };
}

/** Creates (and activates) a workflow of `count` steps of `shape` ("dag" or "chain") without positions. */
export async function createWorkflow(api, shape, count, name = `${shape} ${count}`, sleepSeconds = 0) {
  const created = await api.post("workflows/", { name: `${name} ${Date.now()}`, steps: shapeSteps(shape, count, sleepSeconds) });
  await api.post(`workflows/${created.id}/activate/`);
  return created.id;
}

/** How many steps of a run are done (their latest attempt completed or skipped), and its status. */
export async function runProgress(api, executionId) {
  const detail = await api.get(`executions/${executionId}/`);
  const done = detail.task_executions.filter((t) => t.is_latest && (t.status === "completed" || t.status === "skipped")).length;
  return { done, status: detail.status };
}

export async function waitForRun(api, executionId, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await api.get(`executions/${executionId}/`);
    if (["completed", "failed", "cancelled"].includes(status)) return status;
    if (Date.now() > deadline) throw new Error(`run ${executionId} still ${status} after ${timeoutMs} ms`);
    await sleep(1000);
  }
}
