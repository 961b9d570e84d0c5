// The daemon's life with the service and systemd replaced by fakes: readiness after start, SIGHUP
// (refused when invalid, live for the log level and joins, restart otherwise, fallback when the
// new configuration cannot start), SIGTERM, and which reload needs what.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Status } from '../../src/control/status.js';
import type { RunningService } from '../../src/node.js';
import { changedPaths, planReload } from '../../src/platform/config-reload.js';
import { DaemonSupervisor, type ServiceHooks } from '../../src/platform/daemon-supervisor.js';
import type { Logger } from '../../src/platform/logger.js';
import type { Notifier } from '../../src/platform/systemd-notify.js';
import { eventLoopLagProbe, ServiceHealth } from '../../src/platform/watchdog.js';

const base = { listen: '127.0.0.1:0', control: '/nonexistent/sd-test.sock', stateDir: '/nonexistent/sd-state' };
const cfgWith = (sets: string[] = []): Config => loadConfig({ flags: base, sets });

interface FakeService extends RunningService {
  cfg: Config;
  calls: string[];
  hooks: ServiceHooks | undefined;
}

function harness(opts: { failStartFor?: (cfg: Config) => boolean; health?: ServiceHealth; watchdogUsec?: number; startBlockMs?: number } = {}) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'info' }, sink) as unknown as Logger;
  const notes: Record<string, string>[] = [];
  const notifier: Notifier = {
    enabled: true,
    notify: async (fields) => {
      notes.push(fields);
      return true;
    },
  };
  const services: FakeService[] = [];
  let nextConfig: Config | Error = cfgWith();
  const health = opts.health ?? new ServiceHealth({ now: Date.now, lag: { start() {}, stop() {}, takeMaxMs: () => 0 }, tickOverdueMs: 2000 });
  const daemon = new DaemonSupervisor({
    version: '9.9.9',
    loadConfig: () => {
      if (nextConfig instanceof Error) throw nextConfig;
      return nextConfig;
    },
    startService: async (cfg, _log, _version, hooks) => {
      if (opts.failStartFor?.(cfg)) throw Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
      // A slow board: the start blocks the event loop.
      const until = Date.now() + (opts.startBlockMs ?? 0);
      while (Date.now() < until) {
        // busy
      }
      const calls: string[] = [];
      const s: FakeService = {
        cfg,
        calls,
        hooks,
        peerId: 'p1',
        contact: { host: '127.0.0.1', port: 1 },
        status: () => ({ node: { contact: '127.0.0.1:1' }, contents: [] }) as unknown as Status,
        join: (id) => void calls.push(`join ${id}`),
        leave: (id) => void calls.push(`leave ${id}`),
        stop: async () => void calls.push('stop'),
      };
      services.push(s);
      return s;
    },
    notifier,
    log,
    health,
    ...(opts.watchdogUsec ? { watchdogUsec: opts.watchdogUsec } : {}),
    groupFile: '/nonexistent/group',
  });
  return {
    daemon,
    notes,
    lines,
    services,
    setNext: (c: Config | Error) => (nextConfig = c),
    messages: () => lines.map((l) => String(l.msg)),
  };
}

describe('daemon supervisor', () => {
  it('reports READY=1 with a STATUS once the service runs, and hands it an onTick hook', async () => {
    const h = harness();
    await h.daemon.start(cfgWith());
    expect(h.services).toHaveLength(1);
    expect(h.notes[0]).toMatchObject({ READY: '1' });
    expect(h.notes[0]?.STATUS).toMatch(/^node p1 on 127\.0\.0\.1:1: 0 content\(s\), 0 partner\(s\)$/);
    expect(typeof h.services[0]?.hooks?.onTick).toBe('function');
  });

  it('refuses an invalid configuration on reload and keeps the running service', async () => {
    const h = harness();
    await h.daemon.start(cfgWith());
    h.setNext(new ConfigError('invalid configuration:\n  logLevel: value "loud" from config file x.json: expected one of ...'));
    await h.daemon.reload();
    expect(h.services).toHaveLength(1);
    expect(h.services[0]?.calls).toEqual([]);
    expect(h.notes.map((n) => Object.keys(n)[0])).toEqual(['READY', 'RELOADING', 'READY']);
    expect(h.notes[1]?.MONOTONIC_USEC).toMatch(/^\d+$/);
    expect(h.notes[2]?.STATUS).toMatch(/^reload refused \(invalid configuration: {3}logLevel: value "loud"/);
    expect(h.messages()).toContain('configuration reload refused; the running configuration stays');
  });

  it('applies the log level and the joined contents live', async () => {
    const h = harness();
    await h.daemon.start(cfgWith(['join=["a","b"]']));
    h.setNext(cfgWith(['logLevel=warn', 'join=["b","c"]']));
    await h.daemon.reload();
    expect(h.services).toHaveLength(1);
    expect(h.services[0]?.calls).toEqual(['join c', 'leave a']);
    // info is now below the level: the next info line is dropped
    const before = h.lines.length;
    await h.daemon.reload();
    expect(h.lines.length).toBe(before);
  });

  it('restarts the service for changes that cannot be applied live', async () => {
    const h = harness();
    await h.daemon.start(cfgWith());
    h.setNext(cfgWith(['tracker="10.1.2.3:7000"', 'engine.minPartners=2']));
    await h.daemon.reload();
    expect(h.services).toHaveLength(2);
    expect(h.services[0]?.calls).toEqual(['stop']);
    expect(h.services[1]?.cfg.tracker).toBe('10.1.2.3:7000');
    const line = h.lines.find((l) => l.msg === 'configuration reloaded: restarting the service');
    expect(line?.restartFor).toEqual(['engine.minPartners', 'tracker']);
    expect(h.notes.at(-1)).toMatchObject({ READY: '1' });
  });

  it('goes back to the previous configuration when the new one does not start', async () => {
    const h = harness({ failStartFor: (c) => c.listen === '127.0.0.1:9' });
    await h.daemon.start(cfgWith());
    h.setNext(cfgWith(['listen="127.0.0.1:9"']));
    await h.daemon.reload();
    expect(h.services).toHaveLength(2);
    expect(h.services[1]?.cfg.listen).toBe('127.0.0.1:0');
    expect(h.messages().some((m) => /new configuration does not start \(address 127\.0\.0\.1:9 is already in use/.test(m))).toBe(true);
  });

  it('merges reloads asked for while one runs, and stops once on SIGTERM', async () => {
    const h = harness();
    await h.daemon.start(cfgWith());
    h.setNext(cfgWith(['engine.minPartners=2']));
    const all = [h.daemon.reload(), h.daemon.reload(), h.daemon.reload()];
    await Promise.all(all);
    expect(h.services).toHaveLength(2); // three SIGHUPs, one restart
    await Promise.all([h.daemon.stop('SIGTERM'), h.daemon.stop('SIGTERM')]);
    expect(h.services.at(-1)?.calls).toEqual(['stop']);
    expect(h.notes.at(-1)).toMatchObject({ STOPPING: '1', STATUS: 'stopping (SIGTERM)' });
    await h.daemon.reload(); // ignored once stopping
    expect(h.notes.at(-1)).toMatchObject({ STOPPING: '1' });
  });
});

describe('config reload plan', () => {
  it('does not hold the event-loop lag of a slow start against the first watchdog round', async () => {
    const health = new ServiceHealth({ now: Date.now, lag: eventLoopLagProbe(10), tickOverdueMs: 60_000 });
    // WatchdogSec 0.9 s: a round every 300 ms; the start blocks the loop for 1.5 s (limit 1 s).
    const h = harness({ health, watchdogUsec: 900_000, startBlockMs: 1500 });
    try {
      await h.daemon.start(cfgWith());
      await new Promise((r) => setTimeout(r, 700));
      expect(h.messages().filter((m) => m.startsWith('unhealthy'))).toEqual([]);
      expect(h.notes.filter((n) => n.WATCHDOG === '1').length).toBeGreaterThanOrEqual(1);
    } finally {
      await h.daemon.stop('test');
    }
  });

  it('does not hold the lag of a restart on reload against the next watchdog round', async () => {
    const health = new ServiceHealth({ now: Date.now, lag: eventLoopLagProbe(10), tickOverdueMs: 60_000 });
    const h = harness({ health, watchdogUsec: 900_000, startBlockMs: 1500 });
    try {
      await h.daemon.start(cfgWith());
      h.setNext(cfgWith(['watch=news']));
      await h.daemon.reload();
      expect(h.services).toHaveLength(2);
      const pings = h.notes.filter((n) => n.WATCHDOG === '1').length;
      await new Promise((r) => setTimeout(r, 700));
      expect(h.messages().filter((m) => m.startsWith('unhealthy'))).toEqual([]);
      expect(h.notes.filter((n) => n.WATCHDOG === '1').length).toBeGreaterThan(pings);
    } finally {
      await h.daemon.stop('test');
    }
  });

  it('lists changed leaves and splits live from restart', () => {
    const a = cfgWith();
    const b = cfgWith(['logLevel=debug', 'net.maxConnections=7', 'join=["x"]']);
    expect(changedPaths(a, a)).toEqual([]);
    const plan = planReload(a, b);
    expect(plan.changed).toEqual(['join', 'logLevel', 'net.maxConnections']);
    expect(plan.live).toEqual(['join', 'logLevel']);
    expect(plan.restart).toEqual(['net.maxConnections']);
    expect(plan.join).toEqual({ add: ['x'], remove: [] });
  });
});
