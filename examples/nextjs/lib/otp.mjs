import { randomBytes } from "node:crypto";
import { createOtp } from "@waotp/core";
import { channelFromEnv } from "@waotp/core/simulator";
import { otpHandler, requireOtp } from "@waotp/core/web";

// One engine per server process, shared by every route (and by src/main.mjs, which starts it): Next
// bundles this module into each route, so the engine lives on globalThis, not in a module variable.
const KEY = Symbol.for("waotp.example-nextjs");

/** The engine, its simulator (in simulator mode) and the routes; made on first use. */
export function waotp(env = process.env) {
  globalThis[KEY] ??= (async () => {
    // Real 1MSG when ONEMSG_TOKEN is set, otherwise the embedded simulator.
    const { channel, simulator } = await channelFromEnv(env);
    const secret = env.WAOTP_SECRET || randomBytes(32).toString("hex");
    const otp = createOtp({ secret, channel });
    const routes = otpHandler(otp, {
      basePath: "/api/otp",
      secret,
      // src/main.mjs overwrites X-Forwarded-For with the socket's address, so it is trusted here.
      // Behind your own proxy (or on Vercel), the proxy sets it; never trust a client-sent one.
      clientIp: (request) => request.headers.get("x-forwarded-for")?.split(",")[0]?.trim(),
    });
    // A sign-in is a remembered "login" verification, good for a day.
    const signedIn = requireOtp({
      purpose: "login",
      anyPhone: true,
      maxAgeSeconds: 86_400,
      secret,
    });
    return { otp, simulator, routes, signedIn };
  })();
  return globalThis[KEY];
}

/** Forgets the engine (after closing it), so that a test can start another. */
export function forgetWaotp() {
  delete globalThis[KEY];
}
