//! Restart back-off: the first restart is immediate, later ones wait exponentially longer
//! (with jitter) up to a cap, and a daemon that stayed healthy long enough starts over.

use std::time::{Duration, Instant};

/// Bounds of the restart back-off.
#[derive(Debug, Clone, Copy)]
pub struct BackoffBounds {
    /// The delay before the second restart in a row (the first is immediate).
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// A daemon healthy this long has its back-off reset.
    pub reset_after: Duration,
}

impl Default for BackoffBounds {
    fn default() -> Self {
        BackoffBounds {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            reset_after: Duration::from_secs(60),
        }
    }
}

/// Back-off state across restarts.
#[derive(Debug)]
pub(crate) struct Backoff {
    bounds: BackoffBounds,
    attempt: u32,
    healthy_since: Option<Instant>,
}

impl Backoff {
    pub(crate) fn new(bounds: BackoffBounds) -> Self {
        Backoff {
            bounds,
            attempt: 0,
            healthy_since: None,
        }
    }

    /// The daemon just became healthy.
    pub(crate) fn healthy(&mut self) {
        self.healthy_since = Some(Instant::now());
    }

    /// The delay before the next restart, and the attempt number it is.
    pub(crate) fn next(&mut self) -> (Duration, u32) {
        if self
            .healthy_since
            .take()
            .is_some_and(|t| t.elapsed() >= self.bounds.reset_after)
        {
            self.attempt = 0;
        }
        let attempt = self.attempt;
        self.attempt = self.attempt.saturating_add(1);
        if attempt == 0 {
            return (Duration::ZERO, 1);
        }
        let exp = self
            .bounds
            .initial
            .saturating_mul(1u32 << (attempt - 1).min(16));
        let capped = exp.min(self.bounds.max);
        // Up to 20% jitter, so that many nodes do not restart in lockstep.
        let jitter = capped.mul_f64(rand::random::<f64>() * 0.2);
        ((capped + jitter).min(self.bounds.max), attempt + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediate_then_exponential_then_capped() {
        let mut b = Backoff::new(BackoffBounds {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            reset_after: Duration::from_secs(60),
        });
        assert_eq!(b.next().0, Duration::ZERO);
        let d1 = b.next().0;
        assert!(d1 >= Duration::from_millis(100) && d1 <= Duration::from_millis(120));
        let d2 = b.next().0;
        assert!(d2 >= Duration::from_millis(200) && d2 <= Duration::from_millis(240));
        for _ in 0..20 {
            assert!(b.next().0 <= Duration::from_secs(1));
        }
    }
}
