import { describe, expect, it } from 'vitest';
import { SendWindow } from '../../src/engine/send-window.js';
import { UploadQueue, type ServeRequest } from '../../src/engine/upload-queue.js';

const CHUNK = 100_000; // bytes: 0.5 s on a 1.6 Mbit/s uplink

/** A map showing `ids` (and nothing below baseId). */
const shows = (ids: number[], baseId = 0) => ({ baseId, has: (id: number) => ids.includes(id) });

/**
 * One sender behind a FIFO uplink of `uplinkBps` feeding a single receiver whose maps confirm each
 * chunk `mapDelayMs` after it arrived. Requests are always waiting (the window is the limit).
 */
function simulate(uplinkBps: number, mapDelayMs: number, seconds: number) {
  const w = new SendWindow({ targetMs: 300, ackTimeoutMs: 10_000, maxChunks: 32 });
  let linkFreeAt = 0;
  let id = 0;
  const pending: Array<{ id: number; ackAt: number }> = [];
  let maxQueueMs = 0;
  for (let now = 0; now < seconds * 1000; now += 10) {
    // Acknowledge what the receiver's maps show by now.
    const due = pending.filter((p) => p.ackAt <= now);
    for (const p of due) w.onMap('r', shows([p.id]), p.ackAt);
    pending.splice(0, due.length);
    while (w.open()) {
      const start = Math.max(now, linkFreeAt);
      maxQueueMs = Math.max(maxQueueMs, start - now);
      linkFreeAt = start + (CHUNK * 8000) / uplinkBps;
      w.onSent('r', id, CHUNK, now);
      pending.push({ id, ackAt: linkFreeAt + mapDelayMs });
      id++;
    }
    w.markLimited();
  }
  return { w, maxQueueMs, chunks: id };
}

describe('send window (LEDBAT-style, acknowledged by buffer maps)', () => {
  it('measures the uplink behind a queue: its rate within 25 %, the queue kept near the target', () => {
    for (const bps of [800_000, 1_600_000, 4_000_000]) {
      const { w, maxQueueMs, chunks } = simulate(bps, 100, 60);
      const delivered = (chunks * CHUNK * 8) / 60;
      expect(delivered, `${bps} bit/s: the uplink is kept busy`).toBeGreaterThan(bps * 0.85);
      expect(w.rateBps, `${bps} bit/s: measured rate`).toBeGreaterThan(bps * 0.75);
      expect(w.rateBps, `${bps} bit/s: measured rate`).toBeLessThan(bps * 1.25);
      // What waits in front of the uplink (the kernel's send buffer, in a real node) stays within
      // the target plus one chunk's transmission — not seconds.
      expect(maxQueueMs, `${bps} bit/s: queue in front of the uplink`).toBeLessThanOrEqual(300 + (2 * CHUNK * 8000) / bps);
    }
  });

  it('a chunk is in flight until a map received after the send shows it (or its window moved past it)', () => {
    const w = new SendWindow({ targetMs: 300, ackTimeoutMs: 10_000, maxChunks: 32 });
    w.onSent('a', 5, CHUNK, 1000);
    w.onSent('a', 6, CHUNK, 1000);
    w.onMap('a', shows([5, 6]), 900); // an older map: confirms nothing
    expect(w.inFlightBytes).toBe(2 * CHUNK);
    w.onMap('a', shows([5], 0), 1400);
    expect(w.inFlightBytes).toBe(CHUNK);
    w.onMap('a', shows([], 7), 1600); // its window slid past 6
    expect(w.inFlightBytes).toBe(0);
    expect(w.smoothedDelayMs).toBeGreaterThan(400);
  });

  it('a chunk never confirmed counts as lost: the window shrinks; a partner gone takes its chunks along', () => {
    const w = new SendWindow({ targetMs: 300, ackTimeoutMs: 5000, maxChunks: 32 });
    for (let i = 0; i < 8; i++) {
      w.onSent('a', i, CHUNK, i * 100);
      w.markLimited();
      w.onMap('a', shows([i]), i * 100 + 50);
    }
    const before = w.window;
    w.onSent('a', 100, CHUNK, 1000);
    w.onSent('b', 101, CHUNK, 1000);
    w.expire(6500);
    expect(w.losses).toBe(2);
    expect(w.window).toBeLessThan(before);
    w.onSent('c', 102, CHUNK, 7000);
    w.dropPeer('c');
    expect(w.inFlightBytes).toBe(0);
  });
});

describe('upload queue behind a send window', () => {
  const req = (peerId: string, chunkId: number): ServeRequest<string> => ({ peer: peerId, peerId, chunkId, bytes: CHUNK });

  it('holds requests back while the window is full, and refuses one the measured rate cannot serve in time', () => {
    const w = new SendWindow({ targetMs: 300, ackTimeoutMs: 10_000, maxChunks: 32 });
    const q = new UploadQueue<string>({ uploadBps: 0, maxServeQueueMs: 500, slotsPerPartner: 4, unpacedSlotMs: 1000, gate: w });
    const sent: number[] = [];
    const send = (r: ServeRequest<string>) => {
      sent.push(r.chunkId);
      w.onSent(r.peerId, r.chunkId, r.bytes, 0);
      return r.bytes;
    };
    for (const [i, p] of ['a', 'b', 'c', 'd', 'e'].entries()) q.offer(req(p, i), 0, () => {});
    q.drain(0, send, () => {});
    // Two chunks (the first window) leave; the rest wait here, not in the transport.
    expect(sent).toEqual([0, 1]);
    // Confirmed after 1 s: the window now has a rate (0.8 Mbit/s, then more) and sends on.
    w.onMap('a', shows([0]), 1000);
    w.onMap('b', shows([1]), 1000);
    expect(w.rateBps).toBeGreaterThan(800_000);
    q.drain(1000, send, () => {});
    expect(sent.length).toBeGreaterThan(2);
    // The queue now holds more than three chunk times at the measured rate: a new request is refused.
    for (let i = 0; i < 6; i++) q.offer(req(`x${i}`, 10 + i), 1000, () => {});
    expect(q.offer(req('late', 20), 1000, () => {})).toBe('busy-uplink');
  });
});
