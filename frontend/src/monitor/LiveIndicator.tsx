/** Whether the page is following the server live (the WebSocket is open) or catching up. */
import type { LiveState } from "@/hooks/use-live-events";

const LABELS: Record<LiveState, { text: string; title: string }> = {
  open: { text: "Live", title: "Updates arrive as they happen." },
  connecting: { text: "Connecting…", title: "Connecting to live updates." },
  closed: { text: "Offline", title: "Live updates are disconnected; refreshing every few seconds until they are back." },
};

export function LiveIndicator({ state }: { state: LiveState }) {
  const { text, title } = LABELS[state];
  return (
    <span className={`monitor-live monitor-live-${state}`} title={title} role="status" data-testid="live-indicator">
      <span className="monitor-live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}
