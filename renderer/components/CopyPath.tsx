// A small button that puts a real path on the clipboard (to paste into a shell or a ticket).
import { errorText, notify } from '../state/notices.js';

export function CopyPath({ path }: { path: string }) {
  const copy = () => {
    navigator.clipboard.writeText(path).then(
      () => notify('info', `Copied ${path}`),
      (e: unknown) => notify('error', `could not copy the path: ${errorText(e)}`),
    );
  };
  return (
    <button
      type="button"
      className="icon small copy-path"
      data-testid="copy-path"
      data-path={path}
      title="Copy the path"
      aria-label={`copy ${path}`}
      onClick={copy}
    >
      ⧉
    </button>
  );
}
