/**
 * The collective half of MPI_Graph_create and MPI_Dist_graph_create(_adjacent): each rank's
 * checks, then every rank's arguments (agree.ts), so that bad, disagreeing or one-sided edges
 * fail on every rank instead of leaving a neighbour waiting for a block that never comes.
 */
import { CollectiveMismatchError, callError } from "../../errors.js";
import { describe, type Where } from "../../comm/wire/validate.js";
import { agree, refusal, same, type Proposal } from "./agree.js";
import type { Channel } from "../collective-protocol.js";

/** A graph as MPI_Graph_create takes it: `index[i]` is the number of edges of nodes 0…i, `edges` their ends. */
export interface Graph {
  index: number[];
  edges: number[];
}

/** One rank's edges in a distributed graph, with their weights where the graph is weighted. */
export interface Adjacency {
  sources: number[];
  destinations: number[];
  sourceWeights?: number[];
  destWeights?: number[];
}

const list = (value: unknown) => (Array.isArray(value) ? `[${value.map(describe).join(", ")}]` : describe(value));
const integers = (value: unknown, below: number): value is number[] => Array.isArray(value) && value.every((v) => Number.isInteger(v) && v >= 0 && v < below);

/** createGraph's (and graphMap's) local checks. */
export function graphProposal(where: Where, index: unknown, edges: unknown): Proposal<Graph> {
  if (!integers(index, Infinity) || index.length > where.size || index.some((v, i) => i > 0 && v < index[i - 1]!)) {
    return refusal(where, `index must be an array of at most ${where.size} non-decreasing integers ≥ 0 (edges of nodes 0…i), got ${list(index)}`);
  }
  const nedges = index.length === 0 ? 0 : index[index.length - 1]!;
  if (!integers(edges, index.length) || edges.length !== nedges) {
    return refusal(where, `edges must be an array of ${nedges} node numbers in [0, ${index.length}) (index ends at ${nedges}), got ${list(edges)}`);
  }
  return { index: [...index], edges: [...edges] };
}

/** The graph every rank passed; rejects on every rank if any rank's is bad or differs. */
export async function graphLayout(ch: Channel, index: unknown, edges: unknown): Promise<Graph> {
  const all = await agree(ch, graphProposal(ch, index, edges));
  return same(ch, all, (g) => `index [${g.index.join(", ")}], edges [${g.edges.join(", ")}]`);
}

/** Check a list of ranks (`name`) and its optional weights; `undefined` if right, else the refusal. */
function badRanks(ch: Channel, name: string, ranks: unknown, weightsName: string, weights: unknown): { error: string } | undefined {
  if (!integers(ranks, ch.size)) return refusal(ch, `${name} must be an array of ranks in [0, ${ch.size}), got ${list(ranks)}`);
  if (weights !== undefined && (!integers(weights, Infinity) || weights.length !== ranks.length)) {
    return refusal(ch, `${weightsName} must be ${ranks.length} integers ≥ 0 (one per entry of ${name}) or undefined, got ${list(weights)}`);
  }
  return undefined;
}

/** Throw unless every rank's graph is weighted, or none is (MPI_UNWEIGHTED everywhere). */
function sameWeighting(ch: Channel, weighted: readonly boolean[]): void {
  const odd = weighted.findIndex((w) => w !== weighted[0]);
  if (odd >= 0) {
    throw callError(
      CollectiveMismatchError,
      ch.call,
      ch.rank,
      `rank ${odd} ${weighted[odd] ? "gave" : "did not give"} weights but rank 0 ${weighted[0] ? "did" : "did not"}; give them everywhere or nowhere`,
    );
  }
}

/** createDistGraphAdjacent: this rank's edges, once every rank's are known to list each edge at both ends. */
export async function adjacentGraph(ch: Channel, mine: Adjacency): Promise<Adjacency> {
  const bad =
    badRanks(ch, "sources", mine.sources, "sourceWeights", mine.sourceWeights) ??
    badRanks(ch, "destinations", mine.destinations, "destWeights", mine.destWeights) ??
    ((mine.sourceWeights == null) !== (mine.destWeights == null) ? refusal(ch, "give both sourceWeights and destWeights, or neither") : undefined);
  const all = await agree(ch, bad ?? mine);
  sameWeighting(
    ch,
    all.map((a) => a.sourceWeights != null),
  );
  const edges = new Map<string, number>();
  const count = (key: string, by: number) => edges.set(key, (edges.get(key) ?? 0) + by);
  all.forEach((a, r) => {
    a.destinations.forEach((d) => count(`${r}>${d}`, 1));
    a.sources.forEach((s) => count(`${s}>${r}`, -1));
  });
  for (const [key, excess] of edges) {
    if (excess === 0) continue;
    const [from, to] = key.split(">");
    const times = (rank: number, other: number, side: "destinations" | "sources") => all[rank]![side].filter((x) => x === other).length;
    const [f, t] = [Number(from), Number(to)];
    throw callError(
      CollectiveMismatchError,
      ch.call,
      ch.rank,
      `rank ${f} lists rank ${t} among its destinations ${times(f, t, "destinations")} times but rank ${t} lists rank ${f} among its sources ${times(t, f, "sources")} times; list every edge at both ends`,
    );
  }
  // Weights left out may come back null from the wire: unweighted has no weight fields at all.
  const { sources, destinations, sourceWeights, destWeights } = all[ch.rank]!;
  return sourceWeights == null ? { sources, destinations } : { sources, destinations, sourceWeights, destWeights: destWeights! };
}

/** createDistGraph: every rank's edges (any edges), and from them this rank's, in (rank, position) order. */
export async function distGraph(ch: Channel, sources: unknown, degrees: unknown, destinations: unknown, weights: unknown): Promise<Adjacency> {
  const fit = integers(degrees, Infinity) && Array.isArray(sources) && degrees.length === sources.length;
  const total = fit ? degrees.reduce((a, b) => a + b, 0) : 0;
  const bad =
    badRanks(ch, "sources", sources, "", undefined) ??
    (fit ? undefined : refusal(ch, `degrees must be ${list(sources)}.length integers ≥ 0 (edges of each source), got ${list(degrees)}`)) ??
    badRanks(ch, "destinations", destinations, "weights", weights) ??
    ((destinations as number[]).length === total
      ? undefined
      : refusal(ch, `destinations must hold ${total} ranks (the sum of degrees), got ${list(destinations)}`));
  const all = await agree(
    ch,
    bad ?? { sources: sources as number[], degrees: degrees as number[], destinations: destinations as number[], weights: weights as number[] | undefined },
  );
  sameWeighting(
    ch,
    all.map((a) => a.weights != null),
  );
  const mine: Required<Adjacency> = { sources: [], destinations: [], sourceWeights: [], destWeights: [] };
  for (const given of all) {
    let edge = 0;
    given.sources.forEach((from, i) => {
      for (let k = 0; k < given.degrees[i]!; k++, edge++) {
        const [to, weight] = [given.destinations[edge]!, given.weights?.[edge] ?? 1];
        if (from === ch.rank) {
          mine.destinations.push(to);
          mine.destWeights.push(weight);
        }
        if (to === ch.rank) {
          mine.sources.push(from);
          mine.sourceWeights.push(weight);
        }
      }
    });
  }
  return all[0]!.weights == null ? { sources: mine.sources, destinations: mine.destinations } : mine;
}
