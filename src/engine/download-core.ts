// What the parts of one download content share (fetching side, serving side, their glue): the plane's
// core (plane/plane-core.ts) with download tunables and counters, the listener, and the manifest and
// store once known. The download plane also asks the engine for the content's known members (a
// manifest may come from any of them).
import type { Manifest } from '../protocol/manifest.js';
import type { MemberInfo } from '../protocol/messages.js';
import type { Destination } from './ports.js';
import type { DownloadConfig } from './download-config.js';
import type { DownloadEvents, PieceStore } from './download-ports.js';
import type { DownloadCounters } from './download-stats.js';
import type { PlaneCore, PlaneEnginePort } from './plane/plane-core.js';

/** The part of PeerEngine the download data plane uses. */
export interface DownloadEnginePort extends PlaneEnginePort {
  knownMembers(contentId?: string): MemberInfo[];
  /** Where the tracker is, while it may be a peer (one that is keeps download manifests); undefined for none, or one that answers joins only. */
  trackerDestination?(): Destination | undefined;
}

export interface DownloadCore extends PlaneCore<DownloadConfig, DownloadCounters, DownloadEnginePort> {
  readonly events: DownloadEvents | undefined;
  manifest: Manifest | undefined;
  manifestBytes: Uint8Array | undefined;
  store: PieceStore | undefined;
}
