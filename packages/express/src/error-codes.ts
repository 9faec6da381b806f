/** Error codes the Express adapter adds to the core's, for what only HTTP can get wrong. */
export const HTTP_ERROR_CODES = {
  /** The body is not valid JSON. */
  INVALID_JSON: 400,
  /** The body is JSON but not an object of the expected fields. */
  INVALID_BODY: 400,
  /** The request is not `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** The body is over the router's limit. */
  PAYLOAD_TOO_LARGE: 413,
  /** The webhook URL's secret is wrong. */
  UNAUTHORIZED: 401,
  /** A route needs a recent verification that the request does not carry. */
  STEP_UP_REQUIRED: 401,
  /** The app's `onVerified` refused the user after a right code. */
  VERIFICATION_REFUSED: 403,
  /** Unknown message id or route. */
  NOT_FOUND: 404,
  /** Anything unexpected; details stay on the server. */
  INTERNAL_ERROR: 500,
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES;
