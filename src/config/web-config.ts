// The `web` section of the configuration: the box's web remote and dashboard (src/web/).
// Every field has a default; every one is overridable (file, SUPERDIST_WEB__*, --set web.X=..., --web).
import { z } from 'zod';
import { parseHostPort } from './address.js';

const listenList = z.array(
  z.string().superRefine((v, ctx) => {
    const r = parseHostPort(v);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: `web.listen: ${r}` });
  }),
);

export const webConfigSchema = z
  .object({
    enabled: z.union([z.boolean(), z.literal('auto')], { error: 'expected true, false or "auto"' }).default('auto').describe('`auto`: on under `superdist daemon`, off for foreground commands unless --web is given; true/false force it.'),
    listen: z.preprocess((v) => (typeof v === 'string' ? (v ? [v] : []) : v), listenList).default([]).describe('Explicit HOST:PORT addresses; [] = every local-segment and LAN address (and loopback) on web.port.'),
    port: z
      .number({ error: 'expected a port number' })
      .int()
      .min(0, 'expected 0..65535')
      .max(65535, 'expected 0..65535')
      .default(8080)
      .describe('TCP port of the page on every local-segment and LAN address (when web.listen is empty).'),
    onUplink: z.boolean().default(false).describe('Also serve on the uplink interface when its address is public or it is a modem (wwan/ppp).'),
    viewersMayBrowse: z.boolean().default(true).describe('Viewers (no owner login) see the channel list, what plays and the live status.'),
    viewersMaySwitch: z.boolean().default(false).describe('Viewers may switch and stop the TV (the owner can change this on the page).'),
    viewersMayWatch: z.boolean().default(true).describe('Viewers (no owner login) may watch the channels this box receives on their phone, in the page (HLS, docs/phones.md); the owner can change this on the page.'),
    maxViewers: z.number().int().min(0).max(1000).default(16).describe('Phones watching at once (HLS, docs/phones.md); one more is told the box is full. 0 turns phone watching off.'),
    sessionIdleS: z.number().int().min(60).max(30 * 86400).default(12 * 3600).describe('Owner session lifetime (seconds since the last request).'),
    hostNames: z.array(z.string().min(1).max(253)).default([]).describe('Extra host names the page may be reached by (besides IP literals, localhost, the host name and NAME.local).'),
    https: z
      .union([z.boolean(), z.literal('auto')], { error: 'expected true, false or "auto"' })
      .default('auto')
      .describe("The page over HTTPS with the box's own certificate (STATE/web-tls/, docs/web.md#https); `auto`: on under `superdist daemon`, off for foreground commands."),
    plainHttp: z
      .enum(['redirect', 'viewer'], { error: 'expected "redirect" or "viewer"' })
      .default('redirect')
      .describe("With HTTPS on, what plain HTTP on the same port does: `redirect` every page load to HTTPS (and refuse the rest), or serve the viewer's page (channels, phones' HLS) while the owner's login stays HTTPS-only."),
    historyS: z.number().int().min(10).max(3600).default(600).describe('Status history kept for the chart: one sample per second, this many seconds.'),
  })
  .strict()
  .prefault({});

export type WebConfig = z.infer<typeof webConfigSchema>;
