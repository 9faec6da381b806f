// One benchmark server per process: `node server.mjs <kind> <simulatorUrl> [databaseUrl]` prints
// its port as a JSON line. Kinds: express-waotp, express-bare, fastify-waotp, fastify-bare,
// hono-waotp, hono-bare, ba-waotp, ba-builtin (better-auth on SQLite in memory, or on the
// PostgreSQL database `databaseUrl` names).
import { createServer } from "node:http";
import { betterAuthApp } from "./servers/better-auth.mjs";
import { codes } from "./servers/common.mjs";
import { expressBare, expressWaotp } from "./servers/express.mjs";
import { fastifyBare, fastifyWaotp, listenFastify } from "./servers/fastify.mjs";
import { honoBare, honoWaotp, listenHono } from "./servers/hono.mjs";

const [kind, simulatorUrl, databaseUrl] = process.argv.slice(2);
const apps = {
  "express-waotp": expressWaotp,
  "express-bare": expressBare,
  "fastify-waotp": fastifyWaotp,
  "fastify-bare": fastifyBare,
  "hono-waotp": honoWaotp,
  "hono-bare": honoBare,
  "ba-waotp": (options) => betterAuthApp(true, options),
  "ba-builtin": (options) => betterAuthApp(false, options),
};
if (!apps[kind]) throw new Error(`Unknown server kind ${kind}: one of ${Object.keys(apps)}.`);
const app = await apps[kind]({ simulatorUrl, databaseUrl });

/**
 * A Node server for the app's listener, with the bench's control routes in front of it:
 * POST /bench/prepare with a list of phones; GET /bench/codes gives [phone, code] pairs.
 */
function control(listener) {
  return createServer(async (req, res) => {
    if (req.url === "/bench/prepare") {
      let body = "";
      for await (const chunk of req) body += chunk;
      codes.length = 0;
      await app.prepare(JSON.parse(body));
      res.end(JSON.stringify({ prepared: codes.length }));
    } else if (req.url === "/bench/codes") {
      res.end(JSON.stringify(codes));
    } else {
      listener(req, res);
    }
  });
}

async function listen() {
  if (app.fastify) return listenFastify(app.fastify, control);
  if (app.hono) return listenHono(app.hono, control);
  const server = control(app.handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server.address().port;
}

console.log(JSON.stringify({ port: await listen() }));
process.on("SIGINT", () => process.exit(0));
