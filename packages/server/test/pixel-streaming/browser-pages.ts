import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('./browser/', import.meta.url));

export interface TestPages {
  url: string;
  close(): Promise<void>;
}

/** A page or script the test serves: its body, or undefined for 404. */
export type ExtraPage = (path: string) => string | Buffer | undefined;

/**
 * Serves the canvas test streamer (`/streamer.html?ss=<streamer port URL>&id=<id>`, standing in
 * for Unreal) and any `extra` pages from 127.0.0.1, apart from the server under test.
 */
export async function serveTestPages(extra: ExtraPage = () => undefined): Promise<TestPages> {
  const pages = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body =
      path === '/streamer.html'
        ? '<!doctype html><body><script src="/canvas-streamer.js"></script></body>'
        : path === '/canvas-streamer.js'
          ? readFileSync(`${HERE}canvas-streamer.js`)
          : extra(path);
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': path.endsWith('.js') ? 'text/javascript' : 'text/html' });
    res.end(body ?? '');
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(pages.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => pages.close(() => resolve())),
  };
}
