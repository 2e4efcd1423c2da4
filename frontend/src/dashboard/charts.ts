/** Geometry of the dashboard's charts, pure: a "nice" value axis, horizontal bars as fractions of the
 * largest, and the stacked columns of throughput (completed below, failed on top) in SVG units. */
import type { ThroughputBucket } from "./types";

export interface Scale {
  /** The top of the axis: a nice number at or above the largest value. */
  max: number;
  ticks: number[];
}

/** An axis from 0 with about `count` steps of 1, 2 or 5 times a power of ten; whole steps for counts. */
export function niceScale(largest: number, count = 4, { integer = true } = {}): Scale {
  if (!Number.isFinite(largest) || largest <= 0) return { max: 1, ticks: [0, 1] };
  const raw = largest / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  if (integer) step = Math.max(1, Math.ceil(step));
  const max = Number((Math.ceil(largest / step - 1e-9) * step).toPrecision(12));
  const ticks: number[] = [];
  for (let value = 0; value <= max + step / 1e6; value += step) ticks.push(Number(value.toPrecision(12)));
  return { max, ticks };
}

export interface Bar<T> {
  item: T;
  value: number | null;
  /** 0..1 of the track; a value above 0 gets at least `minFraction`, so it stays visible. */
  fraction: number;
}

/** Horizontal bars over `max` (default the largest value; a rate chart passes 1). */
export function bars<T>(items: T[], value: (item: T) => number | null, { max, minFraction = 0.01 }: { max?: number; minFraction?: number } = {}): Bar<T>[] {
  const values = items.map(value);
  const top = max ?? Math.max(0, ...values.map((v) => v ?? 0));
  return items.map((item, index) => {
    const v = values[index];
    if (v === null || !Number.isFinite(v) || v <= 0 || top <= 0) return { item, value: v, fraction: 0 };
    return { item, value: v, fraction: Math.min(1, Math.max(minFraction, v / top)) };
  });
}

/** The `limit` items with the highest value (nulls last), ties in their given order. */
export function topBy<T>(items: T[], value: (item: T) => number | null, limit: number): T[] {
  return items
    .map((item, index) => ({ item, index, v: value(item) }))
    .sort((a, b) => (b.v ?? -Infinity) - (a.v ?? -Infinity) || a.index - b.index)
    .slice(0, limit)
    .map(({ item }) => item);
}

export interface Rect {
  y: number;
  height: number;
}

export interface Column {
  bucket: ThroughputBucket;
  x: number;
  width: number;
  completed: Rect;
  failed: Rect;
}

export interface ThroughputLayout {
  scale: Scale;
  columns: Column[];
  /** y of each tick of the scale. */
  ticks: { value: number; y: number }[];
}

/** Stacked columns in a `width` x `height` plot area (y grows downwards, the axis is at `height`). */
export function throughputLayout(buckets: ThroughputBucket[], width: number, height: number): ThroughputLayout {
  const scale = niceScale(Math.max(0, ...buckets.map((b) => b.completed + b.failed)));
  const band = buckets.length ? width / buckets.length : width;
  const barWidth = Math.max(1, band > 6 ? band * 0.8 : band); // narrow bands: no gap
  const y = (value: number) => height - (value / scale.max) * height;
  const columns = buckets.map((bucket, index) => {
    const completedTop = y(bucket.completed);
    const failedTop = y(bucket.completed + bucket.failed);
    return {
      bucket,
      x: index * band + (band - barWidth) / 2,
      width: barWidth,
      completed: { y: completedTop, height: height - completedTop },
      failed: { y: failedTop, height: completedTop - failedTop },
    };
  });
  return { scale, columns, ticks: scale.ticks.map((value) => ({ value, y: y(value) })) };
}

/** About `count` evenly spaced bucket indexes to label on the time axis (first included). */
export function labelIndexes(length: number, count = 6): number[] {
  if (length <= 0) return [];
  const step = Math.max(1, Math.ceil(length / count));
  const out: number[] = [];
  for (let index = 0; index < length; index += step) out.push(index);
  return out;
}

/** A bucket's start as the axis shows it: the time of day for buckets under a day, else the date. */
export function bucketLabel(iso: string, bucketSeconds: number): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (bucketSeconds >= 86_400) return `${date.getMonth() + 1}/${date.getDate()}`;
  if (bucketSeconds >= 21_600) return `${date.getMonth() + 1}/${date.getDate()} ${time}`;
  return time;
}
