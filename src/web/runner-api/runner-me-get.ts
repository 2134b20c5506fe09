import type { Request, Response } from "express";
import { runnerOf } from "./runner-auth";

/** GET /runner/me — who the token belongs to: `{name}`. A runner calls it once at start to check its token and the URL. */
export function runnerMeGet() {
  return (_req: Request, res: Response) => {
    res.json({ name: runnerOf(res).name });
  };
}
