// The operator page: polls /admin/api/metrics and draws it with DOM APIs. No dependencies.
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 1500;

const LIMITS = {
  prefix_window: "one number range (calling code and 6 digits)",
  country_window: "one country",
  phone_cooldown: "one phone, between two sends",
  phone_window: "one phone, per window",
  ip_window: "one client address",
  global_window: "all sends",
  phone_failures: "wrong codes for one phone",
  ip_failures: "wrong codes from one address",
  fallback_window: "SMS fallback for one phone",
  fallback_global_window: "SMS fallback, all sends",
};
const BEFORE_LIMITS = {
  NUMBER_TYPE_NOT_ALLOWED: "premium-rate and other paying number types",
  COUNTRY_NOT_ALLOWED: "a country not served",
  "SEND_REFUSED:country_paused": "a country the tripwire paused",
};
const REJECTED = {
  INVALID_CODE: "wrong code",
  EXPIRED: "expired code",
  NO_PENDING_CODE: "no code pending",
  TOO_MANY_ATTEMPTS: "too many tries",
};
const FALLBACKS = {
  refused: "no WhatsApp: 1MSG refused the number",
  failed: "the WhatsApp message failed",
  timeout: "no delivery report in time",
  requested: "the user asked for SMS",
};

const regions =
  typeof Intl.DisplayNames === "function"
    ? new Intl.DisplayNames(["en"], { type: "region", fallback: "none" })
    : undefined;

/** "Germany (DE)" for a region; calling codes ("+870") and "unknown" as they are. */
function countryName(code) {
  if (/^[A-Z]{2}$/.test(code)) {
    try {
      const name = regions?.of(code);
      if (name) return `${name} (${code})`;
    } catch {
      // Not a region the browser knows: the code alone.
    }
  }
  return code;
}

const time = (value) =>
  new Date(value).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const whole = (n) => Math.round(n ?? 0).toLocaleString("en");
const percent = (rate) =>
  rate === null || rate === undefined ? "–" : `${Math.round(rate * 100)} %`;

function money(amount, currency) {
  try {
    return amount.toLocaleString("en", { style: "currency", currency, maximumFractionDigits: 3 });
  } catch {
    return `${amount.toFixed(3)} ${currency}`;
  }
}

/** An element with attributes and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function s(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** A `<dl>` of counts, largest first, each named by `labels` and its code; "none" when empty. */
function pairs(list, counts, labels = {}) {
  const entries = Object.entries(counts ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) {
    list.replaceChildren(h("dt", { class: "none" }, "none yet"));
    return;
  }
  list.replaceChildren(
    ...entries.flatMap(([key, n]) => [
      h("dt", { "data-key": key }, labels[key] ?? key, " ", h("code", {}, key)),
      h("dd", { "data-key": key }, whole(n)),
    ]),
  );
}

function drawTotals(data) {
  const { totals, cost } = data.metrics;
  const before = Object.values(data.metrics.refused).reduce((sum, n) => sum + n, 0);
  const tiles = [
    ["sent", "Codes sent", whole(totals.sent)],
    ["fallbacks", "SMS fallbacks", whole(totals.fallbacks)],
    ["delivered", "Delivered", whole(totals.delivered)],
    ["verified", "Verified", whole(totals.verified)],
    ["conversion", "Conversion", percent(totals.conversion)],
    ["limited", "Refused by a limit", whole(totals.limited)],
    ["refused", "Refused before the limits", whole(before)],
    ["rejected", "Wrong codes", whole(totals.rejected)],
    ["cost", "Estimated cost*", cost ? money(cost.total, cost.currency) : "–"],
  ];
  $("totals").replaceChildren(
    ...tiles.map(([id, label, value]) =>
      h("div", { class: "tile" }, h("dt", {}, label), h("dd", { id: `total-${id}` }, value)),
    ),
  );
  $("since").textContent = time(data.metrics.since);
}

/** The smallest of 1, 2, 4, 10, 20, 40, ... at or above `n` (at least 2): round grid lines. */
function ceiling(n) {
  for (let scale = 1; ; scale *= 10) {
    for (const step of [1, 2, 4]) if (step * scale >= Math.max(n, 2)) return step * scale;
  }
}

/** Sends (main channel and fallback) and verifications per minute, as grouped bars in SVG. */
function drawChart(series) {
  const width = 960;
  const height = 240;
  const pad = { left: 40, right: 8, top: 12, bottom: 28 };
  const minutes = series.map((m) => ({
    at: new Date(m.at),
    sends: m.sent + m.fallbacks,
    verified: m.verified,
  }));
  const top = ceiling(Math.max(...minutes.flatMap((m) => [m.sends, m.verified])));
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const y = (n) => pad.top + plotHeight - (n / top) * plotHeight;
  const slot = plotWidth / Math.max(minutes.length, 1);
  const sends = minutes.reduce((sum, m) => sum + m.sends, 0);
  const verified = minutes.reduce((sum, m) => sum + m.verified, 0);

  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": "chart-summary",
  });
  svg.append(
    s(
      "title",
      { id: "chart-summary" },
      `Last ${minutes.length} minutes: ${plural(sends, "send")}, ${plural(verified, "verification")}`,
    ),
  );
  for (const n of [0, top / 2, top]) {
    svg.append(
      s("line", { class: "gridline", x1: pad.left, x2: width - pad.right, y1: y(n), y2: y(n) }),
      s("text", { class: "axis", x: pad.left - 6, y: y(n) + 4, "text-anchor": "end" }, String(n)),
    );
  }
  minutes.forEach((m, i) => {
    const x = pad.left + i * slot;
    const bar = (kind, value, offset) =>
      s("rect", {
        class: `bar ${kind}`,
        x: x + offset,
        y: y(value),
        width: Math.max(slot * 0.4, 1),
        height: Math.max(y(0) - y(value), 0),
        "data-value": value,
      });
    svg.append(
      s(
        "g",
        { class: "minute" },
        s("title", {}, `${time(m.at)}: ${m.sends} sends, ${m.verified} verified`),
        bar("sends", m.sends, slot * 0.1),
        bar("verified", m.verified, slot * 0.5),
      ),
    );
    // A time under every fifth minute, counted from the newest (whose label ends at its bar).
    const fromNewest = minutes.length - 1 - i;
    if (fromNewest % 5 === 0) {
      const label = m.at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const newest = fromNewest === 0;
      svg.append(
        s(
          "text",
          {
            class: "axis",
            x: newest ? x + slot : x + slot / 2,
            y: height - 8,
            "text-anchor": newest ? "end" : "middle",
          },
          label,
        ),
      );
    }
  });
  $("chart").replaceChildren(svg);
}

// Tripwire rows are kept by country and updated in place, so a "Lift" button stays put.
const rows = new Map();

function tripwireRow(country) {
  const name = countryName(country);
  const lift = h(
    "button",
    { type: "button", class: "lift", "aria-label": `Lift the pause on ${name}` },
    "Lift",
  );
  lift.addEventListener("click", () => liftPause(country, lift));
  const cells = {
    state: h("td", { class: "state" }),
    sends: h("td", { class: "num" }),
    settled: h("td", { class: "num" }),
    verified: h("td", { class: "num" }),
    rate: h("td", { class: "num" }),
    refused: h("td", { class: "num" }),
  };
  const row = h(
    "tr",
    { "data-country": country },
    h("th", { scope: "row" }, name),
    ...Object.values(cells),
    h("td", {}, lift),
  );
  return { row, cells, lift };
}

function drawTripwire(tripwire) {
  const t = tripwire.settings;
  $("tripwire-settings").textContent =
    `A country is paused for ${t.pauseSeconds / 60} minutes when, of at least ${t.minSends} settled sends ` +
    `in the last ${t.windowSeconds / 60} minutes, fewer than ${Math.round(t.minVerifyRate * 100)} % ` +
    `were verified. Sends settle for ${t.settleSeconds} s before they count: their users are still typing.`;
  const body = $("tripwire").tBodies[0];
  const listed = new Set();
  for (const c of tripwire.countries) {
    listed.add(c.country);
    let entry = rows.get(c.country);
    if (!entry) {
      entry = tripwireRow(c.country);
      rows.set(c.country, entry);
    }
    const { row, cells, lift } = entry;
    row.classList.toggle("paused", c.paused);
    cells.state.textContent = c.unavailable
      ? "store unavailable"
      : c.paused
        ? `Paused until ${time(c.until)}`
        : "Watching";
    cells.sends.textContent = whole(c.sends);
    cells.settled.textContent = whole(c.settledSends);
    cells.verified.textContent = whole(c.verifications);
    cells.rate.textContent = percent(c.rate);
    cells.refused.textContent = whole(c.refusedWhilePaused);
    lift.hidden = !c.paused;
    body.append(row);
  }
  for (const [country, { row }] of rows) {
    if (!listed.has(country)) {
      row.remove();
      rows.delete(country);
    }
  }
  $("tripwire-empty").hidden = tripwire.countries.length > 0;
  $("trips").replaceChildren(
    ...tripwire.trips.map((trip) =>
      h(
        "li",
        {},
        `${time(trip.at)}: ${countryName(trip.country)} ${trip.paused ? `paused until ${time(trip.until)}` : "alerted (exempt)"}, `,
        `${trip.verifications} of ${trip.sends} settled sends verified.`,
      ),
    ),
  );
}

function drawCountries(metrics) {
  const cost = metrics.cost;
  const entries = Object.entries(metrics.countries).sort(
    (a, b) => b[1].codes - a[1].codes || a[0].localeCompare(b[0]),
  );
  $("countries").tBodies[0].replaceChildren(
    ...entries.map(([country, c]) =>
      h(
        "tr",
        { "data-country": country },
        h("th", { scope: "row" }, countryName(country)),
        h("td", { class: "num" }, whole(c.codes)),
        h("td", { class: "num" }, whole(c.verified)),
        h("td", { class: "num" }, percent(c.conversion)),
        h("td", { class: "num" }, whole(c.delivered)),
        h("td", { class: "num" }, whole(c.failed)),
        h("td", { class: "num" }, whole(c.limited)),
        h(
          "td",
          { class: "num" },
          cost && cost.countries[country] !== undefined
            ? money(cost.countries[country], cost.currency)
            : "–",
        ),
      ),
    ),
  );
  $("cost-note").textContent = cost
    ? `* Estimated: ${cost.billable} billable messages at the demo's illustrative prices, not any ` +
      `provider's rates (WhatsApp counts once delivered, SMS once sent)` +
      (cost.unpriced > 0 ? `; ${cost.unpriced} had no price in the table.` : ".")
    : "* No price table: no cost estimate.";
}

function draw(data) {
  drawTotals(data);
  drawChart(data.metrics.series);
  drawTripwire(data.tripwire);
  pairs($("limited"), data.metrics.limited, LIMITS);
  pairs($("refused"), data.metrics.refused, BEFORE_LIMITS);
  pairs($("rejected"), data.metrics.rejected, REJECTED);
  pairs($("fallbacks"), data.metrics.fallbacks, FALLBACKS);
  pairs($("deliveries"), data.metrics.deliveries);
  pairs($("send-failures"), data.metrics.sendFailures);
  drawCountries(data.metrics);
  $("updated").textContent = `Updated ${time(data.metrics.at)}.`;
}

async function refresh() {
  try {
    const response = await fetch("/admin/api/metrics", { cache: "no-store" });
    if (!response.ok) throw new Error(String(response.status));
    draw(await response.json());
    $("problem").textContent = "";
  } catch {
    $("problem").textContent = "Can't reach the demo server; trying again.";
  }
}

async function liftPause(country, button) {
  button.disabled = true;
  try {
    const response = await fetch("/admin/api/tripwire/lift", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ country }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body?.error?.message ?? `The server answered ${response.status}.`);
    }
    $("problem").textContent = "";
  } catch (error) {
    $("problem").textContent = `Couldn't lift the pause on ${country}: ${error.message}`;
  } finally {
    button.disabled = false;
  }
  await refresh();
}

async function poll() {
  await refresh();
  setTimeout(poll, POLL_MS);
}

poll();
