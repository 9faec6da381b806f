/** Mounts the plugin for the core's HTTP contract suite, on any Fastify major. */
import type { AddressInfo } from "node:net";
import type { Otp } from "@waotp/core";
import type {
  ContractOptions,
  ContractRequest,
  MountedAdapter,
} from "@waotp/core/testing/http-suite";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type OtpPluginOptions, waotp } from "../src/plugin.js";

/** What the suite's callbacks see of a Fastify request. */
export function view(request: FastifyRequest): ContractRequest {
  return {
    header(name) {
      const value = request.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

export function mountWith(fastify: (options?: object) => FastifyInstance) {
  return async (otp: Otp, options: ContractOptions): Promise<MountedAdapter> => {
    const app = fastify();
    const { clientIp, onVerified, ...same } = options;
    const pluginOptions: OtpPluginOptions = {
      otp,
      ...same,
      clientIp: (request) => clientIp(view(request)),
      ...(onVerified === undefined
        ? {}
        : { onVerified: (result, request) => onVerified(result, view(request)) }),
    };
    await app.register(waotp, { ...pluginOptions, prefix: "/otp" });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  };
}
