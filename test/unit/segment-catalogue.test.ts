// The local tracker's cache of the central catalogue: answers from the cache within refreshMs, but an
// id the cache lacks (a file published a moment ago) is asked for again at once, at most every second.
import { describe, expect, it } from 'vitest';
import { CentralCatalogue } from '../../src/segment/catalogue.js';
import type { ContentInfo } from '../../src/protocol/messages.js';

const info = (contentId: string, title: string): ContentInfo => ({ contentId, kind: 'download', title, sizeBytes: 0 });

describe('CentralCatalogue', () => {
  it('refreshes at once for an id it lacks, at most every second, and keeps the cache otherwise', async () => {
    let now = 0;
    let list: ContentInfo[] = [info('dl-a', 'Film A')];
    let queries = 0;
    const cat = new CentralCatalogue({ host: '10.0.0.1', port: 7000 }, 5000, async () => {
      queries++;
      return list;
    });
    expect((await cat.search('', [], () => now)).map((c) => c.contentId)).toEqual(['dl-a']);
    expect(queries).toBe(1);
    list = [info('dl-a', 'Film A'), info('dl-b', 'Film B')];
    now = 500;
    expect(await cat.search('film', [], () => now)).toHaveLength(1); // cached: a word, not a missing id
    expect(await cat.search('dl-b', [], () => now)).toHaveLength(0); // missing, but asked < 1 s ago
    expect(queries).toBe(1);
    now = 1600;
    expect((await cat.search('dl-b', [], () => now)).map((c) => c.title)).toEqual(['Film B']);
    expect(queries).toBe(2);
    expect(cat.titleOf('dl-b')).toBe('Film B');
    expect(cat.titleOf('dl-x')).toBe('');
    now = 3000;
    await cat.search('dl-a', [], () => now); // listed: no new query
    expect(queries).toBe(2);
  });
});
