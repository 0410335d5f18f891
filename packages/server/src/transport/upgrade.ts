import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';

/** Answers an HTTP upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, headers: Record<string, string> = {}): void {
  if (socket.writable) {
    const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'Connection: close', 'Content-Length: 0'];
    for (const [name, value] of Object.entries(headers)) {
      lines.push(`${name}: ${value}`);
    }
    socket.end(`${lines.join('\r\n')}\r\n\r\n`);
  }
  socket.destroy();
}

/** The bearer token of an upgrade request: `?token=` or `Authorization: Bearer`. */
export function tokenFromRequest(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) {
    return fromQuery;
  }
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

/**
 * The request's URL, parsed against a dummy origin (only path and query matter). Never throws:
 * an origin-form target (`/path?query`) is a path even when it starts with `//` (`//a:99999` is
 * not a host and port), and a target that is no URL at all becomes a path nobody serves.
 */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  try {
    return target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target, 'http://localhost');
  } catch {
    return new URL(`http://localhost/${encodeURIComponent(target)}`);
  }
}
