// The screen before a call: camera preview, microphone meter, device choice, camera and microphone
// on or off, and whether there is a seat in the room.
import { lobbyRooms } from './api.js';
import { setAvatar } from './avatar.js';
import { countPeople, t } from './i18n.js';
import { setIcon } from './icons.js';
import { AudioLevels } from './levels.js';
import { listDevices, loadPrefs, mediaSupport, openMedia, savePrefs, stopStream, switchDevice } from './media.js';
import { roomTitle } from './room-id.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 3000;

export class PreJoin {
  #events;
  #stream;
  #levels;
  #timers = [];
  #open = 0;
  #full = false;
  #busy = false;
  #ready = false;
  #switching = false;

  /** `events`: `{ join({ stream, mic, cam, title }), token(), copy(link) }` */
  constructor(events) {
    this.#events = events;
    $('pre-mic').onclick = () => this.#toggle('mic');
    $('pre-cam').onclick = () => this.#toggle('cam');
    $('cam-select').onchange = (e) => void this.#switch('video', e.target.value);
    $('mic-select').onchange = (e) => void this.#switch('audio', e.target.value);
    $('join').onclick = () => this.#join();
  }

  /** Shows the screen for room `roomId` and opens the camera and microphone. */
  async show(roomId, title, user) {
    this.close();
    const open = ++this.#open;
    this.roomId = roomId;
    this.title = title;
    this.prefs = loadPrefs();
    this.problems = {};
    $('prejoin-title').textContent = title;
    setAvatar($('preview-avatar'), user.name, user.userId);
    $('preview-tile').dataset.state = 'starting';
    $('preview-status').textContent = t('prejoin.starting');
    $('media-problem').hidden = true;
    $('room-seats').textContent = '';
    this.#full = false;
    this.#busy = false;
    this.#ready = false;
    this.#renderJoin();
    this.#pollRoom();

    const { stream, problems } = await openMedia(this.prefs);
    if (open !== this.#open) {
      stopStream(stream);
      return;
    }
    this.#stream = stream;
    this.problems = problems;
    for (const track of stream.getAudioTracks()) track.enabled = this.prefs.mic;
    for (const track of stream.getVideoTracks()) track.enabled = this.prefs.cam;
    $('preview').srcObject = stream;
    this.#levels = new AudioLevels();
    this.#levels.watch('me', stream);
    this.#timers.push(setInterval(() => this.#meter(), 100));
    await this.#fillDevices();
    this.#ready = true;
    this.#render();
    this.#renderJoin();
  }

  /** Stops the preview (unless the call took the stream) and the polling. */
  close() {
    this.#open++;
    for (const timer of this.#timers.splice(0)) {
      clearInterval(timer);
    }
    this.#levels?.close();
    this.#levels = undefined;
    stopStream(this.#stream);
    this.#stream = undefined;
    $('preview').srcObject = null;
  }

  #has(kind) {
    return Boolean(this.#stream && (kind === 'mic' ? this.#stream.getAudioTracks() : this.#stream.getVideoTracks()).length);
  }

  #toggle(kind) {
    if (!this.#has(kind)) {
      return;
    }
    this.prefs[kind] = !this.prefs[kind];
    const tracks = kind === 'mic' ? this.#stream.getAudioTracks() : this.#stream.getVideoTracks();
    tracks.forEach((track) => (track.enabled = this.prefs[kind]));
    savePrefs(this.prefs);
    this.#render();
  }

  async #switch(kind, deviceId) {
    const stream = this.#stream;
    const open = this.#open;
    if (!stream) {
      return;
    }
    // Joining waits for the new device, so that the call starts with it.
    this.#switching = true;
    this.#renderJoin();
    const problem = await switchDevice(stream, kind, deviceId).finally(() => (this.#switching = false));
    if (open !== this.#open) {
      stopStream(stream); // the screen closed meanwhile: the new device must not stay on
      return;
    }
    if (problem) {
      this.problems[kind] = problem;
    } else {
      delete this.problems[kind];
      this.prefs[kind === 'audio' ? 'micId' : 'camId'] = deviceId;
      savePrefs(this.prefs);
      $('preview').srcObject = new MediaStream(stream.getVideoTracks());
      this.#levels?.watch('me', stream);
    }
    this.#render();
    this.#renderJoin();
  }

  async #fillDevices() {
    const devices = await listDevices();
    for (const [kind, select, current] of [
      ['video', $('cam-select'), this.#stream.getVideoTracks()[0]],
      ['audio', $('mic-select'), this.#stream.getAudioTracks()[0]],
    ]) {
      const list = devices[kind];
      const options = list.map((d) => {
        const label = d.label || t(kind === 'video' ? 'prejoin.cameraN' : 'prejoin.micN', { n: d.index });
        return new Option(label, d.id);
      });
      if (!list.length) {
        const support = mediaSupport();
        const why =
          support === 'insecure'
            ? 'prejoin.needsHttps'
            : support === 'unsupported'
              ? 'prejoin.unavailable'
              : kind === 'video'
                ? 'prejoin.noCamera'
                : 'prejoin.noMic';
        options.push(new Option(t(why), ''));
      }
      select.replaceChildren(...options);
      select.value = current?.getSettings().deviceId ?? list[0]?.id ?? '';
      select.disabled = !list.length || !current;
    }
  }

  #render() {
    const mic = this.#has('mic');
    const cam = this.#has('cam');
    const camOn = cam && this.prefs.cam;
    const tile = $('preview-tile');
    tile.dataset.state = camOn ? 'live' : 'off';
    tile.dataset.mic = mic ? (this.prefs.mic ? 'on' : 'off') : 'none';
    const blocked = mediaSupport() === 'insecure';
    $('preview-status').textContent = camOn ? '' : t(cam ? 'prejoin.camOff' : blocked ? 'prejoin.camBlocked' : 'prejoin.noCameraShort');
    for (const [id, has, on, onIcon, offIcon, onLabel, offLabel, none] of [
      ['pre-mic', mic, this.prefs.mic, 'mic', 'mic-off', 'control.mute', 'control.unmute', 'control.noMic'],
      ['pre-cam', cam, this.prefs.cam, 'cam', 'cam-off', 'control.stopCam', 'control.startCam', 'control.noCam'],
    ]) {
      const button = $(id);
      button.disabled = !has;
      button.setAttribute('aria-pressed', String(has && !on));
      const label = t(!has ? none : on ? onLabel : offLabel);
      button.title = label;
      button.setAttribute('aria-label', label);
      setIcon(button.querySelector('[data-icon]'), has && on ? onIcon : offIcon);
    }
    this.#renderProblems();
  }

  #renderProblems() {
    const box = $('media-problem');
    const support = mediaSupport();
    const lines = [];
    if (support !== 'ok') {
      lines.push(t(support === 'insecure' ? 'media.insecure' : 'media.unsupported'));
    } else {
      const { audio, video } = this.problems;
      if (video) lines.push(t(`media.video.${video}`));
      if (audio) lines.push(t(`media.audio.${audio}`));
      if (audio && video) lines.push(t('media.watchOnly'));
    }
    box.textContent = lines.join(' ');
    box.hidden = !lines.length;
  }

  #meter() {
    const level = this.prefs.mic ? (this.#levels?.level('me') ?? 0) : 0;
    $('pre-level').style.transform = `scaleX(${level.toFixed(3)})`;
  }

  /** Seats in the room, from the lobby: a full room cannot be joined until someone leaves. */
  #pollRoom() {
    const open = this.#open;
    const poll = async () => {
      try {
        const { rooms } = await lobbyRooms(this.#events.token());
        if (open !== this.#open) return;
        const room = rooms.find((r) => r.id === this.roomId);
        this.#full = Boolean(room && room.peers >= room.maxPeers);
        if (room) {
          this.title = roomTitle(room.id, room.metadata);
          $('prejoin-title').textContent = this.title;
        }
        $('room-seats').textContent = !room
          ? t('prejoin.newRoom')
          : this.#full
            ? t('prejoin.full', { max: room.maxPeers })
            : room.peers
              ? t('prejoin.inRoom', { people: countPeople(room.peers) })
              : t('prejoin.empty');
        $('room-seats').dataset.full = String(this.#full);
      } catch {
        // The join itself will say what is wrong.
      }
      this.#renderJoin();
    };
    void poll();
    this.#timers.push(setInterval(() => document.visibilityState === 'visible' && void poll(), POLL_MS));
  }

  #renderJoin() {
    const button = $('join');
    button.disabled = this.#full || this.#busy || this.#switching || !this.#ready;
    button.textContent = t(this.#busy ? 'prejoin.joining' : this.#full ? 'prejoin.waitSeat' : 'prejoin.join');
  }

  async #join() {
    if (this.#busy || this.#full || this.#switching || !this.#ready) {
      return;
    }
    this.#busy = true;
    this.#renderJoin();
    const stream = this.#stream ?? new MediaStream();
    // The call takes the stream over: closing this screen must not stop it.
    this.#stream = undefined;
    const { mic, cam } = this.prefs;
    this.close();
    try {
      await this.#events.join({ stream, mic, cam, title: this.title });
    } finally {
      this.#busy = false;
    }
  }
}
