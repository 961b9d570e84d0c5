// The `drm` section of the configuration (src/config/schema.ts): where rights come from, how a
// source protects its channel, and the main node's domain manager / DRM proxy.
import { z } from 'zod';

const isoOrEmpty = z.string().refine((s) => s === '' || !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 date-time or ""').default('');
const count = (what: string) => z.number({ error: `expected ${what}` }).int('expected a whole number').nonnegative('expected a number >= 0').default(0);

export const drmConfigSchema = z
  .object({
    rightsIssuer: z.string().refine((s) => s === '' || /^https?:\/\/[^/\s]+/.test(s), 'expected http://HOST:PORT or ""').default('').describe("Rights issuer (or DRM proxy) URL, http://HOST:PORT; '' = the container's URL, or a local node's main node proxy."),
    protect: z.boolean().default(false).describe('Source: encrypt the published channel (AES-128-CTR per chunk, key registered with the RI).'),
    previewS: count('seconds').describe('Source: seconds left clear at the start of every previewEveryS period (0 = no preview).'),
    previewEveryS: z.number().int().min(1, 'expected a number >= 1').default(300).describe('Source: the preview period: the first previewS seconds of every period are clear.'),
    count: count('a number of plays').describe('Source: plays the RI grants for the channel (0 = unlimited).'),
    intervalS: count('seconds').describe('Source: the rights last this long after the first play (0 = no interval constraint).'),
    notBefore: isoOrEmpty.describe('Source: the rights start at this ISO 8601 date-time ("" = no start).'),
    notAfter: isoOrEmpty.describe('Source: the rights end at this ISO 8601 date-time ("" = no end).'),
    proxyPort: z.number().int().min(0).max(65535).default(7881).describe("Main node: the DRM proxy's TCP port on the segment address (0 = no proxy)."),
    domainMaxSize: z.number().int().min(1).max(1000).default(8).describe('Main node: the domain it manages holds at most this many devices.'),
    joinPollMs: z.number().int().min(100).default(1000).describe('Local node: how often a pending domain join is polled at the proxy (ms).'),
  })
  .strict()
  .prefault({});

export type DrmConfig = z.infer<typeof drmConfigSchema>;

/** The play constraints configured for a source, as the RI takes them. */
export function configuredConstraints(c: DrmConfig): Record<string, number | string> {
  return {
    ...(c.count ? { count: c.count } : {}),
    ...(c.intervalS ? { intervalS: c.intervalS } : {}),
    ...(c.notBefore ? { notBefore: c.notBefore } : {}),
    ...(c.notAfter ? { notAfter: c.notAfter } : {}),
  };
}
