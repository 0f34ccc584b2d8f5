import { WebSocketServer } from 'ws';

/** The fan-out baseline: a bare ws server that broadcasts what its parent tells it to. */
const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
server.on('listening', () => {
  const address = server.address();
  process.send?.({ kind: 'listening', port: address && typeof address === 'object' ? address.port : 0 });
});
process.on('message', (msg: { kind: 'broadcast'; payload: string } | { kind: 'stop' }) => {
  if (msg.kind === 'broadcast') {
    for (const client of server.clients) client.send(msg.payload);
  } else {
    server.close();
    for (const client of server.clients) client.terminate();
    setTimeout(() => process.exit(0), 50);
  }
});
