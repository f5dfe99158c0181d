//! The nodes family: CPU busy and memory available per node, from node_exporter.

use super::{Builder, any, sum};
use crate::conventions::node;
use crate::frames::{FrameError, FrameStore};
use crate::model::{EntityId, EntityKind, SignalKind};
use std::collections::BTreeMap;

pub(super) fn node_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let cpu = store.window(node::CPU, from, now, &["instance", "mode"])?;
    let mut busy: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (k, v) in cpu.rate_by(any, &["instance", "mode"]) {
        let e = busy.entry(k[0].clone()).or_default();
        e.0 += v;
        if k[1] == "idle" {
            e.1 += v;
        }
    }
    for (inst, (total, idle)) in busy {
        if total > 0.0 {
            b.signal(
                EntityId::new(EntityKind::Node, "", node_name(&inst)),
                SignalKind::NodeCpuBusy,
                1.0 - idle / total,
            );
        }
    }
    let mem = store.window(node::MEM_AVAILABLE, from, now, &["instance"])?;
    for (k, v) in mem.latest_by(any, &["instance"], sum) {
        b.signal(
            EntityId::new(EntityKind::Node, "", node_name(&k[0])),
            SignalKind::NodeMemAvailable,
            v,
        );
    }
    Ok(())
}

/// node_exporter's `instance` is often `host:port`; the node is the host part.
fn node_name(instance: &str) -> &str {
    match instance.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => instance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names() {
        assert_eq!(node_name("node-a:9100"), "node-a");
        assert_eq!(node_name("node-a"), "node-a");
    }
}
