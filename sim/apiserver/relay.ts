// A node's way to the cluster's API server: listens on 127.0.0.1:<port> in the network namespace it is started in
// (a simulated node's) and forwards every connection, bytes unchanged (TLS end to end), to the API server's unix
// socket (ApiServer.listenUnix). Started by the node side (sim/cluster/api-relay.ts); prints READY once listening,
// and exits when its stdin closes (its parent gone, even killed) or on SIGTERM/SIGINT.
//
// Usage: relay <port> <unix socket path>
import { connect, createServer, type Socket } from 'node:net';

const [portArg, socketPath] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !socketPath) {
  process.stderr.write(`usage: relay <port> <unix socket path> (got ${JSON.stringify(process.argv.slice(2))})\n`);
  process.exit(2);
}

const open = new Set<Socket>();
const server = createServer((client) => {
  const upstream = connect(socketPath);
  open.add(client).add(upstream);
  const done = () => {
    client.destroy();
    upstream.destroy();
    open.delete(client);
    open.delete(upstream);
  };
  client.on('error', done).on('close', done);
  upstream.on('error', done).on('close', done);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.on('error', (e) => {
  process.stderr.write(`relay: 127.0.0.1:${port}: ${e.message}\n`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => process.stdout.write('READY\n'));

const stop = () => {
  server.close();
  for (const s of open) s.destroy();
  process.exit(0);
};
process.stdin.on('end', stop).on('error', stop).resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
