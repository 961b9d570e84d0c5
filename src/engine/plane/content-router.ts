// The one owner of an engine's content-message port (BufferMapInfo, DataChunk*, Manifest*, Features
// of the contents the engine has joined). Each data plane — the live channels, the downloads —
// registers once with what it runs; a message goes to the plane that runs its content, whichever
// plane was built first. A main node's bridge (src/segment/bridged-engine.ts) forwards both of its
// engines' messages into the one port. Messages of a content no plane runs are counted, not passed on.
import type { ContentMessage, ContentMessageHandler } from '../content-messages.js';
import type { PeerAddress } from '../ports.js';

/** The engine side: where the router installs itself. */
export interface ContentPort {
  setContentMessageHandler(handler: ContentMessageHandler | undefined): void;
}

/** A data plane as the router sees it. */
export interface RoutedPlane {
  /** Whether this plane runs the content. */
  runs(contentId: string): boolean;
  receive(from: PeerAddress, msg: ContentMessage): void;
}

export class ContentRouter {
  private readonly planes: RoutedPlane[] = [];
  /** Messages of a content no plane runs. */
  unrouted = 0;

  constructor(port: ContentPort) {
    port.setContentMessageHandler((from, msg) => this.route(from, msg));
  }

  /** Adds a plane; the contents planes run are disjoint (a channel id is never a dl- id). */
  add(plane: RoutedPlane): void {
    this.planes.push(plane);
  }

  route(from: PeerAddress, msg: ContentMessage): void {
    for (const p of this.planes) {
      if (p.runs(msg.contentId)) return p.receive(from, msg);
    }
    this.unrouted++;
  }
}

/** The routers of one composition (a node's): one per engine, made on first use. */
export class ContentRouters {
  private readonly byPort = new Map<ContentPort, ContentRouter>();

  of(port: ContentPort): ContentRouter {
    let r = this.byPort.get(port);
    if (!r) {
      r = new ContentRouter(port);
      this.byPort.set(port, r);
    }
    return r;
  }
}
