import { describe, expect, it } from "vitest";

import { defaultRetryVersion, outdatedNote, retryChoices } from "./retry-version";

describe("retry version choice", () => {
  it("offers nothing when the run is on the latest version", () => {
    const run = { workflow_version: 2, retry_latest: null };
    expect(retryChoices(run)).toEqual([]);
    expect(defaultRetryVersion(run)).toBe("original");
  });

  it("offers the run's version and the latest, the latest first choice when it can take over", () => {
    const run = { workflow_version: 1, retry_latest: { version: 3, problems: [], added: ["audit"], removed: ["slack"] } };
    const [original, latest] = retryChoices(run);
    expect(original.label).toBe("Retry on v1 (the run's version)");
    expect(latest.label).toBe("Retry on the latest version (v3)");
    expect(latest.refused).toBeNull();
    expect(latest.note).toBe("v3 adds audit (will run); drops slack (kept in the history, not run).");
    expect(defaultRetryVersion(run)).toBe("latest");
  });

  it("shows the server's reasons when the latest cannot take over, and keeps the run's version", () => {
    const run = { workflow_version: 1, retry_latest: { version: 2, problems: ["step 'a' is done…"], added: [], removed: [] } };
    expect(retryChoices(run)[1].refused).toBe("step 'a' is done…");
    expect(defaultRetryVersion(run)).toBe("original");
  });

  it("says how many selected runs are outdated", () => {
    expect(outdatedNote(0, 3)).toBeNull();
    expect(outdatedNote(3, 3)).toBe("All 3 runs are on an older version than their workflow's latest.");
    expect(outdatedNote(1, 1)).toBe("This run is on an older version than their workflow's latest.");
    expect(outdatedNote(1, 4)).toBe("1 of these 4 runs are on an older version than their workflow's latest.");
  });
});
