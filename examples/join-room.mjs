// Log in as a built-in user, join a room and print what happens there.
// Usage: node examples/join-room.mjs <username> <password> [room] [server URL]
// Run it twice (as two users) to watch peers join and a signal go through, acknowledged.
import WebSocket from 'ws';

const [username, password, room = 'demo', base = 'http://127.0.0.1:8080'] = process.argv.slice(2);
if (!username || !password) {
  console.error('usage: node examples/join-room.mjs <username> <password> [room] [server URL]');
  process.exit(2);
}

const login = await fetch(`${base}/v1/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username, password }),
});
const body = await login.json();
if (!login.ok) {
  console.error('login failed:', body.error);
  process.exit(1);
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
  } else {
    console.log('event', JSON.stringify(frame));
  }
});
ws.on('close', (code, reason) => console.log('closed', code, String(reason)));

ws.on('open', async () => {
  const joined = await request('room.join', { room });
  if (!joined.ok) {
    console.error('join failed:', joined.error);
    return ws.close();
  }
  console.log(`joined ${room} as ${joined.data.peer.id}; peers here: ${joined.data.peers.length}`);
  for (const peer of joined.data.peers) {
    const ack = await request('signal.send', { to: peer.id, signal: { hello: `from ${username}` } });
    console.log(`signal to ${peer.id}:`, ack.ok ? 'delivered' : ack.error.code);
  }
  if (process.env.EXIT_AFTER_JOIN) {
    ws.close();
  }
});
