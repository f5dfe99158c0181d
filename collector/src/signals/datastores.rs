//! The datastores family: Redis and PostgreSQL servers from their exporters.

use super::{Builder, any, counter_window, first_window, max, sum};
use crate::conventions::{self, postgres, redis};
use crate::frames::{FrameError, FrameStore};
use crate::model::{EntityId, EntityKind, SignalKind};
use std::collections::{BTreeMap, BTreeSet};

/// Redis and PostgreSQL servers from their exporters: up, connections, operations or
/// transactions per second, memory, replication lag. A server is named
/// `<system>@<address>`: the `instance` label (the scraped exporter's address, which Prometheus
/// and a direct scrape both add), else the exporter's own (Redis: `:<tcp_port>`, PostgreSQL:
/// `server`).
pub(super) fn datastore_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let ds = |system: &str, addr: &str| {
        let name = if addr.is_empty() {
            system.to_owned()
        } else {
            format!("{system}@{addr}")
        };
        EntityId::new(EntityKind::Datastore, "", name)
    };
    // Redis.
    let inst = [conventions::INSTANCE];
    let info = store.window(
        redis::INFO,
        from,
        now,
        &[conventions::INSTANCE, redis::PORT],
    )?;
    let mut ports: BTreeMap<String, String> = BTreeMap::new();
    for (k, _) in info.latest_by(any, &[conventions::INSTANCE, redis::PORT], max) {
        ports.insert(k[0].clone(), k[1].clone());
    }
    let redis_of = |instance: &str| {
        if !instance.is_empty() {
            ds(redis::SYSTEM, instance)
        } else {
            match ports.get("") {
                Some(p) if !p.is_empty() => ds(redis::SYSTEM, &format!(":{p}")),
                _ => ds(redis::SYSTEM, ""),
            }
        }
    };
    for (family, kind, up) in [
        (redis::UP, SignalKind::ServiceDown, true),
        (redis::CLIENTS, SignalKind::Connections, false),
        (redis::MEMORY, SignalKind::MemoryBytes, false),
    ] {
        let w = store.window(family, from, now, &inst)?;
        for (k, v) in w.latest_by(any, &inst, sum) {
            b.signal(redis_of(&k[0]), kind, if up { down(v) } else { v });
        }
    }
    let w = store.window(redis::COMMANDS, from, now, &inst)?;
    for (k, v) in w.rate_by(any, &inst) {
        b.signal(redis_of(&k[0]), SignalKind::OpsRate, v);
    }
    let w = store.window(redis::REPLICA_LAG, from, now, &inst)?;
    for (k, v) in w.latest_by(any, &inst, max) {
        b.signal(redis_of(&k[0]), SignalKind::ReplicationLag, v);
    }
    // PostgreSQL: per server, summed over its databases.
    let by = [conventions::INSTANCE, postgres::SERVER];
    let addr = |k: &[String]| {
        if k[0].is_empty() {
            k[1].clone()
        } else {
            k[0].clone()
        }
    };
    let backends = store.window(postgres::BACKENDS, from, now, &by)?;
    let mut servers: BTreeSet<String> = BTreeSet::new();
    for (k, v) in backends.latest_by(any, &by, sum) {
        servers.insert(addr(&k));
        b.signal(ds(postgres::SYSTEM, &addr(&k)), SignalKind::Connections, v);
    }
    let mut tx: BTreeMap<String, f64> = BTreeMap::new();
    for family in [postgres::COMMITS, postgres::ROLLBACKS] {
        let w = counter_window(store, family, from, now, &by)?;
        for (k, v) in w.rate_by(any, &by) {
            *tx.entry(addr(&k)).or_insert(0.0) += v;
        }
    }
    for (a, v) in tx {
        b.signal(ds(postgres::SYSTEM, &a), SignalKind::TransactionRate, v);
    }
    let lag = first_window(store, postgres::REPLICATION_LAG, from, now, &by)?;
    for (k, v) in lag.latest_by(any, &by, max) {
        b.signal(
            ds(postgres::SYSTEM, &addr(&k)),
            SignalKind::ReplicationLag,
            v,
        );
    }
    // `pg_up` carries no server label: it speaks for the servers its exporter reports.
    let up = store.window(postgres::UP, from, now, &by)?;
    for (k, v) in up.latest_by(any, &by, sum) {
        let a = addr(&k);
        if a.is_empty() && !servers.is_empty() {
            for s in &servers {
                b.signal(ds(postgres::SYSTEM, s), SignalKind::ServiceDown, down(v));
            }
        } else {
            b.signal(ds(postgres::SYSTEM, &a), SignalKind::ServiceDown, down(v));
        }
    }
    Ok(())
}

/// An exporter's `up` (1 reachable) as [`SignalKind::ServiceDown`] (1 down).
fn down(up: f64) -> f64 {
    if up >= 0.5 { 0.0 } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{T0, observe_texts, sig};
    use crate::model::{EntityId, EntityKind, SignalKind};

    fn datastores(commands: u64, commits: u64, up: u8) -> String {
        format!(
            "# TYPE redis_up gauge\nredis_up {up}\n\
             # TYPE redis_instance_info gauge\nredis_instance_info{{role=\"master\",tcp_port=\"6379\"}} 1\n\
             # TYPE redis_connected_clients gauge\nredis_connected_clients 7\n\
             # TYPE redis_commands_processed_total counter\nredis_commands_processed_total {commands}\n\
             # TYPE redis_memory_used_bytes gauge\nredis_memory_used_bytes 1048576\n\
             # TYPE redis_connected_slave_lag_seconds gauge\nredis_connected_slave_lag_seconds{{slave_ip=\"10.0.0.2\",slave_port=\"6379\"}} 3\n\
             # TYPE pg_up gauge\npg_up 1\n\
             # TYPE pg_stat_database_numbackends gauge\n\
             pg_stat_database_numbackends{{datname=\"shop\",server=\"db:5432\"}} 5\n\
             pg_stat_database_numbackends{{datname=\"postgres\",server=\"db:5432\"}} 1\n\
             # TYPE pg_stat_database_xact_commit counter\n\
             pg_stat_database_xact_commit{{datname=\"shop\",server=\"db:5432\"}} {commits}\n\
             # TYPE pg_stat_database_xact_rollback counter\n\
             pg_stat_database_xact_rollback{{datname=\"shop\",server=\"db:5432\"}} 10\n\
             # TYPE pg_replication_lag gauge\npg_replication_lag{{server=\"db:5432\"}} 1.5\n"
        )
    }

    #[test]
    fn redis_and_postgres_exporters_make_datastores() {
        let o = observe_texts(&[
            (T0, datastores(1000, 500, 1)),
            (T0 + 10_000, datastores(1500, 800, 0)),
        ]);
        let redis = EntityId::new(EntityKind::Datastore, "", "redis@:6379");
        assert_eq!(sig(&o, &redis, SignalKind::Connections), Some(7.0));
        assert_eq!(sig(&o, &redis, SignalKind::OpsRate), Some(50.0));
        assert_eq!(sig(&o, &redis, SignalKind::MemoryBytes), Some(1_048_576.0));
        assert_eq!(sig(&o, &redis, SignalKind::ReplicationLag), Some(3.0));
        assert_eq!(sig(&o, &redis, SignalKind::ServiceDown), Some(1.0));
        let pg = EntityId::new(EntityKind::Datastore, "", "postgres@db:5432");
        assert_eq!(sig(&o, &pg, SignalKind::Connections), Some(6.0));
        assert_eq!(sig(&o, &pg, SignalKind::TransactionRate), Some(30.0));
        assert_eq!(sig(&o, &pg, SignalKind::ReplicationLag), Some(1.5));
        assert_eq!(sig(&o, &pg, SignalKind::ServiceDown), Some(0.0));
    }
}
