import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import next from "next";
import { forgetWaotp, waotp } from "../lib/otp.mjs";

const DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * Starts the Next.js example (its production build: `npm run build` first) on a small Node server;
 * resolves with its URL, the simulator (if any) and `close()`. One per process: the engine is too.
 */
export async function startExample(env = process.env, log = console.log) {
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  // Made here first, with this env; the routes find the same engine on globalThis.
  const { simulator } = await waotp(env);
  const app = next({ dev: false, dir: DIR, quiet: true });
  const handle = app.getRequestHandler();
  await app.prepare();

  const server = createServer((request, response) => {
    // The client's address, for the per-IP limits: this server is the proxy that sets
    // X-Forwarded-For, overwriting whatever the client sent. Behind another proxy, let it set it.
    request.headers["x-forwarded-for"] = request.socket.remoteAddress ?? "";
    handle(request, response);
  });
  // In simulator mode, only this machine can reach it (and its simulated inbox).
  const host = simulator ? "127.0.0.1" : undefined;
  await new Promise((resolve) => server.listen(Number(env.PORT ?? 3005), host, resolve));
  const url = `http://localhost:${server.address().port}`;
  log(
    simulator
      ? `waotp Next.js example on ${url} (simulator mode: no ONEMSG_TOKEN, so codes go to the embedded 1MSG simulator)`
      : `waotp Next.js example on ${url} (1MSG mode)`,
  );
  return {
    url,
    simulator,
    close: async () => {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await app.close?.();
      await simulator?.close();
      forgetWaotp();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startExample();
  process.once("SIGINT", () => example.close().then(() => process.exit(0)));
  process.once("SIGTERM", () => example.close().then(() => process.exit(0)));
}
