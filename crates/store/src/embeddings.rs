//! Sentence embeddings of papers, per model, with the hash of the text each was made from: the
//! embedding worker stores them with its position on the change feed, nodes load them instead of
//! embedding again.

use async_trait::async_trait;
use paperboy_core::ArxivId;

use crate::codec::vector_bytes;
use crate::papers::save_cursor;
use crate::sql::{in_order, params, Backed, FromValue};
use crate::{Database, Result};

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
                for (id, hash, vector) in rows {
                    tx.execute(
                        "INSERT INTO embeddings (model, paper_id, text_hash, vector)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (model, paper_id) DO UPDATE SET text_hash = $3, vector = $4",
                        params![&model, &id, hash, vector_bytes(&vector)],
                    )?;
                }
                save_cursor(tx, &name, value)
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
