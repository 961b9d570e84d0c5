// The main-node / local-segment scenario in network namespaces, shared by the namespace test and the
// segment benchmark (root only):
//
//   uplink ns: bridge br0 10.77.1.1/24 — central tracker, live source, remote peers
//   main<i>:   up0 10.77.1.1<i>/24 (default route; shaped to uplinkRate both ways) → br0
//              seg0 10.77.9.<i>/24 → bridge `seg` (hub ns), unshaped
//   local<j>:  seg0 10.77.9.<10+j>/24 → bridge `seg` (shaped to localRate both ways, like a
//              Bluetooth PAN link); no route to the uplink
//
// Local nodes get no tracker address: they find the local tracker (the elected main node) by LAN
// query on 10.77.9.255.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Status } from '../../src/control/status.js';
import { NetnsLab } from './netns.js';
import { chunksPublished, status, waitFor, waitUp, type Proc } from './processes.js';

export const UPLINK_HOST = '10.77.1.1';
export const TRACKER_PORT = 7000;

export interface SegmentScenarioOptions {
  mains: number;
  locals: number;
  remotes: number;
  /** Each main node's uplink, both ways (tc rate). */
  uplinkRate: string;
  /** Each local node's segment link, both ways. */
  localRate: string;
  channel: string;
  input: string;
  dir: string;
  /** Repeat the input file (benchmarks). */
  loop?: boolean;
  /** Extra args for every superdist process (e.g. --log-level). */
  extraArgs?: string[];
}

export interface MainFigures {
  name: string;
  bytesIn: number;
  chunkBytesIn: number;
  share: string;
  tracker: string;
  fallback: number;
}

export class SegmentScenario {
  readonly lab = new NetnsLab();
  readonly mains: Proc[] = [];
  readonly locals: Proc[] = [];
  readonly uplinkProcs: Proc[] = [];
  source: Proc | undefined;

  constructor(readonly o: SegmentScenarioOptions) {}

  /** Builds the namespaces, links and shaping. */
  buildNetwork(): void {
    const lab = this.lab;
    lab.addNamespace('uplink');
    lab.addBridge('uplink', 'br0', `${UPLINK_HOST}/24`);
    lab.addNamespace('hub');
    lab.addBridge('hub', 'seg');
    const shape = (rate: string) => ({ rate, burst: '16kb', latency: '100ms' });
    for (let i = 1; i <= this.o.mains; i++) {
      const ns = `main${i}`;
      lab.addNamespace(ns);
      lab.link({ ns, dev: 'up0', cidr: `10.77.1.${10 + i}/24` }, { ns: 'uplink', dev: `m${i}`, bridge: 'br0' });
      lab.shape(ns, 'up0', shape(this.o.uplinkRate));
      lab.shape('uplink', `m${i}`, shape(this.o.uplinkRate));
      lab.defaultRoute(ns, UPLINK_HOST);
      lab.link({ ns, dev: 'seg0', cidr: `10.77.9.${i}/24` }, { ns: 'hub', dev: `m${i}`, bridge: 'seg' });
    }
    for (let j = 1; j <= this.o.locals; j++) {
      const ns = `local${j}`;
      lab.addNamespace(ns);
      lab.link({ ns, dev: 'seg0', cidr: `10.77.9.${10 + j}/24` }, { ns: 'hub', dev: `l${j}`, bridge: 'seg' });
      lab.shape(ns, 'seg0', shape(this.o.localRate));
      lab.shape('hub', `l${j}`, shape(this.o.localRate));
    }
  }

  private args(extra: string[]): string[] {
    return [...extra, '--log-level', 'warn', ...(this.o.extraArgs ?? [])];
  }

  /** Central tracker, source and remote peers in the uplink namespace. */
  async startUplink(): Promise<void> {
    const { dir, channel, input } = this.o;
    const tracker = this.lab.start('tracker', 'uplink', dir, this.args(['tracker', '--listen', `${UPLINK_HOST}:${TRACKER_PORT}`]));
    this.uplinkProcs.push(tracker);
    await waitUp(tracker, 10_000, 'central tracker');
    const trackerAddr = `${UPLINK_HOST}:${TRACKER_PORT}`;
    this.source = this.lab.start('source', 'uplink', dir, this.args(['publish', 'live', '--tracker', trackerAddr, '--channel', channel, '--input', input, ...(this.o.loop ? ['--loop'] : []), '--listen', `${UPLINK_HOST}:0`]));
    this.uplinkProcs.push(this.source);
    const src = this.source;
    await waitFor('source publishing its first chunk', 15_000, () => chunksPublished(src), (n) => n >= 1);
    for (let r = 1; r <= this.o.remotes; r++) {
      this.uplinkProcs.push(this.lab.start(`remote${r}`, 'uplink', dir, this.args(['node', '--tracker', trackerAddr, '--listen', `${UPLINK_HOST}:0`, '--watch', channel, '--player', 'none'])));
    }
  }

  /** Main node i (1-based); waits for its control socket. */
  async startMain(i: number): Promise<Proc> {
    const p = this.lab.start(`main${i}`, `main${i}`, this.o.dir, this.args([
      'node', '--role', 'main', '--tracker', `${UPLINK_HOST}:${TRACKER_PORT}`, '--segment', `10.77.9.${i}`, '--listen', '0.0.0.0:7878', '--player', 'none',
    ]));
    this.mains[i - 1] = p;
    await waitUp(p, 15_000, `main${i} status`);
    return p;
  }

  async startLocal(j: number, record = true): Promise<Proc> {
    const p = this.lab.start(`local${j}`, `local${j}`, this.o.dir, this.args([
      'node', '--role', 'local', '--watch', this.o.channel, '--listen', '0.0.0.0:7878', '--player', 'none',
      ...(record ? ['--record', this.recording(j)] : []),
    ]));
    this.locals[j - 1] = p;
    await waitUp(p, 15_000, `local${j} status`);
    return p;
  }

  recording(j: number): string {
    return join(this.o.dir, `local${j}.rec.ts`);
  }

  /** Stream bytes the source has published so far. */
  async streamBytes(): Promise<number> {
    const s = this.source ? await status(this.source) : undefined;
    return s?.contents[0]?.source?.streamBytes ?? 0;
  }

  async mainFigures(): Promise<Array<MainFigures | undefined>> {
    return Promise.all(this.mains.map(async (p) => {
      const s = p ? await status(p) : undefined;
      if (!s?.uplink) return undefined;
      return {
        name: p.name,
        bytesIn: s.uplink.bytesIn,
        chunkBytesIn: s.uplink.chunkBytesIn,
        share: s.uplink.shares.map((x) => x.share).join(',') || '-',
        tracker: s.segment?.tracker ?? '?',
        fallback: s.uplink.fallbackRequests,
      };
    }));
  }

  async localStatuses(): Promise<Array<Status | undefined>> {
    return Promise.all(this.locals.map((p) => status(p)));
  }

  /** Continuity index of every local node's channel (0 when it reports none). */
  async localContinuity(): Promise<number[]> {
    return (await this.localStatuses()).map((s) => s?.contents.find((c) => c.kind === 'live')?.continuityIndex ?? 0);
  }

  /** Every local node has started playing. */
  async waitLocalsPlaying(timeoutMs: number): Promise<void> {
    await waitFor('every local node playing', timeoutMs, async () => {
      const all = await this.localStatuses();
      return all.every((s) => (s?.contents.find((c) => c.kind === 'live')?.chunksDue ?? 0) > 0);
    }, { everyMs: 500 });
  }

  /** Waits until the main nodes' shares for the channel read exactly `expect` (e.g. ['0/2', '1/2']). */
  async waitShares(expect: string[], timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    await waitFor(`main node shares ${expect.join(' ')}`, timeoutMs, async () => {
      const f = await this.mainFigures();
      const got = f.filter((x) => x !== undefined).map((x) => x.share).sort();
      return JSON.stringify(got) === JSON.stringify([...expect].sort());
    }, { everyMs: 200 });
    return Date.now() - t0;
  }

  /** Takes main node i's uplink interface down (or up again). */
  setUplink(i: number, up: boolean): void {
    const r = spawnSync('ip', ['-n', this.lab.ns(`main${i}`), 'link', 'set', 'up0', up ? 'up' : 'down'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip link set up0 ${up ? 'up' : 'down'} in main${i}: ${r.stderr}`);
  }

  kill(p: Proc): Promise<void> {
    return new Promise((r) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return r();
      p.child.once('exit', () => r());
      p.child.kill('SIGKILL');
    });
  }

  /** Stops the local nodes cleanly (flushes recordings). */
  async stopLocals(): Promise<void> {
    await Promise.all(this.locals.map((p) => new Promise<void>((r) => {
      if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return r();
      const t = setTimeout(() => { p.child.kill('SIGKILL'); }, 5000);
      p.child.once('exit', () => { clearTimeout(t); r(); });
      p.child.kill('SIGTERM');
    })));
  }

  cleanup(): Promise<void> {
    return this.lab.cleanup();
  }
}
