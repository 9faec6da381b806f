/** @type {import("next").NextConfig} */
export default {
  poweredByHeader: false,
  // The engine is shared through globalThis; keep the core a plain Node import in every route.
  serverExternalPackages: ["@waotp/core"],
};
