// `diskchain export PATH --libvirt-xml | --blockdev [--json] | --json-filename`: a chain written so
// libvirt or qemu use exactly these files. --blockdev prints one `-blockdev '{...}'` argument per
// node, base first and joined by line continuations, so it pastes after a qemu command line;
// --json prints the same nodes as a JSON array (for QMP blockdev-add or scripts).
import { Command } from 'commander';
import { inspect } from '../core/chain.js';
import { blockdevArgs, blockdevNodes, diskXml, nestedJson } from '../libvirt/export.js';
import { topFailure } from './inspect.js';
import { terminalSafeJson } from '../../../shared/escape.js';
import { writeOut } from './output.js';

interface ExportOpts {
  libvirtXml?: boolean;
  blockdev?: boolean;
  json?: boolean;
  jsonFilename?: boolean;
  target?: string;
  bus?: string;
  readonly?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("write a chain as libvirt's <disk> XML (backingStore, dataStore) or qemu's -blockdev nodes")
    .argument('<path>', 'the top image')
    .option('--libvirt-xml', 'the <disk> element with its nested <backingStore> chain and <dataStore>s')
    .option('--blockdev', 'qemu -blockdev arguments, one per node, base first')
    .option('--json', 'with --blockdev: the nodes as a JSON array')
    .option('--json-filename', 'the chain as one nested json:{...} filename for qemu-img and qemu-io')
    .option('--target <dev>', '<target dev> of the XML', 'vda')
    .option('--bus <bus>', '<target bus> of the XML', 'virtio')
    .option('--readonly', 'the disk is read-only (the top is opened read-only as well)')
    .action(async (path: string, o: ExportOpts) => {
      const forms = [o.libvirtXml, o.blockdev, o.jsonFilename].filter(Boolean).length;
      if (forms !== 1) throw new Error('choose one of --libvirt-xml, --blockdev, --json-filename');
      if (o.json && !o.blockdev) throw new Error('--json goes with --blockdev');
      const root = inspect(path);
      const failure = topFailure(root);
      if (failure) throw new Error(failure);
      const opts = { target: o.target, bus: o.bus, readonly: !!o.readonly };
      if (o.libvirtXml) return writeOut(diskXml(root, opts));
      const nodes = blockdevNodes(root, opts);
      // Text to paste into a shell: the JSON in it, with the characters a terminal acts on escaped
      // as JSON escapes, means the same to qemu.
      if (o.jsonFilename) return writeOut(terminalSafeJson(`json:${JSON.stringify(nestedJson(nodes))}\n`));
      return writeOut(o.json ? JSON.stringify(nodes, null, 2) + '\n' : terminalSafeJson(blockdevArgs(nodes)));
    });
}
