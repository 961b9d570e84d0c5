// What the benchmarks share to start: `--name value` arguments, and the scripts that run WebTorrent
// peers (lib/webtorrent-*.mjs, each under `node --import NO_WEBRTC`: TCP only, no WebRTC).
import { fileURLToPath } from 'node:url';

/** The value after `--name` on the command line, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] as string) : dflt;
}

const lib = (p: string) => fileURLToPath(new URL(p, import.meta.url));
export const NO_WEBRTC = lib('./no-webrtc.mjs');
export const WT_TRACKER = lib('./webtorrent-tracker.mjs');
export const WT_PEER = lib('./webtorrent-peer.mjs');
