// A tracker and 10 node processes on loopback join one content: everyone reaches M partners, the
// tracker redirects newcomers to deputies, and after 3 nodes are SIGKILLed the survivors forget
// them within the member TTL and refill their partnerships.
import { afterAll, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/control-client.js';
import { killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';

const CONTENT = 'channel-one';
const M = 4; // the engine's defaults
const MMAX = 8;
const TTL_MS = 4000;
const MEMBERSHIP_PERIOD_MS = 500;
const REDIRECT_THRESHOLD = 4;
const engineSets = [
  `engine.minPartners=${M}`,
  `engine.maxPartners=${MMAX}`,
  `engine.memberTtlMs=${TTL_MS}`,
  `engine.membershipPeriodMs=${MEMBERSHIP_PERIOD_MS}`,
  `engine.redirectThreshold=${REDIRECT_THRESHOLD}`,
  'engine.partnerStaleMs=3000',
].flatMap((s) => ['--set', s]);

const procs: Proc[] = [];
afterAll(async () => {
  await killAll(procs);
});

async function memberIds(p: Proc): Promise<string[]> {
  const r = (await controlCall(p.control, 'members')) as { members: { peerId: string }[] };
  return r.members.map((m) => m.peerId);
}

describe('a swarm forms on loopback', () => {
  it('10 nodes reach M partners within 5 s, newcomers are redirected, killed nodes are forgotten and replaced', realTime(60_000), async () => {
    const dir = tempDir('sd-swarm-');
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn', ...engineSets]);
    procs.push(tracker);
    const trackerStatus = await waitUp(tracker, 10_000, 'tracker status');
    const trackerAddr = trackerStatus.node.contact;

    const nodes: Proc[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) {
      const n = startProc(`node${i}`, dir, [
        'node', '--tracker', trackerAddr, '--listen', '127.0.0.1:0', '--join', CONTENT, '--log-level', 'warn', ...engineSets,
      ]);
      nodes.push(n);
      procs.push(n);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Every node reaches at least M partners within 5 s of its start. A node's start is when its
    // control socket answers (its engine runs): process start-up on a loaded machine is not the
    // engine's doing, and took seconds of the old spawn-to-partners budget here.
    const upAt = await Promise.all(nodes.map((n) => waitUp(n, 20_000, `${n.name} up`).then(() => Date.now())));
    const lastUp = Math.max(...upAt);
    await waitFor('all nodes at >= M partners', 5_000 + 10 * 100, async () => {
      const all = await Promise.all(nodes.map(status));
      return all.every((s) => (s?.contents.find((c) => c.id === CONTENT)?.partners ?? 0) >= M);
    });
    const formedMs = Date.now() - lastUp;
    expect(formedMs, `spawn to last node up ${lastUp - t0} ms`).toBeLessThan(5_000 + 500);

    const ts = await status(tracker);
    expect(ts?.tracker?.redirects ?? 0).toBeGreaterThanOrEqual(1);
    const entry = ts?.tracker?.contents.find((c) => c.id === CONTENT);
    expect(entry?.members).toBeGreaterThanOrEqual(10);

    // Partner counts never exceed Mmax.
    for (const s of await Promise.all(nodes.map(status))) {
      expect(s?.contents[0]?.partners).toBeLessThanOrEqual(MMAX);
    }

    // SIGKILL three nodes.
    const victims = nodes.slice(0, 3);
    const victimIds = (await Promise.all(victims.map(status))).map((s) => s!.node.id);
    await killAll(victims);
    const killedAt = Date.now();
    const survivors = nodes.slice(3);

    await waitFor('survivors to forget the killed nodes', TTL_MS + 3 * MEMBERSHIP_PERIOD_MS + 1000, async () => {
      const lists = await Promise.all(survivors.map(memberIds));
      return lists.every((ids) => victimIds.every((v) => !ids.includes(v)));
    });
    const forgottenMs = Date.now() - killedAt;
    expect(forgottenMs).toBeLessThanOrEqual(TTL_MS + 3 * MEMBERSHIP_PERIOD_MS + 1000);
    console.log(`swarm: all 10 nodes at >= ${M} partners ${formedMs} ms after the first start; ` +
      `tracker redirects ${ts?.tracker?.redirects}; killed nodes forgotten ${forgottenMs} ms after SIGKILL (TTL ${TTL_MS} ms)`);

    await waitFor('survivors to refill partners to >= M', 10_000, async () => {
      const all = await Promise.all(survivors.map(status));
      return all.every((s) => {
        const c = s?.contents.find((x) => x.id === CONTENT);
        return c !== undefined && c.partners >= M && c.partnerIds.every((id) => !victimIds.includes(id));
      });
    });
  });
});
