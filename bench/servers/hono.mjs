// Hono on `@hono/node-server`: the core's Web handler next to a bare route.
import { serve } from "@hono/node-server";
import { otpHandler } from "@waotp/core/web";
import { Hono } from "hono";
import { bareOtp, SECRET, waotpEngine } from "./common.mjs";

/**
 * `otpHandler` from `@waotp/core/web` mounted on /otp/* (as examples/hono does), the client's
 * address read from the `x-forwarded-for` header the load sends.
 */
export function honoWaotp({ simulatorUrl }) {
  const { otp, prepare } = waotpEngine(simulatorUrl);
  const otpRoutes = otpHandler(otp, {
    secret: SECRET,
    clientIp: (request) => request.headers.get("x-forwarded-for")?.split(",")[0]?.trim(),
  });
  const app = new Hono();
  app.all("/otp/*", (c) => otpRoutes(c.req.raw));
  return { hono: app, prepare };
}

/** Bare Hono: `c.req.json()` and two routes doing the bare baseline's work. */
export function honoBare({ simulatorUrl }) {
  const bare = bareOtp(simulatorUrl);
  const app = new Hono();
  app.post("/otp/send", async (c) => {
    const body = await c.req.json();
    return c.json({ messageId: await bare.send(body.phone) });
  });
  app.post("/otp/verify", async (c) => {
    const body = await c.req.json();
    const ok = bare.verify(body.phone, body.code);
    return c.json({ verified: ok }, ok ? 200 : 400);
  });
  return { hono: app, prepare: bare.prepare };
}

/** `serve()` from `@hono/node-server`, its Node listener wrapped by `control`. */
export function listenHono(app, control) {
  return new Promise((resolve) => {
    const server = serve(
      {
        fetch: app.fetch,
        port: 0,
        hostname: "127.0.0.1",
        createServer: (_options, listener) => control(listener),
      },
      () => resolve(server.address().port),
    );
  });
}
