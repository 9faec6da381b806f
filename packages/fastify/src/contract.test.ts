import { describeHttpContract } from "@waotp/core/testing/http-suite";
import fastify from "fastify";
import { mountWith } from "./contract.js";

describeHttpContract("Fastify 5", mountWith(fastify));
