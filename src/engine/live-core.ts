// What the parts of one live content share (the fetching side, the serving side and their glue): the
// plane's core (plane/plane-core.ts) with live tunables and counters, the listener and the current
// buffer (replaced when the budget is re-split).
import type { ChunkBuffer } from './chunk-buffer.js';
import type { LiveConfig } from './live-config.js';
import type { LiveEvents } from './live-ports.js';
import type { LiveCounters } from './live-stats.js';
import type { PlaneCore, PlaneEnginePort } from './plane/plane-core.js';

/** The part of PeerEngine the live data plane uses. */
export type LiveEnginePort = PlaneEnginePort;

export interface LiveCore extends PlaneCore<LiveConfig, LiveCounters, LiveEnginePort> {
  readonly events: LiveEvents | undefined;
  /** The content's buffer (a new object after a budget re-split). */
  buffer: ChunkBuffer;
}
