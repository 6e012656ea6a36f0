//! The initramfs: the cloud kernel has virtio-blk and virtio-pci as modules, so a tiny
//! first stage (static busybox, those modules, `initramfs-init.sh`) loads them, mounts the
//! root disk and switches to it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::cpio::Cpio;

/// Modules the first stage loads to see the root disk (with what they depend on).
const ROOT_DISK_MODULES: &[&str] = &["virtio_pci", "virtio_blk"];

/// PID 1 of the initramfs.
pub const INIT: &str = include_str!("guest/initramfs-init.sh");

/// `modules.dep` as module name -> (path, dependency paths).
fn parse_modules_dep(text: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let Some((path, deps)) = line.split_once(':') else {
            continue;
        };
        let deps = deps.split_whitespace().map(str::to_string).collect();
        map.insert(module_name(path), (path.to_string(), deps));
    }
    map
}

/// `kernel/drivers/block/virtio_blk.ko[.xz]` -> `virtio_blk`.
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split('.').next().unwrap_or(file).to_string()
}

/// Paths (relative to the modules folder) of `wanted` and their dependencies, each after
/// everything it needs.
pub fn load_order(modules_dep: &str, wanted: &[&str]) -> Result<Vec<String>> {
    let map = parse_modules_dep(modules_dep);
    let by_path: BTreeMap<&str, &Vec<String>> =
        map.values().map(|(p, d)| (p.as_str(), d)).collect();
    let mut order: Vec<String> = Vec::new();
    fn visit(
        path: &str,
        by_path: &BTreeMap<&str, &Vec<String>>,
        order: &mut Vec<String>,
        depth: usize,
    ) -> Result<()> {
        if order.iter().any(|p| p == path) {
            return Ok(());
        }
        if depth > 64 {
            bail!("module dependencies loop at {path}");
        }
        if let Some(deps) = by_path.get(path) {
            for d in deps.iter() {
                visit(d, by_path, order, depth + 1)?;
            }
        }
        order.push(path.to_string());
        Ok(())
    }
    for name in wanted {
        let Some((path, _)) = map.get(*name) else {
            bail!("the kernel has no module {name} (built in, or missing from modules.dep?)");
        };
        visit(path, &by_path, &mut order, 0)?;
    }
    Ok(order)
}

/// Write the initramfs for the kernel whose modules are in `root/lib/modules/<kver>`.
pub fn build(root: &Path, kver: &str, dest: &Path) -> Result<()> {
    let modules = root.join("lib/modules").join(kver);
    let dep = std::fs::read_to_string(modules.join("modules.dep"))
        .with_context(|| format!("reading {}/modules.dep", modules.display()))?;
    let order = load_order(&dep, ROOT_DISK_MODULES)?;
    let mut c = Cpio::default();
    for d in ["bin", "dev", "proc", "sys", "newroot", "modules"] {
        c.dir(d);
    }
    c.char_dev("dev/console", 5, 1);
    c.char_dev("dev/null", 1, 3);
    let busybox = std::fs::read(root.join("bin/busybox"))?;
    c.file("bin/busybox", 0o755, &busybox);
    let mut list = String::new();
    for path in &order {
        let name = path.rsplit('/').next().unwrap_or(path);
        let body = std::fs::read(modules.join(path))?;
        c.file(&format!("modules/{name}"), 0o644, &body);
        list.push_str(name);
        list.push('\n');
    }
    c.file("modules/order", 0o644, list.as_bytes());
    c.file("init", 0o755, INIT.as_bytes());
    std::fs::write(dest, c.finish())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first() {
        let dep = "kernel/drivers/virtio/virtio.ko:\n\
            kernel/drivers/virtio/virtio_ring.ko:\n\
            kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n\
            kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n";
        let order = load_order(dep, &["virtio_pci", "virtio_blk"]).unwrap();
        let names: Vec<String> = order.iter().map(|p| module_name(p)).collect();
        assert_eq!(names, ["virtio_ring", "virtio", "virtio_pci", "virtio_blk"]);
        assert!(load_order(dep, &["nope"]).is_err());
    }
}
