// Behind a home router: the port-mapping policy with a fake router (garbage, timeouts, a mapping
// that disappears), the reachability classification (public / mapped / nat, a new public address),
// and the tracker's dial-back test over real loopback TCP.
import { afterEach, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import type { Contact, ReachabilityResp } from '../../src/protocol/messages.js';
import { PortMappingKeeper, type PortMapper, type PortMappingLease } from '../../src/net/port-mapping.js';
import { ReachabilityMonitor } from '../../src/net/reachability.js';
import { dialBack, DialBackService } from '../../src/net/dial-back.js';
import { HolePuncher, PunchRelay } from '../../src/net/hole-punch.js';
import { NatTraversal } from '../../src/net/nat-traversal.js';
import type { Logger } from '../../src/platform/logger.js';
import { ConnectionManager, DEFAULT_NET_LIMITS } from '../../src/net/connection-manager.js';
import type { Message } from '../../src/protocol/messages.js';
import type { PeerAddress } from '../../src/engine/ports.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A router whose answers the test scripts, one per map() call (the last one repeats). */
class FakeRouter implements PortMapper {
  maps = 0;
  unmaps: number[] = [];
  constructor(public answers: Array<() => Promise<PortMappingLease>>) {}
  map(): Promise<PortMappingLease> {
    const a = this.answers[Math.min(this.maps, this.answers.length - 1)]!;
    this.maps++;
    return a();
  }
  async unmap(port: number): Promise<void> {
    this.unmaps.push(port);
  }
}
const lease = (host: string, port: number, lifetimeMs = 60_000): (() => Promise<PortMappingLease>) => async () => ({ external: { host, port }, lifetimeMs, method: 'upnp' });

function keeperWith(router: PortMapper, extra: { timeoutMs?: number; retryMs?: number } = {}) {
  const warnings: string[] = [];
  const changes: Array<Contact | undefined> = [];
  const keeper = new PortMappingKeeper({
    mapper: router,
    internalPort: 7878,
    timeoutMs: extra.timeoutMs ?? 200,
    retryMs: extra.retryMs ?? 60_000,
    onChange: (c) => changes.push(c),
    warn: (code, message) => warnings.push(`${code}: ${message}`),
  });
  return { keeper, warnings, changes };
}

const keepers: PortMappingKeeper[] = [];
afterEach(async () => {
  for (const k of keepers.splice(0)) await k.stop();
});

describe('port mapping on the home router', () => {
  it('maps the listen port, renews before the lease ends, removes the mapping on stop', async () => {
    const router = new FakeRouter([lease('100.64.0.2', 7878, 200)]);
    const { keeper, changes, warnings } = keeperWith(router);
    keepers.push(keeper);
    await keeper.refresh();
    expect(keeper.status()).toMatchObject({ state: 'mapped', external: '100.64.0.2:7878', method: 'upnp', error: null });
    expect(changes).toEqual([{ host: '100.64.0.2', port: 7878 }]);
    await sleep(1_300); // renewal at half the lease, at least 1 s
    expect(router.maps).toBeGreaterThanOrEqual(2);
    expect(changes).toHaveLength(1); // same external contact: nobody is told again
    await keeper.stop();
    expect(router.unmaps).toEqual([7878]);
    const maps = router.maps;
    await sleep(1_100);
    expect(router.maps).toBe(maps);
    expect(warnings).toEqual([]);
  });

  it('a router answering garbage is a failure with a warning, not a mapping', async () => {
    const router = new FakeRouter([lease('<html>', 0)]);
    const { keeper, changes, warnings } = keeperWith(router);
    keepers.push(keeper);
    await keeper.refresh();
    expect(keeper.status()).toMatchObject({ state: 'failed', external: null, failures: 1 });
    expect(keeper.status().error).toMatch(/unusable external address/);
    expect(warnings[0]).toMatch(/^port-mapping-failed: the router did not map port 7878/);
    expect(changes).toEqual([]);
  });

  it('a router that never answers times out', async () => {
    const router = new FakeRouter([() => new Promise<PortMappingLease>(() => undefined)]);
    const { keeper, warnings } = keeperWith(router, { timeoutMs: 50 });
    keepers.push(keeper);
    await keeper.refresh();
    expect(keeper.status().state).toBe('failed');
    expect(keeper.status().error).toMatch(/no answer from the router within 200 ms/);
    expect(warnings).toHaveLength(1);
  });

  it('a refused mapping is retried later and then holds', async () => {
    const router = new FakeRouter([async () => { throw new Error('ConflictInMappingEntry'); }, lease('100.64.0.2', 7878)]);
    const { keeper, changes } = keeperWith(router, { retryMs: 100 });
    keepers.push(keeper);
    await keeper.refresh();
    expect(keeper.status()).toMatchObject({ state: 'failed', error: 'ConflictInMappingEntry' });
    await sleep(300);
    expect(keeper.status()).toMatchObject({ state: 'mapped', maps: 1, failures: 1 });
    expect(changes).toEqual([{ host: '100.64.0.2', port: 7878 }]);
  });

  it('a mapping that is gone on renewal is reported lost (the node re-advertises)', async () => {
    const router = new FakeRouter([lease('100.64.0.2', 7878), async () => { throw new Error('no IGD'); }]);
    const { keeper, changes } = keeperWith(router);
    keepers.push(keeper);
    await keeper.refresh();
    await keeper.refresh();
    expect(changes).toEqual([{ host: '100.64.0.2', port: 7878 }, undefined]);
    expect(keeper.external).toBeUndefined();
  });
});

/** A monitor with a scripted clock; tests answer its ReachabilityReqs by hand. */
function monitor(opts: { withMapping?: boolean } = {}) {
  let now = 1_000;
  const sent: Contact[] = [];
  const applied: Array<[string, string]> = [];
  const warnings: string[] = [];
  let remaps = 0;
  const m = new ReachabilityMonitor({
    listenPort: 7878,
    clock: () => now,
    sendTest: (c) => { sent.push(c); return true; },
    apply: (c, r) => applied.push([`${c.host}:${c.port}`, r]),
    ...(opts.withMapping ? { remap: () => { remaps++; } } : {}),
    warn: (code) => warnings.push(code),
    retestMs: 60_000,
    answerTimeoutMs: 5_000,
    busyRetryMs: 1_000,
  });
  const answer = (reachable: boolean, detail = '', observed: Contact = { host: '100.64.0.2', port: 40000 }): void => {
    const contact = sent[sent.length - 1]!;
    const resp: ReachabilityResp = { type: 'ReachabilityResp', peerId: 't', contentId: '', contact, reachable, observed, detail };
    m.onResponse(resp);
  };
  return { m, sent, applied, warnings, answer, advance: (ms: number) => { now += ms; m.tick(now); }, remaps: () => remaps };
}

describe('reachability classification', () => {
  it('reachable at the observed address: public, advertised as observed host and listen port', () => {
    const t = monitor();
    t.advance(0);
    expect(t.sent).toEqual([]); // nothing to test before the tracker said how it sees us
    t.m.onObserved({ host: '100.64.0.9', port: 51000 });
    t.advance(0);
    expect(t.sent).toEqual([{ host: '100.64.0.9', port: 7878 }]);
    t.answer(true, '', { host: '100.64.0.9', port: 51000 });
    expect(t.m.status()).toMatchObject({ reachability: 'public', publicContact: '100.64.0.9:7878', observed: '100.64.0.9:51000' });
    expect(t.applied).toEqual([['100.64.0.9:7878', 'public']]);
  });

  it('not reachable: nat, and others are told not to dial', () => {
    const t = monitor();
    t.m.onObserved({ host: '100.64.0.2', port: 40000 });
    t.advance(0);
    t.answer(false, 'timeout');
    expect(t.m.status()).toMatchObject({ reachability: 'nat', publicContact: null, lastTestDetail: 'timeout' });
    expect(t.applied).toEqual([['100.64.0.2:7878', 'nat']]);
  });

  it('a port mapping is tested and advertised as mapped; a mapping found dead is asked for again', () => {
    const t = monitor({ withMapping: true });
    t.m.onMapping({ host: '100.64.0.2', port: 7878 });
    t.m.onObserved({ host: '100.64.0.2', port: 40000 });
    t.advance(0);
    expect(t.sent).toEqual([{ host: '100.64.0.2', port: 7878 }]);
    t.answer(true);
    expect(t.m.status()).toMatchObject({ reachability: 'mapped', publicContact: '100.64.0.2:7878' });
    t.advance(60_000); // periodic re-test: the router rebooted and forgot the mapping
    expect(t.sent).toHaveLength(2);
    t.answer(false, 'refused');
    expect(t.remaps()).toBe(1);
    expect(t.warnings).toContain('mapping-unreachable');
    expect(t.m.reachability).toBe('nat');
    t.m.onMapping({ host: '100.64.0.2', port: 7879 }); // the router mapped again (another port)
    t.advance(0);
    expect(t.sent[2]).toEqual({ host: '100.64.0.2', port: 7879 });
    t.answer(true);
    expect(t.applied.map((a) => a[1])).toEqual(['mapped', 'nat', 'mapped']);
  });

  it('a new public address is tested again and re-advertised', () => {
    const t = monitor();
    t.m.onObserved({ host: '100.64.0.9', port: 1 });
    t.advance(0);
    t.answer(true, '', { host: '100.64.0.9', port: 1 });
    t.m.onObserved({ host: '100.64.0.10', port: 2 });
    expect(t.warnings).toContain('observed-address-changed');
    t.advance(0);
    expect(t.sent[1]).toEqual({ host: '100.64.0.10', port: 7878 });
    t.answer(true, '', { host: '100.64.0.10', port: 2 });
    expect(t.applied).toEqual([['100.64.0.9:7878', 'public'], ['100.64.0.10:7878', 'public']]);
  });

  it('a busy tracker is asked again soon; a silent one with back-off; stray answers are ignored', () => {
    const t = monitor();
    t.m.onObserved({ host: '100.64.0.9', port: 1 });
    t.advance(0);
    t.answer(false, 'busy', { host: '100.64.0.9', port: 1 });
    expect(t.m.reachability).toBe('unknown');
    t.advance(999);
    expect(t.sent).toHaveLength(1);
    t.advance(1);
    expect(t.sent).toHaveLength(2);
    t.m.onResponse({ type: 'ReachabilityResp', peerId: 't', contentId: '', contact: { host: '6.6.6.6', port: 1 }, reachable: true, observed: { host: '', port: 0 }, detail: '' });
    t.m.onResponse(null as unknown as ReachabilityResp);
    expect(t.m.reachability).toBe('unknown');
    t.advance(5_000); // no answer: given up, asked again only after a back-off
    t.advance(5_000);
    expect(t.sent).toHaveLength(2);
    t.advance(5_000);
    expect(t.sent).toHaveLength(3);
  });
});

describe("the tracker's dial-back test", () => {
  const managers: ConnectionManager[] = [];
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.close();
  });
  async function node(peerId: string) {
    const m = new ConnectionManager({ self: { peerId, contact: { host: '127.0.0.1', port: 0 }, role: 'node' }, limits: DEFAULT_NET_LIMITS, onMessage: () => undefined });
    managers.push(m);
    return { m, contact: await m.listen('127.0.0.1', 0) };
  }

  it('a node answers the probe with its Hello and does not take it for a peer', async () => {
    const { m, contact } = await node('box');
    expect(await dialBack(contact, 'box', 'tracker', 2_000)).toEqual({ reachable: true, detail: '' });
    expect(await dialBack(contact, 'someone-else', 'tracker', 2_000)).toEqual({ reachable: false, detail: 'wrong-peer' });
    for (let i = 0; i < 100 && m.stats().probesAnswered < 2; i++) await sleep(10);
    expect(m.stats().probesAnswered).toBe(2);
    expect(m.connectedPeers()).toEqual([]);
  });

  it('a closed port is refused, a silent one times out', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await dialBack({ host: '127.0.0.1', port }, 'box', 'tracker', 2_000)).toEqual({ reachable: false, detail: 'refused' });
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const r = await dialBack({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port }, 'box', 'tracker', 200);
    silent.close();
    expect(r).toEqual({ reachable: false, detail: 'timeout' });
  });

  it('dials only the asker’s own address, and not too often', async () => {
    const answers: Message[] = [];
    let dials = 0;
    const svc = new DialBackService({
      selfId: 'tracker',
      send: (_to, msg) => { answers.push(msg); return true; },
      dial: async () => { dials++; return { reachable: true, detail: '' }; },
    });
    const from: PeerAddress = { peerId: 'box', contact: { host: '192.168.1.2', port: 7878 }, source: { host: '100.64.0.2', port: 40000 } };
    const req = (host: string) => ({ type: 'ReachabilityReq' as const, peerId: 'box', contentId: '', contact: { host, port: 7878 } });
    svc.handle(from, req('100.64.0.99'), 0);
    svc.handle(from, req('100.64.0.2'), 0);
    svc.handle(from, req('100.64.0.2'), 500);
    await sleep(10);
    expect(dials).toBe(1);
    expect(answers.map((a) => (a as ReachabilityResp).detail)).toEqual(['not-your-address', 'busy', '']);
    expect(answers[2]).toMatchObject({ reachable: true, observed: { host: '100.64.0.2', port: 40000 } });
  });
});

describe('hole punching through the tracker', () => {
  const box = (id: string, host: string): PeerAddress => ({ peerId: id, contact: { host: '192.168.0.2', port: 7878 }, source: { host, port: 40000 } });
  const punchReq = (id: string, target: string, host: string, port = 7879) => ({ type: 'PunchReq' as const, peerId: id, contentId: '', target, contact: { host, port } });

  it('the rendezvous sends both sides the other one\'s punch contact, the target first', () => {
    const sent: Array<[string, Message]> = [];
    const relay = new PunchRelay({ selfId: 'tracker', send: (to, msg) => { sent.push([to.peerId, msg]); return true; } });
    relay.handle(box('b3', '100.64.0.13'), punchReq('b3', '', '100.64.0.13'), 0);
    expect(sent).toEqual([]);
    relay.handle(box('b2', '100.64.0.12'), punchReq('b2', 'b3', '100.64.0.12'), 1_000);
    expect(sent.map(([to, m]) => [to, (m as { peer: string }).peer, (m as { contact: Contact }).contact])).toEqual([
      ['b3', 'b2', { host: '100.64.0.12', port: 7879 }],
      ['b2', 'b3', { host: '100.64.0.13', port: 7879 }],
    ]);
    expect(relay.relayed).toBe(1);
  });

  it('the rendezvous answers an unknown or stale target with no contact, and ignores contacts of other hosts', () => {
    const sent: Message[] = [];
    const relay = new PunchRelay({ selfId: 'tracker', send: (_to, msg) => { sent.push(msg); return true; }, ttlMs: 10_000 });
    relay.handle(box('b3', '100.64.0.13'), punchReq('b3', '', '6.6.6.6'), 0); // not where it came from: not kept
    relay.handle(box('b2', '100.64.0.12'), punchReq('b2', 'b3', '100.64.0.12'), 0);
    relay.handle(box('b3', '100.64.0.13'), punchReq('b3', '', '100.64.0.13'), 0);
    relay.handle(box('b2', '100.64.0.12'), punchReq('b2', 'b3', '100.64.0.12'), 20_000); // b3's entry is stale
    expect(sent.map((m) => (m as { contact: Contact }).contact.host)).toEqual(['', '']);
  });

  it('a box behind a NAT registers, asks for a NAT member, dials a few times, counts the success', async () => {
    const sent: Message[] = [];
    const dials: Array<[string, number]> = [];
    let connected = false;
    const p = new HolePuncher({
      peerId: 'b2',
      punchPort: 7879,
      tracker: () => ({ peerId: 'tracker', contact: { host: '100.64.0.1', port: 7000 } }),
      trackerContact: { host: '100.64.0.1', port: 7000 },
      send: (_to, msg) => { sent.push(msg); return true; },
      punch: (to, port) => { dials.push([to.peerId, port]); return true; },
      isConnected: () => connected,
      natMembers: () => ['b3'],
      warn: () => undefined,
      observe: async () => ({ host: '100.64.0.12', port: 7879 }),
    });
    p.tick(0);
    expect(sent).toEqual([]); // not behind a NAT (yet): nothing to do
    p.mode = 'punch';
    p.tick(0);
    await sleep(0);
    expect(sent[0]).toMatchObject({ type: 'PunchReq', target: '', contact: { host: '100.64.0.12', port: 7879 } });
    p.tick(1);
    expect(sent[1]).toMatchObject({ type: 'PunchReq', target: 'b3' });
    p.tick(2);
    expect(sent).toHaveLength(2); // asks again only after ASK_EVERY_MS
    p.onPunchNow({ peerId: 'tracker', contact: { host: '100.64.0.1', port: 7000 } }, { type: 'PunchNow', peerId: 'tracker', contentId: '', peer: 'b3', contact: { host: '100.64.0.13', port: 7879 } }, 100);
    p.tick(500);
    expect(dials).toEqual([['b3', 7879], ['b3', 7879]]);
    connected = true;
    p.tick(900);
    expect(p.stats()).toMatchObject({ punchAttempts: 1, punchSucceeded: 1, punchContact: '100.64.0.12:7879' });
    expect(dials).toHaveLength(2);
  });
});

describe('connection reversal', () => {
  it('a public box short of partners asks a NAT member (through the tracker) to dial it back', () => {
    const sent: Message[] = [];
    let want = true;
    const p = new HolePuncher({
      peerId: 'pub', punchPort: 7879,
      tracker: () => ({ peerId: 'tracker', contact: { host: '100.64.0.1', port: 7000 } }),
      trackerContact: { host: '100.64.0.1', port: 7000 },
      send: (_to, msg) => { sent.push(msg); return true; },
      punch: () => true, isConnected: (id) => id === 'natA', natMembers: () => ['natA', 'natB'],
      publicContact: () => ({ host: '100.64.0.5', port: 7878 }), wantsPartners: () => want,
      warn: () => undefined,
    });
    p.mode = 'reverse';
    p.tick(0);
    expect(sent).toEqual([{ type: 'PunchReq', peerId: 'pub', contentId: '', target: 'natB', contact: { host: '100.64.0.5', port: 7878 } }]);
    want = false;
    p.tick(10_000);
    expect(sent).toHaveLength(1); // enough partners: nobody is asked
    expect(p.stats().reversalsAsked).toBe(1);
  });
});

describe('what a box believes about its own address', () => {
  it('takes the observed address only from the tracker on a connection it dialled itself', () => {
    const quiet = { info: () => undefined, warn: () => undefined } as unknown as Logger;
    const tracker = { host: '100.64.0.1', port: 7000 };
    const sent: Message[] = [];
    const self = { contact: { host: '192.168.2.2', port: 7878 } };
    const nat = new NatTraversal({
      portMapping: false, holePunching: false, listenPort: 7878, self, setAdvertised: () => undefined, announce: () => undefined,
      tracker, trackerPeerId: () => 'tracker', send: (_to, msg) => { sent.push(msg); return true; },
      punch: () => false, isConnected: () => false, natMembers: () => [], peerId: 'b2', log: quiet,
    });
    // A peer claiming to be the tracker (role, even its peer id) on a connection it opened: ignored.
    nat.onObserved({ peerId: 'tracker', role: 'tracker' }, { host: '6.6.6.6', port: 1 });
    nat.onObserved({ peerId: 'x', role: 'tracker', dialled: { host: '100.64.0.99', port: 7000 } }, { host: '6.6.6.6', port: 1 });
    nat.tick(Date.now());
    expect(nat.status().observed).toBeNull();
    expect(sent).toEqual([]);
    nat.onObserved({ peerId: 'tracker', role: 'tracker', dialled: tracker }, { host: '100.64.0.12', port: 40000 });
    nat.tick(Date.now());
    expect(nat.status()).toMatchObject({ observed: '100.64.0.12:40000', reachability: 'unknown', portMapping: { state: 'off' } });
    expect(sent).toEqual([{ type: 'ReachabilityReq', peerId: 'b2', contentId: '', contact: { host: '100.64.0.12', port: 7878 } }]);
  });
});
