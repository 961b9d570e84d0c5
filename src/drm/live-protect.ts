// Protected live channels (see docs/drm.md#live-channels). The source encrypts a chunk's payload
// before signing it, so relays verify the signature and forward it without any rights:
//   encrypted chunk = "SDL1" | AES-128-CTR(channel content key, IV of the chunk id, TS bytes)
// A clear chunk is plain MPEG-TS (it starts with the 0x47 sync byte, never "S"). Preview: the
// first previewS seconds of every previewEveryS-second period of the channel's media time are
// published clear, so any node shows the channel during those windows, rights or not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { CONTENT_KEY_BYTES, cryptChunk, newContentKey } from './content-cipher.js';
import { DrmError } from './encoding.js';

export const LIVE_MAGIC = Buffer.from('SDL1', 'ascii');

export interface PreviewPolicy {
  chunkMs: number;
  previewS: number;
  previewEveryS: number;
}

export function isPreviewChunk(seq: number, p: PreviewPolicy): boolean {
  if (p.previewS <= 0) return false;
  return (seq * p.chunkMs) % (p.previewEveryS * 1000) < p.previewS * 1000;
}

export function isProtectedChunk(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x53 && data[1] === 0x44 && data[2] === 0x4c && data[3] === 0x31;
}

export function protectChunk(key: Uint8Array, seq: number, data: Uint8Array): Buffer {
  return Buffer.concat([LIVE_MAGIC, cryptChunk(key, seq, data)]);
}

export function unprotectChunk(key: Uint8Array, seq: number, data: Uint8Array): Buffer {
  if (!isProtectedChunk(data)) throw new DrmError('bad-format', `chunk ${seq} is not a protected chunk`);
  return cryptChunk(key, seq, data.subarray(LIVE_MAGIC.length));
}

/** The channel's content key, kept beside its signing key so a restarted source keeps it. */
export function loadOrCreateChannelContentKey(stateDir: string, channel: string): Buffer {
  const file = join(stateDir, 'channels', `${channel}.ckey`);
  try {
    const k = readFileSync(file);
    if (k.length !== CONTENT_KEY_BYTES) throw new DrmError('bad-key', `${file}: expected ${CONTENT_KEY_BYTES} bytes (damaged)`);
    return k;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const k = newContentKey();
  writeFileAtomic(file, k);
  return k;
}
