/** What React Flow needs from a browser that jsdom lacks (as xyflow's testing guide sets up). */
class ResizeObserverStub {
  constructor(private readonly callback: ResizeObserverCallback) {}
  observe(target: Element) {
    this.callback([{ target } as ResizeObserverEntry], this as unknown as ResizeObserver);
  }
  unobserve() {}
  disconnect() {}
}

class DOMMatrixReadOnlyStub {
  m22: number;
  constructor(transform?: string) {
    const scale = transform?.match(/scale\(([0-9.]+)\)/)?.[1];
    this.m22 = scale !== undefined ? Number(scale) : 1;
  }
}

export function installFlowEnv(): void {
  globalThis.ResizeObserver = ResizeObserverStub as unknown as typeof ResizeObserver;
  (globalThis as unknown as { DOMMatrixReadOnly: unknown }).DOMMatrixReadOnly = DOMMatrixReadOnlyStub;
  // A size in % is of the parent's, and a block without one fills its parent (React Flow's container,
  // 100% of the canvas's div, is as big as the test's sized div), as in a browser.
  const size = (element: HTMLElement, dimension: "width" | "height", fallback: number): number => {
    const value = element.style[dimension];
    const parent = element.parentElement;
    if (value.endsWith("%") && parent) return (size(parent, dimension, fallback) * parseFloat(value)) / 100;
    if (!value && parent) return size(parent, dimension, fallback);
    return parseFloat(value) || fallback;
  };
  Object.defineProperties(HTMLElement.prototype, {
    offsetHeight: { configurable: true, get() { return size(this, "height", 64); } },
    offsetWidth: { configurable: true, get() { return size(this, "width", 220); } },
  });
  (SVGElement.prototype as unknown as { getBBox: () => DOMRect }).getBBox = () => ({ x: 0, y: 0, width: 0, height: 0 }) as DOMRect;
}
