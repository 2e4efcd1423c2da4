/** Runs that ended per time bucket, completed stacked under failed, in SVG. */
import { bucketLabel, labelIndexes, throughputLayout } from "./charts";
import { formatCount } from "./format";
import type { Throughput } from "./types";

const WIDTH = 720;
const HEIGHT = 150;
const LEFT = 36;
const BOTTOM = 20;

export function ThroughputChart({ data }: { data: Throughput }) {
  const plotWidth = WIDTH - LEFT - 8;
  const layout = throughputLayout(data.buckets, plotWidth, HEIGHT);
  const completed = data.buckets.reduce((sum, b) => sum + b.completed, 0);
  const failed = data.buckets.reduce((sum, b) => sum + b.failed, 0);
  return (
    <figure className="dash-throughput" data-testid="throughput">
      <figcaption className="dash-legend">
        <span><i className="dash-swatch dash-swatch-completed" /> Completed {formatCount(completed)}</span>
        <span><i className="dash-swatch dash-swatch-failed" /> Failed {formatCount(failed)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT + BOTTOM + 6}`} role="img"
           aria-label={`Runs per ${Math.round(data.bucket_seconds / 60)} min: ${completed} completed, ${failed} failed`}>
        <g transform={`translate(${LEFT}, 6)`}>
          {layout.ticks.map((tick) => (
            <g key={tick.value}>
              <line x1={0} x2={plotWidth} y1={tick.y} y2={tick.y} className="dash-grid" />
              <text x={-6} y={tick.y + 4} textAnchor="end" className="dash-axis">{formatCount(tick.value)}</text>
            </g>
          ))}
          {layout.columns.map((column) => (
            <g key={column.bucket.start}>
              <title>{`${new Date(column.bucket.start).toLocaleString()}: ${column.bucket.completed} completed, ${column.bucket.failed} failed, ${column.bucket.started} started`}</title>
              {column.completed.height > 0 && (
                <rect x={column.x} y={column.completed.y} width={column.width} height={column.completed.height} className="dash-col-completed" />
              )}
              {column.failed.height > 0 && (
                <rect x={column.x} y={column.failed.y} width={column.width} height={column.failed.height} className="dash-col-failed" />
              )}
              {/* a transparent hit area, so an empty bucket still has its tooltip */}
              <rect x={column.x} y={0} width={column.width} height={HEIGHT} fill="transparent" />
            </g>
          ))}
          {labelIndexes(layout.columns.length).map((index) => {
            const column = layout.columns[index];
            return (
              <text key={index} x={column.x} y={HEIGHT + 15} className="dash-axis">
                {bucketLabel(column.bucket.start, data.bucket_seconds)}
              </text>
            );
          })}
        </g>
      </svg>
    </figure>
  );
}
