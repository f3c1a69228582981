//! Harvesters: the HTTP side of live sync, asking through the polite [`Client`]
//! ([`crate::client`]). [`OaiHarvester`] pages through arXiv's OAI-PMH `ListRecords`; [`HfHarvester`] walks Hugging
//! Face's `/api/daily_papers` day by day. Both are state machines: `step(state)` fetches one page
//! and returns its records with the state to resume from after them, which the caller stores in
//! the same transaction as the records. Nothing here touches a database.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use crate::client::{Client, HarvestError, Politeness};
use crate::{Record, RecordError};

/// arXiv's OAI-PMH endpoint.
pub const OAI_DEFAULT_BASE: &str = "https://oaipmh.arxiv.org/oai";
/// Hugging Face's daily papers API.
pub const HF_DEFAULT_BASE: &str = "https://huggingface.co/api/daily_papers";
/// Items per page asked of the daily papers API (its maximum).
const HF_PAGE: usize = 100;

/// One page of a harvest: its records, where to resume after them, and whether the pass is over.
#[derive(Debug)]
pub struct Step<S> {
    pub records: Vec<Result<Record, RecordError>>,
    pub state: S,
    /// The pass has nothing more to fetch.
    pub done: bool,
}

/// Where an OAI-PMH harvest stands. At rest (between passes) only `from` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OaiState {
    /// The first datestamp this pass asks for (inclusive).
    pub from: Option<NaiveDate>,
    /// Index of the set being harvested in the configured list.
    #[serde(default)]
    pub set: usize,
    /// The resumption token of the next page of this set.
    #[serde(default)]
    pub token: Option<String>,
    /// The newest datestamp seen in this pass: the next pass's `from`.
    #[serde(default)]
    pub newest: Option<NaiveDate>,
}

/// arXiv's OAI-PMH `ListRecords` in the `arXiv` metadata format, incremental by datestamp,
/// following resumption tokens, one configured set after another.
pub struct OaiHarvester {
    client: Client,
    base: String,
    /// Sets (`cs`, `physics:hep-th`, ...); none means the whole archive.
    sets: Vec<String>,
}

impl OaiHarvester {
    pub fn new(client: Client, base: &str, sets: Vec<String>) -> OaiHarvester {
        OaiHarvester {
            client,
            base: base.trim_end_matches('/').to_owned(),
            sets,
        }
    }

    /// The state a pass starts from: a first harvest asks from `first_from`.
    pub fn begin(&self, state: OaiState, first_from: NaiveDate) -> OaiState {
        OaiState {
            from: state.from.or(Some(first_from)),
            ..state
        }
    }

    /// Fetches the next page.
    pub async fn step(&self, state: &OaiState) -> Result<Step<OaiState>, HarvestError> {
        let set_count = self.sets.len().max(1);
        if state.set >= set_count {
            return Ok(self.end_of_pass(state, Vec::new()));
        }
        let set = self.sets.get(state.set).map(String::as_str);
        let from = state.from.map(|d| d.to_string());
        let mut query = vec![("verb", "ListRecords")];
        match &state.token {
            Some(token) => query.push(("resumptionToken", token)),
            None => {
                query.push(("metadataPrefix", "arXiv"));
                if let Some(from) = &from {
                    query.push(("from", from));
                }
                if let Some(set) = set {
                    query.push(("set", set));
                }
            }
        }
        let page = self
            .client
            .get(&self.base, &query, |body| {
                crate::oai::parse_list_records(body).map_err(|e| e.to_string())
            })
            .await?;
        let mut next = state.clone();
        next.newest = next.newest.max(page.latest_datestamp);
        if let Some((code, message)) = page.error {
            match code.as_str() {
                // Nothing changed in this set since `from`.
                "noRecordsMatch" => next.token = None,
                // The token expired (a long pause): the set starts again from `from`; records
                // already stored merge as unchanged.
                "badResumptionToken" if state.token.is_some() => {
                    tracing::warn!(set, "OAI-PMH resumption token expired: restarting the set");
                    next.token = None;
                    return Ok(Step {
                        records: Vec::new(),
                        state: next,
                        done: false,
                    });
                }
                _ => return Err(HarvestError::Oai { code, message }),
            }
        } else {
            next.token = page.resumption_token;
        }
        let records = page
            .records
            .into_iter()
            .map(|r| r.map(Record::Paper))
            .collect();
        if next.token.is_some() {
            return Ok(Step {
                records,
                state: next,
                done: false,
            });
        }
        next.set += 1;
        if next.set < set_count {
            return Ok(Step {
                records,
                state: next,
                done: false,
            });
        }
        Ok(self.end_of_pass(&next, records))
    }

    fn end_of_pass(
        &self,
        state: &OaiState,
        records: Vec<Result<Record, RecordError>>,
    ) -> Step<OaiState> {
        Step {
            records,
            state: OaiState {
                from: state.newest.max(state.from),
                ..OaiState::default()
            },
            done: true,
        }
    }
}

/// Where the daily-papers walk stands: the first day not yet final.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HfState {
    pub next_day: Option<NaiveDate>,
}

/// Hugging Face's `/api/daily_papers?date=`, one day per step, up to today (UTC). Upvotes and
/// comments keep growing after a day's list appears, so each pass fetches the last
/// `refresh_days` days again.
pub struct HfHarvester {
    client: Client,
    base: String,
    refresh_days: u32,
}

impl HfHarvester {
    pub fn new(client: Client, base: &str, refresh_days: u32) -> HfHarvester {
        HfHarvester {
            client,
            base: base.trim_end_matches('/').to_owned(),
            refresh_days,
        }
    }

    /// The state a pass starts from: a first harvest starts at `first_day`; later ones go back
    /// `refresh_days` from today if they stopped later than that.
    pub fn begin(&self, state: HfState, first_day: NaiveDate, today: NaiveDate) -> HfState {
        let refresh_from = today - chrono::Days::new(u64::from(self.refresh_days));
        HfState {
            next_day: Some(state.next_day.map_or(first_day, |d| d.min(refresh_from))),
        }
    }

    /// Fetches the list of the state's day (every page of it).
    pub async fn step(
        &self,
        state: &HfState,
        today: NaiveDate,
    ) -> Result<Step<HfState>, HarvestError> {
        let Some(day) = state.next_day.filter(|d| *d <= today) else {
            return Ok(Step {
                records: Vec::new(),
                state: state.clone(),
                done: true,
            });
        };
        let date = day.to_string();
        let name = format!("{date}.json");
        let limit = HF_PAGE.to_string();
        let mut records = Vec::new();
        for p in 0.. {
            let page = p.to_string();
            let query = [
                ("date", date.as_str()),
                ("limit", limit.as_str()),
                ("p", page.as_str()),
            ];
            let items = self
                .client
                .get(&self.base, &query, |body| {
                    // A document that is not a JSON list is a bad page to fetch again; a bad
                    // item inside a good list is a rejected record.
                    match serde_json::from_str::<serde_json::Value>(body) {
                        Ok(serde_json::Value::Array(items)) => Ok(items.len()),
                        Ok(serde_json::Value::Object(o)) if o.contains_key("data") => Ok(0),
                        Ok(_) => Err("not a JSON list of papers".to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                    .map(|n| (n, crate::hf::parse_daily_api(&name, body.as_bytes())))
                })
                .await?;
            let (count, mut parsed) = items;
            // Positions restart on each page: continue them.
            if p > 0 {
                for r in parsed.iter_mut().flatten() {
                    if let Record::Daily { entry, .. } = r {
                        entry.position += (p * HF_PAGE) as u32;
                    }
                }
            }
            records.append(&mut parsed);
            if count < HF_PAGE {
                break;
            }
        }
        let (next_day, done) = if day < today {
            (
                day + chrono::Days::new(1),
                day + chrono::Days::new(1) > today,
            )
        } else {
            (day, true)
        };
        Ok(Step {
            records,
            state: HfState {
                next_day: Some(next_day),
            },
            done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::fast;

    #[test]
    fn a_pass_resumes_where_the_last_one_stopped() {
        let client = Client::new("test", fast()).unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let hf = HfHarvester::new(client.clone(), "http://127.0.0.1:9/", 2);
        let first = hf.begin(HfState::default(), d("2026-01-01"), d("2026-01-20"));
        assert_eq!(first.next_day, Some(d("2026-01-01")));
        let later = HfState {
            next_day: Some(d("2026-01-20")),
        };
        assert_eq!(
            hf.begin(later, d("2026-01-01"), d("2026-01-20")).next_day,
            Some(d("2026-01-18")),
            "the last two days are fetched again for their votes"
        );
        let oai = OaiHarvester::new(client, "http://127.0.0.1:9/", vec![]);
        let at_rest = OaiState {
            from: Some(d("2026-01-05")),
            ..Default::default()
        };
        assert_eq!(oai.begin(at_rest.clone(), d("2025-01-01")), at_rest);
        assert_eq!(
            oai.begin(OaiState::default(), d("2025-01-01")).from,
            Some(d("2025-01-01"))
        );
    }
}
