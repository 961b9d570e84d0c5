// Download content ids and the SHA-256 checks behind them: a content id is `dl-` + the hex SHA-256 of
// its manifest's canonical bytes, so a manifest from any peer is verified against the id the user
// typed, and each piece against its hash in that manifest (the engine's DownloadVerifier port).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { DownloadVerifier, UnreadableManifest } from '../engine/download-ports.js';
import { decodeManifest, pieceHash, type Manifest } from '../protocol/manifest.js';

export const DOWNLOAD_ID_PREFIX = 'dl-';
const DOWNLOAD_ID_RE = /^dl-[0-9a-f]{64}$/;

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The content id of manifest bytes. */
export function contentIdOf(manifestBytes: Uint8Array): string {
  return DOWNLOAD_ID_PREFIX + sha256(manifestBytes).toString('hex');
}

export function isDownloadId(s: string): boolean {
  return DOWNLOAD_ID_RE.test(s);
}

/** Whether bytes are the manifest of `contentId` (they hash to it), whether or not this box can read them. */
export function manifestHashesTo(contentId: string, bytes: Uint8Array): boolean {
  return contentIdOf(bytes) === contentId;
}

/**
 * The manifest of `contentId` in `bytes`; a reason when they are not its manifest; `unreadable` when
 * they are (they hash to the id) but do not decode here — a newer manifest version: the content
 * cannot be fetched by this box, and whoever sent them sent the right bytes.
 */
export function verifyManifest(contentId: string, bytes: Uint8Array): Manifest | string | UnreadableManifest {
  const actual = contentIdOf(bytes);
  if (actual !== contentId) return `manifest hashes to ${actual}, not ${contentId}`;
  try {
    return decodeManifest(bytes);
  } catch (err) {
    return { unreadable: (err as Error).message };
  }
}

export function pieceMatches(manifest: Manifest, index: number, data: Uint8Array): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= manifest.pieceCount) return false;
  return timingSafeEqual(sha256(data), pieceHash(manifest, index));
}

export class Sha256Verifier implements DownloadVerifier {
  manifest(contentId: string, bytes: Uint8Array): Manifest | string | UnreadableManifest {
    return verifyManifest(contentId, bytes);
  }

  piece(manifest: Manifest, index: number, data: Uint8Array): boolean {
    return pieceMatches(manifest, index, data);
  }
}
