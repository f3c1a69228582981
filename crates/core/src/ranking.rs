//! How listings are ordered: community votes first, the feed's own order for ties; and the
//! trending score, a gravity formula over votes and age that anyone can recompute by hand.

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
}
