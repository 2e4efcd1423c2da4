import { coalesce, throttle } from "./throttle";

describe("throttle", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs the first call at once and folds a burst into one trailing call", () => {
    const fn = vi.fn();
    const throttled = throttle(fn, 250);
    throttled();
    expect(fn).toHaveBeenCalledTimes(1);
    throttled();
    throttled();
    throttled();
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(250);
    expect(fn).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it("drops the pending call when cancelled", () => {
    const fn = vi.fn();
    const throttled = throttle(fn, 250);
    throttled();
    throttled();
    throttled.cancel();
    vi.advanceTimersByTime(500);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe("coalesce", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A refresh that answers when told to, recording when each one started. */
  function slowRefresh() {
    const started: number[] = [];
    const answers: (() => void)[] = [];
    const fn = vi.fn(() => {
      started.push(Date.now());
      return new Promise<void>((resolve) => answers.push(resolve));
    });
    return { fn, started, answerNext: async () => { answers.shift()?.(); await vi.advanceTimersByTimeAsync(0); } };
  }

  it("never starts a refresh while one is in flight, and folds the calls made meanwhile into one after it", async () => {
    const refresh = slowRefresh();
    const coalesced = coalesce(refresh.fn, 1000);
    coalesced();
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh.fn).toHaveBeenCalledTimes(1);
    // Events keep coming for 3 s while the first refresh is slow: no second one, none cancelled.
    for (let i = 0; i < 30; i += 1) {
      coalesced();
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(refresh.fn).toHaveBeenCalledTimes(1);
    await refresh.answerNext();
    expect(refresh.fn).toHaveBeenCalledTimes(2);  // at once: more than `wait` has passed
    await refresh.answerNext();
    await vi.advanceTimersByTimeAsync(5000);
    expect(refresh.fn).toHaveBeenCalledTimes(2);  // nothing was asked meanwhile
  });

  it("while calls keep coming, one refresh completes every `wait` ms", async () => {
    const fn = vi.fn(() => Promise.resolve());
    const coalesced = coalesce(fn, 1000);
    for (let i = 0; i < 50; i += 1) {
      coalesced();
      await vi.advanceTimersByTimeAsync(100);
    }
    // 5 s of calls every 100 ms: one at once, then one a second (a trailing one), not 50.
    expect(fn.mock.calls.length).toBeGreaterThanOrEqual(5);
    expect(fn.mock.calls.length).toBeLessThanOrEqual(6);
    await vi.advanceTimersByTimeAsync(2000);
    expect(fn.mock.calls.length).toBeLessThanOrEqual(6);
  });

  it("keeps going after a refresh fails, and drops what is pending when cancelled", async () => {
    const fn = vi.fn(() => Promise.reject(new Error("offline")));
    const coalesced = coalesce(fn, 1000);
    coalesced();
    await vi.advanceTimersByTimeAsync(0);
    coalesced();
    await vi.advanceTimersByTimeAsync(1000);
    expect(fn).toHaveBeenCalledTimes(2);
    coalesced();
    coalesced.cancel();
    await vi.advanceTimersByTimeAsync(3000);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});
