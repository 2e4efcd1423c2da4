import { act, renderHook } from "@testing-library/react";

import { useLiveEvents } from "./use-live-events";

class FakeSocket {
  static made: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: string }) => void) | null = null;
  onclose: ((close: { code: number }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.made.push(this);
  }
  close() {}
}

describe("useLiveEvents", () => {
  beforeEach(() => {
    FakeSocket.made = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("asks the caller to refetch on the first open too, and on each reconnect", () => {
    const onConnect = vi.fn();
    renderHook(() => useLiveEvents("ws/executions/1/", () => {}, onConnect));
    act(() => FakeSocket.made[0].onopen?.());
    // A run resumed just before its page opened may be over before the socket is: refetch then.
    expect(onConnect).toHaveBeenCalledTimes(1);
    act(() => FakeSocket.made[0].onclose?.({ code: 1006 }));
    act(() => vi.advanceTimersByTime(2_000));
    act(() => FakeSocket.made[1].onopen?.());
    expect(onConnect).toHaveBeenCalledTimes(2);
  });
});
