/**
 * What every flow of the engine shares: the resolved options, the store behind a guard, the clock
 * and the event outlet. One is made per `createOtp`.
 */
import { OtpError } from "../errors.js";
import type { OtpEvent, PhoneEventFields } from "../events.js";
import type { ResolvedOptions } from "../options.js";
import { countryOf, maskPhone, type Phone } from "../phone.js";
import type { Store } from "../store/types.js";

export interface Engine {
  config: ResolvedOptions;
  store: Store;
  now: () => number;
  /** Whether anyone listens to events (`onEvent`): when not, a flow may skip building them. */
  observed: boolean;
  /** Hands an event to `onEvent`; an observer's failure never changes the outcome of a call. */
  emit(event: OtpEvent): void;
  /** Deletes a key, best effort: used where failing to forget must not fail the call. */
  forget(key: string): Promise<void>;
}

export function createEngine(config: ResolvedOptions): Engine {
  const { store, now, onEvent } = config;
  return {
    config,
    store,
    now,
    observed: onEvent !== undefined,
    emit(event) {
      if (onEvent === undefined) return;
      try {
        Promise.resolve(onEvent(event)).catch(() => {});
      } catch {
        // An observer's failure must never change the outcome of a call.
      }
    },
    async forget(key) {
      await Promise.resolve()
        .then(() => store.delete(key))
        .catch(() => {});
    },
  };
}

/** What every event about `phone` starts with: the masked phone, purpose, country, test mark. */
export function phoneEvent(engine: Engine, phone: Phone, purpose: string): PhoneEventFields {
  return {
    phone: maskPhone(phone.digits),
    purpose,
    country: countryOf(phone),
    ...(isTestNumber(engine, phone) ? { test: true as const } : {}),
  };
}

/** Whether `phone` is one of the app's `testNumbers`: nothing is ever handed to a channel for it. */
export function isTestNumber(engine: Engine, phone: Phone): boolean {
  return engine.config.testNumbers.has(phone.digits);
}

/** Runs a store call; any failure becomes `STORE_UNAVAILABLE`, so no limit is ever skipped. */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (cause) {
    throw new OtpError("STORE_UNAVAILABLE", "The code store is unavailable; try again shortly.", {
      cause,
    });
  }
}

/** A store's wait in milliseconds as `retryAfter` tells it: whole seconds, at least one. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
