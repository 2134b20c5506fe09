/**
 * The shapes shared by the pipelines modules: the parsed file, what starts a pipeline, and the plan a
 * runner executes.
 */

/**
 * A parsed bitbucket-pipelines.yml, as plain data (anchors, aliases and `<<` merges already resolved).
 * `parsePipelineFile` guarantees a `pipelines` mapping; everything below it is as written in the file and
 * is read defensively by `selectPipeline` and `planPipeline`.
 */
export interface PipelineConfig {
  pipelines: Record<string, unknown>;
  image?: unknown;
  clone?: unknown;
  options?: unknown;
  definitions?: unknown;
  [key: string]: unknown;
}

/** What started a pipeline. */
export type Trigger =
  | { kind: "branch"; branch: string }
  | { kind: "tag"; tag: string }
  | { kind: "pull-request"; sourceBranch: string; destinationBranch: string }
  | { kind: "custom"; name: string };

/** A variable a custom pipeline asks for when it is started by hand (`- variables:` item). */
export interface CustomVariable {
  name: string;
  default?: string;
  allowedValues?: string[];
  description?: string;
}

/** The pipeline chosen for a trigger. */
export interface SelectedPipeline {
  /** For people: `"branches: feature/*"`, `"default"`, `"tags: v*"`, `"pull-requests: **"`, `"custom: deploy"`. */
  name: string;
  /** Stable identifier: `"branches/feature/*"`, `"default"`, `"pull-requests/**"`, `"custom/deploy"`. */
  key: string;
  /** The pipeline's items (`- step:`, `- parallel:`, `- stage:`), without any `- variables:` item. */
  definition: unknown[];
  /** The variables a custom pipeline declares, in order; only for custom pipelines that declare some. */
  variables?: CustomVariable[];
  /** Set when the pipeline is `import: repo:ref:name` (a shared pipeline from another repository); `definition` is then empty. */
  importRef?: string;
}

/** When a step runs, by the files the push changed (`condition.changesets`). */
export interface StepCondition {
  /** The step runs only if a changed file matches one of these globs (empty: any file). */
  includePaths: string[];
  /** Changed files matching one of these globs do not count. */
  excludePaths: string[];
}

/** A `stage:` item: steps that run together and share deployment, trigger and condition. */
export interface PlanStage {
  /** 0-based, in run order. */
  index: number;
  /** The stage's name, or `"Stage N"` (1-based) when it has none. */
  name: string;
  deployment?: string;
  /** `trigger: manual`: the stage waits for a person before its first step. */
  manual: boolean;
  condition?: StepCondition;
  /** Indexes (into `Plan.steps`) of the stage's steps. */
  stepIndexes: number[];
}

/**
 * A container image as a step, service or pipe asks for it (`image: name` or `image: {name, username, password,
 * email, run-as-user}`). `username`/`password` are as written: they may name variables (`$DOCKER_HUB_PASSWORD`),
 * which the runner expands from the step's environment; they are never put in argv or a log.
 */
export interface ImageSpec {
  name: string;
  username?: string;
  password?: string;
  email?: string;
  /** `run-as-user`: the uid the step's processes run as inside the container. */
  runAsUser?: number;
}

/** A service container from `definitions.services.<name>` that a step asks for (reachable on localhost). */
export interface ServiceSpec {
  name: string;
  /** Absent only for the `docker` service when the file does not define it. */
  image?: ImageSpec;
  /** `variables:` of the service definition, as text. */
  variables: Record<string, string>;
  /** `memory:` in MiB, when the definition sets it (Bitbucket's default is 1024). */
  memoryMb?: number;
  /** `type: docker` (the Docker-in-Docker service), when set. */
  type?: string;
}

/** A `- pipe: owner/name:version` script item: a container the runner starts with the pipe's variables. */
export interface PipeItem {
  pipe: string;
  /** As written; a list value is passed as NAME_COUNT, NAME_0, NAME_1… like Bitbucket does. */
  variables: Record<string, string | string[]>;
}

/** One item of `script` / `after-script`: a shell command, or a pipe. */
export type ScriptItem = string | PipeItem;

/**
 * One artifact of a step. `shared`: later steps of the build get it; `scoped`: kept with the step only (downloadable
 * from the build page, never passed on); `test-reports`: like scoped, and its files are read as test reports.
 */
export interface ArtifactUpload {
  name: string;
  paths: string[];
  type: "shared" | "scoped" | "test-reports";
  /** Files matching these are left out. */
  ignorePaths: string[];
  /** When it is kept: after a successful step (default), a failed one, or always. */
  captureOn: "success" | "failed" | "always";
  /** Files at most this many directories deep (1: at the top of the clone); absent: any depth. */
  depth?: number;
}

/** One step as the runner executes it. */
export interface StepPlan {
  /** 0-based position in run order; steps of a parallel group have consecutive indexes. */
  index: number;
  /** The step's name; `"Build"` for an unnamed step that is the only one, else `"Step N"` (1-based). */
  name: string;
  /** Shell commands and pipes, run in order (commands with `bash -e`). */
  script: ScriptItem[];
  /** Run after `script`, whether it passed or failed. */
  afterScript: ScriptItem[];
  maxTimeMinutes: number;
  /** Waits for a person to start it (`trigger: manual` on the step, or on its stage for the stage's first step). */
  manual: boolean;
  deployment?: string;
  /**
   * `concurrency-group: <name>`: steps of the application's builds with the same group run one at a time (a step
   * whose group is busy waits, in order, and starts when it frees).
   */
  concurrencyGroup?: string;
  condition?: StepCondition;
  /** Every artifact glob the step declares (all its uploads'; test reports are also looked for among them). */
  artifacts: string[];
  /**
   * What the step uploads, one tar.gz per entry: `artifacts: [globs]` and `artifacts: {paths}` are one shared entry
   * named "artifacts"; `artifacts: {upload: [{name, paths, type}]}` one entry each. Absent in plans stored before.
   */
  artifactUploads?: ArtifactUpload[];
  /** Whether the step downloads artifacts of earlier steps: all (true), none (false) or the named ones. */
  downloadArtifacts: boolean | string[];
  /** Cache names (built-in ones like `node`, or from `definitions.caches`). */
  caches: string[];
  /** The image the step runs in (the step's, else the global one). Honoured by the container executor only. */
  image?: ImageSpec;
  /** The services the step asks for, resolved from `definitions.services` (and `docker` with `options.docker`). */
  services: ServiceSpec[];
  /** `size` of the step (else `options.size`): 1, 2, 4 or 8 — the step's memory is size × the runner's 1x memory. */
  size: number;
  /** `oidc: true` (or `oidc: {audiences}`): the step gets BITBUCKET_STEP_OIDC_TOKEN. */
  oidc?: { audiences: string[] };
  /** `output-variables`: names a step may write to $BITBUCKET_PIPELINES_VARIABLES_PATH for later steps. */
  outputVariables: string[];
  /** `on-fail: {strategy: ignore}`: a failure marks the step failed but the build goes on (and may succeed). */
  ignoreFailure: boolean;
  /** `runs-on` labels (else `options.runs-on`). */
  runsOn: string[];
  /** 0-based number of the parallel group the step belongs to, if any. */
  parallelGroup?: number;
  /** A failure of this step stops the other steps of its parallel group. */
  failFast: boolean;
  stageName?: string;
  /** Clone depth for this step when it overrides the pipeline's (0 = full history). */
  cloneDepth?: number;
  /** False when the step turns cloning off (`clone: enabled: false`). */
  cloneEnabled: boolean;
  /** `clone: lfs` of the step, when it says (over the pipeline file's). */
  cloneLfs?: boolean;
  /** What this runner cannot honour for this step, for people to read. */
  warnings: string[];
}

/** What a runner needs to execute a selected pipeline. */
export interface Plan {
  /** `git fetch --depth` for the checkout: `clone.depth`, default 50; `full` → 0 (no limit). */
  cloneDepth: number;
  /** False when the file turns cloning off (`clone: enabled: false`). */
  cloneEnabled: boolean;
  /** `clone: lfs: true`: steps get the Git LFS files instead of their pointer files (absent: false). */
  cloneLfs?: boolean;
  /** Default step time limit: `options.max-time`, default 120. */
  maxTimeMinutes: number;
  /** Directory of each cache the steps use, by name (`~/` is the step's HOME; other paths are relative to the clone). */
  caches: Record<string, string>;
  stages: PlanStage[];
  steps: StepPlan[];
  /** Problems with the pipeline as a whole (e.g. an imported pipeline, or items that are not steps). */
  warnings: string[];
}

/** Defaults for `planPipeline`, which Bitbucket fixes but an installation may want to change. */
export interface PlanOptions {
  /** Clone depth when the file sets none (Bitbucket: 50). */
  defaultCloneDepth?: number;
  /** Step time limit in minutes when the file sets none (Bitbucket: 120). */
  defaultMaxTimeMinutes?: number;
}
