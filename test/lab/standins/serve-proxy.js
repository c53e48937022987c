// Lab stand-in (test tooling) for what `tailscale serve --tcp` does: forwards a port on the node's
// tailnet address to a loopback port. usage: bun serve-proxy.js <address> <port> <host:port>
const [address, port, target] = process.argv.slice(2);
const [targetHost, targetPort] = target.replace(/^tcp:\/\//, "").split(":");
Bun.listen({
  hostname: address,
  port: Number(port),
  socket: {
    open(client) {
      client.data = { pending: [] };
      Bun.connect({
        hostname: targetHost,
        port: Number(targetPort),
        socket: {
          open(upstream) {
            client.data.upstream = upstream;
            for (const chunk of client.data.pending) upstream.write(chunk);
          },
          data(_upstream, chunk) {
            client.write(chunk);
          },
          close() {
            client.end();
          },
          error() {
            client.end();
          },
        },
      }).catch(() => client.end());
    },
    data(client, chunk) {
      if (client.data.upstream) client.data.upstream.write(chunk);
      else client.data.pending.push(chunk);
    },
    close(client) {
      client.data.upstream?.end();
    },
  },
});
