/**
 * `pipelines validate [file] [--branch NAME | --tag NAME | --pr SOURCE:DESTINATION | --custom NAME]`
 *
 * Checks a bitbucket-pipelines.yml (default: ./bitbucket-pipelines.yml) and prints every problem with its
 * line and column. With a trigger, also prints which pipeline would run and its steps. The file is read within the
 * service's default limits (size, depth, nodes with aliases expanded), so what passes here passes there.
 * Exit status: 0 when the file is usable (warnings allowed), 1 when it has errors or cannot be read,
 * 2 for a usage mistake.
 */
import { readFileSync } from "node:fs";
import { plainWords } from "./plain-words";
import {
  DEFAULT_LIMITS,
  DEFAULT_PIPELINE_FILE,
  formatDiagnostic,
  type Diagnostic,
  parsePipelineFile,
  planPipeline,
  selectPipeline,
  type PipelineConfig,
  type Plan,
  type SelectedPipeline,
  type StepPlan,
  type Trigger,
} from "../pipelines";

/** Where the command reads and writes, so tests can run it without a process. */
export interface CliIo {
  /** One line of normal output. */
  out(line: string): void;
  /** One line of error output. */
  err(line: string): void;
  /** Reads a file as UTF-8; throws when it cannot. */
  readFile(path: string): string;
}

export const USAGE = "usage: pipelines validate [file] [--branch NAME | --tag NAME | --pr SOURCE:DESTINATION | --custom NAME]";

export interface ValidateArgs {
  file: string;
  trigger?: Trigger;
  help?: boolean;
}

const TRIGGER_FLAGS = ["--branch", "--tag", "--pr", "--custom"] as const;
type TriggerFlag = (typeof TRIGGER_FLAGS)[number];

function toTrigger(flag: TriggerFlag, value: string): Trigger | string {
  if (value === "") return `${flag} needs a value`;
  switch (flag) {
    case "--branch":
      return { kind: "branch", branch: value };
    case "--tag":
      return { kind: "tag", tag: value };
    case "--custom":
      return { kind: "custom", name: value };
    case "--pr": {
      // Git forbids ':' in branch names, so the first one separates source from destination.
      const colon = value.indexOf(":");
      if (colon <= 0 || colon === value.length - 1) return "--pr needs SOURCE:DESTINATION, e.g. --pr feature/x:main";
      return { kind: "pull-request", sourceBranch: value.slice(0, colon), destinationBranch: value.slice(colon + 1) };
    }
  }
}

/** Reads the command line (without `node` and the script). Returns a message for a usage mistake. */
export function parseArgs(argv: readonly string[]): ValidateArgs | string {
  const args: ValidateArgs = { file: "" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--help" || arg === "-h") return { ...args, help: true };
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if ((TRIGGER_FLAGS as readonly string[]).includes(flag)) {
      if (args.trigger) return "give at most one of --branch, --tag, --pr, --custom";
      const value = inline ?? argv[++i];
      if (value === undefined) return `${flag} needs a value`;
      const trigger = toTrigger(flag as TriggerFlag, value);
      if (typeof trigger === "string") return trigger;
      args.trigger = trigger;
    } else if (arg.startsWith("-") && arg !== "-") {
      return `unknown option ${arg}`;
    } else if (args.file === "") {
      args.file = arg;
    } else {
      return `unexpected argument ${arg}: give one file`;
    }
  }
  if (args.file === "") args.file = DEFAULT_PIPELINE_FILE;
  return args;
}

function describeTrigger(trigger: Trigger): string {
  switch (trigger.kind) {
    case "branch":
      return `a push to branch "${trigger.branch}"`;
    case "tag":
      return `a push of tag "${trigger.tag}"`;
    case "pull-request":
      return `a pull request from "${trigger.sourceBranch}" into "${trigger.destinationBranch}"`;
    case "custom":
      return `the custom pipeline "${trigger.name}" started by hand`;
  }
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/**
 * One line per step: `  3. Deploy  [manual, parallel group 1, stage "Ship", deployment production, image node:20,
 * services docker, 1 pipe, size 2x, OIDC, max-time 120 min]`.
 */
export function describeStep(step: StepPlan): string {
  const facts: string[] = [];
  if (step.manual) facts.push("manual");
  if (step.parallelGroup !== undefined) facts.push(`parallel group ${step.parallelGroup + 1}${step.failFast ? " (fail-fast)" : ""}`);
  if (step.stageName !== undefined) facts.push(`stage "${step.stageName}"`);
  if (step.deployment !== undefined) facts.push(`deployment ${step.deployment}`);
  if (step.condition) facts.push("runs only for some changed files");
  if (step.image) facts.push(`image ${step.image.name}`);
  if (step.services.length > 0) facts.push(`services ${step.services.map((s) => s.name).join(" ")}`);
  const pipes = [...step.script, ...step.afterScript].filter((item) => typeof item !== "string").length;
  if (pipes > 0) facts.push(plural(pipes, "pipe"));
  if (step.size !== 1) facts.push(`size ${step.size}x`);
  if (step.runsOn.length > 0) facts.push(`runs-on ${step.runsOn.join(" ")}`);
  if (step.oidc) facts.push(step.oidc.audiences.length > 0 ? `OIDC for ${step.oidc.audiences.join(" ")}` : "OIDC");
  if (step.outputVariables.length > 0) facts.push(`outputs ${step.outputVariables.join(" ")}`);
  if (step.ignoreFailure) facts.push("failure ignored");
  facts.push(`max-time ${step.maxTimeMinutes} min`);
  return `  ${step.index + 1}. ${step.name}  [${facts.join(", ")}]`;
}

/** A diagnostic as the command prints it: the parser's message, then what it means in plain words when it is terse. */
function describe(d: Diagnostic, file: string, severity: "error" | "warning"): string {
  const plain = plainWords(d.message);
  return plain ? `${formatDiagnostic({ ...d, message: plain }, file, severity)} (YAML says: ${d.message})` : formatDiagnostic(d, file, severity);
}

/** The names of the file's custom pipelines. */
function customNames(config: PipelineConfig): string[] {
  const custom = (config as { pipelines?: { custom?: unknown } }).pipelines?.custom;
  return custom && typeof custom === "object" ? Object.keys(custom) : [];
}

function printSelection(selected: SelectedPipeline, plan: Plan, io: CliIo): void {
  io.out(`runs "${selected.name}" (key ${selected.key})`);
  for (const variable of selected.variables ?? []) {
    const details: string[] = [];
    if (variable.default !== undefined) details.push(`default "${variable.default}"`);
    if (variable.allowedValues) details.push(`one of ${variable.allowedValues.map((v) => `"${v}"`).join(", ")}`);
    io.out(`  variable ${variable.name}${details.length > 0 ? ` (${details.join("; ")})` : ""}`);
  }
  io.out(`  clone depth ${plan.cloneDepth === 0 ? "full" : plan.cloneDepth}${plan.cloneEnabled ? "" : " (cloning off)"}, default max-time ${plan.maxTimeMinutes} min, ${plural(plan.steps.length, "step")}`);
  for (const warning of plan.warnings) io.out(`  warning: ${warning}`);
  for (const step of plan.steps) {
    io.out(describeStep(step));
    for (const warning of step.warnings) io.out(`     warning: ${warning}`);
  }
}

/** What runs for the trigger; returns how many warnings it printed, or -1 when the trigger names nothing that exists. */
function printTrigger(config: PipelineConfig, trigger: Trigger, io: CliIo): number {
  const selected = selectPipeline(config, trigger);
  if (!selected && trigger.kind === "custom") {
    const names = customNames(config);
    io.err(`pipelines validate: there is no custom pipeline "${trigger.name}"; ${names.length ? `the file has ${names.map((n) => `"${n}"`).join(", ")}` : "the file has no custom pipelines"}`);
    return -1;
  }
  io.out(`for ${describeTrigger(trigger)}:`);
  if (!selected) {
    io.out("  no pipeline runs");
    return 0;
  }
  const plan = planPipeline(config, selected);
  printSelection(selected, plan, io);
  return plan.warnings.length + plan.steps.reduce((n, s) => n + s.warnings.length, 0);
}

/** The real terminal and file system. */
const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readFile: (path) => readFileSync(path, "utf8"),
};

/** Runs the command; returns the exit status. */
export function main(argv: readonly string[], io: CliIo = processIo): number {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    io.err(`pipelines validate: ${args}`);
    io.err(USAGE);
    return 2;
  }
  if (args.help) {
    io.out(USAGE);
    return 0;
  }

  let text: string;
  try {
    text = io.readFile(args.file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : err instanceof Error ? err.message : String(err);
    io.err(`pipelines validate: cannot read ${args.file}: ${reason}`);
    return 1;
  }

  try {
    return report(args, text, io);
  } catch (err) {
    // Every problem in a file is a diagnostic; this is a fault of the command itself, still said without a stack trace.
    io.err(`pipelines validate: ${args.file} could not be checked: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/** Checks the file (in this process, within the same limits the service applies) and prints the outcome. */
function report(args: ValidateArgs, text: string, io: CliIo): number {
  const result = parsePipelineFile(text, DEFAULT_LIMITS);
  if (!result.ok) for (const d of result.errors) io.out(describe(d, args.file, "error"));
  for (const d of result.warnings) io.out(describe(d, args.file, "warning"));
  const errorCount = result.ok ? 0 : result.errors.length;
  // The summary comes last, counting every warning printed before it (the selected pipeline's too).
  let planWarnings = 0;
  if (result.ok && args.trigger) {
    planWarnings = printTrigger(result.config, args.trigger, io);
    if (planWarnings < 0) return 1;
  }
  io.out(`${args.file}: ${result.ok ? "valid" : "invalid"} (${plural(errorCount, "error")}, ${plural(result.warnings.length + planWarnings, "warning")})`);
  return result.ok ? 0 : 1;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
