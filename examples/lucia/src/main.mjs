import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { BetterSqlite3Adapter } from "@lucia-auth/adapter-sqlite";
import { createOtp, thrownAnswer, verifyFailureAnswer } from "@waotp/core";
import { channelFromEnv } from "@waotp/core/simulator";
import Database from "better-sqlite3";
import express from "express";
import { generateIdFromEntropySize, Lucia } from "lucia";

const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));

/** Users and Lucia's sessions, in SQLite. */
function openDatabase(path) {
  const db = new Database(path);
  db.exec(`
    create table if not exists user (id text not null primary key, phone text not null unique);
    create table if not exists session (
      id text not null primary key,
      expires_at integer not null,
      user_id text not null references user(id)
    );`);
  return db;
}

/** Starts the Lucia example; resolves with its URL, database, simulator (if any) and `close()`. */
export async function startExample(env = process.env, log = console.log) {
  const { channel, simulator } = await channelFromEnv(env);
  const otp = createOtp({ secret: env.WAOTP_SECRET || randomBytes(32).toString("hex"), channel });
  const db = openDatabase(env.DATABASE_PATH || "lucia.sqlite");
  const lucia = new Lucia(new BetterSqlite3Adapter(db, { user: "user", session: "session" }), {
    sessionCookie: { attributes: { secure: env.NODE_ENV === "production" } },
    getUserAttributes: (attributes) => ({ phone: attributes.phone }),
  });

  const app = express();
  app.disable("x-powered-by");
  // Requests that change state come only from this site. Log out needs no body, so a form on
  // another site could post it with the visitor's cookie (SameSite=Lax still sends it between
  // sibling subdomains); the rule is the Passport example's.
  app.use((req, res, next) => {
    if (req.method !== "POST") return next();
    const origin = req.get("origin");
    const crossSite = req.get("sec-fetch-site") === "cross-site";
    if (crossSite || (origin && origin !== `${req.protocol}://${req.get("host")}`)) {
      return res.status(403).json({ error: { code: "CROSS_SITE" } });
    }
    next();
  });
  app.use(express.json({ limit: "2kb" }));

  // Every request: read Lucia's cookie, validate the session, refresh or clear the cookie.
  app.use(async (req, res, next) => {
    const sessionId = lucia.readSessionCookie(req.headers.cookie ?? "");
    res.locals.user = null;
    if (!sessionId) return next();
    const { session, user } = await lucia.validateSession(sessionId);
    if (session?.fresh) res.append("Set-Cookie", lucia.createSessionCookie(session.id).serialize());
    if (!session) res.append("Set-Cookie", lucia.createBlankSessionCookie().serialize());
    res.locals.session = session;
    res.locals.user = user;
    next();
  });

  app.post("/api/send", async (req, res, next) => {
    try {
      const sent = await otp.send({ phone: req.body?.phone, ip: req.ip });
      res.json({ phone: sent.phone, resendAt: sent.resendAt });
    } catch (error) {
      next(error);
    }
  });

  app.post("/api/login", async (req, res, next) => {
    try {
      const result = await otp.verify({ phone: req.body?.phone, code: req.body?.code, ip: req.ip });
      if (!result.ok) {
        // One answer for a wrong, expired or missing code: nobody learns whether one is pending.
        const { status, headers, body } = verifyFailureAnswer(result);
        return res.status(status).set(headers).json(body);
      }
      // The code proved the phone: find or create its user, then start a Lucia session.
      let user = db.prepare("select id from user where phone = ?").get(result.phone);
      if (!user) {
        user = { id: generateIdFromEntropySize(10) };
        db.prepare("insert into user (id, phone) values (?, ?)").run(user.id, result.phone);
      }
      const session = await lucia.createSession(user.id, {});
      res.append("Set-Cookie", lucia.createSessionCookie(session.id).serialize());
      res.json({ phone: result.phone });
    } catch (error) {
      next(error);
    }
  });

  app.get("/api/me", (_req, res) => {
    if (!res.locals.user) return res.status(401).json({ error: { reason: "SIGNED_OUT" } });
    res.json({ id: res.locals.user.id, phone: res.locals.user.phone });
  });

  app.post("/api/logout", async (_req, res) => {
    if (res.locals.session) await lucia.invalidateSession(res.locals.session.id);
    res.append("Set-Cookie", lucia.createBlankSessionCookie().serialize());
    res.json({ ok: true });
  });

  if (simulator) {
    app.get("/api/inbox", (req, res) => {
      res.json({ text: simulator.inbox(String(req.query.phone ?? "")).at(-1)?.text ?? null });
    });
  }
  app.use(express.static(PUBLIC));
  // The core's HTTP contract decides what a visitor sees: 1MSG's and the store's words are for the
  // log, never a 5xx's body.
  app.use((error, req, res, _next) => {
    const { status, headers, body } = thrownAnswer(error);
    if (status >= 500) log(`${req.method} ${req.path} failed: ${error?.message ?? error}`);
    res.status(status).set(headers).json(body);
  });

  const port = Number(env.PORT || 3003);
  const server = await new Promise((resolve, reject) => {
    const listening = app.listen(port, simulator ? "127.0.0.1" : undefined, () =>
      resolve(listening),
    );
    listening.once("error", reject);
  });
  const url = `http://localhost:${server.address().port}`;
  log(
    simulator
      ? `Lucia example on ${url} (simulator mode: no ONEMSG_TOKEN, codes go to the 1MSG simulator at ${simulator.url})`
      : `Lucia example on ${url} (1MSG mode)`,
  );
  return {
    url,
    db,
    simulator,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await simulator?.close();
      db.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startExample();
  for (const signal of ["SIGINT", "SIGTERM"])
    process.once(signal, () => example.close().then(() => process.exit(0)));
}
