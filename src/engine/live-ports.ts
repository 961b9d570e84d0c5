// The live data plane's windows on the world besides the engine's ports: chunk verification (the
// source's signature in production, a pattern check in the simulator) and typed events to the
// player side. Both injected; the data plane never does crypto or I/O itself.
import type { ChunkRecord } from './chunk-buffer.js';

export type { ChunkRecord } from './chunk-buffer.js';

/** Checks a received chunk before it is stored or forwarded. Must not throw (a throw counts as false). */
export interface ChunkVerifier {
  verify(contentId: string, chunk: ChunkRecord): boolean;
}

/** Notifications out of the live data plane (all optional; a throwing listener is ignored). */
export interface LiveEvents {
  /** In id order, each id once, as soon as it is contiguous from the playhead. */
  chunkReady?(contentId: string, chunk: ChunkRecord): void;
  /** Its playback deadline passed while it was missing; the playhead moved past it. */
  chunkSkipped?(contentId: string, chunkId: number): void;
  /** A partner sent a chunk that failed verification: it was dropped and blacklisted. */
  badChunk?(contentId: string, peerId: string, chunkId: number, reason: string): void;
  /** Playback started (prebuffer held, or prebufferMs after the first chunk). */
  playbackStarted?(contentId: string, firstChunkId: number): void;
}
