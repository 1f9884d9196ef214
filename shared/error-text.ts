// The one way an error becomes a sentence: its message when it is an Error, else its text.
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
