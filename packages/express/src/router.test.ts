import { describeHttpContract } from "@waotp/core/testing/http-suite";
import express from "express";
import { mountExpress } from "../test/mount.js";
import { describeRouter } from "../test/router-suite.js";

describeHttpContract("Express 5", mountExpress(express));
describeRouter("Express 5", express as never);
