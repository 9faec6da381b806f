// Express 4, installed under another name so its tests run beside Express 5's.
declare module "express4" {
  import express from "express";
  export default express;
}
