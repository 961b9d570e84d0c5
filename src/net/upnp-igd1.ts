// UPnP IGD v1 (InternetGatewayDevice:1 — most routers sold before ~2015): SSDP search, the device
// description's WANIPConnection / WANPPPConnection control URL, SOAP AddPortMapping /
// DeletePortMapping / GetExternalIPAddress. @achingbrain/nat-port-mapper speaks only IGD v2; this
// fills the gap with the three calls a port mapping needs. Anything a router answers that does not
// fit is an Error naming what was wrong.
import * as dgram from 'node:dgram';

const SSDP_ADDRESS = '239.255.255.250';
const SSDP_PORT = 1900;
const IGD1 = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
/** Services that map ports, preferred first. */
const WAN_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
  'urn:schemas-upnp-org:service:WANIPConnection:2',
];
const MAX_BODY_BYTES = 256 * 1024;

/** Sends an SSDP M-SEARCH for IGD v1 and resolves with the first LOCATION answered. */
export function searchIgd1(timeoutMs: number): Promise<URL> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    let done = false;
    const finish = (err: Error | undefined, url?: URL): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(url as URL);
    };
    const timer = setTimeout(() => finish(new Error(`no IGD v1 answered the SSDP search within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (e) => finish(new Error(`SSDP search failed: ${e.message}`)));
    socket.on('message', (msg) => {
      const text = msg.toString('latin1');
      const location = /^location:\s*(\S+)/im.exec(text)?.[1];
      if (!location || !/^st:\s*urn:schemas-upnp-org:device:InternetGatewayDevice:1/im.test(text)) return;
      try {
        const url = new URL(location);
        if (url.protocol === 'http:') finish(undefined, url);
      } catch {
        // A malformed LOCATION: wait for a better answer.
      }
    });
    const search = ['M-SEARCH * HTTP/1.1', `HOST: ${SSDP_ADDRESS}:${SSDP_PORT}`, 'MAN: "ssdp:discover"', 'MX: 2', `ST: ${IGD1}`, '', ''].join('\r\n');
    socket.bind(0, () => {
      socket.send(search, SSDP_PORT, SSDP_ADDRESS, (e) => e && finish(new Error(`SSDP search failed: ${e.message}`)));
    });
  });
}

async function fetchText(url: URL, init: RequestInit, timeoutMs: number): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  const body = await res.text();
  if (body.length > MAX_BODY_BYTES) throw new Error(`the router answered ${body.length} bytes from ${url.href}`);
  return { status: res.status, body };
}

/** The first port-mapping service of a device description: its type and absolute control URL. */
export function findWanService(description: string, base: URL): { serviceType: string; controlURL: URL } {
  const services = description.match(/<service>[\s\S]*?<\/service>/gi) ?? [];
  for (const type of WAN_SERVICES) {
    for (const s of services) {
      if (tagText(s, 'serviceType') !== type) continue;
      const control = tagText(s, 'controlURL');
      if (!control) continue;
      const url = new URL(control, base);
      if (url.protocol !== 'http:') continue;
      return { serviceType: type, controlURL: url };
    }
  }
  throw new Error('the device description lists no WANIPConnection/WANPPPConnection service with a control URL');
}

function tagText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<(?:\\w+:)?${tag}>\\s*([^<]*?)\\s*</(?:\\w+:)?${tag}>`, 'i').exec(xml);
  return m?.[1];
}

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export class Igd1Gateway {
  private constructor(
    readonly host: string,
    private readonly serviceType: string,
    private readonly controlURL: URL,
  ) {}

  /** Finds a v1 gateway on the LAN and its port-mapping service. */
  static async find(timeoutMs: number): Promise<Igd1Gateway> {
    return Igd1Gateway.at(await searchIgd1(timeoutMs), timeoutMs);
  }

  /** The gateway whose device description is at `location`. */
  static async at(location: URL, timeoutMs: number): Promise<Igd1Gateway> {
    const desc = await fetchText(location, {}, timeoutMs);
    if (desc.status !== 200) throw new Error(`the device description at ${location.href} answered HTTP ${desc.status}`);
    const { serviceType, controlURL } = findWanService(desc.body, location);
    return new Igd1Gateway(location.hostname, serviceType, controlURL);
  }

  async map(port: number, internalHost: string, leaseS: number, description: string, timeoutMs: number): Promise<void> {
    await this.soap('AddPortMapping', [
      ['NewRemoteHost', ''],
      ['NewExternalPort', String(port)],
      ['NewProtocol', 'TCP'],
      ['NewInternalPort', String(port)],
      ['NewInternalClient', internalHost],
      ['NewEnabled', '1'],
      ['NewPortMappingDescription', description],
      ['NewLeaseDuration', String(leaseS)],
    ], timeoutMs);
  }

  async unmap(port: number, timeoutMs: number): Promise<void> {
    await this.soap('DeletePortMapping', [['NewRemoteHost', ''], ['NewExternalPort', String(port)], ['NewProtocol', 'TCP']], timeoutMs);
  }

  async externalIp(timeoutMs: number): Promise<string> {
    const body = await this.soap('GetExternalIPAddress', [], timeoutMs);
    const ip = tagText(body, 'NewExternalIPAddress');
    if (!ip) throw new Error('GetExternalIPAddress: no NewExternalIPAddress in the answer');
    return ip;
  }

  private async soap(action: string, args: Array<[string, string]>, timeoutMs: number): Promise<string> {
    const body = [
      '<?xml version="1.0"?>',
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>',
      `<u:${action} xmlns:u="${this.serviceType}">${args.map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('')}</u:${action}>`,
      '</s:Body></s:Envelope>',
    ].join('');
    const res = await fetchText(this.controlURL, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${this.serviceType}#${action}"` },
      body,
    }, timeoutMs);
    if (res.status !== 200) {
      const code = tagText(res.body, 'errorCode');
      const text = tagText(res.body, 'errorDescription');
      throw new Error(`${action} refused (HTTP ${res.status}${code ? `, UPnP error ${code}` : ''}${text ? ` ${text}` : ''})`);
    }
    if (!new RegExp(`<(?:\\w+:)?${action}Response`, 'i').test(res.body)) throw new Error(`${action}: the router's answer is not a ${action}Response`);
    return res.body;
  }
}
