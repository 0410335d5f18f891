import type { Readable } from 'node:stream';

/** Calls `each` with every whole line `stream` gives (without its newline), as the chunks arrive. */
export function onLines(stream: Readable, each: (line: string) => void): void {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      each(line);
    }
  });
}
