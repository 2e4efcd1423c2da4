/** At most one call per `wait` ms: the first call runs at once, later ones fold into one trailing call. */
export interface Throttled {
  (): void;
  cancel: () => void;
}

export function throttle(fn: () => void, wait: number): Throttled {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const throttled = (() => {
    if (timer !== undefined) return;
    const remaining = last + wait - Date.now();
    if (remaining <= 0) run();
    else timer = setTimeout(run, remaining);
  }) as Throttled;
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return throttled;
}

export interface Coalesced {
  (): void;
  cancel: () => void;
}

/** Runs `fn` (an async refresh) at most once per `wait` ms and never twice at once: a call while one
 * is in flight waits for it (never cancels it: a refresh that is always replaced never answers), and
 * every call made meanwhile folds into one trailing run. So while calls keep coming, one run completes
 * every max(wait, its own duration). */
export function coalesce(fn: () => Promise<unknown>, wait: number): Coalesced {
  let last = -Infinity;
  let inFlight = false;
  let wanted = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  const start = () => {
    timer = undefined;
    if (cancelled) return;
    wanted = false;
    inFlight = true;
    last = Date.now();
    void fn().catch(() => undefined).finally(() => {
      inFlight = false;
      if (wanted) schedule();
    });
  };
  const schedule = () => {
    if (cancelled || inFlight || timer !== undefined) return;
    timer = setTimeout(start, Math.max(0, last + wait - Date.now()));
  };
  const call = (() => {
    cancelled = false;
    wanted = true;
    schedule();
  }) as Coalesced;
  call.cancel = () => {
    cancelled = true;
    wanted = false;
    clearTimeout(timer);
    timer = undefined;
  };
  return call;
}
