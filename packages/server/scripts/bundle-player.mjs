// Bundles Epic's player page (player/player-page.js) once per supported UE line with that line's
// published frontend UI package (@epicgames-ps/lib-pixelstreamingfrontend-ui-ue5.x) into
// www/<line>/player.js; the server serves the line `pixelStreaming.playerPage.ueLine` picks.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const LINES = ['ue5.5', 'ue5.6', 'ue5.7'];
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const require = createRequire(import.meta.url);
const entry = readFileSync(here('../player/player-page.js'), 'utf8');

await Promise.all(
  LINES.map((line) => {
    const ui = `@epicgames-ps/lib-pixelstreamingfrontend-ui-${line}`;
    // Resolved from the UI package itself, so that the page and the UI share its own copy of the frontend library.
    const uiDir = dirname(require.resolve(`${ui}/package.json`));
    const { version } = JSON.parse(readFileSync(`${uiDir}/package.json`, 'utf8'));
    return build({
      stdin: {
        contents: entry.replace('FRONTEND_UI_PACKAGE', ui).replace('FRONTEND_PACKAGE', `@epicgames-ps/lib-pixelstreamingfrontend-${line}`),
        resolveDir: uiDir,
        sourcefile: 'player-page.js',
        loader: 'js',
      },
      outfile: here(`../www/${line}/player.js`),
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: ['es2020'],
      minify: true,
      // Epic's packages are MIT (no notice file ships with them): say whose code this is.
      banner: { js: `/*! ${ui} ${version} and its dependencies, bundled by Heliograph. Copyright Epic Games, Inc. MIT License. */` },
      legalComments: 'eof',
      logLevel: 'warning',
    });
  }),
);
