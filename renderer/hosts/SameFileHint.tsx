// The selected file is seen from other hosts too (shared storage such as NFS): say so, since a
// relabel on one host changes the file every host uses.
import { useMemo } from 'react';
import { useForest } from '../state/forest.js';
import { sameFiles } from '../state/hosts.js';

export function SameFileHint() {
  const selected = useForest((s) => s.selected);
  // The files change when a host's forest does: look again then.
  const forest = useForest((s) => s.forest);
  const others = useMemo(() => (selected ? sameFiles(selected) : []), [selected, forest]);
  if (!others.length) return null;
  return (
    <div className="alert info same-file" role="note" data-testid="same-file">
      Probably the same file (shared storage) as {others.join(', ')}: same path, size and header. A change made from one host is seen by all
      of them.
    </div>
  );
}
