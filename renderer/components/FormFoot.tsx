// The foot of a dialog's form: its submit button (with a busy label while the work runs) and the
// button that dismisses the dialog.
export function FormFoot(props: {
  testId: string;
  label: string;
  busyLabel: string;
  busy: boolean;
  disabled: boolean;
  dismiss: string;
  onDismiss: () => void;
}) {
  return (
    <footer className="panel-foot">
      <button type="submit" className="primary" data-testid={props.testId} disabled={props.disabled}>
        {props.busy ? props.busyLabel : props.label}
      </button>
      <button type="button" onClick={props.onDismiss}>
        {props.dismiss}
      </button>
    </footer>
  );
}
