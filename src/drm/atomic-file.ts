// The DRM state files: JSON read with errors naming the file, and written durably (temporary
// file, fsync, rename, directory fsync: platform/durable-file.ts), so a crash never tears one.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../platform/durable-file.js';
import { DrmError } from './encoding.js';

export { fsyncDir, writeFileAtomic } from '../platform/durable-file.js';

/** Parsed JSON of `file`, or undefined when it does not exist; a clear error when it is damaged. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DrmError('io', `cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new DrmError('bad-format', `${file} is not valid JSON (${(err as Error).message})`);
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}
