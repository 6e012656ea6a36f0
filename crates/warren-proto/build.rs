//! Generates the gRPC bindings from `proto/` with a pure-Rust compiler (protox), so building
//! this crate needs no system `protoc`.

use std::path::{Path, PathBuf};

fn protos(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("proto dir is readable")
        .map(|e| e.expect("proto dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            protos(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    protos(&root, &mut files);
    let feature = |name: &str| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    // Warren's node API only with `node-api`; containerd's and gRPC's own always.
    if !feature("NODE_API") {
        let node = root.join("warren");
        files.retain(|f| !f.starts_with(&node));
    }

    let fds = protox::compile(&files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("file_descriptor_set.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;

    // Type names make every message implement `prost::Name`, so `Any` payloads can be packed
    // and checked by their full proto name (containerd wants bare type URLs: see `any`).
    let mut config = prost_build::Config::new();
    config.enable_type_names();
    // A session's opening message is large and rare; its stdin chunks are small and many.
    config.boxed(".warren.node.v1.AttachInput.input.run");
    tonic_prost_build::configure()
        .build_client(feature("CLIENT"))
        .build_server(feature("SERVER"))
        .include_file("warren_proto.rs")
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
