//! Pins the CLI's JSON byte for byte: each expected string was printed by the CLI's
//! former `serde_json::json!` renderings from the same messages, before they were replaced by
//! the views of [`super`].

use std::collections::HashMap;

use warren_proto::warren::node::v1 as api;

use super::*;
use crate::cli::output::json_line;

fn ts(seconds: i64, nanos: i32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos })
}

fn dur(seconds: i64, nanos: i32) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos })
}

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn exit() -> api::Exit {
    api::Exit {
        code: 137,
        exited_at: ts(1_700_000_100, 987_654_321),
        oom_killed: true,
    }
}

/// Every field set, labels inserted out of order, a quote and a newline to escape.
fn summary() -> api::ContainerSummary {
    api::ContainerSummary {
        id: "c0ffee".into(),
        image: "docker.io/library/alpine:3.20".into(),
        state: api::ContainerState::Stopped.into(),
        pid: 4242,
        created_at: ts(1_700_000_000, 123_456_789),
        exit: Some(exit()),
        restart: Some(api::RestartPolicy {
            mode: api::RestartMode::OnFailure.into(),
            max_retries: Some(5),
        }),
        restart_count: 3,
        ip: "10.88.0.7".into(),
        health: api::HealthStatus::Unhealthy.into(),
        started_at: ts(1_700_000_001, 0),
        labels: map(&[
            ("zeta", "last"),
            ("alpha", "a \"q\"\n"),
            ("mid", ""),
            ("b", "2"),
        ]),
    }
}

fn health() -> api::Health {
    api::Health {
        status: api::HealthStatus::Starting.into(),
        failing_streak: 2,
        log: vec![
            api::HealthResult {
                start: ts(1_700_000_010, 1_000_000),
                end: ts(1_700_000_010, 501_000_000),
                exit_code: 1,
                output: "curl: (7) refused\n".into(),
            },
            api::HealthResult::default(),
        ],
        test: strings(&["CMD-SHELL", "curl -f http://localhost/"]),
        interval: dur(30, 0),
        timeout: dur(1, 500_000_000),
        start_period: None,
        retries: 3,
        restart_on_unhealthy: true,
    }
}

fn security() -> api::Security {
    api::Security {
        privileged: true,
        seccomp: api::SeccompKind::Unconfined.into(),
        no_new_privileges: true,
        capabilities: strings(&["CAP_NET_ADMIN", "CAP_CHOWN"]),
        oom_score_adj: -500,
        cgroup_namespace: true,
        read_only_binds_recursive: false,
    }
}

/// A full one; one with only its summary (no health, no security); one with nothing.
fn details() -> Vec<api::ContainerDetail> {
    vec![
        api::ContainerDetail {
            summary: Some(summary()),
            labels: map(&[("x", "1"), ("com.example", "y"), ("a", "")]),
            network: "bridge".into(),
            ports: strings(&["8080:80", "127.0.0.1:5353:53/udp"]),
            log_dir: "/var/lib/warren/logs/c0ffee".into(),
            security: Some(security()),
            tty: true,
            open_stdin: true,
            health: Some(health()),
        },
        api::ContainerDetail {
            summary: Some(api::ContainerSummary {
                id: "plain".into(),
                health: api::HealthStatus::Healthy.into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        api::ContainerDetail::default(),
    ]
}

fn image() -> api::ImageInfo {
    api::ImageInfo {
        name: "docker.io/library/alpine:3.20".into(),
        digest: "sha256:abc".into(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        size: 3_623_807,
        entrypoint: strings(&["/bin/sh", "-c"]),
        cmd: strings(&["echo hi"]),
        env: strings(&["PATH=/usr/bin", "A=b=c"]),
        working_dir: "/srv".into(),
        user: "1000:1000".into(),
        stop_signal: "SIGQUIT".into(),
    }
}

fn events() -> Vec<api::Event> {
    vec![
        api::Event {
            container_id: "c0ffee".into(),
            time: ts(1_700_000_002, 999_999_999),
            kind: api::EventKind::Exited.into(),
            pid: 77,
            exit_code: 3,
            exec_id: "exec-1".into(),
            health_status: api::HealthStatus::Unhealthy.into(),
            cursor: Some(api::EventCursor {
                epoch: "e1".into(),
                sequence: 18_446_744_073_709_551_615,
            }),
        },
        api::Event::default(),
    ]
}

fn log_lines() -> Vec<api::LogLine> {
    vec![
        api::LogLine {
            time: ts(1_700_000_003, 250_000_000),
            stream: api::LogStream::Stderr.into(),
            text: "caf\u{e9} \t \"x\" \\ \u{1}".into(),
        },
        api::LogLine::default(),
    ]
}

fn exec_response() -> api::ExecResponse {
    api::ExecResponse {
        exit_code: 2,
        stdout: b"ok\n\xff\xfe".to_vec(),
        stderr: b"err \"x\"\n".to_vec(),
        truncated: false,
    }
}

fn infos() -> Vec<api::InfoResponse> {
    vec![
        api::InfoResponse {
            warrend_version: "0.1.0".into(),
            containerd_version: "v2.0.0".into(),
            containerd_address: "/run/containerd/containerd.sock".into(),
            containerd_managed: true,
            namespace: "warren".into(),
            containers_running: 4,
            runc_version: "1.2.0".into(),
            cgroup_version: "2".into(),
            cgroup_driver: "systemd".into(),
            node_name: "node-1".into(),
            node_labels: map(&[("zone", "a"), ("disk", "ssd"), ("gpu", "")]),
            capacity: Some(api::NodeResources {
                cpus: 8.0,
                memory_bytes: 16 << 30,
                pids: 4_194_304,
            }),
            allocatable: Some(api::NodeResources {
                cpus: 7.5,
                memory_bytes: 15 << 30,
                pids: 0,
            }),
            api_version: "v1".into(),
        },
        api::InfoResponse {
            capacity: Some(api::NodeResources {
                cpus: 1.0 / 3.0,
                memory_bytes: 0,
                pids: 1,
            }),
            allocatable: Some(api::NodeResources {
                cpus: f64::INFINITY,
                memory_bytes: 1,
                pids: 2,
            }),
            ..Default::default()
        },
    ]
}

fn stats() -> Vec<(api::Stats, Option<f64>)> {
    let s = api::Stats {
        id: "c0ffee".into(),
        cpu_usage_ns: 1_234_567_890,
        memory_usage_bytes: 10 << 20,
        memory_limit_bytes: 64 << 20,
        pids: 3,
        pids_limit: 100,
        oom_kills: 1,
        time: ts(1_700_000_004, 5_000_000),
    };
    vec![
        (s.clone(), Some(12.5)),
        (s.clone(), Some(100.0 / 3.0)),
        (s.clone(), Some(200.0)),
        (s, Some(f64::NAN)),
        (api::Stats::default(), None),
    ]
}

fn processes() -> Vec<api::Process> {
    vec![
        api::Process {
            pid: 100,
            ppid: 1,
            uid: 0,
            user: "root".into(),
            command: "nginx: master process".into(),
        },
        api::Process {
            pid: 101,
            ppid: 100,
            uid: 101,
            user: String::new(),
            command: String::new(),
        },
    ]
}

fn ports() -> Vec<(u16, String, String, String)> {
    vec![
        (53, "udp".into(), "127.0.0.1".into(), "5353".into()),
        (443, "tcp".into(), "::1".into(), "8443".into()),
    ]
}

fn prunes() -> Vec<api::PruneResponse> {
    vec![
        api::PruneResponse {
            removed: strings(&["b", "a"]),
            bytes_reclaimed: 1 << 40,
        },
        api::PruneResponse::default(),
    ]
}

fn all<T: Serialize>(v: &[T]) -> String {
    json_line(v)
}

#[test]
fn exit_is_unchanged() {
    assert_eq!(
        json_line(&Exit::from(&exit())),
        r#"{"code":137,"exited_at":"2023-11-14T22:15:00.987Z","oom_killed":true}"#
    );
}

#[test]
fn ps_is_unchanged() {
    let full = summary();
    let empty = api::ContainerSummary::default();
    assert_eq!(
        json_line(&Summary::from(&full)),
        r#"{"created_at":"2023-11-14T22:13:20.123Z","exit":{"code":137,"exited_at":"2023-11-14T22:15:00.987Z","oom_killed":true},"health":"unhealthy","id":"c0ffee","image":"docker.io/library/alpine:3.20","ip":"10.88.0.7","labels":{"alpha":"a \"q\"\n","b":"2","mid":"","zeta":"last"},"pid":4242,"restart":"on-failure:5","restart_count":3,"started_at":"2023-11-14T22:13:21.000Z","state":"stopped"}"#
    );
    assert_eq!(
        json_line(&Summary::from(&empty)),
        r#"{"created_at":"","exit":null,"health":"","id":"","image":"","ip":"","labels":{},"pid":0,"restart":"no","restart_count":0,"started_at":"","state":"unknown"}"#
    );
    let list = [full, empty];
    assert_eq!(
        all(&list.iter().map(Summary::from).collect::<Vec<_>>()),
        r#"[{"created_at":"2023-11-14T22:13:20.123Z","exit":{"code":137,"exited_at":"2023-11-14T22:15:00.987Z","oom_killed":true},"health":"unhealthy","id":"c0ffee","image":"docker.io/library/alpine:3.20","ip":"10.88.0.7","labels":{"alpha":"a \"q\"\n","b":"2","mid":"","zeta":"last"},"pid":4242,"restart":"on-failure:5","restart_count":3,"started_at":"2023-11-14T22:13:21.000Z","state":"stopped"},{"created_at":"","exit":null,"health":"","id":"","image":"","ip":"","labels":{},"pid":0,"restart":"no","restart_count":0,"started_at":"","state":"unknown"}]"#
    );
    assert_eq!(all::<Summary>(&[]), r#"[]"#);
}

#[test]
fn images_are_unchanged() {
    let list = [image(), api::ImageInfo::default()];
    assert_eq!(
        json_line(&Image::from(&list[0])),
        r#"{"cmd":["echo hi"],"digest":"sha256:abc","entrypoint":["/bin/sh","-c"],"env":["PATH=/usr/bin","A=b=c"],"media_type":"application/vnd.oci.image.manifest.v1+json","name":"docker.io/library/alpine:3.20","size":3623807,"stop_signal":"SIGQUIT","user":"1000:1000","working_dir":"/srv"}"#
    );
    assert_eq!(
        all(&list.iter().map(Image::from).collect::<Vec<_>>()),
        r#"[{"cmd":["echo hi"],"digest":"sha256:abc","entrypoint":["/bin/sh","-c"],"env":["PATH=/usr/bin","A=b=c"],"media_type":"application/vnd.oci.image.manifest.v1+json","name":"docker.io/library/alpine:3.20","size":3623807,"stop_signal":"SIGQUIT","user":"1000:1000","working_dir":"/srv"},{"cmd":[],"digest":"","entrypoint":[],"env":[],"media_type":"","name":"","size":0,"stop_signal":"","user":"","working_dir":""}]"#
    );
}

#[test]
fn health_is_unchanged() {
    assert_eq!(
        json_line(&Health::from(&health())),
        r#"{"failing_streak":2,"interval_ns":30000000000,"log":[{"end":"2023-11-14T22:13:30.501Z","exit_code":1,"output":"curl: (7) refused\n","start":"2023-11-14T22:13:30.001Z"},{"end":"","exit_code":0,"output":"","start":""}],"restart_on_unhealthy":true,"retries":3,"start_period_ns":0,"status":"starting","test":["CMD-SHELL","curl -f http://localhost/"],"timeout_ns":1500000000}"#
    );
    assert_eq!(
        json_line(&Health::from(&api::Health::default())),
        r#"{"failing_streak":0,"interval_ns":0,"log":[],"restart_on_unhealthy":false,"retries":0,"start_period_ns":0,"status":"","test":[],"timeout_ns":0}"#
    );
}

#[test]
fn inspect_is_unchanged() {
    let details = details();
    let out: Vec<Inspect> = details.iter().map(Inspect::from).collect();
    assert_eq!(
        serde_json::to_string_pretty(&out).unwrap(),
        r#"[
  {
    "created_at": "2023-11-14T22:13:20.123Z",
    "exit": {
      "code": 137,
      "exited_at": "2023-11-14T22:15:00.987Z",
      "oom_killed": true
    },
    "health": {
      "failing_streak": 2,
      "interval_ns": 30000000000,
      "log": [
        {
          "end": "2023-11-14T22:13:30.501Z",
          "exit_code": 1,
          "output": "curl: (7) refused\n",
          "start": "2023-11-14T22:13:30.001Z"
        },
        {
          "end": "",
          "exit_code": 0,
          "output": "",
          "start": ""
        }
      ],
      "restart_on_unhealthy": true,
      "retries": 3,
      "start_period_ns": 0,
      "status": "starting",
      "test": [
        "CMD-SHELL",
        "curl -f http://localhost/"
      ],
      "timeout_ns": 1500000000
    },
    "id": "c0ffee",
    "image": "docker.io/library/alpine:3.20",
    "ip": "10.88.0.7",
    "labels": {
      "a": "",
      "com.example": "y",
      "x": "1"
    },
    "log_dir": "/var/lib/warren/logs/c0ffee",
    "network": "bridge",
    "pid": 4242,
    "ports": [
      "8080:80",
      "127.0.0.1:5353:53/udp"
    ],
    "restart": "on-failure:5",
    "restart_count": 3,
    "security": {
      "capabilities": [
        "CAP_NET_ADMIN",
        "CAP_CHOWN"
      ],
      "cgroup_namespace": true,
      "no_new_privileges": true,
      "oom_score_adj": -500,
      "privileged": true,
      "read_only_binds_recursive": false,
      "seccomp": "unconfined"
    },
    "started_at": "2023-11-14T22:13:21.000Z",
    "state": "stopped"
  },
  {
    "created_at": "",
    "exit": null,
    "health": "healthy",
    "id": "plain",
    "image": "",
    "ip": "",
    "labels": {},
    "log_dir": "",
    "network": "",
    "pid": 0,
    "ports": [],
    "restart": "no",
    "restart_count": 0,
    "started_at": "",
    "state": "unknown"
  },
  {
    "labels": {},
    "log_dir": "",
    "network": "",
    "ports": []
  }
]"#
    );
    assert_eq!(
        serde_json::to_string_pretty(&Vec::<Inspect>::new()).unwrap(),
        r#"[]"#
    );
}

#[test]
fn run_and_create_are_unchanged() {
    let id = "c0ffee";
    let s = api::StartResponse { pid: 4242 };
    assert_eq!(
        json_line(&Started { id, pid: s.pid }),
        r#"{"id":"c0ffee","pid":4242}"#
    );
    let e = exit();
    assert_eq!(
        json_line(&Exited {
            exit: Exit::from(&e),
            id
        }),
        r#"{"exit":{"code":137,"exited_at":"2023-11-14T22:15:00.987Z","oom_killed":true},"id":"c0ffee"}"#
    );
    assert_eq!(json_line(&Created { id }), r#"{"id":"c0ffee"}"#);
}

#[test]
fn log_lines_are_unchanged() {
    let lines = log_lines();
    assert_eq!(
        json_line(&LogLine::from(&lines[0])),
        r#"{"stream":"stderr","text":"café \t \"x\" \\ \u0001","time":"2023-11-14T22:13:23.250Z"}"#
    );
    assert_eq!(
        json_line(&LogLine::from(&lines[1])),
        r#"{"stream":"stdout","text":"","time":""}"#
    );
}

#[test]
fn exec_is_unchanged() {
    assert_eq!(
        json_line(&ExecOutput::from(&exec_response())),
        r#"{"exit_code":2,"stderr":"err \"x\"\n","stdout":"ok\n��"}"#
    );
}

#[test]
fn events_are_unchanged() {
    let events = events();
    assert_eq!(
        json_line(&Event::from(&events[0])),
        r#"{"container":"c0ffee","cursor":"e1:18446744073709551615","exec_id":"exec-1","exit_code":3,"health_status":"unhealthy","kind":"exited","pid":77,"time":"2023-11-14T22:13:22.999Z"}"#
    );
    assert_eq!(
        json_line(&Event::from(&events[1])),
        r#"{"container":"","cursor":null,"exec_id":"","exit_code":0,"health_status":"","kind":"unknown","pid":0,"time":""}"#
    );
}

#[test]
fn info_is_unchanged() {
    let infos = infos();
    assert_eq!(
        json_line(&Info::from(&infos[0])),
        r#"{"allocatable":{"cpus":7.5,"memory_bytes":16106127360,"pids":0},"api_version":"v1","capacity":{"cpus":8.0,"memory_bytes":17179869184,"pids":4194304},"cgroup_driver":"systemd","cgroup_version":"2","containerd_address":"/run/containerd/containerd.sock","containerd_managed":true,"containerd_version":"v2.0.0","containers_running":4,"namespace":"warren","node_labels":{"disk":"ssd","gpu":"","zone":"a"},"node_name":"node-1","runc_version":"1.2.0","warrend_version":"0.1.0"}"#
    );
    assert_eq!(
        json_line(&Info::from(&infos[1])),
        r#"{"allocatable":{"cpus":null,"memory_bytes":1,"pids":2},"api_version":"","capacity":{"cpus":0.3333333333333333,"memory_bytes":0,"pids":1},"cgroup_driver":"","cgroup_version":"","containerd_address":"","containerd_managed":false,"containerd_version":"","containers_running":0,"namespace":"","node_labels":{},"node_name":"","runc_version":"","warrend_version":""}"#
    );
}

#[test]
fn stats_are_unchanged() {
    let list: Vec<Stats> = stats().iter().map(|(s, p)| Stats::new(s, *p)).collect();
    assert_eq!(
        all(&list),
        r#"[{"cpu_percent":12.5,"cpu_usage_ns":1234567890,"id":"c0ffee","memory_limit_bytes":67108864,"memory_usage_bytes":10485760,"oom_kills":1,"pids":3,"pids_limit":100,"time":"2023-11-14T22:13:24.005Z"},{"cpu_percent":33.333333333333336,"cpu_usage_ns":1234567890,"id":"c0ffee","memory_limit_bytes":67108864,"memory_usage_bytes":10485760,"oom_kills":1,"pids":3,"pids_limit":100,"time":"2023-11-14T22:13:24.005Z"},{"cpu_percent":200.0,"cpu_usage_ns":1234567890,"id":"c0ffee","memory_limit_bytes":67108864,"memory_usage_bytes":10485760,"oom_kills":1,"pids":3,"pids_limit":100,"time":"2023-11-14T22:13:24.005Z"},{"cpu_percent":null,"cpu_usage_ns":1234567890,"id":"c0ffee","memory_limit_bytes":67108864,"memory_usage_bytes":10485760,"oom_kills":1,"pids":3,"pids_limit":100,"time":"2023-11-14T22:13:24.005Z"},{"cpu_percent":null,"cpu_usage_ns":0,"id":"","memory_limit_bytes":0,"memory_usage_bytes":0,"oom_kills":0,"pids":0,"pids_limit":0,"time":""}]"#
    );
}

#[test]
fn top_is_unchanged() {
    let list = processes();
    assert_eq!(
        all(&list.iter().map(Process::from).collect::<Vec<_>>()),
        r#"[{"command":"nginx: master process","pid":100,"ppid":1,"uid":0,"user":"root"},{"command":"","pid":101,"ppid":100,"uid":101,"user":""}]"#
    );
}

#[test]
fn port_is_unchanged() {
    let ports = ports();
    let list: Vec<Port> = ports
        .iter()
        .map(|(port, proto, ip, host_port)| Port::new(*port, proto, ip, host_port))
        .collect();
    assert_eq!(
        all(&list),
        r#"[{"container_port":"53/udp","host_ip":"127.0.0.1","host_port":"5353"},{"container_port":"443/tcp","host_ip":"::1","host_port":"8443"}]"#
    );
}

#[test]
fn prunes_are_unchanged() {
    let prunes = prunes();
    assert_eq!(
        json_line(&Pruned::from(&prunes[0])),
        r#"{"bytes_reclaimed":1099511627776,"removed":["b","a"]}"#
    );
    assert_eq!(
        json_line(&Pruned::from(&prunes[1])),
        r#"{"bytes_reclaimed":0,"removed":[]}"#
    );
}
