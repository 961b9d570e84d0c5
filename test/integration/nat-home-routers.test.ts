// Boxes behind home routers (network namespaces, root only; skipped otherwise):
//   inet: the "internet" bridge 100.64.0.0/24 with the tracker and the live source (public);
//   r1..r4: home routers, WAN 100.64.0.1X on the bridge, LAN 192.168.X.0/24, masquerading with
//     nftables (table ip nat, postrouting masquerade out of the WAN) and forwarding nothing
//     unsolicited inwards (forward policy drop; from the WAN only established/related, and on r1
//     what its own port forwards let in); r1 runs the real miniupnpd (UPnP IGD v2 + NAT-PMP), r4
//     miniupnpd describing itself as an IGD v1, r2 and r3 offer no IGD;
//   b1..b4: one box behind each router.
// Shows: b1 and b4 report `mapped` (by IGD v2 and IGD v1) and miniupnpd holds their mappings while
// they run and none after SIGTERM;
// b2 and b3 report `nat`; the source reports `public`; every box plays the channel with
// continuity >= 0.99 over a 30 s window; the mapped box uploads chunks to the boxes behind NAT; the
// two boxes behind routers without IGD become partners over a connection punched through both NATs.
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addHomeRouter, homeRouterToolsPresent, startMiniupnpd, upnpList, upnpRules } from '../support/home-router.js';
import { makeTestStream } from '../support/media.js';
import { NetnsLab, netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { chunksPublished, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';
import type { Status } from '../../src/control/status.js';

const STREAM_KBPS = 400;
const WINDOW_MS = 30_000;
const TRACKER = '100.64.0.1:7000';
const BOXES = [1, 2, 3, 4] as const;
/** Routers running miniupnpd: r1 as an IGD v2 (its default), r4 forced to describe itself as IGD v1. */
const UPNP_ROUTERS: Record<number, 'v2' | 'v1'> = { 1: 'v2', 4: 'v1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const labPossible = netnsAvailable() && homeRouterToolsPresent(true);

let lab: NetnsLab | undefined;
const miniupnpds: ChildProcess[] = [];
afterAll(async () => {
  for (const m of miniupnpds) m.kill('SIGTERM');
  await lab?.cleanup();
});

function buildNetwork(lab: NetnsLab, dir: string): void {
  lab.addNamespace('inet');
  lab.addBridge('inet', 'br0', '100.64.0.1/24');
  for (const i of BOXES) addHomeRouter(lab, { i, wanCidr: `100.64.0.1${i}/24`, inetNs: 'inet', bridge: 'br0', port: `r${i}`, upnp: UPNP_ROUTERS[i], dir });
}

const live = (s: Status | undefined) => s?.contents.find((c) => c.kind === 'live');

describe.skipIf(!labPossible)('boxes behind home routers (network namespaces, nftables, miniupnpd)', () => {
  it('boxes behind miniupnpd (IGD v2, v1) are mapped, the others nat and punch through, all play, a mapped box uploads', realTime(240_000), async () => {
    removeStaleLabs();
    const dir = tempDir('sd-nat-');
    const input = makeTestStream({ seconds: 150, bitrateKbps: STREAM_KBPS, path: join(dir, 'input.ts') });
    const l = new NetnsLab();
    lab = l;
    buildNetwork(l, dir);
    for (const [r, igd] of Object.entries(UPNP_ROUTERS)) miniupnpds.push(await startMiniupnpd(l, dir, Number(r), igd));

    const tracker = l.start('tracker', 'inet', dir, ['tracker', '--listen', TRACKER, '--log-level', 'warn']);
    await waitUp(tracker, 15_000, 'tracker');
    const source = l.start('source', 'inet', dir, ['publish', 'live', '--tracker', TRACKER, '--channel', 'nattest', '--input', input, '--listen', '100.64.0.1:7001', '--log-level', 'warn']);
    await waitFor('source publishing', 15_000, () => chunksPublished(source), (n) => n >= 1);
    const boxes: Proc[] = BOXES.map((i) =>
      l.start(`box${i}`, `b${i}`, dir, ['node', '--tracker', TRACKER, '--listen', `192.168.${i}.2:7878`, '--watch', 'nattest', '--player', 'none', '--log-level', 'info']),
    );
    const reach = async (p: Proc) => (await status(p))?.net.reachability;
    const [s1, s2, s3, s4] = await Promise.all(boxes.map((b, k) => waitFor(`box${k + 1} classified`, 60_000, () => status(b), (s) => s.net.reachability !== undefined && s.net.reachability !== 'unknown')));
    const srcReach = await waitFor('source classified', 30_000, () => reach(source), (r) => r !== 'unknown');
    const show = (s: Status | undefined) => JSON.stringify({ reach: s?.net.reachability, contact: s?.net.publicContact, observed: s?.net.observed, detail: s?.net.lastTestDetail, mapping: s?.net.portMapping });
    console.log(`reachability:\n  source ${srcReach}\n  box1 ${show(s1)}\n  box2 ${show(s2)}\n  box3 ${show(s3)}\n  box4 ${show(s4)}`);
    expect(srcReach).toBe('public');
    expect(s1?.net.reachability, show(s1)).toBe('mapped');
    expect(s1?.net.publicContact).toBe('100.64.0.11:7878');
    expect(s1?.net.portMapping).toMatchObject({ state: 'mapped', method: 'upnp' });
    expect(s4?.net.reachability, show(s4)).toBe('mapped');
    expect(s4?.net.publicContact).toBe('100.64.0.14:7878');
    expect(s4?.net.portMapping).toMatchObject({ state: 'mapped', method: 'upnp-igd1' });
    expect(s2?.net.reachability, show(s2)).toBe('nat');
    expect(s3?.net.reachability, show(s3)).toBe('nat');
    expect(s2?.net.portMapping?.state).toBe('failed');
    expect(s2?.net.observed).toMatch(/^100\.64\.0\.12:/);

    // miniupnpd holds the mappings while the boxes run.
    for (const i of [1, 4]) {
      expect(upnpRules(l, i)).toMatch(new RegExp(`dport 7878 dnat ip to 192\\.168\\.${i}\\.2:7878`));
      expect(upnpList(l, i)).toMatch(new RegExp(`TCP\\s+7878->192\\.168\\.${i}\\.2:7878\\s+'superdist'`));
    }

    // Every box plays; measure continuity over a window once all are playing.
    await Promise.all(boxes.map((b, k) => waitFor(`box${k + 1} playing`, 60_000, async () => live(await status(b))?.chunksDue, (n) => n >= 5)));
    // The two boxes behind routers without IGD reach each other only by a punch through the tracker.
    const idOf = async (p: Proc) => (await status(p))?.node.id ?? '?';
    const [id2, id3] = await Promise.all([idOf(boxes[1]!), idOf(boxes[2]!)]);
    const punched = await waitFor('box2 and box3 partners through a punched connection', 60_000, () => Promise.all([status(boxes[1]!), status(boxes[2]!)]), ([a, b]) =>
      (live(a)?.partnerIds ?? []).includes(id3) || (live(b)?.partnerIds ?? []).includes(id2));
    const punchLine = punched.map((s, k) => `box${k + 2}: punches ${s?.net.punchSucceeded}/${s?.net.punchAttempts} (punch contact ${s?.net.punchContact})`).join(', ');
    console.log(`hole punching: ${punchLine}`);
    expect((punched[0]?.net.punchSucceeded ?? 0) + (punched[1]?.net.punchSucceeded ?? 0)).toBeGreaterThanOrEqual(1);
    await sleep(5_000);
    const before = await Promise.all(boxes.map(status));
    await sleep(WINDOW_MS);
    const after = await Promise.all(boxes.map(status));
    const srcStatus = await status(source);
    const ids = after.map((s) => s?.node.id ?? '?');
    const trackerId = (await status(tracker))?.node.id;
    const who = (id: string) => (ids.includes(id) ? `box${ids.indexOf(id) + 1}` : id === srcStatus?.node.id ? 'source' : id === trackerId ? 'tracker' : id.slice(0, 8));
    const rows = after.map((s, k) => {
      const a = live(s);
      const b = live(before[k]);
      const due = (a?.chunksDue ?? 0) - (b?.chunksDue ?? 0);
      const onTime = (a?.chunksOnTime ?? 0) - (b?.chunksOnTime ?? 0);
      return { box: k + 1, due, continuity: due > 0 ? onTime / due : 0, chunkBytesOut: a?.chunkBytesOut ?? 0, chunkBytesIn: a?.chunkBytesIn ?? 0, partners: (a?.partnerIds ?? []).map(who) };
    });
    console.log(
      `nat swarm over ${WINDOW_MS / 1000} s (source upload factor ${live(srcStatus)?.source?.uploadFactor?.toFixed(2)}):\n` +
        rows.map((r) => `  box${r.box}: continuity ${r.continuity.toFixed(4)} over ${r.due} chunks, chunk bytes in ${r.chunkBytesIn} out ${r.chunkBytesOut}, partners ${r.partners.join(' ')}`).join('\n'),
    );
    for (const r of rows) {
      expect(r.due, `box${r.box} had chunks due`).toBeGreaterThanOrEqual(WINDOW_MS / 1000 - 5);
      expect(r.continuity, `box${r.box} continuity`).toBeGreaterThanOrEqual(0.99);
    }
    // The mapped box uploads chunks, and to boxes behind NAT (its partners besides the source).
    expect(rows[0]!.chunkBytesOut).toBeGreaterThan(0);
    expect(rows[0]!.partners.some((p) => p === 'box2' || p === 'box3'), `box1 partners ${rows[0]!.partners.join(' ')}`).toBe(true);

    // SIGTERM: the boxes remove their mappings from the routers on the way out.
    for (const i of [1, 4]) {
      const b = boxes[i - 1]!;
      await new Promise<void>((resolve) => {
        b.child.once('exit', () => resolve());
        b.child.kill('SIGTERM');
      });
      expect(upnpRules(l, i)).not.toMatch(/dport 7878/);
      expect(upnpList(l, i)).not.toMatch(/7878->192\.168/);
    }
  });
});
