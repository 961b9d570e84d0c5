// Declarations for the two systeminformation probe files imported on their own (sysinfo.ts); the
// package ships types only for its index.
declare module 'systeminformation/lib/memory.js' {
  import type { Systeminformation } from 'systeminformation';
  export function mem(): Promise<Systeminformation.MemData>;
}
declare module 'systeminformation/lib/network.js' {
  import type { Systeminformation } from 'systeminformation';
  export function networkInterfaces(): Promise<Systeminformation.NetworkInterfacesData[] | Systeminformation.NetworkInterfacesData>;
}
