// The update agent's status as `superdist update status`, the control API and the owner page see it.
import type { Slot } from './boot-loader.js';

export const UPDATE_PHASES = ['idle', 'found', 'downloading', 'verifying', 'writing', 'trial-boot', 'health-check', 'committed', 'rolled-back'] as const;
export type UpdatePhase = (typeof UPDATE_PHASES)[number];

/** A bundle seen on the update channel. */
export interface UpdateOffer {
  contentId: string;
  version: string;
  hardware: string;
  sizeBytes: number;
}

export interface UpdateResult {
  result: 'committed' | 'rolled-back' | 'refused' | 'failed';
  version: string;
  /** ms since the epoch. */
  at: number;
  reason: string;
}

export interface UpdateStatus {
  enabled: boolean;
  phase: UpdatePhase;
  runningVersion: string;
  hardware: string;
  bootLoader: string;
  currentSlot: Slot | null;
  held: boolean;
  auto: boolean;
  offer: UpdateOffer | null;
  /** The bundle's download, 0..1, while downloading. */
  progress: number | null;
  last: UpdateResult | null;
  /** Health check after the trial boot: when it gives up (ms since the epoch). */
  healthDeadline: number | null;
}

export function formatUpdateStatus(s: UpdateStatus): string {
  const lines = [
    `running ${s.runningVersion} on ${s.hardware}, slot ${s.currentSlot ?? '?'} (${s.bootLoader})`,
    `phase ${s.phase}${s.held ? ' (held)' : ''}${s.auto ? '' : ' (installs on apply)'}`,
  ];
  if (s.offer) lines.push(`bundle ${s.offer.version} (${s.offer.sizeBytes} bytes) ${s.offer.contentId}${s.progress !== null ? ` ${(s.progress * 100).toFixed(0)} %` : ''}`);
  if (s.healthDeadline !== null) lines.push(`health check until ${new Date(s.healthDeadline).toISOString()}`);
  if (s.last) lines.push(`last: ${s.last.result} ${s.last.version} at ${new Date(s.last.at).toISOString()}: ${s.last.reason}`);
  if (!s.enabled) lines.push('the update agent is off (update.enabled)');
  return lines.join('\n');
}
