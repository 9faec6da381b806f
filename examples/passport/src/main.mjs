import { randomBytes } from "node:crypto";
import { createOtp, isOtpError, thrownAnswer } from "@waotp/core";
import { channelFromEnv } from "@waotp/core/simulator";
import { WhatsAppOtpStrategy } from "@waotp/passport";
import express from "express";
import session from "express-session";
import { Passport } from "passport";

const esc = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Starts the Passport example; resolves with its URL, the simulator (if any) and `close()`. */
export async function startExample(env = process.env, log = console.log) {
  const { channel, simulator } = await channelFromEnv(env);
  const secret = env.WAOTP_SECRET || randomBytes(32).toString("hex");
  const otp = createOtp({ secret, channel });

  // The app's users: found or created by the phone the code proved.
  const users = new Map();
  const passport = new Passport();
  passport.use(
    new WhatsAppOtpStrategy({
      otp,
      verify: async (phone) => {
        if (!users.has(phone)) users.set(phone, { id: `user-${users.size + 1}`, phone });
        return users.get(phone);
      },
    }),
  );
  passport.serializeUser((user, done) => done(null, user.phone));
  passport.deserializeUser((phone, done) => done(null, users.get(phone) ?? false));

  const app = express();
  app.disable("x-powered-by");
  app.use(express.urlencoded({ extended: false, limit: "2kb" }));
  app.use(
    session({
      secret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: "lax" },
    }),
  );
  // Forms post only from this site: a cross-site form could otherwise sign a visitor in to the sender's account.
  app.use((req, res, next) => {
    if (req.method !== "POST") return next();
    const origin = req.get("origin");
    const crossSite = req.get("sec-fetch-site") === "cross-site";
    if (crossSite || (origin && origin !== `${req.protocol}://${req.get("host")}`)) {
      return res.status(403).send("Cross-site form posts are refused.");
    }
    next();
  });
  app.use(passport.initialize());
  app.use(passport.session());

  const page = (title, body) => `<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
label{display:block;font-weight:600;margin:.8rem 0 .3rem}input,button{font:inherit;width:100%;padding:.6rem;box-sizing:border-box}
button{margin-top:.8rem;background:#008069;color:#fff;border:0;border-radius:8px}.error{color:#b3261e}
.whatsapp{background:#efeae2;padding:.7rem;border-radius:8px}</style><h1>${esc(title)}</h1>${body}</html>`;

  const phoneForm = (error = "") =>
    page(
      "Sign in with WhatsApp",
      `<form method="post" action="/send-code"><label for="phone">Phone number</label>
<input id="phone" name="phone" type="tel" autocomplete="tel" placeholder="+1 415 555 0101" required autofocus>
<p class="error" role="alert">${esc(error)}</p><button>Send code</button></form>`,
    );

  // The simulated WhatsApp message is shown right after sending, to whoever asked for it.
  const codeForm = (phone, error = "", showMessage = false) => {
    const last = showMessage ? simulator?.inbox(phone).at(-1) : undefined;
    return page(
      "Enter the code",
      `<form method="post" action="/login"><input type="hidden" name="phone" value="${esc(phone)}">
<p>We sent a code to <strong>${esc(phone)}</strong>.</p>
${last ? `<p class="whatsapp" aria-label="Simulated WhatsApp message">${esc(last.text)}</p>` : ""}
<label for="code">Code</label><input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="6" required autofocus>
<p class="error" role="alert">${esc(error)}</p><button>Sign in</button></form>`,
    );
  };

  app.get("/", (req, res) => (req.user ? res.redirect("/account") : res.send(phoneForm())));

  app.post("/send-code", async (req, res, next) => {
    try {
      const sent = await otp.send({ phone: String(req.body?.phone ?? ""), ip: req.ip });
      req.session.pendingPhone = sent.phone;
      res.send(codeForm(sent.phone, "", true));
    } catch (error) {
      // What a visitor may read is the core's HTTP contract; failures on our side go to the error page.
      const { status, body } = thrownAnswer(error);
      if (status < 500) return res.status(status).send(phoneForm(body.error.message));
      next(error);
    }
  });

  app.post("/login", (req, res, next) => {
    passport.authenticate("whatsapp-otp", (error, user, info) => {
      if (error) return next(error);
      if (!user) {
        const detail = info.attemptsLeft !== undefined ? ` ${info.attemptsLeft} tries left.` : "";
        return res
          .status(info.status)
          .send(codeForm(String(req.body?.phone ?? ""), `${info.message}${detail}`));
      }
      // Passport 0.7 gives the session a new id here.
      req.login(user, (loginError) => (loginError ? next(loginError) : res.redirect("/account")));
    })(req, res, next);
  });

  app.get("/account", (req, res) => {
    if (!req.user) return res.status(401).send(phoneForm("Sign in first."));
    res.send(
      page(
        "Your account",
        `<p>Signed in as <strong>${esc(req.user.phone)}</strong> (${esc(req.user.id)}).</p>
<form method="post" action="/logout"><button>Log out</button></form>`,
      ),
    );
  });

  app.post("/logout", (req, res, next) => {
    req.logout((error) => (error ? next(error) : res.redirect("/")));
  });

  // Failures on our side (1MSG down or refusing the token, the store out) are the operator's to
  // fix: their text names the channel, token settings and 1MSG's words, so it goes to the log and
  // the visitor sees a generic line. Reasons a visitor can act on (4xx) are shown in the forms.
  app.use((error, req, res, _next) => {
    log(`${req.method} ${req.path} failed: ${error?.message ?? error}`);
    res
      .status(isOtpError(error) && error.status >= 500 ? error.status : 500)
      .send(
        page(
          "Something went wrong",
          "<p>Something went wrong on our side. Try again in a moment.</p>",
        ),
      );
  });

  const port = Number(env.PORT || 3002);
  const server = await new Promise((resolve, reject) => {
    const listening = app.listen(port, simulator ? "127.0.0.1" : undefined, () =>
      resolve(listening),
    );
    listening.once("error", reject);
  });
  const url = `http://localhost:${server.address().port}`;
  log(
    simulator
      ? `Passport example on ${url} (simulator mode: no ONEMSG_TOKEN, codes go to the 1MSG simulator at ${simulator.url})`
      : `Passport example on ${url} (1MSG mode)`,
  );
  return {
    url,
    simulator,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await simulator?.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startExample();
  for (const signal of ["SIGINT", "SIGTERM"])
    process.once(signal, () => example.close().then(() => process.exit(0)));
}
