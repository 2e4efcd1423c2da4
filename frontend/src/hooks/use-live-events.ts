/** One WebSocket subscription to FlowPilot's live events (/ws/...), reconnecting with backoff.
 * The server sends {"type": "events", "events": [...]} after each committed transition; each time
 * the socket opens `onConnect` runs so the caller can refetch what it may have missed: while it was
 * down, and on the first open what happened between the caller's own fetch and the subscription
 * (a short run resumed just before its page opened can be over by then). */
import { useEffect, useRef, useState } from "react";

export interface LiveEvent {
  id: number;
  event: string;
  level: string;
  message: string;
  step_key: string;
  task_id: string | null;
  execution_id: string;
  workflow_id: string;
  created_at: string;
  status?: string;
  attempt?: number;
  details?: Record<string, unknown>;
}

export type LiveState = "connecting" | "open" | "closed";

export function liveUrl(path: string, location: Pick<Location, "protocol" | "host"> = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/${path.replace(/^\//, "")}`;
}

export function useLiveEvents(
  path: string | null,
  onEvents: (events: LiveEvent[]) => void,
  onConnect?: () => void,
): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const handlers = useRef({ onEvents, onConnect });
  handlers.current = { onEvents, onConnect };

  useEffect(() => {
    if (!path) return undefined;
    let socket: WebSocket | null = null;
    let stopped = false;
    let attempts = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const connect = () => {
      setState("connecting");
      socket = new WebSocket(liveUrl(path));
      socket.onopen = () => {
        handlers.current.onConnect?.();
        attempts = 0;
        setState("open");
      };
      socket.onmessage = (message) => {
        try {
          const data = JSON.parse(message.data as string) as { type?: string; events?: LiveEvent[] };
          if (data.type === "events" && Array.isArray(data.events)) handlers.current.onEvents(data.events);
        } catch {
          /* not ours: ignore */
        }
      };
      socket.onclose = (close) => {
        setState("closed");
        // 4401/4404: not signed in, or not yours; asking again will not help.
        if (stopped || close.code === 4401 || close.code === 4404) return;
        attempts += 1;
        timer = setTimeout(connect, Math.min(10_000, 500 * 2 ** attempts));
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, [path]);

  return state;
}
