//! The cleaning policy: which segments the cleaner empties first. The store owns everything
//! else (when to clean, how many segments one round may take, copying, checkpointing, freeing);
//! a policy only ranks candidates, so that a resource-manager writer can swap it without
//! touching the log's correctness.

/// What the store tells a policy about one candidate segment.
///
/// A candidate is a segment in use that is not the log's head and that still holds some dead
/// space (its `live_bytes` are below what a segment can be refilled with), so cleaning it can
/// pay off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentUsage {
    /// Which segment (`0..segment_count`); for tie-breaking or per-segment state only.
    pub segment: u32,
    /// Bytes of records the index still points at: what the cleaner must copy.
    pub live_bytes: u32,
    /// Bytes a segment holds: `segment_blocks * 4096`. Always greater than `live_bytes`.
    pub capacity_bytes: u32,
    /// The store's clock when the segment's newest record was written. The clock counts records
    /// appended since the store was formatted (it survives reopening), so it is a logical time
    /// that does not depend on the machine's timer.
    pub last_written: u64,
}

/// Ranks segments for cleaning.
///
/// Contract:
/// - [`CleaningPolicy::score`] is called once per candidate each time the cleaner runs; the
///   store cleans candidates in decreasing score, ties going to the lower segment number, and
///   stops before the first one whose live bytes no longer fit in the free space the round
///   may use. A score of 0 means "do not clean this one in this round".
/// - It must be a pure function of its arguments (and of the policy's own fields): no device
///   access, no interior mutation the store could observe. It must not panic for any argument
///   values (`now` is at least `last_written`, but policies should saturate rather than rely on
///   it) and must use integer arithmetic only (no floating point in the guest).
/// - A policy cannot break durability or lose data whatever it returns: the store copies every
///   live record of a chosen segment and frees the segment only after the copies and a
///   checkpoint are durable. A poor policy only costs copying.
pub trait CleaningPolicy {
    /// How much cleaning `segment` is worth now (higher is cleaned first); `now` is the store's
    /// clock (see [`SegmentUsage::last_written`]).
    fn score(&self, segment: &SegmentUsage, now: u64) -> u64;
}

/// Cleans the segments with the fewest live bytes first: the least copying per segment freed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Greedy;

impl CleaningPolicy for Greedy {
    fn score(&self, segment: &SegmentUsage, _now: u64) -> u64 {
        u64::from(segment.capacity_bytes.saturating_sub(segment.live_bytes))
    }
}

/// Sprite LFS's cost-benefit policy: benefit over cost is
/// `free space generated * age of data / cost` = `(1 - u) * age / (1 + u)` with `u` the live
/// fraction, so cold segments are cleaned at a higher utilisation than hot ones (whose data is
/// about to die anyway). Computed here as
/// `(capacity - live) * (age + 1) / (capacity + live)` in 128-bit integers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CostBenefit;

impl CleaningPolicy for CostBenefit {
    fn score(&self, segment: &SegmentUsage, now: u64) -> u64 {
        let capacity = u128::from(segment.capacity_bytes);
        let live = u128::from(segment.live_bytes).min(capacity);
        // One more than the age, so that a segment written at `now` still ranks by free space.
        let age = u128::from(now.saturating_sub(segment.last_written)) + 1;
        let score = (capacity - live) * age / (capacity + live).max(1);
        u64::try_from(score).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(live_bytes: u32, last_written: u64) -> SegmentUsage {
        SegmentUsage {
            segment: 0,
            live_bytes,
            capacity_bytes: 32_768,
            last_written,
        }
    }

    #[test]
    fn greedy_prefers_fewer_live_bytes_whatever_the_age() {
        let now = 1_000;
        assert!(Greedy.score(&usage(100, 999), now) > Greedy.score(&usage(200, 0), now));
        assert_eq!(Greedy.score(&usage(0, 0), now), 32_768);
    }

    #[test]
    fn cost_benefit_prefers_older_data_at_equal_use_and_cleans_cold_segments_fuller() {
        let now = 10_000;
        let young = CostBenefit.score(&usage(16_384, 9_900), now);
        let old = CostBenefit.score(&usage(16_384, 100), now);
        assert!(old > young);
        // A cold segment three-quarters full beats a hot one a quarter full.
        let cold_full = CostBenefit.score(&usage(24_576, 0), now);
        let hot_empty = CostBenefit.score(&usage(8_192, 9_990), now);
        assert!(cold_full > hot_empty);
    }

    #[test]
    fn cost_benefit_never_overflows_or_panics_at_the_extremes() {
        let extreme = SegmentUsage {
            segment: u32::MAX,
            live_bytes: 0,
            capacity_bytes: u32::MAX,
            last_written: 0,
        };
        assert_eq!(CostBenefit.score(&extreme, u64::MAX), u64::MAX);
        let nonsense = SegmentUsage {
            live_bytes: u32::MAX,
            capacity_bytes: 0,
            last_written: u64::MAX,
            ..extreme
        };
        assert_eq!(CostBenefit.score(&nonsense, 0), 0);
        assert_eq!(Greedy.score(&nonsense, 0), 0);
    }
}
