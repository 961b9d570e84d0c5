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
  /**
   * The page's HTTPS certificate (src/web/box-certificate.ts), absent when the page is plain HTTP:
   * its SHA-256 fingerprint is what the owner compares with the browser's on a first visit.
   */
  https?: { fingerprint: string; spkiSha256: string; notAfter: string; selfSigned: boolean; plainHttp: 'redirect' | 'viewer'; warnings: string[] };
}
