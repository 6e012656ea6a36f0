//! The node API as a contract, over gRPC against a real `warrend serve`: the node's facts in
//! `Info`, label selectors, idempotent `Create`, machine-readable error reasons, and event
//! streams that resume exactly where a client left off (and say so when they cannot), both
//! as raw gRPC and through warren-client's typed handle and its reconnecting watch.
//! One daemon serves every check: starting one costs seconds.

use std::time::Duration;

use prost::Message;
use tonic::transport::Channel;
use tonic::Code;
use warren_client::{ErrorKind, Node, Watched};
use warren_proto::google::rpc::Status as RpcStatus;
use warren_proto::warren::node::v1 as api;
use warren_proto::warren::node::v1::node_client::NodeClient;
use warren_runtime::{ContainerdRuntime, RuntimeOptions};
use warren_tests::require_root;
use warren_tests::warrend::{registry_with_busybox, Warrend};

async fn client(w: &Warrend) -> NodeClient<Channel> {
    let channel = warren_proto::connect(&w.socket())
        .await
        .expect("warrend's socket");
    NodeClient::new(channel)
}

/// The `ErrorDetail` of a failed call.
fn detail(s: &tonic::Status) -> api::ErrorDetail {
    let rpc = RpcStatus::decode(s.details()).expect("a google.rpc.Status in the details");
    let any = rpc
        .details
        .iter()
        .find(|a| a.type_url.ends_with("/warren.node.v1.ErrorDetail"))
        .unwrap_or_else(|| panic!("no ErrorDetail in {s:?}"));
    api::ErrorDetail::decode(any.value.as_slice()).unwrap()
}

fn spec(id: &str, image: &str, labels: &[(&str, &str)]) -> api::ContainerSpec {
    api::ContainerSpec {
        id: id.into(),
        image: image.into(),
        process: Some(api::ProcessSpec {
            cmd: Some(api::Args {
                args: vec!["sleep".into(), "1000".into()],
            }),
            ..Default::default()
        }),
        network: Some(api::Network {
            mode: Some(api::network::Mode::None(api::NoNetwork {})),
            ..Default::default()
        }),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

async fn ids(c: &mut NodeClient<Channel>, selector: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = c
        .list(api::ListRequest {
            all: true,
            label_selector: selector.iter().map(|s| s.to_string()).collect(),
        })
        .await
        .unwrap()
        .into_inner()
        .containers
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.sort();
    ids
}

/// The next `n` events of a stream, failing on an error or a stall (a bound against hangs).
async fn next_events(s: &mut tonic::Streaming<api::Event>, n: usize) -> Vec<api::Event> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let e = tokio::time::timeout(Duration::from_secs(60), s.message())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events came", out.len()))
            .expect("the event stream failed")
            .expect("the event stream ended");
        out.push(e);
    }
    out
}

fn sequence(e: &api::Event) -> u64 {
    e.cursor
        .as_ref()
        .expect("every event has a cursor")
        .sequence
}

async fn events_after(
    c: &mut NodeClient<Channel>,
    after: Option<api::EventCursor>,
) -> Result<tonic::Streaming<api::Event>, tonic::Status> {
    c.events(api::EventsRequest { after })
        .await
        .map(|r| r.into_inner())
}

/// Pause and resume `id` `pairs` times through containerd itself (the cheapest events there
/// are: two per pair, no process started).
async fn pause_resume(rt: &ContainerdRuntime, id: &str, pairs: usize) {
    for _ in 0..pairs {
        rt.pause_container(id).await.expect("pause");
        rt.resume_container(id).await.expect("resume");
    }
}

#[tokio::test]
async fn the_node_api_contract() {
    require_root!();
    let (registry, image) = registry_with_busybox("node-api").await;
    let mut w = Warrend::start_with_config(
        Some(&registry.addr()),
        "[api]\nevents_retained = 600\n\
         [node]\nname = \"edge-7\"\n[node.labels]\nzone = \"z1\"\n\
         [node.reserved]\ncpus = 0.5\nmemory_bytes = 1048576\npids = 100\n",
    );
    let mut c = client(&w).await;

    // Info: the node as a scheduler sees it.
    let info = c.info(api::InfoRequest {}).await.unwrap().into_inner();
    assert_eq!(info.node_name, "edge-7");
    assert_eq!(info.node_labels.get("zone").map(String::as_str), Some("z1"));
    assert_eq!(info.api_version, "v1");
    let (cap, alloc) = (info.capacity.unwrap(), info.allocatable.unwrap());
    assert!(
        cap.cpus >= 1.0 && cap.memory_bytes > 1 << 20 && cap.pids > 100,
        "{cap:?}"
    );
    assert_eq!(alloc.cpus, cap.cpus - 0.5);
    assert_eq!(alloc.memory_bytes, cap.memory_bytes - 1048576);
    assert_eq!(alloc.pids, cap.pids - 100);

    // Bad input is refused before anything is created, naming the field.
    let e = c
        .create(api::CreateRequest {
            spec: Some(spec("noimage", "", &[])),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let d = detail(&e);
    assert_eq!(d.reason(), api::ErrorReason::InvalidInput);
    assert_eq!(d.field, "spec.image", "{e:?}");
    // ... in nested fields too, and for enum values this warrend does not know (a newer
    // client's) or a oneof that is half set.
    let mut bad_fields = Vec::new();
    let mut newer = spec("newer", &image, &[]);
    newer.restart = Some(api::RestartPolicy {
        mode: 42,
        max_retries: None,
    });
    bad_fields.push((newer, "spec.restart.mode"));
    let mut negative = spec("negative", &image, &[]);
    negative.resources = Some(api::Resources {
        memory_bytes: Some(-1),
        ..Default::default()
    });
    bad_fields.push((negative, "spec.resources.memory_bytes"));
    let mut no_address = spec("noaddress", &image, &[]);
    no_address.network.as_mut().unwrap().extra_hosts = vec![api::HostEntry {
        name: "db".into(),
        address: None,
    }];
    bad_fields.push((no_address, "spec.network.extra_hosts[0].address"));
    for (bad, field) in bad_fields {
        let e = c
            .create(api::CreateRequest { spec: Some(bad) })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert_eq!(detail(&e).field, field, "{e:?}");
    }
    let e = c
        .list(api::ListRequest {
            all: true,
            label_selector: vec!["app".into(), "=web".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(detail(&e).field, "label_selector[1]");

    // Idempotent create: the same id and spec answer the container; another spec does not.
    let web = spec("web", &image, &[("app", "web"), ("tier", "front")]);
    for _ in 0..2 {
        let id = c
            .create(api::CreateRequest {
                spec: Some(web.clone()),
            })
            .await
            .unwrap()
            .into_inner()
            .id;
        assert_eq!(id, "web");
    }
    let mut other = web.clone();
    other.process = Some(api::ProcessSpec {
        cmd: Some(api::Args {
            args: vec!["true".into()],
        }),
        ..Default::default()
    });
    let e = c
        .create(api::CreateRequest { spec: Some(other) })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
    assert_eq!(detail(&e).reason(), api::ErrorReason::AlreadyExists);
    assert!(e.message().contains("different spec"), "{}", e.message());
    assert!(ids(&mut c, &[]).await.contains(&"web".to_string()));
    let made = ids(&mut c, &[]).await;
    for refused in ["noimage", "newer", "negative", "noaddress"] {
        assert!(
            !made.contains(&refused.to_string()),
            "{refused} was created"
        );
    }

    // Label selectors: key, key=value, key!=value, ANDed; summaries carry the labels.
    for (id, labels) in [("db", vec![("app", "db")]), ("bare", vec![])] {
        c.create(api::CreateRequest {
            spec: Some(spec(id, &image, &labels)),
        })
        .await
        .unwrap();
    }
    assert_eq!(ids(&mut c, &["app"]).await, ["db", "web"]);
    assert_eq!(ids(&mut c, &["app=web"]).await, ["web"]);
    assert_eq!(ids(&mut c, &["app!=web"]).await, ["bare", "db"]);
    assert_eq!(ids(&mut c, &["app", "tier!=front"]).await, ["db"]);
    assert_eq!(
        ids(&mut c, &["app=web", "tier=back"]).await,
        Vec::<String>::new()
    );
    let listed = c
        .list(api::ListRequest {
            all: true,
            label_selector: vec!["app=web".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .containers;
    assert_eq!(
        listed[0].labels.get("tier").map(String::as_str),
        Some("front")
    );
    assert!(listed[0].created_at.is_some());

    // Events: every event has a cursor; a client that leaves and comes back with its last
    // cursor gets exactly what happened meanwhile.
    let mut live = events_after(&mut c, None).await.unwrap();
    c.start(api::ContainerRef { id: "web".into() })
        .await
        .unwrap();
    let seen = next_events(&mut live, 2).await;
    assert_eq!(
        seen.iter().map(|e| e.kind()).collect::<Vec<_>>(),
        [api::EventKind::Created, api::EventKind::Started]
    );
    assert_eq!(sequence(&seen[1]), sequence(&seen[0]) + 1);
    let last = seen[1].cursor.clone().unwrap();
    drop(live);

    let rt = ContainerdRuntime::with_options(
        RuntimeOptions::default()
            .socket(w.containerd_socket())
            .namespace(w.namespace.clone()),
    )
    .unwrap();
    pause_resume(&rt, "web", 250).await;
    let mut resumed = events_after(&mut c, Some(last.clone())).await.unwrap();
    let missed = next_events(&mut resumed, 500).await;
    for (i, e) in missed.iter().enumerate() {
        assert_eq!(
            sequence(e),
            last.sequence + 1 + i as u64,
            "no gap, no repeat"
        );
        assert_eq!(e.cursor.as_ref().unwrap().epoch, last.epoch);
        assert_eq!(e.container_id, "web");
        let want = if i % 2 == 0 {
            api::EventKind::Paused
        } else {
            api::EventKind::Resumed
        };
        assert_eq!(e.kind(), want, "event {i}");
    }
    // ... and then live ones, on the same stream.
    pause_resume(&rt, "web", 1).await;
    let after = next_events(&mut resumed, 2).await;
    assert_eq!(sequence(&after[0]), last.sequence + 501);
    drop(resumed);

    // 700 events after `last` with 600 kept: `last` is gone, a later cursor still works.
    pause_resume(&rt, "web", 99).await;
    let e = events_after(&mut c, Some(last.clone())).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert_eq!(detail(&e).reason(), api::ErrorReason::EventsMissed);
    let mut kept = api::EventCursor {
        epoch: last.epoch.clone(),
        sequence: last.sequence + 150,
    };
    let mut from_kept = events_after(&mut c, Some(kept.clone())).await.unwrap();
    let first = next_events(&mut from_kept, 1).await;
    assert_eq!(sequence(&first[0]), kept.sequence + 1);
    drop(from_kept);

    // warren-client: typed errors, and a watch that lives through a warrend restart.
    let node = Node::connect(w.socket()).await.unwrap();
    let e = node
        .create(spec("bad", &image, &[("warrend.restart", "x")]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.field(), Some("spec.labels[warrend.restart]"));
    assert_eq!(
        node.inspect("nosuch").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let mut watch = Box::pin(node.watch(Some(kept.clone())));
    let w1 = next_watched(&mut watch).await;
    assert!(
        matches!(&w1, Watched::Event(e) if sequence(e) == kept.sequence + 1),
        "{w1:?}"
    );

    // A restarted warrend has a new epoch: an old cursor answers OUT_OF_RANGE, and the
    // watch says to resync, then goes on with new events.
    kept.sequence = last.sequence + 700;
    w.kill();
    w.spawn();
    let mut c = client(&w).await;
    let e = events_after(&mut c, Some(kept)).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert!(e.message().contains("epoch"), "{}", e.message());
    // Skip what was left of the old history until the watch notices the restart.
    loop {
        if next_watched(&mut watch).await == Watched::Resync {
            break;
        }
    }
    let rt = ContainerdRuntime::with_options(
        RuntimeOptions::default()
            .socket(w.containerd_socket())
            .namespace(w.namespace.clone()),
    )
    .unwrap();
    // The watch re-subscribes in the background: make events until one comes through.
    let mut fresh = None;
    for _ in 0..60 {
        pause_resume(&rt, "web", 1).await;
        use futures::StreamExt;
        if let Ok(Some(Watched::Event(e))) =
            tokio::time::timeout(Duration::from_secs(1), watch.next()).await
        {
            fresh = Some(e);
            break;
        }
    }
    let fresh = fresh.expect("the watch gave no event after the restart");
    assert_ne!(fresh.cursor.unwrap().epoch, last.epoch);

    // A stop timeout is a Duration: a negative one is refused and stops nothing; zero is
    // SIGKILL at once.
    let e = c
        .stop(api::StopRequest {
            id: "web".into(),
            timeout: Some(prost_types::Duration {
                seconds: -1,
                nanos: 0,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(detail(&e).field, "timeout", "{e:?}");
    assert_eq!(
        node.inspect("web").await.unwrap().summary.unwrap().state(),
        api::ContainerState::Running
    );
    node.stop("web", Some(Duration::ZERO)).await.unwrap();
    assert_eq!(
        node.inspect("web").await.unwrap().summary.unwrap().state(),
        api::ContainerState::Stopped
    );
    node.delete("web", false).await.unwrap();
}

async fn next_watched(w: &mut (impl futures::Stream<Item = Watched> + Unpin)) -> Watched {
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(60), w.next())
        .await
        .expect("the watch gave nothing for 60 s")
        .expect("a watch never ends")
}
