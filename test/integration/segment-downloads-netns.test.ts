// Downloads through the main node, in network namespaces (root only; skipped otherwise). The lab of
// segment-netns.test.ts (test/support/segment-scenario.ts): uplink ns with the central tracker and a
// seed whose piece upload is paced (download.uploadBps); main1, main2 with an uplink and a port on
// the segment bridge; local1, local2 only on the segment.
//   Run 1, one main node: the two local nodes `get` a file at the local tracker (main1; local1 finds it
//   by LAN query, local2 is given its address) while main1
//   fetches it from the seed; they get pieces from main1 while it still downloads; every copy has the
//   seed's SHA-256 and the uplink carries about one copy (seed upload and main1's uplink ≤ 1.3 × file).
//   Run 2, two main nodes: a second file; each main node's uplink carries 0.3–0.7 of it (pieces
//   i mod 2), the rest comes over the segment; every copy byte-identical.
//   A local node asking for an unknown content gets exit 3 and a clear message.
// The namespaces are removed even when the test fails.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Status } from '../../src/control/status.js';
import { makeRandomFile, sha256File } from '../support/downloads.js';
import { netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';
import { SegmentScenario, TRACKER_PORT, UPLINK_HOST } from '../support/segment-scenario.js';

const FILE_BYTES = 6 * 1024 * 1024 + 12_345;
const PIECE_BYTES = 65_536;
const SEED_BPS = 3_000_000;
const CENTRAL = `${UPLINK_HOST}:${TRACKER_PORT}`;
const LOCAL_TRACKER = '10.77.9.1:7879';

let scenario: SegmentScenario | undefined;
afterAll(async () => {
  await scenario?.cleanup();
});

const dl = (s: Status | undefined, id: string) => s?.contents.find((c) => c.id === id)?.download;

describe.skipIf(!netnsAvailable())('downloads through the main node (network namespaces)', () => {
  it('local nodes get a file from the main node while it downloads; two main nodes split the uplink', realTime(240_000), async () => {
    removeStaleLabs();
    const dir = tempDir('sd-segdl-');
    const sc = new SegmentScenario({ mains: 2, locals: 2, remotes: 0, uplinkRate: '8mbit', localRate: '20mbit', channel: 'unused', input: '', dir });
    scenario = sc;
    const lab = sc.lab;
    const gets: Proc[] = [];
    try {
      sc.buildNetwork();
      const tracker = lab.start('tracker', 'uplink', dir, ['tracker', '--listen', CENTRAL, '--log-level', 'warn']);
      sc.uplinkProcs.push(tracker);
      await waitUp(tracker, 10_000, 'central tracker');
      const publish = async (name: string) => {
        const input = join(dir, `${name}.bin`);
        makeRandomFile(input, FILE_BYTES);
        const seed = lab.start(`seed-${name}`, 'uplink', dir, ['publish', 'file', '--tracker', CENTRAL, '--input', input, '--listen', `${UPLINK_HOST}:0`, '--piece-bytes', String(PIECE_BYTES), '--set', `download.uploadBps=${SEED_BPS}`, '--log-level', 'warn']);
        sc.uplinkProcs.push(seed);
        const id = await waitFor(`${name} content id`, 30_000, async () => seed.output().split('\n').find((l) => /^dl-[0-9a-f]{64}$/.test(l)) ?? '', (x) => x.length > 0);
        return { input, seed, id, sha: sha256File(input) };
      };
      /** Each local node runs `get` against the local tracker; resolves with the outputs. */
      const localGets = (tag: string, id: string) =>
        [1, 2].map((j) => {
          const out = join(dir, `local${j}-${tag}.bin`);
          // local1 finds the local tracker by itself (no --tracker), local2 is given its address.
          const where = j === 1 ? [] : ['--tracker', LOCAL_TRACKER];
          const p = lab.start(`get${j}-${tag}`, `local${j}`, dir, ['get', id, '-o', out, '--json', ...where, '--listen', `10.77.9.${10 + j}:0`, '--log-level', 'warn']);
          gets.push(p);
          return { p, out };
        });
      const mainPath = (i: number, id: string) => join(dir, `main${i}`, 'downloads', id);
      const uplinkIn = async (p: Proc | undefined) => (p ? ((await status(p))?.uplink?.bytesIn ?? NaN) : NaN);

      // ---- run 1: one main node ----
      const a = await publish('a');
      const main1 = await sc.startMain(1);
      await waitFor('main1 to become the local tracker', 15_000, () => status(main1), (s) => s.segment?.tracker === 'leader');
      const up0 = await uplinkIn(main1);
      const g1 = localGets('a', a.id);
      // Pieces reach a local node while main1 still downloads.
      let servedWhileDownloading = false;
      await waitFor('local nodes and main1 to hold the whole file', 90_000, async () => {
        const m = dl(await status(main1), a.id);
        const locals = await Promise.all(g1.map((g) => status(g.p)));
        if (m?.state === 'downloading' && locals.some((s) => (dl(s, a.id)?.piecesVerified ?? 0) > 0)) servedWhileDownloading = true;
        return m?.state === 'seeding' && locals.every((s) => dl(s, a.id)?.state === 'seeding');
      }, (x) => x, { everyMs: 300 });
      const seedA = dl(await status(a.seed), a.id);
      const main1A = dl(await status(main1), a.id);
      const upA = (await uplinkIn(main1)) - up0;
      const shaA = [mainPath(1, a.id), ...g1.map((g) => g.out)].map((f) => (existsSync(f) ? sha256File(f) : 'missing'));

      // A local node asking for an unknown content: exit 3, a clear message.
      const unknownId = `dl-${'0'.repeat(64)}`;
      const bad = lab.start('get-unknown', 'local1', dir, ['get', unknownId, '-o', join(dir, 'unknown.bin'), '--listen', '10.77.9.11:0', '--log-level', 'warn']);
      const badCode = await new Promise<number | null>((r) => (bad.child.exitCode !== null ? r(bad.child.exitCode) : bad.child.once('exit', (c) => r(c))));
      for (const g of g1) g.p.child.kill('SIGTERM');
      console.log(`run 1: seed out ${seedA?.pieceBytesOut}, main1 uplink in ${upA}, while downloading ${servedWhileDownloading}, unknown exit ${badCode}, sha ok ${shaA.every((h) => h === a.sha)}`);

      // ---- run 2: two main nodes ----
      const main2 = await sc.startMain(2);
      await waitFor('main2 to follow main1', 15_000, () => status(main2), (s) => s.segment?.tracker === 'follower');
      const b = await publish('b');
      await new Promise((r) => setTimeout(r, 1500)); // the seed's join and announce reach the central tracker
      const ups0 = [await uplinkIn(main1), await uplinkIn(main2)];
      const g2 = localGets('b', b.id);
      const shares = new Set<string>();
      await waitFor('local nodes and both mains to hold the second file', 90_000, async () => {
        const ms = await Promise.all([status(main1), status(main2)]);
        for (const s of ms) for (const x of s?.uplink?.shares ?? []) if (x.contentId === b.id) shares.add(x.share);
        const locals = await Promise.all(g2.map((g) => status(g.p)));
        return [...ms, ...locals].every((s) => dl(s, b.id)?.state === 'seeding');
      }, (x) => x, { everyMs: 300 });
      const ups1 = [await uplinkIn(main1), await uplinkIn(main2)];
      const ratios = ups1.map((u, i) => (u - (ups0[i] ?? 0)) / FILE_BYTES);
      const seedB = dl(await status(b.seed), b.id);
      const shaB = [mainPath(1, b.id), mainPath(2, b.id), ...g2.map((g) => g.out)].map((f) => (existsSync(f) ? sha256File(f) : 'missing'));
      const main2B = dl(await status(main2), b.id);
      const main1B = dl(await status(main1), b.id);
      const who = (d: typeof main1B) => `fetched ${d?.piecesFetched}, dup ${d?.duplicates}, timeouts ${d?.requestTimeouts}, suppliers ${d?.suppliers.map((x) => `${x.peerId.slice(0, 6)}:${x.pieces}`).join(' ')}`;
      const unreachable = [tracker, a.seed, b.seed].map((p) => (p.output().match(/10\.77\.9\.\d+:\d+ failed/g) ?? []).length);
      console.log(`run 2 detail: dials from the uplink side to segment addresses (tracker, seeds): ${unreachable.join(', ')}; seed ${b.seed.name} served ${seedB?.piecesServed} pieces to ${seedB?.peersServed} peers; main1 ${who(main1B)}; main2 ${who(main2B)}`);

      console.log(
        `segment downloads: file ${FILE_BYTES} B in ${PIECE_BYTES} B pieces, seed paced ${SEED_BPS / 1e6} Mbit/s\n` +
          `  run 1 (one main): seed piece bytes out ${seedA?.pieceBytesOut} (${((seedA?.pieceBytesOut ?? 0) / FILE_BYTES).toFixed(3)} × file); main1 uplink in ${upA} (${(upA / FILE_BYTES).toFixed(3)} × file); ` +
          `main1 served ${main1A?.piecesServed} pieces, done in ${main1A?.completedInMs} ms; a local node had pieces while main1 downloaded: ${servedWhileDownloading}\n` +
          `  unknown id at the local tracker: exit ${badCode}: ${bad.output().trim().split('\n').pop()}\n` +
          `  run 2 (two mains, shares ${[...shares].join(' ')}): seed piece bytes out ${seedB?.pieceBytesOut} (${((seedB?.pieceBytesOut ?? 0) / FILE_BYTES).toFixed(3)} × file); uplink in ÷ file: main1 ${ratios[0]?.toFixed(3)}, main2 ${ratios[1]?.toFixed(3)}; main2 done in ${main2B?.completedInMs} ms`,
      );
      for (const h of shaA) expect(h, 'run 1: a copy has the seed file\'s SHA-256').toBe(a.sha);
      for (const h of shaB) expect(h, 'run 2: a copy has the seed file\'s SHA-256').toBe(b.sha);
      expect(servedWhileDownloading, 'a local node got pieces while the main node still downloaded').toBe(true);
      expect(seedA?.pieceBytesOut ?? Infinity, 'run 1: seed upload ≤ 1.3 × file').toBeLessThanOrEqual(1.3 * FILE_BYTES);
      expect(upA, 'run 1: main1 uplink ≤ 1.3 × file').toBeLessThanOrEqual(1.3 * FILE_BYTES);
      expect(badCode, 'unknown content: exit 3').toBe(3);
      expect(bad.output()).toMatch(/unknown content id/);
      expect(seedB?.pieceBytesOut ?? Infinity, 'run 2: seed upload ≤ 1.3 × file').toBeLessThanOrEqual(1.3 * FILE_BYTES);
      for (const r of ratios) {
        expect(r, 'run 2: a main node\'s uplink ÷ file').toBeGreaterThanOrEqual(0.3);
        expect(r, 'run 2: a main node\'s uplink ÷ file').toBeLessThanOrEqual(0.7);
      }
    } catch (err) {
      for (const p of [...sc.mains, ...gets, ...sc.uplinkProcs]) if (p) console.log(`--- ${p.name} output (tail):\n${p.output().slice(-3000)}`);
      throw err;
    } finally {
      await sc.cleanup();
    }
  });
});
