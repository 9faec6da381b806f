/**
 * Known clients: a client (a browser, by the id its adapter keeps in a cookie) that verified a code
 * for a phone is known to it for a while. Its codes are then its own (see `SendInput.client`), and
 * a full failure budget still spares its fresh codes a few guesses.
 */
import type { Engine } from "./context.js";
import { guard } from "./context.js";
import { knownKey, knownPhonesKey } from "./keys.js";

export const DAY_MS = 86_400_000;
/** How long a client that signed in stays known to its phone. */
const KNOWN_CLIENT_MS = 30 * DAY_MS;
/** Phones one client is known to at most (a shared family tablet; more are dropped). */
const MAX_KNOWN_PHONES = 20;

/** Whether `client` verified a code for the phone within the last 30 days. */
export async function isKnownClient(
  engine: Engine,
  digits: string,
  client: string,
  at: number,
): Promise<boolean> {
  return (await guard(() => engine.store.get(knownKey(digits, client), at))) !== null;
}

/**
 * Makes `next` known to this phone, and to every phone `previous` was known to (its id is being
 * replaced, not its standing); `previous` is then forgotten, so a copy of the old id is a stranger.
 * Each client's phones are listed under one key, at most `MAX_KNOWN_PHONES` of them.
 */
export async function rememberClient(
  engine: Engine,
  digits: string,
  previous: string | undefined,
  next: string,
  at: number,
): Promise<void> {
  const { store } = engine;
  const replaced = previous !== undefined && previous !== next;
  const listed = (id: string) =>
    store.get(knownPhonesKey(id), at).then((raw) => (raw ? (JSON.parse(raw) as string[]) : []));
  const carried = replaced ? await listed(previous) : [];
  const phones = [...new Set([digits, ...(await listed(next)), ...carried])].slice(
    0,
    MAX_KNOWN_PHONES,
  );
  for (const other of phones) {
    const known = previous === undefined ? null : await store.get(knownKey(other, previous), at);
    if (other === digits || known !== null) {
      await store.set(knownKey(other, next), "1", KNOWN_CLIENT_MS, at);
    }
    if (replaced) await engine.forget(knownKey(other, previous));
  }
  await store.set(knownPhonesKey(next), JSON.stringify(phones), KNOWN_CLIENT_MS, at);
  if (replaced) await engine.forget(knownPhonesKey(previous));
}
