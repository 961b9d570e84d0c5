// A download onto a full disk: `get` into a 20 MiB tmpfs of a 32 MiB file stops with a clear error
// and exit code 4, keeping PATH.part and its record; every recorded piece is intact, the record
// lists every piece that was verified; once the filesystem has room (remounted larger) the same
// command resumes from those pieces and completes. Needs root (mount); skipped otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PieceRecord } from '../../src/download/piece-record.js';
import { choosePieceBytes } from '../../src/protocol/manifest.js';
import { partPaths } from '../../src/download/part-store.js';
import { killAll, tempDir, type Proc } from '../support/processes.js';
import { killGet, lastEvent, makeRandomFile, publish, sha256File, startGet, startTracker, type GetProc } from '../support/downloads.js';

const isRoot = process.getuid?.() === 0;
const SIZE = 32 * 1024 * 1024 + 999;

const procs: Proc[] = [];
const gets: GetProc[] = [];
afterAll(async () => {
  await Promise.all(gets.map((g) => killGet(g)));
  await killAll(procs);
});

function mount(args: string[]): void {
  const r = spawnSync('mount', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')} failed: ${r.stderr}`);
}

describe('download onto a full disk (20 MiB tmpfs)', () => {
  if (!isRoot) console.log('download-disk-full: skipped — mounting a tmpfs needs root (run the tests as root)');
  it.skipIf(!isRoot)('fails clearly, keeps every verified piece, resumes once space exists (needs root: skipped otherwise)', async () => {
    const dir = tempDir('sd-dl-full-');
    const small = join(dir, 'small');
    mkdirSync(small);
    mount(['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', small]);
    try {
      const source = join(dir, 'big.bin');
      makeRandomFile(source, SIZE);
      const tracker = await startTracker(dir, procs);
      const { id } = await publish(dir, 'seed', tracker, source, procs);
      const out = join(small, 'big.bin');
      const paths = partPaths(out);

      const first = startGet(dir, 'get1', tracker, id, out, ['--no-seed']);
      gets.push(first);
      const code = await first.exit;
      const failed = lastEvent(first, 'failed');
      console.log(`disk full: exit ${code}; ${first.stderr().trim().split('\n').pop()}`);
      expect(code).toBe(4);
      expect(first.stderr()).toMatch(/superdist: no space left on device writing piece \d+ to .*big\.bin\.part; \d+ of \d+ pieces are verified and kept in .*big\.bin\.part \(recorded in .*big\.bin\.part\.pieces\): free some space and run the same command again to resume/);
      expect(failed).toMatchObject({ kind: 'disk-full' });
      expect(existsSync(paths.part)).toBe(true);
      expect(existsSync(paths.record)).toBe(true);

      // Nothing verified is lost: the record lists exactly the pieces verified, and their bytes are intact.
      const { record, bits } = PieceRecord.open(paths.record);
      record.close();
      const listed: number[] = [];
      for (let i = 0; i < (failed!.pieces as number); i++) if (((bits[i >> 3] as number) & (0x80 >> (i & 7))) !== 0) listed.push(i);
      expect(listed.length).toBe(failed!.piecesVerified);
      expect(listed.length).toBeGreaterThan(10);
      const P = choosePieceBytes(SIZE) as number; // the default piece size (by file size)
      expect(failed!.pieces).toBe(Math.ceil(SIZE / P));
      const a = Buffer.alloc(P);
      const b = Buffer.alloc(P);
      const fs = openSync(source, 'r');
      const fp = openSync(paths.part, 'r');
      for (const i of listed) {
        const n = readSync(fs, a, 0, P, i * P);
        readSync(fp, b, 0, P, i * P);
        expect(b.subarray(0, n).equals(a.subarray(0, n)), `piece ${i} intact`).toBe(true);
      }
      closeSync(fs);
      closeSync(fp);

      // Space exists again: the same command resumes from the recorded pieces.
      mount(['-o', 'remount,size=64m', small]);
      const second = startGet(dir, 'get2', tracker, id, out, ['--no-seed']);
      gets.push(second);
      expect(await second.exit).toBe(0);
      const done = lastEvent(second, 'complete')!;
      expect(done.piecesAtStart).toBe(listed.length);
      expect(done.piecesFetched).toBe((done.pieces as number) - listed.length);
      expect(sha256File(out)).toBe(sha256File(source));
      expect(existsSync(paths.part) || existsSync(paths.record)).toBe(false);
    } finally {
      await Promise.all(gets.map((g) => killGet(g)));
      spawnSync('umount', [small]);
      if (spawnSync('mountpoint', ['-q', small]).status === 0) spawnSync('umount', ['-l', small]);
    }
  }, 120_000);
});
