// A PeerEngine for unit tests: peer `peerId` (contact contactOf(peerId), role 'node') on a
// ManualClock, sending into a RecordingTransport, with seeded randomness.
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { PeerEngine, type PeerEngineDeps } from '../../src/engine/peer-engine.js';
import type { Reachability } from '../../src/protocol/messages.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import { ManualClock, RecordingTransport, contactOf } from './engine-fakes.js';

export interface TestEngineOptions extends Partial<Omit<PeerEngineDeps, 'self' | 'clock' | 'random' | 'transport'>> {
  /** Seed of its SeededRandom. */
  seed: number;
  peerId?: string;
  /** A clock shared with other engines (default: a new one at 0). */
  clock?: ManualClock;
  /** Its own reachability (what the node's reachability test would have found). */
  reachability?: Reachability;
}

export function testEngine(o: TestEngineOptions): { e: PeerEngine; clock: ManualClock; transport: RecordingTransport } {
  const { seed, peerId = 'me', clock = new ManualClock(0), config = DEFAULT_ENGINE_CONFIG, reachability, ...rest } = o;
  const transport = new RecordingTransport();
  const e = new PeerEngine({
    self: { peerId, contact: contactOf(peerId), role: 'node', ...(reachability ? { reachability } : {}) },
    clock,
    random: new SeededRandom(seed),
    transport,
    config,
    ...rest,
  });
  return { e, clock, transport };
}
