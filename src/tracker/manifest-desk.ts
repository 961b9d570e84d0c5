// The tracker's copies of download manifests (docs/downloads.md, "Manifests from the tracker"). A
// tracker that is also a peer of its contents answers ManifestReq for a download from a copy it
// keeps, so a box starting a download (or a film) gets the manifest from the operator's
// well-connected tracker, not from a holder whose answer waits behind seconds of pieces in a home
// uplink's queue. The copies come from the boxes: while the tracker has none for a download content,
// it asks (ManifestReq) a box that joins or announces that content, at most one ask per content per
// MANIFEST_ASK_RETRY_MS; an empty answer (the box has none yet) lets the next box be asked at once.
// An answer is kept only when it hashes to the content id (the check is injected: the tracker stays
// sans-IO); a wrong one is counted and dropped. Copies stay within maxBytes, the least recently used
// leaving first; maxBytes 0 turns the desk off (the tracker's peer then answers as before: nothing,
// unless it downloads the content itself, as a main node's local tracker may).
import { PieceCache } from '../download/piece-cache.js';
import type { Clock, PeerAddress } from '../engine/ports.js';
import type { Message, MessageOf } from '../protocol/messages.js';

/** Whether bytes are the manifest of the content id (they hash to it). */
export type ManifestCheck = (contentId: string, bytes: Uint8Array) => boolean;

/** An unanswered ask for a content's manifest is repeated (to the next box heard of) after this long. */
export const MANIFEST_ASK_RETRY_MS = 5000;

export interface ManifestDeskDeps {
  maxBytes: number;
  check: ManifestCheck;
  clock: Clock;
  selfId(): string;
  send(to: PeerAddress, msg: Message): void;
}

export interface ManifestDeskStats {
  /** Manifests kept, and their bytes. */
  manifests: number;
  bytes: number;
  /** ManifestReq answered from a copy. */
  served: number;
  /** Answers to our asks that did not hash to the content id. */
  rejected: number;
}

export class ManifestDesk {
  /** Content id → manifest, within maxBytes, the least recently used leaving first. */
  private readonly copies: PieceCache;
  /** Content id → when it was last asked for (the ask outstanding until answered or MANIFEST_ASK_RETRY_MS). */
  private readonly askedAt = new Map<string, number>();
  private served = 0;
  private rejected = 0;

  constructor(private readonly deps: ManifestDeskDeps) {
    this.copies = new PieceCache(deps.maxBytes);
  }

  /** A box joined or announced a download content: asks it for the manifest when the desk has none. */
  heard(from: PeerAddress, contentId: string): void {
    if (this.deps.maxBytes <= 0 || this.copies.has(contentId)) return;
    const now = this.deps.clock.now();
    const at = this.askedAt.get(contentId);
    if (at !== undefined && now - at < MANIFEST_ASK_RETRY_MS) return;
    this.askedAt.set(contentId, now);
    this.deps.send(from, { type: 'ManifestReq', peerId: this.deps.selfId(), contentId });
  }

  /** Answers a ManifestReq from a copy; false when there is none (the tracker's peer takes the request). */
  answer(from: PeerAddress, msg: MessageOf<'ManifestReq'>): boolean {
    const copy = this.copies.get(msg.contentId);
    if (!copy) return false;
    this.served++;
    this.deps.send(from, { type: 'ManifestResp', peerId: this.deps.selfId(), contentId: msg.contentId, manifest: copy });
    return true;
  }

  /** Takes a copy from a ManifestResp to one of our asks (the message goes on to the tracker's peer too). */
  take(msg: MessageOf<'ManifestResp'>): void {
    const id = msg.contentId;
    if (!this.askedAt.has(id) || this.copies.has(id)) return;
    this.askedAt.delete(id);
    const bytes = msg.manifest;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) return;
    if (bytes.length > this.deps.maxBytes || !this.deps.check(id, bytes)) {
      if (bytes.length <= this.deps.maxBytes) this.rejected++;
      return;
    }
    this.copies.put(id, bytes);
  }

  /** Forgets asks nobody answered (a box gone quiet), so the map holds only recent ones. */
  prune(now: number): void {
    for (const [id, at] of this.askedAt) if (now - at >= MANIFEST_ASK_RETRY_MS) this.askedAt.delete(id);
  }

  stats(): ManifestDeskStats {
    return { manifests: this.copies.size, bytes: this.copies.bytes, served: this.served, rejected: this.rejected };
  }
}
