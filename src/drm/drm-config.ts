// The `drm` section of the configuration (src/config/schema.ts): where rights come from, how a
// source protects its channel, and the main node's domain manager / DRM proxy.
import { z } from 'zod';

const isoOrEmpty = z.string().refine((s) => s === '' || !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 date-time or ""').default('');
const count = (what: string) => z.number({ error: `expected ${what}` }).int('expected a whole number').nonnegative('expected a number >= 0').default(0);

export const drmConfigSchema = z
  .object({
    /** Rights issuer (or DRM proxy) URL, http://HOST:PORT; '' = the container's URL, or a local node's main node proxy. */
    rightsIssuer: z.string().refine((s) => s === '' || /^https?:\/\/[^/\s]+/.test(s), 'expected http://HOST:PORT or ""').default(''),
    /** Source: encrypt the published channel (AES-128-CTR per chunk, key registered with the RI). */
    protect: z.boolean().default(false),
    /** Source: seconds left clear at the start of every previewEveryS period (0 = no preview). */
    previewS: count('seconds'),
    previewEveryS: z.number().int().min(1, 'expected a number >= 1').default(300),
    /** Source: the play permission the RI grants for the channel (0 / "" = unconstrained). */
    count: count('a number of plays'),
    intervalS: count('seconds'),
    notBefore: isoOrEmpty,
    notAfter: isoOrEmpty,
    /** Main node: the DRM proxy's TCP port on the segment address (0 = no proxy). */
    proxyPort: z.number().int().min(0).max(65535).default(7881),
    /** Main node: the domain it manages holds at most this many devices. */
    domainMaxSize: z.number().int().min(1).max(1000).default(8),
    /** Local node: how often a pending domain join is polled at the proxy (ms). */
    joinPollMs: z.number().int().min(100).default(1000),
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
