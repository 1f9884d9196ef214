// Root's side of R1 (libvirt-root.test.ts), run INSIDE its private mount namespace, where /var/lib
// is a tmpfs and /etc an overlay whose qemu.conf names libvirt's qemu user: the host's own
// /var/lib and /etc are never touched. Makes root's VM image in /var/lib/libvirt/images/private
// (root 0700, the image 0600, root's or, as root may have copied it there, the caller's), has
// the attacker ask the helper through pkexec for an access fix, then (`relabel`) a relabel to
// themselves and, the control, a relabel to the qemu user.
//   node --import tsx libvirt-root-run.ts '{"uid","gid","qemu","state","imageOwner","relabel"}'
// prints one JSON line: snapshots of libvirt's folders and the image after each step, the answers.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIBVIRT_IMAGES_DIR } from '../../shared/plan.js';
import { snapshot } from '../support/chain.js';
import { askAsCaller, type CallerAnswers } from './pkexec-caller.js';

export interface Job {
  uid: number;
  gid: number;
  qemu: number;
  state: string;
  imageOwner: 'root' | 'caller';
  relabel: boolean;
}

export interface Outcome {
  img: string;
  priv: string;
  before: Snapshots;
  afterAccessFix: Snapshots;
  after: Snapshots;
  controlled: Snapshots;
  accessFix: CallerAnswers;
  relabel: CallerAnswers | null;
  control: CallerAnswers | null;
}

type Snapshots = ReturnType<typeof snapshot>;

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const priv = path.join(LIBVIRT_IMAGES_DIR, 'private');
fs.mkdirSync(priv, { recursive: true });
fs.chmodSync(LIBVIRT_IMAGES_DIR, 0o711);
fs.chmodSync(priv, 0o700);
const img = path.join(priv, 'root-vm.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img, '1M']);
fs.chmodSync(img, 0o600);
if (job.imageOwner === 'caller') fs.chownSync(img, job.uid, job.gid);

const watched = ['/var/lib/libvirt', LIBVIRT_IMAGES_DIR, priv, img];
const caller = { uid: job.uid, state: job.state };
const relabelTo = (id: number) => ({
  verb: 'plan',
  action: 'relabel',
  tops: [img],
  profile: {
    drivers: ['dac'],
    user: `+${id}`,
    group: `+${id === job.uid ? job.gid : id}`,
    readonly: false,
    shareable: false,
    allowRoots: [],
    openedFolders: [],
  },
});

const before = snapshot(watched);
const accessFix = await askAsCaller(caller, { verb: 'access-plan', path: img, profile: { user: `+${job.uid}`, group: `+${job.gid}` } });
const afterAccessFix = snapshot(watched);
const relabel = job.relabel ? await askAsCaller(caller, relabelTo(job.uid)) : null;
const after = snapshot(watched);
const control = job.relabel ? await askAsCaller(caller, relabelTo(job.qemu)) : null;
const controlled = snapshot(watched);
const outcome: Outcome = { img, priv, before, afterAccessFix, after, controlled, accessFix, relabel, control };
process.stdout.write(JSON.stringify(outcome) + '\n');
