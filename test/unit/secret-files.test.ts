// Every secret the service writes lands 0600 in a 0700 directory of the state directory, and the
// doctor's walk finds each of them (and flags one that is not).
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateChannelKeys } from '../../src/source/channel-keys.js';
import { listSecretEntries, secretProblems } from '../../src/platform/secret-files.js';
import { hashPassword, writeCredential } from '../../src/web/owner-credential.js';
import { loadOrCreateBoxCertificate } from '../../src/web/box-certificate.js';
import { writeFileAtomic } from '../../src/platform/durable-file.js';

describe('secrets on disk', () => {
  it('channel keys, the owner credential, the web key and DRM files are 0600 in 0700 directories; a wider mode is reported', async () => {
    const state = mkdtempSync(join(tmpdir(), 'sd-secrets-'));
    const old = process.umask(0o022);
    try {
      loadOrCreateChannelKeys(state, 'alpha');
      writeCredential(state, await hashPassword('owner pass 1', { N: 1024, r: 8, p: 1 }));
      loadOrCreateBoxCertificate(state, { dnsNames: ['box'], addresses: [] });
      writeFileAtomic(join(state, 'drm', 'sign.key'), 'k');
    } finally {
      process.umask(old);
    }
    const entries = listSecretEntries(state);
    const rel = entries.map((x) => `${x.path.slice(state.length + 1)} ${x.mode.toString(8)}`);
    expect(rel).toEqual(expect.arrayContaining(['channels 700', 'drm 700', 'drm/sign.key 600', 'web-owner.json 600', 'web-tls 700', 'web-tls/key.pem 600', 'web-tls/cert.pem 600']));
    expect(rel.filter((r) => r.startsWith('channels/')).every((r) => r.endsWith(' 600'))).toBe(true);
    const uid = process.getuid!();
    expect(secretProblems(entries, uid)).toEqual([]);
    chmodSync(join(state, 'web-owner.json'), 0o644);
    expect(secretProblems(listSecretEntries(state), uid)).toEqual([`${join(state, 'web-owner.json')} is 0644 (want 0600)`]);
  });
});
