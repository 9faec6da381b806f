import { describeHttpContract } from "@waotp/core/testing/http-suite";
import fastify from "fastify";
import { mountWith } from "../test/mount.js";

describeHttpContract("Fastify 5", mountWith(fastify));
