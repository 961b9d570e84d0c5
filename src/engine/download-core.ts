// What the parts of one download content share (fetching side, serving side, their glue): identity,
// tunables, time, counters, partners and their maps, the manifest and store once known, and a
// counting send. Also the part of PeerEngine the download plane uses, as a port.
import type { Manifest } from '../protocol/manifest.js';
import type { MemberInfo, Message } from '../protocol/messages.js';
import type { RemoteBufferMap } from './buffer-map.js';
import type { DownloadConfig } from './download-config.js';
import type { DownloadEvents, PieceStore } from './download-ports.js';
import type { DownloadCounters } from './download-stats.js';
import type { LivePartners } from './live-partners.js';
import type { Clock, Destination, PartnerAddress, PeerAddress, Random } from './ports.js';

/** The part of PeerEngine the download data plane uses. */
export interface DownloadEnginePort {
  readonly peerId: string;
  /** Changes whenever partnerships change (optional: without it the list is re-read every tick). */
  readonly partnersVersion?: number;
  partnersOf(contentId: string): PartnerAddress[];
  isPartner(contentId: string, peerId: string): boolean;
  dropPartner(contentId: string, peerId: string, reason: string, blockMs?: number): void;
  knownMembers(contentId?: string): MemberInfo[];
  send(to: Destination, msg: Message): boolean;
}

export interface DownloadCore {
  readonly contentId: string;
  readonly selfId: string;
  readonly config: DownloadConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly counters: DownloadCounters;
  /** The data plane's view of the content's partners (LivePartners is plane-neutral). */
  readonly partners: LivePartners;
  readonly maps: RemoteBufferMap;
  readonly engine: DownloadEnginePort;
  readonly events: DownloadEvents | undefined;
  manifest: Manifest | undefined;
  manifestBytes: Uint8Array | undefined;
  store: PieceStore | undefined;
  /** Sends through the engine, counting the encoded bytes; returns them (0: dropped). */
  send(to: Destination, msg: Message): number;
}
