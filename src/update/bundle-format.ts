// The update bundle file (docs/updates.md): one file, so it travels as one download content.
//
//   "SDUPDATE1\n"              10 bytes, magic and format version
//   header length             4 bytes, big endian (at most 64 KiB)
//   header                    UTF-8 JSON { manifest, signer, signature }
//   image                     exactly manifest.imageSize bytes; the file ends there
//
// The signature is Ed25519 over "superdist/update-bundle/v1\0" + the canonical JSON of the manifest
// (src/drm/keys.ts signJson); `signer` is the raw public key (base64url) that made it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { asObject, asString } from '../drm/encoding.js';
import { isSemVer } from './semver.js';

export const BUNDLE_MAGIC = Buffer.from('SDUPDATE1\n', 'ascii');
export const HEADER_LENGTH_BYTES = 4;
export const MAX_HEADER_BYTES = 64 * 1024;
/** Purpose string of the signature (domain separation from every other signed superdist object). */
export const BUNDLE_SIGNATURE_PURPOSE = 'update-bundle';
/** Title prefix under which bundles are announced at the tracker: "superdist-update HARDWARE VERSION". */
export const UPDATE_CHANNEL = 'superdist-update';

export interface BundleManifest {
  format: 1;
  /** Semantic version of the firmware in the image. */
  version: string;
  /** Hardware id the image is for (a box refuses any other). */
  hardware: string;
  imageSha256: string;
  imageSize: number;
  /** A box running an older version than this refuses the bundle ('' = none). */
  minVersion: string;
  /** Whether a box running a newer version may install it. */
  allowDowngrade: boolean;
  /** ISO time the bundle was built. */
  created: string;
}

export interface BundleHeader {
  manifest: BundleManifest;
  signer: string;
  signature: string;
}

/** Why a bundle is refused; `code` is stable (tests, the control API), the message names the fix. */
export type RefusalCode = 'truncated' | 'bad-format' | 'untrusted-key' | 'bad-signature' | 'wrong-hardware' | 'downgrade' | 'too-old' | 'bad-image';

export class UpdateRefusal extends Error {
  override name = 'UpdateRefusal';
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

export function bundleTitle(m: Pick<BundleManifest, 'hardware' | 'version'>): string {
  return `${UPDATE_CHANNEL} ${m.hardware} ${m.version}`;
}

/** Hardware and version from a tracker title "superdist-update HARDWARE VERSION", or undefined. */
export function parseBundleTitle(title: string): { hardware: string; version: string } | undefined {
  const parts = title.trim().split(/\s+/);
  if (parts.length !== 3 || parts[0] !== UPDATE_CHANNEL || !isSemVer(parts[2] as string)) return undefined;
  return { hardware: parts[1] as string, version: parts[2] as string };
}

export function encodeHeader(h: BundleHeader): Buffer {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw new RangeError(`bundle header of ${json.length} bytes exceeds ${MAX_HEADER_BYTES}`);
  const len = Buffer.alloc(HEADER_LENGTH_BYTES);
  len.writeUInt32BE(json.length);
  return Buffer.concat([BUNDLE_MAGIC, len, json]);
}

export function parseManifest(v: unknown): BundleManifest {
  const bad = (what: string) => new UpdateRefusal('bad-format', `bundle manifest: ${what}`);
  let o: Record<string, unknown>;
  try {
    o = asObject(v, 'manifest');
    asString(o.version, 'version');
    asString(o.hardware, 'hardware');
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (o.format !== 1) throw bad(`format ${String(o.format)} is not supported (this box reads format 1)`);
  if (!isSemVer(o.version as string)) throw bad(`version ${JSON.stringify(o.version)} is not a semantic version (MAJOR.MINOR.PATCH)`);
  if (typeof o.imageSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.imageSha256)) throw bad('imageSha256: expected 64 lowercase hex digits');
  if (typeof o.imageSize !== 'number' || !Number.isSafeInteger(o.imageSize) || o.imageSize <= 0) throw bad('imageSize: expected a whole number > 0');
  if (typeof o.minVersion !== 'string' || (o.minVersion !== '' && !isSemVer(o.minVersion))) throw bad("minVersion: expected '' or a semantic version");
  if (typeof o.allowDowngrade !== 'boolean') throw bad('allowDowngrade: expected true or false');
  if (typeof o.created !== 'string' || Number.isNaN(Date.parse(o.created))) throw bad('created: expected an ISO time');
  return { format: 1, version: o.version as string, hardware: o.hardware as string, imageSha256: o.imageSha256, imageSize: o.imageSize, minVersion: o.minVersion, allowDowngrade: o.allowDowngrade, created: o.created };
}

export interface OpenedHeader extends BundleHeader {
  /** Where the image starts in the file. */
  imageOffset: number;
  fileSize: number;
}

/** Reads and parses the header of the bundle at `path` (not the signature: see bundle.ts). */
export function readBundleHeader(path: string): OpenedHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new UpdateRefusal('bad-format', `cannot open the bundle ${path}: ${(err as Error).message}`);
  }
  try {
    const fileSize = fstatSync(fd).size;
    const fixed = Buffer.alloc(BUNDLE_MAGIC.length + HEADER_LENGTH_BYTES);
    const got = readSync(fd, fixed, 0, fixed.length, 0);
    if (got >= BUNDLE_MAGIC.length && !fixed.subarray(0, BUNDLE_MAGIC.length).equals(BUNDLE_MAGIC)) {
      throw new UpdateRefusal('bad-format', `${path} is not a superdist update bundle (no SDUPDATE1 magic)`);
    }
    if (got < fixed.length) throw new UpdateRefusal('truncated', `${path} is truncated: ${fileSize} bytes, shorter than the bundle's fixed header`);
    const len = fixed.readUInt32BE(BUNDLE_MAGIC.length);
    if (len === 0 || len > MAX_HEADER_BYTES) throw new UpdateRefusal('bad-format', `${path}: header length ${len} is out of range (1..${MAX_HEADER_BYTES})`);
    const json = Buffer.alloc(len);
    if (readSync(fd, json, 0, len, fixed.length) < len) throw new UpdateRefusal('truncated', `${path} is truncated: it ends inside the bundle header (${fileSize} bytes)`);
    let raw: unknown;
    try {
      raw = JSON.parse(json.toString('utf8'));
    } catch (err) {
      throw new UpdateRefusal('bad-format', `${path}: the bundle header is not valid JSON (${(err as Error).message})`);
    }
    const h = raw as Record<string, unknown>;
    if (typeof h !== 'object' || h === null || typeof h.signer !== 'string' || typeof h.signature !== 'string') {
      throw new UpdateRefusal('bad-format', `${path}: the bundle header lacks its signer or signature`);
    }
    return { manifest: parseManifest(h.manifest), signer: h.signer, signature: h.signature, imageOffset: fixed.length + len, fileSize };
  } finally {
    closeSync(fd);
  }
}
