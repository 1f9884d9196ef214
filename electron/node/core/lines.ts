// Splitting a byte stream into lines with a bound: the agent and its client read each other, the
// helper's client reads the helper, and none may make the other buffer without limit.
import { StringDecoder } from 'node:string_decoder';

export class LineTooLong extends Error {}

/**
 * Feed chunks, get whole lines (without the newline). A line longer than `max` bytes throws
 * LineTooLong from push(): the caller drops the peer, since the stream is out of step by then.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, nl < 0 ? chunk.length : nl);
      this.size += piece.length;
      if (this.size > this.max) throw new LineTooLong(`a line longer than ${this.max} bytes`);
      this.parts.push(this.decoder.write(piece));
      if (nl < 0) return out;
      this.parts.push(this.decoder.end());
      out.push(this.parts.join(''));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
  }
}
