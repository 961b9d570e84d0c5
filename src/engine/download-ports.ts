// The download data plane's windows on the world besides the engine's ports: where pieces live (a
// PieceStore: the .part file and its record, or a complete file), how manifests and pieces are
// checked (hashing is not the engine's job), and typed events. All injected; the data plane does
// no I/O and no crypto itself. Stores are synchronous (the box reads and writes local disk).
import type { Manifest } from '../protocol/manifest.js';
import type { PeerAddress } from './ports.js';

/**
 * Why a store failed. 'disk-full' covers ENOSPC and EDQUOT; 'conflict': the output path holds
 * something else (another download's parts, a different file, another writer).
 */
/** How a download fails: its store ('disk-full', 'io', 'conflict'), or 'unsupported': its manifest is one this box cannot read (a newer version). */
export type StorageErrorKind = 'disk-full' | 'io' | 'conflict' | 'unsupported';

/** Thrown by a PieceStore; anything else a store throws counts as 'io'. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly kind: StorageErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface PieceStore {
  /** Whether the store holds the verified piece. */
  has(index: number): boolean;
  /** Verified pieces held. */
  readonly count: number;
  /**
   * The piece's bytes, or undefined when not held or unreadable. The bytes may live in a scratch
   * buffer: valid until the next read (callers send them at once; sending copies them).
   */
  read(index: number): Uint8Array | undefined;
  /** Stores a verified piece. Throws StorageError (disk full, I/O error); then nothing is recorded for it. */
  write(index: number, data: Uint8Array): void;
  /** Time-based work (the record of verified pieces is rewritten now and then). May throw StorageError. */
  tick(now: number): void;
  /** Every piece is held: make the file final (e.g. rename .part). May throw StorageError. */
  finish(): void;
  /** Records what is verified now (after a failure, before a stop). May throw StorageError. */
  flush(): void;
  /** Records what it can and closes its files; the store is unusable afterwards. */
  close(): void;
  /** Pieces of the record at start (resume); 0 for a fresh download or a complete file. */
  readonly resumedCount: number;
}

/** The content's own manifest (its bytes hash to the id) that this box cannot read: nobody sent a wrong one. */
export interface UnreadableManifest {
  unreadable: string;
}

/** Verification of what peers send. Must not throw (a throw counts as a failed check). */
export interface DownloadVerifier {
  /** Manifest bytes checked against the content id; the decoded manifest, why they are not its manifest, or why its manifest cannot be read here. */
  manifest(contentId: string, bytes: Uint8Array): Manifest | string | UnreadableManifest;
  /** Whether `data` is piece `index` of the manifest. */
  piece(manifest: Manifest, index: number, data: Uint8Array): boolean;
}

/** Opens the store of a download once its manifest is known. Throws StorageError. */
export type StoreOpener = (manifest: Manifest, manifestBytes: Uint8Array) => PieceStore;

/** Notifications out of the download data plane (all optional; a throwing listener is ignored). */
export interface DownloadEvents {
  /** The manifest arrived and matched the content id (from `from`; undefined when known locally). */
  manifestReady?(contentId: string, manifest: Manifest, from: PeerAddress | undefined): void;
  /** A partner sent a piece that failed verification: rejected, the partner dropped and blocked. */
  badPiece?(contentId: string, peerId: string, index: number, reason: string): void;
  /** A peer sent manifest bytes that do not hash to the content id. */
  badManifest?(contentId: string, peerId: string, reason: string): void;
  /** A verified piece was written (a player waiting for it can read it now). */
  pieceStored?(contentId: string, index: number): void;
  /** Every piece is held and the file is final; the content now seeds. */
  completed?(contentId: string): void;
  /** The download stopped (disk full, I/O error, store refused); what is verified stays recorded. */
  failed?(contentId: string, kind: StorageErrorKind, message: string): void;
}
