// Epic's player page (Frontend/implementations/typescript/src/player.ts in PixelStreamingInfrastructure),
// bundled once per UE line by scripts/bundle-player.mjs: the two imports are that line's published
// frontend library and frontend UI. Settings come from the URL (`?StreamerId=…&AutoConnect=true`),
// and the signalling URL defaults to the page's own host and port, which is Heliograph's player port.
import { Config, PixelStreaming } from 'FRONTEND_PACKAGE';
import { Application, PixelStreamingApplicationStyle } from 'FRONTEND_UI_PACKAGE';

const style = new PixelStreamingApplicationStyle();
style.applyStyleSheet();

function start() {
  const config = new Config({ useUrlParams: true });
  const stream = new PixelStreaming(config);
  const application = new Application({
    stream,
    onColorModeChanged: (isLightMode) => style.setColorMode(isLightMode),
  });
  document.body.appendChild(application.rootElement);
  // As Epic's page does: a handle for tests and integrations.
  window.pixelStreaming = stream;
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
