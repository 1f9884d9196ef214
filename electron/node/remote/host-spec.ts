// Which host a user means: `ssh://[user@]host[:port]`, or libvirt's `qemu+ssh://user@host[:port]/system`
// (what virt-manager and libvirt.conf keep). Everything here ends up on ssh's command line, so a
// name must look like a name: a user or host starting with '-' would be read as an option.
export interface HostSpec {
  user?: string;
  host: string;
  port?: number;
  /** `user@host:port` (host lower-cased, port 22 when not given): the host part of forest ids. */
  id: string;
}

const USER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;
const MAX_SPEC = 512;

export class HostSpecError extends Error {}

export function hostId(user: string | undefined, host: string, port: number | undefined): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${user ? `${user}@` : ''}${h}:${port ?? 22}`;
}

/** Parse a host URL; throws HostSpecError with the reason. */
export function parseHostSpec(text: string): HostSpec {
  if (text.length > MAX_SPEC) throw new HostSpecError('host URL too long');
  const m = /^(ssh|qemu\+ssh):\/\/(?:([^@/]*)@)?(\[[^\]/]*\]|[^:/]*)(?::([^/]*))?(\/[^?#]*)?(?:\?[^#]*)?$/.exec(text);
  if (!m) throw new HostSpecError(`'${text.slice(0, 80)}' is not ssh://[user@]host[:port] or qemu+ssh://user@host[:port]/system`);
  const [, scheme, rawUser, rawHost, rawPort, rest] = m;
  if (scheme === 'ssh' && rest && rest !== '/') throw new HostSpecError(`ssh:// host URLs take no path: '${text.slice(0, 80)}'`);
  let user: string | undefined;
  if (rawUser !== undefined) {
    user = decodeURIComponent(rawUser);
    if (!USER.test(user)) throw new HostSpecError(`'${user.slice(0, 64)}' is not a user name`);
  }
  let host = rawHost!.toLowerCase();
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (!IPV6.test(host)) throw new HostSpecError(`'${host}' is not an IPv6 address`);
  } else if (!HOSTNAME.test(host)) {
    throw new HostSpecError(`'${host.slice(0, 64)}' is not a host name`);
  }
  let port: number | undefined;
  if (rawPort !== undefined && rawPort !== '') {
    port = Number(rawPort);
    if (!/^\d{1,5}$/.test(rawPort) || port < 1 || port > 65535) throw new HostSpecError(`'${rawPort.slice(0, 16)}' is not a port`);
  }
  return { user, host, port, id: hostId(user, host, port) };
}

/** The spec back as an ssh:// URL (what hosts.json keeps). */
export function specUrl(s: HostSpec): string {
  const h = s.host.includes(':') ? `[${s.host}]` : s.host;
  return `ssh://${s.user ? `${s.user}@` : ''}${h}${s.port ? `:${s.port}` : ''}`;
}
