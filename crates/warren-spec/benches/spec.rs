//! Spec generation and serialisation for a typical request (target: well under 50 µs).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use warren_spec::{BuildContext, ImageConfig, Mounts, Resources, SpecRequest, Volume};

fn typical() -> SpecRequest {
    SpecRequest::default()
        .id("web-1")
        .image(ImageConfig {
            entrypoint: vec!["/bin/server".into()],
            cmd: vec!["--port".into(), "8080".into()],
            env: vec!["PATH=/usr/bin:/bin".into(), "LANG=C.UTF-8".into()],
            working_dir: Some("/srv".into()),
            ..Default::default()
        })
        .env(vec!["MODE=prod".into(), "REPLICA=3".into()])
        .user("1000:1000")
        .resources(
            Resources::default()
                .cpus(0.5)
                .memory_bytes(256 << 20)
                .pids(100),
        )
        .mounts(
            Mounts::default()
                .secrets_dir(PathBuf::from("/tmp"))
                .volumes(vec![Volume::new(
                    PathBuf::from("/tmp"),
                    PathBuf::from("/data"),
                )]),
        )
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
