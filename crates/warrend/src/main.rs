//! warrend: Warren's node daemon and CLI (work in progress).

fn main() {
    println!("warrend {}", env!("CARGO_PKG_VERSION"));
}
