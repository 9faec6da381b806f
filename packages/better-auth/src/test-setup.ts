import { type OtpEvent, oneMsg } from "@waotp/core";
import { type OneMsgSimulator, startOneMsgSimulator } from "@waotp/core/simulator";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { createAuthClient } from "better-auth/client";
import { whatsappOtpClient } from "./client.js";
import { type WhatsappOtpOptions, whatsappOtp } from "./plugin.js";

export const SECRET = "better-auth-test-secret-0123456789abcdef";
export const WEBHOOK_SECRET = "webhook-secret-0123456789";

export type Db = Record<
  "user" | "session" | "account" | "verification" | "waotpRecord",
  Record<string, unknown>[]
>;

/** A real better-auth instance on its memory adapter, the plugin on the 1MSG simulator, and a real client. */
export async function setupAuth(
  overrides: Partial<WhatsappOtpOptions> = {},
  authOptions: Partial<Parameters<typeof betterAuth>[0]> = {},
) {
  const sim: OneMsgSimulator = await startOneMsgSimulator();
  const db: Db = { user: [], session: [], account: [], verification: [], waotpRecord: [] };
  const events: OtpEvent[] = [];
  const auth = betterAuth({
    baseURL: "http://localhost:3000",
    secret: SECRET,
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true },
    ...authOptions,
    plugins: [
      whatsappOtp({
        channel: oneMsg({
          baseUrl: sim.url,
          channelId: sim.channelId,
          token: sim.token,
          template: sim.template,
          retry: { baseDelayMs: 1 },
        }),
        webhookSecret: WEBHOOK_SECRET,
        onEvent: (event) => {
          events.push(event);
        },
        ...overrides,
      }),
    ],
  });
  const client = () => {
    const { jar, customFetchImpl } = cookieFetch(auth.handler);
    return {
      jar,
      authClient: createAuthClient({
        baseURL: "http://localhost:3000",
        plugins: [whatsappOtpClient()],
        fetchOptions: { customFetchImpl },
      }),
    };
  };
  return { auth, sim, db, events, client, close: () => sim.close() };
}

/**
 * A browser's fetch, straight into better-auth's handler: it keeps the cookies it is given and
 * sends them back, as a browser would.
 */
export function cookieFetch(handler: (request: Request) => Promise<Response>) {
  const jar = new Map<string, string>();
  const customFetchImpl = async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (cookie) request.headers.set("cookie", cookie);
    const response = await handler(request);
    for (const header of response.headers.getSetCookie()) {
      const [pair = ""] = header.split(";");
      const index = pair.indexOf("=");
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (value === "" || /max-age=0/i.test(header)) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
  return { jar, customFetchImpl };
}
