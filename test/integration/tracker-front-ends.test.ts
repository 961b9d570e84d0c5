// Three tracker front ends (superdist tracker --registry redis-cluster://...) over a real Redis
// Cluster (3 masters + 3 replicas of Debian's redis-server on loopback): joins through any front end
// see the peers registered through the others; SIGKILL of a front end under load leaves the others
// answering; SIGKILL of the Redis master holding a channel: its replica takes over, joins answer
// again, and registrations lost in the failover are back with the boxes' next announce; malformed
// joins and garbage frames are dropped and counted; a real box closes its front-end connection after
// the join and stays registered by announcing.
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { clusterMasters, startRedisCluster, type RedisSetup } from '../support/redis.js';
import { joinOnce, memberIds } from '../support/tracker-join.js';
import { contentKeys } from '../../src/tracker/redis-registry.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { controlCall } from '../../src/control/control-client.js';

const procs: Proc[] = [];
let cluster: RedisSetup | undefined;
afterAll(async () => {
  await killAll(procs);
  await cluster?.stop();
});

async function frontEnds(n: number, url: string): Promise<{ fes: Proc[]; addrs: string[] }> {
  const dir = tempDir('sd-fe-');
  const fes = Array.from({ length: n }, (_, i) => startProc(`fe${i}`, dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn', '--registry', url]));
  procs.push(...fes);
  const addrs = (await Promise.all(fes.map((p) => waitUp(p, 20_000)))).map((s) => s.node.contact);
  return { fes, addrs };
}

describe('tracker front ends on a Redis Cluster', () => {
  it('any front end sees the others\' registrations; a killed front end leaves the others answering', async () => {
    cluster = await startRedisCluster();
    const { fes, addrs } = await frontEnds(3, cluster.url);
    await waitFor('every front end to reach Redis', 15_000, async () => (await Promise.all(fes.map(status))).every((s) => s?.tracker?.registry.reachable === true));
    expect(memberIds(await joinOnce(addrs[0]!, 'alice', 'news'))).toEqual([]);
    expect(memberIds(await joinOnce(addrs[1]!, 'bob', 'news'))).toEqual(['alice']);
    expect(memberIds(await joinOnce(addrs[2]!, 'carol', 'news')).sort()).toEqual(['alice', 'bob']);
    // Front ends answer joins only: none lists itself.
    const s0 = await status(fes[0]!);
    expect(s0?.tracker).toMatchObject({ registry: { backend: 'redis-cluster', reachable: true } });
    expect(s0?.contents).toEqual([]);

    // Load on all three; one is SIGKILLed halfway; joins through the other two go on.
    let i = 0;
    const results: Array<{ fe: number; ok: boolean; afterKill: boolean }> = [];
    let killing = false;
    let killed = false;
    const worker = async () => {
      while (i < 600) {
        const k = i++;
        const fe = k % 3;
        if (killing && fe === 1) continue; // boxes of the dead front end go elsewhere (DNS, a list)
        const afterKill = killed;
        const ok = await joinOnce(addrs[fe]!, `load-${k}`, `ch-${k % 7}`, { timeoutMs: 3000 }).then((a) => a.type === 'TrackerMembers', () => false);
        results.push({ fe, ok, afterKill });
        if (k === 300) {
          killing = true;
          await killAll([fes[1]!]);
          killed = true;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const after = results.filter((r) => r.afterKill);
    expect(after.length).toBeGreaterThan(150);
    expect(after.every((r) => r.ok && r.fe !== 1)).toBe(true);
    // The only failures: joins that were in flight at the killed front end.
    expect(results.filter((r) => !r.ok).every((r) => r.fe === 1)).toBe(true);
    // Registrations made through the killed front end are still handed out by the others.
    const seen = memberIds(await joinOnce(addrs[0]!, 'dave', 'news'));
    expect(seen.sort()).toEqual(['alice', 'bob', 'carol']);
  }, 90_000);

  it('a Redis master dies: its replica takes over, joins answer again, the next announce restores registrations; bad joins are dropped and counted', async () => {
    const c = cluster as RedisSetup;
    const fe0 = procs.find((p) => p.name === 'fe0') as Proc;
    const fe2 = procs.find((p) => p.name === 'fe2') as Proc;
    const addr0 = (await status(fe0))!.node.contact;
    const addr2 = (await status(fe2))!.node.contact;
    const boxes = Array.from({ length: 20 }, (_, k) => `box-${k}`);
    for (const b of boxes) await joinOnce(addr0, b, 'sports');
    // The master holding the channel's slot.
    const [z] = contentKeys('sports');
    const slot = Number(c.cli(c.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', z).trim());
    const nodesText = c.cli(c.nodes[0]!.port, 'CLUSTER', 'NODES');
    const ownerLine = nodesText.split('\n').find((l) => /\bmaster\b/.test(l) && l.split(' ').slice(8).some((r) => {
      const [a, b] = r.split('-').map(Number);
      return b === undefined ? a === slot : slot >= (a as number) && slot <= b;
    }));
    const ownerPort = Number(/:(\d+)@/.exec(ownerLine ?? '')?.[1]);
    expect(ownerPort).toBeGreaterThan(0);
    c.kill(ownerPort);
    const killedAt = Date.now();
    // Joins fail ('overloaded', asked again by boxes) until the replica is promoted, then answer.
    await waitFor('a join on the dead master\'s channel to be answered again', 30_000, async () => {
      const a = await joinOnce(addr2, 'probe', 'sports', { timeoutMs: 3000 }).catch(() => undefined);
      return a?.type === 'TrackerMembers';
    }, { everyMs: 250 });
    const failoverMs = Date.now() - killedAt;
    expect(clusterMasters(c)).not.toContain(ownerPort);
    // Registrations not yet replicated may be lost; the boxes' next announce brings them all back.
    const survived = memberIds(await joinOnce(addr2, 'probe2', 'sports')).filter((id) => id.startsWith('box-')).length;
    for (const b of boxes) await joinOnce(addr0, b, 'sports');
    const back = memberIds(await joinOnce(addr2, 'probe3', 'sports')).filter((id) => id.startsWith('box-'));
    expect(back.sort()).toEqual([...boxes].sort());
    console.log(`redis failover: joins answered again ${failoverMs} ms after SIGKILL of the master; ${survived}/20 registrations survived, 20/20 after the next announce`);

    // Hostile input: a join in another peer's name, a join without content, garbage bytes.
    const before = (await status(fe2))!;
    // In another peer's name: the transport drops it (counted as spoofed), nothing is answered.
    await expect(joinOnce(addr2, 'mallory', 'sports', { timeoutMs: 1500, messages: [{ type: 'TrackerJoin', peerId: 'alice', contentId: 'sports', contact: { host: '10.0.0.1', port: 1 }, kind: 'live', title: '', allowRedirect: false, ticket: new Uint8Array(0) }] })).rejects.toThrow(/no answer/);
    const empty = await joinOnce(addr2, 'mallory2', '', { messages: [{ type: 'TrackerJoin', peerId: 'mallory2', contentId: '', contact: { host: '10.0.0.1', port: 1 }, kind: 'live', title: '', allowRedirect: false, ticket: new Uint8Array(0) }] });
    expect(empty.type).toBe('Error');
    const garbage = Buffer.concat([Buffer.from('not a frame at all'), encodeFrame({ type: 'KeepAlive', peerId: 'mallory3', contentId: '' }).subarray(0, 12), Buffer.alloc(64, 0xff)]);
    await joinOnce(addr2, 'mallory3', 'sports', { raw: garbage, timeoutMs: 1500 }).catch(() => undefined);
    const after = (await status(fe2))!;
    expect(after.tracker!.badJoins - before.tracker!.badJoins).toBe(1);
    expect(after.net.spoofed).toBeGreaterThan(before.net.spoofed);
    expect(after.net.frameErrors).toBeGreaterThan(before.net.frameErrors);
    const finalIds = memberIds(await joinOnce(addr2, 'probe4', 'sports'));
    for (const m of ['mallory', 'mallory2', 'mallory3']) expect(finalIds).not.toContain(m);
  }, 90_000);

  it('a box joins through a front end, closes the connection, and stays registered by announcing', async () => {
    const fe0 = procs.find((p) => p.name === 'fe0') as Proc;
    const addr0 = (await status(fe0))!.node.contact;
    const dir = tempDir('sd-fe-box-');
    // Announce every 3 s: the front ends keep an entry 2.5 periods (their own setting, 5 min by default).
    const box = startProc('box', dir, ['node', '--tracker', addr0, '--listen', '127.0.0.1:0', '--join', 'weather', '--player', 'none', '--log-level', 'warn', '--set', 'engine.trackerAnnouncePeriodMs=3000']);
    procs.push(box);
    const boxId = (await waitUp(box, 15_000)).node.id;
    const st = await waitFor('the box to close its tracker connection', 15_000, () => status(box), (s) => (s?.engine?.trackerDisconnects ?? 0) >= 1);
    expect(st?.contents.map((c) => c.id)).toContain('weather');
    const connectedToFe = async () => ((await controlCall(fe0.control, 'peers')) as { peers: Array<{ peerId: string }> }).peers.some((p) => p.peerId === boxId);
    await waitFor('the front end to see the box gone', 5000, async () => !(await connectedToFe()));
    // Announces keep coming (each a fresh connection), and any front end hands the box out.
    await waitFor('two re-announces', 15_000, () => status(box), (s) => (s?.engine?.trackerAnnounces ?? 0) >= 2);
    expect(memberIds(await joinOnce((await status(procs.find((p) => p.name === 'fe2') as Proc))!.node.contact, 'viewer', 'weather'))).toContain(boxId);
  }, 60_000);
});
