// The node a simulated swarm's content comes from (the live source, the film's seed): attached at
// the centre of the network with its own uplink, its PeerEngine reaching the simulator's tracker.
import type { EngineConfig } from '../engine/engine-config.js';
import { PeerEngine } from '../engine/peer-engine.js';
import type { Contact } from '../protocol/messages.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimNetwork } from './sim-network.js';
import type { VirtualClock } from './virtual-clock.js';

export interface SimOriginDeps {
  clock: VirtualClock;
  network: SimNetwork;
  random: SeededRandom;
  engineConfig: EngineConfig;
  trackerContact: Contact;
}

export function simOrigin(
  deps: SimOriginDeps,
  o: { peerId: string; host: string; role: 'source' | 'node'; uploadBps: number; engine?: Partial<EngineConfig> },
): PeerEngine {
  const contact = { host: o.host, port: 7000 };
  let engine: PeerEngine | undefined;
  const transport = deps.network.addNode(
    o.peerId,
    contact,
    { receive: (from, msg) => engine?.receive(from, msg), peerDisconnected: (id) => engine?.peerDisconnected(id) },
    { uploadBps: o.uploadBps, position: { x: 0.5, y: 0.5 } },
  );
  engine = new PeerEngine({
    self: { peerId: o.peerId, contact, role: o.role },
    clock: deps.clock,
    random: deps.random.fork(),
    transport,
    config: { ...deps.engineConfig, ...o.engine },
    tracker: deps.trackerContact,
  });
  return engine;
}
