// The hosts kept across sessions, in ${XDG_CONFIG_HOME:-~/.config}/diskchain/hosts.json (0600),
// and the ones libvirt and virt-manager already know: libvirt.conf's uri_aliases, the
// LIBVIRT_DEFAULT_URI, and virt-manager's saved connections (through dconf, when it is there).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { parseHostSpec, specUrl, type HostSpec } from './host-spec.js';

const MAX_FILE = 1024 * 1024;
const MAX_HOSTS = 1000;

/** Folders kept per host (the ones scanned there), rescanned when the host connects. */
export const MAX_HOST_FOLDERS = 64;
const FolderSchema = z
  .string()
  .max(4096)
  .refine((p) => p.startsWith('/') && !p.includes('\0'), 'not an absolute path');
const StoredHostSchema = z.object({
  id: z.string().max(600),
  spec: z.string().max(512),
  addedAt: z.string().max(64),
  folders: z.array(FolderSchema).max(MAX_HOST_FOLDERS).optional(),
});
export type StoredHost = z.infer<typeof StoredHostSchema>;
const StoreSchema = z.array(StoredHostSchema).max(MAX_HOSTS);

function configHome(): string {
  const x = process.env.XDG_CONFIG_HOME;
  return x && path.isAbsolute(x) ? x : path.join(os.homedir(), '.config');
}

export function hostsFile(): string {
  return path.join(configHome(), 'diskchain', 'hosts.json');
}

/** Bounded read of a small text file; null when it is not there. */
function readSmall(file: string): string | null {
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_FILE) return null;
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export function listHosts(): StoredHost[] {
  const text = readSmall(hostsFile());
  if (text === null) return [];
  const r = StoreSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`${hostsFile()} is not a diskchain hosts file`);
  return r.data;
}

function save(hosts: StoredHost[]): void {
  const file = hostsFile();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(hosts, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Add hosts not there yet (by id); returns the ones added. */
export function addHosts(specs: HostSpec[]): StoredHost[] {
  const hosts = listHosts();
  const added: StoredHost[] = [];
  for (const s of specs) {
    if (hosts.some((h) => h.id === s.id)) continue;
    const h = { id: s.id, spec: specUrl(s), addedAt: new Date().toISOString() };
    hosts.push(h);
    added.push(h);
  }
  if (hosts.length > MAX_HOSTS) throw new Error(`at most ${MAX_HOSTS} hosts`);
  if (added.length) save(hosts);
  return added;
}

/** Keep the folders scanned on `id` (the most recent MAX_HOST_FOLDERS); false when no such host is kept. */
export function setHostFolders(id: string, folders: string[]): boolean {
  const hosts = listHosts();
  const h = hosts.find((x) => x.id === id);
  if (!h) return false;
  const kept = folders.filter((f) => FolderSchema.safeParse(f).success).slice(-MAX_HOST_FOLDERS);
  if (JSON.stringify(h.folders ?? []) === JSON.stringify(kept)) return true;
  h.folders = kept;
  save(hosts);
  return true;
}

/** Remove by id or by URL; returns whether one was there. */
export function removeHost(idOrSpec: string): boolean {
  let id = idOrSpec;
  if (/^[a-z+]+:\/\//.test(idOrSpec)) id = parseHostSpec(idOrSpec).id;
  const hosts = listHosts();
  const kept = hosts.filter((h) => h.id !== id);
  if (kept.length === hosts.length) return false;
  save(kept);
  return true;
}

/** qemu+ssh:// URIs quoted anywhere in a text (libvirt.conf, dconf's GVariant array). */
export function sshUris(text: string): HostSpec[] {
  const out: HostSpec[] = [];
  for (const m of text.slice(0, MAX_FILE).matchAll(/qemu\+ssh:\/\/[^\s"',\]]{1,500}/g)) {
    try {
      out.push(parseHostSpec(m[0]));
    } catch {
      // Not a host we could reach (a socket path, odd options): skipped.
    }
    if (out.length >= MAX_HOSTS) break;
  }
  return out;
}

/** libvirt's and virt-manager's remote connections, where they are found. */
export function importedHosts(): HostSpec[] {
  const found: HostSpec[] = [];
  const conf = readSmall(path.join(configHome(), 'libvirt', 'libvirt.conf'));
  const aliases = conf ? /uri_aliases\s*=\s*\[([^\]]*)\]/.exec(conf) : null;
  if (aliases) found.push(...sshUris(aliases[1]!));
  if (process.env.LIBVIRT_DEFAULT_URI) found.push(...sshUris(process.env.LIBVIRT_DEFAULT_URI));
  try {
    const uris = execFileSync('dconf', ['read', '/org/virt-manager/virt-manager/connections/uris'], {
      encoding: 'utf8',
      timeout: 5000,
      maxBuffer: MAX_FILE,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    found.push(...sshUris(uris));
  } catch {
    // No dconf, or no virt-manager settings.
  }
  return found;
}
