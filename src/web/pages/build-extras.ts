import { Op } from "sequelize";
import type { Build, Models } from "../../db/models";
import { manualWaitMs, type BuildExtras } from "./build-view";

/**
 * What the lists show of builds beyond their rows, in two queries for any number of builds: the time each waited for
 * a person to run a manual step (from its steps' times), and the number of the build each re-run ran again.
 */
export async function buildExtras(models: Models, builds: readonly Build[], now = Date.now()): Promise<Map<number, BuildExtras>> {
  const out = new Map<number, BuildExtras>(builds.map((b) => [b.id, { waitMs: 0, rerunOfNumber: null }]));
  if (builds.length === 0) return out;
  const rerunIds = [...new Set(builds.map((b) => b.rerunOf).filter((id): id is number => id !== null))];
  const [steps, originals] = await Promise.all([
    models.Step.findAll({ where: { buildId: { [Op.in]: builds.map((b) => b.id) } }, attributes: ["buildId", "index", "manual", "state", "startedAt", "finishedAt"] }),
    rerunIds.length ? models.Build.findAll({ where: { id: { [Op.in]: rerunIds } }, attributes: ["id", "number"] }) : Promise.resolve([]),
  ]);
  const numbers = new Map(originals.map((b) => [b.id, b.number]));
  for (const b of builds) {
    const own = steps.filter((s) => s.buildId === b.id);
    out.set(b.id, { waitMs: own.some((s) => s.manual) ? manualWaitMs(own, now) : 0, rerunOfNumber: b.rerunOf === null ? null : (numbers.get(b.rerunOf) ?? null) });
  }
  return out;
}
