// The engine's content port has one owner: planes register with the router in any order and each
// gets the messages of the contents it runs.
import { describe, expect, it } from 'vitest';
import type { ContentMessage, ContentMessageHandler } from '../../src/engine/content-messages.js';
import { ContentRouter, ContentRouters, type RoutedPlane } from '../../src/engine/plane/content-router.js';

function port() {
  let handler: ContentMessageHandler | undefined;
  return { setContentMessageHandler: (h: ContentMessageHandler | undefined) => (handler = h), deliver: (contentId: string) => handler?.({ peerId: 'p', contact: { host: '10.0.0.1', port: 1 } }, { type: 'DataChunkReq', peerId: 'p', contentId, chunkId: 0 } as ContentMessage) };
}

function plane(name: string, runs: string[], got: string[]): RoutedPlane {
  return { runs: (id) => runs.includes(id), receive: (_from, msg) => got.push(`${name}:${msg.contentId}`) };
}

describe('content router', () => {
  it('hands each message to the plane running its content, whichever registered first', () => {
    for (const order of [['live', 'dl'], ['dl', 'live']]) {
      const p = port();
      const router = new ContentRouter(p);
      const got: string[] = [];
      const planes = { live: plane('live', ['chan'], got), dl: plane('dl', ['dl-1'], got) };
      for (const name of order) router.add(planes[name as 'live' | 'dl']);
      p.deliver('chan');
      p.deliver('dl-1');
      p.deliver('other');
      expect(got).toEqual(['live:chan', 'dl:dl-1']);
      expect(router.unrouted).toBe(1);
    }
  });

  it('one router per engine of a composition', () => {
    const routers = new ContentRouters();
    const a = port();
    const b = port();
    expect(routers.of(a)).toBe(routers.of(a));
    expect(routers.of(a)).not.toBe(routers.of(b));
  });
});
