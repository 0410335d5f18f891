// Heliograph demo: sign up or log in, pick a room in the lobby, check camera and microphone, and
// call everyone in it. Plain ES modules over the client SDK served by the same server (/sdk/).
import { authenticate, explain, session } from './api.js';
import { setAvatar } from './avatar.js';
import { RoomCall } from './call.js';
import { pickLanguage, setLanguage, t, translatePage } from './i18n.js';
import { icon, placeIcons } from './icons.js';
import { Lobby } from './lobby.js';
import { isLocalHost, loadPrefs, mediaSupport, openMedia } from './media.js';
import { PreJoin } from './prejoin.js';

setLanguage(pickLanguage(navigator.languages?.length ? navigator.languages : [navigator.language]));
translatePage(document);
placeIcons(document);

const $ = (id) => document.getElementById(id);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
/** Titles typed in this tab for rooms not made yet, so that the room is created with them. */
const titles = new Map();
const token = () => session.get()?.token ?? '';
const user = () => {
  const u = session.get()?.user;
  return u ? { name: u.displayName ?? u.username, userId: u.username } : undefined;
};

// ---- notices ----

function notify(text, kind = 'error') {
  $('notice-text').textContent = text;
  $('notice').dataset.kind = kind;
  $('notice').hidden = !text;
}
$('notice-close').onclick = () => notify('');

let toastTimer;
function toast(text) {
  const box = $('toast');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), 2500);
}

/** What a user must know on a page that is not on this computer: https, and STUN/TURN. */
function renderEnvNotes() {
  const notes = [];
  if (mediaSupport() === 'insecure') {
    const local = `http://localhost${location.port ? `:${location.port}` : ''}/`;
    notes.push(['warn', t('env.httpsTitle'), t('env.httpsBody', { origin: location.origin, local })]);
  }
  if (!isLocalHost(location.hostname)) {
    notes.push(['info', t('env.natTitle'), t('env.natBody')]);
  }
  for (const box of document.querySelectorAll('.env-notes')) {
    box.replaceChildren(
      ...notes.map(([kind, title, body]) => {
        const note = document.createElement('div');
        note.className = `env-note ${kind}`;
        const strong = document.createElement('strong');
        strong.textContent = title;
        const p = document.createElement('p');
        p.textContent = body;
        const text = document.createElement('div');
        text.append(strong, p);
        note.append(icon(kind), text);
        return note;
      }),
    );
    box.hidden = !notes.length;
  }
}

// ---- header and views ----

function show(view) {
  for (const id of ['auth', 'lobby', 'prejoin', 'room']) {
    $(`view-${id}`).hidden = id !== view;
  }
  document.body.dataset.view = view;
  const u = user();
  $('who').hidden = !u;
  $('logout').hidden = !u;
  if (u) {
    $('who-name').textContent = u.name;
    $('who').title = t('header.signedInAs', { name: u.name });
    setAvatar($('who-avatar'), u.name, u.userId);
  }
}

function setConnState(state) {
  const pill = $('conn');
  pill.hidden = state === 'idle';
  pill.dataset.state = state;
  pill.textContent = t(`conn.${state}`);
}

$('logout').onclick = () => {
  endCall();
  session.clear();
  location.hash = '#/';
  route();
};

// ---- auth ----

let signingUp = false;
function setAuthMode(signup) {
  signingUp = signup;
  $('tab-login').classList.toggle('active', !signup);
  $('tab-signup').classList.toggle('active', signup);
  $('tab-login').setAttribute('aria-selected', String(!signup));
  $('tab-signup').setAttribute('aria-selected', String(signup));
  $('display-row').hidden = !signup;
  $('auth-submit').textContent = t(signup ? 'auth.signup' : 'auth.login');
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
  $('auth-submit').disabled = true;
  try {
    session.set(await authenticate(signingUp ? 'signup' : 'login', body));
    notify('');
    form.reset();
    route();
  } catch (err) {
    notify(explain(err, signingUp ? 'signup' : 'login'));
  } finally {
    $('auth-submit').disabled = false;
  }
};

// ---- lobby and pre-join ----

const lobby = new Lobby({
  enter(roomId, title) {
    titles.set(roomId, title);
    notify('');
    location.hash = `#/room/${encodeURIComponent(roomId)}`;
  },
  token,
  unauthorized: sessionExpired,
  failed: (err) => notify(err ? explain(err) : ''),
});

const prejoin = new PreJoin({
  token,
  join: ({ stream, mic, cam, title }) => joinRoom(prejoin.roomId, { stream, mic, cam, title }),
});

function sessionExpired() {
  endCall();
  session.clear();
  notify(t('error.UNAUTHORIZED'));
  route();
}

// ---- the call ----

let current = null;

async function joinRoom(roomId, { stream, mic, cam, title }) {
  endCall();
  const u = user();
  if (!u) {
    return route();
  }
  notify('');
  const call = new RoomCall({
    wsUrl,
    token,
    user: u,
    roomId,
    title,
    stream,
    mic,
    cam,
    events: {
      state: (state) => current === call && setConnState(state),
      notify,
      rejoin: () => void rejoin(call),
      lobby: () => {
        endCall();
        location.hash = '#/';
      },
      expired: sessionExpired,
    },
  });
  current = call;
  // For the browser tests: the calls, their peer connections and the local stream.
  window.heliographDemo = call;
  show('room');
  try {
    await call.start();
  } catch (err) {
    if (current !== call) {
      return;
    }
    current = null;
    setConnState('idle');
    notify(explain(err));
    // Back to the lobby, and the address with it: Back must not lead to the room again.
    history.replaceState(null, '', '#/');
    route();
  }
}

/** "Rejoin here": the call moved to another window, and comes back to this one. */
async function rejoin(old) {
  const prefs = loadPrefs();
  const { stream } = await openMedia(prefs);
  if (current !== old) {
    stream.getTracks().forEach((track) => track.stop());
    return;
  }
  await joinRoom(old.roomId, { stream, mic: old.local.mic || !old.micTrack, cam: old.local.cam || !old.camTrack, title: old.title });
}

/** Leaves the call in progress, if any; nothing it says afterwards reaches the page. */
function endCall() {
  if (current) {
    const call = current;
    current = null;
    call.leave();
  }
  setConnState('idle');
}

$('leave').onclick = () => {
  endCall();
  location.hash = '#/';
};

$('chat-form').onsubmit = async (event) => {
  event.preventDefault();
  const text = event.target.text.value.trim();
  if (!text || !current || current.closed) {
    return;
  }
  try {
    await current.sendChat(text);
    event.target.reset();
  } catch (err) {
    notify(explain(err));
  }
};

// ---- invite links ----

function inviteLink(roomId) {
  return `${location.origin}${location.pathname}#/room/${encodeURIComponent(roomId)}`;
}

async function copyText(text) {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Refused (no permission, not focused): try the old way.
    }
  }
  const area = Object.assign(document.createElement('textarea'), { value: text, readOnly: true });
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const done = document.execCommand('copy');
  area.remove();
  return done;
}

async function copyInvite(roomId) {
  const link = inviteLink(roomId);
  if (await copyText(link)) {
    toast(t('invite.copied'));
  } else {
    window.prompt(t('invite.copyThis'), link);
  }
}
$('copy-link').onclick = () => current && void copyInvite(current.roomId);
$('prejoin-copy').onclick = () => prejoin.roomId && void copyInvite(prejoin.roomId);

// ---- routing ----

function route() {
  const match = /^#\/room\/(.+)$/.exec(location.hash);
  const roomId = match ? decodeURIComponent(match[1]) : undefined;
  const u = user();
  if (!u) {
    endCall();
    prejoin.close();
    lobby.hide();
    show('auth');
    return;
  }
  if (roomId && current?.roomId === roomId) {
    show('room');
    return;
  }
  endCall();
  if (roomId) {
    lobby.hide();
    show('prejoin');
    void prejoin.show(roomId, titles.get(roomId) ?? roomId, u);
  } else {
    prejoin.close();
    show('lobby');
    lobby.show();
  }
}

window.addEventListener('hashchange', route);
renderEnvNotes();
route();
