import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { listRunnerStatus } from "../../runner/runner-registry";
import { setPageHeaders } from "../pages/page-headers";

/**
 * GET /admin/runners — the service administrator's list of runners (behind `adminAuth`): each runner's kind,
 * labels, version, slots, last heartbeat (connected or not) and the jobs it runs now. `?format=json` (or
 * `Accept: application/json`) gives the same as JSON.
 */
export function adminRunnersGet(baseUrl: string, models: Models) {
  return async (req: Request, res: Response) => {
    const runners = await listRunnerStatus(models);
    if (req.query.format === "json" || (req.accepts(["html", "json"]) === "json" && !req.accepts("html"))) {
      res.set("Cache-Control", "no-store").json({ runners });
      return;
    }
    setPageHeaders(res, null);
    res.render("admin-runners", {
      title: "Runners",
      baseUrl,
      runners: runners.map((r) => ({
        ...r,
        labels: r.labels.join(", "),
        lastSeen: r.lastSeenAt ? r.lastSeenAt.toISOString() : null,
        jobs: r.jobs.map((j) => `job ${j.jobId} (build ${j.buildId})`),
      })),
    });
  };
}
