// The network-namespace scenario of a main node's DRM domain (drm-domain-netns, web-domain-approval):
//   uplink ns: bridge br0 10.77.1.1/24 — rights issuer, central tracker, protected live source 'paid'
//   main1:     up0 10.77.1.11 (default route) + seg0 10.77.9.1 on bridge `seg` (hub ns)
//   others:    seg0 10.77.9.x on `seg` only (no route to the uplink)
import { enrol, startCaAndRi } from './drm.js';
import type { NetnsLab } from './netns.js';
import { status, waitFor, waitUp, type Proc } from './processes.js';

export const UPLINK = '10.77.1.1';
/** The main node's segment address (its DRM proxy listens at http://MAIN_SEGMENT:7881). */
export const MAIN_SEGMENT = '10.77.9.1';
export const QUIET = ['--log-level', 'warn'];

export interface DrmStatus {
  join?: { id: string; state: string; reason?: string };
  domains?: { domainId: string }[];
  rightsIssuer: string | null;
}
export interface Rights {
  state: string;
  reason?: string;
  decryptedChunks: number;
  withheldChunks: number;
  clearChunks: number;
}

/** Builds the namespaces: uplink, hub, main1, and each segment-only host (`dev`: its port on `seg`). */
export function buildDomainLab(lab: NetnsLab, segmentHosts: { ns: string; ip: string; dev: string }[]): void {
  lab.addNamespace('uplink');
  lab.addBridge('uplink', 'br0', `${UPLINK}/24`);
  lab.addNamespace('hub');
  lab.addBridge('hub', 'seg');
  lab.addNamespace('main1');
  lab.link({ ns: 'main1', dev: 'up0', cidr: '10.77.1.11/24' }, { ns: 'uplink', dev: 'm1', bridge: 'br0' });
  lab.defaultRoute('main1', UPLINK);
  lab.link({ ns: 'main1', dev: 'seg0', cidr: `${MAIN_SEGMENT}/24` }, { ns: 'hub', dev: 'm1', bridge: 'seg' });
  for (const h of segmentHosts) {
    lab.addNamespace(h.ns);
    lab.link({ ns: h.ns, dev: 'seg0', cidr: `${h.ip}/24` }, { ns: 'hub', dev: h.dev, bridge: 'seg' });
  }
}

/**
 * In the uplink: a CA and rights issuer (devices `nodes` and the packager 'src' enrolled), the
 * central tracker at UPLINK:7000 and a protected live source of channel 'paid' with the given
 * preview policy. Resolves once the source registered its key.
 */
export async function startProtectedUplink(
  lab: NetnsLab,
  dir: string,
  procs: Proc[],
  o: { input: string; nodes: string[]; previewS: number; previewEveryS: number },
): Promise<{ url: string; channelId: string }> {
  const { caDir, url } = await startCaAndRi(dir, procs, UPLINK, (argv) => ['ip', 'netns', 'exec', lab.ns('uplink'), ...argv]);
  enrol(dir, 'src', caDir, 'packager');
  for (const n of o.nodes) enrol(dir, n, caDir);
  const tracker = lab.start('tracker', 'uplink', dir, ['tracker', '--listen', `${UPLINK}:7000`, ...QUIET]);
  await waitUp(tracker, 10_000, 'tracker');
  const src = lab.start('src', 'uplink', dir, [
    'publish', 'live', '--tracker', `${UPLINK}:7000`, '--channel', 'paid', '--input', o.input, '--listen', `${UPLINK}:0`,
    '--protect', '--rights-issuer', url, '--preview', String(o.previewS), '--preview-every', String(o.previewEveryS), ...QUIET,
  ]);
  const channelId = await waitFor('source registered its key', 20_000, async () => {
    const s = (await status(src)) as unknown as { drm?: { source?: { registered: boolean; channelId: string } } } | undefined;
    return s?.drm?.source?.registered ? s.drm.source.channelId : undefined;
  }, (id) => id.length > 0);
  return { url, channelId };
}

/** A node's DRM status (join request, domains, rights issuer in use). */
export async function drmOf(p: Proc): Promise<DrmStatus | undefined> {
  return ((await status(p)) as unknown as { drm?: DrmStatus } | undefined)?.drm;
}

/** A node's rights for one content. */
export async function rightsOf(p: Proc, contentId: string): Promise<Rights | undefined> {
  return ((await status(p))?.contents.find((c) => c.id === contentId) as { rights?: Rights } | undefined)?.rights;
}
