// The connection manager's admission of new connections: outgoing dials and incoming accepts,
// both bounded by NetLimits.maxConnections. Hands every admitted connection to the bookkeeping
// (peer-routes.ts) in creation order; the routing decision to dial at all is the manager's.
import type * as net from 'node:net';
import type { Destination } from '../engine/ports.js';
import { formatContact } from './contact.js';
import type { ManagerCounters } from './net-stats.js';
import { PeerConnection, type ConnectionContext } from './peer-connection.js';
import type { PeerRoutes } from './peer-routes.js';
import { dialSocket } from './tcp-sockets.js';
import type { WarningLimiter } from './warning-limiter.js';

/** Share of the connection limit at which a warning says the limit is near. */
const NEAR_LIMIT_SHARE = 0.8;

export class ConnectionAdmission {
  /** Creation order of connections on this side (tie-breaks among same-side connections). */
  private nextOrder = 0;

  constructor(
    private readonly ctx: ConnectionContext,
    private readonly routes: PeerRoutes,
    private readonly warnings: WarningLimiter,
    private readonly counters: ManagerCounters,
  ) {}

  /** Starts an outgoing dial to `to`; undefined (with a warning) at the connection limit or for a bad contact. */
  dial(to: Destination, localPort?: number): PeerConnection | undefined {
    const { conns } = this.routes;
    const max = this.ctx.limits.maxConnections;
    if (conns.size >= max) {
      this.warnings.report('connection-limit', `not dialling ${formatContact(to.contact)}: ${conns.size} connections (limit ${max})`, to.peerId);
      return undefined;
    }
    let socket: net.Socket;
    try {
      socket = dialSocket(to.contact, localPort);
    } catch (e) {
      this.warnings.report('bad-contact', `cannot dial ${formatContact(to.contact)}: ${e instanceof Error ? e.message : String(e)}`, to.peerId);
      return undefined;
    }
    const dial = { contact: { ...to.contact }, ...(to.peerId !== undefined ? { expectedPeerId: to.peerId } : {}) };
    const c = new PeerConnection(socket, 'out', this.ctx, this.nextOrder++, dial);
    this.routes.addDial(c, to.contact);
    return c;
  }

  /** Takes an incoming socket on, or refuses it (closing, or at the connection limit). */
  accept(socket: net.Socket, closing: boolean): void {
    socket.on('error', () => undefined); // until PeerConnection takes over error handling
    const { conns } = this.routes;
    const max = this.ctx.limits.maxConnections;
    if (closing || conns.size >= max) {
      // Read before destroy(): a destroyed socket no longer knows its remote address.
      const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      socket.destroy();
      this.counters.refused++;
      this.warnings.report('connection-refused', `refused incoming connection from ${from}: ${conns.size} connections (limit ${max}${closing ? ', shutting down' : ''})`);
      return;
    }
    // Said once on the way up, before the limit bites.
    if (conns.size + 1 === Math.ceil(max * NEAR_LIMIT_SHARE)) {
      this.warnings.report('connections-near-limit', `${conns.size + 1} connections: ${Math.round(NEAR_LIMIT_SHARE * 100)} % of the limit ${max} (net.maxConnections / net.trackerMaxConnections); beyond it new connections are refused`);
    }
    conns.add(new PeerConnection(socket, 'in', this.ctx, this.nextOrder++));
  }
}
