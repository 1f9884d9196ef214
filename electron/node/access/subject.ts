// Who the VM's process is: libvirt starts qemu with setuid/setgid to the configured user and
// group and the supplementary groups getgrouplist gives for the user's name (virGetGroupList).
import type { AccessSubject } from '../../../shared/access.js';
import { groupList, groupName, userName } from '../native/libc.js';
import { parseGroup, parseUser } from '../libvirt/owner.js';

const MAX_GROUPS = 65536;

export function resolveSubject(user: string, group: string, given?: number[]): AccessSubject {
  const uid = parseUser(user);
  const gid = parseGroup(group);
  // `+N` is a number even when a user has that name; NSS names it (if anyone) for the group list.
  const name = userName(uid);
  let groups: number[];
  let groupsSource: AccessSubject['groupsSource'];
  if (given) {
    if (given.length > MAX_GROUPS || !given.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xfffffffe)) {
      throw new Error('supplementary groups must be numbers between 0 and 4294967294');
    }
    groups = [gid, ...[...new Set(given)].filter((g) => g !== gid).sort((a, b) => a - b)];
    groupsSource = 'given';
  } else if (name !== null) {
    groups = groupList(name, gid);
    groupsSource = 'nss';
  } else {
    groups = [gid];
    groupsSource = 'gid-only';
  }
  return { user, group, uid, gid, groups, groupsSource, userName: name, groupName: groupName(gid) };
}
