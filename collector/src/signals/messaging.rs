//! The messaging family: produces/consumes edges from the apps' messaging metrics, Kafka
//! (consumer lag, messages in, under-replicated partitions), RabbitMQ (queues and their
//! consumers) and NATS (servers, JetStream streams and consumers), with each edge's backlog.

use super::{Builder, any, counter_window, first_window, max, sum};
use crate::conventions::{self, kafka, messaging, nats, rabbitmq};
use crate::frames::{FrameError, FrameStore, Window};
use crate::model::{Edge, EdgeKind, EntityId, EntityKind, SignalKind};
use std::collections::BTreeMap;

/// Produces/consumes edges, consumer lag and queue depth.
pub(super) fn messaging_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let dest = |system: &str, name: &str| {
        let kind = if conventions::destination_is_topic(system) {
            EntityKind::Topic
        } else {
            EntityKind::Queue
        };
        EntityId::new(kind, "", name)
    };
    let by = [
        "namespace",
        messaging::WORKLOAD,
        messaging::SYSTEM,
        messaging::DESTINATION,
    ];
    let sent = store.window(messaging::SENT, from, now, &by)?;
    for (k, rate) in sent.rate_by(any, &by) {
        let e = b.edge(
            EdgeKind::Produces,
            EntityId::workload(&k[0], &k[1]),
            dest(&k[2], &k[3]),
        );
        e.rate_per_s = Some(rate);
    }
    // Consumers: keep every series, even one with a single sample (a new consumer).
    let by = [
        "namespace",
        messaging::WORKLOAD,
        messaging::SYSTEM,
        messaging::DESTINATION,
        messaging::GROUP,
    ];
    let consumed = store.window(messaging::CONSUMED, from, now, &by)?;
    let rates = consumed.rate_by(any, &by);
    let mut group_owner: BTreeMap<(String, String), EntityId> = BTreeMap::new();
    for (k, _) in consumed.latest_by(any, &by, max) {
        let wl = EntityId::workload(&k[0], &k[1]);
        let e = b.edge(EdgeKind::Consumes, wl.clone(), dest(&k[2], &k[3]));
        e.rate_per_s = rates.get(&k).copied().or(e.rate_per_s);
        group_owner.insert((k[3].clone(), k[4].clone()), wl);
    }
    kafka_signals(store, from, now, &group_owner, b)?;
    rabbitmq_signals(store, from, now, b)?;
    Ok(())
}

/// A consumer seen this long ago still has its `consumes` edge (with no consumption): a
/// consumer that crashed is the most common reason a queue grows.
pub const CONSUMER_MEMORY_MS: i64 = 10 * 60_000;

/// A gauge series whose newest sample is this much older than the window's newest is gone
/// (PromQL staleness, as [`Window::latest_by`]).
const STALE_MS: i64 = 60_000;

/// Newest value of each gauge series and its growth per second over the window (`None` with
/// a single sample), each summed by the `by` labels.
fn level_and_growth(w: &Window, by: &[&str]) -> BTreeMap<Vec<String>, (f64, Option<f64>)> {
    let newest = w.ts.iter().copied().max().unwrap_or(0);
    let mut out: BTreeMap<Vec<String>, (f64, Option<f64>)> = BTreeMap::new();
    for rows in w.series(any) {
        let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
            continue;
        };
        if newest - w.ts[last] > STALE_MS || !w.value[last].is_finite() {
            continue;
        }
        let key = by.iter().map(|l| w.label(last, l).to_owned()).collect();
        let span_s = (w.ts[last] - w.ts[first]) as f64 / 1000.0;
        let growth = (span_s > 0.0 && w.value[first].is_finite())
            .then(|| (w.value[last] - w.value[first]) / span_s);
        let e = out.entry(key).or_insert((0.0, None));
        e.0 += w.value[last];
        if let Some(g) = growth {
            e.1 = Some(e.1.unwrap_or(0.0) + g);
        }
    }
    out
}

fn set_backlog(e: &mut Edge, (level, growth): (f64, Option<f64>)) {
    e.backlog = Some(level);
    e.backlog_growth_per_s = growth;
}

/// Consumer lag per group (on the group's workload, else on the topic), messages in and
/// under-replicated partitions per topic (kafka_exporter) and per broker (Strimzi).
fn kafka_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    group_owner: &BTreeMap<(String, String), EntityId>,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let topic = |name: &str| EntityId::new(EntityKind::Topic, "", name);
    let by = [kafka::TOPIC, kafka::GROUP];
    let lag = store.window(kafka::LAG, from, now, &by)?;
    let consumed = store
        .window(kafka::GROUP_OFFSET, from, now, &by)?
        .rate_by(any, &by);
    for (k, level) in level_and_growth(&lag, &by) {
        match group_owner.get(&(k[0].clone(), k[1].clone())) {
            Some(wl) => {
                b.signal(wl.clone(), SignalKind::ConsumerLag, level.0);
                set_backlog(b.edge(EdgeKind::Consumes, wl.clone(), topic(&k[0])), level);
            }
            None => {
                b.signal(topic(&k[0]), SignalKind::ConsumerLag, level.0);
                if !k[1].is_empty() {
                    let group = EntityId::new(EntityKind::ConsumerGroup, "", &k[1]);
                    let e = b.edge(EdgeKind::Consumes, group, topic(&k[0]));
                    set_backlog(e, level);
                    e.rate_per_s = consumed.get(&k).copied().or(e.rate_per_s);
                }
            }
        }
    }
    let ins = store.window(kafka::TOPIC_OFFSET, from, now, &[kafka::TOPIC])?;
    let mut messages_in = ins.rate_by(any, &[kafka::TOPIC]);
    let strimzi_by = [&[kafka::TOPIC][..], kafka::BROKER_LABELS].concat();
    let strimzi = store.window(kafka::STRIMZI_MESSAGES_IN, from, now, &strimzi_by)?;
    for (k, v) in strimzi.rate_by(any, &strimzi_by) {
        if k[0].is_empty() {
            b.signal(broker_of(&k[1..]), SignalKind::PublishRate, v);
        } else if ins.is_empty() {
            // Per topic, unless kafka_exporter's offsets already give the topic's messages in.
            *messages_in.entry(vec![k[0].clone()]).or_insert(0.0) += v;
        }
    }
    for (k, v) in messages_in {
        b.signal(topic(&k[0]), SignalKind::PublishRate, v);
    }
    let ur = store.window(kafka::UNDER_REPLICATED, from, now, &[kafka::TOPIC])?;
    for (k, v) in ur.latest_by(any, &[kafka::TOPIC], sum) {
        b.signal(topic(&k[0]), SignalKind::UnderReplicatedPartitions, v);
    }
    let ur = store.window(
        kafka::STRIMZI_UNDER_REPLICATED,
        from,
        now,
        kafka::BROKER_LABELS,
    )?;
    for (k, v) in ur.latest_by(any, kafka::BROKER_LABELS, sum) {
        b.signal(broker_of(&k), SignalKind::UnderReplicatedPartitions, v);
    }
    Ok(())
}

/// A Kafka broker from the first non-empty of [`kafka::BROKER_LABELS`]' values.
fn broker_of(values: &[String]) -> EntityId {
    let name = values.iter().find(|v| !v.is_empty()).map_or("kafka", |v| v);
    EntityId::new(EntityKind::Broker, "", name)
}

/// Queue depth, unacked messages, consumers and message rates per queue (prometheus plugin or
/// management API); the management API's consumers become `consumes` edges with the queue's
/// backlog, kept for [`CONSUMER_MEMORY_MS`] after the consumer went away.
fn rabbitmq_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let queue = |name: &str| EntityId::new(EntityKind::Queue, "", name);
    let by = [rabbitmq::QUEUE];
    let ready = first_window(
        store,
        &[rabbitmq::READY, rabbitmq::DETAILED_READY],
        from,
        now,
        &by,
    )?;
    let depth = level_and_growth(&ready, &by);
    for (k, (v, _)) in &depth {
        b.signal(queue(&k[0]), SignalKind::QueueDepth, *v);
    }
    let unacked = first_window(
        store,
        &[rabbitmq::UNACKED, rabbitmq::DETAILED_UNACKED],
        from,
        now,
        &by,
    )?;
    for (k, v) in unacked.latest_by(any, &by, sum) {
        b.signal(queue(&k[0]), SignalKind::MessagesUnacked, v);
    }
    let consumers = first_window(
        store,
        &[rabbitmq::CONSUMERS, rabbitmq::DETAILED_CONSUMERS],
        from,
        now,
        &by,
    )?;
    for (k, v) in consumers.latest_by(any, &by, sum) {
        b.signal(queue(&k[0]), SignalKind::Consumers, v);
    }
    let published = store.window(rabbitmq::PUBLISHED, from, now, &by)?;
    for (k, v) in published.rate_by(any, &by) {
        b.signal(queue(&k[0]), SignalKind::PublishRate, v);
    }
    let delivered = store
        .window(rabbitmq::DELIVERED, from, now, &by)?
        .rate_by(any, &by);
    for (k, v) in &delivered {
        b.signal(queue(&k[0]), SignalKind::DeliverRate, *v);
    }
    // Consumers named by the management API, remembered for a while after they went.
    let cby = [rabbitmq::QUEUE, rabbitmq::CONSUMER];
    let seen = store.window(rabbitmq::CONSUMER_INFO, now - CONSUMER_MEMORY_MS, now, &cby)?;
    let newest = ready
        .ts
        .iter()
        .chain(&seen.ts)
        .copied()
        .max()
        .unwrap_or(now);
    let mut last_seen: BTreeMap<(String, String), i64> = BTreeMap::new();
    for rows in seen.series(any) {
        let Some(&last) = rows.last() else { continue };
        let key = (
            seen.label(last, rabbitmq::QUEUE).to_owned(),
            seen.label(last, rabbitmq::CONSUMER).to_owned(),
        );
        let t = last_seen.entry(key).or_insert(i64::MIN);
        *t = (*t).max(seen.ts[last]);
    }
    let mut present: BTreeMap<&str, f64> = BTreeMap::new();
    for ((q, _), &ts) in &last_seen {
        if ts >= newest {
            *present.entry(q.as_str()).or_insert(0.0) += 1.0;
        }
    }
    for ((q, c), &ts) in &last_seen {
        if q.is_empty() || c.is_empty() {
            continue;
        }
        let key = vec![q.clone()];
        let rate = if ts >= newest {
            // The queue's deliveries, shared among its present consumers.
            delivered
                .get(&key)
                .map(|r| r / present.get(q.as_str()).copied().unwrap_or(1.0))
        } else {
            Some(0.0)
        };
        let e = b.edge(
            EdgeKind::Consumes,
            EntityId::new(EntityKind::ConsumerGroup, "", c),
            queue(q),
        );
        e.rate_per_s = rate;
        if let Some(&level) = depth.get(&key) {
            set_backlog(e, level);
        }
    }
    // Every edge into a queue (producers and consumers from the apps' messaging metrics
    // too) carries the queue's backlog.
    for ((kind, _, to), e) in b.edges.iter_mut() {
        if to.kind == EntityKind::Queue
            && matches!(kind, EdgeKind::Produces | EdgeKind::Consumes)
            && e.backlog.is_none()
            && let Some(&level) = depth.get(std::slice::from_ref(&to.name))
        {
            set_backlog(e, level);
        }
    }
    Ok(())
}

/// NATS servers (connections, messages in and out), JetStream streams (as topics: messages
/// in, consumers) and their consumers (pending = consumer lag, ack pending), with a
/// `consumes` edge per consumer carrying its pending count.
pub(super) fn nats_signals(
    store: &FrameStore,
    from: i64,
    now: i64,
    b: &mut Builder,
) -> Result<(), FrameError> {
    let server = |name: &str| EntityId::new(EntityKind::Broker, "", name);
    let stream = |name: &str| EntityId::new(EntityKind::Topic, "", name);
    let by = [nats::SERVER];
    let conns = store.window(nats::CONNECTIONS, from, now, &by)?;
    for (k, v) in conns.latest_by(any, &by, sum) {
        b.signal(server(&k[0]), SignalKind::Connections, v);
    }
    for (family, kind) in [
        (nats::IN_MSGS, SignalKind::PublishRate),
        (nats::OUT_MSGS, SignalKind::DeliverRate),
    ] {
        let w = counter_window(store, family, from, now, &by)?;
        for (k, v) in w.rate_by(any, &by) {
            b.signal(server(&k[0]), kind, v);
        }
    }
    let by = [nats::STREAM];
    let last_seq = counter_window(store, nats::STREAM_LAST_SEQ, from, now, &by)?;
    for (k, v) in last_seq.rate_by(any, &by) {
        b.signal(stream(&k[0]), SignalKind::PublishRate, v);
    }
    let n = store.window(nats::STREAM_CONSUMERS, from, now, &by)?;
    for (k, v) in n.latest_by(any, &by, sum) {
        b.signal(stream(&k[0]), SignalKind::Consumers, v);
    }
    let by = [nats::STREAM, nats::CONSUMER];
    let consumer =
        |k: &[String]| EntityId::new(EntityKind::ConsumerGroup, "", format!("{}@{}", k[1], k[0]));
    let delivered =
        counter_window(store, nats::CONSUMER_DELIVERED, from, now, &by)?.rate_by(any, &by);
    let pending = store.window(nats::CONSUMER_PENDING, from, now, &by)?;
    for (k, level) in level_and_growth(&pending, &by) {
        if k[0].is_empty() || k[1].is_empty() {
            continue;
        }
        b.signal(consumer(&k), SignalKind::ConsumerLag, level.0);
        let e = b.edge(EdgeKind::Consumes, consumer(&k), stream(&k[0]));
        set_backlog(e, level);
        e.rate_per_s = delivered.get(&k).copied().or(e.rate_per_s);
    }
    let ack = store.window(nats::CONSUMER_ACK_PENDING, from, now, &by)?;
    for (k, v) in ack.latest_by(any, &by, sum) {
        if !k[0].is_empty() && !k[1].is_empty() {
            b.signal(consumer(&k), SignalKind::MessagesUnacked, v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{T0, edge, observe_texts, sig};
    use crate::model::{EdgeKind, EntityId, EntityKind, SignalKind};

    fn kafka(lag: [u64; 2], group_offset: u64, topic_offset: u64, messages_in: u64) -> String {
        format!(
            "# TYPE kafka_consumergroup_lag gauge\n\
             kafka_consumergroup_lag{{consumergroup=\"billing\",topic=\"orders\",partition=\"0\"}} {}\n\
             kafka_consumergroup_lag{{consumergroup=\"billing\",topic=\"orders\",partition=\"1\"}} {}\n\
             # TYPE kafka_consumergroup_current_offset gauge\n\
             kafka_consumergroup_current_offset{{consumergroup=\"billing\",topic=\"orders\",partition=\"0\"}} {group_offset}\n\
             # TYPE kafka_topic_partition_current_offset gauge\n\
             kafka_topic_partition_current_offset{{topic=\"orders\",partition=\"0\"}} {topic_offset}\n\
             # TYPE kafka_topic_partition_under_replicated_partition gauge\n\
             kafka_topic_partition_under_replicated_partition{{topic=\"orders\",partition=\"0\"}} 1\n\
             kafka_topic_partition_under_replicated_partition{{topic=\"orders\",partition=\"1\"}} 0\n\
             # TYPE kafka_server_replicamanager_underreplicatedpartitions gauge\n\
             kafka_server_replicamanager_underreplicatedpartitions{{pod=\"kafka-0\"}} 2\n\
             # TYPE kafka_server_brokertopicmetrics_messagesin_total counter\n\
             kafka_server_brokertopicmetrics_messagesin_total{{pod=\"kafka-0\"}} {messages_in}\n",
            lag[0], lag[1]
        )
    }

    #[test]
    fn kafka_lag_per_group_is_the_backlog_of_its_consumes_edge() {
        let o = observe_texts(&[
            (T0, kafka([100, 50], 1000, 1100, 5000)),
            (T0 + 15_000, kafka([130, 80], 1000, 1400, 5300)),
        ]);
        let topic = EntityId::new(EntityKind::Topic, "", "orders");
        let group = EntityId::new(EntityKind::ConsumerGroup, "", "billing");
        let e = edge(&o, EdgeKind::Consumes, &group, &topic);
        assert_eq!(e.backlog, Some(210.0));
        assert!(
            (e.backlog_growth_per_s.unwrap() - 4.0).abs() < 1e-9,
            "{e:?}"
        );
        assert_eq!(e.rate_per_s, Some(0.0));
        assert_eq!(sig(&o, &topic, SignalKind::ConsumerLag), Some(210.0));
        assert_eq!(sig(&o, &topic, SignalKind::PublishRate), Some(20.0));
        assert_eq!(
            sig(&o, &topic, SignalKind::UnderReplicatedPartitions),
            Some(1.0)
        );
        let broker = EntityId::new(EntityKind::Broker, "", "kafka-0");
        assert_eq!(
            sig(&o, &broker, SignalKind::UnderReplicatedPartitions),
            Some(2.0)
        );
        assert_eq!(sig(&o, &broker, SignalKind::PublishRate), Some(20.0));
    }

    fn rabbit(ready: u64, delivered: u64, consumer: bool) -> String {
        let l = r#"vhost="/",queue="orders""#;
        let mut s = format!(
            "# TYPE rabbitmq_queue_messages_ready gauge\nrabbitmq_queue_messages_ready{{{l}}} {ready}\n\
             # TYPE rabbitmq_queue_messages_unacked gauge\nrabbitmq_queue_messages_unacked{{{l}}} 2\n\
             # TYPE rabbitmq_queue_consumers gauge\nrabbitmq_queue_consumers{{{l}}} {}\n\
             # TYPE rabbitmq_queue_messages_delivered_total counter\nrabbitmq_queue_messages_delivered_total{{{l}}} {delivered}\n",
            u8::from(consumer)
        );
        if consumer {
            s += &format!(
                "# TYPE rabbitmq_queue_consumer_info gauge\nrabbitmq_queue_consumer_info{{{l},consumer=\"worker\"}} 1\n"
            );
        }
        s
    }

    #[test]
    fn a_rabbitmq_consumer_that_went_keeps_its_edge_with_no_consumption() {
        let queue = EntityId::new(EntityKind::Queue, "", "orders");
        let worker = EntityId::new(EntityKind::ConsumerGroup, "", "worker");
        let draining = observe_texts(&[
            (T0, rabbit(0, 100, true)),
            (T0 + 5_000, rabbit(0, 150, true)),
        ]);
        let e = edge(&draining, EdgeKind::Consumes, &worker, &queue);
        assert_eq!(e.rate_per_s, Some(10.0));
        assert_eq!(e.backlog, Some(0.0));
        let o = observe_texts(&[
            (T0, rabbit(0, 100, true)),
            (T0 + 5_000, rabbit(0, 150, true)),
            (T0 + 10_000, rabbit(40, 150, false)),
            (T0 + 15_000, rabbit(80, 150, false)),
        ]);
        let e = edge(&o, EdgeKind::Consumes, &worker, &queue);
        assert_eq!(e.rate_per_s, Some(0.0), "{e:?}");
        assert_eq!(e.backlog, Some(80.0));
        assert!((e.backlog_growth_per_s.unwrap() - 80.0 / 15.0).abs() < 1e-9);
        assert_eq!(sig(&o, &queue, SignalKind::QueueDepth), Some(80.0));
        assert_eq!(sig(&o, &queue, SignalKind::MessagesUnacked), Some(2.0));
        assert_eq!(sig(&o, &queue, SignalKind::Consumers), Some(0.0));
        // The queue's deliveries over the window still include the drained part.
        let delivered = sig(&o, &queue, SignalKind::DeliverRate).unwrap();
        assert!((delivered - 50.0 / 15.0).abs() < 1e-9, "{delivered}");
    }
}
