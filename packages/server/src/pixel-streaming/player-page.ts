import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PlayerPageConfig } from './config.js';

/**
 * Epic's player page: its published frontend UI for one UE line, bundled at build time by
 * `scripts/bundle-player.mjs` into `www/ue<line>/player.js`. The page connects to its own host
 * and port, which is where Heliograph takes players, so opening it is all a viewer needs.
 */
export interface PlayerPageOptions {
  config: PlayerPageConfig;
  /** Also serve the page at `/`, as Wilbur's homepage (when the demo does not have `/`). */
  homepage: boolean;
}

/** The built bundle of a line; thrown at start when the build did not make it. */
export function playerBundle(line: PlayerPageConfig['ueLine']): Buffer {
  // `../../www` is the package's www/ from both src/ (tests) and dist/ (the build).
  const file = fileURLToPath(new URL(`../../www/ue${line}/player.js`, import.meta.url));
  try {
    return readFileSync(file);
  } catch {
    throw new Error(`pixelStreaming.playerPage: ${file} is missing; run \`npm run build\`, or set pixelStreaming.playerPage.enabled to false`);
  }
}

/** Where the page's script is, as the browser resolves `player.js` from the page's path. */
export function playerScriptPath(pagePath: string): string {
  return new URL('player.js', `http://page${pagePath}`).pathname;
}

function pageHtml(scriptPath: string): string {
  // Epic's player.html: the player fills the body, which fills the viewport.
  return `<!DOCTYPE html>
<html style="width: 100%; height: 100%">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pixel Streaming</title>
</head>
<body style="width: 100vw; height: 100vh; min-height: -webkit-fill-available; margin: 0px">
<script src="${scriptPath}"></script>
</body>
</html>
`;
}

export function registerPlayerPage(app: FastifyInstance, { config, homepage }: PlayerPageOptions): void {
  const script = playerBundle(config.ueLine);
  const scriptPath = playerScriptPath(config.path);
  const html = pageHtml(scriptPath);
  const etag = `"${createHash('sha256').update(script).digest('base64url').slice(0, 22)}"`;
  const sendPage = (_req: FastifyRequest, reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').type('text/html; charset=utf-8').send(html);
  app.get(config.path, sendPage);
  if (homepage && config.path !== '/') {
    app.get('/', sendPage);
  }
  app.get(scriptPath, (req, reply) => {
    reply.header('cache-control', 'no-cache').header('etag', etag).header('x-content-type-options', 'nosniff');
    if (req.headers['if-none-match'] === etag) {
      return reply.code(304).send();
    }
    return reply.type('text/javascript; charset=utf-8').send(script);
  });
}
