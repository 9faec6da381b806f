/**
 * `@waotp/core/web`: waotp over the Web `Request`/`Response` API, for Next.js route handlers, Hono,
 * SvelteKit, Remix, Bun, Deno and Cloudflare Workers. `otpHandler` serves the same HTTP contract as
 * the Express router; `requireOtp` and `verifiedFor` are its step-up check. No dependency: only the
 * platform's global `Request`, `Response` and `Headers`.
 */

export type { Requester, Verification } from "../browser-state.js";
export { type OtpHandler, type OtpHandlerOptions, otpHandler } from "./handler.js";
export { type VerifiedState, verifiedState } from "./state.js";
export {
  requireOtp,
  type VerifiedForOptions,
  type VerifiedForResult,
  verifiedFor,
} from "./step-up.js";
