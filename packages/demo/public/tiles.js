// The video grid: one tile per person, with a picture or an initials avatar, a name plate, a muted
// microphone mark, and the speaking highlight. Laid out by count (see style.css: 2×2 for four).
import { avatarElement, setAvatar } from './avatar.js';
import { t } from './i18n.js';
import { icon } from './icons.js';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** The video track to show from a remote stream: the newest live one (a screen replaces a camera). */
function currentVideoTrack(stream) {
  const live = stream?.getVideoTracks().filter((track) => track.readyState === 'live') ?? [];
  return live.at(-1);
}

export class VideoGrid {
  #container;
  /** id → { el, video, audio, stream, track } */
  #tiles = new Map();

  constructor(container) {
    this.#container = container;
  }

  /** The tile for `id`, made on first use. `local` tiles are mirrored and never play sound. */
  ensure(id, { name, key, local = false }) {
    let tile = this.#tiles.get(id);
    if (!tile) {
      const node = el('div', `tile${local ? ' local' : ''}`);
      node.dataset.peer = id;
      node.dataset.video = 'none';
      const video = el('video');
      Object.assign(video, { autoplay: true, playsInline: true, muted: true });
      const avatar = el('div', 'tile-avatar');
      avatar.append(avatarElement(name, key, 'xl'));
      const plate = el('div', 'plate');
      const mic = el('span', 'mic-off');
      mic.append(icon('mic-off'));
      mic.title = t('tile.micOff');
      mic.setAttribute('aria-label', t('tile.micOff'));
      plate.append(mic, el('span', 'name'));
      const badges = el('div', 'badges');
      const presenting = el('span', 'badge presenting', t('tile.presenting'));
      const conn = el('span', 'badge conn');
      badges.append(presenting, conn);
      node.append(video, avatar, plate, badges);
      let audio;
      if (!local) {
        audio = el('audio');
        audio.autoplay = true;
        node.append(audio);
      }
      tile = { el: node, video, audio, stream: undefined, track: undefined };
      this.#tiles.set(id, tile);
      this.#container.append(node);
      this.#layout();
    }
    this.rename(id, name, key);
    return tile.el;
  }

  rename(id, name, key) {
    const tile = this.#tiles.get(id);
    if (tile) {
      tile.el.querySelector('.name').textContent = name;
      setAvatar(tile.el.querySelector('.avatar'), name, key);
    }
  }

  /** Shows `track` (a local camera or screen) in tile `id`. */
  setLocalVideo(id, track) {
    const tile = this.#tiles.get(id);
    if (tile) {
      this.#show(tile, track);
    }
  }

  /** Plays a remote peer's stream: its sound, and its newest video track (followed as it changes). */
  setRemoteStream(id, stream) {
    const tile = this.#tiles.get(id);
    if (!tile) {
      return;
    }
    if (tile.stream !== stream) {
      tile.stream = stream;
      if (stream) {
        const refresh = () => tile.stream === stream && this.#show(tile, currentVideoTrack(stream));
        stream.addEventListener('addtrack', refresh);
        stream.addEventListener('removetrack', refresh);
      }
      if (tile.audio) {
        tile.audio.srcObject = stream ?? null;
      }
    }
    this.#show(tile, currentVideoTrack(stream));
  }

  #show(tile, track) {
    if (tile.track === track) {
      return;
    }
    tile.track = track;
    tile.video.srcObject = track ? new MediaStream([track]) : null;
    tile.el.dataset.video = track ? 'live' : 'none';
    if (track) {
      track.addEventListener('ended', () => tile.track === track && this.#show(tile, undefined), { once: true });
    }
  }

  /** Marks for a tile: `mic`/`cam` false show the muted mark and the avatar; `screen` the badge. */
  setState(id, state) {
    const node = this.#tiles.get(id)?.el;
    if (!node) {
      return;
    }
    if ('mic' in state) {
      node.dataset.mic = state.mic ? 'on' : 'off';
    }
    if ('cam' in state) {
      node.dataset.cam = state.cam ? 'on' : 'off';
    }
    if ('screen' in state) {
      node.classList.toggle('screen', Boolean(state.screen));
    }
    if ('speaking' in state) {
      node.classList.toggle('speaking', Boolean(state.speaking));
    }
    if ('active' in state) {
      node.classList.toggle('active', Boolean(state.active));
    }
    if ('connection' in state) {
      // Only the states worth a word: a working call needs no badge.
      const text =
        { new: t('tile.connecting'), connecting: t('tile.connecting'), disconnected: t('tile.unstable'), failed: t('tile.failed') }[state.connection] ?? '';
      const badge = node.querySelector('.badge.conn');
      badge.textContent = text;
      badge.dataset.state = state.connection;
    }
  }

  remove(id) {
    const tile = this.#tiles.get(id);
    if (tile) {
      tile.video.srcObject = null;
      if (tile.audio) {
        tile.audio.srcObject = null;
      }
      tile.el.remove();
      this.#tiles.delete(id);
      this.#layout();
    }
  }

  /** Removes every tile but the local ones. */
  clearRemote() {
    for (const [id, tile] of this.#tiles) {
      if (!tile.el.classList.contains('local')) {
        this.remove(id);
      }
    }
  }

  clear() {
    for (const id of [...this.#tiles.keys()]) {
      this.remove(id);
    }
  }

  ids() {
    return [...this.#tiles.keys()];
  }

  #layout() {
    this.#container.dataset.count = String(Math.min(this.#tiles.size, 9));
  }
}
