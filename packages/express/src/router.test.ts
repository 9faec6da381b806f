import express from "express";
import { describeRouter } from "./router-suite.js";

describeRouter("Express 5", express as never);
