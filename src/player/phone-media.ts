// The live channels this box receives, as phones see them (src/web/hls-routes.ts): every channel the
// live data plane runs (the one on the TV, the one it publishes), found by live id or by name, read
// straight from its chunk buffer. A channel that stopped here is remembered (STOPPED_REMEMBERED of
// them) so a phone still asking is told it stopped (410) rather than that it never was (404).
//
// Protected channels: a clear chunk (the preview windows) plays for any phone; an encrypted one only
// for a browser session the owner approved, decrypted by the DRM agent (a copy, cached per chunk).
import type { ChunkRecord } from '../engine/chunk-buffer.js';
import type { ChunkBufferView } from '../engine/live-channels.js';
import { isProtectedChunk } from '../drm/live-protect.js';
import type { PhoneChannel, PhoneMediaSource } from '../web/hls-routes.js';
import type { MediaOf } from '../web/hls-window.js';

export const STOPPED_REMEMBERED = 64;
/** Decrypted media kept per protected channel: more than a playlist lists (phones of one box fetch the same few). */
const DECRYPTED_KEPT_MS = 16_000;

export interface PhoneLiveSide {
  active(): Array<{ contentId: string }>;
  bufferOf(contentId: string): ChunkBufferView | undefined;
}

/** Decrypts a protected chunk for an approved phone; undefined when this box holds no rights to it. */
export type PhoneDecrypt = (contentId: string, seq: number, data: Uint8Array) => Uint8Array | undefined;

const CLEAR_ONLY: MediaOf = {
  playable: (c) => !isProtectedChunk(c.data),
  bytes: (c) => (isProtectedChunk(c.data) ? undefined : c.data),
};

export class PhoneMedia implements PhoneMediaSource {
  private readonly names = new Map<string, string>();
  private readonly stopped = new Map<string, string>();
  private readonly decrypted = new Map<string, Map<number, { data: Uint8Array; clear: Uint8Array | undefined }>>();

  constructor(
    private readonly live: PhoneLiveSide,
    private readonly chunkMs: number,
    private readonly decrypt?: PhoneDecrypt,
  ) {}

  /** The channel `contentId` plays here under `name` (the TV's channel, the published one). */
  named(contentId: string, name: string): void {
    this.names.set(contentId, name);
    this.stopped.delete(contentId);
  }

  /** The box left `contentId`: phones asking for it are told it stopped. */
  stoppedHere(contentId: string): void {
    const name = this.names.get(contentId) ?? contentId;
    this.names.delete(contentId);
    this.decrypted.delete(contentId);
    this.stopped.delete(contentId);
    this.stopped.set(contentId, name);
    while (this.stopped.size > STOPPED_REMEMBERED) this.stopped.delete(this.stopped.keys().next().value as string);
  }

  channel(idOrName: string): PhoneChannel | undefined {
    const active = new Set(this.live.active().map((a) => a.contentId));
    let id: string | undefined = active.has(idOrName) ? idOrName : undefined;
    if (!id) for (const [cid, name] of this.names) if (name === idOrName && active.has(cid)) id = cid;
    if (id) {
      const buffer = this.live.bufferOf(id);
      if (buffer) {
        const contentId = id;
        return { state: 'live', contentId, name: this.names.get(id) ?? id, buffer, chunkMs: this.chunkMs, media: (approved) => (approved && this.decrypt ? this.approvedMedia(contentId) : CLEAR_ONLY) };
      }
    }
    for (const [cid, name] of this.stopped) if (cid === idOrName || name === idOrName) return { state: 'stopped', contentId: cid, name };
    return undefined;
  }

  private approvedMedia(contentId: string): MediaOf {
    const clear = (c: ChunkRecord): Uint8Array | undefined => {
      if (!isProtectedChunk(c.data)) return c.data;
      let kept = this.decrypted.get(contentId);
      if (!kept) this.decrypted.set(contentId, (kept = new Map()));
      const hit = kept.get(c.id);
      if (hit && hit.data === c.data) return hit.clear;
      const out = this.decrypt!(contentId, c.id, c.data);
      kept.set(c.id, { data: c.data, clear: out });
      while (kept.size > Math.ceil(DECRYPTED_KEPT_MS / this.chunkMs)) kept.delete(kept.keys().next().value as number);
      return out;
    };
    return { playable: (c) => clear(c) !== undefined, bytes: clear };
  }
}
