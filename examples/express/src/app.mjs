import { fileURLToPath } from "node:url";
import { errorAnswer } from "@waotp/core";
import { otpErrorHandler, otpRouter, requireOtp, verifiedState } from "@waotp/express";
import express from "express";

const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));
const DAY = 86_400;

/**
 * The demo app: the waotp router under /otp, a page that signs in with a WhatsApp code (or an SMS
 * when WhatsApp cannot reach the user), and a step-up protected action. Being signed in here means
 * holding a "login" verification from the last day; a real app would start its own session in
 * `onVerified`. `sms` names the SMS fallback channel and when the page offers it
 * (`{ channel, offerAfterSeconds }`); `failingPhones` are the simulator's numbers without WhatsApp.
 */
export function createDemoApp({
  otp,
  secret,
  webhookSecret,
  simulator,
  codeLength = 6,
  cooldownSeconds = 60,
  sms,
  failingPhones,
}) {
  const state = verifiedState({ secret, maxAgeSeconds: DAY });
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", "loopback");
  app.use((_req, res, next) => {
    res.set({
      "content-security-policy":
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
    });
    next();
  });

  app.use("/otp", otpRouter(otp, { state, webhookSecret }));

  const signedIn = async (req) => {
    const login = await state.load(req, "login");
    return login && Date.now() - login.verifiedAt <= DAY * 1000 ? login : undefined;
  };

  app.get("/api/demo", (_req, res) => {
    res.json({
      mode: simulator ? "simulator" : "1msg",
      codeLength,
      cooldownSeconds,
      sms: sms ? { channel: sms.channel, offerAfterSeconds: sms.offerAfterSeconds } : null,
      ...(simulator ? { simulatorUrl: simulator.url } : {}),
      ...(failingPhones ? { failingPhones } : {}),
    });
  });

  app.get("/api/me", async (req, res, next) => {
    try {
      const login = await signedIn(req);
      res.json(
        login
          ? { signedIn: true, phone: login.phone, since: new Date(login.verifiedAt).toISOString() }
          : { signedIn: false },
      );
    } catch (error) {
      next(error);
    }
  });

  // The page's own POSTs carry JSON, which a cross-site form cannot send: a CSRF guard.
  const jsonOnly = (req, res, next) => {
    if (req.is("application/json")) return next();
    const { status, body } = errorAnswer("UNSUPPORTED_MEDIA_TYPE");
    res.status(status).json(body);
  };

  app.post("/api/logout", jsonOnly, async (req, res) => {
    await state.clear(req, res);
    res.json({ ok: true });
  });

  app.post(
    "/api/transfer",
    jsonOnly,
    async (req, res, next) => {
      if (await signedIn(req)) return next();
      res.status(401).json({ error: { code: "SIGNED_OUT", message: "Sign in first." } });
    },
    requireOtp({
      state,
      purpose: "step-up",
      maxAgeSeconds: 300,
      phone: async (req) => (await signedIn(req))?.phone,
    }),
    (req, res) => {
      res.json({
        ok: true,
        message: `Transfer of $100 approved with a code sent to ${req.otpVerification.phone}.`,
      });
    },
  );

  if (simulator) {
    // The simulated phone: what the simulator delivered to a number, by WhatsApp or SMS. A
    // WhatsApp message that failed, or went to a number without WhatsApp, never reached the
    // phone, so the phone does not show it. Simulator mode only.
    const noWhatsApp = new Set(
      Object.values(failingPhones ?? {}).map((phone) => phone.replace(/\D/g, "")),
    );
    const reachedPhone = (m) =>
      m.channel === "sms" ||
      (!noWhatsApp.has(m.phone) && m.status !== "failed" && m.status !== "undelivered");
    app.get("/api/inbox", (req, res) => {
      const phone = String(req.query.phone ?? "").replace(/\D/g, "");
      const messages = phone.length >= 7 ? simulator.inbox(phone) : [];
      res.json({
        messages: messages.filter(reachedPhone).map((m) => ({
          id: m.id,
          channel: m.channel,
          text: m.text,
          code: m.code,
          ...(m.channel === "sms" ? { from: m.from } : { button: m.button }),
          status: m.status,
          at: m.createdAt,
        })),
      });
    });
  }

  app.use(express.static(PUBLIC, { extensions: ["html"], index: "index.html" }));
  app.use(otpErrorHandler());
  return app;
}
