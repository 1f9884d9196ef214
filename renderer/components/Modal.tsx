// A modal dialog: the backdrop (a click on it closes), the dialog box labelled by its heading,
// and the shared focus behaviour (kept inside, Escape closes, handed back to the opener).
// Mount it only while the dialog is open.
import { useRef, type ReactNode } from 'react';
import { useModalFocus } from './focus.js';

export function Modal({
  close,
  titleId,
  testId,
  className,
  children,
}: {
  close: () => void;
  titleId: string;
  testId: string;
  className?: string;
  children: ReactNode;
}) {
  const box = useRef<HTMLDivElement>(null);
  const onKeyDown = useModalFocus(box, close);
  return (
    <div className="modal-backdrop" onClick={close}>
      <div
        ref={box}
        className={className}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid={testId}
        onClick={(e) => e.stopPropagation()}
        onKeyDown={onKeyDown}
      >
        {children}
      </div>
    </div>
  );
}
