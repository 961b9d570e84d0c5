// The peer protocol's messages (thesis §3.3.4) plus tracker join/redirect, as one discriminated union.
// Every message carries the sender's peer id and the content id it concerns ('' when none), as the
// thesis's base Message class does. Encoding lives in codec.ts; framing in framing.ts.

/** A reachable address of a peer: IPv4/IPv6 literal or host name, and TCP port. */
export interface Contact {
  host: string;
  port: number;
}

/**
 * Whether others can dial a peer's advertised contact (docs/nat.md): `public` (its own address,
 * dial-back test passed), `mapped` (a port mapping on its home router, dial-back passed), `nat`
 * (behind a NAT nobody can dial: do not dial it, let it dial you), `unknown` (not tested yet).
 */
export type Reachability = 'unknown' | 'public' | 'mapped' | 'nat';

/** One entry of a members list (MembersResp, TrackerMembers): what a Membership message announced. */
export interface MemberInfo {
  peerId: string;
  contact: Contact;
  /** Whether `contact` can be dialled (the member's own classification). */
  reachability: Reachability;
  /** Membership sequence number the information comes from (newer wins). */
  seq: number;
  /** Remaining time to live of this information, in milliseconds. */
  ttlMs: number;
  /** How many partners the member has (its popularity). */
  partnerCount: number;
}

export type ContentKind = 'live' | 'download';

/** One search result (ContentsResp). */
export interface ContentInfo {
  contentId: string;
  kind: ContentKind;
  title: string;
  /** Total size in bytes for downloads; 0 for live channels. */
  sizeBytes: number;
}

/** Numeric wire type of each message. Never renumber: the value is on the wire. */
export const MessageType = {
  Hello: 1,
  KeepAlive: 2,
  Membership: 3,
  MembersReq: 4,
  MembersResp: 5,
  PartnershipReq: 6,
  PartnershipResp: 7,
  PartnershipRemove: 8,
  BufferMapInfo: 9,
  DataChunkReq: 10,
  DataChunkResp: 11,
  DataChunkReject: 12,
  ContentsReq: 13,
  ContentsResp: 14,
  TrackerJoin: 15,
  TrackerMembers: 16,
  TrackerRedirect: 17,
  TrackerLeave: 18,
  Error: 19,
  ManifestReq: 20,
  ManifestResp: 21,
  ContentAnnounce: 22,
  ReachabilityReq: 23,
  ReachabilityResp: 24,
  PunchReq: 25,
  PunchNow: 26,
  Relay: 27,
  SubstreamSub: 28,
  SubstreamAck: 29,
  Features: 30,
  DataChunkDue: 31,
  DataChunkCancel: 32,
  BufferMapDelta: 33,
} as const;
export type MessageTypeName = keyof typeof MessageType;

interface Base {
  /** Sender's peer id. */
  peerId: string;
  /** Content the message is about; '' when it concerns none. */
  contentId: string;
}

/** First message on every connection, both ways: who I am and where I listen. */
export interface Hello extends Base {
  type: 'Hello';
  contact: Contact;
  /** Sender's role, informational ('node', 'tracker', 'source', 'main'; 'probe' for a dial-back test). */
  role: string;
  /** The receiver's address:port as the sender's socket sees it (STUN's mapped address); host '' when unknown. */
  observed: Contact;
}
export interface KeepAlive extends Base {
  type: 'KeepAlive';
}
/** Periodic announcement of a peer's existence and status (gossiped). */
export interface Membership extends Base {
  type: 'Membership';
  activeContents: string[];
  seq: number;
  contact: Contact;
  ttlMs: number;
  partnerCount: number;
  /** Whether `contact` can be dialled (see Reachability). */
  reachability: Reachability;
}
export interface MembersReq extends Base {
  type: 'MembersReq';
  max: number;
}
export interface MembersResp extends Base {
  type: 'MembersResp';
  members: MemberInfo[];
}
export interface PartnershipReq extends Base {
  type: 'PartnershipReq';
}
export interface PartnershipResp extends Base {
  type: 'PartnershipResp';
  accepted: boolean;
  /** Why a request was refused ('' when accepted). */
  reason: string;
}
export interface PartnershipRemove extends Base {
  type: 'PartnershipRemove';
}
/** Buffer map: bit i set ⇔ the sender holds chunk baseId + i. */
export interface BufferMapInfo extends Base {
  type: 'BufferMapInfo';
  baseId: number;
  /** Number of meaningful bits in `bits`. */
  length: number;
  bits: Uint8Array;
}
/**
 * What changed in the sender's buffer map since the map it last sent this partner (sent only to
 * partners whose Features name 'map-delta'): ids below `floorId` are no longer held, bits give ids
 * [baseId, baseId + length) (bit i ⇔ chunk baseId + i, packed as in BufferMapInfo), every id in
 * [floorId, baseId) is as the previous map said, and the map now ends at baseId + length.
 */
export interface BufferMapDelta extends Base {
  type: 'BufferMapDelta';
  floorId: number;
  baseId: number;
  length: number;
  bits: Uint8Array;
}
export interface DataChunkReq extends Base {
  type: 'DataChunkReq';
  chunkId: number;
}
export interface DataChunkResp extends Base {
  type: 'DataChunkResp';
  chunkId: number;
  /** Source time of the chunk (ms since epoch) for live chunks; 0 for download pieces. */
  timestampMs: number;
  /** Source signature over the chunk (Ed25519, 64 bytes) for live chunks; empty for pieces. */
  signature: Uint8Array;
  data: Uint8Array;
}
/**
 * Push subscription (docs/live-push.md): the sender asks to be sent every new chunk of the
 * sub-streams in `mask` (chunk i is on sub-stream i mod `count`) without requesting it; renewed
 * within the lease, `mask` 0 ends it. `uploadBps`: the sender's measured upload rate (0: unknown).
 */
export interface SubstreamSub extends Base {
  type: 'SubstreamSub';
  count: number;
  mask: number;
  uploadBps: number;
}
/** The answer to a SubstreamSub: the sub-streams accepted, and `hops[s]`, the answerer's distance from the source on sub-stream s (255: not fed). */
export interface SubstreamAck extends Base {
  type: 'SubstreamAck';
  count: number;
  mask: number;
  hops: Uint8Array;
}
/**
 * What the sender's data plane for this content understands beyond the base protocol, sent to a
 * new partner (names; today 'due': it takes DataChunkDue, 'cancel': DataChunkCancel, and 'map-delta': BufferMapDelta). Readers ignore names they do not know;
 * an older peer skips the whole message as an unknown type, and is then sent none of the extras.
 */
export interface Features extends Base {
  type: 'Features';
  names: string[];
}
/**
 * A DataChunkReq with a deadline: the requester plays this chunk in `dueInMs` (a piece in its
 * playback window), so the answerer serves it before requests without one (docs/downloads.md).
 * Sent only to partners whose Features name 'due'.
 */
export interface DataChunkDue extends Base {
  type: 'DataChunkDue';
  chunkId: number;
  dueInMs: number;
}
/**
 * The requester no longer wants this chunk (a seek left it outside the playback window): the
 * answerer drops the request if it still waits in its upload queue. Sent only to partners whose
 * Features name 'cancel'; a chunk already on its way still arrives.
 */
export interface DataChunkCancel extends Base {
  type: 'DataChunkCancel';
  chunkId: number;
}
export interface DataChunkReject extends Base {
  type: 'DataChunkReject';
  chunkId: number;
  reason: string;
}
export interface ContentsReq extends Base {
  type: 'ContentsReq';
  word: string;
}
export interface ContentsResp extends Base {
  type: 'ContentsResp';
  contents: ContentInfo[];
}
/** A peer asks the tracker to join a content (it also sends its Membership). */
export interface TrackerJoin extends Base {
  type: 'TrackerJoin';
  contact: Contact;
  kind: ContentKind;
  /** Human title the joiner gives the content (a source naming its channel); '' when none. */
  title: string;
  /** False when the joiner was already redirected (or its deputy failed): answer with members. */
  allowRedirect: boolean;
  /** Access ticket (IMS mode); empty when none. */
  ticket: Uint8Array;
}
/** Tracker's (or a deputy's) answer to a join: members holding the content. */
export interface TrackerMembers extends Base {
  type: 'TrackerMembers';
  members: MemberInfo[];
  /** The joiner's address:port as the tracker sees it; host '' when unknown (a deputy's answer). */
  observed: Contact;
}
/** Tracker's answer to a join when it load-balances: repeat the join at this deputy. */
export interface TrackerRedirect extends Base {
  type: 'TrackerRedirect';
  deputy: MemberInfo;
}
export interface TrackerLeave extends Base {
  type: 'TrackerLeave';
}
/** A protocol-level refusal with a reason (bad ticket, unknown content, ...). */
export interface ErrorMessage extends Base {
  type: 'Error';
  code: number;
  message: string;
}

/** Asks a peer holding a download content for its manifest (whose hash is the content id). */
export interface ManifestReq extends Base {
  type: 'ManifestReq';
}
/** A download content's manifest bytes; empty when the sender does not hold the manifest. */
export interface ManifestResp extends Base {
  type: 'ManifestResp';
  manifest: Uint8Array;
}
/** A publisher tells the tracker the catalogue entry of a content it joined (title, size). */
export interface ContentAnnounce extends Base {
  type: 'ContentAnnounce';
  kind: ContentKind;
  title: string;
  /** Total size in bytes for downloads; 0 for live channels. */
  sizeBytes: number;
}

/** A node asks the tracker to dial `contact` back with a fresh connection (reachability test). */
export interface ReachabilityReq extends Base {
  type: 'ReachabilityReq';
  contact: Contact;
}
/** The tracker's answer: whether a fresh TCP connection to `contact` completed a Hello from the asker. */
export interface ReachabilityResp extends Base {
  type: 'ReachabilityResp';
  contact: Contact;
  reachable: boolean;
  /** The asker's address:port as the tracker sees it. */
  observed: Contact;
  /** Why not reachable ('' when reachable): 'timeout', 'refused', 'wrong-peer', 'busy', ... */
  detail: string;
}

/**
 * Hole punching through the tracker (docs/nat.md): a node behind a NAT registers its punch contact
 * (`target` '') or asks to be connected with `target`; `contact` is its punch socket's address as
 * the tracker saw it.
 */
export interface PunchReq extends Base {
  type: 'PunchReq';
  target: string;
  contact: Contact;
}
/** The tracker to both sides: dial `peer` at `contact` now, from your punch port (host '' = unknown peer). */
export interface PunchNow extends Base {
  type: 'PunchNow';
  peer: string;
  contact: Contact;
}

/**
 * Relay fallback (docs/nat.md): `inner` sent by `origin` for `target`, carried by a public or mapped
 * box both can reach. `peerId` is the hop's sender (the origin toward the relay, the relay toward
 * the target). `inner` is never a Relay, Hello or KeepAlive.
 */
export interface Relay extends Base {
  type: 'Relay';
  origin: string;
  target: string;
  inner: Message;
}

export type Message =
  | Hello
  | KeepAlive
  | Membership
  | MembersReq
  | MembersResp
  | PartnershipReq
  | PartnershipResp
  | PartnershipRemove
  | BufferMapInfo
  | BufferMapDelta
  | DataChunkReq
  | DataChunkResp
  | DataChunkReject
  | ContentsReq
  | ContentsResp
  | TrackerJoin
  | TrackerMembers
  | TrackerRedirect
  | TrackerLeave
  | ErrorMessage
  | ManifestReq
  | ManifestResp
  | ContentAnnounce
  | ReachabilityReq
  | ReachabilityResp
  | PunchReq
  | PunchNow
  | Relay
  | SubstreamSub
  | SubstreamAck
  | Features
  | DataChunkDue
  | DataChunkCancel;

export type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;

/** Wire error codes carried in Error messages. */
export const ErrorCode = {
  UnknownContent: 1,
  AccessDenied: 2,
  Overloaded: 3,
  BadRequest: 4,
} as const;

/** Upper bounds checked before anything is allocated while decoding. */
export const WireLimits = {
  /** Longest peer id, content id, host, title, word, reason (UTF-8 bytes). */
  maxStringBytes: 255,
  /** Longest error message (UTF-8 bytes). */
  maxTextBytes: 1024,
  /** Most entries in a members list. */
  maxMembers: 256,
  /** Most entries in a contents list or an active-contents list. */
  maxContents: 256,
  /** Most names in a Features message. */
  maxFeatures: 32,
  /** Longest buffer map, in bits. */
  maxBufferMapBits: 65_536,
  /** Most bits in a BufferMapDelta (its bits field has a one-byte length). */
  maxMapDeltaBits: 2040,
  /** Longest signature. */
  maxSignatureBytes: 128,
  /** Most sub-streams of a live content. */
  maxSubstreams: 32,
  /** Longest ticket. */
  maxTicketBytes: 2048,
  /** Longest download manifest (65 536 piece hashes of 32 bytes plus the header). */
  maxManifestBytes: 2 * 1024 * 1024 + 1024,
} as const;
