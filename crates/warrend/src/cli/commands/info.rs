//! `warrend info`: the daemon: versions, containerd, namespace.

use warren_client::Node;

use crate::cli::json;
use crate::cli::output::print_json;

/// `warrend info`.
pub async fn info(node: &Node, json: bool) -> anyhow::Result<u8> {
    let i = node.info().await?;
    if json {
        print_json(&json::Info::from(&i));
    } else {
        println!("warrend:            {}", i.warrend_version);
        println!("containerd:         {}", i.containerd_version);
        println!("containerd address: {}", i.containerd_address);
        println!("managed:            {}", i.containerd_managed);
        println!("namespace:          {}", i.namespace);
        println!("running:            {}", i.containers_running);
        println!("runc:               {}", i.runc_version);
        println!(
            "cgroups:            {} ({})",
            i.cgroup_version, i.cgroup_driver
        );
        println!("node:               {}", i.node_name);
        let mut labels: Vec<_> = i.node_labels.iter().collect();
        labels.sort();
        for (k, v) in labels {
            println!("  label:            {k}={v}");
        }
        for (what, r) in [("capacity", &i.capacity), ("allocatable", &i.allocatable)] {
            if let Some(r) = r {
                println!(
                    "{:<20}{} CPUs, {} memory, {} pids",
                    format!("{what}:"),
                    r.cpus,
                    crate::cli::output::bytes(r.memory_bytes),
                    r.pids
                );
            }
        }
        println!("node API:           {}", i.api_version);
    }
    Ok(0)
}
