// A node's DRM side, composed by node.ts: the DRM agent (keys created on first start), the live
// player gates, the source's channel protection, and by role the main node's domain manager and
// DRM proxy or the local node's domain join. Exposes control-API handlers and a status block.
import type { Logger } from '../platform/logger.js';
import { DrmAgent } from './drm-agent.js';
import { configuredConstraints, type DrmConfig } from './drm-config.js';
import { DomainManager } from './domain-manager.js';
import { startDrmProxy, type ProxyStats } from './drm-proxy.js';
import { asString, DrmError } from './encoding.js';
import { callJson } from './json-http.js';
import { LiveGate, type LiveRightsStatus } from './live-gate.js';
import { isPreviewChunk, loadOrCreateChannelContentKey, protectChunk } from './live-protect.js';
import { RiClient } from './ri-client.js';
import { requireEnrolled } from './device-identity.js';
import { signRequest } from './signed-request.js';
import type { DomainKeyGrant } from './domain-key.js';
import type { Certificate } from './certificate.js';

const REGISTER_RETRY_MS = 3000;

export interface DrmServiceOptions {
  cfg: DrmConfig;
  stateDir: string;
  role: 'node' | 'main' | 'local' | 'tracker';
  name: string;
  chunkMs: number;
  /** Main node: the segment address the proxy listens on. */
  segmentHost?: () => string | undefined;
  /** Local node: the discovered local tracker's host (its main node runs the proxy). */
  localTrackerHost?: () => string | undefined;
  log: Logger;
}

interface JoinState {
  id: string;
  proxy: string;
  state: 'pending' | 'approved' | 'denied' | 'failed';
  reason?: string;
  domainId?: string;
}

export class DrmService {
  readonly agent: DrmAgent;
  private readonly gates = new Map<string, LiveGate>();
  private manager: DomainManager | undefined;
  private proxy: { stats: () => ProxyStats; close: () => Promise<void> } | undefined;
  private join: JoinState | undefined;
  private joinTimer: NodeJS.Timeout | undefined;
  private registerTimer: NodeJS.Timeout | undefined;
  private source: { channelId: string; registered: boolean; error?: string } | undefined;

  constructor(private readonly o: DrmServiceOptions) {
    this.agent = new DrmAgent(o.stateDir);
  }

  /** Where this node asks for rights: the configured RI/proxy, else a local node's main node proxy. */
  rightsIssuerUrl(fallback = ''): string {
    if (this.o.cfg.rightsIssuer) return this.o.cfg.rightsIssuer;
    const host = this.o.role === 'local' ? this.o.localTrackerHost?.() : undefined;
    if (host && this.o.cfg.proxyPort) return `http://${host}:${this.o.cfg.proxyPort}`;
    return fallback;
  }

  async start(): Promise<void> {
    if (this.o.role !== 'main' || !this.o.cfg.proxyPort) return;
    if (!this.agent.identity.cert) {
      this.o.log.warn(`DRM proxy off: this main node has no DRM certificate (superdist drm enroll --ca DIR --state-dir ${this.o.stateDir})`);
      return;
    }
    const host = this.o.segmentHost?.();
    if (!host) {
      this.o.log.warn('DRM proxy off: the main node has no segment address');
      return;
    }
    this.manager = new DomainManager({ identity: this.agent.identity, upstream: () => this.o.cfg.rightsIssuer, maxSize: this.o.cfg.domainMaxSize, name: this.o.name || 'home' });
    this.proxy = await startDrmProxy({ host, port: this.o.cfg.proxyPort, upstream: () => this.o.cfg.rightsIssuer, manager: this.manager, onError: (e) => this.o.log.error({ err: e.message }, 'DRM proxy error') });
    this.o.log.info({ proxy: this.proxy.stats().address }, 'DRM proxy and domain manager listening');
  }

  /** The source side: a transform that encrypts every non-preview chunk, and the key registered with the RI. */
  sourceTransform(channelId: string, channel: string): ((seq: number, data: Uint8Array) => Uint8Array) | undefined {
    if (!this.o.cfg.protect) return undefined;
    if (!this.o.cfg.rightsIssuer) throw new DrmError('bad-usage', '--protect needs --rights-issuer URL');
    const key = loadOrCreateChannelContentKey(this.o.stateDir, channel);
    const client = new RiClient(this.o.cfg.rightsIssuer, requireEnrolled(this.agent.identity));
    if (this.agent.identity.cert?.role !== 'packager') throw new DrmError('bad-certificate', `a protected channel needs a packager certificate in ${this.agent.identity.dir} (drm enroll --role packager)`);
    this.source = { channelId, registered: false };
    const register = () => {
      client.registerContent(channelId, key, configuredConstraints(this.o.cfg) as never).then(
        () => {
          this.source = { channelId, registered: true };
          this.o.log.info({ channelId }, 'channel content key registered with the rights issuer');
        },
        (err: Error) => {
          this.source = { channelId, registered: false, error: err.message };
          this.o.log.warn({ err: err.message }, `cannot register the channel key yet: ${err.message}; retrying`);
          this.registerTimer = setTimeout(register, REGISTER_RETRY_MS);
        },
      );
    };
    register();
    const policy = { chunkMs: this.o.chunkMs, previewS: this.o.cfg.previewS, previewEveryS: this.o.cfg.previewEveryS };
    return (seq, data) => (isPreviewChunk(seq, policy) ? data : protectChunk(key, seq, data));
  }

  /** A new watch of a channel: a fresh gate (the next encrypted chunk starts a counted play). */
  watchStarted(contentId: string): void {
    this.gates.set(contentId, new LiveGate(this.agent, contentId));
  }

  playerBytes(contentId: string, seq: number, data: Uint8Array): Uint8Array | undefined {
    let g = this.gates.get(contentId);
    if (!g) {
      g = new LiveGate(this.agent, contentId);
      this.gates.set(contentId, g);
    }
    return g.filter(seq, data);
  }

  /**
   * How many browser sessions (phones) the owner may let watch protected channels on this box: the
   * domain's size (the managed domain's, else drm.domainMaxSize) less the devices approved into it
   * and the box itself. Phones are counted members, never DRM agents (docs/phones.md).
   */
  phoneSlots(): number {
    const m = this.manager?.status();
    return Math.max(0, (m ? m.maxSize - m.approved : this.o.cfg.domainMaxSize) - 1);
  }

  rightsStatus(contentId: string): LiveRightsStatus | undefined {
    return this.gates.get(contentId)?.status();
  }

  async acquire(p: Record<string, unknown>): Promise<unknown> {
    const contentId = asString(p.contentId, 'contentId');
    // An explicit URL, else the configured RI / the main node's proxy, else the container header's.
    const fallback = typeof p.fallbackRightsIssuer === 'string' ? p.fallbackRightsIssuer : '';
    const url = typeof p.rightsIssuer === 'string' && p.rightsIssuer ? p.rightsIssuer : this.rightsIssuerUrl(fallback);
    if (!url) throw new DrmError('bad-usage', 'no rights issuer: give --rights-issuer URL or set drm.rightsIssuer');
    let domainId: string | undefined;
    if (p.domain) {
      domainId = typeof p.domain === 'string' ? p.domain : this.agent.domains()[0]?.domainId;
      if (!domainId) throw new DrmError('not-member', 'this device holds no domain key: join a domain first (superdist drm join)');
    }
    const ro = await this.agent.acquire(url, contentId, domainId ? { domainId } : {});
    return { roId: ro.id, contentId, binding: ro.binding, constraints: ro.permission.play, rights: this.agent.rights(contentId) };
  }

  /** Local node: asks the main node's proxy to join its domain; polled until the owner decides. */
  async requestJoin(p: Record<string, unknown>): Promise<JoinState> {
    const proxy = typeof p.proxy === 'string' && p.proxy ? p.proxy : this.rightsIssuerUrl();
    if (!proxy) throw new DrmError('bad-usage', 'no DRM proxy known: give --proxy URL (a local node finds its main node by discovery)');
    const id = requireEnrolled(this.agent.identity);
    const { domainId } = await callJson<{ domainId: string }>(proxy, '/proxy/domain');
    const { nonce } = await callJson<{ nonce: string }>(proxy, '/v1/nonce');
    const request = signRequest('/v1/domain/join-request', nonce, { domainId }, id.cert, id.sign.privateKey);
    const r = await callJson<{ id: string }>(proxy, '/proxy/join', { request, name: this.o.name || id.cert.name });
    this.join = { id: r.id, proxy, state: 'pending', domainId };
    this.pollJoin();
    return { ...this.join };
  }

  private pollJoin(): void {
    clearTimeout(this.joinTimer);
    const j = this.join;
    if (!j || j.state !== 'pending') return;
    this.joinTimer = setTimeout(() => {
      callJson<{ state: string; grant?: DomainKeyGrant; ri?: Certificate; reason?: string }>(j.proxy, `/proxy/join/${j.id}`).then(
        (o) => {
          if (o.state === 'approved' && o.grant) {
            try {
              this.agent.installDomainKey(o.grant, o.ri);
              j.state = 'approved';
              this.o.log.info({ domainId: j.domainId }, 'joined the domain');
            } catch (err) {
              j.state = 'failed';
              j.reason = (err as Error).message;
            }
          } else if (o.state === 'denied') {
            j.state = 'denied';
            j.reason = o.reason ?? 'denied';
            this.o.log.warn({ reason: j.reason }, 'domain join denied');
          }
          this.pollJoin();
        },
        (err: Error) => {
          this.o.log.debug({ err: err.message }, 'join poll failed');
          this.pollJoin();
        },
      );
    }, this.o.cfg.joinPollMs);
  }

  private requireManager(): DomainManager {
    if (!this.manager) throw new DrmError('bad-usage', this.o.role === 'main' ? 'the domain manager is not running (no DRM certificate, no segment address or drm.proxyPort = 0)' : 'only a main node manages a domain');
    return this.manager;
  }

  handlers(): Record<string, (p: Record<string, unknown>) => unknown> {
    return {
      'drm.status': () => this.status(),
      'drm.acquire': (p) => this.acquire(p),
      'drm.join': (p) => this.requestJoin(p),
      'drm.leave': async (p) => {
        const domainId = typeof p.domainId === 'string' && p.domainId ? p.domainId : this.agent.domains()[0]?.domainId;
        if (!domainId) throw new DrmError('not-member', 'this device holds no domain key');
        const url = this.rightsIssuerUrl();
        if (!url) throw new DrmError('bad-usage', 'no rights issuer or DRM proxy known');
        await this.agent.leaveDomain(url, domainId);
        return { left: domainId };
      },
      'drm.pending': () => this.requireManager().pending(),
      'drm.approve': (p) => this.requireManager().approve(asString(p.id, 'id')),
      'drm.deny': (p) => this.requireManager().deny(asString(p.id, 'id')),
    };
  }

  status(): Record<string, unknown> {
    return {
      ...this.agent.status(),
      rightsIssuer: this.rightsIssuerUrl() || null,
      ...(this.source ? { source: this.source } : {}),
      ...(this.manager ? { domainManager: this.manager.status() } : {}),
      ...(this.proxy ? { proxy: this.proxy.stats() } : {}),
      ...(this.join ? { join: { ...this.join } } : {}),
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.joinTimer);
    clearTimeout(this.registerTimer);
    await this.proxy?.close();
  }
}
