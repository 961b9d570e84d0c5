// Update bundles: a bundle built and signed by the operator verifies; every kind of bad bundle is
// refused with its own code and a message naming the problem.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, privateKeyToPem } from '../../src/drm/keys.js';
import { buildBundle, loadSigningKey, trustedKeyFrom, verifyBundle, type VerifyPolicy } from '../../src/update/bundle.js';
import { parseBundleTitle, readBundleHeader, UpdateRefusal, bundleTitle } from '../../src/update/bundle-format.js';
import { compareVersions } from '../../src/update/semver.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-update-bundle-'));
const operator = generateKeyPair('ed25519');
const image = join(dir, 'image.img');
const imageBytes = randomBytes(300_000 + 17);
writeFileSync(image, imageBytes);
const policy: VerifyPolicy = { trustedKeys: [operator.publicKey], hardware: 'rpi4-arm64', runningVersion: '1.2.0' };
let n = 0;

async function bundle(over: Partial<Parameters<typeof buildBundle>[0]> = {}): Promise<string> {
  const out = join(dir, `b${n++}.sdu`);
  await buildBundle({ image, out, version: '1.3.0', hardware: 'rpi4-arm64', key: operator, ...over });
  return out;
}

async function refusal(path: string, p: VerifyPolicy = policy): Promise<UpdateRefusal> {
  const err = await verifyBundle(path, p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${path} should be refused`).toBeInstanceOf(UpdateRefusal);
  return err as UpdateRefusal;
}

describe('update bundle', () => {
  it('a bundle built and signed by the operator verifies; its image is the input byte for byte', async () => {
    const path = await bundle();
    const v = await verifyBundle(path, policy);
    expect(v.manifest).toMatchObject({ version: '1.3.0', hardware: 'rpi4-arm64', imageSize: imageBytes.length, allowDowngrade: false, minVersion: '' });
    expect(readFileSync(path).subarray(v.imageOffset).equals(imageBytes)).toBe(true);
  });

  it('one flipped byte in the image is refused (bad-image)', async () => {
    const path = await bundle();
    const bytes = readFileSync(path);
    const at = readBundleHeader(path).imageOffset + 123_456;
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(path, bytes);
    const e = await refusal(path);
    expect(e.code).toBe('bad-image');
    expect(e.message).toMatch(/SHA-256/);
  });

  it('one changed byte in the signed manifest is refused (bad-signature)', async () => {
    const path = await bundle();
    const bytes = readFileSync(path);
    const text = bytes.toString('latin1');
    const at = text.indexOf('"version":"1.3.0"') + '"version":"1.'.length;
    bytes[at] = '9'.charCodeAt(0); // 1.3.0 -> 1.9.0, the JSON stays valid
    writeFileSync(path, bytes);
    const e = await refusal(path);
    expect(e.code).toBe('bad-signature');
  });

  it('a bundle signed by another key is refused (untrusted-key), and so is one whose signer was swapped for a trusted key', async () => {
    const stranger = generateKeyPair('ed25519');
    const path = await bundle({ key: stranger });
    const e = await refusal(path);
    expect(e.code).toBe('untrusted-key');
    expect(e.message).toContain(stranger.publicKey);
    // The stranger claims to be the operator: the signature does not check out.
    const bytes = readFileSync(path).toString('latin1').replace(stranger.publicKey, operator.publicKey);
    writeFileSync(path, Buffer.from(bytes, 'latin1'));
    expect((await refusal(path)).code).toBe('bad-signature');
    // A box that trusts no key refuses everything.
    expect((await refusal(await bundle(), { ...policy, trustedKeys: [] })).code).toBe('untrusted-key');
  });

  it('a bundle for other hardware is refused (wrong-hardware)', async () => {
    const e = await refusal(await bundle({ hardware: 'rpi5-arm64' }));
    expect(e.code).toBe('wrong-hardware');
    expect(e.message).toMatch(/rpi5-arm64.*rpi4-arm64/);
  });

  it('an older version is refused unless the bundle allows a downgrade', async () => {
    const e = await refusal(await bundle({ version: '1.1.9' }));
    expect(e.code).toBe('downgrade');
    expect(e.message).toMatch(/1\.1\.9.*1\.2\.0/);
    await expect(verifyBundle(await bundle({ version: '1.1.9', allowDowngrade: true }), policy)).resolves.toBeDefined();
    // A box running a version below the bundle's minimum refuses it.
    expect((await refusal(await bundle({ minVersion: '1.2.5' }))).code).toBe('too-old');
  });

  it('a truncated bundle is refused (truncated), anywhere it is cut; trailing bytes are refused too', async () => {
    const path = await bundle();
    const full = readFileSync(path);
    const { imageOffset } = readBundleHeader(path);
    for (const cut of [5, 12, imageOffset - 3, imageOffset + 1000, full.length - 1]) {
      writeFileSync(path, full);
      truncateSync(path, cut);
      const e = await refusal(path);
      expect(e.code, `cut at ${cut}`).toBe('truncated');
    }
    writeFileSync(path, full);
    appendFileSync(path, 'x');
    expect((await refusal(path)).code).toBe('bad-format');
    writeFileSync(path, 'not a bundle at all');
    expect((await refusal(path)).code).toBe('bad-format');
  });

  it('keys load from the DRM formats: a PEM private key signs, its file or raw public key is trusted', () => {
    const keyFile = join(dir, 'update.key');
    writeFileSync(keyFile, privateKeyToPem(operator.privateKey));
    expect(loadSigningKey(keyFile).publicKey).toBe(operator.publicKey);
    expect(trustedKeyFrom(keyFile)).toBe(operator.publicKey);
    expect(trustedKeyFrom(operator.publicKey)).toBe(operator.publicKey);
    const cert = join(dir, 'ca.cert.json');
    writeFileSync(cert, JSON.stringify({ signKey: operator.publicKey }));
    expect(trustedKeyFrom(cert)).toBe(operator.publicKey);
  });

  it('versions order as semver; titles on the update channel round-trip', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBeGreaterThan(0);
    expect(compareVersions('1.2.0-rc.1', '1.2.0')).toBeLessThan(0);
    expect(compareVersions('1.2.0-rc.2', '1.2.0-rc.10')).toBeLessThan(0);
    expect(compareVersions('0.1.0-dev', '0.1.0')).toBeLessThan(0);
    expect(compareVersions('dev', '0.0.1')).toBeLessThan(0);
    expect(parseBundleTitle(bundleTitle({ hardware: 'rpi4-arm64', version: '2.0.1' }))).toEqual({ hardware: 'rpi4-arm64', version: '2.0.1' });
    expect(parseBundleTitle('some film')).toBeUndefined();
  });
});
