// The engine's ChunkVerifier for live channels: the channel id carries the source's Ed25519 public
// key, so any chunk can be checked against its signature with no lookup. Keys are imported once.
import type { KeyObject } from 'node:crypto';
import type { ChunkRecord, ChunkVerifier } from '../engine/live-ports.js';
import { importPublicKey, publicKeyFromChannelId, verifyChunk } from './chunk-signing.js';

export class LiveChunkVerifier implements ChunkVerifier {
  private readonly keys = new Map<string, KeyObject | null>();

  verify(contentId: string, chunk: ChunkRecord): boolean {
    let key = this.keys.get(contentId);
    if (key === undefined) {
      const raw = publicKeyFromChannelId(contentId);
      key = raw ? importPublicKey(raw) : null;
      this.keys.set(contentId, key);
    }
    if (!key) return false;
    return verifyChunk(key, contentId, chunk.id, chunk.timestampMs, chunk.data, chunk.signature);
  }
}
