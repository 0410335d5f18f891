import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { CliError, type CliIo } from './command.js';

/** Takes decoded input; returns the finished line, an error, or undefined for "need more". */
type Step = (text: string) => string | Error | undefined;

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACES = new Set(['\u007f', '\b']);

/** Feeds `input` to `step` until it returns a line or an error, then stops reading. */
function readWith(input: Readable, step: Step, atEnd: () => string | Error, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    const settle = (result: string | Error) => {
      input.off('data', onData).off('end', onEnd).off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      // Paused, stdin no longer keeps the process alive.
      input.pause();
      if (typeof result === 'string') {
        resolve(result);
      } else {
        reject(result);
      }
    };
    const onData = (chunk: Buffer | string) => {
      const result = step(typeof chunk === 'string' ? chunk : decoder.write(chunk));
      if (result !== undefined) {
        settle(result);
      }
    };
    const onEnd = () => settle(atEnd());
    const onError = (err: Error) => settle(err);
    const onAbort = () => settle(new CliError('cancelled', 130));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    input.on('data', onData).on('end', onEnd).on('error', onError);
    input.resume();
  });
}

/** Reads one line from `input`, without its line ending. Rejects when input ends empty. */
export function readLine(input: Readable, signal?: AbortSignal): Promise<string> {
  let buffered = '';
  const step: Step = (text) => {
    buffered += text;
    const end = buffered.indexOf('\n');
    return end < 0 ? undefined : buffered.slice(0, end).replace(/\r$/, '');
  };
  const atEnd = () => (buffered === '' ? new CliError('no input on stdin') : buffered.replace(/\r$/, ''));
  return readWith(input, step, atEnd, signal);
}

/** Reads keystrokes in raw mode: Enter ends, Backspace erases, Ctrl-C cancels. */
function hiddenStep(): { step: Step; typed: () => string } {
  let typed: string[] = [];
  const step: Step = (text) => {
    for (const char of text) {
      if (char === '\r' || char === '\n') {
        return typed.join('');
      } else if (char === CTRL_C) {
        return new CliError('cancelled', 130);
      } else if (char === CTRL_D) {
        return typed.length > 0 ? typed.join('') : new CliError('cancelled', 130);
      } else if (BACKSPACES.has(char)) {
        typed = typed.slice(0, -1);
      } else if (char >= ' ') {
        typed.push(char);
      }
    }
    return undefined;
  };
  return { step, typed: () => typed.join('') };
}

/** Asks on stderr for a line typed on the terminal without echoing it (a password). */
export async function promptHidden(io: CliIo, question: string, signal?: AbortSignal): Promise<string> {
  const stdin = io.stdin as Readable & { setRawMode?: (raw: boolean) => unknown };
  io.stderr.write(question);
  stdin.setRawMode?.(true);
  try {
    const { step, typed } = hiddenStep();
    return await readWith(stdin, step, () => typed(), signal);
  } finally {
    stdin.setRawMode?.(false);
    io.stderr.write('\n');
  }
}
