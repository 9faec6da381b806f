import { describeHttpContract } from "@waotp/core/testing/http-suite";
import fastify from "fastify4";
import { mountWith } from "../test/mount.js";

describeHttpContract("Fastify 4", mountWith(fastify as never));
