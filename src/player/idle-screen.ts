// The TV's idle screen: while no channel plays, mpv shows the device's name, its network
// address(es) and the channels it could play, drawn by mpv's own OSD (`osd-overlay` with ASS text).
//
// mpv runs with `--idle=yes --force-window=yes`, so on a TV (`--vo=gpu`, DRM/KMS) there is a black
// window to draw on while nothing plays; the overlay lives in mpv's OSD layer, costs no decoding,
// and needs no fonts or tools besides mpv's libass. The screen is refreshed every `refreshMs` (the
// channel list from the tracker, the addresses from the interfaces) and redrawn only when its text
// changed, removed when a channel starts and drawn again on stop and after an mpv restart (a new
// mpv has no overlays).
//
// mpv answers `osd-overlay … compute_bounds=yes` with the rectangle libass laid the text out in,
// even with `--vo=null`: that is what status and tests use to know the text was really rendered.
import { networkInterfaces } from 'node:os';
import type { Logger } from '../platform/logger.js';
import type { MpvPlayer, OverlayBounds } from './mpv-process.js';

/** Overlay id (mpv keeps one overlay per id and client). */
export const IDLE_OVERLAY_ID = 1;
/** How often the idle screen's contents are gathered again while it shows. */
export const IDLE_REFRESH_MS = 5000;
/** ASS canvas the layout is written for; mpv scales it to the screen. */
export const IDLE_RES = { x: 1920, y: 1080 } as const;
/** At most this many channel names are listed; the rest is counted. */
export const IDLE_MAX_CHANNELS = 12;

export interface IdleInfo {
  /** Device name (config node.name, else the host name). */
  name: string;
  /** Addresses to reach the box at (e.g. "192.168.1.20 (eth0)"); empty when it has none. */
  addresses: string[];
  /** Live channel names, or why they are unknown. */
  channels: string[] | { error: string };
  /** The web page's address and, over HTTPS, its certificate's SHA-256 fingerprint (to compare with the browser's). */
  web?: { url: string; fingerprint?: string };
}

export interface IdleScreenStatus {
  /** The overlay is on the screen now (mpv acknowledged it and nothing plays). */
  shown: boolean;
  /** The text lines of the last screen drawn (shown or not). */
  lines: string[];
  /** Where libass put the text on the 1920x1080 canvas, as mpv reported it. */
  bounds: OverlayBounds | null;
  /** Times the overlay was (re)drawn. */
  draws: number;
  updatedAt: string | null;
}

/** The screen's lines as plain text, in the order drawn. */
export function idleLines(info: IdleInfo): string[] {
  const lines = [info.name, info.addresses.length ? info.addresses.join('   ') : 'no network connection', 'Nothing playing'];
  if (Array.isArray(info.channels)) {
    if (info.channels.length === 0) lines.push('No channels available yet');
    else {
      const shown = info.channels.slice(0, IDLE_MAX_CHANNELS);
      const more = info.channels.length - shown.length;
      lines.push(`Channels: ${shown.join(' · ')}${more > 0 ? ` (+${more} more)` : ''}`);
    }
  } else lines.push(`Channels unknown: ${info.channels.error}`);
  lines.push('superdist play CHANNEL');
  if (info.web) {
    lines.push(`Web page: ${info.web.url}`);
    const f = info.web.fingerprint;
    // 32 bytes in two rows of 16, to fit the screen's width.
    if (f) lines.push(`Certificate SHA-256: ${f.slice(0, 47)}`, f.slice(48));
  }
  return lines;
}

/** Text as ASS shows it literally: no override blocks, no escapes, no line breaks. */
export function assEscape(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/\\/g, '\\\u2060')
    .replace(/\{/g, '\\{')
    .replace(/\}/g, '\\}');
}

/** The ASS event text of the idle screen (one event, centred; the name large). */
export function idleAss(lines: string[]): string {
  const [name = '', address = '', ...rest] = lines.map(assEscape);
  const body = rest.map((l, i) => (i === rest.length - 1 ? `{\\fs32\\c&H909090&}${l}` : `{\\fs40\\c&HFFFFFF&}${l}`));
  return `{\\an5\\pos(960,540)\\bord2\\shad0\\fs96\\b1\\c&HFFFFFF&}${name}{\\b0}\\N{\\fs48\\c&H80D0FF&}${address}\\N\\N${body.join('\\N')}`;
}

/** Non-loopback addresses of this machine's interfaces (IPv4, and IPv6 that is not link-local). */
export function hostAddresses(ifaces = networkInterfaces()): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(ifaces)) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && /^fe80:/i.test(a.address)) continue;
      out.push(`${a.address} (${name})`);
    }
  }
  return out;
}

export interface IdleScreenOptions {
  player: MpvPlayer;
  /** What to show; called on every refresh. */
  gather: () => Promise<IdleInfo>;
  log: Logger;
  refreshMs?: number;
}

export class IdleScreen {
  private playing = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private lastAss: string | undefined;
  private st: IdleScreenStatus = { shown: false, lines: [], bounds: null, draws: 0, updatedAt: null };
  private refreshing: Promise<void> | undefined;

  constructor(private readonly o: IdleScreenOptions) {
    o.player.on('restarted', () => {
      // The new mpv has no overlay: draw again.
      this.lastAss = undefined;
      this.st.shown = false;
      if (!this.playing) void this.refresh();
    });
  }

  /** Shows the screen (unless a channel plays) and keeps it fresh. */
  start(): Promise<void> {
    this.timer ??= setInterval(() => void this.refresh(), this.o.refreshMs ?? IDLE_REFRESH_MS);
    this.timer.unref?.();
    return this.refresh();
  }

  /** A channel starts (the screen goes) or stops (it comes back). */
  async setPlaying(playing: boolean): Promise<void> {
    this.playing = playing;
    if (playing) await this.hide();
    else await this.refresh();
  }

  status(): IdleScreenStatus {
    return { ...this.st, lines: [...this.st.lines] };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gathers and draws once (concurrent calls share one run). */
  refresh(): Promise<void> {
    this.refreshing ??= this.draw().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async draw(): Promise<void> {
    if (this.playing || this.closed) return;
    let info: IdleInfo;
    try {
      info = await this.o.gather();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'idle screen: cannot gather what to show');
      return;
    }
    const lines = idleLines(info);
    const ass = idleAss(lines);
    // Checked after the await: a channel may have started meanwhile, and then nothing is drawn.
    if (this.playing || this.closed || !this.o.player.running) return;
    if (ass === this.lastAss && this.st.shown) return;
    try {
      const bounds = await this.o.player.overlay(IDLE_OVERLAY_ID, ass, IDLE_RES.x, IDLE_RES.y);
      if (this.playing) return; // hide() went out after this draw and wins
      this.lastAss = ass;
      this.st = { shown: true, lines, bounds: bounds ?? null, draws: this.st.draws + 1, updatedAt: new Date().toISOString() };
      this.o.log.debug({ lines }, 'idle screen drawn');
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'idle screen: mpv refused the overlay');
    }
  }

  private async hide(): Promise<void> {
    this.lastAss = undefined;
    this.st.shown = false;
    if (!this.o.player.running) return;
    try {
      await this.o.player.removeOverlay(IDLE_OVERLAY_ID);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'idle screen: could not remove the overlay');
    }
  }
}
