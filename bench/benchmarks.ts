import type { Benchmark } from "./lib/benchmark";
import { intake } from "./intake";
import { stepOutput } from "./step-output";
import { pushToStep } from "./push-to-step";
import { pages } from "./pages";
import { sandboxStart } from "./sandbox-start";
import { pipelines } from "./pipelines";
import { claim } from "./claim";
import { runners } from "./runners";
import { checkout } from "./checkout";

/** Every benchmark, in the order `npm run bench` runs them. A new one is a module exporting a `Benchmark`, added here. */
export const BENCHMARKS: readonly Benchmark[] = [intake, pushToStep, stepOutput, sandboxStart, pages, pipelines, runners, claim, checkout];
