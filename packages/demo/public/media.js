// Cameras and microphones: opening them with a chosen device, telling why one is missing, and the
// choices remembered between visits.

const PREFS_KEY = 'heliograph.media';
const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/** Whether `hostname` is this computer, where browsers allow camera and microphone over plain http. */
export function isLocalHost(hostname) {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host);
}

/** 'insecure' (plain http on another address), 'unsupported' (no media API at all) or 'ok'. */
export function mediaSupport() {
  if (!window.isSecureContext) {
    return 'insecure';
  }
  return navigator.mediaDevices?.getUserMedia ? 'ok' : 'unsupported';
}

export function canShareScreen() {
  return mediaSupport() === 'ok' && typeof navigator.mediaDevices.getDisplayMedia === 'function';
}

/** Device ids and on/off choices from the last visit. */
export function loadPrefs() {
  try {
    return { mic: true, cam: true, ...JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') };
  } catch {
    return { mic: true, cam: true };
  }
}

export function savePrefs(prefs) {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    // Private mode: the choices are simply not remembered.
  }
}

/** Why a device could not be opened, as a key of the `media.*` texts. */
function problemOf(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'AbortError':
      return 'busy';
    default:
      return 'failed';
  }
}

/** Opens one device of `kind`: exactly `deviceId` when given, else (or when it is gone) the default. */
async function openOne(kind, deviceId) {
  const base = kind === 'video' ? VIDEO : {};
  try {
    const constraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : kind === 'video' ? base : true;
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
    return { track: stream.getTracks()[0] };
  } catch (err) {
    if (deviceId && (err?.name === 'OverconstrainedError' || err?.name === 'NotFoundError')) {
      return openOne(kind, undefined);
    }
    return { problem: problemOf(err) };
  }
}

/**
 * Opens the microphone and the camera (`prefs.micId`, `prefs.camId` when set; a missing device
 * falls back to the default). Never throws: `problems.audio` / `problems.video` say what failed.
 */
export async function openMedia(prefs) {
  const support = mediaSupport();
  if (support !== 'ok') {
    return { stream: new MediaStream(), problems: { audio: support, video: support } };
  }
  const stream = new MediaStream();
  const problems = {};
  // One prompt for both where the browser asks; each kind on its own if that fails.
  try {
    // Remembered devices are preferred, not required: one may have been unplugged since.
    const both = await navigator.mediaDevices.getUserMedia({
      audio: prefs.micId ? { deviceId: { ideal: prefs.micId } } : true,
      video: { ...VIDEO, ...(prefs.camId ? { deviceId: { ideal: prefs.camId } } : {}) },
    });
    both.getTracks().forEach((track) => stream.addTrack(track));
    return { stream, problems };
  } catch {
    for (const kind of ['audio', 'video']) {
      const { track, problem } = await openOne(kind, kind === 'audio' ? prefs.micId : prefs.camId);
      if (track) {
        stream.addTrack(track);
      } else {
        problems[kind] = problem;
      }
    }
    return { stream, problems };
  }
}

/** Opens `kind` from `deviceId` and swaps it into `stream` for the old track, which stops. */
export async function switchDevice(stream, kind, deviceId) {
  const { track, problem } = await openOne(kind, deviceId);
  if (!track) {
    return problem;
  }
  for (const old of kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks()) {
    track.enabled = old.enabled;
    stream.removeTrack(old);
    old.stop();
  }
  stream.addTrack(track);
  return undefined;
}

/** The cameras and microphones, each `{ id, label }`; labels are known once one was opened. */
export async function listDevices() {
  if (mediaSupport() !== 'ok' || !navigator.mediaDevices.enumerateDevices) {
    return { audio: [], video: [] };
  }
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  const pick = (kind) => devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== 'communications');
  const named = (list) => list.map((d, i) => ({ id: d.deviceId, label: d.label, index: i + 1 }));
  return { audio: named(pick('audioinput')), video: named(pick('videoinput')) };
}

/** Stops every track of `stream`. */
export function stopStream(stream) {
  for (const track of stream?.getTracks() ?? []) {
    track.stop();
  }
}
