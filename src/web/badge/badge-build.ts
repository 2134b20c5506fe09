import { Op } from "sequelize";
import type { Build, Models } from "../../db/models";

/**
 * The build a branch's badge shows: the newest finished build of the branch's own pipeline — not a custom pipeline run
 * on the branch, not a pull request's build, and not a build stopped because a newer commit superseded it. While a
 * build runs, the one before it still answers; `running` says whether one is under way (shown only when no build of
 * the branch has finished yet).
 */
export async function badgeBuild(models: Models, applicationId: number, branch: string): Promise<{ build: Pick<Build, "id" | "state"> | null; running: boolean }> {
  const own = { applicationId, refType: "branch", refName: branch, pipelineKey: { [Op.notLike]: "custom/%" } };
  const [build, running] = await Promise.all([
    models.Build.findOne({
      where: {
        ...own,
        [Op.or]: [{ state: { [Op.in]: ["SUCCESSFUL", "FAILED"] } }, { state: "STOPPED", stateReason: { [Op.or]: [{ [Op.is]: null }, { [Op.notLike]: "superseded by %" }] } }],
      },
      order: [["id", "DESC"]],
      attributes: ["id", "state"],
    }),
    models.Build.count({ where: { ...own, state: { [Op.in]: ["QUEUED", "RUNNING", "PAUSED"] } } }),
  ]);
  return { build, running: running > 0 };
}
