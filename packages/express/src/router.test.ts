import { describeHttpContract } from "@waotp/core/testing/http-suite";
import express from "express";
import { mountExpress } from "./contract.test-helpers.js";
import { describeRouter } from "./router-suite.js";

describeHttpContract("Express 5", mountExpress(express));
describeRouter("Express 5", express as never);
