// Downloads end to end: a tracker, 1 seed (`publish file`) and 8 leecher processes (`get`) share a
// random file of 64 MiB and an odd size. Every copy has the seed's SHA-256; every leecher uploads to
// others; one leecher is SIGKILLed at about 50% and started again with the same command: it resumes
// from the pieces its record lists and fetches only the others.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PieceRecord } from '../../src/download/piece-record.js';
import { partPaths } from '../../src/download/part-store.js';
import { killAll, status, tempDir, waitFor, type Proc } from '../support/processes.js';
import { downloadStatus, killGet, lastEvent, makeRandomFile, publish, sha256File, startGet, startTracker, type GetProc } from '../support/downloads.js';

const LEECHERS = 8;
const SIZE = 64 * 1024 * 1024 + 12_345;

const procs: Proc[] = [];
const gets: GetProc[] = [];
afterAll(async () => {
  await Promise.all(gets.map((g) => killGet(g)));
  await killAll(procs);
});

function countBits(bits: Uint8Array): number {
  let n = 0;
  for (const b of bits) for (let x = b; x; x &= x - 1) n++;
  return n;
}

describe('download swarm: 1 seed + 8 leechers', () => {
  it('every copy matches, every leecher uploads, a killed leecher resumes from its verified pieces', async () => {
    const dir = tempDir('sd-dl-swarm-');
    const source = join(dir, 'movie.bin');
    makeRandomFile(source, SIZE);
    const sourceSha = sha256File(source);
    const tracker = await startTracker(dir, procs);
    // The seed's uplink is paced (80 Mbit/s): every piece leaves it at least once, so no leecher can
    // finish before ~7 s, and the one killed at 50 % is surely still downloading.
    const { id } = await publish(dir, 'seed', tracker, source, procs, ['--title', 'Swarm movie', '--set', 'download.uploadBps=80000000']);
    const out = (i: number) => join(dir, `leecher${i}.bin`);
    const startedAt = Date.now();
    for (let i = 0; i < LEECHERS; i++) gets.push(startGet(dir, `leecher${i}`, tracker, id, out(i)));

    // The first leecher past 50 % that has uploaded already is killed.
    const { v, atKill } = await waitFor('a leecher at 50%', 90_000, async () => {
      const ss = await Promise.all(gets.map((g) => downloadStatus(g.control)));
      const v = ss.findIndex((s) => s && s.state === 'downloading' && s.pieces !== null && s.piecesVerified >= s.pieces / 2 && s.pieceBytesOut > 0);
      return v >= 0 ? { v, atKill: ss[v]! } : undefined;
    }, (found) => found.atKill.piecesVerified > 0, { everyMs: 50 });
    const victim = gets[v]!;
    victim.child.kill('SIGKILL');
    await victim.exit;
    const record = PieceRecord.open(partPaths(out(v)).record);
    record.record.close();
    const recorded = countBits(record.bits);
    const again = startGet(dir, `leecher${v}-again`, tracker, id, out(v));
    gets.push(again);

    const all = gets.slice(0, LEECHERS).map((g, i) => (i === v ? again : g));
    await waitFor('every leecher complete', 100_000, async () => all.every((g) => lastEvent(g, 'complete')));
    const elapsedS = (Date.now() - startedAt) / 1000;
    // Uploads are read while everyone still seeds.
    const statuses = await waitFor('every leecher to report seeding', 10_000, () => Promise.all(all.map((g) => downloadStatus(g.control))), (ss) => ss.every((s) => s?.state === 'seeding'));

    const pieces = atKill.pieces as number;
    const resumed = lastEvent(again, 'complete')!;
    console.log(
      `download swarm: ${SIZE} bytes in ${pieces} pieces, all complete after ${elapsedS.toFixed(1)} s; ` +
        `leecher${v} killed at ${atKill.piecesVerified}/${pieces} verified (${atKill.pieceBytesOut} piece bytes uploaded), record listed ${recorded}; ` +
        `restart: ${resumed.piecesAtStart} resumed, ${resumed.piecesFetched} fetched\n` +
        statuses.map((s, i) => `  ${all[i]!.name}: in ${s?.pieceBytesIn} out ${s?.pieceBytesOut} to ${s?.peersServed} peers, bad ${s?.badPieces}, dup ${s?.duplicates}`).join('\n'),
    );

    for (let i = 0; i < LEECHERS; i++) {
      expect(existsSync(partPaths(out(i)).part), `leecher${i} .part renamed`).toBe(false);
      expect(sha256File(out(i)), `leecher${i} copy`).toBe(sourceSha);
    }
    // Resume: the recorded pieces were not fetched again.
    // The record trails the verified pieces by at most one flush interval (500 ms).
    expect(recorded).toBeGreaterThan(pieces / 4);
    expect(resumed.piecesAtStart).toBe(recorded);
    expect(resumed.piecesFetched).toBe(pieces - recorded);
    const againStatus = statuses[v]!;
    expect(againStatus.piecesAtStart).toBe(recorded);
    expect(againStatus.pieceBytesIn).toBeLessThan((pieces - recorded + againStatus.duplicates + 1) * (againStatus.pieceBytes as number + 1024));
    // Everyone uploaded to others (the killed leecher in either of its runs).
    statuses.forEach((s, i) => {
      const uploaded = (s?.pieceBytesOut ?? 0) + (i === v ? atKill.pieceBytesOut : 0);
      expect(uploaded, `${all[i]!.name} uploaded`).toBeGreaterThan(0);
      expect(s?.badPieces, `${all[i]!.name} bad pieces`).toBe(0);
    });
    // The tracker fetched the manifest from the seed, kept it, and handed it to leechers that asked it first.
    const manifests = (await status(procs[0]!))?.tracker?.manifests;
    expect(manifests).toMatchObject({ manifests: 1, rejected: 0 });
    expect(manifests?.served).toBeGreaterThan(0);
  }, 120_000);
});
