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
