/** The PeerJS server (npm `peer`) as users run it, on a free port. */
import { PeerServer } from 'peer';

const server = PeerServer({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', path: '/', concurrent_limit: 20_000 }, (http) => {
  const address = http.address();
  console.log(JSON.stringify({ listening: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => {
  server.emit('close');
  process.exit(0);
});
