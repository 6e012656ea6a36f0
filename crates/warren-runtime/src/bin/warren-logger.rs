//! The logger containerd's shim runs for a container's output (see
//! `warren_runtime::logger`): `warren-logger logger <spec>`, started by the shim, never by
//! hand.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(warren_runtime::logger::main(&args));
}
