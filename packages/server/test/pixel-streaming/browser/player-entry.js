// Bundled by the test with esbuild, once per frontend package (the import is rewritten).
import { Config, PixelStreaming } from 'FRONTEND_PACKAGE';

const EVENTS = [
  'streamerListMessage',
  'webRtcSdp',
  'webRtcConnected',
  'dataChannelOpen',
  'videoInitialized',
  'playStream',
  'subscribeFailed',
  'webRtcDisconnected',
];

window.startPlayer = (ss, streamerId) => {
  const state = { events: [] };
  window.player = state;
  const config = new Config({
    useUrlParams: false,
    initialSettings: {
      ss,
      StreamerId: streamerId,
      AutoConnect: false,
      AutoPlayVideo: true,
      StartVideoMuted: true,
      WaitForStreamer: true,
      MaxReconnectAttempts: 0,
      KeepaliveDelay: 0,
    },
  });
  const ps = new PixelStreaming(config, { videoElementParent: document.getElementById('player') });
  for (const type of EVENTS) {
    ps.addEventListener(type, () => state.events.push(type));
  }
  state.ps = ps;
  ps.connect();
};

/** Video frames the page has decoded so far. */
window.framesDecoded = () => {
  const video = document.querySelector('#player video');
  return video ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
};
