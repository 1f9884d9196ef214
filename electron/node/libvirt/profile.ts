// The VM profile as libvirt's qemu driver resolves it from qemu.conf and the domain XML, every
// value with where it came from. The rules, from libvirt's sources:
// - qemu_conf.c: user/group (QEMU_USER/QEMU_GROUP when absent), dynamic_ownership and
//   remember_owner (both on for the system daemon), security_driver (a string or a list; absent:
//   the first confinement driver the host has), security_default_confined (on).
// - qemu_driver.c qemuSecurityInit: DAC is always stacked for the system daemon; it chowns images
//   only with dynamic_ownership on.
// - domain_conf.c: a <seclabel> without type is dynamic when confined by default, else none;
//   relabel defaults to yes for dynamic, no for static and none.
// - security_dac.c: images get the domain DAC seclabel's imagelabel (= its label) else qemu.conf's
//   user:group; a disk's own <seclabel model='dac'> wins (relabel='no' skips the disk's files).
// - security_selinux.c: a static label's image label is svirt_image_t with the label's range; a
//   dynamic one gets two random categories at start; relabel='no' turns image labelling off.
// - qemu_security.c: remember_owner=0 commits without remembering (no trusted.libvirt.* records).
// - domain_conf.c / qemu_domain.c: a disk without <driver type> is raw; libvirt does not probe.
import type {
  DiskProfileView,
  DomainDisk,
  ResolvedProfile,
  Sourced,
  XmlDeviceSeclabel,
  XmlDomainSeclabel,
} from '../../../shared/domain.js';
import { DEFAULT_IMAGE_LABEL_BASE, type DiskProfile, type DiskSeclabel, type Driver, type VmProfile } from '../../../shared/plan.js';
import { lookupGroup, lookupUser } from '../native/libc.js';
import type { DomainDef } from './domain-xml.js';
import { ConfError, confBool, confString, confStringList, type QemuConf } from './qemu-conf.js';

export interface HostFacts {
  /** Whether SELinux is enabled here (decides libvirt's default security driver). */
  selinuxEnabled: boolean;
}

const DEFAULT = 'libvirt default';

function sourced<T>(value: T, source: string): Sourced<T> {
  return { value, source };
}

/** libvirt's build-time QEMU_USER / QEMU_GROUP, as the distributions set them. */
function builtinOwner(): { user: Sourced<string>; group: Sourced<string> } | null {
  const user = ['libvirt-qemu', 'qemu'].find((u) => lookupUser(u) !== null);
  if (!user) return null;
  const group = ['kvm', 'qemu', 'libvirt-qemu'].find((g) => lookupGroup(g) !== null) ?? `+${lookupUser(user)!.gid}`;
  return {
    user: sourced(user, `${DEFAULT}: the user libvirt was built with (libvirt-qemu on Debian, qemu on Fedora; '${user}' exists here)`),
    group: sourced(group, `${DEFAULT}: the group libvirt was built with ('${group}' here)`),
  };
}

function seclabelText(s: XmlDomainSeclabel): string {
  const a = [`model='${s.model ?? '(none)'}'`];
  if (s.type) a.push(`type='${s.type}'`);
  if (s.relabel !== null) a.push(`relabel='${s.relabel ? 'yes' : 'no'}'`);
  return `domain <seclabel ${a.join(' ')}>`;
}

function deviceSeclabelText(disk: string, s: XmlDeviceSeclabel, level = 0): string {
  const a = [`model='${s.model ?? '(none)'}'`];
  if (!s.relabel) a.push(`relabel='no'`);
  return `disk ${disk}${level ? ` level ${level}` : ''} <seclabel ${a.join(' ')}>${s.label ? ` <label>${s.label}</label>` : ''}`;
}

/** A level field of an SELinux context: everything after user:role:type. */
function contextRange(ctx: string): string | null {
  const parts = ctx.split(':');
  return parts.length >= 4 ? parts.slice(3).join(':') : null;
}

interface DriverResolution {
  enabled: Sourced<boolean>;
  seclabel: XmlDomainSeclabel | null;
  type: 'dynamic' | 'static' | 'none';
}

/** The domain seclabel of `model` and whether it relabels (domain_conf.c defaults). */
function domainDriver(model: Driver, seclabels: XmlDomainSeclabel[], defaultConfined: Sourced<boolean>): DriverResolution {
  const s = seclabels.find((x) => x.model === model) ?? null;
  if (!s) {
    if (model === 'dac')
      return { enabled: sourced(true, `${DEFAULT}: no <seclabel model='dac'> in the domain`), seclabel: null, type: 'dynamic' };
    return defaultConfined.value
      ? {
          enabled: sourced(true, `${DEFAULT}: no <seclabel model='selinux'>, confined by default (${defaultConfined.source})`),
          seclabel: null,
          type: 'dynamic',
        }
      : { enabled: sourced(false, `no <seclabel model='selinux'> and ${defaultConfined.source}`), seclabel: null, type: 'none' };
  }
  const type = s.type ?? (defaultConfined.value ? 'dynamic' : 'none');
  const relabel = s.relabel ?? type === 'dynamic';
  if (type === 'none') return { enabled: sourced(false, `${seclabelText(s)}: type none, libvirt leaves files alone`), seclabel: s, type };
  if (!relabel) {
    const why = s.relabel === null ? `${seclabelText(s)}: a ${type} label does not relabel unless relabel='yes'` : seclabelText(s);
    return { enabled: sourced(false, why), seclabel: s, type };
  }
  return { enabled: sourced(true, seclabelText(s)), seclabel: s, type };
}

function splitOwner(label: string, where: string): { user: string; group: string } {
  const i = label.indexOf(':');
  if (i <= 0 || i === label.length - 1) throw new ConfError(`${where}: DAC label '${label}' is not user:group`);
  return { user: label.slice(0, i), group: label.slice(i + 1) };
}

/**
 * A disk seclabel's driver: its model, else (libvirt matches by model) the domain's only
 * seclabel model; null when it cannot be told.
 */
function deviceModel(s: XmlDeviceSeclabel, domain: XmlDomainSeclabel[]): Driver | null {
  const m = s.model ?? (domain.length === 1 ? domain[0]!.model : null);
  return m === 'dac' || m === 'selinux' ? m : null;
}

function toDiskSeclabels(list: XmlDeviceSeclabel[], domain: XmlDomainSeclabel[], notes: string[], where: string): DiskSeclabel[] {
  const out: DiskSeclabel[] = [];
  for (const s of list) {
    const model = deviceModel(s, domain);
    if (!model) {
      notes.push(`${where}: a <seclabel> with model '${s.model ?? '(none)'}' matches no driver diskchain reproduces; ignored`);
      continue;
    }
    out.push({ model, relabel: s.relabel, ...(s.label ? { label: s.label } : {}) });
  }
  return out;
}

/** Disks whose files Relabel / Restore can act on: local files with a path. */
export function plannableDisks(disks: Pick<DomainDisk, 'type' | 'xmlChain'>[]): number[] {
  return disks.flatMap((d, i) => (d.type === 'file' && d.xmlChain[0]?.path ? [i] : []));
}

/** Resolve the profile. Throws ConfError for settings libvirt itself would refuse. */
export function resolveProfile(conf: QemuConf | null, confPath: string, dom: DomainDef | null, host: HostFacts): ResolvedProfile {
  const notes: string[] = [];
  const absent = conf ? `not set in ${confPath}` : `${confPath} not found`;

  const drv = confStringList(conf, 'security_driver');
  if (drv) {
    const dup = drv.value.find((d, i) => drv.value.indexOf(d) !== i);
    if (dup) throw new ConfError(`${drv.source}: duplicate security driver ${dup} (libvirt refuses to start)`);
  }
  const securityDrivers: Sourced<string[]> =
    drv ??
    sourced(
      host.selinuxEnabled ? ['selinux'] : [],
      `${DEFAULT} (${absent}): the first driver the host supports; SELinux is ${host.selinuxEnabled ? 'enabled' : 'not enabled'} here`,
    );
  if (securityDrivers.value.includes('apparmor'))
    notes.push('AppArmor is in security_driver: diskchain does not reproduce AppArmor profiles');
  for (const d of securityDrivers.value) {
    if (!['selinux', 'apparmor', 'none', 'dac'].includes(d)) notes.push(`security_driver '${d}' is not one libvirt's qemu driver knows`);
  }

  const dynamicOwnership = confBool(conf, 'dynamic_ownership') ?? sourced(true, `${DEFAULT}: 1 (${absent})`);
  const rememberOwner = confBool(conf, 'remember_owner') ?? sourced(true, `${DEFAULT}: 1 (${absent})`);
  const defaultConfined = confBool(conf, 'security_default_confined') ?? sourced(true, `${DEFAULT}: 1 (${absent})`);

  const domSec = dom?.seclabels ?? [];
  // A domain seclabel without model belongs to the host's first security model.
  const firstModel = securityDrivers.value.find((d) => d !== 'none') ?? 'dac';
  const seclabels = domSec.map((s) => (s.model ? s : { ...s, model: firstModel }));
  if (domSec.some((s) => !s.model))
    notes.push(`a domain <seclabel> without model is taken as '${firstModel}' (the host's first security model)`);

  // DAC
  const builtin = builtinOwner();
  const confUser = confString(conf, 'user');
  const confGroup = confString(conf, 'group');
  let user: Sourced<string> = confUser ?? builtin?.user ?? sourced('', `${DEFAULT}: none of libvirt-qemu or qemu exists on this host`);
  let group: Sourced<string> = confGroup ?? builtin?.group ?? sourced('', `${DEFAULT}: no VM group found on this host`);
  let dacEnabled: Sourced<boolean>;
  if (!dynamicOwnership.value) {
    dacEnabled = sourced(false, `${dynamicOwnership.source}: libvirt does not chown images`);
  } else {
    const d = domainDriver('dac', seclabels, defaultConfined);
    dacEnabled = d.enabled;
    const s = d.seclabel;
    if (d.enabled.value && s) {
      // security_dac.c: images take the imagelabel; a static label becomes the imagelabel.
      const label = s.imagelabel ?? (d.type === 'static' ? s.label : null);
      if (label) {
        const o = splitOwner(label, seclabelText(s));
        const what = s.imagelabel ? `<imagelabel>${label}</imagelabel>` : `<label>${label}</label>`;
        user = sourced(o.user, `${seclabelText(s)} ${what}`);
        group = sourced(o.group, `${seclabelText(s)} ${what}`);
      }
    }
  }

  // SELinux
  let selEnabled: Sourced<boolean>;
  let imageLabel: Sourced<string | null> = sourced(null, 'not used');
  if (!securityDrivers.value.includes('selinux')) {
    selEnabled = sourced(false, `${securityDrivers.source}: SELinux is not among the security drivers`);
  } else {
    const d = domainDriver('selinux', seclabels, defaultConfined);
    selEnabled = d.enabled;
    const s = d.seclabel;
    if (d.enabled.value) {
      if (s?.imagelabel) {
        imageLabel = sourced(s.imagelabel, `${seclabelText(s)} <imagelabel>`);
      } else if (d.type === 'static' && s?.label) {
        const range = contextRange(s.label);
        const base = DEFAULT_IMAGE_LABEL_BASE.split(':').slice(0, 3).join(':');
        imageLabel = sourced(
          range ? `${base}:${range}` : null,
          `${seclabelText(s)} <label>${s.label}</label>: the image label is svirt_image_t with the label's range`,
        );
      } else {
        imageLabel = sourced(null, `${s ? seclabelText(s) : DEFAULT}: dynamic; libvirt picks two random categories when the VM starts`);
      }
    }
  }

  // Disks
  const disks: DiskProfileView[] = [];
  const diskProfiles: DiskProfile[] = [];
  for (const i of plannableDisks(dom?.disks ?? [])) {
    const disk = dom!.disks[i]!;
    const name = disk.target ?? `#${i + 1}`;
    const top = disk.xmlChain[0]!;
    const own = toDiskSeclabels(top.seclabels, seclabels, notes, `disk ${name}`);
    if (top.format === null) {
      // libvirt never probes a format the XML leaves out (probing a guest-writable image would let
      // the guest name any host file as its backing file): the top is raw, its header unread.
      notes.push(
        `disk ${name}: no <driver type>, so libvirt opens ${top.path} as raw without probing: ` +
          'no backing file or data file of its header is used or labelled; state the format if the image is not raw',
      );
    }
    const layerSeclabels: Record<string, DiskSeclabel[]> = {};
    for (const l of disk.xmlChain.slice(1)) {
      if (l.path && l.seclabels.length)
        layerSeclabels[l.path] = toDiskSeclabels(l.seclabels, seclabels, notes, `disk ${name} level ${l.depth}`);
    }
    const view = (model: Driver, enabled: Sourced<boolean>) => {
      const xmlS = top.seclabels.find((s) => deviceModel(s, seclabels) === model);
      const s = own.find((x) => x.model === model);
      if (!enabled.value) return { relabel: sourced(false, enabled.source), label: sourced<string | null>(null, 'not used') };
      if (s && xmlS) {
        return {
          relabel: sourced(s.relabel, deviceSeclabelText(name, xmlS)),
          label: sourced(s.label ?? null, s.label ? deviceSeclabelText(name, xmlS) : "the VM's label"),
        };
      }
      return { relabel: sourced(true, enabled.source), label: sourced<string | null>(null, "the VM's label") };
    };
    disks.push({
      target: disk.target,
      path: top.path!,
      readonly: sourced(disk.readonly, disk.readonly ? `disk ${name} <readonly/>` : `disk ${name}: no <readonly/>`),
      shareable: sourced(disk.shareable, disk.shareable ? `disk ${name} <shareable/>` : `disk ${name}: no <shareable/>`),
      dac: view('dac', dacEnabled),
      selinux: view('selinux', selEnabled),
    });
    diskProfiles.push({
      path: top.path!,
      ...(disk.target ? { target: disk.target } : {}),
      readonly: disk.readonly,
      shareable: disk.shareable,
      seclabels: own,
      ...(Object.keys(layerSeclabels).length ? { layerSeclabels } : {}),
      ...(top.format === null || top.format === 'raw' ? { format: top.format } : {}),
      ...(top.dataStore ? { explicitDataStore: true } : {}),
    });
  }

  const drivers: Driver[] = [...(dacEnabled.value ? ['dac' as const] : []), ...(selEnabled.value ? ['selinux' as const] : [])];
  const profile: VmProfile = {
    drivers,
    user: user.value,
    group: group.value,
    ...(imageLabel.value ? { imageLabel: imageLabel.value } : {}),
    readonly: false,
    shareable: false,
    allowRoots: [],
    rememberOwner: rememberOwner.value,
    disks: diskProfiles,
  };
  return {
    securityDrivers,
    dynamicOwnership,
    rememberOwner,
    defaultConfined,
    dac: { enabled: dacEnabled, user, group },
    selinux: { enabled: selEnabled, imageLabel },
    disks,
    drivers,
    profile,
    notes,
  };
}
