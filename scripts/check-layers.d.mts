// Types of check-layers.mjs for tests/system/layers.happy.test.ts.
export interface Layer {
  name: string;
  paths: string[];
}
export type Graph = Map<string, string[]>;
export const LAYERS: Layer[];
export const CHECKED: string[];
export function layerOf(file: string): string | undefined;
export function importsOf(text: string): string[];
export function importGraph(dirs?: string[]): { graph: Graph; unresolved: string[] };
export function circles(graph: Graph): string[][];
export function violations(graph: Graph): string[];
