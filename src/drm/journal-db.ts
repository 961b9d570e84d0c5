// The rights issuer's embedded database: a state object kept in memory, made durable as an
// append-only JSON-lines journal (each record written and fsynced before the request is answered)
// over a snapshot. On open: snapshot.json, then every journal line applied in order; a torn last
// line (a crash while writing it) is dropped. When the journal has grown past `compactAfter` lines
// the state is written to snapshot.json (temporary file, fsync, rename) and the journal emptied.
// Pure JS, no native addon (the bundle is one file that runs on ARM). See docs/drm.md#database.
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync, ftruncateSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic, fsyncDir } from './atomic-file.js';
import { DrmError } from './encoding.js';

export interface JournalOptions<S, R> {
  dir: string;
  empty: () => S;
  apply: (state: S, record: R) => void;
  compactAfter?: number;
  onWarning?: (message: string) => void;
}

export class JournalDb<S, R> {
  readonly state: S;
  private fd: number;
  private lines = 0;

  constructor(private readonly o: JournalOptions<S, R>) {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const snap = readJsonFile(join(o.dir, 'snapshot.json'));
    this.state = snap === undefined ? o.empty() : (snap as S);
    const jfile = join(o.dir, 'journal.jsonl');
    if (existsSync(jfile)) {
      const text = readFileSync(jfile, 'utf8');
      const parts = text.split('\n');
      let goodBytes = 0;
      let torn = false;
      for (let i = 0; i < parts.length; i++) {
        const line = parts[i]!;
        if (!line) {
          if (i < parts.length - 1) goodBytes += 1;
          continue;
        }
        let rec: R;
        try {
          rec = JSON.parse(line) as R;
        } catch {
          if (i >= parts.length - 2) {
            o.onWarning?.(`journal ${jfile}: dropped a torn last record (crash while writing)`);
            // Cut it off, so the next record starts on a line of its own.
            truncateSync(jfile, goodBytes);
            torn = true;
            break;
          }
          throw new DrmError('bad-format', `journal ${jfile}: line ${i + 1} is not JSON (damaged database)`);
        }
        o.apply(this.state, rec);
        this.lines++;
        goodBytes += Buffer.byteLength(line, 'utf8') + (i < parts.length - 1 ? 1 : 0);
      }
      // A whole last record whose newline never reached the disk: end its line.
      if (!torn && text.length > 0 && !text.endsWith('\n')) appendFileSync(jfile, '\n');
    }
    this.fd = openSync(jfile, 'a', 0o600);
    if (this.lines > (o.compactAfter ?? 1000)) this.compact();
  }

  /** Applies the record and makes it durable before returning. */
  append(rec: R): void {
    const b = Buffer.from(`${JSON.stringify(rec)}\n`, 'utf8');
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    fsyncSync(this.fd);
    this.o.apply(this.state, rec);
    this.lines++;
    if (this.lines > (this.o.compactAfter ?? 1000)) this.compact();
  }

  compact(): void {
    writeJsonAtomic(join(this.o.dir, 'snapshot.json'), this.state);
    ftruncateSync(this.fd, 0);
    fsyncSync(this.fd);
    fsyncDir(this.o.dir);
    this.lines = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}
