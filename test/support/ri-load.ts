// Rights-issuer load and fixtures for tests: enrolled device identities made in process (keys in
// temp dirs, certificates from the test CA), and concurrent RO acquisitions over real HTTP against
// one or more RI URLs (nonce from one, the signed request to another: the processes must share
// their nonces), each answer's RO checked against the CA and the device.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerEnrolRequest, enrolRequest, installEnrolment, loadOrCreateIdentity, type EnrolledIdentity } from '../../src/drm/device-identity.js';
import { DrmError } from '../../src/drm/encoding.js';
import { callJson } from '../../src/drm/json-http.js';
import type { OperatorCa } from '../../src/drm/operator-ca.js';
import { RiClient } from '../../src/drm/ri-client.js';
import { verifyRightsObject, type RightsObject } from '../../src/drm/rights-object.js';
import { signRequest } from '../../src/drm/signed-request.js';

export function enrolIdentity(ca: OperatorCa, role: 'device' | 'packager', name: string): EnrolledIdentity {
  const dir = mkdtempSync(join(tmpdir(), 'sd-ri-id-'));
  return installEnrolment(loadOrCreateIdentity(dir), answerEnrolRequest(ca, enrolRequest(loadOrCreateIdentity(dir), role, name)));
}

/** A packager registers a fresh content key with `constraints`; resolves with the content id. */
export async function registerContent(url: string, packager: EnrolledIdentity, constraints: Record<string, unknown>): Promise<string> {
  const contentId = `sdc-${randomBytes(16).toString('hex')}`;
  await new RiClient(url, packager).registerContent(contentId, randomBytes(16), constraints);
  return contentId;
}

export interface Answer {
  device: string;
  roId: string;
  url: string;
}

export interface LoadResult {
  answers: Answer[];
  /** Requests that got no RO: the error message of each (e.g. the process was killed). */
  failures: string[];
  seconds: number;
}

/**
 * `total` acquisitions of `contentId`, device i % devices.length, at most `inFlight` at once.
 * `urls()` is asked per request (the test may drop a killed process from it); the nonce comes from
 * one URL and the signed request goes to the next one.
 */
export async function acquireMany(o: { urls: () => string[]; devices: EnrolledIdentity[]; contentId: string; total: number; inFlight: number; onAnswer?: (a: Answer, n: number) => void }): Promise<LoadResult> {
  const answers: Answer[] = [];
  const failures: string[] = [];
  let next = 0;
  const t0 = performance.now();
  const one = async (i: number) => {
    const dev = o.devices[i % o.devices.length]!;
    const urls = o.urls();
    const nonceUrl = urls[i % urls.length]!;
    const postUrl = urls[(i + 1) % urls.length]!;
    let got: { ro: RightsObject; ri: unknown };
    try {
      const { nonce } = await callJson<{ nonce: string }>(nonceUrl, '/v1/nonce');
      got = await callJson(postUrl, '/v1/ro', signRequest('/v1/ro', nonce, { contentId: o.contentId }, dev.cert, dev.sign.privateKey));
    } catch (err) {
      if (!(err instanceof DrmError)) throw err;
      failures.push(err.message);
      return;
    }
    // An answer must be a valid RO for this device and content (a DrmError here fails the run).
    const { ro } = verifyRightsObject(got.ro, got.ri, dev.ca);
    if (ro.binding.kind !== 'device' || ro.binding.id !== dev.cert.id) throw new Error(`RO ${ro.id} is bound to ${ro.binding.id}, asked by ${dev.cert.id}`);
    if (ro.contentId !== o.contentId) throw new Error(`RO ${ro.id} is for ${ro.contentId}`);
    const a = { device: dev.cert.id, roId: ro.id, url: postUrl };
    answers.push(a);
    o.onAnswer?.(a, answers.length);
  };
  const worker = async () => {
    while (next < o.total) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(o.inFlight, o.total) }, worker));
  return { answers, failures, seconds: (performance.now() - t0) / 1000 };
}

/** Registers every device (through the URLs in turn). */
export async function registerDevices(urls: string[], devices: EnrolledIdentity[]): Promise<void> {
  await Promise.all(devices.map((d, i) => new RiClient(urls[i % urls.length]!, d).register()));
}

export function signedJoin(owner: EnrolledIdentity, member: EnrolledIdentity, domainId: string, ownerNonce: string, memberNonce: string) {
  const inner = signRequest('/v1/domain/join-request', memberNonce, { domainId }, member.cert, member.sign.privateKey);
  return signRequest('/v1/domain/join', ownerNonce, { domainId, request: inner }, owner.cert, owner.sign.privateKey);
}
