import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  channelIdFromPublicKey,
  channelIdMatchesKey,
  publicKeyFromChannelId,
  channelKeysFromPkcs8,
  chunkSigningMessage,
  exportPrivateKey,
  generateChannelKeys,
  importPublicKey,
  isLiveChannelId,
  signChunk,
  verifyChunk,
} from '../../src/source/chunk-signing.js';

const keys = generateChannelKeys();
const data = randomBytes(120_000);
const seq = 4242;
const ts = 1_763_000_000_123;
const sig = signChunk(keys.privateKey, keys.channelId, seq, ts, data);

describe('chunk signing', () => {
  it('derives a live-<64 hex> channel id that carries the public key', () => {
    expect(keys.publicKey).toHaveLength(32);
    expect(keys.channelId).toMatch(/^live-[0-9a-f]{64}$/);
    expect(publicKeyFromChannelId(keys.channelId)).toEqual(keys.publicKey);
    expect(publicKeyFromChannelId('live-zz')).toBeUndefined();
    expect(isLiveChannelId(keys.channelId)).toBe(true);
    expect(channelIdFromPublicKey(keys.publicKey)).toBe(keys.channelId);
    expect(channelIdMatchesKey(keys.channelId, keys.publicKey)).toBe(true);
    const other = generateChannelKeys();
    expect(channelIdMatchesKey(keys.channelId, other.publicKey)).toBe(false);
    expect(channelIdMatchesKey(keys.channelId, keys.publicKey.subarray(0, 31))).toBe(false);
    expect(channelIdMatchesKey(keys.channelId.toUpperCase(), keys.publicKey)).toBe(false);
  });

  it('signs with 64 bytes and verifies, with the raw key or an imported KeyObject', () => {
    expect(sig).toHaveLength(64);
    expect(verifyChunk(keys.publicKey, keys.channelId, seq, ts, data, sig)).toBe(true);
    expect(verifyChunk(importPublicKey(keys.publicKey), keys.channelId, seq, ts, data, sig)).toBe(true);
  });

  it('rejects tampered data, seq, timestamp, channel id or signature', () => {
    const tampered = Buffer.from(data);
    tampered[77_777] = (tampered[77_777] as number) ^ 0x01;
    expect(verifyChunk(keys.publicKey, keys.channelId, seq, ts, tampered, sig)).toBe(false);
    expect(verifyChunk(keys.publicKey, keys.channelId, seq + 1, ts, data, sig)).toBe(false);
    expect(verifyChunk(keys.publicKey, keys.channelId, seq, ts + 1, data, sig)).toBe(false);
    expect(verifyChunk(keys.publicKey, generateChannelKeys().channelId, seq, ts, data, sig)).toBe(false);
    const badSig = Buffer.from(sig);
    badSig[10] = (badSig[10] as number) ^ 0x80;
    expect(verifyChunk(keys.publicKey, keys.channelId, seq, ts, data, badSig)).toBe(false);
  });

  it("rejects a signature made with another channel's key, even over the same channel id", () => {
    const other = generateChannelKeys();
    const forged = signChunk(other.privateKey, keys.channelId, seq, ts, data);
    expect(verifyChunk(keys.publicKey, keys.channelId, seq, ts, data, forged)).toBe(false);
    expect(verifyChunk(other.publicKey, keys.channelId, seq, ts, data, sig)).toBe(false);
  });

  it('returns false, never throws, on hostile input', () => {
    expect(verifyChunk(keys.publicKey, keys.channelId, seq, ts, data, sig.subarray(0, 63))).toBe(false);
    expect(verifyChunk(new Uint8Array(31), keys.channelId, seq, ts, data, sig)).toBe(false);
    expect(verifyChunk(keys.publicKey, keys.channelId, -1, ts, data, sig)).toBe(false);
    expect(verifyChunk(keys.publicKey, keys.channelId, seq, Number.NaN, data, sig)).toBe(false);
    expect(verifyChunk(keys.publicKey, 'x'.repeat(300), seq, ts, data, sig)).toBe(false);
  });

  it('separates fields in the signed message (no ambiguity between channel id and numbers)', () => {
    const a = chunkSigningMessage('live-a', 1, 2, data);
    const b = chunkSigningMessage('live-a\u0000', 1, 2, data);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(0, 24).toString('utf8')).toBe('superdist/live-chunk/v1\u0000');
  });

  it('round-trips the private key through PKCS#8 for the state dir', () => {
    const restored = channelKeysFromPkcs8(exportPrivateKey(keys.privateKey));
    expect(restored.channelId).toBe(keys.channelId);
    expect(restored.publicKey.equals(keys.publicKey)).toBe(true);
    const again = signChunk(restored.privateKey, keys.channelId, seq, ts, data);
    expect(again.equals(sig)).toBe(true); // Ed25519 is deterministic
    expect(() => channelKeysFromPkcs8(Buffer.from('not a key'))).toThrow(/PKCS#8/);
  });
});
