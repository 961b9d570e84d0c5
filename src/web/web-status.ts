// The `web` object of `status --json`: where the page is served and how the owner set it up.
export interface WebStatus {
  urls: string[];
  /** Addresses that could not be served (in use, not present). */
  errors: string[];
  ownerPasswordSet: boolean;
  viewersMayBrowse: boolean;
  viewersMaySwitch: boolean;
  /** Pages following the live event stream. */
  eventClients: number;
  sessions: number;
}
