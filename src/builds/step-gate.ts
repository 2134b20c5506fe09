import type { Transaction } from "sequelize";
import type { Build } from "../db/models";
import type { StepPlan } from "../pipelines";

/** What happens to a step a runner is about to start. */
export type GateDecision =
  /** Run it, with these variables over the job's (a deployment's environment) and these values masked too. */
  | { kind: "run"; env?: Record<string, string>; secrets?: string[] }
  /** Its environment or concurrency group is busy: the job ends before it; it is started again when it frees. */
  | { kind: "wait"; reason: string }
  /** It needs a person first (an admins-only environment): the job ends before it; it waits like a manual step. */
  | { kind: "pause"; reason: string }
  /** Its environment's restrictions do not allow it: it does not run, its log says why, and the build goes on. */
  | { kind: "refused"; reason: string }
  /** It cannot run at all (its environment does not exist): it fails before it starts, its log says why. */
  | { kind: "failed"; reason: string };

/** Why a paused job's step at `pausedAt` is not run yet, as the gate knows it (null: not the gate's doing). */
export type PausedStep = { kind: "granted" } | { kind: "waiting"; reason: string } | { kind: "admin"; reason: string } | null;

/**
 * Deployment environments and concurrency groups, as the build engine sees them (implemented in src/deployments):
 * the job service asks before a step starts and tells when steps end; builds that stop release what they held.
 */
export interface StepGate {
  /** A runner reports `step` starting (in a parallel group when `parallel`). Decides before it is marked running. */
  stepStarting(build: Build, step: StepPlan, parallel: boolean): Promise<GateDecision>;
  /** The job stopped before `pausedAt`: whether that step was waiting for the gate, and what for. */
  pausedStep(build: Build, pausedAt: number, tx: Transaction): Promise<PausedStep>;
  /**
   * The build's steps changed state (a step ended, the job ended, the build was stopped, its runner was lost): its
   * deployments follow their steps, what steps that are over held is released, and waiting steps of the application
   * that can go now are started. Call it after the change is committed; it runs in its own transactions.
   */
  settle(build: Build): Promise<void>;
  /** Does `settle` for every application with steps waiting or holding (after a crash left something behind). */
  sweep(): Promise<void>;
}
