// The `segment` section of the configuration: interface roles, the main node's local tracker on the
// segment (LAN announce, BLE beacon, election) and the shared uplink, and the local node's discovery.
// Every field has a default; every one is overridable (file, SUPERDIST_SEGMENT__*, --set segment.X=...).
import { z } from 'zod';
import { LAN_ANNOUNCE_INTERVAL_MS, LAN_DISCOVERY_TIMEOUT_MS } from '../net/udp-announce.js';

const ms = (dflt: number) => z.number({ error: 'expected a number' }).int('expected a whole number').nonnegative('expected a number >= 0').default(dflt);
const port = (dflt: number) => z.number({ error: 'expected a port number' }).int().min(1, 'expected 1..65535').max(65535, 'expected 1..65535').default(dflt);
const ifaceName = z.string().regex(/^([A-Za-z0-9_.:@-]{1,15})?$/, 'expected an interface name (up to 15 characters)').default('');

export const segmentConfigSchema = z
  .object({
    interface: ifaceName.describe("Local segment interface (bridge pan0, bnep0, wlan0 in AP/IBSS mode); '' = detect."),
    uplinkInterface: ifaceName.describe("Uplink interface (Ethernet, wwan/ppp modem, Wi-Fi client); '' = the default-route interface."),
    address: z.string().max(255).default('').describe("Main node: the local tracker's address on the segment, ADDR or ADDR:PORT; '' = the segment interface's IPv4."),
    trackerPort: port(7879).describe('Main node: TCP port of the local tracker (the segment side of the main node).'),
    announcePort: port(7879).describe('UDP port of the LAN announce/query (local tracker discovery).'),
    coordinationPort: port(7880).describe('UDP port of the shared-uplink coordination between main nodes.'),
    announceTargets: z.array(z.string().min(1).max(255)).default([]).describe("Where announces and queries go, HOST:PORT; [] = the segment's subnet broadcast on announcePort."),
    multicastGroup: z.string().max(64).default('').describe("Also announce and query on this IPv4 multicast group ('' = broadcast only)."),
    announceIntervalMs: ms(LAN_ANNOUNCE_INTERVAL_MS).describe('Local tracker: periodic announce period.'),
    electionWaitMs: ms(1500).describe('Main node: how long it listens for a local tracker before becoming it.'),
    leaderTimeoutMs: ms(3000).describe('Main node: a local tracker not heard for this long is presumed gone.'),
    rankStepMs: ms(1000).describe('Main node: re-election wait per rank (lowest peer id first).'),
    probeIntervalMs: ms(1000).describe('Main node: how often it probes the segment for the local tracker.'),
    reportIntervalMs: ms(500).describe('Main node: how often it reports its uplink and relays to the local tracker.'),
    mainTimeoutMs: ms(1500).describe('Local tracker: a main node whose reports stop this long leaves the plan.'),
    planTimeoutMs: ms(1500).describe('Main node: without a plan for this long it takes the whole uplink.'),
    uplinkFallbackMs: ms(1200).describe('Main node: a chunk due within this long may come over the uplink outside its share.'),
    uplinkMaxInFlight: z.number({ error: 'expected a number' }).int().min(1, 'expected at least 1').default(3).describe('Main node: most chunk requests outstanding over the uplink at once (all uplink partners).'),
    uplinkStallMs: ms(4000).describe('Main node: uplink requests unanswered this long mark the uplink down (retried after twice as long).'),
    relayLingerMs: ms(15_000).describe('Main node: keep relaying a channel this long after the segment stopped wanting it.'),
    catalogueRefreshMs: ms(5000).describe("Main node: the central tracker's catalogue answers local searches; refreshed at most this often."),
    discoveryRoundMs: ms(LAN_DISCOVERY_TIMEOUT_MS).describe('Local node: one discovery round (LAN query + BLE scan) waits this long.'),
    trackerLostMs: ms(8000).describe('Local node: a tracker that stays unreachable this long is looked for again.'),
    ble: z
      .object({
        enabled: z.boolean().default(true).describe('Advertise (main) / scan for (local) the local tracker over BLE.'),
        device: z.number().int().min(0).max(15).default(0).describe('HCI device index (hci0 = 0).'),
        advertiseIntervalMs: ms(200).describe('Main node: BLE advertising interval of the local tracker beacon.'),
      })
      .strict()
      .prefault({})
      .describe('The BLE beacon that advertises the local tracker (main node) and the scan for it (local node).'),
  })
  .strict()
  .prefault({});

export type SegmentConfig = z.infer<typeof segmentConfigSchema>;
