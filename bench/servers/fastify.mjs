// Fastify: the `@waotp/fastify` plugin next to a bare route.
import { waotp } from "@waotp/fastify";
import Fastify from "fastify";
import { bareOtp, SECRET, waotpEngine } from "./common.mjs";

/** `@waotp/fastify` registered under /otp, on the memory store and the 1MSG channel. */
export function fastifyWaotp({ simulatorUrl }) {
  const { otp, prepare } = waotpEngine(simulatorUrl);
  return {
    fastify: (app) => app.register(waotp, { otp, prefix: "/otp", secret: SECRET }),
    prepare,
  };
}

/** Bare Fastify: its own JSON parsing and two routes doing the bare baseline's work. */
export function fastifyBare({ simulatorUrl }) {
  const bare = bareOtp(simulatorUrl);
  return {
    fastify: (app) => {
      app.post("/otp/send", async (request) => ({
        messageId: await bare.send(request.body.phone),
      }));
      app.post("/otp/verify", async (request, reply) => {
        const ok = bare.verify(request.body.phone, request.body.code);
        return reply.code(ok ? 200 : 400).send({ verified: ok });
      });
    },
    prepare: bare.prepare,
  };
}

/** A Fastify app with its own server (Fastify's server options apply), wrapped by `control`. */
export async function listenFastify(setup, control) {
  const app = Fastify({ serverFactory: (handler) => control(handler) });
  await setup(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  return app.server.address().port;
}
