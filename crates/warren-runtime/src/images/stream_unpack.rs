//! Applying a layer while it downloads.
//!
//! When Warren unpacks layers itself ([`LayerUnpack::Auto`]) and the layer below is
//! committed by the time a layer's download starts (always for the first layer, and for the
//! next one whenever downloads run one at a time), the layer's snapshot is prepared first and
//! the bytes go to the applier as they arrive, beside the content store. The diff ID is
//! checked and the snapshot committed when the download ends, so the in-order unpack step
//! finds the layer done. Otherwise (the layer below is still being applied, the blob was in
//! the store already, a download resumed from an earlier ingest) the layer is applied from
//! the store afterwards, as before.

use oci_client::Reference;
use warren_proto::containerd::types::Descriptor;

use super::apply::local::{target, StreamApply, StreamFailed};
use super::codec::Codec;
use super::download::fetch_layer;
use super::progress::ProgressSink;
use super::schedule::Received;
use super::session::Session;
use super::unpack::{is_committed, Extract, LayerUnpack};
use super::unpacked::UnpackBudget;
use crate::containerd::{content, Containerd};
use crate::RuntimeError;

/// What every layer of one pull shares.
pub(crate) struct Plan {
    pub snapshotter: String,
    pub how: LayerUnpack,
    pub diff_ids: Vec<String>,
    pub chains: Vec<String>,
    /// The unpacked-size caps and the free-space floor of this pull.
    pub budget: UnpackBudget,
}

/// Download layer `i` into the content store and, where it can, apply it on the way (see
/// the module's notes).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn fetch_and_apply(
    clients: &Containerd,
    session: &Session,
    r: &Reference,
    layer: &Descriptor,
    progress: &ProgressSink,
    received: &Received,
    plan: &Plan,
    i: usize,
) -> Result<(), RuntimeError> {
    let free = plan.budget.free();
    let plain = || fetch_layer(clients, session, r, layer, progress, received, None, free);
    let codec = match plan.how {
        LayerUnpack::Auto => Codec::of(&layer.media_type),
        LayerUnpack::Daemon => None,
    };
    let Some(codec) = codec else {
        return plain().await;
    };
    if (i > 0 && !is_committed(clients, &plan.snapshotter, &plan.chains[i - 1]).await)
        || content::exists(clients, &layer.digest).await?
    {
        return plain().await;
    }
    let Some(extract) = Extract::prepare(clients, &plan.snapshotter, i, &plan.chains).await? else {
        return plain().await;
    };
    let Some((upper, lowers)) = target(&plan.snapshotter, &extract.mounts) else {
        extract.discard().await;
        return plain().await;
    };
    let mut apply = StreamApply::start(
        codec,
        upper,
        lowers,
        Some((plan.budget.clone(), layer.digest.clone())),
    );
    let fetched = fetch_layer(
        clients,
        session,
        r,
        layer,
        progress,
        received,
        Some(&mut apply),
        free,
    )
    .await;
    if let Err(e) = fetched {
        apply.fail("the download failed".into()).await;
        let _ = apply.finish(None).await;
        extract.discard().await;
        return Err(e);
    }
    let size = (layer.size > 0).then_some(layer.size as u64);
    let reference = r.whole();
    match apply.finish(size).await {
        Ok(diff_id) => {
            extract
                .finish(Ok(diff_id), &reference, layer, &plan.diff_ids[i])
                .await
        }
        // Applied from the store by the unpack step instead.
        Err(StreamFailed::Incomplete) => {
            tracing::debug!(digest = %layer.digest, "layer not applied while downloading; applying it from the store");
            extract.discard().await;
            Ok(())
        }
        Err(StreamFailed::Bad(reason)) => {
            // A cap or the free-space floor stopped the decompressor: that error, typed.
            let bad = plan
                .budget
                .take_hit()
                .unwrap_or_else(|| reason.into_error(reference.clone(), &layer.digest));
            extract
                .finish(Err(bad), &reference, layer, &plan.diff_ids[i])
                .await
        }
    }
}
