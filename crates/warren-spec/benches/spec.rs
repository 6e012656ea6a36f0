//! Spec generation and serialisation for a typical request (target: well under 50 µs).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use warren_spec::{BuildContext, ImageConfig, Mounts, Resources, SpecRequest, Volume};

fn typical() -> SpecRequest {
    SpecRequest {
        id: "web-1".into(),
        image: ImageConfig {
            entrypoint: vec!["/bin/server".into()],
            cmd: vec!["--port".into(), "8080".into()],
            env: vec!["PATH=/usr/bin:/bin".into(), "LANG=C.UTF-8".into()],
            working_dir: Some("/srv".into()),
            ..Default::default()
        },
        env: vec!["MODE=prod".into(), "REPLICA=3".into()],
        user: Some("1000:1000".into()),
        resources: Resources {
            cpus: Some(0.5),
            memory_bytes: Some(256 << 20),
            pids: Some(100),
            ..Default::default()
        },
        mounts: Mounts {
            secrets_dir: Some(PathBuf::from("/tmp")),
            volumes: vec![Volume {
                source: PathBuf::from("/tmp"),
                destination: PathBuf::from("/data"),
                read_only: false,
            }],
            ..Default::default()
        },
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let req = typical();
    let ctx = BuildContext {
        host_cpus: 2,
        rootfs: None,
        cgroup_namespace: false,
        recursive_read_only: true,
    };
    c.bench_function("build typical spec", |b| {
        b.iter(|| black_box(&req).build(black_box(&ctx)).unwrap())
    });
    let spec = req.build(&ctx).unwrap();
    c.bench_function("serialize spec to JSON", |b| {
        b.iter(|| black_box(&spec).to_json().unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
