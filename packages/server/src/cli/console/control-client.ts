import { CliError } from '../command.js';

/** One Server-Sent Event. */
export interface StreamEvent {
  event: string;
  data: unknown;
}

/**
 * The control API as a CLI command (or a test, or the load tool) calls it: `Authorization: Bearer
 * <key>`, JSON in and out, and an error body turned into a one-line `CliError`.
 */
export class ControlClient {
  readonly base: string;

  constructor(
    url: string,
    private readonly apiKey: string,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  delete(path: string): Promise<void> {
    return this.call<undefined>('DELETE', path);
  }

  /** The parsed JSON of a call (undefined for 204), or a CliError naming the code and message. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#fetch(path, {
      method,
      headers: this.#headers(body !== undefined),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) {
      throw failure(res.status, text);
    }
    // The body's shape is the control API's OpenAPI document; the commands print what they get.
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Reads an event stream until `signal` aborts or the server ends it. */
  async stream(path: string, onEvent: (event: StreamEvent) => void, signal: AbortSignal): Promise<void> {
    const res = await this.#fetch(path, { headers: { ...this.#headers(false), accept: 'text/event-stream' }, signal });
    if (!res.ok || !res.body) {
      throw failure(res.status, await res.text());
    }
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      const reader = res.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        buffered += decoder.decode(read.value as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const parsed = parseBlock(block);
          if (parsed) {
            onEvent(parsed);
          }
        }
      }
    } catch (err) {
      if (!signal.aborted) {
        throw err;
      }
    }
  }

  #headers(json: boolean): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}`, ...(json ? { 'content-type': 'application/json' } : {}) };
  }

  async #fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, init);
    } catch (err) {
      if (init.signal?.aborted) {
        throw err;
      }
      const why = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new CliError(`cannot reach the server at ${this.base} (${why}); is it running? (--url)`);
    }
  }
}

function failure(status: number, text: string): CliError {
  let message = `HTTP ${status}`;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code) {
      message = `${parsed.error.code}: ${parsed.error.message ?? ''}`;
    }
  } catch {
    // Not JSON: the status says enough.
  }
  return new CliError(message);
}

/** One SSE block (`event:` and `data:` lines); comments and empty blocks give nothing. */
function parseBlock(block: string): StreamEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) {
      event = line.slice(6).trim();
    } else if (line.startsWith('data:')) {
      data.push(line.slice(5).trimStart());
    }
  }
  if (data.length === 0) {
    return undefined;
  }
  try {
    return { event, data: JSON.parse(data.join('\n')) };
  } catch {
    return { event, data: data.join('\n') };
  }
}
