// Express: waotp's router next to a bare route.
import { otpRouter } from "@waotp/express";
import express from "express";
import { bareOtp, SECRET, waotpEngine } from "./common.mjs";

/** `@waotp/express`'s router under /otp, on the memory store and the 1MSG channel. */
export function expressWaotp({ simulatorUrl }) {
  const { otp, prepare } = waotpEngine(simulatorUrl);
  const app = express();
  app.use("/otp", otpRouter(otp, { secret: SECRET }));
  return { handler: app, prepare };
}

/** Bare Express: `express.json()` and two routes doing the bare baseline's work. */
export function expressBare({ simulatorUrl }) {
  const bare = bareOtp(simulatorUrl);
  const app = express();
  app.use(express.json());
  app.post("/otp/send", async (req, res) => {
    res.json({ messageId: await bare.send(req.body.phone) });
  });
  app.post("/otp/verify", (req, res) => {
    const ok = bare.verify(req.body.phone, req.body.code);
    res.status(ok ? 200 : 400).json({ verified: ok });
  });
  return { handler: app, prepare: bare.prepare };
}
