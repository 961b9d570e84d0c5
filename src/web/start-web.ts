// Starts the web remote for a running service when the configuration asks for it: web.enabled
// (`auto` = on under the daemon), addresses from web.listen or the interface roles.
import type { Config } from '../config/schema.js';
import { parseHostPort } from '../config/address.js';
import type { ControlHandler } from '../control/control-server.js';
import { detectInterfaceRoles } from '../platform/interface-roles.js';
import type { Logger } from '../platform/logger.js';
import type { PhoneMediaSource } from './hls-routes.js';
import { chooseWebAddresses } from './web-addresses.js';
import { WebServer } from './web-server.js';

export function webEnabled(cfg: Config, byDefault: boolean): boolean {
  return cfg.web.enabled === 'auto' ? byDefault : cfg.web.enabled;
}

/** The running web server, or undefined when the page is off. Never throws for a busy address. */
export async function startWeb(
  cfg: Config,
  handlers: Record<string, ControlHandler>,
  log: Logger,
  byDefault: boolean,
  phones: { media?: PhoneMediaSource; sessionApproved?: (token: string) => boolean } = {},
): Promise<WebServer | undefined> {
  if (!webEnabled(cfg, byDefault)) return undefined;
  let addresses: Array<{ host: string; port: number }>;
  if (cfg.web.listen.length) {
    addresses = cfg.web.listen.map((l) => parseHostPort(l) as { host: string; port: number }); // validated by the schema
  } else {
    const { roles, interfaces } = await detectInterfaceRoles({ uplink: cfg.segment.uplinkInterface, segment: cfg.segment.interface });
    const chosen = chooseWebAddresses(interfaces, roles, cfg.web.port, cfg.web.onUplink);
    log.debug({ component: 'web', chosen }, 'web addresses');
    addresses = chosen;
  }
  const web = new WebServer({ config: cfg.web, addresses, handlers, stateDir: cfg.stateDir, log, ...phones });
  await web.listen();
  return web;
}
