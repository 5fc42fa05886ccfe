// Binds an HTTP(S) server to a configured HOST:PORT (`listen`, `debug.listen`) and says where it ended up.
import type { AddressInfo, Server } from 'node:net';

/** HOST:PORT (or [IPv6]:PORT) into its parts; an empty host means every interface. */
function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(listen.slice(i + 1)) };
}

/**
 * Starts listening on `listen` and resolves with the bound address as HOST:PORT (IPv6 in brackets, the port
 * resolved when 0 was asked); rejects with the listen error (e.g. EADDRINUSE).
 */
export async function listenOn(server: Server, listen: string): Promise<string> {
  const { host, port } = splitListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
}
