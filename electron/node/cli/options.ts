// Option parsers the commands share.

/** A repeatable option (`--allow-root A --allow-root B`): every value, in order. */
export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** `--libvirt-version X.Y`, shared by `domain` and `relabel`/`restore` with a domain. */
export const LIBVIRT_VERSION_OPTION = [
  '--libvirt-version <X.Y>',
  "the libvirt whose behaviour to reproduce (default: the installed libvirtd's, else the newest known)",
] as const;
