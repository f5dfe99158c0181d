//! The service mesh family: calls between workloads, request rate, error ratio, latency
//! quantiles (server view, else the callers'), caller latency, and the request counts and
//! latency histograms SLOs read.

use super::{Builder, any, histogram_quantile};
use crate::conventions::MeshConvention;
use crate::frames::{FrameError, FrameStore};
use crate::model::{EdgeKind, EntityId, HistogramDelta, RequestCounts, SignalKind};
use std::collections::BTreeMap;

/// Which side reported a mesh series and the (caller, server) workloads it names, from the
/// values of the `by` labels (`by[0]` is the side label).
fn mesh_key(mesh: &MeshConvention, by: &[&str], k: &[String]) -> (bool, EntityId, EntityId) {
    let server = k[0] == mesh.server.value;
    let side = if server { &mesh.server } else { &mesh.client };
    let get = |name: &str| {
        by.iter()
            .position(|l| !name.is_empty() && *l == name)
            .map_or("", |i| k[i].as_str())
    };
    let src = EntityId::workload(get(side.source_namespace), get(side.source_workload));
    let dst = EntityId::workload(
        get(side.destination_namespace),
        get(side.destination_workload),
    );
    (server, src, dst)
}

/// Request rate, error ratio and latency per workload and per calling edge.
pub(super) fn mesh_signals(
    store: &FrameStore,
    mesh: &MeshConvention,
    from: i64,
    now: i64,
    q: f64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let mut by = mesh.labels();
    by.push(mesh.error_label);
    let w = store.window(mesh.requests, from, now, &by)?;
    // (reporter is server?, src, dst) -> (total, errors)
    let mut traffic: BTreeMap<(bool, EntityId, EntityId), (f64, f64)> = BTreeMap::new();
    for (k, rate) in w.rate_by(any, &by) {
        let e = traffic.entry(mesh_key(mesh, &by, &k)).or_default();
        e.0 += rate;
        if k.last().is_some_and(|v| mesh.error.is_error(v)) {
            e.1 += rate;
        }
    }
    let lat = latency_quantiles(store, mesh, from, now, q, b)?;

    // Per destination workload: server-side view, falling back to the callers' view.
    let mut per_dst: BTreeMap<EntityId, [(f64, f64); 2]> = BTreeMap::new();
    for ((server, _, dst), (tot, err)) in &traffic {
        let slot = &mut per_dst.entry(dst.clone()).or_default()[usize::from(*server)];
        slot.0 += tot;
        slot.1 += err;
    }
    for (dst, [client, server]) in per_dst {
        let (tot, err) = if server.0 > 0.0 { server } else { client };
        if dst.name.is_empty() || dst.name == "unknown" {
            continue;
        }
        b.signal(dst.clone(), SignalKind::RequestRate, tot);
        let window_s = (now - from) as f64 / 1000.0;
        b.requests.insert(
            dst.clone(),
            RequestCounts {
                total: tot * window_s,
                errors: err * window_s,
            },
        );
        if tot > 0.0 {
            b.signal(dst.clone(), SignalKind::ErrorRatio, err / tot);
        }
        let p = lat
            .get(&(true, None, dst.clone()))
            .or_else(|| lat.get(&(false, None, dst.clone())));
        if let Some(&p) = p {
            b.signal(dst.clone(), SignalKind::LatencyP99, p);
        }
        if let Some(&p) = lat.get(&(false, None, dst.clone())) {
            b.signal(dst, SignalKind::CallerLatencyP99, p);
        }
    }
    // Calling edges: the caller's view (it includes the network), else the server's.
    let mut edges: BTreeMap<(EntityId, EntityId), [(f64, f64); 2]> = BTreeMap::new();
    for ((server, src, dst), v) in traffic {
        edges.entry((src, dst)).or_default()[usize::from(server)] = v;
    }
    for ((src, dst), [client, server]) in edges {
        if src.name.is_empty() || src.name == "unknown" || dst.name.is_empty() {
            continue;
        }
        let use_client = client.0 > 0.0;
        let (tot, err) = if use_client { client } else { server };
        let p99 = lat
            .get(&(!use_client, Some(src.clone()), dst.clone()))
            .copied();
        let e = b.edge(EdgeKind::Calls, src, dst);
        e.rate_per_s = Some(tot);
        e.error_ratio = (tot > 0.0).then(|| err / tot);
        e.p99_ms = p99;
    }
    Ok(())
}

type LatencyKey = (bool, Option<EntityId>, EntityId);

/// Quantile latency in ms per (server view?, optional source, destination).
fn latency_quantiles(
    store: &FrameStore,
    mesh: &MeshConvention,
    from: i64,
    now: i64,
    q: f64,
    b: &mut Builder,
) -> Result<BTreeMap<LatencyKey, f64>, FrameError> {
    let bucket = format!("{}_bucket", mesh.duration);
    let mut by = mesh.labels();
    by.push("le");
    let w = store.window(mesh.duration, from, now, &by)?;
    let inc = w.increase_by(|w, r| w.sample[r] == bucket, &by);
    let mut buckets: BTreeMap<LatencyKey, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
    for (k, v) in inc {
        let Some(le) = k.last().and_then(|l| parse_le(l)) else {
            continue;
        };
        let (server, src, dst) = mesh_key(mesh, &by, &k);
        // Keys ordered by the bound's bits work because bounds are non-negative.
        let slot = le.to_bits();
        buckets
            .entry((server, Some(src), dst.clone()))
            .or_default()
            .entry(slot)
            .or_insert((le, 0.0))
            .1 += v;
        buckets
            .entry((server, None, dst))
            .or_default()
            .entry(slot)
            .or_insert((le, 0.0))
            .1 += v;
    }
    // Per destination: the server-side histogram, else the callers' (for latency SLOs).
    for ((server, src, dst), bs) in &buckets {
        let has_server = buckets.contains_key(&(true, None, dst.clone()));
        if src.is_some() || (!*server && has_server) || dst.name.is_empty() || dst.name == "unknown"
        {
            continue;
        }
        let (bounds_ms, counts) = bs
            .values()
            .map(|&(le, c)| (le * mesh.duration_to_ms, c))
            .unzip();
        b.latency_histograms
            .insert(dst.clone(), HistogramDelta { bounds_ms, counts });
    }
    let mut out = BTreeMap::new();
    for (k, bs) in buckets {
        let list: Vec<(f64, f64)> = bs.into_values().collect();
        if let Some(v) = histogram_quantile(q, &list) {
            out.insert(k, v * mesh.duration_to_ms);
        }
    }
    Ok(out)
}

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => s.parse::<f64>().ok().filter(|v| *v >= 0.0),
    }
}

#[cfg(test)]
mod slo_input_tests {
    use super::super::{ObserveOptions, observe};
    use crate::exposition::{Format, parse};
    use crate::frames::FrameStore;
    use crate::model::EntityId;

    fn scrape(req_ok: u64, req_5xx: u64, le100: u64, le250: u64, all: u64) -> String {
        let l = r#"reporter="destination",source_workload="frontend",source_workload_namespace="shop",destination_workload="cart",destination_workload_namespace="shop""#;
        format!(
            "# TYPE istio_requests_total counter\n\
             istio_requests_total{{{l},response_code=\"200\"}} {req_ok}\n\
             istio_requests_total{{{l},response_code=\"503\"}} {req_5xx}\n\
             # TYPE istio_request_duration_milliseconds histogram\n\
             istio_request_duration_milliseconds_bucket{{{l},le=\"100\"}} {le100}\n\
             istio_request_duration_milliseconds_bucket{{{l},le=\"250\"}} {le250}\n\
             istio_request_duration_milliseconds_bucket{{{l},le=\"+Inf\"}} {all}\n\
             istio_request_duration_milliseconds_sum{{{l}}} 1\n\
             istio_request_duration_milliseconds_count{{{l}}} {all}\n"
        )
    }

    #[test]
    fn request_counts_and_histogram_increases_per_workload() {
        let mut store = FrameStore::new(3_600_000);
        let t0 = 1_700_000_000_000;
        let a = scrape(1000, 10, 500, 900, 1010);
        let b = scrape(1900, 110, 1100, 1700, 2010);
        store
            .append(&parse(&a, Format::Prometheus).unwrap(), t0, &[])
            .unwrap();
        store
            .append(&parse(&b, Format::Prometheus).unwrap(), t0 + 15_000, &[])
            .unwrap();
        let opts = ObserveOptions {
            rate_window_ms: 15_500,
            quantile: 0.99,
            interval_ms: 15_000,
        };
        let obs = observe(&store, t0 + 15_000, opts).unwrap();
        let cart = EntityId::workload("shop", "cart");
        let c = obs.requests[&cart];
        // 1000 new requests of which 100 were 5xx (rate x window, so within extrapolation).
        assert!((1000.0..=1034.0).contains(&c.total), "{c:?}");
        assert!((c.errors / c.total - 0.1).abs() < 1e-9, "{c:?}");
        let h = &obs.latency_histograms[&cart];
        assert_eq!(h.bounds_ms, [100.0, 250.0, f64::INFINITY]);
        let total = h.total();
        assert!(total > 0.0);
        // 600 of 1000 new requests took at most 100 ms: 40% slower.
        assert!(
            (h.slower_than(100.0).unwrap() / total - 0.4).abs() < 1e-9,
            "{h:?}"
        );
    }
}

#[cfg(test)]
mod linkerd_tests {
    use super::super::{Observation, ObserveOptions, observe};
    use crate::exposition::{Format, parse};
    use crate::frames::FrameStore;
    use crate::model::{Edge, EdgeKind, EntityId, SignalKey, SignalKind};

    /// One Linkerd scrape: frontend's outbound series to cart and, with `inbound`, cart's own
    /// inbound series (which do not name the caller). Outbound latency is 100 ms slower.
    fn scrape(ok: u64, failed: u64, fast: u64, inbound: bool) -> String {
        let all = ok + failed;
        let out = r#"direction="outbound",namespace="shop",deployment="frontend",pod="frontend-6b8f9d7c4d-x2k9p",dst_namespace="shop",dst_deployment="cart",authority="cart.shop.svc.cluster.local:7070",tls="true""#;
        let inb = r#"direction="inbound",namespace="shop",deployment="cart",pod="cart-5d4f8c9b7d-abcde",authority="cart.shop.svc.cluster.local:7070",tls="true",client_id="frontend.shop.serviceaccount.identity.linkerd.cluster.local""#;
        let mut s = String::from("# TYPE response_total counter\n");
        let sides: &[(&str, f64)] = if inbound {
            &[(out, 100.0), (inb, 0.0)]
        } else {
            &[(out, 100.0)]
        };
        for (l, _) in sides {
            s += &format!(
                "response_total{{{l},classification=\"success\",status_code=\"200\"}} {ok}\n\
                 response_total{{{l},classification=\"failure\",status_code=\"500\"}} {failed}\n"
            );
        }
        s += "# TYPE response_latency_ms histogram\n";
        for (l, shift) in sides {
            let (b1, b2) = (100.0 + shift, 250.0 + shift);
            s += &format!(
                "response_latency_ms_bucket{{{l},le=\"{b1}\"}} {fast}\n\
                 response_latency_ms_bucket{{{l},le=\"{b2}\"}} {all}\n\
                 response_latency_ms_bucket{{{l},le=\"+Inf\"}} {all}\n\
                 response_latency_ms_sum{{{l}}} 1\n\
                 response_latency_ms_count{{{l}}} {all}\n"
            );
        }
        s
    }

    fn observe_two(inbound: bool) -> Observation {
        let mut store = FrameStore::new(3_600_000);
        let t0 = 1_700_000_000_000;
        for (i, text) in [
            scrape(1000, 10, 500, inbound),
            scrape(1900, 110, 1100, inbound),
        ]
        .iter()
        .enumerate()
        {
            let exp = parse(text, Format::Prometheus).unwrap();
            store.append(&exp, t0 + 15_000 * i as i64, &[]).unwrap();
        }
        let opts = ObserveOptions {
            rate_window_ms: 15_500,
            quantile: 0.99,
            interval_ms: 15_000,
        };
        observe(&store, t0 + 15_000, opts).unwrap()
    }

    fn signal(o: &Observation, wl: &EntityId, kind: SignalKind) -> Option<f64> {
        o.signals
            .get(&SignalKey {
                entity: wl.clone(),
                kind,
            })
            .copied()
    }

    #[test]
    fn outbound_series_make_edges_and_inbound_the_server_view() {
        let o = observe_two(true);
        let (frontend, cart) = (
            EntityId::workload("shop", "frontend"),
            EntityId::workload("shop", "cart"),
        );
        // 1000 responses in 15 s, 100 failures.
        let rate = signal(&o, &cart, SignalKind::RequestRate).unwrap();
        assert!((rate - 1000.0 / 15.0).abs() < 1e-9, "{rate}");
        let err = signal(&o, &cart, SignalKind::ErrorRatio).unwrap();
        assert!((err - 0.1).abs() < 1e-9, "{err}");
        // Server view: 99th percentile of 600 in (100, 250] after 400 at most 100 ms.
        let p99 = signal(&o, &cart, SignalKind::LatencyP99).unwrap();
        assert!((p99 - (100.0 + 150.0 * (990.0 - 600.0) / 400.0)).abs() < 1e-9);
        let caller = signal(&o, &cart, SignalKind::CallerLatencyP99).unwrap();
        assert!((caller - (p99 + 100.0)).abs() < 1e-9, "{caller} vs {p99}");
        let calls: Vec<&Edge> = o
            .topology
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Calls)
            .collect();
        assert_eq!(calls.len(), 1, "{calls:?}");
        let e = calls[0];
        assert_eq!((&e.from, &e.to), (&frontend, &cart));
        assert!((e.error_ratio.unwrap() - 0.1).abs() < 1e-9);
        assert_eq!(e.p99_ms, Some(caller));
        assert!(!o.topology.entities.iter().any(|x| x.name.is_empty()));
        let c = o.requests[&cart];
        assert!((c.errors / c.total - 0.1).abs() < 1e-9, "{c:?}");
        // The SLO histogram is the server's (bounds unshifted).
        assert_eq!(
            o.latency_histograms[&cart].bounds_ms,
            [100.0, 250.0, f64::INFINITY]
        );
        assert!(!o.requests.contains_key(&frontend));
    }

    #[test]
    fn without_inbound_series_the_callers_view_is_used() {
        let o = observe_two(false);
        let cart = EntityId::workload("shop", "cart");
        let err = signal(&o, &cart, SignalKind::ErrorRatio).unwrap();
        assert!((err - 0.1).abs() < 1e-9, "{err}");
        let p99 = signal(&o, &cart, SignalKind::LatencyP99).unwrap();
        assert_eq!(Some(p99), signal(&o, &cart, SignalKind::CallerLatencyP99));
        assert_eq!(
            o.latency_histograms[&cart].bounds_ms,
            [200.0, 350.0, f64::INFINITY]
        );
    }
}
