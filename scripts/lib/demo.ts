// The demo: a tracker and 5 nodes on loopback form a swarm around one channel; a live table shows
// who partners with whom until Ctrl-C (or --duration SECONDS).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';

const BUNDLE = fileURLToPath(new URL('../../dist/superdist.cjs', import.meta.url));
const CHANNEL = 'demo-channel';
const NODES = 5;

const durationArg = process.argv.indexOf('--duration');
const durationS = durationArg > 0 ? Number(process.argv[durationArg + 1]) : Infinity;

const dir = mkdtempSync(join(tmpdir(), 'superdist-demo-'));
const children: ChildProcess[] = [];

function start(name: string, args: string[]): string {
  const control = join(dir, `${name}.sock`);
  const child = spawn(process.execPath, [BUNDLE, ...args, '--control', control, '--state-dir', join(dir, name), '--log-level', 'warn'], {
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
  }, 500);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

const trackerCtl = start('tracker', ['tracker', '--listen', '127.0.0.1:0']);
let trackerStatus: Status | undefined;
for (let i = 0; i < 50 && !trackerStatus; i++) {
  await new Promise((r) => setTimeout(r, 100));
  trackerStatus = await poll(trackerCtl);
}
if (!trackerStatus) {
  process.stderr.write('demo: the tracker did not start\n');
  shutdown(1);
} else {
  const trackerAddr = trackerStatus.node.contact;
  const controls = Array.from({ length: NODES }, (_, i) =>
    start(`node${i + 1}`, ['node', '--tracker', trackerAddr, '--listen', '127.0.0.1:0', '--join', CHANNEL]),
  );
  const names = new Map<string, string>([[trackerStatus.node.id, 'tracker']]);
  const started = Date.now();
  const tty = process.stdout.isTTY;
  const timer = setInterval(async () => {
    const rows = await Promise.all(controls.map(poll));
    rows.forEach((s, i) => s && names.set(s.node.id, `node${i + 1}`));
    const lines = [`superdist demo — tracker ${trackerAddr}, channel "${CHANNEL}", ${Math.round((Date.now() - started) / 1000)} s (Ctrl-C to stop)`, ''];
    lines.push(`${'node'.padEnd(8)}${'peer id'.padEnd(18)}${'members'.padEnd(9)}partners`);
    rows.forEach((s, i) => {
      const c = s?.contents.find((x) => x.id === CHANNEL);
      const partners = c ? c.partnerIds.map((id) => names.get(id) ?? id.slice(0, 8)).join(', ') : '(starting)';
      lines.push(`${`node${i + 1}`.padEnd(8)}${(s?.node.id ?? '-').padEnd(18)}${String(s?.members ?? '-').padEnd(9)}${partners}`);
    });
    process.stdout.write(tty ? `\x1b[2J\x1b[H${lines.join('\n')}\n` : `${lines.join('\n')}\n\n`);
    if ((Date.now() - started) / 1000 >= durationS) {
      clearInterval(timer);
      shutdown(0);
    }
  }, 1000);
}
