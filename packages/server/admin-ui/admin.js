// The operator dashboard: everything through the control API with the operator's key.
import { api, button, row, session, stream } from './api.js';
import { createCharts } from './charts.js';
import { createInspector } from './inspector.js';

const $ = (id) => document.getElementById(id);
let live;
let charts;
let inspector;
let previous;
let selectedRoom;

function showError(err) {
  $('action-error').textContent = err ? String(err.message ?? err) : '';
}

/** Runs an action of the control API; its failure (FORBIDDEN for a read key…) is shown. */
async function act(what) {
  showError();
  try {
    await what();
    await refreshLists();
  } catch (err) {
    showError(err);
  }
}

function sum(nodes, pick) {
  return nodes.reduce((n, node) => n + (node.state === 'unreachable' ? 0 : (pick(node) ?? 0)), 0);
}

/** The figures shown, from one overview and the one before it (for the rates). */
function figures(overview) {
  const nodes = overview.nodes;
  const up = nodes.filter((n) => n.state !== 'unreachable');
  const signals = sum(up, (n) => n.signals);
  const errors = sum(up, (n) => Object.values(n.errors).reduce((a, b) => a + b, 0));
  const seconds = previous ? (overview.at - previous.at) / 1000 : 0;
  const rate = (now, before) => (seconds > 0 && before !== undefined ? Math.max(0, (now - before) / seconds) : 0);
  const relay = Math.max(0, ...up.map((n) => n.relayP99Ms ?? 0));
  // Each node has its own outbox: the cluster's is their sum.
  const withHooks = up.filter((n) => n.webhooks);
  const hooks = withHooks.length ? { pending: sum(withHooks, (n) => n.webhooks.pending), dead: sum(withHooks, (n) => n.webhooks.dead) } : undefined;
  const rs = up.map((n) => n.roomServiceP99Ms).filter((v) => v !== null);
  const ps = up.filter((n) => n.pixelStreaming);
  return {
    nodes: `${up.length}${up.length < nodes.length ? ` (${nodes.length - up.length} down)` : ''}`,
    connections: sum(up, (n) => n.connections),
    rooms: overview.rooms,
    peers: sum(up, (n) => n.peers),
    signalsPerSecond: Math.round(rate(signals, previous?.signals) * 10) / 10,
    errorsPerSecond: Math.round(rate(errors, previous?.errors) * 10) / 10,
    relayP99: relay,
    webhooks: hooks ? `${hooks.pending} / ${hooks.dead} dead` : 'off',
    roomService: rs.length ? `${Math.max(...rs)} ms` : '–',
    pixelStreaming: ps.length ? `${sum(ps, (n) => n.pixelStreaming.streamers)} / ${sum(ps, (n) => n.pixelStreaming.players)}` : 'off',
    totals: { signals, errors },
  };
}

function render(overview) {
  const f = figures(overview);
  for (const el of document.querySelectorAll('[data-figure]')) {
    const key = el.dataset.figure;
    el.textContent = key === 'relayP99' ? `${f.relayP99} ms` : String(f[key]);
  }
  $('scope').textContent = overview.cluster ? `cluster of ${overview.nodes.length} nodes, seen from ${overview.node}` : `single node ${overview.node}`;
  const perNode = new Map((previous?.nodes ?? []).map((n) => [n.node, n]));
  $('nodes').tBodies[0].replaceChildren(
    ...overview.nodes.map((n) => {
      const before = perNode.get(n.node);
      const s = before && n.signals !== undefined ? ((n.signals - before.signals) * 1000) / Math.max(1, n.at - before.at) : 0;
      return row([n.node, n.state, n.connections, n.rooms, n.peers, Math.round(s * 10) / 10, n.relayP99Ms]);
    }),
  );
  const codes = new Map();
  for (const n of overview.nodes) for (const [code, count] of Object.entries(n.errors ?? {})) codes.set(code, (codes.get(code) ?? 0) + count);
  $('errors').tBodies[0].replaceChildren(...[...codes].sort((a, b) => b[1] - a[1]).map(([code, count]) => row([code, count])));
  charts.add(overview.at / 1000, f);
  previous = { at: overview.at, signals: f.totals.signals, errors: f.totals.errors, nodes: overview.nodes };
}

async function refreshLists() {
  const { rooms } = await api('GET', '/v1/rooms?limit=100');
  $('rooms').tBodies[0].replaceChildren(
    ...rooms.map((r) => {
      const tr = row([r.id, r.peers, r.maxPeers, button('Open', () => openRoom(r.id))]);
      tr.dataset.room = r.id;
      return tr;
    }),
  );
  if (selectedRoom) await openRoom(selectedRoom, false).catch(() => ($('room-panel').hidden = true));
  // Every node's dead letters; a node that did not answer in time is named rather than hidden.
  const { deadLetters, unreachable } = await api('GET', '/v1/webhooks/dead-letters?limit=50');
  $('dead-letters-unreachable').textContent = unreachable.length ? `No answer from node ${unreachable.join(', ')}: its dead letters are not listed.` : '';
  $('dead-letters').tBodies[0].replaceChildren(
    ...deadLetters.map((d) => {
      const path = `/v1/webhooks/dead-letters/${encodeURIComponent(d.id)}/redeliver?node=${encodeURIComponent(d.node)}`;
      return row([d.id, d.type, d.room || '–', d.node, d.attempts, d.lastError, button('Redeliver', () => act(() => api('POST', path)))]);
    }),
  );
}

async function openRoom(roomId, scroll = true) {
  selectedRoom = roomId;
  const path = `/v1/rooms/${encodeURIComponent(roomId)}`;
  const { peers } = await api('GET', `${path}/peers`);
  $('room-title').textContent = roomId;
  $('room-panel').hidden = false;
  $('peers').tBodies[0].replaceChildren(
    ...peers.map((p) => {
      const kick = button(
        'Kick',
        () => act(() => api('POST', `${path}/peers/${encodeURIComponent(p.id)}/kick`, { reason: 'removed by an operator' })),
        'danger',
      );
      const watch = button('Inspect', () => inspector.watch('peer', p.id));
      const tr = row([p.id, p.userId, p.name, Object.assign(document.createElement('span'), { className: 'row' })]);
      tr.lastElementChild.firstElementChild.append(kick, watch);
      tr.dataset.peer = p.id;
      return tr;
    }),
  );
  const to = $('send-to');
  to.replaceChildren(new Option('everyone', ''), ...peers.map((p) => new Option(`${p.userId} (${p.id})`, p.id)));
  if (scroll) $('room-panel').scrollIntoView({ block: 'nearest' });
}

/** Fills the charts with the nodes' last minutes (a sample every two seconds), oldest first. */
async function loadHistory() {
  const { nodes } = await api('GET', '/v1/console/history');
  const byTime = new Map();
  for (const { samples } of nodes) {
    for (const sample of samples) {
      const t = Math.round(sample.at / 2000) * 2000;
      if (!byTime.has(t)) byTime.set(t, new Map());
      byTime.get(t).set(sample.node, sample);
    }
  }
  for (const t of [...byTime.keys()].sort((a, b) => a - b)) {
    const sampled = [...byTime.get(t).values()];
    const f = figures({ at: t, rooms: 0, nodes: sampled });
    charts.add(t / 1000, f);
    previous = { at: t, signals: f.totals.signals, errors: f.totals.errors, nodes: sampled };
  }
}

async function start() {
  $('login').hidden = true;
  $('console').hidden = false;
  charts ??= createCharts();
  inspector ??= createInspector(showError);
  await loadHistory().catch(showError);
  live = new AbortController();
  const badge = $('live');
  stream(
    '/v1/console/stream',
    (name, data) => {
      if (name === 'overview') {
        badge.textContent = 'live';
        badge.classList.add('on');
        render(data);
      }
    },
    live.signal,
  ).catch((err) => {
    badge.textContent = 'disconnected';
    badge.classList.remove('on');
    showError(err);
  });
  await refreshLists().catch(showError);
  setInterval(() => refreshLists().catch(showError), 3000);
}

function signOut() {
  session.key = null;
  live?.abort();
  location.reload();
}

/** Checks a key or an admin's session against the API, then keeps it for this tab. */
async function enter(key, refused) {
  try {
    await api('GET', '/v1/console/overview', undefined, key);
  } catch (err) {
    $('login-error').textContent = err.status === 401 ? refused : String(err.message);
    return;
  }
  session.key = key;
  await start();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $('api-key').value.trim();
  $('api-key').value = '';
  await enter(key, 'That key is not accepted.');
});
$('account-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { username: $('username').value, password: $('password').value };
  $('password').value = '';
  const res = await fetch('/admin/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) {
    $('login-error').textContent = res.status === 429 ? 'Too many failed sign-ins; try again later.' : 'Wrong username or password, or not an admin.';
    return;
  }
  await enter((await res.json()).token, 'That account may not use the console.');
});
$('sign-out').addEventListener('click', signOut);
$('close-room').addEventListener('click', () =>
  act(async () => {
    await api('DELETE', `/v1/rooms/${encodeURIComponent(selectedRoom)}?reason=${encodeURIComponent('closed by an operator')}`);
    selectedRoom = undefined;
    $('room-panel').hidden = true;
  }),
);
$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(async () => {
    const payload = JSON.parse($('send-data').value);
    const to = $('send-to').value;
    const path = `/v1/rooms/${encodeURIComponent(selectedRoom)}`;
    await api('POST', to ? `${path}/peers/${encodeURIComponent(to)}/data` : `${path}/data`, { payload });
  });
});

if (session.key) {
  api('GET', '/v1/console/overview').then(start, () => {
    session.key = null;
  });
}
