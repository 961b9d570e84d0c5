// The live player gate: clear chunks pass, encrypted ones only under a play grant; an expiring
// rights object stops decryption; a count-limited one allows N watches, also after a restart.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { answerEnrolRequest, enrolRequest, installEnrolment, loadOrCreateIdentity } from '../../src/drm/device-identity.js';
import { DrmAgent } from '../../src/drm/drm-agent.js';
import { caIssue, initCa } from '../../src/drm/operator-ca.js';
import { generateKeyPair } from '../../src/drm/keys.js';
import { issueRightsObject, type PlayConstraints } from '../../src/drm/rights-object.js';
import { LiveGate } from '../../src/drm/live-gate.js';
import { isPreviewChunk, protectChunk } from '../../src/drm/live-protect.js';

const CH = `live-${'ab'.repeat(32)}`;

function world(constraints: PlayConstraints) {
  const ca = initCa(mkdtempSync(join(tmpdir(), 'sd-ca-')), 'op');
  const dir = mkdtempSync(join(tmpdir(), 'sd-dev-'));
  const dev = installEnrolment(loadOrCreateIdentity(dir), answerEnrolRequest(ca, enrolRequest(loadOrCreateIdentity(dir), 'device', 'tv')));
  const riKeys = generateKeyPair('ed25519');
  const riCert = caIssue(ca, { role: 'ri', name: 'ri', signKey: riKeys.publicKey, wrapKey: generateKeyPair('x25519').publicKey });
  const key = randomBytes(16);
  const ro = issueRightsObject({ contentId: CH, contentKey: key, constraints, binding: { kind: 'device', id: dev.cert.id }, recipientWrapKey: dev.wrap.publicKey }, { id: riCert.id, privateKey: riKeys.privateKey });
  new DrmAgent(dir).install(ro, riCert);
  return { dir, key };
}

describe('live gate', () => {
  it('decrypts under the grant and stops when the rights object expires', () => {
    const { dir, key } = world({ notAfter: new Date(Date.parse('2030-01-01T00:00:10Z')).toISOString() });
    let now = Date.parse('2030-01-01T00:00:00Z');
    const gate = new LiveGate(new DrmAgent(dir), CH, () => now);
    const plain = Buffer.concat([Buffer.from([0x47]), randomBytes(1000)]);
    expect(gate.filter(0, plain)).toBe(plain);
    expect(gate.status().state).toBe('clear');
    expect(Buffer.from(gate.filter(1, protectChunk(key, 1, plain))!).equals(plain)).toBe(true);
    expect(gate.status()).toMatchObject({ state: 'allowed', decryptedChunks: 1 });
    now += 10_000;
    expect(gate.filter(2, protectChunk(key, 2, plain))).toBeUndefined();
    expect(gate.status()).toMatchObject({ state: 'preview-only', reason: expect.stringMatching(/expired at 2030-01-01T00:00:10.000Z/), withheldChunks: 1 });
  });

  it('a count of 2 allows two watches, also across a restart of the agent, then preview only', () => {
    const { dir, key } = world({ count: 2 });
    const clear = Buffer.concat([Buffer.from([0x47]), randomBytes(187)]);
    const chunk = protectChunk(key, 5, clear);
    const decrypted = (gate: LiveGate) => Buffer.from(gate.filter(5, chunk) ?? Buffer.alloc(0));
    expect(decrypted(new LiveGate(new DrmAgent(dir), CH)).equals(clear), 'first watch: the clear chunk').toBe(true);
    expect(decrypted(new LiveGate(new DrmAgent(dir), CH)).equals(clear), 'second watch (agent restarted): the clear chunk').toBe(true);
    const third = new LiveGate(new DrmAgent(dir), CH);
    expect(third.filter(5, chunk)).toBeUndefined();
    expect(third.status().reason).toMatch(/all 2 plays used/);
  });

  it('preview windows: the first previewS seconds of every period', () => {
    const p = { chunkMs: 1000, previewS: 3, previewEveryS: 10 };
    expect([...Array(22).keys()].filter((s) => isPreviewChunk(s, p))).toEqual([0, 1, 2, 10, 11, 12, 20, 21]);
    expect(isPreviewChunk(0, { ...p, previewS: 0 })).toBe(false);
  });
});
