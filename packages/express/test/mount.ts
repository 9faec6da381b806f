/**
 * Mounts the Express router for the core's HTTP contract suite (`@waotp/core/testing/http-suite`),
 * on whichever Express major the test file hands it.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ContractRequest, MountAdapter } from "@waotp/core/testing/http-suite";
import type { Express, Request } from "express";
import { otpRouter } from "../src/router.js";

/** The suite's view of an Express request. */
const view = (req: Request): ContractRequest => ({ header: (name) => req.get(name) });

/** `express` is the factory of the major under test (Express 4 is swapped in by `vi.mock`). */
export function mountExpress(express: () => Express): MountAdapter {
  return async (otp, options) => {
    const { clientIp, onVerified, ...shared } = options;
    const app = express();
    app.use(
      "/otp",
      otpRouter(otp, {
        ...shared,
        clientIp: (req) => clientIp(view(req)),
        ...(onVerified === undefined
          ? {}
          : { onVerified: (result, req) => onVerified(result, view(req)) }),
      }),
    );
    const server = createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          server.closeAllConnections();
        }),
    };
  };
}
