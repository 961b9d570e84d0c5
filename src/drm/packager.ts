// `superdist drm package`: a file becomes a .sdc container under a fresh content key, and the key is
// registered with the rights issuer (authenticated by the packager's certificate) before the
// container is written. The preview (seconds) becomes bytes through the file's mean bitrate
// (ffprobe's duration); for MPEG-TS the chunks are whole TS packets, so the preview decodes alone.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { newContentKey } from './content-cipher.js';
import { newFileContentId, writeContainer, type ContainerHeader } from './container.js';
import { requireEnrolled, type DeviceIdentity } from './device-identity.js';
import { DrmError } from './encoding.js';
import { RiClient } from './ri-client.js';
import { parseConstraints } from './rights-object.js';

export function mediaDurationS(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const d = Number(r.stdout?.trim());
  if (r.error || r.status !== 0 || !Number.isFinite(d) || d <= 0) {
    const why = r.error ? r.error.message : (r.stderr?.trim() || 'no duration').slice(0, 200);
    throw new DrmError('bad-usage', `cannot tell the duration of ${file} (ffprobe: ${why}); give --preview-bytes instead of --preview`);
  }
  return d;
}

export interface PackageRequest {
  input: string;
  output: string;
  rightsIssuer: string;
  previewS: number;
  previewBytes?: number;
  constraints: unknown;
  identity: DeviceIdentity;
}

export async function packageFile(p: PackageRequest): Promise<ContainerHeader> {
  const id = requireEnrolled(p.identity);
  if (id.cert.role !== 'packager') throw new DrmError('bad-certificate', `certificate ${id.cert.id} has role ${id.cert.role}; packaging needs a packager certificate (drm enroll --role packager)`);
  let size: number;
  try {
    size = statSync(p.input).size;
  } catch (err) {
    throw new DrmError('bad-usage', `cannot read ${p.input}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const constraints = parseConstraints(p.constraints);
  let previewBytes = p.previewBytes ?? 0;
  if (p.previewBytes === undefined && p.previewS > 0) previewBytes = Math.ceil((size * p.previewS) / mediaDurationS(p.input));
  const key = newContentKey();
  const contentId = newFileContentId();
  await new RiClient(p.rightsIssuer, id).registerContent(contentId, key, constraints);
  return writeContainer({ input: p.input, output: p.output, contentKey: key, contentId, rightsIssuer: p.rightsIssuer, previewSeconds: p.previewS, previewBytes });
}
