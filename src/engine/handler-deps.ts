// What the overlay's message handlers (partnership-handler.ts, membership-handler.ts) work on.
import type { Message } from '../protocol/messages.js';
import type { Destination } from './ports.js';
import type { EngineConfig } from './engine-config.js';
import type { EngineStats } from './engine-stats.js';
import type { MemberCache } from './membership.js';
import type { PartnerCache } from './partnership.js';
import type { MemberScheduler } from './member-scheduler.js';

export interface OverlayHandlerDeps {
  selfId: string;
  config: EngineConfig;
  stats: EngineStats;
  members: MemberCache;
  partners: PartnerCache;
  scheduler: MemberScheduler;
  /** The engine's counting send; false when dropped. */
  send: (to: Destination, msg: Message) => boolean;
}
