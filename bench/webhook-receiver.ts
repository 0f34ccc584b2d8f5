import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A webhook receiver in a process of its own, for the routing benchmark's runs with a webhook
 * on: it verifies each delivery's signature, counts it and answers 204, as a receiver that keeps
 * up would. Driven over IPC: it sends `listening` with its URL; `secret` sets the signing secret
 * (answered by `ready`); `report` is answered with the counts so far.
 */
type Msg = { kind: 'secret'; secret: string } | { kind: 'report' } | { kind: 'stop' };

let verifier: Webhook | null = null;
let delivered = 0;
let rejected = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    try {
      if (!verifier) throw new Error('no secret yet');
      verifier.verify(Buffer.concat(chunks).toString('utf8'), headers);
      delivered++;
      res.writeHead(204).end();
    } catch {
      rejected++;
      res.writeHead(401).end();
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  process.send!({ kind: 'listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
});

process.on('message', (msg: Msg) => {
  if (msg.kind === 'secret') {
    verifier = new Webhook(msg.secret);
    process.send!({ kind: 'ready' });
  } else if (msg.kind === 'report') {
    process.send!({ kind: 'report', delivered, rejected });
  } else {
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 50);
  }
});
