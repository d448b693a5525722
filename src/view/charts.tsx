/** @jsxImportSource preact */
import { scaleBand, scaleLinear, scaleTime } from 'd3-scale';
import { stack } from 'd3-shape';

// Charts drawn on the server as SVG (d3 for the scales and the stacking, Preact for the markup): nothing to download
// or run on the phone, and they work on an intranet with no CDN.

/** The drawing's width in its own units: about a phone's width in CSS pixels, so its text reads at its size there. */
const WIDTH = 400;

export interface Series {
  key: string;
  label: string;
  color: string;
}

export interface Bucket {
  /** The axis label of this bucket (a time of day). */
  label: string;
  /** By series key (label values: never keys of a plain object). */
  counts: Map<string, number>;
}

/** Counts per time bucket, stacked by series (alerts per minute by severity). */
export function StackedBars({ buckets, series, label }: { buckets: Bucket[]; series: Series[]; label: string }) {
  const height = 180;
  const margin = { top: 10, right: 4, bottom: 24, left: 26 };
  const rows = buckets.map((bucket) => Object.fromEntries(series.map((entry) => [entry.key, bucket.counts.get(entry.key) ?? 0])));
  const layers = stack<Record<string, number>>().keys(series.map((entry) => entry.key))(rows);
  const top = Math.max(1, ...layers.flatMap((layer) => layer.map(([, high]) => high)));
  const x = scaleBand<number>()
    .domain(buckets.map((_, index) => index))
    .range([margin.left, WIDTH - margin.right])
    .paddingInner(0.15);
  const y = scaleLinear().domain([0, top]).nice().range([height - margin.bottom, margin.top]);
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 5));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={label} data-chart="alerts">
        {y.ticks(4).map((tick) => (
          <g key={`y${tick}`}>
            <line x1={margin.left} x2={WIDTH - margin.right} y1={y(tick)} y2={y(tick)} class="grid" />
            <text x={margin.left - 4} y={y(tick) + 4} text-anchor="end" class="axis">
              {tick}
            </text>
          </g>
        ))}
        {layers.map((layer, index) =>
          layer.map(([low, high], bucket) =>
            high > low ? (
              <rect key={`${layer.key}-${bucket}`} x={x(bucket)} width={x.bandwidth()} y={y(high)} height={Math.max(1, y(low) - y(high))} fill={series[index]!.color} data-series={layer.key}>
                <title>{`${buckets[bucket]!.label} ${series[index]!.label}: ${high - low}`}</title>
              </rect>
            ) : null,
          ),
        )}
        {buckets.map((bucket, index) =>
          index % labelEvery === 0 ? (
            <text key={`x${index}`} x={(x(index) ?? 0) + x.bandwidth() / 2} y={height - 8} text-anchor={(x(index) ?? 0) + x.bandwidth() / 2 + 16 > WIDTH ? 'end' : 'middle'} class="axis">
              {bucket.label}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption class="legend">
        {series.map((entry) => (
          <span key={entry.key}>
            <i style={{ background: entry.color }} />
            {entry.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

export interface Span {
  label: string;
  from: number;
  to: number;
  color: string;
  /** Shown at the bar's end (how long it took). */
  note?: string;
}

/** Bars on a time axis, one row per span (a drill's steps), with an optional shaded band (fault to recovery) and a mark (the target). */
export function Timeline({ spans, band, mark, label, tick }: { spans: Span[]; band?: { from: number; to: number; label: string }; mark?: { at: number; label: string }; label: string; tick: (at: Date) => string }) {
  const row = 30;
  const margin = { top: 18, right: 12, bottom: 24, left: 8 };
  const height = margin.top + spans.length * row + margin.bottom;
  const start = Math.min(...spans.map((span) => span.from), band?.from ?? Infinity);
  const end = Math.max(...spans.map((span) => span.to), band?.to ?? -Infinity, mark?.at ?? -Infinity, start + 1000);
  const x = scaleTime()
    .domain([new Date(start), new Date(end)])
    .range([margin.left, WIDTH - margin.right]);
  const y = scaleBand<number>()
    .domain(spans.map((_, index) => index))
    .range([margin.top, height - margin.bottom])
    .paddingInner(0.25);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={label} data-chart="drill">
        {band ? (
          <g>
            <rect x={x(new Date(band.from))} width={Math.max(1, x(new Date(band.to)) - x(new Date(band.from)))} y={margin.top - 14} height={height - margin.bottom - margin.top + 14} class="band" />
            <text x={x(new Date(band.from)) + 3} y={margin.top - 4} class="axis">
              {band.label}
            </text>
          </g>
        ) : null}
        {x.ticks(4).map((at) => (
          <g key={`t${at.getTime()}`}>
            <line x1={x(at)} x2={x(at)} y1={margin.top} y2={height - margin.bottom} class="grid" />
            <text x={x(at)} y={height - 8} text-anchor="middle" class="axis">
              {tick(at)}
            </text>
          </g>
        ))}
        {spans.map((span, index) => {
          const left = x(new Date(span.from));
          const width = Math.max(3, x(new Date(span.to)) - left);
          const top = y(index) ?? 0;
          // The label goes after the bar, or before it when the bar ends near the right edge.
          const before = left + width + 4 > WIDTH - 150;
          return (
            <g key={`s${index}`}>
              <rect x={left} width={width} y={top} height={y.bandwidth()} rx={3} fill={span.color} data-step={index + 1}>
                <title>{`${span.label}${span.note ? ` · ${span.note}` : ''}`}</title>
              </rect>
              <text x={before ? left - 4 : left + width + 4} y={top + y.bandwidth() / 2 + 4} text-anchor={before ? 'end' : 'start'} class="label">
                {`${index + 1}. ${span.label}${span.note ? ` · ${span.note}` : ''}`}
              </text>
            </g>
          );
        })}
        {mark ? (
          <g>
            <line x1={x(new Date(mark.at))} x2={x(new Date(mark.at))} y1={margin.top - 14} y2={height - margin.bottom} class="mark" />
            <text x={x(new Date(mark.at)) - 3} y={margin.top - 4} text-anchor="end" class="axis">
              {mark.label}
            </text>
          </g>
        ) : null}
      </svg>
    </figure>
  );
}
