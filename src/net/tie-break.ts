// Which connections to keep when one peer pair ends up with several (simultaneous dial, or one side
// dialled an alias of an address it was already connected to). Pure, so both ends of a pair reach
// the same verdict without talking about it.
//
// Rule: keep the connections initiated by the peer whose id is lexicographically smaller (JS string
// order, i.e. UTF-16 code units). If every candidate was initiated by the same peer, only that peer
// (the initiator) prunes: it keeps its oldest connection and retires the newer ones; the other end
// keeps them all (sending on the newest) until the initiator's retirement closes them.

export interface TieBreakCandidate {
  /** Peer id of the side that opened the TCP connection. */
  initiator: string;
  /** Creation order on this side (smaller = older). */
  order: number;
}

export interface TieBreakVerdict<T> {
  keep: T[];
  retire: T[];
}

export function chooseSurvivors<T extends TieBreakCandidate>(selfId: string, peerId: string, list: readonly T[]): TieBreakVerdict<T> {
  const preferred = selfId < peerId ? selfId : peerId;
  const byPreferred = list.filter((c) => c.initiator === preferred);
  let keep = byPreferred.length > 0 ? byPreferred : [...list];
  const retire = list.filter((c) => !keep.includes(c));
  keep.sort((a, b) => a.order - b.order);
  if (keep.length > 1 && keep[0]!.initiator === selfId) {
    retire.push(...keep.slice(1));
    keep = keep.slice(0, 1);
  }
  return { keep, retire };
}
