// Chooses the address other peers should use to reach this node.
import { networkInterfaces } from 'node:os';

/** The configured advertise host; else the listen host; for a wildcard listen, the first non-internal IPv4. */
export function advertiseHost(listenHost: string, configured: string): string {
  if (configured) return configured;
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenHost;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}
