// Log in as a built-in user, join a room and print what happens there.
// Usage: node examples/join-room.mjs <username> <password> [room] [server URL] [--once]
// It signals every peer already in the room. Run it twice (as two users) to watch peers join and
// a signal go through, acknowledged. It stays until Ctrl-C; with --once it leaves after one
// signal, sent and acknowledged or received.
import WebSocket from 'ws';

const USAGE = 'usage: node examples/join-room.mjs <username> <password> [room] [server URL] [--once]';
const argv = process.argv.slice(2);
const once = argv.includes('--once') || Boolean(process.env.EXIT_AFTER_JOIN);
const [username, password, room = 'demo', base = 'http://127.0.0.1:8080'] = argv.filter((a) => a !== '--once');
if (!username || !password) {
  console.error(USAGE);
  process.exit(2);
}

/** Stops with one line on stderr, no stack: the usual failures are the server's, not this script's. */
function fail(message) {
  console.error(`join-room: ${message}`);
  process.exit(1);
}

/** `fetch failed` hides why; its cause says (ECONNREFUSED, ENOTFOUND…). */
function reason(err) {
  return err?.cause?.code ?? err?.code ?? err?.cause?.message ?? err?.message ?? String(err);
}

let login;
try {
  login = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
} catch (err) {
  fail(`cannot reach Heliograph at ${base} (${reason(err)}); is it running? Start one with \`npx heliograph dev\``);
}
const body = await login.json().catch(() => ({}));
if (!login.ok) {
  fail(`login as ${username} failed: ${body.error?.code ?? login.status} ${body.error?.message ?? login.statusText}`);
}

const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws?token=${body.token}`);
let nextId = 1;
const pending = new Map();
const request = (type, data = {}) =>
  new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, type, data }));
  });

ws.on('message', (raw) => {
  const frame = JSON.parse(String(raw));
  if ('id' in frame && pending.has(frame.id)) {
    pending.get(frame.id)(frame);
    pending.delete(frame.id);
    return;
  }
  console.log('event', JSON.stringify(frame));
  if (once && frame.type === 'signal') {
    ws.close();
  }
});
ws.on('error', (err) => fail(`WebSocket to ${base} failed (${reason(err)})`));
ws.on('close', (code, reason) => console.log('closed', code, String(reason)));

ws.on('open', async () => {
  const joined = await request('room.join', { room });
  if (!joined.ok) {
    console.error('join failed:', joined.error);
    return ws.close();
  }
  console.log(`joined ${room} as ${joined.data.peer.id}; peers here: ${joined.data.peers.length}`);
  let delivered = 0;
  for (const peer of joined.data.peers) {
    const ack = await request('signal.send', { to: peer.id, signal: { hello: `from ${username}` } });
    console.log(`signal to ${peer.id}:`, ack.ok ? 'delivered' : ack.error.code);
    delivered += ack.ok ? 1 : 0;
  }
  // EXIT_AFTER_JOIN (the quick-start test): leave once joined and signalled, whoever was there.
  if (once && (delivered > 0 || process.env.EXIT_AFTER_JOIN)) {
    ws.close();
  }
});
