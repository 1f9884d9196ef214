// The format registry and qemu's probe: every module scores the bytes as its qemu driver does, the
// highest wins, raw (score 1) when nothing claims them. Ties go to the driver qemu lists first.
import type { FormatName } from '../../../../shared/model.js';
import { HeaderError, type ImageSource } from '../source.js';
import type { FormatModule } from './types.js';
import { qcow2 } from './qcow2/index.js';
import { qcow } from './qcow.js';
import { qed } from './qed.js';
import { vmdk } from './vmdk.js';
import { vdi } from './vdi.js';
import { vpc } from './vpc.js';
import { vhdx } from './vhdx.js';
import { luks } from './luks.js';
import { iso } from './iso.js';
import { raw } from './raw.js';

export const FORMATS: readonly FormatModule[] = [qcow2, qcow, qed, vmdk, vdi, vpc, vhdx, luks, iso, raw];

/**
 * bdrv_probe_all() keeps the first driver with the highest score, in qemu's driver list order.
 * Two magics can coexist only as VDI's signature at 64 plus another at 0; measured with qemu-img
 * 7.2, qed comes before vdi and vdi before every other format here.
 */
const PROBE_ORDER: readonly FormatModule[] = [qed, vdi, qcow2, qcow, vmdk, vpc, vhdx, luks, iso, raw];

const byName = new Map<string, FormatModule>(FORMATS.map((f) => [f.name, f]));

export function formatModule(name: string): FormatModule | undefined {
  return byName.get(name);
}

/** The format qemu would pick for these bytes. A probe that throws counts as "not this format". */
export function probeFormat(src: ImageSource): FormatName {
  let best: FormatModule = raw;
  let bestScore = 0;
  for (const f of PROBE_ORDER) {
    let score = 0;
    try {
      score = f.probe(src);
    } catch (e) {
      if (!(e instanceof HeaderError)) throw e;
    }
    if (score > bestScore) {
      best = f;
      bestScore = score;
      if (score >= 100) break; // nothing scores higher; spares the probes that read further
    }
  }
  return best.name;
}
