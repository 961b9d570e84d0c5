// The `web` object of `status --json`: where the page is served and how the owner set it up.
import type { PhoneStats } from './hls-routes.js';

export interface WebStatus {
  urls: string[];
  /** Addresses that could not be served (in use, not present). */
  errors: string[];
  ownerPasswordSet: boolean;
  viewersMayBrowse: boolean;
  viewersMaySwitch: boolean;
  viewersMayWatch: boolean;
  /** Pages following the live event stream. */
  eventClients: number;
  sessions: number;
  /** Phones watching in the page (HLS): see src/web/hls-routes.ts. */
  phones: PhoneStats;
}
