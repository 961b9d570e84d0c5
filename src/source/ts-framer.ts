// Finds 188-byte TS packets in arbitrary byte blocks. Sync is acquired on a 0x47 confirmed by another
// 0x47 one packet later, then followed packet by packet; when a packet does not start with 0x47 the
// framer drops bytes until sync is acquired again, counting them. Blocks are not retained: packets are
// handed out as views valid only during the callback.

import { TS_PACKET_SIZE as P, TS_SYNC_BYTE as SYNC } from './ts-packets.js';

export interface FramerWarning {
  code: 'ts-resync' | 'ts-truncated';
  message: string;
}

export class TsPacketFramer {
  private carry: Buffer = Buffer.alloc(0);
  private locked = false;
  private skippedSinceLock = 0;
  private skipped = 0;
  private resyncs = 0;

  constructor(private readonly warn: (w: FramerWarning) => void = () => undefined) {}

  /** Bytes dropped as garbage (between packets, or a truncated packet at the end). */
  get skippedBytes(): number {
    return this.skipped;
  }

  /** Times sync was (re)acquired after skipping bytes. */
  get resyncCount(): number {
    return this.resyncs;
  }

  /** Calls `onPacket` for every whole packet the bytes complete. */
  push(block: Uint8Array, onPacket: (packet: Uint8Array) => void): void {
    const buf = this.carry.length === 0 ? block : Buffer.concat([this.carry, block]);
    const n = buf.length;
    let p = 0;
    for (;;) {
      if (!this.locked) {
        let q = p;
        while (q < n && !(buf[q] === SYNC && (q + P >= n || buf[q + P] === SYNC))) q++;
        this.noteSkipped(q - p);
        p = q;
        if (q + P >= n) break; // nothing found, or not confirmable yet: wait for more bytes
        this.acquireLock();
      }
      if (p + P > n) break;
      if (buf[p] !== SYNC) {
        this.locked = false;
        continue;
      }
      onPacket(buf.subarray(p, p + P));
      p += P;
    }
    this.carry = Buffer.from(buf.subarray(p));
  }

  /** End of input: a last unconfirmed packet is accepted, a partial one dropped (and counted). */
  flush(onPacket: (packet: Uint8Array) => void): void {
    if (this.carry.length >= P && this.carry[0] === SYNC) {
      if (!this.locked) this.acquireLock();
      onPacket(this.carry.subarray(0, P));
      this.carry = this.carry.subarray(P);
    }
    if (this.carry.length > 0) {
      this.warn({ code: 'ts-truncated', message: `dropped ${this.carry.length} trailing bytes (not a whole TS packet)` });
      this.noteSkipped(this.carry.length);
    }
    this.carry = Buffer.alloc(0);
    this.locked = false;
    this.skippedSinceLock = 0;
  }

  private noteSkipped(n: number): void {
    this.skipped += n;
    this.skippedSinceLock += n;
  }

  private acquireLock(): void {
    this.locked = true;
    if (this.skippedSinceLock > 0) {
      this.resyncs++;
      this.warn({ code: 'ts-resync', message: `skipped ${this.skippedSinceLock} bytes to find the next TS packet` });
      this.skippedSinceLock = 0;
    }
  }
}
