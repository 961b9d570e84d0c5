// Live-chunk integrity: the source signs every chunk with its channel's Ed25519 key; nodes verify
// before storing or forwarding, so a forged chunk never spreads (docs/live.md). node:crypto only.
//
// Channel id: `live-` + hex of the raw 32-byte public key — 69 ASCII characters, inside the wire's
// string limit. The id IS the key, so a node that knows a channel id can verify its chunks with no
// further lookup, and no one can substitute a key for an existing channel. Human names (titles)
// are mapped to ids by the tracker's catalogue (ContentsReq).
//
// Signed message (domain-separated, fixed layout, all integers big-endian):
//   "superdist/live-chunk/v1\0" | u8 channelId length | channelId (UTF-8) | u64 seq | u64 timestampMs
//   | SHA-256(data)
// Serialisation for the state dir: the private key as PKCS#8 DER (the public key and channel id are
// derived from it), the public key as its raw 32 bytes.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export const CHANNEL_ID_PREFIX = 'live-';
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
const DOMAIN = Buffer.from('superdist/live-chunk/v1\0', 'utf8');
const MAX_CHANNEL_ID_BYTES = 255;
const CHANNEL_ID_RE = new RegExp(`^${CHANNEL_ID_PREFIX}[0-9a-f]{${ED25519_PUBLIC_KEY_BYTES * 2}}$`);

export interface ChannelKeys {
  channelId: string;
  /** Raw 32-byte Ed25519 public key (what the tracker/join path carries). */
  publicKey: Buffer;
  privateKey: KeyObject;
}

export function generateChannelKeys(): ChannelKeys {
  const { privateKey } = generateKeyPairSync('ed25519');
  return channelKeysFromPrivateKey(privateKey);
}

/** Keys back from the PKCS#8 DER bytes written by exportPrivateKey(). Throws on anything else. */
export function channelKeysFromPkcs8(der: Uint8Array): ChannelKeys {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new Error(`channel private key is not valid PKCS#8 DER: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`channel private key must be Ed25519 (got ${key.asymmetricKeyType ?? 'unknown'})`);
  }
  return channelKeysFromPrivateKey(key);
}

export function exportPrivateKey(privateKey: KeyObject): Buffer {
  return privateKey.export({ format: 'der', type: 'pkcs8' });
}

function channelKeysFromPrivateKey(privateKey: KeyObject): ChannelKeys {
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return { channelId: channelIdFromPublicKey(publicKey), publicKey, privateKey };
}

/** Raw 32 bytes of an Ed25519 public KeyObject. */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

/** KeyObject from the raw 32-byte public key; throws when it is not 32 bytes or not a valid key. */
export function importPublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new Error(`Ed25519 public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes (got ${raw.length})`);
  }
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

export function channelIdFromPublicKey(raw: Uint8Array): string {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) throw new RangeError(`Ed25519 public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes`);
  return CHANNEL_ID_PREFIX + Buffer.from(raw).toString('hex');
}

/** The raw public key a live channel id carries, or undefined when the id is not a live channel id. */
export function publicKeyFromChannelId(channelId: string): Buffer | undefined {
  if (!isLiveChannelId(channelId)) return undefined;
  return Buffer.from(channelId.slice(CHANNEL_ID_PREFIX.length), 'hex');
}

/** The id has the live-channel form (does not say which key). */
export function isLiveChannelId(channelId: string): boolean {
  return CHANNEL_ID_RE.test(channelId);
}

/** The channel id was derived from this raw public key. */
export function channelIdMatchesKey(channelId: string, publicKeyRaw: Uint8Array): boolean {
  return publicKeyRaw.length === ED25519_PUBLIC_KEY_BYTES && isLiveChannelId(channelId) && channelIdFromPublicKey(publicKeyRaw) === channelId;
}

/** The exact bytes that are signed for a chunk. */
export function chunkSigningMessage(channelId: string, seq: number, timestampMs: number, data: Uint8Array): Buffer {
  const id = Buffer.from(channelId, 'utf8');
  if (id.length > MAX_CHANNEL_ID_BYTES) throw new RangeError(`channel id is ${id.length} bytes (limit ${MAX_CHANNEL_ID_BYTES})`);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`chunk seq must be a non-negative integer (got ${seq})`);
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
    throw new RangeError(`chunk timestampMs must be a non-negative integer (got ${timestampMs})`);
  }
  const fixed = Buffer.alloc(1 + id.length + 16);
  fixed.writeUInt8(id.length, 0);
  id.copy(fixed, 1);
  fixed.writeBigUInt64BE(BigInt(seq), 1 + id.length);
  fixed.writeBigUInt64BE(BigInt(timestampMs), 9 + id.length);
  return Buffer.concat([DOMAIN, fixed, createHash('sha256').update(data).digest()]);
}

/** 64-byte Ed25519 signature of the chunk. */
export function signChunk(privateKey: KeyObject, channelId: string, seq: number, timestampMs: number, data: Uint8Array): Buffer {
  return sign(null, chunkSigningMessage(channelId, seq, timestampMs, data), privateKey);
}

/**
 * True only when `signature` is the channel key's signature of exactly this chunk. Never throws on
 * hostile input (wrong lengths, bad key bytes, out-of-range numbers): those are simply false.
 * Pass a KeyObject (importPublicKey, once per channel) to avoid re-importing the key per chunk.
 */
export function verifyChunk(
  publicKey: KeyObject | Uint8Array,
  channelId: string,
  seq: number,
  timestampMs: number,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    const key = publicKey instanceof Uint8Array ? importPublicKey(publicKey) : publicKey;
    return verify(null, chunkSigningMessage(channelId, seq, timestampMs, data), key, signature);
  } catch {
    return false;
  }
}
