// Content encryption: AES-128-CTR per chunk under the content key. The 16-byte initial counter
// block is the chunk index as a big-endian u64 followed by 64 zero bits, so every chunk of a
// content has its own keystream (a chunk holds far fewer than 2^64 blocks) and any chunk decrypts
// alone. One content key per content (file or channel) keeps (key, IV) pairs unique.
import { createCipheriv, randomBytes } from 'node:crypto';
import { DrmError } from './encoding.js';

export const CONTENT_KEY_BYTES = 16;
export const CONTENT_METHOD = 'aes-128-ctr';

export function newContentKey(): Buffer {
  return randomBytes(CONTENT_KEY_BYTES);
}

export function chunkIv(index: number): Buffer {
  if (!Number.isSafeInteger(index) || index < 0) throw new DrmError('bad-format', `chunk index ${index} is not a non-negative integer`);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(index), 0);
  return iv;
}

/** Encrypts or decrypts (CTR is symmetric) one chunk. */
export function cryptChunk(key: Uint8Array, index: number, data: Uint8Array): Buffer {
  if (key.length !== CONTENT_KEY_BYTES) throw new DrmError('bad-key', `content key must be ${CONTENT_KEY_BYTES} bytes, got ${key.length}`);
  const c = createCipheriv('aes-128-ctr', key, chunkIv(index));
  return Buffer.concat([c.update(data), c.final()]);
}
