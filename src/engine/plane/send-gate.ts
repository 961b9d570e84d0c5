// The plane's send window (send-window.ts), the same for every kind of content: an unpaced upload
// queue sends through it, so chunks wait in our queue — where a request can still be refused or
// served before an older one — rather than in the kernel's send buffer and a home router's queue
// behind a slow uplink. Receivers' buffer maps acknowledge what we sent them.
import { SendWindow } from '../send-window.js';
import { UploadQueue, type UploadQueueOptions } from '../upload-queue.js';
import type { PeerAddress } from '../ports.js';
import type { PlaneCore } from './plane-core.js';

/** A served chunk its receiver's maps never show within this long counts as lost. */
const SEND_ACK_TIMEOUT_MS = 10_000;
/** Largest send window, in chunks. */
const SEND_WINDOW_MAX_CHUNKS = 32;

/** A send window aiming at `targetMs` of queueing delay; none (chunks leave at once) at 0. */
export function sendWindowFor(targetMs: number): SendWindow | undefined {
  return targetMs > 0 ? new SendWindow({ targetMs, ackTimeoutMs: SEND_ACK_TIMEOUT_MS, maxChunks: SEND_WINDOW_MAX_CHUNKS }) : undefined;
}

/** The tunables every plane's upload queue reads. */
export interface UploadTunables {
  sendTargetDelayMs: number;
  uploadBps: number;
  maxServeQueueMs: number;
  uploadSlotsPerPartner: number;
}

/**
 * A plane's serving queue and the send window it sends through (none when sendTargetDelayMs is 0);
 * `rules` are the kind's own (pacing slots, the newest-chunk share, what a full queue displaces).
 */
export function planeUploads(
  c: UploadTunables,
  rules: Pick<UploadQueueOptions<PeerAddress>, 'unpacedSlotMs' | 'newestSharePct' | 'displaceable'>,
): { window: SendWindow | undefined; uploads: UploadQueue<PeerAddress> } {
  const window = sendWindowFor(c.sendTargetDelayMs);
  const uploads = new UploadQueue<PeerAddress>({ gate: window, uploadBps: c.uploadBps, maxServeQueueMs: c.maxServeQueueMs, slotsPerPartner: c.uploadSlotsPerPartner, ...rules });
  return { window, uploads };
}

/** A partner's latest map acknowledges the chunks it shows. */
export function acknowledgeMap(core: PlaneCore, window: SendWindow, peerId: string): void {
  const map = core.maps.get(peerId);
  const at = core.maps.receivedAtMs(peerId);
  if (map && at !== undefined) window.onMap(peerId, map, at);
}

/** Every partner's latest map acknowledges the chunks it shows; chunks never shown in time count as lost. */
export function acknowledgeMaps(core: PlaneCore, window: SendWindow, now: number): void {
  for (const peerId of core.partners.ids) acknowledgeMap(core, window, peerId);
  window.expire(now);
}
