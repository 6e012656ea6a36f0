//! `warren-build-images OUT_DIR`: write Warren's test images, built from the static busybox,
//! as OCI image layouts (`OUT_DIR/<image>/`) and tarballs (`OUT_DIR/<image>.tar`), plus a
//! `docker save` tarball of the Docker-typed image. No docker, no skopeo.

use std::path::PathBuf;

use warren_tests::images;

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: warren-build-images OUT_DIR");
        std::process::exit(2);
    };
    let set = images::standard_set();
    for (short, name, built) in &set {
        let dir = out.join(short);
        let _ = std::fs::remove_dir_all(&dir);
        images::write_layout(&dir, &[(name.as_str(), built)]);
        images::tar_dir(&dir, &out.join(format!("{short}.tar")));
        if built.manifest_type.contains("docker") {
            images::write_docker_save(
                &out.join(format!("{short}.docker-save.tar")),
                &[name.as_str()],
                built,
            );
        }
        println!("{name}\t{}\t{}", built.digest(), dir.display());
    }
}
