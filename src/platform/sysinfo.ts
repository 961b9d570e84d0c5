// The two systeminformation probes the box uses, loaded on their own. The package's index requires
// every probe it has (CPU, USB, Docker, printers, ...), which costs about 10 MB of RSS on Node 20;
// the memory and network probes alone cost under 3 MB. Typed in systeminformation-lib.d.ts from
// the package's own declarations.
import * as memory from 'systeminformation/lib/memory.js';
import * as network from 'systeminformation/lib/network.js';

export const memoryProbe = (): typeof memory => memory;
export const networkProbe = (): typeof network => network;
