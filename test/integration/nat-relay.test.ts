// Relay fallback between two boxes behind symmetric NATs (network namespaces, root only; skipped
// otherwise):
//   inet: the "internet" bridge 100.64.0.0/24 with the tracker, the live source and one public box
//     (a possible relay);
//   r1, r2: home routers (test/support/home-router.ts) whose masquerade picks a random source port
//     per connection (nftables `masquerade random,fully-random`), so a punch dials from a port the
//     other side was never told about and fails; no IGD;
//   b1, b2: one box behind each.
// Shows: b1 and b2 are `nat`, their punches to each other fail, and they still exchange messages
// through a public box that relays (net.viaRelay > 0 on at least one, net.relayedBytes on a relay);
// every box plays with continuity >= 0.99 over a 20 s window.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addHomeRouter, homeRouterToolsPresent } from '../support/home-router.js';
import { makeTestStream } from '../support/media.js';
import { NetnsLab, netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { chunksPublished, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';
import type { Status } from '../../src/control/status.js';

const STREAM_KBPS = 400;
const WINDOW_MS = 20_000;
const TRACKER = '100.64.0.1:7000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labPossible = netnsAvailable() && homeRouterToolsPresent(false);

let lab: NetnsLab | undefined;
afterAll(async () => {
  await lab?.cleanup();
});

const live = (s: Status | undefined) => s?.contents.find((c) => c.kind === 'live');
type NetExtra = { viaRelay?: number; viaRelayChunks?: number; relayedBytes?: number; relaySessions?: number; relayRefused?: number; relayedPeers?: Record<string, string>; punchAttempts?: number; punchSucceeded?: number };
const netOf = (s: Status | undefined) => (s?.net ?? {}) as NetExtra;

describe.skipIf(!labPossible)('relay fallback between boxes behind symmetric NATs (network namespaces, nftables)', () => {
  it('two boxes whose punches fail reach each other through a relay, and all play', realTime(150_000), async () => {
    removeStaleLabs();
    const dir = tempDir('sd-relay-');
    const input = makeTestStream({ seconds: 120, bitrateKbps: STREAM_KBPS, path: join(dir, 'input.ts') });
    const l = new NetnsLab();
    lab = l;
    l.addNamespace('inet');
    l.addBridge('inet', 'br0', '100.64.0.1/24');
    for (const i of [1, 2]) addHomeRouter(l, { i, wanCidr: `100.64.0.1${i}/24`, inetNs: 'inet', bridge: 'br0', port: `r${i}`, symmetric: true, dir });

    const tracker = l.start('tracker', 'inet', dir, ['tracker', '--listen', TRACKER, '--log-level', 'warn']);
    await waitUp(tracker, 15_000, 'tracker');
    const source = l.start('source', 'inet', dir, ['publish', 'live', '--tracker', TRACKER, '--channel', 'relaytest', '--input', input, '--listen', '100.64.0.1:7001', '--log-level', 'warn']);
    await waitFor('source publishing', 15_000, () => chunksPublished(source), (n) => n >= 1);
    const pub = l.start('pub', 'inet', dir, ['node', '--tracker', TRACKER, '--listen', '100.64.0.1:7002', '--watch', 'relaytest', '--player', 'none', '--log-level', 'info']);
    const boxes: Proc[] = [1, 2].map((i) =>
      l.start(`box${i}`, `b${i}`, dir, ['node', '--tracker', TRACKER, '--listen', `192.168.${i}.2:7878`, '--watch', 'relaytest', '--player', 'none', '--log-level', 'info']),
    );
    const all = [pub, ...boxes];
    const classes = await Promise.all(all.map((b, k) => waitFor(`box ${k} classified`, 40_000, async () => (await status(b))?.net.reachability, (r) => r !== undefined && r !== 'unknown')));
    console.log(`reachability: pub ${classes[0]}, box1 ${classes[1]}, box2 ${classes[2]}`);
    expect(classes).toEqual(['public', 'nat', 'nat']);

    // Punches between the two fail (symmetric NATs); a relay route follows.
    const routed = await waitFor('a relay route between box1 and box2', 75_000, () => Promise.all(boxes.map(status)), (ss) =>
      ss.some((s) => Object.keys(netOf(s).relayedPeers ?? {}).length > 0 && (netOf(s).viaRelay ?? 0) > 0));
    const line = (s: Status | undefined, name: string) => {
      const n = netOf(s);
      return `${name}: punches ${n.punchSucceeded}/${n.punchAttempts}, via relay ${n.viaRelay} messages (${n.viaRelayChunks} chunks), routes ${JSON.stringify(n.relayedPeers)}`;
    };
    console.log(routed.map((s, k) => line(s, `box${k + 1}`)).join('\n'));

    await Promise.all(all.map((b, k) => waitFor(`box ${k} playing`, 40_000, async () => live(await status(b))?.chunksDue, (n) => n >= 5)));
    const before = await Promise.all(all.map(status));
    await sleep(WINDOW_MS);
    const after = await Promise.all(all.map(status));
    const relays = await Promise.all([pub, source].map(status));
    const rows = after.map((s, k) => {
      const a = live(s);
      const b = live(before[k]);
      const due = (a?.chunksDue ?? 0) - (b?.chunksDue ?? 0);
      const onTime = (a?.chunksOnTime ?? 0) - (b?.chunksOnTime ?? 0);
      return { name: ['pub', 'box1', 'box2'][k]!, due, continuity: due > 0 ? onTime / due : 0 };
    });
    console.log(
      `over ${WINDOW_MS / 1000} s:\n` + rows.map((r) => `  ${r.name}: continuity ${r.continuity.toFixed(4)} over ${r.due} chunks`).join('\n') + '\n' +
        after.slice(1).map((s, k) => '  ' + line(s, `box${k + 1}`)).join('\n') + '\n' +
        relays.map((s, k) => `  ${['pub', 'source'][k]} relayed ${netOf(s).relayedBytes} bytes in ${netOf(s).relaySessions} sessions, refused ${netOf(s).relayRefused}`).join('\n'),
    );
    for (const r of rows) {
      expect(r.due, `${r.name} had chunks due`).toBeGreaterThanOrEqual(WINDOW_MS / 1000 - 5);
      expect(r.continuity, `${r.name} continuity`).toBeGreaterThanOrEqual(0.99);
    }
    const b1 = netOf(after[1]);
    const b2 = netOf(after[2]);
    expect((b1.punchSucceeded ?? 0) + (b2.punchSucceeded ?? 0), 'no punch got through the symmetric NATs').toBe(0);
    expect((b1.punchAttempts ?? 0) + (b2.punchAttempts ?? 0)).toBeGreaterThan(0);
    expect(Math.max(b1.viaRelay ?? 0, b2.viaRelay ?? 0)).toBeGreaterThan(0);
    expect(relays.reduce((n, s) => n + (netOf(s).relayedBytes ?? 0), 0)).toBeGreaterThan(0);
  });
});
