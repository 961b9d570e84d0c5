// The one error type of the pure protocol layer (codec and wire buffers). Framing never throws it
// at its caller: it counts and reports it as a FrameError instead (see framing.ts).

/**
 * What went wrong, coarse enough to count and switch on:
 * - `truncated`      the payload ended before a field was complete
 * - `trailing-bytes` bytes were left after the last field of the message
 * - `too-long`       a string, byte field or list exceeds its WireLimits bound
 * - `bad-value`      a field holds a value it may not have (non-integer, out of range, bool not 0/1,
 *                    unknown content kind, buffer-map length larger than its bits, wrong JS type)
 * - `unknown-type`   a type code (or message `type`) that no message has
 */
export type ProtocolErrorKind = 'truncated' | 'trailing-bytes' | 'too-long' | 'bad-value' | 'unknown-type';

/**
 * Bad wire data, or a message that cannot be put on the wire. The message always starts with the
 * field path and then says the problem, e.g. `MembersResp.members: count 9000 exceeds limit 256`.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly kind: ProtocolErrorKind;
  /** Dotted path of the offending field (`TrackerJoin.contact.port`), or the message name. */
  readonly field: string;

  constructor(kind: ProtocolErrorKind, field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.kind = kind;
    this.field = field;
  }
}

/** Type guard usable on anything caught. */
export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}
