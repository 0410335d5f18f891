// Heliograph demo: sign up or log in, pick a room in the lobby, and call everyone in it.
// Plain ES modules over the client SDK served by the same server.
import { CallManager, HeliographClient, HeliographError } from '/sdk/heliograph-client.js';

const $ = (id) => document.getElementById(id);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

/** Readable text for the errors a user can meet. */
const MESSAGES = {
  ROOM_FULL: 'That room is full.',
  ROOM_NOT_FOUND: 'That room does not exist (any more).',
  FORBIDDEN: 'You may not join that room.',
  UNAUTHORIZED: 'Your session has expired. Please log in again.',
  RATE_LIMITED: 'Too many attempts; wait a little and try again.',
  CONFLICT: 'That username is taken.',
  UNAVAILABLE: 'The server cannot be reached.',
  TIMEOUT: 'The server did not answer in time.',
};
const CLOSE_MESSAGES = {
  4409: 'You joined this room from another window, so this one left it.',
  4401: 'Your session has expired. Please log in again.',
  4503: 'The server is full right now. Try again later.',
};

// ---- session (per tab, so two windows can be two users) ----
const session = {
  get() {
    const saved = JSON.parse(sessionStorage.getItem('heliograph') ?? 'null');
    return saved && saved.expiresAt > Date.now() + 30_000 ? saved : null;
  },
  set(value) {
    sessionStorage.setItem('heliograph', JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem('heliograph');
  },
};

function notify(text, kind = 'error') {
  const box = $('notice');
  box.textContent = text;
  box.className = `notice ${kind === 'info' ? 'info' : ''}`;
  box.hidden = !text;
}

function explain(err) {
  if (err instanceof HeliographError || (err && err.code)) {
    return MESSAGES[err.code] ?? err.message;
  }
  return err instanceof TypeError ? MESSAGES.UNAVAILABLE : String(err?.message ?? err);
}

function show(view) {
  for (const id of ['view-auth', 'view-lobby', 'view-room']) {
    $(id).hidden = id !== `view-${view}`;
  }
  const user = session.get()?.user;
  $('who').textContent = user ? `Signed in as ${user.displayName ?? user.username}` : '';
  $('logout').hidden = !user;
}

// ---- auth ----
let signingUp = false;
function setAuthMode(signup) {
  signingUp = signup;
  $('tab-login').classList.toggle('active', !signup);
  $('tab-signup').classList.toggle('active', signup);
  $('display-row').hidden = !signup;
  $('auth-submit').textContent = signup ? 'Sign up' : 'Log in';
  $('auth-form').password.autocomplete = signup ? 'new-password' : 'current-password';
}
$('tab-login').onclick = () => setAuthMode(false);
$('tab-signup').onclick = () => setAuthMode(true);

$('auth-form').onsubmit = async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { username: form.username.value.trim(), password: form.password.value };
  if (signingUp && form.displayName.value.trim()) {
    body.displayName = form.displayName.value.trim();
  }
  try {
    const res = await fetch(`/v1/auth/${signingUp ? 'signup' : 'login'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const data = await res.json();
    if (!res.ok) {
      const code = data.error?.code;
      notify(code === 'UNAUTHORIZED' ? 'Wrong username or password.' : (MESSAGES[code] ?? data.error?.message ?? 'Failed.'));
      return;
    }
    session.set(data);
    notify('');
    form.reset();
    route();
  } catch (err) {
    notify(explain(err));
  }
};

$('logout').onclick = () => {
  leaveRoom();
  session.clear();
  location.hash = '#/';
  route();
};

// ---- lobby ----
let lobbyTimer;
async function showLobby() {
  show('lobby');
  clearInterval(lobbyTimer);
  await refreshLobby();
  lobbyTimer = setInterval(refreshLobby, 5000);
}

async function refreshLobby() {
  const auth = session.get();
  if (!auth) {
    return route();
  }
  try {
    const res = await fetch('/v1/lobby/rooms', { headers: { authorization: `Bearer ${auth.token}` } });
    if (res.status === 401) {
      session.clear();
      notify(MESSAGES.UNAUTHORIZED);
      return route();
    }
    const { rooms } = await res.json();
    const list = $('room-list');
    list.replaceChildren(
      ...rooms.map((room) => {
        const li = document.createElement('li');
        const name = Object.assign(document.createElement('span'), { className: 'name', textContent: room.id });
        const count = Object.assign(document.createElement('span'), { className: 'muted', textContent: `${room.peers} / ${room.maxPeers}` });
        const join = Object.assign(document.createElement('button'), { textContent: 'Join', disabled: room.peers >= room.maxPeers });
        join.onclick = () => (location.hash = `#/room/${encodeURIComponent(room.id)}`);
        li.append(name, count, join);
        return li;
      }),
    );
    $('no-rooms').hidden = rooms.length > 0;
  } catch (err) {
    notify(explain(err));
  }
}

$('create-form').onsubmit = (event) => {
  event.preventDefault();
  const room = event.target.room.value.trim();
  event.target.reset();
  location.hash = `#/room/${encodeURIComponent(room)}`;
};

// ---- room ----
let current = null; // { client, calls, stream, names, roomId }

function tile(id, label, local = false) {
  let el = document.querySelector(`.tile[data-peer="${CSS.escape(id)}"]`);
  if (!el) {
    el = document.createElement('div');
    el.className = `tile${local ? ' local' : ''}`;
    el.dataset.peer = id;
    const video = Object.assign(document.createElement('video'), { autoplay: true, playsInline: true, muted: local });
    el.append(video, Object.assign(document.createElement('span'), { className: 'label' }), Object.assign(document.createElement('span'), { className: 'state pill' }));
    $('videos').append(el);
  }
  el.querySelector('.label').textContent = label;
  return el;
}

function removeTile(id) {
  document.querySelector(`.tile[data-peer="${CSS.escape(id)}"]`)?.remove();
}

function say(from, text) {
  const li = document.createElement('li');
  if (from) {
    li.append(Object.assign(document.createElement('span'), { className: 'from', textContent: from }), document.createTextNode(text));
  } else {
    li.className = 'system';
    li.textContent = text;
  }
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
}

async function getMedia() {
  try {
    return await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  } catch {
    try {
      notify('No camera available: joining with microphone only.', 'info');
      return await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      notify('No camera or microphone available: you can watch and chat.', 'info');
      return new MediaStream();
    }
  }
}

function setConnState(state) {
  const pill = $('conn');
  pill.hidden = false;
  pill.dataset.state = state;
  pill.textContent = { idle: 'offline', connecting: 'connecting…', open: 'connected', reconnecting: 'reconnecting…', closed: 'disconnected' }[state];
}

async function enterRoom(roomId) {
  const auth = session.get();
  if (!auth) {
    return route();
  }
  leaveRoom();
  show('room');
  notify('');
  $('room-title').textContent = roomId;
  $('messages').replaceChildren();
  $('videos').replaceChildren();

  const name = auth.user.displayName ?? auth.user.username;
  const stream = await getMedia();
  const client = new HeliographClient({ url: wsUrl, token: () => session.get()?.token ?? auth.token });
  const calls = new CallManager(client, { localStream: stream });
  const names = new Map();
  current = { client, calls, stream, names, roomId };
  window.heliographDemo = current;
  const me = tile('me', `${name} (you)`, true);
  me.querySelector('video').srcObject = stream;

  client.on('state', (state, detail) => {
    setConnState(state);
    if (state === 'reconnecting') {
      say(null, 'Connection lost; reconnecting…');
      for (const el of document.querySelectorAll('.tile:not(.local)')) {
        el.remove();
      }
    }
    if (state === 'closed' && current?.client === client) {
      notify(CLOSE_MESSAGES[detail.code] ?? (detail.code === 1000 ? '' : `Disconnected (${detail.code ?? '?'}${detail.reason ? `: ${detail.reason}` : ''}).`));
    }
  });
  client.on('session.replaced', () => notify(CLOSE_MESSAGES[4409]));
  client.on('peer.joined', ({ peer }) => {
    names.set(peer.id, peer.name ?? peer.userId);
    say(null, `${names.get(peer.id)} joined`);
  });
  client.on('peer.left', ({ peerId, reason }) => {
    say(null, `${names.get(peerId) ?? 'Someone'} left${reason === 'left' ? '' : ` (${reason.replace('_', ' ')})`}`);
    removeTile(peerId);
  });
  client.on('data', ({ from, payload }) => {
    if (payload && typeof payload.chat === 'string') {
      say(names.get(from) ?? from, payload.chat);
    }
  });
  client.on('rejoined', (result) => {
    remember(result);
    say(null, 'Reconnected');
  });
  client.on('rejoin.failed', (err) => notify(`Could not rejoin the room: ${explain(err)}`));

  calls.on('track', (peerId, remote) => {
    const el = tile(peerId, names.get(peerId) ?? peerId);
    const video = el.querySelector('video');
    if (video.srcObject !== remote) {
      video.srcObject = remote;
    }
  });
  calls.on('state', (peerId, state) => {
    const el = document.querySelector(`.tile[data-peer="${CSS.escape(peerId)}"] .state`);
    if (el) {
      el.textContent = state;
    }
  });
  calls.on('ended', (peerId) => removeTile(peerId));

  function remember(result) {
    for (const peer of result.peers) {
      names.set(peer.id, peer.name ?? peer.userId);
    }
  }

  try {
    await client.connect();
    // A mesh call suits a few people: rooms created here hold at most four.
    const result = await client.join({ room: roomId, name, create: { maxPeers: 4 } });
    remember(result);
    say(null, result.peers.length ? `In the room: ${result.peers.map((p) => p.name ?? p.userId).join(', ')}` : 'You are the first one here.');
    calls.start(result.peers, result.iceServers);
  } catch (err) {
    notify(explain(err));
    leaveRoom();
    $('view-room').hidden = true;
    show('lobby');
  }
}

function leaveRoom() {
  if (!current) {
    return;
  }
  const { client, calls, stream } = current;
  current = null;
  calls.close();
  if (client.room) {
    client.leave().catch(() => undefined);
  }
  setTimeout(() => client.close(), 100);
  for (const track of stream.getTracks()) {
    track.stop();
  }
  $('conn').hidden = true;
}

function toggle(kind, button, onText, offText) {
  const tracks = kind === 'audio' ? current?.stream.getAudioTracks() : current?.stream.getVideoTracks();
  if (!tracks?.length) {
    return;
  }
  const enabled = !tracks[0].enabled;
  for (const t of tracks) {
    t.enabled = enabled;
  }
  button.setAttribute('aria-pressed', String(!enabled));
  button.textContent = enabled ? onText : offText;
}
$('toggle-mic').onclick = (e) => toggle('audio', e.currentTarget, 'Mute mic', 'Unmute mic');
$('toggle-cam').onclick = (e) => toggle('video', e.currentTarget, 'Stop camera', 'Start camera');
$('leave').onclick = () => {
  leaveRoom();
  location.hash = '#/';
};

$('chat-form').onsubmit = async (event) => {
  event.preventDefault();
  const text = event.target.text.value.trim();
  if (!text || !current) {
    return;
  }
  try {
    await current.client.request('data.send', { payload: { chat: text } });
    say('You', text);
    event.target.reset();
  } catch (err) {
    notify(explain(err));
  }
};

// ---- routing ----
function route() {
  clearInterval(lobbyTimer);
  if (!session.get()) {
    leaveRoom();
    show('auth');
    return;
  }
  const match = /^#\/room\/(.+)$/.exec(location.hash);
  if (match) {
    void enterRoom(decodeURIComponent(match[1]));
  } else {
    leaveRoom();
    void showLobby();
  }
}
window.addEventListener('hashchange', route);
route();
