/** How the dashboard writes its figures: rates as percentages, durations in ms, s, min or h, counts
 * with thousands separators. Pure; "—" stands for "no figure" (no runs in the window). */

export const NONE = "—";

/** 0.3 -> "30%", 0.0123 -> "1.2%", 0.0004 -> "0.04%", 1 -> "100%". */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return NONE;
  const percent = rate * 100;
  if (percent === 0) return "0%";
  if (percent < 0.1) return `${trim(percent.toFixed(2))}%`;
  if (percent < 10) return `${trim(percent.toFixed(1))}%`;
  return `${Math.round(percent)}%`;
}

/** 850 -> "850 ms", 1234 -> "1.23 s", 12_500 -> "12.5 s", 125_000 -> "2 min 5 s", 7_500_000 -> "2 h 5 min". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return NONE;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 10) return `${trim(seconds.toFixed(2))} s`;
  if (seconds < 60) return `${trim(seconds.toFixed(1))} s`;
  const totalSeconds = Math.round(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return totalSeconds % 60 ? `${minutes} min ${totalSeconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${trim((hours / 24).toFixed(1))} d`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return NONE;
  return Math.round(n).toLocaleString("en-US");
}

/** "just now", "5 min ago", "3 h ago", "2 d ago" — for first/last seen. */
export function formatAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return NONE;
  const seconds = (now - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds)) return NONE;
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

function trim(fixed: string): string {
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}
