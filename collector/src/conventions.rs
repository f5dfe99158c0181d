//! Which metric names and labels mean what. Every exporter convention the collector
//! understands is data here, not string literals scattered through the code.

/// The labels naming caller and server in one side's (proxy's) view of a request. An empty name
/// means the side does not label that party (e.g. Linkerd's inbound metrics have no caller
/// workload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeshSide {
    /// Value of [`MeshConvention::side_label`] for this side.
    pub value: &'static str,
    /// Caller workload's namespace label.
    pub source_namespace: &'static str,
    /// Caller workload label.
    pub source_workload: &'static str,
    /// Server workload's namespace label.
    pub destination_namespace: &'static str,
    /// Server workload label.
    pub destination_workload: &'static str,
}

/// How a failed request is recognised on the request counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorRule {
    /// The error label holds an HTTP status code; 5xx is an error.
    ServerErrorStatus,
    /// The error label has this value (e.g. Linkerd's `classification="failure"`).
    Equals(&'static str),
}

impl ErrorRule {
    /// Whether a series with `value` in the error label counts as errors.
    pub fn is_error(&self, value: &str) -> bool {
        match self {
            Self::ServerErrorStatus => value.len() == 3 && value.starts_with('5'),
            Self::Equals(v) => value == *v,
        }
    }
}

/// A service mesh's request metrics: which families count requests and time them, which label
/// tells the server's proxy from the caller's, how each side names the two workloads and how an
/// error is recognised.
#[derive(Debug, Clone, Copy)]
pub struct MeshConvention {
    /// Short name (`istio`, `linkerd`).
    pub name: &'static str,
    /// Counter family of requests (answered); every series counts towards the total.
    pub requests: &'static str,
    /// Label of [`Self::requests`] that [`Self::error`] is applied to.
    pub error_label: &'static str,
    /// How an error series is recognised.
    pub error: ErrorRule,
    /// Latency histogram family (`_bucket`, `_sum`, `_count` samples).
    pub duration: &'static str,
    /// Multiplier from the histogram's unit to milliseconds.
    pub duration_to_ms: f64,
    /// Label telling which proxy reported the series.
    pub side_label: &'static str,
    /// The server's proxy (inbound) view.
    pub server: MeshSide,
    /// The caller's proxy (outbound) view. A series whose side label is not the server's value
    /// counts as the caller's.
    pub client: MeshSide,
}

impl MeshConvention {
    /// Every label of the request and duration families this convention reads, without
    /// duplicates, side label first.
    pub fn labels(&self) -> Vec<&'static str> {
        let mut out = vec![self.side_label];
        for side in [&self.client, &self.server] {
            for l in [
                side.source_namespace,
                side.source_workload,
                side.destination_namespace,
                side.destination_workload,
            ] {
                if !l.is_empty() && !out.contains(&l) {
                    out.push(l);
                }
            }
        }
        out
    }
}

const ISTIO_SIDE: MeshSide = MeshSide {
    value: "",
    source_namespace: "source_workload_namespace",
    source_workload: "source_workload",
    destination_namespace: "destination_workload_namespace",
    destination_workload: "destination_workload",
};

/// Istio's standard metrics: both proxies label both workloads; `reporter` tells them apart.
pub const ISTIO: MeshConvention = MeshConvention {
    name: "istio",
    requests: "istio_requests_total",
    error_label: "response_code",
    error: ErrorRule::ServerErrorStatus,
    duration: "istio_request_duration_milliseconds",
    duration_to_ms: 1.0,
    side_label: "reporter",
    server: MeshSide {
        value: "destination",
        ..ISTIO_SIDE
    },
    client: MeshSide {
        value: "source",
        ..ISTIO_SIDE
    },
};

/// Linkerd's proxy metrics (with the usual Prometheus pod relabelling to `namespace` and
/// `deployment`): responses by `classification`, inbound series carry only the server's own
/// workload, outbound series the caller's own and the `dst_*` server.
pub const LINKERD: MeshConvention = MeshConvention {
    name: "linkerd",
    requests: "response_total",
    error_label: "classification",
    error: ErrorRule::Equals("failure"),
    duration: "response_latency_ms",
    duration_to_ms: 1.0,
    side_label: "direction",
    server: MeshSide {
        value: "inbound",
        source_namespace: "",
        source_workload: "",
        destination_namespace: "namespace",
        destination_workload: "deployment",
    },
    client: MeshSide {
        value: "outbound",
        source_namespace: "namespace",
        source_workload: "deployment",
        destination_namespace: "dst_namespace",
        destination_workload: "dst_deployment",
    },
};

/// The meshes understood, tried in order.
pub const MESHES: &[MeshConvention] = &[ISTIO, LINKERD];

/// kube-state-metrics.
pub mod ksm {
    pub const POD_INFO: &str = "kube_pod_info";
    pub const RESTARTS: &str = "kube_pod_container_status_restarts_total";
    pub const LAST_TERMINATED: &str = "kube_pod_container_status_last_terminated_reason";
    pub const DEPLOY_SPEC: &str = "kube_deployment_spec_replicas";
    pub const DEPLOY_AVAILABLE: &str = "kube_deployment_status_replicas_available";
    /// Containers waiting to start, with `reason` (CrashLoopBackOff, ImagePullBackOff, ...).
    pub const WAITING: &str = "kube_pod_container_status_waiting_reason";
    /// ReplicaSet -> owning Deployment (`owner_kind`, `owner_name`).
    pub const RS_OWNER: &str = "kube_replicaset_owner";
    /// ReplicaSet creation time, Unix seconds.
    pub const RS_CREATED: &str = "kube_replicaset_created";
    /// Pod -> owner (`owner_kind`, `owner_name`).
    pub const POD_OWNER: &str = "kube_pod_owner";
    /// Per container: `image`.
    pub const CONTAINER_INFO: &str = "kube_pod_container_info";
}

/// Waiting reasons that mean a container cannot start (not the normal `ContainerCreating` of
/// a rollout or a scale-up).
pub const TROUBLE_WAITING_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
];

/// cAdvisor (kubelet) container metrics.
pub mod cadvisor {
    pub const CPU: &str = "container_cpu_usage_seconds_total";
    pub const MEMORY: &str = "container_memory_working_set_bytes";
    /// CFS periods in which the container was throttled.
    pub const THROTTLED_PERIODS: &str = "container_cpu_cfs_throttled_periods_total";
    /// CFS periods elapsed while the container was runnable.
    pub const PERIODS: &str = "container_cpu_cfs_periods_total";
}

/// node_exporter.
pub mod node {
    pub const CPU: &str = "node_cpu_seconds_total";
    pub const MEM_AVAILABLE: &str = "node_memory_MemAvailable_bytes";
}

/// kafka_exporter (danielqsj/kafka_exporter) and Strimzi's Kafka JMX metrics.
pub mod kafka {
    /// Per consumer group, topic and partition: log end offset minus committed offset.
    pub const LAG: &str = "kafka_consumergroup_lag";
    /// Per consumer group, topic and partition: the committed offset (its rate is what the
    /// group consumes).
    pub const GROUP_OFFSET: &str = "kafka_consumergroup_current_offset";
    /// Per topic and partition: the log end offset (its rate is the messages in).
    pub const TOPIC_OFFSET: &str = "kafka_topic_partition_current_offset";
    /// Per topic and partition: 1 when the partition is under-replicated.
    pub const UNDER_REPLICATED: &str = "kafka_topic_partition_under_replicated_partition";
    /// Strimzi (JMX exporter), per broker: under-replicated partitions it leads.
    pub const STRIMZI_UNDER_REPLICATED: &str =
        "kafka_server_replicamanager_underreplicatedpartitions";
    /// Strimzi (JMX exporter): messages in, per topic when labelled with `topic`, else the
    /// broker's total.
    pub const STRIMZI_MESSAGES_IN: &str = "kafka_server_brokertopicmetrics_messagesin_total";
    pub const GROUP: &str = "consumergroup";
    pub const TOPIC: &str = "topic";
    pub const PARTITION: &str = "partition";
    /// Labels naming a Strimzi broker, tried in order (the pod, else the scrape's instance).
    pub const BROKER_LABELS: &[&str] = &["pod", "kubernetes_pod_name", "instance"];
}

/// RabbitMQ: its prometheus plugin (`/metrics/per-object`, and `/metrics/detailed` whose
/// names carry a `detailed_` infix) and the management API (`/api/queues`, `/api/consumers`),
/// which [`crate::sources::rabbitmq::RabbitMgmtSource`] turns into samples of the same names.
pub mod rabbitmq {
    /// Messages ready to be delivered, per queue: the queue depth.
    pub const READY: &str = "rabbitmq_queue_messages_ready";
    pub const UNACKED: &str = "rabbitmq_queue_messages_unacked";
    pub const CONSUMERS: &str = "rabbitmq_queue_consumers";
    pub const DETAILED_READY: &str = "rabbitmq_detailed_queue_messages_ready";
    pub const DETAILED_UNACKED: &str = "rabbitmq_detailed_queue_messages_unacked";
    pub const DETAILED_CONSUMERS: &str = "rabbitmq_detailed_queue_consumers";
    /// Counter of messages published into the queue (the simulator's per-object name; the
    /// management source's `message_stats.publish`).
    pub const PUBLISHED: &str = "rabbitmq_queue_messages_published_total";
    /// Counter of messages delivered from the queue to consumers or `basic.get`
    /// (management API `message_stats.deliver_get`; named by the management source).
    pub const DELIVERED: &str = "rabbitmq_queue_messages_delivered_total";
    /// One series per consumer (value 1) naming its client in [`CONSUMER`] (management source;
    /// the plugin has no per-consumer metric).
    pub const CONSUMER_INFO: &str = "rabbitmq_queue_consumer_info";
    pub const QUEUE: &str = "queue";
    pub const VHOST: &str = "vhost";
    /// The consuming client: the connection's client-provided name, else its peer address.
    pub const CONSUMER: &str = "consumer";
}

/// NATS monitoring endpoints as [`crate::sources::nats::NatsSource`] turns them into samples,
/// named like prometheus-nats-exporter's families.
pub mod nats {
    /// `/varz` `connections`.
    pub const CONNECTIONS: &str = "gnatsd_varz_connections";
    /// `/varz` `in_msgs` (counter).
    pub const IN_MSGS: &str = "gnatsd_varz_in_msgs";
    /// `/varz` `out_msgs` (counter).
    pub const OUT_MSGS: &str = "gnatsd_varz_out_msgs";
    /// `/varz` `slow_consumers`.
    pub const SLOW_CONSUMERS: &str = "gnatsd_varz_slow_consumers";
    /// `/connz` `num_connections`.
    pub const CONNZ_CONNECTIONS: &str = "gnatsd_connz_num_connections";
    /// Per stream: messages stored.
    pub const STREAM_MESSAGES: &str = "jetstream_stream_messages";
    /// Per stream: last sequence (its rate is the messages in).
    pub const STREAM_LAST_SEQ: &str = "jetstream_stream_last_seq";
    /// Per stream: consumers.
    pub const STREAM_CONSUMERS: &str = "jetstream_stream_consumer_count";
    /// Per consumer: messages not yet delivered.
    pub const CONSUMER_PENDING: &str = "jetstream_consumer_num_pending";
    /// Per consumer: delivered and not yet acknowledged.
    pub const CONSUMER_ACK_PENDING: &str = "jetstream_consumer_num_ack_pending";
    /// Per consumer: stream sequence of the last delivery (its rate is what it consumes).
    pub const CONSUMER_DELIVERED: &str = "jetstream_consumer_delivered_stream_seq";
    /// Label naming the server (its `server_name`).
    pub const SERVER: &str = "server_name";
    pub const STREAM: &str = "stream_name";
    pub const CONSUMER: &str = "consumer_name";
}

/// Debian's `prometheus-redis-exporter` (oliver006/redis_exporter).
pub mod redis {
    pub const UP: &str = "redis_up";
    pub const CLIENTS: &str = "redis_connected_clients";
    pub const COMMANDS: &str = "redis_commands_processed_total";
    pub const MEMORY: &str = "redis_memory_used_bytes";
    /// Per replica (`slave_ip`, `slave_port`): seconds since its last acknowledgement.
    pub const REPLICA_LAG: &str = "redis_connected_slave_lag_seconds";
    /// `tcp_port` names the server when no `instance` label does.
    pub const INFO: &str = "redis_instance_info";
    pub const PORT: &str = "tcp_port";
    pub const SYSTEM: &str = "redis";
}

/// Debian's `prometheus-postgres-exporter` (prometheus-community/postgres_exporter).
pub mod postgres {
    pub const UP: &str = "pg_up";
    pub const BACKENDS: &str = "pg_stat_database_numbackends";
    pub const COMMITS: &str = "pg_stat_database_xact_commit";
    pub const ROLLBACKS: &str = "pg_stat_database_xact_rollback";
    /// Replication lag in seconds, as the exporter's example queries name it (either).
    pub const REPLICATION_LAG: &[&str] = &["pg_replication_lag", "pg_replication_lag_seconds"];
    /// Label naming the server (`host:port`).
    pub const SERVER: &str = "server";
    pub const SYSTEM: &str = "postgres";
}

/// Label Prometheus adds to name the scraped target (and so does a direct scrape, see
/// [`crate::sources::scrape::target_labels`]); preferred over the exporters' own labels when
/// present.
pub const INSTANCE: &str = "instance";

/// OpenTelemetry messaging semantic conventions, as exported by instrumented apps.
pub mod messaging {
    pub const SENT: &str = "messaging_client_sent_messages_total";
    pub const CONSUMED: &str = "messaging_client_consumed_messages_total";
    pub const SYSTEM: &str = "messaging_system";
    pub const DESTINATION: &str = "messaging_destination_name";
    pub const GROUP: &str = "messaging_consumer_group_name";
    pub const WORKLOAD: &str = "workload";
}

/// Which entity kind a messaging system's destinations are.
pub fn destination_is_topic(system: &str) -> bool {
    matches!(system, "kafka" | "pulsar" | "redpanda")
}

/// The workload that owns a pod, from kube_pod_info's `created_by_*` labels: a ReplicaSet
/// `checkout-7d9f8c6b5` belongs to Deployment `checkout`; StatefulSets, DaemonSets and Jobs own
/// their pods directly.
pub fn workload_of(created_by_kind: &str, created_by_name: &str, pod: &str) -> String {
    match created_by_kind {
        "ReplicaSet" => match created_by_name.rsplit_once('-') {
            Some((deploy, hash)) if !deploy.is_empty() && looks_like_hash(hash) => {
                deploy.to_owned()
            }
            _ => created_by_name.to_owned(),
        },
        "" => workload_from_pod_name(pod),
        _ => created_by_name.to_owned(),
    }
}

/// Best guess when no owner is known: drop the pod-template hash and the random suffix.
pub fn workload_from_pod_name(pod: &str) -> String {
    let mut name = pod;
    for _ in 0..2 {
        match name.rsplit_once('-') {
            Some((head, tail)) if !head.is_empty() && looks_like_hash(tail) => name = head,
            _ => break,
        }
    }
    name.to_owned()
}

fn looks_like_hash(s: &str) -> bool {
    (4..=10).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners() {
        assert_eq!(
            workload_of("ReplicaSet", "cartservice-5d4f8c9b7d", "x"),
            "cartservice"
        );
        assert_eq!(
            workload_of("StatefulSet", "redis-cart", "redis-cart-0"),
            "redis-cart"
        );
        assert_eq!(workload_of("", "", "frontend-6b8f9d7c4d-x2k9p"), "frontend");
        assert_eq!(workload_of("ReplicaSet", "weird", "x"), "weird");
    }

    #[test]
    fn error_rules() {
        let http = ErrorRule::ServerErrorStatus;
        assert!(http.is_error("503"));
        assert!(!http.is_error("404"));
        assert!(!http.is_error("5"));
        let linkerd = LINKERD.error;
        assert!(linkerd.is_error("failure"));
        assert!(!linkerd.is_error("success"));
    }

    #[test]
    fn mesh_labels_are_deduplicated() {
        assert_eq!(
            ISTIO.labels(),
            [
                "reporter",
                "source_workload_namespace",
                "source_workload",
                "destination_workload_namespace",
                "destination_workload"
            ]
        );
        assert_eq!(
            LINKERD.labels(),
            [
                "direction",
                "namespace",
                "deployment",
                "dst_namespace",
                "dst_deployment"
            ]
        );
    }
}
