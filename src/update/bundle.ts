// Building and verifying update bundles (format: bundle-format.ts). The operator signs with an
// Ed25519 key in the DRM's formats (src/drm/keys.ts): the operator CA's own key (ca.key) or a
// dedicated update key (`superdist update key`). A box trusts the keys of update.trustedKeys and
// the operator CA it was enrolled under.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, readFileSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir } from '../platform/durable-file.js';
import { readJsonFile } from '../drm/atomic-file.js';
import { verifyCaCertificate } from '../drm/certificate.js';
import { DrmError } from '../drm/encoding.js';
import { privateKeyFromPem, publicKeyFromRaw, signJson, verifyJson, type KeyPair } from '../drm/keys.js';
import { BUNDLE_SIGNATURE_PURPOSE, encodeHeader, readBundleHeader, UpdateRefusal, type BundleManifest, type OpenedHeader } from './bundle-format.js';
import { compareVersions, isSemVer } from './semver.js';

export interface BuildOptions {
  image: string;
  out: string;
  version: string;
  hardware: string;
  key: KeyPair;
  minVersion?: string;
  allowDowngrade?: boolean;
  created?: Date;
}

/** SHA-256 (hex) of `size` bytes of `path` from `offset`, streamed (images do not fit in RAM). */
export function hashFileRange(path: string, offset: number, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    if (size === 0) return resolve(h.digest('hex'));
    createReadStream(path, { start: offset, end: offset + size - 1, highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Writes a signed bundle of `image` to `out` (durably, through a temporary file). */
export async function buildBundle(o: BuildOptions): Promise<BundleManifest> {
  if (!isSemVer(o.version)) throw new UpdateRefusal('bad-format', `--version ${o.version}: expected a semantic version (MAJOR.MINOR.PATCH)`);
  if (o.minVersion && !isSemVer(o.minVersion)) throw new UpdateRefusal('bad-format', `--min-version ${o.minVersion}: expected a semantic version`);
  if (!/^[0-9A-Za-z._,+-]{1,64}$/.test(o.hardware)) throw new UpdateRefusal('bad-format', `--hardware ${o.hardware}: expected 1-64 letters, digits and . _ , + -`);
  const st = statSync(o.image);
  if (!st.isFile() || st.size === 0) throw new UpdateRefusal('bad-format', `--image ${o.image}: not a non-empty regular file`);
  const manifest: BundleManifest = {
    format: 1,
    version: o.version,
    hardware: o.hardware,
    imageSha256: await hashFileRange(o.image, 0, st.size),
    imageSize: st.size,
    minVersion: o.minVersion ?? '',
    allowDowngrade: o.allowDowngrade ?? false,
    created: (o.created ?? new Date()).toISOString(),
  };
  const header = encodeHeader({ manifest, signer: o.key.publicKey, signature: signJson(BUNDLE_SIGNATURE_PURPOSE, manifest, o.key.privateKey) });
  const tmp = `${o.out}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, header);
    const src = openSync(o.image, 'r');
    try {
      const buf = Buffer.alloc(1 << 20);
      for (let off = 0; off < st.size; ) {
        const n = readSync(src, buf, 0, Math.min(buf.length, st.size - off), off);
        if (n === 0) throw new Error(`${o.image} shrank while it was read`);
        writeSync(fd, buf, 0, n);
        off += n;
      }
    } finally {
      closeSync(src);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, o.out);
  fsyncDir(dirname(o.out));
  return manifest;
}

/** What a box checks a bundle against. */
export interface VerifyPolicy {
  /** Raw Ed25519 public keys (base64url) whose signatures this box accepts. */
  trustedKeys: string[];
  /** This box's hardware id. */
  hardware: string;
  /** The firmware version this box runs. */
  runningVersion: string;
}

export interface VerifiedBundle extends OpenedHeader {
  path: string;
}

/** The manifest-level checks (signature, hardware, versions): everything but the image bytes. */
export function checkHeader(path: string, h: OpenedHeader, p: VerifyPolicy): void {
  if (p.trustedKeys.length === 0) throw new UpdateRefusal('untrusted-key', 'no update key is trusted here: set update.trustedKeys or enrol the box with the operator CA (superdist drm enroll)');
  if (!p.trustedKeys.includes(h.signer)) {
    throw new UpdateRefusal('untrusted-key', `${path} is signed by key ${h.signer}, which this box does not trust (trusted: ${p.trustedKeys.join(', ')})`);
  }
  if (!verifyJson(BUNDLE_SIGNATURE_PURPOSE, h.manifest, h.signature, h.signer)) {
    throw new UpdateRefusal('bad-signature', `${path}: the signature does not match the manifest (the bundle was altered after signing, or signed by another key)`);
  }
  const m = h.manifest;
  if (m.hardware !== p.hardware) throw new UpdateRefusal('wrong-hardware', `${path} is for hardware ${m.hardware}; this box is ${p.hardware}`);
  if (m.minVersion && compareVersions(p.runningVersion, m.minVersion) < 0) {
    throw new UpdateRefusal('too-old', `${path} (version ${m.version}) needs a box running at least ${m.minVersion}; this box runs ${p.runningVersion}: install an intermediate update first`);
  }
  if (compareVersions(m.version, p.runningVersion) < 0 && !m.allowDowngrade) {
    throw new UpdateRefusal('downgrade', `${path} holds version ${m.version}, older than the running ${p.runningVersion}, and does not allow a downgrade`);
  }
}

/** Verifies every byte of the bundle at `path`; throws UpdateRefusal naming the first problem. */
export async function verifyBundle(path: string, p: VerifyPolicy): Promise<VerifiedBundle> {
  const h = readBundleHeader(path);
  checkHeader(path, h, p);
  const m = h.manifest;
  const expected = h.imageOffset + m.imageSize;
  if (h.fileSize < expected) throw new UpdateRefusal('truncated', `${path} is truncated: ${h.fileSize} bytes, the bundle needs ${expected} (header ${h.imageOffset} + image ${m.imageSize})`);
  if (h.fileSize > expected) throw new UpdateRefusal('bad-format', `${path} has ${h.fileSize - expected} bytes after the image: not a bundle as built`);
  const sha = await hashFileRange(path, h.imageOffset, m.imageSize);
  if (sha !== m.imageSha256) throw new UpdateRefusal('bad-image', `${path}: the image's SHA-256 is ${sha}, the signed manifest says ${m.imageSha256} (the image was altered or damaged)`);
  return { ...h, path };
}

/** A signing key: a PKCS#8 PEM Ed25519 file (the CA's ca.key, or `superdist update key`), or a CA directory. */
export function loadSigningKey(file: string): KeyPair {
  const path = existsSync(join(file, 'ca.key')) ? join(file, 'ca.key') : file;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DrmError('missing', `cannot read the signing key ${path}: ${(err as Error).message}`);
  }
  return privateKeyFromPem(pem, 'ed25519', path);
}

/**
 * A trusted public key from text: a raw base64url key, or a file holding one of: a raw key, a PEM
 * private key (its public half), a certificate JSON (its signKey: ca.cert.json), or a CA directory.
 */
export function trustedKeyFrom(text: string): string {
  if (/^[A-Za-z0-9_-]{43}$/.test(text) && !existsSync(text)) {
    publicKeyFromRaw(text, 'ed25519', 'trusted key');
    return text;
  }
  const path = existsSync(join(text, 'ca.cert.json')) ? join(text, 'ca.cert.json') : text;
  let content: string;
  try {
    content = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new DrmError('missing', `--trust ${text}: neither a public key nor a readable file (${(err as Error).message})`);
  }
  if (content.includes('PRIVATE KEY')) return privateKeyFromPem(content, 'ed25519', path).publicKey;
  if (content.startsWith('{')) {
    const signKey = (JSON.parse(content) as { signKey?: unknown }).signKey;
    if (typeof signKey !== 'string') throw new DrmError('bad-key', `${path}: a JSON file without a signKey`);
    return signKey;
  }
  publicKeyFromRaw(content, 'ed25519', path);
  return content;
}

/** The keys a box trusts: update.trustedKeys, and the operator CA it was enrolled under (STATE/drm/ca.cert.json). */
export function boxTrustedKeys(configured: string[], stateDir: string, warn: (m: string) => void = () => undefined): string[] {
  const keys = new Set(configured);
  const caFile = join(stateDir, 'drm', 'ca.cert.json');
  try {
    const raw = readJsonFile(caFile);
    if (raw !== undefined) keys.add(verifyCaCertificate(raw).signKey);
  } catch (err) {
    warn(`the operator CA certificate ${caFile} is not usable for updates: ${(err as Error).message}`);
  }
  return [...keys];
}
