// A free TCP port on the loopback address, for the test servers the scripts start.
import { createServer } from "node:net";

/** Asks the system for an unused port on 127.0.0.1 and releases it for the caller to bind. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
