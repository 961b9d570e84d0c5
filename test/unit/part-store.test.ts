// The partial-download store and its record of verified pieces, on real files in a temp directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PartLockedError } from '../../src/download/part-lock.js';
import { PartMismatchError, PartStore, partPaths } from '../../src/download/part-store.js';
import { PieceCache } from '../../src/download/piece-cache.js';
import { PieceRecord } from '../../src/download/piece-record.js';
import { storageError } from '../../src/download/storage-errors.js';
import { testContent, type TestContent } from '../helpers/download-fakes.js';

const dir = () => mkdtempSync(join(tmpdir(), 'sd-part-'));

function open(path: string, t: TestContent, over: { recheck?: boolean; fsync?: boolean; flushMs?: number } = {}): PartStore {
  return PartStore.open({ path, contentId: t.id, manifest: t.manifest, manifestBytes: t.manifestBytes, cache: new PieceCache(1 << 20), flushMs: over.flushMs ?? 0, recheck: over.recheck ?? true, fsync: over.fsync ?? false });
}

/** As after SIGKILL: the lock names a process that is gone. */
function orphanLock(path: string): void {
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  writeFileSync(partPaths(path).lock, `${dead}\n`);
}

describe('part store', () => {
  it('creates a sparse .part of the final size, a record and a lock', () => {
    const t = testContent();
    const path = join(dir(), 'f.bin');
    const s = open(path, t);
    const p = partPaths(path);
    expect(statSync(p.part).size).toBe(t.manifest.sizeBytes);
    expect(existsSync(p.record)).toBe(true);
    expect(readFileSync(p.lock, 'utf8').split(' ')[0]).toBe(String(process.pid));
    expect(s.count).toBe(0);
    s.close();
    expect(existsSync(p.lock)).toBe(false);
  });

  it('a second writer is refused while the first lives', () => {
    const t = testContent();
    const path = join(dir(), 'f.bin');
    const s = open(path, t);
    expect(() => open(path, t)).toThrow(PartLockedError);
    s.close();
  });

  it('after a crash, resumes from the recorded pieces only', () => {
    const t = testContent();
    const path = join(dir(), 'f.bin');
    const s = open(path, t, { flushMs: 1000 });
    s.write(1, t.pieces[1]!);
    s.write(3, t.pieces[3]!);
    s.tick(5000); // record updated
    s.write(4, t.pieces[4]!); // written, not yet recorded: the "crash" comes first
    orphanLock(path);
    const r = open(path, t);
    expect([0, 1, 2, 3, 4, 5].filter((i) => r.has(i))).toEqual([1, 3]);
    expect(r.resumedCount).toBe(2);
    expect(Buffer.from(r.read(3)!).equals(t.pieces[3]!)).toBe(true);
    r.close();
  });

  it('a torn record slot falls back to the previous state', () => {
    const t = testContent();
    const path = join(dir(), 'f.bin');
    const s = open(path, t);
    s.write(0, t.pieces[0]!);
    s.tick(1);
    s.write(2, t.pieces[2]!);
    s.tick(2);
    s.close();
    // damage the newest slot (seq 3 lives in slot 1): one byte of its bitfield
    const rec = partPaths(path).record;
    const size = statSync(rec).size;
    const fd = openSync(rec, 'r+');
    writeSync(fd, Buffer.from([0xff]), 0, 1, size - 5);
    closeSync(fd);
    const r = open(path, t);
    expect([0, 1, 2].filter((i) => r.has(i))).toEqual([0]);
    r.close();
  });

  it('rechecks recorded pieces on resume and drops those whose bytes are wrong', () => {
    const t = testContent();
    const path = join(dir(), 'f.bin');
    const s = open(path, t);
    s.write(0, t.pieces[0]!);
    s.write(1, t.pieces[1]!);
    s.close();
    const fd = openSync(partPaths(path).part, 'r+');
    writeSync(fd, Buffer.from('garbage'), 0, 7, t.manifest.pieceBytes + 10);
    closeSync(fd);
    const r = open(path, t);
    expect(r.has(0)).toBe(true);
    expect(r.has(1)).toBe(false);
    expect(r.recheckFailed).toBe(1);
    r.close();
  });

  it('refuses a record of another download', () => {
    const t = testContent();
    const other = testContent(4, 16 * 1024, 77, 'other.bin');
    const path = join(dir(), 'f.bin');
    open(path, other).close();
    expect(() => open(path, t)).toThrow(PartMismatchError);
  });

  it('finish renames .part atomically, removes the record and keeps serving', () => {
    const t = testContent();
    const path = join(dir(), 'f.bin');
    const s = open(path, t);
    t.pieces.forEach((p, i) => s.write(i, p));
    s.finish();
    const p = partPaths(path);
    expect(existsSync(p.part)).toBe(false);
    expect(existsSync(p.record)).toBe(false);
    expect(existsSync(p.lock)).toBe(false);
    expect(readFileSync(path).equals(Buffer.concat(t.pieces))).toBe(true);
    expect(Buffer.from(s.read(5)!).equals(t.pieces[5]!)).toBe(true);
    s.close();
  });

  it('fsync mode records in the background, after syncing the data', async () => {
    const t = testContent();
    const path = join(dir(), 'f.bin');
    const s = open(path, t, { fsync: true });
    s.write(2, t.pieces[2]!);
    s.tick(10);
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const { record, bits } = PieceRecord.open(partPaths(path).record);
      record.close();
      if (bits[0] === 0x20) break;
    }
    const { record, bits } = PieceRecord.open(partPaths(path).record);
    record.close();
    expect(bits[0]).toBe(0x20);
    s.close();
  });

  it('maps ENOSPC and EDQUOT to disk-full and names what was being done', () => {
    const e = storageError(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), 'writing piece 3 to x.part');
    expect(e.kind).toBe('disk-full');
    expect(e.message).toBe('no space left on device writing piece 3 to x.part');
    expect(storageError(Object.assign(new Error('q'), { code: 'EDQUOT' }), 'x').kind).toBe('disk-full');
    expect(storageError(Object.assign(new Error('bad'), { code: 'EIO' }), 'reading').kind).toBe('io');
  });
});
