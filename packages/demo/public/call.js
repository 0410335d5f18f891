// A call in one room: the signalling client, the mesh of peer calls (the SDK's CallManager), who is
// there and what their microphones, cameras and screens are doing, and the room view showing it.
import { CallManager, HeliographClient } from '/sdk/heliograph-client.js';
import { explain } from './api.js';
import { avatarElement } from './avatar.js';
import { countPeople, t } from './i18n.js';
import { icon, setIcon } from './icons.js';
import { AudioLevels, SpeakerDetector } from './levels.js';
import { canShareScreen, isLocalHost, stopStream } from './media.js';
import { roomTitle } from './room-id.js';
import { VideoGrid } from './tiles.js';

const $ = (id) => document.getElementById(id);
const ME = 'me';
/** Rooms made by the demo hold four: a mesh call sends every stream to every peer. */
const MAX_PEERS = 4;
const CLOSE_TEXTS = { 4401: 'close.4401', 4408: 'close.4408', 4429: 'close.4429', 4503: 'close.4503', 4508: 'close.4508', 1001: 'close.1001' };

const nameOf = (peer) => peer.name ?? peer.userId;
/** A peer's media state from its metadata; a client that announces nothing counts as all on. */
const mediaOf = (peer) => ({
  mic: peer.metadata?.mic !== false,
  cam: peer.metadata?.cam !== false,
  screen: peer.metadata?.screen === true,
});

export class RoomCall {
  /**
   * @param opts.stream local media (taken over: stopped when the call ends)
   * @param opts.events `{ state(s), notify(text, kind), rejoin(), lobby(), expired() }`
   */
  constructor({ wsUrl, token, user, roomId, title, stream, mic, cam, events }) {
    this.roomId = roomId;
    this.title = title;
    this.user = user;
    this.events = events;
    this.stream = stream;
    this.camTrack = stream.getVideoTracks()[0];
    this.micTrack = stream.getAudioTracks()[0];
    this.screenTrack = undefined;
    this.local = { mic: Boolean(this.micTrack) && mic, cam: Boolean(this.camTrack) && cam, screen: false };
    if (this.micTrack) this.micTrack.enabled = this.local.mic;
    if (this.camTrack) this.camTrack.enabled = this.local.cam;
    this.peers = new Map();
    this.closed = false;
    this.client = new HeliographClient({ url: wsUrl, token });
    this.calls = new CallManager(this.client, { localStream: stream });
    this.grid = new VideoGrid($('videos'));
    this.levels = new AudioLevels();
    this.speakers = new SpeakerDetector();
    this.iceServers = [];
    this.failedOnce = new Set();
    /** True from a drop until the session is resumed or rebuilt: "reconnecting…" is said once. */
    this.reconnecting = false;
    this.#listen();
    this.#bindControls();
  }

  /** Connects and joins; throws (after cleaning up) when the room cannot be entered. */
  async start() {
    this.levels.resume();
    this.#resetView();
    try {
      await this.client.connect();
      const result = await this.client.join({
        room: this.roomId,
        name: this.user.name,
        metadata: { ...this.local },
        create: { maxPeers: MAX_PEERS, ...(this.title !== this.roomId && { metadata: { title: this.title } }) },
      });
      this.#joined(result, false);
    } catch (err) {
      this.#teardown();
      this.client.close();
      throw err;
    }
    this.levels.watch(ME, this.stream);
    this.meterTimer = setInterval(() => this.#sampleLevels(), 150);
  }

  /** Leaves the room for good (the Leave button, or navigating away). */
  leave() {
    if (this.closed) {
      return;
    }
    const client = this.client;
    this.#teardown();
    if (client.room) {
      client.leave().catch(() => undefined);
    }
    // Long enough for room.leave to go out first; the closed state that follows is ignored.
    setTimeout(() => client.close(), 100);
  }

  // ---- signalling ----

  #listen() {
    const c = this.client;
    const live =
      (fn) =>
      (...args) =>
        !this.closed && fn(...args);
    c.on(
      'state',
      live((state, detail) => this.#onState(state, detail)),
    );
    c.on(
      'session.replaced',
      live(() => (this.replaced = true)),
    );
    c.on(
      'peer.joined',
      live(({ peer }) => {
        this.#addPeer(peer);
        this.#say(t('room.joined', { name: nameOf(peer) }));
      }),
    );
    c.on(
      'peer.updated',
      live(({ peer }) => this.#addPeer(peer)),
    );
    c.on(
      'peer.left',
      live(({ peerId, reason }) => {
        const peer = this.peers.get(peerId);
        const key = `leave.${reason}`;
        const why = reason === 'left' ? '' : t(key) === key ? reason : t(key);
        this.#say(t(why ? 'room.leftBecause' : 'room.left', { name: peer ? nameOf(peer) : t('room.someone'), why }));
        this.#removePeer(peerId);
      }),
    );
    c.on(
      'data',
      live(({ from, payload }) => {
        if (payload && typeof payload.chat === 'string') {
          const peer = this.peers.get(from);
          this.#chat(peer ? nameOf(peer) : t('room.someone'), payload.chat);
        }
      }),
    );
    // A resumed session lost nothing: the calls, their media and the tiles are as they were.
    c.on(
      'resumed',
      live(() => {
        this.reconnecting = false;
        this.#say(t('room.reconnected'));
      }),
    );
    c.on(
      'peer.reconnecting',
      live(({ peerId }) => {
        const peer = this.peers.get(peerId);
        if (peer) {
          this.#say(t('room.peerReconnecting', { name: nameOf(peer) }));
        }
      }),
    );
    c.on(
      'rejoined',
      live((result) => {
        this.reconnecting = false;
        this.#joined(result, true);
        // The SDK rejoins with the metadata of the first join: say what is on now.
        this.#announce();
        this.#say(t('room.reconnected'));
      }),
    );
    c.on(
      'rejoin.failed',
      live((err) => this.#end('lost', t('ended.rejoinFailed', { reason: explain(err) }))),
    );
    c.on(
      'room.closed',
      live(() => this.#end('lost', t('ended.roomClosed'))),
    );
    c.on(
      'room.kicked',
      live(() => this.#end('lost', t('ended.kicked'))),
    );

    this.calls.on('track', (peerId, remote) => {
      if (!this.closed && this.peers.has(peerId)) {
        this.grid.setRemoteStream(peerId, remote);
        this.levels.watch(peerId, remote);
      }
    });
    this.calls.on('state', (peerId, state) => {
      this.grid.setState(peerId, { connection: state });
      // Said once per peer: the call restarts ICE after each failure, and may fail again.
      if (state === 'failed' && this.peers.has(peerId) && !this.failedOnce.has(peerId)) {
        this.failedOnce.add(peerId);
        const name = nameOf(this.peers.get(peerId));
        this.#say(t('room.callFailed', { name }) + (this.#hasTurn() ? '' : ` ${t('room.needTurn')}`));
      }
    });
    this.calls.on('ended', (peerId) => this.grid.setRemoteStream(peerId, undefined));
  }

  #onState(state, detail) {
    this.events.state(state);
    if (state === 'reconnecting') {
      if (!this.reconnecting) {
        this.reconnecting = true;
        this.#say(t('room.reconnecting'));
      }
      // Only a session that cannot be resumed loses its calls; a resumable one keeps every tile.
      if (detail.resumable === false) {
        for (const id of [...this.peers.keys()]) {
          this.#removePeer(id);
        }
      }
    }
    if (state === 'closed') {
      if (detail.code === 4409 || this.replaced) {
        this.#end('replaced', t('ended.replacedText', { room: this.title }));
      } else if (detail.code === 4401) {
        this.#teardown();
        this.client.close();
        this.events.expired();
      } else {
        const key = CLOSE_TEXTS[detail.code];
        this.#end('lost', key ? t(key) : t('close.other', { code: detail.code ?? '?' }));
      }
    }
  }

  #joined(result, again) {
    this.iceServers = result.iceServers;
    this.title = roomTitle(this.roomId, result.room.metadata);
    $('room-title').textContent = this.title;
    this.peers.clear();
    this.grid.clearRemote();
    for (const peer of result.peers) {
      this.#addPeer(peer);
    }
    if (again) {
      return; // after a reconnect the CallManager calls everyone again by itself
    }
    const names = result.peers.map(nameOf);
    this.#say(names.length ? t('room.alreadyHere', { names: names.join(t('list.separator')) }) : t('room.firstHere'));
    if (!isLocalHost(location.hostname) && !this.#hasTurn()) {
      this.#say(t(this.iceServers.length ? 'room.noTurn' : 'room.noIceServers'));
    }
    this.calls.start(result.peers, result.iceServers);
  }

  #hasTurn() {
    return this.iceServers.some((s) => [s.urls].flat().some((url) => /^turns?:/.test(url)));
  }

  /**
   * Tells the others what the microphone, camera and screen are doing. It rides on peer metadata
   * (`peer.update`, seen by the others as `peer.updated`) rather than on `data.send`: the server
   * keeps metadata, so people who join later get it in `room.join`'s peers and `peer.joined`
   * without anyone repeating it. Updates go one at a time; the latest state wins.
   */
  #announce() {
    if (this.closed || !this.client.room) {
      return;
    }
    if (this.announcing) {
      this.announceAgain = true;
      return;
    }
    this.announcing = true;
    this.client
      .request('peer.update', { metadata: { ...this.local } })
      .catch(() => undefined) // a lost connection announces again after rejoining
      .finally(() => {
        this.announcing = false;
        if (this.announceAgain) {
          this.announceAgain = false;
          this.#announce();
        }
      });
  }

  // ---- people ----

  #addPeer(peer) {
    this.peers.set(peer.id, peer);
    this.grid.ensure(peer.id, { name: nameOf(peer), key: peer.userId });
    const media = mediaOf(peer);
    // A shared screen shows even with the camera off: it took the camera's place.
    this.grid.setState(peer.id, { ...media, cam: media.cam || media.screen });
    this.#renderPeople();
  }

  #removePeer(peerId) {
    this.peers.delete(peerId);
    this.levels.unwatch(peerId);
    this.grid.remove(peerId);
    this.#renderPeople();
  }

  #renderPeople() {
    const everyone = [{ id: ME, name: this.user.name, key: this.user.userId, ...this.local, you: true }];
    for (const peer of this.peers.values()) {
      everyone.push({ id: peer.id, name: nameOf(peer), key: peer.userId, ...mediaOf(peer) });
    }
    $('people').replaceChildren(...everyone.map((p) => this.#personItem(p)));
    $('people-count').textContent = String(everyone.length);
    $('room-count').textContent = countPeople(everyone.length);
  }

  #personItem(person) {
    const li = document.createElement('li');
    li.dataset.peer = person.id;
    const name = document.createElement('span');
    name.className = 'person-name';
    name.textContent = person.name;
    if (person.you) {
      const you = document.createElement('span');
      you.className = 'you';
      you.textContent = t('people.you');
      name.append(you);
    }
    const marks = document.createElement('span');
    marks.className = 'marks';
    const mark = (iconName, label) => {
      const m = document.createElement('span');
      m.className = `mark ${iconName}`;
      m.title = label;
      m.setAttribute('aria-label', label);
      m.append(icon(iconName));
      marks.append(m);
    };
    if (person.screen) mark('screen', t('tile.presenting'));
    if (!person.cam) mark('cam-off', t('tile.camOff'));
    if (!person.mic) mark('mic-off', t('tile.micOff'));
    li.append(avatarElement(person.name, person.key, 'sm'), name, marks);
    return li;
  }

  #sampleLevels() {
    const levels = new Map([[ME, this.local.mic ? this.levels.level(ME) : 0]]);
    for (const [id, peer] of this.peers) {
      levels.set(id, mediaOf(peer).mic ? this.levels.level(id) : 0);
    }
    const { speaking, active } = this.speakers.update(levels, performance.now());
    for (const id of levels.keys()) {
      // Everyone speaking gets a light ring; the loudest of them, the active speaker, a strong one.
      this.grid.setState(id, { speaking: speaking.has(id), active: speaking.has(id) && id === active });
      document.querySelector(`#people li[data-peer="${CSS.escape(id)}"]`)?.classList.toggle('speaking', speaking.has(id));
    }
  }

  // ---- local media ----

  #bindControls() {
    $('toggle-mic').onclick = () => this.#toggle('mic');
    $('toggle-cam').onclick = () => this.#toggle('cam');
    $('toggle-screen').onclick = () => void (this.local.screen ? this.#stopScreen() : this.#startScreen());
    $('rejoin').onclick = () => this.events.rejoin();
    $('ended-lobby').onclick = () => this.events.lobby();
  }

  #toggle(kind) {
    const track = kind === 'mic' ? this.micTrack : this.camTrack;
    if (!track || this.closed) {
      return;
    }
    this.local[kind] = !this.local[kind];
    track.enabled = this.local[kind];
    this.#localChanged();
  }

  async #startScreen() {
    if (this.choosingScreen) {
      return; // the browser's picker is open already
    }
    let display;
    this.choosingScreen = true;
    try {
      display = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    } catch (err) {
      if (err?.name !== 'NotAllowedError') {
        this.events.notify(t('room.screenFailed'));
      }
      return;
    } finally {
      this.choosingScreen = false;
    }
    const track = display.getVideoTracks()[0];
    if (this.closed || !track) {
      stopStream(display);
      return;
    }
    track.contentHint = 'detail';
    track.addEventListener('ended', () => this.screenTrack === track && this.#stopScreen());
    this.screenTrack = track;
    // The screen takes the camera's place in the one stream every call sends: the SDK removes the
    // camera's sender and adds the screen's, and each call renegotiates.
    if (this.camTrack) {
      this.stream.removeTrack(this.camTrack);
    }
    this.stream.addTrack(track);
    this.calls.setLocalStream(this.stream);
    this.local.screen = true;
    this.#localChanged();
  }

  #stopScreen() {
    const track = this.screenTrack;
    if (!track) {
      return;
    }
    this.screenTrack = undefined;
    this.stream.removeTrack(track);
    track.stop();
    if (this.camTrack && this.camTrack.readyState === 'live' && !this.closed) {
      this.stream.addTrack(this.camTrack);
    }
    if (!this.closed) {
      this.calls.setLocalStream(this.stream);
      this.local.screen = false;
      this.#localChanged();
    }
  }

  #localChanged() {
    this.grid.setLocalVideo(ME, this.screenTrack ?? this.camTrack);
    this.grid.setState(ME, { ...this.local, cam: this.local.cam || this.local.screen });
    this.#renderControls();
    this.#renderPeople();
    this.#announce();
  }

  #renderControls() {
    const set = (id, { pressed, label, iconName, disabled, title }) => {
      const button = $(id);
      button.setAttribute('aria-pressed', String(pressed));
      button.disabled = disabled;
      button.title = title ?? label;
      button.querySelector('.label').textContent = label;
      setIcon(button.querySelector('[data-icon]'), iconName);
    };
    const { mic, cam, screen } = this.local;
    set('toggle-mic', {
      pressed: !mic,
      label: t(mic ? 'control.mute' : 'control.unmute'),
      iconName: mic ? 'mic' : 'mic-off',
      disabled: !this.micTrack || this.closed,
      title: this.micTrack ? undefined : t('control.noMic'),
    });
    set('toggle-cam', {
      pressed: !cam,
      label: t(cam ? 'control.stopCam' : 'control.startCam'),
      iconName: cam ? 'cam' : 'cam-off',
      disabled: !this.camTrack || screen || this.closed,
      title: this.camTrack ? undefined : t('control.noCam'),
    });
    set('toggle-screen', {
      pressed: screen,
      label: t(screen ? 'control.stopShare' : 'control.share'),
      iconName: 'screen',
      disabled: !canShareScreen() || this.closed,
      title: canShareScreen() ? undefined : t('control.noShare'),
    });
  }

  // ---- the view ----

  #resetView() {
    $('room-title').textContent = this.title;
    $('messages').replaceChildren();
    $('ended').hidden = true;
    $('controls').hidden = false;
    delete $('view-room').dataset.ended;
    $('chat-form').text.disabled = false;
    this.grid.clear();
    this.grid.ensure(ME, { name: t('tile.you', { name: this.user.name }), key: this.user.userId, local: true });
    this.#localChanged();
  }

  #say(text) {
    const li = document.createElement('li');
    li.className = 'system';
    li.textContent = text;
    this.#append(li);
  }

  #chat(from, text) {
    const li = document.createElement('li');
    const who = document.createElement('span');
    who.className = 'from';
    who.textContent = from;
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    li.append(who, body);
    this.#append(li);
  }

  #append(li) {
    const list = $('messages');
    list.append(li);
    list.scrollTop = list.scrollHeight;
  }

  /** Sends a chat line to everyone else; shows it here once the server took it. */
  async sendChat(text) {
    await this.client.request('data.send', { payload: { chat: text } });
    this.#chat(t('room.youSaid'), text);
  }

  /**
   * The call is over without the user leaving: the room moved to another window ('replaced') or
   * the connection or the room is gone ('lost'). The view stays, with the reason and a way back.
   */
  #end(kind, text) {
    if (this.closed) {
      return;
    }
    this.#teardown();
    this.client.close();
    this.events.state('closed');
    $('ended-title').textContent = t(kind === 'replaced' ? 'ended.replacedTitle' : 'ended.lostTitle');
    $('ended-text').textContent = text;
    $('rejoin').textContent = t(kind === 'replaced' ? 'ended.rejoinHere' : 'ended.joinAgain');
    $('ended').hidden = false;
    $('controls').hidden = true;
    $('view-room').dataset.ended = 'true';
    $('chat-form').text.disabled = true;
    this.peers.clear();
    this.grid.clear();
    this.#renderControls();
    $('people').replaceChildren();
    $('people-count').textContent = '';
    $('room-count').textContent = '';
  }

  /** Stops everything this call holds: calls, microphone, camera, screen, levels, timers. */
  #teardown() {
    this.closed = true;
    clearInterval(this.meterTimer);
    this.calls.close();
    this.levels.close();
    if (this.screenTrack) {
      this.screenTrack.stop();
      this.screenTrack = undefined;
    }
    stopStream(this.stream);
    this.camTrack?.stop();
  }
}
