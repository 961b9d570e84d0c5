// Health and watchdog with a fake clock and a fake event-loop probe; the systemd-notify CLI
// against a fake NOTIFY_SOCKET (the real protocol: datagrams, BARRIER=1 handshake).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SystemdNotifier, takeNotifyEnvironment } from '../../src/platform/systemd-notify.js';
import {
  eventLoopLagProbe,
  MAX_EVENT_LOOP_LAG_MS,
  ServiceHealth,
  tickOverdueAfterMs,
  Watchdog,
  watchdogIntervalMs,
  type LagProbe,
} from '../../src/platform/watchdog.js';
import { listenNotifySocket, type NotifySocket } from '../support/notify-socket.js';

function fakes() {
  let now = 1_000_000;
  let lag = 0;
  const probe: LagProbe = { start() {}, stop() {}, takeMaxMs: () => lag };
  const health = new ServiceHealth({ now: () => now, lag: probe, tickOverdueMs: tickOverdueAfterMs(100) });
  const events: string[] = [];
  const dog = new Watchdog({
    intervalMs: 1000,
    health,
    ping: () => events.push('ping'),
    onUnhealthy: (v) => events.push(`unhealthy: ${v.reason}`),
    onRecovered: () => events.push('recovered'),
    onTickUntracked: () => events.push('untracked'),
  });
  return {
    health,
    dog,
    events,
    advance: (ms: number) => (now += ms),
    setLag: (ms: number) => (lag = ms),
  };
}

describe('watchdog', () => {
  it('pings at a third of WATCHDOG_USEC: one withheld ping is survived', () => {
    expect(watchdogIntervalMs(30_000_000)).toBe(10_000);
    expect(watchdogIntervalMs(1_000)).toBe(1);
    expect(tickOverdueAfterMs(100)).toBe(2000);
    expect(tickOverdueAfterMs(500)).toBe(10_000);
  });

  it('pings while ticks are fresh and the loop is quick; withholds pings when the tick is overdue', () => {
    const f = fakes();
    f.health.expectTicks();
    f.health.tick();
    f.advance(500);
    f.dog.round();
    f.health.tick();
    f.advance(2500); // no tick for 2.5 s > 2 s
    const v = f.dog.round();
    expect(v.healthy).toBe(false);
    expect(v.tickAgeMs).toBe(2500);
    f.advance(1000);
    f.dog.round(); // still unhealthy: reported once only
    f.health.tick();
    f.dog.round();
    expect(f.events).toEqual(['ping', 'unhealthy: engine tick overdue: last one 2500 ms ago (limit 2000 ms)', 'recovered', 'ping']);
  });

  it('withholds pings while the event loop lags', () => {
    const f = fakes();
    f.health.expectTicks();
    f.health.tick();
    f.setLag(MAX_EVENT_LOOP_LAG_MS + 200);
    expect(f.dog.round()).toMatchObject({ healthy: false, reason: `event loop lagging ${MAX_EVENT_LOOP_LAG_MS + 200} ms (limit ${MAX_EVENT_LOOP_LAG_MS} ms)` });
    f.setLag(5);
    expect(f.dog.round().healthy).toBe(true);
    expect(f.events).toEqual([expect.stringMatching(/^unhealthy: event loop lagging/), 'recovered', 'ping']);
  });

  it('judges the event loop only when the service never reports ticks, and says so once', () => {
    const f = fakes();
    f.health.expectTicks();
    f.advance(1000);
    expect(f.dog.round()).toMatchObject({ healthy: true, tickTracked: true });
    f.advance(5000);
    expect(f.dog.round()).toMatchObject({ healthy: true, tickTracked: false });
    f.dog.round();
    expect(f.events).toEqual(['ping', 'untracked', 'ping', 'ping']);
    // the first tick turns tracking on
    f.health.tick();
    f.advance(3000);
    expect(f.dog.round()).toMatchObject({ healthy: false, tickTracked: true });
  });

  it('does not expect ticks while paused for a restart', () => {
    const f = fakes();
    f.health.expectTicks();
    f.health.tick();
    f.health.pause();
    f.advance(10_000);
    expect(f.dog.round().healthy).toBe(true);
    f.health.expectTicks();
    f.advance(1000);
    expect(f.dog.round().healthy).toBe(true);
  });

  it('measures real event-loop lag', async () => {
    const probe = eventLoopLagProbe(10);
    probe.start();
    await new Promise((r) => setTimeout(r, 50));
    probe.takeMaxMs();
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // block the loop
    }
    await new Promise((r) => setTimeout(r, 30));
    const lag = probe.takeMaxMs();
    probe.stop();
    expect(lag).toBeGreaterThan(200);
  });
});

describe('watchdog start', () => {
  it('forgets the lag measured before the watchdog started', async () => {
    const probe = eventLoopLagProbe(10);
    const health = new ServiceHealth({ now: Date.now, lag: probe, tickOverdueMs: 60_000 });
    health.start();
    const until = Date.now() + 1200;
    while (Date.now() < until) {
      // a slow start blocks the loop
    }
    await new Promise((r) => setTimeout(r, 30));
    health.forgetLag();
    await new Promise((r) => setTimeout(r, 50));
    const v = health.check();
    health.stop();
    expect(v.lagMs).toBeLessThan(MAX_EVENT_LOOP_LAG_MS);
    expect(v.healthy).toBe(true);
  });
});

describe('systemd-notify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd-notify-'));
  const sockets: NotifySocket[] = [];
  afterAll(() => Promise.all(sockets.map((s) => s.close())));

  it('takes NOTIFY_SOCKET and the watchdog settings out of the environment', () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42', PATH: '/bin' };
    expect(takeNotifyEnvironment(env, 42)).toEqual({ notifySocket: '/run/x', watchdogUsec: 30_000_000 });
    expect(env).toEqual({ PATH: '/bin' });
    // the watchdog is meant for another process
    expect(takeNotifyEnvironment({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1000', WATCHDOG_PID: '7' }, 42)).toEqual({ notifySocket: '/run/x' });
    expect(takeNotifyEnvironment({}, 42)).toEqual({});
  });

  it('sends READY=1, STATUS and WATCHDOG=1 through the CLI, in order', async () => {
    const sock = await listenNotifySocket(join(dir, 'notify.sock'));
    sockets.push(sock);
    const warnings: string[] = [];
    const n = new SystemdNotifier({ notifySocket: sock.path, onWarning: (m) => warnings.push(m) });
    expect(n.enabled).toBe(true);
    const sent = await Promise.all([n.notify({ READY: '1', STATUS: 'two\nlines' }), n.notify({ WATCHDOG: '1' })]);
    expect(sent).toEqual([true, true]);
    await sock.waitFor('WATCHDOG', '1');
    expect(sock.received.map((r) => r.fields)).toEqual([{ READY: '1', STATUS: 'two lines' }, { WATCHDOG: '1' }]);
    expect(warnings).toEqual([]);
  });

  it('does nothing without NOTIFY_SOCKET, and warns once when the CLI is missing', async () => {
    const off = new SystemdNotifier({ notifySocket: undefined, onWarning: () => {} });
    expect(off.enabled).toBe(false);
    expect(await off.notify({ READY: '1' })).toBe(false);
    const warnings: string[] = [];
    const n = new SystemdNotifier({ notifySocket: join(dir, 'none.sock'), command: 'systemd-notify-not-installed', onWarning: (m) => warnings.push(m) });
    expect(await n.notify({ READY: '1' })).toBe(false);
    expect(await n.notify({ WATCHDOG: '1' })).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/systemd-notify-not-installed not found .*readiness and watchdog are not reported/)]);
  });

  it('drops a watchdog ping while the previous notification is still on its way', async () => {
    const sock = await listenNotifySocket(join(dir, 'busy.sock'));
    sockets.push(sock);
    const n = new SystemdNotifier({ notifySocket: sock.path, onWarning: () => {} });
    const first = n.notify({ STATUS: 'slow' });
    const dropped = await n.notify({ WATCHDOG: '1' }, { dropIfBusy: true });
    expect(dropped).toBe(false);
    expect(await first).toBe(true);
  });
});
