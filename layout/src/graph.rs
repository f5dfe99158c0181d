//! Layered layout of the topology graph, shared by the faces. Pure: no terminal, no styles.
//!
//! A small Sugiyama-style pipeline, sized for a few dozen workloads:
//!
//! 1. nodes are workloads, topics and queues; flow edges are `calls` (caller -> callee),
//!    `produces` (producer -> topic) and `consumes` drawn the way data flows (topic -> consumer);
//! 2. cycles are broken by dropping DFS back edges (they stay listed in the details pane);
//! 3. layers by longest path from the entry points, so the ingress gateway is leftmost and leaves
//!    are rightmost; a node that only calls is pulled right next to its nearest callee;
//! 4. an edge spanning several layers goes through one "bundle" slot per intermediate layer, shared
//!    by all long edges of the same source, so fan-outs stay one line until they split;
//! 5. order within layers by barycentre sweeps, rows by isotonic regression towards the
//!    predecessors' rows (straight lines where possible, two rows apart at least);
//! 6. edges are routed orthogonally in the gap between layers: one vertical track per fanning
//!    source, arrows on the target's left.
//!
//! Kubernetes nodes have no flow edges; they sit in a row of their own under the graph.
//!
//! Coordinates are abstract units relative to the layout's top-left corner: one unit is one
//! character of a label horizontally and one line vertically. The terminal UI maps a unit to a
//! cell; the web UI scales units to SVG pixels. The faces scroll and clip.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use opscope_model::{Edge, EdgeKind, EntityId, EntityKind};
use unicode_width::UnicodeWidthStr;

/// Line direction bits of one cell of an edge path.
pub const UP: u8 = 1;
/// Line goes down from the cell's centre.
pub const DOWN: u8 = 2;
/// Line goes left from the cell's centre.
pub const LEFT: u8 = 4;
/// Line goes right from the cell's centre.
pub const RIGHT: u8 = 8;

/// Rows between two nodes of one layer (1 = adjacent rows).
const ROW_STEP: usize = 2;
/// Columns between two vertical tracks in a gap (2 = one blank column between them).
const TRACK_STEP: u16 = 2;
/// Caption in front of the Kubernetes node row.
pub const INFRA_CAPTION: &str = "k8s nodes";

/// One placed entity: a one-line label `<symbol> <text>` at (x, y).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    pub entity: EntityId,
    /// Layer (column) index; `None` for Kubernetes nodes in the infra row.
    pub layer: Option<usize>,
    pub x: u16,
    pub y: u16,
    /// Cells taken by the label, symbol included.
    pub width: u16,
}

impl GraphNode {
    /// Column of the label's centre.
    fn cx(&self) -> i32 {
        i32::from(self.x) + i32::from(self.width) / 2
    }
}

/// One cell of an edge path with the directions the line takes from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCell {
    pub x: u16,
    pub y: u16,
    /// [`UP`] | [`DOWN`] | [`LEFT`] | [`RIGHT`] bits.
    pub dirs: u8,
}

/// A routed flow edge between two placed nodes (indices into [`GraphLayout::nodes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge {
    /// Upstream end as drawn (the caller, producer, or the topic a consumer reads).
    pub from: usize,
    /// Downstream end as drawn.
    pub to: usize,
    /// True when any underlying edge is a `calls` edge (else messaging only).
    pub calls: bool,
    /// The path, arrow cell excluded.
    pub cells: Vec<LineCell>,
    /// The arrow head, just left of the target's label.
    pub arrow: (u16, u16),
}

/// The laid-out graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphLayout {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Flow edges not drawn because they close a cycle.
    pub back_edges: Vec<(usize, usize)>,
    /// Position of [`INFRA_CAPTION`], when there are Kubernetes nodes.
    pub infra_caption: Option<(u16, u16)>,
    /// Bounding box, cells.
    pub width: u16,
    pub height: u16,
}

/// Direction of a selection move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Up,
    Down,
    Left,
    Right,
}

/// The label text drawn after the health symbol: `name`, `[topic]` or `(queue)`.
pub fn node_label(id: &EntityId) -> String {
    match id.kind {
        EntityKind::Topic => format!("[{}]", id.name),
        EntityKind::Queue => format!("({})", id.name),
        _ => id.name.clone(),
    }
}

/// Cells taken by a node: symbol, space, label.
pub fn node_width(id: &EntityId) -> u16 {
    let w = node_label(id).width() + 2;
    u16::try_from(w).unwrap_or(u16::MAX)
}

fn is_graph_kind(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::Workload | EntityKind::Topic | EntityKind::Queue | EntityKind::ConsumerGroup
    )
}

/// A slot in a layer: a real node or the bundle of a source's long edges passing through.
struct Slot {
    /// Index of the real node; `None` for a bundle slot.
    real: Option<usize>,
    layer: usize,
}

/// A connection between slots of adjacent layers, carrying some real edges.
struct Segment {
    from: usize,
    to: usize,
    carries: Vec<usize>,
}

/// Every entity a snapshot knows (its topology's and those with health), sorted, once each:
/// what the faces lay out.
pub fn snapshot_entities(s: &opscope_model::Snapshot) -> Vec<EntityId> {
    let mut v: Vec<EntityId> = s
        .topology
        .entities
        .iter()
        .cloned()
        .chain(s.entities.iter().map(|e| e.entity.clone()))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Lay out `entities` (any kinds; pods are ignored) and the flow edges among them.
pub fn layout(entities: &[EntityId], edges: &[Edge]) -> GraphLayout {
    let mut ids: Vec<EntityId> = entities
        .iter()
        .filter(|e| is_graph_kind(e.kind))
        .cloned()
        .collect();
    for e in edges {
        for end in [&e.from, &e.to] {
            if is_graph_kind(end.kind) {
                ids.push(end.clone());
            }
        }
    }
    ids.sort();
    ids.dedup();
    let mut infra: Vec<EntityId> = entities
        .iter()
        .filter(|e| e.kind == EntityKind::Node)
        .cloned()
        .collect();
    infra.sort();
    infra.dedup();

    let n = ids.len();
    let index: HashMap<&EntityId, usize> = ids.iter().enumerate().map(|(i, id)| (id, i)).collect();

    // Flow edges (u, v, is_calls), merged per (u, v).
    let mut flow: Vec<(usize, usize, bool)> = Vec::new();
    for e in edges {
        let (up, down) = match e.kind {
            EdgeKind::Calls | EdgeKind::Produces => (&e.from, &e.to),
            EdgeKind::Consumes => (&e.to, &e.from),
            EdgeKind::RunsOn | EdgeKind::Owns => continue,
        };
        if let (Some(&u), Some(&v)) = (index.get(up), index.get(down))
            && u != v
        {
            flow.push((u, v, e.kind == EdgeKind::Calls));
        }
    }
    flow.sort();
    let mut merged: Vec<(usize, usize, bool)> = Vec::new();
    for (u, v, c) in flow {
        match merged.last_mut() {
            Some(last) if last.0 == u && last.1 == v => last.2 |= c,
            _ => merged.push((u, v, c)),
        }
    }

    let (dag, back_edges) = break_cycles(n, &merged);
    let layer = assign_layers(n, &dag);
    let layer_count = layer.iter().copied().max().map_or(0, |m| m + 1);

    // Slots and segments.
    let mut slots: Vec<Slot> = (0..n)
        .map(|i| Slot {
            real: Some(i),
            layer: layer[i],
        })
        .collect();
    let mut segments: Vec<Segment> = Vec::new();
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (e, &(u, _, _)) in dag.iter().enumerate() {
        out_edges[u].push(e);
    }
    for u in 0..n {
        let out = &out_edges[u];
        let far_max = out
            .iter()
            .map(|&e| layer[dag[e].1])
            .filter(|&l| l > layer[u] + 1)
            .max();
        // bundle[j] = slot of u's bundle in layer j.
        let mut bundle: HashMap<usize, usize> = HashMap::new();
        if let Some(far_max) = far_max {
            let mut prev = u;
            for j in layer[u] + 1..far_max {
                let s = slots.len();
                slots.push(Slot {
                    real: None,
                    layer: j,
                });
                let carries = out
                    .iter()
                    .copied()
                    .filter(|&e| layer[dag[e].1] > j)
                    .collect();
                segments.push(Segment {
                    from: prev,
                    to: s,
                    carries,
                });
                bundle.insert(j, s);
                prev = s;
            }
        }
        for &e in out {
            let v = dag[e].1;
            let from = if layer[v] == layer[u] + 1 {
                u
            } else {
                bundle[&(layer[v] - 1)]
            };
            segments.push(Segment {
                from,
                to: v,
                carries: vec![e],
            });
        }
    }

    let order = order_layers(&slots, &segments, layer_count);
    let rows = assign_rows(&slots, &segments, &order);

    // Columns: layer widths and gaps sized by the tracks they need.
    let mut layer_w = vec![1u16; layer_count];
    for (i, id) in ids.iter().enumerate() {
        layer_w[layer[i]] = layer_w[layer[i]].max(node_width(id));
    }
    let gaps: Vec<Gap> = (0..layer_count.saturating_sub(1))
        .map(|k| plan_gap(k, &slots, &segments, &rows))
        .collect();
    let mut layer_x = vec![0u16; layer_count];
    let mut x = 0u16;
    for k in 0..layer_count {
        layer_x[k] = x;
        x = x.saturating_add(layer_w[k]);
        if let Some(g) = gaps.get(k) {
            x = x.saturating_add(g.width());
        }
    }
    let graph_w = x;

    let mut nodes: Vec<GraphNode> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| GraphNode {
            entity: id.clone(),
            layer: Some(layer[i]),
            x: layer_x[layer[i]],
            y: to_u16(rows[i]),
            width: node_width(id),
        })
        .collect();

    // Route every real edge through its segments.
    let mut paths: Vec<Vec<LineCell>> = vec![Vec::new(); dag.len()];
    let mut arrows: Vec<(u16, u16)> = vec![(0, 0); dag.len()];
    for (k, gap) in gaps.iter().enumerate() {
        let gap_x = layer_x[k] + layer_w[k];
        let next_x = layer_x[k + 1];
        for seg in segments.iter().filter(|s| slots[s.from].layer == k) {
            let ys = rows[seg.from];
            let yt = rows[seg.to];
            // Where the line leaves the source: after the label, or through a bundle's layer.
            let start = match slots[seg.from].real {
                Some(r) => nodes[r].x + nodes[r].width + 1,
                None => layer_x[k],
            };
            let real_target = slots[seg.to].real.is_some();
            let end = if real_target { next_x - 3 } else { next_x - 1 };
            let mut cells = Vec::new();
            match gap.track_of(seg.from) {
                None => hline(&mut cells, start, end, ys),
                Some(t) => {
                    let tx = gap_x + Gap::track_x(t);
                    hline(&mut cells, start, tx - 1, ys);
                    let mut turn = LEFT;
                    if yt == ys {
                        turn |= RIGHT;
                    } else {
                        turn |= if yt < ys { UP } else { DOWN };
                    }
                    cells.push(LineCell {
                        x: tx,
                        y: to_u16(ys),
                        dirs: turn,
                    });
                    if yt != ys {
                        let (lo, hi) = (ys.min(yt), ys.max(yt));
                        for y in lo + 1..hi {
                            cells.push(LineCell {
                                x: tx,
                                y: to_u16(y),
                                dirs: UP | DOWN,
                            });
                        }
                        let back = if yt < ys { DOWN } else { UP };
                        cells.push(LineCell {
                            x: tx,
                            y: to_u16(yt),
                            dirs: back | RIGHT,
                        });
                    }
                    hline(&mut cells, tx + 1, end, yt);
                }
            }
            for &e in &seg.carries {
                paths[e].extend_from_slice(&cells);
                if real_target {
                    arrows[e] = (next_x - 2, to_u16(yt));
                }
            }
        }
    }
    let edges_out: Vec<GraphEdge> = dag
        .iter()
        .enumerate()
        .map(|(e, &(u, v, calls))| GraphEdge {
            from: u,
            to: v,
            calls,
            cells: std::mem::take(&mut paths[e]),
            arrow: arrows[e],
        })
        .collect();

    // Kubernetes nodes in a row under the graph.
    let graph_h = rows.iter().copied().max().map_or(0, |m| m + 1);
    let mut width = graph_w;
    let mut height = to_u16(graph_h);
    let mut infra_caption = None;
    if !infra.is_empty() {
        let y = if n == 0 { 0 } else { height + 1 };
        infra_caption = Some((0, y));
        let mut x = INFRA_CAPTION.width() as u16 + 2;
        for id in infra {
            let w = node_width(&id);
            nodes.push(GraphNode {
                entity: id,
                layer: None,
                x,
                y,
                width: w,
            });
            x = x.saturating_add(w + 3);
        }
        width = width.max(x.saturating_sub(3));
        height = y + 1;
    }

    GraphLayout {
        nodes,
        edges: edges_out,
        back_edges,
        infra_caption,
        width,
        height,
    }
}

fn to_u16(v: usize) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn hline(cells: &mut Vec<LineCell>, from: u16, to: u16, y: usize) {
    for x in from..=to {
        cells.push(LineCell {
            x,
            y: to_u16(y),
            dirs: LEFT | RIGHT,
        });
    }
}

/// Splits flow edges into a DAG (kept) and back edges (dropped), deterministically.
#[allow(clippy::type_complexity)]
fn break_cycles(
    n: usize,
    edges: &[(usize, usize, bool)],
) -> (Vec<(usize, usize, bool)>, Vec<(usize, usize)>) {
    let mut succ: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for (i, &(u, v, _)) in edges.iter().enumerate() {
        succ[u].push((v, i));
        indeg[v] += 1;
    }
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut is_back = vec![false; edges.len()];
    let roots = (0..n)
        .filter(|&v| indeg[v] == 0)
        .chain((0..n).filter(|&v| indeg[v] != 0));
    for root in roots {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(top) = stack.last_mut() {
            let (u, i) = *top;
            if let Some(&(v, e)) = succ[u].get(i) {
                top.1 += 1;
                match state[v] {
                    0 => {
                        state[v] = 1;
                        stack.push((v, 0));
                    }
                    1 => is_back[e] = true,
                    _ => {}
                }
            } else {
                state[u] = 2;
                stack.pop();
            }
        }
    }
    let mut dag = Vec::new();
    let mut back = Vec::new();
    for (i, &(u, v, c)) in edges.iter().enumerate() {
        if is_back[i] {
            back.push((u, v));
        } else {
            dag.push((u, v, c));
        }
    }
    (dag, back)
}

/// Longest-path layers; pure sources are pulled next to their nearest successor.
fn assign_layers(n: usize, dag: &[(usize, usize, bool)]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    for &(_, v, _) in dag {
        indeg[v] += 1;
    }
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b, _) in dag {
        succ[a].push(b);
    }
    let mut layer = vec![0usize; n];
    let mut remaining = indeg.clone();
    let mut queue: Vec<usize> = (0..n).filter(|&v| remaining[v] == 0).collect();
    let mut head = 0;
    while head < queue.len() {
        let u = queue[head];
        head += 1;
        for &b in &succ[u] {
            layer[b] = layer[b].max(layer[u] + 1);
            remaining[b] -= 1;
            if remaining[b] == 0 {
                queue.push(b);
            }
        }
    }
    for u in 0..n {
        if indeg[u] == 0
            && let Some(min) = succ[u].iter().map(|&v| layer[v]).min()
        {
            layer[u] = min - 1;
        }
    }
    layer
}

/// Predecessor and successor slots of every slot.
fn adjacency(slots: usize, segments: &[Segment]) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let mut preds = vec![Vec::new(); slots];
    let mut succs = vec![Vec::new(); slots];
    for g in segments {
        preds[g.to].push(g.from);
        succs[g.from].push(g.to);
    }
    (preds, succs)
}

/// Slot order per layer, by barycentre sweeps; deterministic.
fn order_layers(slots: &[Slot], segments: &[Segment], layer_count: usize) -> Vec<Vec<usize>> {
    let (preds, succs) = adjacency(slots.len(), segments);
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); layer_count];
    for (i, s) in slots.iter().enumerate() {
        order[s.layer].push(i);
    }
    let mut pos = vec![0f64; slots.len()];
    for layer in &order {
        for (p, &s) in layer.iter().enumerate() {
            pos[s] = p as f64;
        }
    }
    for sweep in 0..8 {
        let down = sweep % 2 == 0;
        let layers: Vec<usize> = if down {
            (1..layer_count).collect()
        } else {
            (0..layer_count.saturating_sub(1)).rev().collect()
        };
        for k in layers {
            let mut keyed: Vec<(f64, f64, usize)> = order[k]
                .iter()
                .map(|&s| {
                    let nbrs: Vec<f64> = if down { &preds[s] } else { &succs[s] }
                        .iter()
                        .map(|&t| pos[t])
                        .collect();
                    let bary = if nbrs.is_empty() {
                        pos[s]
                    } else {
                        nbrs.iter().sum::<f64>() / nbrs.len() as f64
                    };
                    (bary, pos[s], s)
                })
                .collect();
            keyed.sort_by(|a, b| {
                a.0.total_cmp(&b.0)
                    .then(a.1.total_cmp(&b.1))
                    .then(a.2.cmp(&b.2))
            });
            order[k] = keyed.into_iter().map(|(_, _, s)| s).collect();
            for (p, &s) in order[k].iter().enumerate() {
                pos[s] = p as f64;
            }
        }
    }
    order
}

/// Row of every slot: layers keep their order, rows at least [`ROW_STEP`] apart, each slot as
/// close as possible to the mean row of its predecessors.
fn assign_rows(slots: &[Slot], segments: &[Segment], order: &[Vec<usize>]) -> Vec<usize> {
    let (preds_of, _) = adjacency(slots.len(), segments);
    let tallest = order.iter().map(Vec::len).max().unwrap_or(0);
    let height = if tallest == 0 {
        0
    } else {
        (tallest - 1) * ROW_STEP
    };
    let mut rows = vec![0usize; slots.len()];
    for layer in order {
        let m = layer.len();
        if m == 0 {
            continue;
        }
        let centred = (height - (m - 1) * ROW_STEP) as f64 / 2.0;
        // z_i = y_i - STEP*i must be non-decreasing: fit the desired z by pool-adjacent-violators.
        let desired: Vec<f64> = layer
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let mut preds: Vec<usize> = preds_of[s].iter().map(|&p| rows[p]).collect();
                preds.sort_unstable();
                // The (lower) median keeps at least one incoming line straight.
                let want = match preds.get(preds.len().saturating_sub(1) / 2) {
                    None => centred + (i * ROW_STEP) as f64,
                    Some(&y) => y as f64,
                };
                want - (i * ROW_STEP) as f64
            })
            .collect();
        let fitted = isotonic(&desired);
        let max_z = (height - (m - 1) * ROW_STEP) as f64;
        for (i, &s) in layer.iter().enumerate() {
            let z = fitted[i].clamp(0.0, max_z).round() as usize;
            rows[s] = z + i * ROW_STEP;
        }
    }
    rows
}

/// Least-squares non-decreasing fit (pool adjacent violators).
fn isotonic(values: &[f64]) -> Vec<f64> {
    let mut blocks: Vec<(f64, usize)> = Vec::new(); // (mean, count)
    for &v in values {
        blocks.push((v, 1));
        while blocks.len() >= 2 {
            let (m2, c2) = blocks[blocks.len() - 1];
            let (m1, c1) = blocks[blocks.len() - 2];
            if m1 <= m2 {
                break;
            }
            blocks.truncate(blocks.len() - 2);
            let c = c1 + c2;
            blocks.push(((m1 * c1 as f64 + m2 * c2 as f64) / c as f64, c));
        }
    }
    blocks
        .into_iter()
        .flat_map(|(m, c)| std::iter::repeat_n(m, c))
        .collect()
}

/// Track plan of the gap after one layer.
struct Gap {
    /// (source slot, track column index)
    tracks: Vec<(usize, u16)>,
}

impl Gap {
    fn track_of(&self, slot: usize) -> Option<u16> {
        self.tracks.iter().find(|t| t.0 == slot).map(|t| t.1)
    }
    /// Column of track `t`, relative to the gap's first column.
    fn track_x(t: u16) -> u16 {
        2 + t * TRACK_STEP
    }
    /// Lead-in (2), tracks, one line cell, arrow, space.
    fn width(&self) -> u16 {
        match self.tracks.len() as u16 {
            0 => 5,
            n => Gap::track_x(n - 1) + 4,
        }
    }
}

/// Which sources of layer `k` need a vertical track, and in which column order. A source whose
/// exit row is another source's target row must sit left of it, or the two lines would merge.
fn plan_gap(k: usize, slots: &[Slot], segments: &[Segment], rows: &[usize]) -> Gap {
    let mut targets: HashMap<usize, Vec<usize>> = HashMap::new();
    for g in segments.iter().filter(|g| slots[g.from].layer == k) {
        targets.entry(g.from).or_default().push(rows[g.to]);
    }
    let mut fanning: Vec<usize> = targets
        .iter()
        .filter(|(s, ts)| ts.iter().any(|&y| y != rows[**s]))
        .map(|(&s, _)| s)
        .collect();
    fanning.sort_by_key(|&s| (rows[s], s));
    for ts in targets.values_mut() {
        ts.sort_unstable();
        ts.dedup();
    }
    // after[a] holds b when a must be left of b: a's exit row is a row b branches to (and a
    // does not branch to it itself).
    let f = fanning.len();
    let mut by_row: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, s) in fanning.iter().enumerate() {
        for &y in &targets[s] {
            by_row.entry(y).or_default().push(i);
        }
    }
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); f];
    let mut indeg = vec![0usize; f];
    for (a, s) in fanning.iter().enumerate() {
        let ya = rows[*s];
        if targets[s].binary_search(&ya).is_ok() {
            continue;
        }
        for &b in by_row.get(&ya).into_iter().flatten() {
            if b != a {
                after[a].push(b);
                indeg[b] += 1;
            }
        }
    }
    // Kahn's algorithm, upper rows first; a cycle is broken at its upper-most source.
    let mut heap: BinaryHeap<Reverse<usize>> =
        (0..f).filter(|&i| indeg[i] == 0).map(Reverse).collect();
    let mut done = vec![false; f];
    let mut placed: Vec<usize> = Vec::with_capacity(f);
    while placed.len() < f {
        let Some(Reverse(i)) = heap.pop() else {
            if let Some(i) = (0..f).find(|&i| !done[i]) {
                heap.push(Reverse(i));
            }
            continue;
        };
        if done[i] {
            continue;
        }
        done[i] = true;
        placed.push(fanning[i]);
        for &b in &after[i] {
            if !done[b] {
                indeg[b] = indeg[b].saturating_sub(1);
                if indeg[b] == 0 {
                    heap.push(Reverse(b));
                }
            }
        }
    }
    Gap {
        tracks: placed
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i as u16))
            .collect(),
    }
}

/// A composed cell of all edge paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Composed {
    /// Union of the directions of every path through the cell.
    pub dirs: u8,
    /// True when lines only cross here (no path turns), drawn without a junction.
    pub crossing: bool,
    /// True when an arrow head is drawn here.
    pub arrow: bool,
    /// True when a highlighted edge passes (see [`GraphLayout::compose`]).
    pub highlighted: bool,
    /// True when a `calls` edge passes (else messaging only).
    pub calls: bool,
}

impl GraphLayout {
    /// What is wrong with this layout, in words (empty when nothing): a node outside the
    /// bounds or on top of another, an edge cell outside or on a node, an arrow not right
    /// before its target. The layout's own tests and the faces' tests check it.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let overlaps =
            |a: &GraphNode, b: &GraphNode| a.y == b.y && a.x < b.x + b.width && b.x < a.x + a.width;
        for (i, a) in self.nodes.iter().enumerate() {
            if a.x + a.width > self.width || a.y >= self.height {
                out.push(format!("{a:?} outside {}x{}", self.width, self.height));
            }
            for b in &self.nodes[i + 1..] {
                if overlaps(a, b) {
                    out.push(format!("{a:?} overlaps {b:?}"));
                }
            }
        }
        for e in &self.edges {
            let arrow = LineCell {
                x: e.arrow.0,
                y: e.arrow.1,
                dirs: 0,
            };
            for c in e.cells.iter().chain(std::iter::once(&arrow)) {
                if c.x >= self.width || c.y >= self.height {
                    out.push(format!("edge cell {c:?} outside"));
                }
                for n in &self.nodes {
                    if c.y == n.y && c.x >= n.x && c.x < n.x + n.width {
                        out.push(format!("edge cell {c:?} on node {n:?}"));
                    }
                }
            }
            if let Some(to) = self.nodes.get(e.to)
                && e.arrow != (to.x.saturating_sub(2), to.y)
            {
                out.push(format!(
                    "the arrow of {e:?} does not sit left of its target"
                ));
            }
        }
        out
    }

    /// Index of the node showing `id`.
    pub fn index_of(&self, id: &EntityId) -> Option<usize> {
        self.nodes.iter().position(|n| &n.entity == id)
    }

    /// The node shown first when nothing is selected: the topmost of the first layer.
    pub fn first_node(&self) -> Option<usize> {
        (0..self.nodes.len()).min_by_key(|&i| {
            (
                self.nodes[i].layer.is_none(),
                self.nodes[i].layer,
                self.nodes[i].y,
            )
        })
    }

    /// Union of all edge paths per cell; edges touching node `highlight` are flagged.
    pub fn compose(&self, highlight: Option<usize>) -> HashMap<(u16, u16), Composed> {
        let mut cells: HashMap<(u16, u16), Composed> = HashMap::new();
        let mut turns: HashMap<(u16, u16), bool> = HashMap::new();
        for e in &self.edges {
            let lit = highlight.is_some_and(|h| e.from == h || e.to == h);
            for c in &e.cells {
                let slot = cells.entry((c.x, c.y)).or_default();
                slot.dirs |= c.dirs;
                slot.highlighted |= lit;
                slot.calls |= e.calls;
                let turn = c.dirs & (UP | DOWN) != 0 && c.dirs & (LEFT | RIGHT) != 0;
                *turns.entry((c.x, c.y)).or_default() |= turn;
            }
            let slot = cells.entry(e.arrow).or_default();
            slot.arrow = true;
            slot.highlighted |= lit;
            slot.calls |= e.calls;
        }
        for (pos, c) in cells.iter_mut() {
            c.crossing =
                c.dirs == UP | DOWN | LEFT | RIGHT && !turns.get(pos).copied().unwrap_or(false);
        }
        cells
    }

    /// The node a selection move from `from` lands on, if any.
    pub fn neighbour(&self, from: usize, dir: Dir) -> Option<usize> {
        let cur = self.nodes.get(from)?;
        let infra = cur.layer.is_none();
        let others = || {
            self.nodes
                .iter()
                .enumerate()
                .filter(move |(i, _)| *i != from)
        };
        match dir {
            Dir::Left | Dir::Right => {
                let right = dir == Dir::Right;
                let cands: Vec<(usize, &GraphNode)> = others()
                    .filter(|(_, n)| {
                        n.layer.is_none() == infra && if right { n.x > cur.x } else { n.x < cur.x }
                    })
                    .collect();
                let best_x = if right {
                    cands.iter().map(|c| c.1.x).min()
                } else {
                    cands.iter().map(|c| c.1.x).max()
                }?;
                cands
                    .into_iter()
                    .filter(|c| c.1.x == best_x)
                    .min_by_key(|c| (c.1.y.abs_diff(cur.y), c.1.y))
                    .map(|c| c.0)
            }
            Dir::Up | Dir::Down => {
                let down = dir == Dir::Down;
                let same_column = others()
                    .filter(|(_, n)| {
                        !infra
                            && n.layer == cur.layer
                            && if down { n.y > cur.y } else { n.y < cur.y }
                    })
                    .min_by_key(|(_, n)| n.y.abs_diff(cur.y))
                    .map(|c| c.0);
                if same_column.is_some() {
                    return same_column;
                }
                match (down, infra) {
                    // Off the bottom of a column: into the infra row, nearest by column.
                    (true, false) => others()
                        .filter(|(_, n)| n.layer.is_none())
                        .min_by_key(|(_, n)| ((n.cx() - cur.cx()).abs(), n.x))
                        .map(|c| c.0),
                    // Up from the infra row: the lowest node of the nearest column.
                    (false, true) => others()
                        .filter(|(_, n)| n.layer.is_some())
                        .min_by_key(|(_, n)| ((n.cx() - cur.cx()).abs(), std::cmp::Reverse(n.y)))
                        .map(|c| c.0),
                    _ => None,
                }
            }
        }
    }
}

/// The box-drawing glyph for a composed cell.
pub fn glyph(c: &Composed) -> char {
    if c.arrow {
        return if c.calls { '▶' } else { '▷' };
    }
    if c.crossing {
        // Lines pass over each other: draw the vertical unbroken, the horizontal "behind" it.
        return '│';
    }
    match c.dirs {
        d if d == LEFT | RIGHT || d == LEFT || d == RIGHT => '─',
        d if d == UP | DOWN || d == UP || d == DOWN => '│',
        d if d == DOWN | RIGHT => '┌',
        d if d == DOWN | LEFT => '┐',
        d if d == UP | RIGHT => '└',
        d if d == UP | LEFT => '┘',
        d if d == UP | DOWN | RIGHT => '├',
        d if d == UP | DOWN | LEFT => '┤',
        d if d == LEFT | RIGHT | DOWN => '┬',
        d if d == LEFT | RIGHT | UP => '┴',
        _ => '┼',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(name: &str) -> EntityId {
        EntityId::workload("shop", name)
    }

    fn call(a: &str, b: &str) -> Edge {
        Edge::new(EdgeKind::Calls, w(a), w(b))
    }

    fn overlaps(a: &GraphNode, b: &GraphNode) -> bool {
        a.y == b.y && a.x < b.x + b.width && b.x < a.x + a.width
    }

    fn assert_sane(l: &GraphLayout) {
        let problems = l.problems();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn chain_is_one_row_left_to_right() {
        let ents = vec![w("a"), w("b"), w("c")];
        let l = layout(&ents, &[call("a", "b"), call("b", "c")]);
        assert_sane(&l);
        let x: Vec<u16> = l.nodes.iter().map(|n| n.x).collect();
        assert!(x[0] < x[1] && x[1] < x[2]);
        assert!(l.nodes.iter().all(|n| n.y == 0));
        // Straight lines: no vertical segments.
        assert!(
            l.edges
                .iter()
                .all(|e| e.cells.iter().all(|c| c.dirs == LEFT | RIGHT))
        );
    }

    #[test]
    fn cycles_do_not_hang_and_are_reported() {
        let ents = vec![w("a"), w("b"), w("c")];
        let l = layout(&ents, &[call("a", "b"), call("b", "c"), call("c", "a")]);
        assert_sane(&l);
        assert_eq!(l.back_edges.len(), 1);
        assert_eq!(l.edges.len(), 2);
    }

    #[test]
    fn long_edges_bundle_and_fan_out() {
        let ents = vec![w("gw"), w("a"), w("b"), w("c"), w("d")];
        let edges = [
            call("gw", "a"),
            call("a", "b"),
            call("gw", "c"),
            call("gw", "d"),
            call("b", "c"),
        ];
        let l = layout(&ents, &edges);
        assert_sane(&l);
        let gw = l.index_of(&w("gw")).unwrap();
        let c = l.index_of(&w("c")).unwrap();
        assert_eq!(l.nodes[gw].layer, Some(0));
        assert_eq!(l.nodes[c].layer, Some(3));
    }

    #[test]
    fn empty_and_infra_only() {
        let l = layout(&[], &[]);
        assert_eq!((l.width, l.height), (0, 0));
        let node = EntityId::new(EntityKind::Node, "", "node-a");
        let l = layout(std::slice::from_ref(&node), &[]);
        assert_eq!(l.nodes.len(), 1);
        assert_eq!(l.nodes[0].layer, None);
        assert_eq!(l.neighbour(0, Dir::Up), None);
    }

    /// Random graphs (cycles, self-loops, duplicates, messaging edges): layouts stay sane and
    /// navigation never leaves the node list.
    #[test]
    fn random_graphs_stay_sane() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % m
        };
        for _ in 0..200 {
            let n = 1 + next(14) as usize;
            let ents: Vec<EntityId> = (0..n)
                .map(|i| match next(6) {
                    0 => EntityId::new(EntityKind::Topic, "", format!("t{i}")),
                    1 => EntityId::new(EntityKind::Queue, "", format!("q{i}")),
                    2 => EntityId::new(EntityKind::Node, "", format!("node-{i}")),
                    _ => w(&format!("svc-{i}-{}", "x".repeat(next(12) as usize))),
                })
                .collect();
            let m = next(3 * n as u64 + 1);
            let edges: Vec<Edge> = (0..m)
                .map(|_| {
                    let kind = [
                        EdgeKind::Calls,
                        EdgeKind::Calls,
                        EdgeKind::Produces,
                        EdgeKind::Consumes,
                    ][next(4) as usize];
                    let from = ents[next(n as u64) as usize].clone();
                    let to = ents[next(n as u64) as usize].clone();
                    Edge::new(kind, from, to)
                })
                .collect();
            let l = layout(&ents, &edges);
            assert_sane(&l);
            for i in 0..l.nodes.len() {
                for d in [Dir::Up, Dir::Down, Dir::Left, Dir::Right] {
                    if let Some(j) = l.neighbour(i, d) {
                        assert!(j < l.nodes.len() && j != i);
                    }
                }
            }
            let _ = l.compose(Some(0));
        }
    }

    /// A big mesh lays out quickly enough to redo on every snapshot (no quadratic passes).
    #[test]
    fn large_graphs_lay_out() {
        let n = 1500;
        let ents: Vec<EntityId> = (0..n).map(|i| w(&format!("svc-{i:04}"))).collect();
        let mut edges = Vec::new();
        for i in 1..n {
            for d in [1, 7, 31] {
                if i >= d {
                    edges.push(call(
                        &format!("svc-{:04}", (i - d) / 2),
                        &format!("svc-{i:04}"),
                    ));
                }
            }
        }
        let start = std::time::Instant::now();
        let l = layout(&ents, &edges);
        assert_eq!(l.nodes.len(), n);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
        for (i, a) in l.nodes.iter().enumerate().step_by(37) {
            for b in &l.nodes[i + 1..] {
                assert!(!overlaps(a, b));
            }
        }
    }

    #[test]
    fn isotonic_pools_violators() {
        assert_eq!(isotonic(&[1.0, 3.0, 2.0, 4.0]), vec![1.0, 2.5, 2.5, 4.0]);
        assert_eq!(isotonic(&[5.0, 1.0]), vec![3.0, 3.0]);
    }

    #[test]
    fn glyphs() {
        let c = |dirs| Composed {
            dirs,
            ..Default::default()
        };
        assert_eq!(glyph(&c(LEFT | RIGHT)), '─');
        assert_eq!(glyph(&c(UP | DOWN | RIGHT)), '├');
        assert_eq!(glyph(&c(LEFT | DOWN)), '┐');
        assert_eq!(
            glyph(&Composed {
                dirs: 15,
                crossing: true,
                ..Default::default()
            }),
            '│'
        );
    }
}
