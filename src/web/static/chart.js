// The "last minutes" chart, drawn on a <canvas>: continuity (0-100 %, left axis) of the channel on
// the TV and download/upload rates (right axis), one point per second.
const MAX_WINDOW_MS = 10 * 60 * 1000;
const MIN_WINDOW_MS = 2 * 60 * 1000;

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** A round upper bound for the rate axis (bit/s). */
function niceMax(v) {
  if (!(v > 0)) return 1e6;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function formatBits(bps) {
  if (bps == null || !isFinite(bps)) return '–';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(bps >= 1e7 ? 0 : 1)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kbit/s`;
  return `${Math.round(bps)} bit/s`;
}

export function drawChart(canvas, samples) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 800;
  const cssH = canvas.clientHeight || 220;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssW, cssH);
  const pad = { l: 40, r: 70, t: 10, b: 22 };
  const w = Math.max(10, cssW - pad.l - pad.r);
  const h = Math.max(10, cssH - pad.t - pad.b);
  const end = samples.length ? samples[samples.length - 1].t : Date.now();
  // The window grows with the history, from 2 to 10 minutes, so a young box's chart is readable.
  const span = samples.length ? end - samples[0].t : 0;
  const windowMs = Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, Math.ceil(span / 60000) * 60000));
  const start = end - windowMs;
  const shown = samples.filter((s) => s.t >= start);
  const rateMax = niceMax(Math.max(0, ...shown.map((s) => Math.max(s.inBps, s.outBps) * 8)));
  const x = (t) => pad.l + ((t - start) / windowMs) * w;
  const yCont = (c) => pad.t + (1 - c) * h;
  const yRate = (r) => pad.t + (1 - r / rateMax) * h;

  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = css('--line');
  g.fillStyle = css('--muted');
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + (i / 4) * h;
    g.beginPath();
    g.moveTo(pad.l, y);
    g.lineTo(pad.l + w, y);
    g.stroke();
    g.textAlign = 'right';
    g.fillText(`${100 - i * 25}%`, pad.l - 4, y + 4);
    g.textAlign = 'left';
    g.fillText(formatBits(rateMax * (1 - i / 4)), pad.l + w + 4, y + 4);
  }
  g.textAlign = 'center';
  const minutes = windowMs / 60000;
  for (const m of [minutes, Math.round(minutes / 2), 0]) g.fillText(m === 0 ? 'now' : `-${m} min`, x(end - m * 60000), cssH - 6);

  const line = (color, pts) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    let open = false;
    for (const [px, py] of pts) {
      if (py == null) {
        open = false;
        continue;
      }
      if (open) g.lineTo(px, py);
      else g.moveTo(px, py);
      open = true;
    }
    g.stroke();
  };
  line(css('--in'), shown.map((s) => [x(s.t), yRate(s.inBps * 8)]));
  line(css('--out'), shown.map((s) => [x(s.t), yRate(s.outBps * 8)]));
  line(css('--ok'), shown.map((s) => [x(s.t), s.continuity == null ? null : yCont(s.continuity)]));
  // For tests and curious owners: how many points are drawn and the newest one's time.
  canvas.dataset.points = String(shown.length);
  canvas.dataset.last = String(end);
}
