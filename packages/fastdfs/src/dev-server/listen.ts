import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';

/** Listens and resolves with the bound port (the one the OS picked when `port` is 0). */
export function listen(server: NetServer | HttpServer, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
