import { vi } from "vitest";

// The router imports "express": hand it Express 4, as in an app that runs 4.
vi.mock("express", async () => await import("express4"));

const { default: express } = await import("express");
const { describeHttpContract } = await import("@waotp/core/testing/http-suite");
const { mountExpress } = await import("../test/mount.js");
const { describeRouter } = await import("../test/router-suite.js");

describeHttpContract("Express 4", mountExpress(express));
describeRouter("Express 4", express as never);
