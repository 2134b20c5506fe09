import type { Sequelize } from "sequelize";

/**
 * Seeds `count` finished builds of one application straight into the service's database: multi-row INSERTs of
 * `BATCH` rows in one managed transaction (on sqlite, seconds for 100 000). Build numbers 1…count in id order, as
 * createBuild allocates them; the application's counter is set past them so a new build goes on from there.
 *
 * The mix looks like a busy repository's: 70 % on the main branch, the rest on 40 feature branches; 85 % SUCCESSFUL,
 * 10 % FAILED, 5 % STOPPED; one build a minute, the newest a minute ago; durations of 20 s to 10 min.
 */

const BATCH = 500;
const COLUMNS = [
  "tenant_id", "application_id", "number", "build_key", "trigger", "ref_type", "ref_name", "commit", "pipeline_name", "pipeline_key",
  "state", "state_reason", "retries", "started_at", "finished_at", "created_at", "updated_at",
];

/** Sequelize's sqlite DATE text. */
function sqliteDate(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", " +00:00");
}

/** A deterministic pseudo-random sequence (the same builds in every run). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export async function seedBuilds(sequelize: Sequelize, opts: { tenantId: number; applicationId: number; count: number; mainBranch: string }): Promise<void> {
  const { tenantId, applicationId, count, mainBranch } = opts;
  const random = prng(applicationId * 7919 + count);
  const now = Date.now();
  await sequelize.transaction(async (transaction) => {
    for (let first = 1; first <= count; first += BATCH) {
      const last = Math.min(count, first + BATCH - 1);
      const values: unknown[] = [];
      for (let n = first; n <= last; n++) {
        const onMain = random() < 0.7;
        const ref = onMain ? mainBranch : `feature/topic-${Math.floor(random() * 40)}`;
        const roll = random();
        const state = roll < 0.85 ? "SUCCESSFUL" : roll < 0.95 ? "FAILED" : "STOPPED";
        const created = now - (count - n + 1) * 60_000;
        const started = created + 500 + Math.floor(random() * 2000);
        const finished = started + 20_000 + Math.floor(random() * 580_000);
        const commit = (BigInt(n) * 2654435761n + BigInt(applicationId)).toString(16).padStart(40, "0").slice(-40);
        values.push(
          tenantId, applicationId, n, `seed:${applicationId}:${n}`, "push", "branch", ref, commit, onMain ? `branches: ${mainBranch}` : "default",
          onMain ? `branches:${mainBranch}` : "default", state, state === "FAILED" ? 'step "Test" failed with exit code 1' : state === "STOPPED" ? "stopped by a person" : null,
          0, sqliteDate(started), sqliteDate(finished), sqliteDate(created), sqliteDate(finished),
        );
      }
      const row = `(${COLUMNS.map(() => "?").join(", ")})`;
      await sequelize
        .query(`INSERT INTO builds (${COLUMNS.map((c) => `"${c}"`).join(", ")}) VALUES ${Array.from({ length: last - first + 1 }, () => row).join(", ")}`, { replacements: values, transaction })
        .catch((err: Error & { parent?: Error }) => {
          throw new Error(`seeding builds ${first}–${last}: ${err.parent?.message ?? err.message}`, { cause: err });
        });
    }
    await sequelize.query("UPDATE applications SET build_counter = ?, main_branch = ? WHERE id = ?", { replacements: [count, mainBranch, applicationId], transaction });
  });
}
