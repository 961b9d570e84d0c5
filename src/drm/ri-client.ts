// The device / packager side of the rights-issuer protocol (directly or through a DRM proxy:
// the same paths, the proxy relays them).
import { verifyCertificate, type Certificate } from './certificate.js';
import type { EnrolledIdentity } from './device-identity.js';
import type { DomainKeyGrant } from './domain-key.js';
import { DrmError } from './encoding.js';
import { callJson } from './json-http.js';
import { wrapKey } from './key-wrap.js';
import type { PlayConstraints, RightsObject } from './rights-object.js';
import { signRequest, type SignedRequest } from './signed-request.js';

export class RiClient {
  constructor(
    readonly url: string,
    private readonly id: EnrolledIdentity,
  ) {
    if (!/^https?:\/\/[^/]+/.test(url)) throw new DrmError('bad-usage', `rights issuer ${JSON.stringify(url)}: expected an http:// URL`);
  }

  /** A request signed over a fresh nonce from the RI (or the proxy that relays to it). */
  async signed(path: string, body: Record<string, unknown>): Promise<SignedRequest> {
    const { nonce } = await callJson<{ nonce: string }>(this.url, '/v1/nonce');
    return signRequest(path, nonce, body, this.id.cert, this.id.sign.privateKey);
  }

  async post<T>(path: string, body: Record<string, unknown>): Promise<T> {
    return callJson<T>(this.url, path, await this.signed(path, body));
  }

  /** The RI's certificate, checked against this device's CA. */
  async riCert(): Promise<Certificate> {
    const info = await callJson<{ ri: unknown }>(this.url, '/v1/info');
    return verifyCertificate(info.ri, this.id.ca, { roles: ['ri'] });
  }

  register(): Promise<{ deviceId: string; ri: Certificate }> {
    return this.post('/v1/register', {});
  }

  acquire(contentId: string, domainId?: string): Promise<{ ro: RightsObject; ri: Certificate }> {
    return this.post('/v1/ro', { contentId, ...(domainId ? { domainId } : {}) });
  }

  /** Packager: the content key travels wrapped to the RI's own X25519 key. */
  async registerContent(contentId: string, key: Uint8Array, constraints: PlayConstraints): Promise<{ contentId: string }> {
    const ri = await this.riCert();
    if (!ri.wrapKey) throw new DrmError('bad-certificate', `rights issuer ${ri.id} has no wrapping key`);
    return this.post('/v1/content', { contentId, key: wrapKey(key, ri.wrapKey, `content:${contentId}`), constraints });
  }

  createDomain(name: string, maxSize: number): Promise<{ domainId: string; maxSize: number }> {
    return this.post('/v1/domain/create', { name, maxSize });
  }

  domainKey(domainId: string): Promise<{ grant: DomainKeyGrant; ri: Certificate }> {
    return this.post('/v1/domain/key', { domainId });
  }

  leaveDomain(domainId: string, deviceId?: string): Promise<{ left: string }> {
    return this.post('/v1/domain/leave', { domainId, ...(deviceId ? { deviceId } : {}) });
  }
}
