import { escapeText } from '../../../shared/escape.js';

// Writing to stdout so a large JSON document is flushed before the process exits.
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}

// Text output holds names from headers, domain XML and the file system. diskchain's own text has
// no control characters, so escaping each line it composes, once, keeps its line structure and
// leaves a name no way to end a line, start one, or send an escape sequence.

/** Lines of text output, each escaped, joined by newlines (no trailing one). */
export function textLines(lines: readonly string[]): string {
  return lines.map(escapeText).join('\n');
}

/** One line of text to stderr, escaped. */
export function warn(line: string): void {
  process.stderr.write(`${escapeText(line)}\n`);
}
