// Playback clocks for tests of the player side (src/player/live-output.ts follows one).
import type { ChunkRecord } from '../../src/engine/chunk-buffer.js';
import { Playback } from '../../src/engine/playback.js';
import type { LiveOutput, PlaybackSchedule } from '../../src/player/live-output.js';

/**
 * A clock that starts when the output first asks: the chunk it asks for is due `prebufferMs` later
 * (as the engine's playhead holds its prebuffer), each later one chunkMs after the one before.
 */
export function clockFromFirstAsk(chunkMs: number, prebufferMs = 0): PlaybackSchedule {
  let start: number | undefined;
  return {
    dueAt(seq) {
      start ??= Date.now() + prebufferMs - seq * chunkMs;
      return start + seq * chunkMs;
    },
  };
}

/**
 * The engine's playhead (a real Playback, as a viewer runs it) feeding `output`: arrive() is a chunk
 * stored in the node's buffer, tick() moves the playhead (it also runs every 100 ms until stop()).
 */
export function enginePlayhead(chunkMs: number, prebufferMs: number): {
  playback: Playback;
  attach(output: LiveOutput): void;
  arrive(id: number, data: Uint8Array): void;
  stop(): void;
} {
  const playback = new Playback({ chunkMs, prebufferMs });
  const held = new Map<number, ChunkRecord>();
  let out: LiveOutput | undefined;
  const sink = {
    ready: (c: ChunkRecord) => out?.push(c.id, chunkMs, c.data),
    skipped: (id: number) => out?.skip(id),
    started: () => out?.clockMoved(),
  };
  const tick = () => playback.advance(Date.now(), (i) => held.get(i), sink);
  const timer = setInterval(tick, 100);
  return {
    playback,
    attach: (o) => {
      out = o;
    },
    arrive(id, data) {
      if (playback.firstId === undefined) playback.join(id, Date.now());
      held.set(id, { id, timestampMs: 0, data, signature: new Uint8Array(0) });
      tick();
    },
    stop: () => clearInterval(timer),
  };
}
