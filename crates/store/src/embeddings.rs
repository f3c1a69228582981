//! Sentence embeddings of papers, per model, with the hash of the text each was made from: the
//! embedding worker stores them with its position on the change feed, nodes load them instead of
//! embedding again. The backlog is shared work: each process claims a stretch of the change feed
//! ([`EmbeddingWork`]), embeds it and stores it with the claim's end in one transaction, so that
//! several nodes embed a backlog together, none twice, and the stretch of a node that died is
//! taken over.

use async_trait::async_trait;
use paperboy_core::ArxivId;

use crate::codec::vector_bytes;
use crate::papers::save_cursor;
use crate::sql::{in_order, params, Backed, FromValue, Lock, Tx};
use crate::{Database, Result};

/// A stretch of the change feed, the changes numbered `after + 1 ..= upto`, whose papers one
/// process embeds for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddingWork {
    pub after: i64,
    pub upto: i64,
}

#[async_trait]
pub trait Embeddings: Backed {
    /// The text hashes of the stored embeddings of these papers for `model` (absent: none stored).
    async fn embedding_hashes(&self, model: &str, ids: &[ArxivId]) -> Result<Vec<Option<i64>>> {
        of_papers(self.db(), "text_hash", model, ids).await
    }

    /// Stores embeddings and, in the same transaction, moves the named cursor to `cursor`.
    async fn put_embeddings(
        &self,
        model: &str,
        rows: Vec<(ArxivId, i64, Vec<f32>)>,
        cursor: (&str, i64),
    ) -> Result<()> {
        let (model, (name, value)) = (model.to_owned(), (cursor.0.to_owned(), cursor.1));
        self.db()
            .write(move |tx| {
                put_rows(tx, &model, rows)?;
                save_cursor(tx, &name, value)
            })
            .await
    }

    /// Claims the next stretch of `model`'s backlog for this process: the first one a process
    /// that is gone left unfinished (or this one, before a restart), else the next `round`
    /// changes after the last stretch claimed (after the cursor `cursor` when none is). None:
    /// every change is embedded or claimed.
    async fn claim_embedding_work(
        &self,
        model: &str,
        cursor: &str,
        round: usize,
    ) -> Result<Option<EmbeddingWork>> {
        let (model, cursor) = (model.to_owned(), cursor.to_owned());
        let (node, gone) = self
            .db()
            .blocking(|b| Ok((b.node()?, b.gone("claimed_by"))))
            .await?;
        self.db()
            .write(move |tx| {
                tx.lock(Lock::Key("embedding work", &model))?;
                let left = format!(
                    "SELECT after_seq, upto_seq FROM embedding_work
                     WHERE model = $1 AND done = FALSE AND (claimed_by = $2 OR {gone})
                     ORDER BY after_seq LIMIT 1"
                );
                let taken = match tx.opt::<(i64, i64)>(&left, params![&model, node])? {
                    Some((after, upto)) => Some(EmbeddingWork { after, upto }),
                    None => {
                        let after: i64 = tx.one(
                            "SELECT COALESCE(
                                (SELECT MAX(upto_seq) FROM embedding_work WHERE model = $1),
                                (SELECT value FROM cursors WHERE name = $2), 0)",
                            params![&model, &cursor],
                        )?;
                        let upto: Option<i64> = tx.one(
                            "SELECT MAX(seq) FROM
                                (SELECT seq FROM papers WHERE seq > $1 ORDER BY seq LIMIT $2) s",
                            params![after, round.max(1)],
                        )?;
                        upto.map(|upto| EmbeddingWork { after, upto })
                    }
                };
                if let Some(w) = taken {
                    tx.execute(
                        "INSERT INTO embedding_work (model, after_seq, upto_seq, claimed_by)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (model, after_seq) DO UPDATE SET claimed_by = $4",
                        params![&model, w.after, w.upto, node],
                    )?;
                }
                Ok(taken)
            })
            .await
    }

    /// Stores the embeddings of a stretch this process claimed and marks it done; the cursor
    /// `cursor` then moves past every stretch done with none unfinished before it. One
    /// transaction. False, and nothing stored: the claim was lost (another process took the
    /// stretch over, taking this one for gone).
    async fn finish_embedding_work(
        &self,
        model: &str,
        cursor: &str,
        work: EmbeddingWork,
        rows: Vec<(ArxivId, i64, Vec<f32>)>,
    ) -> Result<bool> {
        let (model, cursor) = (model.to_owned(), cursor.to_owned());
        let node = self.db().blocking(|b| b.node()).await?;
        self.db()
            .write(move |tx| {
                tx.lock(Lock::Key("embedding work", &model))?;
                let ours = tx.execute(
                    "UPDATE embedding_work SET done = TRUE, claimed_by = NULL
                     WHERE model = $1 AND after_seq = $2 AND claimed_by = $3 AND done = FALSE",
                    params![&model, work.after, node],
                )?;
                if ours == 0 {
                    return Ok(false);
                }
                put_rows(tx, &model, rows)?;
                let mut at: i64 = tx
                    .opt(
                        "SELECT value FROM cursors WHERE name = $1",
                        params![&cursor],
                    )?
                    .unwrap_or(0);
                while let Some((after, upto)) = tx.opt::<(i64, i64)>(
                    "SELECT after_seq, upto_seq FROM embedding_work
                     WHERE model = $1 AND done = TRUE AND after_seq <= $2
                     ORDER BY after_seq LIMIT 1",
                    params![&model, at],
                )? {
                    tx.execute(
                        "DELETE FROM embedding_work WHERE model = $1 AND after_seq = $2",
                        params![&model, after],
                    )?;
                    at = at.max(upto);
                }
                save_cursor(tx, &cursor, at)?;
                Ok(true)
            })
            .await
    }

    /// Stored embeddings of `model` in id order after `after`, at most `limit`.
    async fn embeddings_page(
        &self,
        model: &str,
        after: Option<&ArxivId>,
        limit: usize,
    ) -> Result<Vec<(ArxivId, Vec<f32>)>> {
        let (model, after) = (model.to_owned(), after.map(ToString::to_string));
        self.db()
            .read(move |tx| {
                tx.all(
                    "SELECT e.paper_id, e.vector FROM embeddings e JOIN papers p ON p.id = e.paper_id
                     WHERE e.model = $1 AND e.paper_id > $2 AND p.hidden = FALSE
                     ORDER BY e.paper_id LIMIT $3",
                    params![model, after.unwrap_or_default(), limit],
                )
            })
            .await
    }

    /// The stored embeddings of `model` for these papers, in the same order (absent: none stored).
    async fn embeddings(&self, model: &str, ids: &[ArxivId]) -> Result<Vec<Option<Vec<f32>>>> {
        of_papers(self.db(), "vector", model, ids).await
    }
}

impl Embeddings for crate::Database {}

fn put_rows(tx: &mut dyn Tx, model: &str, rows: Vec<(ArxivId, i64, Vec<f32>)>) -> Result<()> {
    for (id, hash, vector) in rows {
        tx.execute(
            "INSERT INTO embeddings (model, paper_id, text_hash, vector)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (model, paper_id) DO UPDATE SET text_hash = $3, vector = $4",
            params![model, &id, hash, vector_bytes(&vector)],
        )?;
    }
    Ok(())
}

/// One column of the stored embeddings of `model` for these papers, in the order asked.
async fn of_papers<T: FromValue + Clone + Send + 'static>(
    db: &Database,
    column: &str,
    model: &str,
    ids: &[ArxivId],
) -> Result<Vec<Option<T>>> {
    let (model, ids) = (model.to_owned(), ids.to_vec());
    let sql = format!(
        "SELECT paper_id, {column} FROM embeddings WHERE model = $1 AND paper_id = ANY($2)"
    );
    db.read(move |tx| {
        let found = tx.all::<(ArxivId, T)>(&sql, params![model, &ids[..]])?;
        Ok(in_order(&ids, found))
    })
    .await
}
