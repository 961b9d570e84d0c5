// `superdist daemon` as systemd runs it, from the bundle: READY=1 once the control socket answers,
// WATCHDOG=1 pings, SIGHUP reloads (invalid refused, log level live, tracker by restart), SIGTERM
// leaves the overlay (the tracker sees the partner go) and exits 0; the control socket is 0660
// and handed to its group, which decides who may use it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferBudgetForRam, MIB } from '../../src/config/memory-budget.js';
import { lookupGroupId } from '../../src/platform/control-group.js';
import { listenNotifySocket, type NotifySocket } from '../support/notify-socket.js';
import { BUNDLE, killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';

interface Daemon {
  child: ChildProcess;
  config: string;
  control: string;
  output: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
const sockets: NotifySocket[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(sockets.map((s) => s.close()));
  await killAll(procs);
});

function writeConfig(file: string, cfg: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify(cfg, null, 2));
}

function startDaemon(dir: string, cfg: Record<string, unknown>, env: NodeJS.ProcessEnv, args: string[] = []): Daemon {
  const config = join(dir, 'config.json');
  const control = join(dir, 'control.sock');
  writeConfig(config, { listen: '127.0.0.1:0', control, stateDir: join(dir, 'state'), ...cfg });
  const child = spawn(process.execPath, [BUNDLE, 'daemon', '--config', config, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...env },
  });
  children.push(child);
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-50_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, config, control, output: () => out, exited };
}

const statusOf = (control: string) => status({ control } as Proc);

describe('superdist daemon under systemd', () => {
  it('is ready once its control socket answers, pings the watchdog, and reports its memory budget', async () => {
    const dir = tempDir('sd-daemon-');
    const notify = await listenNotifySocket(join(dir, 'notify.sock'));
    sockets.push(notify);
    const d = startDaemon(dir, { memory: { totalRamBytes: 512 * MIB } }, { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000' });

    const ready = await notify.waitFor('READY', '1', 15_000);
    const s = await statusOf(d.control); // answers at once: READY=1 comes after the socket is up
    expect(s?.node.role).toBe('node');
    expect(ready.fields.STATUS).toBe(`node ${s?.node.id} on ${s?.node.contact}: 0 content(s), 0 partner(s)`);

    const from = notify.received.indexOf(ready);
    await waitFor('3 watchdog pings', 5000, async () => notify.received.slice(from).filter((n) => n.fields.WATCHDOG === '1').length >= 3);

    const cli = spawnSync(process.execPath, [BUNDLE, 'status', '--json', '--control', d.control], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    const memory = (JSON.parse(cli.stdout) as { memory: Record<string, number> }).memory;
    expect(memory.totalRamBytes).toBe(512 * MIB);
    expect(memory.budgetBytes).toBe(bufferBudgetForRam(512 * MIB));
    expect(memory.bufferBytes).toBeGreaterThanOrEqual(0);
    expect(memory.rssBytes).toBeGreaterThan(10 * MIB);

    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('reloads on SIGHUP: refuses an invalid file, applies the log level live, restarts for a new tracker', async () => {
    const dir = tempDir('sd-daemon-');
    const notify = await listenNotifySocket(join(dir, 'notify.sock'));
    sockets.push(notify);
    const d = startDaemon(dir, {}, { NOTIFY_SOCKET: notify.path });
    await notify.waitFor('READY', '1', 15_000);
    const before = await statusOf(d.control);
    const base = { listen: '127.0.0.1:0', control: d.control, stateDir: join(dir, 'state') };

    const hup = async (expectStatus: RegExp) => {
      const from = notify.received.length;
      d.child.kill('SIGHUP');
      await notify.waitFor('RELOADING', '1', 10_000, from);
      const again = await notify.waitFor('READY', '1', 15_000, from);
      expect(again.fields.STATUS).toMatch(expectStatus);
    };

    writeConfig(d.config, { ...base, engine: { minPartners: 'many' } });
    await hup(/^reload refused \(invalid configuration: {3}engine\.minPartners: value "many" from config file .*: expected a number/);
    expect(d.output()).toContain('configuration reload refused; the running configuration stays');
    const after = await statusOf(d.control);
    expect(after?.node.contact).toBe(before?.node.contact); // the same service, untouched

    writeConfig(d.config, { ...base, logLevel: 'debug' });
    await hup(/^node /);
    expect(d.output()).toMatch(/"applied":\["logLevel"\].*configuration reloaded: applied live/);

    writeConfig(d.config, { ...base, logLevel: 'debug', tracker: '127.0.0.1:9' });
    await hup(/^node /);
    expect(d.output()).toMatch(/"restartFor":\["tracker"\].*configuration reloaded: restarting the service/);
    const restarted = await statusOf(d.control);
    expect(restarted?.node.tracker).toBe('127.0.0.1:9');
    expect(restarted?.node.id).toBe(before?.node.id); // identity kept in the state directory

    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('leaves its partnerships on SIGTERM, says STOPPING=1 and exits 0', async () => {
    const dir = tempDir('sd-daemon-');
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = await waitUp(tracker, 10_000, 'tracker status');
    const notify = await listenNotifySocket(join(dir, 'notify.sock'));
    sockets.push(notify);
    const d = startDaemon(dir, { tracker: t.node.contact, join: ['channel-one'] }, { NOTIFY_SOCKET: notify.path });
    await waitFor('the daemon partnered with the tracker', 15_000, async () => {
      const s = await status(tracker);
      return (s?.contents.find((c) => c.id === 'channel-one')?.partners ?? 0) >= 1;
    });

    const from = notify.received.length;
    const stoppedAt = Date.now();
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect((await notify.waitFor('STOPPING', '1', 1000, from)).fields.STATUS).toBe('stopping (SIGTERM)');
    expect(existsSync(d.control)).toBe(false);
    expect(d.output()).toContain('superdist stopped');
    await waitFor('the tracker dropped the partner', 3000, async () => {
      const s = await status(tracker);
      return s?.contents.find((c) => c.id === 'channel-one')?.partners === 0;
    });
  });
});

const root = process.getuid?.() === 0;
const nogroup = lookupGroupId('nogroup');

describe.skipIf(!root || nogroup === undefined)('control socket permissions', () => {
  const asNobody = (control: string) =>
    spawnSync(process.execPath, [BUNDLE, 'status', '--control', control], { encoding: 'utf8', uid: 65534, gid: nogroup!, timeout: 15_000 });

  it('is 0660, handed to the control group: members may use it, others may not', async () => {
    const dir = tempDir('sd-daemon-');
    chmodSync(dir, 0o755);
    const shared = startDaemon(dir, {}, {}, ['--control-group', 'nogroup']);
    await waitUp(shared, 15_000, 'daemon with group');
    const st = statSync(shared.control);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(nogroup);
    const member = asNobody(shared.control);
    expect(member.stderr).toBe('');
    expect(member.status).toBe(0);
    expect(member.stdout).toMatch(/^superdist .* node /);

    const dir2 = tempDir('sd-daemon-');
    chmodSync(dir2, 0o755);
    const own = startDaemon(dir2, {}, {}, ['--control-group', 'no-such-group-here']);
    await waitUp(own, 15_000, 'daemon without group');
    expect(statSync(own.control).mode & 0o777).toBe(0o660);
    expect(statSync(own.control).gid).toBe(process.getgid?.());
    expect(own.output()).toContain("no such group: control socket keeps the daemon's group");
    const outsider = asNobody(own.control);
    expect(outsider.status).toBe(1);
    expect(outsider.stderr).toContain(`permission denied on ${own.control} (join the superdist group or use sudo)`);

    shared.child.kill('SIGTERM');
    own.child.kill('SIGTERM');
    expect(await shared.exited).toBe(0);
    expect(await own.exited).toBe(0);
  });
});
