// The command line as a user meets it: version, help, bad configuration, no running service,
// and a clean SIGTERM that leaves the overlay.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, killAll, startProc, status, tempDir, waitUp, type Proc } from '../support/processes.js';

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 15_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const procs: Proc[] = [];
afterAll(() => killAll(procs));

describe('superdist command line', () => {
  it('prints its version and help for every command', () => {
    const v = run(['--version']);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
    for (const cmd of [[], ['tracker'], ['node'], ['status'], ['peers']]) {
      const h = run([...cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.out).toContain('Usage: superdist');
    }
  });

  it('exits 2 naming the field, the value and the expectation on bad configuration', () => {
    const dir = tempDir('sd-cli-');
    const flag = run(['node', '--tracker', 'not-an-address', '--control', join(dir, 'c.sock'), '--state-dir', dir]);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/tracker: value "not-an-address" from command line: tracker: expected HOST:PORT/);

    const env = run(['node', '--control', join(dir, 'c.sock'), '--state-dir', dir], { SUPERDIST_ENGINE__MAX_PARTNERS: '-3' });
    expect(env.code).toBe(2);
    expect(env.err).toMatch(/engine\.maxPartners: value -3 from environment SUPERDIST_ENGINE__MAX_PARTNERS: expected a number >= 0/);

    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"listen": "127.0.0.1:0", ');
    const broken = run(['tracker', '--config', file]);
    expect(broken.code).toBe(2);
    expect(broken.err).toContain(`config file ${file}: not valid JSON`);

    const unknown = run(['tracker', '--bogus-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown option '--bogus-flag'/);
  });

  it('says clearly when no service listens on the control socket', () => {
    const r = run(['status', '--control', '/nonexistent/superdist.sock']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no superdist service is listening on \/nonexistent\/superdist.sock/);
  });

  it('keeps its peer id across restarts and stops cleanly on SIGTERM, removing its control socket', async () => {
    const dir = tempDir('sd-cli-');
    const args = ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn'];
    const first = startProc('t', dir, args);
    procs.push(first);
    const s1 = await waitUp(first, 10_000, 'tracker status');
    await killAll([first], 'SIGTERM');
    expect(first.child.exitCode).toBe(0);
    expect(await status(first)).toBeUndefined();

    const second = startProc('t', dir, args);
    procs.push(second);
    const s2 = await waitUp(second, 10_000, 'restarted tracker status');
    expect(s2.node.id).toBe(s1.node.id);
    expect(s2.node.role).toBe('tracker');
  });
});
