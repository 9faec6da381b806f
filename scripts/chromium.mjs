import { ensurePackages, PACKAGES } from "./system-packages.mjs";

/**
 * The path of Debian's Chromium, installed with apt-get when missing (the test command does that
 * before the tests start). Browsers are never downloaded any other way.
 */
export function ensureChromium() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  ensurePackages(["chromium"]);
  return PACKAGES.chromium;
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
