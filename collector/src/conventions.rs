//! Which metric names and labels mean what. Every exporter convention the collector
//! understands is data here, not string literals scattered through the code.

/// A service mesh's request metrics.
#[derive(Debug, Clone, Copy)]
pub struct MeshConvention {
    pub name: &'static str,
    /// Request counter family.
    pub requests: &'static str,
    /// Latency histogram family (`_bucket`, `_sum`, `_count` samples).
    pub duration: &'static str,
    /// Multiplier from the histogram's unit to milliseconds.
    pub duration_to_ms: f64,
    pub reporter: &'static str,
    pub reporter_server: &'static str,
    pub reporter_client: &'static str,
    pub source_workload: &'static str,
    pub source_namespace: &'static str,
    pub destination_workload: &'static str,
    pub destination_namespace: &'static str,
    pub response_code: &'static str,
}

/// Istio's standard metrics.
pub const ISTIO: MeshConvention = MeshConvention {
    name: "istio",
    requests: "istio_requests_total",
    duration: "istio_request_duration_milliseconds",
    duration_to_ms: 1.0,
    reporter: "reporter",
    reporter_server: "destination",
    reporter_client: "source",
    source_workload: "source_workload",
    source_namespace: "source_workload_namespace",
    destination_workload: "destination_workload",
    destination_namespace: "destination_workload_namespace",
    response_code: "response_code",
};

/// The meshes understood, tried in order.
pub const MESHES: &[MeshConvention] = &[ISTIO];

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

/// kafka_exporter.
pub mod kafka {
    pub const LAG: &str = "kafka_consumergroup_lag";
    pub const GROUP: &str = "consumergroup";
    pub const TOPIC: &str = "topic";
}

/// RabbitMQ's prometheus plugin (per-object metrics).
pub mod rabbitmq {
    pub const READY: &str = "rabbitmq_queue_messages_ready";
    pub const CONSUMERS: &str = "rabbitmq_queue_consumers";
    pub const QUEUE: &str = "queue";
}

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
}
