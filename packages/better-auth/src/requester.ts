import {
  CLIENT_ID_MAX_AGE_SECONDS,
  sendContext as contextOf,
  type HttpSendContext,
  newClientId,
} from "@waotp/core";
import { getIP } from "better-auth/api";

/** The parts of better-auth's endpoint context that say who is asking. */
export type RequestContext = {
  request?: Request | undefined;
  headers?: Headers | undefined;
  context: {
    options: Parameters<typeof getIP>[1];
    secret: string;
    createAuthCookie: (
      name: string,
      attributes?: { maxAge?: number },
    ) => { name: string; attributes: object };
  };
  getSignedCookie(name: string, secret: string): Promise<string | null | false>;
  setSignedCookie(
    name: string,
    value: string,
    secret: string,
    attributes?: object,
  ): Promise<unknown>;
};

/** The client's address as better-auth reads it (its `advanced.ipAddress` settings); null if unknown. */
export function clientAddress(
  ctx: Pick<RequestContext, "request" | "headers"> & {
    context: Pick<RequestContext["context"], "options">;
  },
): string | null {
  return getIP(ctx.request ?? ctx.headers ?? new Headers(), ctx.context.options);
}

function browserCookie(ctx: RequestContext) {
  return ctx.context.createAuthCookie("waotp_client", { maxAge: CLIENT_ID_MAX_AGE_SECONDS });
}

/**
 * The browser's id for the core (`client`), from a signed cookie, if it has one (a send gives it one:
 * `sendingBrowser`). A browser that signed in to a phone gets codes bound to it (see the core).
 */
export async function browserOf(ctx: RequestContext): Promise<string | undefined> {
  const known = await ctx.getSignedCookie(browserCookie(ctx).name, ctx.context.secret);
  return typeof known === "string" && known !== "" ? known : undefined;
}

/**
 * The browser's id for a send, as `SendInput` takes it: a browser without one gets one now, marked
 * new (`clientIsNew`), so the core does not look up whether the phone knows it.
 */
export async function sendingBrowser(
  ctx: RequestContext,
): Promise<{ client?: string; clientIsNew?: true }> {
  const known = await browserOf(ctx);
  if (known !== undefined) return { client: known };
  return { client: await giveBrowserId(ctx), clientIsNew: true };
}

/** Sets a new browser id (or `id`) in the cookie and returns it. */
export async function giveBrowserId(ctx: RequestContext, id = newClientId()): Promise<string> {
  const cookie = browserCookie(ctx);
  await ctx.setSignedCookie(cookie.name, id, ctx.context.secret, cookie.attributes);
  return id;
}

/**
 * What a send passes the app's `beforeSend`, as the HTTP adapters do: the body (with any field of
 * the app's own, such as a CAPTCHA token) and the request's headers.
 */
export function sendContext(ctx: {
  body: unknown;
  request?: Request | undefined;
  headers?: Headers | undefined;
}): HttpSendContext {
  const source = ctx.request?.headers ?? ctx.headers;
  return contextOf(ctx.body as HttpSendContext["body"], () =>
    source === undefined ? {} : Object.fromEntries(source),
  );
}
