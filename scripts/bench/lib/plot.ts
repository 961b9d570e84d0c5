// Tiny dependency-free SVG charts for benchmark reports: a horizontal bar chart and a line chart.
// Output is a standalone SVG string (write it to bench-results/NAME.svg). No scripts, no fonts
// beyond the generic sans-serif family, so the files render anywhere, including GitHub.

export interface Bar {
  label: string;
  value: number;
}

export interface BarChartOptions {
  title: string;
  /** Unit shown on the axis and after each value ("MB/s"). */
  unit: string;
  bars: Bar[];
  /** Logarithmic value axis (for values spanning several decades); all values must be > 0. */
  log?: boolean;
}

export interface Series {
  name: string;
  points: [number, number][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];
const FONT = 'font-family="sans-serif"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short human form of a number: 1234567 → 1.23M, 0.000123 → 0.000123. */
export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a === 0) return '0';
  return `${+v.toPrecision(3)}`;
}

/** About `count` round tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  if (ticks[ticks.length - 1]! < hi) ticks.push(+(ticks[ticks.length - 1]! + step).toPrecision(12));
  return ticks;
}

function svgOpen(width: number, height: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n` +
    `<text x="${width / 2}" y="24" text-anchor="middle" ${FONT} font-size="16" font-weight="bold">${esc(title)}</text>\n`
  );
}

/** Horizontal bar chart, one bar per entry, value printed at the end of each bar. */
export function barChart(opts: BarChartOptions): string {
  const { bars, unit, log = false } = opts;
  const labelWidth = Math.min(360, 20 + 7 * Math.max(8, ...bars.map((b) => b.label.length)));
  const plotWidth = 520;
  const rowHeight = 26;
  const top = 44;
  const width = labelWidth + plotWidth + 110;
  const height = top + Math.max(1, bars.length) * rowHeight + 50;
  const values = bars.map((b) => b.value);
  const max = Math.max(...values, 0);

  // value → x offset inside the plot area
  let scale: (v: number) => number;
  let ticks: number[];
  if (log) {
    if (values.some((v) => !(v > 0))) throw new RangeError('barChart: log scale needs values > 0');
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.ceil(Math.log10(max));
    const span = Math.max(1, hi - lo);
    ticks = Array.from({ length: span + 1 }, (_, i) => 10 ** (lo + i));
    scale = (v) => ((Math.log10(v) - lo) / span) * plotWidth;
  } else {
    ticks = niceTicks(0, max || 1);
    const top = ticks[ticks.length - 1]!;
    scale = (v) => (Math.max(0, v) / top) * plotWidth;
  }

  let svg = svgOpen(width, height, opts.title);
  const x0 = labelWidth;
  const yAxis = top + bars.length * rowHeight;
  for (const t of ticks) {
    const x = x0 + scale(t);
    svg += `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${yAxis}" stroke="#ddd"/>\n`;
    svg += `<text x="${x}" y="${yAxis + 16}" text-anchor="middle" ${FONT} font-size="11">${formatNumber(t)}</text>\n`;
  }
  bars.forEach((b, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(1, scale(b.value));
    svg += `<text x="${x0 - 8}" y="${y + 17}" text-anchor="end" ${FONT} font-size="12">${esc(b.label)}</text>\n`;
    svg += `<rect x="${x0}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${PALETTE[i % PALETTE.length]}"/>\n`;
    svg += `<text x="${x0 + w + 6}" y="${y + 17}" ${FONT} font-size="11">${esc(`${formatNumber(b.value)} ${unit}`)}</text>\n`;
  });
  svg += `<line x1="${x0}" y1="${top - 4}" x2="${x0}" y2="${yAxis}" stroke="#333"/>\n`;
  svg += `<text x="${x0 + plotWidth / 2}" y="${yAxis + 36}" text-anchor="middle" ${FONT} font-size="12">${esc(unit + (log ? ' (log scale)' : ''))}</text>\n`;
  return `${svg}</svg>\n`;
}

/** Line chart with linear axes, one polyline (with point markers) per series, and a legend. */
export function lineChart(opts: LineChartOptions): string {
  const width = 720;
  const height = 440;
  const left = 70;
  const right = 170;
  const top = 44;
  const bottom = 56;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const pts = opts.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const xTicks = niceTicks(Math.min(...xs, 0), Math.max(...xs, 1));
  const yTicks = niceTicks(Math.min(...ys, 0), Math.max(...ys, 1));
  const [xLo, xHi] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const [yLo, yHi] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const sx = (x: number): number => left + ((x - xLo) / (xHi - xLo)) * pw;
  const sy = (y: number): number => top + ph - ((y - yLo) / (yHi - yLo)) * ph;

  let svg = svgOpen(width, height, opts.title);
  for (const t of xTicks) {
    svg += `<line x1="${sx(t)}" y1="${top}" x2="${sx(t)}" y2="${top + ph}" stroke="#eee"/>\n`;
    svg += `<text x="${sx(t)}" y="${top + ph + 16}" text-anchor="middle" ${FONT} font-size="11">${formatNumber(t)}</text>\n`;
  }
  for (const t of yTicks) {
    svg += `<line x1="${left}" y1="${sy(t)}" x2="${left + pw}" y2="${sy(t)}" stroke="#eee"/>\n`;
    svg += `<text x="${left - 6}" y="${sy(t) + 4}" text-anchor="end" ${FONT} font-size="11">${formatNumber(t)}</text>\n`;
  }
  svg += `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>\n`;
  svg += `<text x="${left + pw / 2}" y="${height - 14}" text-anchor="middle" ${FONT} font-size="12">${esc(opts.xLabel)}</text>\n`;
  svg += `<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle" ${FONT} font-size="12">${esc(opts.yLabel)}</text>\n`;
  opts.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const line = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    svg += `<polyline points="${line}" fill="none" stroke="${colour}" stroke-width="2"/>\n`;
    for (const [x, y] of s.points) svg += `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"/>\n`;
    const ly = top + 10 + i * 20;
    svg += `<rect x="${left + pw + 14}" y="${ly - 8}" width="12" height="12" fill="${colour}"/>\n`;
    svg += `<text x="${left + pw + 32}" y="${ly + 2}" ${FONT} font-size="12">${esc(s.name)}</text>\n`;
  });
  return `${svg}</svg>\n`;
}
