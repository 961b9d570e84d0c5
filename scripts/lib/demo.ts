// The demo: a tracker, a live source (an ffmpeg-made test stream, looped) and 5 nodes on loopback;
// node1 plays the channel in mpv (a window when a display exists, headless otherwise). A live table
// shows partners, continuity, lag and upload share until Ctrl-C (or --duration SECONDS).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';

const BUNDLE = fileURLToPath(new URL('../../dist/superdist.cjs', import.meta.url));
const CHANNEL = 'demo';
const NODES = 5;

const durationArg = process.argv.indexOf('--duration');
const durationS = durationArg > 0 ? Number(process.argv[durationArg + 1]) : Infinity;

const dir = join(tmpdir(), `superdist-demo-${process.pid}`);
mkdirSync(dir, { recursive: true });
const children: ChildProcess[] = [];

function makeStream(path: string): void {
  if (existsSync(path)) return;
  process.stdout.write('demo: making a 30 s test stream with ffmpeg (H.264 + AAC, ~1 Mbit/s)...\n');
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '30', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
    '-b:v', '800k', '-maxrate', '800k', '-bufsize', '800k', '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', '-muxrate', '1000k', path,
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.error?.message ?? r.stderr}`);
}

function start(name: string, args: string[]): string {
  const control = join(dir, `${name}.sock`);
  const child = spawn(process.execPath, [BUNDLE, ...args, '--control', control, '--state-dir', join(dir, name), '--log-level', 'error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return control;
}

async function poll(control: string): Promise<Status | undefined> {
  try {
    return (await controlCall(control, 'status', {}, 1000)) as Status;
  } catch {
    return undefined;
  }
}

function shutdown(code: number): void {
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  }, 800);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

const fmt = (v: number | null | undefined, digits = 0, unit = '') => (v === null || v === undefined ? '-' : `${v.toFixed(digits)}${unit}`);

async function main(): Promise<void> {
  const input = join(dir, 'stream.ts');
  makeStream(input);
  const trackerCtl = start('tracker', ['tracker', '--listen', '127.0.0.1:0']);
  let t: Status | undefined;
  for (let i = 0; i < 50 && !t; i++) {
    await new Promise((r) => setTimeout(r, 100));
    t = await poll(trackerCtl);
  }
  if (!t) throw new Error('the tracker did not start');
  const tracker = t.node.contact;
  const sourceCtl = start('source', ['publish', 'live', '--tracker', tracker, '--channel', CHANNEL, '--input', input, '--loop', '--listen', '127.0.0.1:0']);
  await new Promise((r) => setTimeout(r, 1500));
  const controls = Array.from({ length: NODES }, (_, i) =>
    start(`node${i + 1}`, ['node', '--tracker', tracker, '--listen', '127.0.0.1:0', '--watch', CHANNEL, ...(i === 0 ? ['--web', '127.0.0.1:0'] : ['--player', 'none'])]),
  );
  const names = new Map<string, string>([[t.node.id, 'tracker']]);
  const started = Date.now();
  const tty = process.stdout.isTTY;
  const timer = setInterval(async () => {
    const src = await poll(sourceCtl);
    if (src) names.set(src.node.id, 'source');
    const rows = await Promise.all(controls.map(poll));
    rows.forEach((s, i) => s && names.set(s.node.id, `node${i + 1}`));
    const srcContent = src?.contents[0];
    const totalOut = rows.reduce((a, s) => a + (s?.contents[0]?.chunkBytesOut ?? 0), srcContent?.chunkBytesOut ?? 0);
    const share = (b: number | undefined) => (totalOut > 0 && b !== undefined ? `${((100 * b) / totalOut).toFixed(0)}%` : '-');
    const web = (rows[0] as { web?: { urls?: string[] } } | undefined)?.web?.urls?.[0];
    const lines = [
      `superdist demo — tracker ${tracker}, channel "${CHANNEL}", ${Math.round((Date.now() - started) / 1000)} s (Ctrl-C to stop)`,
      `node1's web remote: ${web ?? '(starting)'}  (owner: superdist web set-password --state-dir ${join(dir, 'node1')})`,
      `source: ${srcContent?.source?.chunks ?? 0} chunks published, upload factor ${fmt(srcContent?.source?.uploadFactor, 2)}, upload share ${share(srcContent?.chunkBytesOut)}`,
      '',
      `${'node'.padEnd(7)}${'player'.padEnd(8)}${'continuity'.padEnd(12)}${'lag'.padEnd(9)}${'startup'.padEnd(9)}${'upload'.padEnd(8)}partners`,
    ];
    rows.forEach((s, i) => {
      const c = s?.contents[0];
      const partners = c ? c.partnerIds.map((id) => names.get(id) ?? id.slice(0, 6)).join(' ') : '(starting)';
      const player = i === 0 ? (c?.watching?.firstFrameMs ? 'mpv ▶' : 'mpv') : '-';
      lines.push(
        `${`node${i + 1}`.padEnd(7)}${player.padEnd(8)}${(c?.continuityIndex == null ? '–' : c.continuityIndex.toFixed(3)).padEnd(12)}${fmt(c?.lagMs, 0, 'ms').padEnd(9)}` +
          `${fmt(c?.startupDelayMs, 0, 'ms').padEnd(9)}${share(c?.chunkBytesOut).padEnd(8)}${partners}`,
      );
    });
    process.stdout.write(tty ? `\x1b[2J\x1b[H${lines.join('\n')}\n` : `${lines.join('\n')}\n\n`);
    if ((Date.now() - started) / 1000 >= durationS) {
      clearInterval(timer);
      shutdown(0);
    }
  }, 1000);
}

main().catch((err: Error) => {
  process.stderr.write(`demo: ${err.message}\n`);
  shutdown(1);
});
