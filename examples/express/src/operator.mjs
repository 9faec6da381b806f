import { createMetrics, createTripwire } from "@waotp/core";

/**
 * Prices for the demo's cost estimate. ILLUSTRATIVE: round numbers of about the right size, not
 * any provider's rate card. A real app copies its own from 1MSG's (Meta's) and Twilio's pricing.
 */
export const ILLUSTRATIVE_PRICES = {
  currency: "USD",
  channels: {
    // WhatsApp: an authentication template costs once it is delivered.
    "1msg": {
      countries: { "*": 0.03, US: 0.01, GB: 0.04, DE: 0.08, FR: 0.03, BR: 0.03, IN: 0.002 },
    },
    // SMS: costs once the provider takes it, delivered or not; pumping's favourite bill.
    "twilio-sms": {
      billedOn: "sent",
      countries: { "*": 0.1, US: 0.01, GB: 0.05, DE: 0.09, FR: 0.08, BR: 0.06, IN: 0.01, UZ: 0.3 },
    },
  },
};

/** Refusals that come before any limit counts, so they emit no event: counted here instead. */
/** The tripwire's settings the demo leaves at the core's defaults. */
const FIXED = { minVerifyRate: 0.1, windowSeconds: 3600 };
const RECENT_TRIPS = 20;

/**
 * What the operator page reads: the core's metrics (in this process) and pumping tripwire (in the
 * engine's store, so shared by every instance on Redis), wired into `createOtp`. `tripwire` holds `{ minSends, settleSeconds, pauseSeconds }`;
 * `page` is where the operator page is, if the demo serves it (a trip's log line points there).
 */
export function createOperator({
  store,
  now = Date.now,
  tripwire: settings,
  prices = ILLUSTRATIVE_PRICES,
  log = () => {},
  page,
}) {
  const metrics = createMetrics({ now, prices, seriesMinutes: 30 });
  const trips = [];
  // Countries the page lists: every one a send was asked for, or an event named.
  const seen = new Set();
  const pausedRefusals = new Map();
  let lastStoreComplaint = 0;

  const tripwire = createTripwire({
    store,
    now,
    ...FIXED,
    ...settings,
    onTrip: (trip) => {
      trips.unshift(trip);
      trips.length = Math.min(trips.length, RECENT_TRIPS);
      seen.add(trip.country);
      log(
        `Tripwire: sends to ${trip.country} paused until ${trip.until?.toISOString()}: ${trip.verifications} of ${trip.sends} settled sends verified.${page ? ` Lift it on ${page}.` : ""}`,
      );
    },
    onError: (error) => {
      // Once a minute at most: a store that is down fails every call.
      if (now() - lastStoreComplaint < 60_000) return;
      lastStoreComplaint = now();
      log(`Tripwire: the store failed (${error?.message ?? error}); sends go on meanwhile.`);
    },
  });

  const note = (country) => {
    if (typeof country === "string" && seen.size < 400) seen.add(country);
  };

  return {
    metrics,
    tripwire,

    /** For `createOtp({ onEvent })`: the metrics, the tripwire, then the app's own handler. */
    onEvent(own) {
      return async (event) => {
        metrics.onEvent(event);
        if (event.test !== true) note(event.country);
        await Promise.all([tripwire.onEvent(event), own?.(event)]);
      };
    },

    /** For `createOtp({ beforeSend })`: a paused country is refused first, then the app's own check. */
    beforeSend(own) {
      return async (send) => {
        if (send.test !== true) note(send.country);
        const refusal = await tripwire.beforeSend(send);
        if (refusal !== undefined) {
          pausedRefusals.set(send.country, (pausedRefusals.get(send.country) ?? 0) + 1);
          return refusal;
        }
        return own?.(send);
      };
    },

    /** Ends a country's pause and restarts its counts; answers its state afterwards. */
    async lift(country) {
      await tripwire.lift(country);
      seen.add(country);
      return tripwireRow(country);
    },

    /** Everything the operator page shows, as JSON-ready data. */
    async view() {
      const countries = [];
      for (const country of seen) countries.push(await tripwireRow(country));
      countries.sort(
        (a, b) =>
          Number(b.paused) - Number(a.paused) ||
          (b.sends ?? 0) - (a.sends ?? 0) ||
          a.country.localeCompare(b.country),
      );
      return {
        metrics: metrics.snapshot(),
        prices: { illustrative: true, currency: prices.currency },
        tripwire: {
          settings: { ...FIXED, ...settings },
          countries,
          trips: trips.map((trip) => ({ ...trip })),
        },
      };
    },
  };

  async function tripwireRow(country) {
    const refusedWhilePaused = pausedRefusals.get(country) ?? 0;
    try {
      const [status, counts] = await Promise.all([
        tripwire.check({ country }),
        tripwire.counts(country),
      ]);
      return {
        country,
        paused: status.paused,
        until: status.paused ? status.until : null,
        sends: Math.round(counts.sends * 10) / 10,
        settledSends: Math.round(counts.settledSends * 10) / 10,
        verifications: Math.round(counts.verifications * 10) / 10,
        rate: counts.rate,
        refusedWhilePaused,
      };
    } catch {
      return { country, paused: false, until: null, refusedWhilePaused, unavailable: true };
    }
  }
}
