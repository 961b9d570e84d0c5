// The connection manager's socket I/O: binding the listening socket, working out the contact our
// Hello advertises, dialling, and closing the listener. No connection policy here.
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Contact } from '../protocol/messages.js';
import { formatContact, isUnspecifiedHost, normalizeHost } from './contact.js';

/** Binds a created server to host:port (0 = ephemeral); resolves with the bound address. */
export async function bindServer(server: net.Server, host: string, port: number): Promise<Contact> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    throw new Error(`cannot listen on ${formatContact({ host, port })}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const a = server.address() as AddressInfo;
  return { host: normalizeHost(a.address), port: a.port };
}

/**
 * The contact to advertise: the bound port when the configured one is 0, and the bound host when
 * the configured one is empty or unspecified (0.0.0.0 / ::; peers then use our socket address).
 */
export function advertisedContact(configured: Contact, bound: Contact): Contact {
  return {
    host: isUnspecifiedHost(configured.host) ? bound.host : configured.host,
    port: configured.port === 0 ? bound.port : configured.port,
  };
}

/**
 * Starts a TCP connect (from `localPort` when given: hole punching); errors are swallowed until the
 * PeerConnection takes over error handling.
 */
export function dialSocket(contact: Contact, localPort?: number): net.Socket {
  const socket = net.connect({ host: contact.host, port: contact.port, ...(localPort ? { localPort } : {}) });
  socket.on('error', () => undefined);
  return socket;
}

/** Resolves once the listener (if any) has closed. */
export function closeServer(server: net.Server | undefined): Promise<void> {
  return server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
}
