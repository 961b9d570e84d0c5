// The channel catalogue a main node shows the segment: local nodes resolve channel names at the local
// tracker (ContentsReq), and the names live at the central tracker. This cache asks the central
// tracker (over the uplink) at most every refreshMs and answers from what it holds, merged with the
// local tracker's own entries.
import type { Contact, ContentInfo } from '../protocol/messages.js';
import { WireLimits } from '../protocol/messages.js';
import { queryContents } from '../net/contents-query.js';

export class CentralCatalogue {
  private entries: ContentInfo[] = [];
  private fetchedAt = -Infinity;
  private inFlight: Promise<void> | undefined;
  lastError = '';

  constructor(
    private readonly central: Contact | undefined,
    private readonly refreshMs: number,
    private readonly query: (target: Contact, word: string) => Promise<ContentInfo[]> = queryContents,
  ) {}

  /** Entries matching `word` (title or id, case-insensitive), refreshed first when stale. */
  async search(word: string, local: readonly ContentInfo[], now: () => number): Promise<ContentInfo[]> {
    if (this.central && now() - this.fetchedAt >= this.refreshMs) {
      this.inFlight ??= this.query(this.central, '')
        .then((list) => {
          this.entries = list;
          this.lastError = '';
        })
        .catch((err: Error) => {
          this.lastError = err.message;
        })
        .finally(() => {
          this.fetchedAt = now();
          this.inFlight = undefined;
        });
      await this.inFlight;
    }
    const w = word.toLowerCase();
    const seen = new Set<string>();
    const out: ContentInfo[] = [];
    for (const c of [...local, ...this.entries]) {
      if (seen.has(c.contentId)) continue;
      // the local tracker titles unknown contents with their id; the central entry has the real name
      const better = this.entries.find((e) => e.contentId === c.contentId) ?? c;
      if (w !== '' && !better.contentId.toLowerCase().includes(w) && !better.title.toLowerCase().includes(w)) continue;
      seen.add(c.contentId);
      out.push({ ...better });
    }
    return out.slice(0, WireLimits.maxContents);
  }
}
