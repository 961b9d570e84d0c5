// The DRM agent on the file player path: a .sdc container is decrypted chunk by chunk into the
// player's stream (a file, or stdout piped into a player) — all of it when a play may start,
// else only the clear preview chunks. An expiring permission stops the stream at the chunk where
// it ends.
import { closeSync, openSync, writeSync } from 'node:fs';
import { ContainerReader } from './container.js';
import { cryptChunk } from './content-cipher.js';
import type { DrmAgent, RightsState } from './drm-agent.js';
import { DrmError } from './encoding.js';

export interface FilePlayResult {
  contentId: string;
  rights: RightsState | { state: 'stopped'; reason: string; roId: string };
  bytesOut: number;
  chunksOut: number;
  chunks: number;
  previewChunks: number;
}

export function playContainer(agent: DrmAgent, file: string, out: string | number, now: () => number = Date.now): FilePlayResult {
  const r = ContainerReader.open(file);
  const fd = typeof out === 'number' ? out : openSync(out, 'w', 0o644);
  try {
    const h = r.header;
    let rights: FilePlayResult['rights'] = agent.rights(h.contentId, now());
    let grant;
    if (rights.state === 'allowed') {
      try {
        grant = agent.startPlay(h.contentId, now());
      } catch (err) {
        if (!(err instanceof DrmError)) throw err;
        rights = { state: 'preview-only', reason: err.message };
      }
    }
    let bytesOut = 0;
    let chunksOut = 0;
    for (let i = 0; i < r.chunks; i++) {
      let data: Buffer;
      if (r.isClear(i)) data = r.readChunk(i);
      else if (grant) {
        const stop = grant.check(now());
        if (stop) {
          rights = { state: 'stopped', reason: stop, roId: grant.roId };
          break;
        }
        data = cryptChunk(grant.key, i, r.readChunk(i));
      } else break;
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      bytesOut += data.length;
      chunksOut++;
    }
    return { contentId: h.contentId, rights, bytesOut, chunksOut, chunks: r.chunks, previewChunks: h.previewChunks };
  } finally {
    if (typeof out !== 'number') closeSync(fd);
    r.close();
  }
}
