// The engine's notifications as log lines (the service's EngineEvents).
import type { EngineEvents } from '../engine/ports.js';
import type { Logger } from './logger.js';

export function engineLogEvents(log: Logger): EngineEvents {
  return {
    partnerAdded: (contentId, peerId) => log.info({ contentId, peerId }, 'partner added'),
    partnerRemoved: (contentId, peerId, reason) => log.info({ contentId, peerId, reason }, 'partner removed'),
    memberExpired: (peerId) => log.info({ peerId }, 'member expired'),
    // One per redirected join: debug, or a busy tracker writes megabytes of it.
    redirected: (contentId, deputy) => log.debug({ contentId, deputy }, 'redirected to deputy'),
    warning: (w) => log.warn(w, w.message),
  };
}
