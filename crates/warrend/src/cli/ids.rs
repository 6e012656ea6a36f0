//! What the commands over several containers share: the ids argument and a call made for
//! each id, its outcome printed.

use clap::Args;
use warren_client::ClientError;

/// One or more containers.
#[derive(Args)]
pub struct IdsArgs {
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// Run `f` for each id; print the ids that succeeded, the errors of the others; exit 1 if
/// any failed.
pub(super) async fn each<F, Fut>(ids: Vec<String>, mut f: F) -> anyhow::Result<u8>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), ClientError>>,
{
    let mut failed = false;
    for id in ids {
        match f(id.clone()).await {
            Ok(()) => println!("{id}"),
            Err(e) => {
                eprintln!("warrend: {id}: {}", e.status_message());
                failed = true;
            }
        }
    }
    Ok(failed as u8)
}

/// Run `f` for each id, printing what it gives (the ids that succeeded by default), the
/// errors of the others; exit 1 if any failed.
pub(super) async fn each_line<F, Fut>(ids: Vec<String>, mut f: F) -> anyhow::Result<u8>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, ClientError>>,
{
    let mut failed = false;
    for id in ids {
        match f(id.clone()).await {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("warrend: {id}: {}", e.status_message());
                failed = true;
            }
        }
    }
    Ok(failed as u8)
}
