import { type Harness, honoHarness, nodeHarness } from "../../test/web-harness.js";
import type { Otp } from "../otp.js";
import {
  type ContractOptions,
  type ContractRequest,
  describeHttpContract,
} from "../testing/http-suite.js";
import { otpHandler } from "./handler.js";

const view = (request: Request): ContractRequest => ({
  header: (name) => request.headers.get(name) ?? undefined,
});

/** The suite's options, as the Web handler's own of the same names. */
function mountOn(harness: Harness) {
  return (otp: Otp, options: ContractOptions) => {
    const { clientIp, onVerified, ...rest } = options;
    return harness(
      otpHandler(otp, {
        ...rest,
        clientIp: (request) => clientIp(view(request)),
        ...(onVerified === undefined
          ? {}
          : { onVerified: (result, request) => onVerified(result, view(request)) }),
      }),
    );
  };
}

describeHttpContract("Web handler (Node)", mountOn(nodeHarness));
describeHttpContract("Web handler on Hono", mountOn(honoHarness));
