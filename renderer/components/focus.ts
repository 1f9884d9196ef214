// Keyboard focus helpers: what can take focus inside an element, and the behaviour every modal
// dialog shares (focus kept inside while open, Escape closes, focus handed back to the opener).
import { useEffect, useState, type KeyboardEvent, type RefObject } from 'react';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]';

/** The elements of `root` that Tab visits, in order. */
export function tabStops(root: ParentNode): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((e) => e.tabIndex >= 0 && e.getClientRects().length > 0);
}

/** Focus the first form field of `root` (else its first tab stop); false when it has neither. */
export function focusFirstField(root: ParentNode): boolean {
  const field =
    root.querySelector<HTMLElement>('input:not([disabled]), select:not([disabled]), textarea:not([disabled])') ?? tabStops(root)[0];
  field?.focus();
  return !!field;
}

/**
 * For a modal dialog's body, mounted only while the dialog is open. The opener is read during the
 * first render, before any autoFocus inside the dialog takes the focus away from it.
 */
export function useModalFocus(ref: RefObject<HTMLElement | null>, close: () => void): (e: KeyboardEvent) => void {
  const [opener] = useState(() => document.activeElement as HTMLElement | null);
  useEffect(() => {
    const root = ref.current;
    if (root && !root.contains(document.activeElement)) focusFirstField(root);
    return () => {
      if (opener?.isConnected) opener.focus();
    };
  }, [ref, opener]);
  return (e) => {
    if (e.key === 'Escape') {
      // The window's own Escape (close a panel, drop the selection) is not for this key press.
      e.stopPropagation();
      close();
      return;
    }
    if (e.key !== 'Tab' || !ref.current) return;
    const stops = tabStops(ref.current);
    if (!stops.length) return;
    const first = stops[0]!;
    const last = stops[stops.length - 1]!;
    const active = document.activeElement;
    if (e.shiftKey && (active === first || !ref.current.contains(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !ref.current.contains(active))) {
      e.preventDefault();
      first.focus();
    }
  };
}
