// One verdict per input, wherever it is checked: shared/rules.ts, the renderer↔main contract,
// the relabel form's field errors, the privileged helper's request schema and the engine's
// profile checks must all accept and refuse the same users, groups and SELinux labels.
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../electron/node/change/contract.js';
import { parseGroup, parseOwnership, parseUser } from '../../electron/node/libvirt/owner.js';
import { isContext as profileIsContext, profileProblems } from '../../electron/node/relabel/profile.js';
import { channels } from '../../shared/ipc.js';
import type { VmProfile } from '../../shared/plan.js';
import { ContextSchema, IdNameSchema, ProfileInputSchema, fieldIssues, idNumber, isContext, isIdName } from '../../shared/rules.js';

const TOP = '/var/lib/libvirt/images/vm.qcow2';
const LABEL = 'system_u:object_r:svirt_image_t:s0:c1,c2';

/** [input, accepted as a user or group]. */
const IDS: Array<[string, boolean]> = [
  ['qemu', true],
  ['107', true],
  ['+107', true],
  ['+0', true],
  ['libvirt-qemu', true],
  ['_apt', true],
  ['Debian-exim', true],
  ['host.name', true],
  ['machine$', true],
  ['a'.repeat(32), true],
  [`${'a'.repeat(31)}$`, true],
  ['4294967294', true],
  ['+4294967294', true],
  ['9qemu', false],
  ['qemu@x', false],
  ['a'.repeat(40), false],
  ['a'.repeat(33), false],
  [`${'a'.repeat(32)}$`, false],
  ['qemu user', false],
  [' qemu', false],
  ['qemu\n', false],
  ['qemu\nroot', false],
  ['+4294967295', false],
  ['4294967295', false],
  ['+99999999999', false],
  ['+', false],
  ['+x', false],
  ['+qemu', false],
  ['-1', false],
  ['0x6b', false],
  ['qe$mu', false],
  ['qemu/kvm', false],
  ['qemu,kvm', false],
  ['qémù', false],
];

/** [input, accepted as an image label]. */
const CONTEXTS: Array<[string, boolean]> = [
  ['system_u:object_r:svirt_image_t:s0', true],
  [LABEL, true],
  ['system_u:object_r:virt_content_t:s0', true],
  ['system_u:object_r:svirt_image_t:s0-s0:c0.c1023', true],
  ['system_u:object_r:svirt_image_t', false],
  ['system_u:object_r', false],
  ['not a label', false],
  ['system_u:object_r:svirt image_t:s0', false],
  [`${LABEL}\n`, false],
  [`${LABEL}\0`, false],
  ['system_u:object_r:svirt_image_t:s0:c1,', false],
  ['system_u:object_r:svirt_image_t:s0::c1', false],
  ['system_u:object_r:svirt_image_t:,,,', false],
  [`system_u:object_r:svirt_image_t:s0:${'c1,'.repeat(100)}c2`, false],
];

const formProfile = (over: Record<string, unknown>) => ({
  drivers: ['dac'],
  user: '+107',
  group: '+107',
  readonly: false,
  shareable: false,
  ...over,
});
const vmProfile = (over: Partial<VmProfile>): VmProfile => ({
  drivers: ['dac'],
  user: '+107',
  group: '+107',
  readonly: false,
  shareable: false,
  allowRoots: [],
  ...over,
});

const ipcPlan = (profile: Record<string, unknown>) => channels.plan.req.safeParse({ action: 'relabel', top: TOP, profile }).success;
const ipcAccess = (user: string, group: string) =>
  channels.access.req.safeParse({ top: TOP, profile: { user, group, readonly: false, shareable: false } }).success;
const helperPlan = (profile: Record<string, unknown>) =>
  !('error' in parseRequest({ id: 1, verb: 'plan', action: 'relabel', tops: [TOP], profile: { allowRoots: [], ...profile } }));
/** The form's verdict on one typed field: no error shown by it. */
const formField = (over: Record<string, unknown>, field: 'user' | 'group' | 'imageLabel') => {
  const r = ProfileInputSchema.safeParse(formProfile(over));
  return r.success || fieldIssues(r.error).fields[field] === undefined;
};

/** The engine's own verdict on the form of a name: lookups that fail say "no such …", the form's refusal does not. */
function parses(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (e) {
    return /no such (user|group)/.test((e as Error).message);
  }
}

describe('users and groups: one rule everywhere', () => {
  it.each(IDS)('%j', (input, ok) => {
    const verdicts = {
      rules: isIdName(input),
      schema: IdNameSchema.safeParse(input).success,
      'ipc plan user': ipcPlan(formProfile({ user: input })),
      'ipc plan group': ipcPlan(formProfile({ group: input })),
      'ipc access': ipcAccess(input, input),
      'form user field': formField({ user: input }, 'user'),
      'form group field': formField({ group: input }, 'group'),
      'helper plan user': helperPlan(formProfile({ user: input })),
      'helper plan group': helperPlan(formProfile({ group: input })),
      'profileProblems user': !profileProblems(vmProfile({ user: input })).some((m) => m.startsWith('invalid user')),
      'profileProblems group': !profileProblems(vmProfile({ group: input })).some((m) => m.startsWith('invalid group')),
      parseUser: parses(() => parseUser(input)),
      parseGroup: parses(() => parseGroup(input)),
      'parseOwnership user': parses(() => parseOwnership(`${input}:+0`)),
      'parseOwnership group': parses(() => parseOwnership(`+0:${input}`)),
    };
    const expected = Object.fromEntries(Object.keys(verdicts).map((k) => [k, ok]));
    expect(verdicts).toEqual(expected);
  });

  it('a number is the id it names, +N always, a plain N when no such name exists', () => {
    expect(idNumber('+107')).toBe(107);
    expect(idNumber('107')).toBe(107);
    expect(idNumber('+4294967295')).toBeNull();
    expect(idNumber('qemu')).toBeNull();
    expect(parseUser('107')).toBe(107);
    expect(parseUser('+107')).toBe(107);
    expect(parseGroup('4294967294')).toBe(4294967294);
  });
});

describe('SELinux image labels: one rule everywhere, the level required', () => {
  it.each(CONTEXTS)('%j', (input, ok) => {
    const selinux = { drivers: ['selinux'], user: '+107', group: '+107', imageLabel: input };
    const verdicts = {
      rules: isContext(input),
      schema: ContextSchema.safeParse(input).success,
      'ipc plan': ipcPlan(formProfile(selinux)),
      'form label field': formField(selinux, 'imageLabel'),
      'helper plan': helperPlan(formProfile(selinux)),
      'profile isContext': profileIsContext(input),
      'profileProblems imageLabel': !profileProblems(vmProfile({ drivers: ['selinux'], imageLabel: input })).some((m) =>
        /invalid SELinux label/.test(m),
      ),
      'profileProblems disk seclabel': !profileProblems(
        vmProfile({
          drivers: ['selinux'],
          disks: [{ path: TOP, readonly: false, shareable: false, seclabels: [{ model: 'selinux', relabel: true, label: input }] }],
        }),
      ).some((m) => /invalid SELinux label/.test(m)),
    };
    const expected = Object.fromEntries(Object.keys(verdicts).map((k) => [k, ok]));
    expect(verdicts).toEqual(expected);
  });
});

describe('the form says which field is wrong', () => {
  it('each bad field gets its own message; a good profile none', () => {
    const r = ProfileInputSchema.safeParse(formProfile({ user: '9qemu', group: 'qemu@x', imageLabel: 'system_u:object_r:svirt_image_t' }));
    expect(r.success).toBe(false);
    const { fields, rest } = fieldIssues(r.error!);
    expect(Object.keys(fields).sort()).toEqual(['group', 'imageLabel', 'user']);
    expect(fields.user).toMatch(/name or \+N/);
    expect(fields.imageLabel).toMatch(/user:role:type:level/);
    expect(rest).toEqual([]);
    const drivers = ProfileInputSchema.safeParse(formProfile({ drivers: [] }));
    expect(fieldIssues(drivers.error!)).toMatchObject({ fields: {}, rest: [expect.objectContaining({ path: ['drivers'] })] });
    expect(ProfileInputSchema.safeParse(formProfile({ user: '107', group: 'kvm', imageLabel: LABEL })).success).toBe(true);
  });
});
