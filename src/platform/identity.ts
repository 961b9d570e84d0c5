// The node's persistent peer id: kept in the state directory so a box keeps its identity across
// restarts (later, DRM keys live beside it).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PEER_ID_FILE = 'peer-id';
const PEER_ID_RE = /^[0-9a-zA-Z._-]{1,64}$/;

export function newPeerId(): string {
  return randomBytes(8).toString('hex');
}

/** Returns the configured id, else the one stored in stateDir, else a new one (stored atomically). */
export function loadOrCreatePeerId(stateDir: string, configured: string): string {
  if (configured) return configured;
  const file = join(stateDir, PEER_ID_FILE);
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (PEER_ID_RE.test(stored)) return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = newPeerId();
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${id}\n`, { mode: 0o640 });
  renameSync(tmp, file);
  return id;
}
