// Fails a test file that leaves a process behind (vitest setupFiles: runs in every test file).
// Each file gets its own tag, SD_TEST_RUN=<worker pid>-<random>, in the environment that the
// processes it starts inherit (superdist, mpv, kamailio, chromium, ip netns exec ...). After the
// file's own afterAll hooks, any live process whose /proc/PID/environ carries the tag is reported
// (pid and command line) and killed, and the file fails. Processes of other test runs or files carry
// other tags, so a concurrent run cannot make this file fail.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll } from 'vitest';

export const TEST_RUN_VAR = 'SD_TEST_RUN';
/** How long processes may take to end after the file's last hook (mpv gets SIGTERM when its node dies). */
const SETTLE_MS = 5000;

const tag = `${process.pid}-${randomBytes(6).toString('hex')}`;
process.env[TEST_RUN_VAR] = tag;

interface Leftover {
  pid: number;
  command: string;
}

/** Live (not zombie) processes other than this one whose environment has `name=value`. */
export function processesTagged(name: string, value: string): Leftover[] {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  const found: Leftover[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const env = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`), Buffer.from([0])]);
      if (!env.includes(needle)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid, command: command.slice(0, 300) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

afterAll(async () => {
  const deadline = Date.now() + SETTLE_MS;
  let left = processesTagged(TEST_RUN_VAR, tag);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesTagged(TEST_RUN_VAR, tag);
  }
  if (!left.length) return;
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`this test file left ${left.length} process(es) running ${SETTLE_MS / 1000} s after it ended (now killed):\n${left.map((p) => `  pid ${p.pid}: ${p.command}`).join('\n')}`);
}, SETTLE_MS + 5000);
