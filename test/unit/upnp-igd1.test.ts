// The UPnP IGD v1 client (src/net/upnp-igd1.ts) against answers a home router may give, good and bad.
import { describe, expect, it } from 'vitest';
import * as net from 'node:net';
import * as http from 'node:http';
import { findWanService, Igd1Gateway } from '../../src/net/upnp-igd1.js';

describe('UPnP IGD v1 answers, good and bad', () => {
  const base = new URL('http://192.168.1.1:5000/rootDesc.xml');
  const desc = (services: string) => `<?xml version="1.0"?><root><device><deviceList><device><serviceList>${services}</serviceList></device></deviceList></device></root>`;
  const svc = (type: string, control: string) => `<service><serviceType>${type}</serviceType><controlURL>${control}</controlURL></service>`;

  it('finds the WANIPConnection control URL (relative to the description), preferring v1 IP over PPP', () => {
    const found = findWanService(desc(svc('urn:schemas-upnp-org:service:WANPPPConnection:1', '/ppp') + svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/ctl/IPConn')), base);
    expect(found.serviceType).toBe('urn:schemas-upnp-org:service:WANIPConnection:1');
    expect(found.controlURL.href).toBe('http://192.168.1.1:5000/ctl/IPConn');
  });

  it('names what is missing in a description that is garbage or has no port-mapping service', () => {
    expect(() => findWanService('<html>router login</html>', base)).toThrow(/lists no WANIPConnection\/WANPPPConnection service/);
    expect(() => findWanService(desc(svc('urn:schemas-upnp-org:service:Layer3Forwarding:1', '/l3f')), base)).toThrow(/lists no WANIPConnection/);
    expect(() => findWanService(desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'file:///etc/passwd')), base)).toThrow(/lists no WANIPConnection/);
  });

  /** A router whose SOAP endpoint answers `soap` (status, body), or never when null. */
  async function fakeRouter(soap: [number, string] | null) {
    const server = http.createServer((req, res) => {
      if (req.url === '/rootDesc.xml') return void res.end(desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/ctl/IPConn')));
      if (soap === null) return; // hangs
      res.statusCode = soap[0];
      res.end(soap[1]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    return { server, location: new URL(`http://127.0.0.1:${port}/rootDesc.xml`) };
  }

  it('a refusal carries the router\'s UPnP error; garbage and silence are errors too', async () => {
    const refuse = await fakeRouter([500, '<s:Envelope><s:Body><s:Fault><detail><UPnPError><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>']);
    const garbage = await fakeRouter([200, 'OK']);
    const silent = await fakeRouter(null);
    try {
      const g1 = await Igd1Gateway.at(refuse.location, 1_000);
      await expect(g1.map(7878, '192.168.1.2', 3600, 'superdist', 1_000)).rejects.toThrow('AddPortMapping refused (HTTP 500, UPnP error 718 ConflictInMappingEntry)');
      const g2 = await Igd1Gateway.at(garbage.location, 1_000);
      await expect(g2.map(7878, '192.168.1.2', 3600, 'superdist', 1_000)).rejects.toThrow(/not a AddPortMappingResponse/);
      await expect(g2.externalIp(1_000)).rejects.toThrow(/not a GetExternalIPAddressResponse/);
      const g3 = await Igd1Gateway.at(silent.location, 1_000);
      await expect(g3.map(7878, '192.168.1.2', 3600, 'superdist', 200)).rejects.toThrow(/timeout|aborted/i);
    } finally {
      for (const r of [refuse, garbage, silent]) r.server.closeAllConnections();
      for (const r of [refuse, garbage, silent]) r.server.close();
    }
  });

  it('maps, reads the external address and unmaps on a router that plays along', async () => {
    const calls: string[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === '/rootDesc.xml') return void res.end(desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/ctl/IPConn')));
      const action = /#(\w+)"/.exec(String(req.headers.soapaction))?.[1] ?? '?';
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        calls.push(`${action} ${/<NewExternalPort>(\d+)/.exec(body)?.[1] ?? ''}`.trim());
        const extra = action === 'GetExternalIPAddress' ? '<NewExternalIPAddress>100.64.0.14</NewExternalIPAddress>' : '';
        res.end(`<s:Envelope><s:Body><u:${action}Response xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">${extra}</u:${action}Response></s:Body></s:Envelope>`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const g = await Igd1Gateway.at(new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/rootDesc.xml`), 1_000);
      await g.map(7878, '192.168.4.2', 3600, 'superdist', 1_000);
      expect(await g.externalIp(1_000)).toBe('100.64.0.14');
      await g.unmap(7878, 1_000);
      expect(calls).toEqual(['AddPortMapping 7878', 'GetExternalIPAddress', 'DeletePortMapping 7878']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
