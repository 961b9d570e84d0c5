// Test doubles for the download data plane: an in-memory PieceStore, a fake engine port that records
// sends and drops, a small content (manifest, pieces, id) and a verifier using the real SHA-256 checks.
import { StorageError } from '../../src/engine/download-ports.js';
import { MemoryPieceStore } from '../../src/sim/memory-store.js';
import type { DownloadEnginePort } from '../../src/engine/download-core.js';
import type { PeerAddress, Destination } from '../../src/engine/ports.js';
import { encodeManifest, PIECE_HASH_BYTES, type Manifest } from '../../src/protocol/manifest.js';
import type { MemberInfo, Message, MessageOf } from '../../src/protocol/messages.js';
import { contentIdOf, sha256 } from '../../src/source/piece-verifier.js';

/** The simulator's in-memory store, copying what it is given, with disk faults on demand. */
export class MemoryStore extends MemoryPieceStore {
  finished = 0;
  closed = false;
  /** Pieces written before writes start failing with this kind (disk full). */
  failAfter: { writes: number; kind: 'disk-full' | 'io' } | undefined;
  writes = 0;

  constructor(private readonly manifest: Manifest, initial: Map<number, Uint8Array> = new Map()) {
    super(initial);
  }
  override write(i: number, data: Uint8Array): void {
    if (this.failAfter && this.writes >= this.failAfter.writes) throw new StorageError(this.failAfter.kind, 'no space left on device (test)');
    this.writes++;
    super.write(i, Uint8Array.from(data));
  }
  override finish(): void {
    this.finished++;
  }
  override close(): void {
    this.closed = true;
  }
  get pieceCount(): number {
    return this.manifest.pieceCount;
  }
}

export interface TestContent {
  id: string;
  manifest: Manifest;
  manifestBytes: Buffer;
  pieces: Buffer[];
}

/** A content of `count` pieces of `pieceBytes` (the last one `last` bytes), filled with a pattern. */
export function testContent(count = 6, pieceBytes = 16 * 1024, last = 1000, name = 'file.bin', durationMs?: number): TestContent {
  const pieces: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const len = i === count - 1 ? last : pieceBytes;
    const b = Buffer.alloc(len);
    for (let k = 0; k < len; k++) b[k] = (i * 31 + k * 7) & 0xff;
    pieces.push(b);
  }
  const hashes = new Uint8Array(count * PIECE_HASH_BYTES);
  pieces.forEach((p, i) => hashes.set(sha256(p), i * PIECE_HASH_BYTES));
  const manifest: Manifest = { name, sizeBytes: (count - 1) * pieceBytes + last, pieceBytes, pieceCount: count, pieceHashes: hashes, ...(durationMs !== undefined ? { durationMs } : {}) };
  const manifestBytes = encodeManifest(manifest);
  return { id: contentIdOf(manifestBytes), manifest, manifestBytes, pieces };
}

export class FakeEngine implements DownloadEnginePort {
  readonly peerId = 'me';
  partnersVersion = 0;
  partners: PeerAddress[] = [];
  members: MemberInfo[] = [];
  tracker: Destination | undefined = undefined;
  sent: Array<{ to: Destination; msg: Message }> = [];
  dropped: Array<{ peerId: string; reason: string; blockMs: number | undefined }> = [];
  accept = true;

  setPartners(ids: string[]): void {
    this.partners = ids.map(addr);
    this.partnersVersion++;
  }
  partnersOf(): PeerAddress[] {
    return this.partners;
  }
  isPartner(_c: string, peerId: string): boolean {
    return this.partners.some((p) => p.peerId === peerId);
  }
  dropPartner(_c: string, peerId: string, reason: string, blockMs?: number): void {
    this.dropped.push({ peerId, reason, blockMs });
    this.partners = this.partners.filter((p) => p.peerId !== peerId);
    this.partnersVersion++;
  }
  knownMembers(): MemberInfo[] {
    return this.members;
  }
  trackerDestination(): Destination | undefined {
    return this.tracker;
  }
  send(to: Destination, msg: Message): boolean {
    this.sent.push({ to, msg });
    return this.accept;
  }
  of<T extends Message['type']>(type: T, to?: string): Array<MessageOf<T>> {
    return this.sent.filter((s) => s.msg.type === type && (to === undefined || s.to.peerId === to)).map((s) => s.msg as MessageOf<T>);
  }
  clear(): void {
    this.sent = [];
  }
}

export const addr = (peerId: string): PeerAddress => ({ peerId, contact: { host: `${peerId}.test`, port: 7000 } });

/** A BufferMapInfo over a whole file of `count` pieces holding `held`. */
export function mapMsg(contentId: string, from: string, count: number, held: Iterable<number>): MessageOf<'BufferMapInfo'> {
  const bits = new Uint8Array(Math.ceil(count / 8));
  for (const i of held) bits[i >> 3] = (bits[i >> 3] as number) | (0x80 >> (i & 7));
  return { type: 'BufferMapInfo', peerId: from, contentId, baseId: 0, length: count, bits };
}

export const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
