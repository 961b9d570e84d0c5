// The `segment` section of the configuration: interface roles, the main node's local tracker on the
// segment (LAN announce, BLE beacon, election) and the shared uplink, and the local node's discovery.
// Every field has a default; every one is overridable (file, SUPERDIST_SEGMENT__*, --set segment.X=...).
import { z } from 'zod';

const ms = (dflt: number) => z.number({ error: 'expected a number' }).int('expected a whole number').nonnegative('expected a number >= 0').default(dflt);
const port = (dflt: number) => z.number({ error: 'expected a port number' }).int().min(1, 'expected 1..65535').max(65535, 'expected 1..65535').default(dflt);
const ifaceName = z.string().regex(/^([A-Za-z0-9_.:@-]{1,15})?$/, 'expected an interface name (up to 15 characters)').default('');

export const segmentConfigSchema = z
  .object({
    /** Local segment interface (bridge pan0, bnep0, wlan0 in AP/IBSS mode); '' = detect. */
    interface: ifaceName,
    /** Uplink interface (Ethernet, wwan/ppp modem, Wi-Fi client); '' = the default-route interface. */
    uplinkInterface: ifaceName,
    /** Main node: the local tracker's address on the segment, ADDR or ADDR:PORT; '' = the segment interface's IPv4. */
    address: z.string().max(255).default(''),
    /** Main node: TCP port of the local tracker (the segment side of the main node). */
    trackerPort: port(7879),
    /** UDP port of the LAN announce/query (local tracker discovery). */
    announcePort: port(7879),
    /** UDP port of the shared-uplink coordination between main nodes. */
    coordinationPort: port(7880),
    /** Where announces and queries go, HOST:PORT; [] = the segment's subnet broadcast on announcePort. */
    announceTargets: z.array(z.string().min(1).max(255)).default([]),
    /** Also announce and query on this IPv4 multicast group ('' = broadcast only). */
    multicastGroup: z.string().max(64).default(''),
    /** Local tracker: periodic announce period. */
    announceIntervalMs: ms(1000),
    /** Main node: how long it listens for a local tracker before becoming it. */
    electionWaitMs: ms(1500),
    /** Main node: a local tracker not heard for this long is presumed gone. */
    leaderTimeoutMs: ms(3000),
    /** Main node: re-election wait per rank (lowest peer id first). */
    rankStepMs: ms(1000),
    /** Main node: how often it probes the segment for the local tracker. */
    probeIntervalMs: ms(1000),
    /** Main node: how often it reports its uplink and relays to the local tracker. */
    reportIntervalMs: ms(500),
    /** Local tracker: a main node whose reports stop this long leaves the plan. */
    mainTimeoutMs: ms(1500),
    /** Main node: without a plan for this long it takes the whole uplink. */
    planTimeoutMs: ms(1500),
    /** Main node: a chunk due within this long may come over the uplink outside its share. */
    uplinkFallbackMs: ms(1200),
    /** Main node: most chunk requests outstanding over the uplink at once (all uplink partners). */
    uplinkMaxInFlight: z.number({ error: 'expected a number' }).int().min(1, 'expected at least 1').default(3),
    /** Main node: uplink requests unanswered this long mark the uplink down (retried after twice as long). */
    uplinkStallMs: ms(4000),
    /** Main node: keep relaying a channel this long after the segment stopped wanting it. */
    relayLingerMs: ms(15_000),
    /** Main node: the central tracker's catalogue answers local searches; refreshed at most this often. */
    catalogueRefreshMs: ms(5000),
    /** Local node: one discovery round (LAN query + BLE scan) waits this long. */
    discoveryRoundMs: ms(3000),
    /** Local node: a tracker that stays unreachable this long is looked for again. */
    trackerLostMs: ms(8000),
    ble: z
      .object({
        /** Advertise (main) / scan for (local) the local tracker over BLE. */
        enabled: z.boolean().default(true),
        /** HCI device index (hci0 = 0). */
        device: z.number().int().min(0).max(15).default(0),
        advertiseIntervalMs: ms(200),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type SegmentConfig = z.infer<typeof segmentConfigSchema>;
