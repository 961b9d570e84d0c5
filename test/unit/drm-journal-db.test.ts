// The rights issuer's journal database: records survive reopening, a torn last line is dropped,
// compaction keeps the state, a damaged middle line is an error naming the line.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalDb } from '../../src/drm/journal-db.js';

type S = { sum: number; n: number };
type R = { add: number };
const open = (dir: string, compactAfter = 1000, warn: string[] = []) =>
  new JournalDb<S, R>({ dir, empty: () => ({ sum: 0, n: 0 }), apply: (s, r) => ((s.sum += r.add), s.n++), compactAfter, onWarning: (m) => warn.push(m) });

describe('journal database', () => {
  it('replays records, drops a torn last record, compacts, and names a damaged line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-jdb-'));
    const a = open(dir);
    for (let i = 1; i <= 5; i++) a.append({ add: i });
    a.close();
    appendFileSync(join(dir, 'journal.jsonl'), '{"add": 10'); // crash mid-write
    const warn: string[] = [];
    const b = open(dir, 1000, warn);
    expect(b.state).toEqual({ sum: 15, n: 5 });
    expect(warn[0]).toMatch(/dropped a torn last record/);
    b.append({ add: 1000 });
    b.close();
    expect(open(dir).state).toEqual({ sum: 1015, n: 6 });
    // Reopen with a low compaction threshold: snapshot written, journal emptied, state unchanged.
    const c = open(dir, 2);
    expect(c.state).toEqual({ sum: 1015, n: 6 });
    expect(readFileSync(join(dir, 'journal.jsonl'), 'utf8')).toBe('');
    c.append({ add: 100 });
    c.close();
    expect(open(dir).state).toEqual({ sum: 1115, n: 7 });
    writeFileSync(join(dir, 'journal.jsonl'), '{"add":1}\nnot json\n{"add":2}\n');
    expect(() => open(dir)).toThrow(/line 2 is not JSON \(damaged database\)/);
  });
});
