// Downloads a main node relays into its segment (thesis §4.3.2: a film shared over the segment while
// it still downloads). A download id the segment wants (a local node joined it at the local tracker)
// is fetched into STATE_DIR/downloads/<id> through the bridged engine, so every piece that arrives
// over the uplink is served to local nodes at once; several main nodes split the pieces by the
// shared-uplink plan (piece index ≡ i mod k). When the segment no longer wants it, a download still
// in progress is stopped (its .part and record stay, to resume if asked again); a complete file stays
// seeded, so the next local node gets it from the segment alone.
import type { DownloadNode } from '../download-node.js';
import type { Logger } from '../platform/logger.js';

export class DownloadRelay {
  /** Downloads this relay started (a box's own downloads are never stopped here). */
  private readonly started = new Set<string>();

  constructor(
    private readonly downloads: DownloadNode,
    private readonly log: Logger,
  ) {}

  get contents(): string[] {
    return [...this.started];
  }

  start(contentId: string, title: string): void {
    if (this.downloads.active(contentId)) return;
    this.started.add(contentId);
    this.downloads.fetchToStateDir(contentId, title, 'main node: relaying a download from the uplink into the segment');
  }

  stop(contentId: string): void {
    if (!this.started.delete(contentId)) return;
    const st = this.downloads.contentStatus(contentId);
    if (!st || st.state === 'seeding') return;
    this.downloads.remove(contentId);
    this.log.info({ contentId, piecesVerified: st.piecesVerified, pieces: st.pieces }, 'main node: the segment no longer wants a download; stopped (its pieces are kept to resume)');
  }
}
