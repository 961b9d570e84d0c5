// Fan-out of one live channel to its HTTP clients. The channel is a ChunkFeed of a LiveOutput: it
// keeps a bounded ring of the chunks the output handed over (already paced by the output's token
// bucket) and sends each client from its own position.
//
// - A client that connects starts at the output's playhead (the chunk an ideal player shows now),
//   or at the first chunk when playback has not begun; its first byte waits until at least
//   `prebufferMs` of media is ready from its position.
// - A slow client never makes memory grow: at most `maxClientQueueBytes` (+ one chunk) wait in its
//   socket queue; when its position falls out of the ring or more than `maxClientLagMs` behind the
//   newest chunk, it jumps to the playhead (counted as a discontinuity and a live-edge jump).
import type { Clock } from '../engine/ports.js';
import type { ChunkFeed } from './live-output.js';

export const CHANNEL_RING_MAX_MS = 30_000;
export const CHANNEL_RING_MAX_BYTES = 16 * 1024 * 1024;
export const CHANNEL_RING_MAX_ENTRIES = 2048;
export const CLIENT_MAX_QUEUE_BYTES = 1024 * 1024;
export const CLIENT_MAX_LAG_MS = 10_000;

/** The part of an http.ServerResponse the channel writes to. */
export interface ClientSink {
  write(data: Uint8Array): boolean;
  end(): void;
  readonly writableLength: number;
  readonly destroyed: boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** What the channel needs from its LiveOutput. */
export interface PlayheadSource {
  playheadSeq(): number | undefined;
  readonly prebufferMs: number;
}

export interface LiveChannelOptions {
  ringMaxMs?: number;
  ringMaxBytes?: number;
  ringMaxEntries?: number;
  maxClientQueueBytes?: number;
  maxClientLagMs?: number;
  clock?: Clock;
  onWarning?: (w: { code: string; message: string }) => void;
}

export interface LiveClientStats {
  id: number;
  /** Next sequence number to send (undefined until the first chunk exists). */
  nextSeq: number | undefined;
  /** Connect → first byte, undefined until it happened. */
  firstByteMs: number | undefined;
  bytesOut: number;
  chunksOut: number;
  /** Gaps passed plus live-edge jumps. */
  discontinuities: number;
  liveEdgeJumps: number;
  queuedBytes: number;
  peakQueuedBytes: number;
}

export interface LiveChannelStats {
  clients: LiveClientStats[];
  clientsServed: number;
  /** First client's connect → the channel's first byte to any client (the player's startup delay). */
  firstByteMs: number | undefined;
  bytesOut: number;
  ringEntries: number;
  ringBytes: number;
  ringMediaMs: number;
  ended: boolean;
}

interface Entry {
  seq: number;
  mediaMs: number;
  data: Uint8Array | undefined; // undefined: a gap
  offsetMs: number; // media before this entry since the channel began
}

interface Client {
  id: number;
  sink: ClientSink;
  nextSeq: number | undefined;
  connectedAt: number;
  firstByteAt: number | undefined;
  waitingDrain: boolean;
  done: boolean;
  bytes: number;
  chunks: number;
  discontinuities: number;
  jumps: number;
  peakQueued: number;
}

export class LiveChannel implements ChunkFeed {
  private readonly ring: Entry[] = [];
  private readonly clients = new Map<number, Client>();
  private readonly clock: Clock;
  private ringBytes = 0;
  private mediaTotal = 0;
  private ended = false;
  private nextId = 1;
  private bytesOut = 0;
  private firstConnectAt: number | undefined;
  private firstByteAt: number | undefined;

  constructor(
    private readonly source: PlayheadSource,
    private readonly opts: LiveChannelOptions = {},
  ) {
    this.clock = opts.clock ?? { now: () => Date.now() };
  }

  onChunk(seq: number, mediaMs: number, data: Uint8Array): void {
    this.append({ seq, mediaMs, data, offsetMs: this.mediaTotal });
    this.mediaTotal += mediaMs;
    this.ringBytes += data.byteLength;
    this.afterAppend();
  }

  onGap(seq: number): void {
    this.append({ seq, mediaMs: 0, data: undefined, offsetMs: this.mediaTotal });
    this.afterAppend();
  }

  onEnd(): void {
    this.ended = true;
    this.pumpAll();
  }

  /** Starts sending the channel to `sink`; returns the client id for detach(). */
  attach(sink: ClientSink): number {
    const id = this.nextId++;
    this.firstConnectAt ??= this.clock.now();
    const client: Client = {
      id,
      sink,
      nextSeq: this.startSeq(),
      connectedAt: this.clock.now(),
      firstByteAt: undefined,
      waitingDrain: false,
      done: false,
      bytes: 0,
      chunks: 0,
      discontinuities: 0,
      jumps: 0,
      peakQueued: 0,
    };
    this.clients.set(id, client);
    this.pump(client);
    return id;
  }

  detach(id: number): void {
    const c = this.clients.get(id);
    if (!c) return;
    c.done = true;
    this.clients.delete(id);
  }

  /** Ends every client's response (the channel is going away). */
  endAll(): void {
    for (const c of this.clients.values()) {
      c.done = true;
      if (!c.sink.destroyed) c.sink.end();
    }
    this.clients.clear();
  }

  stats(): LiveChannelStats {
    const first = this.ring[0];
    return {
      clients: [...this.clients.values()].map((c) => ({
        id: c.id,
        nextSeq: c.nextSeq,
        firstByteMs: c.firstByteAt === undefined ? undefined : c.firstByteAt - c.connectedAt,
        bytesOut: c.bytes,
        chunksOut: c.chunks,
        discontinuities: c.discontinuities,
        liveEdgeJumps: c.jumps,
        queuedBytes: c.sink.writableLength,
        peakQueuedBytes: c.peakQueued,
      })),
      clientsServed: this.nextId - 1,
      firstByteMs: this.firstByteAt === undefined || this.firstConnectAt === undefined ? undefined : this.firstByteAt - this.firstConnectAt,
      bytesOut: this.bytesOut,
      ringEntries: this.ring.length,
      ringBytes: this.ringBytes,
      ringMediaMs: first ? this.mediaTotal - first.offsetMs : 0,
      ended: this.ended,
    };
  }

  private append(e: Entry): void {
    const last = this.ring[this.ring.length - 1];
    if (last && e.seq <= last.seq) throw new RangeError(`live channel got seq ${e.seq} after ${last.seq}: the feed must be in order`);
    this.ring.push(e);
  }

  private afterAppend(): void {
    const maxMs = this.opts.ringMaxMs ?? CHANNEL_RING_MAX_MS;
    const maxBytes = this.opts.ringMaxBytes ?? CHANNEL_RING_MAX_BYTES;
    const maxEntries = this.opts.ringMaxEntries ?? CHANNEL_RING_MAX_ENTRIES;
    while (this.ring.length > 1) {
      const first = this.ring[0]!;
      if (this.ring.length <= maxEntries && this.ringBytes <= maxBytes && this.mediaTotal - first.offsetMs <= maxMs) break;
      this.ring.shift();
      this.ringBytes -= first.data?.byteLength ?? 0;
    }
    this.pumpAll();
  }

  private pumpAll(): void {
    for (const c of [...this.clients.values()]) this.pump(c);
  }

  /** Where a new (or jumping) client starts: the playhead, clamped to the ring. */
  private startSeq(): number | undefined {
    const first = this.ring[0];
    const last = this.ring[this.ring.length - 1];
    if (!first || !last) return undefined;
    const ph = this.source.playheadSeq();
    if (ph === undefined || ph < first.seq) return first.seq;
    return Math.min(ph, last.seq);
  }

  /** Index of the first ring entry with seq >= `seq` (ring.length when none). */
  private indexOf(seq: number): number {
    let lo = 0;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ring[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private pump(c: Client): void {
    if (c.done) return;
    if (c.sink.destroyed) return this.detach(c.id);
    const first = this.ring[0];
    if (!first) return;
    c.nextSeq ??= first.seq;
    let idx = this.indexOf(c.nextSeq);
    const behind = idx < this.ring.length ? this.mediaTotal - this.ring[idx]!.offsetMs : 0;
    const lagging = c.firstByteAt !== undefined && behind > (this.opts.maxClientLagMs ?? CLIENT_MAX_LAG_MS);
    if (c.nextSeq < first.seq || lagging) {
      const to = this.startSeq()!;
      this.opts.onWarning?.({
        code: 'slow-client',
        message: `live client ${c.id} fell behind (${c.nextSeq < first.seq ? 'out of the buffer' : `${behind} ms of media`}); jumping from ${c.nextSeq} to ${to}`,
      });
      c.nextSeq = to;
      c.jumps++;
      c.discontinuities++;
      idx = this.indexOf(to);
    }
    if (c.waitingDrain) return;
    if (c.firstByteAt === undefined && !this.ended) {
      const ahead = idx < this.ring.length ? this.mediaTotal - this.ring[idx]!.offsetMs : 0;
      if (ahead < this.source.prebufferMs || ahead === 0) return;
    }
    const maxQueue = this.opts.maxClientQueueBytes ?? CLIENT_MAX_QUEUE_BYTES;
    for (; idx < this.ring.length; idx++) {
      if (c.sink.writableLength >= maxQueue) {
        c.waitingDrain = true;
        c.sink.once('drain', () => {
          c.waitingDrain = false;
          this.pump(c);
        });
        break;
      }
      const e = this.ring[idx]!;
      if (e.data) {
        c.firstByteAt ??= this.clock.now();
        this.firstByteAt ??= c.firstByteAt;
        c.sink.write(e.data);
        c.bytes += e.data.byteLength;
        c.chunks++;
        this.bytesOut += e.data.byteLength;
        c.peakQueued = Math.max(c.peakQueued, c.sink.writableLength);
      } else {
        c.discontinuities++;
      }
      c.nextSeq = e.seq + 1;
    }
    if (this.ended && idx >= this.ring.length && !c.waitingDrain) {
      c.done = true;
      this.clients.delete(c.id);
      c.sink.end();
    }
  }
}
