// This box's hardware id for update bundles: the configured one, else the device tree's first
// `compatible` entry (e.g. raspberrypi,4-model-b), else PLATFORM-ARCH (linux-x64 on a PC).
import { readFileSync } from 'node:fs';

export const DEVICE_TREE_COMPATIBLE = '/proc/device-tree/compatible';

export function hardwareId(configured: string, compatibleFile = DEVICE_TREE_COMPATIBLE): string {
  if (configured) return configured;
  try {
    const first = readFileSync(compatibleFile, 'latin1').split('\0')[0]?.trim();
    if (first && /^[0-9A-Za-z._,+-]{1,64}$/.test(first)) return first;
  } catch {
    // no device tree: not a board
  }
  return `${process.platform}-${process.arch}`;
}
