/**
 * Graph and distributed-graph communicators (MPI_Graph_create, MPI_Dist_graph_create and
 * MPI_Dist_graph_create_adjacent; mpi4py `Graphcomm`, `Distgraphcomm`): {@link TopoComm}s
 * whose neighbours are a graph's edges, and the calls on {@link Comm} that make them.
 */
import { adjacentGraph, distGraph, graphLayout, graphProposal, type Adjacency, type Graph } from "../collectives/agreement/graph-layout.js";
import type { CommEngine } from "../comm/engine/engine.js";
import { checkPeer, UNDEFINED } from "../comm/wire/validate.js";
import { ArgumentError } from "../errors.js";
import { backed, Comm } from "./communicator.js";
import { DIST_GRAPH, GRAPH, occurrenceTags, TopoComm } from "./neighbors.js";
import { engineOf } from "./p2p.js";

declare module "./communicator.js" {
  interface Comm {
    /**
     * A graph communicator (MPI_Graph_create, mpi4py `Create_graph`): node i is rank i (ranks
     * are never reordered) and its neighbours are `edges[index[i-1]…index[i])`. Ranks beyond
     * the `index.length` nodes get `undefined`. Collective: every rank passes the same graph.
     * @example
     * ```ts
     * // a ring: node i has edges to i - 1 and i + 1
     * const index = [...Array(comm.size).keys()].map((i) => 2 * (i + 1));
     * const edges = [...Array(comm.size).keys()].flatMap((i) => [(i + comm.size - 1) % comm.size, (i + 1) % comm.size]);
     * const ring = await comm.createGraph(index, edges);
     * ```
     * @param index cumulative edge counts: `index[i]` is the number of edges of nodes 0…i
     * @param edges the neighbours of node 0, then of node 1, …
     * @throws ArgumentError (rejects where passed; CollectiveMismatchError elsewhere) for a bad
     *   or disagreeing graph
     */
    createGraph(index: readonly number[], edges: readonly number[]): Promise<GraphComm | undefined>;
    /** The rank this process would have in `createGraph(index, edges)` (MPI_Graph_map): its own below `index.length`, else UNDEFINED. Local. */
    graphMap(index: readonly number[], edges: readonly number[]): number;
    /**
     * A distributed graph from each rank's own edges (MPI_Dist_graph_create_adjacent, mpi4py
     * `Create_dist_graph_adjacent`): this rank receives from `sources` and sends to
     * `destinations`, in that order. Every rank gets one. Collective; every edge must be listed
     * at both ends (as often at each), or every rank rejects with a CollectiveMismatchError.
     * @example
     * ```ts
     * const next = (comm.rank + 1) % comm.size, prev = (comm.rank + comm.size - 1) % comm.size;
     * const ring = await comm.createDistGraphAdjacent([prev], [next]); // a one-way ring
     * const [fromPrev] = await ring.neighborAllgather(comm.rank);
     * ```
     * @param sourceWeights one integer ≥ 0 per source, with `destWeights`, or neither (unweighted)
     */
    createDistGraphAdjacent(
      sources: readonly number[],
      destinations: readonly number[],
      sourceWeights?: readonly number[],
      destWeights?: readonly number[],
    ): Promise<DistGraphComm>;
    /**
     * A distributed graph from edges any rank may give (MPI_Dist_graph_create, mpi4py
     * `Create_dist_graph`): `sources[i]` has `degrees[i]` edges, to the next `degrees[i]` entries
     * of `destinations`. A rank's neighbours are ordered by the rank that gave the edge, then by
     * position. Collective; every rank gets one.
     * @param weights one integer ≥ 0 per destination, on every rank or on none
     */
    createDistGraph(
      sources: readonly number[],
      degrees: readonly number[],
      destinations: readonly number[],
      weights?: readonly number[],
    ): Promise<DistGraphComm>;
  }
}

/** A graph communicator, made by `comm.createGraph(index, edges)`: its neighbours both send and receive. */
export class GraphComm extends TopoComm {
  /** Cumulative edge counts of the graph, as passed to createGraph. */
  readonly index: readonly number[];
  /** The graph's edges, node by node. */
  readonly edges: readonly number[];

  /** @internal Use `comm.createGraph(index, edges)`. */
  constructor(engine: CommEngine, graph: Graph) {
    const neighbors = graph.edges.slice(graph.index[engine.rank - 1] ?? 0, graph.index[engine.rank]);
    const tags = occurrenceTags(neighbors);
    super(engine, { sources: neighbors, destinations: neighbors, inTags: tags, outTags: tags, count: "one per neighbour" });
    this.index = Object.freeze([...graph.index]);
    this.edges = Object.freeze([...graph.edges]);
  }

  /** GRAPH. */
  override get topology(): number {
    return GRAPH;
  }
  /** @internal */
  protected remake(engine: CommEngine): this {
    return new GraphComm(engine, { index: [...this.index], edges: [...this.edges] }) as this;
  }
  /** Number of nodes (ranks) of the graph. */
  get nnodes(): number {
    return this.index.length;
  }
  /** Number of edges of the graph. */
  get nedges(): number {
    return this.edges.length;
  }
  /** This rank's neighbours (mpi4py `neighbors`). */
  get neighbors(): readonly number[] {
    return this.outedges;
  }
  /** Number of this rank's neighbours. */
  get nneighbors(): number {
    return this.outedges.length;
  }

  /**
   * The neighbours of `rank` (MPI_Graph_neighbors, mpi4py `Get_neighbors`).
   * @throws ArgumentError if `rank` is not a rank of this communicator
   */
  neighborsOf(rank: number): number[] {
    checkPeer({ call: "neighborsOf", rank: this.rank, size: this.size }, "rank", rank);
    return this.edges.slice(this.index[rank - 1] ?? 0, this.index[rank]);
  }
}

/** A distributed-graph communicator, made by `createDistGraph` or `createDistGraphAdjacent`. */
export class DistGraphComm extends TopoComm {
  /** Whether the graph has weights. */
  readonly weighted: boolean;
  /** A weight per in-edge, or `undefined` if the graph is unweighted. */
  readonly sourceWeights: readonly number[] | undefined;
  /** A weight per out-edge, or `undefined` if the graph is unweighted. */
  readonly destWeights: readonly number[] | undefined;

  /** @internal Use `comm.createDistGraph` or `comm.createDistGraphAdjacent`. */
  constructor(engine: CommEngine, edges: Adjacency) {
    const { sources, destinations } = edges;
    super(engine, { sources, destinations, inTags: occurrenceTags(sources), outTags: occurrenceTags(destinations), count: "outdegree: one per destination" });
    this.weighted = edges.sourceWeights !== undefined;
    this.sourceWeights = edges.sourceWeights && Object.freeze([...edges.sourceWeights]);
    this.destWeights = edges.destWeights && Object.freeze([...edges.destWeights]);
  }

  /** DIST_GRAPH. */
  override get topology(): number {
    return DIST_GRAPH;
  }

  /** @internal */
  protected remake(engine: CommEngine): this {
    const edges = { sources: [...this.inedges], destinations: [...this.outedges] };
    return new DistGraphComm(
      engine,
      this.weighted ? { ...edges, sourceWeights: [...this.sourceWeights!], destWeights: [...this.destWeights!] } : edges,
    ) as this;
  }
}

Comm.prototype.createGraph = async function createGraph(this: Comm, index: readonly number[], edges: readonly number[]) {
  const engine = engineOf(this);
  engine.ensureOpen("createGraph");
  const graph = await graphLayout(engine.channel("createGraph"), index, edges);
  // Every member takes a child id, in the graph or not, so that later children agree everywhere.
  const child = engine.child(":graph", engine.members.slice(0, graph.index.length));
  return this.rank < graph.index.length ? backed(new GraphComm(child, graph)) : undefined;
};

Comm.prototype.graphMap = function graphMap(this: Comm, index: readonly number[], edges: readonly number[]): number {
  const graph = graphProposal({ call: "graphMap", rank: this.rank, size: this.size }, index, edges);
  if ("error" in graph) throw new ArgumentError(graph.error);
  return this.rank < graph.index.length ? this.rank : UNDEFINED;
};

Comm.prototype.createDistGraphAdjacent = async function createDistGraphAdjacent(this: Comm, sources, destinations, sourceWeights, destWeights) {
  const engine = engineOf(this);
  engine.ensureOpen("createDistGraphAdjacent");
  const mine = { sources, destinations, sourceWeights, destWeights } as Adjacency;
  const edges = await adjacentGraph(engine.channel("createDistGraphAdjacent"), mine);
  return backed(new DistGraphComm(engine.child(":dist"), edges));
};

Comm.prototype.createDistGraph = async function createDistGraph(this: Comm, sources, degrees, destinations, weights) {
  const engine = engineOf(this);
  engine.ensureOpen("createDistGraph");
  const edges = await distGraph(engine.channel("createDistGraph"), sources, degrees, destinations, weights);
  return backed(new DistGraphComm(engine.child(":dist"), edges));
};
