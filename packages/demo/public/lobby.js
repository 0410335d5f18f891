// The lobby: the rooms this user may join, refreshed by itself every few seconds while it is on
// screen, and a form that turns any room name into a room (see room-id.js).
import { lobbyRooms } from './api.js';
import { t } from './i18n.js';
import { roomIdFor, roomTitle } from './room-id.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 3000;

export class Lobby {
  #events;
  #timer;
  #visible = false;
  #seq = 0;
  #failing = false;

  /** `events`: `{ enter(roomId, title), token(), unauthorized(), failed(err or null once it works again) }` */
  constructor(events) {
    this.#events = events;
    $('create-form').onsubmit = (event) => {
      event.preventDefault();
      const room = roomIdFor(event.target.room.value);
      if (room) {
        event.target.reset();
        this.#hint();
        this.#events.enter(room.id, room.title);
      }
    };
    $('create-form').room.oninput = () => this.#hint();
    document.addEventListener('visibilitychange', () => {
      if (this.#visible && document.visibilityState === 'visible') {
        void this.refresh();
      }
    });
  }

  show() {
    this.#visible = true;
    clearInterval(this.#timer);
    void this.refresh();
    this.#timer = setInterval(() => document.visibilityState === 'visible' && void this.refresh(), POLL_MS);
  }

  hide() {
    this.#visible = false;
    clearInterval(this.#timer);
  }

  async refresh() {
    const seq = ++this.#seq;
    let data;
    try {
      data = await lobbyRooms(this.#events.token());
    } catch (err) {
      if (seq === this.#seq && this.#visible) {
        if (err.code === 'UNAUTHORIZED') {
          this.#events.unauthorized();
        } else {
          this.#failing = true;
          this.#events.failed(err);
        }
      }
      return;
    }
    if (seq !== this.#seq || !this.#visible) {
      return;
    }
    if (this.#failing) {
      // The server answers again: the lobby's own error goes (other notices stay).
      this.#failing = false;
      this.#events.failed(null);
    }
    const rooms = [...data.rooms].sort((a, b) => b.peers - a.peers || a.id.localeCompare(b.id));
    $('room-list').replaceChildren(...rooms.map((room) => this.#item(room)));
    $('no-rooms').hidden = rooms.length > 0;
    $('create-form').hidden = !data.canCreate;
  }

  #item(room) {
    const title = roomTitle(room.id, room.metadata);
    const full = room.peers >= room.maxPeers;
    const li = document.createElement('li');
    li.dataset.room = room.id;
    li.classList.toggle('full', full);
    const text = document.createElement('div');
    text.className = 'room-text';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = title;
    const count = document.createElement('span');
    count.className = 'count';
    count.textContent = full ? t('lobby.full', { max: room.maxPeers }) : t('lobby.seats', { n: room.peers, max: room.maxPeers });
    text.append(name, count);
    const seats = document.createElement('span');
    seats.className = 'seats';
    seats.setAttribute('aria-hidden', 'true');
    for (let i = 0; i < Math.min(room.maxPeers, 8); i++) {
      const seat = document.createElement('i');
      seat.classList.toggle('taken', i < room.peers);
      seats.append(seat);
    }
    const join = document.createElement('button');
    join.className = 'join';
    join.textContent = t(full ? 'lobby.fullButton' : 'lobby.join');
    join.disabled = full;
    join.setAttribute('aria-label', t('lobby.joinRoom', { room: title }));
    join.onclick = () => this.#events.enter(room.id, title);
    li.append(text, seats, join);
    return li;
  }

  /** Under the form: the room id a name will get, when it differs from what was typed. */
  #hint() {
    const typed = $('create-form').room.value;
    const room = roomIdFor(typed);
    const hint = $('room-id-hint');
    hint.hidden = !room || room.id === typed.trim();
    if (room) {
      hint.textContent = t('lobby.idHint', { id: room.id });
    }
  }
}
