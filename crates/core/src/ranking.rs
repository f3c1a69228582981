//! How listings are ordered: community votes first, the feed's own order for ties; and the
//! trending score, a gravity formula over the votes' ages that anyone can recompute by hand.
//!
//! Trending: each vote is worth `1 / (hours since the vote + offset) ^ gravity` now, and a paper's
//! score is the sum over its votes. Votes imported from hf.co carry no time; they count as cast
//! when the paper was put on its daily list.

use chrono::{DateTime, Utc};

/// Parameters of the trending formula `score = votes / (age_hours + offset)^gravity`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trending {
    pub gravity: f64,
    pub offset_hours: f64,
}

impl Default for Trending {
    fn default() -> Self {
        // Hacker News' published constants: a day-old paper needs about 8x the votes of a new one.
        Trending {
            gravity: 1.8,
            offset_hours: 2.0,
        }
    }
}

impl Trending {
    /// What one vote cast at `at` is worth at `now`.
    pub fn vote_weight(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
        let age_hours = ((now - at).num_seconds().max(0) as f64) / 3600.0;
        1.0 / (age_hours + self.offset_hours).powf(self.gravity)
    }

    /// The trending score of a paper: `imported` votes standing in as cast at `listed_at`, plus
    /// one weight per local vote.
    pub fn score_votes(
        &self,
        imported: i64,
        listed_at: Option<DateTime<Utc>>,
        votes: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> f64 {
        let stand_in =
            listed_at.map_or(0.0, |at| imported.max(0) as f64 * self.vote_weight(at, now));
        stand_in + votes.iter().map(|&v| self.vote_weight(v, now)).sum::<f64>()
    }

    /// All `votes` cast at `since`: the same as `score_votes` with that many votes at one time.
    pub fn score(&self, votes: i64, since: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
        let age_hours = ((now - since).num_seconds().max(0) as f64) / 3600.0;
        votes.max(0) as f64 / (age_hours + self.offset_hours).powf(self.gravity)
    }
}

/// Sorts by votes, most first; equal votes keep their existing (feed) order.
pub fn rank_by_votes<T>(items: &mut [T], votes: impl Fn(&T) -> i64) {
    items.sort_by_key(|item| std::cmp::Reverse(votes(item)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_keep_feed_order() {
        let mut items = vec![("a", 3), ("b", 5), ("c", 3), ("d", 5)];
        rank_by_votes(&mut items, |i| i.1);
        assert_eq!(items.iter().map(|i| i.0).collect::<String>(), "bdac");
    }

    #[test]
    fn trending_decays_with_age() {
        let t = Trending::default();
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let fresh = t.score(10, now - chrono::Duration::hours(1), now);
        let old = t.score(10, now - chrono::Duration::hours(48), now);
        assert!(fresh > old * 10.0, "{fresh} vs {old}");
        assert_eq!(t.score(0, now, now), 0.0);
        // By hand: 10 / (1 + 2)^1.8
        assert!((fresh - 10.0 / 3f64.powf(1.8)).abs() < 1e-9);
    }

    #[test]
    fn fresh_local_votes_beat_old_imported_ones() {
        let t = Trending::default();
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let hours = |h: i64| now - chrono::Duration::hours(h);
        // 50 hf.co votes from a list 3 days ago against 5 local votes in the last hour.
        let old = t.score_votes(50, Some(hours(72)), &[], now);
        let fresh = t.score_votes(0, Some(hours(72)), &[hours(1); 5], now);
        assert!(fresh > old, "{fresh} vs {old}");
        // By hand: 50 / 74^1.8 and 5 / 3^1.8
        assert!((old - 50.0 / 74f64.powf(1.8)).abs() < 1e-12);
        assert!((fresh - 5.0 / 3f64.powf(1.8)).abs() < 1e-12);
        assert_eq!(
            t.score_votes(7, None, &[], now),
            0.0,
            "no time, no stand-in"
        );
        let same = t.score_votes(3, Some(hours(5)), &[], now) - t.score(3, hours(5), now);
        assert!(same.abs() < 1e-12);
    }
}
