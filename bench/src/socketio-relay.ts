/**
 * A Socket.IO relay written the usual way: each socket emits `signal(to, message)` and the server
 * emits it to the target socket's id. What a team would otherwise build in an afternoon.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => {
  socket.on('signal', (to: string, message: unknown) => {
    io.to(to).emit('signal', socket.id, message);
  });
});
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = http.address();
  console.log(JSON.stringify({ listening: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => {
  void io.close(() => process.exit(0));
});
