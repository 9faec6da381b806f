import { fileURLToPath } from "node:url";
import { errorAnswer } from "@waotp/core";
import { otpErrorHandler, otpRouter, requireOtp, verifiedState } from "@waotp/express";
import express from "express";

const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));
const ADMIN = fileURLToPath(new URL("../admin/", import.meta.url));
const DAY = 86_400;

/**
 * The demo app: the waotp router under /otp, a page that signs in with a WhatsApp code (or an SMS
 * when WhatsApp cannot reach the user), and a step-up protected action. Being signed in here means
 * holding a "login" verification from the last day; a real app would start its own session in
 * `onVerified`. `sms` names the SMS fallback channel and when the page offers it
 * (`{ channel, offerAfterSeconds }`); `failingPhones` are the simulator's numbers without WhatsApp.
 * With an `operator` (`createOperator`, simulator mode), `/admin` shows its metrics and tripwire.
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
  operator,
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
      ...(operator ? { operatorUrl: "/admin" } : {}),
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

  if (operator) app.use("/admin", operatorPage(operator));

  app.use(express.static(PUBLIC, { extensions: ["html"], index: "index.html" }));
  app.use(otpErrorHandler());
  return app;
}

/** A loopback address, as `req.ip` gives it (after "trust proxy"). */
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
/** The names this machine answers to: anything else in `Host` is a page rebinding its DNS to us. */
const LOCAL_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;
/** A country as the core names it: an ISO region, or a calling code for a number of no region. */
const COUNTRY = /^([A-Z]{2}|\+\d{1,4})$/;

/**
 * The operator page and its JSON: the metrics snapshot, the tripwire's state per country, and
 * `POST api/tripwire/lift`. Simulator mode only, for this machine only: the request must come from
 * a loopback address (a proxied one counts as the client's) under a local host name.
 */
function operatorPage(operator) {
  const router = express.Router();
  const refuse = (res, status, code, message) =>
    res.status(status).json({ error: { code, message } });
  router.use((req, res, next) => {
    if (LOOPBACK.test(req.ip ?? "") && LOCAL_HOST.test(req.get("host") ?? "")) return next();
    refuse(res, 403, "LOCAL_ONLY", "The operator page answers this machine only.");
  });
  router.get(["/", "/index.html"], (_req, res) => {
    res.set("cache-control", "no-store").sendFile("index.html", { root: ADMIN });
  });
  router.use(express.static(ADMIN, { index: false }));

  router.get("/api/metrics", async (_req, res, next) => {
    try {
      res.set("cache-control", "no-store").json(await operator.view());
    } catch (error) {
      next(error);
    }
  });

  // CSRF: a cross-site form cannot send JSON, and a cross-site fetch with JSON needs a CORS
  // preflight this server never grants; the browser's own word on the origin is checked too.
  router.post(
    "/api/tripwire/lift",
    (req, res, next) => {
      const origin = req.get("origin");
      const site = req.get("sec-fetch-site");
      if (
        (origin !== undefined && origin !== `${req.protocol}://${req.get("host")}`) ||
        (site !== undefined && site !== "same-origin")
      ) {
        return refuse(res, 403, "CROSS_ORIGIN", "Lift a pause from the operator page itself.");
      }
      if (!req.is("application/json")) {
        const { status, body } = errorAnswer("UNSUPPORTED_MEDIA_TYPE");
        return res.status(status).json(body);
      }
      next();
    },
    express.json({ limit: 256, type: "application/json" }),
    async (req, res, next) => {
      const country = req.body?.country;
      if (typeof country !== "string" || !COUNTRY.test(country)) {
        return refuse(res, 400, "INVALID_INPUT", 'Name a country: "US", or "+870".');
      }
      try {
        res.json({ lifted: true, tripwire: await operator.lift(country) });
      } catch (error) {
        next(error);
      }
    },
  );
  return router;
}
