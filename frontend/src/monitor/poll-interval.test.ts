import { describe, expect, it } from "vitest";

import { LIVE_SAFETY_POLL_MS, pollInterval } from "./queries";

describe("pollInterval", () => {
  it("polls at the given rate while the socket is closed, whatever the run's status", () => {
    expect(pollInterval("running", 5_000, LIVE_SAFETY_POLL_MS)).toBe(5_000);
    expect(pollInterval("completed", 5_000, LIVE_SAFETY_POLL_MS)).toBe(5_000);
  });

  it("with the socket open, still reads a run that moves by itself, slowly: a lost message cannot leave it stale", () => {
    expect(pollInterval("running", false, LIVE_SAFETY_POLL_MS)).toBe(LIVE_SAFETY_POLL_MS);
    expect(pollInterval("pending", false, LIVE_SAFETY_POLL_MS)).toBe(LIVE_SAFETY_POLL_MS);
  });

  it("never reads again a run that only a user can move (finished, paused), nor one not read yet", () => {
    for (const status of ["completed", "failed", "cancelled", "paused"]) {
      expect(pollInterval(status, false, LIVE_SAFETY_POLL_MS)).toBe(false);
    }
    expect(pollInterval(undefined, false, LIVE_SAFETY_POLL_MS)).toBe(false);
    expect(pollInterval("running", false, undefined)).toBe(false);
  });
});
