import { http } from "msw";
import { DEFAULT_BASE_URL } from "../one-msg/client.js";
import {
  createOneMsgFake,
  type OneMsgFake,
  type OneMsgFakeOptions,
} from "../simulator/one-msg-fake.js";

/**
 * msw request handlers that play 1MSG at `baseUrl`, backed by an in-memory fake that checks every
 * request as 1MSG does. Read codes from `fake.lastCode(phone)`; inject faults with `fake.inject()`.
 *
 * @example
 * const fake = createOneMsgFake();
 * const server = setupServer(...oneMsgHandlers(fake));
 */
export function oneMsgHandlers(fake: OneMsgFake = createOneMsgFake(), baseUrl = DEFAULT_BASE_URL) {
  const base = baseUrl.replace(/\/+$/, "");
  return [http.all(`${base}/*`, ({ request }) => fake.handle(request))];
}

export { createOneMsgFake, type OneMsgFake, type OneMsgFakeOptions };
