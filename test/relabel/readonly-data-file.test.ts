// A readonly or shareable disk's top data file, as libvirt 11.3 treats it (measured by
// test/libvirt-real). Named by an explicit <dataStore> it is a source of its own, neither readonly
// nor shared: remembered, given the VM's image label and restored, while the top itself is not.
// Read from the header it shares the top's flags: no record, never restored.
import * as fs from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { hostBootTime } from '../../electron/node/core/boottime.js';
import { applyPlan } from '../../electron/node/helper/api.js';
import { planChange } from '../../electron/node/relabel/index.js';
import { CONTENT_LABEL, SHARED_IMAGE_LABEL, type DiskProfile, type Plan } from '../../shared/plan.js';
import { tempDir } from '../support/qemu.js';
import { IMAGE_LABEL, ORIGINAL_CONTEXT, libvirtAttrs, makeChain, owner, profile, setContext, xattr, type Chain } from '../support/chain.js';
import { stateDir } from '../support/state.js';

let tmp: { dir: string; cleanup: () => void };
let chain: Chain;

beforeEach(() => {
  tmp = tempDir('diskchain-ro-data-');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  chain = makeChain(tmp.dir);
  setContext(chain.all);
  for (const f of chain.all) fs.chownSync(f, 0, 0);
  return () => {
    delete process.env.DISKCHAIN_STATE_DIR;
    tmp.cleanup();
  };
});

async function apply(plan: Plan) {
  const r = await applyPlan(plan, { inProcess: true });
  expect({ planned: plan.refusals, applied: r.refusals ?? [], ok: r.ok }).toEqual({ planned: [], applied: [], ok: true });
}

const remembered = () => ({
  dac: '+0:+0',
  ref_dac: '1',
  timestamp_dac: hostBootTime(),
  selinux: ORIGINAL_CONTEXT,
  ref_selinux: '1',
  timestamp_selinux: hostBootTime(),
});

/** The domain's disk, its data file named by an explicit <dataStore> (libvirt/profile.ts sets the flag). */
function diskProfile(flags: { readonly?: boolean; shareable?: boolean }, explicitDataStore: boolean) {
  const disk = { path: chain.top, readonly: false, shareable: false, seclabels: [], ...flags, explicitDataStore };
  return profile({ ...flags, disks: [disk as DiskProfile], allowRoots: [tmp.dir] });
}

describe.each([
  ['readonly', { readonly: true }, CONTENT_LABEL],
  ['shareable', { shareable: true }, SHARED_IMAGE_LABEL],
] as const)('a %s disk', (_, flags, topLabel) => {
  it("remembers and restores the top's data file named by <dataStore>; the top and the backing files keep no record", async () => {
    const relabel = planChange('relabel', chain.top, diskProfile(flags, true));
    expect(relabel.entries.filter((e) => e.remembered).map((e) => e.path)).toEqual([chain.topData]);
    await apply(relabel);
    expect(xattr(chain.top, 'security.selinux')).toBe(topLabel);
    expect(xattr(chain.topData, 'security.selinux')).toBe(IMAGE_LABEL);
    expect(libvirtAttrs(chain.topData)).toEqual(remembered());
    for (const f of [chain.top, chain.mid, chain.base, chain.baseData]) expect(libvirtAttrs(f)).toEqual({});
    for (const f of chain.all) expect(owner(f)).toBe('107:107');

    const restore = planChange('restore', chain.top, diskProfile(flags, true));
    expect(restore.entries.filter((e) => e.changes.length).map((e) => e.path)).toEqual([chain.topData]);
    await apply(restore);
    expect(owner(chain.topData)).toBe('0:0');
    expect(xattr(chain.topData, 'security.selinux')).toBe(ORIGINAL_CONTEXT);
    expect(libvirtAttrs(chain.topData)).toEqual({});
    // The top stays as the VM had it: other VMs may still use a readonly or shareable image.
    expect(owner(chain.top)).toBe('107:107');
    expect(xattr(chain.top, 'security.selinux')).toBe(topLabel);
  });

  it('a data file read from the header shares the top: no record, the top label, not restored', async () => {
    await apply(planChange('relabel', chain.top, diskProfile(flags, false)));
    expect(xattr(chain.topData, 'security.selinux')).toBe(topLabel);
    for (const f of chain.all) expect(libvirtAttrs(f)).toEqual({});
    const restore = planChange('restore', chain.top, diskProfile(flags, false));
    expect(restore.entries.every((e) => e.changes.length === 0)).toBe(true);
    expect(owner(chain.topData)).toBe('107:107');
  });
});
